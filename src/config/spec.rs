//! The keys of seats.yaml schema version 1, declared once.
//!
//! The walker takes its key tables, integer ranges and enum values from
//! here, and [`super::schema`] turns the same tables into the JSON Schema
//! editors use: a key added here is known to both, and a unit test feeds
//! every key of every table through the parser.

use super::{
    DEFAULT_ACT_BEFORE_CYCLE_END_DAYS, DEFAULT_REMIND_DAYS, InactivityAction, RemovalMode,
    SelfServeMode, WhenFull,
};

/// An inclusive integer range a key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Smallest value accepted.
    pub min: i64,
    /// Largest value accepted.
    pub max: i64,
}

/// A key's default, as the JSON Schema states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A boolean default.
    Bool(bool),
    /// An integer default.
    Int(i64),
    /// A string default (an enum value).
    Str(&'static str),
}

/// What a key's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Exactly this integer (`version`).
    Const(i64),
    /// An organization's name, spelled like a GitHub login.
    OrgName,
    /// An enterprise's slug.
    EnterpriseSlug,
    /// A GitHub login.
    Login,
    /// A list of GitHub logins, each once (ignoring case).
    Logins,
    /// A team slug; in enterprise scope it may carry GitHub's `ent:` prefix.
    TeamSlug,
    /// A list of team slugs, each once.
    TeamSlugs,
    /// `true` or `false`.
    Bool,
    /// An integer in a range.
    Int(Range),
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A count in a range, or a percentage string from `0%` to `100%`.
    CountOrPercent(Range),
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// Free text.
    Text,
    /// A mapping of these keys, with the keys it must have.
    Map {
        /// Its keys.
        fields: &'static [Field],
        /// Keys that must be present.
        required: &'static [&'static str],
    },
    /// A list whose items are a login, or a mapping of these keys that
    /// must have `login`.
    Users(&'static [Field]),
}

/// One key of a mapping in seats.yaml.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// What its value must be.
    pub ty: Ty,
    /// What it means, for a reader (and an editor's hover).
    pub doc: &'static str,
    /// Its default, when absence means a value.
    pub default: Option<DefaultValue>,
    /// Allowed only with `enterprise:`.
    pub enterprise_only: bool,
}

impl Field {
    const fn new(name: &'static str, ty: Ty, doc: &'static str) -> Field {
        Field {
            name,
            ty,
            doc,
            default: None,
            enterprise_only: false,
        }
    }

    const fn default(mut self, d: DefaultValue) -> Field {
        self.default = Some(d);
        self
    }

    const fn enterprise_only(mut self) -> Field {
        self.enterprise_only = true;
        self
    }
}

/// The names of a table's keys, in order.
pub fn names(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}

/// `version`: the only schema version.
pub const VERSION: i64 = 1;
/// `policy.max_seats`.
pub const MAX_SEATS: Range = Range {
    min: 1,
    max: 10_000_000,
};
/// `policy.max_removals` as a count.
pub const MAX_REMOVALS: Range = Range {
    min: 0,
    max: 1_000_000,
};
/// A number of days (`inactivity.days`, `remind_days`,
/// `self_serve.default_expiry_days`): up to ten years.
pub const DAYS: Range = Range { min: 1, max: 3650 };

/// The keys of one `users` entry written as a mapping.
pub const USER: &[Field] = &[
    Field::new("login", Ty::Login, "The GitHub login."),
    Field::new(
        "expires",
        Ty::Date,
        "After this date (YYYY-MM-DD, UTC) the seat is removed.",
    ),
    Field::new(
        "note",
        Ty::Text,
        "Free text for reviewers (why, a ticket); never sent to GitHub.",
    ),
    Field::new(
        "budget",
        Ty::Int(BUDGET_DOLLARS),
        "This user's individual Copilot AI-credit budget, whole US dollars a month (budget_scope user); 0 blocks further paid usage.",
    ),
    Field::new(
        "budget_expires",
        Ty::Date,
        "After this date (YYYY-MM-DD, UTC) the individual budget is deleted and the user falls back to budgets.default.",
    ),
];

/// A budget amount in whole US dollars.
pub const BUDGET_DOLLARS: Range = Range {
    min: 0,
    max: super::MAX_BUDGET_DOLLARS,
};

/// The keys of `budgets`.
pub const BUDGETS: &[Field] = &[
    Field::new(
        "default",
        Ty::Int(BUDGET_DOLLARS),
        "The universal per-user Copilot AI-credit budget, whole US dollars a month (budget_scope multi_user_customer). Unset: not managed.",
    ),
    Field::new(
        "manage",
        Ty::Enum(super::BudgetManage::VALUES),
        "exclusive deletes individual ai_credits budgets seats.yaml does not declare and restores hand edits; additive never deletes.",
    )
    .default(DefaultValue::Str(super::BudgetManage::Exclusive.as_str())),
];

/// The keys of `policy.inactivity`.
pub const INACTIVITY: &[Field] = &[
    Field::new(
        "days",
        Ty::Int(DAYS),
        "Idle for at least this many days: no Copilot activity and no sign-in (the later of last_activity_at and last_authenticated_at, else the seat's created_at).",
    ),
    Field::new(
        "action",
        Ty::Enum(InactivityAction::VALUES),
        "report lists idle seats; remove also removes idle direct seats that are not protected.",
    )
    .default(DefaultValue::Str(InactivityAction::Report.as_str())),
    Field::new(
        "remind_days",
        Ty::Int(DAYS),
        "seatkeeper reclaim: days between the reminder and the pull request removing a still-idle login.",
    )
    .default(DefaultValue::Int(DEFAULT_REMIND_DAYS as i64)),
    Field::new(
        "act_before_cycle_end_days",
        Ty::Int(CYCLE_DAYS),
        "Idle seats are removed (action remove, or the reclaim pull request) only in this many last days of the monthly billing cycle: a seat removed earlier is billed to the cycle's end anyway. 31 removes at once.",
    )
    .default(DefaultValue::Int(DEFAULT_ACT_BEFORE_CYCLE_END_DAYS as i64)),
];

/// Days of a billing cycle (a month): `act_before_cycle_end_days`.
pub const CYCLE_DAYS: Range = Range { min: 1, max: 31 };

/// The keys of `policy.self_serve`.
pub const SELF_SERVE: &[Field] = &[
    Field::new(
        "mode",
        Ty::Enum(SelfServeMode::VALUES),
        "How seatkeeper request records a seat: commit to the branch, or open a pull request.",
    )
    .default(DefaultValue::Str(SelfServeMode::Commit.as_str())),
    Field::new(
        "default_expiry_days",
        Ty::Int(DAYS),
        "expires written for a request without --expires: today plus this many days. Unset: no expiry.",
    ),
    Field::new(
        "allow_requests_for_others",
        Ty::Bool,
        "May a requester ask for (or release) someone else's seat?",
    )
    .default(DefaultValue::Bool(false)),
    Field::new(
        "auto_merge",
        Ty::Bool,
        "With mode pull_request: merge the pull request at once when its only change is the requester's own, eligible login.",
    )
    .default(DefaultValue::Bool(true)),
    Field::new(
        "when_full",
        Ty::Enum(WhenFull::VALUES),
        "When a request would pass the seat cap (policy.max_seats or the operator's --max-seats): refuse it, or queue it as a pull request labelled seatkeeper/waiting-for-room that is never merged while the cap is reached.",
    )
    .default(DefaultValue::Str(WhenFull::Refuse.as_str())),
];

/// The keys of `policy`.
pub const POLICY: &[Field] = &[
    Field::new(
        "removals",
        Ty::Enum(RemovalMode::VALUES),
        "enforce removes seats seats.yaml does not ask for; additive never removes.",
    )
    .default(DefaultValue::Str(RemovalMode::Enforce.as_str())),
    Field::new(
        "max_removals",
        Ty::CountOrPercent(MAX_REMOVALS),
        "Most seats removed per run: a count (10) or a percentage of current seats (\"5%\"). A plan over it is guarded. Unset: 25%, unless the operator set a lower ceiling.",
    ),
    Field::new(
        "max_seats",
        Ty::Int(MAX_SEATS),
        "Most seats billed this cycle after apply (seats pending cancellation are billed until the cycle ends). A plan over it is guarded.",
    ),
    Field::new(
        "protected",
        Ty::Logins,
        "Logins seatkeeper never removes, listed or not.",
    ),
    Field::new(
        "eligible_teams",
        Ty::TeamSlugs,
        "When set, every listed user must be a member of one of these teams.",
    ),
    Field::new(
        "remove_ineligible",
        Ty::Bool,
        "With eligible_teams: remove the seats of listed users outside them (counted toward max_removals). Off: they keep their seat and are reported.",
    )
    .default(DefaultValue::Bool(false)),
    Field::new(
        "allow_empty",
        Ty::Bool,
        "Let a file with no users and no teams remove every seat.",
    )
    .default(DefaultValue::Bool(false)),
    Field::new(
        "suspend",
        Ty::Bool,
        "Plan and report only; never write.",
    )
    .default(DefaultValue::Bool(false)),
    Field::new(
        "assign_via_team",
        Ty::TeamSlug,
        "Enterprise only: keep this enterprise team's membership equal to users and assign the team, instead of granting users directly (enterprises dedicated to Copilot).",
    )
    .enterprise_only(),
    Field::new(
        "inactivity",
        Ty::Map {
            fields: INACTIVITY,
            required: &["days"],
        },
        "Idle seats: how long, and what to do.",
    ),
    Field::new(
        "self_serve",
        Ty::Map {
            fields: SELF_SERVE,
            required: &[],
        },
        "How seatkeeper request and release change this file.",
    ),
];

/// The top-level keys.
pub const TOP: &[Field] = &[
    Field::new(
        "version",
        Ty::Const(VERSION),
        "The seats.yaml schema version.",
    ),
    Field::new(
        "org",
        Ty::OrgName,
        "The organization whose Copilot seats this file manages (or enterprise, not both).",
    ),
    Field::new(
        "enterprise",
        Ty::EnterpriseSlug,
        "The enterprise whose Copilot seats this file manages (or org, not both).",
    ),
    Field::new(
        "policy",
        Ty::Map {
            fields: POLICY,
            required: &[],
        },
        "How seats are reconciled; every key has a safe default.",
    ),
    Field::new(
        "teams",
        Ty::TeamSlugs,
        "Teams whose every member holds a seat (GitHub assigns the team).",
    ),
    Field::new(
        "users",
        Ty::Users(USER),
        "Users granted a seat directly: a login, or a mapping with login, expires, note, budget and budget_expires.",
    ),
    Field::new(
        "budgets",
        Ty::Map {
            fields: BUDGETS,
            required: &[],
        },
        "Copilot AI-credit budgets (whole US dollars a month): the universal default and how undeclared individual budgets are treated.",
    ),
];

/// `a`, `a` or `b`, `a`, `b` or `c`: enum values for a message.
pub fn one_of(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_reads_as_a_sentence() {
        #[rustfmt::skip]
        let cases: &[(&[&str], &str)] = &[
            (&[], ""),
            (&["a"], "`a`"),
            (&["a", "b"], "`a` or `b`"),
            (&["a", "b", "c"], "`a`, `b` or `c`"),
        ];
        for (values, want) in cases {
            assert_eq!(one_of(values), *want);
        }
    }

    /// Defaults the schema states are the ones the parser applies.
    #[test]
    fn stated_defaults_are_the_parsers() {
        let policy = serde_json::to_value(super::super::Policy::default()).unwrap();
        let check = |fields: &[Field], actual: &serde_json::Value| {
            for f in fields {
                let Some(d) = f.default else { continue };
                let want = match d {
                    DefaultValue::Bool(b) => serde_json::json!(b),
                    DefaultValue::Int(n) => serde_json::json!(n),
                    DefaultValue::Str(s) => serde_json::json!(s),
                };
                assert_eq!(actual[f.name], want, "default of {}", f.name);
            }
        };
        check(POLICY, &policy);
        check(SELF_SERVE, &policy["self_serve"]);
        // `inactivity` has no default block: its defaults are read from a
        // parsed one.
        let file = super::super::SeatsFile::parse(
            "t.yaml",
            b"org: acme\npolicy:\n  inactivity:\n    days: 30\n",
        )
        .unwrap();
        let inactivity = file.policy.inactivity.unwrap();
        assert_eq!(
            INACTIVITY[1].default,
            Some(DefaultValue::Str(inactivity.action.as_str()))
        );
        assert_eq!(
            INACTIVITY[2].default,
            Some(DefaultValue::Int(inactivity.remind_days() as i64))
        );
        assert_eq!(
            INACTIVITY[3].default,
            Some(DefaultValue::Int(
                inactivity.act_before_cycle_end_days() as i64
            ))
        );
    }
}
