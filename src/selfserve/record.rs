//! Recording a request: what was written, and where.

use chrono::NaiveDate;

use super::Checked;
use crate::config::Pos;

/// Attempts at one request when the file changes between reading and
/// writing it (a stale `sha`), the first included.
pub const MAX_ATTEMPTS: u32 = 5;

/// What a request or release wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The login is already listed: nothing written.
    AlreadyListed {
        /// Where its login is written.
        pos: Pos,
    },
    /// The login is not listed (release): nothing written.
    NotListed,
    /// A local file was edited (`--file`).
    Edited {
        /// Lines the edit touched.
        lines: (u32, u32),
        /// The `expires` written.
        expires: Option<NaiveDate>,
        /// What validation found.
        checked: Checked,
        /// Attempts it took.
        attempts: u32,
    },
}
