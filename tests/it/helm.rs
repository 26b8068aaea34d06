//! The Helm chart, rendered with the real helm that `scripts/helm-check.sh`
//! installs: every container command line it produces for the chart's
//! `ci/*-values.yaml` files is accepted by the binary's own argument parser
//! (`seatkeeper check-args`), so the chart can never pass a flag the binary
//! does not take; every file a flag names is mounted where the flag says.
//!
//! The Grafana dashboard the chart ships names only metrics a real controller
//! serves: every `seatkeeper_*` name in its queries is scraped from
//! `seatkeeper run` against the simulator.
//!
//! Without helm at the cache path the tests skip with a message, except in CI
//! (`CI` set), where they fail.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The helm installed by scripts/helm-check.sh. The tests that call this are
/// `#[ignore]`d: a plain `cargo test` lists them as ignored, and whoever
/// asks for them (`--include-ignored`, as CI does) gets a failure, never a
/// silent pass, when helm is missing.
fn helm() -> PathBuf {
    let tools = std::env::var_os("SEATKEEPER_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/tools"));
    crate::support::tool(
        &Path::new(MANIFEST_DIR).join(tools).join("bin/helm"),
        "`bash scripts/helm-check.sh`",
    )
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

/// A pod IP, as the kubelet expands `$(POD_IP)` in the container's args.
const POD_IPV4: &str = "10.1.2.3";
const POD_IPV6: &str = "fd00::7";

/// The args as the kubelet hands them to the binary: `$(POD_IP)` expanded.
fn expanded(args: &[String], pod_ip: &str) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("$(POD_IP)", pod_ip))
        .collect()
}

/// `seatkeeper check-args ARGS...` with the container's literal environment
/// (`$(POD_IP)` expanded to an IPv4 address, or IPv6 when bracketed).
fn check_args(args: &[String], env: &[(String, String)]) -> Output {
    let ip = if args.iter().any(|a| a.contains("[$(POD_IP)]")) {
        POD_IPV6
    } else {
        POD_IPV4
    };
    let mut cmd = Command::new(BIN);
    cmd.arg("check-args").args(expanded(args, ip));
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
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn every_ci_values_file_renders_a_command_line_the_binary_accepts() {
    let helm = helm();
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

        for flag in [
            "--token-file",
            "--app-key-file",
            "--webhook-secret-file",
            "--status-token-file",
        ] {
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
        if !flag_value(&args, "--poll-interval").is_empty() {
            seen.push("--poll-interval".into());
        }
        // Both listeners on the pod's IP (the downward API), each on its
        // named container port; never 0.0.0.0.
        let pod_ip = container["env"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["name"] == "POD_IP"))
            .unwrap_or_else(|| panic!("{values}: no POD_IP env"));
        assert_eq!(
            pod_ip["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP",
            "{values}"
        );
        for (flag, port_name) in [("--listen", "http"), ("--probe-listen", "probes")] {
            let port = container["ports"]
                .as_array()
                .and_then(|p| p.iter().find(|p| p["name"] == port_name))
                .and_then(|p| p["containerPort"].as_u64())
                .unwrap_or_else(|| panic!("{values}: no container port {port_name}"));
            let value = flag_value(&args, flag);
            assert!(
                value == [format!("$(POD_IP):{port}")] || value == [format!("[$(POD_IP)]:{port}")],
                "{values}: {flag} {value:?} vs containerPort {port_name} {port}"
            );
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(container[probe]["httpGet"]["port"], "probes", "{values}");
        }
    }
    for expected in [
        "--token-file",
        "--app-key-file",
        "--webhook-secret-file",
        "--status-token-file",
        "--config=github:",
        "--config=PATH",
        "--poll-interval",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "no ci values file renders {expected}: add one, or this test no longer covers it"
        );
    }
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn a_flag_the_binary_does_not_take_is_rejected() {
    let helm = helm();
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
        Some(1),
        "check-args must refuse {args:?} (usage errors exit 1)"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--no-such-flag"),
        "clap's error names the flag: {stderr}"
    );
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_deployment_is_one_locked_down_controller() {
    let helm = helm();
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
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "probes");
    assert_eq!(c["ports"][0]["name"], "http");
    assert_eq!(c["ports"][1]["name"], "probes");
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for env in c["env"].as_array().expect("env") {
        let from = &env["valueFrom"];
        assert!(
            from.is_null() || from["fieldRef"]["fieldPath"] == "status.podIP",
            "secrets are files, not env: {env}"
        );
    }
    let annotations = &spec["template"]["metadata"]["annotations"];
    assert!(annotations["checksum/config"].is_string(), "{annotations}");
    assert!(annotations["checksum/secret"].is_string(), "{annotations}");
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        assert!(find(&docs, kind).is_empty(), "{kind} is off by default");
    }
}

/// (`--set` values, the (port, peer) rules rendered or the render's error)
type PolicyCase<'a> = (Vec<&'a str>, Result<Vec<(&'a str, &'a str)>, &'a str>);

/// (`--set` values, the /status flag rendered or the render's error)
type StatusCase<'a> = (&'a [&'a str], Result<Option<&'a str>, &'a str>);

/// The port a NetworkPolicy ingress rule opens, and who it lets in.
fn policy_rules(policy: &Value) -> Vec<(String, Value)> {
    policy["spec"]["ingress"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    let ports = r["ports"].as_array().expect("each rule names its port");
                    assert_eq!(ports.len(), 1, "{r}");
                    let port = ports[0]["port"].as_str().expect("a named port");
                    (port.to_string(), r["from"].clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_network_policy_is_on_and_lets_each_port_be_reached_only_by_what_needs_it() {
    let helm = helm();
    let token = chart_dir().join("ci/token-values.yaml");
    let token = token.to_str().expect("UTF-8 path");
    let ingress = "networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=ingress";
    let metrics = "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring";
    let sm = "serviceMonitor.enabled=true";
    let wh = ["webhook.enabled=true", "webhook.secret=s"];
    // (--set values, the ports opened and to whom; None: the render fails with this)
    #[rustfmt::skip]
    let cases: Vec<PolicyCase> = vec![
        // Defaults: on, and nothing may come in but the kubelet.
        (vec![], Ok(vec![])),
        (vec![ingress], Ok(vec![("http", "ingress")])),
        (vec![metrics, sm], Ok(vec![("probes", "monitoring")])),
        (vec![ingress, metrics, sm, wh[0], wh[1]], Ok(vec![("http", "ingress"), ("probes", "monitoring")])),
        // What needs a port but is not let in fails the render with what to set.
        (vec![wh[0], wh[1]], Err("set networkPolicy.ingressFrom")),
        (vec![sm], Err("set networkPolicy.metricsFrom")),
        (vec!["networkPolicy.enabled=false", sm, wh[0], wh[1]], Ok(vec![])),
    ];
    for (sets, want) in cases {
        let mut args = vec!["--values", token];
        for s in &sets {
            args.extend(["--set", s]);
        }
        match want {
            Err(message) => {
                let out = render(&helm, &args);
                assert!(!out.status.success(), "{sets:?} rendered");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(message), "{sets:?}: {stderr}");
            }
            Ok(want) => {
                let docs = manifests(&helm, &args);
                let policies = find(&docs, "NetworkPolicy");
                if sets.contains(&"networkPolicy.enabled=false") {
                    assert!(policies.is_empty());
                    continue;
                }
                assert_eq!(policies.len(), 1, "{sets:?}: on by default");
                let policy = policies[0];
                assert_eq!(
                    policy["spec"]["policyTypes"],
                    serde_json::json!(["Ingress", "Egress"])
                );
                let got: Vec<(String, String)> = policy_rules(policy)
                    .into_iter()
                    .map(|(port, from)| {
                        let team = from[0]["namespaceSelector"]["matchLabels"]["team"]
                            .as_str()
                            .unwrap_or_else(|| panic!("{sets:?}: port {port} open to {from}"))
                            .to_string();
                        assert_eq!(from.as_array().map(Vec::len), Some(1), "{from}");
                        (port, team)
                    })
                    .collect();
                let want: Vec<(String, String)> = want
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect();
                assert_eq!(got, want, "{sets:?}");
                // The ServiceMonitor scrapes the port the policy opens to
                // Prometheus: Service port `metrics` -> container port `probes`.
                if sets.contains(&sm) {
                    let monitor = find(&docs, "ServiceMonitor")[0];
                    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
                    let service = find(&docs, "Service")[0];
                    let port = service["spec"]["ports"]
                        .as_array()
                        .and_then(|p| p.iter().find(|p| p["name"] == "metrics"))
                        .expect("a metrics Service port");
                    assert_eq!(port["targetPort"], "probes");
                }
            }
        }
    }
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_status_token_is_a_mounted_secret_and_public_status_is_explicit() {
    let helm = helm();
    let token = chart_dir().join("ci/token-values.yaml");
    let token = token.to_str().expect("UTF-8 path");
    // (--set values, the /status flag rendered, or the render's error)
    #[rustfmt::skip]
    let cases: &[StatusCase] = &[
        (&[], Ok(None)),
        (&["status.token=t0ken"], Ok(Some("--status-token-file=/var/run/secrets/seatkeeper/status/token"))),
        (&["status.existingSecret=st"], Ok(Some("--status-token-file=/var/run/secrets/seatkeeper/status/token"))),
        (&["status.public=true"], Ok(Some("--status-public"))),
        (&["status.public=true", "status.token=t"], Err("status.public serves /status to everyone")),
        (&["status.token=t", "status.existingSecret=st"], Err("choose one")),
        (&["probePort=9090"], Err("port and probePort must differ")),
    ];
    for (sets, want) in cases {
        let mut args = vec!["--values", token];
        for s in *sets {
            args.extend(["--set", s]);
        }
        match want {
            Err(message) => {
                let out = render(&helm, &args);
                assert!(!out.status.success(), "{sets:?} rendered");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(message), "{sets:?}: {stderr}");
            }
            Ok(flag) => {
                let docs = manifests(&helm, &args);
                let deployment = the_deployment(&docs);
                let args = strings(&container(deployment)["args"]);
                let status: Vec<&String> =
                    args.iter().filter(|a| a.starts_with("--status-")).collect();
                assert_eq!(
                    status.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    flag.iter().copied().collect::<Vec<_>>(),
                    "{sets:?}"
                );
                if let Some(file) = flag.and_then(|f| f.strip_prefix("--status-token-file=")) {
                    assert_mounted(&docs, deployment, file, &format!("{sets:?}"));
                }
                let out = check_args(&args, &literal_env(container(deployment)));
                assert!(
                    out.status.success(),
                    "{sets:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn a_seats_yaml_change_rolls_the_pod() {
    let helm = helm();
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
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn missing_credentials_fail_the_render_with_what_to_set() {
    let helm = helm();
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

// ---------------------------------------------------------------------------
// The PrometheusRule

/// The alerts of the PrometheusRule rendered from ci/monitoring-values.yaml
/// and `extra`, by name.
fn alert_rules(helm: &Path, extra: &[&str]) -> std::collections::BTreeMap<String, Value> {
    let values = chart_dir().join("ci/monitoring-values.yaml");
    let mut args = vec!["--values", values.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    let docs = manifests(helm, &args);
    let rules = find(&docs, "PrometheusRule");
    assert_eq!(rules.len(), 1, "one PrometheusRule");
    rules[0]["spec"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| (r["alert"].as_str().expect("an alert").to_string(), r))
        .collect()
}

/// The alert names of the Alerts table in docs/metrics.md.
fn documented_alerts() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("docs/metrics.md")).unwrap();
    let table = doc
        .split("\n## Alerts\n")
        .nth(1)
        .expect("docs/metrics.md has an Alerts section");
    table
        .split("\n## ")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("| `Seatkeeper"))
        .filter_map(|l| l.split('`').next())
        .map(|n| format!("Seatkeeper{n}"))
        .collect()
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_prometheus_rule_ships_the_documented_alerts_and_one_for_an_incomplete_listing() {
    let helm = helm();
    let rules = alert_rules(&helm, &[]);
    // The CI values leave SeatkeeperAbsent out.
    let mut want = documented_alerts();
    assert!(want.remove("SeatkeeperAbsent"), "{want:?}");
    assert_eq!(rules.keys().cloned().collect::<BTreeSet<_>>(), want);
    let metrics = readme_metrics();
    for (name, rule) in &rules {
        let expr = rule["expr"].as_str().expect("expr");
        for m in metric_names(expr) {
            assert!(
                metrics.contains(&m),
                "{name} queries {m}, not in docs/metrics.md"
            );
        }
        assert_eq!(rule["labels"]["team"], "platform", "{name}");
    }

    // An incomplete listing held the removals: warned after
    // listingIncompleteFor (30m by default) without a proven listing.
    let rule = &rules["SeatkeeperListingIncomplete"];
    assert_eq!(
        rule["expr"],
        r#"max by (namespace, org) (seatkeeper_listing_incomplete{namespace="seatkeeper"}) > 0"#
    );
    assert_eq!(rule["for"], "30m");
    assert_eq!(rule["labels"]["severity"], "warning");
    let description = rule["annotations"]["description"].as_str().unwrap();
    for said in [
        "adds only",
        "hold every removal",
        "listing_whole",
        "troubleshooting",
    ] {
        assert!(description.contains(said), "{said}: {description}");
    }

    let rules = alert_rules(&helm, &["--set", "prometheusRule.listingIncompleteFor=2h"]);
    assert_eq!(rules["SeatkeeperListingIncomplete"]["for"], "2h");
    let rules = alert_rules(
        &helm,
        &[
            "--set",
            "prometheusRule.disabled.SeatkeeperListingIncomplete=true",
        ],
    );
    assert!(!rules.contains_key("SeatkeeperListingIncomplete"));
    assert!(rules.contains_key("SeatkeeperGuardTripped"));
}

// ---------------------------------------------------------------------------
// The Grafana dashboard

/// The dashboard ConfigMap rendered with `extra`, if any.
fn dashboard_config_maps(helm: &Path, extra: &[&str]) -> Vec<Value> {
    find(&manifests(helm, extra), "ConfigMap")
        .into_iter()
        .filter(|c| c["data"]["seatkeeper.json"].is_string())
        .cloned()
        .collect()
}

/// Every panel query of a dashboard, rows' nested panels included, as
/// `(panel title, expr)`.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    let title = p["title"].as_str().unwrap_or("?").to_string();
                    out.push((title, expr.to_string()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The `seatkeeper_*` names in a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("seatkeeper_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// A histogram's series name (`_bucket`, `_sum`, `_count`) as its metric.
fn metric_family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// The metric names of the metrics table in docs/metrics.md.
fn readme_metrics() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("docs/metrics.md")).unwrap();
    let table = doc
        .split("\n## Metrics\n")
        .nth(1)
        .expect("docs/metrics.md has a Metrics section");
    let table = table.split("\n## ").next().unwrap();
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|n| n.starts_with("seatkeeper_"))
        .map(str::to_string)
        .collect()
}

fn the_dashboard(helm: &Path) -> (Value, Value) {
    let values = chart_dir().join("ci/grafana-dashboard-values.yaml");
    let maps = dashboard_config_maps(helm, &["--values", values.to_str().expect("UTF-8 path")]);
    assert_eq!(maps.len(), 1, "one dashboard ConfigMap");
    let map = maps[0].clone();
    let dashboard: Value = serde_json::from_str(map["data"]["seatkeeper.json"].as_str().unwrap())
        .expect("the dashboard is JSON");
    (map, dashboard)
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_dashboard_config_map_is_off_by_default_and_labelled_for_the_sidecar() {
    let helm = helm();
    let token = chart_dir().join("ci/token-values.yaml");
    let token = token.to_str().expect("UTF-8 path");
    assert!(dashboard_config_maps(&helm, &["--values", token]).is_empty());

    let (map, dashboard) = the_dashboard(&helm);
    let meta = &map["metadata"];
    assert_eq!(meta["labels"]["grafana_dashboard"], "1");
    assert_eq!(meta["labels"]["team"], "platform");
    assert_eq!(meta["namespace"], "monitoring");
    assert_eq!(meta["annotations"]["grafana_folder"], "Copilot");
    let file = std::fs::read_to_string(chart_dir().join("dashboards/seatkeeper.json")).unwrap();
    let file: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(dashboard, file, "the ConfigMap carries the file unchanged");

    // The sidecar's label, and the namespace, follow the values.
    let maps = dashboard_config_maps(
        &helm,
        &[
            "--values",
            token,
            "--set",
            "grafana.dashboards.enabled=true",
            "--set",
            "grafana.dashboards.label=dashboards",
            "--set",
            "grafana.dashboards.labelValue=seatkeeper",
        ],
    );
    assert_eq!(maps.len(), 1);
    let meta = &maps[0]["metadata"];
    assert_eq!(meta["labels"]["dashboards"], "seatkeeper");
    assert!(meta["labels"]["grafana_dashboard"].is_null());
    assert_eq!(meta["namespace"], "seatkeeper");
    assert!(meta["annotations"].is_null());
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_dashboard_has_an_org_variable_and_every_panel_the_readme_promises() {
    let helm = helm();
    let (_, dashboard) = the_dashboard(&helm);
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(variables.contains(&"org"), "{variables:?}");

    let queries = dashboard_queries(&dashboard);
    let used: BTreeSet<String> = queries.iter().flat_map(|(_, e)| metric_names(e)).collect();
    let documented = readme_metrics();
    assert!(
        documented.len() >= 10,
        "docs/metrics.md metrics: {documented:?}"
    );
    for name in &used {
        assert!(
            documented.contains(metric_family(name)),
            "the dashboard uses {name}, which the metrics table of docs/metrics.md does not list"
        );
    }
    for wanted in [
        "seatkeeper_seats",
        "seatkeeper_desired_seats",
        "seatkeeper_billed_seats",
        "seatkeeper_drift",
        "seatkeeper_changes_total",
        "seatkeeper_reconcile_total",
        "seatkeeper_reconcile_duration_seconds_bucket",
        "seatkeeper_inactive_seats",
        "seatkeeper_github_requests_total",
        "seatkeeper_github_rate_limit_remaining",
        "seatkeeper_desired_state_valid",
        "seatkeeper_last_success_timestamp_seconds",
    ] {
        assert!(used.contains(wanted), "no panel queries {wanted}");
    }
    // Per-org metrics follow the org variable; the GitHub ones have no org.
    for (title, expr) in &queries {
        let per_org = metric_names(expr)
            .iter()
            .any(|n| !n.starts_with("seatkeeper_github_"));
        assert_eq!(
            per_org,
            expr.contains(r#"org=~"$org""#),
            "panel {title:?}: {expr}"
        );
    }
}

/// One `GET path` over HTTP/1.0 on 127.0.0.1; the body of a 200, or `None`.
fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    // An HTTP/1.0 request gets an HTTP/1.0 answer: no chunked body.
    let status = head.split(' ').nth(1)?;
    (status == "200").then(|| body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
async fn every_metric_the_dashboard_queries_is_served_by_a_running_controller() {
    let helm = helm();
    let (_, dashboard) = the_dashboard(&helm);
    let used: BTreeSet<String> = dashboard_queries(&dashboard)
        .iter()
        .flat_map(|(_, e)| metric_names(e))
        .collect();

    // The demo org and file: a team add, user adds and removals, idle seats.
    let sim = seatkeeper::simulator::Simulator::start(
        seatkeeper::simulator::demo_state(),
        seatkeeper::simulator::SimOptions::default(),
    )
    .await
    .expect("simulator");
    let seats = Path::new(MANIFEST_DIR).join("examples/demo/seats.yaml");
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "run"])
        .arg(format!("--config={}", seats.display()))
        .args(["--github-url", &sim.url(), "--listen", "127.0.0.1:0"])
        .args(["--schedule", "0 0 0 1 1 *"])
        .env("GITHUB_TOKEN", sim.token())
        .env("RUST_LOG", "info")
        .env_remove("GITHUB_API_URL")
        .env_remove("SEATKEEPER_TOKEN_FILE")
        .env_remove("GITHUB_APP_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start seatkeeper run");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let listen = serde_json::from_str::<Value>(&line).ok().and_then(|v| {
                (v["message"] == "seatkeeper controller starting")
                    .then(|| v["listen"].as_str().map(str::to_string))
                    .flatten()
            });
            if let Some(addr) = listen {
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the controller listens within 20 s");

    // After the start-up reconcile (and its writes) the set is complete.
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        let body = tokio::task::spawn_blocking({
            let addr = addr.clone();
            move || http_get(&addr, "/metrics")
        })
        .await
        .unwrap();
        if let Some(body) = body.filter(|b| b.contains("seatkeeper_changes_total{")) {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no reconcile with changes within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();

    let samples: BTreeSet<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let histograms: BTreeSet<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" histogram"))
        .collect();
    assert!(used.len() >= 10, "{used:?}");
    for name in &used {
        assert!(
            samples.contains(name.as_str()),
            "the dashboard queries {name}, which /metrics does not serve:\n{metrics}"
        );
        let family = metric_family(name);
        if family != name {
            assert!(
                histograms.contains(family),
                "{name}: {family} is not a histogram"
            );
        }
    }
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn several_replicas_need_leader_election_and_get_rbac_on_one_lease_only() {
    let helm = helm();
    let token = chart_dir().join("ci/token-values.yaml");
    let token = token.to_str().expect("UTF-8 path");
    // More than one replica without leader election: no render.
    let out = render(&helm, &["--values", token, "--set", "replicaCount=2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("leaderElection.enabled=true"), "{stderr}");
    // One replica: no Role, no token, Recreate.
    let docs = manifests(&helm, &["--values", token]);
    assert!(find(&docs, "Role").is_empty() && find(&docs, "RoleBinding").is_empty());
    assert!(
        !strings(&container(the_deployment(&docs))["args"]).contains(&"--leader-elect".to_string())
    );

    let values = chart_dir().join("ci/leader-election-values.yaml");
    let docs = manifests(
        &helm,
        &[
            "--values",
            values.to_str().expect("UTF-8 path"),
            "--set",
            "leaderElection.leaseName=sk-lease",
        ],
    );
    let deployment = the_deployment(&docs);
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], true);
    let args = strings(&container(deployment)["args"]);
    assert!(args.contains(&"--leader-elect".to_string()), "{args:?}");
    assert_eq!(flag_value(&args, "--lease-name"), ["sk-lease"]);
    assert_eq!(flag_value(&args, "--lease-namespace"), ["seatkeeper"]);
    assert_eq!(flag_value(&args, "--lease-duration"), ["35s"]);

    let roles = find(&docs, "Role");
    assert_eq!(roles.len(), 1);
    let rules = roles[0]["rules"].as_array().expect("rules");
    let mut granted = Vec::new();
    for rule in rules {
        assert_eq!(
            rule["apiGroups"],
            serde_json::json!(["coordination.k8s.io"]),
            "{rule}"
        );
        assert_eq!(rule["resources"], serde_json::json!(["leases"]), "{rule}");
        for verb in strings(&rule["verbs"]) {
            granted.push((verb, strings(&rule["resourceNames"])));
        }
    }
    granted.sort();
    // get and update on the one Lease; create cannot be limited by
    // resourceNames (a rule with them would never match a create).
    assert_eq!(
        granted,
        [
            ("create".to_string(), vec![]),
            ("get".to_string(), vec!["sk-lease".to_string()]),
            ("update".to_string(), vec!["sk-lease".to_string()]),
        ]
    );
    let bindings = find(&docs, "RoleBinding");
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0]["roleRef"]["name"], roles[0]["metadata"]["name"]);
    assert_eq!(bindings[0]["roleRef"]["kind"], "Role");
    assert_eq!(
        bindings[0]["subjects"][0]["name"], pod["serviceAccountName"],
        "bound to the pods' service account"
    );
    // The NetworkPolicy lets the pods reach the API server.
    let policy = find(&docs, "NetworkPolicy");
    let egress_ports: Vec<u64> = policy[0]["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["port"].as_u64())
        .collect();
    assert!(egress_ports.contains(&443), "{egress_ports:?}");
    let moved = manifests(
        &helm,
        &[
            "--values",
            values.to_str().expect("UTF-8 path"),
            "--set",
            "networkPolicy.apiServerPort=6443",
        ],
    );
    let policy = find(&moved, "NetworkPolicy");
    assert!(
        policy[0]["spec"]["egress"].to_string().contains("6443"),
        "{}",
        policy[0]["spec"]["egress"]
    );
}
