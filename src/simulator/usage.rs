//! The AI-credit usage report per user, org and enterprise:
//! `GET /organizations/{org}/settings/billing/ai_credit/usage` and
//! `GET /enterprises/{enterprise}/settings/billing/ai_credit/usage`, as the
//! official description says: `year`, `month`, `day` filter (year and month
//! default to the current ones), `user` and `model` and `product` narrow
//! (case-insensitively), and the body is `{timePeriod, organization,
//! usageItems}` (the enterprise's: `enterprise` instead of `organization`)
//! with the filters echoed. The simulator's use is all in its primary
//! organization, so an enterprise `organization` filter narrows nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::server::{ApiError, Shared, json_response};

/// `GET` the org's AI-credit usage report.
pub const ORG_AI_CREDIT_USAGE: &str = "/organizations/{org}/settings/billing/ai_credit/usage";
/// `GET` the enterprise's AI-credit usage report.
pub const ENTERPRISE_AI_CREDIT_USAGE: &str =
    "/enterprises/{enterprise}/settings/billing/ai_credit/usage";

const DOC_ORG: &str = "https://docs.github.com/rest/billing/usage#get-billing-ai-credit-usage-report-for-an-organization";
const DOC_ENT: &str = "https://docs.github.com/enterprise-cloud@latest/rest/billing/usage#get-billing-ai-credit-usage-report-for-an-enterprise";

/// One day of one person's AI-credit use of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCredits {
    /// Who used them.
    pub login: String,
    /// The day (UTC).
    pub day: NaiveDate,
    /// The model, e.g. `GPT-5`.
    pub model: String,
    /// Credits used (1 credit = US$0.01).
    pub credits: f64,
}

impl SimCredits {
    /// `credits` used by `login` today with `GPT-5`.
    pub fn today(login: &str, credits: f64) -> SimCredits {
        SimCredits {
            login: login.to_string(),
            day: Utc::now().date_naive(),
            model: "GPT-5".into(),
            credits,
        }
    }
}

use super::server::ApiResult;

/// The report for one account over its query.
/// Whose report: the org's body names it `organization`, the enterprise's
/// `enterprise` (and echoes an `organization` filter).
enum Account<'a> {
    Org(&'a str),
    Enterprise(&'a str),
}

fn report(
    sh: &Shared,
    account: Account<'_>,
    q: &HashMap<String, String>,
    doc: &'static str,
) -> ApiResult {
    let st = sh.state();
    if st.ai_credit_usage_hidden {
        // What GitHub answers a token that may not read the account's
        // billing: the route is not there for it.
        return Err(ApiError::not_found(doc));
    }
    let int = |k: &str| -> Result<Option<u32>, ApiError> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .map(Some)
                .map_err(|_| ApiError::new(400, format!("Invalid {k}"), doc)),
        }
    };
    let today = Utc::now().date_naive();
    let year = int("year")?.map(|y| y as i32).unwrap_or(today.year());
    let month = int("month")?.unwrap_or(today.month());
    let day = int("day")?;
    if !(1..=12).contains(&month) || day.is_some_and(|d| !(1..=31).contains(&d)) {
        return Err(ApiError::new(400, "Invalid month or day", doc));
    }
    let eq = |a: &str, b: Option<&String>| b.is_none_or(|b| a.eq_ignore_ascii_case(b));
    let product = q.get("product");
    let mut by_model: std::collections::BTreeMap<String, f64> = Default::default();
    if product.is_none_or(|p| p.eq_ignore_ascii_case("copilot")) {
        for c in &st.ai_credits {
            if c.day.year() == year
                && c.day.month() == month
                && day.is_none_or(|d| c.day.day() == d)
                && eq(&c.login, q.get("user"))
                && eq(&c.model, q.get("model"))
            {
                *by_model.entry(c.model.clone()).or_default() += c.credits;
            }
        }
    }
    let items: Vec<serde_json::Value> = by_model
        .iter()
        .map(|(model, credits)| {
            let amount = (credits * 0.01 * 100.0).round() / 100.0;
            json!({
                "product": "Copilot",
                "sku": "Copilot AI Credits",
                "model": model,
                "unitType": "credits",
                "pricePerUnit": 0.01,
                "grossQuantity": credits,
                "grossAmount": amount,
                "discountQuantity": 0,
                "discountAmount": 0,
                "netQuantity": credits,
                "netAmount": amount,
            })
        })
        .collect();
    let mut period = json!({"year": year, "month": month});
    if let Some(d) = day {
        period["day"] = json!(d);
    }
    let mut body = json!({
        "timePeriod": period,
        "usageItems": items,
    });
    match account {
        Account::Org(o) => body["organization"] = json!(o),
        Account::Enterprise(e) => body["enterprise"] = json!(e),
    }
    for k in ["user", "model", "product", "organization"] {
        if matches!(account, Account::Org(_)) && k == "organization" {
            continue;
        }
        if let Some(v) = q.get(k) {
            body[k] = json!(v);
        }
    }
    Ok(json_response(StatusCode::OK, &body))
}

pub(crate) async fn org_usage(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let name = {
        let st = sh.state();
        if !st.org.eq_ignore_ascii_case(&org) {
            return Err(ApiError::not_found(DOC_ORG));
        }
        st.org.clone()
    };
    report(&sh, Account::Org(&name), &q, DOC_ORG)
}

pub(crate) async fn enterprise_usage(
    State(sh): State<Arc<Shared>>,
    Path(ent): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let name = match &sh.state().enterprise {
        Some(e) if e.eq_ignore_ascii_case(&ent) => e.clone(),
        _ => return Err(ApiError::not_found(DOC_ENT)),
    };
    report(&sh, Account::Enterprise(&name), &q, DOC_ENT)
}
