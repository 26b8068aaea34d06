//! The roster diff, and what a change to seats.yaml asks for.

use similar::TextDiff;

use super::Format;
use super::markdown::md_escape;
use crate::plan::Plan;

/// Unified diff of the seat roster (`roster_before` vs `roster_after`, one
/// login per line) with headers `seats (now)` and `seats (after apply)`.
/// Empty when the roster does not change.
pub fn diff(plan: &Plan) -> String {
    if plan.roster_before == plan.roster_after {
        return String::new();
    }
    TextDiff::from_lines(plan.roster_before.as_text(), plan.roster_after.as_text())
        .unified_diff()
        .header("seats (now)", "seats (after apply)")
        .to_string()
}

/// What a change to seats.yaml asks for, between a base version (e.g. the
/// PR's target branch) and the working file: logins and teams added and
/// removed. Shown above the live plan in a pull request.
pub fn desired_diff(
    base: &crate::config::SeatsFile,
    head: &crate::config::SeatsFile,
    format: Format,
    color: bool,
) -> String {
    let d = DesiredDiff::between(base, head);
    match format {
        Format::Json => String::new(),
        Format::Markdown => d.markdown(),
        Format::Text | Format::Diff => d.text(color),
    }
}

/// Logins and teams a seats.yaml change adds or removes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredDiff {
    /// Logins added to `users` (as written in the new file).
    pub users_added: Vec<String>,
    /// Logins removed from `users`.
    pub users_removed: Vec<String>,
    /// Teams added to `teams`.
    pub teams_added: Vec<String>,
    /// Teams removed from `teams`.
    pub teams_removed: Vec<String>,
    /// True when the `policy` block changed.
    pub policy_changed: bool,
}

impl DesiredDiff {
    /// Compare two files; logins compare case-insensitively.
    pub fn between(
        base: &crate::config::SeatsFile,
        head: &crate::config::SeatsFile,
    ) -> DesiredDiff {
        use std::collections::BTreeMap;
        let users = |f: &crate::config::SeatsFile| -> BTreeMap<String, String> {
            f.users
                .iter()
                .map(|u| (u.login.to_ascii_lowercase(), u.login.clone()))
                .collect()
        };
        let teams = |f: &crate::config::SeatsFile| -> BTreeMap<String, String> {
            f.teams
                .iter()
                .map(|t| (t.slug.to_ascii_lowercase(), t.slug.clone()))
                .collect()
        };
        let only = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| -> Vec<String> {
            a.iter()
                .filter(|(k, _)| !b.contains_key(*k))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (bu, hu, bt, ht) = (users(base), users(head), teams(base), teams(head));
        DesiredDiff {
            users_added: only(&hu, &bu),
            users_removed: only(&bu, &hu),
            teams_added: only(&ht, &bt),
            teams_removed: only(&bt, &ht),
            policy_changed: base.policy != head.policy,
        }
    }

    fn is_empty(&self) -> bool {
        self.users_added.is_empty()
            && self.users_removed.is_empty()
            && self.teams_added.is_empty()
            && self.teams_removed.is_empty()
            && !self.policy_changed
    }

    fn lines(&self) -> Vec<(char, String)> {
        let mut out = Vec::new();
        out.extend(self.teams_added.iter().map(|t| ('+', format!("team {t}"))));
        out.extend(self.users_added.iter().map(|u| ('+', u.clone())));
        out.extend(
            self.teams_removed
                .iter()
                .map(|t| ('-', format!("team {t}"))),
        );
        out.extend(self.users_removed.iter().map(|u| ('-', u.clone())));
        if self.policy_changed {
            out.push(('~', "policy".to_string()));
        }
        out
    }

    fn text(&self, color: bool) -> String {
        if self.is_empty() {
            return "This change does not change who is listed in seats.yaml.\n\n".to_string();
        }
        let mut s = String::from("This change to seats.yaml asks for:\n");
        for (sign, what) in self.lines() {
            let line = format!("  {sign} {what}");
            let code = match sign {
                '+' => "32",
                '-' => "31",
                _ => "33",
            };
            if color {
                s.push_str(&format!("\x1b[{code}m{line}\x1b[0m\n"));
            } else {
                s.push_str(&line);
                s.push('\n');
            }
        }
        s.push_str("\nAgainst the live seats, applying it gives:\n");
        s
    }

    pub(super) fn markdown(&self) -> String {
        let mut s = String::from("### What this pull request asks for\n\n");
        if self.is_empty() {
            s.push_str("No one is added to or removed from seats.yaml.\n\n");
            return s;
        }
        for (sign, what) in self.lines() {
            s.push_str(&format!("- `{sign}` {}\n", md_escape(&what)));
        }
        s.push('\n');
        s
    }
}
