//! Set or drop one user's `budget` (and `budget_expires`): the entry's own
//! lines change, nothing else. A plain `- bob` entry becomes `- login: bob`
//! with the budget under it; flow-style entries are refused (edit by hand).

use chrono::NaiveDate;

use super::text::split_bom;
use super::{Edit, EditError};
use crate::config::SeatsFile;

/// What to write for the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetEdit {
    /// `budget: AMOUNT`, and `budget_expires:` when given (an existing one
    /// is replaced, or removed when not given).
    Set {
        /// Whole dollars a month.
        amount: u64,
        /// The last day.
        expires: Option<NaiveDate>,
    },
    /// Remove `budget` and `budget_expires`.
    Drop,
}

/// Indentation (spaces) of a line.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The line break a line ends with.
fn eol(line: &str) -> &'static str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// Set or drop the budget of `login` (case-insensitive) in seats.yaml
/// `text`. [`Edit::NotListed`] when the login has no entry; a drop of a
/// budget the entry does not have is [`Edit::NotListed`] too.
pub fn set_budget(
    path: &str,
    text: &str,
    login: &str,
    change: BudgetEdit,
) -> Result<Edit, EditError> {
    let old = SeatsFile::parse(path, text.as_bytes())?;
    let Some(user) = old.user(login) else {
        return Ok(Edit::NotListed);
    };
    if change == BudgetEdit::Drop && user.budget.is_none() && user.budget_expires.is_none() {
        return Ok(Edit::NotListed);
    }
    let layout = |line: u32, message: &str| EditError::Layout {
        path: path.to_string(),
        line,
        message: message.to_string(),
    };
    let (bom, body) = split_bom(text);
    let mut lines: Vec<String> = body.split_inclusive('\n').map(str::to_string).collect();
    let at = user.pos.line as usize - 1;
    let Some(first) = lines.get(at).cloned() else {
        return Err(layout(user.pos.line, "the entry's line was not found"));
    };
    let head = first.trim_start_matches(' ');
    let dash = indent(&first);
    let (key_indent, mut end) = if let Some(rest) = head.strip_prefix("- ") {
        let rest = rest.trim_start_matches(' ');
        if rest.starts_with('{') || rest.starts_with('[') {
            return Err(layout(
                user.pos.line,
                "the entry is a flow mapping; write it as a block (`- login: NAME` and one key per line) and edit the budget by hand",
            ));
        }
        if rest.starts_with("login:") {
            (dash + 2, at + 1)
        } else {
            // `- bob  # comment` becomes `- login: bob  # comment`.
            let col = first.len() - rest.len();
            lines[at] = format!("{}login: {}", &first[..col], &first[col..]);
            (dash + 2, at + 1)
        }
    } else if head.starts_with("login:") {
        (dash, at + 1)
    } else {
        return Err(layout(
            user.pos.line,
            "the entry is not written one key per line under `- `; edit the budget by hand",
        ));
    };
    // The entry's other lines: more indented than its dash, or blank.
    let entry_dash = if head.starts_with("login:") {
        dash.saturating_sub(2)
    } else {
        dash
    };
    while end < lines.len() {
        let l = &lines[end];
        let t = l.trim();
        if !t.is_empty() && indent(l) <= entry_dash {
            break;
        }
        end += 1;
    }
    // Drop trailing blank lines from the entry.
    while end > at + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let nl = match eol(&lines[at]) {
        "" => "\n",
        e => e,
    };
    if eol(&lines[end - 1]).is_empty() {
        lines[end - 1].push_str(nl);
    }
    let is_key = |l: &str, k: &str| {
        indent(l) == key_indent
            && l.trim_start()
                .strip_prefix(k)
                .is_some_and(|r| r.starts_with(':'))
    };
    let mut kept: Vec<String> = Vec::new();
    for l in &lines[at + 1..end] {
        if is_key(l, "budget") || is_key(l, "budget_expires") {
            continue;
        }
        kept.push(l.clone());
    }
    let pad = " ".repeat(key_indent);
    if let BudgetEdit::Set { amount, expires } = change {
        kept.push(format!("{pad}budget: {amount}{nl}"));
        if let Some(d) = expires {
            kept.push(format!("{pad}budget_expires: {d}{nl}"));
        }
    }
    let touched_first = at as u32 + 1;
    let touched_last = at as u32 + 1 + kept.len() as u32;
    lines.splice(at + 1..end, kept);
    let new_text = format!("{bom}{}", lines.concat());

    // The result must mean the old file with only this budget changed.
    let new = SeatsFile::parse(path, new_text.as_bytes()).map_err(|e| EditError::Unverified {
        path: path.to_string(),
        message: format!("the edited file does not parse:\n{e}"),
    })?;
    let strip = |f: &SeatsFile| {
        let mut f = f.clone();
        for u in &mut f.users {
            u.pos = Default::default();
            u.budget_pos = None;
            if u.login.eq_ignore_ascii_case(login) {
                u.budget = None;
                u.budget_expires = None;
            }
        }
        f.budgets = f.budgets.map(|mut b| {
            b.default_pos = None;
            b
        });
        f.teams.iter_mut().for_each(|t| t.pos = Default::default());
        f
    };
    let got = new.user(login).map(|u| (u.budget, u.budget_expires));
    let want = match change {
        BudgetEdit::Set { amount, expires } => (Some(amount), expires),
        BudgetEdit::Drop => (None, None),
    };
    if strip(&new) != strip(&old) || got != Some(want) {
        return Err(EditError::Unverified {
            path: path.to_string(),
            message: format!("the edited file does not hold exactly {login}'s new budget"),
        });
    }
    Ok(Edit::Changed {
        text: new_text,
        lines: touched_first..=touched_last.max(touched_first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, login: &str, c: BudgetEdit) -> String {
        match set_budget("s.yaml", text, login, c).unwrap() {
            Edit::Changed { text, .. } => text,
            other => panic!("{other:?}"),
        }
    }

    const FILE: &str = "org: acme\nusers:\n  - alice   # first\n  - login: bob\n    note: x\n    budget: 5\n\n  - carol\nteams: [a]\n";

    #[test]
    fn sets_replaces_and_drops_budgets_in_place() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        #[rustfmt::skip]
        let cases: &[(&str, BudgetEdit, &str)] = &[
            ("alice", BudgetEdit::Set { amount: 80, expires: None },
             "org: acme\nusers:\n  - login: alice   # first\n    budget: 80\n  - login: bob\n    note: x\n    budget: 5\n\n  - carol\nteams: [a]\n"),
            ("Bob", BudgetEdit::Set { amount: 0, expires: Some(d("2027-03-31")) },
             "org: acme\nusers:\n  - alice   # first\n  - login: bob\n    note: x\n    budget: 0\n    budget_expires: 2027-03-31\n\n  - carol\nteams: [a]\n"),
            ("bob", BudgetEdit::Drop,
             "org: acme\nusers:\n  - alice   # first\n  - login: bob\n    note: x\n\n  - carol\nteams: [a]\n"),
            ("carol", BudgetEdit::Set { amount: 7, expires: None },
             "org: acme\nusers:\n  - alice   # first\n  - login: bob\n    note: x\n    budget: 5\n\n  - login: carol\n    budget: 7\nteams: [a]\n"),
        ];
        for (login, c, want) in cases {
            assert_eq!(set(FILE, login, *c), *want, "{login} {c:?}");
        }
    }

    #[test]
    fn unlisted_logins_and_flow_entries_are_not_edited() {
        assert_eq!(
            set_budget("s.yaml", FILE, "zed", BudgetEdit::Drop).unwrap(),
            Edit::NotListed
        );
        assert_eq!(
            set_budget("s.yaml", FILE, "alice", BudgetEdit::Drop).unwrap(),
            Edit::NotListed,
            "no budget to drop"
        );
        let flow = "org: acme\nusers: [alice, bob]\n";
        assert!(matches!(
            set_budget(
                "s.yaml",
                flow,
                "bob",
                BudgetEdit::Set {
                    amount: 1,
                    expires: None
                }
            ),
            Err(EditError::Layout { .. })
        ));
    }
}
