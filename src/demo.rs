//! `seatkeeper demo`: the whole loop against the built-in simulator, with no
//! token and no network. Plan, apply, show each result, plan again (empty).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use crate::github::GitHubError;
use crate::github::args::GitHubArgs;
use crate::github::client::GitHubClient;
use crate::reconcile::{self, ChangeHook, Mode, Options, Status};
use crate::simulator::{DEMO_REPO, SimOptions, Simulator, WebhookTarget, demo_state};
use crate::source::Loaded;

/// The webhook secret of `demo --serve` (a demo, not a secret).
const DEMO_WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// The team whose members see the demo portal's admin view.
const DEMO_ADMIN_TEAM: &str = "platform";

/// Where the demo's seats.yaml lives in a checkout of seatkeeper.
pub const DEMO_FILE: &str = "examples/demo/seats.yaml";

/// A copy of [`DEMO_FILE`], built in for runs outside a checkout. It is a
/// separate file so that editing the example does not rebuild the binary
/// (cargo tracks `include_str!` inputs); a test keeps the two equal.
pub const BUILT_IN_SEATS: &str = include_str!("demo_seats.yaml");

/// Exit code of a demo stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// How `seatkeeper demo` runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The desired state; `None` finds [`DEMO_FILE`] in the checkout around
    /// the working directory, else uses [`BUILT_IN_SEATS`].
    pub config: Option<PathBuf>,
    /// Keep the simulator and a controller running afterwards.
    pub serve: bool,
    /// Where the controller listens with `serve`.
    pub listen: SocketAddr,
    /// Where the controller serves its probes and metrics with `serve`
    /// (`None`: on `listen`).
    pub probe_listen: Option<SocketAddr>,
    /// Where the portal listens with `serve` (`None`: 127.0.0.1, a free port).
    pub portal_listen: Option<SocketAddr>,
    /// Seconds between the controller's scheduled reconciles with `serve`.
    pub interval_secs: u64,
    /// Added to every simulated GitHub request (tests use it to interrupt
    /// an apply midway).
    pub sim_latency: Duration,
    /// After the apply, ask for a seat with `request` against a protected
    /// `main` of the simulated repository: GitHub's reason and the next step.
    pub protected_branch: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            config: None,
            serve: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            probe_listen: None,
            portal_listen: None,
            interval_secs: 10,
            sim_latency: Duration::ZERO,
            protected_branch: false,
        }
    }
}

/// How the demo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoEnd {
    /// The second plan was empty, as it must be.
    Converged,
    /// The second plan still had changes.
    NotConverged,
    /// Ctrl-C stopped the apply between two batches.
    Interrupted,
}

/// Phases a Ctrl-C can land in before `--serve` takes over the signal.
const PHASE_PLAN: u8 = 0;
const PHASE_APPLY: u8 = 1;

/// The demo's seats.yaml: `config` when given (it must exist), else the
/// example in the checkout around the working directory, else the built-in
/// copy. Read at run time, so editing the example needs no rebuild.
pub fn load_desired(config: Option<&Path>) -> crate::Result<Loaded> {
    if let Some(path) = config {
        return Loaded::from_path(path);
    }
    match find_in_checkout() {
        Some(path) => Loaded::from_path(&path),
        None => Loaded::parse(
            &format!("{DEMO_FILE} (built-in copy: no seatkeeper checkout here)"),
            BUILT_IN_SEATS.as_bytes(),
            None,
        ),
    }
}

/// [`DEMO_FILE`] in the working directory or the nearest parent that holds
/// a `Cargo.toml` next to it (a checkout), shown relative when it can be.
fn find_in_checkout() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    for dir in cwd.ancestors() {
        let file = dir.join(DEMO_FILE);
        if dir.join("Cargo.toml").is_file() && file.is_file() {
            return Some(match file.strip_prefix(&cwd) {
                Ok(rel) => rel.to_path_buf(),
                Err(_) => file,
            });
        }
    }
    None
}

/// How a person runs seatkeeper here: `cargo run --release --` when this
/// process was started by cargo or lives in a cargo target directory (a
/// clone, where `seatkeeper` is not on PATH), else `seatkeeper`.
pub fn invocation() -> String {
    let exe = std::env::current_exe().ok();
    invocation_for(std::env::var_os("CARGO").is_some(), exe.as_deref())
}

/// [`invocation`] for a given environment: `cargo` says whether the `CARGO`
/// variable is set, `exe` is this binary's path.
pub fn invocation_for(cargo: bool, exe: Option<&Path>) -> String {
    // target/<profile>/seatkeeper: the profile is the parent directory.
    let profile = exe.and_then(|e| {
        let dir = e.parent()?;
        // A directory named `target`, or any cargo target directory
        // (`CARGO_TARGET_DIR` elsewhere): cargo tags its root with CACHEDIR.TAG.
        let in_target = dir
            .ancestors()
            .skip(1)
            .any(|a| a.file_name().is_some_and(|n| n == "target"))
            || dir
                .parent()
                .is_some_and(|t| t.join("CACHEDIR.TAG").is_file());
        let name = dir.file_name()?.to_str()?.to_string();
        in_target.then_some(name)
    });
    if !cargo && profile.is_none() {
        return "seatkeeper".to_string();
    }
    match profile.as_deref() {
        Some("debug") => "cargo run --".to_string(),
        Some("release") | None => "cargo run --release --".to_string(),
        Some(other) => format!("cargo run --profile {other} --"),
    }
}

/// Run the demo. With `serve`, keep the simulator and a controller running
/// on `listen` until Ctrl-C.
pub async fn run(opts: DemoOptions) -> crate::Result<DemoEnd> {
    // The port first, before anything runs: a second `demo --serve` fails
    // at once, naming the port. The probe is held until the controller
    // starts, so the port stays ours meanwhile.
    let probe = if opts.serve {
        Some((
            reserve(opts.listen)?,
            opts.probe_listen.map(reserve).transpose()?,
            reserve(
                opts.portal_listen
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            )?,
        ))
    } else {
        None
    };
    let loaded = load_desired(opts.config.as_deref())?;
    let sim = Simulator::start(
        demo_state(),
        SimOptions {
            latency: opts.sim_latency,
            ..SimOptions::default()
        },
    )
    .await
    .map_err(|e| GitHubError::Config(format!("cannot start the simulator: {e}")))?;
    let client =
        GitHubClient::new(GitHubArgs::for_url(&sim.url()).config(Some(sim.token()))?).await?;
    let color = crate::render::use_color();
    let me = invocation();

    // Ctrl-C: during the apply, stop between batches and say how far it
    // got; anywhere else before --serve, just stop.
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(PHASE_PLAN));
    let watcher = {
        let (stop, phase) = (Arc::clone(&stop), Arc::clone(&phase));
        tokio::spawn(async move {
            loop {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                if phase.load(Ordering::SeqCst) == PHASE_APPLY && !stop.load(Ordering::SeqCst) {
                    stop.store(true, Ordering::SeqCst);
                } else {
                    std::process::exit(i32::from(INTERRUPTED));
                }
            }
        })
    };

    println!(
        "seatkeeper demo: a simulated GitHub org `acme` at {} (no token, no network)",
        sim.url()
    );
    println!("desired state: {}\n", loaded.path);

    let plan_opts = Options {
        mode: Mode::Plan,
        ..Options::default()
    };
    let first = reconcile::reconcile(&client, &loaded, &plan_opts).await?;
    println!("== Plan");
    print!("{}", crate::render::text(&first.plan, color));

    println!("\n== Apply");
    phase.store(PHASE_APPLY, Ordering::SeqCst);
    let apply_opts = Options {
        mode: Mode::Apply,
        stop: Some(Arc::clone(&stop)),
        // Each change as it lands, as `apply --confirm` prints it.
        on_change: ChangeHook::new(|r| print!("{}", crate::render::result_line(r)))
            .on_budget(|r| print!("{}", crate::render::budget_result_line(r))),
        ..Options::default()
    };
    let applied = reconcile::reconcile(&client, &loaded, &apply_opts).await?;
    phase.store(PHASE_PLAN, Ordering::SeqCst);
    if applied.results.is_empty() {
        println!("nothing applied ({:?})", applied.status);
    } else {
        print!("{}", crate::render::results_summary(&applied.results));
    }
    if applied.status == Status::Stopped || stop.load(Ordering::SeqCst) {
        let ok = applied.results.iter().filter(|r| r.result == "ok").count();
        let total = applied.plan.changes.len();
        println!(
            "\nInterrupted (Ctrl-C): {ok} of {total} applied; the other {} were not attempted. \
             The simulated org lives in memory: run `{me} demo` again to start over.",
            total - ok
        );
        watcher.abort();
        sim.shutdown().await;
        return Ok(DemoEnd::Interrupted);
    }

    let second = reconcile::reconcile(&client, &loaded, &plan_opts).await?;
    println!("\n== Plan again");
    print!("{}", crate::render::text(&second.plan, color));
    let converged = second.plan.is_empty();
    let stats = client.stats();
    println!(
        "\n{} requests to the simulated GitHub API; {}.",
        stats.total_requests(),
        if converged {
            "the org now matches seats.yaml"
        } else {
            "the org does NOT match seats.yaml"
        }
    );

    if opts.protected_branch {
        protected_branch(&sim, &client, &loaded, &me).await;
    }

    match probe {
        Some(probe) => {
            // The controller handles Ctrl-C from here on (graceful stop).
            watcher.abort();
            let (probe, probes, portal) = probe;
            let listeners = Listeners {
                main: probe,
                probes,
                portal,
            };
            serve_forever(&sim, &loaded, listeners, opts.interval_secs, &me).await?;
        }
        None => {
            watcher.abort();
            println!(
                "\nNext: edit {DEMO_FILE} and run `{me} demo` again (no rebuild needed), or run \
                 `{me} demo --serve` to keep a live controller running and ask it for a seat."
            );
        }
    }
    sim.shutdown().await;
    Ok(if converged {
        DemoEnd::Converged
    } else {
        DemoEnd::NotConverged
    })
}

/// The login the protected-branch step asks a seat for: a member of the
/// demo org that seats.yaml does not list.
pub const PROTECTED_BRANCH_LOGIN: &str = "zoltan";

/// GitHub's reason for refusing a direct commit to a protected branch
/// (github-observed: "Could not update file: Changes must be made through a
/// pull request.").
const PROTECTED_REASON: &str = "Changes must be made through a pull request.";

/// `demo --protected-branch`: seats.yaml goes to the simulated repository,
/// whose `main` is protected; a `request` that commits to it directly meets
/// GitHub's 409 and shows its reason and what to change. Nothing is written.
async fn protected_branch(sim: &Simulator, client: &GitHubClient, loaded: &Loaded, me: &str) {
    use crate::selfserve::{Ask, Kind, RecordOptions, record};
    sim.with_state(|s| {
        s.commit_file(
            DEMO_REPO,
            "main",
            "seats.yaml",
            &loaded.text,
            &format!("seats.yaml: the demo's desired state ({})", loaded.path),
            "octocat",
        );
        if let Ok(r) = s.repo_mut(DEMO_REPO) {
            r.protected.insert("main".into(), PROTECTED_REASON.into());
        }
    });
    println!(
        "
== Ask for a seat on a protected branch"
    );
    println!(
        "`main` of {DEMO_REPO} is protected (direct commits: \"{PROTECTED_REASON}\"); \
         `{me} request {PROTECTED_BRANCH_LOGIN} --repo {DEMO_REPO}` commits to it directly:"
    );
    let ask = Ask {
        kind: Kind::Request,
        login: PROTECTED_BRANCH_LOGIN.into(),
        requester: PROTECTED_BRANCH_LOGIN.into(),
        note: None,
        expires: None,
        source: Some("seatkeeper demo --protected-branch".into()),
        today: chrono::Utc::now().date_naive(),
        bounds: Default::default(),
        budget: None,
    };
    let mut opts = RecordOptions {
        repo: DEMO_REPO.parse().expect("DEMO_REPO is owner/name"),
        path: "seats.yaml".into(),
        git_ref: Some("main".into()),
        concurrency: 8,
    };
    match record(client, client, &ask, &mut opts).await {
        Err(e) => println!("error: {e}"),
        Ok(r) => println!("unexpected: the protected branch took the commit ({r:?})"),
    }
}

/// The ports `demo --serve` reserved before running anything.
struct Listeners {
    main: std::net::TcpListener,
    probes: Option<std::net::TcpListener>,
    portal: std::net::TcpListener,
}

/// Keep the simulator up and run the controller against it until Ctrl-C.
/// The controller reads seats.yaml from the simulated repository
/// [`DEMO_REPO`] (a `github:` source) and gets its push webhooks, so a
/// `seatkeeper request` against the simulator is applied within seconds.
async fn serve_forever(
    sim: &Simulator,
    loaded: &Loaded,
    listeners: Listeners,
    interval_secs: u64,
    me: &str,
) -> crate::Result<()> {
    let address = |l: &std::net::TcpListener| {
        l.local_addr().map_err(|e| {
            GitHubError::Config(format!("cannot read the address of the reserved port: {e}"))
        })
    };
    let Listeners {
        main: probe,
        probes,
        portal,
    } = listeners;
    let listen = address(&probe)?;
    let probe_listen = probes.as_ref().map(address).transpose()?;
    let portal_listen = address(&portal)?;
    // The token and the webhook secret live in a private directory (0700,
    // files 0600) that is removed when the demo ends.
    let dir = tempfile::Builder::new()
        .prefix("seatkeeper-demo-")
        .tempdir()
        .map_err(|source| crate::Error::Io {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
    let write = |name: &str, text: &str| {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = dir.path().join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|source| crate::Error::Io {
                path: path.display().to_string(),
                source,
            })?;
        Ok::<_, crate::Error>(path)
    };
    let token = write("token", &sim.token())?;
    // A known secret, so a person can sign a test push by hand.
    let secret = write("webhook-secret", DEMO_WEBHOOK_SECRET)?;
    // The simulated App's client secret, and a session key made now.
    let client_secret = write("portal-client-secret", crate::simulator::DEMO_CLIENT_SECRET)?;
    let session_key = write(
        "portal-session-key",
        &crate::portal::session::random_token(),
    )?;
    let (owner, repo) = DEMO_REPO
        .split_once('/')
        .unwrap_or(("acme", "copilot-seats"));
    sim.with_state(|s| {
        s.commit_file(
            DEMO_REPO,
            "main",
            "seats.yaml",
            &loaded.text,
            &format!("seats.yaml: the demo's desired state ({})", loaded.path),
            "octocat",
        )
    });
    let host = if listen.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        listen.ip()
    };
    sim.set_webhook(Some(WebhookTarget {
        url: format!("http://{}/webhook", SocketAddr::new(host, listen.port())),
        secret: DEMO_WEBHOOK_SECRET.to_string(),
    }));
    let mut github = GitHubArgs::for_url(&sim.url());
    github.token_file = Some(token);
    let endpoints = match probe_listen {
        Some(probes) => format!(
            "http://{listen}: /status /webhook (secret {DEMO_WEBHOOK_SECRET:?}); http://{probes}: /metrics /healthz /readyz"
        ),
        None => format!(
            "http://{listen}: /metrics /healthz /readyz /status /webhook (secret {DEMO_WEBHOOK_SECRET:?})"
        ),
    };
    println!(
        "\nServing: simulator {} (token {}), controller on {endpoints}.\n\
         The controller reads github:{DEMO_REPO}/seats.yaml@main and gets its push webhooks. Ask for a seat (nadia is an org member without one):\n  \
         GITHUB_TOKEN={} {me} request nadia --repo {DEMO_REPO} --github-url {}\n\
         Watch it: curl -s http://{listen}/status\n\
         Portal: http://{portal_listen}/ (sign in as an org member, e.g. nadia; members of `{DEMO_ADMIN_TEAM}` see /admin)\n\
         Pushes are listed below as they are delivered; the controller logs a change once, not every reconcile. Ctrl-C stops.",
        sim.url(),
        sim.token(),
        sim.token(),
        sim.url(),
    );
    let args = crate::daemon::RunArgs {
        sources: vec![crate::source::SourceSpec::GitHub {
            owner: owner.to_string(),
            repo: repo.to_string(),
            path: "seats.yaml".to_string(),
            reference: "main".to_string(),
        }],
        configs: Vec::new(),
        schedule: format!("*/{} * * * * *", interval_secs.clamp(1, 59)),
        jitter: 0,
        listen,
        probe_listen,
        // The demo's org is made up: /status shows it all.
        status_token_file: None,
        status_public: true,
        dry_run: false,
        webhook_secret_file: Some(secret),
        webhook_branch: "main".into(),
        poll_interval: 0,
        // The demo reconciles every few seconds against its own simulator.
        rate_budget: "100%".parse().unwrap_or_default(),
        shutdown_timeout: 10,
        http: crate::http_guard::HttpArgs::default(),
        github,
        write: crate::github::args::WriteArgs::default(),
        bounds: crate::reconcile::BoundsArgs::default(),
        portal: Box::new(crate::portal::PortalArgs {
            listen: Some(portal_listen),
            client_id: Some(crate::simulator::DEMO_CLIENT_ID.to_string()),
            client_secret_file: Some(client_secret),
            session_key_file: Some(session_key),
            github_url: sim.url(),
            admin_team: Some(DEMO_ADMIN_TEAM.to_string()),
            ..crate::portal::PortalArgs::default()
        }),
        prices: crate::reconcile::cost::PriceArgs::default(),
        leader: Box::default(),
    };
    let shown = print_pushes(sim);
    // Free the ports just before the controller binds them.
    drop(probe);
    drop(probes);
    drop(portal);
    let result = crate::daemon::run(args).await;
    shown.abort();
    result
}

/// Bind `listen` now, before the demo runs anything: a port in use fails
/// here, naming it. Port 0 becomes a concrete free port (the webhook URL
/// needs one before the controller binds).
fn reserve(listen: SocketAddr) -> crate::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(listen).map_err(|e| {
        GitHubError::Config(format!(
            "demo --serve: cannot listen on {listen}: {e} (is another demo or controller running? \
             stop it, or pick another port with --listen 127.0.0.1:PORT); nothing was run"
        ))
        .into()
    })
}

/// Print each push webhook the simulator delivers: the commit, its subject
/// and who asked (the `Requested-by` trailer of `seatkeeper request`).
fn print_pushes(sim: &Simulator) -> tokio::task::JoinHandle<()> {
    let deliveries = sim.delivery_log();
    tokio::spawn(async move {
        let mut shown = 0;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let all = deliveries();
            for d in all.iter().skip(shown) {
                println!("{}", push_line(d));
            }
            shown = all.len();
        }
    })
}

fn push_line(d: &crate::simulator::Delivery) -> String {
    let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap_or_default();
    let head = &v["head_commit"];
    let message = head["message"].as_str().unwrap_or("");
    let subject = message.lines().next().unwrap_or("");
    let by = message
        .lines()
        .find_map(|l| l.strip_prefix("Requested-by: "))
        .map(|r| format!(" (requested by {r})"))
        .unwrap_or_default();
    let status = d
        .status
        .map_or_else(|| "not delivered".to_string(), |s| format!("delivered {s}"));
    format!(
        "push {} {} {:.7} {subject:?}{by}: {status}",
        v["repository"]["full_name"].as_str().unwrap_or(""),
        v["ref"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("refs/heads/"),
        head["id"].as_str().unwrap_or(""),
    )
}
