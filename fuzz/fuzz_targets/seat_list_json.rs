//! Seat-list JSON bytes -> `SeatListResponse` (serde_json, as the client and
//! `--live-state` decode it) -> `into_live_state`, then `plan()` against a
//! fixed desired state, rendered in every format. Nothing may panic.

#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use seatkeeper::config::SeatsFile;
use seatkeeper::github::SeatListResponse;
use seatkeeper::plan::{Desired, plan};
use seatkeeper::render::{Format, render};

/// Users (one expired, one protected), teams, and every policy knob that
/// reads live seats: removal cap, seat cap, idle-seat removal.
const SEATS_YAML: &str = "org: acme
policy:
  max_removals: 50%
  max_seats: 20
  protected: [ceo]
  inactivity:
    days: 60
    action: remove
teams: [platform, data]
users:
  - alice
  - Bob
  - login: carol
    expires: 2026-01-31
  - octocat
";

fn desired() -> &'static Desired {
    static DESIRED: OnceLock<Desired> = OnceLock::new();
    DESIRED.get_or_init(|| {
        SeatsFile::parse("seats.yaml", SEATS_YAML.as_bytes())
            .expect("fixed seats.yaml parses")
            .desired()
    })
}

fuzz_target!(|data: &[u8]| {
    // The `--live-state` path: text, with its own error message.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = SeatListResponse::from_json("live.json", text) {
            let _ = e.to_string();
        }
    }
    // The client's path: bytes straight into serde_json.
    let Ok(response) = serde_json::from_slice::<SeatListResponse>(data) else {
        return;
    };
    let live = response.into_live_state();
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date");
    let p = plan(desired(), &live, today);
    for format in [Format::Text, Format::Markdown, Format::Json, Format::Diff] {
        let _ = render(&p, format, false);
    }
});
