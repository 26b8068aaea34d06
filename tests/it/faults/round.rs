//! One reconcile, observed: the real client behind a stop switch, and the requests it sent.

use super::*;

// ---------------------------------------------------------------------------
// The API the reconciler sees: the real client, plus a stop switch that flips
// after the n-th write call (a shutdown arriving mid-apply).

pub(crate) struct StopSwitch {
    pub(crate) inner: GitHubClient,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) after: Option<usize>,
    pub(crate) writes: AtomicUsize,
    pub(crate) writes_after_stop: AtomicUsize,
    /// The last listing the client returned, as the planner got it.
    pub(crate) listed: std::sync::Mutex<Option<LiveState>>,
}

impl StopSwitch {
    pub(crate) fn new(inner: GitHubClient, after: Option<usize>) -> StopSwitch {
        StopSwitch {
            inner,
            stop: Arc::new(AtomicBool::new(after == Some(0))),
            after,
            writes: AtomicUsize::new(0),
            writes_after_stop: AtomicUsize::new(0),
            listed: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn before_write(&self) {
        if self.stop.load(Ordering::SeqCst) {
            self.writes_after_stop.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn after_write(&self) {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if Some(n) == self.after {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl SeatApi for StopSwitch {
    async fn billing(&self, scope: &Scope) -> Result<BillingInfo, GitHubError> {
        self.inner.billing(scope).await
    }

    async fn list_seats(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        let live = self.inner.list_seats(scope).await;
        *self.listed.lock().unwrap() = live.as_ref().ok().cloned();
        live
    }

    async fn add_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.add_users(scope, logins).await;
        self.after_write();
        r
    }

    async fn remove_users(
        &self,
        scope: &Scope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.remove_users(scope, logins).await;
        self.after_write();
        r
    }

    async fn add_teams(&self, scope: &Scope, teams: &[String]) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.add_teams(scope, teams).await;
        self.after_write();
        r
    }

    async fn remove_teams(
        &self,
        scope: &Scope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.remove_teams(scope, teams).await;
        self.after_write();
        r
    }

    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        self.inner.membership(org, login).await
    }

    async fn team_members(
        &self,
        scope: &Scope,
        slug: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        self.inner.team_members(scope, slug).await
    }

    async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        self.inner.user_exists(login).await
    }

    async fn list_members(&self, org: &str) -> Result<Vec<String>, GitHubError> {
        self.inner.list_members(org).await
    }

    async fn add_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.add_team_members(scope, team, logins).await;
        self.after_write();
        r
    }

    async fn remove_team_members(
        &self,
        scope: &Scope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.before_write();
        let r = self.inner.remove_team_members(scope, team, logins).await;
        self.after_write();
        r
    }
}

pub(crate) async fn client(sim: &Simulator, s: &Scenario, faulty: bool) -> GitHubClient {
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.page_concurrency = 1;
    c.batch_size = s.client_batch_size;
    c.throttle = ThrottleConfig::unlimited();
    c.backoff_base = Duration::from_millis(1);
    c.backoff_max = Duration::from_millis(1);
    let instant: RetrySleep = Arc::new(|_| Box::pin(async {}));
    c.retry_sleep = Some(instant);
    if faulty {
        c.max_attempts = s.max_attempts;
        c.request_timeout = s.request_timeout;
    }
    GitHubClient::new(c).await.expect("client")
}

// ---------------------------------------------------------------------------
// One reconcile, observed.

pub(crate) struct Round {
    pub(crate) label: String,
    pub(crate) pre: SimState,
    pub(crate) post: SimState,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) result: Result<Outcome, String>,
    pub(crate) stop_triggered: bool,
    pub(crate) writes_after_stop: usize,
    /// Sequence numbers of seat pages after which the seats changed (2xx).
    pub(crate) page_changes: Vec<u64>,
}

pub(crate) async fn run_round(
    sim: &Simulator,
    api: &StopSwitch,
    source: &Loaded,
    s: &Scenario,
    label: &str,
) -> Round {
    let pre = sim.state();
    sim.clear_requests();
    let injected_before = sim.faults().injected().len();
    let opts = Options {
        mode: Mode::Apply,
        today: Some(s.today),
        check_eligibility: true,
        batch_size: s.batch_size,
        concurrency: 1,
        stop: Some(api.stop.clone()),
        // The scenarios' oracle knows only the file's cap: lift the default.
        bounds: seatkeeper::reconcile::Bounds {
            max_removals: Some(seatkeeper::config::MaxRemovals::Percent(100.0)),
            ..Default::default()
        },
        ..Options::default()
    };
    let result = reconcile(api, source, &opts)
        .await
        .map_err(|e| format!("{} error: {e}", e.metric_label()));
    // A write that timed out on our side may still be running in the
    // simulator: let it land before looking.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.rate_limit().in_flight > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let requests = sim.requests();
    let page_changes = sim.faults().injected()[injected_before..]
        .iter()
        .filter(|f| f.what.contains("seat") && f.what.contains("after response"))
        .filter(|f| {
            requests
                .iter()
                .any(|r| r.seq == f.seq && (200..300).contains(&r.status))
        })
        // A page asked for again (its first answer timed out on our side)
        // may have been read after the change: the change then did not
        // land between pages the client used.
        .filter(|f| !asked_again(&requests, f.seq))
        .map(|f| f.seq)
        .collect();
    Round {
        label: label.to_string(),
        pre,
        post: sim.state(),
        requests,
        result,
        stop_triggered: api.stop.load(Ordering::SeqCst),
        writes_after_stop: api.writes_after_stop.load(Ordering::SeqCst),
        page_changes,
    }
}

/// Was the request `seq` sent again later in the round (same path and query)?
pub(crate) fn asked_again(requests: &[RecordedRequest], seq: u64) -> bool {
    let Some(r) = requests.iter().find(|r| r.seq == seq) else {
        return false;
    };
    requests
        .iter()
        .any(|x| x.seq > seq && x.method == r.method && x.path == r.path && x.query == r.query)
}
