//! The budget planner: declared AI-credit budgets + live budgets + today ->
//! [`BudgetPlan`]. Pure, like the seat planner.
//!
//! Only `BundlePricing` / `ai_credits` budgets of scope `user` (one login's
//! individual budget) and `multi_user_customer` (the universal default) are
//! ever planned; every other budget GitHub lists is left alone
//! ([`LiveBudget::managed`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::{BudgetManage, Policy, RemovalMode, SeatsFile};

use super::{GuardTotals, Limits};

/// `budget_type` of the budgets seatkeeper manages.
pub const BUNDLE_PRICING: &str = "BundlePricing";
/// `budget_product_sku` of the budgets seatkeeper manages.
pub const AI_CREDITS: &str = "ai_credits";
/// `budget_scope` of an individual budget.
pub const SCOPE_USER: &str = "user";
/// `budget_scope` of the universal per-user budget.
pub const SCOPE_UNIVERSAL: &str = "multi_user_customer";

/// One budget as GitHub lists it (any type, SKU and scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveBudget {
    /// GitHub's id.
    pub id: String,
    /// `budget_type`.
    pub budget_type: String,
    /// `budget_product_sku`.
    pub sku: String,
    /// `budget_scope`.
    pub scope: String,
    /// `user` of a user-scope budget.
    pub user: Option<String>,
    /// `budget_amount`, whole dollars.
    pub amount: u64,
}

impl LiveBudget {
    /// Is this a budget seatkeeper may plan (ai_credits, BundlePricing,
    /// scope `user` or `multi_user_customer`)?
    pub fn managed(&self) -> bool {
        self.budget_type == BUNDLE_PRICING
            && self.sku == AI_CREDITS
            && (self.scope == SCOPE_UNIVERSAL || (self.scope == SCOPE_USER && self.user.is_some()))
    }

    /// The login of an individual budget; `None` for the universal one.
    pub fn login(&self) -> Option<&str> {
        if self.scope == SCOPE_USER {
            self.user.as_deref()
        } else {
            None
        }
    }
}

/// One declared individual budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredBudget {
    /// The login as written.
    pub login: String,
    /// Whole dollars a month.
    pub amount: u64,
    /// The last day the budget is wanted.
    pub expires: Option<NaiveDate>,
}

/// What seats.yaml asks of budgets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredBudgets {
    /// The universal budget; `None`: not managed.
    pub default: Option<u64>,
    /// Delete undeclared individual budgets, or never delete.
    pub manage: BudgetManage,
    /// Individual budgets, in file order.
    pub users: Vec<DesiredBudget>,
    /// Logins listed in `users` whose seat has not expired (for the
    /// total and the "holds no seat" warning).
    pub listed: Vec<String>,
}

impl DesiredBudgets {
    /// The planner's view of a file's budgets, `None` when the file
    /// manages none.
    pub fn from_file(file: &SeatsFile, today: NaiveDate) -> Option<DesiredBudgets> {
        if !file.manages_budgets() {
            return None;
        }
        let b = file.budgets.clone().unwrap_or_default();
        Some(DesiredBudgets {
            default: b.default,
            manage: b.manage,
            users: file
                .users
                .iter()
                .filter_map(|u| {
                    u.budget.map(|amount| DesiredBudget {
                        login: u.login.clone(),
                        amount,
                        expires: u.budget_expires,
                    })
                })
                .collect(),
            listed: file
                .users
                .iter()
                .filter(|u| u.expires.is_none_or(|e| e >= today))
                .map(|u| u.login.clone())
                .collect(),
        })
    }
}

/// The operator's ceilings on budgets (`--max-user-budget`,
/// `--max-budget-total`), which the file cannot raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetBounds {
    /// Most any one declared amount (the default included) may be.
    pub max_user_budget: Option<u64>,
    /// Most the declared total may be (see [`BudgetPlan::total_after`]).
    pub max_budget_total: Option<u64>,
}

/// What a budget change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetAction {
    /// `POST .../settings/billing/budgets`.
    AddBudget,
    /// `PATCH .../settings/billing/budgets/{budget_id}`.
    UpdateBudget,
    /// `DELETE .../settings/billing/budgets/{budget_id}`.
    RemoveBudget,
}

impl BudgetAction {
    /// The JSON / metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetAction::AddBudget => "add_budget",
            BudgetAction::UpdateBudget => "update_budget",
            BudgetAction::RemoveBudget => "remove_budget",
        }
    }
}

/// Why a budget change is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetReason {
    /// Declared, and GitHub has none.
    New,
    /// GitHub's amount differs from the declared one: the file changed, or
    /// someone edited the budget by hand (drift); the file wins.
    Differs,
    /// `budget_expires` is in the past.
    Expired,
    /// An individual budget seats.yaml does not declare (`manage: exclusive`).
    NotDeclared,
    /// A second individual budget for the same login.
    Duplicate,
}

impl BudgetReason {
    /// The JSON label.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetReason::New => "new",
            BudgetReason::Differs => "differs",
            BudgetReason::Expired => "expired",
            BudgetReason::NotDeclared => "not_declared",
            BudgetReason::Duplicate => "duplicate",
        }
    }
}

/// One budget change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetChange {
    /// What to do.
    pub action: BudgetAction,
    /// The login of an individual budget; `None` for the universal budget.
    pub login: Option<String>,
    /// The amount after (none for a removal).
    pub amount: Option<u64>,
    /// The amount before (none for an add).
    pub amount_before: Option<u64>,
    /// GitHub's id of the budget changed (none for an add).
    pub budget_id: Option<String>,
    /// Why.
    pub reason: BudgetReason,
}

impl BudgetChange {
    /// `alice` or `(default)`, for a reader.
    pub fn who(&self) -> &str {
        self.login.as_deref().unwrap_or("(default)")
    }
}

/// A guard that stops a budget plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BudgetGuardReason {
    /// A declared amount over `--max-user-budget`.
    MaxUserBudget {
        /// The login, or `None` for `budgets.default`.
        login: Option<String>,
        /// The declared amount.
        amount: u64,
        /// The ceiling.
        max: u64,
    },
    /// The declared total over `--max-budget-total`.
    MaxBudgetTotal {
        /// The declared total.
        total: u64,
        /// The ceiling.
        max: u64,
    },
    /// More individual budgets deleted than the removal cap allows.
    MaxRemovals {
        /// Budgets the plan deletes.
        removals: usize,
        /// The cap, as written.
        limit: String,
    },
    /// seats.yaml declares no budget while individual budgets exist.
    EmptyDesired {
        /// Individual budgets that would all be deleted.
        budgets_before: usize,
    },
}

impl BudgetGuardReason {
    /// The JSON label.
    pub fn kind(&self) -> &'static str {
        match self {
            BudgetGuardReason::MaxUserBudget { .. } => "max_user_budget",
            BudgetGuardReason::MaxBudgetTotal { .. } => "max_budget_total",
            BudgetGuardReason::MaxRemovals { .. } => "max_removals",
            BudgetGuardReason::EmptyDesired { .. } => "empty_desired",
        }
    }

    /// For a reader.
    pub fn message(&self) -> String {
        match self {
            BudgetGuardReason::MaxUserBudget { login, amount, max } => format!(
                "{} is US${amount} a month, over the operator's --max-user-budget {max}",
                match login {
                    Some(l) => format!("{l}'s budget"),
                    None => "budgets.default".to_string(),
                }
            ),
            BudgetGuardReason::MaxBudgetTotal { total, max } => format!(
                "the declared budgets total US${total} a month, over the operator's --max-budget-total {max}"
            ),
            BudgetGuardReason::MaxRemovals { removals, limit } => format!(
                "the plan deletes {removals} individual budgets, more than the removal cap {limit}"
            ),
            BudgetGuardReason::EmptyDesired { budgets_before } => format!(
                "seats.yaml declares no budget, so all {budgets_before} individual budgets would be deleted (set policy.allow_empty or budgets.manage: additive)"
            ),
        }
    }
}

/// A computed budget plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetPlan {
    /// Changes in apply order: adds, updates, removals.
    pub changes: Vec<BudgetChange>,
    /// The universal budget now (`None`: none on GitHub).
    pub default_before: Option<u64>,
    /// The universal budget after apply.
    pub default_after: Option<u64>,
    /// Individual budgets now (managed ones).
    pub individual_before: usize,
    /// Individual budgets after apply.
    pub individual_after: usize,
    /// The individual budgets' sum now, whole dollars.
    pub individual_dollars_before: u64,
    /// The individual budgets' sum after apply.
    pub individual_dollars_after: u64,
    /// The most the listed users may spend a month now: each listed login's
    /// individual budget, else the universal one (team members not counted).
    pub total_before: u64,
    /// The same after apply.
    pub total_after: u64,
    /// Individual budgets kept though undeclared (`manage: additive`):
    /// login and amount.
    pub adopted: Vec<(String, u64)>,
    /// Findings that do not stop the plan (a budget for a login that holds
    /// no seat after the plan).
    pub warnings: Vec<String>,
    /// Why nothing may be written, when anything.
    pub guard: Vec<BudgetGuardReason>,
}

impl BudgetPlan {
    /// True when a guard stops the plan.
    pub fn is_guarded(&self) -> bool {
        !self.guard.is_empty()
    }

    /// Changes of one action, in plan order.
    pub fn of(&self, action: BudgetAction) -> impl Iterator<Item = &BudgetChange> {
        self.changes.iter().filter(move |c| c.action == action)
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The most `listed` may spend a month with these budgets.
fn total(listed: &[String], default: Option<u64>, individual: &BTreeMap<String, u64>) -> u64 {
    listed
        .iter()
        .map(|l| individual.get(&lower(l)).copied().or(default).unwrap_or(0))
        .sum()
}

/// The operator's ceilings over what `desired` declares: any one amount
/// (the default included, expired budgets not) over `--max-user-budget`,
/// and `total` over `--max-budget-total`. The planner and `request
/// --budget` both judge by this.
pub fn ceiling_guards(
    desired: &DesiredBudgets,
    today: NaiveDate,
    total: u64,
    bounds: BudgetBounds,
) -> Vec<BudgetGuardReason> {
    let mut guard = Vec::new();
    if let Some(max) = bounds.max_user_budget {
        let declared = desired.default.map(|a| (None, a)).into_iter().chain(
            desired
                .users
                .iter()
                .filter(|d| d.expires.is_none_or(|e| e >= today))
                .map(|d| (Some(d.login.clone()), d.amount)),
        );
        for (login, amount) in declared {
            if amount > max {
                guard.push(BudgetGuardReason::MaxUserBudget { login, amount, max });
            }
        }
    }
    if let Some(max) = bounds.max_budget_total
        && total > max
    {
        guard.push(BudgetGuardReason::MaxBudgetTotal { total, max });
    }
    guard
}

/// The listed users' total as the file alone declares it (each listed,
/// unexpired login's individual budget, else `budgets.default`, else 0):
/// what `request --budget` checks without reading GitHub's budgets.
pub fn declared_total(desired: &DesiredBudgets, today: NaiveDate) -> u64 {
    let individual: BTreeMap<String, u64> = desired
        .users
        .iter()
        .filter(|d| d.expires.is_none_or(|e| e >= today))
        .map(|d| (lower(&d.login), d.amount))
        .collect();
    total(&desired.listed, desired.default, &individual)
}

/// Plan the budgets: `seated_after` holds the logins holding a seat after
/// the seat plan (for the warning), `limits` and `policy` the removal cap
/// and `allow_empty`.
pub fn plan_budgets(
    desired: &DesiredBudgets,
    live: &[LiveBudget],
    today: NaiveDate,
    bounds: BudgetBounds,
    limits: &Limits,
    policy: &Policy,
    seated_after: &BTreeSet<String>,
) -> BudgetPlan {
    let managed: Vec<&LiveBudget> = live.iter().filter(|b| b.managed()).collect();
    let universal = managed.iter().find(|b| b.login().is_none());
    // Individual budgets by lowercase login; a second one is a duplicate.
    let mut by_login: BTreeMap<String, &LiveBudget> = BTreeMap::new();
    let mut duplicates: Vec<&LiveBudget> = Vec::new();
    for b in managed.iter().filter(|b| b.login().is_some()) {
        let key = lower(b.login().unwrap_or_default());
        match by_login.entry(key) {
            std::collections::btree_map::Entry::Occupied(_) => duplicates.push(b),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(b);
            }
        }
    }
    let exclusive = desired.manage == BudgetManage::Exclusive;

    let mut adds = Vec::new();
    let mut updates = Vec::new();
    let mut removals = Vec::new();
    let change =
        |action, login: Option<&str>, amount, before: Option<&LiveBudget>, reason| BudgetChange {
            action,
            login: login.map(str::to_string),
            amount,
            amount_before: before.map(|b| b.amount),
            budget_id: before.map(|b| b.id.clone()),
            reason,
        };

    // The universal budget: planned only when declared; never deleted.
    if let Some(amount) = desired.default {
        match universal {
            None => adds.push(change(
                BudgetAction::AddBudget,
                None,
                Some(amount),
                None,
                BudgetReason::New,
            )),
            Some(b) if b.amount != amount => updates.push(change(
                BudgetAction::UpdateBudget,
                None,
                Some(amount),
                Some(b),
                BudgetReason::Differs,
            )),
            Some(_) => {}
        }
    }

    // Declared individual budgets; the first declaration of a login wins
    // (the parser refuses a login listed twice).
    let mut declared: BTreeMap<String, (&DesiredBudget, bool)> = BTreeMap::new();
    for d in &desired.users {
        let expired = d.expires.is_some_and(|e| e < today);
        declared.entry(lower(&d.login)).or_insert((d, expired));
    }
    for (key, (d, expired)) in &declared {
        let live_b = by_login.get(key).copied();
        match (live_b, expired) {
            (None, false) => adds.push(change(
                BudgetAction::AddBudget,
                Some(&d.login),
                Some(d.amount),
                None,
                BudgetReason::New,
            )),
            (Some(b), false) if b.amount != d.amount => updates.push(change(
                BudgetAction::UpdateBudget,
                b.login(),
                Some(d.amount),
                Some(b),
                BudgetReason::Differs,
            )),
            (Some(b), true) if exclusive => removals.push(change(
                BudgetAction::RemoveBudget,
                b.login(),
                None,
                Some(b),
                BudgetReason::Expired,
            )),
            _ => {}
        }
    }
    let mut adopted = Vec::new();
    for (key, b) in &by_login {
        if declared.contains_key(key) {
            continue;
        }
        if exclusive {
            removals.push(change(
                BudgetAction::RemoveBudget,
                b.login(),
                None,
                Some(b),
                BudgetReason::NotDeclared,
            ));
        } else {
            adopted.push((b.login().unwrap_or_default().to_string(), b.amount));
        }
    }
    if exclusive {
        for b in &duplicates {
            removals.push(change(
                BudgetAction::RemoveBudget,
                b.login(),
                None,
                Some(b),
                BudgetReason::Duplicate,
            ));
        }
    }

    // What holds after apply.
    let before: BTreeMap<String, u64> = by_login
        .iter()
        .map(|(k, b)| (k.clone(), b.amount))
        .collect();
    let mut after = before.clone();
    for c in adds.iter().chain(&updates) {
        if let (Some(l), Some(a)) = (&c.login, c.amount) {
            after.insert(lower(l), a);
        }
    }
    for c in &removals {
        if c.reason != BudgetReason::Duplicate
            && let Some(l) = &c.login
        {
            after.remove(&lower(l));
        }
    }
    let default_before = universal.map(|b| b.amount);
    let default_after = desired.default.or(default_before);
    let total_before = total(&desired.listed, default_before, &before);
    let total_after = total(&desired.listed, default_after, &after);

    let mut warnings = Vec::new();
    for (d, expired) in declared.values() {
        if !expired && !seated_after.contains(&lower(&d.login)) {
            warnings.push(format!(
                "{} has a budget (US${}) but holds no seat after this plan: the budget is written anyway and bites once the seat is granted",
                d.login, d.amount
            ));
        }
    }

    // Guards: the operator's ceilings, then the removal cap and the empty
    // file, judged like seat removals.
    let mut guard = ceiling_guards(desired, today, total_after, bounds);
    let budget_policy = Policy {
        removals: if exclusive {
            RemovalMode::Enforce
        } else {
            RemovalMode::Additive
        },
        ..policy.clone()
    };
    let individual_before = by_login.len() + duplicates.len();
    for r in limits.guard_reasons(
        &budget_policy,
        GuardTotals {
            removals: removals.len(),
            cap_base: individual_before,
            seats_before: individual_before,
            seats_after: after.len(),
            billed_after: after.len(),
            adds_seats: false,
            empty_file: desired.default.is_none() && desired.users.is_empty(),
        },
    ) {
        match r {
            super::GuardReason::MaxRemovals {
                removals, limit, ..
            } => guard.push(BudgetGuardReason::MaxRemovals { removals, limit }),
            super::GuardReason::EmptyDesired { seats_before } => {
                guard.push(BudgetGuardReason::EmptyDesired {
                    budgets_before: seats_before,
                })
            }
            super::GuardReason::MaxSeats { .. } => {}
        }
    }

    let mut changes = adds;
    changes.extend(updates);
    changes.extend(removals);
    BudgetPlan {
        changes,
        default_before,
        default_after,
        individual_before,
        individual_after: after.len(),
        individual_dollars_before: before.values().sum(),
        individual_dollars_after: after.values().sum(),
        total_before,
        total_after,
        adopted,
        warnings,
        guard,
    }
}

/// Apply a plan's changes to a list of live budgets, as GitHub would
/// (ids for new budgets are made up): what the plan laws check.
pub fn apply_to(live: &[LiveBudget], plan: &BudgetPlan) -> Vec<LiveBudget> {
    let mut out: Vec<LiveBudget> = live.to_vec();
    for (n, c) in plan.changes.iter().enumerate() {
        match c.action {
            BudgetAction::AddBudget => out.push(LiveBudget {
                id: format!("new-{n}"),
                budget_type: BUNDLE_PRICING.into(),
                sku: AI_CREDITS.into(),
                scope: if c.login.is_some() {
                    SCOPE_USER.into()
                } else {
                    SCOPE_UNIVERSAL.into()
                },
                user: c.login.clone(),
                amount: c.amount.unwrap_or(0),
            }),
            BudgetAction::UpdateBudget => {
                if let Some(b) = out.iter_mut().find(|b| Some(&b.id) == c.budget_id.as_ref()) {
                    b.amount = c.amount.unwrap_or(b.amount);
                }
            }
            BudgetAction::RemoveBudget => out.retain(|b| Some(&b.id) != c.budget_id.as_ref()),
        }
    }
    out
}

#[cfg(test)]
#[path = "budgets_tests.rs"]
mod tests;
