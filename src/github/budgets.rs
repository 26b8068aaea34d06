//! The [`BudgetApi`] trait: GitHub's billing budgets routes, the sibling
//! of [`super::SeatApi`] for user-level AI-credit budgets.

use async_trait::async_trait;

use super::{GitHubError, Scope};
pub use crate::plan::budgets::LiveBudget;

/// Reads and writes of GitHub's billing budgets
/// (`/organizations/{org}/settings/billing/budgets[/{budget_id}]`, the
/// `/enterprises/{enterprise}/...` twins). One request per write.
#[async_trait]
pub trait BudgetApi: Send + Sync {
    /// Every user-level budget (scopes `user` and `multi_user_customer`,
    /// every page, any SKU), read whole or not at all.
    async fn list_budgets(&self, scope: &Scope) -> Result<Vec<LiveBudget>, GitHubError>;

    /// Create an ai_credits budget for `login`, or the universal one
    /// (`None`). Idempotent: when GitHub already holds that budget (a retried
    /// create that had landed), it is updated to `amount` instead.
    async fn create_budget(
        &self,
        scope: &Scope,
        login: Option<&str>,
        amount: u64,
    ) -> Result<LiveBudget, GitHubError>;

    /// Set a budget's amount.
    async fn update_budget(&self, scope: &Scope, id: &str, amount: u64) -> Result<(), GitHubError>;

    /// Delete a budget; one already gone (404) counts as deleted.
    async fn delete_budget(&self, scope: &Scope, id: &str) -> Result<(), GitHubError>;
}

/// What a token needs to read and write budgets, for a 403 or 404 on a
/// budgets route (the descriptions: "The authenticated user must be an
/// organization admin or billing manager"; enterprise: owners, billing
/// managers, a custom role with enterprise billing access, or an App
/// installed on the enterprise with write access to enterprise billing).
pub fn budget_permission_advice(scope: &Scope) -> String {
    match scope {
        Scope::Org(o) => format!(
            "managing budgets needs a token whose user is an organization owner or billing manager of `{o}` (a GitHub App: organization billing access); seats are planned without budgets"
        ),
        Scope::Enterprise(e) => format!(
            "managing budgets needs a token of an enterprise owner or billing manager of `{e}`, a custom role with write access to enterprise billing, or a GitHub App installed on the enterprise with write access to enterprise billing; seats are planned without budgets"
        ),
    }
}

/// Is this error a budgets route refusing the token (403, 404)? Then the
/// seats are planned anyway and the plan says why budgets are missing.
pub fn is_budget_access_error(e: &GitHubError) -> bool {
    matches!(
        e,
        GitHubError::Forbidden { .. } | GitHubError::NotFound { .. }
    )
}
