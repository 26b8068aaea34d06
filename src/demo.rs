//! `seatkeeper demo`: the whole loop against the built-in simulator, with no
//! token and no network. Plan, apply, show each result, plan again (empty).

use std::net::SocketAddr;
use std::path::Path;

use crate::github::GitHubError;
use crate::github::args::GitHubArgs;
use crate::github::client::GitHubClient;
use crate::reconcile::{self, Mode, Options};
use crate::simulator::{SimOptions, Simulator, demo_state};
use crate::source::Loaded;

/// The webhook secret of `demo --serve` (a demo, not a secret).
const DEMO_WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// The demo's seats.yaml, built in for runs outside the repository.
const DEMO_SEATS: &str = include_str!("../examples/demo/seats.yaml");

/// Run the demo; `Ok(true)` when the second plan is empty, as it must be.
/// With `serve`, keep the simulator and a controller running on `listen`.
pub async fn run(config: &Path, serve: bool, listen: SocketAddr) -> crate::Result<bool> {
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
        serve_forever(&sim, &loaded, listen).await?;
    }
    sim.shutdown().await;
    Ok(converged)
}

/// Keep the simulator up and run the controller against it until Ctrl-C.
async fn serve_forever(sim: &Simulator, loaded: &Loaded, listen: SocketAddr) -> crate::Result<()> {
    let dir = std::env::temp_dir().join(format!("seatkeeper-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| crate::Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| crate::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok::<_, crate::Error>(path)
    };
    let seats = write("seats.yaml", &loaded.text)?;
    let token = write("token", &sim.token())?;
    // A known secret, so a person can sign a test push by hand.
    let secret = write("webhook-secret", DEMO_WEBHOOK_SECRET)?;
    let mut github = GitHubArgs::for_url(&sim.url());
    github.token_file = Some(token);
    println!(
        "\nServing: simulator {} (token {}), controller on http://{listen}: /metrics /healthz /readyz /status /webhook (secret {DEMO_WEBHOOK_SECRET:?}).\nEdit {} to see it reconciled within 10 s. Ctrl-C stops.",
        sim.url(),
        sim.token(),
        seats.display()
    );
    let args = crate::daemon::RunArgs {
        configs: vec![crate::source::SourceSpec::Path(seats)],
        schedule: "*/10 * * * * *".into(),
        jitter: 0,
        listen,
        dry_run: false,
        webhook_secret_file: Some(secret),
        webhook_branch: "main".into(),
        poll_interval: 0,
        shutdown_timeout: 10,
        github,
    };
    crate::daemon::run(args).await
}
