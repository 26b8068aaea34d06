//! Every file in tests/fixtures/bad/ must be refused with exactly the error
//! text in its `.expected` sibling. A golden that differs fails with its
//! diff; `UPDATE_EXPECT=1 cargo test --test it bad_inputs::` rewrites the
//! goldens that differ, prints the diff of each, and still fails, so a
//! rewrite is never silent: review the diff, then run again without it.

use std::path::Path;

use seatkeeper::config::{Scope, SeatsFile};
use seatkeeper::plan::{Grant, TeamKind};

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_fixture_fails_with_its_expected_message() {
    let files = fixtures();
    assert!(files.len() >= 25, "only {} bad fixtures", files.len());
    let mut goldens = Goldens::new();
    for path in files {
        let name = format!(
            "bad/{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name")
        );
        let bytes = std::fs::read(&path).expect("read fixture");
        let err = match SeatsFile::parse(&name, &bytes) {
            Ok(f) => panic!("{name} parsed but must not: {f:?}"),
            Err(e) => e.to_string() + "\n",
        };
        goldens.check(&name, &path.with_extension("expected"), &err);
    }
    goldens.finish();
}

/// Golden files compared with what the code prints now. A difference is a
/// failure showing its unified diff; with `UPDATE_EXPECT` set the golden is
/// rewritten, the diff printed all the same, and the test still fails.
struct Goldens {
    update: bool,
    diffs: Vec<String>,
}

impl Goldens {
    fn new() -> Goldens {
        Goldens {
            update: std::env::var_os("UPDATE_EXPECT").is_some(),
            diffs: Vec::new(),
        }
    }

    fn check(&mut self, name: &str, golden: &Path, got: &str) {
        let expected = std::fs::read_to_string(golden).unwrap_or_default();
        if expected == got {
            return;
        }
        let diff = similar::TextDiff::from_lines(expected.as_str(), got)
            .unified_diff()
            .header(&golden.display().to_string(), &format!("{name} now"))
            .to_string();
        // Goldens hold text a terminal can show; so does the diff.
        let diff = diff.replace('\0', "\\0");
        if self.update {
            std::fs::write(golden, got).expect("write golden");
            eprintln!("rewrote {}:\n{diff}", golden.display());
        }
        self.diffs.push(diff);
    }

    fn finish(self) {
        let n = self.diffs.len();
        let what = if self.update {
            "rewritten (review the diffs, then run again without UPDATE_EXPECT)"
        } else {
            "differ (UPDATE_EXPECT=1 rewrites them and prints each diff)"
        };
        assert!(
            n == 0,
            "{n} golden file(s) {what}:\n{}",
            self.diffs.join("\n")
        );
    }
}

/// The golden check fails on a difference, shows it as a diff, and with
/// `UPDATE_EXPECT` rewrites the golden and still fails.
#[test]
fn a_changed_golden_fails_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let golden = dir.path().join("x.expected");
    std::fs::write(&golden, "line one\nline two\n").unwrap();
    for update in [false, true] {
        let mut g = Goldens {
            update,
            diffs: Vec::new(),
        };
        g.check("x", &golden, "line one\nline 2\n");
        assert_eq!(g.diffs.len(), 1);
        assert!(g.diffs[0].contains("-line two\n+line 2"), "{}", g.diffs[0]);
        let failed = std::panic::catch_unwind(move || g.finish()).is_err();
        assert!(failed, "update {update}: a changed golden passed");
    }
    assert_eq!(
        std::fs::read_to_string(&golden).unwrap(),
        "line one\nline 2\n"
    );
    let mut g = Goldens {
        update: false,
        diffs: Vec::new(),
    };
    g.check("x", &golden, "line one\nline 2\n");
    g.finish();
}

/// Goldens a terminal can show: no raw control characters, no Rust `Debug`
/// values, no `like this' quotes.
#[test]
fn goldens_hold_only_printable_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "expected") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{name} holds a raw control character:\n{text}"
        );
        assert!(
            !text.contains(" { ") && !text.contains("\\u{"),
            "{name}: a Rust value:\n{text}"
        );
        assert!(
            !text.contains('\u{fffd}') || name.to_string().contains("invalid-utf8"),
            "{name}: {text}"
        );
        for line in text.lines().filter(|l| !l.contains(" | ")) {
            assert!(
                !(line.contains('`') && line.contains("'") && line.matches('`').count() % 2 == 1),
                "{name}: mismatched quotes: {line}"
            );
        }
    }
}

/// One rule for tags, wherever they stand: `!!str` on a scalar is accepted
/// (it says what a plain value already is); every other tag is refused at
/// its position, core-schema or not.
#[test]
fn one_rule_for_tags() {
    let accepted = [
        "org: !!str acme\nusers: [alice]\n",
        "org: acme\nusers:\n  - !!str 1234\n",
        "org: acme\npolicy:\n  protected: [!!str alice]\nusers: [alice]\n",
    ];
    for text in accepted {
        SeatsFile::parse("t.yaml", text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    let refused_at = [
        (
            "org: !!binary YWNtZQ==\nusers: [alice]\n",
            "!!binary",
            "1:6",
        ),
        ("org: acme\nusers:\n  - !login alice\n", "!login", "3:5"),
        ("org: acme\nusers: !!seq [alice]\n", "!!seq", "2:8"),
        (
            "org: acme\npolicy: !!map {allow_empty: true}\nusers: [a]\n",
            "!!map",
            "2:9",
        ),
        (
            "org: acme\npolicy:\n  max_seats: !!int \"5\"\nusers: [a]\n",
            "!!int",
            "3:14",
        ),
        (
            "org: acme\nusers: [alice]\nteams: [!!str platform, !team dev]\n",
            "!team",
            "3:25",
        ),
        ("!!map\norg: acme\nusers: [a]\n", "!!map", "1:1"),
    ];
    for (text, tag, at) in refused_at {
        let err = SeatsFile::parse("t.yaml", text.as_bytes()).expect_err(text);
        assert_eq!(err.diagnostics.len(), 1, "{err}");
        let d = &err.diagnostics[0];
        assert_eq!(d.pos.to_string(), at, "{err}");
        assert!(
            d.message
                .contains(&format!("the tag `{tag}` is not allowed")),
            "{err}"
        );
    }
}

#[test]
fn many_problems_are_all_reported_in_one_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/many-problems.yaml");
    let err = SeatsFile::parse("seats.yaml", &std::fs::read(path).unwrap()).unwrap_err();
    let lines: Vec<u32> = err.diagnostics.iter().map(|d| d.pos.line).collect();
    // unknown key (2), bad slug (4), duplicate login (7), bad login (8),
    // bad date (10), duplicate org key (11)
    assert_eq!(lines, vec![2, 4, 7, 8, 10, 11]);
}

#[test]
fn ten_mebibyte_file_is_refused_before_parsing() {
    let mut big = b"org: acme\nusers:\n".to_vec();
    big.resize(10 * 1024 * 1024, b'#');
    let err = SeatsFile::parse("big.yaml", &big).unwrap_err();
    assert!(err.to_string().contains("at most 1048576 bytes"), "{err}");
}

#[test]
fn crlf_bom_and_odd_but_valid_files_parse() {
    let cases: &[(&str, &[u8])] = &[
        ("crlf", b"org: acme\r\nusers:\r\n  - alice\r\n"),
        ("bom", b"\xef\xbb\xbforg: acme\nusers:\n  - alice\n"),
        ("numeric login", b"org: acme\nusers:\n  - 1234\n"),
        (
            "flow style",
            b"{org: acme, users: [alice, {login: bob, expires: 2030-01-01}]}",
        ),
        ("empty lists", b"org: acme\nusers: []\nteams: []\n"),
        (
            "anchors within limits",
            b"org: acme\npolicy:\n  protected: &p [alice]\nusers: *p\n",
        ),
        (
            "enterprise team prefix",
            b"enterprise: acme-corp\nteams:\n  - ent:platform\n",
        ),
    ];
    for (name, bytes) in cases {
        let f = SeatsFile::parse(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!f.scope.name().is_empty(), "{name}");
    }
}

// ---------------------------------------------------------------------------
// seats.yaml beyond the fixtures: inputs built in memory, each refused by one
// of the parser's own limits. Time and memory are bounded by the input size
// (asserted) and by those limits (the message names the one that fired).

/// Parse `bytes`, which must be refused; returns the rendered error.
fn refused(name: &str, bytes: &[u8]) -> String {
    match SeatsFile::parse(name, bytes) {
        Ok(f) => panic!("{name} parsed but must not: {f:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn deep_nesting_is_refused_by_the_depth_limit() {
    let flow = format!(
        "org: acme\nusers: {}alice{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut block = String::from("org: acme\npolicy:\n");
    for depth in 1..=1_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("k:\n");
    }
    let mapping = format!(
        "org: acme\npolicy: {}1{}\n",
        "{a: ".repeat(5_000),
        "}".repeat(5_000)
    );
    for (name, text) in [
        ("flow.yaml", flow),
        ("block.yaml", block),
        ("mapping.yaml", mapping),
    ] {
        assert!(text.len() < seatkeeper::config::MAX_FILE_BYTES, "{name}");
        let err = refused(name, text.as_bytes());
        // The budget's depth limit (32), or the YAML parser's own recursion
        // limit, which fires first on flow collections: the same words.
        assert!(
            err.contains("nested deeper than 32 levels"),
            "{name}: {err}"
        );
        assert!(err.ends_with("1 error"), "{name}: {err}");
        assert!(err.len() < 2_000, "{name}: message of {} bytes", err.len());
    }
}

#[test]
fn too_many_anchors_or_aliases_are_refused() {
    let mut anchors = String::from("org: acme\nusers:\n");
    for i in 0..1_500 {
        anchors.push_str(&format!("  - &a{i} dev{i}\n"));
    }
    let mut aliases = String::from("org: acme\npolicy:\n  protected: &p [alice]\nteams:\n");
    for _ in 0..1_500 {
        aliases.push_str("  - *p\n");
    }
    for (name, text, limit) in [
        ("anchors.yaml", anchors, "anchor"),
        ("aliases.yaml", aliases, "alias"),
    ] {
        assert!(text.len() < 64 * 1024, "{name}");
        let err = refused(name, text.as_bytes());
        assert!(err.contains(limit), "{name}: {err}");
    }
}

#[test]
fn a_huge_line_gives_a_bounded_message() {
    // One login of 900,000 characters: refused; the snippet and its carets
    // are cut to the terminal's width, and only the headline quotes the
    // login, so the message stays within the input's size.
    let text = format!("org: acme\nusers:\n  - {}\n", "a".repeat(900_000));
    assert!(text.len() <= seatkeeper::config::MAX_FILE_BYTES);
    let err = refused("long.yaml", text.as_bytes());
    assert!(
        err.contains("is 900000 characters long; logins have at most 39"),
        "{}",
        &err[..err.len().min(500)]
    );
    assert!(
        err.len() < text.len() + 1_024,
        "message of {} bytes",
        err.len()
    );
    for line in err.lines().skip(1) {
        assert!(line.len() < 200, "snippet line of {} bytes", line.len());
    }
}

#[test]
fn merge_keys_are_refused_where_they_stand() {
    // `<<: *anchor` would give bob alice's expiry without writing it at
    // bob's entry; a reviewer reads bob's lines, so merge keys are refused.
    let text = b"org: acme\nusers:\n  - &base {login: alice, expires: 2030-01-01}\n  - <<: *base\n    login: bob\n";
    let err = SeatsFile::parse("merge.yaml", text).expect_err("merge keys are refused");
    assert_eq!(err.diagnostics.len(), 1);
    assert_eq!(err.diagnostics[0].pos.to_string(), "4:5");
    assert!(
        err.to_string()
            .contains("merge keys (`<<`) are not allowed"),
        "{err}"
    );
}

#[test]
fn the_size_limit_is_exact() {
    let max = seatkeeper::config::MAX_FILE_BYTES;
    // Just under the limit: a roster of ~60,000 users parses.
    let mut text = String::from("org: acme\nusers:\n");
    let mut i = 0;
    while text.len() + 16 < max {
        text.push_str(&format!("  - dev{i}\n"));
        i += 1;
    }
    text.push_str(&"#".repeat(max - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), max);
    let file = SeatsFile::parse("max.yaml", text.as_bytes()).expect("a 1 MiB roster parses");
    assert_eq!(file.users.len(), i);
    text.push('\n');
    let err = refused("over.yaml", text.as_bytes());
    assert!(err.contains("at most 1048576 bytes"), "{err}");
}

// ---------------------------------------------------------------------------
// Seat-list JSON: every file in tests/fixtures/seats-json/ decodes (as the
// client and `--live-state` decode GitHub's `GET .../copilot/billing/seats`
// body) to exactly the outcome in its `.expected` sibling: `error: ...`, or
// `ok: ...` and one line per seat the planner sees. Each accepted listing is
// then planned against a fixed seats.yaml, which must not panic.
// `UPDATE_EXPECT=1` rewrites the expectations as for seats.yaml.

fn seat_list_outcome(name: &str, bytes: &[u8]) -> String {
    use seatkeeper::github::SeatListResponse;
    use std::fmt::Write as _;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return format!("error: not UTF-8: {e}\n"),
    };
    let from_text = SeatListResponse::from_json(name, text);
    // The client decodes bytes; it must agree with the text path.
    let from_bytes = serde_json::from_slice::<SeatListResponse>(bytes);
    assert_eq!(
        from_text.is_ok(),
        from_bytes.is_ok(),
        "{name}: text and bytes disagree"
    );
    let response = match from_text {
        Ok(r) => r,
        Err(e) => return format!("error: {e}\n"),
    };
    let listed = response.seats.len();
    let total = response.total_seats;
    let live = match response.into_live_state(name, &Scope::Org("acme".into())) {
        Ok(l) => l,
        Err(e) => return format!("error: {e}\n"),
    };
    let mut out = format!(
        "ok: total_seats {total}, {listed} seat(s) listed, {} with an assignee",
        live.users.len()
    );
    if let Some(s) = &live.seat_management_setting {
        write!(out, ", seat_management_setting {}", s.as_str()).unwrap();
    }
    out.push('\n');
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for u in &live.users {
        for g in &u.grants {
            let team = match &g.grant {
                Grant::Team(t) if t.kind == TeamKind::Org => format!("org:{}", t.slug),
                Grant::Team(t) => format!("enterprise:{}", t.slug),
                Grant::Direct => "-".to_string(),
                Grant::Organization { org, .. } => format!("organization:{org}"),
            };
            writeln!(
                out,
                "{} team={team} pending={} last_activity={} last_authenticated={} created={}",
                u.login,
                opt(g.pending_cancellation_date.map(|d| d.to_string())),
                opt(u.last_activity_at.map(|t| t.to_rfc3339())),
                opt(u.last_authenticated_at.map(|t| t.to_rfc3339())),
                g.created_at.to_rfc3339()
            )
            .unwrap();
        }
    }
    let desired = SeatsFile::parse(
        "seats.yaml",
        b"org: acme\npolicy:\n  protected: [hubot]\n  inactivity: {days: 30, action: remove, act_before_cycle_end_days: 31}\nteams: [platform]\nusers: [octocat, erin]\n",
    )
    .expect("fixed seats.yaml");
    let desired = seatkeeper::plan::Desired::from_file(&desired);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let plan = seatkeeper::plan::plan(&desired, &live, today);
    assert!(plan.seats_before <= live.users.len(), "{name}");
    out
}

#[test]
fn every_seat_list_fixture_has_its_expected_outcome() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seats-json");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("seats-json dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "only {} seat-list fixtures", files.len());
    let mut goldens = Goldens::new();
    for path in files {
        let name = format!(
            "seats-json/{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name")
        );
        let bytes = std::fs::read(&path).expect("read fixture");
        assert!(bytes.len() < 16 * 1024, "{name}: fixtures stay small");
        let got = seat_list_outcome(&name, &bytes);
        goldens.check(&name, &path.with_extension("expected"), &got);
    }
    goldens.finish();
}

#[test]
fn seat_list_json_is_bounded_by_the_decoder_limits() {
    // None of the wire types is recursive, so nesting costs no stack: where
    // seatkeeper reads, the first wrong type stops decoding; where it does
    // not (unknown fields), serde_json skips without recursing.
    let deep_read = format!(
        "{{\"total_seats\": 0, \"seats\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = seatkeeper::github::SeatListResponse::from_json("deep.json", &deep_read).unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid type: sequence, expected an RFC 3339"),
        "{err}"
    );
    let deep_unknown = format!(
        "{{\"total_seats\": 0, \"seats\": [], \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let live = seatkeeper::github::SeatListResponse::from_json("deep.json", &deep_unknown)
        .expect("unknown nesting is skipped");
    assert_eq!(live.total_seats, 0);
    // The same depth inside a field seatkeeper does not read (a team's
    // `parent`) is skipped without recursion: accepted, stack untouched.
    let mut seat = String::from(
        "{\"created_at\": \"2025-06-01T09:00:00Z\", \"assignee\": {\"login\": \"octocat\"}, \"assigning_team\": {\"slug\": \"t\", \"parent\": ",
    );
    seat.push_str(&"{\"slug\": \"t\", \"parent\": ".repeat(100_000));
    seat.push_str("null");
    seat.push_str(&"}".repeat(100_002));
    let nested_team = format!("{{\"total_seats\": 1, \"seats\": [{seat}]}}");
    assert!(nested_team.len() < 4 * 1024 * 1024);
    let live = seatkeeper::github::SeatListResponse::from_json("team.json", &nested_team)
        .expect("unread nesting is skipped")
        .into_live_state("team.json", &Scope::Org("acme".into()))
        .expect("one seat, counted");
    assert_eq!(live.users.len(), 1);
    assert_eq!(
        live.users[0].grants[0].grant,
        Grant::Team(seatkeeper::plan::TeamRef::org("t"))
    );
}

#[test]
fn the_cli_plans_odd_listings_and_names_bad_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let seats = dir.path().join("seats.yaml");
    std::fs::write(&seats, "org: acme\nusers: [octocat]\n").unwrap();
    let run = |fixture: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
            .arg("plan")
            .arg(&seats)
            .arg("--live-state")
            .arg(root.join("tests/fixtures/seats-json").join(fixture))
            .arg("--today")
            .arg("2026-11-23")
            .env("NO_COLOR", "1")
            .output()
            .expect("run seatkeeper")
    };
    // A seat without an assignee is skipped, not a crash: octocat holds the
    // other seat, so there is nothing to do.
    let out = run("assignee-null.json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // A listing without total_seats is refused with its path and the field.
    let out = run("missing-total-seats.json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("missing-total-seats.json"), "{stderr}");
    assert!(stderr.contains("missing field `total_seats`"), "{stderr}");
}

#[test]
fn plain_scalars_are_the_text_a_reviewer_reads() {
    // YAML 1.1 would read these as 31, 10 (octal), 1000, 15 and a boolean;
    // the reviewer reads logins, and logins they are.
    let text = "org: acme\nusers: [0x1F, 012, 1e3, 0o17, true]\n";
    let f = SeatsFile::parse("seats.yaml", text.as_bytes()).expect("valid logins");
    let logins: Vec<&str> = f.users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["0x1F", "012", "1e3", "0o17", "true"]);
    // A number that is not a login is quoted as written, not as its value.
    let err = refused("seats.yaml", b"org: acme\nusers: [1_000, 0x1F]\n");
    assert!(err.contains("`1_000`") && err.contains("2:9"), "{err}");
    assert!(!err.contains("1000`"), "{err}");
}

#[test]
fn endless_and_special_files_are_read_boundedly() {
    use std::process::Command;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tempdir");
    let seats = dir.path().join("seats.yaml");
    std::fs::write(&seats, "org: acme\nusers: [octocat]\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_seatkeeper");
    // A FIFO whose writer never stops: stat says size 0, the read is capped.
    let fifo = dir.path().join("fifo.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) else {
                return;
            };
            let chunk = vec![b'#'; 1 << 16];
            // Bounded: 64 MiB, far past the 1 MiB cap; stops when the reader goes.
            for _ in 0..1024 {
                if f.write_all(&chunk).is_err() {
                    return;
                }
            }
        })
    };
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["validate".into(), fifo.clone().into()],
            "at most 1048576 bytes",
        ),
        (
            vec![
                "plan".into(),
                seats.clone().into(),
                "--live-state".into(),
                "/dev/zero".into(),
            ],
            "larger than 268435456 bytes",
        ),
        (
            vec![
                "plan".into(),
                seats.clone().into(),
                "--token-file".into(),
                "/dev/zero".into(),
                "--github-url".into(),
                "http://127.0.0.1:9".into(),
            ],
            "larger than",
        ),
    ];
    for (args, want) in cases {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(&args)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN")
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(stderr.len() < 4096, "{args:?}: a bounded message");
        assert!(t.elapsed() < Duration::from_secs(20), "{args:?}");
    }
    writer.join().unwrap();
}
