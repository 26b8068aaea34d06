//! The controller (`seatkeeper run`): schedule, HTTP server, webhook,
//! graceful shutdown. (Being built; see issue "The controller".)

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::github::args::GitHubArgs;
use crate::source::SourceSpec;

/// `seatkeeper run` options.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A desired-state source: a local path, or github:OWNER/REPO/PATH@REF. Repeat for several orgs.
    #[arg(long = "config", required = true, value_name = "SOURCE")]
    pub configs: Vec<SourceSpec>,
    /// When to reconcile: a 6-field cron expression with seconds, in UTC.
    #[arg(long, default_value = "0 */10 * * * *", value_name = "CRON")]
    pub schedule: String,
    /// Add a random delay of up to this many seconds to each scheduled run.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub jitter: u64,
    /// Where to serve /metrics, /healthz, /readyz, /status and /webhook.
    #[arg(long, default_value = "0.0.0.0:9090", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Observe only: plan and export drift metrics, never write.
    #[arg(long)]
    pub dry_run: bool,
    /// File holding the webhook secret (or set SEATKEEPER_WEBHOOK_SECRET); without one, /webhook is off.
    #[arg(long, env = "SEATKEEPER_WEBHOOK_SECRET_FILE", value_name = "PATH")]
    pub webhook_secret_file: Option<PathBuf>,
    /// A push to this branch triggers a reconcile.
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub webhook_branch: String,
    /// How long an in-flight apply may take to finish its batch after SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_timeout: u64,
    /// GitHub connection.
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Run the controller until SIGTERM or SIGINT.
pub async fn run(args: RunArgs) -> crate::Result<()> {
    let _ = args;
    Err(crate::github::GitHubError::Config("seatkeeper run is not built yet".into()).into())
}
