//! `seatkeeper reclaim` as a real process against the simulator: idle
//! people are reminded once, the reminder is not repeated, after
//! `remind_days` one pull request removes the still-idle logins, anyone
//! active again drops out of it, and it closes when nobody is left. All
//! state is read back from GitHub (labels, markers, comments).

use std::process::{Command, Output};

use chrono::{Duration, Utc};
use seatkeeper::simulator::{SimComment, SimOptions, Simulator, demo_state};
use serde_json::Value;

const REPO: &str = "acme/copilot-seats";

fn run(sim: &Simulator, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["reclaim", "--repo", REPO, "--format", "json"])
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

    // 3. After remind_days: one pull request removing the still-idle logins.
    let v = json(&run(&sim, &["--today", &day(31)]));
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
    let v = json(&run(&sim, &["--today", &day(31)]));
    assert_eq!(v["pull_request"]["action"], "unchanged", "{v}");

    // 4. chen uses Copilot again: dropped from the same pull request.
    sim.with_state(|s| {
        let i = s.seats.iter().position(|x| x.login == "chen").unwrap();
        s.seats[i].last_activity_at = Some(Utc::now());
    });
    let v = json(&run(&sim, &["--today", &day(31)]));
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
    let v = json(&run(&sim, &["--today", &day(31)]));
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
    // After remind_days: one pull request, within the limit.
    let v = json(&run(&sim, &["--today", &day(31)]));
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
