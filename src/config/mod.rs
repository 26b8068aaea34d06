//! seats.yaml schema version 1: types, parsing and validation (pure).
//!
//! Parsing has two layers. serde-saphyr turns the text into a tree of
//! spanned nodes (YAML syntax errors, alias bombs and depth limits stop
//! there). Our own walker then checks the schema and collects *every*
//! problem, each with its line and column, before giving up.
//!
//! The keys, their types, ranges and values are declared once, in
//! [`spec`]: the walker reads its key tables, ranges and enum values from
//! there, and [`schema`] turns the same tables into the JSON Schema that
//! editors use (`seatkeeper schema`).

mod budgets;
mod error;
mod names;
pub mod schema;
pub mod spec;
mod walk;
mod yaml;

pub use budgets::{BudgetManage, Budgets, MAX_BUDGET_DOLLARS};
pub use error::{ConfigError, Diagnostic, MAX_DIAGNOSTICS};
pub use names::{edit_distance, login_problem, slug_problem};
use walk::Walker;
use yaml::{Node, yaml_error, yaml_options};

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

impl RemovalMode {
    /// Every value, as written in seats.yaml.
    pub const VALUES: &[&str] = &["enforce", "additive"];

    /// The value as written in seats.yaml.
    pub const fn as_str(self) -> &'static str {
        match self {
            RemovalMode::Enforce => "enforce",
            RemovalMode::Additive => "additive",
        }
    }

    /// The mode a value names.
    pub fn from_value(s: &str) -> Option<RemovalMode> {
        [RemovalMode::Enforce, RemovalMode::Additive]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
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

impl InactivityAction {
    /// Every value, as written in seats.yaml.
    pub const VALUES: &[&str] = &["report", "remove"];

    /// The value as written in seats.yaml.
    pub const fn as_str(self) -> &'static str {
        match self {
            InactivityAction::Report => "report",
            InactivityAction::Remove => "remove",
        }
    }

    /// The action a value names.
    pub fn from_value(s: &str) -> Option<InactivityAction> {
        [InactivityAction::Report, InactivityAction::Remove]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
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
    /// Idle seats are removed (by `action: remove` or a reclaim pull
    /// request) only in this many last days of the billing cycle
    /// ([`DEFAULT_ACT_BEFORE_CYCLE_END_DAYS`] when unset): a seat removed
    /// earlier is billed to the cycle's end anyway, and its holder keeps
    /// access until then.
    #[serde(default)]
    pub act_before_cycle_end_days: Option<u32>,
}

/// Days before the cycle's end from which idle seats are removed, when
/// `policy.inactivity.act_before_cycle_end_days` is unset.
pub const DEFAULT_ACT_BEFORE_CYCLE_END_DAYS: u32 = 3;

/// Days `seatkeeper reclaim` waits after reminding an idle person before it
/// proposes removing them, when `policy.inactivity.remind_days` is unset
/// (GitHub's "reminding inactive users" example allows "a further 30 days").
pub const DEFAULT_REMIND_DAYS: u32 = 30;

impl Inactivity {
    /// `remind_days`, or its default.
    pub fn remind_days(&self) -> u32 {
        self.remind_days.unwrap_or(DEFAULT_REMIND_DAYS)
    }

    /// `act_before_cycle_end_days`, or its default.
    pub fn act_before_cycle_end_days(&self) -> u32 {
        self.act_before_cycle_end_days
            .unwrap_or(DEFAULT_ACT_BEFORE_CYCLE_END_DAYS)
    }

    /// The first day idle seats may be removed in the cycle ending (the
    /// next one starting) on `cycle_end`.
    pub fn removal_window_start(&self, cycle_end: chrono::NaiveDate) -> chrono::NaiveDate {
        cycle_end
            .checked_sub_days(chrono::Days::new(u64::from(
                self.act_before_cycle_end_days(),
            )))
            .unwrap_or(chrono::NaiveDate::MIN)
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
    /// Every value, as written in seats.yaml.
    pub const VALUES: &[&str] = &["commit", "pull_request"];

    /// The mode a value names.
    pub fn from_value(s: &str) -> Option<SelfServeMode> {
        [SelfServeMode::Commit, SelfServeMode::PullRequest]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// The value as written in seats.yaml.
    pub const fn as_str(self) -> &'static str {
        match self {
            SelfServeMode::Commit => "commit",
            SelfServeMode::PullRequest => "pull_request",
        }
    }
}

/// `policy.self_serve.when_full`: what `seatkeeper request` does when the
/// seat cap (the file's `max_seats` or the operator's `--max-seats`) is
/// reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Refuse the request, naming the cap and how to raise it.
    #[default]
    Refuse,
    /// Open a pull request labelled as waiting for room: never merged by
    /// seatkeeper while the cap is reached, so the branch the controller
    /// reads never holds a plan over the cap.
    Queue,
}

impl WhenFull {
    /// Every value, as written in seats.yaml.
    pub const VALUES: &[&str] = &["refuse", "queue"];

    /// The value a string names.
    pub fn from_value(s: &str) -> Option<WhenFull> {
        [WhenFull::Refuse, WhenFull::Queue]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// The value as written in seats.yaml.
    pub const fn as_str(self) -> &'static str {
        match self {
            WhenFull::Refuse => "refuse",
            WhenFull::Queue => "queue",
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
    /// At the seat cap: refuse, or queue a pull request waiting for room.
    #[serde(default)]
    pub when_full: WhenFull,
}

impl Default for SelfServe {
    fn default() -> Self {
        SelfServe {
            mode: SelfServeMode::Commit,
            default_expiry_days: None,
            allow_requests_for_others: false,
            auto_merge: true,
            when_full: WhenFull::Refuse,
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
    /// Remove the seats of listed logins outside `eligible_teams` (off: they
    /// are reported and keep their seat).
    #[serde(default)]
    pub remove_ineligible: bool,
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
    /// The user's individual AI-credit budget, whole dollars a month.
    #[serde(default)]
    pub budget: Option<u64>,
    /// After this date the individual budget is removed (the user falls
    /// back to `budgets.default`).
    #[serde(default)]
    pub budget_expires: Option<NaiveDate>,
    /// Where `budget` is written, for messages.
    #[serde(default)]
    pub budget_pos: Option<Pos>,
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
    /// The `budgets` block, when present.
    #[serde(default)]
    pub budgets: Option<Budgets>,
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
        if let Some(order) = utf16(bytes) {
            return Err(ConfigError::whole_file(
                path,
                format!("seats.yaml is UTF-16 ({order}); seatkeeper reads UTF-8"),
                Some("re-save the file as UTF-8, e.g. `iconv -f UTF-16 -t UTF-8`".into()),
            ));
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
        // Invisible characters first: the YAML scanner stops at the first,
        // and a reviewer cannot see any of them.
        let controls = yaml::control_characters(text);
        if !controls.is_empty() {
            return Err(ConfigError::new(path, text, controls));
        }
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
        let tagged = yaml::tags(text);
        if !tagged.is_empty() {
            return Err(ConfigError::new(path, text, tagged));
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

    /// Does this file manage AI-credit budgets (a `budgets:` block, or a
    /// `budget` on any user)?
    pub fn manages_budgets(&self) -> bool {
        self.budgets.is_some() || self.users.iter().any(|u| u.budget.is_some())
    }
}

#[cfg(test)]
mod tests;

/// `Some(byte order)` when `bytes` are UTF-16: a UTF-16 byte-order mark, or
/// ASCII text with a NUL beside every character.
fn utf16(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xFE, ..] => return Some("little-endian, with a byte-order mark"),
        [0xFE, 0xFF, ..] => return Some("big-endian, with a byte-order mark"),
        _ => {}
    }
    let pairs: Vec<&[u8]> = bytes.chunks_exact(2).take(8).collect();
    if pairs.len() < 4 {
        return None;
    }
    let ascii = |b: u8| b.is_ascii_graphic() || b == b' ' || b == b'\n';
    if pairs.iter().all(|p| ascii(p[0]) && p[1] == 0) {
        Some("little-endian")
    } else if pairs.iter().all(|p| p[0] == 0 && ascii(p[1])) {
        Some("big-endian")
    } else {
        None
    }
}
