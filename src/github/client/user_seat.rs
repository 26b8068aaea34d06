//! Per-user reads: what a one-login `request` or `release` needs instead of
//! the whole listing. One login's seat (`GET .../members/{username}/copilot`),
//! the scope's seat totals (one request), and one login's membership of a
//! team. Each costs one request (two when a team membership answers 404 and
//! the team's existence must be told apart), at any org size.

use http::StatusCode;

use super::{GitHubClient, Req, seg};
use crate::config::Scope;
use crate::github::live::{Folder, LiveUser};
use crate::github::{
    BillingInfo, GitHubError, SeatApi, SeatJson, SeatListResponse, SeatManagementSetting,
    SeatTotals,
};

impl GitHubClient {
    /// One login's seat, folded into a [`LiveUser`] (every grant the scope
    /// lists for them), or `None` when GitHub answers 404 (no seat).
    pub(super) async fn read_user_seat(
        &self,
        scope: &Scope,
        login: &str,
    ) -> Result<Option<LiveUser>, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let req = match scope {
            Scope::Org(o) => Req::get(
                "/orgs/{org}/members/{username}/copilot",
                format!("/orgs/{}/members/{}/copilot", seg(o), seg(login)),
            ),
            Scope::Enterprise(e) => Req::get(
                "/enterprises/{enterprise}/members/{username}/copilot",
                format!("/enterprises/{}/members/{}/copilot", seg(e), seg(login)),
            ),
        };
        let resp = self.send(&crab, &req).await?;
        match resp.status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Ok(None),
            // "Copilot Business or Enterprise is not enabled for this
            // organization or the user has a pending organization
            // invitation": no seat either way. A scope without Copilot is
            // reported by the totals read that goes with this one, and an
            // invitee is refused by the membership check.
            StatusCode::UNPROCESSABLE_ENTITY => return Ok(None),
            _ => return Err(self.status_error(&req, &resp, Some(scope))),
        }
        let seats: Vec<SeatJson> = match scope {
            Scope::Org(_) => vec![resp.json(req.route)?],
            // The enterprise twin answers the listing's shape: one entry per
            // grant of this user.
            Scope::Enterprise(_) => resp.json::<SeatListResponse>(req.route)?.seats,
        };
        let mut folder = Folder::new(scope, 1);
        for s in &seats {
            let Some(entry) = s.entry(scope) else {
                continue;
            };
            if !entry.login.eq_ignore_ascii_case(login) {
                return Err(GitHubError::Decode {
                    route: req.route.to_string(),
                    message: format!("asked for {login}'s seat, got {}'s", entry.login),
                });
            }
            folder.push(entry).map_err(|e| GitHubError::Decode {
                route: req.route.to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(folder.finish().into_iter().next())
    }

    /// The scope's seat totals from one request.
    pub(super) async fn read_seat_totals(&self, scope: &Scope) -> Result<SeatTotals, GitHubError> {
        match scope {
            Scope::Org(_) => {
                let BillingInfo {
                    seat_management_setting,
                    seat_breakdown,
                    ..
                } = self.billing(scope).await?;
                Ok(SeatTotals {
                    billed: seat_breakdown.total,
                    pending: seat_breakdown.pending_cancellation,
                    seat_management_setting,
                })
            }
            Scope::Enterprise(e) => {
                let crab = self.crab_for_scope(scope).await?;
                let req = Req::get(
                    "/enterprises/{enterprise}/copilot/billing/seats",
                    format!(
                        "/enterprises/{}/copilot/billing/seats?per_page=1&page=1",
                        seg(e)
                    ),
                );
                let resp = self.send(&crab, &req).await?;
                if resp.status == StatusCode::NOT_FOUND {
                    return Err(self.diagnose_404(&crab, &req, &resp, scope).await);
                }
                if !resp.status.is_success() {
                    return Err(self.status_error(&req, &resp, Some(scope)));
                }
                let page: SeatListResponse = resp.json(req.route)?;
                Ok(SeatTotals {
                    billed: page.total_seats,
                    pending: 0,
                    seat_management_setting: SeatManagementSetting::AssignSelected,
                })
            }
        }
    }

    /// Is `login` in the team `slug`? `None` when the team does not exist.
    pub(super) async fn read_in_team(
        &self,
        scope: &Scope,
        slug: &str,
        login: &str,
    ) -> Result<Option<bool>, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (req, team) = match scope {
            Scope::Org(o) => (
                Req::get(
                    "/orgs/{org}/teams/{team_slug}/memberships/{username}",
                    format!(
                        "/orgs/{}/teams/{}/memberships/{}",
                        seg(o),
                        seg(slug),
                        seg(login)
                    ),
                ),
                Req::team(scope, slug),
            ),
            Scope::Enterprise(e) => (
                Req::get(
                    "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/{username}",
                    format!(
                        "/enterprises/{}/teams/{}/memberships/{}",
                        seg(e),
                        seg(slug),
                        seg(login)
                    ),
                ),
                Req::team(scope, slug),
            ),
        };
        let resp = self.send(&crab, &req).await?;
        if resp.status.is_success() {
            // An org team membership may be `pending` (invited, not joined):
            // GitHub counts only active members as the team's.
            #[derive(serde::Deserialize)]
            struct State {
                state: Option<String>,
            }
            let pending = matches!(scope, Scope::Org(_))
                && serde_json::from_str::<State>(&resp.body)
                    .ok()
                    .and_then(|s| s.state)
                    .is_some_and(|s| s == "pending");
            return Ok(Some(!pending));
        }
        if resp.status != StatusCode::NOT_FOUND {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        // 404: not a member, or no such team. One more request tells which.
        let t = self.send(&crab, &team).await?;
        match t.status {
            s if s.is_success() => Ok(Some(false)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(&team, &t, Some(scope))),
        }
    }

    /// `group_id` of an enterprise team (set when an identity provider
    /// group supplies its members); `None` for org teams, for a team
    /// without one, and for a team that does not exist (reported elsewhere).
    pub(super) async fn read_idp_group(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<String>, GitHubError> {
        if !matches!(scope, Scope::Enterprise(_)) {
            return Ok(None);
        }
        let crab = self.crab_for_scope(scope).await?;
        let req = Req::team(scope, slug);
        let resp = self.send(&crab, &req).await?;
        match resp.status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(self.status_error(&req, &resp, Some(scope))),
        }
        #[derive(serde::Deserialize)]
        struct Team {
            group_id: Option<serde_json::Value>,
        }
        let team: Team = resp.json(req.route)?;
        Ok(match team.group_id {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.is_empty() => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        })
    }
}
