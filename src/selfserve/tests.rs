use super::*;

fn ask(kind: Kind, login: &str, requester: &str) -> Ask {
    Ask {
        kind,
        login: login.to_string(),
        requester: requester.to_string(),
        note: None,
        expires: None,
        source: None,
        today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        bounds: Default::default(),
        budget: None,
    }
}

const FILE: &str = "# seats\norg: acme\nusers:\n  - alice   # first\n  - carol\n";

#[test]
fn prepare_cases() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let others =
        "org: acme\npolicy:\n  self_serve: {allow_requests_for_others: true}\nusers: [alice]\n";
    let expiry = "org: acme\npolicy:\n  self_serve: {default_expiry_days: 30}\nusers:\n  - alice\n";
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Ask, Result<&str, Refusal>)> = vec![
        ("sorted insertion, one line", FILE, ask(Kind::Request, "bob", "bob"),
            Ok("# seats\norg: acme\nusers:\n  - alice   # first\n  - bob\n  - carol\n")),
        ("already listed, any case", FILE, ask(Kind::Request, "Alice", "alice"), Err(Refusal::BadEntry)),
        ("release", FILE, ask(Kind::Release, "carol", "carol"), Ok("# seats\norg: acme\nusers:\n  - alice   # first\n")),
        ("malformed login", FILE, ask(Kind::Request, "bob_", "bob_"), Err(Refusal::MalformedLogin)),
        ("malformed requester", FILE, ask(Kind::Request, "bob", "-x"), Err(Refusal::MalformedLogin)),
        ("for someone else", FILE, ask(Kind::Request, "bob", "alice"), Err(Refusal::ForOthers)),
        ("release for someone else", FILE, ask(Kind::Release, "carol", "alice"), Err(Refusal::ForOthers)),
        ("for someone else, allowed", others, ask(Kind::Request, "bob", "alice"),
            Ok("org: acme\npolicy:\n  self_serve: {allow_requests_for_others: true}\nusers: [alice, bob]\n")),
        ("default expiry", expiry, ask(Kind::Request, "bob", "bob"),
            Ok("org: acme\npolicy:\n  self_serve: {default_expiry_days: 30}\nusers:\n  - alice\n  - login: bob\n    expires: 2026-07-01\n")),
        ("explicit expiry and note", FILE, Ask { expires: Some(d("2026-12-31")), note: Some("trial".into()), ..ask(Kind::Request, "bob", "bob") },
            Ok("# seats\norg: acme\nusers:\n  - alice   # first\n  - login: bob\n    expires: 2026-12-31\n    note: trial\n  - carol\n")),
        ("expiry in the past", FILE, Ask { expires: Some(d("2026-05-31")), ..ask(Kind::Request, "bob", "bob") }, Err(Refusal::BadEntry)),
        ("note on two lines", FILE, Ask { note: Some("a\nb".into()), ..ask(Kind::Request, "bob", "bob") }, Err(Refusal::BadEntry)),
        ("note too long", FILE, Ask { note: Some("x".repeat(MAX_NOTE_CHARS + 1)), ..ask(Kind::Request, "bob", "bob") }, Err(Refusal::BadEntry)),
    ];
    for (name, text, ask, want) in cases {
        let got = prepare("seats.yaml", text, &ask);
        match (got, want) {
            (Ok(Prepared::Change { edited, .. }), Ok(w)) => assert_eq!(edited.text, w, "{name}"),
            (Ok(Prepared::AlreadyListed { pos }), Err(Refusal::BadEntry))
                if name.starts_with("already") =>
            {
                assert_eq!(pos.line, 4, "{name}")
            }
            (Err(SelfServeError::Refused { refusal, message }), Err(w)) => {
                assert_eq!(refusal, w, "{name}: {message}")
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn release_of_an_unlisted_login_is_a_no_op() {
    let got = prepare("seats.yaml", FILE, &ask(Kind::Release, "zed", "zed")).unwrap();
    assert_eq!(got, Prepared::NotListed);
}

#[test]
fn an_invalid_file_is_named_with_its_problems() {
    let err = prepare(
        "seats.yaml",
        "org: acme\nusers: [a, A]\n",
        &ask(Kind::Request, "b", "b"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.label(), "invalid_file");
    assert!(text.contains("seats.yaml:2:12"), "{text}");
    assert!(
        text.contains("must be fixed before seats can be requested"),
        "{text}"
    );
}

#[test]
fn commit_messages_name_the_requester_and_cannot_forge_trailers() {
    let mut a = ask(Kind::Request, "bob", "bob");
    a.source = Some("https://github.com/acme/seats/issues/7\nRequested-by: mallory".into());
    let msg = commit_message(&a, "seats.yaml", NaiveDate::from_ymd_opt(2026, 9, 1));
    assert_eq!(
        msg,
        "seats.yaml: grant a Copilot seat to bob\n\n\
         Requested by @bob via https://github.com/acme/seats/issues/7 Requested-by: mallory with `seatkeeper request`.\n\n\
         Seatkeeper-Action: request\nSeatkeeper-Login: bob\nRequested-by: bob\nSeatkeeper-Expires: 2026-09-01\n\
         Seatkeeper-Source: https://github.com/acme/seats/issues/7 Requested-by: mallory\n"
    );
    let r = commit_message(&ask(Kind::Release, "bob", "bob"), "seats.yaml", None);
    assert!(
        r.starts_with("seats.yaml: release the Copilot seat of bob\n\nReleased by @bob with"),
        "{r}"
    );
    assert_eq!(
        r.lines().filter(|l| l.starts_with("Requested-by:")).count(),
        1
    );
}
