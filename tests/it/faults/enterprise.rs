//! Running enterprise scenarios, and the named enterprise regressions.

use super::*;

#[derive(Default)]
pub(crate) struct EntTally {
    pub(crate) scenarios: u64,
    pub(crate) converged: u64,
    pub(crate) guarded_or_suspended: u64,
    pub(crate) source_errors: u64,
    pub(crate) statuses: BTreeMap<String, u64>,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Faults that reached the client, by kind.
    pub(crate) faults: BTreeMap<&'static str, u64>,
    /// Changes while paging that landed before the last page, by kind, and
    /// how many of them the client refused.
    pub(crate) churn_during: BTreeMap<String, u64>,
    pub(crate) churn_refused: BTreeMap<String, u64>,
    pub(crate) writes: u64,
}

impl EntTally {
    pub(crate) fn merge(&mut self, o: EntTally) {
        self.scenarios += o.scenarios;
        self.converged += o.converged;
        self.guarded_or_suspended += o.guarded_or_suspended;
        self.source_errors += o.source_errors;
        self.writes += o.writes;
        let add = |a: &mut BTreeMap<String, u64>, b: BTreeMap<String, u64>| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
        };
        add(&mut self.statuses, o.statuses);
        add(&mut self.errors, o.errors);
        add(&mut self.churn_during, o.churn_during);
        add(&mut self.churn_refused, o.churn_refused);
        for (k, v) in o.faults {
            *self.faults.entry(k).or_default() += v;
        }
    }
}

/// The kind of an injected fault, for the coverage counts.
pub(crate) fn fault_kind(what: &str) -> &'static str {
    if what.contains("after response") {
        "seats changed while paging"
    } else if what.starts_with("latency") {
        "latency"
    } else if what.starts_with("drop") {
        "dropped connection"
    } else if what.ends_with("(error rate)") && (what.contains("403") || what.contains("429")) {
        "rate limited (403/429)"
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

pub(crate) async fn ent_run_scenario(
    sim: &Simulator,
    s: &EntScenario,
    trace: bool,
    tally: &mut EntTally,
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
    let start = holdings(&sim.state());
    let show = |round: &EntRound| {
        if trace {
            eprintln!(
                "--- {}: {:?}\n    churn {:?}\n    requests: {:?}",
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
    };
    let churn_kind = s.churn.as_ref().map(|(k, _)| format!("{k:?}"));
    let faulty = StopSwitch::new(ent_client(sim, s, true).await, s.stop_after_writes);
    for k in 1..=s.faulty_rounds {
        let round = ent_round(sim, &faulty, &source, s, &format!("faulty round {k}")).await;
        show(&round);
        tally.writes += round.requests.iter().filter(|r| r.method != "GET").count() as u64;
        for f in &round.injected {
            *tally.faults.entry(fault_kind(&f.what)).or_default() += 1;
        }
        if let Some(kind) = &churn_kind
            && round.churned.iter().any(|(p, l)| p < l)
        {
            *tally.churn_during.entry(kind.clone()).or_default() += 1;
            if round
                .result
                .as_ref()
                .is_err_and(|e| e.starts_with("incomplete_listing"))
            {
                *tally.churn_refused.entry(kind.clone()).or_default() += 1;
            }
        }
        match &round.result {
            Ok(o) => *tally.statuses.entry(format!("{:?}", o.status)).or_default() += 1,
            Err(e) => *tally.errors.entry(label_of(e)).or_default() += 1,
        }
        ent_check_round(s, &want, &round)?;
    }

    faults.clear();
    sim.with_state(|_| ());
    let clean = StopSwitch::new(ent_client(sim, s, false).await, None);
    let first = ent_round(sim, &clean, &source, s, "after faults, round 1").await;
    show(&first);
    ent_check_round(s, &want, &first)?;
    let second = ent_round(sim, &clean, &source, s, "after faults, round 2").await;
    show(&second);
    ent_check_round(s, &want, &second)?;
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
        let held = holdings(&first.post)
            .keys()
            .filter(|l| holds(&holdings(&first.post), l))
            .count();
        if held != o1.plan.seats_after {
            return Err(format!(
                "the plan predicted {} seats after apply; {held} are held",
                o1.plan.seats_after
            ));
        }
    }
    if !o2.plan.is_empty() {
        return Err(format!(
            "the second reconcile after the faults still plans {:?} (the first applied {:?})",
            o2.plan
                .changes
                .iter()
                .map(|c| (c.action, &c.name, c.reason))
                .collect::<Vec<_>>(),
            o1.plan
                .changes
                .iter()
                .map(|c| (c.action, &c.name, c.reason))
                .collect::<Vec<_>>()
        ));
    }
    ent_check_final(s, &want, &second.post)?;
    if want.additive {
        let end = holdings(&second.post);
        let changed = churn_removed(s);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn randomized_enterprise_fault_scenarios() {
    let started = Instant::now();
    let today = Utc::now().date_naive();
    let (seeds, trace): (Vec<u64>, bool) = match env_u64("SEATKEEPER_ENTERPRISE_FAULT_SEED") {
        Some(seed) => (vec![seed], true),
        None => (
            (1..=env_u64("SEATKEEPER_ENTERPRISE_FAULT_SCENARIOS").unwrap_or(DEFAULT_ENT_SCENARIOS))
                .collect(),
            false,
        ),
    };
    let seeds = Arc::new(seeds);
    let mut workers = Vec::new();
    for w in 0..ENT_WORKERS.min(seeds.len() as u64) {
        let seeds = Arc::clone(&seeds);
        workers.push(tokio::spawn(async move {
            let sim = start_sim().await;
            let mut tally = EntTally::default();
            let mut failures = Vec::new();
            for &seed in seeds.iter().skip(w as usize).step_by(ENT_WORKERS as usize) {
                let s = ent_generate(seed, today);
                if trace {
                    eprintln!("seed {seed}:\n{}\n{}", s.summary.join("\n"), s.yaml);
                }
                tally.scenarios += 1;
                let run =
                    AssertUnwindSafe(ent_run_scenario(&sim, &s, trace, &mut tally)).catch_unwind();
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
    let mut total = EntTally::default();
    let mut failures = Vec::new();
    for w in workers {
        let (t, f) = w.await.expect("worker");
        total.merge(t);
        failures.extend(f);
    }
    failures.sort_by_key(|(seed, _)| *seed);
    eprintln!(
        "{} enterprise scenarios in {:.1} s: {} converged, {} guarded or suspended, {} with a missing team; {} write requests under faults; faults that reached the client {:?}; changes before the last page {:?}, refused {:?}; faulty rounds ended {:?}, failed {:?}",
        total.scenarios,
        started.elapsed().as_secs_f64(),
        total.converged,
        total.guarded_or_suspended,
        total.source_errors,
        total.writes,
        total.faults,
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
            "{} of {} enterprise scenarios failed (seeds {:?}); replay one with SEATKEEPER_ENTERPRISE_FAULT_SEED=N cargo test --test it faults::\n\n{}",
            failures.len(),
            total.scenarios,
            failures.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            shown.join("\n\n")
        );
    }
    // Coverage, not just survival: every kind of fault reached the client,
    // and every kind of change while paging landed before a last page (and
    // was refused: checked per round above) a fair number of times.
    if total.scenarios >= DEFAULT_ENT_SCENARIOS {
        let at_least = total.scenarios / 60;
        for kind in [
            "5xx (error rate)",
            "rate limited (403/429)",
            "5xx (scripted)",
            "dropped connection",
            "latency",
            "404",
            "401/403/422 (scripted)",
            "seats changed while paging",
        ] {
            let n = total.faults.get(kind).copied().unwrap_or(0);
            assert!(
                n >= at_least,
                "only {n} `{kind}` faults reached the client (want {at_least}+)"
            );
        }
        for kind in ["Added", "AddedByOrg", "Removed", "NetZero"] {
            let n = total.churn_refused.get(kind).copied().unwrap_or(0);
            assert!(
                n >= at_least,
                "only {n} `{kind}` changes landed before a last page and were refused (want {at_least}+)"
            );
        }
        assert!(
            total.converged * 2 > total.scenarios,
            "too few scenarios converged ({} of {}): the generator needs tuning",
            total.converged,
            total.scenarios
        );
    }
}

/// A net-zero change while paging (one holder out, one in, the grant in a
/// later second than page 1), at production concurrency: every count
/// agrees, and the client still refuses, because the last page, read after
/// the others, holds the new grant. Nothing is written.
#[tokio::test]
pub(crate) async fn a_net_zero_change_while_paging_is_refused() {
    let today = Utc::now().date_naive();
    let mut st = SimState::new("acme");
    st.enterprise = Some(ENT.into());
    st.enterprise_members = (0..12).map(|i| format!("ent{i}")).collect();
    st.users = st.enterprise_members.clone();
    st.enterprise_selected_users = (0..12).map(|i| format!("ent{i}")).collect();
    st.enterprise_teams = vec![SimTeam::new("ent:data", &["ent0", "ent1", "ent2"])];
    st.selected_enterprise_teams.insert("ent:data".into());
    st.normalize(Utc::now());
    for seat in &mut st.enterprise_seats {
        seat.created_at = days_ago(today, 30);
    }
    // 15 entries in 5 pages of 3: ent5 goes after page 2, intruder comes.
    let sim = Simulator::start(st, SimOptions::default())
        .await
        .expect("simulator");
    for action in [
        FaultAction::RemoveEnterpriseSeatsAfter("ent5".into()),
        FaultAction::GrantEnterpriseSeatAfter {
            login: "intruder".into(),
            later_second: true,
        },
    ] {
        sim.faults().script(ScriptedFault {
            route: routes::ENTERPRISE_SEATS.into(),
            nth: 2,
            times: 1,
            action,
        });
    }
    let mut c =
        ClientConfig::new(Auth::Token(SecretString::from(sim.token()))).with_base_url(sim.url());
    c.per_page = 3;
    let api = GitHubClient::new(c).await.expect("client");
    let yaml = format!("enterprise: {ENT}\nteams: [data]\nusers: [ent0, ent1, ent2, ent3]\n");
    let source = Loaded::parse("seats.yaml", yaml.as_bytes(), None).expect("seats.yaml");
    let opts = Options {
        mode: Mode::Apply,
        today: Some(today),
        ..Options::default()
    };
    let err = reconcile(&api, &source, &opts)
        .await
        .expect_err("a listing changed while paging");
    assert_eq!(err.metric_label(), "incomplete_listing", "{err}");
    assert!(
        err.to_string().contains("while the listing was read"),
        "{err}"
    );
    let requests = sim.requests();
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "{:?}",
        requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    // The counts agree: only the new grant's time tells.
    let st = sim.state();
    assert_eq!(holdings(&st).len(), 12);
}
