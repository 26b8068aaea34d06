//! The command line: argument definitions, logging, exit codes and the
//! dispatch to each command. The work is done by the library.
//!
//! Exit codes, the same in every command:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | no changes, or applied, or valid |
//! | 1 | any error, usage errors included |
//! | 2 | the plan has changes (`plan`), or was not confirmed (`apply`) |
//! | 3 | the plan is guarded (a guard tripped, the typo guard held a removal, or an incomplete listing held every removal: adds only) |

mod commands;
pub(crate) mod out;
mod progress;
mod quiet;
mod saved;
mod sim;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use seatkeeper::daemon::RunArgs;
use seatkeeper::github::args::{GitHubArgs, WriteArgs};
use seatkeeper::reconcile::BoundsArgs;
use seatkeeper::render::Format;

/// Exit code: no changes, applied, valid.
pub const OK: u8 = 0;
/// Exit code: any error, usage errors included.
pub const ERROR: u8 = 1;
/// Exit code: the plan has changes, or `apply` was not confirmed.
pub const CHANGES: u8 = 2;
/// Exit code: the plan is guarded and must not be taken as done.
pub const GUARDED: u8 = 3;

/// GitOps for GitHub Copilot seats: keep seat assignments equal to a reviewed seats.yaml.
#[derive(Debug, Parser)]
#[command(
    name = "seatkeeper",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 no changes / applied / valid; 1 error (usage errors too); 2 the plan has changes (plan) or was not confirmed (apply); 3 the plan is guarded.\nStart with: seatkeeper demo"
)]
struct Cli {
    /// Log format; pretty when stderr is a terminal, else json. Level from RUST_LOG.
    #[arg(long, global = true, value_enum, help_heading = "Output")]
    log_format: Option<LogFormat>,
    /// Never colour the output (as NO_COLOR does).
    #[arg(long, global = true, help_heading = "Output")]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

/// text or json, for commands whose output is a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a seats.yaml: exit 0 when valid, 1 with every problem on stderr.
    #[command(
        after_help = "Examples:\n  seatkeeper validate seats.yaml\n  GITHUB_TOKEN=... seatkeeper validate --online      # also ask GitHub about every login and team\n  seatkeeper validate --format json | jq .diagnostics"
    )]
    Validate(ValidateArgs),
    /// Show what would change: exit 0 no changes, 2 changes, 3 guarded, 1 error.
    #[command(
        after_help = "Examples:\n  seatkeeper plan                                   # seats.yaml against the live seats\n  seatkeeper plan --strict --format markdown --base origin/main   # the PR check\n  seatkeeper plan --out plan.json                   # save it; apply exactly it later\n  seatkeeper plan --live-state seats.json --today 2027-01-01"
    )]
    Plan(PlanArgs),
    /// Apply the plan to GitHub; without --confirm, only show it.
    #[command(
        after_help = "Examples:\n  seatkeeper apply                     # show the plan and how to apply it\n  seatkeeper apply --confirm           # apply it, printing each change as it lands\n  seatkeeper apply plan.json --confirm # apply a saved plan, if it is still what GitHub needs"
    )]
    Apply(ApplyArgs),
    /// Write a seats.yaml that matches the live seats, to stdout.
    #[command(
        after_help = "Examples:\n  seatkeeper import --org acme > seats.yaml\n  seatkeeper import --enterprise bigcorp --format json"
    )]
    Import(ImportArgs),
    /// Run the controller: reconcile on a schedule, serve metrics, health and a webhook.
    #[command(
        after_help = "Examples:\n  seatkeeper run seats.yaml --dry-run\n  seatkeeper run github:acme/copilot-seats/seats.yaml@main --webhook-secret-file /secrets/webhook --allowed-org acme"
    )]
    Run(RunArgs),
    /// Run the built-in GitHub simulator in the foreground.
    #[command(
        after_help = "Example:\n  seatkeeper simulator --listen 127.0.0.1:8080\n  GITHUB_TOKEN=sim-token seatkeeper plan examples/demo/seats.yaml --github-url http://127.0.0.1:8080"
    )]
    Simulator(SimulatorArgs),
    /// Plan and apply the example against a built-in simulated org: no token, no network.
    #[command(
        after_help = "Examples:\n  seatkeeper demo\n  seatkeeper demo --serve     # keep the simulator and a controller running"
    )]
    Demo(DemoArgs),
    /// Ask for a Copilot seat: validate like `plan --strict`, then add the login to seats.yaml.
    #[command(
        after_help = "Examples:\n  seatkeeper request alice --file seats.yaml\n  seatkeeper request alice --repo acme/copilot-seats --requester alice --source https://github.com/acme/copilot-seats/issues/12"
    )]
    Request(seatkeeper::selfserve::args::RequestArgs),
    /// Give a Copilot seat back: remove the login from seats.yaml the same way.
    #[command(
        after_help = "Examples:\n  seatkeeper release alice --file seats.yaml\n  seatkeeper release alice --repo acme/copilot-seats --requester alice"
    )]
    Release(seatkeeper::selfserve::args::ReleaseArgs),
    /// Remind idle seat holders, then open one pull request removing those still idle.
    #[command(after_help = "Example:\n  seatkeeper reclaim --repo acme/copilot-seats")]
    Reclaim(seatkeeper::selfserve::args::ReclaimArgs),
    /// Print the JSON Schema of seats.yaml (draft 2020-12), for editors.
    #[command(
        after_help = concat!(
            "The same schema is published at the release's tag; point an editor at it with the\nfirst line of seats.yaml:\n  # yaml-language-server: $schema=https://raw.githubusercontent.com/seatkeeper/seatkeeper/v",
            env!("CARGO_PKG_VERSION"),
            "/schema/seats.schema.json\n\nExample:\n  seatkeeper schema > seats.schema.json"
        )
    )]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  seatkeeper completions bash > /etc/bash_completion.d/seatkeeper\n  seatkeeper completions zsh > \"${fpath[1]}/_seatkeeper\""
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, help_heading = "Output")]
    format: ReportFormat,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The desired state.
    #[arg(default_value = "seats.yaml")]
    path: PathBuf,
    /// Plan against a saved listing (GitHub's `GET .../copilot/billing/seats` body) instead of asking GitHub.
    #[arg(long, value_name = "FILE.json")]
    live_state: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    format: Format,
    /// Also save the plan, with what it was computed from, for `apply PLAN.json --confirm`.
    #[arg(long, value_name = "PLAN.json", help_heading = "Output")]
    out: Option<PathBuf>,
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
    bounds: BoundsArgs,
    #[command(flatten)]
    prices: seatkeeper::reconcile::cost::PriceArgs,
    #[command(flatten)]
    github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
struct ApplyArgs {
    /// The desired state, or a plan saved with `plan --out`.
    #[arg(default_value = "seats.yaml", value_name = "PATH|PLAN.json")]
    path: PathBuf,
    /// Really write to GitHub. Without it, apply only shows the plan.
    #[arg(long)]
    confirm: bool,
    /// Apply as of this date (YYYY-MM-DD, UTC) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, help_heading = "Output")]
    format: ReportFormat,
    #[command(flatten)]
    bounds: BoundsArgs,
    #[command(flatten)]
    prices: seatkeeper::reconcile::cost::PriceArgs,
    #[command(flatten)]
    github: GitHubArgs,
    #[command(flatten)]
    write: WriteArgs,
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
    /// Output format: text is the seats.yaml file; json lists the live seats with their grants.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, help_heading = "Output")]
    format: ReportFormat,
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
    /// The desired state to apply to the simulated org [default: examples/demo/seats.yaml in this checkout, else a built-in copy].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Keep the simulator and a controller running afterwards, serving /metrics, /healthz, /readyz, /status and /webhook.
    #[arg(long)]
    serve: bool,
    /// Where the controller listens with --serve (checked before anything runs).
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// With --serve: serve /healthz, /readyz and /metrics here instead of on --listen.
    #[arg(long, value_name = "ADDR", requires = "serve")]
    probe_listen: Option<std::net::SocketAddr>,
    /// With --serve: serve the self-serve portal here [default: 127.0.0.1 on a free port, printed as "Portal: URL"].
    #[arg(long, value_name = "ADDR", requires = "serve")]
    portal_listen: Option<std::net::SocketAddr>,
    /// Seconds between the controller's scheduled reconciles with --serve (tests shorten it).
    #[arg(long, default_value_t = 10, value_name = "SECONDS", hide = true)]
    interval: u64,
    /// Then ask for a seat (`request`) in a simulated repository whose main branch is protected: see GitHub's reason and the next step.
    #[arg(long)]
    protected_branch: bool,
    /// Milliseconds added to every simulated GitHub request (tests use it to interrupt an apply).
    #[arg(long, default_value_t = 0, value_name = "MS", hide = true)]
    sim_latency_ms: u64,
}

/// Parse the command line, set up logging and run the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // --help and --version are answers, not errors.
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => OK,
                _ => ERROR,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.no_color {
        // Read by render::use_color and by the text renderers' callers.
        seatkeeper::render::disable_color();
    }
    init_logging(cli.log_format, &cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(ERROR);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(ERROR)
        }
    }
}

/// An error and its causes, each said once.
fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Logs go to stderr; stdout carries plans and imports. Interactive commands
/// log warnings only unless RUST_LOG says otherwise; the controller logs
/// info. JSON when stderr is not a terminal, unless --log-format says.
fn init_logging(format: Option<LogFormat>, command: &Command) {
    use tracing_subscriber::EnvFilter;
    // The cron library logs its own start-up at INFO; octocrab logs every
    // non-2xx answer at ERROR, retried or not: seatkeeper logs the final
    // failure itself, once.
    let default = match command {
        Command::Run(_) | Command::Simulator(_) => "info,tokio_cron_scheduler=warn,octocrab=off",
        Command::Demo(a) if a.serve => "info,tokio_cron_scheduler=warn,octocrab=off",
        _ => "warn,octocrab=off",
    };
    // RUST_LOG picks the level; octocrab stays quiet unless named there.
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() && !v.contains("octocrab") => {
            EnvFilter::try_new(format!("{v},octocrab=off"))
                .unwrap_or_else(|_| EnvFilter::new(default))
        }
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v).unwrap_or_else(|_| EnvFilter::new(default))
        }
        _ => EnvFilter::new(default),
    };
    let json = match format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Pretty) => false,
        None => !std::io::stderr().is_terminal(),
    };
    let ansi = std::io::stderr().is_terminal() && seatkeeper::render::color_allowed();
    if let Command::Demo(a) = command
        && a.serve
    {
        // A person watches this terminal: each change once, not every 10 s.
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let registry = tracing_subscriber::registry()
            .with(filter)
            .with(quiet::Quiet::default());
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr);
        if json {
            registry.with(layer.json().flatten_event(true)).init();
        } else {
            registry.with(layer).init();
        }
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate(args) => commands::validate(args).await,
        Command::Plan(args) => commands::plan(args).await,
        Command::Apply(args) => commands::apply(args).await,
        Command::Import(args) => commands::import(args).await,
        Command::Run(args) => {
            seatkeeper::daemon::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulator(args) => sim::simulator(args).await,
        Command::Demo(args) => sim::demo(args).await,
        Command::Request(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::request(args).await,
        )),
        Command::Release(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::release(args).await,
        )),
        Command::Reclaim(args) => Ok(ExitCode::from(
            seatkeeper::selfserve::args::reclaim(args).await,
        )),
        Command::Schema => {
            out::write(&seatkeeper::config::schema::text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "seatkeeper", &mut buf);
            out::write(&String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckArgs { args } => {
            let argv = std::iter::once("seatkeeper".to_string()).chain(args);
            match Cli::try_parse_from(argv) {
                Ok(_) => {
                    out::outln!("ok");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(ERROR))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_has_no_doc_link_syntax() {
        let mut cmd = Cli::command();
        let mut texts = vec![cmd.render_long_help().to_string()];
        for sub in cmd.get_subcommands_mut() {
            texts.push(sub.render_long_help().to_string());
        }
        for t in texts {
            assert!(!t.contains("[`"), "{t}");
            assert!(!t.contains("`]"), "{t}");
        }
    }
}
