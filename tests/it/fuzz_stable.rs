//! The fuzz targets on the stable toolchain, for CI (cargo-fuzz needs
//! nightly and the address sanitizer; `scripts/fuzz.sh` still runs them
//! with libFuzzer locally).
//!
//! Per target: replay the committed seed corpus (`fuzz/corpus/TARGET/`),
//! the repository's fixtures that `scripts/fuzz.sh` also seeds from, and the
//! regression inputs of crashes found so far (`tests/fixtures/fuzz/TARGET/`);
//! then mutate those inputs for a bounded time with a seeded mutator (bit
//! flips, byte edits, dictionary tokens from `fuzz/dict/TARGET.dict`,
//! splices, repeats). Every input must end in a valid parse or a clean
//! error, without a panic, within a time bound.
//!
//! Environment: `SEATKEEPER_FUZZ_SECS` (mutation time per target, default
//! 3), `SEATKEEPER_FUZZ_SEED` (default: fixed, so a run replays; CI passes
//! a fresh one and prints it), `SEATKEEPER_FUZZ_MAX_LEN` (default 16384).
//! A failing input is written to `target/fuzz-stable/TARGET/` and its path
//! printed: copy it into `tests/fixtures/fuzz/TARGET/` with the fix.

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use checks::Outcome;

/// Longest any single input may take (a debug build; the slowest seed
/// takes well under a second).
const PER_INPUT: Duration = Duration::from_secs(5);

struct Target {
    name: &'static str,
    run: fn(&[u8]) -> Outcome,
    /// Repository files `scripts/fuzz.sh` also seeds from (dir, extension).
    fixtures: &'static [(&'static str, &'static str)],
}

const SEATS_YAML: Target = Target {
    name: "seats_yaml",
    run: checks::seats_yaml,
    fixtures: &[
        ("tests/fixtures/bad", "yaml"),
        ("tests/fixtures/cli", "yaml"),
        ("examples", "yaml"),
        ("examples/demo", "yaml"),
        (".", "yaml"),
    ],
};

const SEAT_LIST_JSON: Target = Target {
    name: "seat_list_json",
    run: checks::seat_list_json,
    fixtures: &[("examples", "json"), ("tests/fixtures/seats-json", "json")],
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn files(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| ext.is_none_or(|x| p.extension().and_then(|e| e.to_str()) == Some(x)))
        .collect();
    out.sort();
    out
}

/// libFuzzer's dictionary format: one `"token"` (optionally `name=`) a
/// line, `\\`, `\"` and `\xNN` escapes, `#` comments.
fn dictionary(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(start) = line.find('"') else {
            continue;
        };
        let Some(end) = line.rfind('"').filter(|e| *e > start) else {
            continue;
        };
        let body = &line.as_bytes()[start + 1..end];
        let mut token = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match (body[i], body.get(i + 1)) {
                (b'\\', Some(b'x')) if i + 4 <= body.len() => {
                    let hex = std::str::from_utf8(&body[i + 2..i + 4]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => token.push(b),
                        Err(_) => token.extend_from_slice(&body[i..i + 4]),
                    }
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    token.push(c);
                    i += 2;
                }
                (c, _) => {
                    token.push(c);
                    i += 1;
                }
            }
        }
        out.push(token);
    }
    out
}

/// SplitMix64: small, seedable, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that matter to YAML and JSON (and to the parsers' error paths).
const INTERESTING: &[u8] =
    b"\0\t\n\r \"#&'*,-.0123456789:<>?@[\\]^_`{|}~\x7f\xc3\xa9\xef\xbb\xbf\xff";

/// One to four mutations of `input` (`other` for splices).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], dict: &[Vec<u8>], max: usize) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                v.drain(i..i + n);
            }
            4 | 5 if !dict.is_empty() => {
                let token = &dict[rng.below(dict.len())];
                let i = rng.below(len + 1);
                v.splice(i..i, token.iter().copied());
            }
            6 if len > 0 => {
                // Repeat a chunk: deep nesting, long lines, many entries.
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let chunk = v[i..i + n].to_vec();
                for _ in 0..1 + rng.below(64) {
                    v.splice(i..i, chunk.iter().copied());
                }
            }
            7 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            8 if len > 0 => {
                // Swap a digit run for an extreme number.
                let numbers: &[&[u8]] = &[
                    b"0",
                    b"-1",
                    b"18446744073709551616",
                    b"1e400",
                    b"0x1F",
                    b"012",
                    b"-0",
                    b"99999999999999999999999",
                    b"1.5",
                    b".inf",
                    b"NaN",
                ];
                let i = rng.below(len);
                let n = numbers[rng.below(numbers.len())];
                v.splice(i..i, n.iter().copied());
            }
            _ => {
                let cut = rng.below(len + 1);
                v.truncate(cut);
            }
        }
    }
    v.truncate(max);
    v
}

/// Run one input: `Err` describes a panic or an input that took too long.
fn check(target: &Target, input: &[u8]) -> Result<Outcome, String> {
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let took = started.elapsed();
    match result {
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(format!("panicked: {msg}"))
        }
        Ok(_) if took > PER_INPUT => Err(format!("took {took:?} (limit {PER_INPUT:?})")),
        Ok(outcome) => Ok(outcome),
    }
}

/// Save a failing input where a person can pick it up; returns its path.
fn save_failure(target: &Target, input: &[u8]) -> PathBuf {
    let dir = root().join("target/fuzz-stable").join(target.name);
    std::fs::create_dir_all(&dir).unwrap();
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("crash-{hash:016x}"));
    std::fs::write(&path, input).unwrap();
    path
}

/// Replay the seeds, then mutate for `secs`; panics naming every failure.
fn fuzz(target: &Target) {
    let secs = env_u64("SEATKEEPER_FUZZ_SECS", 3);
    let seed = env_u64("SEATKEEPER_FUZZ_SEED", 0x5EA7_C0DE);
    let max = env_u64("SEATKEEPER_FUZZ_MAX_LEN", 16 * 1024) as usize;
    let corpus_dir = root().join("fuzz/corpus").join(target.name);
    let committed = files(&corpus_dir, None);
    assert!(
        committed.len() >= 10,
        "{}: the committed seed corpus {} has {} files",
        target.name,
        corpus_dir.display(),
        committed.len()
    );
    let regressions = files(&root().join("tests/fixtures/fuzz").join(target.name), None);
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let fixture_files = target
        .fixtures
        .iter()
        .flat_map(|(dir, ext)| files(&root().join(dir), Some(ext)));
    for path in committed
        .iter()
        .cloned()
        .chain(regressions)
        .chain(fixture_files)
    {
        let data = std::fs::read(&path).unwrap();
        seeds.push((path.display().to_string(), data));
    }
    let dict = dictionary(
        &root()
            .join("fuzz/dict")
            .join(format!("{}.dict", target.name)),
    );
    let mut failures = Vec::new();
    let (mut parsed, mut rejected) = (0u64, 0u64);
    for (name, data) in &seeds {
        match check(target, data) {
            Ok(Outcome::Parsed) => parsed += 1,
            Ok(Outcome::Rejected) => rejected += 1,
            Err(why) => failures.push(format!("seed {name}: {why}")),
        }
    }
    let seed_count = seeds.len();
    let mut rng = Rng(seed ^ target.name.len() as u64);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut mutated = 0u64;
    while Instant::now() < deadline && failures.len() < 5 {
        let base = &seeds[rng.below(seeds.len())].1;
        let other = &seeds[rng.below(seeds.len())].1;
        let input = mutate(&mut rng, base, other, &dict, max);
        mutated += 1;
        match check(target, &input) {
            Ok(Outcome::Parsed) => {
                parsed += 1;
                // Inputs that still parse reach deeper code: mutate them further.
                if seeds.len() < 4096 {
                    seeds.push((format!("mutant {mutated}"), input));
                }
            }
            Ok(Outcome::Rejected) => rejected += 1,
            Err(why) => {
                let path = save_failure(target, &input);
                failures.push(format!("{why}; input saved to {}", path.display()));
            }
        }
    }
    eprintln!(
        "fuzz {}: seed {seed:#x}, {seed_count} seeds, {mutated} mutants in {secs} s: {parsed} parsed, {rejected} rejected, {} failures",
        target.name,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}: {} failing inputs:\n{}",
        target.name,
        failures.len(),
        failures.join("\n")
    );
    assert!(parsed > 0 && rejected > 0, "both outcomes must be reached");
}

#[test]
fn seats_yaml() {
    fuzz(&SEATS_YAML);
}

#[test]
fn seat_list_json() {
    fuzz(&SEAT_LIST_JSON);
}

#[test]
fn the_runner_catches_panics_and_slow_inputs() {
    fn panics(data: &[u8]) -> Outcome {
        assert!(!data.starts_with(b"boom"), "boom");
        Outcome::Rejected
    }
    let t = Target {
        name: "selftest",
        run: panics,
        fixtures: &[],
    };
    assert_eq!(check(&t, b"fine"), Ok(Outcome::Rejected));
    let err = check(&t, b"boom!").unwrap_err();
    assert!(err.contains("boom"), "{err}");
    let mut rng = Rng(1);
    let dict = vec![b"org:".to_vec()];
    let mut changed = 0;
    for _ in 0..200 {
        let m = mutate(
            &mut rng,
            b"org: acme\nusers: [a]\n",
            b"teams: [x]\n",
            &dict,
            64,
        );
        assert!(m.len() <= 64);
        changed += usize::from(m != b"org: acme\nusers: [a]\n");
    }
    assert!(
        changed > 150,
        "the mutator mostly changes its input: {changed}/200"
    );
    assert_eq!(
        dictionary(&root().join("fuzz/dict/seats_yaml.dict"))
            .first()
            .map(Vec::as_slice),
        Some(&b"org:"[..])
    );
}
