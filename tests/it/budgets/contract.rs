//! The simulator's budgets routes against the official description
//! (`tests/fixtures/openapi/budgets.operations.json`, from
//! `scripts/openapi-budgets-fixtures.py`): every request body it receives
//! and every response body it sends, each of the ten operations at least
//! once with a success, and the description's rules (paging, the scope
//! filter, the documented 400, alerting refused for user scope).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use seatkeeper::simulator::budgets::{
    ENTERPRISE_BUDGET, ENTERPRISE_BUDGETS, ORG_BUDGET, ORG_BUDGETS,
};
use seatkeeper::simulator::{SimBudget, SimOptions, SimState, Simulator};

use crate::simulator::to_json_schema;
use crate::support::request;

/// (METHOD, path) -> operation.
pub(crate) fn operations() -> HashMap<(String, String), Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openapi/budgets.operations.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut ops = HashMap::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (m, op) in methods.as_object().unwrap() {
            ops.insert((m.to_uppercase(), path.clone()), op.clone());
        }
    }
    ops
}

/// The response schemas list `budget_type` as `SkuPricing` or
/// `ProductPricing` only, while the request bodies document `BundlePricing`
/// ("Covers all AI credit SKUs") and the list's own `with_user_filter`
/// example returns it: a gap in the description. Widen those enums, and
/// nothing else.
pub(crate) fn with_bundle_pricing(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                if k == "budget_type"
                    && let Some(alts) = v.get("oneOf").and_then(Value::as_array)
                    && !alts.iter().any(|a| a["enum"][0] == "BundlePricing")
                {
                    let mut v = v.clone();
                    let mut alts = alts.clone();
                    alts.push(json!({"type": "string", "enum": ["BundlePricing"]}));
                    v["oneOf"] = Value::Array(alts);
                    out.insert(k.clone(), v);
                } else {
                    out.insert(k.clone(), with_bundle_pricing(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(with_bundle_pricing).collect()),
        other => other.clone(),
    }
}

/// Errors of `instance` against an OpenAPI schema, as strings.
pub(crate) fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let s = to_json_schema(&with_bundle_pricing(schema));
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&s)
        .unwrap();
    v.iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn state() -> SimState {
    let mut st = SimState::new("acme");
    st.enterprise = Some("big".into());
    st.members = crate::support::strings(&["alice", "bob"]);
    st.enterprise_members = crate::support::strings(&["erin"]);
    st.budgets.org = (0..25)
        .map(|i| {
            let mut b = SimBudget::ai_credits(&format!("r-{i}"), None, 100 + i);
            b.budget_type = "ProductPricing".into();
            b.budget_product_sku = "actions".into();
            b.budget_scope = "repository".into();
            b.budget_entity_name = format!("acme/repo-{i}");
            b
        })
        .collect();
    st
}

#[tokio::test]
async fn simulator_budget_routes_match_the_official_description() {
    let sim = Simulator::start(
        state(),
        SimOptions {
            record_requests: true,
            record_response_bodies: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let auth = format!("Bearer {}", sim.token());
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let send = |method: &'static str, path: String, body: Option<Value>| {
        let addr = sim.addr();
        async move {
            let r = request(
                addr,
                method,
                &path,
                &h,
                body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            )
            .await;
            (
                r.status,
                serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
            )
        }
    };
    let org = "/organizations/acme/settings/billing/budgets";
    let ent = "/enterprises/big/settings/billing/budgets";
    let user_body = |login: &str| {
        json!({"budget_amount": 50, "prevent_further_usage": true, "budget_scope": "user",
               "budget_entity_name": "", "budget_type": "BundlePricing",
               "budget_product_sku": "ai_credits", "user": login})
    };

    // Paging: 25 budgets, 10 a page by default; the scope filter.
    let (s, p1) = send("GET", org.to_string(), None).await;
    assert_eq!((s, p1["budgets"].as_array().unwrap().len()), (200, 10));
    assert_eq!(
        (p1["has_next_page"].clone(), p1["total_count"].clone()),
        (json!(true), json!(25))
    );
    let (_, p3) = send("GET", format!("{org}?page=3"), None).await;
    assert_eq!(p3["budgets"].as_array().unwrap().len(), 5);
    assert_eq!(p3["has_next_page"], false);
    let (_, none) = send("GET", format!("{org}?scope=user&per_page=100"), None).await;
    assert_eq!(none["total_count"], 0);

    // Creates: a user budget, the universal one; the documented 400.
    let (s, created) = send("POST", org.to_string(), Some(user_body("alice"))).await;
    assert_eq!(s, 200, "{created}");
    let id = created["budget"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["budget"]["user"], "alice");
    let mut universal = user_body("x");
    universal["budget_scope"] = json!("multi_user_customer");
    universal.as_object_mut().unwrap().remove("user");
    assert_eq!(send("POST", org.to_string(), Some(universal)).await.0, 200);
    let mut no_user = user_body("x");
    no_user.as_object_mut().unwrap().remove("user");
    let (s, e) = send("POST", org.to_string(), Some(no_user)).await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (400, "Missing required fields: budget_entity_name")
    );
    let mut alerting = user_body("bob");
    alerting["budget_alerting"] = json!({"will_alert": true, "alert_recipients": ["bob"]});
    assert_eq!(send("POST", org.to_string(), Some(alerting)).await.0, 422);
    let mut unstopped = user_body("bob");
    unstopped["prevent_further_usage"] = json!(false);
    assert_eq!(send("POST", org.to_string(), Some(unstopped)).await.0, 422);
    assert_eq!(
        send("POST", org.to_string(), Some(user_body("ALICE")))
            .await
            .0,
        422,
        "one ai_credits budget per user"
    );
    let (_, users) = send("GET", format!("{org}?scope=user&user=alice"), None).await;
    assert_eq!(users["total_count"], 1);
    assert_eq!(users["effective_budget"]["budget_amount"], 50);

    // Get, update, delete; unknown ids are 404.
    assert_eq!(send("GET", format!("{org}/{id}"), None).await.0, 200);
    let (s, updated) = send(
        "PATCH",
        format!("{org}/{id}"),
        Some(json!({"budget_amount": 80})),
    )
    .await;
    assert_eq!(
        (s, updated["budget"]["budget_amount"].clone()),
        (200, json!(80))
    );
    assert_eq!(
        send(
            "PATCH",
            format!("{org}/{id}"),
            Some(json!({"prevent_further_usage": false}))
        )
        .await
        .0,
        422
    );
    assert_eq!(send("DELETE", format!("{org}/{id}"), None).await.0, 200);
    assert_eq!(send("GET", format!("{org}/{id}"), None).await.0, 404);

    // The enterprise twins.
    let mut ent_body = user_body("erin");
    ent_body["budget_alerting"] = json!({"will_alert": false, "alert_recipients": []});
    let (s, c) = send("POST", ent.to_string(), Some(ent_body)).await;
    assert_eq!(s, 200, "{c}");
    let eid = c["budget"]["id"].as_str().unwrap().to_string();
    assert_eq!(send("GET", ent.to_string(), None).await.0, 200);
    assert_eq!(send("GET", format!("{ent}/{eid}"), None).await.0, 200);
    assert_eq!(
        send(
            "PATCH",
            format!("{ent}/{eid}"),
            Some(json!({"budget_amount": 1}))
        )
        .await
        .0,
        200
    );
    assert_eq!(send("DELETE", format!("{ent}/{eid}"), None).await.0, 200);

    // No billing permission: 403 on every route.
    sim.with_state(|st| st.budgets.refuse = Some(403));
    let (s, e) = send("GET", org.to_string(), None).await;
    assert_eq!(s, 403, "{e}");

    // Every body against the description.
    let ops = operations();
    let mut ok_ops = BTreeSet::new();
    let mut checked = 0;
    for r in sim.requests() {
        let path = r.route.clone();
        assert!(
            [
                ORG_BUDGETS,
                ORG_BUDGET,
                ENTERPRISE_BUDGETS,
                ENTERPRISE_BUDGET
            ]
            .contains(&path.as_str()),
            "{path}"
        );
        let op = &ops[&(r.method.clone(), path.clone())];
        if let (Some(body), Some(schema)) = (
            &r.body,
            op.pointer("/requestBody/content/application~1json/schema"),
        ) && r.status < 300
        {
            let errs = violations(schema, body);
            assert!(
                errs.is_empty(),
                "{} {path} request {body}: {errs:?}",
                r.method
            );
        }
        let status = r.status.to_string();
        let schema = op["responses"]
            .get(&status)
            .and_then(|d| d.pointer("/content/application~1json/schema"));
        let body = r.response_body.clone().expect("a JSON body");
        match schema {
            Some(schema) => {
                let errs = violations(schema, &body);
                assert!(
                    errs.is_empty(),
                    "{} {path} {status} {body}: {errs:?}",
                    r.method
                );
                checked += 1;
                if r.status == 200 {
                    ok_ops.insert((r.method.clone(), path));
                }
            }
            // 422 is listed without a schema: GitHub's Basic Error.
            None => {
                assert!(
                    op["responses"].get(&status).is_some(),
                    "{} {path}: {status} not described",
                    r.method
                );
                assert!(body["message"].is_string() && body["documentation_url"].is_string());
            }
        }
    }
    assert_eq!(ok_ops.len(), 10, "{ok_ops:?}");
    assert!(checked >= 20, "{checked}");
    sim.shutdown().await;
}
