//! The controller (`seatkeeper run`): reconcile every configured org at
//! start and on a cron schedule, serve metrics, health, status and a GitHub
//! webhook, and shut down gracefully.
//!
//! Concurrency model: one worker task per `--config` source. A worker owns
//! its source (and the source's ETag cache) and runs one reconcile at a
//! time, so an org is never reconciled twice at once. Triggers (the
//! schedule, the webhook) call [`Notify::notify_one`] on the worker: a
//! trigger that arrives while a reconcile runs leaves one stored permit, so
//! any number of triggers during a run coalesce into exactly one follow-up
//! run. Workers share nothing but the GitHub client and the metrics, so a
//! failing org never holds up another.
//!
//! Listeners: `--listen` serves `/webhook` and `/status` (the public side);
//! `--probe-listen` serves `/healthz`, `/readyz` and `/metrics` with its own
//! connection cap, so a flood of the public listener cannot fail a kubelet
//! probe. Without `--probe-listen` everything is served on `--listen`.
//!
//! Safety: a source that cannot be read or does not validate means no
//! reconcile at all for that org (never "the last good file", which could
//! remove seats granted since), `desired_state_valid 0`, and `/readyz` 503.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Utc};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, watch};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::github::GitHubError;
use crate::github::args::GitHubArgs;
use crate::github::client::GitHubClient;
use crate::github::repo::{RefRead, RepoApi, RepoRef};
use crate::http_guard::{HttpArgs, WebhookGuard};
use crate::metrics::Metrics;
use crate::plan::Action;
use crate::rate::Spend;
use crate::reconcile::{Mode, Options, Outcome, Status};
use crate::source::{Loaded, Source, SourceSpec};

mod budget;
mod status;

pub use status::RECENT_CHANGES;
use status::{OrgStatus, PlannedChange, RecentChange, STATUS_CHANGES, StatusAccess};

/// `seatkeeper run` options.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Desired-state sources: local paths, or github:OWNER/REPO/PATH@REF; one per org or enterprise.
    #[arg(value_name = "SOURCE", required_unless_present = "configs")]
    pub sources: Vec<SourceSpec>,
    /// The same as a SOURCE argument (kept for existing deployments); repeatable.
    #[arg(long = "config", value_name = "SOURCE")]
    pub configs: Vec<SourceSpec>,
    /// When to reconcile: a 6-field cron expression with seconds, in UTC.
    #[arg(long, default_value = "0 */10 * * * *", value_name = "CRON")]
    pub schedule: String,
    /// Add a random delay of up to this many seconds to each scheduled run.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub jitter: u64,
    /// Where to serve /webhook and /status (and /healthz, /readyz and /metrics too, unless --probe-listen is given). Loopback by default: set the pod's address to take webhooks.
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Serve /healthz, /readyz and /metrics here instead of on --listen, with their own connection cap: a flood of --listen cannot fail a probe.
    #[arg(long, value_name = "ADDR")]
    pub probe_listen: Option<SocketAddr>,
    /// File holding the bearer token /status wants before it shows logins, guard reasons and errors; without it /status answers counts and health only.
    #[arg(long, value_name = "PATH", conflicts_with = "status_public")]
    pub status_token_file: Option<PathBuf>,
    /// Serve /status in full (logins, guard reasons, errors) to anyone who can reach --listen, without a token.
    #[arg(long)]
    pub status_public: bool,
    /// Observe only: plan and export drift metrics, never write.
    #[arg(long)]
    pub dry_run: bool,
    /// File holding the webhook secret (or set SEATKEEPER_WEBHOOK_SECRET); without one, /webhook is off.
    #[arg(long, env = "SEATKEEPER_WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub webhook_secret_file: Option<PathBuf>,
    /// A push to this branch triggers a reconcile.
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub webhook_branch: String,
    /// Without a webhook: every this many seconds, read the commit SHA of each github: source's ref (one conditional request; an unchanged ref costs a 304, not rate limit) and reconcile at once when it moved. 0 is off.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub poll_interval: u64,
    /// Share of the token's hourly GitHub rate limit (x-ratelimit-limit) the controller plans to spend, e.g. 50%: a reconcile waits until the points its org's last reconcile cost fit the past hour's spend (the schedule stretches rather than run out).
    #[arg(long, default_value = "50%", value_name = "SHARE")]
    pub rate_budget: crate::rate::Share,
    /// How long an in-flight apply may take to finish its batch after SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_timeout: u64,
    /// HTTP server limits.
    #[command(flatten)]
    pub http: HttpArgs,
    /// GitHub connection.
    #[command(flatten)]
    pub github: GitHubArgs,
    /// Write tuning.
    #[command(flatten)]
    pub write: crate::github::args::WriteArgs,
    /// What the operator allows, whatever the files say.
    #[command(flatten)]
    pub bounds: crate::reconcile::BoundsArgs,
    /// The self-serve portal (off unless --portal-listen is given).
    #[command(flatten)]
    pub portal: Box<crate::portal::PortalArgs>,
    /// Seat prices for the cost preview and the cost metric.
    #[command(flatten)]
    pub prices: crate::reconcile::cost::PriceArgs,
    /// Leader election between replicas (boxed: rarely used, and it would
    /// make every `RunArgs` value larger).
    #[command(flatten)]
    pub leader: Box<crate::leader::LeaderArgs>,
}

impl RunArgs {
    /// Every source, positional and `--config`, in order.
    pub fn all_sources(&self) -> Vec<SourceSpec> {
        self.sources.iter().chain(&self.configs).cloned().collect()
    }
}

/// Largest webhook body accepted (GitHub caps payloads at 25 MB, but a push
/// event that matters here is a few KB).
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

/// Environment variable holding the webhook secret itself (when no
/// `--webhook-secret-file` is given).
pub const WEBHOOK_SECRET_ENV: &str = "SEATKEEPER_WEBHOOK_SECRET";

/// Run the controller until SIGTERM or SIGINT, then shut down gracefully:
/// stop triggers, let an in-flight apply finish its current batch (at most
/// `--shutdown-timeout`), and return `Ok`.
pub async fn run(args: RunArgs) -> crate::Result<()> {
    let signals = shutdown_signal()?;
    run_until(args, signals).await
}

/// [`run`], stopping when `shutdown` completes instead of on a signal
/// (for embedding and tests).
pub async fn run_until(args: RunArgs, shutdown: impl Future<Output = ()>) -> crate::Result<()> {
    let webhook = webhook_config(&args)?;
    let webhook_on = webhook.is_some();
    let status_access = StatusAccess::new(args.status_public, args.status_token_file.as_deref())?;
    // Parse the schedule before anything else starts, so a typo fails fast.
    let schedule = args.schedule.trim().to_string();
    Job::new_async_tz(schedule.as_str(), Utc, |_, _| Box::pin(async {}))
        .map_err(|_| config_error(schedule_help(&schedule)))?;
    let batch = args.write.batch_size.max(1);
    // Conditional listing reads: an unchanged page costs a 304, not a point.
    let client = args
        .github
        .client_with(|c| {
            c.batch_size = batch;
            c.conditional_requests = true;
        })
        .await?;
    let (listener, listen) = bind(args.listen, "--listen").await?;
    let probes = match args.probe_listen {
        Some(addr) => Some(bind(addr, "--probe-listen").await?),
        None => None,
    };
    let probe_listen = probes.as_ref().map(|(_, addr)| *addr);
    let portal_listener = match args.portal.listen {
        Some(addr) => Some(bind(addr, "--portal-listen").await?),
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let stats_client = client.clone();
    let sources = args.all_sources();
    let metrics = Metrics::new(Arc::new(move || stats_client.stats()));
    let leader = args
        .leader
        .elector(metrics.leader.clone())
        .map_err(|e| config_error(e.to_string()))?;
    let shared = Arc::new(Shared {
        metrics,
        leader: leader.clone(),
        client,
        orgs: sources
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                Arc::new(OrgSlot {
                    index,
                    spec: spec.clone(),
                    source: spec.to_string(),
                    trigger: Notify::new(),
                    status: Mutex::new(OrgStatus {
                        source: spec.to_string(),
                        ..OrgStatus::default()
                    }),
                    head: Mutex::new(None),
                    usage_read_at: Mutex::new(None),
                })
            })
            .collect(),
        options: Options {
            mode: if args.dry_run {
                Mode::Plan
            } else {
                Mode::Apply
            },
            batch_size: args.write.batch_size.max(1),
            concurrency: args.github.max_concurrent_requests.max(1),
            stop: Some(stop.clone()),
            bounds: args.bounds.bounds(),
            seat_prices: args.prices.prices(),
            ..Options::default()
        },
        dry_run: args.dry_run,
        schedule: schedule.clone(),
        jitter: args.jitter,
        stop,
        accepting: AtomicBool::new(true),
        webhook,
        next_run: Mutex::new(None),
        claims: Mutex::new(HashMap::new()),
        // One minimum interval per source, positional and --config alike.
        guard: WebhookGuard::new(sources.len(), &args.http),
        status_access,
        track_commits: webhook_on || args.poll_interval > 0,
        budget: Mutex::new(crate::rate::Budget::new(args.rate_budget)),
    });
    tracing::info!(
        sources = %shared.orgs.iter().map(|o| o.source.as_str()).collect::<Vec<_>>().join(", "),
        schedule = %schedule,
        jitter_s = args.jitter,
        listen = %listen,
        probe_listen = %probe_listen.map(|a| a.to_string()).unwrap_or_default(),
        dry_run = args.dry_run,
        webhook = shared.webhook.is_some(),
        poll_interval_s = args.poll_interval,
        rate_budget = %args.rate_budget,
        version = env!("CARGO_PKG_VERSION"),
        "seatkeeper controller starting"
    );

    // The portal is checked before any worker starts: a configuration
    // problem fails start-up.
    let portal = match portal_listener {
        None => None,
        Some((listener, bound)) => {
            let sh = shared.clone();
            let app = crate::portal::for_controller(
                &args.portal,
                bound,
                crate::portal::Controller {
                    sources: &sources,
                    client: shared.client.clone(),
                    api_url: &args.github.github_url,
                    bounds: args.bounds.bounds(),
                    body_timeout: args.http.body_timeout(),
                },
                // A recorded request is applied at once, as a push webhook would.
                move |index| {
                    if sh.accepting.load(Ordering::SeqCst)
                        && let Some(slot) = sh.orgs.get(index)
                    {
                        slot.trigger.notify_one();
                    }
                },
            )?;
            Some((listener, app))
        }
    };

    // Workers first, each with its start-up run already requested; one task
    // per org, so a slow or failing org never holds up another.
    let (workers_stop, workers_rx) = watch::channel(false);
    let workers = futures::future::join_all(shared.orgs.iter().map(|slot| {
        slot.trigger.notify_one();
        tokio::spawn(worker(shared.clone(), slot.clone(), workers_rx.clone()))
    }));
    tokio::pin!(workers);

    // With --leader-elect: the election, and a run of every org each time
    // this replica becomes the leader (triggers while following are dropped).
    let election = leader.as_ref().map(|el| {
        let mut leading = el.subscribe();
        let sh = shared.clone();
        let on_lead = tokio::spawn(async move {
            while leading.changed().await.is_ok() {
                if *leading.borrow_and_update() && sh.accepting.load(Ordering::SeqCst) {
                    for slot in &sh.orgs {
                        slot.trigger.notify_one();
                    }
                }
            }
        });
        // Its own stop: it keeps renewing while the last batch drains.
        let (stop, stopped) = watch::channel(false);
        (tokio::spawn(el.clone().run(stopped)), on_lead, stop)
    });

    let mut scheduler = start_scheduler(&shared, &schedule).await?;
    let pollers = if args.poll_interval > 0 {
        shared
            .orgs
            .iter()
            .filter_map(|slot| slot.spec.movable_ref().map(|r| (slot.clone(), r)))
            .map(|(slot, (repo, git_ref))| {
                tokio::spawn(poll_ref(
                    shared.clone(),
                    slot,
                    repo,
                    git_ref,
                    Duration::from_secs(args.poll_interval),
                    workers_rx.clone(),
                ))
            })
            .collect()
    } else {
        Vec::new()
    };

    // Each listener has its own accept loop and connection cap.
    let (server_stop, server_rx) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    let mut serve = |listener: tokio::net::TcpListener, app: Router, flag: &'static str| {
        let http = args.http.clone();
        let mut stop = server_rx.clone();
        servers.spawn(async move {
            let served = crate::http_guard::serve(listener, app, &http, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
            (flag, served)
        });
    };
    serve(
        listener,
        public_router(shared.clone(), probes.is_none()),
        "--listen",
    );
    if let Some((listener, _)) = probes {
        serve(listener, probe_router(shared.clone()), "--probe-listen");
    }
    if let Some((listener, app)) = portal {
        serve(listener, app, "--portal-listen");
    }

    let server_failed = tokio::select! {
        _ = shutdown => None,
        // Workers only return once told to stop.
        _ = &mut workers => None,
        Some(r) = servers.join_next() => Some(match r {
            Ok((flag, Ok(()))) => format!("the HTTP server on {flag} stopped"),
            Ok((flag, Err(e))) => format!("the HTTP server on {flag} failed: {e}"),
            Err(e) => format!("an HTTP server task failed: {e}"),
        }),
    };
    match &server_failed {
        None => {
            tracing::info!("shutdown requested: no new reconciles; waiting for the one in flight")
        }
        Some(why) => tracing::error!(error = %why, "shutting down"),
    }

    // Stop every trigger and ask in-flight applies to stop after their
    // current batch; keep polling the workers while the scheduler stops.
    shared.accepting.store(false, Ordering::SeqCst);
    shared.stop.store(true, Ordering::SeqCst);
    let _ = workers_stop.send(true);
    let timeout = Duration::from_secs(args.shutdown_timeout);
    let (drained, scheduler_stopped) = tokio::join!(
        tokio::time::timeout(timeout, &mut workers),
        tokio::time::timeout(Duration::from_secs(5), scheduler.shutdown()),
    );
    if scheduler_stopped.is_err() {
        tracing::warn!("the scheduler did not stop within 5 s");
    }
    for p in pollers {
        p.abort();
    }
    if drained.is_err() {
        // Returning drops the in-flight reconcile mid-request.
        tracing::warn!(
            timeout_s = args.shutdown_timeout,
            "a reconcile did not finish within --shutdown-timeout: abandoning it"
        );
    }
    if let (Some(el), Some((run, on_lead, stop))) = (&leader, election) {
        on_lead.abort();
        // The workers are done: stop renewing, then hand the Lease over.
        let _ = stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
        el.release().await;
    }
    let _ = server_stop.send(true);
    let drain = async { while servers.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        servers.abort_all();
    }
    tracing::info!("seatkeeper controller stopped");
    match server_failed {
        None => Ok(()),
        Some(why) => Err(config_error(why)),
    }
}

/// Completes on SIGTERM (Kubernetes) or SIGINT (Ctrl-C). The handlers are
/// installed before this returns, so a signal sent right after start-up is
/// not lost.
fn shutdown_signal() -> crate::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| config_error(format!("cannot handle {name}: {e}")))
        };
        let mut term = install(SignalKind::terminate(), "SIGTERM")?;
        let mut int = install(SignalKind::interrupt(), "SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
                _ = int.recv() => tracing::info!(signal = "SIGINT", "signal received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Start-up problems of the controller itself (not of GitHub), reported
/// through the crate's configuration error.
fn config_error(message: String) -> crate::Error {
    GitHubError::Config(message).into()
}

fn schedule_help(schedule: &str) -> String {
    format!(
        "--schedule `{schedule}` is not a cron expression with seconds: use 6 fields `SEC MIN HOUR DAY MONTH WEEKDAY` in UTC, e.g. `0 */10 * * * *` (every 10 minutes)"
    )
}

/// Bind `addr` (the value of `flag`); the address bound (port 0 resolved).
async fn bind(
    addr: SocketAddr,
    flag: &str,
) -> crate::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| config_error(format!("cannot listen on {addr} ({flag}): {e}")))?;
    let bound = listener.local_addr().unwrap_or(addr);
    Ok((listener, bound))
}

/// The webhook secret from `--webhook-secret-file`, else the environment.
fn webhook_config(args: &RunArgs) -> crate::Result<Option<WebhookConfig>> {
    let secret = match &args.webhook_secret_file {
        // Bounded, trimmed (files written with `echo` end in a newline
        // GitHub never saw), not empty, and a warning when others can read it.
        Some(path) => Some(SecretString::from(crate::github::client::read_secret(
            path,
            "webhook secret file",
        )?)),
        None => std::env::var(WEBHOOK_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .map(SecretString::from),
    };
    Ok(secret.map(|secret| WebhookConfig {
        secret,
        branch: args.webhook_branch.clone(),
    }))
}

/// The cron job: every tick requests a run of every org (after a random
/// delay of up to `--jitter` seconds each, so many controllers sharing a
/// schedule do not hit GitHub in the same second).
async fn start_scheduler(shared: &Arc<Shared>, schedule: &str) -> crate::Result<JobScheduler> {
    let fail = |what: &str, e: tokio_cron_scheduler::JobSchedulerError| {
        config_error(format!("cannot {what} the scheduler: {e}"))
    };
    let scheduler = JobScheduler::new().await.map_err(|e| fail("create", e))?;
    let sh = shared.clone();
    let job = Job::new_async_tz(schedule, Utc, move |_, _| {
        let sh = sh.clone();
        Box::pin(async move { sh.scheduled_tick() })
    })
    .map_err(|_| config_error(schedule_help(schedule)))?;
    let id = scheduler
        .add(job)
        .await
        .map_err(|e| fail("add a job to", e))?;
    let handle = scheduler.clone();
    let next: NextRunFn = Arc::new(move || {
        let mut handle = handle.clone();
        Box::pin(async move { handle.next_tick_for_job(id).await.ok().flatten() })
    });
    *lock(&shared.next_run) = Some(next);
    scheduler.start().await.map_err(|e| fail("start", e))?;
    Ok(scheduler)
}

type NextRunFn = Arc<dyn Fn() -> BoxFuture<'static, Option<DateTime<Utc>>> + Send + Sync>;

struct WebhookConfig {
    secret: SecretString,
    branch: String,
}

/// Everything the workers and the HTTP handlers share.
struct Shared {
    client: GitHubClient,
    metrics: Metrics,
    /// With `--leader-elect`: only while it leads does this replica reconcile.
    leader: Option<Arc<crate::leader::Elector>>,
    orgs: Vec<Arc<OrgSlot>>,
    /// Reconcile options shared by every org (mode, batch size, stop flag).
    options: Options,
    dry_run: bool,
    schedule: String,
    jitter: u64,
    /// Set on shutdown: reconciles stop between batches.
    stop: Arc<AtomicBool>,
    /// Cleared on shutdown: the schedule and the webhook trigger nothing.
    accepting: AtomicBool,
    webhook: Option<WebhookConfig>,
    next_run: Mutex<Option<NextRunFn>>,
    /// Which source manages each org (`org:NAME` / `enterprise:NAME`), so
    /// two sources naming the same org cannot undo each other's changes.
    claims: Mutex<HashMap<String, usize>>,
    /// Replays, bodies in flight, webhook trigger intervals, rejection logs.
    guard: WebhookGuard,
    /// Who may read `/status` in full.
    status_access: StatusAccess,
    /// With a webhook or `--poll-interval`: resolve each `github:` source's
    /// ref to its commit first and read the file at that commit, so
    /// `/status` can name the commit behind every change.
    track_commits: bool,
    /// The rate budget every org's reconciles are planned by (one token).
    budget: Mutex<crate::rate::Budget>,
}

/// One `--config` source and what is known about its org.
struct OrgSlot {
    index: usize,
    spec: SourceSpec,
    source: String,
    trigger: Notify,
    status: Mutex<OrgStatus>,
    /// The source ref's last known commit and its ETag (commit tracking),
    /// shared by the worker and the poller so each read is conditional.
    head: Mutex<Option<(String, Option<String>)>>,
    /// When the AI-credit usage report was last read for the metric: the
    /// rate budget plans the next read's points while one is due.
    usage_read_at: Mutex<Option<Instant>>,
}

impl OrgSlot {
    /// The `org` label: the org named by the last valid read of the source,
    /// else the source itself.
    fn label(&self) -> String {
        lock(&self.status)
            .org
            .clone()
            .unwrap_or_else(|| self.source.clone())
    }

    /// Whether a reconcile finishing at `now` reads the usage report.
    fn usage_read_due(&self, now: Instant) -> bool {
        lock(&self.usage_read_at)
            .is_none_or(|t| now.saturating_duration_since(t) >= USAGE_READ_EVERY)
    }
}

/// What one attempt produced.
struct Attempt {
    sha: Option<String>,
    commit: Option<String>,
    source_valid: bool,
    suspended: bool,
    result: crate::Result<Outcome>,
}

/// A worker's own state: the source (with its ETag cache) and the last
/// file that parsed, reused when GitHub answers 304.
struct WorkerState {
    source: Source,
    last: Option<Loaded>,
    /// With `--leader-elect`: the leadership term this reconcile runs in;
    /// every write batch is fenced against it.
    term: Option<u64>,
}

/// How often the AI-credit metric reads the usage report: GitHub's billing
/// usage is not live, and each read is a request.
const USAGE_READ_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The points one usage read costs: a single `GET` (retries, if any, are
/// measured and recorded as spent). The rate budget plans them into a run
/// the read is due in.
const USAGE_READ_POINTS: u64 = 1;

async fn worker(shared: Arc<Shared>, slot: Arc<OrgSlot>, mut shutdown: watch::Receiver<bool>) {
    let mut state = WorkerState {
        source: Source::new(slot.spec.clone()),
        last: None,
        term: None,
    };
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = slot.trigger.notified() => {}
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if let Some(el) = &shared.leader {
            // A follower reconciles nothing; becoming the leader triggers a run.
            match el.term() {
                Some(term) => state.term = Some(term),
                None => continue,
            }
        }
        if !shared.wait_for_budget(&slot, &mut shutdown).await {
            return;
        }
        shared.reconcile_org(&slot, &mut state).await;
    }
}

/// `--poll-interval`: read the source ref's commit SHA every `every` (one
/// conditional request; 304 while it stays put) and trigger the worker when
/// it moves away from the commit the last reconcile read.
async fn poll_ref(
    shared: Arc<Shared>,
    slot: Arc<OrgSlot>,
    repo: RepoRef,
    git_ref: String,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(every) => {}
        }
        if !shared.accepting.load(Ordering::SeqCst) {
            return;
        }
        match read_head(&shared.client, &slot, &repo, &git_ref).await {
            Ok((Some(sha), true)) => {
                let applied = lock(&slot.status).source_commit.clone();
                if applied.as_deref() != Some(sha.as_str()) {
                    tracing::info!(source = %slot.source, commit = %sha, "poll: the source ref moved: reconcile requested");
                    slot.trigger.notify_one();
                }
            }
            Ok((Some(_), false)) => {}
            Ok((None, _)) => {
                tracing::warn!(source = %slot.source, git_ref = %git_ref, "poll: the source ref does not exist");
            }
            Err(e) => {
                tracing::warn!(source = %slot.source, error = %e, "poll: cannot read the source ref");
            }
        }
    }
}

/// Where the source ref points, read conditionally with the slot's ETag;
/// the flag is true when GitHub sent a fresh answer (not a 304).
async fn read_head(
    client: &GitHubClient,
    slot: &OrgSlot,
    repo: &RepoRef,
    git_ref: &str,
) -> Result<(Option<String>, bool), GitHubError> {
    let known = lock(&slot.head).clone();
    let etag = known.as_ref().and_then(|(_, e)| e.clone());
    match RepoApi::get_ref(client, repo, git_ref, etag.as_deref()).await? {
        RefRead::NotModified => Ok((known.map(|(c, _)| c), false)),
        RefRead::Found { sha, etag } => {
            *lock(&slot.head) = Some((sha.clone(), etag));
            Ok((Some(sha), true))
        }
        // The contents read at the ref then says what is wrong.
        RefRead::Missing => Ok((None, true)),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn scheduled_tick(self: &Arc<Self>) {
        if !self.accepting.load(Ordering::SeqCst) {
            return;
        }
        for slot in &self.orgs {
            if self.jitter == 0 {
                slot.trigger.notify_one();
                continue;
            }
            let delay =
                Duration::from_millis(rand::random_range(0..=self.jitter.saturating_mul(1000)));
            let sh = self.clone();
            let slot = slot.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if sh.accepting.load(Ordering::SeqCst) {
                    slot.trigger.notify_one();
                }
            });
        }
    }

    async fn next_run(&self) -> Option<DateTime<Utc>> {
        let next = lock(&self.next_run).clone()?;
        tokio::time::timeout(Duration::from_secs(1), next())
            .await
            .ok()
            .flatten()
    }

    /// Record `org` as managed by source `index`; `Err` names the source
    /// that already manages it.
    fn claim(&self, key: &str, index: usize) -> Result<(), String> {
        let mut claims = lock(&self.claims);
        if let Some(&other) = claims.get(key)
            && other != index
        {
            return Err(self.orgs[other].source.clone());
        }
        // The file may have been edited to name another org: let the old one go.
        claims.retain(|_, i| *i != index);
        claims.insert(key.to_string(), index);
        Ok(())
    }

    async fn attempt(&self, slot: &OrgSlot, state: &mut WorkerState) -> Attempt {
        let commit = match self.resolve_commit(slot).await {
            Ok(c) => c,
            Err(e) => {
                return Attempt {
                    sha: None,
                    commit: None,
                    source_valid: false,
                    suspended: false,
                    result: Err(e.into()),
                };
            }
        };
        let invalid = |sha: Option<String>, e: crate::Error| Attempt {
            sha,
            commit: commit.clone(),
            source_valid: false,
            suspended: false,
            result: Err(e),
        };
        let raw = match state.source.read_at(&self.client, commit.as_deref()).await {
            Ok(raw) => raw,
            Err(e) => return invalid(None, e),
        };
        let sha = Some(raw.sha.clone());
        // A 304 means the very bytes that were validated last time.
        let cached = state
            .last
            .take()
            .filter(|l| raw.unchanged && l.sha.as_deref() == Some(raw.sha.as_str()));
        let loaded = match cached {
            Some(l) => l,
            None => match raw.parse() {
                Ok(l) => l,
                Err(e) => return invalid(sha, e),
            },
        };
        state.last = Some(loaded.clone());
        let scope = &loaded.file.scope;
        let key = format!("{}:{}", scope.kind(), scope.name().to_ascii_lowercase());
        if let Err(other) = self.claim(&key, slot.index) {
            return invalid(
                sha,
                config_error(format!(
                    "{}: {} {} is already managed by --config {other}: give each org exactly one source",
                    slot.source,
                    scope.kind(),
                    scope.name()
                )),
            );
        }
        {
            let mut st = lock(&slot.status);
            st.org = Some(scope.name().to_string());
            st.kind = Some(scope.kind());
        }
        let result = match (&self.leader, state.term) {
            (Some(elector), Some(term)) => {
                let fenced = crate::leader::Fenced {
                    inner: &self.client,
                    elector,
                    term,
                };
                crate::reconcile::reconcile(&fenced, &loaded, &self.options).await
            }
            _ => crate::reconcile::reconcile(&self.client, &loaded, &self.options).await,
        };
        Attempt {
            sha,
            commit,
            // A team the file names that GitHub does not know is a problem
            // in the file, reported at its line.
            source_valid: !matches!(result, Err(crate::Error::Config(_))),
            suspended: loaded.file.policy.suspend,
            result,
        }
    }

    /// With commit tracking, the commit the source's ref points at now (a
    /// conditional read: unchanged costs a 304); `None` without tracking, for
    /// a local file, or for a source pinned to a commit SHA.
    async fn resolve_commit(&self, slot: &OrgSlot) -> Result<Option<String>, GitHubError> {
        if !self.track_commits {
            return Ok(None);
        }
        let Some((repo, git_ref)) = slot.spec.movable_ref() else {
            return Ok(None);
        };
        read_head(&self.client, slot, &repo, &git_ref)
            .await
            .map(|(sha, _)| sha)
    }

    /// The `seatkeeper_ai_credits_used` gauge: this month's report for the
    /// whole scope. A route that does not answer (no billing permission)
    /// leaves the gauge unset and logs why once per read.
    async fn read_ai_credits(&self, org: &str, scope: &crate::config::Scope) {
        use crate::github::usage::{UsageApi, UsageRead};
        let today = Utc::now().date_naive();
        match self
            .client
            .ai_credit_usage(scope, None, today.year(), today.month())
            .await
        {
            Ok(UsageRead::Credits(c)) => self.metrics.set_ai_credits_used(org, c),
            Ok(UsageRead::Unavailable(why)) => {
                tracing::info!(org = %org, "seatkeeper_ai_credits_used not set: {why}")
            }
            Err(e) => tracing::warn!(org = %org, error = %e, "cannot read AI-credit usage"),
        }
    }

    async fn reconcile_org(&self, slot: &OrgSlot, state: &mut WorkerState) {
        let started = Instant::now();
        {
            let mut st = lock(&slot.status);
            st.running = true;
            st.last_started_at = Some(Utc::now());
        }
        let points = || self.client.stats().primary_points;
        let points_before = points();
        let attempt = self.attempt(slot, state).await;
        let elapsed = started.elapsed();
        let points_reconciled = points();
        let org = slot.label();
        if let Ok(outcome) = &attempt.result
            && slot.usage_read_due(Instant::now())
        {
            *lock(&slot.usage_read_at) = Some(Instant::now());
            self.read_ai_credits(&org, &outcome.scope).await;
        }
        // One client for every org: a reconcile of another org running at
        // the same time is counted here too (an overestimate, never less).
        // The usage read is this org's spend as well, planned apart.
        self.record_spend(
            slot,
            Spend {
                reconcile: points_reconciled.saturating_sub(points_before),
                extra: points().saturating_sub(points_reconciled),
            },
        );
        let duration_ms = elapsed.as_millis() as u64;
        let result = match &attempt.result {
            Ok(o) => o.metric_result(),
            Err(_) => "error",
        };
        self.metrics.set_valid(&org, attempt.source_valid);
        self.metrics
            .observe_reconcile(&org, result, elapsed.as_secs_f64());
        if let Ok(outcome) = &attempt.result {
            self.metrics.observe_outcome(&org, outcome);
        }
        let sha = attempt.sha.as_deref().unwrap_or("");
        let mode = if self.dry_run {
            "dry_run"
        } else if attempt.suspended {
            "suspended"
        } else {
            "apply"
        };
        match &attempt.result {
            Ok(o) => {
                let count =
                    |f: fn(Action) -> bool| o.plan.changes.iter().filter(|c| f(c.action)).count();
                let adds = count(|a| !a.is_removal());
                let removes = count(Action::is_removal);
                let applied = o.results.iter().filter(|r| r.result == "ok").count();
                let failed = o.failed().count();
                let summary = crate::render::summary_line(&o.plan);
                let status = status_str(o.status);
                macro_rules! summary_event {
                    ($level:ident) => {
                        tracing::$level!(
                            event = "reconcile",
                            org = %org,
                            source = %slot.source,
                            source_sha = sha,
                            source_commit = attempt.commit.as_deref().unwrap_or(""),
                            result,
                            status,
                            mode,
                            adds,
                            removes,
                            applied,
                            failed,
                            seats_before = o.plan.seats_before,
                            seats_after = o.plan.seats_after,
                            duration_ms,
                            error = "",
                            "{summary}"
                        )
                    };
                }
                if result == "success" {
                    summary_event!(info);
                } else {
                    summary_event!(warn);
                }
                if o.plan.guard.tripped {
                    for r in &o.plan.guard.reasons {
                        tracing::warn!(
                            org = %org,
                            guard = %crate::render::guard_message(r, |s| format!("`{s}`")),
                            "plan guarded: nothing applied"
                        );
                    }
                }
                for r in o.plan.budgets.iter().flat_map(|b| &b.guard) {
                    tracing::warn!(org = %org, guard = %r.message(), "plan guarded: nothing applied");
                }
                for h in &o.plan.held {
                    tracing::warn!(
                        org = %org, login = %h.login, listed = %h.listed, reason = h.code.as_str(),
                        "removal held: seats.yaml lists {}, which GitHub does not know; did you mean {}?",
                        h.listed, h.login
                    );
                }
                if mode != "apply" {
                    // Nothing is written: say who would gain or lose a seat.
                    for c in &o.plan.changes {
                        tracing::info!(
                            event = "planned_change",
                            org = %org,
                            mode,
                            action = c.action.as_str(),
                            name = %c.name,
                            reason = c.reason.as_str(),
                            keeps_via = %c.keeps_via.join(", "),
                            "would {} {}",
                            c.action.as_str().replace('_', " "),
                            c.name
                        );
                    }
                }
                for i in &o.ineligible {
                    tracing::warn!(
                        org = %org, login = %i.login, reason = %i.reason,
                        "{}:{}: not added", slot.source, i.pos
                    );
                }
                for t in &o.empty_teams {
                    tracing::warn!(org = %org, team = %t, "team has no members: it grants no seat");
                }
                let mut st = lock(&slot.status);
                st.last_planned = o
                    .plan
                    .changes
                    .iter()
                    .take(STATUS_CHANGES)
                    .map(|c| PlannedChange {
                        action: c.action.as_str(),
                        name: c.name.clone(),
                        reason: c.reason.as_str(),
                        keeps_via: c.keeps_via.clone(),
                    })
                    .collect();
                st.last_planned_total = o.plan.changes.len();
                st.last_held = o.plan.held.clone();
                st.last_guard = o
                    .plan
                    .guard
                    .reasons
                    .iter()
                    .map(|r| crate::render::guard_message(r, str::to_string))
                    .collect();
                let now = Utc::now();
                let recent: Vec<RecentChange> = o
                    .results
                    .iter()
                    .filter(|r| r.result != "skipped")
                    .map(|r| RecentChange {
                        at: now,
                        action: r.action.as_str(),
                        name: r.name.clone(),
                        reason: r.reason,
                        result: r.result,
                        source_sha: attempt.sha.clone(),
                        commit: attempt.commit.clone(),
                    })
                    .collect();
                let mut changes = recent;
                changes.append(&mut st.recent_changes);
                changes.truncate(RECENT_CHANGES);
                st.recent_changes = changes;
                st.last_status = Some(status.to_string());
                st.last_summary = Some(summary);
                st.last_applied = applied;
                st.last_failed = failed;
                st.last_error = None;
                if result == "success" {
                    st.last_success_at = Some(Utc::now());
                }
            }
            Err(e) => {
                let status = if attempt.source_valid {
                    "error"
                } else {
                    "invalid_source"
                };
                tracing::error!(
                    event = "reconcile",
                    org = %org,
                    source = %slot.source,
                    source_sha = sha,
                    result,
                    status,
                    mode,
                    error_kind = e.metric_label(),
                    duration_ms,
                    error = %e,
                    "reconcile failed: nothing written{}",
                    if attempt.source_valid { "" } else { " (desired state unreadable or invalid)" }
                );
                let mut st = lock(&slot.status);
                st.last_planned.clear();
                st.last_planned_total = 0;
                st.last_held.clear();
                st.last_guard.clear();
                st.last_status = Some(status.to_string());
                st.last_summary = None;
                st.last_applied = 0;
                st.last_failed = 0;
                st.last_error = Some(e.to_string());
            }
        }
        let mut st = lock(&slot.status);
        st.running = false;
        st.runs += 1;
        st.last_finished_at = Some(Utc::now());
        st.last_duration_ms = Some(duration_ms);
        st.last_result = Some(result);
        st.source_sha = attempt.sha;
        st.source_commit = attempt.commit;
        st.source_valid = Some(attempt.source_valid);
        st.suspended = attempt.suspended;
    }

    /// Why the controller is not ready, one line per org; empty when ready.
    fn not_ready(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if !self.accepting.load(Ordering::SeqCst) {
            reasons.push("shutting down".to_string());
        }
        if self.leader.as_ref().is_some_and(|el| !el.is_leading()) {
            // A follower reads no source: ready to take over is all it can be.
            return reasons;
        }
        for slot in &self.orgs {
            let st = lock(&slot.status);
            let name = st.org.clone().unwrap_or_else(|| slot.source.clone());
            if st.last_finished_at.is_none() {
                reasons.push(format!("{name}: first reconcile not finished"));
            } else if st.source_valid != Some(true) {
                let why = st
                    .last_error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .unwrap_or("unknown error");
                reasons.push(format!(
                    "{name}: desired state unreadable or invalid: {why}"
                ));
            }
        }
        reasons
    }
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::InSync => "in_sync",
        Status::Planned => "planned",
        Status::Applied => "applied",
        Status::PartiallyApplied => "partially_applied",
        Status::Guarded => "guarded",
        Status::Stopped => "stopped",
    }
}

// ---------------------------------------------------------------------------
// HTTP

/// `--listen`: the webhook and `/status`, and the probes too when there is
/// no `--probe-listen`.
fn public_router(shared: Arc<Shared>, with_probes: bool) -> Router {
    let public = Router::new()
        .route("/status", get(status::status))
        .route("/webhook", post(webhook));
    let router = if with_probes {
        public.merge(probe_routes())
    } else {
        public
    };
    router.with_state(shared)
}

/// `--probe-listen`: `/healthz`, `/readyz` and `/metrics` only.
fn probe_router(shared: Arc<Shared>) -> Router {
    probe_routes().with_state(shared)
}

fn probe_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
}

async fn metrics(State(sh): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        sh.metrics.encode(),
    )
        .into_response()
}

async fn readyz(State(sh): State<Arc<Shared>>) -> Response {
    let reasons = sh.not_ready();
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready:\n{}\n", reasons.join("\n")),
        )
            .into_response()
    }
}

/// The parts of a `push` event used here.
#[derive(Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: String,
    repository: Option<PushRepository>,
}

#[derive(Deserialize)]
struct PushRepository {
    full_name: String,
}

/// `X-Hub-Signature-256: sha256=HEX` must be the HMAC-SHA256 of the raw body
/// under the shared secret, compared in constant time.
pub fn signature_valid(secret: &[u8], signature: Option<&str>, body: &[u8]) -> bool {
    let Some(sig) = signature
        .and_then(|s| s.strip_prefix("sha256="))
        .and_then(decode_hex)
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    sig.len() == expected.len() && bool::from(expected[..].ct_eq(&sig))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

async fn webhook(State(sh): State<Arc<Shared>>, request: Request) -> Response {
    let Some(config) = &sh.webhook else {
        return (
            StatusCode::NOT_FOUND,
            "webhook disabled: start with --webhook-secret-file or SEATKEEPER_WEBHOOK_SECRET\n",
        )
            .into_response();
    };
    let (parts, body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let delivery = text("x-github-delivery").unwrap_or("").to_string();
    let event = text("x-github-event").unwrap_or("").to_string();
    // Unsigned: refused before a byte of the body is read.
    if headers.get("x-hub-signature-256").is_none() {
        sh.guard.log_rejection("unsigned", 401, &delivery, &event);
        return (StatusCode::UNAUTHORIZED, "missing X-Hub-Signature-256\n").into_response();
    }
    let length = text("content-length").and_then(|v| v.parse::<u64>().ok());
    let client = parts
        .extensions
        .get::<crate::http_guard::Peer>()
        .map(|p| p.0.ip());
    let body = match sh
        .guard
        .read_body(body, length, MAX_WEBHOOK_BODY, client)
        .await
    {
        Ok(body) => body,
        Err(e) => {
            sh.guard
                .log_rejection(e.reason(), e.status().as_u16(), &delivery, &event);
            let mut response = (e.status(), format!("{e}\n")).into_response();
            if e == crate::http_guard::BodyError::Busy {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
    };
    if !signature_valid(
        config.secret.expose_secret().as_bytes(),
        text("x-hub-signature-256"),
        &body,
    ) {
        sh.guard
            .log_rejection("bad_signature", 401, &delivery, &event);
        return (
            StatusCode::UNAUTHORIZED,
            "missing or invalid X-Hub-Signature-256\n",
        )
            .into_response();
    }
    match event.as_str() {
        "ping" => return (StatusCode::OK, "pong\n").into_response(),
        "push" => {}
        _ => {
            return (StatusCode::OK, format!("ignored: event `{event}`\n")).into_response();
        }
    }
    let push: PushEvent = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a push event payload: {e}\n"),
            )
                .into_response();
        }
    };
    let wanted = format!("refs/heads/{}", config.branch);
    if push.git_ref != wanted {
        tracing::info!(delivery = %delivery, git_ref = %push.git_ref, "webhook push ignored: not {wanted}");
        return (
            StatusCode::OK,
            format!("ignored: push to {}, not {wanted}\n", push.git_ref),
        )
            .into_response();
    }
    let repo = push.repository.map(|r| r.full_name);
    // A github: source is triggered by pushes to its own repository; a
    // local file may be a checkout of any repository (git-sync), so every
    // push to the branch triggers it.
    let targets: Vec<&Arc<OrgSlot>> = sh
        .orgs
        .iter()
        .filter(|slot| match (&slot.spec, &repo) {
            (
                SourceSpec::GitHub {
                    owner, repo: name, ..
                },
                Some(full),
            ) => full.eq_ignore_ascii_case(&format!("{owner}/{name}")),
            (SourceSpec::GitHub { .. }, None) => true,
            (SourceSpec::Path(_), _) => true,
        })
        .collect();
    if targets.is_empty() {
        return (
            StatusCode::OK,
            format!(
                "ignored: no --config source reads {}\n",
                repo.as_deref().unwrap_or("that repository")
            ),
        )
            .into_response();
    }
    if !sh.accepting.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    // A delivery that triggered a reconcile once never does again (GitHub
    // reuses the id on redelivery; a replay reuses it too).
    if !delivery.is_empty() && !sh.guard.first_delivery(&delivery) {
        sh.guard.log_replay(&delivery);
        return (
            StatusCode::OK,
            "ignored: this X-GitHub-Delivery was already processed\n",
        )
            .into_response();
    }
    if let Some(el) = sh.leader.as_ref().filter(|el| !el.is_leading()) {
        // Not forwarded: the leader's schedule or --poll-interval takes the
        // push (a follower cannot reach the leader's pod without more RBAC
        // and addressing, and a lost forward would be silent).
        let view = el.view();
        tracing::info!(delivery = %delivery, leader = view.holder.as_deref().unwrap_or(""), "webhook push on a follower: the leader takes it at its next schedule or poll");
        return (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({
                "triggered": [],
                "follower": true,
                "leader": view.holder,
            })),
        )
            .into_response();
    }
    let names: Vec<String> = targets.iter().map(|s| s.label()).collect();
    for slot in targets {
        let (shared, slot) = (sh.clone(), slot.clone());
        sh.guard.trigger(slot.index, move || {
            if shared.accepting.load(Ordering::SeqCst) {
                slot.trigger.notify_one();
            }
        });
    }
    tracing::info!(
        delivery = %delivery,
        repository = repo.as_deref().unwrap_or(""),
        orgs = %names.join(","),
        "webhook push: reconcile requested"
    );
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "triggered": names })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256={hex}")
    }

    #[test]
    fn signatures() {
        // GitHub's documented example ("Validating webhook deliveries"):
        // secret "It's a Secret to Everybody", payload "Hello, World!".
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, body), good);
        assert!(signature_valid(secret, Some(good), body));
        assert!(signature_valid(
            secret,
            Some(&good.to_uppercase().replace("SHA256=", "sha256=")),
            body
        ));
        let cases: &[Option<&str>] = &[
            None,
            Some(""),
            Some("sha256="),
            Some("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
            Some("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"),
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e"),
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"),
            Some("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1700"),
        ];
        for c in cases {
            assert!(!signature_valid(secret, *c, body), "{c:?}");
        }
        assert!(!signature_valid(b"other", Some(good), body));
        assert!(!signature_valid(secret, Some(good), b"Hello, World?"));
    }

    #[test]
    fn listens_on_loopback_unless_told_and_status_access_is_one_choice() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            run: RunArgs,
        }
        use clap::Parser as _;
        let run = Cli::try_parse_from(["run", "seats.yaml"]).unwrap().run;
        assert!(run.listen.ip().is_loopback(), "{}", run.listen);
        assert_eq!(run.probe_listen, None);
        assert!(!run.status_public && run.status_token_file.is_none());
        let both = [
            "run",
            "seats.yaml",
            "--status-public",
            "--status-token-file",
            "t",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("é1"), None);
    }
}
