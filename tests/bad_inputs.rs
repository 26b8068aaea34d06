//! Every file in tests/fixtures/bad/ must be refused with exactly the error
//! text in its `.expected` sibling. `UPDATE_EXPECT=1 cargo test --test
//! bad_inputs` rewrites the expectations (review the diff before committing).

use std::path::Path;

use seatkeeper::config::SeatsFile;

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_fixture_fails_with_its_expected_message() {
    let files = fixtures();
    assert!(files.len() >= 25, "only {} bad fixtures", files.len());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatches = Vec::new();
    for path in files {
        let name = format!(
            "bad/{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("utf-8 name")
        );
        let bytes = std::fs::read(&path).expect("read fixture");
        let err = match SeatsFile::parse(&name, &bytes) {
            Ok(f) => panic!("{name} parsed but must not: {f:?}"),
            Err(e) => e.to_string() + "\n",
        };
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &err).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if expected != err {
            mismatches.push(format!("--- {name}\nexpected:\n{expected}\ngot:\n{err}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn many_problems_are_all_reported_in_one_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/many-problems.yaml");
    let err = SeatsFile::parse("seats.yaml", &std::fs::read(path).unwrap()).unwrap_err();
    let lines: Vec<u32> = err.diagnostics.iter().map(|d| d.pos.line).collect();
    // unknown key (2), bad slug (4), duplicate login (7), bad login (8),
    // bad date (10), duplicate org key (11)
    assert_eq!(lines, vec![2, 4, 7, 8, 10, 11]);
}

#[test]
fn ten_mebibyte_file_is_refused_before_parsing() {
    let mut big = b"org: acme\nusers:\n".to_vec();
    big.resize(10 * 1024 * 1024, b'#');
    let err = SeatsFile::parse("big.yaml", &big).unwrap_err();
    assert!(err.to_string().contains("at most 1048576 bytes"), "{err}");
}

#[test]
fn crlf_bom_and_odd_but_valid_files_parse() {
    let cases: &[(&str, &[u8])] = &[
        ("crlf", b"org: acme\r\nusers:\r\n  - alice\r\n"),
        ("bom", b"\xef\xbb\xbforg: acme\nusers:\n  - alice\n"),
        ("numeric login", b"org: acme\nusers:\n  - 1234\n"),
        (
            "flow style",
            b"{org: acme, users: [alice, {login: bob, expires: 2030-01-01}]}",
        ),
        ("empty lists", b"org: acme\nusers: []\nteams: []\n"),
        (
            "anchors within limits",
            b"org: acme\npolicy:\n  protected: &p [alice]\nusers: *p\n",
        ),
        (
            "enterprise team prefix",
            b"enterprise: acme-corp\nteams:\n  - ent:platform\n",
        ),
    ];
    for (name, bytes) in cases {
        let f = SeatsFile::parse(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!f.scope.name().is_empty(), "{name}");
    }
}
