//! `seatkeeper reclaim` as a real process against the simulator: idle
//! people are reminded once, the reminder is not repeated, after
//! `remind_days` one pull request removes the still-idle logins, anyone
//! active again drops out of it, and it closes when nobody is left. All
//! state is read back from GitHub (labels, markers, comments), and only
//! what seatkeeper's own identity wrote counts. Removals are proposed only
//! in the last days of the billing cycle, and AI-credit use is activity.

use std::process::{Command, Output};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use seatkeeper::simulator::{SimComment, SimOptions, Simulator, demo_state};
use serde_json::Value;

const REPO: &str = "acme/copilot-seats";

fn run(sim: &Simulator, extra: &[&str]) -> Output {
    run_as(sim, "json", extra)
}

fn run_as(sim: &Simulator, format: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["reclaim", "--repo", REPO, "--format", format])
        .args(extra)
        .args(["--github-url", &sim.url()])
        .env("GITHUB_TOKEN", sim.token())
        .env_remove("GITHUB_API_URL")
        .output()
        .expect("run seatkeeper")
}

fn json(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn day(offset: i64) -> String {
    (Utc::now() + Duration::days(offset))
        .date_naive()
        .to_string()
}

/// The last day of the month `offset` days from now: inside the removal
/// window (the last 3 days of the calendar-month cycle).
fn window_date(offset: i64) -> NaiveDate {
    let d = (Utc::now() + Duration::days(offset)).date_naive();
    seatkeeper::plan::cost::next_month(d) - Duration::days(1)
}

/// A day at least `offset` days from now that is before its month's removal
/// window, with the window day of that month.
fn before_window(offset: i64) -> (NaiveDate, NaiveDate) {
    let mut d = (Utc::now() + Duration::days(offset)).date_naive();
    if d.day() > 25 {
        d = seatkeeper::plan::cost::next_month(d);
    }
    (d, seatkeeper::plan::cost::next_month(d) - Duration::days(1))
}

fn logins(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn remind_first_then_one_pull_request_that_follows_activity() {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let idle = vec!["chen", "dmitri", "elena", "farid"];
    // `--today` moves seatkeeper's clock, not GitHub's: keep everyone else
    // active through the last day this test plans for, so that only the
    // idle ones are reminded (a reminder's date is GitHub's clock).
    let (early, late) = before_window(31);
    let active_until = late.and_hms_opt(12, 0, 0).unwrap().and_utc();
    sim.with_state(|s| {
        for x in s.seats.iter_mut() {
            if !["chen", "dmitri", "elena", "farid", "gwen"].contains(&x.login.as_str()) {
                x.last_activity_at = Some(active_until);
            }
        }
    });

    // 1. Everyone idle is reminded in one comment on one tracking issue.
    let v = json(&run(&sim, &[]));
    assert_eq!(logins(&v["reminded"]), idle, "{v}");
    assert!(v["pull_request"].is_null());
    let issue = v["reminder_issue"].as_u64().unwrap();
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    let i = r.issue(issue).unwrap();
    assert_eq!(i.labels, vec!["seatkeeper-reclaim"]);
    let comments: Vec<&SimComment> = r.comments.iter().filter(|c| c.issue == issue).collect();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.starts_with("@chen @dmitri @elena @farid: your Copilot seat has had no activity for at least 60 days."),
        "{}",
        comments[0].body
    );
    drop(st);

    // 2. The next run does not remind them again. gwen goes idle, and a
    // reminder forged by someone else (dated long ago, so she would be due
    // at once) does not count: she gets her own reminder.
    sim.with_state(|s| {
        let i = s.seats.iter().position(|x| x.login == "gwen").unwrap();
        s.seats[i].last_activity_at = Some(Utc::now() - Duration::days(200));
        let r = s.repo_mut(REPO).unwrap();
        let then = Utc::now() - Duration::days(100);
        r.comments.push(SimComment {
            id: 1,
            issue,
            body: "<!-- seatkeeper:reminded gwen -->".into(),
            user: "mallory".into(),
            created_at: then,
            updated_at: then,
        });
    });
    let v = json(&run(&sim, &[]));
    assert_eq!(logins(&v["reminded"]), vec!["gwen"], "{v}");
    assert_eq!(v["waiting"].as_array().unwrap().len(), 4);
    // The forged reminder is reported, not counted.
    let ignored = v["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{v}");
    assert_eq!(ignored[0]["kind"], "comment");
    assert_eq!(ignored[0]["author"], "mallory");
    assert_eq!(v["identity"], "seatkeeper-bot");
    assert_eq!(v["reminder_issue"].as_u64(), Some(issue));
    let v = json(&run(&sim, &[]));
    assert!(logins(&v["reminded"]).is_empty(), "{v}");
    assert_eq!(
        sim.state().repo(REPO).unwrap().comments.len(),
        3,
        "ours, the forged one, gwen's; nothing repeated"
    );
    let idle = vec!["chen", "dmitri", "elena", "farid", "gwen"];
    let before = sim
        .state()
        .file(REPO, "main", "seats.yaml")
        .unwrap()
        .to_string();
    // Not yet due the day before remind_days (30) is over.
    let v = json(&run(&sim, &["--today", &day(29)]));
    assert!(v["pull_request"].is_null(), "{v}");
    // Due, but before the last 3 days of the billing cycle: reported as
    // due, no pull request (a removal now would be billed to the cycle's
    // end anyway).
    let v = json(&run(&sim, &["--today", &early.to_string()]));
    assert!(v["pull_request"].is_null(), "{v}");
    assert_eq!(logins(&v["due"]), idle);
    assert_eq!(
        v["removal_window_start"].as_str().unwrap(),
        (late - Duration::days(2)).to_string()
    );
    let late = late.to_string();

    // 3. In the window: one pull request removing the still-idle logins.
    let v = json(&run(&sim, &["--today", &late]));
    let pr = &v["pull_request"];
    assert_eq!(pr["action"], "opened", "{v}");
    assert_eq!(logins(&pr["logins"]), idle);
    let number = pr["number"].as_u64().unwrap();
    let st = sim.state();
    let r = st.repo(REPO).unwrap();
    let p = r.issue(number).unwrap();
    assert_eq!(p.labels, vec!["seatkeeper-reclaim"]);
    let body = p.body.clone().unwrap();
    for l in &idle {
        assert!(
            body.contains(&format!("- @{l}: no Copilot activity for ")),
            "{body}"
        );
    }
    let proposed = r
        .file("seatkeeper/reclaim", "seats.yaml")
        .unwrap()
        .to_string();
    drop(st);
    let expected = match seatkeeper::edit::remove_users("x", &before, &idle).unwrap() {
        seatkeeper::edit::Edit::Changed { text, .. } => text,
        other => panic!("{other:?}"),
    };
    assert_eq!(proposed, expected);
    // Run again: nothing to change.
    let v = json(&run(&sim, &["--today", &late]));
    assert_eq!(v["pull_request"]["action"], "unchanged", "{v}");

    // 4. chen uses Copilot again: dropped from the same pull request.
    sim.with_state(|s| {
        let i = s.seats.iter().position(|x| x.login == "chen").unwrap();
        s.seats[i].last_activity_at = Some(Utc::now());
    });
    let v = json(&run(&sim, &["--today", &late]));
    let pr = &v["pull_request"];
    assert_eq!(pr["action"], "updated", "{v}");
    assert_eq!(pr["number"].as_u64(), Some(number));
    assert_eq!(
        logins(&pr["logins"]),
        vec!["dmitri", "elena", "farid", "gwen"]
    );
    assert_eq!(logins(&v["dropped"]), vec!["chen"]);
    let st = sim.state();
    let proposed = st
        .file(REPO, "seatkeeper/reclaim", "seats.yaml")
        .unwrap()
        .to_string();
    assert!(proposed.contains("  - chen\n"), "{proposed}");
    assert!(!proposed.contains("  - dmitri\n"));
    let open_prs = st
        .repo(REPO)
        .unwrap()
        .issues
        .iter()
        .filter(|i| i.pull.is_some() && i.state == seatkeeper::simulator::IssueState::Open)
        .count();
    assert_eq!(open_prs, 1, "one pull request, updated in place");
    drop(st);

    // 5. Everyone is active again: the pull request is closed.
    sim.with_state(|s| {
        for x in s.seats.iter_mut() {
            x.last_activity_at = Some(Utc::now());
        }
    });
    let v = json(&run(&sim, &["--today", &late]));
    assert_eq!(v["pull_request"]["action"], "closed", "{v}");
    assert!(v["idle"].as_object().unwrap().is_empty());
    // main never changed: reclaim only proposes.
    assert_eq!(
        sim.state().file(REPO, "main", "seats.yaml").unwrap(),
        before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reclaim_needs_an_inactivity_policy() {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    sim.with_state(|s| s.put_file(REPO, "main", "seats.yaml", "org: acme\nusers: [alice]\n"));
    let out = run(&sim, &[]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("sets no policy.inactivity"),
        "{v}"
    );
    let writes = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_idle_people_fit_githubs_body_limits() {
    // github-observed: an issue, pull request or comment body over 65,536
    // characters is refused ("Body is too long"), and the simulator refuses
    // it too. 1,500 idle people with long logins: reminders go in several
    // comments, and one pull request names at most MAX_RECLAIM_LOGINS.
    use seatkeeper::selfserve::reclaim::{MAX_BODY_CHARS, MAX_RECLAIM_LOGINS};
    use seatkeeper::simulator::SimSeat;
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let many: Vec<String> = (0..1500)
        .map(|i| format!("idle-person-with-a-long-login-{i:05}"))
        .collect();
    sim.with_state(|s| {
        let created = Utc::now() - Duration::days(200);
        for l in &many {
            s.members.push(l.clone());
            s.users.push(l.clone());
            s.seats.push(SimSeat::new(l, created));
        }
        let text = s.file(REPO, "main", "seats.yaml").unwrap().to_string();
        let sha = seatkeeper::source::git_blob_sha(text.as_bytes());
        let more: String = many.iter().map(|l| format!("  - {l}\n")).collect();
        s.put_contents(
            REPO,
            "seats.yaml",
            None,
            format!("{text}{more}"),
            Some(&sha),
            "many idle people",
        )
        .unwrap();
        s.invalidate();
    });
    let v = json(&run(&sim, &[]));
    assert_eq!(logins(&v["reminded"]).len(), 1504, "the demo's 4 and 1,500");
    let issue = v["reminder_issue"].as_u64().unwrap();
    let st = sim.state();
    let comments: Vec<&SimComment> = st
        .repo(REPO)
        .unwrap()
        .comments
        .iter()
        .filter(|c| c.issue == issue)
        .collect();
    assert!(comments.len() > 1, "one comment cannot hold 1,504 mentions");
    assert!(
        comments
            .iter()
            .all(|c| c.body.chars().count() <= MAX_BODY_CHARS)
    );
    drop(st);
    // Nobody is reminded twice: the state is read from every comment.
    let v = json(&run(&sim, &[]));
    assert!(logins(&v["reminded"]).is_empty(), "{v}");
    // After remind_days, in the window: one pull request, within the limit.
    let v = json(&run(&sim, &["--today", &window_date(31).to_string()]));
    let pr = &v["pull_request"];
    assert_eq!(pr["action"], "opened", "{v}");
    assert_eq!(logins(&pr["logins"]).len(), MAX_RECLAIM_LOGINS);
    let number = pr["number"].as_u64().unwrap();
    let body = sim
        .state()
        .repo(REPO)
        .unwrap()
        .issue(number)
        .unwrap()
        .body
        .clone()
        .unwrap();
    assert!(body.chars().count() <= MAX_BODY_CHARS);
    assert!(body.contains("more: the diff names every one"), "{body}");
}

/// Issue 19: someone with triage rights labels their own issue with the
/// reclaim marker and comments forged reminders dated long ago; someone
/// else opens a pull request from the reclaim branch. None of it counts:
/// nobody is proposed for removal, seatkeeper opens its own tracking issue,
/// and every forgery is reported.
#[tokio::test(flavor = "multi_thread")]
async fn forged_reclaim_state_removes_nobody_and_is_reported() {
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    let then = Utc::now() - Duration::days(100);
    let forged = sim.with_state(|s| {
        s.viewer = "mallory".into();
        let n = s
            .create_issue(
                REPO,
                "Idle Copilot seats",
                Some("<!-- seatkeeper:reclaim-reminders -->".into()),
                vec!["seatkeeper-reclaim".into()],
            )
            .unwrap();
        s.create_comment(
            REPO,
            n,
            "<!-- seatkeeper:reminded chen dmitri elena farid -->",
        )
        .unwrap();
        s.viewer = "seatkeeper-bot".into();
        let r = s.repo_mut(REPO).unwrap();
        for c in r.comments.iter_mut() {
            c.created_at = then;
            c.updated_at = then;
        }
        n
    });
    let before = sim
        .state()
        .file(REPO, "main", "seats.yaml")
        .unwrap()
        .to_string();
    let v = json(&run(&sim, &["--today", &window_date(0).to_string()]));
    assert!(v["pull_request"].is_null(), "nothing proposed: {v}");
    assert!(logins(&v["due"]).is_empty(), "{v}");
    let reminded = logins(&v["reminded"]);
    for l in ["chen", "dmitri", "elena", "farid"] {
        assert!(
            reminded.contains(&l.to_string()),
            "{l} reminded afresh: {v}"
        );
    }
    let ours = v["reminder_issue"].as_u64().unwrap();
    assert_ne!(ours, forged, "the forged issue is not the tracking issue");
    let ignored: Vec<(String, u64, String)> = v["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["number"].as_u64().unwrap(),
                i["author"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ignored,
        vec![("issue".to_string(), forged, "mallory".to_string())]
    );
    let text = run_as(&sim, "text", &["--today", &window_date(0).to_string()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("ignored: issue #{forged} by mallory")),
        "{text}"
    );
    let st = sim.state();
    assert_eq!(st.file(REPO, "main", "seats.yaml").unwrap(), before);
    assert!(st.file(REPO, "seatkeeper/reclaim", "seats.yaml").is_none());
}

/// An installation token's comments are signed `{slug}[bot]`: reclaim asks
/// `GET /app` (with the App's JWT) who it is, not `GET /user` (which
/// refuses integrations), and a reminder under any other name does not
/// count.
#[tokio::test(flavor = "multi_thread")]
async fn the_identity_of_an_app_is_its_bot() {
    let fixture = |name: &str| format!("{}/tests/fixtures/sim/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut st = demo_state();
    st.app = Some(seatkeeper::simulator::SimApp {
        app_id: 4242,
        client_id: None,
        slug: "seatkeeper".to_string(),
        installation_id: 777,
        public_key_pem: std::fs::read_to_string(fixture("app-public-key.pem")).unwrap(),
    });
    // What the installation writes is authored by its bot.
    st.viewer = "seatkeeper[bot]".into();
    let sim = Simulator::start(st, SimOptions::default()).await.unwrap();
    let app = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
            .args(["reclaim", "--repo", REPO, "--format", "json"])
            .args(["--app-id", "4242", "--installation-id", "777"])
            .args(["--app-key-file", &fixture("app-private-key.pem")])
            .args(extra)
            .args(["--github-url", &sim.url()])
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_API_URL")
            .output()
            .expect("run seatkeeper")
    };
    let v = json(&app(&[]));
    assert_eq!(v["identity"], "seatkeeper[bot]", "{v}");
    let issue = v["reminder_issue"].as_u64().unwrap();
    // A user named like the App's bot without the suffix forges a reminder
    // for gwen, dated long ago: not counted.
    let then = Utc::now() - Duration::days(100);
    sim.with_state(|s| {
        let i = s.seats.iter().position(|x| x.login == "gwen").unwrap();
        s.seats[i].last_activity_at = Some(Utc::now() - Duration::days(200));
        s.repo_mut(REPO).unwrap().comments.push(SimComment {
            id: 1,
            issue,
            body: "<!-- seatkeeper:reminded gwen -->".into(),
            user: "seatkeeper".into(),
            created_at: then,
            updated_at: then,
        });
    });
    let v = json(&app(&[]));
    assert_eq!(logins(&v["reminded"]), vec!["gwen"], "{v}");
    assert_eq!(v["ignored"][0]["author"], "seatkeeper", "{v}");
    let asked: Vec<(String, u16)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/app" || r.path == "/user")
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(asked, vec![("/app".to_string(), 200); 2]);
}

/// AI-credit use counts as activity: an idle person (no IDE activity, no
/// sign-in) who used credits this month is not proposed; when the usage
/// route answers 404 (no billing permission) reclaim says so and goes on
/// with the listing's activity alone.
#[tokio::test(flavor = "multi_thread")]
async fn ai_credit_use_keeps_a_seat() {
    use seatkeeper::simulator::usage::SimCredits;
    let sim = Simulator::start(demo_state(), SimOptions::default())
        .await
        .unwrap();
    // Reminded 40 days ago, by seatkeeper.
    let v = json(&run(&sim, &[]));
    let issue = v["reminder_issue"].as_u64().unwrap();
    let then = Utc::now() - Duration::days(40);
    sim.with_state(|s| {
        for c in s.repo_mut(REPO).unwrap().comments.iter_mut() {
            if c.issue == issue {
                c.created_at = then;
            }
        }
    });
    let late = window_date(0);
    sim.with_state(|s| {
        let mut used = SimCredits::today("elena", 250.0);
        used.day = late;
        s.ai_credits.push(used);
        // Another month's use does not count for this one.
        let mut old = SimCredits::today("farid", 900.0);
        old.day = late - Duration::days(40);
        s.ai_credits.push(old);
    });
    let v = json(&run(&sim, &["--today", &late.to_string()]));
    assert_eq!(logins(&v["used_ai_credits"]), vec!["elena"], "{v}");
    assert_eq!(
        logins(&v["pull_request"]["logins"]),
        vec!["chen", "dmitri", "farid"]
    );
    let asked: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route.ends_with("/ai_credit/usage"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(asked.len(), 4, "{asked:?}");
    assert!(
        asked[0].contains(&format!(
            "year={}&month={}&user=",
            late.year(),
            late.month()
        )),
        "{asked:?}"
    );

    // No billing permission: the listing decides alone, and the report says why.
    sim.with_state(|s| s.ai_credit_usage_hidden = true);
    let v = json(&run(&sim, &["--today", &late.to_string()]));
    assert!(
        v["usage_note"].as_str().unwrap().contains("answered 404"),
        "{v}"
    );
    assert_eq!(
        logins(&v["pull_request"]["logins"]),
        vec!["chen", "dmitri", "elena", "farid"]
    );
}
