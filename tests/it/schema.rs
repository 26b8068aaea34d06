//! The JSON Schema of seats.yaml, read by a real validator (the jsonschema
//! crate, draft 2020-12, formats asserted): `seatkeeper schema` prints the
//! committed copy; it accepts every good seats.yaml in the repository and
//! refuses the structurally bad fixtures; on a table of small files it
//! agrees with the parser; and the examples point editors at it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_seatkeeper");
const COMMITTED: &str = "schema/seats.schema.json";

fn committed() -> Value {
    let text = std::fs::read_to_string(COMMITTED).expect("schema/seats.schema.json is committed");
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&committed())
        .expect("the schema compiles")
}

/// The YAML as an editor's language server sees it (YAML 1.2 to JSON:
/// `yes` is a string; an unknown `!tag` is an error), or `None` when the
/// YAML itself does not load.
fn as_json(text: &str) -> Option<Value> {
    let mut opts = serde_saphyr::Options::default();
    opts.strict_booleans = true;
    opts.reject_unsupported_tags = true;
    serde_saphyr::from_str_with_options::<Value>(text, opts).ok()
}

fn schema_accepts(v: &jsonschema::Validator, text: &str) -> Option<bool> {
    as_json(text).map(|j| v.is_valid(&j))
}

fn parser_accepts(text: &str) -> bool {
    seatkeeper::config::SeatsFile::parse("t.yaml", text.as_bytes()).is_ok()
}

#[test]
fn the_printed_schema_is_the_committed_copy() {
    let out = Command::new(BIN).arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(COMMITTED).unwrap();
    assert!(
        out.stdout == committed.as_bytes(),
        "{COMMITTED} is stale: regenerate it with `cargo run -- schema > {COMMITTED}`"
    );
}

/// The schema is itself valid against the 2020-12 meta-schema, and names
/// where this release publishes it.
#[test]
fn the_schema_is_a_valid_2020_12_schema() {
    let schema = committed();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(
        jsonschema::meta::is_valid(&schema),
        "not a valid 2020-12 schema"
    );
    assert_eq!(
        schema["$id"].as_str(),
        Some(seatkeeper::config::schema::url().as_str())
    );
}

/// Every seats.yaml the repository ships or tests as good.
fn good_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for path in ["seats.yaml", "examples/demo/seats.yaml"] {
        files.push((path.to_string(), std::fs::read_to_string(path).unwrap()));
    }
    for path in sorted("tests/fixtures/cli", "yaml") {
        files.push((display(&path), std::fs::read_to_string(&path).unwrap()));
    }
    // The scenarios written from GitHub's docs each carry a seats.yaml.
    for path in sorted("tests/fixtures/docs", "json") {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(text) = doc["seats_yaml"].as_str() {
            files.push((display(&path), text.to_string()));
        }
    }
    files
}

fn sorted(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    paths
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_good_file_is_valid() {
    let v = validator();
    let files = good_files();
    assert!(files.len() >= 20, "only {} good files found", files.len());
    for (path, text) in &files {
        assert!(
            parser_accepts(text),
            "{path}: the parser refuses a good file"
        );
        let json = as_json(text).unwrap_or_else(|| panic!("{path}: YAML does not load"));
        let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: schema refuses it: {errors:?}");
    }
}

/// Bad fixtures the schema cannot refuse, and why: they need the file as a
/// whole, or text YAML loaders normalise away before a schema sees it.
const SCHEMA_CANNOT_SEE: &[(&str, &str)] = &[
    (
        "duplicate-login-case",
        "logins differ only in case; uniqueItems compares exactly",
    ),
    (
        "binary-tag",
        "YAML decodes `!!binary` before a schema sees the value",
    ),
    (
        "merge-key-root",
        "YAML applies `<<:` before a schema sees the mapping",
    ),
];

/// The structurally bad fixtures the issue names, each refused by the
/// schema (not only by the parser).
const MUST_REFUSE: &[&str] = &[
    "unknown-top-key",
    "unknown-policy-key",
    "unknown-user-key",
    "wrong-type-users",
    "wrong-type-max-seats",
    "wrong-type-allow-empty",
    "removals-bad-mode",
    "inactivity-bad-action",
    "org-and-enterprise",
    "missing-org",
    "expires-impossible-date",
    "expires-not-a-date",
    "expires-wrong-format",
    "invalid-login-double-hyphen",
    "invalid-login-leading-hyphen",
    "invalid-login-too-long",
    "invalid-login-underscore",
    "invalid-login-lookalike",
    "invalid-team-slug-space",
    "invalid-team-slug-uppercase",
    "max-removals-garbage",
    "max-removals-negative",
    "max-removals-percent-over",
    "inactivity-days-zero",
    "inactivity-missing-days",
    "inactivity-remind-days-negative",
    "self-serve-bad-keys",
    "users-null",
    "user-entry-without-login",
    "top-level-list",
];

#[test]
fn structurally_bad_fixtures_are_refused() {
    let v = validator();
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for path in sorted("tests/fixtures/bad", "yaml") {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            seatkeeper::config::SeatsFile::parse("bad.yaml", &bytes).is_err(),
            "{name}: the parser accepts a bad fixture"
        );
        // Not UTF-8, or not loadable YAML: an editor flags it before any schema.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match schema_accepts(&v, text) {
            Some(false) => refused.push(name),
            Some(true) => accepted.push(name),
            None => {}
        }
    }
    for name in MUST_REFUSE {
        assert!(
            refused.iter().any(|r| r == name),
            "{name}: the schema does not refuse it (accepted: {accepted:?})"
        );
    }
    eprintln!("refused by the schema: {refused:?}\naccepted by the schema: {accepted:?}");
    for name in &accepted {
        assert!(
            SCHEMA_CANNOT_SEE.iter().any(|(n, _)| n == name),
            "{name}: the parser refuses it but the schema accepts it"
        );
    }
    assert!(refused.len() >= MUST_REFUSE.len());
}

/// Small files on which the schema and the parser must agree.
#[test]
fn schema_and_parser_agree() {
    let v = validator();
    #[rustfmt::skip]
    let cases: &[(&str, bool)] = &[
        ("org: acme\n", true),
        ("enterprise: octo-corp\n", true),
        ("org: acme\nenterprise: octo\n", false),
        ("version: 1\norg: acme\n", true),
        ("version: 2\norg: acme\n", false),
        ("org: ''\n", false),
        ("org: acme\nteams: []\nusers: []\n", true),
        ("org: acme\nusers: [1234]\n", true),
        ("org: acme\nusers: [-bob]\n", false),
        ("org: acme\nusers: [a--b]\n", false),
        ("org: acme\nusers: [{login: bob, expires: 2027-02-28, note: x}]\n", true),
        ("org: acme\nusers: [{login: bob, expires: 2027-02-30}]\n", false),
        ("org: acme\nusers: [{login: bob, note: 5}]\n", false),
        ("org: acme\nusers: [{expires: 2027-02-28}]\n", false),
        ("org: acme\nusers: [bob, bob]\n", false),
        ("org: acme\nteams: [ent:platform]\n", false),
        ("enterprise: octo\nteams: [ent:platform, core]\n", true),
        ("org: acme\nteams: [Platform]\n", false),
        ("org: acme\npolicy: {}\n", true),
        ("org: acme\npolicy: {removals: additive}\n", true),
        ("org: acme\npolicy: {removals: Additive}\n", false),
        ("org: acme\npolicy: {max_removals: 0}\n", true),
        ("org: acme\npolicy: {max_removals: -1}\n", false),
        ("org: acme\npolicy: {max_removals: '5%'}\n", true),
        ("org: acme\npolicy: {max_removals: '100%'}\n", true),
        ("org: acme\npolicy: {max_removals: '101%'}\n", false),
        ("org: acme\npolicy: {max_removals: 'five'}\n", false),
        ("org: acme\npolicy: {max_seats: 0}\n", false),
        ("org: acme\npolicy: {max_seats: 500}\n", true),
        ("org: acme\npolicy: {allow_empty: yes}\n", false),
        ("org: acme\npolicy: {protected: [ceo]}\n", true),
        ("org: acme\npolicy: {eligible_teams: [ent:x]}\n", false),
        ("org: acme\npolicy: {inactivity: {days: 60}}\n", true),
        ("org: acme\npolicy: {inactivity: {action: remove}}\n", false),
        ("org: acme\npolicy: {inactivity: {days: 60, action: delete}}\n", false),
        ("org: acme\npolicy: {inactivity: {days: 3651}}\n", false),
        ("org: acme\npolicy: {self_serve: {mode: pull_request, auto_merge: false}}\n", true),
        ("org: acme\npolicy: {self_serve: {mode: merge}}\n", false),
        ("org: acme\npolicy: {self_serve: {default_expiry_days: 0}}\n", false),
        ("org: acme\npolicy: {assign_via_team: copilot}\n", false),
        ("enterprise: octo\npolicy: {assign_via_team: copilot}\n", true),
        ("org: acme\npolicy: {suspend: true, colour: red}\n", false),
    ];
    for (text, ok) in cases {
        assert_eq!(parser_accepts(text), *ok, "parser on {text:?}");
        assert_eq!(schema_accepts(&v, text), Some(*ok), "schema on {text:?}");
    }
}

/// The repository's seats.yaml, the example and `import` point editors at
/// the schema of this release.
#[test]
fn files_point_editors_at_the_schema() {
    let modeline = seatkeeper::config::schema::modeline();
    for path in ["seats.yaml", "examples/demo/seats.yaml"] {
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().next(), Some(modeline.as_str()), "{path}");
    }
    assert!(modeline.ends_with(&format!("/v{}/{COMMITTED}", env!("CARGO_PKG_VERSION"))));
}
