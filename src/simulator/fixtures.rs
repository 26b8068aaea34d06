//! Ready-made states: the demo org and generated big orgs.

use chrono::{DateTime, Duration, Utc};

use super::state::{SimSeat, SimState, SimTeam, first_of_next_month};
use crate::plan::{TeamKind, TeamRef};

const DEMO_MEMBERS: [&str; 50] = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "xena",
    "yusuf",
    "zara",
    "amir",
    "beatriz",
    "chen",
    "dmitri",
    "elena",
    "farid",
    "gwen",
    "hiro",
    "ines",
    "jonas",
    "kemal",
    "lena",
    "mateo",
    "nadia",
    "oskar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tomas",
    "uma",
    "vera",
    "wei",
    "ximena",
    "yara",
    "zoltan",
    "Octo-Admin",
    "hubot",
];

const EDITORS: [&str; 3] = [
    "vscode/1.98.2/copilot/1.280.0",
    "JetBrains-IU/243.22562.218/copilot-intellij/1.5.30",
    "copilot-chat-platform",
];

/// The repository holding the demo's seats.yaml (`GET /repos/acme/copilot-seats/contents/seats.yaml`).
pub const DEMO_REPO: &str = "acme/copilot-seats";

fn seat(
    login: &str,
    now: DateTime<Utc>,
    created_days: i64,
    active_days: Option<i64>,
    n: usize,
) -> SimSeat {
    // Anchor at noon UTC of today, so "N days ago" (and a few minutes'
    // spread between seats) never crosses midnight: the demo prints the
    // same day counts whatever the time of day.
    let noon = now
        .date_naive()
        .and_time(chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
        .and_utc();
    let mut s = SimSeat::new(login, noon - Duration::days(created_days));
    s.updated_at = Some(s.created_at);
    s.last_activity_at =
        active_days.map(|d| noon - Duration::days(d) - Duration::minutes(n as i64 * 7));
    s.last_activity_editor = active_days.map(|_| EDITORS[n % EDITORS.len()].to_string());
    s
}

/// The demo org `acme`: 50 members; teams `engineering` (with child team
/// `platform`) and `data-science` (selected, so its 3 members hold
/// team-granted seats); 18 direct seats, of which `chen`, `dmitri` and
/// `elena` have been idle 95+ days and `farid` never used his; `kemal`'s seat
/// is pending cancellation; `octocat` and `contractor-carl` exist on GitHub
/// but are not members; `seat_management_setting: assign_selected`. A
/// seats.yaml in [`DEMO_REPO`] on `main` keeps most seats, adds `lena`,
/// drops `jonas` and expires `ines` in the future. Dates are relative to now.
pub fn demo_state() -> SimState {
    let now = Utc::now();
    let mut st = SimState::new("acme");
    st.org_id = 4_200_001;
    st.next_billing_date = first_of_next_month(now.date_naive());
    st.members = DEMO_MEMBERS.iter().map(|s| s.to_string()).collect();
    st.users = vec!["octocat".to_string(), "contractor-carl".to_string()];
    let mut eng = SimTeam::new(
        "engineering",
        &["alice", "bob", "carol", "dave", "erin", "frank"],
    );
    eng.name = "Engineering".to_string();
    eng.description = Some("Everyone who ships code".to_string());
    let mut platform =
        SimTeam::new("platform", &["grace", "heidi", "ivan"]).with_parent("engineering");
    platform.name = "Platform".to_string();
    let mut data = SimTeam::new("data-science", &["judy", "mallory", "niaj"]);
    data.name = "Data Science".to_string();
    st.teams = vec![eng, platform, data];
    // A budget made by hand in the UI for someone seats.yaml gives none:
    // the demo's plan deletes it (budgets.manage: exclusive).
    st.budgets.org = vec![super::budgets::SimBudget::ai_credits(
        "5e1f0000-0000-4000-8000-00000000d317",
        Some("dmitri"),
        30,
    )];

    let direct: [(&str, i64, Option<i64>); 18] = [
        ("alice", 400, Some(0)),
        ("bob", 380, Some(1)),
        ("carol", 300, Some(2)),
        ("dave", 250, Some(0)),
        ("erin", 200, Some(5)),
        ("frank", 190, Some(12)),
        ("grace", 180, Some(3)),
        ("heidi", 170, Some(1)),
        ("amir", 160, Some(20)),
        ("beatriz", 150, Some(8)),
        ("chen", 300, Some(120)),
        ("dmitri", 240, Some(95)),
        ("elena", 365, Some(200)),
        ("farid", 100, None),
        ("gwen", 90, Some(4)),
        ("hiro", 60, Some(2)),
        ("ines", 30, Some(1)),
        ("jonas", 45, Some(6)),
    ];
    for (n, (login, created, active)) in direct.into_iter().enumerate() {
        st.seats.push(seat(login, now, created, active, n));
    }
    let data_ref = TeamRef {
        kind: TeamKind::Org,
        slug: "data-science".into(),
    };
    for (n, login) in ["judy", "mallory", "niaj"].into_iter().enumerate() {
        let mut s = seat(login, now, 120, Some(n as i64 * 3), n);
        s.assigning_team = Some(data_ref.clone());
        st.seats.push(s);
    }
    st.selected_teams.insert("data-science".to_string());
    let mut pending = seat("kemal", now, 210, Some(70), 1);
    pending.pending_cancellation_date = Some(st.next_billing_date);
    st.seats.push(pending);

    let expires = (now + Duration::days(90)).format("%Y-%m-%d");
    let yaml = format!(
        "# Copilot seats for acme: open a pull request to change them.\n\
         org: acme\n\
         policy:\n  max_removals: 10\n  protected: [Octo-Admin]\n  inactivity:\n    days: 60\n    action: report\n\
         teams:\n  - data-science\n\
         users:\n  - alice\n  - bob\n  - carol\n  - dave\n  - erin\n  - frank\n  - grace\n  - heidi\n\
         \x20 - amir\n  - beatriz\n  - chen\n  - dmitri\n  - elena\n  - farid\n  - gwen\n  - hiro\n\
         \x20 - login: ines\n    expires: {expires}\n    note: summer internship\n  - lena\n"
    );
    st.put_file(DEMO_REPO, "main", "seats.yaml", &yaml);
    st.normalize(now);
    st
}

/// Shape of a generated org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSpec {
    /// Seats in total.
    pub seats: usize,
    /// Members without a seat (candidates to add).
    pub extra_members: usize,
    /// How many of the seats (the last ones) are granted by the selected team
    /// `generated-team` instead of directly.
    pub team_seats: usize,
    /// Every n-th seat is pending cancellation (0: none).
    pub pending_every: usize,
    /// Every n-th seat has been idle for 100 days (0: none).
    pub idle_every: usize,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            seats: 1000,
            extra_members: 0,
            team_seats: 0,
            pending_every: 0,
            idle_every: 10,
        }
    }
}

/// The login of the `i`-th generated member: `user000001`, ...
pub fn generated_login(i: usize) -> String {
    format!("user{i:06}")
}

/// A big org for tests and benches: `seats` direct seats held by
/// `user000000`.. (every 10th idle for 100 days), plus `extra_members`
/// members without a seat. Builds 100,000 seats in well under a second.
pub fn generated_state(org: &str, seats: usize, extra_members: usize) -> SimState {
    generated_state_with(
        org,
        &GenSpec {
            seats,
            extra_members,
            ..GenSpec::default()
        },
    )
}

/// [`generated_state`] with every knob.
pub fn generated_state_with(org: &str, spec: &GenSpec) -> SimState {
    let now = Utc::now();
    let mut st = SimState::new(org);
    st.next_billing_date = first_of_next_month(now.date_naive());
    let total = spec.seats + spec.extra_members;
    st.members = (0..total).map(generated_login).collect();
    let team_from = spec.seats.saturating_sub(spec.team_seats);
    let team_ref = TeamRef {
        kind: TeamKind::Org,
        slug: "generated-team".into(),
    };
    if spec.team_seats > 0 {
        let members: Vec<&str> = st.members[team_from..spec.seats]
            .iter()
            .map(String::as_str)
            .collect();
        st.teams.push(SimTeam::new("generated-team", &members));
        st.selected_teams.insert("generated-team".to_string());
    }
    st.seats.reserve(spec.seats);
    for i in 0..spec.seats {
        let idle = spec.idle_every > 0 && i % spec.idle_every == spec.idle_every - 1;
        let active = if idle { 100 } else { (i % 30) as i64 };
        let mut s = seat(&st.members[i], now, 120 + (i % 365) as i64, Some(active), i);
        if i >= team_from {
            s.assigning_team = Some(team_ref.clone());
        } else if spec.pending_every > 0 && i % spec.pending_every == spec.pending_every - 1 {
            s.pending_cancellation_date = Some(st.next_billing_date);
        }
        st.seats.push(s);
    }
    st.normalize(now);
    st
}

/// A big enterprise for tests and benches. `users` enterprise members
/// `user000000`..; the first half hold a direct enterprise grant, the
/// second half a grant through enterprise team `ent:generated`; of all users,
/// `overlap_percent` % also hold a seat through the enterprise's
/// organization `generated-org` (listed with `organization`, outside an
/// enterprise file). `extra_members` more members hold nothing. Entries:
/// `users + users * overlap_percent / 100`, spread over the listing (the
/// organization's entries come first), while `total_seats` is `users`.
pub fn generated_enterprise(
    enterprise: &str,
    users: usize,
    overlap_percent: usize,
    extra_members: usize,
) -> SimState {
    let now = Utc::now();
    let mut st = SimState::new("generated-org");
    st.enterprise = Some(enterprise.to_string());
    st.next_billing_date = first_of_next_month(now.date_naive());
    let logins: Vec<String> = (0..users + extra_members).map(generated_login).collect();
    let half = users / 2;
    let overlap = users * overlap_percent / 100;
    // Organization members: every user with an org seat (spread evenly).
    let step = users.checked_div(overlap).unwrap_or(usize::MAX);
    let mut org_members = Vec::with_capacity(overlap);
    for (i, login) in logins[..users].iter().enumerate() {
        if overlap > 0 && i % step == 0 && org_members.len() < overlap {
            org_members.push(login.clone());
        }
    }
    st.members = org_members;
    st.enterprise_members = logins.clone();
    for (i, m) in st.members.clone().iter().enumerate() {
        let mut s = seat(m, now, 200 + (i % 100) as i64, Some((i % 20) as i64), i);
        s.last_authenticated_at = s.last_activity_at;
        st.seats.push(s);
    }
    st.enterprise_selected_users = logins[..half]
        .iter()
        .map(|l| l.to_ascii_lowercase())
        .collect();
    let team: Vec<&str> = logins[half..users].iter().map(String::as_str).collect();
    st.enterprise_teams
        .push(SimTeam::new("ent:generated", &team));
    st.selected_enterprise_teams
        .insert("ent:generated".to_string());
    st.normalize(now);
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_what_the_docs_promise() {
        let mut st = demo_state();
        assert_eq!(st.members.len(), 50);
        assert_eq!(st.teams.len(), 3);
        assert_eq!(st.seats.len(), 22);
        assert!(st.seats.iter().any(|s| s.assigning_team.is_some()));
        assert!(
            st.seats
                .iter()
                .any(|s| s.pending_cancellation_date.is_some())
        );
        assert!(st.user_exists("octocat") && !st.is_member("octocat"));
        assert_eq!(st.seat_management_setting.as_str(), "assign_selected");
        assert_eq!(st.effective_members(TeamKind::Org, "engineering").len(), 9);
        assert!(st.file(DEMO_REPO, "main", "seats.yaml").is_some());
    }

    #[test]
    fn generated_is_fast_and_consistent() {
        let t = std::time::Instant::now();
        let mut st = generated_state_with(
            "big",
            &GenSpec {
                seats: 100_000,
                extra_members: 10,
                team_seats: 500,
                pending_every: 50,
                idle_every: 10,
            },
        );
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        assert_eq!(st.seats.len(), 100_000);
        assert_eq!(st.members.len(), 100_010);
        assert!(st.seat("user099999").unwrap().assigning_team.is_some());
        assert!(
            st.seat("user000049")
                .unwrap()
                .pending_cancellation_date
                .is_some()
        );
        assert!(st.is_member("user100009"));
    }

    #[test]
    fn generated_enterprise_has_entries_per_grant() {
        let t = std::time::Instant::now();
        let mut st = generated_enterprise("big", 1000, 30, 10);
        let listing = st.enterprise_listing();
        assert_eq!(listing.users, 1000);
        assert_eq!(listing.entries.len(), 1300);
        assert_eq!(st.enterprise_members.len(), 1010);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }
}
