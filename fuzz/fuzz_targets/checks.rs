//! What each fuzz target does with one input, shared by the cargo-fuzz
//! targets (nightly, libFuzzer: `scripts/fuzz.sh`) and the stable-toolchain
//! runner CI uses (`tests/it/fuzz_stable.rs`). Each function panics on a bug
//! and otherwise says whether the input parsed.

#![allow(dead_code)]

use std::sync::OnceLock;

use chrono::NaiveDate;
use seatkeeper::config::{Scope, SeatsFile};
use seatkeeper::github::SeatListResponse;
use seatkeeper::plan::{Desired, LiveState, plan};
use seatkeeper::render::{Format, render};

/// How an input ended (a panic is a bug, not an outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Parsed, planned and rendered in every format.
    Parsed,
    /// Refused with an error message.
    Rejected,
}

/// The day every plan is computed for, so runs replay.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date")
}

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

fn org() -> Scope {
    Scope::Org("acme".to_string())
}

fn live() -> &'static LiveState {
    static LIVE_STATE: OnceLock<LiveState> = OnceLock::new();
    LIVE_STATE.get_or_init(|| {
        SeatListResponse::from_json("live.json", LIVE)
            .expect("fixed live state decodes")
            .into_live_state("live.json", &org())
            .expect("fixed live state folds")
    })
}

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
        Desired::from_file(
            &SeatsFile::parse("seats.yaml", SEATS_YAML.as_bytes())
                .expect("fixed seats.yaml parses"),
        )
    })
}

fn render_all(p: &seatkeeper::plan::Plan) {
    for format in [Format::Text, Format::Markdown, Format::Json, Format::Diff] {
        let _ = render(p, format, false);
    }
}

/// seats.yaml bytes -> `SeatsFile::parse` (and its rendered error), then,
/// for a file that parses, `desired()` and `plan()` against an empty live
/// state and a small fixed one, rendered in every format.
pub fn seats_yaml(data: &[u8]) -> Outcome {
    let file = match SeatsFile::parse("fuzz.yaml", data) {
        Ok(f) => f,
        Err(e) => {
            // Rendering the diagnostics (snippets, carets, columns) must not panic either.
            let text = e.to_string();
            assert!(!text.is_empty(), "an error without a message");
            return Outcome::Rejected;
        }
    };
    let desired = Desired::from_file(&file);
    for live in [&LiveState::default(), live()] {
        render_all(&plan(&desired, live, today()));
    }
    Outcome::Parsed
}

/// Seat-list JSON bytes -> `SeatListResponse` (serde_json, as the client and
/// `--live-state` decode it) -> `into_live_state` for an org and for an
/// enterprise, then `plan()` against a fixed desired state, rendered in
/// every format.
pub fn seat_list_json(data: &[u8]) -> Outcome {
    // The `--live-state` path: text, with its own error message.
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = SeatListResponse::from_json("live.json", text)
    {
        assert!(!e.to_string().is_empty(), "an error without a message");
    }
    // The client's path: bytes straight into serde_json, then folded as an
    // org's listing and as an enterprise's (entries per grant).
    let Ok(response) = serde_json::from_slice::<SeatListResponse>(data) else {
        return Outcome::Rejected;
    };
    let mut outcome = Outcome::Rejected;
    for scope in [org(), Scope::Enterprise("bigcorp".to_string())] {
        match response.clone().into_live_state("live.json", &scope) {
            Ok(live) => {
                render_all(&plan(desired(), &live, today()));
                outcome = Outcome::Parsed;
            }
            Err(e) => assert!(!e.to_string().is_empty(), "an error without a message"),
        }
    }
    outcome
}
