//! One enterprise reconcile at production concurrency, observed.

use super::*;

pub(crate) async fn ent_client(sim: &Simulator, s: &EntScenario, faulty: bool) -> GitHubClient {
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    // Production concurrency: 4 pages at once (and 8 look-ups, below).
    c.page_concurrency = 4;
    c.per_page = s.per_page;
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

/// One enterprise reconcile, observed.
pub(crate) struct EntRound {
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
    /// The seats changed during this round (after any seat page).
    pub(crate) churn_fired: bool,
    /// Every fault injected in this round.
    pub(crate) injected: Vec<seatkeeper::simulator::InjectedFault>,
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

pub(crate) async fn ent_round(
    sim: &Simulator,
    api: &StopSwitch,
    source: &Loaded,
    s: &EntScenario,
    label: &str,
) -> EntRound {
    let pre = sim.state();
    sim.clear_requests();
    *api.listed.lock().unwrap() = None;
    let injected_before = sim.faults().injected().len();
    let opts = Options {
        mode: Mode::Apply,
        today: Some(s.today),
        check_eligibility: true,
        batch_size: s.batch_size,
        concurrency: 8,
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
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.rate_limit().in_flight > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let requests = sim.requests();
    let injected: Vec<_> = sim.faults().injected()[injected_before..].to_vec();
    let seat_pages: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.route == routes::ENTERPRISE_SEATS && (200..300).contains(&r.status))
        .collect();
    let last = seat_pages.iter().map(|r| page_of(r)).max().unwrap_or(1);
    let churn_fired = injected
        .iter()
        .any(|f| f.what.contains("after response") && seat_pages.iter().any(|r| r.seq == f.seq));
    let mut churned: Vec<(usize, usize)> = injected
        .iter()
        .filter(|f| f.what.contains("after response"))
        .filter_map(|f| seat_pages.iter().find(|r| r.seq == f.seq))
        .filter(|r| !asked_again(&requests, r.seq))
        .map(|r| (page_of(r), last))
        .collect();
    churned.dedup();
    EntRound {
        label: label.to_string(),
        pre,
        post: sim.state(),
        requests,
        result,
        listed: api.listed.lock().unwrap().clone(),
        stop_triggered: api.stop.load(Ordering::SeqCst),
        writes_after_stop: api.writes_after_stop.load(Ordering::SeqCst),
        churned,
        churn_fired,
        injected,
    }
}
