//! The chart's portal: rendered with a real helm (installed by
//! `bash scripts/helm-check.sh`, as tests/it/helm.rs uses it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn helm() -> PathBuf {
    let tools = std::env::var_os("SEATKEEPER_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/tools"));
    crate::support::tool(
        &Path::new(MANIFEST_DIR).join(tools).join("bin/helm"),
        "`bash scripts/helm-check.sh`",
    )
}

/// `helm template` of the chart with ci/portal-values.yaml and `extra`:
/// the manifests, or the error.
fn render(extra: &[&str]) -> Result<Vec<Value>, String> {
    let chart = Path::new(MANIFEST_DIR).join("helm/seatkeeper");
    let out = Command::new(helm())
        .args(["template", "seatkeeper"])
        .arg(&chart)
        .arg("--values")
        .arg(chart.join("ci/portal-values.yaml"))
        .args(extra)
        .output()
        .expect("helm runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn one<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn the_portal_gets_its_service_ingress_secret_and_only_its_port_opened() {
    let docs = render(&[]).unwrap();
    let deployment = one(&docs, "Deployment", "seatkeeper");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--portal-listen=$(POD_IP):8080"), "{args:?}");
    assert!(args.contains(&"--portal-url=https://copilot.example.com"));
    assert!(args.contains(&"--portal-admin-team=copilot-admins"));
    // The secret reaches the pod as files, never as arguments.
    assert!(!args.iter().any(|a| a.contains("placeholder-client-secret")));
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts.iter().any(|m| m["name"] == "portal-secret"
            && m["mountPath"] == "/var/run/secrets/seatkeeper/portal")
    );
    let secret = one(&docs, "Secret", "seatkeeper-portal");
    assert!(secret["data"]["client-secret"].is_string());
    assert!(secret["data"]["session-key"].is_string());

    let service = one(&docs, "Service", "seatkeeper-portal");
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert_eq!(
        ports.len(),
        1,
        "the portal's Service exposes the portal only"
    );
    assert_eq!(ports[0]["targetPort"], "portal");
    let ingress = one(&docs, "Ingress", "seatkeeper-portal");
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"], "seatkeeper-portal");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "copilot.example.com");

    // The NetworkPolicy lets the ingress controller reach the portal port,
    // and nothing else in (no webhook, no Prometheus in these values).
    let policy = one(&docs, "NetworkPolicy", "seatkeeper");
    let rules = policy["spec"]["ingress"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["ports"][0]["port"], "portal");
    assert_eq!(
        rules[0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "ingress-nginx"
    );
}

#[test]
#[ignore = "needs helm: `bash scripts/helm-check.sh` installs it; CI runs it"]
fn a_portal_without_what_it_needs_fails_the_render_saying_what_to_set() {
    for (set, says) in [
        ("portal.from=null", "set portal.from"),
        ("portal.url=http://copilot.example.com", "portal.url"),
        ("portal.clientId=", "portal.clientId"),
        ("portal.sessionKey=short", "32 characters"),
        ("source.github.repo=", "needs source.github"),
    ] {
        let mut extra = vec!["--set", set];
        if set.starts_with("source.") {
            extra.extend([
                "--set",
                "source.github.owner=",
                "--set",
                "source.seatsYaml=org: acme",
            ]);
        }
        let err = render(&extra).expect_err(set);
        assert!(err.contains(says), "{set}: {err}");
    }
    assert!(render(&["--set", "portal.enabled=false"]).is_ok());
}
