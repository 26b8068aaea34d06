//! Edit cases: every layout, kept byte for byte or refused.

use super::*;

/// An edit to try.
#[derive(Debug, Clone, Copy)]
enum Op<'a> {
    Add(&'a str),
    AddWith(&'a str, Option<&'a str>, Option<&'a str>),
    Remove(&'a [&'a str]),
}

fn run(text: &str, op: Op<'_>) -> Result<Edit, EditError> {
    match op {
        Op::Add(login) => add_user(
            "seats.yaml",
            text,
            &NewUser {
                login,
                note: None,
                expires: None,
            },
        ),
        Op::AddWith(login, note, expires) => add_user(
            "seats.yaml",
            text,
            &NewUser {
                login,
                note,
                expires: expires.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
            },
        ),
        Op::Remove(logins) => remove_users("seats.yaml", text, logins),
    }
}

#[test]
fn edits_produce_exact_text() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Op, &str)] = &[
        // --- block lists: sorted insertion, comments above belong to the next entry
        ("sorted middle", "org: acme\nusers:\n  - alice\n  # bob's trial\n  - carol\n",
         Op::Add("bob"), "org: acme\nusers:\n  - alice\n  - bob\n  # bob's trial\n  - carol\n"),
        ("sorted first, comment under key", "org: acme\nusers:\n  # people\n  - bob\n",
         Op::Add("Al"), "org: acme\nusers:\n  - Al\n  # people\n  - bob\n"),
        ("sorted last", "org: acme\nusers:\n  - a\n  - b  # two\nteams: [x]\n",
         Op::Add("c"), "org: acme\nusers:\n  - a\n  - b  # two\n  - c\nteams: [x]\n"),
        ("sorted case-insensitively", "org: acme\nusers:\n  - Alice\n  - bob\n  - Dave\n",
         Op::Add("carol"), "org: acme\nusers:\n  - Alice\n  - bob\n  - carol\n  - Dave\n"),
        ("unsorted appends after last entry, before trailing comments", "org: acme\nusers:\n- mona\n- carol\n# - old\n\nteams:\n- t\n",
         Op::Add("bob"), "org: acme\nusers:\n- mona\n- carol\n- bob\n# - old\n\nteams:\n- t\n"),
        ("indentation and spacing follow the file", "org: acme\nusers:\n    -   b\n    -   c\n",
         Op::Add("a"), "org: acme\nusers:\n    -   a\n    -   b\n    -   c\n"),
        // --- quoting
        ("double-quoted neighbours", "org: acme\nusers:\n  - \"b\"\n  - \"d\"\n",
         Op::Add("c"), "org: acme\nusers:\n  - \"b\"\n  - \"c\"\n  - \"d\"\n"),
        ("single-quoted neighbours", "org: acme\nusers:\n  - 'b'\n",
         Op::Add("c"), "org: acme\nusers:\n  - 'b'\n  - 'c'\n"),
        ("numeric login quoted", "org: acme\nusers:\n  - b\n  - a\n",
         Op::Add("012"), "org: acme\nusers:\n  - b\n  - a\n  - \"012\"\n"),
        ("hex login quoted", "org: acme\nusers: [b, a]\n", Op::Add("0x1F"), "org: acme\nusers: [b, a, \"0x1F\"]\n"),
        ("exponent login quoted", "org: acme\nusers: [b, a]\n", Op::Add("1e3"), "org: acme\nusers: [b, a, \"1e3\"]\n"),
        ("boolean words quoted", "org: acme\nusers: [b, a]\n", Op::Add("No"), "org: acme\nusers: [b, a, \"No\"]\n"),
        ("on quoted", "org: acme\nusers: [b, a]\n", Op::Add("on"), "org: acme\nusers: [b, a, \"on\"]\n"),
        ("null quoted", "org: acme\nusers: [b, a]\n", Op::Add("null"), "org: acme\nusers: [b, a, \"null\"]\n"),
        ("date-like login quoted", "org: acme\nusers: [b, a]\n", Op::Add("2024-01-02"), "org: acme\nusers: [b, a, \"2024-01-02\"]\n"),
        ("ordinary login not quoted", "org: acme\nusers: [b, a]\n", Op::Add("1abc-x"), "org: acme\nusers: [b, a, 1abc-x]\n"),
        // --- mapping entries
        ("default layout login, expires, note", "org: acme\nusers:\n  - a\n",
         Op::AddWith("b", Some("trial"), Some("2027-01-31")),
         "org: acme\nusers:\n  - a\n  - login: b\n    expires: 2027-01-31\n    note: trial\n"),
        ("layout and key order of existing mapping entries", "org: acme\nusers:\n- login: a\n  note: x\n  expires: 2027-01-01\n- c\n",
         Op::AddWith("b", Some("y"), Some("2027-02-01")),
         "org: acme\nusers:\n- login: a\n  note: x\n  expires: 2027-01-01\n- login: b\n  note: \"y\"\n  expires: 2027-02-01\n- c\n"),
        ("missing key goes to its default place", "org: acme\nusers:\n  -   note: x\n      login: a\n",
         Op::AddWith("b", Some("y"), Some("2027-02-01")),
         "org: acme\nusers:\n  -   note: x\n      login: a\n  -   note: \"y\"\n      login: b\n      expires: 2027-02-01\n"),
        ("flow mapping entries in a block list", "org: acme\nusers:\n  - {login: a, note: x}\n",
         Op::AddWith("b", None, Some("2027-02-01")),
         "org: acme\nusers:\n  - {login: a, note: x}\n  - {login: b, expires: 2027-02-01}\n"),
        ("insert after a block scalar note, above the next entry's comment", "org: acme\nusers:\n  - login: a\n    note: |\n      # not a comment\n      line two\n\n  # about c\n  - c\n",
         Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: |\n      # not a comment\n      line two\n\n  - b\n  # about c\n  - c\n"),
        ("append after a note that keeps its blank lines", "org: acme\nusers:\n  - login: a\n    note: |+\n      x\n\n",
         Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: |+\n      x\n\n  - b\n"),
        ("kept blank lines, then a comment", "org: acme\nusers:\n  - login: a\n    note: >+\n      x\n\n  # c\n  - c\n",
         Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: >+\n      x\n\n  - b\n  # c\n  - c\n"),
        ("multi-line flow mapping entry", "org: acme\nusers:\n  - {login: a,\n     note: x}\n  - c\n",
         Op::Add("b"), "org: acme\nusers:\n  - {login: a,\n     note: x}\n  - b\n  - c\n"),
        ("indented root mapping", "  org: acme\n  teams: [t]\n", Op::Add("a"), "  org: acme\n  teams: [t]\n  users: [a]\n"),
        ("indented root mapping, block", "  org: acme\n", Op::Add("a"), "  org: acme\n  users:\n    - a\n"),
        ("quoted key and document start", "---\norg: acme\n\"users\":\n- b\n", Op::Add("a"), "---\norg: acme\n\"users\":\n- a\n- b\n"),
        // --- notes: quoted only when needed
        ("plain note in a flow mapping", "org: acme\nusers: [a]\n", Op::AddWith("b", Some("it's a trial (Q3)"), None),
         "org: acme\nusers: [a, {login: b, note: it's a trial (Q3)}]\n"),
        // --- flow lists, edited in place
        ("flow sorted", "org: acme\nusers: [a, c]  # people\n", Op::Add("b"), "org: acme\nusers: [a, b, c]  # people\n"),
        ("flow first", "org: acme\nusers: [ b,c ]\n", Op::Add("a"), "org: acme\nusers: [ a,b,c ]\n"),
        ("flow empty", "org: acme\nusers: []\n", Op::Add("a"), "org: acme\nusers: [a]\n"),
        ("flow mapping entry", "org: acme\nusers: []\n", Op::AddWith("a", Some("x, y"), Some("2027-01-31")),
         "org: acme\nusers: [{login: a, expires: 2027-01-31, note: \"x, y\"}]\n"),
        ("flow trailing comma", "org: acme\nusers: [b, a,]\n", Op::Add("c"), "org: acme\nusers: [b, a, c,]\n"),
        ("multi-line flow, one per line", "org: acme\nusers: [\n  a,\n  b\n]\n", Op::Add("c"), "org: acme\nusers: [\n  a,\n  b,\n  c\n]\n"),
        // --- no users key
        ("no users: block in the style of teams", "org: acme\nteams:\n    - t\n", Op::Add("a"), "org: acme\nteams:\n    - t\nusers:\n    - a\n"),
        ("no users: flow teams", "org: acme\nteams: [t]\n# end\n", Op::Add("a"), "org: acme\nteams: [t]\n# end\nusers: [a]\n"),
        ("no users, no teams", "org: acme", Op::AddWith("a", Some("n"), None), "org: acme\nusers:\n  - login: a\n    note: \"n\""),
        ("no users before a document end marker", "org: acme\n...\n", Op::Add("a"), "org: acme\nusers:\n  - a\n...\n"),
        // --- line ends, BOM
        ("CRLF stays CRLF", "org: acme\r\nusers:\r\n  - a\r\n  - c\r\n", Op::Add("b"), "org: acme\r\nusers:\r\n  - a\r\n  - b\r\n  - c\r\n"),
        ("no final newline, appended at the end", "org: acme\nusers:\n  - a", Op::Add("b"), "org: acme\nusers:\n  - a\n  - b"),
        ("no final newline, inserted inside", "org: acme\nusers:\n  - b\nteams: [t]", Op::Add("a"), "org: acme\nusers:\n  - a\n  - b\nteams: [t]"),
        ("BOM stays", "\u{feff}org: acme\nusers:\n  - b\n", Op::Add("a"), "\u{feff}org: acme\nusers:\n  - a\n  - b\n"),
        // --- removals
        ("remove bare entry with its own comment", "org: acme\nusers:\n  - a\n  # above b\n  - b   # b's line\n  - c\n",
         Op::Remove(&["B"]), "org: acme\nusers:\n  - a\n  # above b\n  - c\n"),
        ("remove mapping entry, all its lines", "org: acme\nusers:\n  - a\n  - login: b\n    # why\n    expires: 2027-01-01\n    note: >\n      folded\n      text\n  # c\n  - c\n",
         Op::Remove(&["b"]), "org: acme\nusers:\n  - a\n  # c\n  - c\n"),
        ("remove the last entry leaves []", "org: acme\nusers:                 # direct seats\n  # only\n  - a  # x\nteams: [t]\n",
         Op::Remove(&["a"]), "org: acme\nusers: []              # direct seats\n  # only\nteams: [t]\n"),
        ("remove among identical lines", "org: acme\nusers:\n- note: \"\"\n  login: alice\n- note: \"\"\n  login: Bob", Op::Remove(&["alice"]),
         "org: acme\nusers:\n- note: \"\"\n  login: Bob"),
        ("remove several", "org: acme\nusers:\n  - a\n  - b\n  - c\n  - d\n", Op::Remove(&["a", "c", "D", "zz"]), "org: acme\nusers:\n  - b\n"),
        ("remove at the end, no final newline", "org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b"]), "org: acme\nusers:\n  - a"),
        ("remove all, no final newline", "org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b", "a"]), "org: acme\nusers: []"),
        ("remove CRLF", "org: acme\r\nusers:\r\n  - a\r\n  - b\r\n", Op::Remove(&["a"]), "org: acme\r\nusers:\r\n  - b\r\n"),
        ("flow remove middle", "org: acme\nusers: [a, b, c]\n", Op::Remove(&["b"]), "org: acme\nusers: [a, c]\n"),
        ("flow remove first", "org: acme\nusers: [ a, b ]\n", Op::Remove(&["a"]), "org: acme\nusers: [ b ]\n"),
        ("flow remove last", "org: acme\nusers: [a, {login: b, note: x}]\n", Op::Remove(&["b"]), "org: acme\nusers: [a]\n"),
        ("flow remove last two", "org: acme\nusers: [a, b, c]\n", Op::Remove(&["b", "c"]), "org: acme\nusers: [a]\n"),
        ("flow remove only", "org: acme\nusers: [ a, ]\n", Op::Remove(&["a"]), "org: acme\nusers: []\n"),
        ("remove a note that keeps its blank lines", "org: acme\nusers:\n  - a\n  - login: b\n    note: |+\n      x\n\n",
         Op::Remove(&["b"]), "org: acme\nusers:\n  - a\n"),
        ("remove all under a quoted key", "org: acme\n\"users\":  # c\n- b\n", Op::Remove(&["b"]), "org: acme\n\"users\": [] # c\n"),
        ("multi-line flow remove", "org: acme\nusers: [\n  a,\n  b,\n  c\n]\n", Op::Remove(&["b"]), "org: acme\nusers: [\n  a,\n  c\n]\n"),
    ];
    let mut failures = Vec::new();
    for (name, input, op, want) in cases {
        match run(input, *op) {
            Ok(Edit::Changed { text, .. }) if text == *want => {}
            other => failures.push(format!(
                "{name}: {op:?}\n  input: {input:?}\n  want:  {want:?}\n  got:   {other:?}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn no_ops_and_refusals() {
    let pos = |line, col| Edit::AlreadyListed {
        pos: Pos { line, col },
    };
    #[rustfmt::skip]
    let cases: &[(&str, &str, Op, Result<Edit, &str>)] = &[
        ("already listed, other case", "org: acme\nusers:\n  - a\n  - Mona\n", Op::Add("mONA"), Ok(pos(4, 5))),
        ("already listed in a mapping", "org: acme\nusers: [{login: hubot}]\n", Op::AddWith("HUBOT", Some("x"), None), Ok(pos(2, 17))),
        ("remove absent", "org: acme\nusers: [a]\n", Op::Remove(&["b"]), Ok(Edit::NotListed)),
        ("remove without users", "org: acme\n", Op::Remove(&["b"]), Ok(Edit::NotListed)),
        ("input does not parse", "org: acme\nusers: [a, a]\n", Op::Add("b"), Err("listed twice")),
        ("invalid login", "org: acme\n", Op::Add("bad_login"), Err("cannot add `bad_login`: the login contains '_'")),
        ("anchored list", "org: acme\nusers: &u [a]\n", Op::Add("b"), Err("seats.yaml:2: cannot edit `users` automatically: the `users` list uses anchors")),
        ("aliased list", "org: acme\npolicy:\n  protected: &p [a]\nusers: *p\n", Op::Remove(&["a"]), Err(":4: cannot edit `users` automatically: the `users` list uses anchors")),
        ("anchored entry", "org: acme\nusers:\n  - &x a\n  - b\n", Op::Remove(&["a"]), Err(":3: cannot edit")),
        ("tagged entry", "org: acme\nusers:\n  - !!str a\n", Op::Add("b"), Err("tags (`!`)")),
        ("multi-line flow with comments", "org: acme\nusers: [\n  a,  # first\n  b\n]\n", Op::Add("c"), Err(":3: cannot edit `users` automatically: the `users` flow list (`[...]`) has comments inside it")),
        ("flow root", "{org: acme, users: [a]}\n", Op::Add("b"), Err("one flow mapping")),
        ("entry below its dash", "org: acme\nusers:\n  -\n    login: a\n", Op::Add("b"), Err(":4: cannot edit `users` automatically: an entry does not start on its `- ` line")),
        ("lone carriage return", "org: acme\rusers: [a]\n", Op::Add("b"), Err("lone carriage return")),
        ("expires beyond year 9999", "org: acme\n", Op::AddWith("b", None, Some("+10000-01-01")), Err("expires")),
    ];
    for (name, input, op, want) in cases {
        let got = match op {
            // chrono cannot parse a 5-digit year with the helper's format.
            Op::AddWith(login, None, Some("+10000-01-01")) => add_user(
                "seats.yaml",
                input,
                &NewUser {
                    login,
                    note: None,
                    expires: NaiveDate::from_ymd_opt(10000, 1, 1),
                },
            ),
            _ => run(input, *op),
        };
        match (&got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{name}"),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name}: {e}"),
            _ => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn notes_are_quoted_only_when_needed() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str)] = &[
        // note, block context, flow context
        ("trial for the data team", "trial for the data team", "trial for the data team"),
        ("it's fine, really", "it's fine, really", "\"it's fine, really\""),
        ("a: b", "\"a: b\"", "\"a: b\""),
        ("ends with colon:", "\"ends with colon:\"", "\"ends with colon:\""),
        ("x #y", "\"x #y\"", "\"x #y\""),
        ("x#y", "x#y", "x#y"),
        ("#lead", "\"#lead\"", "\"#lead\""),
        ("- dash", "\"- dash\"", "\"- dash\""),
        ("[x]", "\"[x]\"", "\"[x]\""),
        ("@team", "\"@team\"", "\"@team\""),
        ("'q'", "\"'q'\"", "\"'q'\""),
        ("say \"hi\"", "say \"hi\"", "say \"hi\""),
        ("\"q\" it's", "'\"q\" it''s'", "'\"q\" it''s'"),
        ("back\\slash", "back\\slash", "back\\slash"),
        ("\\lead", "\\lead", "\\lead"),
        ("\"\\\"", "'\"\\\"'", "'\"\\\"'"),
        (" padded", "\" padded\"", "\" padded\""),
        ("", "\"\"", "\"\""),
        ("yes", "\"yes\"", "\"yes\""),
        ("123", "\"123\"", "\"123\""),
        ("1.5", "\"1.5\"", "\"1.5\""),
        ("2027-01-31", "\"2027-01-31\"", "\"2027-01-31\""),
        ("~", "\"~\"", "\"~\""),
        ("two\nlines\tand \u{7}", "\"two\\nlines\\tand \\x07\"", "\"two\\nlines\\tand \\x07\""),
        ("sep\u{2028}bom\u{feff}", "\"sep\\Lbom\\uFEFF\"", "\"sep\\Lbom\\uFEFF\""),
        ("café ünïcode", "café ünïcode", "café ünïcode"),
    ];
    for (note, block, flow) in cases {
        assert_eq!(format_note(note, false), *block, "block {note:?}");
        assert_eq!(format_note(note, true), *flow, "flow {note:?}");
        // And it reads back as the same note.
        for (list, want) in [("users:\n  - a\n", block), ("users: [a]\n", flow)] {
            let text = format!("org: acme\n{list}");
            let user = NewUser {
                login: "b",
                note: Some(note),
                expires: None,
            };
            let Ok(Edit::Changed { text, .. }) = add_user("seats.yaml", &text, &user) else {
                panic!("{note:?} in {list:?}");
            };
            assert!(text.contains(*want), "{note:?}: {text}");
            let f = SeatsFile::parse("seats.yaml", text.as_bytes()).unwrap();
            assert_eq!(f.users[1].note.as_deref(), Some(*note));
        }
    }
}

#[test]
fn large_files_stay_fast() {
    let logins: Vec<String> = (0..20_000).map(|i| format!("user-{i:05}")).collect();
    let mut text = String::from("org: acme\nusers:\n");
    for l in &logins {
        text.push_str(&format!("  - {l}\n"));
    }
    let started = std::time::Instant::now();
    let user = NewUser {
        login: "user-10000a",
        note: None,
        expires: None,
    };
    let Ok(Edit::Changed { lines, .. }) = add_user("f", &text, &user) else {
        panic!("add")
    };
    assert_eq!(lines, 10_004..=10_004);
    let reclaim: Vec<&str> = logins.iter().step_by(20).map(String::as_str).collect();
    let Ok(Edit::Changed { text: new, lines }) = remove_users("f", &text, &reclaim) else {
        panic!("remove")
    };
    assert_eq!(lines, 3..=19_983);
    assert_eq!(new.lines().count(), 2 + 20_000 - 1_000);
    // Generous for debug builds on a busy machine; quadratic work takes minutes.
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn reports_the_lines_it_touched() {
    #[rustfmt::skip]
    let cases: &[(&str, Op, RangeInclusive<u32>)] = &[
        ("org: acme\nusers:\n  - a\n  - c\n", Op::Add("b"), 4..=4),
        ("org: acme\nusers:\n  - a\n", Op::AddWith("b", Some("n"), Some("2027-01-01")), 4..=6),
        ("org: acme\nusers:\n  - a", Op::Add("b"), 3..=4),
        ("org: acme\nusers: [a]\n", Op::Add("b"), 2..=2),
        ("org: acme\nusers:\n  - a\n  - login: b\n    note: x\n  - c\n", Op::Remove(&["b"]), 4..=5),
        ("org: acme\nusers:\n  - a\n  - b\n  - c\n", Op::Remove(&["a", "c"]), 3..=5),
        ("org: acme\nusers:\n  - a\n", Op::Remove(&["a"]), 2..=3),
        ("org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b"]), 3..=4),
    ];
    for (input, op, want) in cases {
        match run(input, *op) {
            Ok(Edit::Changed { lines, .. }) => assert_eq!(lines, *want, "{input:?} {op:?}"),
            other => panic!("{input:?} {op:?}: {other:?}"),
        }
    }
}

/// Every valid seats.yaml the repository holds, plus CRLF, no-final-newline
/// and BOM variants of each.
fn fixtures() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join("seats.yaml")];
    walk(&root.join("tests/fixtures"), &mut paths);
    walk(&root.join("examples"), &mut paths);
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if SeatsFile::parse("f", text.as_bytes()).is_err() {
            continue;
        }
        let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        let lf = text.replace("\r\n", "\n");
        out.push((format!("{name} (CRLF)"), lf.replace('\n', "\r\n")));
        out.push((
            format!("{name} (no final newline)"),
            lf.trim_end_matches('\n').to_string(),
        ));
        out.push((format!("{name} (BOM)"), format!("\u{feff}{text}")));
        out.push((name, text));
    }
    out
}

/// Checks that an edit changed only `lines`: of the new text for an
/// addition (`added`), of the old text for a removal. Outside them both
/// texts hold the same lines; inside, the other text has at most
/// `inside` lines (a flow list's line, a key line becoming `users: []`,
/// a last line gaining or losing its line break; any number for a
/// removal of several entries, whose kept lines lie between). `similar`'s
/// line diff must agree on the counts (not on positions: with repeated
/// lines such as `- note: x` several alignments are equally right).
fn confined(
    old: &str,
    new: &str,
    lines: &RangeInclusive<u32>,
    added: bool,
    inside: usize,
) -> Result<(), String> {
    let diff = similar::TextDiff::from_lines(old, new);
    let (mut old_changed, mut new_changed) = (0, 0);
    for op in diff.ops() {
        if op.tag() != similar::DiffTag::Equal {
            old_changed += op.old_range().len();
            new_changed += op.new_range().len();
        }
    }
    let (edited, other, edited_changed, other_changed) = if added {
        (new, old, new_changed, old_changed)
    } else {
        (old, new, old_changed, new_changed)
    };
    let e: Vec<&str> = edited.split_inclusive('\n').collect();
    let t: Vec<&str> = other.split_inclusive('\n').collect();
    let (first, last) = (*lines.start() as usize, *lines.end() as usize);
    if first == 0 || last > e.len() || first > last {
        return Err(format!(
            "lines {lines:?} outside a text of {} lines",
            e.len()
        ));
    }
    let (before, after) = (&e[..first - 1], &e[last..]);
    let kept = before.len() + after.len();
    if !(t.starts_with(before) && t.ends_with(after) && t.len() >= kept && t.len() - kept <= inside)
    {
        return Err(format!(
            "text outside lines {lines:?} changed:\n{old:?}\n->\n{new:?}"
        ));
    }
    if edited_changed > last - first + 1 || other_changed > inside {
        return Err(format!(
            "diff changes {old_changed} old and {new_changed} new lines, reported {lines:?}"
        ));
    }
    Ok(())
}

fn users_of(text: &str) -> Vec<UserData> {
    SeatsFile::parse("f", text.as_bytes())
        .expect("edited file parses")
        .users
        .iter()
        .map(user_data)
        .collect()
}

#[test]
fn fixtures_change_only_the_entry_lines_and_round_trip() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 16,
        "found only {} valid fixtures",
        fixtures.len()
    );
    let d = NaiveDate::from_ymd_opt(2027, 1, 31);
    let adds = [
        NewUser {
            login: "zz-new",
            note: None,
            expires: None,
        },
        NewUser {
            login: "aaa-first",
            note: None,
            expires: None,
        },
        NewUser {
            login: "mm-mapped",
            note: Some("trial: data team #3"),
            expires: d,
        },
        NewUser {
            login: "0123",
            note: None,
            expires: d,
        },
    ];
    for (name, text) in &fixtures {
        let before = users_of(text);
        for user in &adds {
            let Ok(Edit::Changed { text: new, lines }) = add_user("f", text, user) else {
                panic!("{name}: add {user:?} did not change the file");
            };
            if let Err(e) = confined(text, &new, &lines, true, 1) {
                panic!("{name}: add {}: {e}", user.login);
            }
            let after = users_of(&new);
            assert_eq!(after.len(), before.len() + 1, "{name}");
            assert!(
                after.iter().any(|u| u.0 == user.login
                    && u.1 == user.expires
                    && u.2.as_deref() == user.note)
            );
            // Removing it again gives the original, byte for byte.
            match remove_user("f", &new, user.login) {
                Ok(Edit::Changed { text: back, .. }) => {
                    assert_eq!(&back, text, "{name}: round trip of {}", user.login)
                }
                other => panic!("{name}: remove {}: {other:?}", user.login),
            }
        }
        for u in &before {
            let Ok(Edit::Changed { text: new, lines }) = remove_user("f", text, &u.0) else {
                panic!("{name}: remove {} did not change the file", u.0);
            };
            if let Err(e) = confined(text, &new, &lines, false, 2) {
                panic!("{name}: remove {}: {e}", u.0);
            }
            let want: Vec<UserData> = before.iter().filter(|b| b.0 != u.0).cloned().collect();
            assert_eq!(users_of(&new), want, "{name}: remove {}", u.0);
        }
        if !before.is_empty() {
            let all: Vec<&str> = before.iter().map(|u| u.0.as_str()).collect();
            let Ok(Edit::Changed { text: new, .. }) = remove_users("f", text, &all) else {
                panic!("{name}: remove all");
            };
            assert!(users_of(&new).is_empty(), "{name}");
            assert!(new.contains("users: []"), "{name}: {new}");
        }
    }
}

/// Small edits of every fixture (lines dropped, doubled, characters
/// inserted): whatever still parses is edited correctly or refused
/// cleanly, never a panic and never a file that means something else.
#[test]
fn mutated_fixtures_edit_correctly_or_refuse() {
    const SNIPPETS: &[&str] = &[
        "  - x1\n",
        "# c\n",
        "  ",
        "\n",
        "[",
        "]",
        ",",
        "users: []\n",
        "- login: q\n  note: |\n    t\n",
        "&a ",
        "*a",
        "\t",
        "\r",
        "{",
        "}",
        "'",
        "\"",
        "- ",
        ": ",
        " #",
        "\u{feff}",
        "...\n",
        "---\n",
    ];
    let started = std::time::Instant::now();
    let mut inputs = Vec::new();
    for (_, text) in fixtures() {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for i in 0..lines.len() {
            let mut drop = lines.clone();
            drop.remove(i);
            inputs.push(drop.concat());
            let mut dup = lines.clone();
            dup.insert(i, lines[i]);
            inputs.push(dup.concat());
        }
        let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(5).collect();
        for (n, at) in cuts.iter().enumerate() {
            let snippet = SNIPPETS[n % SNIPPETS.len()];
            inputs.push(format!("{}{snippet}{}", &text[..*at], &text[*at..]));
        }
    }
    let mut edited = 0;
    for (n, input) in inputs.iter().enumerate() {
        assert!(
            started.elapsed().as_secs() < 120,
            "stopped after {n} inputs"
        );
        let Ok(file) = SeatsFile::parse("f", input.as_bytes()) else {
            continue;
        };
        let before: Vec<UserData> = file.users.iter().map(user_data).collect();
        let add = NewUser {
            login: "fz-new",
            note: Some("n: #1"),
            expires: NaiveDate::from_ymd_opt(2030, 5, 6),
        };
        match add_user("f", input, &add) {
            Ok(Edit::Changed { text, lines }) => {
                edited += 1;
                if let Err(e) = confined(input, &text, &lines, true, 1) {
                    panic!("add: {e}");
                }
                let after = users_of(&text);
                let mut want = before.clone();
                let at = after.iter().position(|u| u.0 == "fz-new").expect("added");
                want.insert(at, ("fz-new".into(), add.expires, Some("n: #1".into())));
                assert_eq!(after, want, "{input:?}\n->\n{text:?}");
            }
            Ok(Edit::AlreadyListed { .. }) => {
                assert!(before.iter().any(|u| u.0.eq_ignore_ascii_case("fz-new")))
            }
            Ok(Edit::NotListed) => panic!("add answered NotListed"),
            Err(EditError::Layout { .. }) => {}
            Err(e) => panic!("{input:?}: {e}"),
        }
        let Some(first) = before.first() else {
            continue;
        };
        match remove_user("f", input, &first.0) {
            Ok(Edit::Changed { text, lines }) => {
                if let Err(e) = confined(input, &text, &lines, false, 2) {
                    panic!("remove: {e}");
                }
                assert_eq!(users_of(&text), before[1..].to_vec(), "{input:?}");
            }
            Err(EditError::Layout { .. }) => {}
            other => panic!("{input:?}: {other:?}"),
        }
    }
    assert!(
        edited > 100,
        "only {edited} of {} mutated inputs were edited",
        inputs.len()
    );
}

/// A generated seats.yaml in one of the layouts the editor supports.
#[derive(Debug, Clone)]
struct Gen {
    entries: Vec<GenEntry>,
    flow: bool,
    dash_col: usize,
    sp: usize,
    crlf: bool,
    final_newline: bool,
    bom: bool,
    teams_after: bool,
    key_comment: bool,
}

#[derive(Debug, Clone)]
struct GenEntry {
    login: String,
    /// 0 plain, 1 single, 2 double quotes.
    quote: u8,
    /// (expires, note, note before login)
    map: Option<(bool, Option<String>, bool)>,
    comment_above: bool,
    blank_above: bool,
    trailing_comment: bool,
}

const POOL: &[&str] = &[
    "alice", "Bob", "carol", "dave-x", "e1", "0x1F", "012", "yes", "mona", "Zed", "hubot", "n",
];

impl Gen {
    fn render(&self) -> String {
        let q = |e: &GenEntry| match e.quote {
            1 => format!("'{}'", e.login),
            2 => format!("\"{}\"", e.login),
            _ if yaml11_non_text(&e.login) => format!("\"{}\"", e.login),
            _ => e.login.clone(),
        };
        let note = |n: &str| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = vec!["# generated".to_string(), "org: acme".to_string()];
        if !self.teams_after {
            out.push("teams: [t]".into());
        }
        let key = if self.key_comment {
            "users:   # direct"
        } else {
            "users:"
        };
        if self.flow {
            let items: Vec<String> = self
                .entries
                .iter()
                .map(|e| match &e.map {
                    None => q(e),
                    Some((exp, n, _)) => {
                        let mut parts = vec![format!("login: {}", q(e))];
                        if *exp {
                            parts.push("expires: 2027-03-31".into());
                        }
                        if let Some(n) = n {
                            parts.push(format!("note: {}", note(n)));
                        }
                        format!("{{{}}}", parts.join(", "))
                    }
                })
                .collect();
            out.push(format!("{} [{}]{}", &key[..6], items.join(", "), &key[6..]));
        } else {
            out.push(key.into());
            let lead = format!("{}-{}", " ".repeat(self.dash_col), " ".repeat(self.sp));
            let inner = " ".repeat(self.dash_col + 1 + self.sp);
            for e in &self.entries {
                if e.blank_above {
                    out.push(String::new());
                }
                if e.comment_above {
                    out.push(format!("{}# about {}", " ".repeat(self.dash_col), e.login));
                }
                let tail = if e.trailing_comment { "  # mine" } else { "" };
                match &e.map {
                    None => out.push(format!("{lead}{}{tail}", q(e))),
                    Some((exp, n, note_first)) => {
                        let mut keys = vec![format!("login: {}", q(e))];
                        if *exp {
                            keys.push("expires: 2027-03-31".into());
                        }
                        if let Some(n) = n {
                            let line = format!("note: {}", note(n));
                            if *note_first {
                                keys.insert(0, line)
                            } else {
                                keys.push(line)
                            }
                        }
                        for (i, k) in keys.iter().enumerate() {
                            let l = if i == 0 { &lead } else { &inner };
                            out.push(format!("{l}{k}{}", if i == 0 { tail } else { "" }));
                        }
                    }
                }
            }
        }
        if self.teams_after {
            out.push("teams:".into());
            out.push("  - t".into());
        }
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut text = out.join(eol);
        if self.final_newline {
            text.push_str(eol);
        }
        if self.bom {
            text.insert(0, '\u{feff}');
        }
        text
    }
}

fn gen_file() -> impl proptest::strategy::Strategy<Value = Gen> {
    use proptest::prelude::*;
    let entry = (
        0..POOL.len(),
        0u8..3,
        proptest::option::of((
            any::<bool>(),
            proptest::option::of("[a-z :#,'\"\\\\-]{0,8}"),
            any::<bool>(),
        )),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    (
        proptest::collection::vec(entry, 0..6),
        any::<bool>(),
        0usize..3,
        1usize..3,
        any::<(bool, bool, bool, bool, bool)>(),
    )
        .prop_map(
            |(raw, flow, dash, sp, (crlf, final_newline, bom, teams_after, key_comment))| {
                let mut seen = std::collections::HashSet::new();
                let entries: Vec<GenEntry> = raw
                    .into_iter()
                    .filter(|(i, ..)| seen.insert(POOL[*i].to_ascii_lowercase()))
                    .map(
                        |(i, quote, map, comment_above, blank_above, trailing_comment)| GenEntry {
                            login: POOL[i].to_string(),
                            quote,
                            map,
                            comment_above,
                            blank_above,
                            trailing_comment,
                        },
                    )
                    .collect();
                // An empty block list is `null`, not a list: write `[]` then.
                let flow = flow || entries.is_empty();
                Gen {
                    entries,
                    flow,
                    dash_col: dash * 2,
                    sp,
                    crlf,
                    final_newline,
                    bom,
                    teams_after,
                    key_comment,
                }
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 300,
        // Failures print their input; the test writes no files.
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// In every supported layout, adding a login and removing it again
    /// gives the original text back, and each edit means what it says.
    #[test]
    fn generated_files_edit_and_round_trip(
        g in gen_file(),
        login in 0..POOL.len(),
        note in proptest::option::of("[ -~\u{e9}\u{2028}\t\n]{0,10}"),
        expires in proptest::bool::ANY,
        drop in proptest::collection::vec(proptest::bool::ANY, 6),
    ) {
        let text = g.render();
        let before = users_of(&text);
        let user = NewUser {
            login: POOL[login],
            note: note.as_deref(),
            expires: expires.then(|| NaiveDate::from_ymd_opt(2028, 2, 29)).flatten(),
        };
        match add_user("f", &text, &user).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
            Edit::AlreadyListed { .. } => {
                proptest::prop_assert!(before.iter().any(|u| u.0.eq_ignore_ascii_case(user.login)));
            }
            Edit::Changed { text: new, lines } => {
                let after = users_of(&new);
                proptest::prop_assert_eq!(after.len(), before.len() + 1);
                confined(&text, &new, &lines, true, 1).map_err(proptest::test_runner::TestCaseError::fail)?;
                match remove_user("f", &new, user.login).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
                    Edit::Changed { text: back, .. } => proptest::prop_assert_eq!(back, text.clone()),
                    other => proptest::prop_assert!(false, "round trip: {:?}", other),
                }
            }
            Edit::NotListed => proptest::prop_assert!(false, "add answered NotListed"),
        }
        let gone: Vec<&str> = before.iter().zip(&drop).filter(|(_, d)| **d).map(|(u, _)| u.0.as_str()).collect();
        match remove_users("f", &text, &gone).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
            Edit::Changed { text: new, lines } => {
                let want: Vec<UserData> = before.iter().filter(|u| !gone.contains(&u.0.as_str())).cloned().collect();
                proptest::prop_assert_eq!(users_of(&new), want);
                confined(&text, &new, &lines, false, usize::MAX).map_err(proptest::test_runner::TestCaseError::fail)?;
            }
            Edit::NotListed => proptest::prop_assert!(gone.is_empty()),
            Edit::AlreadyListed { .. } => proptest::prop_assert!(false, "remove answered AlreadyListed"),
        }
    }
}
