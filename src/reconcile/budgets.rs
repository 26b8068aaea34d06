//! Budgets in a reconcile: read GitHub's user-level budgets when seats.yaml
//! declares any, plan them beside the seats, and apply them one request per
//! change after the seat writes.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Options, Outcome, stopped};
use crate::github::budgets::{BudgetApi, is_budget_access_error};
use crate::github::{GitHubError, SeatApi};
use crate::plan::budgets::{BudgetAction, BudgetChange, DesiredBudgets, plan_budgets};
use crate::plan::{Desired, Plan};
use crate::source::Loaded;

/// What happened to one budget change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetResult {
    /// The change.
    pub action: BudgetAction,
    /// The login, or `None` for the universal budget.
    pub login: Option<String>,
    /// The amount written (none for a removal).
    pub amount: Option<u64>,
    /// `ok`, `failed` or `skipped`.
    pub result: &'static str,
    /// GitHub's message, or why it was skipped.
    pub message: Option<String>,
}

/// Plan the budgets into `plan` when the file declares any. A budgets route
/// answering 403 or 404 leaves `plan.budgets` empty and says why in
/// `plan.budgets_unavailable`: the seats are planned anyway.
pub(super) async fn plan_into(
    api: &dyn SeatApi,
    source: &Loaded,
    desired: &Desired,
    opts: &Options,
    today: NaiveDate,
    plan: &mut Plan,
) -> crate::Result<()> {
    let Some(wanted) = DesiredBudgets::from_file(&source.file, today) else {
        return Ok(());
    };
    let Some(budgets) = api.budgets() else {
        plan.budgets_unavailable =
            Some("this GitHub client does not read budgets; seats are planned without them".into());
        return Ok(());
    };
    let live = match budgets.list_budgets(&source.file.scope).await {
        Ok(l) => l,
        Err(e) if is_budget_access_error(&e) => {
            tracing::warn!(error = %e, "budgets not readable: planning seats without them");
            plan.budgets_unavailable = Some(e.to_string());
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let seated: BTreeSet<String> = plan
        .roster_after
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    plan.budgets = Some(plan_budgets(
        &wanted,
        &live,
        today,
        opts.bounds.budgets,
        &desired.limits,
        &desired.policy,
        &seated,
    ));
    Ok(())
}

fn log(scope: &crate::config::Scope, sha: &str, r: &BudgetResult) {
    tracing::info!(
        event = "budget_change", org = %scope.name(), action = r.action.as_str(),
        login = r.login.as_deref().unwrap_or(""), amount = r.amount.unwrap_or(0),
        source_sha = sha, result = r.result, message = r.message.as_deref().unwrap_or("")
    );
}

async fn one(
    api: &dyn BudgetApi,
    scope: &crate::config::Scope,
    c: &BudgetChange,
) -> Result<(), GitHubError> {
    match c.action {
        BudgetAction::AddBudget => api
            .create_budget(scope, c.login.as_deref(), c.amount.unwrap_or(0))
            .await
            .map(|_| ()),
        BudgetAction::UpdateBudget => {
            api.update_budget(
                scope,
                c.budget_id.as_deref().unwrap_or(""),
                c.amount.unwrap_or(0),
            )
            .await
        }
        BudgetAction::RemoveBudget => {
            api.delete_budget(scope, c.budget_id.as_deref().unwrap_or(""))
                .await
        }
    }
}

/// Apply the budget changes, one request each, in the plan's order (adds,
/// updates, removals). After a failed write nothing more is sent (the next
/// reconcile plans again); removals wait when an add or update failed.
/// Returns true when a change failed.
pub(super) async fn apply(
    api: &dyn SeatApi,
    source: &Loaded,
    opts: &Options,
    outcome: &mut Outcome,
    seat_writes_failed: bool,
) -> bool {
    let changes: Vec<BudgetChange> = outcome.plan.budget_changes().to_vec();
    let Some(budgets) = api.budgets() else {
        return false;
    };
    let scope = outcome.scope.clone();
    let sha = source.sha.as_deref().unwrap_or("");
    let mut failed = false;
    for c in &changes {
        let skip = if seat_writes_failed {
            Some("not attempted: a seat write failed, so budgets wait for the next reconcile")
        } else if stopped(&opts.stop) {
            Some("not attempted: stopped by shutdown")
        } else if failed {
            Some("not attempted: an earlier budget write failed")
        } else {
            None
        };
        let (result, message) = match skip {
            Some(why) => ("skipped", Some(why.to_string())),
            None => match one(budgets, &scope, c).await {
                Ok(()) => ("ok", None),
                Err(e) => {
                    failed = true;
                    ("failed", Some(e.to_string()))
                }
            },
        };
        let r = BudgetResult {
            action: c.action,
            login: c.login.clone(),
            amount: c.amount,
            result,
            message,
        };
        log(&scope, sha, &r);
        opts.on_change.call_budget(&r);
        outcome.budget_results.push(r);
    }
    failed
}
