//! Reads about who seatkeeper is and what people used, behind traits so the
//! planner's callers and `reclaim` can be tested without a network:
//! [`UsageApi`] (AI-credit use per user, `GET .../settings/billing/ai_credit/usage?user=`)
//! and [`IdentityApi`] (seatkeeper's own login: `GET /user`, or for a GitHub
//! App `GET /app` with the App's JWT, whose comments GitHub signs
//! `{slug}[bot]`).

use async_trait::async_trait;

use super::GitHubError;
use crate::config::Scope;

/// What the usage route said about one person's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageRead {
    /// AI credits used (the sum of `grossQuantity` over `usageItems` whose
    /// `unitType` is `credits`), rounded to whole credits.
    Credits(u64),
    /// The route answered 403 or 404 (no billing permission, or billing
    /// usage is not available for this account): why, for a note.
    Unavailable(String),
}

/// AI-credit usage reports.
#[async_trait]
pub trait UsageApi: Send + Sync {
    /// AI credits `login` (everyone in `scope` when `None`) used in
    /// `year`-`month`.
    async fn ai_credit_usage(
        &self,
        scope: &Scope,
        login: Option<&str>,
        year: i32,
        month: u32,
    ) -> Result<UsageRead, GitHubError>;
}

/// seatkeeper's own identity on GitHub.
#[async_trait]
pub trait IdentityApi: Send + Sync {
    /// The login GitHub shows as the author of what seatkeeper writes: the
    /// authenticated user's `login`, or `{slug}[bot]` for a GitHub App.
    async fn own_login(&self) -> Result<String, GitHubError>;
}

/// The credits in a usage report body: `grossQuantity` summed over items in
/// credits (the AI Credits SKU reports `unitType: credits`).
pub fn credits_in(body: &serde_json::Value) -> Option<u64> {
    let items = body.get("usageItems")?.as_array()?;
    let sum: f64 = items
        .iter()
        .filter(|i| {
            i.get("unitType")
                .and_then(|u| u.as_str())
                .is_some_and(|u| u.eq_ignore_ascii_case("credits"))
        })
        .filter_map(|i| i.get("grossQuantity").and_then(|q| q.as_f64()))
        .sum();
    Some(sum.max(0.0).round() as u64)
}
