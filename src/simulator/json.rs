//! GitHub's JSON objects (simple-user, Team, Enterprise Team, seat detail,
//! ...), built from [`SimState`] with every field the official OpenAPI
//! description requires. URLs point at the simulator (`api`) or github.com.

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::state::{SimSeat, SimState, SimTeam};
use crate::plan::{TeamKind, TeamRef};

/// GitHub's timestamp format (`2021-08-03T18:00:00Z`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stable numeric id for a name (FNV-1a), so the same login always gets
/// the same `id` without storing one.
pub(crate) fn stable_id(kind: &str, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind
        .bytes()
        .chain([b':'])
        .chain(name.to_ascii_lowercase().bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    1_000_000 + h % 200_000_000
}

/// GitHub's legacy global node id: base64 of `04:{Type}{id}`.
pub(crate) fn node_id(kind: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("04:{kind}{id}"))
}

const HTML: &str = "https://github.com";

/// `simple-user` (all fields the schema requires).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SimpleUser {
    login: String,
    id: u64,
    node_id: String,
    avatar_url: String,
    gravatar_id: String,
    url: String,
    html_url: String,
    followers_url: String,
    following_url: String,
    gists_url: String,
    starred_url: String,
    subscriptions_url: String,
    organizations_url: String,
    repos_url: String,
    events_url: String,
    received_events_url: String,
    #[serde(rename = "type")]
    kind: &'static str,
    site_admin: bool,
    user_view_type: &'static str,
}

pub(crate) fn simple_user(api: &str, login: &str) -> SimpleUser {
    account(api, login, "User")
}

pub(crate) fn account(api: &str, login: &str, kind: &'static str) -> SimpleUser {
    let id = stable_id(kind, login);
    let u = format!("{api}/users/{login}");
    SimpleUser {
        login: login.to_string(),
        id,
        node_id: node_id(kind, id),
        avatar_url: format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        gravatar_id: String::new(),
        html_url: format!("{HTML}/{login}"),
        followers_url: format!("{u}/followers"),
        following_url: format!("{u}/following{{/other_user}}"),
        gists_url: format!("{u}/gists{{/gist_id}}"),
        starred_url: format!("{u}/starred{{/owner}}{{/repo}}"),
        subscriptions_url: format!("{u}/subscriptions"),
        organizations_url: format!("{u}/orgs"),
        repos_url: format!("{u}/repos"),
        events_url: format!("{u}/events{{/privacy}}"),
        received_events_url: format!("{u}/received_events"),
        url: u,
        kind,
        site_admin: false,
        user_view_type: "public",
    }
}

/// A Team Member (`GET /orgs/{org}/teams/{team_slug}/members`): simple-user
/// plus `role` and `inherited`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TeamMember {
    #[serde(flatten)]
    user: SimpleUser,
    role: &'static str,
    inherited: bool,
}

pub(crate) fn team_member(api: &str, login: &str, inherited: bool) -> TeamMember {
    TeamMember {
        user: simple_user(api, login),
        role: "member",
        inherited,
    }
}

/// The "Public User" of `GET /users/{username}` (the schema forbids other fields).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PublicUser {
    #[serde(flatten)]
    user: SimpleUser,
    name: Option<String>,
    company: Option<String>,
    blog: Option<String>,
    location: Option<String>,
    email: Option<String>,
    hireable: Option<bool>,
    bio: Option<String>,
    twitter_username: Option<String>,
    public_repos: u64,
    public_gists: u64,
    followers: u64,
    following: u64,
    created_at: String,
    updated_at: String,
}

pub(crate) fn public_user(api: &str, login: &str) -> PublicUser {
    let created = DateTime::from_timestamp(
        1_300_000_000 + (stable_id("User", login) % 300_000_000) as i64,
        0,
    )
    .unwrap_or_default();
    PublicUser {
        user: simple_user(api, login),
        name: None,
        company: None,
        blog: Some(String::new()),
        location: None,
        email: None,
        hireable: None,
        bio: None,
        twitter_username: None,
        public_repos: 0,
        public_gists: 0,
        followers: 0,
        following: 0,
        created_at: ts(created),
        updated_at: ts(created),
    }
}

/// `organization-simple`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OrgSimple {
    login: String,
    id: u64,
    node_id: String,
    url: String,
    repos_url: String,
    events_url: String,
    hooks_url: String,
    issues_url: String,
    members_url: String,
    public_members_url: String,
    avatar_url: String,
    description: Option<String>,
}

pub(crate) fn org_simple(api: &str, st: &SimState) -> OrgSimple {
    org_simple_for(api, &st.org, st.org_id)
}

/// `organization-simple` of any organization.
pub(crate) fn org_simple_for(api: &str, org: &str, id: u64) -> OrgSimple {
    let u = format!("{api}/orgs/{org}");
    OrgSimple {
        login: org.to_string(),
        id,
        node_id: node_id("Organization", id),
        repos_url: format!("{u}/repos"),
        events_url: format!("{u}/events"),
        hooks_url: format!("{u}/hooks"),
        issues_url: format!("{u}/issues"),
        members_url: format!("{u}/members{{/member}}"),
        public_members_url: format!("{u}/public_members{{/member}}"),
        avatar_url: format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        description: None,
        url: u,
    }
}

/// `team-simple` (a Team's `parent`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TeamSimple {
    id: u64,
    node_id: String,
    url: String,
    members_url: String,
    name: String,
    description: Option<String>,
    permission: &'static str,
    privacy: &'static str,
    notification_setting: &'static str,
    html_url: String,
    repositories_url: String,
    slug: String,
    #[serde(rename = "type")]
    kind: &'static str,
    organization_id: u64,
}

fn team_simple(api: &str, st: &SimState, team: &SimTeam) -> TeamSimple {
    let id = stable_id("Team", &team.slug);
    let u = format!("{api}/organizations/{}/team/{id}", st.org_id);
    TeamSimple {
        id,
        node_id: node_id("Team", id),
        members_url: format!("{u}/members{{/member}}"),
        name: team.display_name().to_string(),
        description: team.description.clone(),
        permission: "pull",
        privacy: "closed",
        notification_setting: "notifications_enabled",
        html_url: format!("{HTML}/orgs/{}/teams/{}", st.org, team.slug),
        repositories_url: format!("{u}/repos"),
        slug: team.slug.clone(),
        kind: "organization",
        organization_id: st.org_id,
        url: u,
    }
}

/// `team` (an org team as `assigning_team`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Team {
    #[serde(flatten)]
    simple: TeamSimple,
    parent: Option<TeamSimple>,
}

pub(crate) fn team(api: &str, st: &SimState, t: &SimTeam) -> Team {
    let parent = t
        .parent
        .as_deref()
        .map(|p| match st.team(TeamKind::Org, p) {
            Some(pt) => team_simple(api, st, pt),
            None => team_simple(api, st, &SimTeam::new(p, &[])),
        });
    Team {
        simple: team_simple(api, st, t),
        parent,
    }
}

/// `team-full` (`GET /orgs/{org}/teams/{team_slug}`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TeamFull {
    #[serde(flatten)]
    team: Team,
    members_count: usize,
    repos_count: usize,
    created_at: String,
    updated_at: String,
    organization: TeamOrganization,
}

/// `team-organization` (required fields and a few more).
#[derive(Debug, Clone, Serialize)]
struct TeamOrganization {
    #[serde(flatten)]
    simple: OrgSimple,
    name: String,
    html_url: String,
    has_organization_projects: bool,
    has_repository_projects: bool,
    public_repos: u64,
    public_gists: u64,
    followers: u64,
    following: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    created_at: String,
    updated_at: String,
    archived_at: Option<String>,
}

const EPOCH_CREATED: i64 = 1_577_836_800; // 2020-01-01, a fixed "created" date.

pub(crate) fn team_full(api: &str, st: &SimState, t: &SimTeam, members_count: usize) -> TeamFull {
    let created = ts(DateTime::from_timestamp(EPOCH_CREATED, 0).unwrap_or_default());
    TeamFull {
        team: team(api, st, t),
        members_count,
        repos_count: 0,
        created_at: created.clone(),
        updated_at: created.clone(),
        organization: TeamOrganization {
            simple: org_simple(api, st),
            name: st.org.clone(),
            html_url: format!("{HTML}/{}", st.org),
            has_organization_projects: true,
            has_repository_projects: true,
            public_repos: 0,
            public_gists: 0,
            followers: 0,
            following: 0,
            kind: "Organization",
            created_at: created.clone(),
            updated_at: created,
            archived_at: None,
        },
    }
}

/// `enterprise-team`: carries `group_id` (required, nullable), which is how
/// clients tell it from an org team.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnterpriseTeam {
    id: u64,
    name: String,
    slug: String,
    url: String,
    sync_to_organizations: &'static str,
    group_id: Option<String>,
    group_name: Option<String>,
    html_url: String,
    members_url: String,
    created_at: String,
    updated_at: String,
}

pub(crate) fn enterprise_team(api: &str, st: &SimState, t: &SimTeam) -> EnterpriseTeam {
    let ent = st.enterprise.as_deref().unwrap_or(&st.org);
    // "GitHub generates the enterprise team's `slug` from the team `name`
    // and adds the `ent:` prefix."
    let slug = crate::github::live::enterprise_slug(&t.slug);
    let u = format!("{api}/enterprises/{ent}/teams/{slug}");
    let created = ts(DateTime::from_timestamp(EPOCH_CREATED, 0).unwrap_or_default());
    EnterpriseTeam {
        id: stable_id("EnterpriseTeam", &slug),
        name: t
            .display_name()
            .strip_prefix("ent:")
            .unwrap_or(t.display_name())
            .to_string(),
        slug: slug.clone(),
        sync_to_organizations: "disabled",
        group_id: t.group_id.clone(),
        group_name: None,
        html_url: format!("{HTML}/enterprises/{ent}/teams/{slug}"),
        members_url: format!("{u}/members{{/member}}"),
        url: u,
        created_at: created.clone(),
        updated_at: created,
    }
}

/// `assigning_team`: GitHub's `oneOf` of Team and Enterprise Team.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum AssigningTeam {
    Org(Box<Team>),
    Enterprise(Box<EnterpriseTeam>),
}

fn assigning_team(api: &str, st: &SimState, r: &TeamRef) -> AssigningTeam {
    let fallback;
    let t = match st.team(r.kind, &r.slug) {
        Some(t) => t,
        None => {
            fallback = SimTeam::new(&r.slug, &[]);
            &fallback
        }
    };
    match r.kind {
        TeamKind::Org => AssigningTeam::Org(Box::new(team(api, st, t))),
        TeamKind::Enterprise => AssigningTeam::Enterprise(Box::new(enterprise_team(api, st, t))),
    }
}

/// `copilot-seat-details` (the schema has `additionalProperties: false`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SeatDetail {
    assignee: SimpleUser,
    organization: Option<OrgSimple>,
    assigning_team: Option<AssigningTeam>,
    pending_cancellation_date: Option<String>,
    last_activity_at: Option<String>,
    last_activity_editor: Option<String>,
    last_authenticated_at: Option<String>,
    created_at: String,
    updated_at: String,
    plan_type: String,
}

pub(crate) fn seat(api: &str, st: &SimState, org: Option<&OrgSimple>, s: &SimSeat) -> SeatDetail {
    let plan_type = match st.plan_type.as_str() {
        p @ ("business" | "enterprise") => p.to_string(),
        _ => "unknown".to_string(),
    };
    SeatDetail {
        assignee: simple_user(api, &s.login),
        organization: org.cloned(),
        assigning_team: s
            .assigning_team
            .as_ref()
            .map(|r| assigning_team(api, st, r)),
        pending_cancellation_date: s.pending_cancellation_date.map(date),
        last_activity_at: s.last_activity_at.map(ts),
        last_activity_editor: s.last_activity_editor.clone(),
        last_authenticated_at: s.last_authenticated_at.map(ts),
        created_at: ts(s.created_at),
        updated_at: ts(s.updated_at.unwrap_or(s.created_at)),
        plan_type,
    }
}

/// One entry of the enterprise listing: an organization's grant carries
/// its `organization` (and the org team, when one grants it); an
/// enterprise-level grant carries none, or its enterprise team.
pub(crate) fn enterprise_entry(
    api: &str,
    st: &SimState,
    e: super::enterprise::EntryRef,
) -> SeatDetail {
    use super::enterprise::EntryRef;
    let (s, _) = st.entry(e);
    let org = match e {
        EntryRef::Primary(_) => Some(org_simple(api, st)),
        EntryRef::Org(o, _) => Some(org_simple_for(api, &st.orgs[o].login, st.orgs[o].id)),
        EntryRef::Enterprise(_) => None,
    };
    let mut d = seat(api, st, org.as_ref(), s);
    if let (EntryRef::Org(o, _), Some(t)) = (e, &s.assigning_team) {
        // The team is the other organization's, not the primary's.
        let other = &st.orgs[o];
        let granting = other
            .teams
            .iter()
            .find(|x| x.slug.eq_ignore_ascii_case(&t.slug))
            .cloned()
            .unwrap_or_else(|| SimTeam::new(&t.slug, &[]));
        let mut view = SimState::new(&other.login);
        view.org_id = other.id;
        d.assigning_team = Some(AssigningTeam::Org(Box::new(team(api, &view, &granting))));
    }
    d
}

/// The account an App installation belongs to (an org, as a simple-user of
/// type `Organization`).
pub(crate) fn org_account(api: &str, st: &SimState) -> serde_json::Value {
    let mut v = serde_json::to_value(account(api, &st.org, "Organization")).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), st.org_id.into());
        o.insert("node_id".into(), node_id("Organization", st.org_id).into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_case_insensitive() {
        assert_eq!(stable_id("User", "Octocat"), stable_id("User", "octocat"));
        assert_ne!(stable_id("User", "octocat"), stable_id("Team", "octocat"));
    }

    #[test]
    fn node_ids_look_like_github() {
        assert_eq!(node_id("User", 1), "MDQ6VXNlcjE=");
    }

    #[test]
    fn enterprise_team_carries_group_id() {
        let st = SimState::new("acme");
        let v = serde_json::to_value(assigning_team(
            "http://x",
            &st,
            &TeamRef {
                kind: TeamKind::Enterprise,
                slug: "ent-team".into(),
            },
        ))
        .unwrap();
        assert!(v.as_object().unwrap().contains_key("group_id"));
        assert!(v["group_id"].is_null());
    }
}
