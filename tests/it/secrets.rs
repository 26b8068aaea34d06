//! Secret hygiene of the GitHub client and the CLI: a token, a GitHub App
//! private key, and the installation tokens and JWTs derived from them never
//! appear in `Debug` output, in any error GitHub's answers produce (401, 403,
//! 404, 422, 5xx, a dropped connection), nor in anything the `seatkeeper`
//! binary prints, logs at `trace` level included. (The controller's
//! `/status` and `/metrics` are checked with the controller.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use secrecy::SecretString;

use seatkeeper::github::args::GitHubArgs;
use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, ThrottleConfig};
use seatkeeper::github::{GitHubError, Scope, SeatApi};
use seatkeeper::simulator::{
    FaultAction, ScriptedFault, SimApp, SimOptions, SimState, Simulator, demo_state, routes,
};

/// The token the simulator accepts.
const TOKEN: &str = "ghp_SeatkeeperS3cretToken0123456789abcdef";
/// A token it refuses.
const WRONG: &str = "ghp_WrongS3cretToken9876543210zyxwvuts";
const APP_ID: u64 = 4242;

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sim")
        .join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).expect("fixture")
}

/// Everything that must never be printed: both tokens, and every base64
/// line of both private keys (a key leaks if any line of it does).
fn secrets() -> Vec<String> {
    let mut out = vec![TOKEN.to_string(), WRONG.to_string()];
    for key in ["app-private-key.pem", "other-private-key.pem"] {
        out.extend(
            fixture(key)
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_string),
        );
    }
    out
}

/// Credentials the simulator saw: installation tokens and App JWTs, from the
/// `Authorization` headers it recorded.
fn seen_credentials(sim: &Simulator) -> Vec<String> {
    let mut out: Vec<String> = sim
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization"))
        .filter_map(|v| v.split_whitespace().nth(1))
        .filter(|v| v.len() >= 16)
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The shortest piece of a secret that counts as a leak: a token printed
/// without its `ghp_` prefix, or cut in half, still leaks.
const WINDOW: usize = 12;

/// The first piece of `text` that is also a [`WINDOW`]-byte piece of a
/// secret, and which secret it came from (by its first bytes).
fn leak(text: &str, secrets: &[String]) -> Option<(String, String)> {
    let mut pieces: std::collections::HashMap<&[u8], &str> = std::collections::HashMap::new();
    for s in secrets {
        assert!(
            s.len() >= WINDOW,
            "a secret shorter than {WINDOW} bytes: {} bytes",
            s.len()
        );
        for w in s.as_bytes().windows(WINDOW) {
            pieces.insert(w, s);
        }
    }
    text.as_bytes().windows(WINDOW).find_map(|w| {
        pieces.get(w).map(|s| {
            (
                String::from_utf8_lossy(w).into_owned(),
                s[..WINDOW.min(s.len())].to_string(),
            )
        })
    })
}

#[track_caller]
fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    assert!(!text.is_empty() || what.contains("stdout"), "{what}: empty");
    if let Some((piece, of)) = leak(text, secrets) {
        panic!("{what} shows `{piece}`, a piece of a secret ({of}…):\n{text}");
    }
    assert!(!text.contains("PRIVATE KEY"), "{what} shows a key:\n{text}");
}

/// The leak check catches a secret in part: without its prefix, its middle,
/// a piece of a key line; and passes text that shares less than a window.
#[test]
fn a_piece_of_a_secret_is_a_leak() {
    let secrets = secrets();
    let key_line = secrets[2].clone();
    for shown in [
        TOKEN.to_string(),
        format!("token={}", &TOKEN[4..]),
        format!("…{}…", &TOKEN[10..10 + WINDOW]),
        format!("Bearer {}", &WRONG[WRONG.len() - WINDOW..]),
        format!("key: {}", &key_line[20..20 + WINDOW]),
    ] {
        assert!(leak(&shown, &secrets).is_some(), "not caught: {shown}");
    }
    for fine in [
        format!(
            "{} and {}",
            &TOKEN[..WINDOW - 1],
            &TOKEN[WINDOW..2 * WINDOW - 1]
        ),
        "Authorization: REDACTED (ghp_…)".to_string(),
    ] {
        assert_eq!(leak(&fine, &secrets), None, "{fine}");
    }
}

fn with_app(mut state: SimState) -> SimState {
    state.app = Some(SimApp {
        app_id: APP_ID,
        client_id: None,
        slug: "seatkeeper".to_string(),
        installation_id: 777,
        public_key_pem: fixture("app-public-key.pem"),
    });
    state
}

async fn start() -> Simulator {
    let opts = SimOptions {
        token: TOKEN.to_string(),
        ..SimOptions::default()
    };
    Simulator::start(with_app(demo_state()), opts)
        .await
        .expect("start simulator")
}

fn config(sim: &Simulator, auth: Auth) -> ClientConfig {
    let mut c = ClientConfig::new(auth).with_base_url(sim.url());
    c.backoff_base = Duration::from_millis(1);
    c.backoff_max = Duration::from_millis(1);
    c.throttle = ThrottleConfig::unlimited();
    c.retry_sleep = Some(std::sync::Arc::new(|_| Box::pin(async {})));
    c
}

fn app(key: &str, installation_id: Option<u64>) -> Auth {
    Auth::App {
        app_id: APP_ID,
        private_key_pem: SecretString::from(fixture(key)),
        installation_id,
    }
}

fn org() -> Scope {
    Scope::Org("acme".to_string())
}

// ---------------------------------------------------------------------------
// Debug output

#[tokio::test]
async fn debug_output_never_shows_credentials() {
    let secrets = secrets();
    let mut shown = Vec::new();
    let auths = [
        Auth::Token(SecretString::from(TOKEN)),
        app("app-private-key.pem", None),
        app("app-private-key.pem", Some(777)),
    ];
    for auth in auths {
        shown.push(("Auth", format!("{auth:?} {auth:#?}")));
        let config = ClientConfig::new(auth).with_base_url("http://127.0.0.1:9");
        shown.push(("ClientConfig", format!("{config:?} {config:#?}")));
        let client = GitHubClient::new(config).await.expect("client");
        shown.push(("GitHubClient", format!("{client:?} {client:#?}")));
    }

    // The CLI's settings: token from the environment, from a file, or an App key file.
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut args = GitHubArgs::for_url("http://127.0.0.1:9");
    shown.push(("GitHubArgs", format!("{args:?}")));
    let config = args
        .config(Some(TOKEN.to_string()))
        .expect("config from env");
    shown.push((
        "GitHubArgs::config (env)",
        format!("{config:?} {config:#?}"),
    ));
    args.token_file = Some(token_file);
    shown.push(("GitHubArgs (token file)", format!("{args:?} {args:#?}")));
    let config = args.config(None).expect("config from token file");
    shown.push(("GitHubArgs::config (file)", format!("{config:?}")));
    args.token_file = None;
    args.app_id = Some(APP_ID);
    args.app_key_file = Some(fixture_path("app-private-key.pem"));
    shown.push(("GitHubArgs (app)", format!("{args:?} {args:#?}")));
    let auth = args.auth(None).expect("app auth");
    shown.push(("GitHubArgs::auth (app)", format!("{auth:?}")));
    let client = GitHubClient::new(args.config(None).expect("app config"))
        .await
        .expect("app client");
    shown.push(("GitHubClient (app)", format!("{client:?}")));

    for (what, text) in &shown {
        assert_clean(what, text, &secrets);
    }
    // Redaction is visible, not silent.
    assert!(shown[0].1.contains("REDACTED"), "{}", shown[0].1);
    assert!(shown[3].1.contains("REDACTED"), "{}", shown[3].1);
}

#[test]
fn configuration_errors_never_quote_credentials() {
    let secrets = secrets();
    let dir = tempfile::tempdir().expect("tempdir");
    // A key file that is not a key (a token pasted into it), an empty token
    // file, a missing key file.
    let not_a_key = dir.path().join("key.pem");
    std::fs::write(&not_a_key, TOKEN).unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "  \n").unwrap();
    let mut errors = Vec::new();

    let mut args = GitHubArgs::for_url("http://127.0.0.1:9");
    args.app_id = Some(APP_ID);
    args.app_key_file = Some(not_a_key);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = args.config(None).expect("reads the file");
    let err = rt.block_on(GitHubClient::new(config)).unwrap_err();
    errors.push(err);

    args.app_key_file = Some(dir.path().join("missing.pem"));
    errors.push(args.config(None).unwrap_err());

    // A token file is read when the client is built (and again on change).
    let mut args = GitHubArgs::for_url("http://127.0.0.1:9");
    args.token_file = Some(empty);
    let config = args.config(None).expect("names the file");
    errors.push(rt.block_on(GitHubClient::new(config)).unwrap_err());

    for e in &errors {
        assert_clean("config error", &format!("{e} {e:?}"), &secrets);
    }
}

// ---------------------------------------------------------------------------
// Errors produced by GitHub's answers

/// Run every client call once; return every error's Display and Debug.
async fn all_errors(client: &GitHubClient) -> Vec<String> {
    let users = vec!["lena".to_string(), "alice".to_string()];
    let teams = vec!["platform".to_string()];
    let mut out = Vec::new();
    let mut push = |r: Result<(), GitHubError>| {
        if let Err(e) = r {
            out.push(format!("{e}\n{e:?}"));
        }
    };
    push(client.billing(&org()).await.map(|_| ()));
    push(client.list_seats(&org()).await.map(|_| ()));
    push(client.add_users(&org(), &users).await.map(|_| ()));
    push(client.remove_users(&org(), &users).await.map(|_| ()));
    push(client.add_teams(&org(), &teams).await.map(|_| ()));
    push(client.remove_teams(&org(), &teams).await.map(|_| ()));
    push(client.membership("acme", "alice").await.map(|_| ()));
    push(client.team_members(&org(), "engineering").await.map(|_| ()));
    push(client.user_exists("octocat").await.map(|_| ()));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_github_never_carry_credentials() {
    let sim = start().await;
    let mut secrets = secrets();
    let mut texts: Vec<(String, String)> = Vec::new();

    // A token GitHub refuses: a real 401 on every route.
    let wrong = GitHubClient::new(config(&sim, Auth::Token(SecretString::from(WRONG))))
        .await
        .unwrap();
    let errors = all_errors(&wrong).await;
    assert_eq!(errors.len(), 9, "{errors:?}");
    assert!(errors.iter().all(|e| e.contains("401")), "{errors:?}");
    texts.extend(errors.into_iter().map(|e| ("wrong token".to_string(), e)));

    // The right token, and every failure status GitHub sends.
    let faults = [
        FaultAction::status(401),
        FaultAction::status(403),
        FaultAction::status(404),
        FaultAction::status(422),
        FaultAction::status(500),
        FaultAction::status(502),
        FaultAction::status(503),
        FaultAction::status_with_retry_after(403, 100_000),
        FaultAction::Drop,
    ];
    for (token_auth, label) in [
        (Auth::Token(SecretString::from(TOKEN)), "token"),
        (app("app-private-key.pem", None), "app"),
        (
            app("app-private-key.pem", Some(777)),
            "app with installation",
        ),
    ] {
        for fault in &faults {
            sim.faults().clear();
            sim.faults().script(ScriptedFault {
                route: "*".into(),
                nth: 1,
                times: u64::MAX / 2,
                action: fault.clone(),
            });
            if label != "token" {
                // Let the App authenticate, so the faults hit the Copilot routes.
                sim.faults().clear();
                for route in [
                    routes::ORG_BILLING,
                    routes::ORG_SEATS,
                    routes::ORG_SELECTED_USERS,
                    routes::ORG_SELECTED_TEAMS,
                    routes::ORG_MEMBER,
                    routes::ORG_TEAM_MEMBERS,
                    routes::USER,
                ] {
                    sim.faults().script(ScriptedFault {
                        route: route.into(),
                        nth: 1,
                        times: u64::MAX / 2,
                        action: fault.clone(),
                    });
                }
            }
            let mut c = config(&sim, token_auth.clone());
            c.max_attempts = 2;
            let client = GitHubClient::new(c).await.unwrap();
            let errors = all_errors(&client).await;
            assert!(!errors.is_empty(), "{label}, {fault:?}: no error at all");
            texts.extend(
                errors
                    .into_iter()
                    .map(|e| (format!("{label}, {fault:?}"), e)),
            );
        }
    }
    sim.faults().clear();

    // The App's wrong key: the JWT is refused.
    for installation in [None, Some(777)] {
        let client = GitHubClient::new(config(&sim, app("other-private-key.pem", installation)))
            .await
            .unwrap();
        let errors = all_errors(&client).await;
        assert!(!errors.is_empty());
        texts.extend(errors.into_iter().map(|e| ("wrong app key".to_string(), e)));
    }

    // Installation tokens and JWTs the client sent are secrets too.
    let minted = seen_credentials(&sim);
    assert!(
        minted.len() >= 3,
        "expected tokens and JWTs, saw {minted:?}"
    );
    secrets.extend(minted);
    assert!(texts.len() > 60, "only {} errors", texts.len());
    for (what, text) in &texts {
        assert_clean(what, text, &secrets);
    }
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------
// The binary

/// A labelled command line and its environment.
type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, &'a str)>);

struct Run {
    label: String,
    code: Option<i32>,
    output: String,
}

fn seatkeeper(label: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seatkeeper"));
    cmd.args(args).current_dir(dir);
    for var in [
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "SEATKEEPER_TOKEN_FILE",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY_FILE",
        "GITHUB_APP_INSTALLATION_ID",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run seatkeeper");
    Run {
        label: format!("seatkeeper {} [{label}]", args.join(" ")),
        code: out.status.code(),
        output: format!(
            "--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_never_prints_credentials() {
    let sim = start().await;
    let url = sim.url();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("seats.yaml"),
        "org: acme\npolicy:\n  max_removals: \"100%\"\nteams: [data-science]\nusers: [alice, bob, carol, lena, octocat]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let app_id = APP_ID.to_string();
    let d = dir.path().to_path_buf();

    let runs = tokio::task::spawn_blocking(move || {
        let good_key = fixture_path("app-private-key.pem");
        let bad_key = fixture_path("other-private-key.pem");
        let (good_key, bad_key) = (good_key.to_str().unwrap(), bad_key.to_str().unwrap());
        let mut runs = Vec::new();
        let gh = ["--github-url", url.as_str()];
        let plan = |extra: &[&str]| -> Vec<String> {
            ["plan", "seats.yaml"]
                .iter()
                .chain(gh.iter())
                .chain(extra.iter())
                .map(|s| s.to_string())
                .collect()
        };
        let app_args = |key: &str| -> Vec<String> {
            plan(&["--app-id", app_id.as_str(), "--app-key-file", key])
        };
        for log in [vec![], vec![("RUST_LOG", "trace")]] {
            let with = |extra: &[(&'static str, &'static str)]| {
                let mut env: Vec<(&str, &str)> = log.clone();
                env.extend_from_slice(extra);
                env
            };
            let cases: Vec<Case> = vec![
                ("good token", plan(&[]), with(&[("GITHUB_TOKEN", TOKEN)])),
                ("bad token", plan(&[]), with(&[("GITHUB_TOKEN", WRONG)])),
                ("token file", plan(&["--token-file", "token"]), with(&[])),
                (
                    "good token, json log",
                    plan(&["--log-format", "json"]),
                    with(&[("GITHUB_TOKEN", TOKEN)]),
                ),
                (
                    "bad token, json log",
                    plan(&["--log-format", "json"]),
                    with(&[("GITHUB_TOKEN", WRONG)]),
                ),
                (
                    "good token, pretty log",
                    plan(&["--log-format", "pretty"]),
                    with(&[("GITHUB_TOKEN", TOKEN)]),
                ),
                ("app, good key", app_args(good_key), with(&[])),
                ("app, wrong key", app_args(bad_key), with(&[])),
                (
                    "validate --online, bad token",
                    [
                        "validate",
                        "seats.yaml",
                        "--online",
                        "--github-url",
                        url.as_str(),
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                    with(&[("GITHUB_TOKEN", WRONG)]),
                ),
                (
                    "apply --confirm, good token",
                    [
                        "apply",
                        "seats.yaml",
                        "--confirm",
                        "--github-url",
                        url.as_str(),
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                    with(&[("GITHUB_TOKEN", TOKEN)]),
                ),
            ];
            for (label, args, env) in cases {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                runs.push(seatkeeper(label, &d, &args, &env));
            }
        }
        runs
    })
    .await
    .expect("runs");

    let mut secrets = secrets();
    secrets.extend(seen_credentials(&sim));
    for run in &runs {
        assert_clean(&run.label, &run.output, &secrets);
    }
    // The runs did what they say, so the check above means something.
    let by = |label: &str| {
        runs.iter()
            .find(|r| r.label.ends_with(&format!("[{label}]")))
            .unwrap()
    };
    for ok in ["good token", "token file", "app, good key"] {
        let r = by(ok);
        assert!(
            matches!(r.code, Some(0 | 2 | 3)),
            "{}: {:?}\n{}",
            r.label,
            r.code,
            r.output
        );
        assert!(
            r.output.contains("lena"),
            "{}: no plan\n{}",
            r.label,
            r.output
        );
    }
    for bad in [
        "bad token",
        "bad token, json log",
        "validate --online, bad token",
    ] {
        let r = by(bad);
        assert_eq!(r.code, Some(1), "{}\n{}", r.label, r.output);
        assert!(r.output.contains("401"), "{}: {}", r.label, r.output);
    }
    let r = by("app, wrong key");
    assert_eq!(r.code, Some(1), "{}\n{}", r.label, r.output);
    assert!(r.output.contains("private key"), "{}", r.output);
    let r = by("apply --confirm, good token");
    assert_eq!(r.code, Some(0), "{}\n{}", r.label, r.output);
    let trace = runs
        .iter()
        .filter(|r| r.output.contains("TRACE") || r.output.contains("\"level\":\"TRACE\""))
        .count();
    assert!(trace > 0, "RUST_LOG=trace produced no trace lines");
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------
// Token files and the API root

/// `TOKEN` with its last character changed: the same length, so a file
/// rewritten with it and its mtime restored looks unchanged.
fn same_length_wrong_token() -> String {
    let mut t = TOKEN.to_string();
    let last = t.pop().unwrap();
    t.push(if last == 'f' { 'e' } else { 'f' });
    t
}

fn statuses(sim: &Simulator, route: &str) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.route == route)
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_rotated_token_file_is_used_without_a_restart() {
    let sim = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let stale = same_length_wrong_token();
    std::fs::write(&file, &stale).unwrap();
    let client = GitHubClient::new(config(&sim, Auth::TokenFile(file.clone())))
        .await
        .expect("client");
    // The stale token is refused, and the file still holds it: no retry.
    let err = client.list_seats(&org()).await.unwrap_err();
    assert!(matches!(err, GitHubError::Unauthorized { .. }), "{err:?}");
    assert_eq!(statuses(&sim, routes::ORG_SEATS), [401]);

    // Rotation the client notices by the file's change: no 401 at all.
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    client
        .list_seats(&org())
        .await
        .expect("the new token is used");
    assert_eq!(statuses(&sim, routes::ORG_SEATS), [401, 200]);

    // Rotation the file's stamp hides (same length, mtime restored, as a
    // Secret swapped through a symlink can look): the 401 makes the client
    // re-read the file, and the request is retried once with the new token.
    drop(client);
    std::fs::write(&file, &stale).unwrap();
    let client = GitHubClient::new(config(&sim, Auth::TokenFile(file.clone())))
        .await
        .unwrap();
    let read_at = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(&file, TOKEN).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(read_at)
        .unwrap();
    let n = sim.requests().len();
    client
        .list_seats(&org())
        .await
        .expect("the 401 re-reads the file and the retry succeeds");
    let after: Vec<u16> = sim.requests()[n..]
        .iter()
        .filter(|r| r.route == routes::ORG_SEATS)
        .map(|r| r.status)
        .collect();
    assert_eq!(after, [401, 200], "one refused attempt, one retry");
}

#[tokio::test]
async fn plain_http_is_refused_for_other_hosts() {
    for (url, ok) in [
        ("http://github.example.com/api/v3", false),
        ("http://10.1.2.3", false),
        ("http://127.0.0.1:9", true),
        ("http://localhost:9", true),
        ("https://github.example.com/api/v3", true),
    ] {
        let c = ClientConfig::new(Auth::Token(SecretString::from(TOKEN))).with_base_url(url);
        match GitHubClient::new(c).await {
            Ok(_) => assert!(ok, "{url} accepted"),
            Err(e) => {
                assert!(!ok, "{url}: {e}");
                let msg = e.to_string();
                assert!(msg.contains("clear text") && msg.contains(url), "{msg}");
                assert_clean("http error", &msg, &secrets());
            }
        }
    }
}
