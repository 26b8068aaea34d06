//! The JSON rendering: a stable, versioned contract for machines.

use serde::Serialize;

use super::{
    guard_message, guard_next_step, held_phrase, is_team, partial_message, partial_next_step, plain,
};
use crate::config::Scope;
use crate::plan::{GuardReason, LimitSource, Plan};

/// Version of the [`json`] contract. Adding fields keeps it; renaming,
/// removing or changing the meaning of one bumps it.
pub const JSON_FORMAT_VERSION: u32 = 2;

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enterprise: Option<&'a str>,
    seats_before: usize,
    seats_after: usize,
    billed_before: usize,
    billed_after: usize,
    max_seats: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assign_via_team: Option<&'a str>,
    changes: Vec<JsonChange<'a>>,
    inactive: Vec<JsonInactive<'a>>,
    skipped: Vec<JsonSkipped<'a>>,
    held: Vec<JsonHeld<'a>>,
    empty_teams: &'a [String],
    unknown_teams: &'a [String],
    unmanaged: Vec<&'a str>,
    held_outside: &'a [crate::plan::HeldOutside],
    guard: JsonGuard<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incomplete_listing: Option<JsonPartial<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_removal_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<&'a crate::plan::cost::CostPreview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    budgets: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    budgets_unavailable: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonPartial<'a> {
    reason: &'a str,
    held_checks: Vec<&'static str>,
    max_seats: Option<u64>,
    held_removals: Vec<JsonHeldChange<'a>>,
    held_adds: Vec<JsonHeldChange<'a>>,
    message: String,
    next_step: String,
}

/// A change an incomplete listing held: what, to whom, why.
#[derive(Serialize)]
struct JsonHeldChange<'a> {
    action: &'static str,
    name: &'a str,
    reason: &'static str,
}

impl<'a> JsonHeldChange<'a> {
    fn of(c: &'a crate::plan::Change) -> Self {
        JsonHeldChange {
            action: c.action.as_str(),
            name: &c.name,
            reason: c.reason.as_str(),
        }
    }
}

#[derive(Serialize)]
struct JsonChange<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    days_idle: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    never_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_cancellation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seats: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seats_lost: Option<usize>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keeps_via: &'a [String],
}

#[derive(Serialize)]
struct JsonInactive<'a> {
    login: &'a str,
    days_idle: i64,
    #[serde(skip_serializing_if = "is_false")]
    never_active: bool,
    idle_signal: &'static str,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    login: &'a str,
    reason: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonHeld<'a> {
    login: &'a str,
    listed: &'a str,
    reason: &'static str,
    message: String,
}

#[derive(Serialize)]
struct JsonGuard<'a> {
    tripped: bool,
    held: bool,
    reasons: Vec<JsonGuardReason<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonGuardReason<'a> {
    MaxRemovals {
        removals: usize,
        limit: &'a str,
        set_by: LimitSource,
        message: String,
        next_step: String,
    },
    MaxSeats {
        seats_after: usize,
        billed_after: usize,
        max_seats: u64,
        set_by: LimitSource,
        message: String,
        next_step: String,
    },
    EmptyDesired {
        seats_before: usize,
        message: String,
        next_step: String,
    },
}

fn json_change(c: &crate::plan::Change) -> JsonChange<'_> {
    let team = is_team(c);
    JsonChange {
        action: c.action.as_str(),
        login: (!team).then_some(c.name.as_str()),
        team: team.then_some(c.name.as_str()),
        reason: c.reason.as_str(),
        days_idle: c.days_idle,
        never_active: c.never_active,
        pending_cancellation_date: c.pending_cancellation_date.map(|d| d.to_string()),
        idle_signal: c.idle_signal.map(|s| s.as_str()),
        seats: c.seats,
        seats_lost: c.seats_lost,
        keeps_via: &c.keeps_via,
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Render `plan` as pretty-printed JSON with a trailing newline.
///
/// # Contract (`format_version` 2)
///
/// Version 2 changed `skipped[].reason` from prose to a machine code (the
/// prose moved to `skipped[].message`) and added `held`, `guard.held`,
/// `guard.reasons[].set_by` and `next_step`.
///
/// Keys appear in this order. New keys may be added without a version bump;
/// consumers must ignore keys they do not know.
///
/// - `format_version` (number): `2`.
/// - `org` (string) **or** `enterprise` (string): the scope; exactly one is present.
/// - `seats_before` (number): users holding a seat now (through any grant;
///   pending cancellations do not count). Seats count users, not entries.
/// - `seats_after` (number): users holding a seat after apply (members of
///   added teams counted when known).
/// - `billed_before`, `billed_after` (numbers): users billed this cycle now
///   and after apply; a seat pending cancellation is billed until its
///   `pending_cancellation_date`, so removals do not lower these.
/// - `max_seats` (number or `null`): `policy.max_seats`, checked against
///   `billed_after` when the plan adds seats.
/// - `assign_via_team` (string, only when set): the enterprise team whose
///   membership the user changes write (`policy.assign_via_team`).
/// - `changes` (array), in apply order (team adds, user adds, team removals,
///   user removals). Each object:
///   - `action`: `add_team` | `add_user` | `remove_team` | `remove_user`;
///   - `login` (user actions) **or** `team` (team actions): string;
///   - `reason`: for user adds `new` | `restore` | `team_removed`; for user
///     removals `not_desired` | `expired` | `inactive`; for team adds `new`;
///     for team removals `not_desired`;
///   - optional, present only when known: `days_idle` (number, days since
///     the user was last seen), `idle_signal` (the field `days_idle` counts
///     from: `last_activity_at`, `last_authenticated_at` or `created_at`),
///     `never_active` (`true`, only when the seat never showed activity or a
///     sign-in), `pending_cancellation_date` (`"YYYY-MM-DD"`, restores),
///     `seats` (number, team changes: users the team grants), `seats_lost`
///     (number, team removals: those who lose their seat), `keeps_via`
///     (array of strings, user removals of someone who keeps the seat
///     through another grant, e.g. `"team ent:platform"`, `"org acme"`: not a
///     lost seat).
/// - `inactive` (array): idle seats per `policy.inactivity`, each
///   `{"login", "days_idle", "never_active"?, "idle_signal"}`.
/// - `skipped` (array): desired logins not added, each `{"login", "reason",
///   "message"}`: `reason` is `no_such_user` | `not_a_member` |
///   `not_in_eligible_team`, `message` says it in words.
/// - `held` (array): removals held back by the typo guard, each `{"login",
///   "listed", "reason", "message"}`: seats.yaml lists `listed`, which GitHub
///   does not know (`reason`: `no_such_user` | `not_a_member`), close to the
///   seat holder `login`; the removal is not applied.
/// - `empty_teams` (array of strings): desired teams with no members.
/// - `unknown_teams` (array of strings): desired teams whose members are
///   unknown; `seats_after` does not count them.
/// - `unmanaged` (array of strings): the logins of `held_outside`.
/// - `held_outside` (array): holders whose every held grant is outside this
///   file (an organization's grant seen from the enterprise, an enterprise
///   team's seen from an org), each `{"login", "via": ["org acme"]}`:
///   counted as held, never removed.
/// - `incomplete_listing` (object, present only when the seat listing could
///   not be proven whole): `reason` (the check that failed), `held_checks`
///   (`removals`, `max_removals`, and `max_seats` when a seat cap is set:
///   what needs the whole listing and is held), `max_seats` (the cap that
///   could not be checked, or null), `held_removals` and `held_adds` (each
///   `{"action", "name", "reason"}`, not applied; `changes` keeps the adds,
///   none when a seat cap is set), `message`, `next_step`. The seat counts
///   are those of the pages read.
/// - `guard` (object): `tripped` (bool; `true` means nothing is applied),
///   `held` (bool; `true` when `held` is not empty), and `reasons` (array),
///   each an object with `kind`, a human-readable `message` and `next_step`:
///   - `{"kind": "max_removals", "removals": N, "limit": "STRING", "set_by", "message", "next_step"}`
///   - `{"kind": "max_seats", "seats_after": N, "billed_after": N, "max_seats": N, "set_by", "message", "next_step"}`
///   - `{"kind": "empty_desired", "seats_before": N, "message", "next_step"}`
///
///   `set_by` is `file` (seats.yaml's policy), `flag` (the operator's
///   `--max-removals` / `--max-seats`) or `default` (25 % of current seats).
/// - `idle_removal_from` (`"YYYY-MM-DD"`, only with `inactivity.action:
///   remove` before the removal window): the first day idle seats are
///   removed.
/// - `cost` (object, only when the reconciler computed it): the cost preview,
///   see docs/plan-json.md ("cost").
///
/// Example:
///
/// ```json
/// {"format_version": 2, "org": "acme", "seats_before": 140, "seats_after": 141,
///  "billed_before": 142, "billed_after": 143, "max_seats": 500,
///  "changes": [{"action": "add_user", "login": "alice", "reason": "new"}],
///  "inactive": [{"login": "x", "days_idle": 93}], "skipped": [], "held": [],
///  "empty_teams": [], "unknown_teams": [], "unmanaged": [], "held_outside": [],
///  "guard": {"tripped": false, "held": false, "reasons": []}}
/// ```
pub fn json(plan: &Plan) -> String {
    let (org, enterprise) = match &plan.scope {
        Scope::Org(n) => (Some(n.as_str()), None),
        Scope::Enterprise(n) => (None, Some(n.as_str())),
    };
    let changes = plan.changes.iter().map(json_change).collect();
    let reasons = plan
        .guard
        .reasons
        .iter()
        .map(|r| {
            let message = guard_message(r, plain);
            let next_step = guard_next_step(r);
            match r {
                GuardReason::MaxRemovals {
                    removals,
                    limit,
                    set_by,
                } => JsonGuardReason::MaxRemovals {
                    removals: *removals,
                    limit,
                    set_by: *set_by,
                    message,
                    next_step,
                },
                GuardReason::MaxSeats {
                    seats_after,
                    billed_after,
                    max_seats,
                    set_by,
                } => JsonGuardReason::MaxSeats {
                    seats_after: *seats_after,
                    billed_after: *billed_after,
                    max_seats: *max_seats,
                    set_by: *set_by,
                    message,
                    next_step,
                },
                GuardReason::EmptyDesired { seats_before } => JsonGuardReason::EmptyDesired {
                    seats_before: *seats_before,
                    message,
                    next_step,
                },
            }
        })
        .collect();
    let doc = JsonPlan {
        format_version: JSON_FORMAT_VERSION,
        org,
        enterprise,
        seats_before: plan.seats_before,
        seats_after: plan.seats_after,
        billed_before: plan.billed_before,
        billed_after: plan.billed_after,
        max_seats: plan.max_seats,
        assign_via_team: plan.assign_via_team.as_deref(),
        changes,
        inactive: plan
            .inactive
            .iter()
            .map(|i| JsonInactive {
                login: &i.login,
                days_idle: i.days_idle,
                never_active: i.never_active,
                idle_signal: i.signal.as_str(),
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                login: &s.login,
                reason: s.code.as_str(),
                message: &s.reason,
            })
            .collect(),
        held: plan
            .held
            .iter()
            .map(|h| JsonHeld {
                login: &h.login,
                listed: &h.listed,
                reason: h.code.as_str(),
                message: held_phrase(h),
            })
            .collect(),
        empty_teams: &plan.empty_teams,
        unknown_teams: &plan.unknown_teams,
        unmanaged: plan.held_outside.iter().map(|h| h.login.as_str()).collect(),
        held_outside: &plan.held_outside,
        guard: JsonGuard {
            tripped: plan.guard.tripped,
            held: !plan.held.is_empty(),
            reasons,
        },
        incomplete_listing: plan.partial.as_ref().map(|p| JsonPartial {
            reason: &p.reason,
            held_checks: if p.max_seats.is_some() {
                vec!["removals", "max_removals", "max_seats"]
            } else {
                vec!["removals", "max_removals"]
            },
            max_seats: p.max_seats,
            held_removals: p.held_removals.iter().map(JsonHeldChange::of).collect(),
            held_adds: p.held_adds.iter().map(JsonHeldChange::of).collect(),
            message: partial_message(p, plain),
            next_step: partial_next_step(p),
        }),
        idle_removal_from: plan.idle_removal_from.map(|d| d.to_string()),
        cost: plan.cost.as_ref(),
        budgets: plan.budgets.as_ref().map(super::budgets::json_value),
        budgets_unavailable: plan.budgets_unavailable.as_deref(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain structs serialize to JSON");
    out.push('\n');
    out
}
