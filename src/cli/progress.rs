//! Progress on stderr, for people at a terminal: `checking 340/1000
//! logins…`, pages read, batches written. Nothing is drawn when stderr is
//! not a terminal, nor for work that ends within a second.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seatkeeper::progress::{Progress, Reporter};

/// Draws progress lines; clears the line when dropped.
pub struct Line {
    state: Arc<Mutex<State>>,
}

struct State {
    started: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

/// Quiet for this long, so quick commands print nothing extra.
const DELAY: Duration = Duration::from_secs(1);
/// At most one redraw per this interval.
const EVERY: Duration = Duration::from_millis(100);

impl Line {
    /// A progress line on stderr when it is a terminal, else `None`.
    pub fn on_terminal() -> Option<Line> {
        std::io::stderr().is_terminal().then(|| Line {
            state: Arc::new(Mutex::new(State {
                started: Instant::now(),
                last_draw: None,
                drawn: false,
            })),
        })
    }

    /// The reporter that feeds this line.
    pub fn reporter(&self) -> Reporter {
        let state = Arc::clone(&self.state);
        Reporter::new(move |p| {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if now.duration_since(st.started) < DELAY
                || st.last_draw.is_some_and(|t| now.duration_since(t) < EVERY)
            {
                return;
            }
            st.last_draw = Some(now);
            st.drawn = true;
            let text = describe(p);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        })
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// The words for one step.
pub fn describe(p: Progress) -> String {
    match p {
        Progress::Pages {
            what,
            done,
            total: Some(total),
        } => format!("reading {what}: page {done}/{total}…"),
        Progress::Pages {
            what,
            done,
            total: None,
        } => format!("reading {what}: page {done}…"),
        Progress::Checked { done, total } => format!("checking {done}/{total} logins…"),
        Progress::Batches { done, total } => format!("writing batch {}/{total}…", done + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_plainly() {
        #[rustfmt::skip]
        let cases = [
            (Progress::Checked { done: 340, total: 1000 }, "checking 340/1000 logins…"),
            (Progress::Pages { what: "seats", done: 3, total: Some(40) }, "reading seats: page 3/40…"),
            (Progress::Pages { what: "members", done: 2, total: None }, "reading members: page 2…"),
            (Progress::Batches { done: 0, total: 10 }, "writing batch 1/10…"),
        ];
        for (p, want) in cases {
            assert_eq!(describe(p), want);
        }
    }
}
