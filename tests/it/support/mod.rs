//! Shared harness of the tests that drive the real `seatkeeper` binary
//! against the in-process simulator (tests/it/http_server.rs, tests/it/kill.rs):
//! a child process with its JSON log captured, raw HTTP requests, a small
//! metrics reader, webhook signatures, the child's memory.
//!
//! Every wait is bounded; a hang fails with the child's log attached.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::Sha256;

use seatkeeper::simulator::{SimOptions, SimScope, SimState, Simulator};

/// Longest wait for anything that should happen within a second or two.
pub const WAIT: Duration = Duration::from_secs(20);
/// The token the simulator accepts.
pub const TOKEN: &str = "ghp_harnessSecretToken0123456789abcd";

pub fn sim_options() -> SimOptions {
    SimOptions {
        token: TOKEN.to_string(),
        ..SimOptions::default()
    }
}

/// Org `acme` with these members, `seated` holding direct seats.
pub fn org_state(members: &[String], seated: &[String]) -> SimState {
    let mut st = SimState::new("acme");
    st.members = members.to_vec();
    st.normalize(Utc::now());
    st.add_users(SimScope::Org, seated, Utc::now()).unwrap();
    st
}

/// A child's output as text, invalid UTF-8 replaced.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A command's JSON on stdout; on a parse failure, both streams.
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Logins holding a seat that is not pending cancellation, lowercase.
pub fn held(sim: &Simulator) -> BTreeSet<String> {
    sim.state()
        .seats
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.login.to_ascii_lowercase())
        .collect()
}

/// Replace a file atomically.
pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `sha256=HEX` of `body` under `secret`, as GitHub signs a delivery.
pub fn sign(secret: &str, body: &[u8]) -> String {
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

/// A `seatkeeper` child process with its stderr (JSON log lines) captured.
pub struct Proc {
    pub child: Child,
    pub log: Arc<Mutex<Vec<String>>>,
    pub stdout: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Proc {
    /// `seatkeeper ARGS` against `sim` (token in the environment, JSON logs
    /// at info); stdout and stderr are captured line by line.
    pub fn spawn(sim: &Simulator, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seatkeeper"));
        cmd.args(["--log-format", "json"])
            .args(args)
            .args(["--github-url", &sim.url()])
            .env("GITHUB_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .env_remove("GITHUB_API_URL")
            .env_remove("SEATKEEPER_TOKEN_FILE")
            .env_remove("GITHUB_APP_ID")
            .env_remove("SEATKEEPER_WEBHOOK_SECRET")
            .env_remove("SEATKEEPER_WEBHOOK_SECRET_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start seatkeeper");
        let mut readers = Vec::new();
        let mut capture = |pipe: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = lines.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            }));
            lines
        };
        let log = capture(Box::new(child.stderr.take().unwrap()));
        let stdout = capture(Box::new(child.stdout.take().unwrap()));
        Proc {
            child,
            log,
            stdout,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Log lines that are JSON objects.
    pub fn json_log(&self) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// Log lines that are JSON events with `event == name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.json_log()
            .into_iter()
            .filter(|v| v["event"] == name)
            .collect()
    }

    /// Log lines whose message starts with `prefix`.
    pub fn messages(&self, prefix: &str) -> Vec<Value> {
        self.json_log()
            .into_iter()
            .filter(|v| v["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
            .collect()
    }

    /// Wait for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "seatkeeper did not exit within {limit:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap, waiting at
    /// most [`WAIT`]: a kill that does not land fails instead of hanging.
    /// Returns how the process ended (`signal() == Some(9)` when the kill
    /// landed; an exit code when it had already ended by itself).
    pub fn kill9(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.wait_exit(WAIT)
    }

    /// After the process ended: wait until everything it wrote to stdout and
    /// stderr has been read (at most a few seconds).
    pub fn drain(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for r in std::mem::take(&mut self.readers) {
            while !r.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if r.is_finished() {
                let _ = r.join();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            // Bounded: a drop during a panic must not hang the test binary.
            let deadline = Instant::now() + WAIT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// `seatkeeper run` serving on 127.0.0.1 (a random port).
pub struct Daemon {
    pub proc: Proc,
    pub addr: SocketAddr,
}

impl Daemon {
    /// `seatkeeper run ARGS --listen 127.0.0.1:0`; waits until it listens.
    pub fn start(sim: &Simulator, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut all = vec!["run", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut proc = Proc::spawn(sim, &all, env);
        let deadline = Instant::now() + WAIT;
        loop {
            let listen = proc.json_log().iter().find_map(|v| {
                (v["message"] == "seatkeeper controller starting")
                    .then(|| v["listen"].as_str().unwrap().parse().unwrap())
            });
            if let Some(addr) = listen {
                return Daemon { proc, addr };
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "seatkeeper run exited with {status} before listening:\n{}",
                    proc.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "seatkeeper run did not start within {WAIT:?}:\n{}",
                proc.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.proc.log_text()
    }

    pub async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], Vec::new()).await
    }

    /// `seatkeeper_reconcile_total{org="acme",result="success"}` (0 when absent).
    pub async fn reconciles(&self) -> f64 {
        let m = self.get("/metrics").await;
        assert_eq!(m.status, 200);
        metric(
            &m.body,
            "seatkeeper_reconcile_total",
            &[("org", "acme"), ("result", "success")],
        )
        .unwrap_or(0.0)
    }

    /// Poll `f` every 100 ms until it returns `Some`, for at most [`WAIT`].
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut f: F) -> T
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
                "timed out after {WAIT:?} waiting for {what}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub struct Response {
    pub status: u16,
    pub body: String,
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn request(
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
    send(&mut sender, addr, method, path, headers, body).await
}

/// One request on an open client connection (keep-alive).
pub async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Response {
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
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The value of sample `name` whose labels include `labels`, from an
/// OpenMetrics text (label values here never hold `,` or `"`).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let all = labels
            .iter()
            .all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
        all.then(|| value.trim().parse().ok()).flatten()
    })
}

/// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| {
            let v = l.strip_prefix(field)?.strip_prefix(':')?;
            v.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// An external tool a test needs (helm, shellcheck, chromium, ...), at
/// `path`. Tests that need one carry `#[ignore = "needs TOOL: ..."]`, so a
/// plain `cargo test` counts them as ignored and says why; CI runs them with
/// `--include-ignored`, and then a missing tool is a failure, not a pass.
pub fn tool(path: &Path, install: &str) -> std::path::PathBuf {
    assert!(
        path.is_file(),
        "{} is not installed: {install} installs it (CI runs that before the tests)",
        path.display()
    );
    path.to_path_buf()
}

/// A client of the simulator as the CLI builds one (`GitHubArgs`), whose
/// retries wait no real time and whose point budget is off: the modules
/// that reconcile against the simulator in-process share it.
pub async fn sim_client(sim: &Simulator) -> seatkeeper::github::client::GitHubClient {
    let mut config = seatkeeper::github::args::GitHubArgs::for_url(&sim.url())
        .config(Some(sim.token()))
        .unwrap();
    let instant: seatkeeper::github::client::RetrySleep = Arc::new(|_| Box::pin(async {}));
    config.retry_sleep = Some(instant);
    config.throttle.points_per_window = None;
    seatkeeper::github::client::GitHubClient::new(config)
        .await
        .unwrap()
}

/// seats.yaml text, parsed as the file `seats.yaml`.
pub fn loaded(text: &str) -> seatkeeper::source::Loaded {
    seatkeeper::source::Loaded::parse("seats.yaml", text.as_bytes(), None).unwrap()
}

/// `seatkeeper ARGS --github-url SIM`, run to completion against `sim` with
/// its token in the environment, no colour, and no other GitHub settings
/// inherited from the environment.
pub fn run_cli(sim: &Simulator, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_API_URL")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .env_remove("GITHUB_APP_ID")
        .output()
        .expect("run seatkeeper")
}
