//! The command lines of `seatkeeper request` and `release`, and running them.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{Ask, Kind, Recorded, Report, SelfServeError};
use crate::github::args::GitHubArgs;

/// Output format of `request` and `release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A sentence (refusals and errors on stderr).
    Text,
    /// One JSON object on stdout, whatever the outcome.
    Json,
}

/// Options shared by `request` and `release`.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Edit this local seats.yaml (for a pull request made by hand).
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
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
    #[command(flatten)]
    pub common: Common,
}

/// `seatkeeper release LOGIN`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// The GitHub login whose seat is given back.
    pub login: String,
    #[command(flatten)]
    pub common: Common,
}

/// Run `seatkeeper request`; returns the exit code (0 granted or already
/// listed, 1 refused or failed).
pub async fn request(args: RequestArgs) -> u8 {
    let ask = ask(
        Kind::Request,
        &args.login,
        args.note,
        args.expires,
        &args.common,
    );
    run(ask, &args.common).await
}

/// Run `seatkeeper release`; returns the exit code (0 released or not
/// listed, 1 refused or failed).
pub async fn release(args: ReleaseArgs) -> u8 {
    let ask = ask(Kind::Release, &args.login, None, None, &args.common);
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
    }
}

async fn run(ask: Ask, common: &Common) -> u8 {
    let target = common.file.display().to_string();
    let concurrency = common.github.max_concurrent_requests.max(1);
    let result: Result<Recorded, SelfServeError> = async {
        let client = common.github.client().await?;
        super::edit_local(&client, &common.file, &ask, concurrency).await
    }
    .await;
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
