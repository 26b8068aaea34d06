//! The real `seatkeeper` binary: validate and plan against files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn seatkeeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run seatkeeper")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_accepts_the_example_and_rejects_bad_files() {
    let ok = seatkeeper(&["validate", "seats.yaml"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("valid"));

    let bad = seatkeeper(&["validate", "tests/fixtures/bad/many-problems.yaml"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    let expected =
        std::fs::read_to_string(root().join("tests/fixtures/bad/many-problems.expected"))
            .unwrap()
            .replace(
                "bad/many-problems.yaml",
                "tests/fixtures/bad/many-problems.yaml",
            );
    assert_eq!(err, expected);
}

#[test]
fn validate_missing_file_is_a_clear_error() {
    let out = seatkeeper(&["validate", "does-not-exist.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("does-not-exist.yaml does not exist"), "{err}");
    assert!(err.contains("seatkeeper import --org ORG"), "{err}");
    assert_eq!(
        err.matches("does not exist").count(),
        1,
        "the cause once: {err}"
    );
}

/// Table: (seats.yaml, format, exit code, text the output must contain).
#[test]
fn plan_formats_and_exit_codes() {
    let live = "examples/live-state.json";
    #[rustfmt::skip]
    let cases: &[(&str, &str, i32, &[&str])] = &[
        ("seats.yaml", "text", 2, &["+ hubot", "~ carol", "- bob", "Plan: 1 to add, 1 to remove, 1 to restore. Seats: 6 -> 7; billed this cycle: 7 -> 8 (cap 500)."]),
        ("seats.yaml", "json", 2, &["\"format_version\": 2", "\"action\": \"remove_user\"", "\"reason\": \"restore\""]),
        ("seats.yaml", "markdown", 2, &["<!-- seatkeeper-plan -->", "hubot"]),
        ("seats.yaml", "diff", 2, &["--- seats (now)", "+++ seats (after apply)", "-bob", "+carol", "+hubot"]),
        ("tests/fixtures/cli/in-sync.yaml", "text", 0, &["No changes"]),
        ("tests/fixtures/cli/guarded.yaml", "text", 3, &["Guard", "To go ahead:"]),
    ];
    for (file, format, code, needles) in cases {
        let out = seatkeeper(&[
            "plan",
            file,
            "--live-state",
            live,
            "--format",
            format,
            "--today",
            "2026-11-23",
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{file} {format}: {stdout}{}",
            text(&out.stderr)
        );
        for n in *needles {
            assert!(
                stdout.contains(n),
                "{file} {format}: missing {n:?} in\n{stdout}"
            );
        }
    }
}

#[test]
fn guarded_plan_explains_itself_on_stderr() {
    let out = seatkeeper(&[
        "plan",
        "tests/fixtures/cli/guarded.yaml",
        "--live-state",
        "examples/live-state.json",
        "--today",
        "2026-11-23",
    ]);
    assert_eq!(out.status.code(), Some(3), "guarded plans exit 3");
    let err = text(&out.stderr);
    assert!(err.contains("must not be applied"), "{err}");
    assert!(err.contains("to go ahead"), "{err}");
    assert!(err.contains("max_removals"), "{err}");
}

#[test]
fn plan_rejects_a_live_state_that_is_not_a_seat_listing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("live.json");
    std::fs::write(&bad, r#"{"seats": "nope"}"#).unwrap();
    let out = seatkeeper(&["plan", "seats.yaml", "--live-state", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not a GitHub seat listing"), "{err}");
}

#[test]
fn json_plan_is_byte_for_byte_reproducible() {
    let run = || {
        seatkeeper(&[
            "plan",
            "seats.yaml",
            "--live-state",
            "examples/live-state.json",
            "--format",
            "json",
            "--today",
            "2026-11-23",
        ])
        .stdout
    };
    assert_eq!(run(), run());
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        &["--help"][..],
        &["validate", "--help"],
        &["plan", "--help"],
    ] {
        let out = seatkeeper(sub);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("Usage"));
    }
    let _ = Path::new("");
}
