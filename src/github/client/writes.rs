//! Seat writes: batches, bisection of a refused batch down to the name at
//! fault, and what GitHub's 422s mean.

use std::collections::{HashMap, HashSet};

use http::{Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;

use super::{GitHubClient, Req, scope_label, seg};
use crate::github::{GitHubError, Scope, SeatApi, SeatManagementSetting, WriteReport};

/// The kinds of write, each a set operation on the seat assignment (or, for
/// an enterprise dedicated to Copilot, on the assigning team's membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write<'a> {
    AddUsers,
    RemoveUsers,
    AddTeams,
    RemoveTeams,
    /// `POST /enterprises/{enterprise}/teams/{enterprise-team}/memberships/add`.
    AddMembers(&'a str),
    /// `POST /enterprises/{enterprise}/teams/{enterprise-team}/memberships/remove`.
    RemoveMembers(&'a str),
}

impl Write<'_> {
    fn method(self) -> Method {
        match self {
            Write::AddUsers | Write::AddTeams | Write::AddMembers(_) | Write::RemoveMembers(_) => {
                Method::POST
            }
            Write::RemoveUsers | Write::RemoveTeams => Method::DELETE,
        }
    }

    /// Route template, concrete path and body key (checked against the GHEC
    /// OpenAPI description: users take `selected_usernames` on both scopes,
    /// org teams `selected_teams`, enterprise teams `selected_enterprise_teams`,
    /// the bulk membership routes `usernames`).
    fn target(self, scope: &Scope) -> (&'static str, String, &'static str) {
        let name = scope.name();
        match (self, scope) {
            (Write::AddMembers(team), _) => (
                "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/add",
                format!(
                    "/enterprises/{}/teams/{}/memberships/add",
                    seg(name),
                    seg(team)
                ),
                "usernames",
            ),
            (Write::RemoveMembers(team), _) => (
                "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/remove",
                format!(
                    "/enterprises/{}/teams/{}/memberships/remove",
                    seg(name),
                    seg(team)
                ),
                "usernames",
            ),
            (Write::AddUsers | Write::RemoveUsers, Scope::Org(o)) => (
                "/orgs/{org}/copilot/billing/selected_users",
                format!("/orgs/{}/copilot/billing/selected_users", seg(o)),
                "selected_usernames",
            ),
            (Write::AddTeams | Write::RemoveTeams, Scope::Org(o)) => (
                "/orgs/{org}/copilot/billing/selected_teams",
                format!("/orgs/{}/copilot/billing/selected_teams", seg(o)),
                "selected_teams",
            ),
            (Write::AddUsers | Write::RemoveUsers, Scope::Enterprise(e)) => (
                "/enterprises/{enterprise}/copilot/billing/selected_users",
                format!("/enterprises/{}/copilot/billing/selected_users", seg(e)),
                "selected_usernames",
            ),
            (Write::AddTeams | Write::RemoveTeams, Scope::Enterprise(e)) => (
                "/enterprises/{enterprise}/copilot/billing/selected_enterprise_teams",
                format!(
                    "/enterprises/{}/copilot/billing/selected_enterprise_teams",
                    seg(e)
                ),
                "selected_enterprise_teams",
            ),
        }
    }
}

/// How a refusal of a write is read.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The scope does not assign seats to selected users and teams.
    NotAssignSelected,
    /// Copilot, its billing or its policies are not set up: no name is at
    /// fault, and every other write of the scope would get the same answer.
    ScopeWide,
    /// These names of the request were refused.
    Names(Vec<String>),
}

/// GitHub documents these 422 causes for the selected_users/teams routes:
/// "Copilot Business or Enterprise is not enabled for this organization,
/// billing has not been set up for this organization, a public code
/// suggestions policy has not been set for this organization, or the
/// organization's Copilot access setting is set to enable Copilot for all
/// users or is unconfigured." The observed body for the access setting is
/// "Your organization has enabled Copilot access for all members. Enable
/// access for selected members in order to manage seats via the API.", and
/// for billing "There is a problem with the payment method associated with
/// this account." (`../shared/github-observed/README.md`). A message with
/// one of these causes is scope-wide whatever names it happens to contain
/// (a login `members` must not be read out of the sentence); any other
/// message is about the names of the request it names, and one that names
/// none of them is scope-wide too: it is not about the names sent.
fn read_refusal(message: &str, sent: &[String]) -> Refusal {
    let m = message.to_ascii_lowercase();
    let setting = [
        "assign_selected",
        "access setting",
        "seat management setting",
        "for all users",
        "for all members",
        "selected members",
        "unconfigured",
    ];
    let scope_wide = [
        "payment method",
        "billing has not been set up",
        "code suggestions policy",
        "not enabled for this",
    ];
    if setting.iter().any(|p| m.contains(p)) {
        return Refusal::NotAssignSelected;
    }
    if scope_wide.iter().any(|p| m.contains(p)) {
        return Refusal::ScopeWide;
    }
    match names_in(message, sent) {
        named if named.is_empty() => Refusal::ScopeWide,
        named => Refusal::Names(named),
    }
}

/// The names of `sent` that GitHub's message names: GitHub lists the
/// logins or teams it refused ("One or more users do not exist in this
/// organization: LOGINS"; the exact wording is not documented, so only the
/// names are read). After a colon, the comma-separated items are compared
/// whole (a team "Data" is not named by "Data Science"); otherwise, or when
/// no item matches, a name counts when it stands between non-word
/// characters, ignoring case.
fn names_in(message: &str, sent: &[String]) -> Vec<String> {
    if let Some((_, list)) = message.split_once(':') {
        let items: Vec<String> = list
            .split(',')
            .map(|i| i.trim().trim_end_matches('.').trim().to_lowercase())
            .collect();
        let listed: Vec<String> = sent
            .iter()
            .filter(|n| items.contains(&n.to_lowercase()))
            .cloned()
            .collect();
        if !listed.is_empty() {
            return listed;
        }
    }
    let text = message.to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    sent.iter()
        .filter(|name| {
            let needle = name.to_lowercase();
            !needle.is_empty()
                && text.match_indices(&needle).any(|(i, _)| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + needle.len()..].chars().next();
                    !before.is_some_and(word) && !after.is_some_and(word)
                })
        })
        .cloned()
        .collect()
}

/// What to change for an org write refused with a 422 that names no login,
/// picked from GitHub's message.
fn org_advice(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    let mut advice = Vec::new();
    if m.contains("payment method") || m.contains("billing") {
        advice.push(
            "fix the organization's billing (Settings > Billing and plans: the payment method)",
        );
    }
    if m.contains("code suggestions") || m.contains("suggestion matching") {
        advice.push("set the organization's \"Suggestions matching public code\" policy to Allowed or Blocked (it must not be unset)");
    }
    if m.contains("not enabled") || m.contains("disabled") {
        advice.push("enable Copilot Business or Enterprise for the organization");
    }
    if advice.is_empty() {
        advice.push("check the organization's Copilot settings (access for selected members, the public-code suggestions policy) and its billing");
    }
    advice.join("; ")
}

/// What to change for an enterprise write refused with GHEC's scope-wide
/// 422 ("Copilot is not enabled for this enterprise, billing has not been set
/// up for this enterprise, a public code suggestions policy has not been set
/// for this enterprise, or the enterprise's Copilot access setting is set to
/// enable Copilot for all users or is unconfigured"), picked from the message.
pub(crate) fn enterprise_advice(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    let mut advice = Vec::new();
    if m.contains("access setting") || m.contains("for all users") || m.contains("unconfigured") {
        advice.push("in the enterprise's Copilot policies, set Copilot access to \"enabled for selected users and teams\" (not all members, not unconfigured)");
    }
    if m.contains("code suggestions") || m.contains("suggestion matching") {
        advice.push("set the enterprise's \"Suggestions matching public code\" policy to Allowed or Blocked (it must not be unset)");
    }
    if m.contains("billing") {
        advice
            .push("set up billing for the enterprise (a payment method or an Azure subscription)");
    }
    if m.contains("not enabled") {
        advice.push("enable Copilot Business or Enterprise for the enterprise");
    }
    if advice.is_empty() {
        advice.push("check the enterprise's Copilot policies (access for selected users and teams, the public-code suggestions policy) and its billing");
    }
    advice.join("; ")
}

/// Outcome of one write request.
enum BatchOutcome {
    Applied(u64),
    /// `202`: accepted, done later (GitHub's message).
    Accepted(String),
    /// Refused with a message that names these values of the request (a
    /// 404 "do not exist", a 422 naming a login): they are dropped and the
    /// rest is sent again.
    Refused {
        named: Vec<String>,
        message: String,
    },
}

#[derive(Deserialize)]
struct WriteResponse {
    #[serde(default)]
    seats_created: Option<u64>,
    #[serde(default)]
    seats_cancelled: Option<u64>,
}

/// What team writes need to know, per client: each team's name by (scope,
/// lowercase slug), read from the seat listing or a `GET` of the team, and
/// the scopes whose server turned names down and took slugs. The request
/// bodies document "List of team names".
#[derive(Debug, Default)]
pub(super) struct TeamCache {
    names: HashMap<(String, String), String>,
    by_slug: HashSet<String>,
}

impl TeamCache {
    fn key(scope: &Scope, slug: &str) -> (String, String) {
        (scope.name().to_string(), slug.to_lowercase())
    }

    /// Names of granting teams as the seat listing shows them: a team
    /// write to remove them needs no look-up.
    pub(super) fn remember(&mut self, scope: &Scope, found: HashMap<String, String>) {
        for (slug, name) in found {
            self.names.insert(Self::key(scope, &slug), name);
        }
    }
}

impl GitHubClient {
    /// One write of one batch.
    async fn write_batch(
        &self,
        crab: &Octocrab,
        scope: &Scope,
        kind: Write<'_>,
        names: &[String],
    ) -> Result<BatchOutcome, GitHubError> {
        let (route, path, key) = kind.target(scope);
        let body = serde_json::json!({ key: names }).to_string();
        let req = Req {
            method: kind.method(),
            route,
            path,
            body: Some(body),
            if_none_match: None,
        };
        let resp = self.send(crab, &req).await?;
        // "202 Response" of the enterprise team DELETE: {"message": "Status
        // for delete command"}: accepted, not done yet.
        if resp.status == StatusCode::ACCEPTED {
            return Ok(BatchOutcome::Accepted(resp.message()));
        }
        if resp.status.is_success() {
            let changed = serde_json::from_str::<WriteResponse>(&resp.body)
                .map(|r| r.seats_created.or(r.seats_cancelled).unwrap_or(0))
                .unwrap_or(0);
            return Ok(BatchOutcome::Applied(changed));
        }
        if resp.status != StatusCode::UNPROCESSABLE_ENTITY && resp.status != StatusCode::NOT_FOUND {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let message = resp.message();
        let refusal = read_refusal(&message, names);
        // A 404 naming nothing sent: the org or enterprise itself is missing
        // (or hidden from the token).
        if resp.status == StatusCode::NOT_FOUND && !matches!(refusal, Refusal::Names(_)) {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        match (refusal, scope) {
            (Refusal::Names(named), _) => Ok(BatchOutcome::Refused { named, message }),
            (Refusal::NotAssignSelected, Scope::Org(_)) => {
                Err(self.not_assign_selected(scope, &req, message).await)
            }
            (_, _) => Err(GitHubError::ScopePolicy {
                scope: scope_label(scope),
                method: req.method.to_string(),
                route: req.route.to_string(),
                advice: match scope {
                    Scope::Enterprise(_) => enterprise_advice(&message),
                    Scope::Org(_) => org_advice(&message),
                },
                message,
            }),
        }
    }

    /// Confirm a "not assign_selected" refusal with the billing route (org
    /// scope) so the error names the current setting; if billing says
    /// `assign_selected` after all, the 422 was about something else.
    pub(super) async fn not_assign_selected(
        &self,
        scope: &Scope,
        req: &Req,
        message: String,
    ) -> GitHubError {
        let setting = match scope {
            Scope::Org(_) => match self.billing(scope).await {
                Ok(b) if b.seat_management_setting == SeatManagementSetting::AssignSelected => {
                    return GitHubError::Http {
                        status: 422,
                        method: req.method.to_string(),
                        route: req.route.to_string(),
                        message,
                    };
                }
                Ok(b) => b.seat_management_setting.as_str().to_string(),
                Err(_) => "not assign_selected".to_string(),
            },
            Scope::Enterprise(_) => "not assign_selected".to_string(),
        };
        GitHubError::NotAssignSelected {
            scope: scope_label(scope),
            setting,
        }
    }

    /// Apply one logical write in batches of `batch_size`. A refusal that
    /// names some of the batch drops those names (reported in
    /// [`WriteReport::failed`] with GitHub's message) and sends the rest
    /// again, so one bad login never blocks the others; a refusal that
    /// names none of them is scope-wide and ends the write with an error
    /// (the caller writes nothing more to that scope).
    ///
    /// Retrying these writes (after a 5xx, a timeout, a dropped connection
    /// or a rate limit) is safe because they are set operations on the seat
    /// assignment, not increments. GitHub's REST reference ("Copilot user
    /// management", <https://docs.github.com/en/rest/copilot/copilot-user-management>):
    /// "Add users to the Copilot subscription" purchases a seat "for each
    /// user specified" and "the response contains the total number of new
    /// seats that were created and existing seats that were refreshed", so
    /// re-adding a user who holds a seat buys no second one; "Remove users" "sets
    /// seats for all users specified to 'pending cancellation'" and counts
    /// the seats so set, so cancelling again changes nothing. The team routes
    /// are documented the same way. A request that GitHub applied but whose
    /// answer was lost can therefore be sent again without granting (and
    /// billing) or cancelling anything twice; `tests/it/github_client.rs`
    /// checks it against the simulator.
    pub(super) async fn write(
        &self,
        scope: &Scope,
        kind: Write<'_>,
        names: &[String],
    ) -> Result<WriteReport, GitHubError> {
        let mut report = WriteReport::default();
        if names.is_empty() {
            return Ok(report);
        }
        let crab = self.crab_for_scope(scope).await?;
        for batch in names.chunks(self.inner.batch_size) {
            let mut rest: Vec<String> = batch.to_vec();
            // Each refusal names at least one of `rest`: this ends.
            while !rest.is_empty() {
                match self.write_batch(&crab, scope, kind, &rest).await? {
                    BatchOutcome::Applied(n) => {
                        report.applied.append(&mut rest);
                        report.seats_changed += n;
                    }
                    BatchOutcome::Accepted(message) => {
                        tracing::info!(
                            names = %rest.join(", "),
                            route = kind.target(scope).0,
                            %message,
                            "GitHub accepted the write for later (202): the next reconcile checks it"
                        );
                        report
                            .pending
                            .extend(rest.drain(..).map(|n| (n, message.clone())));
                    }
                    BatchOutcome::Refused { named, message } => {
                        tracing::warn!(
                            names = %named.join(", "),
                            route = kind.target(scope).0,
                            %message,
                            "GitHub refused names of a write; sending the others again"
                        );
                        rest.retain(|n| !named.contains(n));
                        report
                            .failed
                            .extend(named.into_iter().map(|n| (n, message.clone())));
                    }
                }
            }
        }
        Ok(report)
    }

    /// A team write: teams go by name, as the request bodies document, each
    /// name read from the team (`GET /orgs/{org}/teams/{slug}` or
    /// `GET /enterprises/{enterprise}/teams/{slug}`) once per client. Names
    /// GitHub turns down are tried once more by slug; if the slugs go
    /// through, this scope's teams go by slug from then on (logged once).
    /// The report names teams by slug, as the plan does.
    pub(super) async fn write_teams(
        &self,
        scope: &Scope,
        kind: Write<'_>,
        slugs: &[String],
    ) -> Result<WriteReport, GitHubError> {
        if self.teams().by_slug.contains(scope.name()) {
            return self.write(scope, kind, slugs).await;
        }
        let mut by_value: HashMap<String, String> = HashMap::new();
        let mut values = Vec::with_capacity(slugs.len());
        for slug in slugs {
            let name = self.team_name(scope, slug).await?;
            by_value.insert(name.clone(), slug.clone());
            values.push(name);
        }
        let mut report = self.write(scope, kind, &values).await?;
        let to_slug = |v: &String| by_value.get(v).cloned().unwrap_or_else(|| v.clone());
        report.applied = report.applied.iter().map(to_slug).collect();
        for (value, _) in &mut report.pending {
            *value = to_slug(value);
        }
        let mut failed = Vec::new();
        let mut again = Vec::new();
        for (value, message) in std::mem::take(&mut report.failed) {
            let slug = to_slug(&value);
            if slug != value {
                again.push(slug);
            } else {
                failed.push((slug, message));
            }
        }
        if !again.is_empty() {
            {
                let mut teams = self.teams();
                for slug in &again {
                    teams.names.remove(&TeamCache::key(scope, slug));
                }
            }
            let retry = self.write(scope, kind, &again).await?;
            if !retry.applied.is_empty() {
                tracing::warn!(
                    scope = %scope_label(scope),
                    teams = %retry.applied.join(", "),
                    "GitHub turned down team names and took slugs: this scope's team writes use slugs from now on"
                );
                self.teams().by_slug.insert(scope.name().to_string());
            }
            report.applied.extend(retry.applied);
            report.pending.extend(retry.pending);
            report.seats_changed += retry.seats_changed;
            failed.extend(retry.failed);
        }
        report.failed = failed;
        Ok(report)
    }

    /// A team's name (`GET` the team), remembered for this client. A team
    /// that does not exist is written by its slug, and GitHub's refusal
    /// names it.
    async fn team_name(&self, scope: &Scope, slug: &str) -> Result<String, GitHubError> {
        let key = TeamCache::key(scope, slug);
        if let Some(name) = self.teams().names.get(&key) {
            return Ok(name.clone());
        }
        #[derive(Deserialize)]
        struct TeamName {
            name: String,
        }
        let crab = self.crab_for_scope(scope).await?;
        let req = Req::team(scope, slug);
        let resp = self.send(&crab, &req).await?;
        let name = match resp.status {
            StatusCode::OK => resp.json::<TeamName>(req.route)?.name,
            StatusCode::NOT_FOUND => return Ok(slug.to_string()),
            _ => return Err(self.status_error(&req, &resp, Some(scope))),
        };
        self.teams().names.insert(key, name.clone());
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn refusals_are_read_by_cause_then_by_the_names_they_list() {
        use Refusal::*;
        #[rustfmt::skip]
        let cases: &[(&str, &[&str], Refusal)] = &[
            ("Copilot Business or Enterprise is not enabled for this organization, billing has not been set up for this organization, a public code suggestions policy has not been set for this organization, or the organization's Copilot access setting is set to enable Copilot for all users or is unconfigured.", &["alice"], NotAssignSelected),
            // Observed (github-observed: CopilotBillingUser_WrongSettings.json);
            // `members` and `all` are logins here, not what the sentence names.
            ("Your organization has enabled Copilot access for all members. Enable access for selected members in order to manage seats via the API.", &["members", "all"], NotAssignSelected),
            ("There is a problem with the payment method associated with this account.", &["method", "alice"], ScopeWide),
            ("billing has not been set up for this organization", &["alice"], ScopeWide),
            // Observed shape of the 404 (words inferred).
            ("One or more users do not exist in this organization: mallory, Eve", &["alice", "mallory", "eve", "bob"], Names(names(&["mallory", "eve"]))),
            ("One or more users do not exist in this organization: al", &["alice", "al"], Names(names(&["al"]))),
            ("One or more teams do not exist in this organization: Data Science", &["Data", "Data Science"], Names(names(&["Data Science"]))),
            // Names nothing that was sent: not about the names.
            ("One or more users do not exist in this organization: alice-x", &["alice"], ScopeWide),
            ("Something we have never seen", &["alice"], ScopeWide),
            // A 422 naming a login without a list: the whole sentence is read.
            ("User mallory cannot be assigned a seat", &["alice", "mallory"], Names(names(&["mallory"]))),
        ];
        for (message, batch, want) in cases {
            assert_eq!(&read_refusal(message, &names(batch)), want, "{message}");
        }
    }

    #[test]
    fn org_advice_names_what_to_change() {
        assert!(
            org_advice("There is a problem with the payment method associated with this account.")
                .contains("payment method")
        );
        assert!(org_advice("something else").contains("check the organization's Copilot settings"));
    }

    #[test]
    fn write_targets_use_the_documented_body_keys() {
        let org = Scope::Org("acme".into());
        let ent = Scope::Enterprise("big".into());
        assert_eq!(Write::AddUsers.target(&org).2, "selected_usernames");
        assert_eq!(Write::RemoveTeams.target(&org).2, "selected_teams");
        assert_eq!(Write::AddUsers.target(&ent).2, "selected_usernames");
        assert_eq!(Write::AddTeams.target(&ent).2, "selected_enterprise_teams");
        assert_eq!(
            Write::RemoveTeams.target(&ent).1,
            "/enterprises/big/copilot/billing/selected_enterprise_teams"
        );
    }

    #[test]
    fn membership_writes_use_the_bulk_routes() {
        let ent = Scope::Enterprise("big".into());
        let (route, path, key) = Write::AddMembers("ent:copilot").target(&ent);
        assert_eq!(
            route,
            "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/add"
        );
        assert_eq!(path, "/enterprises/big/teams/ent%3Acopilot/memberships/add");
        assert_eq!(key, "usernames");
        assert_eq!(Write::RemoveMembers("t").method(), Method::POST);
    }

    #[test]
    fn enterprise_advice_names_what_to_change() {
        #[rustfmt::skip]
        let cases = [
            ("a public code suggestions policy has not been set for this enterprise", "Suggestions matching public code"),
            ("the enterprise's Copilot access setting is set to enable Copilot for all users or is unconfigured", "selected users and teams"),
            ("billing has not been set up for this enterprise", "set up billing"),
            ("something else", "check the enterprise's Copilot policies"),
        ];
        for (message, want) in cases {
            let advice = enterprise_advice(message);
            assert!(advice.contains(want), "{message}: {advice}");
        }
    }
}
