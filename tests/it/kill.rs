//! SIGKILL in the middle of an apply, for real: `seatkeeper apply --confirm`
//! and `seatkeeper run` are killed at seeded random points while they add
//! and remove users and teams (one change per request, each write slowed
//! down by the simulator so kills land mid-apply), then started again.
//!
//! After each kill, from the simulator's state (GitHub, in this process)
//! and the killed process's per-change record (its JSON `seat_change`
//! audit events, written as each batch is answered; `apply` also prints one
//! line per change on stdout, checked the same way when present):
//! - every seat lost was one the plan removes: nobody who keeps a seat in
//!   seats.yaml (directly or through a kept team) ever lost it;
//! - every change the record calls `ok` is what the simulator shows, and
//!   every change the simulator shows is in the record, except at most the
//!   one write in flight when the process died (answered by GitHub, never
//!   seen by the client);
//! - a restart converges: the seats and the selected teams are exactly what
//!   seats.yaml asks for, and the two records together account for every
//!   change.
//!
//! Each kill is aimed: the kills rotate through the four phases of an apply
//! (adding teams, adding users, removing teams, removing users), each
//! landing while a write of that phase is in the simulator, unanswered; every
//! phase must see kills. The process must die by SIGKILL (its exit status
//! says so: a SIGTERM, which the controller handles gracefully, fails), and
//! every wait is bounded. In half the scenarios the simulator finishes a
//! write whose client died (`SimOptions::finish_abandoned_requests`), as
//! GitHub does: GitHub applied it, the client never saw the answer; most of
//! those kills must leave exactly that write unrecorded, and the restart must
//! still converge without sending it again.
//!
//! `SEATKEEPER_KILLS=N` kills per command (default 25), `SEATKEEPER_KILL_SEED`
//! replays a run (a failure prints the scenario's seed).

use crate::support;

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use seatkeeper::simulator::{FaultAction, ScriptedFault, SimOptions, SimState, SimTeam, Simulator};
use support::{Daemon, Proc, sim_options, write_atomic};

/// Each write waits this long in the simulator before it applies.
const WRITE_LATENCY: Duration = Duration::from_millis(40);
/// A scenario that takes longer than this is stuck.
const SCENARIO_LIMIT: Duration = Duration::from_secs(30);
/// The phases of an apply, in plan order.
const PHASES: [&str; 4] = ["add_team", "add_user", "remove_team", "remove_user"];
/// SIGKILL's number.
const SIGKILL: i32 = 9;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn chance(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn user(i: usize) -> String {
    format!("kuser{i:02}")
}

const TEAMS: [&str; 4] = ["team-a", "team-b", "team-c", "team-d"];

/// Team `t`'s members: three users of their own (kuser20..kuser31).
fn team_members(t: usize) -> Vec<String> {
    (0..3).map(|j| user(20 + 3 * t + j)).collect()
}

/// One seeded scenario.
struct Scenario {
    /// Users listed in seats.yaml.
    users: Vec<String>,
    /// Teams listed in seats.yaml.
    teams: Vec<String>,
    /// Writes the plan makes (one change per request).
    writes: u64,
}

impl Scenario {
    /// The org: kuser00..kuser11 hold direct seats, team-a..c are selected
    /// (team-d is not), kuser12..19 are members without a seat.
    fn state() -> SimState {
        let mut st = SimState::new("acme");
        st.members = (0..32).map(user).collect();
        st.teams = TEAMS
            .iter()
            .enumerate()
            .map(|(t, slug)| {
                let m = team_members(t);
                SimTeam::new(slug, &m.iter().map(String::as_str).collect::<Vec<_>>())
            })
            .collect();
        st.selected_teams = TEAMS[..3].iter().map(|t| t.to_string()).collect();
        st.normalize(Utc::now());
        let direct: Vec<String> = (0..12).map(user).collect();
        st.add_users(seatkeeper::simulator::SimScope::Org, &direct, Utc::now())
            .unwrap();
        st
    }

    fn new(seed: u64) -> Scenario {
        let mut rng = Rng(seed);
        let mut users: Vec<String> = (0..12).map(user).filter(|_| rng.chance()).collect();
        // At least two direct removals.
        while users.len() > 10 {
            users.remove(rng.below(users.len() as u64) as usize);
        }
        let user_removals = 12 - users.len() as u64;
        let adds = 1 + rng.below(2);
        for i in 0..adds {
            users.push(user(12 + i as usize));
        }
        let mut teams: Vec<String> = TEAMS[..3]
            .iter()
            .filter(|_| rng.chance())
            .map(|t| t.to_string())
            .collect();
        if teams.len() == 3 {
            teams.remove(rng.below(3) as usize);
        }
        let team_removals = 3 - teams.len() as u64;
        let team_add = rng.chance();
        if team_add {
            teams.push(TEAMS[3].to_string());
        }
        // Sometimes a member of a removed team stays, listed directly: their
        // seat must survive the team's removal (the user add comes first).
        let removed: Vec<usize> = (0..3)
            .filter(|t| !teams.iter().any(|k| k == TEAMS[*t]))
            .collect();
        let mut keep_via_direct = 0;
        if rng.chance() {
            let t = removed[rng.below(removed.len() as u64) as usize];
            users.push(team_members(t)[rng.below(3) as usize].clone());
            keep_via_direct = 1;
        }
        Scenario {
            writes: adds + keep_via_direct + u64::from(team_add) + team_removals + user_removals,
            users,
            teams,
        }
    }

    fn yaml(&self) -> String {
        let mut y = String::from("org: acme\npolicy:\n  max_removals: 100%\nteams: [");
        y.push_str(&self.teams.join(", "));
        y.push_str("]\nusers:\n");
        for u in &self.users {
            y.push_str(&format!("  - {u}\n"));
        }
        y
    }

    /// Writes per phase ([`PHASES`]) when applied to `before` (one change
    /// per request).
    fn planned(&self, before: &Shown) -> [u64; 4] {
        let teams: BTreeSet<String> = self.teams.iter().cloned().collect();
        let users: BTreeSet<String> = self.users.iter().cloned().collect();
        [
            teams.difference(&before.teams).count() as u64,
            users.difference(&before.direct).count() as u64,
            before.teams.difference(&teams).count() as u64,
            before.direct.difference(&users).count() as u64,
        ]
    }

    /// Who holds a seat once seats.yaml is applied.
    fn want(&self) -> BTreeSet<String> {
        let mut w: BTreeSet<String> = self.users.iter().cloned().collect();
        for (t, slug) in TEAMS.iter().enumerate() {
            if self.teams.iter().any(|k| k == slug) {
                w.extend(team_members(t));
            }
        }
        w
    }
}

/// What the simulator shows: active seat holders, users granted directly
/// (`selected_users`, whether or not a team grants them too), selected teams.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    held: BTreeSet<String>,
    direct: BTreeSet<String>,
    teams: BTreeSet<String>,
}

fn shown(sim: &Simulator) -> Shown {
    shown_of(&sim.state())
}

fn shown_of(st: &SimState) -> Shown {
    Shown {
        held: st
            .seats
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.login.to_ascii_lowercase())
            .collect(),
        direct: st.selected_users.iter().cloned().collect(),
        teams: st.selected_teams.iter().cloned().collect(),
    }
}

/// A change as `(action, name)`: `add_user alice`, `remove_team team-a`.
type Change = (String, String);

/// The changes between two states, as the plan would name them.
fn changes(before: &Shown, after: &Shown) -> BTreeSet<Change> {
    let mut out = BTreeSet::new();
    for t in after.teams.difference(&before.teams) {
        out.insert(("add_team".into(), t.clone()));
    }
    for t in before.teams.difference(&after.teams) {
        out.insert(("remove_team".into(), t.clone()));
    }
    for u in after.direct.difference(&before.direct) {
        out.insert(("add_user".into(), u.clone()));
    }
    for u in before.direct.difference(&after.direct) {
        out.insert(("remove_user".into(), u.clone()));
    }
    out
}

/// The `ok` changes of a process's record: its `seat_change` events.
fn record(events: &[Value]) -> BTreeSet<Change> {
    events
        .iter()
        .filter(|e| e["event"] == "seat_change" && e["result"] == "ok")
        .filter_map(|e| {
            let action = e["action"].as_str()?.to_string();
            let name = e["login"].as_str().or(e["team"].as_str())?;
            Some((action, name.to_ascii_lowercase()))
        })
        .collect()
}

/// `apply`'s stdout lines in `render::results` form (`ok      remove bob`,
/// `ok      add team platform`), as `ok` changes.
fn stdout_record(lines: &[String]) -> BTreeSet<Change> {
    lines
        .iter()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            if words.next()? != "ok" {
                return None;
            }
            let verb = words.next()?;
            if !matches!(verb, "add" | "remove") {
                return None;
            }
            let mut rest: Vec<&str> = words.collect();
            let kind = if rest.first() == Some(&"team") {
                rest.remove(0);
                "team"
            } else {
                "user"
            };
            Some((format!("{verb}_{kind}"), rest.first()?.to_ascii_lowercase()))
        })
        .collect()
}

/// Checks after one kill; returns the phase the kill landed in and whether
/// a write was answered by GitHub but never recorded (the kill fell between).
fn check_killed(
    s: &Scenario,
    before: &Shown,
    after: &Shown,
    events: &[Value],
    stdout: &[String],
) -> Result<(&'static str, bool), String> {
    let want = s.want();
    // 1. Every seat lost was one the plan removes.
    let lost: BTreeSet<&String> = before.held.difference(&after.held).collect();
    for l in &lost {
        if want.contains(*l) {
            return Err(format!("{l} lost a seat that seats.yaml keeps"));
        }
    }
    // 2. The record against what GitHub shows.
    let visible = changes(before, after);
    let logged = record(events);
    let mut records = vec![("the seat_change events", logged.clone())];
    let printed = stdout_record(stdout);
    if !printed.is_empty() {
        records.push(("apply's stdout", printed));
    }
    for (what, rec) in &records {
        if let Some(c) = rec.difference(&visible).next() {
            return Err(format!("{what} say {c:?} applied; GitHub does not show it"));
        }
    }
    let unlogged: Vec<&Change> = visible.difference(&logged).collect();
    if unlogged.len() > 1 {
        return Err(format!(
            "GitHub shows {unlogged:?} without a record: more than the one write in flight"
        ));
    }
    // Where the kill landed: the first kind of change not (fully) done.
    let done = |a: &str| logged.iter().filter(|c| c.0 == a).count() as u64;
    let planned = s.planned(before);
    let phase = PHASES
        .into_iter()
        .zip(planned)
        .find(|(a, n)| done(a) < *n)
        .map_or("after the last write", |(a, _)| a);
    Ok((phase, !unlogged.is_empty()))
}

/// Checks after the restart converged.
fn check_converged(
    s: &Scenario,
    before: &Shown,
    after_kill: &Shown,
    end: &Shown,
    killed: &BTreeSet<Change>,
    restarted: &BTreeSet<Change>,
) -> Result<(), String> {
    if end.held != s.want() {
        return Err(format!(
            "not converged: holds {:?}, wants {:?}",
            end.held,
            s.want()
        ));
    }
    let teams: BTreeSet<String> = s.teams.iter().cloned().collect();
    if end.teams != teams {
        return Err(format!("teams {:?}, want {teams:?}", end.teams));
    }
    // Together the records account for every change, but the one in flight.
    let all = changes(before, end);
    let in_flight = changes(before, after_kill)
        .difference(killed)
        .cloned()
        .collect::<BTreeSet<_>>();
    let accounted: BTreeSet<Change> = killed.union(restarted).cloned().chain(in_flight).collect();
    if let Some(c) = all.difference(&accounted).next() {
        return Err(format!("{c:?} happened without any record"));
    }
    // A removal that landed is never sent again. (An add may be: a user
    // added directly while a team still grants them is listed with the
    // team's grant only, so the restart adds them again, harmlessly.)
    if let Some(c) = restarted
        .intersection(killed)
        .find(|c| c.0.starts_with("remove"))
    {
        return Err(format!("{c:?} was applied twice"));
    }
    Ok(())
}

fn slow_writes(sim: &Simulator) {
    for method in ["POST", "DELETE"] {
        sim.faults().script(ScriptedFault {
            route: format!("{method} *"),
            nth: 1,
            times: 100_000,
            action: FaultAction::Latency(WRITE_LATENCY),
        });
    }
}

/// Writes that reached the simulator. Each is held by the latency fault,
/// which the simulator logs as the write arrives, before it answers.
fn writes_arrived(sim: &Simulator) -> u64 {
    sim.faults()
        .injected()
        .iter()
        .filter(|f| f.what.starts_with("latency"))
        .count() as u64
}

/// Wait until write `k` (1-based) has reached the simulator (or the process
/// ended), then `extra` (under the write latency, so the write is still
/// unanswered), then SIGKILL. True when the kill landed: the process died
/// of SIGKILL. Running when killed, it must have died of SIGKILL: another
/// signal, or an exit of its own (a graceful stop), fails.
fn kill_at(proc: &mut Proc, sim: &Simulator, k: u64, extra: Duration) -> bool {
    let deadline = Instant::now() + SCENARIO_LIMIT;
    while writes_arrived(sim) < k {
        if let Ok(Some(_)) = proc.child.try_wait() {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "no write {k}:\n{}",
            proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(extra);
    let running = matches!(proc.child.try_wait(), Ok(None));
    let status = proc.kill9();
    proc.drain();
    if running {
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "the process was running when killed, yet ended with {status}, not by SIGKILL:\n{}",
            proc.log_text()
        );
    }
    status.signal() == Some(SIGKILL)
}

/// Pick a scenario with writes in phase `target`, from `rng`, and the write
/// to kill during: its seed, the scenario, and `k` (1-based).
fn aimed(rng: &mut Rng, target: usize) -> (u64, Scenario, u64) {
    let before = shown_of(&Scenario::state());
    loop {
        let seed = rng.next();
        let s = Scenario::new(seed);
        let planned = s.planned(&before);
        assert_eq!(
            planned.iter().sum::<u64>(),
            s.writes,
            "seed {seed}: {planned:?}"
        );
        if planned[target] == 0 {
            continue;
        }
        let start: u64 = planned[..target].iter().sum();
        let mut rng_k = Rng(seed ^ 0xABCD);
        return (seed, s, start + 1 + rng_k.below(planned[target]));
    }
}

/// The simulator for one kill: in half the scenarios it finishes a write
/// whose client died, as GitHub does.
async fn kill_sim(seed: u64) -> (Simulator, bool) {
    let finish = Rng(seed ^ 0xF1F1).chance();
    let opts = SimOptions {
        finish_abandoned_requests: finish,
        ..sim_options()
    };
    (
        Simulator::start(Scenario::state(), opts).await.unwrap(),
        finish,
    )
}

/// Wait (at most [`support::WAIT`]) until the simulator holds no request:
/// a write it finishes after the kill has then landed.
async fn settle(sim: &Simulator) {
    let deadline = Instant::now() + support::WAIT;
    while sim.rate_limit().in_flight > 0 {
        assert!(
            Instant::now() < deadline,
            "the simulator still has requests in flight"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long after write `k` arrives the kill is sent: under the write
/// latency, with room for the kill to land before the answer.
fn extra_of(seed: u64) -> Duration {
    Duration::from_millis(Rng(seed ^ 0xDCBA).below(WRITE_LATENCY.as_millis() as u64 * 3 / 4))
}

fn kills() -> u64 {
    std::env::var("SEATKEEPER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

fn base_seed(salt: u64) -> u64 {
    std::env::var("SEATKEEPER_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0C0F_FEE0)
        ^ salt
}

#[derive(Default)]
struct Tally {
    landed: u64,
    /// Kills that fell after GitHub applied a write and before it was recorded.
    in_flight: u64,
    /// Kills against a simulator that finishes a write whose client died.
    finishing: u64,
    /// Of those, how many left exactly that write applied and unrecorded.
    finished_unseen: u64,
    /// Kills whose stdout carried per-change lines (checked against GitHub).
    printed: u64,
    phases: std::collections::BTreeMap<&'static str, u64>,
}

impl Tally {
    fn count(&mut self, phase: &'static str, in_flight: bool, finishing: bool) {
        self.landed += 1;
        *self.phases.entry(phase).or_default() += 1;
        self.in_flight += u64::from(in_flight);
        self.finishing += u64::from(finishing);
        self.finished_unseen += u64::from(finishing && in_flight);
    }

    fn check(&self, what: &str, wanted: u64) {
        eprintln!(
            "{what}: {} kills landed, by phase {:?}; {} between a write landing and its record; {} of {} kills against a finishing simulator left a write GitHub applied and the client never saw",
            self.landed, self.phases, self.in_flight, self.finished_unseen, self.finishing
        );
        assert!(
            self.landed >= wanted,
            "{what}: only {} of {wanted} kills landed mid-apply",
            self.landed
        );
        // Kills rotate through the phases: each must have some.
        if wanted >= PHASES.len() as u64 {
            let least = (wanted / 8).max(1);
            for phase in PHASES {
                assert!(
                    self.phases.get(phase).copied().unwrap_or(0) >= least,
                    "{what}: fewer than {least} kills during {phase}: {:?}",
                    self.phases
                );
            }
        }
        // A kill lands while a write waits in the simulator: one that
        // finishes it must have applied it, unseen, most of the time.
        if wanted >= 8 {
            assert!(
                self.finishing >= wanted / 4 && self.finished_unseen * 2 >= self.finishing,
                "{what}: {} of {} kills against a finishing simulator left an applied, unrecorded write",
                self.finished_unseen,
                self.finishing
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_apply_mid_removal_then_restart() {
    let wanted = kills();
    let mut rng = Rng(base_seed(1));
    let mut tally = Tally::default();
    let mut attempt = 0u64;
    while tally.landed < wanted {
        attempt += 1;
        assert!(attempt <= wanted * 2, "kills keep missing the apply");
        let target = (tally.landed % PHASES.len() as u64) as usize;
        let (seed, s, k) = aimed(&mut rng, target);
        let (sim, finishing) = kill_sim(seed).await;
        let dir = tempfile::tempdir().unwrap();
        let seats = dir.path().join("seats.yaml");
        write_atomic(&seats, &s.yaml());
        let path = seats.to_str().unwrap().to_string();
        let args = ["apply", path.as_str(), "--confirm", "--batch-size", "1"];
        let before = shown(&sim);
        slow_writes(&sim);
        let extra = extra_of(seed);
        let (landed, mut killed) = {
            let mut p = Proc::spawn(&sim, &args, &[]);
            let landed = tokio::task::block_in_place(|| kill_at(&mut p, &sim, k, extra));
            (landed, p)
        };
        settle(&sim).await;
        let after_kill = shown(&sim);
        let ctx = |e: String| {
            format!(
                "scenario seed {seed} (kill during write {k} + {extra:?}, finishing {finishing}):\n{e}\nseats.yaml:\n{}\nkilled apply's log:\n{}",
                s.yaml(),
                killed.log_text()
            )
        };
        let stdout = killed.stdout.lock().unwrap().clone();
        let (phase, in_flight) =
            check_killed(&s, &before, &after_kill, &killed.json_log(), &stdout)
                .unwrap_or_else(|e| panic!("{}", ctx(e)));
        if !landed {
            continue;
        }
        tally.count(phase, in_flight, finishing);
        tally.printed += u64::from(!stdout_record(&stdout).is_empty());

        // Restart: apply again, without the slow writes.
        sim.faults().clear();
        let mut again = Proc::spawn(&sim, &args, &[]);
        let status = tokio::task::block_in_place(|| again.wait_exit(SCENARIO_LIMIT));
        again.drain();
        assert!(
            status.success(),
            "{}",
            ctx(format!(
                "the restarted apply failed ({status}):\n{}",
                again.log_text()
            ))
        );
        let end = shown(&sim);
        check_converged(
            &s,
            &before,
            &after_kill,
            &end,
            &record(&killed.json_log()),
            &record(&again.json_log()),
        )
        .unwrap_or_else(|e| panic!("{}", ctx(e)));
        killed.drain();
    }
    tally.check("apply", wanted);
    // apply prints each change as it lands: most killed applies leave lines
    // on stdout, and those were checked against GitHub above.
    assert!(
        tally.printed * 2 >= tally.landed,
        "only {} of {} killed applies printed a change",
        tally.printed,
        tally.landed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_run_mid_removal_then_restart() {
    let wanted = kills();
    let mut rng = Rng(base_seed(2));
    let mut tally = Tally::default();
    let mut attempt = 0u64;
    while tally.landed < wanted {
        attempt += 1;
        assert!(attempt <= wanted * 2, "kills keep missing the reconcile");
        let target = (tally.landed % PHASES.len() as u64) as usize;
        let (seed, s, k) = aimed(&mut rng, target);
        let (sim, finishing) = kill_sim(seed).await;
        let dir = tempfile::tempdir().unwrap();
        let seats = dir.path().join("seats.yaml");
        write_atomic(&seats, &s.yaml());
        let path = seats.to_str().unwrap().to_string();
        // Only the start-up reconcile runs (the schedule is yearly).
        let args = [
            "--config",
            path.as_str(),
            "--schedule",
            "0 0 0 1 1 *",
            "--batch-size",
            "1",
        ];
        let before = shown(&sim);
        slow_writes(&sim);
        let extra = extra_of(seed);
        let mut d = Daemon::start(&sim, &args, &[]);
        let landed = tokio::task::block_in_place(|| kill_at(&mut d.proc, &sim, k, extra));
        settle(&sim).await;
        let after_kill = shown(&sim);
        let ctx = |e: String, log: &str| {
            format!(
                "scenario seed {seed} (kill during write {k} + {extra:?}, finishing {finishing}):\n{e}\nseats.yaml:\n{}\nlog:\n{log}",
                s.yaml()
            )
        };
        let (phase, in_flight) = check_killed(&s, &before, &after_kill, &d.proc.json_log(), &[])
            .unwrap_or_else(|e| panic!("{}", ctx(e, &d.log_text())));
        if !landed {
            continue;
        }
        tally.count(phase, in_flight, finishing);

        // Restart the controller; its start-up reconcile finishes the job.
        sim.faults().clear();
        let mut again = Daemon::start(&sim, &args, &[]);
        // Its start-up reconcile has finished once its summary is logged.
        let deadline = Instant::now() + SCENARIO_LIMIT;
        while again.proc.events("reconcile").is_empty() {
            assert!(
                Instant::now() < deadline,
                "{}",
                ctx(
                    "the restarted controller's reconcile did not finish".into(),
                    &again.log_text()
                )
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let summary = &again.proc.events("reconcile")[0];
        // `in_sync` when the kill fell after the last write.
        assert!(
            summary["status"] == "applied" || summary["status"] == "in_sync",
            "{}",
            ctx(format!("{summary}"), &again.log_text())
        );
        let status = tokio::task::block_in_place(|| again.proc.kill9());
        assert_eq!(status.signal(), Some(SIGKILL), "{status}");
        again.proc.drain();
        let end = shown(&sim);
        check_converged(
            &s,
            &before,
            &after_kill,
            &end,
            &record(&d.proc.json_log()),
            &record(&again.proc.json_log()),
        )
        .unwrap_or_else(|e| panic!("{}", ctx(e, &again.log_text())));
    }
    tally.check("run", wanted);
}

#[test]
fn the_checks_catch_what_they_claim() {
    // The plan: remove team-a (kuser20..22) and kuser00; keep kuser01 and team-b.
    let s = Scenario {
        users: vec![user(1)],
        teams: vec!["team-b".into()],
        writes: 2,
    };
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    let mut held_before = vec![user(0), user(1)];
    held_before.extend(team_members(0));
    held_before.extend(team_members(1));
    let before = Shown {
        held: set(&held_before),
        direct: set(&[user(0), user(1)]),
        teams: set(&["team-a".into(), "team-b".into()]),
    };
    let mut held_end = vec![user(1)];
    held_end.extend(team_members(1));
    let end = Shown {
        held: set(&held_end),
        direct: set(&[user(1)]),
        teams: set(&["team-b".into()]),
    };
    let team_a = ("remove_team".to_string(), "team-a".to_string());
    let kuser00 = ("remove_user".to_string(), user(0));
    let both: BTreeSet<Change> = [team_a.clone(), kuser00.clone()].into();
    let only_team: BTreeSet<Change> = [team_a.clone()].into();
    assert_eq!(changes(&before, &end), both);

    let event = |(action, name): &Change| {
        let key = if action.ends_with("team") {
            "team"
        } else {
            "login"
        };
        serde_json::json!({"event": "seat_change", "action": action, key: name, "result": "ok"})
    };
    // After a kill: both done, one logged (the other in flight): fine.
    assert_eq!(
        check_killed(&s, &before, &end, &[event(&team_a)], &[]),
        Ok(("remove_user", true))
    );
    // A record of a change GitHub does not show.
    let err = check_killed(&s, &before, &before, &[event(&kuser00)], &[]).unwrap_err();
    assert!(err.contains("does not show"), "{err}");
    let stdout = ["ok      remove kuser00".to_string()];
    let err = check_killed(&s, &before, &before, &[], &stdout).unwrap_err();
    assert!(err.contains("stdout"), "{err}");
    // Two changes without a record: more than one write in flight.
    let err = check_killed(&s, &before, &end, &[], &[]).unwrap_err();
    assert!(err.contains("without a record"), "{err}");
    // A seat lost that seats.yaml keeps.
    let mut lost = end.clone();
    lost.held.remove(&user(1));
    let err =
        check_killed(&s, &before, &lost, &[event(&team_a), event(&kuser00)], &[]).unwrap_err();
    assert!(err.contains("kuser01 lost"), "{err}");

    // After the restart: accounted for, not converged, applied twice, unrecorded.
    assert!(check_converged(&s, &before, &end, &end, &only_team, &BTreeSet::new()).is_ok());
    assert!(
        check_converged(&s, &before, &before, &lost, &both, &BTreeSet::new())
            .unwrap_err()
            .contains("not converged")
    );
    assert!(
        check_converged(&s, &before, &end, &end, &both, &only_team)
            .unwrap_err()
            .contains("twice")
    );
    assert!(
        check_converged(&s, &before, &before, &end, &only_team, &BTreeSet::new())
            .unwrap_err()
            .contains("without any record")
    );
    assert_eq!(
        stdout_record(&[
            "ok      remove kuser00".into(),
            "ok      add team team-d".into(),
            "failed  add kuser05".into(),
            "Plan: 1 to add".into(),
        ]),
        [kuser00, ("add_team".to_string(), "team-d".to_string())].into()
    );
}

/// The simulator option the kills rely on: a write whose client hangs up
/// before the answer is dropped by default, and applied (as GitHub does)
/// with `finish_abandoned_requests`.
#[tokio::test]
async fn a_write_whose_client_hung_up_is_finished_only_when_asked() {
    use tokio::io::AsyncWriteExt;
    for finish in [false, true] {
        let opts = SimOptions {
            finish_abandoned_requests: finish,
            ..sim_options()
        };
        let sim = Simulator::start(Scenario::state(), opts).await.unwrap();
        sim.faults().script(ScriptedFault {
            route: "POST *".into(),
            nth: 1,
            times: 1,
            action: FaultAction::Latency(Duration::from_millis(200)),
        });
        let body = r#"{"selected_usernames":["kuser12"]}"#;
        let addr = sim.url().trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "POST /orgs/acme/copilot/billing/selected_users HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            support::TOKEN,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The write has arrived (the latency fault logs it), then the client goes.
        let deadline = Instant::now() + support::WAIT;
        while writes_arrived(&sim) < 1 {
            assert!(Instant::now() < deadline, "the write never arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(stream);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            shown(&sim).direct.contains("kuser12"),
            finish,
            "finish_abandoned_requests: {finish}"
        );
    }
}
