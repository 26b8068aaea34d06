//! The command lines of `seatkeeper request` and `release`, and running them.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{Ask, Kind, RecordOptions, Recorded, Report, SelfServeError};
use crate::github::GitHubError;
use crate::github::args::GitHubArgs;
use crate::github::repo::RepoRef;

/// Output format of `request` and `release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A sentence (refusals and errors on stderr).
    Text,
    /// One JSON object on stdout, whatever the outcome.
    Json,
}

/// Where seats.yaml is: a repository, or a local file.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The repository holding seats.yaml: the change is committed there (or opened as a pull request, per policy.self_serve.mode).
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: Option<RepoRef>,
    /// Edit this local seats.yaml instead (for a pull request made by hand).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// Options shared by `request` and `release`.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub target: Target,
    /// The path of seats.yaml in the repository.
    #[arg(long, default_value = "seats.yaml", value_name = "PATH")]
    pub path: String,
    /// The branch to commit to (default: the repository's default branch).
    #[arg(long = "ref", value_name = "BRANCH")]
    pub git_ref: Option<String>,
    /// Who asks (default: LOGIN). Asking for someone else is refused unless policy.self_serve.allow_requests_for_others is true.
    #[arg(long, value_name = "LOGIN")]
    pub requester: Option<String>,
    /// Where the request came from (e.g. an issue URL): written into the commit message.
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Plan as of this date (YYYY-MM-DD, UTC) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<NaiveDate>,
    #[command(flatten)]
    pub github: GitHubArgs,
    /// The controller's bounds: a request the controller would refuse to
    /// apply is refused here, before anything is written.
    #[command(flatten)]
    pub bounds: crate::reconcile::BoundsArgs,
}

/// `seatkeeper request LOGIN`.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// The GitHub login that should get a Copilot seat.
    pub login: String,
    /// A note for reviewers, written as the entry's `note:`.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// The last day the seat is wanted (default: today + policy.self_serve.default_expiry_days, else none).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<NaiveDate>,
    /// Ask for an individual Copilot AI-credit budget of this many whole US dollars a month for a listed login, instead of a seat (0 blocks paid usage).
    #[arg(long, value_name = "DOLLARS", value_parser = parse_dollars, allow_hyphen_values = true)]
    pub budget: Option<u64>,
    /// With --budget: the last day of the budget (after it, the default applies).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "budget")]
    pub budget_expires: Option<NaiveDate>,
    #[command(flatten)]
    pub common: Common,
}

/// `--budget`: whole, non-negative dollars, said plainly when not.
fn parse_dollars(s: &str) -> Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| {
        format!(
            "`{s}` is not a budget: budgets are whole, non-negative US dollars a month, e.g. 80"
        )
    })
}

/// `seatkeeper release LOGIN`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// The GitHub login whose seat is given back.
    pub login: String,
    /// Drop the login's individual AI-credit budget (it falls back to budgets.default) instead of its seat.
    #[arg(long)]
    pub budget: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Run `seatkeeper request`; returns the exit code (0 granted or already
/// listed, 1 refused or failed).
pub async fn request(args: RequestArgs) -> u8 {
    let mut ask = ask(
        Kind::Request,
        &args.login,
        args.note,
        args.expires,
        &args.common,
    );
    ask.budget = args.budget.map(|amount| crate::edit::BudgetEdit::Set {
        amount,
        expires: args.budget_expires,
    });
    run(ask, &args.common).await
}

/// Run `seatkeeper release`; returns the exit code (0 released or not
/// listed, 1 refused or failed).
pub async fn release(args: ReleaseArgs) -> u8 {
    let mut ask = ask(Kind::Release, &args.login, None, None, &args.common);
    if args.budget {
        ask.budget = Some(crate::edit::BudgetEdit::Drop);
    }
    run(ask, &args.common).await
}

fn ask(
    kind: Kind,
    login: &str,
    note: Option<String>,
    expires: Option<NaiveDate>,
    common: &Common,
) -> Ask {
    let login = login.trim().trim_start_matches('@').to_string();
    let requester = common
        .requester
        .as_deref()
        .map(|r| r.trim().trim_start_matches('@').to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| login.clone());
    Ask {
        kind,
        login,
        requester,
        note,
        expires,
        source: common.source.clone(),
        today: common
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        bounds: common.bounds.bounds(),
        budget: None,
    }
}

async fn run(ask: Ask, common: &Common) -> u8 {
    let concurrency = common.github.max_concurrent_requests.max(1);
    let (target, result) = match (&common.target.repo, &common.target.file) {
        (Some(repo), _) => {
            let mut opts = RecordOptions {
                repo: repo.clone(),
                path: common.path.trim_matches('/').to_string(),
                git_ref: common.git_ref.clone(),
                concurrency,
            };
            let result: Result<Recorded, SelfServeError> = async {
                let client = common.github.client().await?;
                super::record(&client, &client, &ask, &mut opts).await
            }
            .await;
            (opts.target(), result)
        }
        (None, Some(file)) => {
            let result: Result<Recorded, SelfServeError> = async {
                let client = common.github.client().await?;
                super::edit_local(&client, file, &ask, concurrency).await
            }
            .await;
            (file.display().to_string(), result)
        }
        // clap's group requires one of them.
        (None, None) => (
            String::new(),
            Err(SelfServeError::from(GitHubError::Config(
                "give --repo OWNER/REPO or --file PATH".into(),
            ))),
        ),
    };
    let report = Report::from_result(&ask, &target, &result);
    print(&report, common.format);
    report.exit_code()
}

fn print(report: &Report, format: OutputFormat) {
    match format {
        OutputFormat::Json => print!("{}", report.json()),
        OutputFormat::Text if report.exit_code() == 0 => print!("{}", report.text()),
        OutputFormat::Text => eprint!("error: {}", report.text()),
    }
}

/// `seatkeeper reclaim`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReclaimArgs {
    /// The repository holding seats.yaml.
    #[arg(long, value_name = "OWNER/REPO")]
    pub repo: RepoRef,
    /// The path of seats.yaml in the repository.
    #[arg(long, default_value = "seats.yaml", value_name = "PATH")]
    pub path: String,
    /// The branch seats.yaml is read from and the pull request goes into (default: the repository's default branch).
    #[arg(long = "ref", value_name = "BRANCH")]
    pub git_ref: Option<String>,
    /// Judge idleness as of this date (YYYY-MM-DD, UTC) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Run `seatkeeper reclaim`; returns the exit code (0 done, 1 failed).
pub async fn reclaim(args: ReclaimArgs) -> u8 {
    let opts = super::reclaim::ReclaimOptions {
        repo: args.repo.clone(),
        path: args.path.trim_matches('/').to_string(),
        git_ref: args.git_ref.clone(),
        today: args
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    let result = async {
        let client = args.github.client().await?;
        super::reclaim::reclaim(
            super::reclaim::ReclaimApis {
                seats: &client,
                repos: &client,
                identity: &client,
                usage: &client,
            },
            &opts,
        )
        .await
    }
    .await;
    match (result, args.format) {
        (Ok(r), OutputFormat::Json) => {
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            0
        }
        (Ok(r), OutputFormat::Text) => {
            print!("{}", r.text());
            0
        }
        (Err(e), OutputFormat::Json) => {
            let v = serde_json::json!({
                "format_version": 1,
                "outcome": "error",
                "reason": e.label(),
                "message": e.to_string(),
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            1
        }
        (Err(e), OutputFormat::Text) => {
            eprintln!("error: {e}");
            1
        }
    }
}
