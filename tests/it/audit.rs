//! `cargo audit` (RustSec) in CI: scripts/audit.sh installs cargo-audit
//! (hash-pinned wheel) and unpacks the committed advisory-db snapshot; this
//! checks that the audit it runs passes on Cargo.lock and fails on a lock
//! holding a crate with a known advisory, offline.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn audit(lock: &std::path::Path) -> std::process::Output {
    let bin = crate::support::tool(
        &root().join("target/tools/cargo-audit/bin/cargo-audit"),
        "bash scripts/audit.sh",
    );
    let db = root().join("target/advisory-db");
    assert!(
        db.join("SNAPSHOT").is_file(),
        "bash scripts/audit.sh unpacks the database"
    );
    Command::new(bin)
        .args(["audit", "--db"])
        .arg(&db)
        .args(["--no-fetch", "--stale", "--deny", "warnings", "--file"])
        .arg(lock)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs cargo-audit: bash scripts/audit.sh"]
fn cargo_audit_passes_on_the_lock_and_fails_on_a_known_advisory() {
    let ok = audit(&root().join("Cargo.lock"));
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    // rsa 0.9.6: RUSTSEC-2023-0071 (Marvin attack), the reason the App JWT
    // is signed with ring instead.
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"rsa\"]\n\n[[package]]\nname = \"rsa\"\nversion = \"0.9.6\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    let bad = audit(&lock);
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(out.contains("RUSTSEC-2023-0071"), "{out}");
}
