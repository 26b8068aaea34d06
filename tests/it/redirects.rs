//! Issue 18 item 7: redirects. GitHub answers a renamed repository with
//! `301` (GET) or `307` (other methods) and a `Location` on the same API
//! host (github-observed: "renamed or transferred repository"); the client
//! follows those, for the repository API (Contents reads and writes) and
//! for listing pages. A redirect to any other origin never gets the token:
//! the client does not follow it and says why.
//!
//! Two fixture servers on 127.0.0.1, written here from the docs (no code
//! shared with the simulator): `api` is the API root the client is given,
//! `other` a second origin (another port is another origin). Every request
//! each receives is recorded with its `Authorization` header.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::{Value, json};

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep};
use seatkeeper::github::repo::{FileWrite, RepoApi, RepoRef, Written};
use seatkeeper::github::{GitHubError, Scope, SeatApi};

const TOKEN: &str = "ghp_redirect_test_token";

/// One request a fixture received: `METHOD /path?query`, its
/// `Authorization` header.
type Seen = (String, Option<String>);

/// What a fixture answers: status, `Location` (if any), JSON body.
type Answer = (u16, Option<String>, Value);

type Handler = Arc<dyn Fn(&str, &str, Option<&Value>) -> Answer + Send + Sync>;

struct Fixture {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fixture {
    async fn start(handler: Handler) -> Fixture {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                        async move {
                            let method = req.method().to_string();
                            let target = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.as_str().to_string())
                                .unwrap_or_default();
                            let auth = req
                                .headers()
                                .get(http::header::AUTHORIZATION)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            log.lock()
                                .unwrap()
                                .push((format!("{method} {target}"), auth));
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            let body: Option<Value> = serde_json::from_slice(&bytes).ok();
                            let (status, location, answer) =
                                handler(&method, &target, body.as_ref());
                            let mut resp = Response::builder()
                                .status(status)
                                .header("content-type", "application/json");
                            if let Some(l) = location {
                                resp = resp.header(http::header::LOCATION, l);
                            }
                            Ok::<_, Infallible>(
                                resp.body(Full::new(Bytes::from(answer.to_string())))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Fixture { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn client(api: &Fixture) -> GitHubClient {
    let instant: RetrySleep = Arc::new(|_| Box::pin(async {}));
    let mut config =
        ClientConfig::new(Auth::Token(SecretString::from(TOKEN))).with_base_url(api.url());
    config.retry_sleep = Some(instant);
    config.throttle.points_per_window = None;
    config.throttle.write_interval = None;
    GitHubClient::new(config).await.unwrap()
}

fn repo() -> RepoRef {
    "old-owner/old-name".parse().unwrap()
}

/// A Contents API file (GET `/repos/{owner}/{repo}/contents/{path}`).
fn file_json(text: &str) -> Value {
    use base64::Engine as _;
    json!({
        "type": "file",
        "encoding": "base64",
        "name": "seats.yaml",
        "path": "seats.yaml",
        "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
        "content": base64::engine::general_purpose::STANDARD.encode(text),
    })
}

/// The renamed repository: the old path answers 301 (GET) or 307 (PUT)
/// with the new location on `host`; the new path serves the file.
fn renamed(host: String) -> Handler {
    Arc::new(move |method, target, body| {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let moved = |status| {
            let q = if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            };
            (
                status,
                Some(format!("{host}/repositories/42/contents/seats.yaml{q}")),
                json!({"message": "Moved Permanently", "url": format!("{host}/repositories/42/contents/seats.yaml"), "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"}),
            )
        };
        match (method, path) {
            ("GET", "/repos/old-owner/old-name/contents/seats.yaml") => moved(301),
            ("PUT", "/repos/old-owner/old-name/contents/seats.yaml") => moved(307),
            ("GET", "/repositories/42/contents/seats.yaml") => {
                (200, None, file_json("org: acme\nusers: [alice]\n"))
            }
            ("PUT", "/repositories/42/contents/seats.yaml") => {
                let ok = body.is_some_and(|b| b["message"] == "add bob" && b["branch"] == "main");
                if ok {
                    (
                        200,
                        None,
                        json!({"content": {"sha": "95b966ae1c166bd92f8ae7d1c313e738c731dfc3"}, "commit": {"sha": "7638417db6d59f3c431d3e1f261cc637155684cd", "html_url": "https://github.com/new/x/commit/7638417"}}),
                    )
                } else {
                    (422, None, json!({"message": "Invalid request."}))
                }
            }
            _ => (404, None, json!({"message": "Not Found"})),
        }
    })
}

/// A fixture whose handler is built from its own URL.
async fn self_aware(make: impl FnOnce(String) -> Handler) -> Fixture {
    let slot: Arc<Mutex<Option<Handler>>> = Arc::default();
    let s = Arc::clone(&slot);
    let fixture = Fixture::start(Arc::new(move |m: &str, t: &str, b: Option<&Value>| {
        let h = s.lock().unwrap().clone().expect("handler set");
        h(m, t, b)
    }))
    .await;
    *slot.lock().unwrap() = Some(make(fixture.url()));
    fixture
}

#[tokio::test(flavor = "multi_thread")]
async fn contents_reads_and_writes_follow_a_same_host_redirect() {
    let api = self_aware(renamed).await;
    let gh = client(&api).await;
    let file = gh
        .read_file(&repo(), "seats.yaml", "main")
        .await
        .unwrap()
        .expect("the file, at the repository's new home");
    assert_eq!(file.bytes, b"org: acme\nusers: [alice]\n");
    let written = gh
        .write_file(
            &repo(),
            &FileWrite {
                path: "seats.yaml",
                branch: "main",
                message: "add bob",
                content: b"org: acme\nusers: [alice, bob]\n",
                sha: Some(&file.sha),
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(&written, Written::Committed { commit, .. } if commit.starts_with("7638417")),
        "{written:?}"
    );
    let seen: Vec<String> = api.seen().into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        seen,
        [
            "GET /repos/old-owner/old-name/contents/seats.yaml?ref=main",
            "GET /repositories/42/contents/seats.yaml?ref=main",
            "PUT /repos/old-owner/old-name/contents/seats.yaml",
            "PUT /repositories/42/contents/seats.yaml",
        ]
    );
    // The same host gets the token on every hop.
    assert!(
        api.seen()
            .iter()
            .all(|(_, a)| a.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "{:?}",
        api.seen()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_page_follows_a_same_host_redirect() {
    // The org was renamed: its seat listing answers 301 to the org's id path.
    let api = self_aware(|host| {
        Arc::new(move |_method, target, _body| {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            match path {
                "/orgs/old-org/copilot/billing/seats" => (
                    301,
                    Some(format!("{host}/organizations/7/copilot/billing/seats?{query}")),
                    json!({"message": "Moved Permanently"}),
                ),
                "/organizations/7/copilot/billing/seats" => (
                    200,
                    None,
                    json!({"total_seats": 1, "seats": [{
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                        "pending_cancellation_date": null,
                        "last_activity_at": null,
                        "last_activity_editor": null,
                        "plan_type": "business",
                        "assignee": {"login": "alice", "id": 1, "type": "User"}
                    }]}),
                ),
                "/orgs/old-org/copilot/billing" => (
                    200,
                    None,
                    json!({"seat_breakdown": {"total": 1, "added_this_cycle": 0, "pending_invitation": 0, "pending_cancellation": 0, "active_this_cycle": 1, "inactive_this_cycle": 0}, "seat_management_setting": "assign_selected", "public_code_suggestions": "block"}),
                ),
                _ => (404, None, json!({"message": "Not Found"})),
            }
        })
    })
    .await;
    let gh = client(&api).await;
    let live = gh.list_seats(&Scope::Org("old-org".into())).await.unwrap();
    let logins: Vec<&str> = live.users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["alice"]);
    assert!(
        api.seen()
            .iter()
            .any(|(l, _)| l.starts_with("GET /organizations/7/copilot/billing/seats?")),
        "{:?}",
        api.seen()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_host_never_gets_the_token() {
    // `other` would serve the file; the client must never ask it.
    let other = Fixture::start(Arc::new(|_, _, _| {
        (200, None, file_json("org: evil\nusers: [mallory]\n"))
    }))
    .await;
    let api = Fixture::start(renamed(other.url())).await;
    let gh = client(&api).await;
    let err = gh
        .read_file(&repo(), "seats.yaml", "main")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, GitHubError::Http { status: 301, .. }),
        "{err:?}"
    );
    assert!(text.contains("to another host"), "{text}");
    assert!(text.contains(&other.url()), "{text}");
    assert!(text.contains("sends its token only to"), "{text}");
    // A write redirected with 307: the same.
    let err = gh
        .write_file(
            &repo(),
            &FileWrite {
                path: "seats.yaml",
                branch: "main",
                message: "add bob",
                content: b"x",
                sha: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, GitHubError::Http { status: 307, .. }),
        "{err:?}"
    );
    assert!(
        other.seen().iter().all(|(_, auth)| auth.is_none()),
        "the token reached the other host: {:?}",
        other.seen()
    );
    assert!(other.seen().is_empty(), "{:?}", other.seen());
    // The API host itself did get the token: the check above is not vacuous.
    assert!(api.seen().iter().all(|(_, a)| a.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_ends() {
    let api = self_aware(|host| {
        Arc::new(move |_m, target, _b| {
            let next = if target.starts_with("/a") { "/b" } else { "/a" };
            (
                301,
                Some(format!("{host}{next}/contents/seats.yaml?ref=main")),
                json!({"message": "Moved Permanently"}),
            )
        })
    })
    .await;
    let gh = client(&api).await;
    let err = gh
        .read_file(&repo(), "seats.yaml", "main")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redirect loop"), "{err}");
    // The request and five hops; the sixth is refused.
    assert_eq!(api.seen().len(), 1 + 5, "{:?}", api.seen());
}
