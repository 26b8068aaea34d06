//! Reconcile benchmark: requests, wall time and peak RSS of a full
//! `Mode::Apply` reconcile against the simulator with per-request latency,
//! at 1,000 to 100,000 seats and 0 %, 1 % and 10 % drift, next to two
//! baselines run in the same process tree: sequential paging (page
//! concurrency 1) and one write request per changed user (batch size 1).
//!
//! Run through `scripts/bench.sh`, or `cargo bench --bench reconcile -- --help`.
//!
//! The simulator runs in this (parent) process. Every reconcile runs in a
//! child process (this binary re-executed with `--child`), so its peak RSS
//! (`VmHWM`) is its own: seats.yaml parsing, the client, the listing, the
//! plan and the writes, and not the simulator's 100,000 seats.
//!
//! Workload: the org has N seats held by members `user000000`…; the first
//! half are direct grants listed one by one in seats.yaml, the second half
//! are granted by the selected team `generated-team`, listed in seats.yaml's
//! `teams:` (a file of 100,000 bare logins is 1.5 MB, over seats.yaml's
//! 1 MiB cap). Drift d adds `N·d/2` members who hold no seat (they are in
//! seats.yaml) and leaves `N·d/2` direct seat holders, spread evenly over
//! the direct half, out of seats.yaml (their seats are removed). So the plan
//! has `N·d` changes, half `POST selected_users`, half `DELETE
//! selected_users`. The team already grants seats, so it needs no look-up;
//! no policy guards; eligibility checks off: the reconcile's only requests
//! are the billing details, the seat pages and the writes.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, PER_PAGE, ThrottleConfig};
use seatkeeper::github::{BillingInfo, GitHubError, Membership, Scope, SeatApi, WriteReport};
use seatkeeper::plan::{Action, LiveState};
use seatkeeper::reconcile::{Mode, Options, reconcile};
use seatkeeper::simulator::{
    GenSpec, SimOptions, Simulator, generated_enterprise, generated_login, generated_state_with,
};
use seatkeeper::source::Loaded;

const ORG: &str = "bench";
const MIB: f64 = 1024.0 * 1024.0;

const HELP: &str = "\
cargo bench --bench reconcile -- [OPTIONS]

  --latency MS        per-request latency added by the simulator (default 50)
  --concurrency N     page concurrency of the measured runs (default 8)
  --sizes A,B,..      seat counts (default 1000,10000,100000)
  --drifts A,B,..     drift percentages; 0 is the zero-drift check (default 0,1,10)
  --extra N:PCT       one more case, for the 5,000-change target (default 50000:10; `none`)
  --enterprise N,..   enterprise cases: N users, 30% of them holding a second grant
                      (an organization's), at 0 and 1% drift (default 100000; `none`)
  --sample K          per-user baseline: at most K single-user writes are sent,
                      the rest extrapolated (default 200)
  --quick             --sizes 1000,10000 --extra none --enterprise 10000
  --no-baselines      measured runs only (for profiling)

  BENCH_CHILD_WRAPPER=\"valgrind --tool=massif\" runs each measured reconcile under it;
  BENCH_DEBUG=1 prints each child's VmHWM after startup, parsing and listing.
";

// ---------------------------------------------------------------------------
// Child: one reconcile, measured.

#[derive(Debug, Serialize, Deserialize)]
struct ChildReport {
    status: String,
    /// Requests the client sent (its own counters).
    requests: u64,
    /// Of those, POST/DELETE.
    writes: u64,
    /// GETs of the seat listing (pages) and of the billing details.
    pages: u64,
    details: u64,
    adds: usize,
    removes: usize,
    failed: usize,
    /// `reconcile()` from call to return.
    wall_ms: f64,
    /// Inside `list_seats` (details + every page).
    list_ms: f64,
    /// Inside the write calls.
    write_ms: f64,
    parse_ms: f64,
    rss_kib: u64,
    peak_in_flight: usize,
    /// `--steady`: primary-limit points and `304`s of the measured (second)
    /// reconcile.
    points: u64,
    not_modified: u64,
    /// Per-user baseline with sampling: single-user writes actually sent and
    /// the time they took, per kind.
    sampled: bool,
    sample_adds: usize,
    sample_add_ms: f64,
    sample_removes: usize,
    sample_remove_ms: f64,
}

/// Delegates to the client and times the listing and the writes.
struct Timed {
    inner: GitHubClient,
    list: Mutex<Duration>,
    write: Mutex<Duration>,
}

impl Timed {
    async fn time_write<F: std::future::Future<Output = Result<WriteReport, GitHubError>>>(
        &self,
        f: F,
    ) -> Result<WriteReport, GitHubError> {
        let t = Instant::now();
        let r = f.await;
        *self.write.lock().unwrap() += t.elapsed();
        r
    }
}

#[async_trait]
impl SeatApi for Timed {
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError> {
        self.inner.billing(scope).await
    }
    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        let t = Instant::now();
        let r = self.inner.list_seats(scope).await;
        *self.list.lock().unwrap() += t.elapsed();
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("after listing: {}", mem());
        }
        r
    }
    async fn add_users(&self, scope: &Scope, l: &[String]) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.add_users(scope, l)).await
    }
    async fn remove_users(&self, scope: &Scope, l: &[String]) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.remove_users(scope, l)).await
    }
    async fn add_teams(&self, scope: &Scope, t: &[String]) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.add_teams(scope, t)).await
    }
    async fn remove_teams(&self, scope: &Scope, t: &[String]) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.remove_teams(scope, t)).await
    }
    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        self.inner.membership(org, login).await
    }
    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        self.inner.team_members(scope, slug).await
    }
    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        self.inner.user_exists(login).await
    }
    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError> {
        self.inner.list_members(org).await
    }
    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        l: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.add_team_members(scope, team, l))
            .await
    }
    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        l: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.time_write(self.inner.remove_team_members(scope, team, l))
            .await
    }
}

fn vm_hwm_kib() -> u64 {
    status_kib("VmHWM:")
}

/// `BENCH_DEBUG`'s figures: the peak so far and what is resident now (the
/// gap is memory freed but kept by the allocator).
fn mem() -> String {
    format!(
        "VmHWM {} KiB, VmRSS {} KiB",
        vm_hwm_kib(),
        status_kib("VmRSS:")
    )
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn child(args: &[String]) {
    let url = arg(args, "--url").expect("--url");
    let token = arg(args, "--token").expect("--token").to_string();
    let file = PathBuf::from(arg(args, "--file").expect("--file"));
    let concurrency: usize = arg(args, "--concurrency").unwrap().parse().unwrap();
    let batch: usize = arg(args, "--batch").unwrap().parse().unwrap();
    let sample: Option<usize> = arg(args, "--sample").map(|s| s.parse().unwrap());
    // The controller's steady state: conditional reads on, one cold
    // reconcile fills the cache, the measured second one revalidates it.
    let steady = args.iter().any(|a| a == "--steady");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async move {
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("start: {}", mem());
        }
        let t = Instant::now();
        let loaded = Loaded::from_path(&file).expect("seats.yaml");
        let parse_ms = ms(t.elapsed());
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("after parse: {}", mem());
        }
        let mut config =
            ClientConfig::new(Auth::Token(SecretString::from(token))).with_base_url(url);
        config.page_concurrency = concurrency;
        config.batch_size = batch;
        config.throttle = ThrottleConfig::unlimited();
        config.conditional_requests = steady;
        let client = GitHubClient::new(config).await.expect("client");
        let api = Timed {
            inner: client.clone(),
            list: Mutex::new(Duration::ZERO),
            write: Mutex::new(Duration::ZERO),
        };
        let opts = Options {
            mode: if sample.is_some() {
                Mode::Plan
            } else {
                Mode::Apply
            },
            today: None,
            check_eligibility: false,
            batch_size: batch,
            concurrency,
            stop: None,
            ..Options::default()
        };
        let cold = if steady {
            reconcile(&api, &loaded, &opts)
                .await
                .expect("cold reconcile");
            *api.list.lock().unwrap() = Duration::ZERO;
            *api.write.lock().unwrap() = Duration::ZERO;
            client.stats()
        } else {
            Default::default()
        };
        let t = Instant::now();
        let outcome = reconcile(&api, &loaded, &opts).await.expect("reconcile");
        let wall = t.elapsed();
        let adds: Vec<String> = outcome
            .plan
            .of(Action::AddUser)
            .map(|c| c.name.clone())
            .collect();
        let removes: Vec<String> = outcome
            .plan
            .of(Action::RemoveUser)
            .map(|c| c.name.clone())
            .collect();
        let (mut sample_adds, mut sample_removes) = (0, 0);
        let (mut sample_add_ms, mut sample_remove_ms) = (0.0, 0.0);
        if let Some(k) = sample {
            // The per-user baseline's writes, sampled: the same requests
            // `apply` sends with batch size 1 (one write per login, in plan
            // order, one after the other), for the first logins of each kind.
            let scope = &loaded.file.scope;
            sample_adds = adds.len().min(k / 2);
            sample_removes = removes.len().min(k - sample_adds);
            let t = Instant::now();
            client
                .add_users(scope, &adds[..sample_adds])
                .await
                .expect("add");
            sample_add_ms = ms(t.elapsed());
            let t = Instant::now();
            client
                .remove_users(scope, &removes[..sample_removes])
                .await
                .expect("remove");
            sample_remove_ms = ms(t.elapsed());
        }
        let stats = client.stats();
        let count = |method: &str, route: &str| {
            stats.requests_to(method, route) - cold.requests_to(method, route)
        };
        let writes = |s: &seatkeeper::github::client::ClientStats| -> u64 {
            s.requests
                .iter()
                .filter(|((m, _, _), _)| m == "POST" || m == "DELETE")
                .map(|(_, n)| n)
                .sum()
        };
        let writes = writes(&stats) - writes(&cold);
        ChildReport {
            status: format!("{:?}", outcome.status),
            requests: stats.total_requests() - cold.total_requests(),
            writes,
            pages: count("GET", "/orgs/{org}/copilot/billing/seats")
                + count("GET", "/enterprises/{enterprise}/copilot/billing/seats"),
            details: count("GET", "/orgs/{org}/copilot/billing"),
            adds: adds.len(),
            removes: removes.len(),
            failed: outcome.failed().count(),
            wall_ms: ms(wall),
            list_ms: ms(*api.list.lock().unwrap()),
            write_ms: ms(*api.write.lock().unwrap()),
            parse_ms,
            rss_kib: 0,
            peak_in_flight: stats.peak_in_flight,
            points: stats.primary_points - cold.primary_points,
            not_modified: stats.not_modified - cold.not_modified,
            sampled: sample.is_some(),
            sample_adds,
            sample_add_ms,
            sample_removes,
            sample_remove_ms,
        }
    });
    let report = ChildReport {
        rss_kib: vm_hwm_kib(),
        ..report
    };
    println!("{}", serde_json::to_string(&report).unwrap());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------
// Parent: simulator, cases, table.

#[derive(Debug, Clone)]
struct Cfg {
    latency: Duration,
    concurrency: usize,
    sizes: Vec<usize>,
    drifts: Vec<u32>,
    extra: Option<(usize, u32)>,
    enterprise: Vec<usize>,
    sample: usize,
    no_baselines: bool,
}

fn parse_cfg(args: &[String]) -> Cfg {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let list =
        |s: &str| -> Vec<usize> { s.split(',').map(|v| v.trim().parse().unwrap()).collect() };
    let quick = args.iter().any(|a| a == "--quick");
    let mut cfg = Cfg {
        latency: Duration::from_millis(arg(args, "--latency").map_or(50, |v| v.parse().unwrap())),
        concurrency: arg(args, "--concurrency").map_or(8, |v| v.parse().unwrap()),
        sizes: if quick {
            vec![1_000, 10_000]
        } else {
            vec![1_000, 10_000, 100_000]
        },
        drifts: vec![0, 1, 10],
        extra: if quick { None } else { Some((50_000, 10)) },
        enterprise: if quick { vec![10_000] } else { vec![100_000] },
        sample: arg(args, "--sample").map_or(200, |v| v.parse().unwrap()),
        no_baselines: args.iter().any(|a| a == "--no-baselines"),
    };
    if let Some(s) = arg(args, "--sizes") {
        cfg.sizes = list(s);
    }
    if let Some(s) = arg(args, "--drifts") {
        cfg.drifts = list(s).into_iter().map(|d| d as u32).collect();
    }
    if let Some(s) = arg(args, "--enterprise") {
        cfg.enterprise = if s == "none" { Vec::new() } else { list(s) };
    }
    if let Some(s) = arg(args, "--extra") {
        cfg.extra = s
            .split_once(':')
            .map(|(n, p)| (n.parse().unwrap(), p.parse().unwrap()));
    }
    cfg
}

/// Of an enterprise's users, this percentage hold a second grant (an
/// organization's), so the listing has 1.3 entries per user.
const OVERLAP_PERCENT: usize = 30;
const ENTERPRISE: &str = "bench-ent";

/// One workload: N seats (users), drift in percent, org or enterprise scope.
#[derive(Debug, Clone, Copy)]
struct Case {
    seats: usize,
    drift: u32,
    enterprise: bool,
}

impl Case {
    /// Listing entries: one per user in an org; in the enterprise, one per
    /// grant.
    fn entries(self) -> usize {
        if self.enterprise {
            self.seats + self.seats * OVERLAP_PERCENT / 100
        } else {
            self.seats
        }
    }
    /// The billing-details call: orgs only (an enterprise has no such route).
    fn details(self) -> usize {
        usize::from(!self.enterprise)
    }
    fn changes(self) -> usize {
        self.seats * self.drift as usize / 100
    }
    fn adds(self) -> usize {
        self.changes() / 2
    }
    fn removes(self) -> usize {
        self.changes() - self.adds()
    }
    fn pages(self) -> usize {
        self.entries().div_ceil(PER_PAGE).max(1)
    }
    fn write_requests(self, batch: usize) -> usize {
        self.adds().div_ceil(batch) + self.removes().div_ceil(batch)
    }
    /// details call (org) + ⌈entries/100⌉ pages + ⌈changes/batch⌉ writes per kind.
    fn min_requests(self) -> usize {
        self.details() + self.pages() + self.write_requests(PER_PAGE)
    }
    /// latency × (1 + ⌈(pages−2)/concurrency⌉ + 1 + write rounds): page 1,
    /// pages 2..N−1 `concurrency` at a time, then page N with the details.
    fn bound(self, latency: Duration, concurrency: usize) -> Duration {
        let pages = self.pages();
        let rounds = 1
            + pages.saturating_sub(2).div_ceil(concurrency)
            + usize::from(pages >= 2)
            + self.write_requests(PER_PAGE);
        latency * rounds as u32
    }
    /// Direct seats (the first ones); the rest are granted by `generated-team`.
    fn direct(self) -> usize {
        self.seats / 2
    }
    /// Direct seat indices left out of seats.yaml: evenly spread.
    fn removed(self) -> impl Iterator<Item = usize> {
        let r = self.removes();
        let step = self.direct().checked_div(r).unwrap_or(1).max(1);
        (0..self.direct()).step_by(step).take(r)
    }
    fn seats_yaml(self) -> String {
        let removed: std::collections::HashSet<usize> = self.removed().collect();
        let added = self.seats..self.seats + self.adds();
        let mut y = String::with_capacity((self.direct() + self.adds()) * 16 + 64);
        if self.enterprise {
            let _ = writeln!(
                y,
                "enterprise: {ENTERPRISE}\nteams:\n  - ent:generated\nusers:"
            );
        } else {
            let _ = writeln!(y, "org: {ORG}\nteams:\n  - generated-team\nusers:");
        }
        for i in (0..self.direct())
            .filter(|i| !removed.contains(i))
            .chain(added)
        {
            let _ = writeln!(y, "  - {}", generated_login(i));
        }
        y
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Page concurrency `cfg.concurrency`, batch 100.
    Batched,
    /// Page concurrency 1, batch 100.
    Sequential,
    /// Page concurrency `cfg.concurrency`, batch 1.
    PerUser,
    /// As `Batched`, with conditional reads: the second reconcile of one
    /// process, as the controller runs (zero-drift cases).
    Steady,
}

#[derive(Debug)]
struct Run {
    child: ChildReport,
    /// Requests the simulator counted (cross-check of the client's count).
    sim_requests: u64,
    /// Requests and wall time of the whole workload; for a sampled
    /// per-user run, the extrapolation.
    requests: u64,
    writes: u64,
    wall: Duration,
    list: Duration,
}

async fn run(cfg: &Cfg, case: Case, variant: Variant, dir: &std::path::Path) -> Run {
    let state = if case.enterprise {
        // Users 0..N/2 direct, N/2..N through ent:generated; 30% also
        // hold an organization's grant.
        generated_enterprise(ENTERPRISE, case.seats, OVERLAP_PERCENT, case.adds())
    } else {
        generated_state_with(
            ORG,
            &GenSpec {
                seats: case.seats,
                extra_members: case.adds(),
                team_seats: case.seats - case.direct(),
                pending_every: 0,
                idle_every: 0,
            },
        )
    };
    let sim = Simulator::start(
        state,
        SimOptions {
            latency: cfg.latency,
            rate_limit: u64::MAX / 4,
            secondary: None,
            record_requests: false,
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let file = dir.join(format!(
        "seats-{}-{}-{}.yaml",
        case.seats,
        case.drift,
        if case.enterprise { "ent" } else { "org" }
    ));
    if !file.exists() {
        std::fs::write(&file, case.seats_yaml()).expect("write seats.yaml");
    }
    let (concurrency, batch) = match variant {
        Variant::Batched | Variant::Steady => (cfg.concurrency, PER_PAGE),
        Variant::Sequential => (1, PER_PAGE),
        Variant::PerUser => (cfg.concurrency, 1),
    };
    let exe = std::env::current_exe().expect("current_exe");
    // BENCH_CHILD_WRAPPER="valgrind --tool=massif" (or callgrind) profiles
    // the measured reconciles.
    let wrapper = std::env::var("BENCH_CHILD_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = tokio::process::Command::new(program);
            c.args(words).arg(&exe);
            c
        }
        None => tokio::process::Command::new(&exe),
    };
    cmd.arg("--child")
        .args(["--url", &sim.url(), "--token", &sim.token()])
        .arg("--file")
        .arg(&file)
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--batch", &batch.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let sampled = variant == Variant::PerUser && case.changes() > cfg.sample;
    if sampled {
        cmd.args(["--sample", &cfg.sample.to_string()]);
    }
    if variant == Variant::Steady {
        cmd.arg("--steady");
    }
    let out = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child")
        .wait_with_output()
        .await
        .expect("child");
    assert!(
        out.status.success(),
        "child failed for {case:?} {variant:?}: {}",
        out.status
    );
    let child: ChildReport = serde_json::from_slice(&out.stdout).expect("child report");
    let sim_requests = sim.rate_limit().used;
    sim.shutdown().await;
    let mut r = Run {
        requests: child.requests,
        writes: child.writes,
        wall: Duration::from_secs_f64(child.wall_ms / 1000.0),
        list: Duration::from_secs_f64(child.list_ms / 1000.0),
        sim_requests,
        child,
    };
    if sampled {
        // Every single-user write is one request; its time is the mean of
        // the sampled writes of the same kind.
        let c = &r.child;
        assert_eq!(
            c.writes as usize,
            c.sample_adds + c.sample_removes,
            "one request per sampled write"
        );
        let per = |ms: f64, n: usize| if n == 0 { 0.0 } else { ms / n as f64 };
        let est_ms = c.wall_ms
            + per(c.sample_add_ms, c.sample_adds) * c.adds as f64
            + per(c.sample_remove_ms, c.sample_removes) * c.removes as f64;
        r.wall = Duration::from_secs_f64(est_ms / 1000.0);
        r.writes = (c.adds + c.removes) as u64;
        r.requests = c.requests - c.writes + r.writes;
    }
    r
}

struct Row {
    case: Case,
    batched: Run,
    sequential: Option<Run>,
    per_user: Option<Run>,
    /// Zero drift: the controller's steady state (see [`Variant::Steady`]).
    steady: Option<Run>,
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "–".into()
    } else {
        format!("{:.1}×", a / b)
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a harness-less bench ignores it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return;
    }
    let cfg = parse_cfg(&args);
    let mut cases: Vec<Case> = Vec::new();
    for &seats in &cfg.sizes {
        for &drift in &cfg.drifts {
            cases.push(Case {
                seats,
                drift,
                enterprise: false,
            });
        }
    }
    if let Some((seats, drift)) = cfg.extra {
        if !cases.iter().any(|c| c.seats == seats && c.drift == drift) {
            cases.push(Case {
                seats,
                drift,
                enterprise: false,
            });
        }
    }
    for &seats in &cfg.enterprise {
        for drift in [0, 1] {
            cases.push(Case {
                seats,
                drift,
                enterprise: true,
            });
        }
    }
    cases.sort_by_key(|c| (c.enterprise, c.seats, c.drift));

    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut rows = Vec::new();
    for case in cases {
        eprintln!(
            "[{:>5.0}s] {} {} seats, {}% drift ({} changes)…",
            started.elapsed().as_secs_f64(),
            if case.enterprise { "enterprise" } else { "org" },
            case.seats,
            case.drift,
            case.changes()
        );
        let batched = rt.block_on(run(&cfg, case, Variant::Batched, dir.path()));
        let (sequential, per_user) = if case.drift == 0 || cfg.no_baselines || case.enterprise {
            (None, None)
        } else {
            (
                Some(rt.block_on(run(&cfg, case, Variant::Sequential, dir.path()))),
                Some(rt.block_on(run(&cfg, case, Variant::PerUser, dir.path()))),
            )
        };
        let steady =
            (case.drift == 0).then(|| rt.block_on(run(&cfg, case, Variant::Steady, dir.path())));
        rows.push(Row {
            case,
            batched,
            sequential,
            per_user,
            steady,
        });
    }
    let total = started.elapsed();
    print_table(&cfg, &rows, total);
}

fn print_table(cfg: &Cfg, rows: &[Row], total: Duration) {
    let lat = cfg.latency.as_millis();
    println!(
        "\nReconcile (Mode::Apply) against the simulator, {lat} ms per request; page concurrency per row in `conc`, batch 100.\n"
    );
    println!(
        "| scope | seats (users) | entries | drift | changes (+add −rm) | conc | requests / minimum | writes | wall s | bound s | wall ÷ bound | peak RSS MiB | seq. paging wall s | ×: list, whole | per-user requests | ×: all, writes | per-user wall s | × |"
    );
    println!(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let c = row.case;
        let b = &row.batched;
        let bound = c.bound(cfg.latency, cfg.concurrency);
        let mut line = format!(
            "| {} | {} | {} | {}% | {} (+{} −{}) | {} | {} / {} | {} | {} | {} | {:.2} | {:.1} ",
            if c.enterprise { "enterprise" } else { "org" },
            thousands(c.seats as u64),
            thousands(c.entries() as u64),
            c.drift,
            thousands(c.changes() as u64),
            thousands(c.adds() as u64),
            thousands(c.removes() as u64),
            cfg.concurrency,
            thousands(b.requests),
            thousands(c.min_requests() as u64),
            b.writes,
            secs(b.wall),
            secs(bound),
            b.wall.as_secs_f64() / bound.as_secs_f64(),
            b.child.rss_kib as f64 * 1024.0 / MIB,
        );
        match &row.sequential {
            Some(s) => {
                let _ = write!(
                    line,
                    "| {} | {}, {} ",
                    secs(s.wall),
                    ratio(s.list.as_secs_f64(), b.list.as_secs_f64()),
                    ratio(s.wall.as_secs_f64(), b.wall.as_secs_f64())
                );
            }
            None => line.push_str("| – | – "),
        }
        match &row.per_user {
            Some(p) => {
                let star = if p.child.sampled { "*" } else { "" };
                let _ = write!(
                    line,
                    "| {}{star} | {}, {} | {}{star} | {} |",
                    thousands(p.requests),
                    ratio(p.requests as f64, b.requests as f64),
                    ratio(p.writes as f64, b.writes as f64),
                    secs(p.wall),
                    ratio(p.wall.as_secs_f64(), b.wall.as_secs_f64())
                );
            }
            None => line.push_str("| – | – | – | – |"),
        }
        println!("{line}");
    }
    let steady: Vec<&Row> = rows.iter().filter(|r| r.steady.is_some()).collect();
    if !steady.is_empty() {
        println!(
            "\nSteady state, as the controller runs: conditional reads on, the second zero-drift reconcile of one process (the first filled the cache).\n"
        );
        println!(
            "| scope | seats (users) | entries | requests | `304`s | primary points | wall s | peak RSS MiB, both reconciles |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in steady {
            let s = r.steady.as_ref().expect("filtered");
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
                if r.case.enterprise {
                    "enterprise"
                } else {
                    "org"
                },
                thousands(r.case.seats as u64),
                thousands(r.case.entries() as u64),
                thousands(s.requests),
                thousands(s.child.not_modified),
                thousands(s.child.points),
                secs(s.wall),
                s.child.rss_kib as f64 * 1024.0 / MIB
            );
        }
    }
    println!();
    println!(
        "- workload: N seats; the first half are direct grants listed in seats.yaml, the second half are granted by one selected team listed under `teams:` (100,000 bare logins would be 1.5 MB, over seats.yaml's 1 MiB cap). The team already grants seats, so it needs no look-up; eligibility checks are off."
    );
    println!(
        "- drift d: N·d/2 members without a seat are added to seats.yaml and N·d/2 direct seats (spread evenly over the direct half) are left out of it; changes = N·d, half `POST`, half `DELETE selected_users`. 0% is the zero-drift check."
    );
    println!(
        "- enterprise rows: N users in enterprise `{ENTERPRISE}`; users 0..N/2 hold a direct enterprise grant (listed in seats.yaml), N/2..N hold one through enterprise team `ent:generated` (listed under `teams:`), and {OVERLAP_PERCENT}% of all users also hold an organization's grant: 1.3 entries per user, spread over the listing (the organization's entries come first), while `total_seats` counts N. Drift as for orgs; a removed direct grant of a user with an organization's grant keeps the seat. An enterprise has no billing-details route: minimum = ⌈entries/100⌉ pages + writes."
    );
    println!(
        "- minimum = 1 details call + ⌈N/100⌉ pages + ⌈adds/100⌉ + ⌈removals/100⌉ writes. bound = latency × (1 + ⌈(pages−1)/conc⌉ + write requests). The client sends page 1 alone (it says how many pages follow), then the details call and pages 2..N `conc` at a time, then the writes one after another (adds before removals): 1 + ⌈pages/conc⌉ + writes round trips, the same number as the bound for every row here (they differ only when pages−1 is a multiple of conc)."
    );
    println!(
        "- wall = `reconcile()` from call to return in a child process (seats.yaml is parsed before the clock starts; the parse is included in the RSS). peak RSS = the child's VmHWM: seats.yaml, client, listing, plan, writes; the simulator runs in the parent."
    );
    println!(
        "- seq. paging = the same workload with page concurrency 1 (batch 100); × = its time ÷ the batched run's, for the listing (`list_seats`) and for the whole reconcile."
    );
    println!(
        "- per-user = the same workload with batch size 1 (page concurrency {}); × = its requests ÷ the batched run's (all requests, then writes only) and its wall time ÷ the batched run's.",
        cfg.concurrency
    );
    println!(
        "- * sampled: when a case has more than {} changes, the per-user run reads the listing and plans (measured), then sends the first {} single-user writes (half POST, half DELETE, one after another, as `apply` does with batch 1; each is one request, checked) and extrapolates: wall = measured read+plan + changes × mean time per single-user write of its kind; requests = measured reads + one per change. Writing all 10,000 users one by one at {} ms would take {} s per case.",
        cfg.sample,
        cfg.sample,
        lat,
        10_000 * lat / 1000
    );
    let mismatched: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            [Some(&r.batched), r.sequential.as_ref(), r.per_user.as_ref()]
                .into_iter()
                .flatten()
                .map(move |run| (r.case, run))
        })
        .filter(|(_, run)| run.sim_requests != run.child.requests)
        .map(|(c, run)| {
            format!(
                "{} seats {}%: client {} vs simulator {}",
                c.seats, c.drift, run.child.requests, run.sim_requests
            )
        })
        .collect();
    if mismatched.is_empty() {
        println!("- request counts: the client's counters equal the simulator's for every run.");
    } else {
        println!(
            "- request counts differ between client and simulator: {}",
            mismatched.join("; ")
        );
    }
    println!("- total bench time {:.0} s.", total.as_secs_f64());

    // Targets.
    println!("\nTargets:");
    let mut results: Vec<(bool, String)> = Vec::new();
    let off: Vec<String> = rows
        .iter()
        .filter(|r| r.batched.requests != r.case.min_requests() as u64)
        .map(|r| {
            format!(
                "{}{}×{}%: {} vs {}",
                if r.case.enterprise { "enterprise " } else { "" },
                r.case.seats,
                r.case.drift,
                r.batched.requests,
                r.case.min_requests()
            )
        })
        .collect();
    results.push((
        off.is_empty(),
        format!(
            "requests equal the minimum exactly: {}/{} rows{}",
            rows.len() - off.len(),
            rows.len(),
            if off.is_empty() {
                String::new()
            } else {
                format!(" (off: {})", off.join(", "))
            }
        ),
    ));
    let worst = rows
        .iter()
        .map(|r| {
            (
                r,
                r.batched.wall.as_secs_f64()
                    / r.case.bound(cfg.latency, cfg.concurrency).as_secs_f64(),
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((r, w)) = worst {
        results.push((
            w <= 1.2,
            format!(
                "wall time ≤ 1.2× the latency bound: worst {w:.3}× ({} seats, {}%)",
                r.case.seats, r.case.drift
            ),
        ));
    }
    let big: Vec<&Row> = rows
        .iter()
        .filter(|r| r.case.seats == 100_000 && r.sequential.is_some())
        .collect();
    if !big.is_empty() {
        let list = big
            .iter()
            .map(|r| {
                r.sequential.as_ref().unwrap().list.as_secs_f64() / r.batched.list.as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let whole: Vec<String> = big
            .iter()
            .map(|r| {
                format!(
                    "{}% {:.1}×",
                    r.case.drift,
                    r.sequential.as_ref().unwrap().wall.as_secs_f64()
                        / r.batched.wall.as_secs_f64()
                )
            })
            .collect();
        results.push((
            list >= 6.0,
            format!(
                "100,000 seats, concurrency {}: ≥ 6× faster than sequential paging: listing {list:.1}× (min over drifts); whole reconcile {} (the writes, identical in both, dilute it)",
                cfg.concurrency,
                whole.join(", ")
            ),
        ));
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.case.changes() == 5_000 && r.per_user.is_some())
    {
        let p = r.per_user.as_ref().unwrap();
        let w = p.writes as f64 / r.batched.writes as f64;
        let all = p.requests as f64 / r.batched.requests as f64;
        results.push((
            w >= 50.0,
            format!(
                "5,000 changes ({} seats {}%): ≥ 50× fewer requests than per-user writes: writes {} vs {} = {w:.0}×; all requests incl. the {} identical reads {} vs {} = {all:.1}×",
                thousands(r.case.seats as u64),
                r.case.drift,
                thousands(p.writes),
                r.batched.writes,
                1 + r.case.pages(),
                thousands(p.requests),
                thousands(r.batched.requests)
            ),
        ));
    }
    let rss: Vec<&Row> = rows.iter().filter(|r| r.case.seats == 100_000).collect();
    if !rss.is_empty() {
        let max = rss.iter().map(|r| r.batched.child.rss_kib).max().unwrap() as f64 / 1024.0;
        let steady = rss
            .iter()
            .filter_map(|r| r.steady.as_ref())
            .map(|s| s.child.rss_kib)
            .max()
            .map_or(0.0, |k| k as f64 / 1024.0);
        results.push((
            max < 64.0 && steady < 64.0,
            format!(
                "peak RSS < 64 MiB at 100,000 seats: max {max:.1} MiB one reconcile, {steady:.1} MiB two with the conditional-read cache"
            ),
        ));
    }
    let zero: Vec<&Row> = rows.iter().filter(|r| r.case.drift == 0).collect();
    if !zero.is_empty() {
        let writes: Vec<String> = zero
            .iter()
            .map(|r| format!("{}: {}", thousands(r.case.seats as u64), r.batched.writes))
            .collect();
        results.push((
            zero.iter().all(|r| r.batched.writes == 0),
            format!(
                "zero-drift reconcile sends no write: writes {}",
                writes.join(", ")
            ),
        ));
    }
    for (ok, text) in results {
        println!("{} {text}", if ok { "PASS" } else { "FAIL" });
    }
}
