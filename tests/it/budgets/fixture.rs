//! The budgets client against a fixture server written here from the
//! official description (the budgets operations' descriptions and schemas,
//! and the docs' note on `user`), sharing no code with `src/simulator/`.
//!
//! The server keeps budgets in a list and answers:
//! - `GET .../budgets?scope&page&per_page`: `per_page` default 10, at most
//!   100 ("Each page returns up to 100 budgets"), `has_next_page`,
//!   `total_count`; no `Link` header (the description names none);
//! - `POST`: the request body checked against the description's schema and
//!   its sentences (`user` "required when `budget_scope` is `user`", else
//!   `400 Missing required fields: budget_entity_name`; `prevent_further_usage`
//!   "must be `true`" for user-level scopes; alerting "Rejected for
//!   user-scope"), answered `{"message", "budget"}`;
//! - `PATCH`/`DELETE .../{budget_id}`: `{"message", "budget"}` and
//!   `{"message", "id"}`; 404 for an unknown id;
//! - with `refuse`, 403 on everything ("must be an organization admin or
//!   billing manager").

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::{Value, json};

use seatkeeper::config::Policy;
use seatkeeper::github::budgets::BudgetApi;
use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, ThrottleConfig};
use seatkeeper::github::{GitHubError, Scope};
use seatkeeper::plan::Limits;
use seatkeeper::plan::budgets::{
    BudgetAction, BudgetBounds, DesiredBudget, DesiredBudgets, plan_budgets,
};

use super::contract::{operations, violations};

#[derive(Default)]
struct Books {
    budgets: Vec<Value>,
    next: u64,
    refuse: bool,
    /// `METHOD path?query` of every request.
    seen: Vec<String>,
    /// Request bodies the description refuses.
    problems: Vec<String>,
}

struct Fixture {
    addr: SocketAddr,
    books: Arc<Mutex<Books>>,
}

impl Fixture {
    async fn start(budgets: Vec<Value>) -> Fixture {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let books = Arc::new(Mutex::new(Books {
            budgets,
            ..Books::default()
        }));
        let b = Arc::clone(&books);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let b = Arc::clone(&b);
                        async move { Ok::<_, Infallible>(answer(req, &b).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Fixture { addr, books }
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(Auth::Token(SecretString::from("ghp_fixture_token")))
            .with_base_url(format!("http://{}", self.addr));
        c.throttle = ThrottleConfig::unlimited();
        c.max_attempts = 2;
        c
    }

    fn finish(&self) -> Vec<String> {
        let b = self.books.lock().unwrap();
        assert!(b.problems.is_empty(), "{:#?}", b.problems);
        b.seen.clone()
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error(status: u16, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest/billing/budgets", "status": status.to_string()}),
    )
}

/// The operation a path names: (template, budget id).
fn template(path: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let owner = match parts.first() {
        Some(&"organizations") => "/organizations/{org}",
        Some(&"enterprises") => "/enterprises/{enterprise}",
        _ => return None,
    };
    match parts.as_slice() {
        [_, _, "settings", "billing", "budgets"] => {
            Some((format!("{owner}/settings/billing/budgets"), None))
        }
        [_, _, "settings", "billing", "budgets", id] => Some((
            format!("{owner}/settings/billing/budgets/{{budget_id}}"),
            Some(id.to_string()),
        )),
        _ => None,
    }
}

async fn answer(req: Request<Incoming>, books: &Mutex<Books>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut b = books.lock().unwrap();
    b.seen.push(format!(
        "{method} {path}{}",
        if query.is_empty() {
            String::new()
        } else {
            "?".to_string()
                + &query
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
        }
    ));
    let Some((route, id)) = template(&path) else {
        return error(404, "Not Found");
    };
    if b.refuse {
        return error(
            403,
            "You must be an organization admin or billing manager to access budgets.",
        );
    }
    let op = &operations()[&(method.clone(), route.clone())];
    if let (Some(body), Some(schema)) = (
        &body,
        op.pointer("/requestBody/content/application~1json/schema"),
    ) {
        let errs = violations(schema, body);
        if !errs.is_empty() {
            b.problems
                .push(format!("{method} {route}: {body} {errs:?}"));
            return error(422, "Invalid request.");
        }
    }
    let q = |k: &str| query.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    match (method.as_str(), id) {
        ("GET", None) => {
            let per_page: usize = q("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(10)
                .clamp(1, 100);
            let page: usize = q("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            let matching: Vec<&Value> = b
                .budgets
                .iter()
                .filter(|x| q("scope").is_none_or(|s| x["budget_scope"] == s.as_str()))
                .collect();
            let start = ((page - 1) * per_page).min(matching.len());
            let end = (start + per_page).min(matching.len());
            reply(
                200,
                json!({"budgets": matching[start..end], "has_next_page": end < matching.len(), "total_count": matching.len()}),
            )
        }
        ("POST", None) => {
            let body = body.unwrap_or(Value::Null);
            let scope = body["budget_scope"].as_str().unwrap_or("");
            let user_level = scope == "user" || scope == "multi_user_customer";
            if scope == "user" && !body["user"].is_string() {
                return error(400, "Missing required fields: budget_entity_name");
            }
            if user_level && body["prevent_further_usage"] != true {
                b.problems
                    .push(format!("prevent_further_usage not true: {body}"));
                return error(422, "prevent_further_usage must be true");
            }
            if scope == "user" && body["budget_alerting"]["will_alert"] == true {
                b.problems
                    .push(format!("alerting on a user budget: {body}"));
                return error(422, "alerting is not supported for user scope");
            }
            let dup = b.budgets.iter().any(|x| {
                x["budget_scope"] == body["budget_scope"]
                    && x["budget_product_sku"] == body["budget_product_sku"]
                    && x.get("user") == body.get("user")
            });
            if dup {
                return error(422, "Budget already exists");
            }
            b.next += 1;
            let mut created = json!({
                "id": format!("fx-{}", b.next),
                "budget_type": body["budget_type"], "budget_product_sku": body["budget_product_sku"],
                "budget_scope": scope, "budget_entity_name": body["budget_entity_name"].as_str().unwrap_or(""),
                "budget_amount": body["budget_amount"], "prevent_further_usage": true,
                "budget_alerting": {"will_alert": false, "alert_recipients": []},
            });
            if let Some(u) = body.get("user") {
                created["user"] = u.clone();
            }
            b.budgets.push(created.clone());
            reply(
                200,
                json!({"message": "Budget successfully created.", "budget": created}),
            )
        }
        (m, Some(id)) => {
            let Some(i) = b.budgets.iter().position(|x| x["id"] == id.as_str()) else {
                return error(404, "Not Found");
            };
            match m {
                "GET" => reply(200, b.budgets[i].clone()),
                "PATCH" => {
                    let body = body.unwrap_or(Value::Null);
                    if let Some(a) = body.get("budget_amount") {
                        b.budgets[i]["budget_amount"] = a.clone();
                    }
                    reply(
                        200,
                        json!({"message": "Budget successfully updated.", "budget": b.budgets[i]}),
                    )
                }
                "DELETE" => {
                    b.budgets.remove(i);
                    reply(
                        200,
                        json!({"message": "Budget successfully deleted.", "id": id}),
                    )
                }
                _ => error(404, "Not Found"),
            }
        }
        _ => error(404, "Not Found"),
    }
}

fn user_budget(id: &str, login: &str, amount: u64) -> Value {
    json!({"id": id, "budget_type": "BundlePricing", "budget_product_sku": "ai_credits",
           "budget_scope": "user", "budget_entity_name": "", "user": login,
           "budget_amount": amount, "prevent_further_usage": true,
           "budget_alerting": {"will_alert": false, "alert_recipients": []}})
}

#[tokio::test]
async fn the_client_reads_every_page_and_writes_what_the_description_asks() {
    // 150 individual budgets (two pages of 100) and an Actions budget.
    let mut budgets: Vec<Value> = (0..150)
        .map(|i| user_budget(&format!("old-{i}"), &format!("user{i:03}"), 5))
        .collect();
    budgets.push(json!({"id": "act", "budget_type": "ProductPricing", "budget_product_sku": "actions",
        "budget_scope": "organization", "budget_entity_name": "", "budget_amount": 900,
        "prevent_further_usage": false, "budget_alerting": {"will_alert": true, "alert_recipients": ["boss"]}}));
    let fx = Fixture::start(budgets).await;
    let client = GitHubClient::new(fx.client_config()).await.unwrap();
    let scope = Scope::Org("acme".into());
    let live = client.list_budgets(&scope).await.unwrap();
    assert_eq!(
        live.len(),
        150,
        "every user budget, and none of another scope"
    );

    // Declared: the default, user000 raised, user001 kept; additive.
    let desired = DesiredBudgets {
        default: Some(25),
        manage: seatkeeper::config::BudgetManage::Additive,
        users: vec![
            DesiredBudget {
                login: "user000".into(),
                amount: 60,
                expires: None,
            },
            DesiredBudget {
                login: "user001".into(),
                amount: 5,
                expires: None,
            },
            DesiredBudget {
                login: "newbie".into(),
                amount: 0,
                expires: None,
            },
        ],
        listed: vec![],
    };
    let today: NaiveDate = "2026-12-05".parse().unwrap();
    let plan = plan_budgets(
        &desired,
        &live,
        today,
        BudgetBounds::default(),
        &Limits::default(),
        &Policy::default(),
        &BTreeSet::new(),
    );
    assert_eq!(plan.changes.len(), 3, "{:?}", plan.changes);
    for c in &plan.changes {
        match c.action {
            BudgetAction::AddBudget => {
                client
                    .create_budget(&scope, c.login.as_deref(), c.amount.unwrap())
                    .await
                    .unwrap();
            }
            BudgetAction::UpdateBudget => client
                .update_budget(&scope, c.budget_id.as_deref().unwrap(), c.amount.unwrap())
                .await
                .unwrap(),
            BudgetAction::RemoveBudget => unreachable!("additive"),
        }
    }
    let after = client.list_budgets(&scope).await.unwrap();
    let replan = plan_budgets(
        &desired,
        &after,
        today,
        BudgetBounds::default(),
        &Limits::default(),
        &Policy::default(),
        &BTreeSet::new(),
    );
    assert!(replan.changes.is_empty(), "{:?}", replan.changes);
    let seen = fx.finish();
    let lists: Vec<&String> = seen.iter().filter(|s| s.starts_with("GET")).collect();
    assert_eq!(
        lists[..3],
        [
            "GET /organizations/acme/settings/billing/budgets?scope=multi_user_customer&per_page=100&page=1",
            "GET /organizations/acme/settings/billing/budgets?scope=user&per_page=100&page=1",
            "GET /organizations/acme/settings/billing/budgets?scope=user&per_page=100&page=2",
        ]
    );
    let books = fx.books.lock().unwrap();
    let newbie = books
        .budgets
        .iter()
        .find(|b| b["user"] == "newbie")
        .unwrap();
    assert_eq!(newbie["budget_amount"], 0);
    assert_eq!(newbie["budget_entity_name"], "");
    assert!(
        books
            .budgets
            .iter()
            .any(|b| b["id"] == "act" && b["budget_amount"] == 900),
        "untouched"
    );
}

#[tokio::test]
async fn create_is_idempotent_and_delete_of_a_gone_budget_is_done() {
    let fx = Fixture::start(vec![user_budget("b1", "bob", 10)]).await;
    let client = GitHubClient::new(fx.client_config()).await.unwrap();
    let scope = Scope::Enterprise("big".into());
    // A create whose first attempt had landed: GitHub refuses the second
    // (422), the client finds it and sets the amount.
    let b = client.create_budget(&scope, Some("bob"), 30).await.unwrap();
    assert_eq!((b.id.as_str(), b.amount), ("b1", 30));
    client.delete_budget(&scope, "b1").await.unwrap();
    client.delete_budget(&scope, "b1").await.unwrap();
    let seen = fx.finish();
    assert_eq!(seen.iter().filter(|s| s.starts_with("POST")).count(), 1);
    assert!(fx.books.lock().unwrap().budgets.is_empty());
}

#[tokio::test]
async fn a_refused_token_is_told_which_permission_budgets_need() {
    let fx = Fixture::start(vec![]).await;
    fx.books.lock().unwrap().refuse = true;
    let client = GitHubClient::new(fx.client_config()).await.unwrap();
    let err = client
        .list_budgets(&Scope::Org("acme".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Forbidden { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("organization owner or billing manager of `acme`"),
        "{msg}"
    );
}
