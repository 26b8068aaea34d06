//! `request LOGIN --budget N [--budget-expires DATE]` and `release LOGIN
//! --budget`: a one-line edit of the login's entry, validated against the
//! operator's budget ceilings as the controller's plan would be. No GitHub
//! read is needed: the edit changes no seat.

use chrono::NaiveDate;

use super::validate::{Checked, Validated};
use super::{Ask, Kind, Prepared, Refusal, SelfServeError, edit_error};
use crate::config::SeatsFile;
use crate::edit::{BudgetEdit, Edit, set_budget};
use crate::plan::budgets::{DesiredBudgets, ceiling_guards, declared_total};
use crate::source::{Loaded, git_blob_sha};

/// Validate and make the budget edit of `ask` on `text`.
pub(super) fn validate(
    path: &str,
    text: &str,
    file: &SeatsFile,
    ask: &Ask,
    change: BudgetEdit,
) -> Result<Validated, SelfServeError> {
    let refused = |refusal, message: String| SelfServeError::Refused { refusal, message };
    if file.user(&ask.login).is_none() {
        return match ask.kind {
            Kind::Release => Ok(Validated::NoOp(Prepared::NotListed)),
            Kind::Request => Err(refused(
                Refusal::BadEntry,
                format!(
                    "{} is not listed in `users` of {path}: a budget goes with a seat; request the seat first (`seatkeeper request {}`), then the budget",
                    ask.login, ask.login
                ),
            )),
        };
    }
    if let BudgetEdit::Set {
        expires: Some(d), ..
    } = change
        && d < ask.today
    {
        return Err(refused(
            Refusal::BadEntry,
            format!(
                "--budget-expires {d} is in the past (today is {}): such a budget would be deleted at once",
                ask.today
            ),
        ));
    }
    let edited = match set_budget(path, text, &ask.login, change).map_err(edit_error)? {
        Edit::Changed { text, lines } => {
            let sha = git_blob_sha(text.as_bytes());
            let loaded = Loaded::parse(path, text.as_bytes(), Some(sha))?;
            (loaded, (*lines.start(), *lines.end()))
        }
        Edit::NotListed => return Ok(Validated::NoOp(Prepared::NotListed)),
        Edit::AlreadyListed { pos } => return Ok(Validated::NoOp(Prepared::AlreadyListed { pos })),
    };
    let (loaded, lines) = edited;
    if let Some(d) = DesiredBudgets::from_file(&loaded.file, ask.today) {
        let total = declared_total(&d, ask.today);
        let guards = ceiling_guards(&d, ask.today, total, ask.bounds.budgets);
        if let Some(g) = guards.first() {
            return Err(refused(
                Refusal::OperatorBounds,
                format!(
                    "{}: nothing was written; ask for less, or ask the operator to raise the ceiling",
                    g.message()
                ),
            ));
        }
    }
    let summary = match change {
        BudgetEdit::Set { amount, expires } => format!(
            "{}'s AI-credit budget: US${amount} a month{}",
            ask.login,
            expires.map(|d| format!(" until {d}")).unwrap_or_default()
        ),
        BudgetEdit::Drop => format!(
            "{}'s individual AI-credit budget dropped (the default applies)",
            ask.login
        ),
    };
    Ok(Validated::Change {
        edited: Box::new(loaded),
        lines,
        expires: None,
        checked: Checked {
            summary,
            changes_seat: false,
            suspended: file.policy.suspend,
            // A budget takes no seat: the seat cap never queues it.
            waiting_for_room: None,
        },
    })
}

/// The commit message of a budget request or release.
pub(super) fn commit_message(ask: &Ask, path: &str, change: BudgetEdit) -> String {
    let (subject, action, amount, expires): (String, &str, Option<u64>, Option<NaiveDate>) =
        match change {
            BudgetEdit::Set { amount, expires } => (
                format!(
                    "{path}: set the Copilot budget of {} to US${amount} a month",
                    ask.login
                ),
                "budget",
                Some(amount),
                expires,
            ),
            BudgetEdit::Drop => (
                format!(
                    "{path}: drop the individual Copilot budget of {}",
                    ask.login
                ),
                "release-budget",
                None,
                None,
            ),
        };
    let mut body = format!("Requested by @{}", ask.requester);
    let source = ask.source_line();
    if let Some(s) = &source {
        body.push_str(&format!(" via {s}"));
    }
    body.push_str(&format!(" with `seatkeeper {}`.", ask.kind.as_str()));
    let mut trailers = vec![
        format!("Seatkeeper-Action: {action}"),
        format!("Seatkeeper-Login: {}", ask.login),
        format!("Requested-by: {}", ask.requester),
    ];
    if let Some(a) = amount {
        trailers.push(format!("Seatkeeper-Budget: {a}"));
    }
    if let Some(d) = expires {
        trailers.push(format!("Seatkeeper-Budget-Expires: {d}"));
    }
    if let Some(s) = source {
        trailers.push(format!("Seatkeeper-Source: {s}"));
    }
    format!("{subject}\n\n{body}\n\n{}\n", trailers.join("\n"))
}
