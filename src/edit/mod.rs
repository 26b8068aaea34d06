//! Format-preserving edits of seats.yaml: add one `users` entry, remove one
//! or several (pure: text in, text out, no I/O).
//!
//! Only the edited entry's lines change. Everything else (comments, blank
//! lines, key order, quoting, indentation, CRLF line ends, a byte-order mark,
//! a missing final newline) is kept byte for byte. The editor finds the
//! `users` list with the YAML event parser serde-saphyr is built on (its spans
//! say exactly where each entry is written), splices the text, and then
//! re-parses the result with [`SeatsFile::parse`]: unless the new file means
//! exactly the old users plus or minus the login, with everything else the
//! same, it returns an [`EditError`] instead of a wrong file.
//!
//! Layouts it will not change safely are refused with a message saying what
//! to change by hand ([`EditError::Layout`]): anchors, aliases or tags in
//! `users`, a file that is one flow mapping, comments inside a multi-line
//! flow list, an entry that does not start on its `- ` line, lone carriage
//! returns as line breaks.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span, StructureStyle};

use crate::config::{ConfigError, Pos, SeatsFile, login_problem};

mod budget;
mod doc;
#[cfg(test)]
mod tests;
mod text;
mod write;

pub use budget::{BudgetEdit, set_budget};
use doc::*;
use text::*;
use write::*;

/// A `users` entry to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUser<'a> {
    /// The GitHub login.
    pub login: &'a str,
    /// Free text for reviewers (`note:`).
    pub note: Option<&'a str>,
    /// The last day the seat is wanted (`expires:`).
    pub expires: Option<NaiveDate>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The file changed.
    Changed {
        /// The whole new file.
        text: String,
        /// 1-based lines the edit touched: for an addition, the lines of the
        /// new text that are new or changed; for a removal, the lines of the
        /// original text that were removed or changed.
        lines: RangeInclusive<u32>,
    },
    /// The login is already listed (in any letter case); nothing changed.
    AlreadyListed {
        /// Where the existing entry's login is written.
        pos: Pos,
    },
    /// None of the logins to remove is listed; nothing changed.
    NotListed,
}

/// Why seats.yaml was not edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file does not parse or validate; it must be fixed first.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    /// The entry to add is not valid.
    #[error("{path}: cannot add `{login}`: {problem}")]
    InvalidEntry {
        /// The path shown in messages.
        path: String,
        /// The login asked for.
        login: String,
        /// What is wrong with the entry.
        problem: String,
    },
    /// The file is written in a way the editor will not change safely.
    #[error("{path}:{line}: cannot edit `users` automatically: {message}")]
    Layout {
        /// The path shown in messages.
        path: String,
        /// The 1-based line of the construct.
        line: u32,
        /// What the construct is and what to change by hand.
        message: String,
    },
    /// The edited text did not mean what it should; no edit is returned.
    #[error(
        "{path}: edit not applied: {message}; this is a bug in seatkeeper's editor, please report it and edit the file by hand"
    )]
    Unverified {
        /// The path shown in messages.
        path: String,
        /// How the edited text differed from what was intended.
        message: String,
    },
}

/// Add `user` to the `users` list of seats.yaml `text`.
///
/// The entry goes where a reviewer expects it: in sorted position when the
/// existing users are sorted case-insensitively (above any comment lines
/// directly over the entry it precedes), else after the last entry. It is
/// written in the file's own style: indentation, quoting of neighbouring
/// entries, layout and key order of existing mapping entries. A flow list
/// (`users: [a, b]`) is edited in place, next to its neighbouring entry;
/// without a `users` key, a `users:` block is appended at the end.
pub fn add_user(path: &str, text: &str, user: &NewUser<'_>) -> Result<Edit, EditError> {
    let old = SeatsFile::parse(path, text.as_bytes())?;
    let invalid = |problem: String| EditError::InvalidEntry {
        path: path.to_string(),
        login: user.login.to_string(),
        problem,
    };
    if let Some(problem) = login_problem(user.login) {
        return Err(invalid(format!("the login {problem}")));
    }
    if let Some(d) = user.expires
        && !(0..=9999).contains(&d.year())
    {
        return Err(invalid(format!(
            "expires {d} is not a date seats.yaml can hold (YYYY-MM-DD)"
        )));
    }
    if let Some(u) = old.user(user.login) {
        return Ok(Edit::AlreadyListed { pos: u.pos });
    }
    let (bom, body) = split_bom(text);
    let doc = Doc::analyse(body, old.users.len()).map_err(|p| p.into_error(path, body))?;
    let (k, splice) = doc.add(&old, user).map_err(|p| p.into_error(path, body))?;
    let new_body =
        apply(body, std::slice::from_ref(&splice)).map_err(|p| p.into_error(path, body))?;
    let mut expected: Vec<UserData> = old.users.iter().map(user_data).collect();
    expected.insert(
        k,
        (
            user.login.to_string(),
            user.expires,
            user.note.map(str::to_string),
        ),
    );
    let new_text = format!("{bom}{new_body}");
    verify(path, &old, &new_text, &expected)?;
    let first = line_number(&new_body, splice.start);
    let last = line_number(
        &new_body,
        (splice.start + splice.text.len()).saturating_sub(1),
    );
    Ok(Edit::Changed {
        text: new_text,
        lines: first..=last.max(first),
    })
}

/// Remove `login` (case-insensitive) from the `users` list of seats.yaml
/// `text`: all lines of its entry go, comment lines above it stay. Removing
/// the last entry of a block list leaves `users: []`.
pub fn remove_user(path: &str, text: &str, login: &str) -> Result<Edit, EditError> {
    remove_users(path, text, &[login])
}

/// Remove several logins (case-insensitive) in one edit, e.g. for a reclaim
/// pull request. Logins that are not listed are ignored; when none is listed
/// the answer is [`Edit::NotListed`].
pub fn remove_users<S: AsRef<str>>(
    path: &str,
    text: &str,
    logins: &[S],
) -> Result<Edit, EditError> {
    let old = SeatsFile::parse(path, text.as_bytes())?;
    let wanted: std::collections::HashSet<String> = logins
        .iter()
        .map(|l| l.as_ref().to_ascii_lowercase())
        .collect();
    let remove: Vec<bool> = old
        .users
        .iter()
        .map(|u| wanted.contains(&u.login.to_ascii_lowercase()))
        .collect();
    if !remove.contains(&true) {
        return Ok(Edit::NotListed);
    }
    let (bom, body) = split_bom(text);
    let doc = Doc::analyse(body, old.users.len()).map_err(|p| p.into_error(path, body))?;
    let splices = doc.remove(&remove).map_err(|p| p.into_error(path, body))?;
    let new_body = apply(body, &splices).map_err(|p| p.into_error(path, body))?;
    let expected: Vec<UserData> = old
        .users
        .iter()
        .zip(&remove)
        .filter(|(_, r)| !**r)
        .map(|(u, _)| user_data(u))
        .collect();
    let new_text = format!("{bom}{new_body}");
    verify(path, &old, &new_text, &expected)?;
    // Lines of the original text, found by binary search: a reclaim may
    // remove many entries from a large file.
    let line = |offset: usize| u32::try_from(doc.lines.line_of(offset) + 1).unwrap_or(u32::MAX);
    let first = splices.iter().map(|s| line(s.start)).min().unwrap_or(1);
    let last = splices
        .iter()
        .map(|s| line(s.end.max(s.start + 1) - 1))
        .max()
        .unwrap_or(first);
    Ok(Edit::Changed {
        text: new_text,
        lines: first..=last.max(first),
    })
}

// ---------------------------------------------------------------------------
// Checking the result.

type UserData = (String, Option<NaiveDate>, Option<String>);

fn user_data(u: &crate::config::UserEntry) -> UserData {
    (u.login.clone(), u.expires, u.note.clone())
}

/// The edited text must parse and mean the old file with only `users`
/// changed, to exactly `expected`.
fn verify(
    path: &str,
    old: &SeatsFile,
    new_text: &str,
    expected: &[UserData],
) -> Result<(), EditError> {
    let unverified = |message: String| EditError::Unverified {
        path: path.to_string(),
        message,
    };
    let new = SeatsFile::parse(path, new_text.as_bytes())
        .map_err(|e| unverified(format!("the edited file does not parse:\n{e}")))?;
    let slugs = |f: &SeatsFile| f.teams.iter().map(|t| t.slug.clone()).collect::<Vec<_>>();
    if new.scope != old.scope || new.policy != old.policy || slugs(&new) != slugs(old) {
        return Err(unverified(
            "the edited file changes more than `users`".into(),
        ));
    }
    let got: Vec<UserData> = new.users.iter().map(user_data).collect();
    if got != expected {
        return Err(unverified(format!(
            "the edited file lists {} users, not the {} expected (or not the same ones)",
            got.len(),
            expected.len()
        )));
    }
    Ok(())
}
