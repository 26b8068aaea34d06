//! `seatkeeper import`: a seats.yaml that matches the live seats.

/// A valid seats.yaml that matches a live listing: direct seats as `users`,
/// granting teams as `teams`, seats pending cancellation left out (listed in
/// a comment). Sorted, so re-importing gives the same bytes.
pub fn seats_yaml(scope: &crate::config::Scope, live: &crate::plan::LiveState) -> String {
    use crate::config::Scope;
    use crate::plan::{Grant, TeamKind};
    use std::collections::BTreeMap;
    let kind = match scope {
        Scope::Org(_) => TeamKind::Org,
        Scope::Enterprise(_) => TeamKind::Enterprise,
    };
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    let mut teams: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    let mut foreign: BTreeMap<String, String> = BTreeMap::new();
    for u in &live.users {
        let key = u.login.to_ascii_lowercase();
        let mut managed = false;
        let mut outside = Vec::new();
        for g in u.grants.iter().filter(|g| g.held()) {
            match &g.grant {
                Grant::Direct => {
                    users.insert(key.clone(), u.login.clone());
                    managed = true;
                }
                Grant::Team(t) if t.kind == kind => {
                    teams.insert(t.slug.to_ascii_lowercase(), t.slug.to_string());
                    managed = true;
                }
                other => outside.push(other.describe()),
            }
        }
        if !u.held() {
            let until = u
                .grants
                .iter()
                .filter_map(|g| g.pending_cancellation_date)
                .max()
                .map(|d| format!(" (until {d})"))
                .unwrap_or_default();
            pending.insert(key, format!("{}{until}", u.login));
        } else if !managed {
            foreign.insert(key, format!("{} ({})", u.login, outside.join(", ")));
        }
    }
    // The first line points editors at the schema, so the file is checked
    // as it is edited.
    let mut s = crate::config::schema::modeline();
    s.push_str("\n# Imported by `seatkeeper import` from the live Copilot seats.\n");
    s.push_str(&format!("{}: {}\n", scope.kind(), scope.name()));
    s.push_str(concat!(
        "policy:\n",
        "  # enforce: seats not listed below are removed; additive: never remove.\n",
        "  removals: enforce\n",
        "  # At most this many seats lost per reconcile, or nothing is applied\n",
        "  # (a count, or a percentage of current seats). Lower it to be stricter.\n",
        "  max_removals: \"25%\"\n",
    ));
    if !pending.is_empty() {
        s.push_str("# Seats pending cancellation, left out (add them back to keep them):\n");
        for p in pending.values() {
            s.push_str(&format!("#   {p}\n"));
        }
    }
    if !foreign.is_empty() {
        s.push_str("# Seats granted outside this file, left alone by seatkeeper:\n");
        for p in foreign.values() {
            s.push_str(&format!("#   {p}\n"));
        }
    }
    if teams.is_empty() {
        s.push_str("teams: []\n");
    } else {
        s.push_str("teams:\n");
        for t in teams.values() {
            s.push_str(&format!("  - {t}\n"));
        }
    }
    if users.is_empty() {
        s.push_str("users: []\n");
    } else {
        s.push_str("users:\n");
        for u in users.values() {
            s.push_str(&format!("  - {u}\n"));
        }
    }
    s
}
