//! seatkeeper: GitOps for GitHub Copilot seats.
//!
//! A reviewed `seats.yaml` says who holds a Copilot seat. seatkeeper reads the
//! live seat assignments from the GitHub REST API, computes a [`plan::Plan`]
//! with a pure planner, guards it, and applies it in batches.
//!
//! Layout: [`config`] parses and validates seats.yaml, [`plan`] is the pure
//! planner, [`render`] prints plans, [`github`] is the I/O boundary (trait
//! [`github::SeatApi`] and its octocrab implementation), [`simulator`] is an
//! in-process fake GitHub used by tests, benches and `seatkeeper demo`.

#![forbid(unsafe_code)]

mod ci;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod edit;
pub mod github;
pub mod http_guard;
pub mod leader;
pub mod metrics;
pub mod plan;
pub mod portal;
pub mod progress;
pub mod rate;
pub mod reconcile;
pub mod render;
pub mod selfserve;
pub mod simulator;
pub mod source;

/// Errors the library reports. Each message says what went wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// seats.yaml did not parse or validate; carries every diagnostic.
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A live-state JSON document did not decode.
    #[error("{path}: not a GitHub seat listing: {message}")]
    LiveState {
        /// Where the document came from.
        path: String,
        /// What was wrong with it.
        message: String,
    },
    /// The GitHub API (or the simulator) failed. Boxed: its messages carry
    /// what to do, which makes it large, and every `Result` would pay.
    #[error(transparent)]
    GitHub(Box<github::GitHubError>),
    /// seats.yaml names a scope the operator did not allow.
    #[error(
        "seats.yaml names {scope}, but this seatkeeper may manage only {allowed}: nothing was read or written (fix `org:`/`enterprise:` in seats.yaml, or the operator's flags)"
    )]
    ScopeNotAllowed {
        /// The scope seats.yaml names.
        scope: String,
        /// The flags that allow scopes.
        allowed: String,
    },
    /// seats.yaml asks seatkeeper to manage a team's membership
    /// (`policy.assign_via_team`) that the operator did not allow.
    #[error(
        "seats.yaml sets policy.assign_via_team: `{team}`, but the operator allowed this seatkeeper to manage the membership of {allowed} (--allowed-assign-team): a team's membership can grant more than a Copilot seat, so nothing was read or written (remove the key from seats.yaml, or have the operator allow the team)"
    )]
    AssignTeamNotAllowed {
        /// The team seats.yaml names.
        team: String,
        /// The flags that allow teams, or `none`.
        allowed: String,
    },
}

impl Error {
    /// A short, bounded label for metrics (`error` label values never carry user data).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Io { .. } => "io",
            Error::LiveState { .. } => "live_state",
            Error::GitHub(e) => e.metric_label(),
            Error::ScopeNotAllowed { .. } => "scope_not_allowed",
            Error::AssignTeamNotAllowed { .. } => "assign_team_not_allowed",
        }
    }
}

impl From<github::GitHubError> for Error {
    fn from(e: github::GitHubError) -> Error {
        Error::GitHub(Box::new(e))
    }
}

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
