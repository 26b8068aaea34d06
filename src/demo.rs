//! `seatkeeper demo`: the whole loop against the built-in simulator, with no
//! token and no network. Plan, apply, show each result, plan again (empty).

use std::net::SocketAddr;
use std::path::Path;

use crate::github::GitHubError;
use crate::github::args::GitHubArgs;
use crate::github::client::GitHubClient;
use crate::reconcile::{self, Mode, Options};
use crate::simulator::{DEMO_REPO, SimOptions, Simulator, WebhookTarget, demo_state};
use crate::source::Loaded;

/// The webhook secret of `demo --serve` (a demo, not a secret).
const DEMO_WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// The demo's seats.yaml, built in for runs outside the repository.
const DEMO_SEATS: &str = include_str!("../examples/demo/seats.yaml");

/// Run the demo; `Ok(true)` when the second plan is empty, as it must be.
/// With `serve`, keep the simulator and a controller running on `listen`
/// (the probes and metrics on `probe_listen` when given).
pub async fn run(
    config: &Path,
    serve: bool,
    listen: SocketAddr,
    probe_listen: Option<SocketAddr>,
) -> crate::Result<bool> {
    let loaded = if config.exists() {
        Loaded::from_path(config)?
    } else {
        Loaded::parse(
            "examples/demo/seats.yaml (built in)",
            DEMO_SEATS.as_bytes(),
            None,
        )?
    };
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .map_err(|e| GitHubError::Config(format!("cannot start the simulator: {e}")))?;
    let client =
        GitHubClient::new(GitHubArgs::for_url(&sim.url()).config(Some(sim.token()))?).await?;
    let color = crate::render::use_color();

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

    let apply_opts = Options {
        mode: Mode::Apply,
        ..Options::default()
    };
    let applied = reconcile::reconcile(&client, &loaded, &apply_opts).await?;
    println!("\n== Apply");
    if applied.results.is_empty() {
        println!("nothing applied ({:?})", applied.status);
    } else {
        print!("{}", crate::render::results(&applied.results));
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

    if serve {
        serve_forever(&sim, &loaded, listen, probe_listen).await?;
    }
    sim.shutdown().await;
    Ok(converged)
}

/// Keep the simulator up and run the controller against it until Ctrl-C.
/// The controller reads seats.yaml from the simulated repository
/// [`DEMO_REPO`] (a `github:` source) and gets its push webhooks, so a
/// `seatkeeper request` against the simulator is applied within seconds.
async fn serve_forever(
    sim: &Simulator,
    loaded: &Loaded,
    listen: SocketAddr,
    probe_listen: Option<SocketAddr>,
) -> crate::Result<()> {
    // The port first: nothing is printed as served that cannot be.
    let listen = concrete(listen)?;
    let probe_listen = probe_listen.map(concrete).transpose()?;
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
         GITHUB_TOKEN={} seatkeeper request nadia --repo {DEMO_REPO} --github-url {}\n\
         Pushes are listed below as they are delivered. Ctrl-C stops.",
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
        schedule: "*/10 * * * * *".into(),
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
        shutdown_timeout: 10,
        http: crate::http_guard::HttpArgs::default(),
        github,
        write: crate::github::args::WriteArgs::default(),
        bounds: crate::reconcile::BoundsArgs::default(),
    };
    let shown = print_pushes(sim);
    let result = crate::daemon::run(args).await;
    shown.abort();
    result
}

/// `listen` with a real port that is free now: a webhook URL needs one
/// before the controller binds, so port 0 is replaced by a free port, and a
/// port in use fails here, before "Serving" is printed.
fn concrete(listen: SocketAddr) -> crate::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(listen).map_err(|e| {
        GitHubError::Config(format!(
            "cannot listen on {listen}: {e} (another process holds the port? pick another with --listen 127.0.0.1:PORT)"
        ))
    })?;
    probe
        .local_addr()
        .map_err(|e| GitHubError::Config(format!("cannot listen on {listen}: {e}")).into())
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
