//! The controller (`seatkeeper run`) as a real process against the
//! simulator: start-up convergence, schedule, metrics, health, webhook,
//! dry-run, failing orgs, the github: source, and SIGTERM mid-apply.
//!
//! Every test starts its own simulator and daemon (on port 0; the daemon
//! logs the address it bound) and bounds every wait, so a hang fails in
//! seconds with the daemon's log attached.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::Sha256;

use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SimOptions, SimScope, SimState, Simulator, routes,
};
use seatkeeper::source::git_blob_sha;

/// Longest wait for anything the daemon should do within a tick or two.
const WAIT: Duration = Duration::from_secs(20);
/// A token distinctive enough to grep for: it must never be logged or served.
const TOKEN: &str = "ghp_daemonTestSecretToken0123456789";

// ---------------------------------------------------------------------------
// Harness

fn sim_options() -> SimOptions {
    SimOptions {
        token: TOKEN.to_string(),
        ..SimOptions::default()
    }
}

/// Org `acme` with these members, `seated` holding direct seats.
fn org_state(members: &[&str], seated: &[&str]) -> SimState {
    let mut st = SimState::new("acme");
    st.members = members.iter().map(|m| m.to_string()).collect();
    st.normalize(Utc::now());
    let seated: Vec<String> = seated.iter().map(|s| s.to_string()).collect();
    st.add_users(SimScope::Org, &seated, Utc::now()).unwrap();
    st
}

const MEMBERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// Logins holding a seat that is not pending cancellation, lowercase.
fn held(sim: &Simulator) -> BTreeSet<String> {
    sim.state()
        .seats
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.login.to_ascii_lowercase())
        .collect()
}

fn set(logins: &[&str]) -> BTreeSet<String> {
    logins.iter().map(|s| s.to_string()).collect()
}

fn seats_yaml(org: &str, users: &[&str]) -> String {
    let mut y = format!("org: {org}\nusers:\n");
    for u in users {
        y.push_str(&format!("  - {u}\n"));
    }
    y
}

/// Replace a file atomically, as a ConfigMap update or git-sync does, so the
/// daemon never reads half a file.
fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Seat writes the simulator received.
fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" || r.method == "DELETE")
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.body))
        .collect()
}

struct Daemon {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// `seatkeeper run` against `sim` with `args` (plus --github-url,
    /// --listen 127.0.0.1:0 and JSON logs); waits until it listens.
    fn start(sim: &Simulator, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seatkeeper"));
        cmd.arg("run")
            .args(["--log-format", "json"])
            .args(["--github-url", &sim.url(), "--listen", "127.0.0.1:0"])
            // These orgs are tiny: lift the default 25 % removal cap.
            .args(["--max-removals", "100%"])
            // These tests read /status's details; tests/it/edges.rs checks
            // that they need a token otherwise.
            .arg("--status-public")
            .args(args)
            .env("GITHUB_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .env_remove("GITHUB_API_URL")
            .env_remove("SEATKEEPER_TOKEN_FILE")
            .env_remove("GITHUB_APP_ID")
            .env_remove("SEATKEEPER_WEBHOOK_SECRET")
            .env_remove("SEATKEEPER_WEBHOOK_SECRET_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start seatkeeper run");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        loop {
            let listen = log.lock().unwrap().iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["message"] == "seatkeeper controller starting")
                    .then(|| v["listen"].as_str().unwrap().parse().unwrap())
            });
            if let Some(addr) = listen {
                return Daemon { child, addr, log };
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "seatkeeper run exited with {status} before listening:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "seatkeeper run did not start within {WAIT:?}:\n{}",
                log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Log lines that are JSON events with `event == name`.
    fn events(&self, name: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == name)
            .collect()
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Wait for the process to exit, at most `limit`.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "seatkeeper run did not exit within {limit:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], Vec::new()).await
    }

    async fn metrics(&self) -> Metrics {
        let r = self.get("/metrics").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        Metrics::parse(&r.body)
    }

    async fn status(&self) -> Value {
        let r = self.get("/status").await;
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// Poll `f` every 100 ms until it returns `Some`, for at most [`WAIT`].
    async fn wait_for<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {WAIT:?} waiting for {what}; daemon log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Response {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// One HTTP/1.1 request on a fresh connection.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Response {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A scraped OpenMetrics exposition.
#[derive(Debug)]
struct Metrics {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
    types: BTreeMap<String, String>,
}

impl Metrics {
    /// A small OpenMetrics text parser: `# TYPE`/`# HELP`/`# UNIT` lines,
    /// samples `name{k="v",...} value`, and the mandatory `# EOF`.
    fn parse(text: &str) -> Metrics {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last(), Some(&"# EOF"), "no # EOF:\n{text}");
        for line in &lines[..lines.len() - 1] {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kind, name, value) = (parts.next(), parts.next(), parts.next());
                assert!(
                    matches!(kind, Some("TYPE" | "HELP" | "UNIT")) && name.is_some(),
                    "bad metadata line {line:?}"
                );
                if kind == Some("TYPE") {
                    types.insert(name.unwrap().to_string(), value.unwrap().to_string());
                }
                continue;
            }
            let name_end = line.find(['{', ' ']).expect(line);
            let name = &line[..name_end];
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "bad metric name in {line:?}"
            );
            let mut labels = BTreeMap::new();
            let mut rest = &line[name_end..];
            if let Some(r) = rest.strip_prefix('{') {
                let mut chars = r.char_indices().peekable();
                let mut end = None;
                loop {
                    // key
                    let mut key = String::new();
                    for (i, c) in chars.by_ref() {
                        if c == '=' {
                            break;
                        }
                        if c == '}' {
                            end = Some(i);
                            break;
                        }
                        if c != ',' {
                            key.push(c);
                        }
                    }
                    if end.is_some() {
                        break;
                    }
                    assert_eq!(chars.next().map(|c| c.1), Some('"'), "{line}");
                    let mut value = String::new();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => match chars.next().map(|c| c.1) {
                                Some('n') => value.push('\n'),
                                Some(other) => value.push(other),
                                None => panic!("{line}"),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.insert(key, value);
                    match chars.peek() {
                        Some((i, '}')) => {
                            end = Some(*i);
                            break;
                        }
                        Some((_, ',')) => {
                            chars.next();
                        }
                        other => panic!("unexpected {other:?} in {line}"),
                    }
                }
                rest = &r[end.expect(line) + 1..];
            }
            let value = rest.split_whitespace().next().expect(line);
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            samples.push((name.to_string(), labels, value));
        }
        Metrics { samples, types }
    }

    /// The sample `name` whose labels include all of `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.2)
    }

    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.2)
            .sum()
    }

    fn has_label_key(&self, key: &str) -> bool {
        self.samples.iter().any(|(_, l, _)| l.contains_key(key))
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    write_atomic(&p, text);
    p
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_at_start_follows_edits_and_exports_metrics() {
    let sim = Simulator::start(org_state(&MEMBERS, &["alice", "carol"]), sim_options())
        .await
        .unwrap();
    let dir = tempdir();
    let text = seats_yaml("acme", &["alice", "bob", "dave"]);
    let seats = file(&dir, "seats.yaml", &text);
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            seats.to_str().unwrap(),
            "--schedule",
            "*/1 * * * * *",
        ],
        &[],
    );

    // The start-up reconcile converges.
    d.wait_for("start-up convergence", || async {
        (held(&sim) == set(&["alice", "bob", "dave"])).then_some(())
    })
    .await;

    // A later tick sees no drift; the metrics say so.
    let m = d
        .wait_for("a converged scrape", || async {
            let m = d.metrics().await;
            let converged = m.get("seatkeeper_drift", &[("org", "acme"), ("action", "add")])
                == Some(0.0)
                && m.get("seatkeeper_drift", &[("org", "acme"), ("action", "remove")]) == Some(0.0)
                && m.get("seatkeeper_seats", &[("org", "acme"), ("state", "active")]) == Some(3.0);
            converged.then_some(m)
        })
        .await;
    let acme = |extra: &[(&'static str, &'static str)]| {
        let mut l = vec![("org", "acme")];
        l.extend_from_slice(extra);
        l
    };
    assert_eq!(
        m.get(
            "seatkeeper_seats",
            &acme(&[("state", "pending_cancellation")])
        ),
        Some(1.0),
        "carol's removed seat is pending cancellation"
    );
    assert_eq!(m.get("seatkeeper_desired_seats", &acme(&[])), Some(3.0));
    // Billed this cycle: alice, bob and dave, and carol until the cycle ends.
    assert_eq!(m.get("seatkeeper_billed_seats", &acme(&[])), Some(4.0));
    assert_eq!(
        m.get("seatkeeper_desired_state_valid", &acme(&[])),
        Some(1.0)
    );
    assert_eq!(m.get("seatkeeper_inactive_seats", &acme(&[])), Some(0.0));
    for (action, result, want) in [
        ("add_user", "ok", 2.0),
        ("remove_user", "ok", 1.0),
        ("add_user", "failed", 0.0),
        ("add_team", "ok", 0.0),
    ] {
        assert_eq!(
            m.get(
                "seatkeeper_changes_total",
                &acme(&[("action", action), ("result", result)])
            ),
            Some(want),
            "changes_total {action} {result}"
        );
    }
    assert!(
        m.get(
            "seatkeeper_reconcile_total",
            &acme(&[("result", "success")])
        ) >= Some(2.0)
    );
    assert_eq!(
        m.get("seatkeeper_reconcile_total", &acme(&[("result", "error")])),
        None
    );
    assert!(m.get("seatkeeper_reconcile_duration_seconds_count", &acme(&[])) >= Some(2.0));
    assert_eq!(
        m.get(
            "seatkeeper_reconcile_duration_seconds_bucket",
            &acme(&[("le", "+Inf")])
        ),
        m.get("seatkeeper_reconcile_duration_seconds_count", &acme(&[]))
    );
    let now = Utc::now().timestamp() as f64;
    let last = m
        .get("seatkeeper_last_success_timestamp_seconds", &acme(&[]))
        .unwrap();
    assert!((now - 60.0..=now + 1.0).contains(&last), "{last} vs {now}");
    assert_eq!(
        m.get(
            "seatkeeper_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.sum(
            "seatkeeper_github_requests_total",
            &[("method", "POST"), ("route", routes::ORG_SELECTED_USERS)]
        ),
        1.0,
        "bob and dave in one batch"
    );
    assert!(
        m.sum(
            "seatkeeper_github_requests_total",
            &[
                ("method", "GET"),
                ("route", routes::ORG_SEATS),
                ("status", "200")
            ]
        ) >= 2.0
    );
    assert!(
        m.get("seatkeeper_github_rate_limit_remaining", &[])
            .unwrap()
            > 0.0
    );
    for (name, kind) in [
        ("seatkeeper_reconcile", "counter"),
        ("seatkeeper_reconcile_duration_seconds", "histogram"),
        ("seatkeeper_seats", "gauge"),
        ("seatkeeper_changes", "counter"),
        ("seatkeeper_github_requests", "counter"),
        ("seatkeeper_build", "info"),
    ] {
        assert_eq!(m.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert!(!m.has_label_key("login") && !m.has_label_key("team"));

    // Health, readiness, status.
    assert_eq!(d.get("/healthz").await.status, 200);
    let ready = d.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let st = d.status().await;
    let org = &st["orgs"][0];
    assert_eq!(org["org"], "acme");
    assert_eq!(org["last_result"], "success");
    assert_eq!(org["source_sha"], git_blob_sha(text.as_bytes()));
    assert!(
        org["last_summary"]
            .as_str()
            .unwrap()
            .starts_with("No changes. Seats: 3"),
        "{org}"
    );
    assert!(org["next_run"].is_string(), "{st}");

    // The audit trail: one event per change with the file's SHA, one per reconcile.
    let sha = git_blob_sha(text.as_bytes());
    let changes = d.events("seat_change");
    let bob = changes
        .iter()
        .find(|e| e["login"] == "bob")
        .unwrap_or_else(|| panic!("no seat_change for bob:\n{}", d.log_text()));
    assert_eq!(bob["action"], "add_user");
    assert_eq!(bob["result"], "ok");
    assert_eq!(bob["source_sha"], sha.as_str());
    let applied = d
        .events("reconcile")
        .into_iter()
        .find(|e| e["status"] == "applied")
        .expect("a reconcile summary event");
    assert_eq!(applied["org"], "acme");
    assert_eq!(applied["adds"], 2);
    assert_eq!(applied["removes"], 1);
    assert_eq!(applied["seats_before"], 2);
    assert_eq!(applied["seats_after"], 3);
    assert_eq!(applied["source_sha"], sha.as_str());
    assert!(applied["duration_ms"].is_u64());

    // An edit is applied on the next tick.
    write_atomic(&seats, &seats_yaml("acme", &["alice", "bob", "erin"]));
    d.wait_for("the edit to be applied", || async {
        (held(&sim) == set(&["alice", "bob", "erin"])).then_some(())
    })
    .await;

    // The token is never logged or served.
    let served = format!(
        "{}{}",
        d.get("/metrics").await.body,
        d.get("/status").await.body
    );
    assert!(!served.contains(TOKEN) && !d.log_text().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_file_means_not_ready_and_no_writes_until_fixed() {
    let sim = Simulator::start(org_state(&MEMBERS, &["alice"]), sim_options())
        .await
        .unwrap();
    let dir = tempdir();
    let good = seats_yaml("acme", &["alice"]);
    let seats = file(&dir, "seats.yaml", &good);
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            seats.to_str().unwrap(),
            "--schedule",
            "*/1 * * * * *",
        ],
        &[],
    );
    d.wait_for("ready", || async {
        (d.get("/readyz").await.status == 200).then_some(())
    })
    .await;

    // Line 4, column 5: an invalid login. Then drift a reconcile would fix.
    write_atomic(&seats, "org: acme\nusers:\n  - alice\n  - bad--login\n");
    let body = d
        .wait_for("readyz 503", || async {
            let r = d.get("/readyz").await;
            (r.status == 503).then_some(r.body)
        })
        .await;
    assert!(
        body.contains("acme") && body.contains("seats.yaml:4:5"),
        "{body}"
    );
    sim.clear_requests();
    sim.with_state(|s| {
        s.add_users(SimScope::Org, &["carol".to_string()], Utc::now())
            .unwrap()
    });
    let errors_now = d
        .metrics()
        .await
        .get(
            "seatkeeper_reconcile_total",
            &[("org", "acme"), ("result", "error")],
        )
        .unwrap();
    let m = d
        .wait_for("two more failed reconciles", || async {
            let m = d.metrics().await;
            (m.get(
                "seatkeeper_reconcile_total",
                &[("org", "acme"), ("result", "error")],
            ) >= Some(errors_now + 2.0))
            .then_some(m)
        })
        .await;
    assert_eq!(
        m.get("seatkeeper_desired_state_valid", &[("org", "acme")]),
        Some(0.0)
    );
    assert_eq!(writes(&sim), Vec::<String>::new(), "no writes while broken");
    assert!(held(&sim).contains("carol"));
    let st = d.status().await;
    assert_eq!(st["orgs"][0]["last_status"], "invalid_source");
    assert!(
        st["orgs"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("seats.yaml:4:5"),
        "{st}"
    );
    let logged = d.events("reconcile").into_iter().any(|e| {
        e["error"]
            .as_str()
            .is_some_and(|e| e.contains("seats.yaml:4:5"))
    });
    assert!(logged, "error with file:line:col logged:\n{}", d.log_text());

    // Fixed: ready again, and the drift is reconciled.
    write_atomic(&seats, &good);
    d.wait_for("ready again and carol removed", || async {
        (d.get("/readyz").await.status == 200 && held(&sim) == set(&["alice"])).then_some(())
    })
    .await;
    assert_eq!(
        d.metrics()
            .await
            .get("seatkeeper_desired_state_valid", &[("org", "acme")]),
        Some(1.0)
    );
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_verifies_signatures_and_push_triggers_a_reconcile() {
    const SECRET: &str = "webhook-s3cret";
    let sim = Simulator::start(org_state(&MEMBERS, &["alice"]), sim_options())
        .await
        .unwrap();
    let dir = tempdir();
    let seats = file(&dir, "seats.yaml", &seats_yaml("acme", &["alice"]));
    // Written with a trailing newline, as `echo` would.
    let secret_file = file(&dir, "secret", &format!("{SECRET}\n"));
    // Once a year: only start-up and the webhook reconcile.
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            seats.to_str().unwrap(),
            "--schedule",
            "0 0 0 1 1 *",
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
        ],
        &[],
    );
    d.wait_for("the start-up reconcile", || async {
        (d.get("/readyz").await.status == 200).then_some(())
    })
    .await;
    // Drift that only a reconcile would remove.
    sim.with_state(|s| {
        s.add_users(SimScope::Org, &["carol".to_string()], Utc::now())
            .unwrap()
    });

    let push = |branch: &str| {
        serde_json::json!({
            "ref": format!("refs/heads/{branch}"),
            "repository": { "full_name": "acme/copilot-seats" },
            "after": "0123456789abcdef0123456789abcdef01234567",
        })
        .to_string()
        .into_bytes()
    };
    let body = push("main");
    let good = sign(SECRET, &body);
    let post = |sig: Option<String>, event: &'static str, body: Vec<u8>| {
        let addr = d.addr;
        async move {
            let mut headers = vec![
                ("x-github-event", event),
                ("content-type", "application/json"),
                ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ];
            if let Some(s) = sig.as_deref() {
                headers.push(("x-hub-signature-256", s));
            }
            request(addr, "POST", "/webhook", &headers, body).await
        }
    };

    let truncated = good[..good.len() - 2].to_string();
    let wrong_secret = sign("not-the-secret", &body);
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("wrong secret", Some(wrong_secret)),
        ("malformed hex", Some(format!("sha256={}", "zz".repeat(32)))),
        (
            "no sha256= prefix",
            Some(good["sha256=".len()..].to_string()),
        ),
        ("sha1 only", Some(good.replacen("sha256=", "sha1=", 1))),
        ("truncated", Some(truncated)),
        ("empty", Some(String::new())),
    ];
    for (what, sig) in cases {
        let r = post(sig, "push", body.clone()).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
    }
    // A signature over another body does not carry over.
    let r = post(Some(good.clone()), "push", push("main2")).await;
    assert_eq!(r.status, 401, "{}", r.body);

    let big = vec![b' '; 1024 * 1024 + 1];
    let r = post(Some(sign(SECRET, &big)), "push", big).await;
    assert_eq!(r.status, 413, "{}", r.body);

    let ping = br#"{"zen":"Design for failure.","hook_id":1}"#.to_vec();
    let r = post(Some(sign(SECRET, &ping)), "ping", ping).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let other = push("feature");
    let r = post(Some(sign(SECRET, &other)), "push", other).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("ignored"), "{}", r.body);

    // Nothing above triggered a reconcile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = d.metrics().await;
    assert_eq!(
        m.get(
            "seatkeeper_reconcile_total",
            &[("org", "acme"), ("result", "success")]
        ),
        Some(1.0)
    );
    assert!(held(&sim).contains("carol"));

    let r = post(Some(good), "push", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.contains("acme"), "{}", r.body);
    d.wait_for("the webhook's reconcile to remove carol", || async {
        (held(&sim) == set(&["alice"])).then_some(())
    })
    .await;
    assert!(!d.log_text().contains(SECRET), "the secret was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_apply_exits_cleanly_and_next_start_converges() {
    let want = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let sim = Simulator::start(org_state(&MEMBERS, &[]), sim_options())
        .await
        .unwrap();
    // Each one-login batch takes 700 ms: the apply runs for seconds.
    sim.faults().script(ScriptedFault {
        route: format!("POST {}", routes::ORG_SELECTED_USERS),
        nth: 1,
        times: 1000,
        action: FaultAction::Latency(Duration::from_millis(700)),
    });
    let dir = tempdir();
    let seats = file(&dir, "seats.yaml", &seats_yaml("acme", &want));
    let args = [
        "--config",
        seats.to_str().unwrap(),
        "--schedule",
        "*/1 * * * * *",
        "--batch-size",
        "1",
        "--shutdown-timeout",
        "10",
    ];
    let mut d = Daemon::start(&sim, &args, &[]);
    d.wait_for("the first batch", || async {
        (!held(&sim).is_empty()).then_some(())
    })
    .await;
    let signalled = Instant::now();
    d.sigterm();
    let status = d.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}:\n{}", d.log_text());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    let after_stop = held(&sim);
    assert!(
        !after_stop.is_empty() && after_stop.len() < want.len(),
        "stopped between batches, got {after_stop:?}"
    );
    let summary = d
        .events("reconcile")
        .into_iter()
        .find(|e| e["status"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped reconcile:\n{}", d.log_text()));
    assert_eq!(summary["result"], "success");
    let skipped = d
        .events("seat_change")
        .into_iter()
        .filter(|e| e["result"] == "skipped")
        .count();
    assert_eq!(skipped, want.len() - after_stop.len(), "{}", d.log_text());

    // Nothing was sent after the process exited, and the next start finishes the job.
    let sent = writes(&sim).len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(writes(&sim).len(), sent);
    sim.faults().clear();
    let d2 = Daemon::start(&sim, &args, &[]);
    d2.wait_for("convergence after restart", || async {
        (held(&sim) == set(&want)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_exports_drift_but_never_writes() {
    let sim = Simulator::start(org_state(&MEMBERS, &["alice", "carol"]), sim_options())
        .await
        .unwrap();
    let dir = tempdir();
    let seats = file(
        &dir,
        "seats.yaml",
        &seats_yaml("acme", &["alice", "bob", "dave"]),
    );
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            seats.to_str().unwrap(),
            "--schedule",
            "*/1 * * * * *",
            "--dry-run",
        ],
        &[],
    );
    let m = d
        .wait_for("two dry-run reconciles", || async {
            let m = d.metrics().await;
            (m.get(
                "seatkeeper_reconcile_total",
                &[("org", "acme"), ("result", "success")],
            ) >= Some(2.0))
            .then_some(m)
        })
        .await;
    assert_eq!(
        m.get("seatkeeper_drift", &[("org", "acme"), ("action", "add")]),
        Some(2.0)
    );
    assert_eq!(
        m.get("seatkeeper_drift", &[("org", "acme"), ("action", "remove")]),
        Some(1.0)
    );
    assert_eq!(
        m.sum("seatkeeper_changes_total", &[("org", "acme")]),
        0.0,
        "nothing written"
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(held(&sim), set(&["alice", "carol"]));
    let st = d.status().await;
    assert_eq!(st["dry_run"], true);
    assert_eq!(st["orgs"][0]["last_status"], "planned");
    assert!(
        st["orgs"][0]["last_summary"]
            .as_str()
            .unwrap()
            .starts_with("Plan: 2 to add, 1 to remove"),
        "{st}"
    );
    // Who would gain or lose a seat: in /status and in the log.
    let planned: Vec<String> = st["orgs"][0]["last_planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        planned,
        vec!["add_user bob", "add_user dave", "remove_user carol"],
        "{st}"
    );
    assert_eq!(st["orgs"][0]["last_planned_total"], 3);
    let logged: BTreeSet<String> = d
        .events("planned_change")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        logged.contains("remove_user carol") && logged.contains("add_user bob"),
        "{logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_org_does_not_block_another() {
    let sim = Simulator::start(org_state(&MEMBERS, &["alice"]), sim_options())
        .await
        .unwrap();
    let dir = tempdir();
    // The simulator serves only acme: every request for ghost answers 404.
    let ghost = file(&dir, "ghost.yaml", &seats_yaml("ghost", &["alice"]));
    let acme = file(&dir, "acme.yaml", &seats_yaml("acme", &["alice", "bob"]));
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            ghost.to_str().unwrap(),
            "--config",
            acme.to_str().unwrap(),
            "--schedule",
            "*/1 * * * * *",
        ],
        &[],
    );
    d.wait_for("acme to converge", || async {
        (held(&sim) == set(&["alice", "bob"])).then_some(())
    })
    .await;
    let m = d
        .wait_for("both orgs reconciled twice", || async {
            let m = d.metrics().await;
            let ok = m.get(
                "seatkeeper_reconcile_total",
                &[("org", "ghost"), ("result", "error")],
            ) >= Some(2.0)
                && m.get(
                    "seatkeeper_reconcile_total",
                    &[("org", "acme"), ("result", "success")],
                ) >= Some(2.0);
            ok.then_some(m)
        })
        .await;
    assert_eq!(
        m.get("seatkeeper_desired_state_valid", &[("org", "ghost")]),
        Some(1.0),
        "ghost's file is valid; GitHub is what fails"
    );
    assert_eq!(
        m.get("seatkeeper_drift", &[("org", "acme"), ("action", "add")]),
        Some(0.0)
    );
    let st = d.status().await;
    let ghost = &st["orgs"][0];
    assert_eq!(ghost["org"], "ghost");
    assert_eq!(ghost["last_result"], "error");
    assert!(
        ghost["last_error"].as_str().unwrap().contains("404"),
        "{ghost}"
    );
    assert_eq!(st["orgs"][1]["last_result"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_source_is_read_with_etags() {
    let first = seats_yaml("acme", &["alice", "bob"]);
    let mut state = org_state(&MEMBERS, &["alice"]);
    state.put_file("acme/copilot-seats", "main", "config/seats.yaml", &first);
    let sim = Simulator::start(state, sim_options()).await.unwrap();
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            "github:acme/copilot-seats/config/seats.yaml@main",
            "--schedule",
            "*/1 * * * * *",
        ],
        &[],
    );
    d.wait_for("convergence from the repository file", || async {
        (held(&sim) == set(&["alice", "bob"])).then_some(())
    })
    .await;
    let sha = git_blob_sha(first.as_bytes());
    let contents = || {
        sim.requests()
            .into_iter()
            .filter(|r| r.route == routes::CONTENTS)
            .collect::<Vec<_>>()
    };
    d.wait_for("a 304", || async {
        contents().iter().any(|r| r.status == 304).then_some(())
    })
    .await;
    let reads = contents();
    assert_eq!(reads[0].status, 200);
    assert_eq!(reads[0].header("if-none-match"), None);
    assert_eq!(reads[0].query.as_deref(), Some("ref=main"));
    let conditional = reads.iter().find(|r| r.status == 304).unwrap();
    assert_eq!(
        conditional.header("if-none-match"),
        Some(format!("\"{sha}\"").as_str())
    );
    let st = d.status().await;
    assert_eq!(st["orgs"][0]["source_sha"], sha.as_str());
    assert_eq!(st["orgs"][0]["org"], "acme");
    let m = d.metrics().await;
    assert!(
        m.sum(
            "seatkeeper_github_requests_total",
            &[
                ("route", "/repos/{owner}/{repo}/contents/{path}"),
                ("status", "304")
            ]
        ) >= 1.0
    );

    // A new commit: read again (200) and applied.
    let second = seats_yaml("acme", &["alice", "bob", "grace"]);
    sim.with_state(|s| s.put_file("acme/copilot-seats", "main", "config/seats.yaml", &second));
    d.wait_for("the new file to be applied", || async {
        (held(&sim) == set(&["alice", "bob", "grace"])).then_some(())
    })
    .await;
    let st = d.status().await;
    assert_eq!(
        st["orgs"][0]["source_sha"],
        git_blob_sha(second.as_bytes()).as_str()
    );
    let changes = d.events("seat_change");
    let grace = changes.iter().find(|e| e["login"] == "grace").unwrap();
    assert_eq!(
        grace["source_sha"],
        git_blob_sha(second.as_bytes()).as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_during_a_run_coalesce_into_one_follow_up() {
    const SECRET: &str = "from-the-environment";
    let sim = Simulator::start(org_state(&MEMBERS, &["alice"]), sim_options())
        .await
        .unwrap();
    // The start-up reconcile's listing takes 1.5 s.
    sim.faults().script(ScriptedFault {
        route: format!("GET {}", routes::ORG_SEATS),
        nth: 1,
        times: 1,
        action: FaultAction::Latency(Duration::from_millis(1500)),
    });
    let dir = tempdir();
    let seats = file(&dir, "seats.yaml", &seats_yaml("acme", &["alice"]));
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            seats.to_str().unwrap(),
            "--schedule",
            "0 0 0 1 1 *",
        ],
        &[("SEATKEEPER_WEBHOOK_SECRET", SECRET)],
    );
    d.wait_for("the start-up reconcile to be running", || async {
        (d.status().await["orgs"][0]["running"] == true).then_some(())
    })
    .await;
    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"acme/seats"}}"#.to_vec();
    let sig = sign(SECRET, &body);
    for _ in 0..5 {
        let r = request(
            d.addr,
            "POST",
            "/webhook",
            &[("x-github-event", "push"), ("x-hub-signature-256", &sig)],
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let total = || async {
        d.metrics()
            .await
            .get(
                "seatkeeper_reconcile_total",
                &[("org", "acme"), ("result", "success")],
            )
            .unwrap_or(0.0)
    };
    d.wait_for("the follow-up run", || async {
        (total().await >= 2.0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        total().await,
        2.0,
        "five triggers during a run make one follow-up"
    );
    assert_eq!(d.status().await["orgs"][0]["running"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_interval_applies_a_commit_without_a_webhook_and_status_names_it() {
    let mut state = org_state(&MEMBERS, &["alice"]);
    state.put_file(
        "acme/copilot-seats",
        "main",
        "seats.yaml",
        &seats_yaml("acme", &["alice"]),
    );
    let sim = Simulator::start(state, sim_options()).await.unwrap();
    let d = Daemon::start(
        &sim,
        &[
            "--config",
            "github:acme/copilot-seats/seats.yaml@main",
            // No schedule to speak of: only the poll can apply the commit.
            "--schedule",
            "0 0 0 1 1 *",
            "--poll-interval",
            "1",
        ],
        &[],
    );
    d.wait_for("the start-up reconcile", || async {
        (d.status().await["orgs"][0]["runs"] == 1).then_some(())
    })
    .await;
    let first = sim.state().repo("acme/copilot-seats").unwrap().branches["main"].clone();
    assert_eq!(d.status().await["orgs"][0]["source_commit"], first.as_str());
    // While nothing moves, polls are conditional and answered 304.
    d.wait_for("two 304 polls", || async {
        let n = sim
            .requests()
            .iter()
            .filter(|r| r.route == routes::GIT_REF && r.status == 304)
            .count();
        (n >= 2).then_some(())
    })
    .await;
    let refs: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == routes::GIT_REF)
        .collect();
    assert!(
        refs.iter()
            .skip(1)
            .all(|r| r.header("if-none-match").is_some()),
        "{refs:?}"
    );
    let contents_before = sim
        .requests()
        .iter()
        .filter(|r| r.route == routes::CONTENTS)
        .count();
    assert_eq!(contents_before, 1, "an unchanged ref reads no file");

    // A commit (as `seatkeeper request` makes): granted within seconds.
    let started = Instant::now();
    let commit = sim.with_state(|s| {
        s.commit_file(
            "acme/copilot-seats",
            "main",
            "seats.yaml",
            &seats_yaml("acme", &["alice", "grace"]),
            "seats.yaml: grant a Copilot seat to grace",
            "grace",
        )
    });
    d.wait_for("grace's seat", || async {
        (held(&sim) == set(&["alice", "grace"])).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let st = d
        .wait_for("the status to show the change", || async {
            let st = d.status().await;
            (st["orgs"][0]["recent_changes"]
                .as_array()
                .is_some_and(|a| !a.is_empty()))
            .then_some(st)
        })
        .await;
    let org = &st["orgs"][0];
    assert_eq!(org["source_commit"], commit.as_str());
    let change = &org["recent_changes"][0];
    assert_eq!(change["action"], "add_user");
    assert_eq!(change["name"], "grace");
    assert_eq!(change["result"], "ok");
    assert_eq!(change["commit"], commit.as_str());
    // The file was read at that commit, not at the moving branch.
    let reads: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == routes::CONTENTS)
        .collect();
    assert_eq!(
        reads.last().unwrap().query.as_deref(),
        Some(format!("ref={commit}").as_str())
    );
    let recon = d.events("reconcile");
    assert!(
        recon.iter().any(|e| e["source_commit"] == commit.as_str()),
        "{recon:?}"
    );
}
