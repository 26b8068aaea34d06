//! The admin view, for members of the operator-named team: recent changes
//! made through the portal (with commit links), pending requests (open
//! pull requests labelled `seatkeeper-request`), idle seats and drift (a
//! read-only plan of seats.yaml against GitHub, as `seatkeeper plan`).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::card::Target;
use crate::github::SeatApi;
use crate::github::repo::RepoApi;
use crate::selfserve::{REQUEST_LABEL, SelfServeError};
use crate::source::Loaded;

/// Changes remembered for the admin view.
const MAX_RECENT: usize = 50;

/// One change recorded through the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentChange {
    /// When (UTC).
    pub when: String,
    /// What, e.g. `request by mona: granted`.
    pub subject: String,
    /// The commit, shortened (or the pull request number).
    pub short: String,
    /// Its web address.
    pub url: Option<String>,
}

/// The last [`MAX_RECENT`] changes made through this portal process.
#[derive(Debug, Default)]
pub struct RecentLog(Mutex<VecDeque<RecentChange>>);

impl RecentLog {
    /// Remember a change (newest first).
    pub fn push(&self, c: RecentChange) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.push_front(c);
        q.truncate(MAX_RECENT);
    }

    /// The changes, newest first.
    pub fn list(&self) -> Vec<RecentChange> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// What the admin view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminView {
    /// The org or enterprise.
    pub scope: String,
    /// Changes made through the portal, newest first.
    pub recent: Vec<RecentChange>,
    /// Open request pull requests: number, address, title.
    pub pending: Vec<(u64, String, String)>,
    /// Idle seats, one line each.
    pub idle: Vec<String>,
    /// `policy.inactivity.days` (30 when unset, for the empty message).
    pub idle_days: u32,
    /// Changes the controller would make now, one line each.
    pub drift: Vec<String>,
}

/// Read the admin view.
pub async fn read(
    seats: &dyn SeatApi,
    repo: &dyn RepoApi,
    target: &Target,
    recent: &RecentLog,
) -> Result<AdminView, SelfServeError> {
    let (text, _) = super::card::read_file(repo, target).await?;
    let loaded = Loaded::parse(&target.path, text.as_bytes(), None)?;
    let opts = crate::reconcile::Options {
        mode: crate::reconcile::Mode::Plan,
        ..crate::reconcile::Options::default()
    };
    let (outcome, pulls) = tokio::try_join!(
        async {
            crate::reconcile::reconcile(seats, &loaded, &opts)
                .await
                .map_err(SelfServeError::from)
        },
        async {
            repo.list_pulls(&target.repo, None, "open")
                .await
                .map_err(SelfServeError::from)
        },
    )?;
    let plan = &outcome.plan;
    Ok(AdminView {
        scope: outcome.scope.name().to_string(),
        recent: recent.list(),
        pending: pulls
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == REQUEST_LABEL))
            .map(|p| (p.number, p.html_url, p.title))
            .collect(),
        idle: plan
            .inactive
            .iter()
            .map(|i| {
                if i.never_active {
                    format!("{}: never active ({} days)", i.login, i.days_idle)
                } else {
                    format!("{}: idle {} days", i.login, i.days_idle)
                }
            })
            .collect(),
        idle_days: plan.inactivity_days.unwrap_or(30),
        drift: plan
            .changes
            .iter()
            .map(|c| format!("{} {}", c.action.as_str(), c.name))
            .collect(),
    })
}
