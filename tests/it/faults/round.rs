//! One reconcile, observed: the real client behind a stop switch, the
//! requests it sent, the faults that fired and the waits it asked for.

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

    /// One write call, counted, and checked against the stop flag.
    async fn write<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        self.before_write();
        let r = call.await;
        self.after_write();
        r
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
    async fn billing(&self, scope: &ConfigScope) -> Result<BillingInfo, GitHubError> {
        self.inner.billing(scope).await
    }

    async fn list_seats(&self, scope: &ConfigScope) -> Result<LiveState, GitHubError> {
        let live = self.inner.list_seats(scope).await;
        // An incomplete listing's pages are what the reconcile plans from.
        *self.listed.lock().unwrap() = match &live {
            Ok(l) => Some(l.clone()),
            Err(GitHubError::IncompleteListing {
                partial: Some(p), ..
            }) => Some((**p).clone()),
            Err(_) => None,
        };
        live
    }

    async fn add_users(
        &self,
        scope: &ConfigScope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.add_users(scope, logins)).await
    }

    async fn remove_users(
        &self,
        scope: &ConfigScope,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.remove_users(scope, logins)).await
    }

    async fn add_teams(
        &self,
        scope: &ConfigScope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.add_teams(scope, teams)).await
    }

    async fn remove_teams(
        &self,
        scope: &ConfigScope,
        teams: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.remove_teams(scope, teams)).await
    }

    async fn membership(&self, org: &str, login: &str) -> Result<Membership, GitHubError> {
        self.inner.membership(org, login).await
    }

    async fn team_members(
        &self,
        scope: &ConfigScope,
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
        scope: &ConfigScope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.add_team_members(scope, team, logins))
            .await
    }

    async fn remove_team_members(
        &self,
        scope: &ConfigScope,
        team: &str,
        logins: &[String],
    ) -> Result<WriteReport, GitHubError> {
        self.write(self.inner.remove_team_members(scope, team, logins))
            .await
    }
}
/// The retry waits a client asked for: recorded, then returned at once.
pub(crate) type Waits = Arc<Mutex<Vec<Duration>>>;

/// The real client, configured for scope `S`, its retry waits recorded in
/// `waits`. The faulty one gives up sooner and times out in 150 ms.
pub(crate) async fn client<S: Scope>(
    sim: &Simulator,
    s: &Scenario,
    faulty: bool,
    waits: &Waits,
) -> GitHubClient {
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.page_concurrency = S::PAGE_CONCURRENCY;
    c.per_page = s.per_page;
    c.batch_size = s.client_batch_size;
    c.throttle = ThrottleConfig::unlimited();
    c.backoff_base = BACKOFF_BASE;
    c.backoff_max = BACKOFF_MAX;
    c.max_rate_limit_wait = MAX_RATE_LIMIT_WAIT;
    let record = waits.clone();
    let sleep: RetrySleep = Arc::new(move |d| {
        record.lock().unwrap().push(d);
        Box::pin(async {})
    });
    c.retry_sleep = Some(sleep);
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
    /// The listing the planner got, when the client returned one.
    pub(crate) listed: Option<LiveState>,
    pub(crate) stop_triggered: bool,
    pub(crate) writes_after_stop: usize,
    /// Seat pages after which the seats changed, not asked for again:
    /// (page, pages of the listing).
    pub(crate) churned: Vec<(usize, usize)>,
    /// Every read that a change before its last page made unprovable was
    /// followed by a new read of the listing, with no write in between.
    pub(crate) reread: bool,
    /// The seats changed during this round (after any seat page).
    pub(crate) churn_fired: bool,
    /// Every fault injected in this round.
    pub(crate) injected: Vec<InjectedFault>,
    /// The waits the client asked for before retries.
    pub(crate) waits: Vec<Duration>,
    /// Responses the client counted in this round, by status (0: none).
    pub(crate) client_seen: BTreeMap<u16, u64>,
}

pub(crate) fn page_of(r: &RecordedRequest) -> usize {
    r.query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
}

fn by_status(api: &StopSwitch) -> BTreeMap<u16, u64> {
    let mut out = BTreeMap::new();
    for ((_, _, status), n) in api.inner.stats().requests {
        *out.entry(status).or_default() += n;
    }
    out
}

pub(crate) async fn run_round<S: Scope>(
    sim: &Simulator,
    api: &StopSwitch,
    waits: &Waits,
    source: &Loaded,
    s: &Scenario,
    label: &str,
) -> Round {
    let pre = sim.state();
    sim.clear_requests();
    waits.lock().unwrap().clear();
    *api.listed.lock().unwrap() = None;
    let seen_before = by_status(api);
    let injected_before = sim.faults().injected().len();
    let opts = Options {
        mode: Mode::Apply,
        today: Some(s.today),
        check_eligibility: true,
        batch_size: s.batch_size,
        concurrency: S::CONCURRENCY,
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
    // A request that timed out on our side may still be running in the
    // simulator: let it land before looking.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.rate_limit().in_flight > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let requests = sim.requests();
    let injected: Vec<InjectedFault> = sim.faults().injected()[injected_before..].to_vec();
    let seat_pages: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.route == S::SEATS_ROUTE && (200..300).contains(&r.status))
        .collect();
    let last = seat_pages.iter().map(|r| page_of(r)).max().unwrap_or(1);
    let churn_fired = injected
        .iter()
        .any(|f| f.what.contains("after response") && seat_pages.iter().any(|r| r.seq == f.seq));
    // A listing read starts at each request for page 1; the client reads a
    // listing that shifted again at once, so a change is judged against the
    // read it happened in.
    let page_ones: Vec<u64> = requests
        .iter()
        .filter(|r| r.route == S::SEATS_ROUTE && page_of(r) == 1)
        .map(|r| r.seq)
        .collect();
    let read_end = |seq: u64| {
        page_ones
            .iter()
            .copied()
            .find(|s| *s > seq)
            .unwrap_or(u64::MAX)
    };
    let read_start = |seq: u64| {
        page_ones
            .iter()
            .copied()
            .filter(|s| *s <= seq)
            .max()
            .unwrap_or(0)
    };
    let mut churned: Vec<(usize, usize)> = Vec::new();
    let mut reread = true;
    for r in injected
        .iter()
        .filter(|f| f.what.contains("after response"))
        .filter_map(|f| seat_pages.iter().find(|r| r.seq == f.seq))
    {
        let (start, end) = (read_start(r.seq), read_end(r.seq));
        let in_read = |seq: u64| seq >= start && seq < end;
        // A page retried within its own read (a timeout, a dropped answer).
        let retried = requests.iter().filter(|x| in_read(x.seq)).any(|x| {
            x.seq > r.seq && x.method == r.method && x.path == r.path && x.query == r.query
        });
        if retried {
            continue;
        }
        let last_of_read = seat_pages
            .iter()
            .filter(|x| in_read(x.seq))
            .map(|x| page_of(x))
            .max()
            .unwrap_or(last);
        let page = page_of(r);
        if page < last_of_read {
            // Read again, and nothing written in between.
            reread &= end != u64::MAX
                && !requests
                    .iter()
                    .any(|x| x.seq > r.seq && x.seq < end && x.method != "GET");
        }
        churned.push((page, last_of_read));
    }
    churned.dedup();
    let mut client_seen = by_status(api);
    for (status, n) in seen_before {
        if let Some(m) = client_seen.get_mut(&status) {
            *m -= n;
        }
    }
    Round {
        label: label.to_string(),
        pre,
        post: sim.state(),
        requests,
        result,
        listed: api.listed.lock().unwrap().clone(),
        stop_triggered: api.stop.load(Ordering::SeqCst),
        writes_after_stop: api.writes_after_stop.load(Ordering::SeqCst),
        churned,
        reread,
        churn_fired,
        injected,
        waits: waits.lock().unwrap().clone(),
        client_seen,
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
