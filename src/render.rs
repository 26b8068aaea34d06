//! Plan renderings: [`text`] for a terminal, [`markdown`] for a PR comment or
//! job summary, [`json`] for machines (a stable contract) and [`diff`], a
//! unified diff of the seat roster.
//!
//! Every rendering is a pure function of one [`Plan`]: the same plan gives
//! the same bytes, which is what makes the insta snapshots meaningful.

use std::fmt::Write as _;
use std::io::IsTerminal;

use serde::Serialize;
use similar::TextDiff;

use crate::config::Scope;
use crate::plan::{Action, Change, GuardReason, Plan, Reason};

/// Output format of a plan, as chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, `terraform plan` style ([`text`]).
    Text,
    /// GitHub-flavoured markdown for a PR comment or job summary ([`markdown`]).
    Markdown,
    /// The stable JSON contract ([`json`]).
    Json,
    /// Unified diff of the seat roster ([`diff`]).
    Diff,
}

/// Render `plan` in `format`. `color` only affects [`Format::Text`].
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text(plan, color),
        Format::Markdown => markdown(plan),
        Format::Json => json(plan),
        Format::Diff => diff(plan),
    }
}

/// Whether [`text`] output on stdout should be coloured: stdout is a terminal
/// and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn use_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// The one-line summary, e.g.
/// `Plan: 2 to add, 1 to remove, 1 to restore. Seats: 140 -> 141 (cap 500).`
///
/// Adds are team adds plus user adds that are not restores; removes are team
/// and user removals. A plan without changes gives
/// `No changes. Seats: 140 (cap 500).` instead. ` (cap N)` is left out when
/// `policy.max_seats` is unset.
pub fn summary_line(plan: &Plan) -> String {
    let cap = match plan.max_seats {
        Some(n) => format!(" (cap {n})"),
        None => String::new(),
    };
    if plan.is_empty() {
        return format!("No changes. Seats: {}{cap}.", plan.seats_before);
    }
    let (adds, removes, restores) = counts(plan);
    format!(
        "Plan: {adds} to add, {removes} to remove, {restores} to restore. Seats: {} -> {}{cap}.",
        plan.seats_before, plan.seats_after
    )
}

fn counts(plan: &Plan) -> (usize, usize, usize) {
    let mut adds = 0;
    let mut removes = 0;
    let mut restores = 0;
    for c in &plan.changes {
        match sign(c) {
            Sign::Add => adds += 1,
            Sign::Remove => removes += 1,
            Sign::Restore => restores += 1,
        }
    }
    (adds, removes, restores)
}

#[derive(Clone, Copy)]
enum Sign {
    Add,
    Remove,
    Restore,
}

fn sign(c: &Change) -> Sign {
    if c.action.is_removal() {
        Sign::Remove
    } else if c.action == Action::AddUser && c.reason == Reason::Restore {
        Sign::Restore
    } else {
        Sign::Add
    }
}

impl Sign {
    fn symbol(self) -> char {
        match self {
            Sign::Add => '+',
            Sign::Remove => '-',
            Sign::Restore => '~',
        }
    }

    fn color(self) -> &'static str {
        match self {
            Sign::Add => GREEN,
            Sign::Remove => RED,
            Sign::Restore => YELLOW,
        }
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn is_team(c: &Change) -> bool {
    matches!(c.action, Action::AddTeam | Action::RemoveTeam)
}

fn label(c: &Change) -> String {
    if is_team(c) {
        format!("team {}", c.name)
    } else {
        c.name.clone()
    }
}

fn plural(n: impl Into<i128>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn ago(days: i64) -> String {
    if days <= 0 {
        "today".to_string()
    } else {
        format!("{} ago", plural(days, "day", "days"))
    }
}

fn activity(c: &Change) -> Option<String> {
    let days = c.days_idle?;
    Some(if c.never_active {
        format!("never active, granted {}", ago(days))
    } else {
        format!("last active {}", ago(days))
    })
}

/// Why a change is in the plan, as short phrases joined with `; `. Empty for a
/// plain user add: `+ alice` needs no explanation in the terminal.
fn details(c: &Change) -> Vec<String> {
    let mut parts = Vec::new();
    match c.reason {
        Reason::New => {}
        Reason::Restore => parts.push(match c.pending_cancellation_date {
            Some(d) => format!("pending cancellation {d}, restored"),
            None => "pending cancellation, restored".to_string(),
        }),
        Reason::TeamRemoved => {
            let phrase = match &c.via_team {
                Some(t) => format!("seat granted by team {t} is going away"),
                None => "the team granting the seat is going away".to_string(),
            };
            parts.push(format!("{phrase}; kept as a direct seat"));
        }
        Reason::NotDesired => parts.push("not in seats.yaml".to_string()),
        Reason::Expired => parts.push(match c.expires {
            Some(d) => format!("expired {d}"),
            None => "expired".to_string(),
        }),
        Reason::Inactive => {
            let mut s = match c.days_idle {
                Some(d) => format!("inactive {}", plural(d, "day", "days")),
                None => "inactive".to_string(),
            };
            if c.never_active {
                s.push_str(", never active");
            }
            parts.push(s);
        }
    }
    if is_team(c) {
        if let Some(n) = c.seats {
            parts.push(plural(n as u64, "seat", "seats"));
        }
    } else if c.action == Action::RemoveUser && c.reason != Reason::Inactive {
        parts.extend(activity(c));
    }
    parts
}

/// One guard reason as a sentence; `code` wraps setting names (identity for
/// text, backticks for markdown) so all formats share one wording.
///
/// `render::guard_message(r, str::to_string)` gives the plain text form.
pub fn guard_message(r: &GuardReason, code: fn(&str) -> String) -> String {
    match r {
        GuardReason::MaxRemovals { removals, limit } => format!(
            "{} {} {} ({limit})",
            plural(*removals as u64, "removal", "removals"),
            if *removals == 1 { "exceeds" } else { "exceed" },
            code("policy.max_removals"),
        ),
        GuardReason::MaxSeats {
            seats_after,
            max_seats,
        } => format!(
            "{} after apply {} {} ({max_seats})",
            plural(*seats_after as u64, "seat", "seats"),
            if *seats_after == 1 {
                "exceeds"
            } else {
                "exceed"
            },
            code("policy.max_seats"),
        ),
        GuardReason::EmptyDesired { seats_before } => format!(
            "seats.yaml lists no users and no teams but {} {}; set {} to remove them all",
            plural(*seats_before as u64, "seat", "seats"),
            if *seats_before == 1 {
                "exists"
            } else {
                "exist"
            },
            code("policy.allow_empty: true"),
        ),
    }
}

fn plain(s: &str) -> String {
    s.to_string()
}

fn backticks(s: &str) -> String {
    format!("`{s}`")
}

/// The policy's idle threshold (every listed seat is at least that idle).
fn idle_threshold(plan: &Plan) -> Option<i64> {
    plan.inactivity_days
        .map(i64::from)
        .or_else(|| plan.inactive.iter().map(|i| i.days_idle).min())
}

fn idle_phrase(days: i64, never_active: bool) -> String {
    let mut s = plural(days, "day", "days");
    if never_active {
        s.push_str(", never active");
    }
    s
}

fn unknown_team_note(team: &str) -> String {
    format!("Members of team {team} are unknown; seats after apply do not count them")
}

fn unmanaged_note(plan: &Plan) -> String {
    let (verb, teams) = if plan.unmanaged.len() == 1 {
        ("is", "a team")
    } else {
        ("are", "teams")
    };
    format!(
        "{} {verb} granted by {teams} {} cannot manage and {verb} left alone: {}",
        plural(plan.unmanaged.len() as u64, "seat", "seats"),
        plan.scope.name(),
        plan.unmanaged.join(", ")
    )
}

const EMPTY_TEAM: &str = "team has no members; nothing to grant";

/// Render `plan` like `terraform plan`: one line per change in plan order
/// (`+` add, `~` restore, `-` remove), then `!` lines for desired logins and
/// teams that cannot be granted, notes, idle seats, the guard verdict, and
/// [`summary_line`] as the last line.
///
/// `color` adds ANSI colours (green `+`, red `-`, yellow `~` and `!`); decide
/// it with [`use_color`].
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = |code: &str, s: &str| -> String {
        if color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let line = |prefix: String, detail: &str| -> String {
        if detail.is_empty() {
            prefix
        } else {
            format!("{prefix}  ({detail})")
        }
    };

    let mut body: Vec<String> = Vec::new();
    for c in &plan.changes {
        let s = sign(c);
        let l = line(
            format!("{} {}", s.symbol(), label(c)),
            &details(c).join("; "),
        );
        body.push(paint(s.color(), &l));
    }
    for s in &plan.skipped {
        body.push(paint(YELLOW, &line(format!("! {}", s.login), &s.reason)));
    }
    for t in &plan.empty_teams {
        body.push(paint(YELLOW, &line(format!("! team {t}"), EMPTY_TEAM)));
    }

    let mut notes: Vec<String> = plan
        .unknown_teams
        .iter()
        .map(|t| format!("Note: {}.", unknown_team_note(t)))
        .collect();
    if !plan.unmanaged.is_empty() {
        notes.push(format!("Note: {}.", unmanaged_note(plan)));
    }

    let mut blocks: Vec<Vec<String>> = vec![body, notes];

    if let Some(min) = idle_threshold(plan) {
        let width = plan
            .inactive
            .iter()
            .map(|i| i.login.len())
            .max()
            .unwrap_or(0);
        let mut idle = vec![format!("Idle seats (no Copilot activity for {min}+ days):")];
        idle.extend(plan.inactive.iter().map(|i| {
            format!(
                "  {:width$}  {}",
                i.login,
                idle_phrase(i.days_idle, i.never_active)
            )
        }));
        blocks.push(idle);
    }

    if plan.guard.tripped {
        let mut guard = vec![paint(
            &format!("{BOLD}{RED}"),
            "Guard tripped, nothing will be applied:",
        )];
        guard.extend(
            plan.guard
                .reasons
                .iter()
                .map(|r| paint(RED, &format!("  - {}", guard_message(r, plain)))),
        );
        blocks.push(guard);
    }

    blocks.push(vec![paint(BOLD, &summary_line(plan))]);

    let mut out = String::new();
    for block in blocks.iter().filter(|b| !b.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        for l in block {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Markdown output is cut past this many bytes: GitHub refuses comments
/// longer than 65,536 characters, and the footer needs room.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// Lists longer than this are folded into `<details>`.
const FOLD_ROWS: usize = 20;

/// Hidden first line of [`markdown`], so a CI job can find and update its own
/// comment instead of adding a new one on every push.
pub const MARKDOWN_MARKER: &str = "<!-- seatkeeper-plan -->";

/// Escape free text for inline markdown (table cells, list items): every
/// character that could start emphasis, code, a link, HTML, an entity, a
/// table cell or an @-mention is backslash-escaped, and line breaks become
/// spaces so a row stays one row.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '@' | '#' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

struct MdLine {
    text: String,
    /// A table row or list item: the unit truncation counts.
    row: bool,
}

#[derive(Default)]
struct MdDoc {
    lines: Vec<MdLine>,
}

impl MdDoc {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(MdLine {
            text: s.into(),
            row: false,
        });
    }

    fn row(&mut self, s: impl Into<String>) {
        self.lines.push(MdLine {
            text: s.into(),
            row: true,
        });
    }

    /// Rows, folded into `<details>` when there are more than [`FOLD_ROWS`]
    /// (or always, with `always_fold`), followed by a blank line.
    fn section(&mut self, summary: &str, header: &[&str], rows: Vec<String>, always_fold: bool) {
        let fold = always_fold || rows.len() > FOLD_ROWS;
        if fold {
            self.line(format!("<details><summary>{summary}</summary>"));
            self.line("");
        }
        for h in header {
            self.line(*h);
        }
        for r in rows {
            self.row(r);
        }
        self.line("");
        if fold {
            self.line("</details>");
            self.line("");
        }
    }

    /// Join the lines; past [`MARKDOWN_LIMIT`], stop at the last whole line
    /// that fits, close any open `<details>` and say how many rows were cut.
    fn finish(self) -> String {
        let total: usize = self.lines.iter().map(|l| l.text.len() + 1).sum();
        let mut out = String::with_capacity(total.min(MARKDOWN_LIMIT + 512));
        if total <= MARKDOWN_LIMIT {
            for l in &self.lines {
                out.push_str(&l.text);
                out.push('\n');
            }
            return out;
        }
        let mut open = 0usize;
        let mut cut = self.lines.len();
        for (i, l) in self.lines.iter().enumerate() {
            if out.len() + l.text.len() + 1 > MARKDOWN_LIMIT {
                cut = i;
                break;
            }
            if l.text.starts_with("<details>") {
                open += 1;
            } else if l.text.starts_with("</details>") {
                open = open.saturating_sub(1);
            }
            out.push_str(&l.text);
            out.push('\n');
        }
        let cut_rows = self.lines[cut..].iter().filter(|l| l.row).count();
        // The blank line ends a table before the closing tag.
        out.push('\n');
        for _ in 0..open {
            out.push_str("</details>\n\n");
        }
        let _ = writeln!(
            out,
            "**Truncated:** {cut_rows} more {} not shown (GitHub comments are limited to 65,536 characters). \
             The text and JSON formats show the full plan.",
            if cut_rows == 1 { "row" } else { "rows" }
        );
        out
    }
}

/// Render `plan` as GitHub-flavoured markdown for a PR comment or a job
/// summary.
///
/// Layout: the hidden marker line [`MARKDOWN_MARKER`], a heading naming the
/// org or enterprise, [`summary_line`] in bold, the guard verdict as a
/// `> [!WARNING]` block when tripped, a `| | Login / team | Reason |` table of
/// changes and `!` rows (folded into `<details>` past 20 rows), notes, and
/// the idle seats in `<details>`. Free text is escaped; past
/// [`MARKDOWN_LIMIT`] bytes the output is cut at a row boundary and ends
/// with a line saying how many rows were cut.
pub fn markdown(plan: &Plan) -> String {
    let mut doc = MdDoc::default();
    doc.line(MARKDOWN_MARKER);
    doc.line(format!(
        "### Copilot seat plan for {} {}",
        plan.scope.kind(),
        md_escape(plan.scope.name())
    ));
    doc.line("");
    doc.line(format!("**{}**", summary_line(plan)));
    doc.line("");

    if plan.guard.tripped {
        doc.line("> [!WARNING]");
        doc.line("> **Guard tripped, nothing will be applied:**");
        for r in &plan.guard.reasons {
            let msg = match r {
                // `limit` is free text: the only field that needs escaping.
                GuardReason::MaxRemovals { removals, limit } => guard_message(
                    &GuardReason::MaxRemovals {
                        removals: *removals,
                        limit: md_escape(limit),
                    },
                    backticks,
                ),
                other => guard_message(other, backticks),
            };
            doc.line(format!("> - {msg}"));
        }
        doc.line("");
    }

    let mut rows: Vec<String> = Vec::new();
    for c in &plan.changes {
        let mut reason = details(c);
        // The terminal leaves plain adds bare; a table cell must not be empty.
        if c.reason == Reason::New {
            reason.insert(0, "in seats.yaml".to_string());
        }
        rows.push(format!(
            "| `{}` | {} | {} |",
            sign(c).symbol(),
            md_escape(&label(c)),
            md_escape(&reason.join("; "))
        ));
    }
    for s in &plan.skipped {
        rows.push(format!(
            "| `!` | {} | {} |",
            md_escape(&s.login),
            md_escape(&s.reason)
        ));
    }
    for t in &plan.empty_teams {
        rows.push(format!(
            "| `!` | {} | {EMPTY_TEAM} |",
            md_escape(&format!("team {t}"))
        ));
    }
    if !rows.is_empty() {
        let summary = format!("Show all {} rows", rows.len());
        doc.section(
            &summary,
            &["| | Login / team | Reason |", "|---|---|---|"],
            rows,
            false,
        );
    }

    let mut notes: Vec<String> = plan
        .unknown_teams
        .iter()
        .map(|t| format!("- {}", md_escape(&unknown_team_note(t))))
        .collect();
    notes.extend(plan.unmanaged.iter().map(|login| {
        format!(
            "- {}: seat granted by a team {} cannot manage; left alone",
            md_escape(login),
            md_escape(plan.scope.name())
        )
    }));
    if !notes.is_empty() {
        let summary = format!("{} notes", notes.len());
        doc.section(&summary, &["**Notes**", ""], notes, false);
    }

    if let Some(min) = idle_threshold(plan) {
        let summary = format!(
            "Idle seats: {} (no Copilot activity for {min}+ days)",
            plan.inactive.len()
        );
        let rows = plan
            .inactive
            .iter()
            .map(|i| {
                format!(
                    "| {} | {} |",
                    md_escape(&i.login),
                    idle_phrase(i.days_idle, i.never_active)
                )
            })
            .collect();
        doc.section(&summary, &["| Login | Idle for |", "|---|---|"], rows, true);
    }

    doc.finish()
}

/// Version of the [`json`] contract. Adding fields keeps it; renaming,
/// removing or changing the meaning of one bumps it.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enterprise: Option<&'a str>,
    seats_before: usize,
    seats_after: usize,
    max_seats: Option<u64>,
    changes: Vec<JsonChange<'a>>,
    inactive: Vec<JsonInactive<'a>>,
    skipped: Vec<JsonSkipped<'a>>,
    empty_teams: &'a [String],
    unknown_teams: &'a [String],
    unmanaged: &'a [String],
    guard: JsonGuard<'a>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    days_idle: Option<i64>,
    #[serde(skip_serializing_if = "is_false")]
    never_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_cancellation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seats: Option<usize>,
}

#[derive(Serialize)]
struct JsonInactive<'a> {
    login: &'a str,
    days_idle: i64,
    #[serde(skip_serializing_if = "is_false")]
    never_active: bool,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    login: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonGuard<'a> {
    tripped: bool,
    reasons: Vec<JsonGuardReason<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonGuardReason<'a> {
    MaxRemovals {
        removals: usize,
        limit: &'a str,
        message: String,
    },
    MaxSeats {
        seats_after: usize,
        max_seats: u64,
        message: String,
    },
    EmptyDesired {
        seats_before: usize,
        message: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Render `plan` as pretty-printed JSON with a trailing newline.
///
/// # Contract (`format_version` 1)
///
/// Keys appear in this order. New keys may be added without a version bump;
/// consumers must ignore keys they do not know.
///
/// - `format_version` (number): `1`.
/// - `org` (string) **or** `enterprise` (string): the scope; exactly one is present.
/// - `seats_before` (number): seats held now; pending cancellations do not count.
/// - `seats_after` (number): seats held after apply (members of added teams
///   counted when known).
/// - `max_seats` (number or `null`): `policy.max_seats`.
/// - `changes` (array), in apply order (team adds, user adds, team removals,
///   user removals). Each object:
///   - `action`: `add_team` | `add_user` | `remove_team` | `remove_user`;
///   - `login` (user actions) **or** `team` (team actions): string;
///   - `reason`: for user adds `new` | `restore` | `team_removed`; for user
///     removals `not_desired` | `expired` | `inactive`; for team adds `new`;
///     for team removals `not_desired`;
///   - optional, present only when known: `days_idle` (number, days since the
///     last Copilot activity or since the grant), `never_active` (`true`, only
///     when the seat never showed activity), `pending_cancellation_date`
///     (`"YYYY-MM-DD"`, restores), `seats` (number, team changes).
/// - `inactive` (array): idle seats per `policy.inactivity`, each
///   `{"login", "days_idle", "never_active"?}` (`never_active` only when `true`).
/// - `skipped` (array): desired logins not added, each `{"login", "reason"}`
///   with a human-readable reason.
/// - `empty_teams` (array of strings): desired teams with no members.
/// - `unknown_teams` (array of strings): desired teams whose members are
///   unknown; `seats_after` does not count them.
/// - `unmanaged` (array of strings): seat holders granted by a team this
///   scope cannot manage; never removed.
/// - `guard` (object): `tripped` (bool; `true` means nothing is applied) and
///   `reasons` (array), each an object with `kind` and a human-readable
///   `message`:
///   - `{"kind": "max_removals", "removals": N, "limit": "STRING", "message"}`
///   - `{"kind": "max_seats", "seats_after": N, "max_seats": N, "message"}`
///   - `{"kind": "empty_desired", "seats_before": N, "message"}`
///
/// Example:
///
/// ```json
/// {"format_version": 1, "org": "acme", "seats_before": 140, "seats_after": 141,
///  "max_seats": 500,
///  "changes": [{"action": "add_user", "login": "alice", "reason": "new"}],
///  "inactive": [{"login": "x", "days_idle": 93}], "skipped": [],
///  "empty_teams": [], "unknown_teams": [], "unmanaged": [],
///  "guard": {"tripped": false, "reasons": []}}
/// ```
pub fn json(plan: &Plan) -> String {
    let (org, enterprise) = match &plan.scope {
        Scope::Org(n) => (Some(n.as_str()), None),
        Scope::Enterprise(n) => (None, Some(n.as_str())),
    };
    let changes = plan
        .changes
        .iter()
        .map(|c| {
            let team = is_team(c);
            JsonChange {
                action: c.action.as_str(),
                login: (!team).then_some(c.name.as_str()),
                team: team.then_some(c.name.as_str()),
                reason: c.reason.as_str(),
                days_idle: c.days_idle,
                never_active: c.never_active,
                pending_cancellation_date: c.pending_cancellation_date.map(|d| d.to_string()),
                seats: c.seats,
            }
        })
        .collect();
    let reasons = plan
        .guard
        .reasons
        .iter()
        .map(|r| {
            let message = guard_message(r, plain);
            match r {
                GuardReason::MaxRemovals { removals, limit } => JsonGuardReason::MaxRemovals {
                    removals: *removals,
                    limit,
                    message,
                },
                GuardReason::MaxSeats {
                    seats_after,
                    max_seats,
                } => JsonGuardReason::MaxSeats {
                    seats_after: *seats_after,
                    max_seats: *max_seats,
                    message,
                },
                GuardReason::EmptyDesired { seats_before } => JsonGuardReason::EmptyDesired {
                    seats_before: *seats_before,
                    message,
                },
            }
        })
        .collect();
    let doc = JsonPlan {
        format_version: JSON_FORMAT_VERSION,
        org,
        enterprise,
        seats_before: plan.seats_before,
        seats_after: plan.seats_after,
        max_seats: plan.max_seats,
        changes,
        inactive: plan
            .inactive
            .iter()
            .map(|i| JsonInactive {
                login: &i.login,
                days_idle: i.days_idle,
                never_active: i.never_active,
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                login: &s.login,
                reason: &s.reason,
            })
            .collect(),
        empty_teams: &plan.empty_teams,
        unknown_teams: &plan.unknown_teams,
        unmanaged: &plan.unmanaged,
        guard: JsonGuard {
            tripped: plan.guard.tripped,
            reasons,
        },
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain structs serialize to JSON");
    out.push('\n');
    out
}

/// Unified diff of the seat roster (`roster_before` vs `roster_after`, one
/// login per line) with headers `seats (now)` and `seats (after apply)`.
/// Empty when the roster does not change.
pub fn diff(plan: &Plan) -> String {
    if plan.roster_before == plan.roster_after {
        return String::new();
    }
    TextDiff::from_lines(plan.roster_before.as_text(), plan.roster_after.as_text())
        .unified_diff()
        .header("seats (now)", "seats (after apply)")
        .to_string()
}

/// What a change to seats.yaml asks for, between a base version (e.g. the
/// PR's target branch) and the working file: logins and teams added and
/// removed. Shown above the live plan in a pull request.
pub fn desired_diff(
    base: &crate::config::SeatsFile,
    head: &crate::config::SeatsFile,
    format: Format,
    color: bool,
) -> String {
    let d = DesiredDiff::between(base, head);
    match format {
        Format::Json => String::new(),
        Format::Markdown => d.markdown(),
        Format::Text | Format::Diff => d.text(color),
    }
}

/// The markdown PR comment: the marker first (so a workflow can find and
/// update its one comment), what the PR asks for, then the live plan.
pub fn pr_markdown(
    plan: &Plan,
    base: &crate::config::SeatsFile,
    head: &crate::config::SeatsFile,
) -> String {
    let body = markdown(plan);
    let body = body
        .strip_prefix(MARKDOWN_MARKER)
        .map(|b| b.trim_start_matches('\n'))
        .unwrap_or(&body);
    format!(
        "{MARKDOWN_MARKER}\n{}{body}",
        DesiredDiff::between(base, head).markdown()
    )
}

/// Logins and teams a seats.yaml change adds or removes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredDiff {
    /// Logins added to `users` (as written in the new file).
    pub users_added: Vec<String>,
    /// Logins removed from `users`.
    pub users_removed: Vec<String>,
    /// Teams added to `teams`.
    pub teams_added: Vec<String>,
    /// Teams removed from `teams`.
    pub teams_removed: Vec<String>,
    /// True when the `policy` block changed.
    pub policy_changed: bool,
}

impl DesiredDiff {
    /// Compare two files; logins compare case-insensitively.
    pub fn between(
        base: &crate::config::SeatsFile,
        head: &crate::config::SeatsFile,
    ) -> DesiredDiff {
        use std::collections::BTreeMap;
        let users = |f: &crate::config::SeatsFile| -> BTreeMap<String, String> {
            f.users
                .iter()
                .map(|u| (u.login.to_ascii_lowercase(), u.login.clone()))
                .collect()
        };
        let teams = |f: &crate::config::SeatsFile| -> BTreeMap<String, String> {
            f.teams
                .iter()
                .map(|t| (t.slug.to_ascii_lowercase(), t.slug.clone()))
                .collect()
        };
        let only = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| -> Vec<String> {
            a.iter()
                .filter(|(k, _)| !b.contains_key(*k))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (bu, hu, bt, ht) = (users(base), users(head), teams(base), teams(head));
        DesiredDiff {
            users_added: only(&hu, &bu),
            users_removed: only(&bu, &hu),
            teams_added: only(&ht, &bt),
            teams_removed: only(&bt, &ht),
            policy_changed: base.policy != head.policy,
        }
    }

    fn is_empty(&self) -> bool {
        self.users_added.is_empty()
            && self.users_removed.is_empty()
            && self.teams_added.is_empty()
            && self.teams_removed.is_empty()
            && !self.policy_changed
    }

    fn lines(&self) -> Vec<(char, String)> {
        let mut out = Vec::new();
        out.extend(self.teams_added.iter().map(|t| ('+', format!("team {t}"))));
        out.extend(self.users_added.iter().map(|u| ('+', u.clone())));
        out.extend(
            self.teams_removed
                .iter()
                .map(|t| ('-', format!("team {t}"))),
        );
        out.extend(self.users_removed.iter().map(|u| ('-', u.clone())));
        if self.policy_changed {
            out.push(('~', "policy".to_string()));
        }
        out
    }

    fn text(&self, color: bool) -> String {
        if self.is_empty() {
            return "This change does not change who is listed in seats.yaml.\n\n".to_string();
        }
        let mut s = String::from("This change to seats.yaml asks for:\n");
        for (sign, what) in self.lines() {
            let line = format!("  {sign} {what}");
            let code = match sign {
                '+' => "32",
                '-' => "31",
                _ => "33",
            };
            if color {
                s.push_str(&format!("\x1b[{code}m{line}\x1b[0m\n"));
            } else {
                s.push_str(&line);
                s.push('\n');
            }
        }
        s.push_str("\nAgainst the live seats, applying it gives:\n");
        s
    }

    fn markdown(&self) -> String {
        let mut s = String::from("### What this pull request asks for\n\n");
        if self.is_empty() {
            s.push_str("No one is added to or removed from seats.yaml.\n\n");
            return s;
        }
        for (sign, what) in self.lines() {
            s.push_str(&format!("- `{sign}` {}\n", md_escape(&what)));
        }
        s.push('\n');
        s
    }
}

/// What applying each change did, one line each, then a count.
pub fn results(results: &[crate::reconcile::ChangeResult]) -> String {
    use crate::plan::Action;
    let mut s = String::new();
    let (mut ok, mut failed, mut skipped) = (0, 0, 0);
    for r in results {
        let what = match r.action {
            Action::AddTeam => format!("add team {}", r.name),
            Action::RemoveTeam => format!("remove team {}", r.name),
            Action::AddUser => format!("add {}", r.name),
            Action::RemoveUser => format!("remove {}", r.name),
        };
        match r.result {
            "ok" => ok += 1,
            "failed" => failed += 1,
            _ => skipped += 1,
        }
        match &r.message {
            Some(m) => s.push_str(&format!("{:<7} {what}: {m}\n", r.result)),
            None => s.push_str(&format!("{:<7} {what}\n", r.result)),
        }
    }
    s.push_str(&format!(
        "Applied: {ok} ok, {failed} failed, {skipped} skipped.\n"
    ));
    s
}

/// A valid seats.yaml that matches a live listing: direct seats as `users`,
/// granting teams as `teams`, seats pending cancellation left out (listed in
/// a comment). Sorted, so re-importing gives the same bytes.
pub fn seats_yaml(scope: &crate::config::Scope, live: &crate::plan::LiveState) -> String {
    use crate::config::Scope;
    use crate::plan::TeamKind;
    use std::collections::BTreeMap;
    let kind = match scope {
        Scope::Org(_) => TeamKind::Org,
        Scope::Enterprise(_) => TeamKind::Enterprise,
    };
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    let mut teams: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    let mut foreign: BTreeMap<String, String> = BTreeMap::new();
    for seat in &live.seats {
        let key = seat.login.to_ascii_lowercase();
        if let Some(date) = seat.pending_cancellation_date {
            pending.insert(key, format!("{} (until {date})", seat.login));
            continue;
        }
        match &seat.assigning_team {
            None => {
                users.insert(key, seat.login.clone());
            }
            Some(t) if t.kind == kind => {
                teams.insert(t.slug.to_ascii_lowercase(), t.slug.clone());
            }
            Some(t) => {
                foreign.insert(key, format!("{} (enterprise team {})", seat.login, t.slug));
            }
        }
    }
    let mut s = String::from("# Imported by `seatkeeper import` from the live Copilot seats.\n");
    s.push_str(&format!("{}: {}\n", scope.kind(), scope.name()));
    if !pending.is_empty() {
        s.push_str("# Seats pending cancellation, left out (add them back to keep them):\n");
        for p in pending.values() {
            s.push_str(&format!("#   {p}\n"));
        }
    }
    if !foreign.is_empty() {
        s.push_str("# Seats granted by enterprise teams, managed outside this org:\n");
        for p in foreign.values() {
            s.push_str(&format!("#   {p}\n"));
        }
    }
    if teams.is_empty() {
        s.push_str("teams: []\n");
    } else {
        s.push_str("teams:\n");
        for t in teams.values() {
            s.push_str(&format!("  - {t}\n"));
        }
    }
    if users.is_empty() {
        s.push_str("users: []\n");
    } else {
        s.push_str("users:\n");
        for u in users.values() {
            s.push_str(&format!("  - {u}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::plan::{Guard, Inactive, Roster, Skipped};

    fn change(action: Action, name: &str, reason: Reason) -> Change {
        Change {
            action,
            name: name.to_string(),
            reason,
            days_idle: None,
            never_active: false,
            pending_cancellation_date: None,
            seats: None,
            via_team: None,
            expires: None,
        }
    }

    fn idle(mut c: Change, days: i64, never_active: bool) -> Change {
        c.days_idle = Some(days);
        c.never_active = never_active;
        c
    }

    fn seats(mut c: Change, n: usize) -> Change {
        c.seats = Some(n);
        c
    }

    fn logins(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn roster(v: &[&str]) -> Roster {
        v.iter().collect()
    }

    fn empty_plan(scope: Scope, seats: usize, max_seats: Option<u64>) -> Plan {
        Plan {
            scope,
            seats_before: seats,
            seats_after: seats,
            max_seats,
            changes: vec![],
            inactive: vec![],
            inactivity_days: None,
            skipped: vec![],
            empty_teams: vec![],
            unknown_teams: vec![],
            unmanaged: vec![],
            roster_before: Roster::default(),
            roster_after: Roster::default(),
            guard: Guard::default(),
        }
    }

    /// Every kind of change and finding, not guarded. old-team grants dave,
    /// frank and gina; platform will grant p1 and p2; newbies' members are
    /// unknown.
    fn full_plan() -> Plan {
        let mut restore = idle(change(Action::AddUser, "carol", Reason::Restore), 3, false);
        restore.pending_cancellation_date = NaiveDate::from_ymd_opt(2026, 12, 1);
        Plan {
            seats_before: 10,
            seats_after: 8,
            changes: vec![
                seats(change(Action::AddTeam, "platform", Reason::New), 2),
                change(Action::AddTeam, "newbies", Reason::New),
                change(Action::AddUser, "alice", Reason::New),
                Change {
                    via_team: Some("old-team".into()),
                    ..change(Action::AddUser, "dave", Reason::TeamRemoved)
                },
                restore,
                seats(
                    change(Action::RemoveTeam, "old-team", Reason::NotDesired),
                    3,
                ),
                idle(
                    change(Action::RemoveUser, "bob", Reason::NotDesired),
                    93,
                    false,
                ),
                idle(
                    change(Action::RemoveUser, "erin", Reason::NotDesired),
                    12,
                    true,
                ),
                idle(
                    Change {
                        expires: NaiveDate::from_ymd_opt(2026, 11, 1),
                        ..change(Action::RemoveUser, "hubot", Reason::Expired)
                    },
                    1,
                    false,
                ),
                idle(
                    change(Action::RemoveUser, "idle-ian", Reason::Inactive),
                    120,
                    false,
                ),
            ],
            inactive: vec![
                Inactive {
                    login: "idle-ian".into(),
                    days_idle: 120,
                    never_active: false,
                },
                Inactive {
                    login: "zoe".into(),
                    days_idle: 61,
                    never_active: true,
                },
            ],
            skipped: vec![
                Skipped {
                    login: "mallory".into(),
                    reason: "not a member of acme".into(),
                },
                Skipped {
                    login: "trent".into(),
                    reason: "not in an eligible team (engineering, contractors)".into(),
                },
            ],
            inactivity_days: Some(60),
            empty_teams: logins(&["ghosts"]),
            unknown_teams: logins(&["newbies"]),
            unmanaged: logins(&["ent-user"]),
            roster_before: roster(&[
                "bob", "dave", "ent-user", "erin", "frank", "gina", "hubot", "idle-ian", "oscar",
                "zoe",
            ]),
            roster_after: roster(&[
                "alice", "carol", "dave", "ent-user", "oscar", "p1", "p2", "zoe",
            ]),
            ..empty_plan(Scope::Org("acme".into()), 10, Some(500))
        }
    }

    /// 22 adds and 3 removals against a cap of 30 and a removal limit of 2.
    fn guarded_plan() -> Plan {
        let before: Vec<String> = (1..=18).map(|i| format!("u{i:02}")).collect();
        let added: Vec<String> = (1..=22).map(|i| format!("n{i:02}")).collect();
        let mut after: Vec<String> = before[3..].iter().chain(&added).cloned().collect();
        after.sort();
        let mut changes: Vec<Change> = added
            .iter()
            .map(|l| change(Action::AddUser, l, Reason::New))
            .collect();
        changes.extend(
            before[..3]
                .iter()
                .map(|l| idle(change(Action::RemoveUser, l, Reason::NotDesired), 40, false)),
        );
        Plan {
            seats_after: 37,
            changes,
            roster_before: before.iter().collect(),
            roster_after: after.iter().collect(),
            guard: Guard {
                tripped: true,
                reasons: vec![
                    GuardReason::MaxRemovals {
                        removals: 3,
                        limit: "2".into(),
                    },
                    GuardReason::MaxSeats {
                        seats_after: 37,
                        max_seats: 30,
                    },
                ],
            },
            ..empty_plan(Scope::Org("acme".into()), 18, Some(30))
        }
    }

    fn idle_plan() -> Plan {
        let roster = roster(&["alice", "bob", "carol"]);
        Plan {
            roster_before: roster.clone(),
            roster_after: roster,
            ..empty_plan(Scope::Org("acme".into()), 3, None)
        }
    }

    fn enterprise_plan() -> Plan {
        Plan {
            seats_after: 5,
            changes: vec![
                seats(change(Action::AddTeam, "ent-eng", Reason::New), 2),
                change(Action::AddUser, "octocat", Reason::New),
                idle(
                    change(Action::RemoveUser, "hubot", Reason::NotDesired),
                    200,
                    false,
                ),
            ],
            roster_before: roster(&["hubot", "monalisa", "x1", "x2"]),
            roster_after: roster(&["e1", "e2", "monalisa", "octocat", "x1", "x2"]),
            ..empty_plan(Scope::Enterprise("octo-corp".into()), 4, None)
        }
    }

    fn cases() -> Vec<(&'static str, Plan)> {
        vec![
            ("full", full_plan()),
            ("guarded", guarded_plan()),
            ("empty", idle_plan()),
            ("enterprise", enterprise_plan()),
        ]
    }

    #[test]
    fn snapshots() {
        for (name, plan) in cases() {
            insta::assert_snapshot!(format!("{name}_text"), text(&plan, false));
            insta::assert_snapshot!(format!("{name}_markdown"), markdown(&plan));
            insta::assert_snapshot!(format!("{name}_json"), json(&plan));
            insta::assert_snapshot!(format!("{name}_diff"), diff(&plan));
        }
    }

    #[test]
    fn summary_line_counts() {
        let mut restore_only = empty_plan(Scope::Org("a".into()), 1, None);
        restore_only
            .changes
            .push(change(Action::AddUser, "c", Reason::Restore));
        restore_only.seats_after = 2;
        let table = [
            (
                full_plan(),
                "Plan: 4 to add, 5 to remove, 1 to restore. Seats: 10 -> 8 (cap 500).",
            ),
            (
                guarded_plan(),
                "Plan: 22 to add, 3 to remove, 0 to restore. Seats: 18 -> 37 (cap 30).",
            ),
            (idle_plan(), "No changes. Seats: 3."),
            (
                enterprise_plan(),
                "Plan: 2 to add, 1 to remove, 0 to restore. Seats: 4 -> 5.",
            ),
            (
                restore_only,
                "Plan: 0 to add, 0 to remove, 1 to restore. Seats: 1 -> 2.",
            ),
            (
                empty_plan(Scope::Org("a".into()), 140, Some(500)),
                "No changes. Seats: 140 (cap 500).",
            ),
        ];
        for (plan, want) in table {
            assert_eq!(summary_line(&plan), want);
            let out = text(&plan, false);
            assert_eq!(out.lines().last(), Some(want), "last line of:\n{out}");
        }
    }

    #[test]
    fn color_only_when_asked() {
        for (name, plan) in cases() {
            assert!(!text(&plan, false).contains('\x1b'), "{name}");
            assert!(text(&plan, true).contains('\x1b'), "{name}");
            for format in [Format::Markdown, Format::Json, Format::Diff] {
                assert!(
                    !render(&plan, format, true).contains('\x1b'),
                    "{name} {format:?}"
                );
            }
        }
        let colored = text(&full_plan(), true);
        assert!(colored.contains(&format!("{GREEN}+ alice{RESET}")));
        assert!(colored.contains(&format!("{RED}- bob  (")));
        assert!(colored.contains(&format!("{YELLOW}~ carol  (")));
        assert!(colored.contains(&format!("{YELLOW}! mallory  (")));
    }

    #[test]
    fn text_lines() {
        let out = text(&full_plan(), false);
        for want in [
            "+ team platform  (2 seats)",
            "+ team newbies",
            "+ alice",
            "+ dave  (seat granted by team old-team is going away; kept as a direct seat)",
            "~ carol  (pending cancellation 2026-12-01, restored)",
            "- team old-team  (not in seats.yaml; 3 seats)",
            "- bob  (not in seats.yaml; last active 93 days ago)",
            "- erin  (not in seats.yaml; never active, granted 12 days ago)",
            "- hubot  (expired 2026-11-01; last active 1 day ago)",
            "- idle-ian  (inactive 120 days)",
            "! mallory  (not a member of acme)",
            "! team ghosts  (team has no members; nothing to grant)",
            "Idle seats (no Copilot activity for 60+ days):",
        ] {
            assert!(
                out.lines().any(|l| l == want),
                "missing {want:?} in:\n{out}"
            );
        }
    }

    #[test]
    fn team_removed_without_a_known_team() {
        let mut plan = full_plan();
        for c in &mut plan.changes {
            c.via_team = None;
        }
        let out = text(&plan, false);
        assert!(
            out.contains(
                "+ dave  (the team granting the seat is going away; kept as a direct seat)"
            )
        );
    }

    #[test]
    fn guard_messages() {
        let table = [
            (
                GuardReason::MaxRemovals {
                    removals: 12,
                    limit: "10".into(),
                },
                "12 removals exceed policy.max_removals (10)",
            ),
            (
                GuardReason::MaxRemovals {
                    removals: 1,
                    limit: "0".into(),
                },
                "1 removal exceeds policy.max_removals (0)",
            ),
            (
                GuardReason::MaxSeats {
                    seats_after: 520,
                    max_seats: 500,
                },
                "520 seats after apply exceed policy.max_seats (500)",
            ),
            (
                GuardReason::EmptyDesired { seats_before: 140 },
                "seats.yaml lists no users and no teams but 140 seats exist; \
                 set policy.allow_empty: true to remove them all",
            ),
        ];
        for (reason, want) in table {
            assert_eq!(guard_message(&reason, plain), want);
            let mut plan = empty_plan(Scope::Org("a".into()), 140, None);
            plan.guard = Guard {
                tripped: true,
                reasons: vec![reason],
            };
            let out = text(&plan, false);
            assert!(out.contains("Guard tripped, nothing will be applied:\n"));
            assert!(out.contains(&format!("  - {want}\n")), "{out}");
            let v: serde_json::Value = serde_json::from_str(&json(&plan)).expect("valid JSON");
            assert_eq!(v["guard"]["reasons"][0]["message"], want);
        }
    }

    #[test]
    fn markdown_truncates_at_a_row_boundary() {
        let n = 5_000;
        let mut plan = empty_plan(Scope::Org("acme".into()), n, Some(10_000));
        plan.seats_after = 2 * n;
        plan.changes = (0..n)
            .map(|i| change(Action::AddUser, &format!("user-number-{i:05}"), Reason::New))
            .collect();
        plan.inactive = (0..10)
            .map(|i| Inactive {
                login: format!("idle-{i}"),
                days_idle: 90,
                never_active: false,
            })
            .collect();
        let out = markdown(&plan);
        let total_rows = n + plan.inactive.len();

        let (body, footer) = out
            .rsplit_once("\n**Truncated:** ")
            .expect("truncation footer");
        assert!(body.len() <= MARKDOWN_LIMIT, "body is {} bytes", body.len());
        assert!(
            out.len() <= MARKDOWN_LIMIT + 300,
            "output is {} bytes",
            out.len()
        );
        let cut: usize = footer
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .expect("row count in footer");
        let shown = out.lines().filter(|l| l.starts_with("| `+` |")).count();
        assert!(shown > 0);
        assert_eq!(shown + cut, total_rows);
        // Every shown row is whole and the fold is closed.
        let last_row = out.lines().rfind(|l| l.starts_with("| `")).expect("a row");
        assert!(last_row.ends_with(" |"));
        assert_eq!(
            out.matches("<details>").count(),
            out.matches("</details>").count()
        );
        assert!(out.starts_with(MARKDOWN_MARKER));
    }

    #[test]
    fn markdown_small_plan_is_not_truncated() {
        let out = markdown(&full_plan());
        assert!(!out.contains("Truncated"));
        assert!(out.starts_with("<!-- seatkeeper-plan -->\n"));
    }

    #[test]
    fn markdown_escapes_free_text() {
        let table = [
            ("a|b", "a\\|b"),
            ("*x* _y_", "\\*x\\* \\_y\\_"),
            ("`code`", "\\`code\\`"),
            ("<b>&amp;</b>", "\\<b\\>\\&amp;\\</b\\>"),
            ("ping @org/team", "ping \\@org/team"),
            ("[l](u)", "\\[l\\](u)"),
            ("two\nlines", "two lines"),
            ("plain-text 2026-12-01", "plain-text 2026-12-01"),
        ];
        for (input, want) in table {
            assert_eq!(md_escape(input), want, "{input:?}");
        }
        let mut plan = empty_plan(Scope::Org("acme".into()), 1, None);
        plan.skipped.push(Skipped {
            login: "mallory".into(),
            reason: "not in team a|b".into(),
        });
        let out = markdown(&plan);
        let row = out
            .lines()
            .find(|l| l.contains("mallory"))
            .expect("skipped row");
        assert_eq!(row, "| `!` | mallory | not in team a\\|b |");
        // Four unescaped pipes: the row keeps exactly three cells.
        assert_eq!(row.replace("\\|", "").matches('|').count(), 4);
    }

    #[test]
    fn json_has_exactly_the_contract_keys() {
        use serde_json::Value;
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        let top = [
            "format_version",
            "org",
            "seats_before",
            "seats_after",
            "max_seats",
            "changes",
            "inactive",
            "skipped",
            "empty_teams",
            "unknown_teams",
            "unmanaged",
            "guard",
        ];
        let v: Value = serde_json::from_str(&json(&full_plan())).expect("valid JSON");
        let mut want: Vec<String> = top.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(keys(&v), want);
        assert_eq!(v["format_version"], 1);
        assert_eq!(v["org"], "acme");

        let allowed_change = [
            "action",
            "login",
            "team",
            "reason",
            "days_idle",
            "never_active",
            "pending_cancellation_date",
            "seats",
        ];
        for c in v["changes"].as_array().expect("changes") {
            for k in keys(c) {
                assert!(allowed_change.contains(&k.as_str()), "unexpected key {k}");
            }
            let team = c["action"].as_str().is_some_and(|a| a.ends_with("_team"));
            assert_eq!(c.get("team").is_some(), team, "{c}");
            assert_eq!(c.get("login").is_some(), !team, "{c}");
            let reasons: &[&str] = match c["action"].as_str() {
                Some("add_user") => &["new", "restore", "team_removed"],
                Some("remove_user") => &["not_desired", "expired", "inactive"],
                Some("add_team") => &["new"],
                Some("remove_team") => &["not_desired"],
                other => panic!("unknown action {other:?}"),
            };
            assert!(reasons.contains(&c["reason"].as_str().unwrap_or("")), "{c}");
        }
        assert_eq!(
            v["changes"][0],
            serde_json::json!({"action": "add_team", "team": "platform", "reason": "new", "seats": 2})
        );
        assert_eq!(
            v["changes"][2],
            serde_json::json!({"action": "add_user", "login": "alice", "reason": "new"})
        );
        assert_eq!(v["changes"][4]["pending_cancellation_date"], "2026-12-01");
        assert_eq!(
            v["inactive"][0],
            serde_json::json!({"login": "idle-ian", "days_idle": 120})
        );
        assert_eq!(keys(&v["guard"]), ["reasons", "tripped"]);
        assert_eq!(keys(&v["skipped"][0]), ["login", "reason"]);

        let ent: Value = serde_json::from_str(&json(&enterprise_plan())).expect("valid JSON");
        assert_eq!(ent["enterprise"], "octo-corp");
        assert!(ent.get("org").is_none());
        assert_eq!(ent["max_seats"], Value::Null);

        let g: Value = serde_json::from_str(&json(&guarded_plan())).expect("valid JSON");
        assert_eq!(
            keys(&g["guard"]["reasons"][0]),
            ["kind", "limit", "message", "removals"]
        );
        assert_eq!(g["guard"]["reasons"][0]["kind"], "max_removals");
        assert_eq!(g["guard"]["reasons"][0]["limit"], "2");
        assert_eq!(g["guard"]["reasons"][1]["kind"], "max_seats");
    }

    #[test]
    fn json_key_order_is_fixed() {
        let out = json(&full_plan());
        let pos = |k: &str| out.find(&format!("\"{k}\":")).expect(k);
        assert!(pos("format_version") < pos("org"));
        assert!(pos("org") < pos("seats_before"));
        assert!(pos("seats_after") < pos("changes"));
        assert!(pos("unmanaged") < pos("guard"));
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn diff_is_empty_when_roster_is_unchanged() {
        assert_eq!(diff(&idle_plan()), "");
        let out = diff(&enterprise_plan());
        assert!(
            out.starts_with("--- seats (now)\n+++ seats (after apply)\n"),
            "{out}"
        );
        assert!(out.lines().any(|l| l == "-hubot"));
        assert!(out.lines().any(|l| l == "+octocat"));
    }

    #[test]
    fn format_names() {
        use clap::ValueEnum;
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        assert_eq!(names, ["text", "markdown", "json", "diff"]);
    }
}
