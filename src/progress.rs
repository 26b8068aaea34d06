//! Progress of long steps (pages read, logins checked, batches written),
//! reported to whoever wants it: the CLI draws it on a terminal, the
//! controller ignores it.

use std::fmt;
use std::sync::Arc;

/// One step forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Pages of a listing read (`what`: `seats`, `members`).
    Pages {
        /// What is being listed.
        what: &'static str,
        /// Pages read so far.
        done: usize,
        /// Pages in all, when known.
        total: Option<usize>,
    },
    /// Logins checked for eligibility.
    Checked {
        /// Checked so far.
        done: usize,
        /// To check in all.
        total: usize,
    },
    /// Write requests answered.
    Batches {
        /// Answered so far.
        done: usize,
        /// In all, for this kind of change.
        total: usize,
    },
}

/// Where progress goes; reporting to nobody costs nothing.
#[derive(Clone, Default)]
pub struct Reporter(Option<Arc<dyn Fn(Progress) + Send + Sync>>);

impl Reporter {
    /// Report to `f`.
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Reporter {
        Reporter(Some(Arc::new(f)))
    }

    /// Report one step.
    pub fn report(&self, p: Progress) {
        if let Some(f) = &self.0 {
            f(p);
        }
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(on)"
        } else {
            "Reporter(off)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn reports_reach_the_callback_and_nobody_is_free() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let r = Reporter::new(move |p| s.lock().unwrap().push(p));
        r.report(Progress::Checked { done: 1, total: 2 });
        Reporter::default().report(Progress::Checked { done: 1, total: 2 });
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Progress::Checked { done: 1, total: 2 }]
        );
        assert_eq!(format!("{r:?}"), "Reporter(on)");
    }
}
