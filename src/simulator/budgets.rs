//! Billing budgets, org and enterprise: `GET`/`POST
//! /organizations/{org}/settings/billing/budgets`, `GET`/`PATCH`/`DELETE
//! .../budgets/{budget_id}`, and the `/enterprises/{enterprise}/...` twins.
//!
//! Each rule cites the description it encodes
//! (`../shared/github-openapi/`, operations `billing/*-budget*`):
//! - list: "Each page returns up to 100 budgets" (`per_page` default 10),
//!   `has_next_page` and `total_count`, a `scope` filter, and with `user`
//!   the `user` and its `effective_budget`;
//! - create: "`user` and `multi_user_customer` scopes are only supported
//!   when `budget_product_sku` is `ai_credits` or `premium_requests`";
//!   `prevent_further_usage` "must be `true`" for those scopes; alerting is
//!   "Rejected for user-scope"; `user` "is required when `budget_scope` is
//!   `user`" (without it GitHub answers `400 Missing required fields:
//!   budget_entity_name`, the docs' note);
//! - update: `prevent_further_usage` "must remain `true`" for those scopes;
//!   alerting is "Ignored for user-scopes";
//! - every route: "The authenticated user must be an organization admin or
//!   billing manager" ([`SimBudgets::refuse`] answers as GitHub does when it
//!   is not).
//!
//! Where the description is silent (I in `../shared/github-observed/`): a
//! second budget for the same scope, user and SKU is refused with 422, and
//! other missing fields get the documented 400 wording.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::pagination::{percent_decode, query_pairs};
use super::server::{ApiError, ApiResult, Shared, json_response, page_request, with_link};
use super::state::SimState;

/// `GET` (list) and `POST` an organization's budgets.
pub const ORG_BUDGETS: &str = "/organizations/{org}/settings/billing/budgets";
/// `GET`, `PATCH` and `DELETE` one organization budget.
pub const ORG_BUDGET: &str = "/organizations/{org}/settings/billing/budgets/{budget_id}";
/// `GET` (list) and `POST` an enterprise's budgets.
pub const ENTERPRISE_BUDGETS: &str = "/enterprises/{enterprise}/settings/billing/budgets";
/// `GET`, `PATCH` and `DELETE` one enterprise budget.
pub const ENTERPRISE_BUDGET: &str =
    "/enterprises/{enterprise}/settings/billing/budgets/{budget_id}";

const DOC: &str = "https://docs.github.com/rest/billing/budgets";

/// One budget as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimBudget {
    /// GitHub's id (a UUID).
    pub id: String,
    /// `BundlePricing`, `ProductPricing` or `SkuPricing`.
    pub budget_type: String,
    /// `ai_credits`, `actions`, ...
    pub budget_product_sku: String,
    /// `user`, `multi_user_customer`, `organization`, ...
    pub budget_scope: String,
    /// `budget_entity_name` as sent.
    pub budget_entity_name: String,
    /// The login of a `user` budget.
    pub user: Option<String>,
    /// Whole dollars.
    pub budget_amount: u64,
    /// Stop usage at the budget.
    pub prevent_further_usage: bool,
    /// `budget_alerting.will_alert`.
    pub will_alert: bool,
    /// `budget_alerting.alert_recipients`.
    pub alert_recipients: Vec<String>,
}

impl SimBudget {
    /// An ai_credits budget as seatkeeper writes it: a user's (`Some`) or the
    /// universal one (`None`).
    pub fn ai_credits(id: &str, user: Option<&str>, amount: u64) -> SimBudget {
        SimBudget {
            id: id.to_string(),
            budget_type: "BundlePricing".into(),
            budget_product_sku: "ai_credits".into(),
            budget_scope: if user.is_some() {
                "user"
            } else {
                "multi_user_customer"
            }
            .into(),
            budget_entity_name: String::new(),
            user: user.map(str::to_string),
            budget_amount: amount,
            prevent_further_usage: true,
            will_alert: false,
            alert_recipients: Vec::new(),
        }
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "budget_type": self.budget_type,
            "budget_product_sku": self.budget_product_sku,
            "budget_scope": self.budget_scope,
            "budget_entity_name": self.budget_entity_name,
            "budget_amount": self.budget_amount,
            "prevent_further_usage": self.prevent_further_usage,
            "budget_alerting": {
                "will_alert": self.will_alert,
                "alert_recipients": self.alert_recipients,
            },
        });
        if let Some(u) = &self.user {
            v["user"] = json!(u);
            v["consumed_amount"] = json!(0);
        }
        v
    }

    fn user_level(&self) -> bool {
        self.budget_scope == "user" || self.budget_scope == "multi_user_customer"
    }
}

/// The budgets of the org and of the enterprise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimBudgets {
    /// The organization's budgets, in creation order.
    #[serde(default)]
    pub org: Vec<SimBudget>,
    /// The enterprise's budgets, in creation order.
    #[serde(default)]
    pub enterprise: Vec<SimBudget>,
    /// Answer every budgets route with this status (403: the token's user
    /// is not an admin or billing manager; 404: GitHub hides the route).
    #[serde(default)]
    pub refuse: Option<u16>,
    /// Ids handed out so far.
    #[serde(default)]
    pub next_id: u64,
}

impl SimBudgets {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        // UUID-shaped, as GitHub's ids are.
        format!("5e1f0000-0000-4000-8000-{:012x}", self.next_id)
    }
}

/// The budgets routes, merged into the simulator's router.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(ORG_BUDGETS, get(org_list).post(org_create))
        .route(
            ORG_BUDGET,
            get(org_get).patch(org_update).delete(org_delete),
        )
        .route(ENTERPRISE_BUDGETS, get(ent_list).post(ent_create))
        .route(
            ENTERPRISE_BUDGET,
            get(ent_get).patch(ent_update).delete(ent_delete),
        )
}

#[derive(Clone, Copy)]
enum Owner {
    Org,
    Enterprise,
}

/// The budgets of `name`, or GitHub's 404 for another org or enterprise,
/// or the configured refusal.
fn budgets<'a>(
    st: &'a mut SimState,
    owner: Owner,
    name: &str,
) -> Result<&'a mut Vec<SimBudget>, ApiError> {
    let known = match owner {
        Owner::Org => st.org.eq_ignore_ascii_case(name),
        Owner::Enterprise => st
            .enterprise
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(name)),
    };
    if !known {
        return Err(ApiError::not_found(DOC));
    }
    match st.budgets.refuse {
        Some(403) => {
            return Err(ApiError::new(
                403,
                match owner {
                    Owner::Org => {
                        "You must be an organization admin or billing manager to access budgets."
                    }
                    Owner::Enterprise => {
                        "You must be an enterprise owner or billing manager to access budgets."
                    }
                },
                DOC,
            ));
        }
        Some(s) => return Err(ApiError::new(s, "Not Found", DOC)),
        None => {}
    }
    Ok(match owner {
        Owner::Org => &mut st.budgets.org,
        Owner::Enterprise => &mut st.budgets.enterprise,
    })
}

fn list(sh: &Shared, owner: Owner, name: &str, uri: &Uri) -> ApiResult {
    let req = page_request(uri.query(), 10, DOC)?;
    let mut scope = None;
    let mut user = None;
    for (k, v) in query_pairs(uri.query()) {
        match k {
            "scope" => scope = Some(percent_decode(v)),
            "user" => user = Some(percent_decode(v)),
            _ => {}
        }
    }
    let mut st = sh.state();
    let all = budgets(&mut st, owner, name)?;
    let matching: Vec<&SimBudget> = all
        .iter()
        .filter(|b| scope.as_deref().is_none_or(|s| b.budget_scope == s))
        .collect();
    let range = req.range(matching.len());
    let has_next_page = range.end < matching.len();
    let mut body = json!({
        "budgets": matching[range].iter().map(|b| b.json()).collect::<Vec<_>>(),
        "has_next_page": has_next_page,
        "total_count": matching.len(),
    });
    if let Some(u) = user {
        let effective = all
            .iter()
            .find(|b| {
                b.budget_scope == "user"
                    && b.user
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&u))
            })
            .or_else(|| all.iter().find(|b| b.budget_scope == "multi_user_customer"));
        body["user"] = json!(u);
        if let Some(b) = effective {
            body["effective_budget"] = json!({
                "id": b.id, "budget_amount": b.budget_amount, "consumed_amount": 0,
            });
        }
    }
    let total = matching.len();
    drop(st);
    Ok(with_link(
        json_response(StatusCode::OK, &body),
        sh,
        uri,
        req,
        total,
    ))
}

fn bad(status: u16, message: impl Into<String>) -> ApiError {
    ApiError::new(status, message, DOC)
}

fn body_object(body: &Bytes) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad(400, "Problems parsing JSON")),
    }
}

fn create(sh: &Shared, owner: Owner, name: &str, body: &Bytes) -> ApiResult {
    let m = body_object(body)?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let scope = text("budget_scope");
    // The docs' note: a user-scope body without `user` is refused as a
    // missing entity name.
    if scope.as_deref() == Some("user") && text("user").is_none_or(|u| u.is_empty()) {
        return Err(bad(400, "Missing required fields: budget_entity_name"));
    }
    let mut missing: Vec<&str> = [
        "budget_amount",
        "budget_scope",
        "budget_type",
        "budget_product_sku",
    ]
    .into_iter()
    .filter(|k| m.get(*k).is_none())
    .collect();
    if matches!(owner, Owner::Enterprise) && m.get("prevent_further_usage").is_none() {
        missing.push("prevent_further_usage");
    }
    if !missing.is_empty() {
        return Err(bad(
            400,
            format!("Missing required fields: {}", missing.join(", ")),
        ));
    }
    let Some(amount) = m.get("budget_amount").and_then(Value::as_u64) else {
        return Err(bad(
            422,
            "budget_amount must be a whole, non-negative number of dollars",
        ));
    };
    let scope = scope.unwrap_or_default();
    let sku = text("budget_product_sku").unwrap_or_default();
    let prevent = m
        .get("prevent_further_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let will_alert = m
        .pointer("/budget_alerting/will_alert")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let recipients: Vec<String> = m
        .pointer("/budget_alerting/alert_recipients")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let b = SimBudget {
        id: String::new(),
        budget_type: text("budget_type").unwrap_or_default(),
        budget_product_sku: sku.clone(),
        budget_scope: scope.clone(),
        budget_entity_name: text("budget_entity_name").unwrap_or_default(),
        user: text("user").filter(|_| scope == "user"),
        budget_amount: amount,
        prevent_further_usage: prevent,
        will_alert,
        alert_recipients: recipients.clone(),
    };
    if b.user_level() {
        if sku != "ai_credits" && sku != "premium_requests" {
            return Err(bad(
                422,
                "user and multi_user_customer budgets are only supported for ai_credits or premium_requests",
            ));
        }
        if !prevent {
            return Err(bad(
                422,
                "prevent_further_usage must be true for user-level budgets",
            ));
        }
    }
    if scope == "user" && (will_alert || !recipients.is_empty()) {
        return Err(bad(
            422,
            "Alerting is not supported for user-scoped budgets",
        ));
    }
    let mut st = sh.state();
    let known_user = b.user.as_deref().is_none_or(|u| {
        st.members
            .iter()
            .chain(&st.enterprise_members)
            .chain(&st.users)
            .any(|m| m.eq_ignore_ascii_case(u))
            || st.seats.iter().any(|s| s.login.eq_ignore_ascii_case(u))
    });
    let list = budgets(&mut st, owner, name)?;
    let same = |x: &SimBudget| {
        x.budget_scope == b.budget_scope
            && x.budget_product_sku == b.budget_product_sku
            && x.budget_entity_name == b.budget_entity_name
            && match (&x.user, &b.user) {
                (Some(a), Some(c)) => a.eq_ignore_ascii_case(c),
                (None, None) => true,
                _ => false,
            }
    };
    if list.iter().any(same) {
        return Err(bad(
            422,
            "A budget already exists for this scope and product",
        ));
    }
    if !known_user {
        return Err(bad(404, "Not Found"));
    }
    let mut b = b;
    let id = st.budgets.new_id();
    b.id = id;
    let body = json!({"message": "Budget successfully created.", "budget": b.json()});
    budgets(&mut st, owner, name)?.push(b);
    Ok(json_response(StatusCode::OK, &body))
}

fn find<'a>(list: &'a mut [SimBudget], id: &str) -> Result<&'a mut SimBudget, ApiError> {
    list.iter_mut()
        .find(|b| b.id == id)
        .ok_or_else(|| ApiError::not_found(DOC))
}

fn get_one(sh: &Shared, owner: Owner, name: &str, id: &str) -> ApiResult {
    let mut st = sh.state();
    let b = find(budgets(&mut st, owner, name)?, id)?;
    Ok(json_response(StatusCode::OK, &b.json()))
}

fn update(sh: &Shared, owner: Owner, name: &str, id: &str, body: &Bytes) -> ApiResult {
    let m = body_object(body)?;
    let mut st = sh.state();
    let b = find(budgets(&mut st, owner, name)?, id)?;
    let mut next = b.clone();
    if let Some(v) = m.get("budget_amount") {
        next.budget_amount = v.as_u64().ok_or_else(|| {
            bad(
                422,
                "budget_amount must be a whole, non-negative number of dollars",
            )
        })?;
    }
    if let Some(p) = m.get("prevent_further_usage").and_then(Value::as_bool) {
        next.prevent_further_usage = p;
    }
    if next.user_level() && !next.prevent_further_usage {
        return Err(bad(
            422,
            "prevent_further_usage must remain true for user-level budgets",
        ));
    }
    // Alerting is ignored for user scope.
    if next.budget_scope != "user" {
        if let Some(w) = m
            .pointer("/budget_alerting/will_alert")
            .and_then(Value::as_bool)
        {
            next.will_alert = w;
        }
    }
    *b = next;
    let body = json!({"message": "Budget successfully updated.", "budget": b.json()});
    Ok(json_response(StatusCode::OK, &body))
}

fn delete(sh: &Shared, owner: Owner, name: &str, id: &str) -> ApiResult {
    let mut st = sh.state();
    let list = budgets(&mut st, owner, name)?;
    find(list, id)?;
    list.retain(|b| b.id != id);
    Ok(json_response(
        StatusCode::OK,
        &json!({"message": "Budget successfully deleted.", "id": id}),
    ))
}

async fn org_list(State(sh): State<Arc<Shared>>, Path(org): Path<String>, uri: Uri) -> ApiResult {
    list(&sh, Owner::Org, &org, &uri)
}
async fn ent_list(State(sh): State<Arc<Shared>>, Path(e): Path<String>, uri: Uri) -> ApiResult {
    list(&sh, Owner::Enterprise, &e, &uri)
}
async fn org_create(
    State(sh): State<Arc<Shared>>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    create(&sh, Owner::Org, &org, &body)
}
async fn ent_create(
    State(sh): State<Arc<Shared>>,
    Path(e): Path<String>,
    body: Bytes,
) -> ApiResult {
    create(&sh, Owner::Enterprise, &e, &body)
}
async fn org_get(
    State(sh): State<Arc<Shared>>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult {
    get_one(&sh, Owner::Org, &org, &id)
}
async fn ent_get(
    State(sh): State<Arc<Shared>>,
    Path((e, id)): Path<(String, String)>,
) -> ApiResult {
    get_one(&sh, Owner::Enterprise, &e, &id)
}
async fn org_update(
    State(sh): State<Arc<Shared>>,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    update(&sh, Owner::Org, &org, &id, &body)
}
async fn ent_update(
    State(sh): State<Arc<Shared>>,
    Path((e, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    update(&sh, Owner::Enterprise, &e, &id, &body)
}
async fn org_delete(
    State(sh): State<Arc<Shared>>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult {
    delete(&sh, Owner::Org, &org, &id)
}
async fn ent_delete(
    State(sh): State<Arc<Shared>>,
    Path((e, id)): Path<(String, String)>,
) -> ApiResult {
    delete(&sh, Owner::Enterprise, &e, &id)
}
