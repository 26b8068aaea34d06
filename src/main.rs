//! The `seatkeeper` command: argument parsing and wiring only; the work is
//! done by the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use seatkeeper::config::Scope;
use seatkeeper::daemon::RunArgs;
use seatkeeper::github::SeatListResponse;
use seatkeeper::github::args::GitHubArgs;
use seatkeeper::reconcile::{self, Mode, Options, Outcome};
use seatkeeper::render::{self, Format};
use seatkeeper::source::Loaded;

/// GitOps for GitHub Copilot seats: keep seat assignments equal to a reviewed seats.yaml.
#[derive(Debug, Parser)]
#[command(name = "seatkeeper", version, about, long_about = None)]
struct Cli {
    /// Log format; defaults to json when stdout is not a terminal. Level from RUST_LOG (default info).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a seats.yaml: exit 0 when valid, 1 with every problem on stderr.
    Validate(ValidateArgs),
    /// Show what would change: exit 0 no changes, 2 changes, 1 error or guarded plan.
    Plan(PlanArgs),
    /// Apply the plan to GitHub; without --confirm, only show it.
    Apply(ApplyArgs),
    /// Write a seats.yaml that matches the live seats, to stdout.
    Import(ImportArgs),
    /// Run the controller: reconcile on a schedule, serve metrics, health and a webhook.
    Run(RunArgs),
    /// Run the built-in GitHub simulator in the foreground.
    Simulator(SimulatorArgs),
    /// Plan and apply the example against a built-in simulated org: no token, no network.
    Demo(DemoArgs),
    /// Ask for a Copilot seat: validate like `plan --strict`, then add the login to seats.yaml.
    Request(seatkeeper::selfserve::args::RequestArgs),
    /// Give a Copilot seat back: remove the login from seats.yaml the same way.
    Release(seatkeeper::selfserve::args::ReleaseArgs),
    /// Remind idle seat holders, then open one pull request removing those still idle.
    Reclaim(seatkeeper::selfserve::args::ReclaimArgs),
    /// Parse a command line without running it (used to test deployment manifests).
    #[command(hide = true)]
    CheckArgs {
        /// The arguments after `seatkeeper`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// The file to check.
    #[arg(default_value = "seats.yaml")]
    path: PathBuf,
    /// Also check with GitHub that every user exists, is an org member and is in an eligible team, and that every team exists.
    #[arg(long)]
    online: bool,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The desired state.
    #[arg(default_value = "seats.yaml")]
    path: PathBuf,
    /// Plan against a saved listing (shaped like GitHub's `GET /orgs/{org}/copilot/billing/seats` response) instead of asking GitHub.
    #[arg(long, value_name = "FILE.json")]
    live_state: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Plan as of this date (YYYY-MM-DD, UTC) instead of today: for expiry and idle-day what-ifs.
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    /// Treat ineligible logins (not a member, not in an eligible team, no such user) as errors: exit 1.
    #[arg(long)]
    strict: bool,
    /// Also show what this change to the file asks for, compared with the file at this git ref (e.g. origin/main).
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
struct ApplyArgs {
    /// The desired state.
    #[arg(default_value = "seats.yaml")]
    path: PathBuf,
    /// Really write to GitHub. Without it, apply only shows the plan.
    #[arg(long)]
    confirm: bool,
    /// Apply as of this date (YYYY-MM-DD, UTC) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ImportScope {
    /// The organization to import.
    #[arg(long)]
    org: Option<String>,
    /// The enterprise to import (enterprise-assigned seats).
    #[arg(long)]
    enterprise: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    scope: ImportScope,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
struct SimulatorArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// Seed the org from this state file (YAML or JSON); the demo org by default.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Answer this fraction of requests (0 to 1) with a 500, 502 or 429 (retry-after: 1), for soak and chaos tests.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_rate: f64,
    /// Seed of the fault draws, so a run can be replayed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    fault_seed: u64,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// The desired state to apply to the simulated org.
    #[arg(long, default_value = "examples/demo/seats.yaml", value_name = "PATH")]
    config: PathBuf,
    /// Keep the simulator and a controller running afterwards, serving /metrics, /healthz, /readyz, /status and /webhook.
    #[arg(long)]
    serve: bool,
    /// Where the controller listens with --serve.
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    listen: std::net::SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr; stdout carries plans and imports. Interactive commands
/// log warnings only unless RUST_LOG says otherwise; the controller logs info.
fn init_logging(format: Option<LogFormat>, command: &Command) {
    use tracing_subscriber::EnvFilter;
    // The cron library logs its own start-up at INFO; keep it out of the audit log.
    let default = match command {
        Command::Run(_) | Command::Simulator(_) => "info,tokio_cron_scheduler=warn",
        Command::Demo(a) if a.serve => "info,tokio_cron_scheduler=warn",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = match format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Pretty) => false,
        None => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate(args) => validate(args).await,
        Command::Plan(args) => plan(args).await,
        Command::Apply(args) => apply(args).await,
        Command::Import(args) => import(args).await,
        Command::Run(args) => {
            seatkeeper::daemon::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulator(args) => simulator(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Request(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::request(args).await,
        )),
        Command::Release(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::release(args).await,
        )),
        Command::Reclaim(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::reclaim(args).await,
        )),
        Command::CheckArgs { args } => {
            let argv = std::iter::once("seatkeeper".to_string()).chain(args);
            match Cli::try_parse_from(argv) {
                Ok(_) => {
                    println!("ok");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

/// Load seats.yaml; a validation failure prints every problem and exits 1.
fn load(path: &Path) -> anyhow::Result<Result<Loaded, ExitCode>> {
    match Loaded::from_path(path) {
        Ok(l) => Ok(Ok(l)),
        Err(seatkeeper::Error::Config(e)) => {
            eprintln!("{e}");
            Ok(Err(ExitCode::from(1)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let file = &loaded.file;
    if args.online {
        let client = args.github.client().await?;
        let problems = reconcile::check_online(&client, &loaded, 8).await?;
        if !problems.diagnostics.is_empty() {
            eprintln!("{problems}");
            return Ok(ExitCode::from(1));
        }
    }
    println!(
        "{}: valid ({} users, {} teams, {} {}{})",
        args.path.display(),
        file.users.len(),
        file.teams.len(),
        file.scope.kind(),
        file.scope.name(),
        if args.online {
            ", checked with GitHub"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let base = match &args.base {
        Some(r) => Some(base_file(r, &args.path)?),
        None => None,
    };
    let color = render::use_color() && args.format == Format::Text;
    let (plan, ineligible) = match &args.live_state {
        Some(file) => {
            let shown = file.display().to_string();
            let text =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {shown}"))?;
            let live = SeatListResponse::from_json(&shown, &text)?
                .into_live_state(&shown, &loaded.file.scope)?;
            let today = args
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            (
                seatkeeper::plan::plan(
                    &seatkeeper::plan::Desired::from_file(&loaded.file),
                    &live,
                    today,
                ),
                Vec::new(),
            )
        }
        None => {
            let client = args.github.client().await?;
            let opts = Options {
                mode: Mode::Plan,
                today: args.today,
                ..Options::default()
            };
            let outcome = reconcile::reconcile(&client, &loaded, &opts).await?;
            (outcome.plan, outcome.ineligible)
        }
    };
    match &base {
        Some(base) if args.format == Format::Markdown => {
            print!("{}", render::pr_markdown(&plan, base, &loaded.file));
        }
        Some(base) => {
            print!(
                "{}",
                render::desired_diff(base, &loaded.file, args.format, color)
            );
            print!("{}", render::render(&plan, args.format, color));
        }
        None => print!("{}", render::render(&plan, args.format, color)),
    }
    if plan.guard.tripped {
        eprintln!("error: the plan is guarded and must not be applied:");
        for r in &plan.guard.reasons {
            eprintln!("  - {}", render::guard_message(r, str::to_string));
        }
        return Ok(ExitCode::from(1));
    }
    if args.strict && !ineligible.is_empty() {
        for i in &ineligible {
            eprintln!(
                "{}:{}: {} is not eligible: {}",
                loaded.path, i.pos, i.login, i.reason
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::from(if plan.is_empty() { 0 } else { 2 }))
}

/// seats.yaml as it is at a git ref, for the PR view.
fn base_file(reference: &str, path: &Path) -> anyhow::Result<seatkeeper::config::SeatsFile> {
    // `git show REF:./PATH` resolves PATH relative to the current directory.
    let spec = format!("{reference}:./{}", path.display());
    let out = std::process::Command::new("git")
        .args(["show", &spec])
        .output()
        .context("cannot run git to read the base version of seats.yaml")?;
    if !out.status.success() {
        anyhow::bail!(
            "cannot read {spec} with git show: {} (fetch the base branch first, e.g. `git fetch origin main`)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let shown = format!("{reference}:{}", path.display());
    match seatkeeper::config::SeatsFile::parse(&shown, &out.stdout) {
        Ok(f) => Ok(f),
        Err(e) => anyhow::bail!("the base version of seats.yaml does not validate:\n{e}"),
    }
}

async fn apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load(&args.path)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let client = args.github.client().await?;
    let opts = Options {
        mode: if args.confirm {
            Mode::Apply
        } else {
            Mode::Plan
        },
        today: args.today,
        batch_size: args.github.batch_size,
        ..Options::default()
    };
    let outcome = reconcile::reconcile(&client, &loaded, &opts).await?;
    Ok(report_apply(&outcome, args.confirm, &args.path))
}

/// Print a plan and what applying it did; the exit code says how it went.
fn report_apply(outcome: &Outcome, confirmed: bool, path: &Path) -> ExitCode {
    let color = render::use_color();
    print!("{}", render::text(&outcome.plan, color));
    if outcome.plan.guard.tripped {
        eprintln!("error: the plan is guarded; nothing was applied:");
        for r in &outcome.plan.guard.reasons {
            eprintln!("  - {}", render::guard_message(r, str::to_string));
        }
        return ExitCode::from(1);
    }
    if outcome.plan.is_empty() {
        return ExitCode::SUCCESS;
    }
    if !confirmed {
        println!(
            "\nNothing was applied. To apply this plan, run:\n  seatkeeper apply {} --confirm",
            path.display()
        );
        return ExitCode::from(2);
    }
    if outcome.results.is_empty() {
        println!(
            "\nNothing was applied: policy.suspend is true in {}.",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    println!();
    print!("{}", render::results(&outcome.results));
    if outcome.failed().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let scope = match (args.scope.org, args.scope.enterprise) {
        (Some(o), _) => Scope::Org(o),
        (None, Some(e)) => Scope::Enterprise(e),
        (None, None) => anyhow::bail!("give --org ORG or --enterprise NAME"),
    };
    let client = args.github.client().await?;
    let live = seatkeeper::github::SeatApi::list_seats(&client, &scope).await?;
    print!("{}", render::seats_yaml(&scope, &live));
    Ok(ExitCode::SUCCESS)
}

async fn simulator(args: SimulatorArgs) -> anyhow::Result<ExitCode> {
    use seatkeeper::simulator::{SimOptions, SimState, Simulator, demo_state};
    let state = match &args.state {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let parsed: Result<SimState, String> = if p.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).map_err(|e| e.to_string())
            } else {
                serde_saphyr::from_str(&text).map_err(|e| e.to_string())
            };
            parsed
                .map_err(|e| anyhow::anyhow!("{}: not a simulator state file: {e}", p.display()))?
        }
        None => demo_state(),
    };
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!(
            "--fault-rate must be between 0 and 1, not {}",
            args.fault_rate
        );
    }
    let opts = SimOptions {
        listen: Some(args.listen),
        fault_seed: args.fault_seed,
        // A soak runs for hours: the default hourly budget would run out.
        rate_limit: u32::MAX as u64,
        ..SimOptions::default()
    };
    let sim = Simulator::start(state, opts)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if args.fault_rate > 0.0 {
        let p = args.fault_rate / 3.0;
        let faults = sim.faults();
        faults.error_rate("*", 500, p);
        faults.error_rate("*", 502, p);
        faults.add_error_rate(seatkeeper::simulator::ErrorRate {
            route: "*".into(),
            status: 429,
            probability: p,
            headers: vec![("retry-after".into(), "1".into())],
        });
    }
    println!("simulator listening on {} token={}", sim.url(), sim.token());
    tokio::signal::ctrl_c().await.ok();
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    seatkeeper::demo::run(&args.config, args.serve, args.listen)
        .await
        .map_err(Into::into)
        .map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        })
}
