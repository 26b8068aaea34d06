//! Security round 2, the server and edge parts (issue 19, items 3, 4, 6 and
//! 9), each attack performed for real against the `seatkeeper` binary on
//! 127.0.0.1:
//!
//! - 140 idle sockets on `--listen` do not fail `/healthz` on `--probe-listen`;
//! - one client address cannot take every connection (a second address, 127.0.0.2, is served);
//! - trickled large bodies do not make a signed push answer 503;
//! - `/status` serves logins, guard reasons and errors only with the token;
//! - a replayed signed push is throttled for positional sources as for `--config`;
//! - `--github-url http://[::1]@HOST` sends nothing to HOST;
//! - the webhook secret file is read bounded and warned about when world-readable;
//! - `policy` numbers are plain decimal integers;
//! - `action/comment.sh` never sends its token to a host a `Link` names.
//!
//! Every wait is bounded; nothing leaves 127.0.0.1.

use crate::support;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use seatkeeper::simulator::Simulator;
use support::{
    Daemon, Proc, TOKEN, metric, org_state, request, sign, sim_options, strings, write_atomic,
};

const SECRET: &str = "edges-s3cret";

async fn sim(seated: &[&str]) -> Simulator {
    let members = strings(&["alice", "bob", "carol", "dave"]);
    Simulator::start(org_state(&members, &strings(seated)), sim_options())
        .await
        .unwrap()
}

/// `--probe-listen` as the daemon logged it at start.
fn probe_addr(d: &Daemon) -> SocketAddr {
    d.proc
        .json_log()
        .iter()
        .find_map(|v| {
            (v["message"] == "seatkeeper controller starting")
                .then(|| v["probe_listen"].as_str()?.parse().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no probe_listen logged:\n{}", d.log_text()))
}

/// `seatkeeper_reconcile_total{org="acme",result="success"}` read from `addr`.
async fn reconciles_at(addr: SocketAddr) -> f64 {
    let m = request(addr, "GET", "/metrics", &[], Vec::new()).await;
    assert_eq!(m.status, 200, "{}", m.body);
    metric(
        &m.body,
        "seatkeeper_reconcile_total",
        &[("org", "acme"), ("result", "success")],
    )
    .unwrap_or(0.0)
}

async fn wait_until<F, Fut>(d: &Daemon, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    d.wait_for(what, || {
        let fut = f();
        async move { fut.await.then_some(()) }
    })
    .await;
}

/// A connection to `to` from the loopback address `from` (Linux routes all
/// of 127.0.0.0/8 to lo), so a test can be two clients.
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a 127/8 source address");
    socket.connect(to).await.unwrap()
}

/// One request on a fresh connection from `from`; `None` when the server
/// closes it without an answer within `limit`.
async fn raw_request(
    from: [u8; 4],
    to: SocketAddr,
    head: &str,
    body: &[u8],
    limit: Duration,
) -> Option<String> {
    let mut s = connect_from(from, to).await;
    s.write_all(head.as_bytes()).await.ok()?;
    s.write_all(body).await.ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) | Ok(Err(_)) => break,
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    (!got.is_empty()).then(|| String::from_utf8_lossy(&got).into_owned())
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn push_body(pad: usize) -> Vec<u8> {
    serde_json::json!({
        "ref": "refs/heads/main",
        "repository": { "full_name": "acme/copilot-seats" },
        "padding": " ".repeat(pad),
    })
    .to_string()
    .into_bytes()
}

fn signed_push_head(delivery: &str, body: &[u8]) -> String {
    format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {}\r\nContent-Length: {}\r\n\r\n",
        sign(SECRET, body),
        body.len()
    )
}

/// A daemon for acme (users: alice) with the webhook on, a yearly schedule,
/// probes on their own listener, and `extra` flags.
fn daemon(sim: &Simulator, dir: &tempfile::TempDir, extra: &[&str]) -> Daemon {
    let seats = dir.path().join("seats.yaml");
    write_atomic(&seats, "org: acme\nusers:\n  - alice\n");
    let mut args = vec![
        "--config",
        seats.to_str().unwrap(),
        "--schedule",
        "0 0 0 1 1 *",
        "--max-removals",
        "100%",
        "--probe-listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    Daemon::start(sim, &args, &[("SEATKEEPER_WEBHOOK_SECRET", SECRET)])
}

// ---------------------------------------------------------------------------
// Item 3: probes on their own listener, per-client limits, bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_on_the_public_listener_do_not_fail_probes() {
    let sim = sim(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    // Per-client limit off: the flood is as if from many addresses.
    let d = daemon(
        &sim,
        &dir,
        &[
            "--http-header-timeout",
            "30",
            "--http-max-connections-per-client",
            "1000",
        ],
    );
    let probes = probe_addr(&d);
    assert_ne!(probes, d.addr);
    wait_until(&d, "the start-up reconcile", || async {
        reconciles_at(probes).await >= 1.0
    })
    .await;

    // Each route lives on its listener only.
    #[rustfmt::skip]
    let routes: &[(SocketAddr, &str, u16)] = &[
        (probes, "/healthz", 200), (probes, "/readyz", 200), (probes, "/metrics", 200),
        (probes, "/status", 404), (d.addr, "/status", 200),
        (d.addr, "/healthz", 404), (d.addr, "/readyz", 404), (d.addr, "/metrics", 404),
    ];
    for (addr, path, want) in routes {
        let r = request(*addr, "GET", path, &[], Vec::new()).await;
        assert_eq!(r.status, *want, "GET {path} on {addr}");
    }

    // The issue's flood: 140 idle sockets on --listen (more than the whole
    // connection cap of 128), held open past every probe below.
    let mut idle = Vec::new();
    for _ in 0..140 {
        idle.push(TcpStream::connect(d.addr).await.unwrap());
    }
    // The flood is real: --listen has no room left once it has accepted
    // them all (bounded: a loaded machine accepts them in its own time).
    let mut public = Some(String::new());
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        public = raw_request(
            [127, 0, 0, 1],
            d.addr,
            "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"",
            Duration::from_secs(1),
        )
        .await;
        if public.is_none() {
            break;
        }
    }
    assert!(
        public.is_none(),
        "--listen still served this client: {public:?}"
    );
    // 50 kubelet probes (1 s timeout each, as the chart's) all pass.
    let mut failed = Vec::new();
    for i in 0..50 {
        let probe = tokio::time::timeout(
            Duration::from_secs(1),
            request(probes, "GET", "/healthz", &[], Vec::new()),
        )
        .await;
        match probe {
            Ok(r) if r.status == 200 => {}
            other => failed.push((i, other.map(|r| r.status).ok())),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed.is_empty(), "failed probes: {failed:?}");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_take_every_connection() {
    let sim = sim(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(
        &sim,
        &dir,
        &[
            "--http-max-connections-per-client",
            "4",
            "--http-header-timeout",
            "30",
        ],
    );
    // Four idle connections from 127.0.0.3: the cap for that address.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect_from([127, 0, 0, 3], d.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let head = "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // A fifth from the same address is closed unanswered, at once...
    let started = Instant::now();
    let fifth = raw_request([127, 0, 0, 3], d.addr, head, b"", Duration::from_secs(2)).await;
    assert!(fifth.is_none(), "{fifth:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // ...while another address is served.
    let other = raw_request([127, 0, 0, 2], d.addr, head, b"", Duration::from_secs(5))
        .await
        .expect("127.0.0.2 is answered");
    assert_eq!(status_of(&other), 200, "{other}");
    // Logged (the log is read from the child's stderr: wait for it).
    wait_until(&d, "the per-client cap's log line", || async {
        !d.proc
            .messages("connection closed: --http-max-connections-per-client reached")
            .is_empty()
    })
    .await;
    // Closing them gives the address its room back.
    drop(idle);
    wait_until(&d, "room for 127.0.0.3 again", || async {
        raw_request([127, 0, 0, 3], d.addr, head, b"", Duration::from_secs(2))
            .await
            .is_some_and(|r| status_of(&r) == 200)
    })
    .await;
}

/// `n` connections from `from` announcing a 1 MiB signed-looking webhook and
/// trickling it (4 KiB every 50 ms); they stay open until the returned
/// handles are aborted or the server answers.
fn trickle(from: [u8; 4], to: SocketAddr, n: usize) -> Vec<tokio::task::JoinHandle<u16>> {
    const BODY: usize = 1024 * 1024;
    (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let s = connect_from(from, to).await;
                let head = format!(
                    "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: trickle-{i}\r\nX-Hub-Signature-256: sha256={}\r\nContent-Length: {BODY}\r\n\r\n",
                    "ab".repeat(32)
                );
                let (mut r, mut w) = s.into_split();
                if w.write_all(head.as_bytes()).await.is_err() {
                    return 0;
                }
                let writer = tokio::spawn(async move {
                    let chunk = [b' '; 4096];
                    for _ in 0..BODY / chunk.len() {
                        if w.write_all(&chunk).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    w
                });
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                let status = loop {
                    match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break 0,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                    if got.windows(2).any(|w| w == b"\r\n") {
                        break status_of(&String::from_utf8_lossy(&got));
                    }
                };
                writer.abort();
                status
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_bodies_do_not_make_a_signed_push_answer_503() {
    let sim = sim(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(
        &sim,
        &dir,
        &["--http-body-timeout", "8", "--webhook-min-interval", "0"],
    );
    let probes = probe_addr(&d);
    wait_until(&d, "the start-up reconcile", || async {
        reconciles_at(probes).await >= 1.0
    })
    .await;

    // One client trickles 16 large bodies (enough for every slot): it gets
    // its share (4 slots), the other 12 are refused at once.
    let over_share = trickle([127, 0, 0, 1], d.addr, 16);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = reconciles_at(probes).await;
    // A large signed delivery (200 KB) from another client still gets a slot.
    let body = push_body(200 * 1024);
    let r = raw_request(
        [127, 0, 0, 2],
        d.addr,
        &signed_push_head("real-large", &body),
        &body,
        Duration::from_secs(5),
    )
    .await
    .expect("the large signed push is answered");
    assert_eq!(status_of(&r), 202, "{r}\n{}", d.log_text());

    // The issue's attack: every large-body slot held by trickled bodies
    // (16 in all, from four clients).
    let mut attack = Vec::new();
    for k in 0..3u8 {
        attack.extend(trickle([127, 0, 1, 10 + k], d.addr, 4));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    // A push-sized signed delivery, from an attacker's own address even:
    // answered 202 at once.
    for (i, from) in [[127, 0, 0, 1], [127, 0, 0, 2]].into_iter().enumerate() {
        let body = push_body(0);
        let started = Instant::now();
        let r = raw_request(
            from,
            d.addr,
            &signed_push_head(&format!("real-{i}"), &body),
            &body,
            Duration::from_secs(5),
        )
        .await
        .expect("the signed push is answered");
        assert_eq!(status_of(&r), 202, "{r}\n{}", d.log_text());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    wait_until(&d, "the pushes' reconciles", || async {
        reconciles_at(probes).await > before
    })
    .await;

    // 127.0.0.1's trickles beyond its share were refused (503); the rest
    // ran into the body timeout (408).
    let mut refused = 0;
    for t in over_share {
        let status = tokio::time::timeout(Duration::from_secs(12), t)
            .await
            .unwrap()
            .unwrap();
        if status == 503 {
            refused += 1;
        }
    }
    assert_eq!(refused, 12, "of 16 trickles from one client");
    for t in attack {
        t.abort();
    }
}

// ---------------------------------------------------------------------------
// Item 4: /status needs a token

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_logins_and_file_lines_only_with_the_token() {
    let sim = sim(&["alice", "dave"]).await;
    let dir = tempfile::tempdir().unwrap();
    // acme: add carol, remove dave (a dry run keeps the planned changes);
    // a second, broken file whose error quotes a login.
    let good = dir.path().join("acme.yaml");
    write_atomic(&good, "org: acme\nusers:\n  - alice\n  - carol\n");
    let bad = dir.path().join("broken.yaml");
    write_atomic(&bad, "org: other\nusers:\n  - mallory-secret-login!\n");
    let token_file = dir.path().join("status-token");
    std::fs::write(&token_file, "status-t0ken\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // (flags, Authorization header, full details expected)
    let token_flags = ["--status-token-file", token_file.to_str().unwrap()];
    #[rustfmt::skip]
    let cases: &[(&[&str], Option<&str>, bool)] = &[
        (&[], None, false),
        (&[], Some("Bearer status-t0ken"), false),
        (&token_flags, None, false),
        (&token_flags, Some("Bearer wrong"), false),
        (&token_flags, Some("Bearer status-t0ke"), false),
        (&token_flags, Some("Basic status-t0ken"), false),
        (&token_flags, Some("Bearer status-t0ken"), true),
        (&["--status-public"], None, true),
    ];
    let mut daemons: Vec<(Vec<String>, Daemon)> = Vec::new();
    for (flags, auth, full) in cases {
        let key: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        if !daemons.iter().any(|(k, _)| *k == key) {
            let mut args = vec![
                good.to_str().unwrap(),
                bad.to_str().unwrap(),
                "--max-removals",
                "100%",
                "--dry-run",
                "--schedule",
                "0 0 0 1 1 *",
            ];
            args.extend_from_slice(flags);
            let d = Daemon::start(&sim, &args, &[]);
            wait_until(&d, "both sources read", || async {
                let st: Value =
                    serde_json::from_str(&d.get("/status").await.body).unwrap_or_default();
                st["orgs"]
                    .as_array()
                    .is_some_and(|o| o.iter().all(|o| o["runs"].as_u64() >= Some(1)))
            })
            .await;
            daemons.push((key.clone(), d));
        }
        let d = &daemons.iter().find(|(k, _)| *k == key).unwrap().1;
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let r = request(d.addr, "GET", "/status", &headers, Vec::new()).await;
        assert_eq!(r.status, 200);
        let what = format!("{flags:?} with {auth:?}");
        let st: Value = serde_json::from_str(&r.body).unwrap();
        let acme = &st["orgs"][0];
        assert_eq!(acme["org"], "acme", "{what}: {}", r.body);
        assert_eq!(
            acme["last_planned_total"], 2,
            "{what}: counts are always there"
        );
        assert_eq!(st["orgs"][1]["source_valid"], false, "{what}");
        for secret in ["carol", "dave", "mallory-secret-login"] {
            assert_eq!(
                r.body.contains(secret),
                *full,
                "{what}: `{secret}` in /status: {}",
                r.body
            );
        }
        if !full {
            assert!(
                st["detail"].as_str().unwrap().starts_with("counts only"),
                "{what}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Item 6: every source is throttled

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_push_is_throttled_for_positional_and_config_sources() {
    for positional in [true, false] {
        let sim = sim(&["alice"]).await;
        let dir = tempfile::tempdir().unwrap();
        let seats = dir.path().join("seats.yaml");
        write_atomic(&seats, "org: acme\nusers:\n  - alice\n");
        let path = seats.to_str().unwrap();
        let mut args = vec!["--schedule", "0 0 0 1 1 *", "--webhook-min-interval", "5"];
        if positional {
            args.push(path);
        } else {
            args.extend(["--config", path]);
        }
        let d = Daemon::start(&sim, &args, &[("SEATKEEPER_WEBHOOK_SECRET", SECRET)]);
        wait_until(&d, "the start-up reconcile", || async {
            d.reconciles().await >= 1.0
        })
        .await;
        // One captured signed push, replayed 30 times in 3 s; the delivery id
        // is not signed, so each replay carries a fresh one.
        let body = push_body(0);
        let sig = sign(SECRET, &body);
        let started = Instant::now();
        for i in 0..30 {
            let delivery = format!("replay-{i}");
            let r = request(
                d.addr,
                "POST",
                "/webhook",
                &[
                    ("x-github-event", "push"),
                    ("x-github-delivery", &delivery),
                    ("x-hub-signature-256", &sig),
                ],
                body.clone(),
            )
            .await;
            assert_eq!(r.status, 202, "{}", r.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let storm = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let during = d.reconciles().await - 1.0;
        // One at once; the rest coalesce into one at the end of the interval.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after = d.reconciles().await - 1.0;
        eprintln!(
            "positional={positional}: 30 replays in {storm:?}: {during} reconciles during, {after} after 5 s more"
        );
        // One at once, then at most one per 5 s interval the storm spans
        // (the issue saw 30 in 3 s).
        let bound = (storm.as_secs_f64() / 5.0).ceil() + 1.0;
        assert!(
            (1.0..bound).contains(&during),
            "positional={positional}: {during}"
        );
        assert!(
            (2.0..=bound).contains(&after),
            "positional={positional}: {after} (bound {bound})"
        );
    }
}

// ---------------------------------------------------------------------------
// Item 9: edges

/// A listener on 127.0.0.1 recording every request it receives (head only).
fn catcher() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let sink = sink.clone();
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).unwrap_or(0);
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
                );
            });
        }
    });
    (addr, seen)
}

#[test]
fn an_api_url_with_user_information_gets_no_token() {
    let (addr, seen) = catcher();
    let dir = tempfile::tempdir().unwrap();
    let seats = dir.path().join("seats.yaml");
    std::fs::write(&seats, "org: acme\nusers:\n  - alice\n").unwrap();
    let port = addr.port();
    // The issue's URL, and its relatives: each names 127.0.0.1:PORT as the
    // host, behind something that looks local (or like credentials).
    let urls = [
        format!("http://[::1]@127.0.0.1:{port}"),
        format!("http://localhost@127.0.0.1:{port}/api"),
        format!("http://user:pass@127.0.0.1:{port}"),
    ];
    for url in &urls {
        let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
            .args(["plan", seats.to_str().unwrap(), "--github-url", url])
            .env("GITHUB_TOKEN", TOKEN)
            .env_remove("GITHUB_API_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains("user information"), "{url}: {stderr}");
        assert!(!stderr.contains(TOKEN));
    }
    std::thread::sleep(Duration::from_millis(200));
    let got = seen.lock().unwrap().clone();
    assert!(got.is_empty(), "requests reached the host: {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_secret_file_is_read_bounded_and_warned_about() {
    let sim = sim(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let seats = dir.path().join("seats.yaml");
    write_atomic(&seats, "org: acme\nusers:\n  - alice\n");
    let secret = dir.path().join("webhook-secret");
    let seats = seats.to_str().unwrap().to_string();
    let secret_arg = secret.to_str().unwrap().to_string();
    let args = [seats.as_str(), "--webhook-secret-file", secret_arg.as_str()];

    // World-readable: it starts, with a warning naming the file.
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let d = Daemon::start(&sim, &args, &[]);
    let warned = d
        .proc
        .messages("the webhook secret file is readable by everyone");
    assert_eq!(warned.len(), 1, "{}", d.log_text());
    assert_eq!(warned[0]["file"], secret_arg.as_str());
    assert!(!d.log_text().contains(SECRET));
    // The secret (trailing newline dropped) verifies a push.
    let body = push_body(0);
    let r = request(
        d.addr,
        "POST",
        "/webhook",
        &[
            ("x-github-event", "push"),
            ("x-github-delivery", "one"),
            ("x-hub-signature-256", &sign(SECRET, &body)),
        ],
        body,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    drop(d);

    // 0600: no warning.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let d = Daemon::start(&sim, &args, &[]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        d.proc
            .messages("the webhook secret file is readable")
            .is_empty()
    );
    drop(d);

    // Larger than any secret (and than memory, were it /dev/zero): refused
    // at start, before anything listens.
    let cases: &[(&str, &Path)] = &[
        ("a 1 MiB file", &secret),
        ("/dev/zero", Path::new("/dev/zero")),
    ];
    std::fs::write(&secret, vec![b'a'; 1024 * 1024]).unwrap();
    for (what, path) in cases {
        let mut p = Proc::spawn(
            &sim,
            &[
                "run",
                seats.as_str(),
                "--listen",
                "127.0.0.1:0",
                "--webhook-secret-file",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let status = p.wait_exit(Duration::from_secs(10));
        p.drain();
        assert_eq!(status.code(), Some(1), "{what}: {}", p.log_text());
        assert!(
            p.log_text().contains("larger than"),
            "{what}: {}",
            p.log_text()
        );
    }
}

#[test]
fn policy_numbers_are_plain_decimal_integers() {
    let dir = tempfile::tempdir().unwrap();
    // (value of policy.max_seats as written, None: accepted, or the error)
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>)] = &[
        ("10", None), ("1", None),
        ("0x10", Some("plain decimal")), ("0o17", Some("plain decimal")),
        ("!!int \"7\"", Some("the tag `!!int` is not allowed")), ("!!int 7", Some("the tag `!!int` is not allowed")),
        ("010", Some("must be an integer")), ("+5", Some("plain decimal")),
        ("1_000", Some("must be an integer")),
    ];
    for (value, want) in cases {
        let ok = want.is_none();
        let file = dir.path().join("seats.yaml");
        std::fs::write(
            &file,
            format!("org: acme\npolicy:\n  max_seats: {value}\nusers:\n  - alice\n"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
            .args(["validate", file.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{value}: {stderr}");
        if !ok {
            // Pointed at the value (or its tag): file:line:col.
            let at = format!("{}:3:14", file.display());
            assert!(stderr.contains(&at), "{value}: want {at} in {stderr}");
            let want = want.unwrap();
            assert!(stderr.contains(want), "{value}: {stderr}");
            if want == "plain decimal" {
                assert!(stderr.contains("`policy.max_seats`"), "{value}: {stderr}");
            }
        }
    }
}

/// The next-page link an API serves, given the API root.
type NextLink = dyn Fn(&str) -> String + Send + Sync;

/// `action/comment.sh` against an API whose comment list links its next
/// page to another host (another port of 127.0.0.1): the token never
/// reaches it, and the script fails instead of writing a comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comment_sh_sends_its_token_to_the_api_root_only() {
    let (evil, evil_seen) = catcher();
    let marker = "<!-- seatkeeper-plan -->";
    let repo = "acme/copilot-seats";
    let seen = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
    let sink = seen.clone();
    let list = format!("/repos/{repo}/issues/7/comments");
    // (what the next link is, given the API root)
    let links: Vec<Box<NextLink>> = vec![
        Box::new(move |_| format!("http://{evil}{}", "/repos/x/issues/7/comments?page=2")),
        Box::new(move |api| format!("{api}@{evil}/page2")),
        Box::new(move |api| format!("{api}.evil.example/page2")),
    ];
    for link in links {
        let link = Arc::new(link);
        let api_url = Arc::new(Mutex::new(String::new()));
        let (api_in, sink, list_in) = (api_url.clone(), sink.clone(), list.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let (api_in, sink, list, link) =
                    (api_in.clone(), sink.clone(), list_in.clone(), link.clone());
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    sink.lock().unwrap().push((uri.to_string(), auth));
                    let next = link(&api_in.lock().unwrap());
                    let mut resp = axum::response::IntoResponse::into_response((
                        [("content-type", "application/json")],
                        "[]",
                    ));
                    if uri.path() == list {
                        resp.headers_mut()
                            .insert("link", format!("<{next}>; rel=\"next\"").parse().unwrap());
                    }
                    resp
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        *api_url.lock().unwrap() = api.clone();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let tmp = tempfile::tempdir().unwrap();
        let event = tmp.path().join("event.json");
        std::fs::write(&event, r#"{"pull_request": {"number": 7}}"#).unwrap();
        let body = tmp.path().join("plan.md");
        std::fs::write(&body, format!("{marker}\nPlan: 1 to add.\n")).unwrap();
        let output = tmp.path().join("output");
        std::fs::write(&output, "").unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/comment.sh");
        let out = tokio::process::Command::new("bash")
            .arg(script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REPOSITORY", repo)
            .env("GITHUB_API_URL", &api)
            .env("SK_BODY_FILE", &body)
            .env("SK_COMMENT_TOKEN", "ghs_commentToken0123")
            .output()
            .await
            .unwrap();
        server.abort();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "followed the link: {stdout}{stderr}");
        assert!(
            stdout.contains("not under") || stderr.contains("not under"),
            "{stdout}{stderr}"
        );
        let requests = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(
            requests.len(),
            1,
            "only page 1, on the API root: {requests:?}"
        );
        assert!(requests.iter().all(|(u, _)| u.starts_with(&list)));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        evil_seen.lock().unwrap().is_empty(),
        "the other host got requests: {:?}",
        evil_seen.lock().unwrap()
    );
}

/// A listed login that holds a seat but is in none of `eligible_teams`:
/// `plan --strict` and `request` report it at its line; a plain plan keeps
/// its seat (removing it is not asked for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_strict_and_request_report_a_seated_login_outside_the_eligible_teams() {
    let mut state = org_state(
        &strings(&["alice", "bob", "carol"]),
        &strings(&["alice", "bob"]),
    );
    state.teams = vec![seatkeeper::simulator::SimTeam::new(
        "engineering",
        &["alice"],
    )];
    let sim = Simulator::start(state, sim_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seats = dir.path().join("seats.yaml");
    std::fs::write(
        &seats,
        "org: acme\npolicy:\n  eligible_teams: [engineering]\nusers:\n  - alice\n  - bob\n",
    )
    .unwrap();
    let path = seats.to_str().unwrap();
    // (args, exit code, stderr must hold)
    #[rustfmt::skip]
    let cases: &[(&[&str], i32, Option<String>)] = &[
        (&["plan", path, "--strict"], 1, Some(format!("{path}:6:5: bob is not eligible: listed, but not in an eligible team (engineering)"))),
        (&["plan", path], 0, None),
        // request: a listed login outside the teams is told so, not "already listed".
        (&["request", "bob", "--file", path], 1, Some(format!("{path}:6:5: bob is listed, but not in an eligible team (engineering)"))),
        (&["request", "alice", "--file", path], 0, None),
    ];
    for (args, code, want) in cases {
        let mut p = Proc::spawn(&sim, args, &[]);
        let status = p.wait_exit(Duration::from_secs(20));
        p.drain();
        let stderr = p.log_text();
        assert_eq!(status.code(), Some(*code), "{args:?}: {stderr}");
        if let Some(want) = want {
            assert!(stderr.contains(want.as_str()), "{args:?}: {stderr}");
        }
        assert!(!stderr.contains("alice is not eligible"), "{stderr}");
    }
    // Nothing was written, and bob keeps his seat.
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "a plan wrote"
    );
    assert!(support::held(&sim).contains("bob"));
}
