//! The `seatkeeper` command: argument parsing and wiring only; the work is
//! done by the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use seatkeeper::config::SeatsFile;
use seatkeeper::github::SeatListResponse;
use seatkeeper::render::{self, Format};

/// GitOps for GitHub Copilot seats: keep seat assignments equal to a reviewed seats.yaml.
#[derive(Debug, Parser)]
#[command(name = "seatkeeper", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a seats.yaml: exit 0 when valid, 1 with every problem on stderr.
    Validate {
        /// The file to check.
        #[arg(default_value = "seats.yaml")]
        path: PathBuf,
    },
    /// Show what would change: exit 0 no changes, 2 changes, 1 error or guarded plan.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The desired state.
    #[arg(default_value = "seats.yaml")]
    path: PathBuf,
    /// Live seats as a JSON file shaped like GitHub's `GET /orgs/{org}/copilot/billing/seats` response.
    #[arg(long, value_name = "FILE.json")]
    live_state: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Plan as of this date (YYYY-MM-DD, UTC) instead of today: for expiry and idle-day what-ifs.
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<NaiveDate>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { path } => validate(&path),
        Command::Plan(args) => plan(args),
    }
}

fn validate(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match SeatsFile::load(path) {
        Ok(file) => {
            println!(
                "{}: valid ({} users, {} teams, {} {})",
                path.display(),
                file.users.len(),
                file.teams.len(),
                file.scope.kind(),
                file.scope.name()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(seatkeeper::Error::Config(e)) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let file = match SeatsFile::load(&args.path) {
        Ok(f) => f,
        Err(seatkeeper::Error::Config(e)) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let shown = args.live_state.display().to_string();
    let text = std::fs::read_to_string(&args.live_state)
        .with_context(|| format!("cannot read {shown}"))?;
    let live = SeatListResponse::from_json(&shown, &text)?.into_live_state();
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let plan = seatkeeper::plan::plan(&file.desired(), &live, today);
    print!(
        "{}",
        render::render(&plan, args.format, render::use_color())
    );
    if plan.guard.tripped {
        eprintln!("error: the plan is guarded and must not be applied:");
        for r in &plan.guard.reasons {
            eprintln!("  - {}", render::guard_message(r, str::to_string));
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::from(if plan.is_empty() { 0 } else { 2 }))
}
