//! Quiet logs for `demo --serve`: a person watches that terminal, so a
//! controller reconciling every few seconds must not repeat itself. An INFO
//! event is shown only when it differs from the previous one of the same
//! kind (a change), a WARN only the first time it is seen (one line per
//! distinct problem). ERRORs are always shown.
//!
//! The deployed controller (`seatkeeper run`) keeps one line per reconcile:
//! its JSON logs are read by machines, where that line is the heartbeat.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;

use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Fields that differ on every reconcile without saying anything new.
const NOISE: &[&str] = &["duration_ms"];

/// At most this many distinct WARNs are remembered (then the set restarts,
/// so a long-running demo cannot grow without bound).
const MAX_SEEN: usize = 4096;

/// The layer; see the module docs.
#[derive(Default)]
pub struct Quiet {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_info: HashMap<Identifier, String>,
    warned: HashSet<(Identifier, String)>,
}

impl<S: Subscriber> Layer<S> for Quiet {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let level = *event.metadata().level();
        if level != Level::INFO && level != Level::WARN {
            return true;
        }
        let key = fingerprint(event);
        let id = event.metadata().callsite();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if level == Level::WARN {
            if st.warned.len() >= MAX_SEEN {
                st.warned.clear();
            }
            return st.warned.insert((id, key));
        }
        match st.last_info.get(&id) {
            Some(previous) if *previous == key => false,
            _ => {
                st.last_info.insert(id, key);
                true
            }
        }
    }
}

/// The event's fields as text, noise left out.
fn fingerprint(event: &Event<'_>) -> String {
    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if !NOISE.contains(&field.name()) {
                let _ = write!(self.0, "{}={value:?};", field.name());
            }
        }
    }
    let mut f = Fields(String::new());
    event.record(&mut f);
    f.0
}
