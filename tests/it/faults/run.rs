//! Running scenarios of either scope, counting what they covered, and the
//! coverage every default run must reach.

use super::*;

/// The kinds of fault the generator injects, each of which must fire and be
/// seen by the client in every default run, in both scopes.
pub(crate) const FAULT_KINDS: [&str; 10] = [
    "5xx (error rate)",
    "5xx (scripted)",
    "rate limited (retry-after)",
    "429 without retry-after",
    "dropped connection",
    "timeout",
    "slow answer",
    "404",
    "401/403/422 (scripted)",
    "seats changed while paging",
];

#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) scenarios: u64,
    pub(crate) converged: u64,
    pub(crate) guarded_or_suspended: u64,
    pub(crate) source_errors: u64,
    pub(crate) statuses: BTreeMap<String, u64>,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Faults injected in the faulty rounds, by kind.
    pub(crate) fired: BTreeMap<&'static str, u64>,
    /// Of those, how many reached the client: the simulator answered with
    /// the fault (or dropped the connection, or outlasted the timeout) and
    /// the client counted such an answer.
    pub(crate) seen: BTreeMap<&'static str, u64>,
    /// Changes while paging that landed before the last page, by kind, and
    /// how many of them the client refused.
    pub(crate) churn_during: BTreeMap<String, u64>,
    pub(crate) churn_refused: BTreeMap<String, u64>,
    /// Faulty rounds whose listing could not be proven whole and that went
    /// on with adds only (every removal held).
    pub(crate) adds_only: u64,
    /// Rate-limit waits checked against the `retry-after` asked for.
    pub(crate) rate_limit_waits: u64,
    pub(crate) writes: u64,
}

impl Tally {
    pub(crate) fn merge(&mut self, o: Tally) {
        self.scenarios += o.scenarios;
        self.converged += o.converged;
        self.guarded_or_suspended += o.guarded_or_suspended;
        self.source_errors += o.source_errors;
        self.rate_limit_waits += o.rate_limit_waits;
        self.adds_only += o.adds_only;
        self.writes += o.writes;
        for (a, b) in [
            (&mut self.statuses, o.statuses),
            (&mut self.errors, o.errors),
            (&mut self.churn_during, o.churn_during),
            (&mut self.churn_refused, o.churn_refused),
        ] {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
        }
        for (a, b) in [(&mut self.fired, o.fired), (&mut self.seen, o.seen)] {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
        }
    }

    /// Coverage, not just survival: with the default number of scenarios,
    /// every kind of fault fired and reached the client, every kind of
    /// change while paging landed before a last page and was refused, and
    /// rate-limit waits were checked, a fair number of times each.
    pub(crate) fn coverage<S: Scope>(&self) -> Result<(), String> {
        let at_least = S::DEFAULT_SCENARIOS / 60;
        let mut missing = Vec::new();
        for kind in FAULT_KINDS {
            let (fired, seen) = (
                self.fired.get(kind).copied().unwrap_or(0),
                self.seen.get(kind).copied().unwrap_or(0),
            );
            if seen < at_least {
                missing.push(format!(
                    "`{kind}`: {fired} fired, {seen} reached the client (want {at_least}+)"
                ));
            }
        }
        for kind in S::CHURN_KINDS {
            let n = self
                .churn_refused
                .get(&format!("{kind:?}"))
                .copied()
                .unwrap_or(0);
            if n < at_least {
                missing.push(format!(
                    "`{kind:?}` changes while paging: {n} landed before a last page and were refused (want {at_least}+)"
                ));
            }
        }
        // The faults that leave a listing unprovable (a seat page failing
        // past the retries, seats changing on every read) reach the
        // adds-only path, not only the error path. Half the bar: only
        // multi-page listings without churn draw the failing page (about
        // one scenario in six), and a failure on page 1 leaves no pages.
        if self.adds_only < at_least / 2 {
            missing.push(format!(
                "{} faulty rounds went on with adds only from an incomplete listing (want {}+)",
                self.adds_only,
                at_least / 2
            ));
        }
        if self.rate_limit_waits < at_least {
            missing.push(format!(
                "{} rate-limit waits checked against retry-after (want {at_least}+)",
                self.rate_limit_waits
            ));
        }
        if self.converged * 2 <= self.scenarios {
            missing.push(format!(
                "too few scenarios converged ({} of {}): the generator needs tuning",
                self.converged, self.scenarios
            ));
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} {} scenarios did not cover every fault:\n  {}",
                self.scenarios,
                S::NAME,
                missing.join("\n  ")
            ))
        }
    }

    /// Count the faults of one faulty round: fired, and seen by the client.
    fn count_faults(&mut self, round: &Round) {
        let mut sent: BTreeMap<&'static str, u64> = BTreeMap::new();
        for f in &round.injected {
            let answer = round.requests.iter().find(|r| r.seq == f.seq);
            let kind = fault_kind(&f.what, answer);
            *self.fired.entry(kind).or_default() += 1;
            let reached = match kind {
                "timeout" => true,
                "slow answer" => answer.is_some_and(|a| a.status != 0),
                "dropped connection" => answer.is_some_and(|a| a.status == 0),
                "seats changed while paging" => !round.churned.is_empty(),
                _ => answer.is_some_and(|a| f.what.starts_with(&format!("status {}", a.status))),
            };
            *sent.entry(kind).or_default() += u64::from(reached);
        }
        let client = |statuses: &[u16]| -> u64 {
            statuses
                .iter()
                .map(|s| round.client_seen.get(s).copied().unwrap_or(0))
                .sum()
        };
        let answered: u64 = round
            .client_seen
            .iter()
            .filter(|(s, _)| **s != 0)
            .map(|(_, n)| n)
            .sum();
        for (kind, n) in sent {
            let by_client = match kind {
                "5xx (error rate)" | "5xx (scripted)" => client(&[500, 502, 503, 504]),
                "rate limited (retry-after)" => client(&[403, 429]),
                "429 without retry-after" => client(&[429]),
                "404" => client(&[404]),
                "401/403/422 (scripted)" => client(&[401, 403, 422]),
                "dropped connection" | "timeout" => client(&[0]),
                "seats changed while paging" => u64::from(!round.churned.is_empty()),
                _ => answered,
            };
            *self.seen.entry(kind).or_default() += n.min(by_client);
        }
    }
}

/// The kind of an injected fault, from what the simulator logged and the
/// answer it recorded (the `retry-after` header tells rate limits apart).
pub(crate) fn fault_kind(what: &str, answer: Option<&RecordedRequest>) -> &'static str {
    if what.contains("after response") {
        "seats changed while paging"
    } else if let Some(ms) = what
        .strip_prefix("latency ")
        .and_then(|r| r.strip_suffix(" ms"))
    {
        if ms.parse::<u128>().unwrap_or(0) >= TIMEOUT_LATENCY.as_millis() {
            "timeout"
        } else {
            "slow answer"
        }
    } else if what.starts_with("drop") {
        "dropped connection"
    } else if what.ends_with("(error rate)") && (what.contains("403") || what.contains("429")) {
        let retry_after = answer.is_some_and(|a| {
            a.response_headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        });
        if retry_after || what.contains("403") {
            "rate limited (retry-after)"
        } else {
            "429 without retry-after"
        }
    } else if what.ends_with("(error rate)") {
        "5xx (error rate)"
    } else if what.starts_with("status 5") {
        "5xx (scripted)"
    } else if what.starts_with("status 404") {
        "404"
    } else {
        "401/403/422 (scripted)"
    }
}

pub(crate) fn label_of(err: &str) -> String {
    err.split(' ').next().unwrap_or("").to_string()
}

fn show(trace: bool, round: &Round) {
    if !trace {
        return;
    }
    eprintln!(
        "--- {}: {:?}\n    churn {:?}, waits {:?}\n    requests: {:?}",
        round.label,
        round.result.as_ref().map(|o| (
            o.status,
            o.plan
                .changes
                .iter()
                .map(|c| (c.action, c.name.clone(), c.reason))
                .collect::<Vec<_>>(),
            &o.results
        )),
        round.churned,
        round.waits,
        round
            .requests
            .iter()
            .map(|r| format!(
                "{} {}?{} {}",
                r.method,
                r.path,
                r.query.as_deref().unwrap_or(""),
                r.status
            ))
            .collect::<Vec<_>>()
    );
}

/// Every check of one round: the safety rules and the waits.
fn check<S: Scope>(
    s: &Scenario,
    want: &Want,
    round: &Round,
    tally: &mut Tally,
) -> Result<(), String> {
    check_round::<S>(s, want, round)?;
    tally.rate_limit_waits += check_waits::<S>(round, s)?;
    Ok(())
}

pub(crate) async fn run_scenario<S: Scope>(
    sim: &Simulator,
    s: &Scenario,
    trace: bool,
    tally: &mut Tally,
) -> Result<(), String> {
    let source = Loaded::parse("seats.yaml", s.yaml.as_bytes(), None)
        .map_err(|e| format!("generated seats.yaml does not parse: {e}\n{}", s.yaml))?;
    let want = Want::new(&source, s.today);
    let state = s.state.clone();
    sim.with_state(move |st| *st = state);
    let faults = sim.faults();
    faults.clear();
    faults.seed(s.seed);
    for r in &s.rates {
        faults.add_error_rate(r.clone());
    }
    for f in &s.scripts {
        faults.script(f.clone());
    }
    faults.reject_logins(&s.rejected);
    let start = S::holdings(&sim.state());
    let waits: Waits = Arc::default();

    // The faulty phase.
    let churn_kind = s.churn.as_ref().map(|(k, _)| format!("{k:?}"));
    let faulty = StopSwitch::new(client::<S>(sim, s, true, &waits).await, s.stop_after_writes);
    for k in 1..=s.faulty_rounds {
        let label = format!("faulty round {k}");
        let round = run_round::<S>(sim, &faulty, &waits, &source, s, &label).await;
        show(trace, &round);
        tally.writes += round.requests.iter().filter(|r| is_write(r)).count() as u64;
        tally.count_faults(&round);
        if let Some(kind) = &churn_kind
            && round.churned.iter().any(|(p, l)| p < l)
        {
            *tally.churn_during.entry(kind.clone()).or_default() += 1;
            if round.reread
                || round
                    .result
                    .as_ref()
                    .is_err_and(|e| e.starts_with("incomplete_listing"))
                || round
                    .result
                    .as_ref()
                    .is_ok_and(|o| o.plan.partial.is_some())
            {
                *tally.churn_refused.entry(kind.clone()).or_default() += 1;
            }
        }
        if round
            .result
            .as_ref()
            .is_ok_and(|o| o.plan.partial.is_some())
        {
            tally.adds_only += 1;
        }
        match &round.result {
            Ok(o) => *tally.statuses.entry(format!("{:?}", o.status)).or_default() += 1,
            Err(e) => *tally.errors.entry(label_of(e)).or_default() += 1,
        }
        check::<S>(s, &want, &round, tally)?;
    }

    // The faults stop. Seats a fault took out of the listing are re-derived
    // as GitHub would (a member of a selected team holds a seat).
    faults.clear();
    sim.with_state(|_| ());
    let clean = StopSwitch::new(client::<S>(sim, s, false, &waits).await, None);
    let first = run_round::<S>(sim, &clean, &waits, &source, s, "after faults, round 1").await;
    show(trace, &first);
    check::<S>(s, &want, &first, tally)?;
    let second = run_round::<S>(sim, &clean, &waits, &source, s, "after faults, round 2").await;
    show(trace, &second);
    check::<S>(s, &want, &second, tally)?;
    if s.missing_team {
        tally.source_errors += 1;
        return Ok(());
    }
    let (o1, o2) = match (&first.result, &second.result) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(format!("a reconcile failed without faults: {e}")),
    };
    if o1.plan.guard.tripped || want.suspend {
        if !o2.plan.guard.tripped && !want.suspend {
            return Err(format!("guarded once, then not: {:?}", o2.plan.changes));
        }
        tally.guarded_or_suspended += 1;
        return Ok(());
    }
    if !matches!(o1.status, Status::Applied | Status::InSync) {
        return Err(format!(
            "without faults: status {:?}, results {:?}",
            o1.status, o1.results
        ));
    }
    if o1.status == Status::Applied {
        let held = S::holdings(&first.post)
            .values()
            .filter(|h| h.active)
            .count();
        if held != o1.plan.seats_after {
            return Err(format!(
                "the plan predicted {} seats after apply; {held} are held",
                o1.plan.seats_after
            ));
        }
    }
    if !o2.plan.is_empty() {
        let changes = |o: &Outcome| {
            o.plan
                .changes
                .iter()
                .map(|c| format!("{:?} {} ({:?})", c.action, c.name, c.reason))
                .collect::<Vec<_>>()
        };
        return Err(format!(
            "the second reconcile after the faults still plans {:?} (the first applied {:?})",
            changes(o2),
            changes(o1)
        ));
    }
    check_final::<S>(s, &want, &second.post)?;
    if want.additive {
        let end = S::holdings(&second.post);
        let changed = s.churn_removed();
        if let Some(l) = start
            .keys()
            .find(|l| holds(&start, l) && !holds(&end, l) && !changed.contains(*l))
        {
            return Err(format!("removals: additive, yet `{l}` lost its seat"));
        }
    }
    tally.converged += 1;
    Ok(())
}

pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got `{v}`"))
    })
}

pub(crate) async fn start_sim() -> Simulator {
    let opts = SimOptions {
        // Thousands of requests per simulator: keep the primary limit out of the way.
        rate_limit: 100_000_000,
        ..SimOptions::default()
    };
    Simulator::start(SimState::new("acme"), opts)
        .await
        .expect("start simulator")
}

/// Run the scope's scenarios (or replay one), fail with every failing seed,
/// then check coverage.
pub(crate) async fn run_all<S: Scope>() {
    let started = Instant::now();
    let today = Utc::now().date_naive();
    let (seeds, trace): (Vec<u64>, bool) = match env_u64(S::SEED_VAR) {
        Some(seed) => (vec![seed], true),
        None => (
            (1..=env_u64(S::SCENARIOS_VAR).unwrap_or(S::DEFAULT_SCENARIOS)).collect(),
            false,
        ),
    };
    let seeds = Arc::new(seeds);
    let mut workers = Vec::new();
    for w in 0..S::WORKERS.min(seeds.len() as u64) {
        let seeds = Arc::clone(&seeds);
        workers.push(tokio::spawn(async move {
            let sim = start_sim().await;
            let mut tally = Tally::default();
            let mut failures = Vec::new();
            for &seed in seeds.iter().skip(w as usize).step_by(S::WORKERS as usize) {
                let s = generate::<S>(seed, today);
                if trace {
                    eprintln!("seed {seed}:\n{}\n{}", s.summary.join("\n"), s.yaml);
                }
                tally.scenarios += 1;
                let run =
                    AssertUnwindSafe(run_scenario::<S>(&sim, &s, trace, &mut tally)).catch_unwind();
                let verdict = match tokio::time::timeout(SCENARIO_TIMEOUT, run).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(panic)) => Err(format!(
                        "panicked: {}",
                        panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("(no message)")
                    )),
                    Err(_) => Err(format!("did not finish within {SCENARIO_TIMEOUT:?}")),
                };
                if let Err(e) = verdict {
                    failures.push((seed, format!("{e}\n  scenario: {}", s.summary.join("\n  "))));
                }
            }
            sim.shutdown().await;
            (tally, failures)
        }));
    }
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for w in workers {
        let (t, f) = w.await.expect("worker");
        total.merge(t);
        failures.extend(f);
    }
    failures.sort_by_key(|(seed, _)| *seed);
    eprintln!(
        "{} {} scenarios in {:.1} s: {} converged, {} guarded or suspended, {} with a missing team; {} write requests under faults; faults fired {:?}, reached the client {:?}; {} rate-limit waits checked; {} adds-only rounds; changes before the last page {:?}, refused {:?}; faulty rounds ended {:?}, failed {:?}",
        total.scenarios,
        S::NAME,
        started.elapsed().as_secs_f64(),
        total.converged,
        total.guarded_or_suspended,
        total.source_errors,
        total.writes,
        total.fired,
        total.seen,
        total.rate_limit_waits,
        total.adds_only,
        total.churn_during,
        total.churn_refused,
        total.statuses,
        total.errors,
    );
    if !failures.is_empty() {
        let shown: Vec<String> = failures
            .iter()
            .take(20)
            .map(|(seed, e)| format!("seed {seed}: {e}"))
            .collect();
        panic!(
            "{} of {} {} scenarios failed (seeds {:?}); replay one with {}=N cargo test --test it faults::\n\n{}",
            failures.len(),
            total.scenarios,
            S::NAME,
            failures.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            S::SEED_VAR,
            shown.join("\n\n")
        );
    }
    // A replay or a short run proves its scenarios, not coverage.
    if total.scenarios >= S::DEFAULT_SCENARIOS
        && let Err(e) = total.coverage::<S>()
    {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn randomized_fault_scenarios() {
    run_all::<Org>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn randomized_enterprise_fault_scenarios() {
    run_all::<Enterprise>().await;
}

/// The coverage and wait checks fail on what they claim to catch: a run in
/// which no fault fired, and a client that ignores `retry-after`.
#[test]
fn the_coverage_and_wait_checks_catch_what_they_claim() {
    let mut none = Tally {
        scenarios: Org::DEFAULT_SCENARIOS,
        converged: Org::DEFAULT_SCENARIOS,
        ..Tally::default()
    };
    let err = none.coverage::<Org>().unwrap_err();
    for kind in FAULT_KINDS {
        assert!(err.contains(kind), "{kind} missing from: {err}");
    }
    for kind in FAULT_KINDS {
        none.seen.insert(kind, 40);
    }
    none.rate_limit_waits = 40;
    assert!(err.contains("adds only"), "{err}");
    none.adds_only = 40;
    for kind in ["AddedByOrg", "Removed"] {
        none.churn_refused.insert(kind.into(), 40);
    }
    none.coverage::<Org>().expect("all covered");

    let answer = |seq: u64, status: u16, retry_after: Option<&str>| RecordedRequest {
        seq,
        method: "GET".into(),
        path: "/orgs/acme/copilot/billing/seats".into(),
        query: Some("page=1".into()),
        route: routes::ORG_SEATS.into(),
        status,
        body: None,
        headers: Vec::new(),
        response_headers: retry_after
            .map(|v| vec![("retry-after".to_string(), v.to_string())])
            .unwrap_or_default(),
        response_body: None,
        at: std::time::Instant::now(),
    };
    let s = generate::<Org>(1, Utc::now().date_naive());
    let round = |requests: Vec<RecordedRequest>, waits: Vec<Duration>| Round {
        label: "test".into(),
        pre: SimState::new("acme"),
        post: SimState::new("acme"),
        requests,
        result: Err("test".into()),
        listed: None,
        stop_triggered: false,
        writes_after_stop: 0,
        churned: Vec::new(),
        reread: true,
        churn_fired: false,
        injected: Vec::new(),
        waits,
        client_seen: BTreeMap::new(),
    };
    let secs = Duration::from_secs;
    let limited = || vec![answer(1, 429, Some("7")), answer(2, 200, None)];
    assert_eq!(
        check_waits::<Org>(&round(limited(), vec![secs(7)]), &s),
        Ok(1)
    );
    // The default minute instead of the 7 s asked for; no wait at all.
    let err = check_waits::<Org>(&round(limited(), vec![secs(60)]), &s).unwrap_err();
    assert!(err.contains("waited 60s"), "{err}");
    let err = check_waits::<Org>(&round(limited(), vec![]), &s).unwrap_err();
    assert!(err.contains("waited so 0"), "{err}");
    // A 429 without retry-after: a minute. A backoff over its ceiling.
    let bare = vec![answer(1, 429, None), answer(2, 200, None)];
    assert_eq!(
        check_waits::<Org>(&round(bare.clone(), vec![secs(60)]), &s),
        Ok(1)
    );
    let err = check_waits::<Org>(&round(bare, vec![secs(60), secs(2) / 100]), &s).unwrap_err();
    assert!(err.contains("over the ceiling"), "{err}");
}
