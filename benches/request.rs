//! Self-serve latency benchmark: request -> seat held, end to end, against
//! the simulator with per-request latency. Each sample is one `seatkeeper
//! request` (validate the login as `plan --strict` would, from per-user
//! reads: its seat, the seat totals, its membership; then the Contents API
//! commit), the simulator's signed
//! push webhook, and the controller's reconcile that grants the seat; the
//! clock stops when the simulator holds the seat. "One reconcile's time" is
//! the controller's own duration for the reconcile that applied it
//! (`/status` `last_duration_ms`).
//!
//! Run through `scripts/bench.sh`, or `cargo bench --bench request -- --help`.
//!
//! First, the cost row (issue 18 item 4): requests sent per `request` and
//! per `release` at 1k, 10k and 100k seats (`--cost-sizes`), counted by the
//! client; target <= 15 and independent of size. `--cost-only` stops there.
//!
//! Workload: an org of N direct seats, all listed in seats.yaml in the
//! simulated repository `bench/copilot-seats`, plus members without a seat
//! who ask one after the other. The clients' own throttles are off (the
//! chain's latency is measured, not GitHub's points budget: the request
//! and the reconcile each read every seat page; `calls/req` is what one
//! request sends).
//! The simulator delivers webhooks at once; GitHub's own delivery delay is
//! not modelled.
//!
//! Requests are spaced: each one starts at least the controller's
//! `--webhook-min-interval` (`--webhook-interval`, default 5 s as in
//! `seatkeeper run`) after the previous push, so every sample is one person
//! asking alone. Back to back, the pushes would meet that per-source minimum
//! and each sample would wait out the interval (it coalesces pushes into one
//! reconcile): that is the guard working, not a request's latency.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use seatkeeper::daemon::RunArgs;
use seatkeeper::github::args::GitHubArgs;
use seatkeeper::github::client::GitHubClient;
use seatkeeper::selfserve::{Ask, Kind, RecordOptions, Recorded, record};
use seatkeeper::simulator::{
    GenSpec, SimOptions, Simulator, WebhookTarget, generated_login, generated_state_with,
};
use seatkeeper::source::SourceSpec;

const ORG: &str = "bench";
const REPO: &str = "bench/copilot-seats";
const SECRET: &str = "bench-webhook-secret";

const HELP: &str = "\
cargo bench --bench request -- [OPTIONS]

  --latency MS      per-request latency added by the simulator (default 50)
  --concurrency N   page concurrency of the request and the controller (default 8)
  --sizes A,B,..    seat counts (default 1000,10000)
  --requests K      requests per size, one after the other (default 20, at least 20)
  --cost-sizes A,.. seat counts of the requests-per-request row (default 1000,10000,100000)
  --cost-only       only the requests-per-request row
  --webhook-interval S  the controller's --webhook-min-interval; requests start
                    at least this long (plus 250 ms) after the previous push (default 5)
";

struct Cfg {
    latency: Duration,
    concurrency: usize,
    sizes: Vec<usize>,
    requests: usize,
    cost_sizes: Vec<usize>,
    cost_only: bool,
    webhook_interval: Duration,
}

fn parse(args: &[String]) -> Cfg {
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        std::process::exit(0);
    }
    Cfg {
        latency: Duration::from_millis(
            get("--latency").map_or(50, |v| v.parse().expect("--latency MS")),
        ),
        concurrency: get("--concurrency").map_or(8, |v| v.parse().expect("--concurrency N")),
        sizes: get("--sizes").map_or(vec![1000, 10_000], |v| {
            v.split(',')
                .map(|s| s.trim().parse().expect("--sizes"))
                .collect()
        }),
        requests: get("--requests")
            .map_or(20, |v| v.parse().expect("--requests K"))
            .max(20),
        cost_sizes: get("--cost-sizes").map_or(vec![1000, 10_000, 100_000], |v| {
            v.split(',')
                .map(|s| s.trim().parse().expect("--cost-sizes"))
                .collect()
        }),
        cost_only: args.iter().any(|a| a == "--cost-only"),
        webhook_interval: Duration::from_secs(
            get("--webhook-interval").map_or(5, |v| v.parse().expect("--webhook-interval S")),
        ),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A bare HTTP/1.1 GET of the controller's `/status`.
async fn status(addr: SocketAddr) -> Option<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(
        format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw);
    serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()
}

struct Sample {
    total: Duration,
    request: Duration,
    reconcile_ms: f64,
}

struct Row {
    seats: usize,
    samples: Vec<Sample>,
    /// Requests the request client sent, per request.
    request_calls: u64,
}

async fn run_size(cfg: &Cfg, seats: usize, dir: &std::path::Path) -> Row {
    let mut st = generated_state_with(
        ORG,
        &GenSpec {
            seats,
            extra_members: cfg.requests,
            team_seats: 0,
            pending_every: 0,
            idle_every: 0,
        },
    );
    let mut yaml = format!("org: {ORG}\nusers:\n");
    for i in 0..seats {
        yaml.push_str(&format!("  - {}\n", generated_login(i)));
    }
    st.put_file(REPO, "main", "seats.yaml", &yaml);
    let sim = Simulator::start(
        st,
        SimOptions {
            latency: cfg.latency,
            rate_limit: u64::MAX / 2,
            record_requests: false,
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let token = dir.join("token");
    std::fs::write(&token, sim.token()).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    sim.set_webhook(Some(WebhookTarget {
        url: format!("http://{listen}/webhook"),
        secret: SECRET.into(),
    }));
    let github = {
        let mut g = GitHubArgs::for_url(&sim.url());
        g.token_file = Some(token);
        g.page_concurrency = cfg.concurrency;
        g.max_concurrent_requests = cfg.concurrency.max(8);
        g.points_per_minute = u32::MAX;
        g
    };
    let args = RunArgs {
        sources: vec![SourceSpec::GitHub {
            owner: "bench".into(),
            repo: "copilot-seats".into(),
            path: "seats.yaml".into(),
            reference: "main".into(),
        }],
        schedule: "0 0 0 1 1 *".into(),
        jitter: 0,
        listen,
        probe_listen: None,
        // /status's run counter is in the summary every client gets.
        status_token_file: None,
        status_public: false,
        dry_run: false,
        webhook_secret_file: Some(secret),
        webhook_branch: "main".into(),
        poll_interval: 0,
        // Latency is measured here, not the budget: all of the limit.
        rate_budget: "100%".parse().unwrap_or_default(),
        shutdown_timeout: 5,
        configs: Vec::new(),
        http: seatkeeper::http_guard::HttpArgs {
            webhook_min_interval: cfg.webhook_interval.as_secs(),
            ..Default::default()
        },
        github: github.clone(),
        write: seatkeeper::github::args::WriteArgs::default(),
        bounds: seatkeeper::reconcile::BoundsArgs::default(),
        portal: Default::default(),
        prices: seatkeeper::reconcile::cost::PriceArgs::default(),
        leader: Box::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(seatkeeper::daemon::run_until(args, async {
        let _ = stopped.await;
    }));
    let runs = |v: &serde_json::Value| v["orgs"][0]["runs"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if status(listen).await.is_some_and(|v| runs(&v) >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the controller never finished its first reconcile"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config = github.config(Some(sim.token())).expect("config");
    let client = GitHubClient::new(config).await.expect("client");
    if std::env::var_os("BENCH_DEBUG").is_some() {
        breakdown(
            &client,
            &generated_login(seats + cfg.requests - 1),
            cfg.concurrency,
        )
        .await;
    }
    let mut samples = Vec::new();
    // When the previous request's push went out: the next one waits out the
    // controller's per-source webhook minimum (see the module comment).
    let mut last_push: Option<Instant> = None;
    for i in 0..cfg.requests {
        let login = generated_login(seats + i);
        if let Some(at) = last_push {
            let ready = at + cfg.webhook_interval + Duration::from_millis(250);
            tokio::time::sleep_until(ready.into()).await;
        }
        let before = status(listen).await.map_or(0, |v| runs(&v));
        let ask = Ask {
            kind: Kind::Request,
            login: login.clone(),
            requester: login.clone(),
            note: None,
            expires: None,
            source: Some("benches/request.rs".into()),
            today: chrono::Utc::now().date_naive(),
            bounds: Default::default(),
            budget: None,
        };
        let mut opts = RecordOptions {
            repo: REPO.parse().unwrap(),
            path: "seats.yaml".into(),
            git_ref: Some("main".into()),
            concurrency: cfg.concurrency,
        };
        let t = Instant::now();
        let recorded = record(&client, &client, &ask, &mut opts)
            .await
            .expect("request");
        let request = t.elapsed();
        last_push = Some(Instant::now());
        assert!(
            matches!(recorded, Recorded::Committed { .. }),
            "{recorded:?}"
        );
        let deadline = t + Duration::from_secs(60);
        while !sim.peek(|s| s.seat(&login).is_some_and(|x| x.is_active())) {
            assert!(Instant::now() < deadline, "{login}: no seat within 60 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let total = t.elapsed();
        // The controller's own time for the reconcile that granted it.
        let mut reconcile_ms = f64::NAN;
        for _ in 0..500 {
            if let Some(v) = status(listen).await
                && runs(&v) > before
            {
                reconcile_ms = v["orgs"][0]["last_duration_ms"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        samples.push(Sample {
            total,
            request,
            reconcile_ms,
        });
    }
    let request_calls = client.stats().total_requests() / cfg.requests as u64;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
    sim.shutdown().await;
    Row {
        seats,
        samples,
        request_calls,
    }
}

/// Where a request's time goes, without writing: the read, the edit, the
/// validation (`BENCH_DEBUG=1`).
async fn breakdown(client: &GitHubClient, login: &str, concurrency: usize) {
    use seatkeeper::github::repo::RepoApi;
    let repo = REPO.parse().unwrap();
    let ask = Ask {
        kind: Kind::Request,
        login: login.to_string(),
        requester: login.to_string(),
        note: None,
        expires: None,
        source: None,
        today: chrono::Utc::now().date_naive(),
        bounds: Default::default(),
        budget: None,
    };
    let t = Instant::now();
    let _ = client.repository(&repo).await.expect("repository");
    let t_repo = t.elapsed();
    let t = Instant::now();
    let file = client
        .read_file(&repo, "seats.yaml", "main")
        .await
        .expect("read")
        .expect("file");
    let t_read = t.elapsed();
    let text = String::from_utf8(file.bytes).unwrap();
    let t = Instant::now();
    seatkeeper::config::SeatsFile::parse("seats.yaml", text.as_bytes()).expect("parse");
    let t_parse = t.elapsed();
    let t = Instant::now();
    let prepared = seatkeeper::selfserve::prepare("seats.yaml", &text, &ask).expect("prepare");
    let t_prepare = t.elapsed();
    let seatkeeper::selfserve::Prepared::Change { edited, .. } = prepared else {
        panic!("{login} is listed")
    };
    let t = Instant::now();
    seatkeeper::selfserve::check(client, &edited, &ask, concurrency)
        .await
        .expect("check");
    let t_check = t.elapsed();
    let scope = seatkeeper::config::Scope::Org(ORG.into());
    let t = Instant::now();
    let _ = seatkeeper::github::SeatApi::list_seats(client, &scope)
        .await
        .expect("list");
    let t_list = t.elapsed();
    eprintln!(
        "breakdown: repository {:.0} ms, read {:.0} ms, one parse {:.0} ms, prepare (edit) {:.0} ms, check {:.0} ms (a bare listing: {:.0} ms)",
        ms(t_repo),
        ms(t_read),
        ms(t_parse),
        ms(t_prepare),
        ms(t_check),
        ms(t_list)
    );
}

/// Requests one `request` and one `release` send at `seats` seats (500
/// direct, the rest through a team, so seats.yaml stays under its 1 MiB
/// limit at 100k), counted by the client: (per request, per release).
async fn cost(seats: usize) -> (u64, u64) {
    let mut st = generated_state_with(
        ORG,
        &GenSpec {
            seats,
            extra_members: 3,
            team_seats: seats.saturating_sub(500),
            pending_every: 0,
            idle_every: 0,
        },
    );
    let mut yaml = format!("org: {ORG}\nteams:\n  - generated-team\nusers:\n");
    for i in 0..seats.min(500) {
        yaml.push_str(&format!("  - {}\n", generated_login(i)));
    }
    st.put_file(REPO, "main", "seats.yaml", &yaml);
    let sim = Simulator::start(
        st,
        SimOptions {
            rate_limit: u64::MAX / 2,
            record_requests: false,
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let mut github = GitHubArgs::for_url(&sim.url());
    github.points_per_minute = u32::MAX;
    let client = GitHubClient::new(github.config(Some(sim.token())).expect("config"))
        .await
        .expect("client");
    let mut sent = Vec::new();
    for (kind, login) in [
        (Kind::Request, generated_login(seats)),
        (Kind::Release, generated_login(0)),
    ] {
        let ask = Ask {
            kind,
            requester: login.clone(),
            login,
            note: None,
            expires: None,
            source: None,
            today: chrono::Utc::now().date_naive(),
            bounds: Default::default(),
            budget: None,
        };
        let mut opts = RecordOptions {
            repo: REPO.parse().unwrap(),
            path: "seats.yaml".into(),
            git_ref: Some("main".into()),
            concurrency: 8,
        };
        let before = client.stats().total_requests();
        let recorded = record(&client, &client, &ask, &mut opts)
            .await
            .expect("request");
        assert!(
            matches!(recorded, Recorded::Committed { .. }),
            "{recorded:?}"
        );
        sent.push(client.stats().total_requests() - before);
    }
    sim.shutdown().await;
    (sent[0], sent[1])
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let cfg = parse(&args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("requests per request (target <= 15 at every size)");
    println!("{:>7}  {:>8} {:>8}", "seats", "request", "release");
    let mut costs = Vec::new();
    for &n in &cfg.cost_sizes {
        let (req, rel) = rt.block_on(cost(n));
        println!("{n:>7}  {req:>8} {rel:>8}");
        costs.push((n, req, rel));
    }
    let worst = costs.iter().map(|c| c.1.max(c.2)).max().unwrap_or(0);
    let same = costs
        .windows(2)
        .all(|w| (w[0].1, w[0].2) == (w[1].1, w[1].2));
    let cost_verdict = format!(
        "{} requests per request <= 15 and independent of size: {} at {} seats",
        if worst <= 15 && same { "PASS" } else { "FAIL" },
        costs
            .iter()
            .map(|c| format!("{}/{}", c.1, c.2))
            .collect::<Vec<_>>()
            .join(", "),
        cfg.cost_sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("/")
    );
    println!();
    if cfg.cost_only {
        println!("{cost_verdict}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    println!(
        "request -> seat held: {} ms per request, page concurrency {}, {} requests per size, each >= {} s + 250 ms after the previous push (the controller's --webhook-min-interval)",
        cfg.latency.as_millis(),
        cfg.concurrency,
        cfg.requests,
        cfg.webhook_interval.as_secs()
    );
    println!(
        "{:>7}  {:>9} {:>9}  {:>11} {:>11}  {:>13}  {:>9}  target (p95 <= reconcile + 1 s)",
        "seats", "p50 ms", "p95 ms", "request p50", "request p95", "reconcile p50", "calls/req"
    );
    let mut verdicts = Vec::new();
    for &n in &cfg.sizes {
        let row = rt.block_on(run_size(&cfg, n, dir.path()));
        let mut total: Vec<f64> = row.samples.iter().map(|s| ms(s.total)).collect();
        total.sort_by(f64::total_cmp);
        let mut request: Vec<f64> = row.samples.iter().map(|s| ms(s.request)).collect();
        request.sort_by(f64::total_cmp);
        let mut reconcile: Vec<f64> = row
            .samples
            .iter()
            .map(|s| s.reconcile_ms)
            .filter(|v| v.is_finite())
            .collect();
        reconcile.sort_by(f64::total_cmp);
        let (p50, p95) = (percentile(&total, 50.0), percentile(&total, 95.0));
        let rec = percentile(&reconcile, 50.0);
        let ok = p95 <= rec + 1000.0;
        println!(
            "{:>7}  {:>9.0} {:>9.0}  {:>11.0} {:>11.0}  {:>13.0}  {:>9}  {}",
            row.seats,
            p50,
            p95,
            percentile(&request, 50.0),
            percentile(&request, 95.0),
            rec,
            row.request_calls,
            if ok { "met" } else { "missed" }
        );
        verdicts.push(format!(
            "{} request -> seat held at {} seats: p50 {p50:.0} ms, p95 {p95:.0} ms <= one reconcile ({rec:.0} ms) + 1 s = {:.0} ms ({} requests, {} ms per request)",
            if ok { "PASS" } else { "FAIL" },
            row.seats,
            rec + 1000.0,
            row.samples.len(),
            cfg.latency.as_millis()
        ));
    }
    println!();
    println!("{cost_verdict}");
    for v in verdicts {
        println!("{v}");
    }
}
