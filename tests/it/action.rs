//! The GitHub Action (`action.yml` and its step scripts in `action/`), run
//! locally with the environment GitHub Actions gives a step: `GITHUB_OUTPUT`,
//! `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`, `GITHUB_EVENT_PATH` (a pull_request
//! event), `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `RUNNER_*`.
//!
//! - install: a local release server with a tarball of the test-built binary;
//!   it is verified by a checksum pinned in a copy of the action's
//!   `checksums.txt`, or by a stand-in `gh attestation verify`; a tampered
//!   binary, a 404, a failed or impossible verification install nothing and
//!   never fall back; `cargo install` (a stand-in cargo records its
//!   arguments) only when asked for;
//! - workflow commands: a hostile seats.yaml, GitHub answer or issue text
//!   echoed by the scripts and workflows cannot issue one (`::set-output`,
//!   `::add-mask`, `::error`, `##[...]`): read as the runner reads them;
//! - plan and validate: the real `seatkeeper simulator` process;
//! - the PR comment: a recording server, with a marked comment by someone
//!   else that must never be updated.
//!
//! Every server listens on 127.0.0.1; every wait is bounded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::text;

const BIN: &str = env!("CARGO_BIN_EXE_seatkeeper");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MARKER: &str = "<!-- seatkeeper-plan -->";
const REPO: &str = "acme/copilot-seats";
const PR: u64 = 7;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// The Actions environment of one step

/// A runner's per-job files: RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
/// GITHUB_PATH and a pull_request event.
struct Runner {
    dir: tempfile::TempDir,
    /// Extra variables for every script run, after the defaults.
    env: Vec<(String, String)>,
    /// Directories put before PATH (stand-in commands).
    bin_dirs: Vec<PathBuf>,
    /// Where the scripts run from: the repository's `action/`, or a copy
    /// with its own `checksums.txt`.
    action_dir: PathBuf,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["temp", "home", "workspace"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for file in ["output", "summary", "path"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        let event = json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {"number": PR, "base": {"ref": "main"}, "head": {"ref": "add-lena"}},
            "repository": {"full_name": REPO, "default_branch": "main"}
        });
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        Runner {
            dir,
            env: Vec::new(),
            bin_dirs: Vec::new(),
            action_dir: root().join("action"),
        }
    }

    /// Runs the scripts from a copy of `action/` whose `checksums.txt` is
    /// `checksums`: the action version pinning those digests.
    fn pin_checksums(&mut self, checksums: &str) -> &mut Runner {
        let copy = self.path("action");
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(root().join("action")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        std::fs::write(copy.join("checksums.txt"), checksums).unwrap();
        self.action_dir = copy;
        self
    }

    /// Puts `dir` (stand-in commands) first on PATH.
    fn prepend_path(&mut self, dir: &Path) -> &mut Runner {
        self.bin_dirs.insert(0, dir.to_path_buf());
        self
    }

    /// PATH: the stand-ins, then the test's PATH without any directory that
    /// holds a `gh`, so whether gh exists is the test's choice.
    fn path_var(&self) -> String {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let dirs = self
            .bin_dirs
            .iter()
            .cloned()
            .chain(std::env::split_paths(&inherited).filter(|d| !d.join("gh").exists()));
        std::env::join_paths(dirs).unwrap().into_string().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set(&mut self, k: &str, v: &str) -> &mut Runner {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    /// `bash action/NAME.sh` in the workspace with a clean environment: the
    /// variables Actions sets, then `self.env`, then `extra`.
    fn run(&self, name: &str, extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(self.action_dir.join(name))
            .current_dir(self.path("workspace"))
            .env_clear()
            .env("PATH", self.path_var())
            .env("HOME", self.path("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"))
            .env("GITHUB_PATH", self.path("path"))
            .env("GITHUB_EVENT_PATH", self.path("event.json"))
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_REPOSITORY", REPO)
            // Nothing listens here: a script that talks to the wrong API fails.
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .env("GITHUB_WORKSPACE", self.path("workspace"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.path("temp"))
            .stdin(Stdio::null());
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.envs(extra.iter().copied());
        cmd.output().expect("bash runs")
    }

    /// `GITHUB_OUTPUT` as name -> value (the last write wins).
    fn outputs(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.path("output"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary")).unwrap()
    }
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

// ---------------------------------------------------------------------------
// A small HTTP server on 127.0.0.1 that records every request

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    /// Path and query.
    uri: String,
    authorization: Option<String>,
    body: String,
}

type Handler = dyn Fn(&Recorded) -> Response + Send + Sync;

struct Server {
    url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serve every request with `handler` on its own runtime and thread.
    fn start(handler: impl Fn(&Recorded) -> Response + Send + Sync + 'static) -> Server {
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let sink = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let handler = handler.clone();
                        let sink = sink.clone();
                        async move {
                            let r = Recorded {
                                method: method.to_string(),
                                uri: uri.to_string(),
                                authorization: headers
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string),
                                body: String::from_utf8_lossy(&body).into_owned(),
                            };
                            sink.lock().unwrap().push(r.clone());
                            handler(&r)
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr: std::net::SocketAddr = addr.recv_timeout(Duration::from_secs(10)).unwrap();
        Server {
            url: format!("http://{addr}"),
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Install

/// The release asset name for a target.
fn asset(target: &str) -> String {
    format!("seatkeeper-v{VERSION}-{target}")
}

/// `seatkeeper-v{VERSION}-x86_64-unknown-linux-musl.tar.gz` holding the
/// test-built binary at `{name}/seatkeeper`, as release.yml packs it, and its
/// SHA-256 (hex). Built once: packing 200 MB takes seconds.
fn release_tarball() -> &'static (Vec<u8>, String) {
    static TARBALL: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let name = asset("x86_64-unknown-linux-musl");
        let tarball = dir.path().join("release.tar.gz");
        let bin = Path::new(BIN);
        // --transform puts the binary under {name}/ without copying it.
        let out = Command::new("bash")
            .arg("-c")
            .arg(r#"set -euo pipefail; tar -C "$1" -cf - --transform "s,^,$2/," seatkeeper | gzip -1 > "$3""#)
            .arg("pack")
            .arg(bin.parent().unwrap())
            .arg(&name)
            .arg(&tarball)
            .output()
            .unwrap();
        assert!(out.status.success(), "tar failed: {}", describe(&out));
        let bytes = std::fs::read(&tarball).unwrap();
        let sha = format!("{:x}", Sha256::digest(&bytes));
        (bytes, sha)
    })
}

/// Serves `files` (path -> bytes) and answers 404 for anything else.
fn release_server(files: BTreeMap<String, Vec<u8>>) -> Server {
    let files: BTreeMap<String, Bytes> = files
        .into_iter()
        .map(|(k, v)| (k, Bytes::from(v)))
        .collect();
    Server::start(move |r| match files.get(&r.uri) {
        Some(b) if r.method == "GET" => (StatusCode::OK, b.clone()).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
}

/// A stand-in `cargo` on PATH: records its arguments and "builds" by copying
/// the test-built binary into `--root DIR`/bin.
fn fake_cargo(runner: &mut Runner) -> PathBuf {
    let dir = runner.path("fake-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let log = runner.path("cargo-args");
    let script = format!(
        r#"#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$@" > '{log}'
root=
while [ $# -gt 0 ]; do
    if [ "$1" = --root ]; then root=$2; fi
    shift
done
mkdir -p "$root/bin"
cp '{bin}' "$root/bin/seatkeeper"
"#,
        log = log.display(),
        bin = BIN
    );
    let cargo = dir.join("cargo");
    std::fs::write(&cargo, script).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&cargo)
        .status()
        .unwrap();
    runner.prepend_path(&dir);
    log
}

/// A stand-in `gh` on PATH: records its arguments (one a line), prints
/// `say` on stdout and stderr (what gh quotes from an attestation), and exits
/// `code`.
fn fake_gh(runner: &mut Runner, say: &str, code: i32) -> PathBuf {
    let dir = runner.path("fake-gh");
    std::fs::create_dir_all(&dir).unwrap();
    let log = runner.path("gh-args");
    let said = runner.path("gh-says");
    std::fs::write(&said, say).unwrap();
    let script = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{log}'\nprintf '%s\\n' \"${{GH_TOKEN-unset}}\" > '{log}.token'\ncat '{said}'\ncat '{said}' >&2\nexit {code}\n",
        log = log.display(),
        said = said.display(),
    );
    let gh = dir.join("gh");
    std::fs::write(&gh, script).unwrap();
    Command::new("chmod").arg("+x").arg(&gh).status().unwrap();
    runner.prepend_path(&dir);
    log
}

/// `checksums.txt` pinning `sha` for the x86_64 asset, as a release adds it.
fn pinned(sha: &str) -> String {
    format!(
        "# pinned by this action version\n{sha}  {}.tar.gz\n",
        asset("x86_64-unknown-linux-musl")
    )
}

fn installed_bin(runner: &Runner) -> PathBuf {
    runner
        .path("temp")
        .join(format!("seatkeeper-action/v{VERSION}/bin/seatkeeper"))
}

/// The release server of the x86_64 asset: the tarball `bytes`, and beside it
/// a `.sha256` that matches them (which the script must never rely on).
fn asset_server(bytes: &[u8]) -> Server {
    let name = asset("x86_64-unknown-linux-musl");
    let sha = format!("{:x}", Sha256::digest(bytes));
    release_server(BTreeMap::from([
        (format!("/v{VERSION}/{name}.tar.gz"), bytes.to_vec()),
        (
            format!("/v{VERSION}/{name}.tar.gz.sha256"),
            format!("{sha}  {name}.tar.gz\n").into_bytes(),
        ),
    ]))
}

fn assert_installed(runner: &Runner, verified_by: &str) {
    let bin = installed_bin(runner);
    let outputs = runner.outputs();
    assert_eq!(outputs.get("path"), Some(&bin.display().to_string()));
    assert_eq!(outputs.get("source").map(String::as_str), Some("release"));
    assert_eq!(
        outputs.get("verified-by").map(String::as_str),
        Some(verified_by)
    );
    let on_path = std::fs::read_to_string(runner.path("path")).unwrap();
    assert_eq!(on_path.trim(), bin.parent().unwrap().display().to_string());
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        text(&version.stdout).trim(),
        format!("seatkeeper {VERSION}")
    );
}

#[test]
fn install_verifies_the_binary_against_the_checksum_pinned_in_the_action() {
    let (bytes, sha) = release_tarball();
    let name = asset("x86_64-unknown-linux-musl");
    let server = asset_server(bytes);
    let mut runner = Runner::new();
    runner
        .set("SEATKEEPER_RELEASE_BASE_URL", &server.url)
        .pin_checksums(&pinned(sha));
    // A gh that would refuse: the pinned checksum is enough, gh is not asked.
    let gh_log = fake_gh(&mut runner, "no attestation", 1);
    let out = runner.run("install.sh", &[("SEATKEEPER_VERSION", VERSION)]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_installed(&runner, "checksum");
    assert!(
        text(&out.stderr).contains(&format!(
            "SHA-256 verified against action/checksums.txt: {sha}"
        )),
        "{}",
        describe(&out)
    );
    assert!(!gh_log.exists(), "gh was run");
    // Only the tarball: a .sha256 beside it proves nothing and is not read.
    let fetched: Vec<String> = server.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(fetched, [format!("/v{VERSION}/{name}.tar.gz")]);
}

#[test]
fn install_verifies_the_attestation_with_gh_when_no_checksum_is_pinned() {
    let (bytes, _) = release_tarball();
    let server = asset_server(bytes);
    let mut runner = Runner::new();
    runner
        .set("SEATKEEPER_RELEASE_BASE_URL", &server.url)
        .pin_checksums("# nothing pinned\n");
    let gh_log = fake_gh(
        &mut runner,
        "Loaded digest sha256:abc\n✓ Verification succeeded!",
        0,
    );
    let out = runner.run(
        "install.sh",
        &[
            ("SEATKEEPER_VERSION", VERSION),
            ("GH_TOKEN", "ghs_workflowToken"),
            ("GITHUB_API_URL", "https://api.github.com"),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert_installed(&runner, "attestation");
    // github.com's workflow token goes with gh to github.com.
    let token = std::fs::read_to_string(gh_log.with_extension("token")).unwrap();
    assert_eq!(token, "ghs_workflowToken\n");
    let args = std::fs::read_to_string(&gh_log).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args.len(), 10, "{args:?}");
    assert_eq!(args[..2], ["attestation", "verify"]);
    assert!(
        args[2].ends_with(&format!("{}.tar.gz", asset("x86_64-unknown-linux-musl"))),
        "{args:?}"
    );
    assert_eq!(
        args[3..],
        [
            "--repo",
            "seatkeeper/seatkeeper",
            "--signer-workflow",
            "seatkeeper/seatkeeper/.github/workflows/release.yml",
            "--source-ref",
            &format!("refs/tags/v{VERSION}"),
            "--deny-self-hosted-runners"
        ]
    );
}

#[test]
fn install_never_gives_gh_a_token_of_another_api_root() {
    let (bytes, _) = release_tarball();
    // GHE.com and a simulator: their workflow token is not github.com's.
    for api in ["https://api.acme.ghe.com", "http://127.0.0.1:9"] {
        let server = asset_server(bytes);
        let mut runner = Runner::new();
        runner
            .set("SEATKEEPER_RELEASE_BASE_URL", &server.url)
            .pin_checksums("# nothing pinned\n");
        let gh_log = fake_gh(&mut runner, "ok", 0);
        let out = runner.run(
            "install.sh",
            &[
                ("SEATKEEPER_VERSION", VERSION),
                ("GH_TOKEN", "ghs_tenantToken"),
                ("GITHUB_API_URL", api),
            ],
        );
        assert!(out.status.success(), "{api}: {}", describe(&out));
        let token = std::fs::read_to_string(gh_log.with_extension("token")).unwrap();
        assert_eq!(token, "unset\n", "{api}: gh got the token");
    }
}

/// Asserts that install.sh failed with `expected` in its `::error`, and left
/// nothing behind: no binary, no PATH entry, no outputs, no cargo run.
fn assert_refused(what: &str, runner: &Runner, out: &Output, expected: &str, cargo_log: &Path) {
    assert_eq!(out.status.code(), Some(1), "{what}: {}", describe(out));
    let stdout = text(&out.stdout);
    let error = stdout
        .lines()
        .find(|l| l.starts_with("::error title=seatkeeper::"))
        .unwrap_or_else(|| panic!("{what}: no ::error: {}", describe(out)));
    assert!(error.contains(expected), "{what}: {error}");
    assert!(
        !installed_bin(runner).exists(),
        "{what}: a binary was installed"
    );
    assert!(
        !runner.path("temp/seatkeeper-action").exists(),
        "{what}: the install directory was created"
    );
    assert_eq!(
        std::fs::read_to_string(runner.path("path")).unwrap(),
        "",
        "{what}: PATH was changed"
    );
    assert!(!runner.outputs().contains_key("path"), "{what}");
    assert!(
        !cargo_log.exists(),
        "{what}: a refusal must not fall back to cargo"
    );
}

#[test]
fn install_refuses_a_tampered_or_unverifiable_binary_and_never_falls_back() {
    let (bytes, sha) = release_tarball();
    // The same tarball with one byte of the gzip stream changed.
    let mut tampered = bytes.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x55;
    let flipped = format!(
        "{}{}",
        if sha.starts_with('0') { '1' } else { '0' },
        &sha[1..]
    );
    let build = format!(
        "Build from source instead: cargo install --locked --git https://github.com/seatkeeper/seatkeeper --tag v{VERSION}"
    );
    // (what, served tarball, checksums.txt, gh: None or Some(exit code),
    // what the ::error must say).
    type Case<'a> = (&'a str, Option<&'a Vec<u8>>, String, Option<i32>, String);
    let cases: [Case; 6] = [
        (
            "tampered binary, checksum pinned",
            Some(&tampered),
            pinned(sha),
            Some(0),
            "SHA-256 mismatch".into(),
        ),
        (
            "a wrong pinned digest",
            Some(bytes),
            pinned(&flipped),
            None,
            build.clone(),
        ),
        (
            "a malformed pinned digest",
            Some(bytes),
            format!(
                "not-a-digest  {}.tar.gz\n",
                asset("x86_64-unknown-linux-musl")
            ),
            None,
            "holds no SHA-256 digest".into(),
        ),
        (
            "no pinned checksum, attestation fails",
            Some(&tampered),
            "# nothing pinned\n".into(),
            Some(1),
            "does not verify".into(),
        ),
        (
            "no pinned checksum, no gh",
            Some(bytes),
            "# nothing pinned\n".into(),
            None,
            "this action version pins no checksum for it and there is no gh CLI".into(),
        ),
        (
            "no release asset (404)",
            None,
            pinned(sha),
            Some(0),
            format!("(HTTP 404); nothing installed. {build}"),
        ),
    ];
    for (what, served, checksums, gh, expected) in cases {
        let server = match served {
            Some(b) => asset_server(b),
            None => release_server(BTreeMap::new()),
        };
        let mut runner = Runner::new();
        runner
            .set("SEATKEEPER_RELEASE_BASE_URL", &server.url)
            .pin_checksums(&checksums);
        let cargo_log = fake_cargo(&mut runner);
        if let Some(code) = gh {
            fake_gh(
                &mut runner,
                "verification failed: no matching attestation",
                code,
            );
        }
        let out = runner.run("install.sh", &[("SEATKEEPER_VERSION", VERSION)]);
        assert_refused(what, &runner, &out, &expected, &cargo_log);
        // Never the .sha256 beside the binary.
        for r in server.requests() {
            assert!(!r.uri.ends_with(".sha256"), "{what}: fetched {}", r.uri);
        }
    }
}

#[test]
fn install_builds_from_source_only_when_asked() {
    for (os, arch) in [("Linux", "X64"), ("macOS", "ARM64"), ("Linux", "ARM")] {
        // Serves nothing: every asset is a 404.
        let server = release_server(BTreeMap::new());
        let mut runner = Runner::new();
        runner.set("SEATKEEPER_RELEASE_BASE_URL", &server.url);
        let cargo_log = fake_cargo(&mut runner);
        let out = runner.run(
            "install.sh",
            &[
                ("SEATKEEPER_VERSION", VERSION),
                ("SEATKEEPER_BUILD_FROM_SOURCE", "true"),
                ("RUNNER_OS", os),
                ("RUNNER_ARCH", arch),
            ],
        );
        assert!(out.status.success(), "{os}/{arch}: {}", describe(&out));
        assert!(server.requests().is_empty(), "{os}/{arch}: downloaded");
        let args = std::fs::read_to_string(&cargo_log).unwrap();
        let args: Vec<&str> = args.lines().collect();
        let root_at = args.iter().position(|a| *a == "--root").expect("--root");
        assert_eq!(
            [&args[..root_at], &args[root_at + 2..]].concat(),
            [
                "install",
                "--locked",
                "--git",
                "https://github.com/seatkeeper/seatkeeper",
                "--tag",
                &format!("v{VERSION}"),
                "seatkeeper"
            ],
            "{os}/{arch}"
        );
        let outputs = runner.outputs();
        assert_eq!(
            outputs.get("source").map(String::as_str),
            Some("cargo"),
            "{os}/{arch}"
        );
        assert_eq!(
            outputs.get("path"),
            Some(&installed_bin(&runner).display().to_string())
        );
    }
    // Not asked: a runner with no release binary gets how to build, not a build.
    let server = release_server(BTreeMap::new());
    let mut runner = Runner::new();
    runner.set("SEATKEEPER_RELEASE_BASE_URL", &server.url);
    let cargo_log = fake_cargo(&mut runner);
    let out = runner.run(
        "install.sh",
        &[
            ("SEATKEEPER_VERSION", VERSION),
            ("RUNNER_OS", "macOS"),
            ("RUNNER_ARCH", "ARM64"),
        ],
    );
    assert_refused(
        "macOS without build-from-source",
        &runner,
        &out,
        "no release binary for macOS/ARM64; build from source instead: cargo install --locked",
        &cargo_log,
    );
    assert!(server.requests().is_empty());
}

#[test]
fn install_refuses_a_version_that_is_not_semver() {
    for version in ["v0.1.0", "0.1", "0.1.0/../../x", "0.1.0 --root /", ""] {
        let server = release_server(BTreeMap::new());
        let mut runner = Runner::new();
        runner.set("SEATKEEPER_RELEASE_BASE_URL", &server.url);
        let cargo_log = fake_cargo(&mut runner);
        let out = runner.run("install.sh", &[("SEATKEEPER_VERSION", version)]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{version:?}: {}",
            describe(&out)
        );
        assert!(server.requests().is_empty(), "{version:?}");
        assert!(!cargo_log.exists(), "{version:?}");
    }
}

// ---------------------------------------------------------------------------
// validate and plan, against the real simulator process

/// `seatkeeper simulator --listen 127.0.0.1:0` (the demo org `acme`), killed
/// on drop.
struct SimProcess {
    child: Child,
    url: String,
    token: String,
}

impl SimProcess {
    fn start() -> SimProcess {
        let mut child = Command::new(BIN)
            .args(["simulator", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the simulator prints its address within 20 s");
        // simulator listening on URL token=TOKEN
        let rest = line
            .trim()
            .strip_prefix("simulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let (url, token) = rest.split_once(" token=").expect("URL token=TOKEN");
        SimProcess {
            url: url.to_string(),
            token: token.to_string(),
            child,
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo seats.yaml without the lines for which `drop` is true.
fn demo_yaml(drop: impl Fn(&str) -> bool) -> String {
    let demo = std::fs::read_to_string(root().join("examples/demo/seats.yaml")).unwrap();
    demo.lines()
        .filter(|l| !drop(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
}

/// A workspace whose `main` has `base` as seats.yaml and whose checked-out
/// branch has `head`.
fn pr_workspace(runner: &Runner, base: &str, head: &str) {
    let ws = runner.path("workspace");
    git(&ws, &["init", "-q"]);
    std::fs::write(ws.join("seats.yaml"), base).unwrap();
    git(&ws, &["add", "seats.yaml"]);
    git(&ws, &["commit", "-q", "-m", "base"]);
    git(&ws, &["checkout", "-q", "-b", "add-lena"]);
    std::fs::write(ws.join("seats.yaml"), head).unwrap();
    git(&ws, &["commit", "-q", "-am", "head"]);
}

fn plan_env(sim: &SimProcess) -> Vec<(&str, &str)> {
    vec![
        ("SEATKEEPER_BIN", BIN),
        ("SK_COMMAND", "plan"),
        ("SK_SEATS_FILE", "seats.yaml"),
        ("SK_GITHUB_TOKEN", sim.token.as_str()),
        ("SK_GITHUB_URL", sim.url.as_str()),
        ("SK_BASE_REF", "main"),
    ]
}

/// The lines between the opening fence that starts the line after `intro`
/// and its closing fence, and the fence itself.
fn fenced_after(md: &str, intro: &str) -> (String, Vec<String>) {
    let lines: Vec<&str> = md.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(intro))
        .unwrap_or_else(|| panic!("no {intro:?} in:\n{md}"));
    let open = lines[at + 1..]
        .iter()
        .position(|l| l.starts_with("```"))
        .map(|i| at + 1 + i)
        .unwrap_or_else(|| panic!("no fence after {intro:?} in:\n{md}"));
    let fence: String = lines[open].chars().take_while(|c| *c == '`').collect();
    let close = lines[open + 1..]
        .iter()
        .position(|l| *l == fence)
        .map(|i| open + 1 + i)
        .unwrap_or_else(|| panic!("fence {fence} is not closed in:\n{md}"));
    (
        fence,
        lines[open + 1..close]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
}

#[test]
fn plan_writes_the_outputs_and_a_summary_with_the_seat_change() {
    let sim = SimProcess::start();
    let runner = Runner::new();
    // main lacks lena; the PR adds her and drops contractor-carl (not a member).
    let base = demo_yaml(|l| l.contains("- lena"));
    let head = demo_yaml(|l| l.contains("contractor-carl"));
    pr_workspace(&runner, &base, &head);

    let out = runner.run("run.sh", &plan_env(&sim));
    assert!(out.status.success(), "{}", describe(&out));
    let outputs = runner.outputs();
    assert_eq!(
        outputs.get("exit-code").map(String::as_str),
        Some("2"),
        "{}",
        describe(&out)
    );
    assert_eq!(outputs.get("verdict").map(String::as_str), Some("pass"));
    let plan_file = PathBuf::from(outputs.get("plan-file").expect("plan-file"));
    assert_eq!(plan_file, runner.path("temp/seatkeeper-action/plan.md"));
    let body = std::fs::read_to_string(&plan_file).unwrap();

    let out = runner.run(
        "summary.sh",
        &[("SK_BODY_FILE", plan_file.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let summary = runner.summary();
    assert_eq!(summary, format!("{body}\n"));
    assert!(summary.starts_with(&format!("{MARKER}\n")), "{summary}");
    assert_eq!(summary.matches(MARKER).count(), 1, "{summary}");
    for expected in [
        "### What this pull request asks for",
        "- `+` lena",
        "- `-` contractor-carl",
        "### Copilot seat plan for org acme",
        "| `+` | lena | in seats.yaml |",
        "| `-` | dmitri |",
        "`seatkeeper plan` exited 2: changes to apply.",
    ] {
        assert!(summary.contains(expected), "no {expected:?} in:\n{summary}");
    }
    let check = runner.run(
        "check.sh",
        &[
            ("SK_COMMAND", "plan"),
            ("SK_EXIT_CODE", "2"),
            ("SK_SEATS_FILE", "seats.yaml"),
        ],
    );
    assert!(check.status.success(), "{}", describe(&check));
}

#[test]
fn the_saved_plan_is_written_and_applies_exactly_what_was_reviewed() {
    let sim = SimProcess::start();
    let runner = Runner::new();
    let base = demo_yaml(|l| l.contains("- lena"));
    let head = demo_yaml(|l| l.contains("contractor-carl"));
    pr_workspace(&runner, &base, &head);
    let mut env = plan_env(&sim);
    env.push(("SK_SAVED_PLAN", "seatkeeper-plan.json"));
    let out = runner.run("run.sh", &env);
    assert!(out.status.success(), "{}", describe(&out));
    let outputs = runner.outputs();
    assert_eq!(outputs.get("exit-code").map(String::as_str), Some("2"));
    assert_eq!(
        outputs.get("saved-plan").map(String::as_str),
        Some("seatkeeper-plan.json")
    );
    let saved = runner.path("workspace/seatkeeper-plan.json");
    let plan: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert!(
        plan.to_string().contains("lena"),
        "the saved plan adds lena: {plan}"
    );
    // What a later job does with the artifact: apply exactly it.
    let apply = Command::new(BIN)
        .args(["apply", "seatkeeper-plan.json", "--confirm"])
        .args(["--github-url", sim.url.as_str()])
        .current_dir(runner.path("workspace"))
        .env("GITHUB_TOKEN", &sim.token)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(apply.status.code(), Some(0), "{}", describe(&apply));
    assert!(
        text(&apply.stdout).contains("add lena"),
        "{}",
        describe(&apply)
    );
    // Applied once, the same saved plan no longer matches the seats: refused.
    let again = Command::new(BIN)
        .args(["apply", "seatkeeper-plan.json", "--confirm"])
        .args(["--github-url", sim.url.as_str()])
        .current_dir(runner.path("workspace"))
        .env("GITHUB_TOKEN", &sim.token)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    // Without the input, no file and no output.
    let runner = Runner::new();
    pr_workspace(&runner, &base, &head);
    let out = runner.run("run.sh", &plan_env(&sim));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!runner.outputs().contains_key("saved-plan"));
}

#[test]
fn a_failing_plan_is_summarised_with_its_errors_fenced_and_fails_the_check() {
    let sim = SimProcess::start();
    let runner = Runner::new();
    // The head keeps contractor-carl, who is not a member: --strict fails.
    let base = demo_yaml(|l| l.contains("- lena"));
    let head = demo_yaml(|_| false);
    pr_workspace(&runner, &base, &head);

    let out = runner.run("run.sh", &plan_env(&sim));
    assert!(out.status.success(), "{}", describe(&out));
    let outputs = runner.outputs();
    assert_eq!(outputs.get("exit-code").map(String::as_str), Some("1"));
    assert_eq!(outputs.get("verdict").map(String::as_str), Some("fail"));
    let body = std::fs::read_to_string(outputs.get("plan-file").unwrap()).unwrap();
    let (fence, lines) = fenced_after(&body, "**seatkeeper plan said:**");
    assert_eq!(fence, "```");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("contractor-carl is not eligible: not a member of acme")),
        "{body}"
    );
    assert!(
        body.contains("**`seatkeeper plan` exited 1: error.** The check fails."),
        "{body}"
    );

    let check = runner.run(
        "check.sh",
        &[
            ("SK_COMMAND", "plan"),
            ("SK_EXIT_CODE", "1"),
            ("SK_SEATS_FILE", "seats.yaml"),
        ],
    );
    assert_eq!(check.status.code(), Some(1), "{}", describe(&check));
    assert!(
        text(&check.stdout)
            .contains("::error file=seats.yaml,title=seatkeeper plan::exit 1: error"),
        "{}",
        describe(&check)
    );
}

#[test]
fn plan_without_a_token_fails_with_what_to_set() {
    let runner = Runner::new();
    std::fs::write(runner.path("workspace/seats.yaml"), "org: acme\n").unwrap();
    let out = runner.run(
        "run.sh",
        &[
            ("SEATKEEPER_BIN", BIN),
            ("SK_COMMAND", "plan"),
            ("SK_SEATS_FILE", "seats.yaml"),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let outputs = runner.outputs();
    assert_eq!(outputs.get("exit-code").map(String::as_str), Some("1"));
    let body = std::fs::read_to_string(outputs.get("plan-file").unwrap()).unwrap();
    assert!(
        body.contains("the github-token input is required for plan"),
        "{body}"
    );
}

#[test]
fn validate_output_is_fenced_longer_than_any_backtick_run_in_it() {
    let runner = Runner::new();
    // The echoed source line carries a run of five backticks, a heading and
    // HTML: inside the fence they stay text.
    let yaml = "org: acme\nusers:\n  - octocat\n  - OctoCat   # ````` \n# <img src=x> @everyone\n";
    std::fs::write(runner.path("workspace/seats.yaml"), yaml).unwrap();
    let out = runner.run(
        "run.sh",
        &[
            ("SEATKEEPER_BIN", BIN),
            ("SK_COMMAND", "validate"),
            ("SK_SEATS_FILE", "seats.yaml"),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let outputs = runner.outputs();
    assert_eq!(outputs.get("exit-code").map(String::as_str), Some("1"));
    let body = std::fs::read_to_string(outputs.get("plan-file").unwrap()).unwrap();
    assert!(body.starts_with(&format!("{MARKER}\n### seatkeeper validate: invalid\n")));
    let (fence, lines) = fenced_after(&body, "**seatkeeper validate said:**");
    assert_eq!(fence, "``````", "one longer than the five in the content");
    let inside = lines.join("\n");
    assert!(inside.contains("`OctoCat` is listed twice"), "{body}");
    assert!(inside.contains("`````"), "{body}");
    // Nothing of seatkeeper's stderr (logged on stdout, commands off) is
    // outside the fence.
    let logged = text(&out.stdout);
    let echoed: Vec<&str> = logged.lines().filter(|l| l.contains("OctoCat")).collect();
    assert!(!echoed.is_empty(), "{}", describe(&out));
    for line in echoed {
        assert!(lines.iter().any(|l| l == line), "{line:?} is not fenced");
    }
}

#[test]
fn fenced_blocks_cannot_be_closed_by_their_content() {
    // (content, expected fence).
    let cases = [
        ("plain", "```"),
        ("`one` and ``two``", "```"),
        ("```\n# heading", "````"),
        ("a ```````` b", "`````````"),
        ("", "```"),
        ("no newline at the end ````", "`````"),
    ];
    for (content, fence) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.txt");
        std::fs::write(&file, content).unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(r#"set -euo pipefail; . "$1"; sk_fenced "$2" text 1000"#)
            .arg("fence")
            .arg(root().join("action/lib.sh"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{content:?}: {}", describe(&out));
        let md = text(&out.stdout);
        let mut expected = format!("{fence}text\n{content}");
        if !content.is_empty() {
            expected.push('\n');
        }
        expected.push_str(&format!("{fence}\n"));
        assert_eq!(md, expected, "{content:?}");
    }
}

#[test]
fn the_check_passes_exactly_on_no_changes_and_changes() {
    // (command, exit code, passes).
    let cases = [
        ("plan", "0", true),
        ("plan", "2", true),
        ("plan", "1", false),
        ("plan", "3", false),
        ("plan", "7", false),
        ("validate", "0", true),
        ("validate", "1", false),
        ("validate", "2", false),
    ];
    let runner = Runner::new();
    for (command, code, passes) in cases {
        let out = runner.run(
            "check.sh",
            &[
                ("SK_COMMAND", command),
                ("SK_EXIT_CODE", code),
                ("SK_SEATS_FILE", "seats.yaml"),
            ],
        );
        assert_eq!(
            out.status.success(),
            passes,
            "{command} {code}: {}",
            describe(&out)
        );
        if !passes {
            assert!(text(&out.stdout).starts_with("::error file=seats.yaml,"));
        }
    }
}

// ---------------------------------------------------------------------------
// The PR comment

const BOT: &str = "github-actions[bot]";
const COMMENT_TOKEN: &str = "ghs_commentTokenForTests0123";

fn comment(id: u64, login: &str, body: &str) -> Value {
    json!({"id": id, "user": {"login": login, "type": if login == BOT { "Bot" } else { "User" }}, "body": body})
}

/// A GitHub issue-comments API: `pages` are the comment list pages (linked
/// with `Link: rel="next"`); writes answer `write_status`.
fn comments_api(pages: Vec<Vec<Value>>, write_status: StatusCode) -> Server {
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = base.clone();
    let list = format!("/repos/{REPO}/issues/{PR}/comments");
    let server = Server::start(move |r| {
        let (path, query) = r.uri.split_once('?').unwrap_or((&r.uri, ""));
        match (r.method.as_str(), path) {
            ("GET", p) if p == list => {
                let page: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let items = pages.get(page - 1).cloned().unwrap_or_default();
                let mut resp = json_response(StatusCode::OK, Value::Array(items));
                if page < pages.len() {
                    let base = base_in.lock().unwrap().clone();
                    let next = format!(
                        "<{base}{list}?per_page=100&page={}>; rel=\"next\", <{base}{list}?per_page=100&page={}>; rel=\"last\"",
                        page + 1,
                        pages.len()
                    );
                    resp.headers_mut().insert("link", next.parse().unwrap());
                }
                resp
            }
            ("PATCH", p) if p.starts_with(&format!("/repos/{REPO}/issues/comments/")) => {
                json_response(write_status, json!({"id": 0}))
            }
            ("POST", p) if p == list => {
                let status = if write_status == StatusCode::OK {
                    StatusCode::CREATED
                } else {
                    write_status
                };
                json_response(status, json!({"id": 4242}))
            }
            _ => json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
        }
    });
    *base.lock().unwrap() = server.url.clone();
    server
}

fn comment_runner(server: &Server) -> (Runner, PathBuf, String) {
    let mut runner = Runner::new();
    let body = format!("{MARKER}\n### Copilot seat plan for org acme\n\n**Plan: 1 to add.**\n");
    let file = runner.path("temp/plan.md");
    std::fs::write(&file, &body).unwrap();
    runner
        .set("GITHUB_API_URL", &server.url)
        .set("SK_BODY_FILE", file.to_str().unwrap())
        .set("SK_COMMENT_TOKEN", COMMENT_TOKEN);
    (runner, file, body)
}

fn writes(server: &Server) -> Vec<Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}

#[test]
fn the_comment_updates_only_the_bots_marked_comment_across_pages() {
    let forged = format!("{MARKER}\nforged plan: nothing to see");
    let server = comments_api(
        vec![
            vec![
                comment(11, "mallory", &forged),
                comment(12, BOT, "an unrelated bot comment"),
            ],
            vec![
                comment(13, BOT, &format!("{MARKER}\nthe previous plan")),
                comment(14, "mallory", &forged),
            ],
        ],
        StatusCode::OK,
    );
    let (runner, _, body) = comment_runner(&server);
    let out = runner.run("comment.sh", &[]);
    assert!(out.status.success(), "{}", describe(&out));

    let requests = server.requests();
    let list = format!("/repos/{REPO}/issues/{PR}/comments");
    assert_eq!(requests[0].uri, format!("{list}?per_page=100"));
    assert_eq!(requests[1].uri, format!("{list}?per_page=100&page=2"));
    let w = writes(&server);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].method, "PATCH");
    assert_eq!(w[0].uri, format!("/repos/{REPO}/issues/comments/13"));
    let sent: Value = serde_json::from_str(&w[0].body).unwrap();
    assert_eq!(sent, json!({ "body": body }));
    for r in &requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {COMMENT_TOKEN}").as_str())
        );
    }
    let outputs = runner.outputs();
    assert_eq!(
        outputs.get("comment-action").map(String::as_str),
        Some("updated")
    );
    assert_eq!(outputs.get("comment-id").map(String::as_str), Some("13"));
}

#[test]
fn without_a_bot_comment_a_new_one_is_created() {
    let forged = format!("{MARKER}\nforged plan");
    // (what, list pages): nobody's marked comment counts but the bot's.
    let cases = [
        ("no comments", vec![vec![]]),
        (
            "only someone else's marked comment",
            vec![vec![comment(11, "mallory", &forged)]],
        ),
        (
            "a bot comment without the marker first",
            vec![vec![comment(12, BOT, &format!("see below\n{MARKER}"))]],
        ),
    ];
    for (what, pages) in cases {
        let server = comments_api(pages, StatusCode::OK);
        let (runner, _, body) = comment_runner(&server);
        let out = runner.run("comment.sh", &[]);
        assert!(out.status.success(), "{what}: {}", describe(&out));
        let w = writes(&server);
        assert_eq!(w.len(), 1, "{what}: {w:?}");
        assert_eq!(w[0].method, "POST", "{what}");
        assert_eq!(w[0].uri, format!("/repos/{REPO}/issues/{PR}/comments"));
        let sent: Value = serde_json::from_str(&w[0].body).unwrap();
        assert_eq!(sent, json!({ "body": body }), "{what}");
        let outputs = runner.outputs();
        assert_eq!(
            outputs.get("comment-action").map(String::as_str),
            Some("created")
        );
        assert_eq!(outputs.get("comment-id").map(String::as_str), Some("4242"));
    }
}

#[test]
fn the_comment_is_skipped_off_pull_requests_and_when_turned_off() {
    // (comment input, event name, expected action).
    let cases = [
        ("false", "pull_request", "skipped"),
        ("", "push", "skipped"),
        ("", "workflow_dispatch", "skipped"),
        ("", "pull_request", "created"),
        ("", "pull_request_target", "created"),
        ("true", "pull_request", "created"),
    ];
    for (input, event, expected) in cases {
        let server = comments_api(vec![vec![]], StatusCode::OK);
        let (runner, _, _) = comment_runner(&server);
        let out = runner.run(
            "comment.sh",
            &[("SK_COMMENT", input), ("GITHUB_EVENT_NAME", event)],
        );
        assert!(
            out.status.success(),
            "{input:?} {event}: {}",
            describe(&out)
        );
        assert_eq!(
            runner.outputs().get("comment-action").map(String::as_str),
            Some(expected),
            "{input:?} {event}"
        );
        assert_eq!(
            server.requests().is_empty(),
            expected == "skipped",
            "{input:?} {event}"
        );
    }
}

#[test]
fn a_token_that_may_not_comment_only_warns() {
    let server = comments_api(vec![vec![]], StatusCode::FORBIDDEN);
    let (runner, _, _) = comment_runner(&server);
    let out = runner.run("comment.sh", &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).contains("::warning title=seatkeeper::"));
    assert_eq!(
        runner.outputs().get("comment-action").map(String::as_str),
        Some("skipped")
    );

    // Any other failure fails the step.
    let server = comments_api(vec![vec![]], StatusCode::UNPROCESSABLE_ENTITY);
    let (runner, _, _) = comment_runner(&server);
    let out = runner.run("comment.sh", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

// ---------------------------------------------------------------------------
// action.yml

fn action_yml() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).expect("action.yml is YAML")
}

#[test]
fn action_yml_wires_inputs_to_the_scripts_through_env_only() {
    let action = action_yml();
    let inputs = action["inputs"].as_object().expect("inputs");
    for (name, default) in [
        ("command", "plan"),
        ("seats-file", "seats.yaml"),
        ("version", VERSION),
        ("github-token", ""),
        ("github-url", ""),
        ("base-ref", ""),
        ("comment", ""),
        ("args", ""),
    ] {
        assert_eq!(
            inputs[name]["default"].as_str(),
            Some(default),
            "input {name}"
        );
    }
    for output in ["exit-code", "plan-file"] {
        assert!(action["outputs"][output]["value"].is_string(), "{output}");
    }
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();

    let mut scripts = Vec::new();
    let mut referenced = Vec::new();
    for step in steps {
        assert_eq!(step["shell"], "bash", "{step}");
        let run = step["run"].as_str().expect("a run step");
        assert!(!run.contains("${{"), "no expression inside a script: {run}");
        let script = run
            .strip_prefix("bash \"$GITHUB_ACTION_PATH/")
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_else(|| panic!("run must call one script: {run}"));
        assert!(root().join(script).is_file(), "{script} exists");
        scripts.push(script.to_string());
        if let Some(env) = step["env"].as_object() {
            for value in env.values() {
                referenced.push(value.as_str().expect("env values are strings").to_string());
            }
        }
    }
    for output in action["outputs"].as_object().unwrap().values() {
        referenced.push(output["value"].as_str().unwrap().to_string());
    }
    for expr in referenced {
        let inner = expr.trim();
        let Some(inner) = inner.strip_prefix("${{").and_then(|s| s.strip_suffix("}}")) else {
            continue;
        };
        let parts: Vec<&str> = inner.trim().split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => assert!(inputs.contains_key(*name), "undeclared input {name}"),
            // The workflow token, for `gh attestation verify` in install.sh.
            ["github", "token"] => {}
            ["steps", id, "outputs", name] => {
                assert!(ids.contains(id), "no step {id}");
                let step = steps.iter().find(|s| s["id"] == *id).unwrap();
                let script = step["run"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("bash \"$GITHUB_ACTION_PATH/")
                    .trim_end_matches('"');
                let source = std::fs::read_to_string(root().join(script)).unwrap();
                assert!(
                    source.contains(&format!("sk_output {name} ")),
                    "{script} never writes output {name}"
                );
            }
            other => panic!("unexpected expression {other:?}"),
        }
    }
    assert_eq!(
        scripts,
        [
            "action/install.sh",
            "action/run.sh",
            "action/summary.sh",
            "action/comment.sh",
            "action/check.sh"
        ]
    );
}

// ---------------------------------------------------------------------------
// Every `run:` script of the workflows and of action.yml, through shellcheck

/// The shellcheck `.ci/run` installs (its callers are `#[ignore]`d: see
/// `support::tool`).
fn shellcheck() -> PathBuf {
    crate::support::tool(
        &root().join("target/tools/shellcheck/bin/shellcheck"),
        "the lint step of `.ci/run`",
    )
}

/// `(where, script)` for every `run:` of a workflow's jobs or an action's steps.
fn run_blocks(file: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let doc: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
    let mut steps: Vec<(String, &Value)> = Vec::new();
    if let Some(jobs) = doc["jobs"].as_object() {
        for (job, spec) in jobs {
            for (i, step) in spec["steps"].as_array().into_iter().flatten().enumerate() {
                steps.push((format!("{}: jobs.{job}.steps[{i}]", file.display()), step));
            }
        }
    }
    for (i, step) in doc["runs"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        steps.push((format!("{}: runs.steps[{i}]", file.display()), step));
    }
    steps
        .into_iter()
        .filter_map(|(at, step)| Some((at, step["run"].as_str()?.to_string())))
        .collect()
}

/// `${{ ... }}` replaced by a plain word: shellcheck sees the script Actions
/// would run, with each expression as opaque text.
fn without_expressions(script: &str) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("an expression is closed") + start + 2;
        out.push_str("GHA_EXPRESSION");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
#[ignore = "needs shellcheck: the lint step of `.ci/run` installs it; CI runs it"]
fn every_run_script_passes_shellcheck() {
    let shellcheck = shellcheck();
    let mut files = vec![root().join("action.yml")];
    for dir in ["examples/github-actions", ".github/workflows"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no workflows in {dir}");
        files.extend(found);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        for (n, (at, script)) in run_blocks(file).into_iter().enumerate() {
            // Actions runs `bash -e {0}` for `shell: bash` and by default on Linux.
            let path = dir.path().join(format!("run-{checked}-{n}.sh"));
            std::fs::write(
                &path,
                format!(
                    "#!/usr/bin/env bash\nset -e\n{}",
                    without_expressions(&script)
                ),
            )
            .unwrap();
            let out = Command::new(&shellcheck)
                .args(["--shell=bash", "--color=never"])
                .arg(&path)
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!("{at}:\n{}", text(&out.stdout)));
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} run: blocks found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "needs shellcheck: the lint step of `.ci/run` installs it; CI runs it"]
fn shellcheck_of_run_scripts_can_fail() {
    let shellcheck = shellcheck();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.sh");
    std::fs::write(&path, "#!/usr/bin/env bash\nrm -rf $DIR/*\n").unwrap();
    let out = Command::new(&shellcheck).arg(&path).output().unwrap();
    assert!(
        !out.status.success(),
        "an unquoted variable passed shellcheck"
    );
}

#[test]
fn no_run_script_interpolates_an_expression() {
    // Every value reaches a script through `env:`: an expression expanded into
    // the script text (an issue body, a branch name) could inject commands.
    let mut files = vec![root().join("action.yml")];
    for dir in ["examples/github-actions", ".github/workflows"] {
        files.extend(
            std::fs::read_dir(root().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml")),
        );
    }
    let mut checked = 0;
    for file in &files {
        for (at, script) in run_blocks(file) {
            assert!(
                !script.contains("${{"),
                "{at} expands an expression:\n{script}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} run: blocks found");
}

#[test]
fn the_request_flow_takes_the_login_from_the_event_never_the_issue_text() {
    let form_path = root().join("examples/github-actions/ISSUE_TEMPLATE/request-copilot.yml");
    let form: Value = serde_saphyr::from_str(&std::fs::read_to_string(form_path).unwrap()).unwrap();
    assert_eq!(form["name"], "Request Copilot");
    assert_eq!(form["labels"], json!(["copilot-request"]));
    let fields: Vec<&Value> = form["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] != "markdown")
        .collect();
    let labels: Vec<&str> = fields
        .iter()
        .map(|f| f["attributes"]["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Note", "Monthly AI-credit budget in US dollars", "Why"],
        "no field for a login"
    );
    for f in &fields {
        assert_eq!(f["validations"]["required"], false, "{f}");
    }

    let workflow = root().join("examples/github-actions/seats-request.yml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&workflow).unwrap()).unwrap();
    assert_eq!(doc["on"]["issues"]["types"], json!(["opened"]));
    let job = &doc["jobs"]["request"];
    assert!(
        job["if"]
            .as_str()
            .unwrap()
            .contains("contains(github.event.issue.labels.*.name, 'copilot-request')")
    );
    let request = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "request")
        .expect("a request step");
    assert_eq!(
        request["env"]["AUTHOR"],
        "${{ github.event.issue.user.login }}"
    );
    let script = request["run"].as_str().unwrap();
    assert!(
        script.contains(
            r#"request "$AUTHOR" --repo "$GITHUB_REPOSITORY" --requester "$AUTHOR" --source "$ISSUE_URL""#
        ),
        "{script}"
    );
    // The optional budget goes as one `--budget=VALUE` argument, for the
    // author only, after the seat.
    assert!(
        script.contains(r#"seatkeeper request "$AUTHOR" "--budget=$budget""#),
        "{script}"
    );
}

/// The `run:` of step `id` in examples/github-actions/seats-request.yml and
/// its `env:` names.
fn request_step(id_or_index: &str) -> String {
    let workflow = root().join("examples/github-actions/seats-request.yml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(workflow).unwrap()).unwrap();
    let steps = doc["jobs"]["request"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["id"] == id_or_index || s["name"] == id_or_index)
        .unwrap_or_else(|| panic!("no step {id_or_index}"));
    step["run"].as_str().unwrap().to_string()
}

/// A stand-in command on PATH that records its arguments (one a line) in
/// `{dir}/{name}.args`, appending, and prints `say`.
fn recorder(dir: &Path, name: &str, say: &str, code: i32) {
    let log = dir.join(format!("{name}.args"));
    let script = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" >> '{}'\necho '--' >> '{}'\nprintf '%s\\n' '{say}'\nexit {code}\n",
        log.display(),
        log.display()
    );
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
}

#[test]
fn the_request_workflow_passes_the_author_and_the_form_fields_as_data() {
    // (seatkeeper's exit code, the close reason gh is given).
    for (code, reason) in [(0, "completed"), (1, "not planned")] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        recorder(&bin, "seatkeeper", "granted ``` # not a heading", code);
        recorder(&bin, "gh", "", 0);
        let output = dir.path().join("output");
        std::fs::write(&output, "").unwrap();
        // The body names someone else and tries command substitution: both
        // must stay text.
        let body = "### Note\n\n-n $(touch pwned) `id`\n\n### Why\n\nwrite tests for mallory\n\n### Login\n\nmallory\n";
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = |script: &str, env: &[(&str, &str)]| {
            let file = dir.path().join("step.sh");
            std::fs::write(&file, script).unwrap();
            Command::new("bash")
                .arg("-e")
                .arg(&file)
                .current_dir(dir.path())
                .env_clear()
                .env("PATH", &path)
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_REPOSITORY", REPO)
                .envs(env.iter().copied())
                .output()
                .unwrap()
        };
        let out = run(
            &request_step("request"),
            &[
                ("GITHUB_TOKEN", "ghs_requestToken"),
                ("AUTHOR", "octocat"),
                (
                    "ISSUE_URL",
                    "https://github.com/acme/copilot-seats/issues/3",
                ),
                ("ISSUE_BODY", body),
            ],
        );
        assert!(out.status.success(), "{}", describe(&out));
        assert!(!dir.path().join("pwned").exists(), "the body was executed");
        let args = std::fs::read_to_string(bin.join("seatkeeper.args")).unwrap();
        assert_eq!(
            args.lines().collect::<Vec<_>>(),
            [
                "request",
                "octocat",
                "--repo",
                REPO,
                "--requester",
                "octocat",
                "--source",
                "https://github.com/acme/copilot-seats/issues/3",
                "--note=-n $(touch pwned) `id`; why: write tests for mallory",
                "--"
            ]
        );
        let outputs = std::fs::read_to_string(&output).unwrap();
        assert_eq!(outputs, format!("code={code}\n"));

        let out = run(
            &request_step("Comment the outcome and close the issue"),
            &[
                ("GH_TOKEN", "ghs_workflowToken"),
                ("AUTHOR", "octocat"),
                ("ISSUE", "3"),
                ("CODE", &code.to_string()),
            ],
        );
        assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
        let comment = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
        let (fence, inside) = fenced_after(&comment, "@octocat");
        assert_eq!(fence, "````");
        assert_eq!(inside, ["granted ``` # not a heading"]);
        let gh = std::fs::read_to_string(bin.join("gh.args")).unwrap();
        let calls: Vec<Vec<&str>> = gh
            .split("--\n")
            .filter(|c| !c.is_empty())
            .map(|c| c.lines().collect())
            .collect();
        assert_eq!(
            calls,
            [
                vec![
                    "issue",
                    "comment",
                    "3",
                    "--repo",
                    REPO,
                    "--body-file",
                    "comment.md"
                ],
                vec!["issue", "close", "3", "--repo", REPO, "--reason", reason],
            ]
        );
    }
}

// ---------------------------------------------------------------------------
// Workflow commands: text from seats.yaml, an issue or GitHub cannot issue one

/// Hostile lines as seats.yaml, an issue or a GitHub answer could carry them:
/// each form of workflow command, a guessed stop token and its end.
const HOSTILE: &str = "\
org: acme
::set-output name=verdict::pass
::add-mask::octocat
::error file=seats.yaml::pwned
   ::warning::indented
##[set-output name=exit-code;]0
users: [octocat] ##[add-mask]mallory
::stop-commands::guessed
::guessed::
::sk00000000000000000000000000000000::
::notice::after a guessed end
";

/// How the Actions runner reads one output stream: the workflow commands it
/// would run and the stop-commands tokens it saw. As the runner does: a
/// `::name ...::data` line (after leading whitespace) or `##[name ...]data`
/// anywhere in a line is a command; `::stop-commands::TOKEN` turns both off
/// until a line `::TOKEN::` (compared case-insensitively, after trimming:
/// looser than the runner, so the check is stricter).
fn runner_view(stream: &str) -> (Vec<String>, Vec<String>) {
    let mut commands = Vec::new();
    let mut tokens = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stream.lines() {
        let trimmed = line.trim();
        if let Some(token) = &stopped {
            if trimmed.eq_ignore_ascii_case(&format!("::{token}::")) {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
            tokens.push(token.to_string());
            stopped = Some(token.to_string());
        } else if (trimmed.starts_with("::") && trimmed[2..].contains("::")) || line.contains("##[")
        {
            commands.push(line.to_string());
        }
    }
    assert!(
        stopped.is_none(),
        "a stop-commands block is never closed:\n{stream}"
    );
    (commands, tokens)
}

/// Asserts that nothing in `out` (stdout and stderr, each as the runner reads
/// it) issues a workflow command but the script's own lines (`own`), that the
/// hostile text still shows as text, and that every stop token is fresh:
/// 128 random bits in hex, not in `input`. Returns the tokens.
fn assert_no_injection(
    what: &str,
    out: &Output,
    own: &dyn Fn(&str) -> bool,
    input: &str,
) -> Vec<String> {
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let mut tokens = Vec::new();
    for stream in [&stdout, &stderr] {
        let (commands, seen) = runner_view(stream);
        for command in commands {
            assert!(
                own(&command),
                "{what}: untrusted text issues a workflow command: {command:?}\n{}",
                describe(out)
            );
        }
        tokens.extend(seen);
    }
    assert!(
        format!("{stdout}{stderr}").contains("pwned"),
        "{what}: the hostile text is not in the log at all: {}",
        describe(out)
    );
    for token in &tokens {
        assert!(
            token.len() == 34
                && token.starts_with("sk")
                && token[2..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{what}: token {token:?} is not 128 random bits"
        );
        assert!(
            !input.contains(token.as_str()),
            "{what}: token in the input"
        );
    }
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tokens.len(), "{what}: a token was reused");
    tokens
}

/// A stand-in seatkeeper that echoes seats.yaml on stdout and stderr, the
/// worst any output quoting it could do, and exits `code`.
fn echoing_seatkeeper(dir: &Path, code: i32) -> PathBuf {
    let path = dir.join("echoing-seatkeeper");
    std::fs::write(
        &path,
        format!("#!/usr/bin/env bash\ncat seats.yaml\ncat seats.yaml >&2\nexit {code}\n"),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

#[test]
fn run_sh_prints_what_seatkeeper_said_with_workflow_commands_off() {
    let mut all_tokens = Vec::new();
    for (command, code) in [("validate", 1), ("plan", 2), ("plan", 1)] {
        let runner = Runner::new();
        std::fs::write(runner.path("workspace/seats.yaml"), HOSTILE).unwrap();
        let bin = echoing_seatkeeper(runner.dir.path(), code);
        let out = runner.run(
            "run.sh",
            &[
                ("SEATKEEPER_BIN", bin.to_str().unwrap()),
                ("SK_COMMAND", command),
                ("SK_SEATS_FILE", "seats.yaml"),
                ("SK_GITHUB_TOKEN", "ghs_readToken"),
            ],
        );
        assert!(out.status.success(), "{}", describe(&out));
        let what = format!("run.sh {command} exit {code}");
        // run.sh issues no command of its own.
        let tokens = assert_no_injection(&what, &out, &|_| false, HOSTILE);
        assert_eq!(
            tokens.len(),
            2,
            "{what}: one block for stdout, one for stderr"
        );
        all_tokens.extend(tokens);
        // The outputs are the script's, not the hostile text's.
        let outputs = runner.outputs();
        assert_eq!(outputs.get("exit-code"), Some(&code.to_string()), "{what}");
        assert!(!outputs.contains_key("after"), "{what}");
    }
    all_tokens.sort();
    all_tokens.dedup();
    assert_eq!(all_tokens.len(), 6, "every block has its own token");
}

#[test]
fn the_real_seatkeeper_output_of_a_hostile_seats_yaml_issues_no_command() {
    let runner = Runner::new();
    // Valid YAML whose comment, note and a duplicated login carry the lines.
    let yaml = "org: acme\nusers:\n  - octocat\n  - OctoCat\n# ::error::pwned\n::set-output name=x::y\n::add-mask::octocat\n";
    std::fs::write(runner.path("workspace/seats.yaml"), yaml).unwrap();
    let out = runner.run(
        "run.sh",
        &[
            ("SEATKEEPER_BIN", BIN),
            ("SK_COMMAND", "validate"),
            ("SK_SEATS_FILE", "seats.yaml"),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        runner.outputs().get("exit-code").map(String::as_str),
        Some("1")
    );
    let (commands, _) = runner_view(&text(&out.stdout));
    assert!(commands.is_empty(), "{commands:?}\n{}", describe(&out));
    let (commands, _) = runner_view(&text(&out.stderr));
    assert!(commands.is_empty(), "{commands:?}\n{}", describe(&out));
}

#[test]
fn script_messages_with_untrusted_text_stay_one_escaped_line() {
    // check.sh: the seats-file input and an unexpected exit code.
    let runner = Runner::new();
    let file = "seats.yaml\n::set-output name=x::pwned";
    let check = runner.run(
        "check.sh",
        &[
            ("SK_COMMAND", "plan"),
            ("SK_EXIT_CODE", "7\n::add-mask::pwned"),
            ("SK_SEATS_FILE", file),
        ],
    );
    assert_eq!(check.status.code(), Some(1), "{}", describe(&check));
    assert_no_injection(
        "check.sh",
        &check,
        &|l| {
            l.starts_with("::error file=seats.yaml%0A%3A%3Aset-output name=x%3A%3Apwned,title=seatkeeper plan::exit 7%0A::add-mask::pwned")
        },
        file,
    );

    // comment.sh: GitHub's error answer is quoted in the ::error and the log.
    let hostile = HOSTILE.to_string();
    let server = Server::start(move |_| {
        (StatusCode::INTERNAL_SERVER_ERROR, hostile.clone()).into_response()
    });
    let (runner, _, _) = comment_runner(&server);
    let out = runner.run("comment.sh", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one ::error line: {stdout}");
    assert_no_injection(
        "comment.sh",
        &out,
        &|l| {
            l.starts_with("::error title=seatkeeper::listing the comments of #7 failed (HTTP 500): org: acme%0A::set-output")
        },
        HOSTILE,
    );
}

#[test]
fn install_prints_what_gh_quotes_from_an_attestation_with_commands_off() {
    let (bytes, _) = release_tarball();
    for code in [0, 1] {
        let server = asset_server(bytes);
        let mut runner = Runner::new();
        runner
            .set("SEATKEEPER_RELEASE_BASE_URL", &server.url)
            .pin_checksums("# nothing pinned\n");
        fake_gh(&mut runner, HOSTILE, code);
        let out = runner.run("install.sh", &[("SEATKEEPER_VERSION", VERSION)]);
        assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
        assert_no_injection(
            &format!("install.sh, gh exit {code}"),
            &out,
            &|l| l.starts_with("::error title=seatkeeper::the attestation of ") && code == 1,
            HOSTILE,
        );
    }
}

/// Runs `script` (a workflow step's `run:`) with bash -e in `dir`, with `bin`
/// first on PATH and `env`.
fn run_step(dir: &Path, bin: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).unwrap();
    let output = dir.join("output");
    if !output.exists() {
        std::fs::write(&output, "").unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg("-e")
        .arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .env("GITHUB_REPOSITORY", REPO)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_request_and_apply_workflows_print_seatkeeper_output_with_commands_off() {
    // The request step: seatkeeper's answer quotes the issue's note.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    recorder(&bin, "seatkeeper", HOSTILE.trim_end(), 1);
    let out = run_step(
        dir.path(),
        &bin,
        &request_step("request"),
        &[
            ("GITHUB_TOKEN", "ghs_requestToken"),
            ("AUTHOR", "octocat"),
            (
                "ISSUE_URL",
                "https://github.com/acme/copilot-seats/issues/3",
            ),
            ("ISSUE_BODY", HOSTILE),
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let tokens = assert_no_injection("seats-request.yml", &out, &|_| false, HOSTILE);
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("output")).unwrap(),
        "code=1\n"
    );

    // The apply step: seatkeeper apply quotes seats.yaml.
    let workflow = root().join("examples/github-actions/seats-apply.yml");
    let apply = run_blocks(&workflow)
        .into_iter()
        .find(|(_, s)| s.contains("seatkeeper apply"))
        .expect("the apply step")
        .1;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    recorder(&bin, "seatkeeper", HOSTILE.trim_end(), 2);
    let out = run_step(
        dir.path(),
        &bin,
        &without_expressions(&apply),
        &[
            ("GITHUB_TOKEN", "ghs_writeToken"),
            ("SEATS_FILE", "seats.yaml"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let tokens = assert_no_injection("seats-apply.yml", &out, &|_| false, HOSTILE);
    assert_eq!(tokens.len(), 1);
}

// ---------------------------------------------------------------------------
// Concurrency and verifiable releases, read from the workflow files

fn workflow(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn issue_workflows_queue_per_issue_and_never_cancel_a_request() {
    let mut checked = 0;
    for dir in ["examples/github-actions", ".github/workflows"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yml") {
                continue;
            }
            let rel = path
                .strip_prefix(root())
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let doc = workflow(&rel);
            if doc["on"].get("issues").is_none() && doc["on"].get("issue_comment").is_none() {
                continue;
            }
            checked += 1;
            // A group shared by all issues keeps one run pending and cancels
            // the older pending one: that request is never answered.
            let group = doc["concurrency"]["group"].as_str().unwrap_or("");
            assert!(
                group.contains("${{ github.event.issue.number }}"),
                "{rel}: concurrency group {group:?} is not per issue"
            );
            assert_ne!(
                doc["concurrency"]["cancel-in-progress"],
                json!(true),
                "{rel}: a running request must not be cancelled"
            );
        }
    }
    assert!(checked >= 1, "no issue workflow found");
}

#[test]
fn the_release_attests_every_asset_and_the_checksums_and_the_action_verifies() {
    let release = workflow(".github/workflows/release.yml");
    let job = &release["jobs"]["release"];
    assert_eq!(job["permissions"]["id-token"], "write");
    assert_eq!(job["permissions"]["attestations"], "write");
    let steps = job["steps"].as_array().unwrap();
    let at = |pred: &dyn Fn(&Value) -> bool| steps.iter().position(pred);
    let attest = at(&|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
    })
    .expect("an attest-build-provenance step");
    let uses = steps[attest]["uses"].as_str().unwrap();
    let sha = uses.split('@').nth(1).unwrap();
    assert!(
        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "pinned by full commit SHA: {uses}"
    );
    let subjects = steps[attest]["with"]["subject-path"].as_str().unwrap();
    let subjects: Vec<&str> = subjects.lines().map(str::trim).collect();
    for subject in ["dist/*.tar.gz", "dist/*.tgz", "dist/SHA256SUMS"] {
        assert!(
            subjects.contains(&subject),
            "{subject} not attested: {subjects:?}"
        );
    }
    let sums = at(&|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("> SHA256SUMS"))
    })
    .expect("SHA256SUMS is written");
    let publish = at(&|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("gh release create"))
    })
    .expect("the release is created");
    assert!(
        sums < attest && attest < publish,
        "sums, attest, publish: in order"
    );

    // The Action: its install step gets the token gh needs, and install.sh
    // verifies with gh attestation verify (tested with a stand-in gh above)
    // and has no download of a checksum beside the binary.
    let action = action_yml();
    let install = &action["runs"]["steps"][0];
    assert_eq!(install["id"], "install");
    assert_eq!(install["env"]["GH_TOKEN"], "${{ github.token }}");
    let script = std::fs::read_to_string(root().join("action/install.sh")).unwrap();
    assert!(script.contains("gh attestation verify \"$file\" \"${signer[@]}\""));
    assert!(
        !script.contains(".sha256\""),
        "install.sh must not fetch a .sha256"
    );
}
