//! seats.yaml bytes -> `SeatsFile::parse` (and its rendered error), then,
//! for a file that parses, `desired()` and `plan()` against an empty live
//! state and a small fixed one, rendered in every format. Nothing may panic.

#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use seatkeeper::config::SeatsFile;
use seatkeeper::github::SeatListResponse;
use seatkeeper::plan::{LiveState, plan};
use seatkeeper::render::{Format, render};

/// A live state with a direct seat, a pending one, an idle one, a
/// team-granted one and an enterprise-team one.
const LIVE: &str = r#"{"total_seats": 5, "seats": [
  {"created_at": "2025-01-01T00:00:00Z", "assignee": {"login": "alice"}, "assigning_team": null,
   "last_activity_at": "2026-11-20T10:00:00Z"},
  {"created_at": "2025-01-01T00:00:00Z", "assignee": {"login": "Bob"}, "pending_cancellation_date": "2026-12-01"},
  {"created_at": "2024-01-01T00:00:00Z", "assignee": {"login": "idle-carl"}, "last_activity_at": null},
  {"created_at": "2025-01-01T00:00:00Z", "assignee": {"login": "dave"}, "assigning_team": {"slug": "platform"}},
  {"created_at": "2025-01-01T00:00:00Z", "assignee": {"login": "erin"},
   "assigning_team": {"slug": "ent-eng", "group_id": null}}
]}"#;

fn live() -> &'static LiveState {
    static LIVE_STATE: OnceLock<LiveState> = OnceLock::new();
    LIVE_STATE.get_or_init(|| {
        SeatListResponse::from_json("live.json", LIVE)
            .expect("fixed live state decodes")
            .into_live_state()
    })
}

fuzz_target!(|data: &[u8]| {
    let file = match SeatsFile::parse("fuzz.yaml", data) {
        Ok(f) => f,
        Err(e) => {
            // Rendering the diagnostics (snippets, carets, columns) must not panic either.
            let text = e.to_string();
            assert!(!text.is_empty());
            return;
        }
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date");
    let desired = file.desired();
    for live in [&LiveState::default(), live()] {
        let p = plan(&desired, live, today);
        for format in [Format::Text, Format::Markdown, Format::Json, Format::Diff] {
            let _ = render(&p, format, false);
        }
    }
});
