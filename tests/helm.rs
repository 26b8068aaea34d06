//! The Helm chart, rendered with the real helm that `scripts/helm-check.sh`
//! installs: every container command line it produces for the chart's
//! `ci/*-values.yaml` files is accepted by the binary's own argument parser
//! (`seatkeeper check-args`), so the chart can never pass a flag the binary
//! does not take; every file a flag names is mounted where the flag says.
//!
//! Without helm at the cache path the tests skip with a message, except in CI
//! (`CI` set), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_seatkeeper");

/// Environment variables the binary's parser reads (clap `env = ...`): cleared
/// so that only the rendered manifest decides what is parsed.
const PARSER_ENV: &[&str] = &[
    "GITHUB_API_URL",
    "SEATKEEPER_TOKEN_FILE",
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY_FILE",
    "GITHUB_APP_INSTALLATION_ID",
    "SEATKEEPER_WEBHOOK_SECRET_FILE",
];

fn chart_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("helm/seatkeeper")
}

/// The helm installed by scripts/helm-check.sh, or `None` (skip) outside CI.
fn helm() -> Option<PathBuf> {
    let tools = std::env::var_os("SEATKEEPER_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/tools"));
    let helm = Path::new(MANIFEST_DIR).join(tools).join("bin/helm");
    if helm.is_file() {
        return Some(helm);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "helm is not installed at {}: CI must run `bash scripts/helm-check.sh` before the tests",
        helm.display()
    );
    eprintln!(
        "SKIPPED: helm is not installed at {}; run `bash scripts/helm-check.sh` to install it",
        helm.display()
    );
    None
}

fn ci_values_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("ci"))
        .expect("helm/seatkeeper/ci exists")
        .map(|e| e.expect("readable ci dir").path())
        .filter(|p| p.to_string_lossy().ends_with("-values.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no helm/seatkeeper/ci/*-values.yaml");
    files
}

/// `helm template` with extra arguments (`-f FILE`, `--set K=V`).
fn render(helm: &Path, extra: &[&str]) -> Output {
    Command::new(helm)
        .args(["template", "seatkeeper"])
        .arg(chart_dir())
        .args(["--namespace", "seatkeeper"])
        .args(extra)
        .output()
        .expect("helm runs")
}

/// Every rendered manifest, parsed.
fn manifests(helm: &Path, extra: &[&str]) -> Vec<Value> {
    let out = render(helm, extra);
    assert!(
        out.status.success(),
        "helm template {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm prints UTF-8");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("helm prints valid YAML");
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn the_deployment(docs: &[Value]) -> &Value {
    let deployments = find(docs, "Deployment");
    assert_eq!(deployments.len(), 1, "exactly one Deployment");
    deployments[0]
}

fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    containers
        .iter()
        .find(|c| c["name"] == "seatkeeper")
        .expect("a container named seatkeeper")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `seatkeeper check-args ARGS...` with the container's literal environment.
fn check_args(args: &[String], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("check-args").args(args);
    for name in PARSER_ENV {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("seatkeeper runs")
}

fn literal_env(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e["name"].as_str()?.to_string(),
                        e["value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    let prefix = format!("{flag}=");
    args.iter()
        .filter_map(|a| a.strip_prefix(&prefix))
        .collect()
}

/// A file a flag names must be mounted there: a volume mount at its directory
/// whose Secret/ConfigMap puts a key at its file name.
fn assert_mounted(docs: &[Value], deployment: &Value, file: &str, what: &str) {
    let path = Path::new(file);
    let dir = path.parent().and_then(Path::to_str).expect("a directory");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name");
    let pod = &deployment["spec"]["template"]["spec"];
    let mount = container(deployment)["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["mountPath"] == dir))
        .unwrap_or_else(|| panic!("{what}: nothing is mounted at {dir}"));
    let volume = pod["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
        .unwrap_or_else(|| panic!("{what}: no volume {}", mount["name"]));
    let source = if volume["secret"].is_object() {
        &volume["secret"]
    } else {
        &volume["configMap"]
    };
    assert!(
        source.is_object(),
        "{what}: volume {volume} is neither a Secret nor a ConfigMap"
    );
    if let Some(items) = source["items"].as_array() {
        assert!(
            items.iter().any(|i| i["path"] == name),
            "{what}: volume {} has no item at {name}",
            mount["name"]
        );
    } else {
        let config_map = find(docs, "ConfigMap")
            .into_iter()
            .find(|c| c["metadata"]["name"] == source["name"])
            .unwrap_or_else(|| panic!("{what}: ConfigMap {} is not rendered", source["name"]));
        assert!(
            config_map["data"][name].is_string(),
            "{what}: ConfigMap {} has no key {name}",
            source["name"]
        );
    }
}

#[test]
fn every_ci_values_file_renders_a_command_line_the_binary_accepts() {
    let Some(helm) = helm() else { return };
    let mut seen = Vec::new();
    for values in ci_values_files() {
        let values = values.to_str().expect("UTF-8 path");
        let docs = manifests(&helm, &["--values", values]);
        let deployment = the_deployment(&docs);
        let container = container(deployment);
        let args = strings(&container["args"]);
        assert!(
            args.iter().any(|a| a == "run"),
            "{values}: no `run` in {args:?}"
        );

        let out = check_args(&args, &literal_env(container));
        assert!(
            out.status.success(),
            "{values}: the binary rejects the chart's arguments {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );

        for flag in ["--token-file", "--app-key-file", "--webhook-secret-file"] {
            for file in flag_value(&args, flag) {
                assert_mounted(&docs, deployment, file, &format!("{values}: {flag}"));
                seen.push(flag.to_string());
            }
        }
        for source in flag_value(&args, "--config") {
            if source.starts_with("github:") {
                seen.push("--config=github:".into());
            } else {
                assert_mounted(&docs, deployment, source, &format!("{values}: --config"));
                seen.push("--config=PATH".into());
            }
        }
        let listen = flag_value(&args, "--listen");
        let port = container["ports"][0]["containerPort"]
            .as_u64()
            .expect("a port");
        assert_eq!(
            listen,
            [format!("0.0.0.0:{port}")],
            "{values}: --listen vs containerPort"
        );
    }
    for expected in [
        "--token-file",
        "--app-key-file",
        "--webhook-secret-file",
        "--config=github:",
        "--config=PATH",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "no ci values file renders {expected}: add one, or this test no longer covers it"
        );
    }
}

#[test]
fn a_flag_the_binary_does_not_take_is_rejected() {
    let Some(helm) = helm() else { return };
    let token = chart_dir().join("ci/token-values.yaml");
    let docs = manifests(
        &helm,
        &[
            "--values",
            token.to_str().expect("UTF-8 path"),
            "--set",
            "extraArgs={--no-such-flag=1}",
        ],
    );
    let container = container(the_deployment(&docs));
    let args = strings(&container["args"]);
    assert!(args.iter().any(|a| a == "--no-such-flag=1"), "{args:?}");
    let out = check_args(&args, &literal_env(container));
    assert_eq!(
        out.status.code(),
        Some(2),
        "check-args must refuse {args:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--no-such-flag"),
        "clap's error names the flag: {stderr}"
    );
}

#[test]
fn the_deployment_is_one_locked_down_controller() {
    let Some(helm) = helm() else { return };
    let webhook = chart_dir().join("ci/webhook-values.yaml");
    let docs = manifests(&helm, &["--values", webhook.to_str().expect("UTF-8 path")]);
    let deployment = the_deployment(&docs);
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["strategy"]["type"], "Recreate");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = container(deployment);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["ports"][0]["name"], "http");
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for env in c["env"].as_array().expect("env") {
        assert!(
            env["valueFrom"].is_null(),
            "secrets are files, not env: {env}"
        );
    }
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert!(annotations["checksum/config"].is_string(), "{annotations}");
    assert!(annotations["checksum/secret"].is_string(), "{annotations}");
    for kind in ["ServiceMonitor", "PrometheusRule", "NetworkPolicy"] {
        assert!(find(&docs, kind).is_empty(), "{kind} is off by default");
    }
}

#[test]
fn a_seats_yaml_change_rolls_the_pod() {
    let Some(helm) = helm() else { return };
    let token = chart_dir().join("ci/token-values.yaml");
    let token = token.to_str().expect("UTF-8 path");
    let checksum = |extra: &[&str]| {
        let mut args = vec!["--values", token];
        args.extend_from_slice(extra);
        let docs = manifests(&helm, &args);
        the_deployment(&docs)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .clone()
    };
    assert_ne!(
        checksum(&[]),
        checksum(&["--set", "source.seatsYaml=org: other"])
    );
}

#[test]
fn missing_credentials_fail_the_render_with_what_to_set() {
    let Some(helm) = helm() else { return };
    let out = render(&helm, &["--set", "source.seatsYaml=org: acme"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no GitHub credentials"), "{stderr}");
    assert!(stderr.contains("auth.existingSecret"), "{stderr}");
}

#[test]
fn chart_app_version_is_the_crate_version() {
    let chart = std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml");
    let app_version = chart
        .lines()
        .find_map(|l| l.strip_prefix("appVersion:"))
        .map(|v| v.trim().trim_matches('"'))
        .expect("Chart.yaml has appVersion");
    assert_eq!(
        app_version,
        env!("CARGO_PKG_VERSION"),
        "bump appVersion in Chart.yaml"
    );
}
