//! Issue 19 item 2: the example workflows pass the operator's bounds (the
//! controller's flags) to `request`, the pull-request check and `apply`,
//! from repository variables, and refuse a variable that is not a plain
//! word. The `run:` scripts are run with bash as written; the request step
//! runs the real binary against the simulator over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{org_state, sim_options, strings};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workflow(name: &str) -> Value {
    let path = root().join("examples/github-actions").join(name);
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The steps of the workflow's only job.
fn steps(doc: &Value) -> Vec<Value> {
    let jobs = doc["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    jobs.values().next().unwrap()["steps"]
        .as_array()
        .unwrap()
        .clone()
}

fn step(doc: &Value, id: &str) -> Value {
    steps(doc)
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Run `script` with bash -e in `dir`, only `env` set (and PATH).
fn bash(dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).unwrap();
    Command::new("bash")
        .arg("-e")
        .arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The `args` output of the bounds step, or its stderr when it failed.
fn bounds_args(doc: &Value, vars: &[(&str, &str)]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    std::fs::write(&output, "").unwrap();
    let mut env = vec![("GITHUB_OUTPUT", output.to_str().unwrap())];
    env.extend_from_slice(vars);
    let out = bash(
        dir.path(),
        step(doc, "bounds")["run"].as_str().unwrap(),
        &env,
    );
    let written = std::fs::read_to_string(&output).unwrap();
    if out.status.success() {
        Ok(written
            .strip_prefix("args=")
            .unwrap_or_else(|| panic!("{written}"))
            .trim_end()
            .to_string())
    } else {
        assert_eq!(written, "", "a failed step wrote an output");
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

const WORKFLOWS: [&str; 3] = ["seats-request.yml", "seats-pr.yml", "seats-apply.yml"];

#[test]
fn every_workflow_turns_the_repository_variables_into_the_controllers_flags() {
    for name in WORKFLOWS {
        let doc = workflow(name);
        let env = &step(&doc, "bounds")["env"];
        for (var, flag) in [
            ("MAX_SEATS", "SEATKEEPER_MAX_SEATS"),
            ("MAX_REMOVALS", "SEATKEEPER_MAX_REMOVALS"),
            ("ALLOWED_ORGS", "SEATKEEPER_ALLOWED_ORGS"),
            ("ALLOWED_ENTERPRISES", "SEATKEEPER_ALLOWED_ENTERPRISES"),
            ("ALLOWED_ASSIGN_TEAMS", "SEATKEEPER_ALLOWED_ASSIGN_TEAMS"),
        ] {
            assert_eq!(env[var], format!("${{{{ vars.{flag} }}}}"), "{name}: {var}");
        }
        assert_eq!(bounds_args(&doc, &[]), Ok(String::new()), "{name}: unset");
        let vars = [
            ("MAX_SEATS", "500"),
            ("MAX_REMOVALS", "5%"),
            ("ALLOWED_ORGS", " acme  other\n"),
            ("ALLOWED_ASSIGN_TEAMS", "ent:copilot"),
        ];
        assert_eq!(
            bounds_args(&doc, &vars),
            Ok("--max-seats=500 --max-removals=5% --allowed-org=acme --allowed-org=other --allowed-assign-team=ent:copilot".into()),
            "{name}"
        );
        // A value that is not a plain word never reaches a flag.
        for hostile in ["2 --github-url=http://127.0.0.1:9", "$(id)", "a\"b", "x;y"] {
            let got = bounds_args(&doc, &[("MAX_SEATS", hostile)]);
            let err = got.expect_err(hostile);
            assert!(err.contains("--max-seats"), "{name}: {err}");
        }
    }
    // Each workflow hands the flags to seatkeeper.
    let pr = workflow("seats-pr.yml");
    let plan = steps(&pr).into_iter().find(|s| s["id"] == "plan").unwrap();
    assert_eq!(plan["with"]["args"], "${{ steps.bounds.outputs.args }}");
    for (name, id) in [("seats-request.yml", "request"), ("seats-apply.yml", "")] {
        let doc = workflow(name);
        let s = steps(&doc)
            .into_iter()
            .find(|s| s["id"] == id || (id.is_empty() && s["name"] == "Apply"))
            .unwrap();
        assert_eq!(
            s["env"]["BOUNDS"], "${{ steps.bounds.outputs.args }}",
            "{name}"
        );
        let run = s["run"].as_str().unwrap();
        assert!(
            run.contains(r#"read -r -a operator <<<"$BOUNDS""#),
            "{name}"
        );
        assert!(run.contains(r#""${operator[@]}""#), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_step_refuses_at_the_operators_cap() {
    // The request step as written, with the real binary on PATH, against
    // the simulator: at SEATKEEPER_MAX_SEATS the request is refused naming
    // the cap, and nothing is written.
    let mut st = org_state(
        &strings(&["alice", "bob", "nadia"]),
        &strings(&["alice", "bob"]),
    );
    st.put_file(
        "acme/seats",
        "main",
        "seats.yaml",
        "org: acme\nusers:\n  - alice\n  - bob\n",
    );
    let sim = seatkeeper::simulator::Simulator::start(st, sim_options())
        .await
        .unwrap();
    let before = sim.state().repo("acme/seats").unwrap().branches["main"].clone();
    let doc = workflow("seats-request.yml");
    let bounds = bounds_args(&doc, &[("MAX_SEATS", "2"), ("ALLOWED_ORGS", "acme")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    std::fs::write(&output, "").unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_seatkeeper"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = step(&doc, "request")["run"].as_str().unwrap().to_string();
    let file = dir.path().join("step.sh");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("bash")
        .arg("-e")
        .arg(&file)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_REPOSITORY", "acme/seats")
        .env("GITHUB_API_URL", sim.url())
        .env("GITHUB_TOKEN", sim.token())
        .env("AUTHOR", "nadia")
        .env("BOUNDS", &bounds)
        .env("ISSUE_URL", "https://github.com/acme/seats/issues/1")
        .env("ISSUE_BODY", "### Note\n\nplease\n")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "code=1\n",
        "{stdout}"
    );
    assert!(stdout.contains("exceed `--max-seats` (2)"), "{stdout}");
    assert_eq!(
        sim.state().repo("acme/seats").unwrap().branches["main"],
        before,
        "nothing committed"
    );
}
