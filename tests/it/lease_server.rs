//! A Kubernetes Lease API (`coordination.k8s.io/v1`) for tests, written from
//! the Kubernetes API reference and API conventions, sharing no code with
//! `src/`:
//!
//! - `GET /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}`: 200
//!   with the Lease, or 404 with a `Status` (reason `NotFound`);
//! - `POST .../namespaces/{ns}/leases`: 201 with the stored object (a new
//!   `metadata.resourceVersion`, `uid`, `creationTimestamp`), or 409 with a
//!   `Status` (reason `AlreadyExists`);
//! - `PUT .../leases/{name}`: replace; when the body's
//!   `metadata.resourceVersion` is not the stored one, 409 with a `Status`
//!   (reason `Conflict`, "the object has been modified; please apply your
//!   changes to the latest version and try again"). resourceVersions are
//!   opaque strings from one counter, as etcd's revision is.
//!
//! Every write is logged with the instant it took effect (same process as
//! the simulator, so the two logs compare). Faults: answer the next requests
//! with a status (`Status` body, reason from the code), be unreachable for a
//! while (connections are closed without an answer), or have an outside
//! writer change the object (so the holder's next replace meets a real 409).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const PREFIX: &str = "/apis/coordination.k8s.io/v1/namespaces/";

/// One write that took effect.
#[derive(Debug, Clone)]
pub struct LeaseWrite {
    /// When it took effect.
    pub at: Instant,
    /// `spec.holderIdentity` after it ("" when released).
    pub holder: String,
    /// The apply generation annotation after it.
    pub generation: u64,
    /// `spec.acquireTime` after it: a new value is a new leadership term.
    pub acquire_time: String,
    /// `POST`, `PUT`, or `outside` (a write by the test itself).
    pub how: &'static str,
}

#[derive(Default)]
struct State {
    /// (namespace, name) -> object.
    objects: BTreeMap<(String, String), Value>,
    revision: u64,
    log: Vec<LeaseWrite>,
    /// Answer the next N requests with this status.
    fail: Option<(u16, usize)>,
    down_until: Option<Instant>,
    /// Fault kind -> how many times it fired.
    fired: BTreeMap<&'static str, usize>,
}

/// A running Lease API on 127.0.0.1.
pub struct LeaseServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LeaseServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn status_body(code: u16, reason: &str, message: String, name: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {"name": name, "group": "coordination.k8s.io", "kind": "leases"},
        "code": code,
    })
}

fn answer(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn holder_of(v: &Value) -> String {
    v["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn generation_of(v: &Value) -> u64 {
    v["metadata"]["annotations"]["seatkeeper.dev/apply-generation"]
        .as_str()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0)
}

impl State {
    fn store(&mut self, key: (String, String), mut obj: Value, how: &'static str) -> Value {
        self.revision += 1;
        obj["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        self.log.push(LeaseWrite {
            at: Instant::now(),
            holder: holder_of(&obj),
            generation: generation_of(&obj),
            acquire_time: obj["spec"]["acquireTime"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            how,
        });
        self.objects.insert(key, obj.clone());
        obj
    }
}

impl LeaseServer {
    pub async fn start() -> LeaseServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let st = st.clone();
                {
                    let mut s = st.lock().unwrap();
                    if s.down_until.is_some_and(|t| Instant::now() < t) {
                        // Unreachable: the connection closes unanswered.
                        *s.fired.entry("unreachable").or_default() += 1;
                        drop(stream);
                        continue;
                    }
                }
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(handle(req, &st).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LeaseServer { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer the next `count` requests with `status` (a `Status` body).
    pub fn fail_next(&self, status: u16, count: usize) {
        self.state.lock().unwrap().fail = Some((status, count));
    }

    /// Close every connection unanswered for `period`.
    pub fn go_down(&self, period: Duration) {
        self.state.lock().unwrap().down_until = Some(Instant::now() + period);
    }

    /// Change the stored Lease from outside (as `kubectl` would), so its
    /// holder's next conditional replace answers 409.
    pub fn touch(&self, ns: &str, name: &str) {
        let mut s = self.state.lock().unwrap();
        let key = (ns.to_string(), name.to_string());
        let mut obj = s.objects.get(&key).cloned().expect("a Lease to touch");
        obj["metadata"]["annotations"]["example.com/touched"] = json!(s.revision.to_string());
        s.store(key, obj, "outside");
        *s.fired.entry("conflict_made").or_default() += 1;
    }

    /// Write the Lease as another replica would (a replica played by the
    /// test: no seatkeeper process behind it).
    pub fn write_as(&self, ns: &str, name: &str, spec: Value) {
        let mut s = self.state.lock().unwrap();
        let key = (ns.to_string(), name.to_string());
        let mut obj = s.objects.get(&key).cloned().unwrap_or_else(|| {
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": name, "namespace": ns}})
        });
        obj["spec"] = spec;
        s.store(key, obj, "outside");
    }

    pub fn lease(&self, ns: &str, name: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.objects.get(&(ns.to_string(), name.to_string())).cloned()
    }

    pub fn writes(&self) -> Vec<LeaseWrite> {
        self.state.lock().unwrap().log.clone()
    }

    /// How often a fault kind fired (`409`, `503`, `unreachable`, ...).
    pub fn fired(&self, kind: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.fired.get(kind).copied().unwrap_or(0)
    }
}

fn code_name(code: u16) -> &'static str {
    match code {
        409 => "409",
        500 => "500",
        503 => "503",
        504 => "504",
        _ => "other",
    }
}

async fn handle(req: Request<hyper::body::Incoming>, st: &Mutex<State>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let mut s = st.lock().unwrap();
    if let Some((code, left)) = s.fail {
        s.fail = (left > 1).then_some((code, left - 1));
        *s.fired.entry(code_name(code)).or_default() += 1;
        let reason = match code {
            409 => "Conflict",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "Unknown",
        };
        return answer(
            code,
            &status_body(code, reason, format!("injected {code}"), ""),
        );
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return answer(
            404,
            &status_body(
                404,
                "NotFound",
                "the server could not find the requested resource".into(),
                "",
            ),
        );
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (ns, name) = match parts.as_slice() {
        [ns, "leases"] => (ns.to_string(), None),
        [ns, "leases", name] => (ns.to_string(), Some(name.to_string())),
        _ => {
            return answer(
                404,
                &status_body(
                    404,
                    "NotFound",
                    "the server could not find the requested resource".into(),
                    "",
                ),
            );
        }
    };
    let not_found = |name: &str| {
        answer(
            404,
            &status_body(
                404,
                "NotFound",
                format!("leases.coordination.k8s.io \"{name}\" not found"),
                name,
            ),
        )
    };
    let parsed = body
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    match (method.as_str(), name) {
        ("GET", Some(name)) => match s.objects.get(&(ns, name.clone())) {
            Some(obj) => answer(200, obj),
            None => not_found(&name),
        },
        ("POST", None) => {
            let Some(mut obj) = parsed else {
                return answer(
                    400,
                    &status_body(400, "BadRequest", "the body is not a Lease".into(), ""),
                );
            };
            let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
                return answer(
                    422,
                    &status_body(422, "Invalid", "metadata.name: Required value".into(), ""),
                );
            };
            // A create carries no resourceVersion (the API server refuses one).
            if obj["metadata"].get("resourceVersion").is_some() {
                return answer(
                    500,
                    &status_body(
                        500,
                        "InternalError",
                        "resourceVersion should not be set on objects to be created".into(),
                        &name,
                    ),
                );
            }
            let key = (ns.clone(), name.clone());
            if s.objects.contains_key(&key) {
                return answer(
                    409,
                    &status_body(
                        409,
                        "AlreadyExists",
                        format!("leases.coordination.k8s.io \"{name}\" already exists"),
                        &name,
                    ),
                );
            }
            obj["metadata"]["namespace"] = json!(ns);
            obj["metadata"]["uid"] = json!(format!("uid-{}", s.revision + 1));
            obj["metadata"]["creationTimestamp"] = json!("2026-12-05T00:00:00Z");
            let stored = s.store(key, obj, "POST");
            answer(201, &stored)
        }
        ("PUT", Some(name)) => {
            let key = (ns.clone(), name.clone());
            let Some(current) = s.objects.get(&key).cloned() else {
                return not_found(&name);
            };
            let Some(mut obj) = parsed else {
                return answer(
                    400,
                    &status_body(400, "BadRequest", "the body is not a Lease".into(), &name),
                );
            };
            let sent = obj["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
            let stored_rv = current["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("");
            if sent.as_deref().is_some_and(|rv| rv != stored_rv) {
                *s.fired.entry("conflict").or_default() += 1;
                return answer(
                    409,
                    &status_body(
                        409,
                        "Conflict",
                        format!(
                            "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                        ),
                        &name,
                    ),
                );
            }
            // Server-owned metadata stays the server's.
            for k in ["uid", "creationTimestamp", "namespace", "name"] {
                obj["metadata"][k] = current["metadata"][k].clone();
            }
            let stored = s.store(key, obj, "PUT");
            answer(200, &stored)
        }
        _ => answer(
            405,
            &status_body(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource".to_string(),
                "",
            ),
        ),
    }
}
