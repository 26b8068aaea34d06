//! GitHub's JSON for the seat listing, decoded leniently: GitHub adds fields
//! over time, and nulls appear wherever the description allows them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::live::{Entry, Folder, Grant, GrantSeat, LiveState, SeatManagementSetting, TeamRef};
use crate::config::Scope;

/// `GET .../copilot/billing/seats` response (and the `--live-state` file,
/// which may add a top-level `seat_management_setting`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeatListResponse {
    /// Seats billed: in an org, one per entry; in an enterprise, one per
    /// user ("Users with access through multiple organizations or enterprise
    /// teams will only be counted toward `total_seats` once").
    pub total_seats: u64,
    /// The entries of this page.
    #[serde(default)]
    pub seats: Vec<SeatJson>,
    /// Only in `--live-state` files: the org's seat management setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_management_setting: Option<String>,
}

/// A seat entry as GitHub sends it (only the fields seatkeeper reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeatJson {
    /// When the grant was made (required by GitHub's schema).
    pub created_at: DateTime<Utc>,
    /// The seat holder; GitHub's schema allows it to be absent or null.
    #[serde(default)]
    pub assignee: Option<AssigneeJson>,
    /// The organization granting the seat (enterprise listings).
    #[serde(default)]
    pub organization: Option<OrgJson>,
    /// The team granting the seat: an org team, an enterprise team, or null.
    #[serde(default)]
    pub assigning_team: Option<TeamJson>,
    /// `YYYY-MM-DD` when pending cancellation.
    #[serde(default)]
    pub pending_cancellation_date: Option<NaiveDate>,
    /// Last Copilot activity (needs IDE telemetry).
    #[serde(default)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Last sign-in to Copilot.
    #[serde(default)]
    pub last_authenticated_at: Option<DateTime<Utc>>,
    /// `business`, `enterprise` or `unknown`: the plan billing the seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_type: Option<String>,
}

/// The part of `simple-user` seatkeeper reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssigneeJson {
    /// The login.
    pub login: String,
}

/// The part of `organization-simple` seatkeeper reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgJson {
    /// The organization's login.
    pub login: String,
}

/// An `assigning_team`: GitHub's `oneOf` of Team and Enterprise Team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamJson {
    /// The slug.
    pub slug: String,
    /// The name: what the team write routes take ("List of team names").
    #[serde(default)]
    pub name: Option<String>,
    /// The Team object's `type`: "The ownership type of the team",
    /// `enterprise` or `organization` (required in the Team schema).
    #[serde(default, rename = "type")]
    pub team_type: Option<String>,
    /// Present (possibly null) only on Enterprise Team objects.
    #[serde(default, deserialize_with = "present")]
    pub group_id: Option<Option<serde_json::Value>>,
    /// Present only on Enterprise Team objects in recent descriptions.
    #[serde(default, deserialize_with = "present")]
    pub sync_to_organizations: Option<Option<serde_json::Value>>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Ok(Some(Option::<serde_json::Value>::deserialize(d)?))
}

impl TeamJson {
    /// The team, of the kind its `type` says; without a `type`, an Enterprise
    /// Team object (`group_id` is required in its schema) or an `ent:` slug
    /// means an enterprise team.
    pub fn team(&self) -> TeamRef {
        let enterprise = match self.team_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("enterprise") => true,
            Some(t) if t.eq_ignore_ascii_case("organization") => false,
            _ => {
                self.group_id.is_some()
                    || self.sync_to_organizations.is_some()
                    || super::live::strip_ent(&self.slug).is_some()
            }
        };
        if enterprise {
            TeamRef::enterprise(&self.slug)
        } else {
            TeamRef::org(&self.slug)
        }
    }
}

impl SeatJson {
    /// The grant this entry reports, as read in `scope`. In an enterprise
    /// listing an entry naming an `organization` (and no enterprise team) is
    /// that organization's grant; an entry naming neither is a direct
    /// enterprise grant.
    pub fn grant(&self, scope: &Scope) -> Grant {
        self.grant_with(scope, self.assigning_team.as_ref().map(TeamJson::team))
    }

    /// [`SeatJson::grant`] with the assigning team already read.
    fn grant_with(&self, scope: &Scope, team: Option<TeamRef>) -> Grant {
        match (scope, team, &self.organization) {
            (Scope::Enterprise(_), Some(t), _) if t.kind == super::live::TeamKind::Enterprise => {
                Grant::Team(t)
            }
            (Scope::Enterprise(_), team, Some(org)) => Grant::Organization {
                org: org.login.as_str().into(),
                team: team.map(|t| t.slug),
            },
            (_, Some(t), _) => Grant::Team(t),
            (_, None, _) => Grant::Direct,
        }
    }

    /// The entry for the fold; `None` for an entry without an assignee (it
    /// cannot be managed by login, so it is counted but never planned).
    pub fn entry(&self, scope: &Scope) -> Option<Entry> {
        self.entry_with(scope, self.assigning_team.as_ref().map(TeamJson::team))
    }

    /// [`SeatJson::entry`] with the assigning team already read.
    fn entry_with(&self, scope: &Scope, team: Option<TeamRef>) -> Option<Entry> {
        let assignee = self.assignee.as_ref()?;
        Some(Entry {
            login: assignee.login.clone(),
            seat: GrantSeat {
                grant: self.grant_with(scope, team),
                pending_cancellation_date: self.pending_cancellation_date,
                created_at: self.created_at,
            },
            last_activity_at: self.last_activity_at,
            last_authenticated_at: self.last_authenticated_at,
            plan_type: self
                .plan_type
                .as_deref()
                .map(super::live::PlanType::parse)
                .unwrap_or_default(),
        })
    }
}

/// One listing page reduced to what the fold and the page checks read.
/// The decoded JSON (each assignee's user object, each team's fields) is
/// dropped as soon as a page is in; the conditional-read cache keeps this
/// form, not the decoded page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSeats {
    /// The page's `total_seats`.
    pub total_seats: u64,
    /// The page's entries, in order.
    pub seats: Vec<PageSeat>,
    /// Granting teams' names by canonical slug, each team once: team
    /// writes send names.
    pub team_names: Vec<(String, String)>,
}

/// One entry of a [`PageSeats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageSeat {
    /// An entry with an assignee.
    Assigned(Entry),
    /// An entry without one (counted, never planned), granted at this time.
    Unassigned(DateTime<Utc>),
}

impl PageSeat {
    /// When the entry's grant was made (`created_at`).
    pub fn created_at(&self) -> DateTime<Utc> {
        match self {
            PageSeat::Assigned(e) => e.seat.created_at,
            PageSeat::Unassigned(t) => *t,
        }
    }
}

impl SeatListResponse {
    /// The page as the fold reads it, for `scope`.
    pub fn into_page(self, scope: &Scope) -> PageSeats {
        let mut team_names: Vec<(String, String)> = Vec::new();
        let seats = self
            .seats
            .iter()
            .map(|s| {
                // Read once: for the name and for the entry's grant.
                let team = s.assigning_team.as_ref().map(TeamJson::team);
                if let (Some(t), Some(name)) = (
                    &team,
                    s.assigning_team.as_ref().and_then(|t| t.name.as_ref()),
                ) && !team_names.iter().any(|(s, _)| **s == *t.slug)
                {
                    team_names.push((t.slug.to_string(), name.clone()));
                }
                match s.entry_with(scope, team) {
                    Some(e) => PageSeat::Assigned(e),
                    None => PageSeat::Unassigned(s.created_at),
                }
            })
            .collect();
        PageSeats {
            total_seats: self.total_seats,
            seats,
            team_names,
        }
    }

    /// Decode a `--live-state` file (GitHub's listing shape).
    pub fn from_json(path: &str, text: &str) -> crate::Result<SeatListResponse> {
        serde_json::from_str(text).map_err(|e| crate::Error::LiveState {
            path: path.to_string(),
            message: format!(
                "{e} (expected the body of GET /orgs/ORG/copilot/billing/seats: {{\"total_seats\": N, \"seats\": [...]}})"
            ),
        })
    }

    /// The planner's live state from one complete listing of `scope`,
    /// checked as the client checks pages: entries fold to exactly
    /// `total_seats` users (enterprise) or entries (org).
    pub fn into_live_state(self, path: &str, scope: &Scope) -> crate::Result<LiveState> {
        let bad = |message: String| crate::Error::LiveState {
            path: path.to_string(),
            message,
        };
        let mut folder = Folder::new(scope, self.seats.len());
        let mut unassigned = 0u64;
        for s in &self.seats {
            match s.entry(scope) {
                Some(e) => folder.push(e).map_err(|e| bad(e.to_string()))?,
                None => unassigned += 1,
            }
        }
        let counted = match scope {
            Scope::Org(_) => self.seats.len() as u64,
            Scope::Enterprise(_) => folder.users() as u64 + unassigned,
        };
        if counted != self.total_seats {
            return Err(bad(format!(
                "total_seats is {} but the seats hold {counted} {}",
                self.total_seats,
                match scope {
                    Scope::Org(_) => "entries",
                    Scope::Enterprise(_) => "distinct users",
                }
            )));
        }
        Ok(LiveState {
            seat_management_setting: self
                .seat_management_setting
                .as_deref()
                .map(SeatManagementSetting::parse),
            users: folder.finish(),
            team_members: Default::default(),
            assignment_members: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::live::TeamKind;

    fn seat(json: serde_json::Value) -> SeatJson {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn grants_per_scope() {
        let org = Scope::Org("acme".into());
        let ent = Scope::Enterprise("e".into());
        let base =
            serde_json::json!({"created_at": "2026-01-01T00:00:00Z", "assignee": {"login": "a"}});
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            seat(v)
        };
        let org_team =
            serde_json::json!({"assigning_team": {"slug": "dev", "type": "organization"}});
        let ent_team = serde_json::json!({"assigning_team": {"slug": "ent:dev", "group_id": null}});
        let typed_ent =
            serde_json::json!({"assigning_team": {"slug": "dev", "type": "enterprise"}});
        let by_org = serde_json::json!({"organization": {"login": "acme"}});
        let by_org_team = serde_json::json!({"organization": {"login": "acme"}, "assigning_team": {"slug": "dev", "type": "organization"}});
        #[rustfmt::skip]
        let cases = [
            (serde_json::json!({}), Grant::Direct, Grant::Direct),
            (org_team, Grant::Team(TeamRef::org("dev")), Grant::Team(TeamRef::org("dev"))),
            (ent_team, Grant::Team(TeamRef::enterprise("dev")), Grant::Team(TeamRef::enterprise("dev"))),
            (typed_ent, Grant::Team(TeamRef::enterprise("dev")), Grant::Team(TeamRef::enterprise("dev"))),
            (by_org, Grant::Direct, Grant::Organization { org: "acme".into(), team: None }),
            (by_org_team, Grant::Team(TeamRef::org("dev")), Grant::Organization { org: "acme".into(), team: Some("dev".into()) }),
        ];
        for (extra, in_org, in_ent) in cases {
            let s = with(extra.clone());
            assert_eq!(s.grant(&org), in_org, "org scope: {extra}");
            assert_eq!(s.grant(&ent), in_ent, "enterprise scope: {extra}");
        }
        assert_eq!(TeamRef::enterprise("dev").kind, TeamKind::Enterprise);
    }
}
