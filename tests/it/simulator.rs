//! The simulator over real HTTP: GitHub's contract (every body validated
//! against the official OpenAPI schemas in `tests/fixtures/openapi/`) and
//! its behaviour (pagination, seat rules, auth, rate limits, faults).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::http::HeaderMap;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use seatkeeper::simulator::{
    FaultAction, GenSpec, ScriptedFault, SecondaryLimit, SimApp, SimOptions, SimState, SimTeam,
    Simulator, demo_state, generated_state, generated_state_with, routes,
};

// ---------------------------------------------------------------------------
// The contract: official schemas, converted from OpenAPI 3.0 to JSON Schema.

struct Contract {
    /// (method, OpenAPI path) -> operation object.
    ops: HashMap<(String, String), Value>,
    basic_error: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// OpenAPI 3.0 `nullable: true` becomes `type: [T, "null"]` (or an `anyOf`
/// with null when there is no single type); `example(s)` and `x-*` go.
pub(crate) fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            let mut nullable = false;
            for (k, val) in m {
                match k.as_str() {
                    "example" | "examples" => {}
                    "nullable" => nullable = val == &Value::Bool(true),
                    k if k.starts_with("x-") => {}
                    "properties" => {
                        let props = val
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(name, s)| (name.clone(), to_json_schema(s)))
                                    .collect::<serde_json::Map<_, _>>()
                            })
                            .unwrap_or_default();
                        out.insert(k.to_string(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.to_string(), to_json_schema(val));
                    }
                }
            }
            if nullable {
                let simple = out.get("type").and_then(Value::as_str).map(str::to_string);
                let composite = ["enum", "oneOf", "anyOf", "allOf"]
                    .iter()
                    .any(|k| out.contains_key(*k));
                match simple {
                    Some(t) if !composite => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    _ => return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] }),
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openapi/");
        let mut ops = HashMap::new();
        for file in ["api.github.com.operations.json", "ghec.operations.json"] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).expect("fixture");
            let doc: Value = serde_json::from_str(&text).expect("fixture JSON");
            for (path, methods) in doc["paths"].as_object().expect("paths") {
                for (method, op) in methods.as_object().expect("methods") {
                    ops.insert((method.to_uppercase(), path.clone()), op.clone());
                }
            }
        }
        let basic_error = ops[&(
            "GET".to_string(),
            "/orgs/{org}/copilot/billing/seats".to_string(),
        )]["responses"]["401"]["content"]["application/json"]["schema"]
            .clone();
        Contract {
            ops,
            basic_error: to_json_schema(&basic_error),
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// A response schema that is a top-level `oneOf` of error shapes (PUT
/// contents' 409: Basic Error, or "Repository rule violation was detected",
/// neither with required fields) accepts every error body under both, so no
/// body can satisfy `oneOf`; read the top level as `anyOf`. Nested `oneOf`s
/// stay strict.
fn alternatives_at_top(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut()
        && let Some(alts) = o.remove("oneOf")
    {
        o.insert("anyOf".into(), alts);
    }
    s
}

/// The OpenAPI path of a simulator route template.
fn openapi_path(route: &str) -> String {
    if route == routes::ENTERPRISE_TEAM {
        // The description names this one segment `{team_slug}`.
        return "/enterprises/{enterprise}/teams/{team_slug}".to_string();
    }
    route
        .replace("{*path}", "{path}")
        .replace("{*ref}", "{ref}")
        .replace("{enterprise_team}", "{enterprise-team}")
}

impl Contract {
    fn validator(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        cache
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft7)
                        .should_validate_formats(true)
                        .build(&to_json_schema(schema))
                        .unwrap_or_else(|e| panic!("schema {key} does not compile: {e}")),
                )
            })
            .clone()
    }

    fn check(&self, key: &str, schema: &Value, instance: &Value, what: &str) {
        let v = self.validator(key, schema);
        let errors: Vec<String> = v
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match the official schema {key}:\n{}\nbody: {}",
            errors.join("\n"),
            &instance.to_string().chars().take(1500).collect::<String>()
        );
    }
}

/// What a run validated.
#[derive(Default, Debug)]
struct Validated {
    requests: usize,
    responses: usize,
    /// (method, OpenAPI path, status) with a schema-validated body.
    ok_ops: BTreeSet<(String, String, u16)>,
}

/// Validate every recorded request body and response body of `sim`.
fn validate_all(sim: &Simulator) -> Validated {
    let c = contract();
    let mut out = Validated::default();
    for r in sim.requests() {
        if r.route.is_empty() || r.status == 0 {
            continue;
        }
        let path = openapi_path(&r.route);
        let Some(op) = c.ops.get(&(r.method.clone(), path.clone())) else {
            // A method the route does not have: GitHub answers 404 with its
            // Basic Error body.
            assert_eq!(
                r.status, 404,
                "{} {path} is not an official operation",
                r.method
            );
            let body = r.response_body.as_ref().expect("error body");
            c.check(
                "basic-error",
                &c.basic_error,
                body,
                &format!("error #{}", r.seq),
            );
            out.responses += 1;
            continue;
        };
        let key = format!("{} {path}", r.method);
        if let Some(body) = &r.body {
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                c.check(
                    &format!("{key} request"),
                    schema,
                    body,
                    &format!("request #{} body", r.seq),
                );
                out.requests += 1;
            }
        }
        let status = r.status.to_string();
        let described = op["responses"].get(&status);
        let schema = described
            .and_then(|d| d.pointer("/content/application~1json/schema"))
            .map(alternatives_at_top);
        match (schema.as_ref(), &r.response_body) {
            (Some(schema), Some(body)) => {
                c.check(
                    &format!("{key} {status}"),
                    schema,
                    body,
                    &format!("response #{} ({status})", r.seq),
                );
                out.responses += 1;
                out.ok_ops
                    .insert((r.method.clone(), path.clone(), r.status));
            }
            (Some(_), None) => panic!("{key} {status}: described with a body, none sent"),
            (None, body) if r.status >= 400 => {
                // Statuses the description lists without a schema (422) or
                // not at all (injected 5xx, 401 on routes that omit it):
                // GitHub sends its Basic Error body.
                let body = body
                    .as_ref()
                    .unwrap_or_else(|| panic!("{key} {status}: error without a body"));
                c.check(
                    "basic-error",
                    &c.basic_error,
                    body,
                    &format!("error #{} ({status})", r.seq),
                );
                assert!(
                    body["status"] == json!(status),
                    "status as a string: {body}"
                );
                assert!(
                    body["documentation_url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("https://docs.github.com/"))
                );
                out.responses += 1;
            }
            (None, body) => {
                assert!(
                    described.is_some(),
                    "{key}: status {status} is not in the description"
                );
                assert!(
                    body.is_none(),
                    "{key} {status}: no body expected, got {body:?}"
                );
                out.responses += 1;
                out.ok_ops
                    .insert((r.method.clone(), path.clone(), r.status));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A plain HTTP/1.1 client (hyper), one connection per request.

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<Resp, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("user-agent", "seatkeeper-tests");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

struct H {
    sim: Simulator,
}

fn opts() -> SimOptions {
    SimOptions {
        record_response_bodies: true,
        ..SimOptions::default()
    }
}

impl H {
    async fn start(state: SimState) -> H {
        H::with(state, opts()).await
    }

    async fn with(state: SimState, opts: SimOptions) -> H {
        H {
            sim: Simulator::start(state, opts)
                .await
                .expect("simulator starts"),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let token = format!("Bearer {}", self.sim.token());
        let headers = [
            ("authorization", token.as_str()),
            ("x-github-api-version", "2022-11-28"),
            ("accept", "application/vnd.github+json"),
        ];
        raw(
            self.sim.addr(),
            method,
            path,
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
        .expect("request")
    }

    async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    /// Validate what was recorded so far, then forget it (before sending
    /// something deliberately outside the contract).
    fn validate_now(&self) -> Validated {
        let v = validate_all(&self.sim);
        self.sim.clear_requests();
        v
    }

    /// Validate everything this simulator said and heard, then stop it.
    async fn finish(self) -> Validated {
        let v = validate_all(&self.sim);
        self.sim.shutdown().await;
        v
    }
}

fn users(v: &[&str]) -> Value {
    json!({ "selected_usernames": v })
}

fn logins(page: &Value) -> Vec<String> {
    page["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| s["assignee"]["login"].as_str().unwrap().to_string())
        .collect()
}

const APP_ID: u64 = 424_242;
const INSTALLATION: u64 = 7_777;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/sim/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture key")
}

fn with_app(mut st: SimState) -> SimState {
    st.app = Some(SimApp {
        app_id: APP_ID,
        client_id: Some("Iv1.simclient".into()),
        slug: "seatkeeper".into(),
        installation_id: INSTALLATION,
        public_key_pem: fixture("app-public-key.pem"),
    });
    st
}

fn jwt(key_file: &str, iss: Value, iat_off: i64, exp_off: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": iss, "iat": now + iat_off, "exp": now + exp_off });
    seatkeeper::github::app_jwt::AppKey::from_pem(&fixture(key_file))
        .expect("key")
        .sign(&claims)
        .expect("jwt")
}

fn enterprise_state() -> SimState {
    let mut st = demo_state();
    st.enterprise = Some("acme-ent".into());
    st.enterprise_teams = vec![
        SimTeam::new("ent:copilot", &["lena", "mateo"]),
        SimTeam::new("ent:empty", &[]),
    ];
    st
}

// ---------------------------------------------------------------------------
// Contract

/// Drive every operation the simulator serves, successes and errors, and
/// validate every body against the official description.
#[tokio::test]
async fn contract_every_operation_validates() {
    let mut st = with_app(enterprise_state());
    st.put_file("acme/copilot-seats", "main", "docs/README.md", "hello\n");
    let h = H::start(st).await;

    assert_eq!(h.get("/orgs/acme/copilot/billing").await.status, 200);
    assert_eq!(h.get("/orgs/acme/copilot/billing/seats").await.status, 200);
    assert_eq!(
        h.get("/orgs/acme/copilot/billing/seats?per_page=5&page=2")
            .await
            .status,
        200
    );
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["lena"])),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .send(
            "DELETE",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["lena"])),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_teams",
            Some(json!({"selected_teams": ["engineering"]})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        h.get("/orgs/acme/copilot/billing/seats?per_page=100")
            .await
            .status,
        200
    );
    let r = h
        .send(
            "DELETE",
            "/orgs/acme/copilot/billing/selected_teams",
            Some(json!({"selected_teams": ["engineering"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(h.get("/orgs/acme/members/alice").await.status, 204);
    assert_eq!(h.get("/orgs/acme/members/octocat").await.status, 404);
    assert_eq!(h.get("/orgs/acme/members/alice/copilot").await.status, 200);
    assert_eq!(h.get("/orgs/acme/members/judy/copilot").await.status, 200);
    assert_eq!(h.get("/orgs/acme/members/lena/copilot").await.status, 200);
    assert_eq!(
        h.get("/orgs/acme/members/octocat/copilot").await.status,
        404
    );
    assert_eq!(h.get("/orgs/acme/teams/engineering").await.status, 200);
    assert_eq!(h.get("/orgs/acme/teams/platform").await.status, 200);
    assert_eq!(h.get("/orgs/acme/teams/nope").await.status, 404);
    assert_eq!(
        h.get("/orgs/acme/teams/engineering/members").await.status,
        200
    );
    // Per-user team membership: child teams count (grace is in platform,
    // under engineering); a non-member and a missing team answer 404.
    for (path, status) in [
        ("/orgs/acme/teams/engineering/memberships/grace", 200),
        ("/orgs/acme/teams/engineering/memberships/judy", 404),
        ("/orgs/acme/teams/nope/memberships/alice", 404),
    ] {
        assert_eq!(h.get(path).await.status, status, "{path}");
    }
    assert_eq!(h.get("/users/octocat").await.status, 200);
    assert_eq!(h.get("/users/alice").await.status, 200);
    assert_eq!(h.get("/users/nobody-here").await.status, 404);
    assert_eq!(
        h.get("/repos/acme/copilot-seats/contents/seats.yaml")
            .await
            .status,
        200
    );
    assert_eq!(
        h.get("/repos/acme/copilot-seats/contents/docs?ref=main")
            .await
            .status,
        200
    );
    assert_eq!(
        h.get("/repos/acme/copilot-seats/contents/missing.yaml")
            .await
            .status,
        404
    );
    assert_eq!(h.get("/rate_limit").await.status, 200);

    let token = jwt("app-private-key.pem", json!(APP_ID), -60, 540);
    let bearer = format!("Bearer {token}");
    let r = raw(
        h.sim.addr(),
        "POST",
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        &[("authorization", &bearer)],
        Some(b"{}".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201);
    let r = raw(
        h.sim.addr(),
        "GET",
        "/orgs/acme/installation",
        &[("authorization", &bearer)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);

    assert_eq!(
        h.get("/enterprises/acme-ent/copilot/billing/seats")
            .await
            .status,
        200
    );
    let r = h
        .send(
            "POST",
            "/enterprises/acme-ent/copilot/billing/selected_users",
            Some(users(&["lena"])),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .send(
            "DELETE",
            "/enterprises/acme-ent/copilot/billing/selected_users",
            Some(users(&["lena"])),
        )
        .await;
    assert_eq!(r.status, 200);
    // Team names, as the request body documents: "copilot" is ent:copilot's name.
    let body = json!({"selected_enterprise_teams": ["copilot"]});
    let r = h
        .send(
            "POST",
            "/enterprises/acme-ent/copilot/billing/selected_enterprise_teams",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        h.get("/enterprises/acme-ent/copilot/billing/seats?per_page=100")
            .await
            .status,
        200
    );
    let r = h
        .send(
            "DELETE",
            "/enterprises/acme-ent/copilot/billing/selected_enterprise_teams",
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200);
    // GitHub may answer the enterprise team DELETE with 202 (done later).
    h.sim.with_state(|s| s.defer_enterprise_team_deletes = true);
    let r = h
        .send(
            "DELETE",
            "/enterprises/acme-ent/copilot/billing/selected_enterprise_teams",
            Some(json!({"selected_enterprise_teams": ["copilot"]})),
        )
        .await;
    assert_eq!(r.status, 202);
    h.sim
        .with_state(|s| s.defer_enterprise_team_deletes = false);
    assert_eq!(
        h.get("/enterprises/acme-ent/teams/ent:copilot/memberships")
            .await
            .status,
        200
    );
    assert_eq!(
        h.get("/enterprises/acme-ent/teams/ent:copilot")
            .await
            .status,
        200
    );
    // Per-user reads: the team membership and the seat (with total_seats).
    for (path, status) in [
        (
            "/enterprises/acme-ent/teams/ent:copilot/memberships/lena",
            200,
        ),
        (
            "/enterprises/acme-ent/teams/ent:copilot/memberships/judy",
            404,
        ),
        ("/enterprises/acme-ent/members/lena/copilot", 200),
        ("/enterprises/acme-ent/members/octocat/copilot", 404),
    ] {
        assert_eq!(h.get(path).await.status, status, "{path}");
    }
    for verb in ["add", "remove"] {
        let r = h
            .send(
                "POST",
                &format!("/enterprises/acme-ent/teams/ent:copilot/memberships/{verb}"),
                Some(json!({"usernames": ["nadia"]})),
            )
            .await;
        assert_eq!(r.status, 200, "memberships/{verb}");
    }
    assert_eq!(
        h.get("/orgs/acme/members?per_page=10&page=2").await.status,
        200
    );
    exercise_repository_routes(&h).await;
    // Who the token is, and AI-credit usage per user (org and enterprise).
    assert_eq!(h.get("/user").await.status, 200);
    h.sim.with_state(|s| {
        s.ai_credits
            .push(seatkeeper::simulator::usage::SimCredits::today(
                "lena", 12.5,
            ))
    });
    for path in [
        "/organizations/acme/settings/billing/ai_credit/usage?user=lena",
        "/organizations/acme/settings/billing/ai_credit/usage?year=2026&month=1",
        "/enterprises/acme-ent/settings/billing/ai_credit/usage?user=LENA",
    ] {
        let r = h.get(path).await;
        assert_eq!(r.status, 200, "{path}");
    }
    let r = h
        .get("/organizations/acme/settings/billing/ai_credit/usage?user=lena")
        .await
        .json();
    assert_eq!(r["usageItems"][0]["grossQuantity"], 12.5, "{r}");
    assert_eq!(r["user"], "lena");
    assert_eq!(
        h.get("/organizations/acme/settings/billing/ai_credit/usage?month=13")
            .await
            .status,
        400
    );

    // Errors are validated too.
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["octocat"])),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(h.get("/orgs/other/copilot/billing").await.status, 404);

    let v = h.finish().await;
    let covered: BTreeSet<(String, String)> = v
        .ok_ops
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let all: BTreeSet<(String, String)> = contract().ops.keys().cloned().collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "operations without a validated success: {missing:?}"
    );
    assert_eq!(all.len(), 49);
    assert!(v.requests >= 10, "{v:?}");
    assert!(v.responses >= 35, "{v:?}");
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One successful call of every repository operation the simulator serves:
/// a branch, a commit on it, a pull request (labelled, edited, merged), an
/// issue with a comment (edited) and closed.
async fn exercise_repository_routes(h: &H) {
    let repo = "/repos/acme/copilot-seats";
    let r = h.get(repo).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["permissions"]["push"], true);
    let r = h.get(&format!("{repo}/git/ref/heads/main")).await;
    assert_eq!(r.status, 200);
    let main = r.json()["object"]["sha"].as_str().unwrap().to_string();
    let r = h
        .send(
            "POST",
            &format!("{repo}/git/refs"),
            Some(json!({"ref": "refs/heads/seatkeeper/request-nadia", "sha": main})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json());
    let file = h
        .get(&format!(
            "{repo}/contents/seats.yaml?ref=seatkeeper/request-nadia"
        ))
        .await
        .json();
    let text = "org: acme\nusers:\n  - nadia\n";
    let r = h
        .send(
            "PUT",
            &format!("{repo}/contents/seats.yaml"),
            Some(json!({"message": "grant nadia", "content": b64(text), "sha": file["sha"], "branch": "seatkeeper/request-nadia"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
    let head = r.json()["commit"]["sha"].as_str().unwrap().to_string();
    let r = h
        .send(
            "PUT",
            &format!("{repo}/contents/docs/new.md"),
            Some(json!({"message": "a new file", "content": b64("new\n")})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json());
    let r = h
        .send(
            "PATCH",
            &format!("{repo}/git/refs/heads/seatkeeper/request-nadia"),
            Some(json!({"sha": head, "force": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
    let r = h
        .send(
            "POST",
            &format!("{repo}/pulls"),
            Some(json!({"title": "Grant nadia", "head": "acme:seatkeeper/request-nadia", "base": "main", "body": "Requested by @nadia"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json());
    let n = r.json()["number"].as_u64().unwrap();
    assert_eq!(
        h.get(&format!(
            "{repo}/pulls?state=open&head=acme:seatkeeper/request-nadia"
        ))
        .await
        .json()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    assert_eq!(h.get(&format!("{repo}/pulls/{n}")).await.status, 200);
    let r = h
        .send(
            "PATCH",
            &format!("{repo}/pulls/{n}"),
            Some(json!({"body": "edited"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let files = h.get(&format!("{repo}/pulls/{n}/files")).await.json();
    assert_eq!(files[0]["filename"], "seats.yaml");
    let r = h
        .send(
            "POST",
            &format!("{repo}/issues/{n}/labels"),
            Some(json!({"labels": ["seatkeeper-request"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            "PUT",
            &format!("{repo}/pulls/{n}/merge"),
            Some(json!({"sha": head, "merge_method": "squash"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
    let r = h
        .send(
            "POST",
            &format!("{repo}/issues"),
            Some(json!({"title": "Idle Copilot seats", "body": "@chen", "labels": ["seatkeeper-reclaim"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json());
    let issue = r.json()["number"].as_u64().unwrap();
    let list = h
        .get(&format!(
            "{repo}/issues?labels=seatkeeper-reclaim&state=open"
        ))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = h
        .send(
            "POST",
            &format!("{repo}/issues/{issue}/comments"),
            Some(json!({"body": "reminder"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_u64().unwrap();
    assert_eq!(
        h.get(&format!("{repo}/issues/{issue}/comments"))
            .await
            .status,
        200
    );
    let r = h
        .send(
            "PATCH",
            &format!("{repo}/issues/comments/{id}"),
            Some(json!({"body": "reminder, edited"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            "PATCH",
            &format!("{repo}/issues/{issue}"),
            Some(json!({"state": "closed"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "closed");
}

/// The validator is not vacuous: it refuses what GitHub's schema refuses.
#[test]
fn contract_catches_schema_violations() {
    let c = contract();
    let op = &c.ops[&(
        "GET".to_string(),
        "/orgs/{org}/copilot/billing/seats".to_string(),
    )];
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    let v = c.validator("seats-sanity", schema);
    let user = json!({
        "login": "a", "id": 1, "node_id": "x", "avatar_url": "https://a.b/c", "gravatar_id": null,
        "url": "https://a.b/u", "html_url": "https://a.b/h", "followers_url": "https://a.b/f",
        "following_url": "x", "gists_url": "x", "starred_url": "x", "subscriptions_url": "https://a.b/s",
        "organizations_url": "https://a.b/o", "repos_url": "https://a.b/r", "events_url": "x",
        "received_events_url": "https://a.b/e", "type": "User", "site_admin": false
    });
    let good = json!({"total_seats": 1, "seats": [{"created_at": "2025-01-01T00:00:00Z", "assignee": user, "pending_cancellation_date": null, "assigning_team": null}]});
    assert!(v.is_valid(&good), "nullable fields accept null");
    let mut bad = good.clone();
    bad["seats"][0]
        .as_object_mut()
        .unwrap()
        .remove("created_at");
    assert!(!v.is_valid(&bad), "created_at is required");
    let mut bad = good.clone();
    bad["seats"][0]["extra"] = json!(1);
    assert!(!v.is_valid(&bad), "additionalProperties: false");
    let mut bad = good.clone();
    bad["seats"][0]["assignee"]["avatar_url"] = json!("not a uri");
    assert!(!v.is_valid(&bad), "formats are checked");
    let mut bad = good.clone();
    bad["seats"][0]["assigning_team"] = json!({"slug": "x"});
    assert!(
        !v.is_valid(&bad),
        "a team must be a full Team or Enterprise Team"
    );
    let mut bad = good;
    bad["seats"][0]["plan_type"] = json!("free");
    assert!(!v.is_valid(&bad), "enums are checked");
}

#[tokio::test]
async fn odd_requests_get_github_json_errors() {
    let h = H::start(demo_state()).await;
    for path in [
        "/orgs/%FF%FE/copilot/billing",
        "/orgs/acme/copilot/billing/seats?page=99999999999999999999999",
        "/orgs/acme/copilot/billing/seats?per_page=1e3",
        "/orgs/acme/teams/%00/members",
        "/repos/acme/copilot-seats/contents/%2e%2e/%2e%2e/etc/passwd",
        "/",
    ] {
        let r = h.get(path).await;
        assert!(r.status >= 400, "{path}: {}", r.status);
        assert!(r.json()["message"].is_string(), "{path}");
    }
    let r = h
        .get("/orgs/acme/copilot/billing/seats?page=999999999&per_page=100")
        .await;
    assert_eq!(r.status, 200, "far past the end is an empty page");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Pagination

#[tokio::test]
async fn pagination_sizes_default_and_max() {
    for n in [0usize, 1, 50, 51, 100, 101] {
        let h = H::start(generated_state("big", n, 0)).await;
        let base = h.sim.url();
        let r = h.get("/orgs/big/copilot/billing/seats").await;
        let page = r.json();
        assert_eq!(page["total_seats"], json!(n), "n={n}");
        assert_eq!(
            logins(&page).len(),
            n.min(50),
            "per_page defaults to 50 (n={n})"
        );
        let link = r.header("link");
        if n <= 50 {
            assert_eq!(link, None, "one page has no Link (n={n})");
        } else {
            let last = n.div_ceil(50);
            assert_eq!(
                link.unwrap(),
                format!(
                    "<{base}/orgs/big/copilot/billing/seats?page=2>; rel=\"next\", <{base}/orgs/big/copilot/billing/seats?page={last}>; rel=\"last\""
                )
            );
        }
        // Walking every page of 100 yields every seat once, in order.
        let mut all = Vec::new();
        let mut page_no = 1;
        loop {
            let r = h
                .get(&format!(
                    "/orgs/big/copilot/billing/seats?per_page=100&page={page_no}"
                ))
                .await;
            all.extend(logins(&r.json()));
            let next = r.header("link").is_some_and(|l| l.contains("rel=\"next\""));
            if !next {
                break;
            }
            page_no += 1;
        }
        let expected: Vec<String> = (0..n).map(seatkeeper::simulator::generated_login).collect();
        assert_eq!(all, expected, "n={n}");
        h.finish().await;
    }
}

#[tokio::test]
async fn link_headers_exact_and_per_page_clamped() {
    let h = H::start(generated_state("big", 250, 0)).await;
    let b = format!("{}/orgs/big/copilot/billing/seats", h.sim.url());
    let r = h
        .get("/orgs/big/copilot/billing/seats?per_page=100&page=2")
        .await;
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{b}?per_page=100&page=1>; rel=\"prev\", <{b}?per_page=100&page=3>; rel=\"next\", <{b}?per_page=100&page=3>; rel=\"last\", <{b}?per_page=100&page=1>; rel=\"first\""
        )
    );
    let r = h
        .get("/orgs/big/copilot/billing/seats?page=3&per_page=100")
        .await;
    assert_eq!(logins(&r.json()).len(), 50);
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{b}?per_page=100&page=2>; rel=\"prev\", <{b}?per_page=100&page=1>; rel=\"first\""
        )
    );
    // per_page above 100 is clamped to 100; the Link keeps what was sent.
    let r = h.get("/orgs/big/copilot/billing/seats?per_page=500").await;
    assert_eq!(logins(&r.json()).len(), 100);
    assert_eq!(
        r.header("link").unwrap(),
        format!("<{b}?per_page=500&page=2>; rel=\"next\", <{b}?per_page=500&page=3>; rel=\"last\"")
    );
    // Past the end: an empty page that still says where the data is.
    let r = h
        .get("/orgs/big/copilot/billing/seats?page=9&per_page=100")
        .await;
    assert_eq!(r.json()["total_seats"], 250);
    assert!(logins(&r.json()).is_empty());
    // Not an integer: 422, GitHub's validation failure.
    let r = h.get("/orgs/big/copilot/billing/seats?page=abc").await;
    assert_eq!(r.status, 422);
    assert!(r.json()["message"].as_str().unwrap().contains("page"));
    // Team members page with the description's default of 30.
    h.finish().await;
}

#[tokio::test]
async fn big_listing_is_served_quickly() {
    let h = H::with(generated_state("huge", 100_000, 0), SimOptions::default()).await;
    let t = Instant::now();
    let mut count = 0;
    for page in 1..=1000 {
        let r = h
            .get(&format!(
                "/orgs/huge/copilot/billing/seats?per_page=100&page={page}"
            ))
            .await;
        assert_eq!(r.status, 200);
        let v: Value = r.json();
        count += v["seats"].as_array().unwrap().len();
    }
    let took = t.elapsed();
    assert_eq!(count, 100_000);
    // Debug build, both sides in one process: still well under a minute.
    assert!(took < Duration::from_secs(60), "1,000 pages took {took:?}");
    eprintln!("100,000 seats in 1,000 pages: {took:?}");
    h.sim.shutdown().await;
}

// ---------------------------------------------------------------------------
// Seat semantics

#[tokio::test]
async fn delete_of_team_granted_seat_is_422_and_applies_nothing() {
    let h = H::start(demo_state()).await;
    let r = h
        .send(
            "DELETE",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["alice", "judy"])),
        )
        .await;
    assert_eq!(r.status, 422);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("judy") && msg.contains("assigned through a team"),
        "{msg}"
    );
    assert!(!msg.contains("alice"), "{msg}");
    let mut st = h.sim.state();
    assert!(st.seat("alice").unwrap().is_active(), "nothing applied");
    assert!(st.seat("judy").unwrap().is_active());
    h.finish().await;
}

#[tokio::test]
async fn post_with_a_non_member_is_404_for_the_whole_request() {
    let h = H::start(demo_state()).await;
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["lena", "octocat", "ghost-user"])),
        )
        .await;
    // github-observed: "One or more users do not exist in this
    // organization: LOGINS" (status documented, words inferred).
    assert_eq!(r.status, 404);
    let body = r.json();
    let msg = body["message"].as_str().unwrap();
    assert_eq!(
        msg,
        "One or more users do not exist in this organization: octocat, ghost-user"
    );
    assert_eq!(body["status"], "404");
    assert!(h.sim.state().seat("lena").is_none(), "lena got nothing");
    h.finish().await;
}

#[tokio::test]
async fn writes_refused_unless_assign_selected() {
    let mut st = demo_state();
    st.seat_management_setting = seatkeeper::plan::SeatManagementSetting::AssignAll;
    let h = H::start(st).await;
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["lena"])),
        )
        .await;
    assert_eq!(r.status, 422);
    // The observed body (github-observed: CopilotBillingUser_WrongSettings.json).
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Your organization has enabled Copilot access for all members")
    );
    assert_eq!(
        h.get("/orgs/acme/copilot/billing").await.json()["seat_management_setting"],
        "assign_all"
    );
    h.finish().await;
}

#[tokio::test]
async fn remove_marks_pending_and_add_restores() {
    let h = H::start(demo_state()).await;
    let next_billing = h.sim.state().next_billing_date.to_string();
    let r = h
        .send(
            "DELETE",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["alice", "lena"])),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"seats_cancelled": 1}),
        "lena holds no seat: 0"
    );
    let page = h
        .get("/orgs/acme/copilot/billing/seats?per_page=100")
        .await
        .json();
    let alice = page["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["assignee"]["login"] == "alice")
        .unwrap();
    assert_eq!(
        alice["pending_cancellation_date"],
        json!(next_billing),
        "still listed, pending"
    );
    assert_eq!(page["total_seats"], 22);

    // kemal is pending in the demo; POST restores him and counts him.
    let r = h
        .send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["Kemal", "bob", "lena"])),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json(),
        json!({"seats_created": 2}),
        "kemal restored + lena new; bob already active"
    );
    let mut st = h.sim.state();
    assert!(st.seat("kemal").unwrap().is_active());
    assert_eq!(st.seats.len(), 23);
    let billing = h.get("/orgs/acme/copilot/billing").await.json();
    assert_eq!(billing["seat_breakdown"]["total"], 23);
    assert_eq!(billing["seat_breakdown"]["pending_cancellation"], 1);
    h.finish().await;
}

#[tokio::test]
async fn team_add_and_remove() {
    let h = H::start(demo_state()).await;
    let url = "/orgs/acme/copilot/billing/selected_teams";
    // engineering = 6 direct members + platform's 3 (child team); only ivan
    // holds no seat yet.
    let r = h
        .send(
            "POST",
            url,
            Some(json!({"selected_teams": ["engineering"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"seats_created": 1}));
    let page = h
        .get("/orgs/acme/copilot/billing/seats?per_page=100")
        .await
        .json();
    let team_of = |login: &str| {
        page["seats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["assignee"]["login"] == login)
            .unwrap()["assigning_team"]
            .clone()
    };
    assert_eq!(team_of("ivan")["slug"], "engineering");
    assert_eq!(
        team_of("alice")["slug"],
        "engineering",
        "a team grant shows over a direct one"
    );
    assert!(
        team_of("ivan").get("group_id").is_none(),
        "org teams carry no group_id"
    );

    // A value that names no team (a slug whose team has another name, an
    // unknown name): GitHub's 404 listing them, nothing applied.
    let r = h
        .send(
            "POST",
            url,
            Some(json!({"selected_teams": ["Data Science", "data-science", "nope"]})),
        )
        .await;
    assert_eq!(r.status, 404);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert_eq!(
        msg,
        "One or more teams do not exist in this organization: data-science, nope"
    );

    // Removing: ivan's only grant goes (pending); alice keeps her direct grant.
    let r = h
        .send(
            "DELETE",
            url,
            Some(json!({"selected_teams": ["engineering"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"seats_cancelled": 1}));
    let mut st = h.sim.state();
    assert!(!st.seat("ivan").unwrap().is_active());
    let alice = st.seat("alice").unwrap().clone();
    assert!(alice.is_active() && alice.assigning_team.is_none());

    // A member added later to a selected team gets a seat.
    h.sim.with_state(|s| {
        s.teams
            .iter_mut()
            .find(|t| t.slug == "data-science")
            .unwrap()
            .members
            .push("lena".into())
    });
    let r = h.get("/orgs/acme/members/lena/copilot").await;
    assert_eq!(r.json()["assigning_team"]["slug"], "data-science");

    // Team lookups: members_count includes the child team; members listing too.
    let t = h.get("/orgs/acme/teams/engineering").await.json();
    assert_eq!(t["members_count"], 9);
    let m = h
        .get("/orgs/acme/teams/engineering/members?per_page=100")
        .await
        .json();
    assert_eq!(m.as_array().unwrap().len(), 9);
    assert_eq!(m[8]["inherited"], true);
    assert_eq!(m[0]["inherited"], false);
    let m = h
        .get("/orgs/acme/teams/engineering/members?per_page=4&page=3")
        .await;
    assert_eq!(m.json().as_array().unwrap().len(), 1);
    assert!(m.header("link").unwrap().contains("rel=\"prev\""));
    h.finish().await;
}

#[tokio::test]
async fn membership_and_users() {
    let h = H::start(demo_state()).await;
    assert_eq!(
        h.get("/orgs/acme/members/ALICE").await.status,
        204,
        "case-insensitive"
    );
    assert_eq!(h.get("/orgs/acme/members/octocat").await.status, 404);
    let u = h.get("/users/Octo-admin").await.json();
    assert_eq!(u["login"], "Octo-Admin", "GitHub's spelling");
    assert_eq!(h.get("/users/contractor-carl").await.status, 200);
    assert_eq!(h.get("/users/nobody").await.status, 404);
    assert_eq!(h.get("/orgs/acme/nonexistent/route").await.status, 404);
    assert_eq!(
        h.send("PUT", "/orgs/acme/copilot/billing/seats", None)
            .await
            .status,
        404
    );
    h.finish().await;

    let h = H::with(
        demo_state(),
        SimOptions {
            requester_is_member: false,
            ..opts()
        },
    )
    .await;
    let r = h.get("/orgs/acme/members/alice").await;
    assert_eq!(r.status, 302);
    assert!(
        r.header("location")
            .unwrap()
            .ends_with("/orgs/acme/public_members/alice")
    );
    h.finish().await;
}

#[tokio::test]
async fn bad_bodies_are_github_errors() {
    let h = H::start(demo_state()).await;
    let addr = h.sim.addr();
    let token = format!("Bearer {}", h.sim.token());
    let path = "/orgs/acme/copilot/billing/selected_users";
    let r = raw(
        addr,
        "POST",
        path,
        &[("authorization", &token)],
        Some(b"{not json".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Problems parsing JSON");
    for body in [
        json!({}),
        json!({"selected_usernames": []}),
        json!({"selected_usernames": "alice"}),
        json!({"selected_usernames": [1]}),
        json!([1]),
    ] {
        let r = h.send("POST", path, Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request")
        );
    }
    assert_eq!(h.sim.state().seats.len(), 22);
    // These bodies are deliberately invalid: only the responses are checked.
    let v = validate_all_responses_only(&h.sim);
    assert!(v > 5);
    h.sim.shutdown().await;
}

fn validate_all_responses_only(sim: &Simulator) -> usize {
    let c = contract();
    let mut n = 0;
    for r in sim.requests() {
        if let Some(body) = &r.response_body {
            c.check("basic-error", &c.basic_error, body, "error");
            n += 1;
        }
    }
    n
}

// ---------------------------------------------------------------------------
// Auth, versions, rate limits

#[tokio::test]
async fn auth_is_required() {
    let h = H::start(demo_state()).await;
    let addr = h.sim.addr();
    let r = raw(addr, "GET", "/orgs/acme/copilot/billing/seats", &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["message"], "Bad credentials");
    assert_eq!(r.json()["status"], "401");
    let r = raw(
        addr,
        "GET",
        "/orgs/acme/copilot/billing/seats",
        &[("authorization", "Bearer wrong")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    let t = format!("token {}", h.sim.token());
    let r = raw(
        addr,
        "GET",
        "/orgs/acme/copilot/billing/seats",
        &[("authorization", &t)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.header("x-ratelimit-remaining").is_some(),
        "rate-limit headers on every answer"
    );
    h.finish().await;
}

#[tokio::test]
async fn api_version_header_is_checked() {
    let h = H::start(demo_state()).await;
    let t = format!("Bearer {}", h.sim.token());
    let r = raw(
        h.sim.addr(),
        "GET",
        "/rate_limit",
        &[
            ("authorization", &t),
            ("x-github-api-version", "1999-01-01"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("1999-01-01"));
    // 2026-03-10, the first version with breaking changes, is served beside 2022-11-28.
    for version in ["2022-11-28", "2026-03-10"] {
        let r = raw(
            h.sim.addr(),
            "GET",
            "/rate_limit",
            &[("authorization", &t), ("x-github-api-version", version)],
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{version}");
    }
    let r = raw(
        h.sim.addr(),
        "GET",
        "/rate_limit",
        &[("authorization", &t)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "no header is fine");
    h.finish().await;
}

#[tokio::test]
async fn primary_rate_limit_headers_and_exhaustion() {
    let h = H::with(
        demo_state(),
        SimOptions {
            rate_limit: 3,
            ..opts()
        },
    )
    .await;
    let r = h.get("/orgs/acme/copilot/billing").await;
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-used",
        "x-ratelimit-resource",
    ] {
        assert!(r.header(name).is_some(), "{name}");
    }
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));
    assert_eq!(r.header("x-ratelimit-used"), Some("1"));
    assert_eq!(r.header("x-ratelimit-resource"), Some("core"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset > chrono::Utc::now().timestamp());
    // GET /rate_limit is free.
    let rl = h.get("/rate_limit").await;
    assert_eq!(rl.header("x-ratelimit-remaining"), Some("2"));
    assert_eq!(rl.json()["resources"]["core"]["remaining"], 2);
    h.get("/orgs/acme/copilot/billing").await;
    h.get("/orgs/acme/copilot/billing").await;
    let r = h.get("/orgs/acme/copilot/billing").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.json()["message"].as_str().unwrap().contains("rate limit"));
    h.sim.set_rate_limit(10, Duration::from_secs(30));
    assert_eq!(h.get("/orgs/acme/copilot/billing").await.status, 200);
    h.finish().await;
}

#[tokio::test]
async fn secondary_limit_answers_retry_after() {
    for status in [403u16, 429] {
        let secondary = SecondaryLimit {
            points_per_window: 11,
            window: Duration::from_secs(60),
            status,
            max_concurrent: None,
        };
        let h = H::with(
            demo_state(),
            SimOptions {
                secondary: Some(secondary),
                ..opts()
            },
        )
        .await;
        let path = "/orgs/acme/copilot/billing/selected_users";
        assert_eq!(
            h.send("POST", path, Some(users(&["lena"]))).await.status,
            201
        ); // 5
        assert_eq!(
            h.send("POST", path, Some(users(&["mateo"]))).await.status,
            201
        ); // 10
        assert_eq!(h.get("/orgs/acme/copilot/billing").await.status, 200); // 11
        let r = h.send("POST", path, Some(users(&["nadia"]))).await;
        assert_eq!(r.status, status);
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("secondary rate limit")
        );
        assert!(
            h.sim.state().seat("nadia").is_none(),
            "refused write did not apply"
        );
        h.sim.reset_secondary_limit();
        assert_eq!(
            h.send("POST", path, Some(users(&["nadia"]))).await.status,
            201
        );
        h.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_counted_and_capped() {
    let h = H::with(
        demo_state(),
        SimOptions {
            latency: Duration::from_millis(400),
            secondary: Some(SecondaryLimit {
                points_per_window: 10_000,
                max_concurrent: Some(5),
                ..SecondaryLimit::default()
            }),
            ..opts()
        },
    )
    .await;
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.get("/orgs/acme/copilot/billing").await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(h.sim.max_in_flight(), 8, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        3,
        "{statuses:?}"
    );
    let h = Arc::try_unwrap(h).ok().expect("sole owner");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Contents API

/// Git's blob id, computed here independently of the simulator.
fn git_sha(bytes: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.digest().to_string()
}

#[tokio::test]
async fn contents_etag_and_304() {
    let mut st = demo_state();
    st.put_file(
        "acme/copilot-seats",
        "feature/x",
        "seats.yaml",
        "org: acme\nusers: [alice]\n",
    );
    let h = H::start(st).await;
    let text = h
        .sim
        .state()
        .file("acme/copilot-seats", "main", "seats.yaml")
        .unwrap()
        .to_string();
    let r = h
        .get("/repos/acme/copilot-seats/contents/seats.yaml?ref=main")
        .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let sha = git_sha(text.as_bytes());
    assert_eq!(body["sha"], json!(sha));
    assert_eq!(body["encoding"], "base64");
    let content: String = body["content"].as_str().unwrap().split('\n').collect();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(content)
        .unwrap();
    assert_eq!(decoded, text.as_bytes());
    let etag = r.header("etag").unwrap().to_string();
    assert!(etag.contains(&sha));
    // The empty file's blob id is git's well-known e69de29...
    assert_eq!(git_sha(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");

    let t = format!("Bearer {}", h.sim.token());
    let before = h.sim.rate_limit().used;
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/contents/seats.yaml",
        &[("authorization", &t), ("if-none-match", &etag)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(h.sim.rate_limit().used, before, "304 does not count");
    let weak = format!("W/{etag}");
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/contents/seats.yaml",
        &[("authorization", &t), ("if-none-match", &weak)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 304);
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/contents/seats.yaml",
        &[("authorization", &t), ("if-none-match", "\"0000\"")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    // Another ref, percent-encoded.
    let r = h
        .get("/repos/ACME/copilot-seats/contents/seats.yaml?ref=feature%2Fx")
        .await;
    assert_eq!(
        r.json()["sha"],
        json!(git_sha(b"org: acme\nusers: [alice]\n"))
    );
    let r = h
        .get("/repos/acme/copilot-seats/contents/seats.yaml?ref=refs/heads/main")
        .await;
    assert_eq!(r.json()["sha"], json!(sha));
    h.validate_now();
    // Raw media type (not JSON, so outside the JSON contract).
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/contents/seats.yaml",
        &[
            ("authorization", &t),
            ("accept", "application/vnd.github.raw+json"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.body.as_ref(), text.as_bytes());
    h.sim.clear_requests();
    assert_eq!(
        h.get("/repos/acme/copilot-seats/contents/seats.yaml?ref=nope")
            .await
            .status,
        404
    );
    assert_eq!(
        h.get("/repos/acme/other/contents/seats.yaml").await.status,
        404
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------
// GitHub App

#[tokio::test]
async fn app_jwt_is_verified() {
    let h = H::start(with_app(demo_state())).await;
    let addr = h.sim.addr();
    let url = format!("/app/installations/{INSTALLATION}/access_tokens");
    let post = |token: String| {
        let url = url.clone();
        async move {
            let auth = format!("Bearer {token}");
            raw(addr, "POST", &url, &[("authorization", &auth)], None)
                .await
                .unwrap()
        }
    };
    // Good: octocrab's shape (iat 60 s back, exp 9 min ahead).
    let r = post(jwt("app-private-key.pem", json!(APP_ID), -60, 540)).await;
    assert_eq!(r.status, 201);
    let body = r.json();
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_"));
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    let ahead = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&ahead), "{ahead}");
    // The installation token works on the other routes.
    let auth = format!("token {token}");
    let r = raw(
        addr,
        "GET",
        "/orgs/acme/copilot/billing/seats",
        &[("authorization", &auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    // iss as a string, and the client id, are accepted too.
    assert_eq!(
        post(jwt(
            "app-private-key.pem",
            json!(APP_ID.to_string()),
            0,
            300
        ))
        .await
        .status,
        201
    );
    assert_eq!(
        post(jwt("app-private-key.pem", json!("Iv1.simclient"), 0, 300))
            .await
            .status,
        201
    );

    let refused = [
        (
            "wrong key",
            jwt("other-private-key.pem", json!(APP_ID), -60, 540),
        ),
        (
            "expired",
            jwt("app-private-key.pem", json!(APP_ID), -700, -100),
        ),
        (
            "exp too far",
            jwt("app-private-key.pem", json!(APP_ID), -60, 1200),
        ),
        (
            "iat in the future",
            jwt("app-private-key.pem", json!(APP_ID), 300, 540),
        ),
        ("other app", jwt("app-private-key.pem", json!(1), -60, 540)),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (why, t) in refused {
        let r = post(t).await;
        assert_eq!(r.status, 401, "{why}");
        assert!(r.json()["message"].as_str().is_some(), "{why}");
    }
    let r = raw(addr, "POST", &url, &[], None).await.unwrap();
    assert_eq!(r.status, 401, "no JWT");
    // The static token is not a JWT.
    let r = raw(
        addr,
        "POST",
        &url,
        &[("authorization", "Bearer sim-token")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    // Unknown installation.
    let auth = format!(
        "Bearer {}",
        jwt("app-private-key.pem", json!(APP_ID), -60, 540)
    );
    let r = raw(
        addr,
        "POST",
        "/app/installations/1/access_tokens",
        &[("authorization", &auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
    let r = raw(
        addr,
        "GET",
        "/orgs/acme/installation",
        &[("authorization", &auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], INSTALLATION);
    assert_eq!(r.json()["app_id"], APP_ID);
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Enterprise

#[tokio::test]
async fn enterprise_routes() {
    let h = H::start(enterprise_state()).await;
    let base = "/enterprises/acme-ent/copilot/billing";
    let r = h
        .send(
            "POST",
            &format!("{base}/selected_enterprise_teams"),
            Some(json!({"selected_enterprise_teams": ["copilot"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"seats_created": 2}));
    let page = h.get(&format!("{base}/seats?per_page=100")).await.json();
    let lena = page["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["assignee"]["login"] == "lena")
        .unwrap();
    let team = &lena["assigning_team"];
    assert_eq!(team["slug"], "ent:copilot");
    assert!(
        team.as_object().unwrap().contains_key("group_id"),
        "enterprise teams carry group_id"
    );
    assert!(
        lena["organization"].is_null(),
        "an enterprise team's grant names no org"
    );
    // Every org seat of the enterprise's organization is listed too, with its
    // organization; total_seats counts each user once.
    let seats = page["seats"].as_array().unwrap();
    let org_entries = seats
        .iter()
        .filter(|s| s["organization"]["login"] == "acme")
        .count();
    assert_eq!(org_entries, h.sim.state().seats.len());
    let users_listed: BTreeSet<String> = seats
        .iter()
        .map(|s| s["assignee"]["login"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(page["total_seats"], users_listed.len());
    // The enterprise team's seat is not the org's: the org listing does not show it.
    let org_page = h
        .get("/orgs/acme/copilot/billing/seats?per_page=100")
        .await
        .json();
    assert!(
        !org_page["seats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["assignee"]["login"] == "lena")
    );
    // Enterprise seat writes for users.
    let r = h
        .send(
            "POST",
            &format!("{base}/selected_users"),
            Some(users(&["nadia"])),
        )
        .await;
    assert_eq!(r.json(), json!({"seats_created": 1}));
    let r = h
        .send(
            "POST",
            &format!("{base}/selected_users"),
            Some(users(&["octocat"])),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["message"].as_str().unwrap().contains("enterprise"));
    let m = h
        .get("/enterprises/acme-ent/teams/ent:copilot/memberships")
        .await
        .json();
    assert_eq!(m.as_array().unwrap().len(), 2);
    assert_eq!(
        h.get("/enterprises/acme-ent/teams/nope/memberships")
            .await
            .status,
        404
    );
    assert_eq!(
        h.get("/enterprises/other/copilot/billing/seats")
            .await
            .status,
        404
    );
    let r = h
        .send(
            "DELETE",
            &format!("{base}/selected_enterprise_teams"),
            Some(json!({"selected_enterprise_teams": ["copilot"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"seats_cancelled": 2}));
    let v = h.validate_now();
    assert!(v.requests >= 4 && v.responses >= 9, "{v:?}");
    // Deliberately outside the contract: the org route's body key.
    let r = h
        .send(
            "POST",
            &format!("{base}/selected_enterprise_teams"),
            Some(json!({"selected_teams": ["ent:copilot"]})),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "the enterprise route's key is selected_enterprise_teams"
    );
    assert_eq!(validate_all_responses_only(&h.sim), 1);
    h.sim.shutdown().await;
}

// ---------------------------------------------------------------------------
// Faults

async fn statuses_with_seed(seed: u64) -> Vec<u16> {
    let h = H::with(
        generated_state("big", 10, 0),
        SimOptions {
            fault_seed: seed,
            ..opts()
        },
    )
    .await;
    h.sim.faults().error_rate(routes::ORG_SEATS, 502, 0.4);
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(h.get("/orgs/big/copilot/billing/seats").await.status);
    }
    assert_eq!(
        h.sim.faults().injected().len(),
        out.iter().filter(|s| **s == 502).count()
    );
    // Other routes are untouched.
    assert_eq!(h.get("/orgs/big/copilot/billing").await.status, 200);
    h.finish().await;
    out
}

#[tokio::test]
async fn fault_error_rates_replay_with_a_seed() {
    let a = statuses_with_seed(42).await;
    assert_eq!(a, statuses_with_seed(42).await);
    assert_ne!(a, statuses_with_seed(43).await);
    let errors = a.iter().filter(|s| **s == 502).count();
    assert!((5..=30).contains(&errors), "{errors}");
}

#[tokio::test]
async fn scripted_faults_and_clear() {
    let h = H::start(demo_state()).await;
    let f = h.sim.faults();
    f.on_request(
        routes::ORG_SEATS,
        2,
        FaultAction::status_with_retry_after(503, 7),
    );
    f.on_request(
        &format!("GET {}", routes::ORG_BILLING),
        1,
        FaultAction::Latency(Duration::from_millis(150)),
    );
    assert_eq!(h.get("/orgs/acme/copilot/billing/seats").await.status, 200);
    let r = h.get("/orgs/acme/copilot/billing/seats").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(
        h.get("/orgs/acme/copilot/billing/seats").await.status,
        200,
        "fires once"
    );
    let t = Instant::now();
    assert_eq!(h.get("/orgs/acme/copilot/billing").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    f.script(ScriptedFault {
        route: "*".into(),
        nth: 1,
        times: 100,
        action: FaultAction::status(500),
    });
    assert_eq!(h.get("/rate_limit").await.status, 500);
    f.clear();
    assert_eq!(h.get("/rate_limit").await.status, 200);
    let injected = f.injected();
    assert_eq!(injected.len(), 3);
    assert_eq!(injected[0].what, "status 503");
    h.finish().await;
}

#[tokio::test]
async fn faulted_writes_never_apply() {
    let h = H::start(demo_state()).await;
    let f = h.sim.faults();
    let path = "/orgs/acme/copilot/billing/selected_users";
    f.on_request(
        &format!("POST {}", routes::ORG_SELECTED_USERS),
        1,
        FaultAction::status(500),
    );
    assert_eq!(
        h.send("POST", path, Some(users(&["lena"]))).await.status,
        500
    );
    assert!(h.sim.state().seat("lena").is_none());
    // Rejected logins: 422 naming them, nothing else of the batch applies.
    f.reject_logins(["mateo"]);
    let r = h.send("POST", path, Some(users(&["lena", "Mateo"]))).await;
    assert_eq!(r.status, 422);
    assert!(r.json()["message"].as_str().unwrap().contains("Mateo"));
    assert!(h.sim.state().seat("lena").is_none());
    assert_eq!(
        h.send("POST", path, Some(users(&["lena"]))).await.status,
        201
    );
    let r = h.send("DELETE", path, Some(users(&["mateo"]))).await;
    assert_eq!(r.status, 422, "deletes too");
    h.finish().await;
}

#[tokio::test]
async fn dropped_connection_has_no_response() {
    let h = H::start(demo_state()).await;
    h.sim
        .faults()
        .on_request(routes::ORG_SELECTED_USERS, 1, FaultAction::Drop);
    let token = format!("Bearer {}", h.sim.token());
    let r = raw(
        h.sim.addr(),
        "POST",
        "/orgs/acme/copilot/billing/selected_users",
        &[("authorization", &token)],
        Some(users(&["lena"]).to_string().into_bytes()),
    )
    .await;
    assert!(r.is_err(), "the socket closed without a response");
    assert!(
        h.sim.state().seat("lena").is_none(),
        "dropped write did not apply"
    );
    let rec = h.sim.requests();
    assert_eq!(rec.last().unwrap().status, 0);
    assert_eq!(
        h.send(
            "POST",
            "/orgs/acme/copilot/billing/selected_users",
            Some(users(&["lena"]))
        )
        .await
        .status,
        201
    );
    h.finish().await;
}

#[tokio::test]
async fn seats_change_between_pages() {
    let h = H::start(generated_state("big", 150, 5)).await;
    h.sim.faults().on_request(
        routes::ORG_SEATS,
        1,
        FaultAction::InsertSeatAfter("user000151".into()),
    );
    let p1 = h
        .get("/orgs/big/copilot/billing/seats?per_page=100&page=1")
        .await
        .json();
    let p2 = h
        .get("/orgs/big/copilot/billing/seats?per_page=100&page=2")
        .await
        .json();
    assert_eq!(p1["total_seats"], 150);
    assert_eq!(p2["total_seats"], 151);
    h.sim
        .faults()
        .on_request(routes::ORG_SEATS, 1, FaultAction::RemoveSeatAfter(None));
    let p1 = h
        .get("/orgs/big/copilot/billing/seats?per_page=100&page=1")
        .await
        .json();
    let p2 = h
        .get("/orgs/big/copilot/billing/seats?per_page=100&page=2")
        .await
        .json();
    assert_eq!(p1["total_seats"], 151);
    assert_eq!(p2["total_seats"], 150);
    h.finish().await;
}

#[tokio::test]
async fn generated_state_with_team_seats_lists_teams() {
    let st = generated_state_with(
        "gen",
        &GenSpec {
            seats: 120,
            team_seats: 20,
            pending_every: 10,
            ..GenSpec::default()
        },
    );
    let h = H::start(st).await;
    let p = h
        .get("/orgs/gen/copilot/billing/seats?per_page=100&page=2")
        .await
        .json();
    assert!(
        p["seats"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["assigning_team"]["slug"] == "generated-team")
    );
    let b = h.get("/orgs/gen/copilot/billing").await.json();
    assert_eq!(b["seat_breakdown"]["pending_cancellation"], 10);
    h.finish().await;
}

#[tokio::test]
async fn state_round_trips_through_yaml() {
    let st = demo_state();
    let text = serde_saphyr::to_string(&st).unwrap();
    let back: SimState = serde_saphyr::from_str(&text).unwrap();
    let h = H::start(back).await;
    let p = h.get("/orgs/acme/copilot/billing/seats").await.json();
    assert_eq!(p["total_seats"], 22);
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Repositories and push webhooks

#[tokio::test]
async fn contents_writes_honour_the_sha_and_permissions() {
    let h = H::start(demo_state()).await;
    let path = "/repos/acme/copilot-seats/contents/seats.yaml";
    let current = h.get(path).await.json()["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |sha: Option<&str>| {
        let mut body = json!({"message": "m", "content": b64("org: acme\n")});
        if let Some(s) = sha {
            body["sha"] = json!(s);
        }
        body
    };
    #[rustfmt::skip]
    let cases: Vec<(Value, u16, &str)> = vec![
        (put(None), 422, "\"sha\" wasn't supplied"),
        (put(Some("3d21ec53a331a6f037a91c368710b99387d012c1")), 409, "seats.yaml does not match 3d21ec53a331a6f037a91c368710b99387d012c1"),
        ({ let mut b = put(Some(&current)); b["branch"] = json!("nope"); b }, 404, "Branch nope not found"),
    ];
    for (body, status, message) in cases {
        let r = h.send("PUT", path, Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.json());
        assert!(
            r.json()["message"].as_str().unwrap().contains(message),
            "{}",
            r.json()
        );
    }
    // Outside the request contract: validate what was sent so far first.
    h.validate_now();
    let r = h
        .send("PUT", path, Some(json!({"content": b64("x")})))
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("\"message\" wasn't supplied")
    );
    h.sim.clear_requests();
    let before = h
        .sim
        .state()
        .repo("acme/copilot-seats")
        .unwrap()
        .commits
        .len();
    h.sim
        .with_state(|s| s.repo_mut("acme/copilot-seats").unwrap().writable = false);
    let r = h.send("PUT", path, Some(put(Some(&current)))).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        h.get("/repos/acme/copilot-seats").await.json()["permissions"]["push"],
        false
    );
    assert_eq!(
        h.sim
            .state()
            .repo("acme/copilot-seats")
            .unwrap()
            .commits
            .len(),
        before,
        "nothing committed"
    );
    h.finish().await;
}

#[tokio::test]
async fn git_refs_answer_304_to_their_etag_for_free() {
    let h = H::start(demo_state()).await;
    let r = h.get("/repos/acme/copilot-seats/git/ref/heads/main").await;
    let etag = r.header("etag").unwrap().to_string();
    h.validate_now();
    let t = format!("Bearer {}", h.sim.token());
    let used = h.sim.rate_limit().used;
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/git/ref/heads/main",
        &[("authorization", &t), ("if-none-match", &etag)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 304);
    assert_eq!(h.sim.rate_limit().used, used, "304 does not count");
    // A commit moves the ref: the old ETag no longer matches.
    h.sim
        .with_state(|s| s.put_file("acme/copilot-seats", "main", "seats.yaml", "org: acme\n"));
    let r = raw(
        h.sim.addr(),
        "GET",
        "/repos/acme/copilot-seats/git/ref/heads/main",
        &[("authorization", &t), ("if-none-match", &etag)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    h.sim.clear_requests();
    assert_eq!(
        h.get("/repos/acme/copilot-seats/git/ref/heads/nope")
            .await
            .status,
        404
    );
    assert_eq!(
        h.get("/repos/acme/nope/git/ref/heads/main").await.status,
        404
    );
    h.finish().await;
}

/// Requests a receiver got: lowercase headers and the body.
type Received = Arc<Mutex<Vec<(HashMap<String, String>, Vec<u8>)>>>;

/// A tiny webhook receiver: every request's headers and body, answered 202.
async fn receiver() -> (String, Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let log = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (headers, body) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (HashMap::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let headers: HashMap<String, String> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(": "))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                    .collect();
                let len: usize = headers["content-length"].parse().unwrap();
                if buf.len() >= end + 4 + len {
                    break (headers, buf[end + 4..end + 4 + len].to_vec());
                }
            };
            log.lock().unwrap().push((headers, body));
            let _ = s
                .write_all(
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (url, got)
}

#[tokio::test]
async fn branch_moves_deliver_signed_push_webhooks_valid_against_the_schema() {
    let (url, got) = receiver().await;
    let h = H::start(demo_state()).await;
    h.sim
        .set_webhook(Some(seatkeeper::simulator::WebhookTarget {
            url: url.clone(),
            secret: "It's a Secret to Everybody".into(),
        }));
    let path = "/repos/acme/copilot-seats/contents/seats.yaml";
    let sha = h.get(path).await.json()["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .send(
            "PUT",
            path,
            Some(json!({"message": "grant nadia", "content": b64("org: acme\nusers: [nadia]\n"), "sha": sha})),
        )
        .await;
    assert_eq!(r.status, 200);
    let commit = r.json()["commit"]["sha"].as_str().unwrap().to_string();
    // A second move, through the state: delivered after the first.
    h.sim
        .with_state(|s| s.put_file("acme/copilot-seats", "main", "README.md", "hi\n"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "two pushes delivered");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openapi/webhooks.events.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schema =
        &doc["webhooks"]["push"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let mut guids = BTreeSet::new();
    for (headers, body) in &got {
        let payload: Value = serde_json::from_slice(body).unwrap();
        contract().check("push webhook", schema, &payload, "push payload");
        assert_eq!(headers["x-github-event"], "push");
        assert!(headers["user-agent"].starts_with("GitHub-Hookshot/"));
        let guid = &headers["x-github-delivery"];
        assert_eq!(
            guid.split('-').map(str::len).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        guids.insert(guid.clone());
        // Verified the way the controller verifies it.
        assert!(seatkeeper::daemon::signature_valid(
            b"It's a Secret to Everybody",
            Some(&headers["x-hub-signature-256"]),
            body
        ));
        assert!(!seatkeeper::daemon::signature_valid(
            b"wrong",
            Some(&headers["x-hub-signature-256"]),
            body
        ));
    }
    assert_eq!(guids.len(), 2, "a fresh GUID per delivery");
    let first: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(first["ref"], "refs/heads/main");
    assert_eq!(first["after"], commit.as_str());
    assert_eq!(first["repository"]["full_name"], "acme/copilot-seats");
    assert_eq!(first["head_commit"]["message"], "grant nadia");
    assert_eq!(first["head_commit"]["modified"], json!(["seats.yaml"]));
    let second: Value = serde_json::from_slice(&got[1].1).unwrap();
    assert_eq!(second["before"], commit.as_str());
    assert_eq!(second["head_commit"]["added"], json!(["README.md"]));
    let log = h.sim.deliveries();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d.status == Some(202) && d.url == url));
    h.finish().await;
}
