//! Leader election for real: `seatkeeper run --leader-elect` processes
//! against the Lease API of `lease_server.rs` and the simulator, while the
//! test keeps making drift (seats removed and granted behind seatkeeper's
//! back) so the leader always has something to write.
//!
//! Each replica has its own GitHub token, so the simulator's request log
//! names the process behind every write; the Lease server logs every write
//! of the Lease with the instant it took effect. From the two logs:
//! - every seat write was made by the replica holding the Lease at that
//!   instant, less than a lease duration after that replica's last write of
//!   the Lease (its fence);
//! - no change was applied twice (one grant per seat the test took away,
//!   one cancellation per seat it granted);
//! - after the leader is killed, another takes over no sooner than a lease
//!   duration after the dead leader's last renewal (nobody steals a live
//!   lease) and no later than a lease duration plus two retry periods (one
//!   to see the last renewal, one to act).
//!
//! Faults: the Lease API answering 503, unreachable, a 409 (someone else
//! changed the Lease), clock skew of another replica, and a leader paused
//! by SIGSTOP past its lease.

use crate::lease_server::{LeaseServer, LeaseWrite};
use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use seatkeeper::simulator::{RecordedRequest, SimOptions, SimScope, Simulator, routes};
use support::{Daemon, metric, org_state, write_atomic};

const NS: &str = "ops";
const LEASE: &str = "seatkeeper";
/// Users seats.yaml lists.
const LISTED: usize = 20;
/// Org members (the rest may be granted a seat by drift).
const MEMBERS: usize = 60;

fn user(i: usize) -> String {
    format!("lu{i:02}")
}

/// Short election timings, as flags and as durations.
#[derive(Clone, Copy)]
struct Timings {
    lease: Duration,
    renew: Duration,
    retry: Duration,
    tolerance: Duration,
}

const FAST: Timings = Timings {
    lease: Duration::from_secs(1),
    renew: Duration::from_millis(700),
    retry: Duration::from_millis(150),
    tolerance: Duration::from_millis(200),
};

const SLOWER: Timings = Timings {
    lease: Duration::from_secs(2),
    renew: Duration::from_millis(1500),
    retry: Duration::from_millis(300),
    tolerance: Duration::from_millis(300),
};

impl Timings {
    fn flags(&self) -> Vec<String> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            "--lease-duration".into(),
            ms(self.lease),
            "--renew-deadline".into(),
            ms(self.renew),
            "--retry-period".into(),
            ms(self.retry),
            "--clock-skew-tolerance".into(),
            ms(self.tolerance),
        ]
    }

    /// Latest takeover after the last renewal: the lease, a retry to see
    /// the renewal, a retry to act, and scheduling slack.
    fn takeover_bound(&self) -> Duration {
        self.lease + self.retry * 2 + Duration::from_millis(300)
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("SEATKEEPER_LEADER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_micros() as u64)
}

/// What the test changed behind seatkeeper's back, and when.
#[derive(Default)]
struct Drift {
    /// login -> instants its seat was taken away.
    removed: BTreeMap<String, Vec<Instant>>,
    /// login -> instant an unlisted user was granted a seat.
    granted: BTreeMap<String, Instant>,
}

struct World {
    sim: Arc<Simulator>,
    lease: LeaseServer,
    seats: std::path::PathBuf,
    _dir: tempfile::TempDir,
    timings: Timings,
    /// Replica identity -> its token.
    tokens: BTreeMap<String, String>,
    drift: Arc<Mutex<Drift>>,
}

struct Replica {
    id: String,
    d: Daemon,
}

impl World {
    async fn new(timings: Timings, latency: Duration) -> World {
        let members: Vec<String> = (0..MEMBERS).map(user).collect();
        let listed: Vec<String> = (0..LISTED).map(user).collect();
        let sim = Simulator::start(
            org_state(&members, &listed),
            SimOptions {
                latency,
                ..support::sim_options()
            },
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let seats = dir.path().join("seats.yaml");
        // Drift takes seats away faster than a killed leader's successor
        // gives them back: no removal cap in the way of the cancellations.
        let mut text = String::from("org: acme\npolicy:\n  max_removals: 1000\nusers:\n");
        for u in &listed {
            text.push_str(&format!("  - {u}\n"));
        }
        write_atomic(&seats, &text);
        World {
            sim: Arc::new(sim),
            lease: LeaseServer::start().await,
            seats,
            _dir: dir,
            timings,
            tokens: BTreeMap::new(),
            drift: Arc::default(),
        }
    }

    fn replica(&mut self, id: &str, extra: &[&str]) -> Replica {
        let token = format!("ghp_replica_{id}_0123456789abcdefghij");
        self.sim
            .add_token(&token, Utc::now() + chrono::Duration::days(1));
        self.tokens.insert(id.to_string(), token.clone());
        let url = self.lease.url();
        let mut args: Vec<String> = vec![
            self.seats.display().to_string(),
            "--schedule".into(),
            "* * * * * *".into(),
            "--points-per-minute".into(),
            "100000".into(),
            "--leader-elect".into(),
            "--lease-api-url".into(),
            url,
            "--lease-namespace".into(),
            NS.into(),
            "--lease-name".into(),
            LEASE.into(),
            "--lease-identity".into(),
            id.into(),
        ];
        args.extend(self.timings.flags());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let d = Daemon::start(&self.sim, &args, &[("GITHUB_TOKEN", &token)]);
        Replica { id: id.into(), d }
    }

    fn holder(&self) -> Option<String> {
        let l = self.lease.lease(NS, LEASE)?;
        Some(l["spec"]["holderIdentity"].as_str()?.to_string()).filter(|h| !h.is_empty())
    }

    /// Take seats away and grant unlisted ones every `every`, until `stop`.
    fn start_drift(
        &self,
        every: Duration,
        seed: u64,
    ) -> (
        Arc<std::sync::atomic::AtomicBool>,
        std::thread::JoinHandle<()>,
    ) {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, drift) = (stop.clone(), self.drift.clone());
        let sim = self.sim.clone();
        let t = std::thread::spawn(move || {
            let mut rng = Rng(seed);
            let mut next_unlisted = LISTED;
            let mut n = 0u64;
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                // Rare enough that the cancellations a reconcile plans stay
                // under the default removal guard (25 % of the seats).
                if n % 10 == 0 && next_unlisted < MEMBERS {
                    let login = user(next_unlisted);
                    next_unlisted += 1;
                    sim.with_state(|st| {
                        st.add_users(SimScope::Org, std::slice::from_ref(&login), Utc::now())
                            .unwrap();
                    });
                    drift.lock().unwrap().granted.insert(login, Instant::now());
                } else {
                    let login = user(rng.below(LISTED as u64) as usize);
                    let removed = sim.with_state(|st| {
                        st.seat(&login).is_some_and(|s| s.is_active())
                            && st.remove_seat(&login).is_some()
                    });
                    if removed {
                        drift
                            .lock()
                            .unwrap()
                            .removed
                            .entry(login)
                            .or_default()
                            .push(Instant::now());
                    }
                }
                std::thread::sleep(every);
            }
        });
        (stop, t)
    }

    /// Successful seat writes, with the replica that sent each.
    fn seat_writes(&self) -> Vec<(String, RecordedRequest)> {
        let by_token: BTreeMap<&str, &str> = self
            .tokens
            .iter()
            .map(|(id, t)| (t.as_str(), id.as_str()))
            .collect();
        self.sim
            .requests()
            .into_iter()
            .filter(|r| r.route == routes::ORG_SELECTED_USERS && r.method != "GET")
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| {
                let token = r
                    .header("authorization")
                    .and_then(|a| a.split_once(' '))
                    .map(|(_, t)| t.trim().to_string())
                    .unwrap_or_default();
                let id = by_token.get(token.as_str()).copied().unwrap_or("?");
                (id.to_string(), r)
            })
            .collect()
    }

    /// The single-writer and no-double-apply checks over the whole run;
    /// returns how many seat writes were checked.
    fn check_writes(&self) -> usize {
        let lease_log = self.lease.writes();
        let writes = self.seat_writes();
        let mut problems = Vec::new();
        for (id, w) in &writes {
            // The Lease as it stood when the write took effect.
            let before: Vec<&LeaseWrite> = lease_log.iter().filter(|l| l.at <= w.at).collect();
            let holder = before.last().map(|l| l.holder.as_str()).unwrap_or("");
            if holder != id {
                problems.push(format!(
                    "write #{} by {id} while {holder:?} held the Lease",
                    w.seq
                ));
                continue;
            }
            let own = before
                .iter()
                .rev()
                .find(|l| l.holder == *id && l.how != "outside");
            match own {
                Some(l) if w.at.duration_since(l.at) < self.timings.lease => {}
                Some(l) => problems.push(format!(
                    "write #{} by {id} {:?} after its last Lease write: the lease had run out",
                    w.seq,
                    w.at.duration_since(l.at)
                )),
                None => problems.push(format!("write #{} by {id} never wrote the Lease", w.seq)),
            }
        }
        // The apply generation only ever goes up, one fence at a time.
        let generations: Vec<u64> = lease_log
            .iter()
            .filter(|l| l.how != "outside")
            .map(|l| l.generation)
            .collect();
        if let Some(p) = generations.windows(2).position(|g| g[1] < g[0]) {
            problems.push(format!(
                "the apply generation went down at Lease write {p}: {generations:?}"
            ));
        }
        // No change applied twice.
        let drift = self.drift.lock().unwrap();
        let mut adds: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        let mut removes: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        for (_, w) in &writes {
            let logins: Vec<String> = w
                .body
                .as_ref()
                .and_then(|b| b["selected_usernames"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
                .collect();
            let into = if w.method == "POST" {
                &mut adds
            } else {
                &mut removes
            };
            for l in logins {
                into.entry(l).or_default().push(w.at);
            }
        }
        for (login, at) in &adds {
            let taken = drift.removed.get(login).cloned().unwrap_or_default();
            // Between two removals by the test, at most one grant.
            let mut windows = vec![0usize; taken.len() + 1];
            for a in at {
                windows[taken.iter().filter(|t| *t < a).count()] += 1;
            }
            if windows[0] > 0 {
                problems.push(format!(
                    "{login} granted before the test took its seat away"
                ));
            }
            if windows.iter().any(|n| *n > 1) {
                problems.push(format!(
                    "{login} granted twice for one removal: {windows:?}"
                ));
            }
        }
        for (login, at) in &removes {
            if at.len() > 1 || !drift.granted.contains_key(login) {
                problems.push(format!(
                    "{login} cancelled {} times (granted by the test: {})",
                    at.len(),
                    drift.granted.contains_key(login)
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        writes.len()
    }

    /// Wait until a live replica holds the Lease; its index in `live`.
    async fn wait_leader(&self, live: &[Replica], limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(h) = self.holder()
                && let Some(i) = live.iter().position(|r| r.id == h)
            {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "no live replica leads within {limit:?}; holder {:?}",
                self.holder()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// When a replica other than `old` first wrote the Lease after `after`.
    fn takeover_after(&self, old: &str, after: Instant) -> Option<Instant> {
        self.lease
            .writes()
            .into_iter()
            .find(|l| l.at > after && !l.holder.is_empty() && l.holder != old && l.how != "outside")
            .map(|l| l.at)
    }

    /// The last Lease write by `id` before `before`.
    fn last_write_by(&self, id: &str, before: Instant) -> Instant {
        self.lease
            .writes()
            .into_iter()
            .filter(|l| l.holder == id && l.at <= before && l.how != "outside")
            .map(|l| l.at)
            .next_back()
            .expect("the leader wrote the Lease")
    }

    /// Every seat back as seats.yaml says (the drift stopped).
    async fn wait_converged(&self, limit: Duration) {
        let want: BTreeSet<String> = (0..LISTED).map(user).collect();
        let deadline = Instant::now() + limit;
        loop {
            let held = support::held(&self.sim);
            if held == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not converged within {limit:?}: extra {:?}, missing {:?}",
                held.difference(&want).collect::<Vec<_>>(),
                want.difference(&held).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

fn count_messages(r: &Replica, prefix: &str) -> usize {
    r.d.proc.messages(prefix).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_one_writer_through_twenty_kills() {
    let kills: usize = std::env::var("SEATKEEPER_LEADER_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed = seed();
    eprintln!("SEATKEEPER_LEADER_SEED={seed}");
    let mut rng = Rng(seed);
    let mut w = World::new(FAST, Duration::from_millis(5)).await;
    let mut live: Vec<Replica> = (0..3).map(|i| w.replica(&format!("r{i}"), &[])).collect();
    let mut next = 3;
    let first = w.wait_leader(&live, Duration::from_secs(10)).await;
    let leader_id = live[first].id.clone();
    live[first]
        .d
        .wait_for("the leader's first reconcile", || async {
            (live[first].d.reconciles().await >= 1.0).then_some(())
        })
        .await;
    let (stop, drift) = w.start_drift(Duration::from_millis(60), seed ^ 1);
    let mut takeovers = Vec::new();
    let mut leaders = BTreeSet::from([leader_id]);
    for k in 0..kills {
        let i = w.wait_leader(&live, Duration::from_secs(5)).await;
        // A random point of the leader's term: mid-reconcile, mid-write,
        // between reconciles.
        tokio::time::sleep(Duration::from_millis(rng.below(900))).await;
        let mut dead = live.remove(i);
        let killed_at = Instant::now();
        let status = dead.d.proc.kill9();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "kill {k}: {status:?}");
        let replacement = format!("r{next}");
        next += 1;
        live.push(w.replica(&replacement, &[]));
        let limit = Instant::now() + Duration::from_secs(5);
        let taken = loop {
            if let Some(t) = w.takeover_after(&dead.id, killed_at) {
                break t;
            }
            assert!(
                Instant::now() < limit,
                "kill {k}: nobody took over from {}",
                dead.id
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let last = w.last_write_by(&dead.id, taken);
        let gap = taken.duration_since(last);
        assert!(
            gap >= w.timings.lease,
            "kill {k}: taken over {gap:?} after {}'s last renewal: before its lease ran out",
            dead.id
        );
        assert!(
            gap <= w.timings.takeover_bound(),
            "kill {k}: taken over {gap:?} after the last renewal (bound {:?})",
            w.timings.takeover_bound()
        );
        takeovers.push(gap);
        leaders.insert(w.holder().unwrap_or_default());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drift.join().unwrap();
    w.wait_converged(Duration::from_secs(10)).await;
    let checked = w.check_writes();
    takeovers.sort();
    eprintln!(
        "{kills} kills: takeover after the last renewal min {:?} median {:?} max {:?} (lease {:?}); {} leaders; {checked} seat writes checked",
        takeovers[0],
        takeovers[takeovers.len() / 2],
        takeovers[takeovers.len() - 1],
        w.timings.lease,
        leaders.len(),
    );
    // Each kill took out a different leader, and someone leads now.
    assert!(leaders.len() > kills, "{leaders:?}");
    assert!(
        checked >= kills,
        "only {checked} seat writes: the drift did not keep the leaders busy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_paused_past_its_lease_writes_nothing_when_it_resumes() {
    let seed = seed();
    eprintln!("SEATKEEPER_LEADER_SEED={seed}");
    // Slow requests, writes one login at a time: a reconcile's apply takes
    // a while, so the pause lands between two batches of one plan.
    let mut w = World::new(FAST, Duration::from_millis(80)).await;
    let extra = ["--batch-size", "1"];
    let live: Vec<Replica> = ["p0", "p1"]
        .iter()
        .map(|id| w.replica(id, &extra))
        .collect();
    w.wait_leader(&live, Duration::from_secs(10)).await;
    let (stop, drift) = w.start_drift(Duration::from_millis(40), seed);
    let rounds = 3;
    let mut refused = 0;
    for round in 0..rounds {
        let i = w.wait_leader(&live, Duration::from_secs(5)).await;
        let id = live[i].id.clone();
        // Pause it while one of its requests is in the simulator (only the
        // leader talks to GitHub): it resumes to an answer and the rest of
        // a plan made in a term that ended while it slept.
        let limit = Instant::now() + Duration::from_secs(5);
        let wrote = w.seat_writes().iter().filter(|(who, _)| *who == id).count();
        loop {
            let writing = w.seat_writes().iter().filter(|(who, _)| *who == id).count() > wrote;
            if writing && w.sim.rate_limit().in_flight > 0 {
                break;
            }
            assert!(Instant::now() < limit, "round {round}: {id} wrote nothing");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let before = count_messages(&live[i], "write batch not sent");
        let stopped_at = Instant::now();
        signal(live[i].d.proc.pid(), "-STOP");
        // Past its lease: the other replica takes over meanwhile.
        let limit = Instant::now() + w.timings.takeover_bound() + Duration::from_secs(1);
        while w.takeover_after(&id, stopped_at).is_none() {
            assert!(
                Instant::now() < limit,
                "round {round}: nobody took over from the paused {id}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        signal(live[i].d.proc.pid(), "-CONT");
        let resumed = Instant::now();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let late: Vec<u64> = w
            .seat_writes()
            .into_iter()
            .filter(|(who, r)| who == &id && r.at > stopped_at + Duration::from_millis(100))
            .map(|(_, r)| r.seq)
            .collect();
        assert!(
            late.is_empty(),
            "round {round}: the paused {id} wrote after resuming ({:?} after the pause): {late:?}",
            resumed.duration_since(stopped_at)
        );
        assert!(
            count_messages(&live[i], "leader election: this replica no longer leads") >= 1,
            "round {round}: {id} never stepped down:\n{}",
            live[i].d.log_text()
        );
        refused += count_messages(&live[i], "write batch not sent") - before;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drift.join().unwrap();
    w.wait_converged(Duration::from_secs(10)).await;
    w.check_writes();
    eprintln!("{rounds} pauses: {refused} stale write batches refused by fencing on resume");
    assert!(
        refused >= 1,
        "no pause landed between two batches of a plan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_api_503_unreachable_and_409_stop_the_writes_and_recover() {
    let mut w = World::new(SLOWER, Duration::ZERO).await;
    let live: Vec<Replica> = ["f0", "f1"].iter().map(|id| w.replica(id, &[])).collect();
    let i = w.wait_leader(&live, Duration::from_secs(10)).await;
    let leader = &live[i];
    let follower = &live[1 - i];
    // Probes, metrics and /status on both; only one leads.
    for (r, leading) in [(leader, 1.0), (follower, 0.0)] {
        r.d.wait_for("seatkeeper_leader", || async {
            let m = r.d.get("/metrics").await.body;
            (metric(&m, "seatkeeper_leader", &[]) == Some(leading)).then_some(())
        })
        .await;
        // A follower names the holder from its next read of the Lease.
        r.d.wait_for("/status to name the leader", || async {
            let status: serde_json::Value =
                serde_json::from_str(&r.d.get("/status").await.body).unwrap();
            (status["leader"]["holder"] == json!(leader.id)
                && status["leader"]["leading"] == json!(leading == 1.0))
            .then_some(())
        })
        .await;
        assert_eq!(r.d.get("/readyz").await.status, 200, "{}", r.id);
    }
    let m = leader.d.get("/metrics").await.body;
    assert_eq!(
        metric(
            &m,
            "seatkeeper_leader_transitions_total",
            &[("event", "acquired")]
        ),
        Some(1.0)
    );
    let (stop, drift) = w.start_drift(Duration::from_millis(100), 7);

    // 503 for a few requests (well inside the renew deadline): the leader
    // keeps the Lease, refuses to write while it cannot fence, logs once.
    w.lease.fail_next(503, 4);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.lease.fired("503"), 4);
    assert_eq!(w.holder().as_deref(), Some(leader.id.as_str()));
    // Each replica the 503s reached logged it once.
    let logged: Vec<usize> = live
        .iter()
        .map(|r| {
            r.d.proc
                .json_log()
                .iter()
                .filter(|v| v["error_kind"] == "server_error")
                .count()
        })
        .collect();
    assert!(
        logged.iter().all(|n| *n <= 1) && logged.iter().sum::<usize>() >= 1,
        "{logged:?}:\n{}",
        leader.d.log_text()
    );

    // Unreachable past the renew deadline: the leader steps down, nothing is
    // written while nobody can fence, and a leader is back soon after.
    let down = Duration::from_millis(2500);
    let down_at = Instant::now();
    w.lease.go_down(down);
    tokio::time::sleep(down).await;
    let up_at = Instant::now();
    assert!(w.lease.fired("unreachable") > 0);
    let writes_while_down: Vec<u64> = w
        .seat_writes()
        .into_iter()
        .filter(|(_, r)| r.at > down_at + Duration::from_millis(100) && r.at < up_at)
        .map(|(_, r)| r.seq)
        .collect();
    assert!(writes_while_down.is_empty(), "{writes_while_down:?}");
    for r in &live {
        let unreachable =
            r.d.proc
                .json_log()
                .iter()
                .filter(|v| v["error_kind"] == "unreachable")
                .count();
        assert_eq!(unreachable, 1, "{}: logged once:\n{}", r.id, r.d.log_text());
    }
    // Stepped down: at the renew deadline, or when its lease ran out on its
    // own clock, whichever its retries met first.
    assert_eq!(
        count_messages(leader, "leader election: this replica no longer leads"),
        1,
        "{}",
        leader.d.log_text()
    );
    // A fresh acquisition after the outage (the Lease may still name the
    // leader that stepped down).
    let limit = up_at + w.timings.takeover_bound() + Duration::from_secs(1);
    let holder = loop {
        if let Some(l) = w
            .lease
            .writes()
            .into_iter()
            .find(|l| l.at > up_at && l.how == "PUT")
        {
            break l.holder;
        }
        assert!(Instant::now() < limit, "no leader after the outage");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let back = live.iter().position(|r| r.id == holder).unwrap();
    eprintln!("after the outage: {holder} leads");

    // 409: someone else changed the Lease; the holder learns it at its next
    // renewal and stops at once; a leader is back within the takeover bound.
    let touched = Instant::now();
    w.lease.touch(NS, LEASE);
    let limit = Instant::now() + Duration::from_secs(3);
    while !live[back]
        .d
        .proc
        .json_log()
        .iter()
        .any(|v| v["reason"].as_str().is_some_and(|r| r.contains("409")))
    {
        assert!(
            Instant::now() < limit,
            "{holder} did not notice the 409:\n{}",
            live[back].d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(w.lease.fired("conflict") >= 1);
    let relead = loop {
        if let Some(t) = w
            .lease
            .writes()
            .into_iter()
            .find(|l| l.at > touched && l.how == "PUT" && !l.holder.is_empty())
            .map(|l| l.at)
        {
            break t;
        }
        assert!(
            Instant::now() < limit + Duration::from_secs(3),
            "no leader after the 409"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        relead.duration_since(touched) <= w.timings.takeover_bound() + w.timings.retry,
        "{:?}",
        relead.duration_since(touched)
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drift.join().unwrap();
    w.wait_converged(Duration::from_secs(10)).await;
    w.check_writes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clock_skew_of_another_replica_is_logged_once_and_never_steals_a_live_lease() {
    let mut w = World::new(SLOWER, Duration::ZERO).await;
    let spec = |offset: chrono::Duration| {
        let t = (Utc::now() + offset).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        json!({"holderIdentity": "ghost", "leaseDurationSeconds": 2,
               "acquireTime": t, "renewTime": t, "leaseTransitions": 0})
    };
    w.lease.write_as(NS, LEASE, spec(chrono::Duration::zero()));
    let b = w.replica("b", &[]);
    let skew_logs = |b: &Replica| b.d.proc.messages("leader election: clock skew").len();
    // The ghost renews with a clock within the tolerance, then 1 h behind:
    // a live lease either way (b never takes it); skew logged once.
    for offset in [
        chrono::Duration::milliseconds(-100),
        chrono::Duration::hours(-1),
    ] {
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            w.lease.write_as(NS, LEASE, spec(offset));
            tokio::time::sleep(w.timings.retry).await;
            assert_eq!(w.holder().as_deref(), Some("ghost"), "{}", b.d.log_text());
        }
        let want = usize::from(offset == chrono::Duration::hours(-1));
        assert_eq!(skew_logs(&b), want, "{offset}:\n{}", b.d.log_text());
    }
    // 1 h ahead, then the ghost dies: b takes over a lease duration after
    // the last renewal on its own clock, not an hour later.
    for _ in 0..5 {
        w.lease
            .write_as(NS, LEASE, spec(chrono::Duration::hours(1)));
        tokio::time::sleep(w.timings.retry).await;
    }
    let last = w.lease.writes().last().unwrap().at;
    let limit = Instant::now() + Duration::from_secs(5);
    let taken = loop {
        if let Some(t) = w.takeover_after("ghost", last) {
            break t;
        }
        assert!(
            Instant::now() < limit,
            "b never took over:\n{}",
            b.d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let gap = taken.duration_since(last);
    assert!(
        gap >= w.timings.lease && gap <= w.timings.takeover_bound(),
        "{gap:?}"
    );
    assert_eq!(skew_logs(&b), 1, "once per holder:\n{}", b.d.log_text());
    // /status follows once b has read the answer to its takeover.
    b.d.wait_for("b's /status to say it leads", || async {
        let status: serde_json::Value =
            serde_json::from_str(&b.d.get("/status").await.body).unwrap();
        (status["leader"]["leading"] == json!(true) && status["leader"]["holder"] == json!("b"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_releases_the_lease_and_a_follower_takes_webhooks_without_reconciling() {
    let mut w = World::new(SLOWER, Duration::ZERO).await;
    let secret_file = w._dir.path().join("webhook-secret");
    std::fs::write(&secret_file, "s3cret").unwrap();
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let secret_flag = secret_file.display().to_string();
    let extra = ["--webhook-secret-file", secret_flag.as_str()];
    let mut live: Vec<Replica> = ["t0", "t1"]
        .iter()
        .map(|id| w.replica(id, &extra))
        .collect();
    let i = w.wait_leader(&live, Duration::from_secs(10)).await;
    let (leader, follower) = (&live[i], &live[1 - i]);
    follower
        .d
        .wait_for("the follower to have read the Lease", || async {
            let status: serde_json::Value =
                serde_json::from_str(&follower.d.get("/status").await.body).unwrap();
            (status["leader"]["holder"] == json!(leader.id)).then_some(())
        })
        .await;
    // A push delivered to the follower: accepted, not run there, and the
    // answer names the leader.
    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"acme/seats"}}"#.to_vec();
    let sig = support::sign("s3cret", &body);
    let r = support::request(
        follower.d.addr,
        "POST",
        "/webhook",
        &[
            ("x-github-event", "push"),
            ("x-github-delivery", "d-1"),
            ("x-hub-signature-256", &sig),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let answer: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(answer["follower"], json!(true), "{answer}");
    assert_eq!(answer["leader"], json!(leader.id), "{answer}");
    assert_eq!(answer["triggered"], json!([]), "{answer}");
    assert_eq!(
        follower.d.reconciles().await,
        0.0,
        "a follower never reconciles"
    );

    // SIGTERM: the leader exits 0 and clears the holder; the follower takes
    // over at its next retry, well before the lease would have run out.
    let leader_id = leader.id.clone();
    let pid = leader.d.proc.pid();
    let termed = Instant::now();
    signal(pid, "-TERM");
    let status = live[i].d.proc.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}:\n{}", live[i].d.log_text());
    let released = w
        .lease
        .writes()
        .into_iter()
        .find(|l| l.at > termed && l.holder.is_empty())
        .unwrap_or_else(|| panic!("not released:\n{}", live[i].d.log_text()));
    let limit = Instant::now() + Duration::from_secs(3);
    let taken = loop {
        if let Some(t) = w.takeover_after(&leader_id, termed) {
            break t;
        }
        assert!(Instant::now() < limit, "nobody took the released Lease");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let after = taken.duration_since(released.at);
    assert!(
        after < w.timings.retry * 2 + Duration::from_millis(200),
        "taken {after:?} after the release (a lease is {:?})",
        w.timings.lease
    );
    let survivor = live.remove(1 - i);
    survivor
        .d
        .wait_for("the new leader's first reconcile", || async {
            (survivor.d.reconciles().await >= 1.0).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lone_leader_paused_past_its_lease_drops_its_stale_plan_even_when_nobody_took_over() {
    let mut w = World::new(FAST, Duration::from_millis(80)).await;
    let live = vec![w.replica("solo", &["--batch-size", "1"])];
    w.wait_leader(&live, Duration::from_secs(10)).await;
    // Ten seats gone at once: its next plan has ten one-login batches.
    live[0]
        .d
        .wait_for("the first reconcile", || async {
            (live[0].d.reconciles().await >= 1.0).then_some(())
        })
        .await;
    for i in 0..10 {
        let login = user(i);
        w.sim.with_state(|st| st.remove_seat(&login));
        w.drift
            .lock()
            .unwrap()
            .removed
            .entry(login)
            .or_default()
            .push(Instant::now());
    }
    // Paused while its first write is in the simulator.
    let limit = Instant::now() + Duration::from_secs(5);
    while !(w.sim.rate_limit().in_flight > 0
        && w.sim
            .requests()
            .iter()
            .any(|r| r.route == routes::ORG_SEATS))
    {
        assert!(Instant::now() < limit, "solo did not reconcile");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let limit = Instant::now() + Duration::from_secs(5);
    while w.seat_writes().is_empty() || w.sim.rate_limit().in_flight == 0 {
        assert!(Instant::now() < limit, "solo wrote nothing");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stopped_at = Instant::now();
    signal(live[0].d.proc.pid(), "-STOP");
    tokio::time::sleep(w.timings.lease + Duration::from_millis(300)).await;
    signal(live[0].d.proc.pid(), "-CONT");
    // The term it was in when paused (the Lease's acquireTime).
    let term_at = |t: Instant| {
        w.lease
            .writes()
            .into_iter()
            .filter(|l| l.at <= t)
            .map(|l| l.acquire_time)
            .next_back()
            .unwrap_or_default()
    };
    let paused_term = term_at(stopped_at);
    // It takes the Lease again in a new term (nobody else was there)...
    let limit = Instant::now() + Duration::from_secs(3);
    while term_at(Instant::now()) == paused_term && Instant::now() < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ...but nothing of the plan it made in the old one was sent after the
    // pause (the write in flight when it was paused lands within 100 ms).
    let stale: Vec<u64> = w
        .seat_writes()
        .into_iter()
        .filter(|(_, r)| r.at > stopped_at + Duration::from_millis(100))
        .filter(|(_, r)| term_at(r.at) == paused_term)
        .map(|(_, r)| r.seq)
        .collect();
    assert!(stale.is_empty(), "{stale:?}:\n{}", live[0].d.log_text());
    assert_ne!(
        term_at(Instant::now()),
        paused_term,
        "solo never led again:\n{}",
        live[0].d.log_text()
    );
    let log = live[0].d.proc.json_log();
    assert!(
        log.iter().any(
            |v| v["reason"].as_str().is_some_and(|r| r.contains("ran out"))
                || v["error"].as_str().is_some_and(|e| e.contains("ran out"))
        ),
        "{}",
        live[0].d.log_text()
    );
    assert!(
        count_messages(&live[0], "write batch not sent") >= 1,
        "{}",
        live[0].d.log_text()
    );
    w.wait_converged(Duration::from_secs(10)).await;
    w.check_writes();
}
