//! The documentation is checked against the code, so a claim cannot go
//! stale silently:
//!
//! - every `seatkeeper COMMAND` and every `--flag` given to it in README.md
//!   and docs/*.md exists (the real binary's `--help`), and docs/cli.md
//!   documents every command and every flag each `--help` lists;
//! - every `seatkeeper_*` metric named exists in what `src/metrics.rs`
//!   registers, and docs/metrics.md lists every one;
//! - every Helm value named exists in `helm/seatkeeper/values.yaml`, and
//!   docs/deploy.md covers every value;
//! - docs/seats-yaml.md lists exactly the keys of `src/config/spec.rs`;
//! - docs/plan-json.md lists exactly the fields real plans serialize to;
//! - every message docs/troubleshooting.md quotes occurs in `src/`;
//! - every relative link resolves to a file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md and every docs/*.md, as (path relative to the root, text).
fn documents() -> Vec<(String, String)> {
    let mut docs = vec![("README.md".to_string(), read("README.md"))];
    let mut names: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    for n in names {
        let rel = format!("docs/{n}");
        let text = read(&rel);
        docs.push((rel, text));
    }
    docs
}

/// The code of a markdown text: fenced blocks (lines ending in `\` joined
/// with the next), except `text` and `json` output, then inline spans.
fn code_of(md: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut fence: Option<String> = None;
    let mut pending = String::new();
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(lang) = t.strip_prefix("```") {
            fence = match fence {
                None => Some(lang.trim().to_string()),
                Some(_) => None,
            };
            continue;
        }
        match &fence {
            Some(lang) if lang == "text" || lang == "json" => {}
            Some(_) => {
                if let Some(head) = line.strip_suffix('\\') {
                    pending.push_str(head);
                    pending.push(' ');
                } else {
                    pending.push_str(line);
                    code.push(std::mem::take(&mut pending));
                }
            }
            None => code.extend(inline_spans(line)),
        }
    }
    code
}

/// The `code spans` of one line (a double-backtick span counts as one).
fn inline_spans(line: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let open = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(open) {
            Some(end) => {
                spans.push(after[..end].trim().replace("\\|", "|"));
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    spans
}

// ---------------------------------------------------------------------------
// Commands and flags, against the real binary's --help.

struct Cli {
    /// Each command and its long flags (`--confirm`).
    commands: BTreeMap<String, BTreeSet<String>>,
    /// Flags every command takes, and the top level's.
    global: BTreeSet<String>,
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "seatkeeper {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The long flags of a `--help` text: the first `--flag` of every line
/// that starts with `-`.
fn flags_of(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            let i = l.find("--")?;
            let name: String = l[i..]
                .chars()
                .take_while(|c| *c == '-' || c.is_ascii_alphanumeric())
                .collect();
            (name.len() > 2).then_some(name)
        })
        .collect()
}

fn cli() -> Cli {
    let top = help(&[]);
    let listed = top
        .split("Commands:\n")
        .nth(1)
        .expect("--help lists commands")
        .split("\n\n")
        .next()
        .unwrap();
    let names: Vec<String> = listed
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 10, "commands: {names:?}");
    let commands = names
        .iter()
        .map(|n| (n.clone(), flags_of(&help(&[n]))))
        .collect();
    Cli {
        commands,
        global: flags_of(&top),
    }
}

/// One `seatkeeper COMMAND --flag ...` (or `cargo run -- COMMAND ...`) the
/// docs show: the command (`None` for the top level) and its flags.
#[derive(Debug)]
struct Invocation {
    command: Option<String>,
    flags: Vec<String>,
    text: String,
}

/// The invocations in a piece of code. Only where seatkeeper is the
/// program: the first word of a shell command (after `VAR=value`
/// assignments), so `helm install seatkeeper ...` is not one.
fn invocations(code: &str) -> Vec<Invocation> {
    let mut found = Vec::new();
    let spaced = code
        .replace("&&", " ; ")
        .replace("||", " ; ")
        .replace('|', " ; ")
        .replace("$(", " ; ");
    let cut = spaced.split(" #").next().unwrap_or("");
    for segment in cut.split(';') {
        let words: Vec<&str> = segment
            .split_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .collect();
        let Some(program) = words.first() else {
            continue;
        };
        let rest: &[&str] = if *program == "seatkeeper"
            || program.ends_with("/target/release/seatkeeper")
            || program.ends_with("/target/debug/seatkeeper")
        {
            &words[1..]
        } else if *program == "cargo" && words.get(1) == Some(&"run") {
            match words.iter().position(|w| *w == "--") {
                Some(i) => &words[i + 1..],
                None => continue,
            }
        } else {
            continue;
        };
        let (command, args) = match rest.first() {
            Some(w) if w.starts_with('-') => (None, rest),
            Some(w) => (Some(w.to_string()), &rest[1..]),
            None => (None, rest),
        };
        let flags = args
            .iter()
            .take_while(|w| !w.starts_with('>') && !w.starts_with("2>"))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| {
                w.split('=')
                    .next()
                    .unwrap()
                    .trim_end_matches([',', '.', ')', ']', '`'])
                    .to_string()
            })
            .collect();
        found.push(Invocation {
            command,
            flags,
            text: segment.trim().to_string(),
        });
    }
    found
}

/// Is `word` a command name as the docs write one (not a placeholder such
/// as `COMMAND`)?
fn is_command_word(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

#[test]
fn every_command_and_flag_the_docs_name_exists() {
    let cli = cli();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (doc, text) in documents() {
        for code in code_of(&text) {
            for inv in invocations(&code) {
                let known: &BTreeSet<String> = match &inv.command {
                    None => &cli.global,
                    Some(c) if cli.commands.contains_key(c) => &cli.commands[c],
                    Some(c) if is_command_word(c) => {
                        problems.push(format!("{doc}: `{}`: no command `{c}`", inv.text));
                        continue;
                    }
                    Some(_) => continue,
                };
                checked += 1;
                for f in &inv.flags {
                    if !known.contains(f) && !cli.global.contains(f) {
                        problems.push(format!(
                            "{doc}: `{}`: seatkeeper {} has no flag {f}",
                            inv.text,
                            inv.command.as_deref().unwrap_or("")
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked >= 40,
        "only {checked} invocations found in the docs"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Flags of other programs that the docs show on their own in `code`.
/// (`--child` is the bench binary's, in docs/performance.md.)
const OTHER_PROGRAMS_FLAGS: &[&str] = &["--set", "--set-file", "--include-ignored", "--child"];

#[test]
fn every_flag_named_on_its_own_exists() {
    let cli = cli();
    let all: BTreeSet<&String> = cli.commands.values().flatten().chain(&cli.global).collect();
    let mut problems = Vec::new();
    for (doc, text) in documents() {
        for span in code_of(&text) {
            let Some(first) = span.split_whitespace().next() else {
                continue;
            };
            if !first.starts_with("--") || !first[2..].starts_with(|c: char| c.is_ascii_lowercase())
            {
                continue;
            }
            let flag = first.split('=').next().unwrap().to_string();
            if !all.contains(&flag) && !OTHER_PROGRAMS_FLAGS.contains(&flag.as_str()) {
                problems.push(format!("{doc}: `{span}`: no command has {flag}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The text of `## HEADING` up to the next `## `.
fn section<'a>(md: &'a str, heading: &str) -> Option<&'a str> {
    let start = md.find(&format!("\n## {heading}\n"))?;
    let body = &md[start + heading.len() + 5..];
    Some(body.split("\n## ").next().unwrap())
}

fn mentions(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(i, _)| {
        let next = text[i + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn cli_md_documents_every_command_and_every_flag() {
    let cli = cli();
    let doc = read("docs/cli.md");
    let common = [
        section(&doc, "Common flags").expect("cli.md has Common flags"),
        section(&doc, "Operator bounds").expect("cli.md has Operator bounds"),
    ]
    .concat();
    let mut problems = Vec::new();
    for (command, flags) in &cli.commands {
        let Some(own) = section(&doc, &format!("seatkeeper {command}")) else {
            problems.push(format!("no `## seatkeeper {command}` section"));
            continue;
        };
        for f in flags {
            if !mentions(own, f) && !mentions(&common, f) {
                problems.push(format!("seatkeeper {command} {f} is not documented"));
            }
        }
    }
    for heading in doc.lines().filter_map(|l| l.strip_prefix("## seatkeeper ")) {
        if !cli.commands.contains_key(heading) {
            problems.push(format!(
                "cli.md documents `seatkeeper {heading}`, which does not exist"
            ));
        }
    }
    assert!(problems.is_empty(), "docs/cli.md:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Metrics.

/// The metric names `src/metrics.rs` exposes, as scraped after a real
/// reconcile (prometheus-client leaves out families with no series yet).
async fn exposed_metrics() -> BTreeSet<String> {
    let (outcome, stats) = plans::applied_demo().await;
    let m = seatkeeper::metrics::Metrics::new(Arc::new(move || stats.clone()));
    m.set_valid("acme", true);
    m.observe_reconcile("acme", "success", 0.1);
    m.observe_outcome("acme", &outcome);
    m.set_ai_credits_used("acme", 0);
    m.observe_points("acme", 12, 12, 2_500);
    m.set_next_allowed("acme", 0.0);
    let text = m.encode();
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let mut w = l.split_whitespace();
            let (name, kind) = (w.next().unwrap(), w.next().unwrap_or(""));
            match kind {
                "counter" => format!("{name}_total"),
                "info" => format!("{name}_info"),
                _ => name.to_string(),
            }
        })
        .collect();
    assert!(names.len() >= 13, "{text}");
    names
}

/// A series name as its metric (`_bucket` of a histogram is the histogram).
fn family(name: &str) -> &str {
    ["_bucket", "_sum", "_count", "_created"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("seatkeeper_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        // `seatkeeper_*` speaks of them all.
        if name != "seatkeeper_" {
            names.insert(name);
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_docs_name_is_registered_and_metrics_md_lists_them_all() {
    let exposed = exposed_metrics().await;
    let mut problems = Vec::new();
    for (doc, text) in documents() {
        for name in metric_names(&text) {
            if !exposed.contains(family(&name)) {
                problems.push(format!("{doc}: {name} is not a metric seatkeeper exposes"));
            }
        }
    }
    let doc = read("docs/metrics.md");
    let table = section(&doc, "Metrics").expect("docs/metrics.md has a Metrics section");
    let listed: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    for name in exposed.difference(&listed) {
        problems.push(format!("docs/metrics.md does not list {name}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Helm values.

fn values() -> Value {
    serde_saphyr::from_str(&read("helm/seatkeeper/values.yaml")).expect("values.yaml parses")
}

/// Does `path` (`auth.githubApp.appId`) name a value? Keys under an empty
/// mapping (`prometheusRule.disabled.NAME`) are the user's to choose.
fn value_exists(values: &Value, path: &str) -> bool {
    let mut at = values;
    for key in path.split('.') {
        match at {
            Value::Object(m) if m.is_empty() => return true,
            Value::Object(m) => match m.get(key) {
                Some(v) => at = v,
                None => return false,
            },
            _ => return false,
        }
    }
    true
}

/// The leaves of values.yaml: scalars, lists and empty mappings.
fn value_leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                value_leaves(child, &p, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// The Helm value paths a piece of code names: `--set PATH=...`, and
/// dotted spans whose first key is a top-level value.
fn value_paths(code: &str, values: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    let words: Vec<&str> = code.split_whitespace().collect();
    for pair in words.windows(2) {
        if pair[0] == "--set" || pair[0] == "--set-file" {
            paths.push(pair[1].split('=').next().unwrap().to_string());
        }
    }
    let single = code.split('=').next().unwrap_or("");
    let looks_like_path = single.contains('.')
        && single
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && single
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase());
    let top = single.split('.').next().unwrap_or("");
    if looks_like_path && values.get(top).is_some() {
        paths.push(single.to_string());
    }
    paths
}

#[test]
fn every_helm_value_the_docs_name_exists_and_deploy_md_covers_them_all() {
    let values = values();
    let mut problems = Vec::new();
    let mut named = 0;
    for (doc, text) in documents() {
        for code in code_of(&text) {
            for path in value_paths(&code, &values) {
                named += 1;
                if !value_exists(&values, &path) {
                    problems.push(format!("{doc}: `{code}`: values.yaml has no {path}"));
                }
            }
        }
    }
    assert!(named >= 50, "only {named} Helm values named in the docs");
    let doc = read("docs/deploy.md");
    let table = section(&doc, "Helm values").expect("docs/deploy.md has Helm values");
    let rows: Vec<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let mut leaves = Vec::new();
    value_leaves(&values, "", &mut leaves);
    for leaf in &leaves {
        if !rows
            .iter()
            .any(|r| leaf == r || leaf.starts_with(&format!("{r}.")))
        {
            problems.push(format!("docs/deploy.md's Helm values do not cover {leaf}"));
        }
    }
    for r in &rows {
        if !value_exists(&values, r) {
            problems.push(format!(
                "docs/deploy.md lists {r}, which values.yaml does not have"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// seats.yaml keys.

fn spec_keys(
    fields: &[seatkeeper::config::spec::Field],
    prefix: &str,
    out: &mut Vec<(String, Option<String>)>,
) {
    use seatkeeper::config::spec::{DefaultValue, Ty};
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        let default = f.default.map(|d| match d {
            DefaultValue::Bool(b) => b.to_string(),
            DefaultValue::Int(n) => n.to_string(),
            DefaultValue::Str(s) => s.to_string(),
        });
        out.push((path.clone(), default));
        match f.ty {
            Ty::Map { fields, .. } => spec_keys(fields, &format!("{path}."), out),
            Ty::Users(fields) => spec_keys(fields, &format!("{path}[]."), out),
            _ => {}
        }
    }
}

#[test]
fn seats_yaml_md_lists_exactly_the_keys_the_parser_reads_with_their_defaults() {
    let mut keys = Vec::new();
    spec_keys(seatkeeper::config::spec::TOP, "", &mut keys);
    let doc = read("docs/seats-yaml.md");
    let table = section(&doc, "Keys").expect("docs/seats-yaml.md has a Keys section");
    let rows: BTreeMap<String, String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let key = l.split('`').next()?.to_string();
            let default = l.split(" | ").nth(2)?.to_string();
            Some((key, default))
        })
        .collect();
    let mut problems = Vec::new();
    for (key, default) in &keys {
        match rows.get(key) {
            None => problems.push(format!("{key} is not documented")),
            Some(cell) => {
                if let Some(d) = default
                    && !cell.contains(d.as_str())
                {
                    problems.push(format!("{key}: default is {d}, the table says {cell}"));
                }
            }
        }
    }
    let known: BTreeSet<&String> = keys.iter().map(|(k, _)| k).collect();
    for key in rows.keys() {
        if !known.contains(key) {
            problems.push(format!(
                "{key} is documented but seats.yaml has no such key"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/seats-yaml.md:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The plan JSON contract, against real plans.

mod plans {
    use chrono::{Datelike, Utc};
    use seatkeeper::reconcile::{Mode, Options, reconcile};
    use seatkeeper::simulator::{
        SimOptions, SimOrg, SimState, SimTeam, Simulator, demo_state, generated_login,
    };
    use seatkeeper::source::Loaded;

    use crate::support::sim_client as client;

    async fn plan_json(state: SimState, file: &str) -> serde_json::Value {
        plan_json_on(state, file, None).await
    }

    async fn plan_json_on(
        state: SimState,
        file: &str,
        today: Option<chrono::NaiveDate>,
    ) -> serde_json::Value {
        let sim = Simulator::start(state, SimOptions::default())
            .await
            .unwrap();
        let api = client(&sim).await;
        let loaded = Loaded::parse("seats.yaml", file.as_bytes(), None).unwrap();
        let opts = Options {
            mode: Mode::Plan,
            today,
            bounds: seatkeeper::reconcile::Bounds {
                allowed_assign_teams: vec!["copilot".into()],
                ..Default::default()
            },
            ..Options::default()
        };
        let out = reconcile(&api, &loaded, &opts).await.unwrap();
        sim.shutdown().await;
        serde_json::from_str(&seatkeeper::render::json(&out.plan)).unwrap()
    }

    /// The demo file applied to the demo org: the outcome and the client's
    /// request counts, as the controller feeds them to its metrics.
    pub async fn applied_demo() -> (
        seatkeeper::reconcile::Outcome,
        seatkeeper::github::client::ClientStats,
    ) {
        let sim = Simulator::start(demo_state(), SimOptions::default())
            .await
            .unwrap();
        let api = client(&sim).await;
        let loaded = Loaded::parse(
            "seats.yaml",
            seatkeeper::demo::BUILT_IN_SEATS.as_bytes(),
            None,
        )
        .unwrap();
        let opts = Options {
            mode: Mode::Apply,
            ..Options::default()
        };
        let out = reconcile(&api, &loaded, &opts).await.unwrap();
        let stats = api.stats();
        sim.shutdown().await;
        (out, stats)
    }

    /// An enterprise `big` whose organizations `acme` and `beta` grant
    /// seats too, enterprise teams `ent:platform`, `ent:data` and an empty
    /// `ent:empty`, and direct enterprise grants (as tests/it/enterprise.rs).
    fn enterprise() -> SimState {
        let mut st = SimState::new("acme");
        st.enterprise = Some("big".into());
        st.members = vec!["alice".into(), "bob".into()];
        st.teams = vec![SimTeam::new("devs", &["bob"])];
        st.selected_teams.insert("devs".into());
        st.selected_users.insert("alice".into());
        st.orgs = vec![SimOrg {
            login: "beta".into(),
            id: 2001,
            members: vec!["alice".into()],
            selected_users: ["alice".to_string()].into(),
            ..SimOrg::default()
        }];
        st.enterprise_members = ["carol", "dave", "erin", "frank"]
            .map(String::from)
            .to_vec();
        st.enterprise_teams = vec![
            SimTeam::new("ent:platform", &["carol", "dave", "alice"]),
            SimTeam::new("ent:data", &["frank"]),
            SimTeam::new("ent:empty", &[]),
        ];
        st.selected_enterprise_teams.insert("ent:platform".into());
        st.enterprise_selected_users = ["erin".to_string(), "alice".to_string()].into();
        st.normalize(Utc::now());
        st
    }

    fn dedicated() -> SimState {
        let mut st = SimState::new("unused");
        st.enterprise = Some("cop".into());
        st.enterprise_members = (0..5).map(generated_login).collect();
        st.enterprise_teams = vec![SimTeam::new("ent:copilot", &["user000000"])];
        st.normalize(Utc::now());
        st
    }

    /// Real plans that between them hold every field of the contract.
    pub async fn samples() -> Vec<(&'static str, serde_json::Value)> {
        let demo = seatkeeper::demo::BUILT_IN_SEATS;
        let capped = demo
            .replace("max_removals: 10", "max_removals: 1")
            .replace("max_seats: 60", "max_seats: 22");
        assert_ne!(capped, demo, "the demo file sets both caps");
        let typo = demo.replace("users:\n", "users:\n  - dmitrii\n");
        let mut dedicated_file =
            String::from("enterprise: cop\npolicy:\n  assign_via_team: copilot\nusers:\n");
        for i in 1..3 {
            dedicated_file.push_str(&format!("  - {}\n", generated_login(i)));
        }
        vec![
            ("the demo org", plan_json(demo_state(), demo).await),
            (
                "idle removals waiting for the end of the cycle",
                plan_json_on(
                    demo_state(),
                    &demo.replace("action: report", "action: remove"),
                    // The 10th: before the last days of any month.
                    Utc::now().date_naive().with_day(10),
                )
                .await,
            ),
            ("over both caps", plan_json(demo_state(), &capped).await),
            (
                "an empty file",
                plan_json(demo_state(), "org: acme\n").await,
            ),
            ("a typo of a holder", plan_json(demo_state(), &typo).await),
            (
                "an enterprise with organization grants",
                plan_json(
                    enterprise(),
                    "enterprise: big\nteams: [data, empty]\nusers: [carol]\n",
                )
                .await,
            ),
            (
                "a Copilot-dedicated enterprise",
                plan_json(dedicated(), &dedicated_file).await,
            ),
            ("a listing not proven whole, with a seat cap", {
                let (out, sim) = crate::adds_only::run(
                    crate::adds_only::state(),
                    "org: acme\npolicy:\n  max_seats: 50\nusers: [alice, erin, frank]\n",
                    crate::adds_only::Break::FailingPage,
                    seatkeeper::reconcile::Mode::Plan,
                )
                .await;
                sim.shutdown().await;
                serde_json::from_str(&seatkeeper::render::json(&out.plan)).unwrap()
            }),
            (
                "budgets over the removal cap",
                plan_json(
                    crate::budgets::org_state(),
                    &crate::budgets::FILE
                        .replace("budgets:", "policy:\n  max_removals: 0\nbudgets:"),
                )
                .await,
            ),
            (
                "budgets managed additively",
                plan_json(
                    crate::budgets::org_state(),
                    &crate::budgets::FILE.replace("budgets:", "budgets:\n  manage: additive"),
                )
                .await,
            ),
            ("budgets the token may not read", {
                let mut st = crate::budgets::org_state();
                st.budgets.refuse = Some(403);
                plan_json(st, crate::budgets::FILE).await
            }),
        ]
    }
}

/// Every field path in a JSON value: `a`, `a.b`, `a[].c`.
fn field_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                field_paths(child, &p, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                if item.is_object() {
                    field_paths(item, &format!("{prefix}[]"), out);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_json_md_documents_exactly_the_fields_real_plans_have() {
    let mut emitted = BTreeSet::new();
    for (what, json) in plans::samples().await {
        assert_eq!(
            json["format_version"],
            seatkeeper::render::JSON_FORMAT_VERSION,
            "{what}"
        );
        field_paths(&json, "", &mut emitted);
    }
    let doc = read("docs/plan-json.md");
    assert!(
        doc.contains(&format!(
            "**`format_version` {}**",
            seatkeeper::render::JSON_FORMAT_VERSION
        )),
        "docs/plan-json.md documents another format_version"
    );
    let table = section(&doc, "Fields").expect("docs/plan-json.md has a Fields section");
    let documented: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let undocumented: Vec<&String> = emitted.difference(&documented).collect();
    let never_emitted: Vec<&String> = documented.difference(&emitted).collect();
    assert!(
        undocumented.is_empty() && never_emitted.is_empty(),
        "docs/plan-json.md and the serializer disagree:\n  emitted, not documented: {undocumented:?}\n  documented, emitted by no sample plan: {never_emitted:?}"
    );
}

// ---------------------------------------------------------------------------
// Troubleshooting messages and links.

fn sources(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn every_message_troubleshooting_md_quotes_occurs_in_the_code() {
    let mut code = String::new();
    sources(&root().join("src"), &mut code);
    let doc = read("docs/troubleshooting.md");
    let mut quoted = 0;
    let mut problems = Vec::new();
    for heading in doc.lines().filter_map(|l| l.strip_prefix("### ")) {
        // Only headings that are one code span quote a message.
        let spans = inline_spans(heading);
        let [span] = spans.as_slice() else { continue };
        let bare = heading.trim().trim_matches('`').trim();
        if bare != span {
            continue;
        }
        quoted += 1;
        if !code.contains(span.as_str()) {
            problems.push(format!("`{span}` occurs nowhere in src/"));
        }
    }
    assert!(quoted >= 25, "only {quoted} quoted messages");
    assert!(
        problems.is_empty(),
        "docs/troubleshooting.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_relative_link_resolves() {
    let mut docs = documents();
    for extra in ["CHANGELOG.md", "SECURITY.md"] {
        docs.push((extra.to_string(), read(extra)));
    }
    let mut problems = Vec::new();
    let mut links = 0;
    for (doc, text) in &docs {
        let dir = root().join(doc).parent().unwrap().to_path_buf();
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let file = target.split('#').next().unwrap();
            if !dir.join(file).exists() {
                problems.push(format!("{doc}: ({target}) does not resolve"));
            }
        }
    }
    assert!(links >= 30, "only {links} relative links");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_is_a_guide_of_at_most_300_lines() {
    let n = read("README.md").lines().count();
    assert!(
        n <= 300,
        "README.md has {n} lines; move reference material to docs/"
    );
}

/// Top-level folders whose files the docs name as `path/to/file`.
const REPO_DIRS: &[&str] = &[
    "src/",
    "tests/",
    "benches/",
    "scripts/",
    "examples/",
    "helm/",
    "fuzz/",
    "docs/",
    "action/",
    "schema/",
    ".ci/",
    ".github/",
];

#[test]
fn every_repository_path_the_docs_name_exists() {
    let mut problems = Vec::new();
    let mut named = 0;
    for (doc, text) in documents() {
        for code in code_of(&text) {
            for word in code.split_whitespace() {
                let word = word.trim_matches(|c: char| "\"'(),.:;`".contains(c));
                if !REPO_DIRS.iter().any(|d| word.starts_with(d)) {
                    continue;
                }
                // Up to the first placeholder or glob (`fuzz/corpus/TARGET/`,
                // `helm/seatkeeper/ci/*-values.yaml`).
                let fixed: Vec<&str> = word
                    .split('/')
                    .take_while(|s| {
                        let placeholder = s.contains(['*', '{', '$'])
                            || (s.chars().any(|c| c.is_ascii_uppercase())
                                && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
                        !placeholder
                    })
                    .collect();
                let path = fixed.join("/");
                named += 1;
                if !root().join(&path).exists() {
                    problems.push(format!("{doc}: `{word}`: no {path} in the repository"));
                }
            }
        }
    }
    assert!(named >= 30, "only {named} repository paths named");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
