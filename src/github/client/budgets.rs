//! [`BudgetApi`] over the GitHub client: the same throttle, retries and
//! error bodies as seat writes; paged reads that are whole or an error.

use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{GitHubClient, Req, Resp, seg};
use crate::config::Scope;
use crate::github::GitHubError;
use crate::github::budgets::{BudgetApi, LiveBudget, budget_permission_advice};
use crate::plan::budgets::{AI_CREDITS, BUNDLE_PRICING, SCOPE_UNIVERSAL, SCOPE_USER};

/// Most pages read of one listing (100 budgets a page).
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
struct WireBudget {
    id: String,
    #[serde(default)]
    budget_type: String,
    #[serde(default)]
    budget_product_sku: String,
    #[serde(default)]
    budget_scope: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    budget_amount: u64,
}

impl From<WireBudget> for LiveBudget {
    fn from(w: WireBudget) -> LiveBudget {
        LiveBudget {
            id: w.id,
            budget_type: w.budget_type,
            sku: w.budget_product_sku,
            scope: w.budget_scope,
            user: w.user.filter(|u| !u.is_empty()),
            amount: w.budget_amount,
        }
    }
}

#[derive(Deserialize)]
struct WirePage {
    budgets: Vec<WireBudget>,
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct WireCreated {
    budget: WireBudget,
}

fn routes(scope: &Scope) -> (&'static str, &'static str, String) {
    match scope {
        Scope::Org(o) => (
            "/organizations/{org}/settings/billing/budgets",
            "/organizations/{org}/settings/billing/budgets/{budget_id}",
            format!("/organizations/{}/settings/billing/budgets", seg(o)),
        ),
        Scope::Enterprise(e) => (
            "/enterprises/{enterprise}/settings/billing/budgets",
            "/enterprises/{enterprise}/settings/billing/budgets/{budget_id}",
            format!("/enterprises/{}/settings/billing/budgets", seg(e)),
        ),
    }
}

fn req(method: Method, route: &'static str, path: String, body: Option<serde_json::Value>) -> Req {
    Req {
        method,
        route,
        path,
        body: body.map(|b| b.to_string()),
        if_none_match: None,
    }
}

impl GitHubClient {
    /// The error for a budgets response we cannot use: a 403 or 404 says
    /// which permission the token needs.
    fn budget_error(&self, r: &Req, resp: &Resp, scope: &Scope) -> GitHubError {
        match resp.status {
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                method: r.method.to_string(),
                route: r.route.to_string(),
                message: resp.message(),
                advice: budget_permission_advice(scope),
            },
            StatusCode::NOT_FOUND => GitHubError::NotFound {
                method: r.method.to_string(),
                route: r.route.to_string(),
                scope: scope.to_string(),
                message: resp.message(),
                hint: budget_permission_advice(scope),
            },
            _ => self.status_error(r, resp, Some(scope)),
        }
    }

    /// Every budget of one `budget_scope`, every page.
    async fn list_budget_scope(
        &self,
        scope: &Scope,
        budget_scope: &str,
    ) -> Result<Vec<LiveBudget>, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (route, _, base) = routes(scope);
        let mut out = Vec::new();
        let mut total = None;
        for page in 1..=MAX_PAGES {
            let r = req(
                Method::GET,
                route,
                format!("{base}?scope={budget_scope}&per_page=100&page={page}"),
                None,
            );
            let resp = self.send(&crab, &r).await?;
            if !resp.status.is_success() {
                return Err(self.budget_error(&r, &resp, scope));
            }
            let p: WirePage = resp.json(route)?;
            // A count that moves while paging means budgets changed meanwhile:
            // the listing is not whole.
            if total.is_some() && p.total_count.is_some() && total != p.total_count {
                return Err(GitHubError::IncompleteListing {
                    message: format!(
                        "the budgets listing changed while it was read (total_count {:?} then {:?})",
                        total, p.total_count
                    ),
                    shifted: true,
                    partial: None,
                });
            }
            total = total.or(p.total_count);
            let more = p.has_next_page && !p.budgets.is_empty();
            out.extend(p.budgets.into_iter().map(LiveBudget::from));
            if !more {
                return Ok(out);
            }
        }
        Err(GitHubError::IncompleteListing {
            message: format!("more than {MAX_PAGES} pages of budgets"),
            shifted: false,
            partial: None,
        })
    }
}

#[async_trait]
impl BudgetApi for GitHubClient {
    async fn list_budgets(&self, scope: &Scope) -> Result<Vec<LiveBudget>, GitHubError> {
        let mut all = self.list_budget_scope(scope, SCOPE_UNIVERSAL).await?;
        all.extend(self.list_budget_scope(scope, SCOPE_USER).await?);
        Ok(all)
    }

    async fn create_budget(
        &self,
        scope: &Scope,
        login: Option<&str>,
        amount: u64,
    ) -> Result<LiveBudget, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (route, _, base) = routes(scope);
        // As the description and the docs' note require: `user` with
        // `budget_entity_name: ""` for a user budget, BundlePricing /
        // ai_credits, prevent_further_usage true; no alerting for user
        // scope (the enterprise body requires `budget_alerting`, so it says
        // "off").
        let mut body = json!({
            "budget_amount": amount,
            "prevent_further_usage": true,
            "budget_scope": if login.is_some() { SCOPE_USER } else { SCOPE_UNIVERSAL },
            "budget_entity_name": "",
            "budget_type": BUNDLE_PRICING,
            "budget_product_sku": AI_CREDITS,
        });
        if let Some(l) = login {
            body["user"] = json!(l);
        }
        if matches!(scope, Scope::Enterprise(_)) {
            body["budget_alerting"] = json!({"will_alert": false, "alert_recipients": []});
        }
        let r = req(Method::POST, route, base, Some(body));
        let resp = self.send(&crab, &r).await?;
        if resp.status.is_success() {
            return Ok(resp.json::<WireCreated>(route)?.budget.into());
        }
        if resp.status == StatusCode::UNPROCESSABLE_ENTITY {
            // Already there (a create that landed before a retry, or made
            // meanwhile): find it and set the amount.
            let same = self.list_budgets(scope).await?.into_iter().find(|b| {
                b.managed()
                    && match (b.login(), login) {
                        (Some(a), Some(l)) => a.eq_ignore_ascii_case(l),
                        (None, None) => true,
                        _ => false,
                    }
            });
            if let Some(mut b) = same {
                if b.amount != amount {
                    self.update_budget(scope, &b.id, amount).await?;
                    b.amount = amount;
                }
                return Ok(b);
            }
        }
        Err(self.budget_error(&r, &resp, scope))
    }

    async fn update_budget(&self, scope: &Scope, id: &str, amount: u64) -> Result<(), GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (_, route, base) = routes(scope);
        let r = req(
            Method::PATCH,
            route,
            format!("{base}/{}", seg(id)),
            Some(json!({"budget_amount": amount, "prevent_further_usage": true})),
        );
        let resp = self.send(&crab, &r).await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(self.budget_error(&r, &resp, scope))
        }
    }

    async fn delete_budget(&self, scope: &Scope, id: &str) -> Result<(), GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        let (_, route, base) = routes(scope);
        let r = req(Method::DELETE, route, format!("{base}/{}", seg(id)), None);
        let resp = self.send(&crab, &r).await?;
        // Gone already (a retried delete that had landed): done.
        if resp.status.is_success() || resp.status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.budget_error(&r, &resp, scope))
        }
    }
}
