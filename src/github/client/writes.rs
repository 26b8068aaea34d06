//! Seat writes: batches, bisection of a refused batch down to the name at
//! fault, and what GitHub's 422s mean.

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

/// How a 422 on a write is read.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The scope does not assign seats to selected users and teams.
    NotAssignSelected,
    /// Copilot or its billing is not set up: no login is at fault.
    ScopeWide,
    /// Some name in the batch was refused.
    Names,
}

/// GitHub documents these 422 causes for the selected_users/teams routes:
/// "Copilot Business or Enterprise is not enabled for this organization,
/// billing has not been set up for this organization, a public code
/// suggestions policy has not been set for this organization, or the
/// organization's Copilot access setting is set to enable Copilot for all
/// users or is unconfigured." Anything else is about the names sent.
fn classify_422(message: &str) -> Refusal {
    let m = message.to_ascii_lowercase();
    let setting = [
        "assign_selected",
        "access setting",
        "seat management setting",
        "for all users",
        "unconfigured",
    ];
    let scope_wide = [
        "billing has not been set up",
        "code suggestions policy",
        "not enabled for this organization",
        "not enabled for this enterprise",
    ];
    if setting.iter().any(|p| m.contains(p)) {
        Refusal::NotAssignSelected
    } else if scope_wide.iter().any(|p| m.contains(p)) {
        Refusal::ScopeWide
    } else {
        Refusal::Names
    }
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
    Refused(String),
}

#[derive(Deserialize)]
struct WriteResponse {
    #[serde(default)]
    seats_created: Option<u64>,
    #[serde(default)]
    seats_cancelled: Option<u64>,
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
        if resp.status.is_success() {
            let changed = serde_json::from_str::<WriteResponse>(&resp.body)
                .map(|r| r.seats_created.or(r.seats_cancelled).unwrap_or(0))
                .unwrap_or(0);
            return Ok(BatchOutcome::Applied(changed));
        }
        if resp.status != StatusCode::UNPROCESSABLE_ENTITY {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let message = resp.message();
        let refusal = classify_422(&message);
        if let (Scope::Enterprise(e), Refusal::NotAssignSelected | Refusal::ScopeWide) =
            (scope, &refusal)
        {
            return Err(GitHubError::EnterprisePolicy {
                scope: format!("enterprise `{e}`"),
                method: req.method.to_string(),
                route: req.route.to_string(),
                advice: enterprise_advice(&message),
                message,
            });
        }
        match refusal {
            Refusal::Names => Ok(BatchOutcome::Refused(message)),
            Refusal::NotAssignSelected => Err(self.not_assign_selected(scope, &req, message).await),
            Refusal::ScopeWide => Err(self.status_error(&req, &resp, Some(scope))),
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

    /// Apply one logical write: batches of `batch_size`; a batch refused
    /// with 422 is bisected until each refused name stands alone, so one bad
    /// login never blocks the others.
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
            // Depth-first, left half first, so `applied` keeps input order.
            let mut pending: Vec<&[String]> = vec![batch];
            while let Some(chunk) = pending.pop() {
                match self.write_batch(&crab, scope, kind, chunk).await? {
                    BatchOutcome::Applied(n) => {
                        report.applied.extend(chunk.iter().cloned());
                        report.seats_changed += n;
                    }
                    BatchOutcome::Refused(message) if chunk.len() == 1 => {
                        tracing::warn!(
                            name = %chunk[0],
                            route = kind.target(scope).0,
                            %message,
                            "GitHub refused one name"
                        );
                        report.failed.push((chunk[0].clone(), message));
                    }
                    BatchOutcome::Refused(_) => {
                        let (left, right) = chunk.split_at(chunk.len() / 2);
                        pending.push(right);
                        pending.push(left);
                    }
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified() {
        assert_eq!(
            classify_422(
                "Copilot Business or Enterprise is not enabled for this organization, billing has not been set up for this organization, a public code suggestions policy has not been set for this organization, or the organization's Copilot access setting is set to enable Copilot for all users or is unconfigured."
            ),
            Refusal::NotAssignSelected
        );
        assert_eq!(
            classify_422("billing has not been set up for this organization"),
            Refusal::ScopeWide
        );
        assert_eq!(
            classify_422("User mallory is not a member of the organization"),
            Refusal::Names
        );
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
