//! seats.yaml schema version 1: types, parsing and validation (pure).
//!
//! Parsing has two layers. serde-saphyr turns the text into a tree of
//! spanned nodes (YAML syntax errors, alias bombs and depth limits stop
//! there). Our own walker then checks the schema and collects *every*
//! problem, each with its line and column, before giving up.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Largest seats.yaml accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Where seats are managed: an organization or an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `org: NAME`: `/orgs/{org}/copilot/...`.
    Org(String),
    /// `enterprise: NAME`: `/enterprises/{enterprise}/copilot/...`.
    Enterprise(String),
}

impl Scope {
    /// The org or enterprise name.
    pub fn name(&self) -> &str {
        match self {
            Scope::Org(n) | Scope::Enterprise(n) => n,
        }
    }

    /// `"org"` or `"enterprise"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Org(_) => "org",
            Scope::Enterprise(_) => "enterprise",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Org(n) => write!(f, "{n}"),
            Scope::Enterprise(n) => write!(f, "enterprise {n}"),
        }
    }
}

/// `policy.removals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalMode {
    /// Remove seats that seats.yaml does not ask for (the default).
    #[default]
    Enforce,
    /// Never remove anything.
    Additive,
}

/// `policy.max_removals`: a count, or a percentage of current seats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxRemovals {
    /// At most this many seats removed per reconcile.
    Count(u64),
    /// At most this percentage (0–100) of current seats.
    Percent(f64),
}

// Percent is a finite value in 0..=100 by construction (validated on parse).
impl Eq for MaxRemovals {}

impl MaxRemovals {
    /// True when `removals` out of `seats_before` is above the limit.
    pub fn exceeded(&self, removals: usize, seats_before: usize) -> bool {
        match *self {
            MaxRemovals::Count(n) => removals as u64 > n,
            // Compare removals/current > pct without rounding, as peribolos does.
            MaxRemovals::Percent(p) => (removals as f64) * 100.0 > p * (seats_before as f64),
        }
    }
}

impl std::str::FromStr for MaxRemovals {
    type Err = String;

    /// `10` (seats) or `5%` (of current seats, 0 to 100).
    fn from_str(s: &str) -> Result<MaxRemovals, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            return match p.trim().parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Ok(MaxRemovals::Percent(p)),
                _ => Err(format!("`{s}` is not a percentage from 0% to 100%")),
            };
        }
        s.parse::<u64>().map(MaxRemovals::Count).map_err(|_| {
            format!("`{s}` is neither a number of seats (10) nor a percentage (\"5%\")")
        })
    }
}

impl std::fmt::Display for MaxRemovals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRemovals::Count(n) => write!(f, "{n}"),
            MaxRemovals::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `policy.inactivity.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InactivityAction {
    /// List idle seats (the default).
    #[default]
    Report,
    /// Remove idle direct seats that are not protected.
    Remove,
}

/// `policy.inactivity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inactivity {
    /// Idle for at least this many days.
    pub days: u32,
    /// What to do with idle seats.
    pub action: InactivityAction,
    /// `seatkeeper reclaim`: days between the reminder and the pull request
    /// that removes a still-idle login ([`DEFAULT_REMIND_DAYS`] when unset).
    pub remind_days: Option<u32>,
}

/// Days `seatkeeper reclaim` waits after reminding an idle person before it
/// proposes removing them, when `policy.inactivity.remind_days` is unset
/// (GitHub's "reminding inactive users" example allows "a further 30 days").
pub const DEFAULT_REMIND_DAYS: u32 = 30;

impl Inactivity {
    /// `remind_days`, or its default.
    pub fn remind_days(&self) -> u32 {
        self.remind_days.unwrap_or(DEFAULT_REMIND_DAYS)
    }
}

/// `policy.self_serve.mode`: how `seatkeeper request` records a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfServeMode {
    /// Commit straight to the ref (instant; the commit is the record).
    #[default]
    Commit,
    /// Open a pull request (merged at once when `auto_merge` allows it).
    PullRequest,
}

impl SelfServeMode {
    /// The value as written in seats.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            SelfServeMode::Commit => "commit",
            SelfServeMode::PullRequest => "pull_request",
        }
    }
}

/// `policy.self_serve`: how `seatkeeper request` and `release` may change
/// the file. Every key has a safe default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfServe {
    /// Commit to the ref, or open a pull request.
    pub mode: SelfServeMode,
    /// `expires` written for a request without `--expires`: today plus this
    /// many days. `None`: no expiry.
    pub default_expiry_days: Option<u32>,
    /// May a requester ask for (or release) someone else's seat?
    pub allow_requests_for_others: bool,
    /// With `mode: pull_request`: merge the pull request at once when its
    /// only change is the requester's own, eligible login.
    pub auto_merge: bool,
}

impl Default for SelfServe {
    fn default() -> Self {
        SelfServe {
            mode: SelfServeMode::Commit,
            default_expiry_days: None,
            allow_requests_for_others: false,
            auto_merge: true,
        }
    }
}

/// The `policy` block; every key has a safe default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// Enforce (remove what is not desired) or additive (never remove).
    pub removals: RemovalMode,
    /// Cap on removals per reconcile.
    pub max_removals: Option<MaxRemovals>,
    /// Cap on seats after apply.
    pub max_seats: Option<u64>,
    /// Logins never removed by seatkeeper (as written).
    pub protected: Vec<String>,
    /// When non-empty, every listed user must belong to one of these teams.
    pub eligible_teams: Vec<String>,
    /// Let an empty users+teams remove every seat.
    pub allow_empty: bool,
    /// Plan and report only, never write.
    pub suspend: bool,
    /// Idle-seat policy.
    pub inactivity: Option<Inactivity>,
    /// Enterprise scope only: keep this enterprise team's membership equal
    /// to `users` and assign the team, instead of granting users directly
    /// (how an enterprise dedicated to Copilot assigns seats).
    pub assign_via_team: Option<String>,
    /// How `seatkeeper request` and `release` change the file.
    pub self_serve: SelfServe,
}

/// A position in seats.yaml (1-based line and column, in characters).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One entry of `users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    /// The login as written.
    pub login: String,
    /// After this date the seat is removed.
    pub expires: Option<NaiveDate>,
    /// Free text for reviewers.
    pub note: Option<String>,
    /// Where the login is written.
    pub pos: Pos,
}

/// One entry of `teams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamEntry {
    /// The team slug.
    pub slug: String,
    /// Where it is written.
    pub pos: Pos,
}

/// A parsed and validated seats.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsFile {
    /// The org or enterprise.
    pub scope: Scope,
    /// The policy block (defaults when absent).
    pub policy: Policy,
    /// Seat-granting teams.
    pub teams: Vec<TeamEntry>,
    /// Directly granted users.
    pub users: Vec<UserEntry>,
}

/// One problem found in seats.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub pos: Pos,
    /// How many characters the caret underlines (at least 1).
    pub len: u32,
    /// What is wrong.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub help: Option<String>,
}

/// Every problem found in one seats.yaml, rendered rustc-style by `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path shown in messages.
    pub path: String,
    /// The problems, in file order: the first [`MAX_DIAGNOSTICS`].
    pub diagnostics: Vec<Diagnostic>,
    /// Problems past the first [`MAX_DIAGNOSTICS`], counted, not kept.
    pub more: usize,
    /// The source lines each diagnostic points at (parallel to `diagnostics`).
    lines: Vec<Option<String>>,
}

/// At most this many problems are kept and shown; the rest are counted
/// ("and N more"): 5,000 bad logins must not print 25,000 lines.
pub const MAX_DIAGNOSTICS: usize = 100;

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (d, line)) in self.diagnostics.iter().zip(&self.lines).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}:{}: {}", self.path, d.pos, d.message)?;
            if let Some(line) = line {
                let num = d.pos.line.to_string();
                let pad = " ".repeat(num.len());
                // Tabs would shift the caret; show them as one space each.
                let chars: Vec<char> = line
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                // Show at most a window of a very long line around the column.
                let start = (d.pos.col.max(1) as usize - 1)
                    .saturating_sub(60)
                    .min(chars.len());
                let end = (start + 120).min(chars.len());
                let shown: String = chars[start..end].iter().collect();
                let shown = if start > 0 {
                    format!("…{shown}")
                } else {
                    shown
                };
                let shown = if end < chars.len() {
                    format!("{shown}…")
                } else {
                    shown
                };
                let width = shown.chars().count() as u32;
                let col = d.pos.col.max(1) - start as u32 + u32::from(start > 0);
                let len = d.len.max(1).min(width.saturating_sub(col - 1).max(1));
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {shown}")?;
                writeln!(
                    f,
                    "{pad} | {}{}",
                    " ".repeat((col - 1) as usize),
                    "^".repeat(len as usize)
                )?;
            }
            if let Some(help) = &d.help {
                let pad = " ".repeat(d.pos.line.to_string().len());
                writeln!(f, "{pad} = help: {help}")?;
            }
        }
        if self.more > 0 {
            writeln!(
                f,
                "\n... and {} more error{} (the first {MAX_DIAGNOSTICS} are shown, in file order)",
                self.more,
                if self.more == 1 { "" } else { "s" }
            )?;
        }
        let n = self.diagnostics.len() + self.more;
        write!(
            f,
            "{}: {n} error{}",
            self.path,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// Diagnostics found outside the parser (e.g. a team GitHub does not
    /// know), rendered against the file's text like parse errors.
    pub fn new(path: &str, text: &str, mut diagnostics: Vec<Diagnostic>) -> ConfigError {
        diagnostics.sort_by_key(|d| d.pos);
        diagnostics.dedup();
        let more = diagnostics.len().saturating_sub(MAX_DIAGNOSTICS);
        diagnostics.truncate(MAX_DIAGNOSTICS);
        let all: Vec<&str> = text.lines().collect();
        let lines = diagnostics
            .iter()
            .map(|d| {
                (d.pos.line as usize)
                    .checked_sub(1)
                    .and_then(|i| all.get(i))
                    .map(|l| l.trim_end_matches('\r').to_string())
            })
            .collect();
        ConfigError {
            path: path.to_string(),
            diagnostics,
            more,
            lines,
        }
    }

    /// The file is over [`MAX_FILE_BYTES`].
    pub fn too_large(path: &str, len: u64) -> ConfigError {
        let size = if len > MAX_FILE_BYTES as u64 + 1 {
            format!("file is {len} bytes")
        } else {
            "file is larger than that".to_string()
        };
        ConfigError::whole_file(
            path,
            format!("seats.yaml may be at most {MAX_FILE_BYTES} bytes (1 MiB); {size}"),
            Some("split very large rosters into teams: `teams:` grants every member".into()),
        )
    }

    /// A single problem at the start of the file (no source line shown).
    fn whole_file(path: &str, message: String, help: Option<String>) -> ConfigError {
        ConfigError {
            path: path.to_string(),
            diagnostics: vec![Diagnostic {
                pos: Pos { line: 1, col: 1 },
                len: 1,
                message,
                help,
            }],
            more: 0,
            lines: vec![None],
        }
    }
}

// ---------------------------------------------------------------------------
// Layer 1: YAML text -> spanned node tree (serde-saphyr does the YAML).

/// A YAML node with the position it was written at.
#[derive(Debug, Clone)]
struct Node {
    pos: Pos,
    len: u32,
    kind: Kind,
    /// Byte range of the node in the source, when known: a plain scalar's
    /// text as written (`0x1F`, `1e3`, `true`), which YAML would otherwise
    /// read as a number or a boolean.
    bytes: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

struct KindVisitor;

impl<'de> serde::de::Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        {
            let _ = v;
            Ok(Kind::Float)
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Kind, E> {
        // `!!binary` would let a pull request hide a login from its reviewer
        // behind base64; seats.yaml is plain text.
        Err(E::custom(
            "binary (`!!binary`) values are not allowed in seats.yaml: write the text itself",
        ))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let spanned = serde_saphyr::Spanned::<Kind>::deserialize(d)?;
        let loc = spanned.referenced;
        Ok(Node {
            pos: Pos {
                line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
                col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            },
            len: u32::try_from(loc.span().len()).unwrap_or(1).max(1),
            bytes: loc
                .span()
                .byte_offset()
                .zip(loc.span().byte_len())
                .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?))),
            kind: spanned.value,
        })
    }
}

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // seats.yaml is small and flat: tight limits reject alias bombs and deep
    // nesting fast, with memory bounded by these numbers, not by the input.
    budget.max_depth = 32;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 300_000;
    budget.max_events = 1_000_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * MAX_FILE_BYTES;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    // Anchors are legal but a roster never needs to replay much: cap the
    // expansion so a billion-laughs file fails in microseconds.
    opts.alias_limits.max_total_replayed_events = 10_000;
    opts.alias_limits.max_alias_expansions_per_anchor = 100;
    opts.alias_limits.max_replay_stack_depth = 8;
    // Our walker reports duplicate keys with both positions, alongside every
    // other problem, instead of stopping at the first one.
    opts.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    // A merge key (`<<: {policy: {removals: additive}}`) changes keys where a
    // reviewer does not read them: refused at its line.
    opts.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    opts.strict_booleans = true;
    opts.leading_zero_numbers_as_strings = true;
    opts.underscored_numbers_as_strings = true;
    opts.with_snippet = false;
    // Application tags (`!foo`) mean nothing to seatkeeper: refuse them
    // rather than silently read the value under them.
    opts.reject_unsupported_tags = true;
    // `!!binary` would let a pull request hide a login from its reviewer
    // behind base64: read such a value as the text it is written as, which
    // then fails validation where it stands.
    opts.ignore_binary_tag_for_string = true;
    opts
}

// ---------------------------------------------------------------------------
// Layer 2: node tree -> SeatsFile, collecting every problem.

const TOP_KEYS: &[&str] = &["version", "org", "enterprise", "policy", "teams", "users"];
const POLICY_KEYS: &[&str] = &[
    "removals",
    "max_removals",
    "max_seats",
    "protected",
    "eligible_teams",
    "allow_empty",
    "suspend",
    "assign_via_team",
    "inactivity",
    "self_serve",
];
const INACTIVITY_KEYS: &[&str] = &["days", "action", "remind_days"];
const SELF_SERVE_KEYS: &[&str] = &[
    "mode",
    "default_expiry_days",
    "allow_requests_for_others",
    "auto_merge",
];
const USER_KEYS: &[&str] = &["login", "expires", "note"];

/// Why `s` is not a valid GitHub login, or `None` when it is one.
///
/// GitHub logins: 1–39 characters, ASCII letters, digits and hyphens, no
/// leading, trailing or doubled hyphen.
pub fn login_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("a login cannot be empty".into());
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
        return Some(format!(
            "contains the non-ASCII character '{c}' (U+{:04X}); logins are ASCII letters, digits and hyphens (a look-alike letter?)",
            c as u32
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Some(format!(
            "contains '{}'; logins are ASCII letters, digits and hyphens",
            c.escape_default()
        ));
    }
    if s.len() > 39 {
        return Some(format!(
            "is {} characters long; logins have at most 39",
            s.len()
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("starts or ends with a hyphen; GitHub logins cannot".into());
    }
    if s.contains("--") {
        return Some("has two hyphens in a row; GitHub logins cannot".into());
    }
    None
}

/// Why `s` is not a valid team slug, or `None` when it is one.
///
/// Org team slugs are lowercase `[a-z0-9_.-]+`; enterprise team slugs may
/// carry GitHub's `ent:` prefix.
pub fn slug_problem(s: &str, enterprise: bool) -> Option<String> {
    let body = if enterprise {
        s.strip_prefix("ent:").unwrap_or(s)
    } else {
        s
    };
    if body.is_empty() {
        return Some("a team slug cannot be empty".into());
    }
    if body.len() > 255 {
        return Some("is longer than 255 characters".into());
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        let hint = if c.is_ascii_uppercase() {
            " (slugs are lowercase: use the team's slug, not its display name)"
        } else if c == ' ' {
            " (use the slug, e.g. `my-team`, not the display name)"
        } else {
            ""
        };
        return Some(format!(
            "contains '{}'; team slugs are lowercase letters, digits, '_', '.' and '-'{hint}",
            c.escape_default()
        ));
    }
    None
}

/// A value quoted in a message, cut to 60 characters: the caret line shows
/// where it is, and a 1 MiB value must not make a 1 MiB message.
fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

/// Edit distance, for "did you mean" hints on unknown keys.
/// Levenshtein distance in characters (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

struct Walker<'s> {
    diags: Vec<Diagnostic>,
    enterprise: bool,
    /// The text parsed, for scalars as written.
    src: &'s str,
}

impl Walker<'_> {
    fn error(&mut self, node: &Node, message: impl Into<String>, help: Option<String>) {
        self.diags.push(Diagnostic {
            pos: node.pos,
            len: node.len,
            message: message.into(),
            help,
        });
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let help = match node.kind {
            Kind::Null => Some(format!(
                "write `{what}: []` for an empty list, or remove the key"
            )),
            _ => None,
        };
        let help = if expected.contains("list") {
            help
        } else {
            None
        };
        self.error(
            node,
            format!(
                "`{what}` must be {expected}, found {}",
                node.kind.describe()
            ),
            help,
        );
    }

    /// Key/value pairs of a mapping, reporting non-string, unknown and
    /// duplicate keys. Returns (key, key node, value) for the known keys.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let Kind::Map(entries) = &node.kind else {
            self.wrong_type(node, what, "a mapping");
            return vec![];
        };
        // Indexed, not scanned: a 1 MiB mapping can hold 100,000 keys.
        let mut seen: std::collections::HashMap<&str, Pos> = std::collections::HashMap::new();
        let mut out = Vec::new();
        for (k, v) in entries {
            let Kind::Str(key) = &k.kind else {
                self.error(
                    k,
                    format!(
                        "keys of `{what}` must be strings, found {}",
                        k.kind.describe()
                    ),
                    None,
                );
                continue;
            };
            if let Some(first) = seen.get(key.as_str()) {
                let msg = format!("duplicate key `{key}` (first at line {})", first.line);
                self.error(k, msg, Some("keep one of them".into()));
                continue;
            }
            seen.insert(key, k.pos);
            if !allowed.contains(&key.as_str()) {
                let near = allowed
                    .iter()
                    .filter(|a| edit_distance(a, key) <= 2)
                    .min_by_key(|a| edit_distance(a, key));
                let help = match near {
                    Some(a) => format!("did you mean `{a}`?"),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                self.error(k, format!("unknown key `{key}` in `{what}`"), Some(help));
                continue;
            }
            out.push((key.as_str(), k, v));
        }
        out
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.error(
                    node,
                    format!(
                        "`{what}` must be true or false, found {}",
                        node.kind.describe()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A plain scalar's text exactly as the file spells it.
    fn as_written(&mut self, node: &Node) -> Option<String> {
        let text = node
            .bytes
            .and_then(|(o, l)| self.src.get(o..o + l))
            .map(|t| t.trim().to_string());
        if text.is_none() {
            self.error(
                node,
                "cannot tell how this value is written; quote it".to_string(),
                None,
            );
        }
        text
    }

    fn int(&mut self, node: &Node, what: &str, min: i128, max: i128) -> Option<i128> {
        match node.kind {
            Kind::Int(n) if (min..=max).contains(&n) => Some(n),
            Kind::Int(n) => {
                self.error(
                    node,
                    format!("`{what}` is {n}, out of range {min}..={max}"),
                    None,
                );
                None
            }
            _ => {
                self.error(
                    node,
                    format!(
                        "`{what}` must be an integer, found {}",
                        node.kind.describe()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A login written as a scalar. Numbers are logins too (`1234` is a valid
    /// GitHub login), as long as YAML kept their spelling.
    fn login(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = match &node.kind {
            Kind::Str(s) => s.clone(),
            // What a reviewer reads is what is applied: `0x1F` is the login
            // `0x1F`, not 31.
            Kind::Int(_) | Kind::Float | Kind::Bool(_) => self.as_written(node)?,
            _ => {
                self.wrong_type(node, what, "a login (a string)");
                return None;
            }
        };
        if let Some(problem) = login_problem(&s) {
            self.error(
                node,
                format!("invalid login `{}`: {problem}", shorten(&s)),
                None,
            );
            return None;
        }
        Some(s)
    }

    fn slug(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(_) | Kind::Float | Kind::Bool(_) => self.as_written(node)?,
            _ => {
                self.wrong_type(node, what, "a team slug (a string)");
                return None;
            }
        };
        if let Some(problem) = slug_problem(&s, self.enterprise) {
            self.error(
                node,
                format!("invalid team slug `{}`: {problem}", shorten(&s)),
                None,
            );
            return None;
        }
        Some(s)
    }

    fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            _ => {
                self.wrong_type(node, what, "a list");
                &[]
            }
        }
    }

    /// A list of logins with case-insensitive duplicate detection.
    fn login_list(&mut self, node: &Node, what: &str) -> Vec<(String, Pos)> {
        let mut out = Seen::default();
        for item in self.list(node, what) {
            if let Some(login) = self.login(item, what) {
                self.check_dup(&out, &login, item, what);
                out.push(login, item.pos);
            }
        }
        out.names
    }

    fn check_dup(&mut self, seen: &Seen, name: &str, node: &Node, what: &str) -> bool {
        if let Some((first, pos)) = seen.first(name) {
            let msg = if first == name {
                format!("`{name}` is listed twice in `{what}` (first at {pos})")
            } else {
                format!(
                    "`{name}` is listed twice in `{what}`: `{first}` at {pos} is the same login (logins are case-insensitive)"
                )
            };
            self.error(node, msg, Some("remove one of them".into()));
            return true;
        }
        false
    }

    fn policy(&mut self, node: &Node) -> Policy {
        let mut p = Policy::default();
        for (key, _k, v) in self.entries(node, "policy", POLICY_KEYS) {
            match key {
                "removals" => match self.string(v, "policy.removals").as_deref() {
                    Some("enforce") => p.removals = RemovalMode::Enforce,
                    Some("additive") => p.removals = RemovalMode::Additive,
                    Some(other) => self.error(
                        v,
                        format!(
                            "`policy.removals` is `{}`; expected `enforce` or `additive`",
                            shorten(other)
                        ),
                        None,
                    ),
                    None => {}
                },
                "max_removals" => p.max_removals = self.max_removals(v),
                "max_seats" => {
                    p.max_seats = self
                        .int(v, "policy.max_seats", 1, 10_000_000)
                        .map(|n| n as u64)
                }
                "protected" => {
                    p.protected = self
                        .login_list(v, "policy.protected")
                        .into_iter()
                        .map(|(l, _)| l)
                        .collect()
                }
                "eligible_teams" => {
                    let mut seen = Seen::default();
                    for item in self.list(v, "policy.eligible_teams") {
                        if let Some(s) = self.slug(item, "policy.eligible_teams")
                            && !self.check_dup(&seen, &s, item, "policy.eligible_teams")
                        {
                            seen.push(s, item.pos);
                        }
                    }
                    p.eligible_teams = seen.names.into_iter().map(|(s, _)| s).collect();
                }
                "allow_empty" => {
                    p.allow_empty = self.bool(v, "policy.allow_empty").unwrap_or(false)
                }
                "suspend" => p.suspend = self.bool(v, "policy.suspend").unwrap_or(false),
                "inactivity" => p.inactivity = self.inactivity(v),
                "self_serve" => p.self_serve = self.self_serve(v),
                "assign_via_team" => {
                    if !self.enterprise {
                        self.error(
                            v,
                            "`policy.assign_via_team` needs `enterprise:`: it assigns seats through an enterprise team's membership",
                            Some("remove it, or manage the enterprise's seats with `enterprise: NAME`".into()),
                        );
                    } else {
                        p.assign_via_team = self.slug(v, "policy.assign_via_team");
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        p
    }

    fn max_removals(&mut self, v: &Node) -> Option<MaxRemovals> {
        match &v.kind {
            Kind::Int(_) => self
                .int(v, "policy.max_removals", 0, 1_000_000)
                .map(|n| MaxRemovals::Count(n as u64)),
            Kind::Str(s) => {
                let pct = s
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .filter(|n| n.is_finite());
                match pct {
                    Some(p) if (0.0..=100.0).contains(&p) => Some(MaxRemovals::Percent(p)),
                    Some(p) => {
                        self.error(
                            v,
                            format!("`policy.max_removals` is {p}%, out of range 0%..=100%"),
                            None,
                        );
                        None
                    }
                    None => {
                        self.error(
                            v,
                            format!("`policy.max_removals` is `{}`; expected a number of seats (10) or a percentage of current seats (\"5%\")", shorten(s)),
                            None,
                        );
                        None
                    }
                }
            }
            _ => {
                self.wrong_type(
                    v,
                    "policy.max_removals",
                    "an integer or a percentage string",
                );
                None
            }
        }
    }

    fn self_serve(&mut self, node: &Node) -> SelfServe {
        let mut s = SelfServe::default();
        for (key, _k, v) in self.entries(node, "policy.self_serve", SELF_SERVE_KEYS) {
            match key {
                "mode" => match self.string(v, "policy.self_serve.mode").as_deref() {
                    Some("commit") => s.mode = SelfServeMode::Commit,
                    Some("pull_request") => s.mode = SelfServeMode::PullRequest,
                    Some(other) => self.error(
                        v,
                        format!(
                            "`policy.self_serve.mode` is `{}`; expected `commit` or `pull_request`",
                            shorten(other)
                        ),
                        None,
                    ),
                    None => {}
                },
                "default_expiry_days" => {
                    s.default_expiry_days = self
                        .int(v, "policy.self_serve.default_expiry_days", 1, 3650)
                        .map(|n| n as u32)
                }
                "allow_requests_for_others" => {
                    s.allow_requests_for_others = self
                        .bool(v, "policy.self_serve.allow_requests_for_others")
                        .unwrap_or(false)
                }
                "auto_merge" => {
                    s.auto_merge = self.bool(v, "policy.self_serve.auto_merge").unwrap_or(true)
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        s
    }

    fn inactivity(&mut self, node: &Node) -> Option<Inactivity> {
        let mut days = None;
        let mut remind_days = None;
        let mut action = InactivityAction::Report;
        let mut ok = true;
        for (key, _k, v) in self.entries(node, "policy.inactivity", INACTIVITY_KEYS) {
            match key {
                "days" => {
                    days = self
                        .int(v, "policy.inactivity.days", 1, 3650)
                        .map(|n| n as u32);
                    ok &= days.is_some();
                }
                "remind_days" => {
                    remind_days = self
                        .int(v, "policy.inactivity.remind_days", 1, 3650)
                        .map(|n| n as u32);
                    ok &= remind_days.is_some();
                }
                "action" => {
                    match self.string(v, "policy.inactivity.action").as_deref() {
                        Some("report") => action = InactivityAction::Report,
                        Some("remove") => action = InactivityAction::Remove,
                        Some(other) => {
                            self.error(
                            v,
                            format!("`policy.inactivity.action` is `{}`; expected `report` or `remove`", shorten(other)),
                            None,
                        );
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        if days.is_none() && ok && matches!(node.kind, Kind::Map(_)) {
            self.error(
                node,
                "`policy.inactivity` needs `days`",
                Some("for example `inactivity: {days: 60, action: report}`".into()),
            );
        }
        days.map(|days| Inactivity {
            days,
            action,
            remind_days,
        })
    }

    fn user(&mut self, item: &Node) -> Option<UserEntry> {
        match &item.kind {
            Kind::Str(_) | Kind::Int(_) | Kind::Float | Kind::Bool(_) => {
                self.login(item, "users").map(|login| UserEntry {
                    login,
                    expires: None,
                    note: None,
                    pos: item.pos,
                })
            }
            Kind::Map(_) => {
                let mut login = None;
                let mut login_node_seen = false;
                let mut expires = None;
                let mut note = None;
                let mut pos = item.pos;
                for (key, _k, v) in self.entries(item, "users[]", USER_KEYS) {
                    match key {
                        "login" => {
                            login_node_seen = true;
                            pos = v.pos;
                            login = self.login(v, "login");
                        }
                        "expires" => expires = self.date(v),
                        "note" => note = self.string(v, "note"),
                        _ => unreachable!("entries() only yields allowed keys"),
                    }
                }
                if !login_node_seen {
                    self.error(
                        item,
                        "a user entry needs `login`",
                        Some("for example `- login: octocat`".into()),
                    );
                }
                login.map(|login| UserEntry {
                    login,
                    expires,
                    note,
                    pos,
                })
            }
            _ => {
                self.wrong_type(item, "users[]", "a login or a mapping with `login`");
                None
            }
        }
    }

    fn date(&mut self, v: &Node) -> Option<NaiveDate> {
        let s = match &v.kind {
            Kind::Str(s) => s.as_str(),
            _ => {
                self.error(
                    v,
                    format!(
                        "`expires` must be a date YYYY-MM-DD, found {}",
                        v.kind.describe()
                    ),
                    None,
                );
                return None;
            }
        };
        let well_formed = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if well_formed => Some(d),
            _ => {
                self.error(
                    v,
                    format!(
                        "`expires` is `{}`, not a calendar date in the form YYYY-MM-DD",
                        shorten(s)
                    ),
                    Some("for example `expires: 2027-03-31`".into()),
                );
                None
            }
        }
    }

    fn file(&mut self, root: &Node) -> Option<SeatsFile> {
        if !matches!(root.kind, Kind::Map(_)) {
            self.error(
                root,
                format!(
                    "seats.yaml must be a mapping with `org:` (or `enterprise:`), found {}",
                    root.kind.describe()
                ),
                None,
            );
            return None;
        }
        let entries = self.entries(root, "seats.yaml", TOP_KEYS);
        // The scope decides how team slugs validate, so read it first.
        let mut org: Option<(String, &Node)> = None;
        let mut ent: Option<(String, &Node)> = None;
        for &(key, k, v) in &entries {
            match key {
                "org" => {
                    if let Some(s) = self.string(v, "org") {
                        if let Some(p) = login_problem(&s) {
                            self.error(
                                v,
                                format!("invalid organization name `{}`: {p}", shorten(&s)),
                                None,
                            );
                        }
                        org = Some((s, k));
                    }
                }
                "enterprise" => {
                    if let Some(s) = self.string(v, "enterprise") {
                        if let Some(p) = slug_problem(&s, false) {
                            self.error(
                                v,
                                format!("invalid enterprise slug `{}`: {p}", shorten(&s)),
                                None,
                            );
                        }
                        ent = Some((s, k));
                    }
                }
                "version" => {
                    self.int(v, "version", 1, 1);
                }
                _ => {}
            }
        }
        let scope = match (org, ent) {
            (Some((o, _)), None) => Some(Scope::Org(o)),
            (None, Some((e, _))) => {
                self.enterprise = true;
                Some(Scope::Enterprise(e))
            }
            (Some(_), Some((_, k))) => {
                self.error(
                    k,
                    "both `org` and `enterprise` are set; seats are managed by exactly one of them",
                    Some("keep `org:` for an organization's seats, or `enterprise:` for an enterprise that assigns seats itself".into()),
                );
                None
            }
            (None, None) => {
                let has_key = entries
                    .iter()
                    .any(|(key, _, _)| *key == "org" || *key == "enterprise");
                if !has_key {
                    self.diags.push(Diagnostic {
                        pos: Pos { line: 1, col: 1 },
                        len: 1,
                        message: "missing `org` (or `enterprise`): which organization's seats does this file manage?".into(),
                        help: Some("add a line like `org: acme`".into()),
                    });
                }
                None
            }
        };
        let mut policy = Policy::default();
        let mut teams: Vec<TeamEntry> = Vec::new();
        let mut users: Vec<UserEntry> = Vec::new();
        for &(key, _k, v) in &entries {
            match key {
                "policy" => policy = self.policy(v),
                "teams" => {
                    let mut seen = Seen::default();
                    for item in self.list(v, "teams") {
                        // `platform` and `ent:platform` are one enterprise team.
                        if let Some(slug) = self.slug(item, "teams")
                            && !self.check_dup(&seen, &self.team_key(&slug), item, "teams")
                        {
                            seen.push(self.team_key(&slug), item.pos);
                            teams.push(TeamEntry {
                                slug,
                                pos: item.pos,
                            });
                        }
                    }
                }
                "users" => {
                    let mut seen = Seen::default();
                    for item in self.list(v, "users") {
                        if let Some(u) = self.user(item) {
                            let node = Node {
                                pos: u.pos,
                                len: u.login.chars().count() as u32,
                                kind: Kind::Null,
                                bytes: None,
                            };
                            if !self.check_dup(&seen, &u.login, &node, "users") {
                                seen.push(u.login.clone(), u.pos);
                                users.push(u);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(via) = &policy.assign_via_team
            && let Some(t) = teams.iter().find(|t| {
                self.team_key(&t.slug)
                    .eq_ignore_ascii_case(&self.team_key(via))
            })
        {
            self.diags.push(Diagnostic {
                pos: t.pos,
                len: t.slug.chars().count() as u32,
                message: format!(
                    "team `{}` is `policy.assign_via_team`: its membership is `users`, so it cannot also be listed in `teams`",
                    t.slug
                ),
                help: Some("remove it from `teams`".into()),
            });
        }
        Some(SeatsFile {
            scope: scope?,
            policy,
            teams,
            users,
        })
    }

    /// A team slug as compared for duplicates: enterprise slugs with `ent:`.
    fn team_key(&self, slug: &str) -> String {
        if self.enterprise {
            format!("ent:{}", slug.strip_prefix("ent:").unwrap_or(slug))
        } else {
            slug.to_string()
        }
    }
}

/// Names listed so far, in order, with a case-insensitive index: each
/// duplicate check is one lookup, not a scan (a 1 MiB roster holds 80,000
/// logins; scanning made it quadratic, 8 s in release).
#[derive(Default)]
struct Seen {
    names: Vec<(String, Pos)>,
    index: std::collections::HashMap<String, usize>,
}

impl Seen {
    /// The first entry equal to `name` ignoring ASCII case.
    fn first(&self, name: &str) -> Option<&(String, Pos)> {
        self.index
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.names[i])
    }

    fn push(&mut self, name: String, pos: Pos) {
        self.index
            .entry(name.to_ascii_lowercase())
            .or_insert(self.names.len());
        self.names.push((name, pos));
    }
}

/// Largest `--live-state` listing accepted, in bytes.
pub const MAX_LISTING_BYTES: usize = 256 * 1024 * 1024;

/// Largest token or private-key file accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Read at most `cap` bytes of a file of any kind (a FIFO, a device,
/// `/proc`, a file still growing): `stat` is not trusted, so at most `cap + 1`
/// bytes are read, and more than `cap` is an `InvalidData` error that says
/// the cap.
pub fn read_capped(path: &std::path::Path, cap: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(cap as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {cap} bytes, the most seatkeeper reads from it"),
        ));
    }
    Ok(buf)
}

/// Read a seats.yaml from disk, at most [`MAX_FILE_BYTES`] + 1 bytes from
/// any kind of file: a larger one is refused with the cap named.
pub fn read_file(path: &std::path::Path) -> crate::Result<Vec<u8>> {
    match read_capped(path, MAX_FILE_BYTES) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ConfigError::too_large(
            &path.display().to_string(),
            MAX_FILE_BYTES as u64 + 1,
        )
        .into()),
        Err(source) => Err(crate::Error::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Position of the first invalid UTF-8 byte, as (line, column).
fn utf8_error_pos(bytes: &[u8], valid_up_to: usize) -> Pos {
    let prefix = String::from_utf8_lossy(&bytes[..valid_up_to]);
    let line = prefix.matches('\n').count() as u32 + 1;
    let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos { line, col }
}

impl SeatsFile {
    /// Parse and validate seats.yaml from bytes; `path` is only used in
    /// messages. Reports every problem at once; never panics.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<SeatsFile, ConfigError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ConfigError::too_large(path, bytes.len() as u64));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let pos = utf8_error_pos(bytes, e.valid_up_to());
                let line = String::from_utf8_lossy(bytes)
                    .lines()
                    .nth(pos.line as usize - 1)
                    .map(str::to_string);
                return Err(ConfigError {
                    path: path.to_string(),
                    diagnostics: vec![Diagnostic {
                        pos,
                        len: 1,
                        message: "invalid UTF-8: seats.yaml must be UTF-8 text".into(),
                        help: Some("re-save the file as UTF-8".into()),
                    }],
                    more: 0,
                    lines: vec![line],
                });
            }
        };
        // A byte-order mark is legal YAML; drop it so columns stay right.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Err(ConfigError::whole_file(
                path,
                "file is empty: expected a mapping with `org:` (or `enterprise:`), `users:` and `teams:`".into(),
                Some("see seats.yaml in the seatkeeper README for an example".into()),
            ));
        }
        let root: Node = match serde_saphyr::from_str_with_options(text, yaml_options()) {
            Ok(n) => n,
            Err(e) => return Err(yaml_error(path, text, &e)),
        };
        let mut walker = Walker {
            diags: Vec::new(),
            enterprise: false,
            src: text,
        };
        let file = walker.file(&root);
        match file {
            Some(f) if walker.diags.is_empty() => Ok(f),
            _ => Err(ConfigError::new(path, text, walker.diags)),
        }
    }

    /// Read, parse and validate a seats.yaml file.
    pub fn load(path: &std::path::Path) -> crate::Result<SeatsFile> {
        let bytes = read_file(path)?;
        Ok(SeatsFile::parse(&path.display().to_string(), &bytes)?)
    }

    /// The user entry for a login (case-insensitive), for positions in messages.
    pub fn user(&self, login: &str) -> Option<&UserEntry> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }
}

/// A YAML syntax or limit error from serde-saphyr, as one diagnostic.
fn yaml_error(path: &str, text: &str, e: &serde_saphyr::Error) -> ConfigError {
    let pos = e
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            col: u32::try_from(l.column()).unwrap_or(1).max(1),
        })
        .unwrap_or(Pos { line: 1, col: 1 });
    let raw = e.without_snippet().to_string();
    // serde-saphyr appends " at line N, column M"; we print the position ourselves.
    let message = raw
        .split(" at line ")
        .next()
        .unwrap_or(&raw)
        .trim()
        .to_string();
    let lower = message.to_lowercase();
    let message = if lower.contains("merge key") {
        "merge keys (`<<`) are not allowed in seats.yaml: every key must stand where it applies, for the reviewer to read".to_string()
    } else if lower.contains("budget breached") && lower.contains("documents") {
        "seats.yaml holds more than one YAML document (a second `---`); keep one".to_string()
    } else if lower.contains("budget breached") || lower.contains("alias replay") {
        format!("the document expands to too much data ({message})")
    } else {
        message
    };
    // The scanner reports a tab where the token it was reading began, often
    // the line before; point at the tab itself.
    let pos = if lower.contains("tab") {
        text.lines()
            .enumerate()
            .skip(pos.line.saturating_sub(1) as usize)
            .find_map(|(i, l)| {
                l.find('\t').map(|c| Pos {
                    line: i as u32 + 1,
                    col: l[..c].chars().count() as u32 + 1,
                })
            })
            .unwrap_or(pos)
    } else {
        pos
    };
    let help = if lower.contains("documents") {
        Some("merge the documents into one mapping with a single `org:`".into())
    } else if lower.contains("budget") || lower.contains("alias") || lower.contains("depth") {
        Some("seats.yaml needs no anchors, aliases or deep nesting; write the values out".into())
    } else if text.contains('\t') && lower.contains("tab") {
        Some("YAML indents with spaces, not tabs".into())
    } else {
        None
    };
    ConfigError::new(
        path,
        text,
        vec![Diagnostic {
            pos,
            len: 1,
            message: format!("invalid YAML: {message}"),
            help,
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<&str>)] = &[
            ("octocat", None),
            ("a", None),
            ("Mona-Lisa", None),
            ("1234", None),
            ("a23456789012345678901234567890123456789", None),
            ("a234567890123456789012345678901234567890", Some("at most 39")),
            ("", Some("cannot be empty")),
            ("-x", Some("hyphen")),
            ("x-", Some("hyphen")),
            ("a--b", Some("two hyphens")),
            ("a_b", Some("contains '_'")),
            ("a b", Some("contains ' '")),
            ("\u{430}lice", Some("U+0430")),
            ("al\u{131}ce", Some("U+0131")),
        ];
        for (login, want) in cases {
            match (login_problem(login), want) {
                (None, None) => {}
                (Some(p), Some(w)) => assert!(p.contains(w), "{login:?}: {p}"),
                (got, want) => panic!("{login:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn slugs() {
        #[rustfmt::skip]
        let cases: &[(&str, bool, bool)] = &[
            ("platform", false, true),
            ("data_science.v2-x", false, true),
            ("Platform", false, false),
            ("my team", false, false),
            ("ent:platform", true, true),
            ("ent:platform", false, false),
            ("ent:", true, false),
            ("", false, false),
        ];
        for (slug, enterprise, ok) in cases {
            assert_eq!(
                slug_problem(slug, *enterprise).is_none(),
                *ok,
                "{slug:?} enterprise={enterprise}"
            );
        }
    }

    #[test]
    fn full_example_parses_with_every_field() {
        let text = "org: acme\npolicy:\n  removals: additive\n  max_removals: \"5%\"\n  max_seats: 500\n  protected: [ceo-login]\n  eligible_teams: [engineering]\n  allow_empty: true\n  suspend: true\n  inactivity: {days: 60, action: remove}\nteams: [platform]\nusers:\n  - octocat\n  - login: hubot\n    expires: 2027-03-31\n    note: trial\n";
        let f = SeatsFile::parse("seats.yaml", text.as_bytes()).unwrap();
        assert_eq!(f.scope, Scope::Org("acme".into()));
        assert_eq!(f.policy.removals, RemovalMode::Additive);
        assert_eq!(f.policy.max_removals, Some(MaxRemovals::Percent(5.0)));
        assert_eq!(f.policy.max_seats, Some(500));
        assert_eq!(f.policy.protected, vec!["ceo-login"]);
        assert_eq!(f.policy.eligible_teams, vec!["engineering"]);
        assert!(f.policy.allow_empty && f.policy.suspend);
        assert_eq!(
            f.policy.inactivity,
            Some(Inactivity {
                days: 60,
                action: InactivityAction::Remove,
                remind_days: None,
            })
        );
        assert_eq!(f.teams[0].slug, "platform");
        assert_eq!(f.teams[0].pos, Pos { line: 11, col: 9 });
        assert_eq!(f.users[1].login, "hubot");
        assert_eq!(f.users[1].pos, Pos { line: 14, col: 12 });
        assert_eq!(f.users[1].expires, NaiveDate::from_ymd_opt(2027, 3, 31));
        assert_eq!(f.users[1].note.as_deref(), Some("trial"));
    }

    #[test]
    fn self_serve_and_remind_days() {
        let base = "org: acme\npolicy:\n";
        let default = SelfServe::default();
        #[rustfmt::skip]
        let cases: &[(&str, Result<SelfServe, &str>)] = &[
            ("  suspend: false\n", Ok(default)),
            ("  self_serve: {}\n", Ok(default)),
            ("  self_serve: {mode: pull_request}\n", Ok(SelfServe { mode: SelfServeMode::PullRequest, ..default })),
            ("  self_serve:\n    mode: commit\n    default_expiry_days: 90\n    allow_requests_for_others: true\n    auto_merge: false\n",
                Ok(SelfServe { mode: SelfServeMode::Commit, default_expiry_days: Some(90), allow_requests_for_others: true, auto_merge: false })),
            ("  self_serve: {mode: merge}\n", Err("3:22: `policy.self_serve.mode` is `merge`; expected `commit` or `pull_request`")),
            ("  self_serve: {default_expiry_days: 0}\n", Err("`policy.self_serve.default_expiry_days` is 0, out of range 1..=3650")),
            ("  self_serve: {allow_requests_for_others: yes please}\n", Err("must be true or false")),
            ("  self_serve: {auto_merg: true}\n", Err("unknown key `auto_merg` in `policy.self_serve`")),
            ("  self_serve: [commit]\n", Err("`policy.self_serve` must be a mapping")),
        ];
        for (policy, want) in cases {
            let text = format!("{base}{policy}users: [a]\n");
            match (SeatsFile::parse("seats.yaml", text.as_bytes()), want) {
                (Ok(f), Ok(w)) => assert_eq!(&f.policy.self_serve, w, "{policy}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{policy}: {e}"),
                (got, want) => panic!("{policy}: got {got:?}, want {want:?}"),
            }
        }
        #[rustfmt::skip]
        let reminds: &[(&str, Result<u32, &str>)] = &[
            ("{days: 60}", Ok(DEFAULT_REMIND_DAYS)),
            ("{days: 60, remind_days: 14}", Ok(14)),
            ("{days: 60, remind_days: 0}", Err("`policy.inactivity.remind_days` is 0, out of range 1..=3650")),
            ("{days: 60, remind_days: soon}", Err("must be an integer")),
        ];
        for (inactivity, want) in reminds {
            let text = format!("{base}  inactivity: {inactivity}\nusers: [a]\n");
            match (SeatsFile::parse("seats.yaml", text.as_bytes()), want) {
                (Ok(f), Ok(w)) => {
                    assert_eq!(f.policy.inactivity.map(|i| i.remind_days()), Some(*w))
                }
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{inactivity}: {e}"),
                (got, want) => panic!("{inactivity}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn max_removals_limits() {
        #[rustfmt::skip]
        let cases = [
            (MaxRemovals::Count(3), 3, 100, false),
            (MaxRemovals::Count(3), 4, 100, true),
            (MaxRemovals::Percent(5.0), 5, 100, false),
            (MaxRemovals::Percent(5.0), 6, 100, true),
            (MaxRemovals::Percent(5.0), 1, 10, true),
            (MaxRemovals::Percent(0.0), 0, 10, false),
        ];
        for (limit, removals, seats, exceeded) in cases {
            assert_eq!(
                limit.exceeded(removals, seats),
                exceeded,
                "{limit} {removals}/{seats}"
            );
        }
    }

    #[test]
    fn never_panics_on_arbitrary_prefixes_of_a_valid_file() {
        let text = std::fs::read("seats.yaml").unwrap();
        for n in 0..text.len() {
            let _ = SeatsFile::parse("seats.yaml", &text[..n]);
        }
    }
}
