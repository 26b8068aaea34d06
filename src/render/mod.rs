//! Plan renderings: [`text`] for a terminal, [`markdown`] for a PR comment or
//! job summary, [`json`] for machines (a stable contract) and [`diff`], a
//! unified diff of the seat roster.
//!
//! Every rendering is a pure function of one [`Plan`]: the same plan gives
//! the same bytes, which is what makes the insta snapshots meaningful.

mod budgets;
mod diff;
mod import;
mod json;
mod markdown;
#[cfg(test)]
mod tests;
mod text;

use std::io::IsTerminal;

use crate::github::IdleSignal;
use crate::plan::{Action, Change, GuardReason, HeldRemoval, LimitSource, Plan, Reason, SkipCode};

pub use budgets::summary as budget_summary;
pub use diff::{DesiredDiff, desired_diff, diff};
pub use import::seats_yaml;
pub use json::{JSON_FORMAT_VERSION, json};
pub use markdown::{MARKDOWN_LIMIT, MARKDOWN_MARKER, markdown, pr_markdown};
pub use text::text;

/// Output format of a plan, as chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    // The doc comments double as `--format` help text: plain words only.
    /// Human-readable, in the style of terraform plan.
    Text,
    /// GitHub-flavoured markdown for a PR comment or job summary.
    Markdown,
    /// The stable JSON contract (see README, "Plan JSON contract").
    Json,
    /// A unified diff of the seat roster.
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

static COLOR_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turn colour off for the whole process (`--no-color`).
pub fn disable_color() {
    COLOR_OFF.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Colour is allowed: neither `--no-color` nor a non-empty `NO_COLOR`
/// (<https://no-color.org>).
pub fn color_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && !COLOR_OFF.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether [`text`] output on stdout should be coloured: stdout is a
/// terminal and colour is allowed.
pub fn use_color() -> bool {
    color_allowed() && std::io::stdout().is_terminal()
}

/// The note of a plan whose idle seats wait for the removal window.
pub fn idle_removal_note(from: chrono::NaiveDate) -> String {
    format!(
        "idle seats are removed from {from}, in the last days of the billing cycle (policy.inactivity.act_before_cycle_end_days): a seat removed earlier is billed to the cycle's end anyway"
    )
}

/// The one-line summary, e.g.
/// `Plan: 2 to add, 1 to remove, 1 to restore. Seats: 140 -> 141 (cap 500).`
///
/// Adds are team adds plus user adds that are not restores; removes are team
/// and user removals. A plan without changes gives
/// `No changes. Seats: 140 (cap 500).` instead. Seats count users, not
/// listing entries. When seats pending cancellation are billed this cycle,
/// the billed figures follow: `Seats: 140 -> 141; billed this cycle: 150 ->
/// 151 (cap 500).` ` (cap N)` is left out when `policy.max_seats` is unset.
pub fn summary_line(plan: &Plan) -> String {
    let cap = match plan.max_seats {
        Some(n) => format!(" (cap {n})"),
        None => String::new(),
    };
    let billed_differs =
        plan.billed_before != plan.seats_before || plan.billed_after != plan.seats_after;
    if plan.is_empty() {
        let billed = if billed_differs {
            format!("; billed this cycle: {}", plan.billed_before)
        } else {
            String::new()
        };
        return format!("No changes. Seats: {}{billed}{cap}.", plan.seats_before);
    }
    let (adds, removes, restores) = counts(plan);
    let billed = if billed_differs {
        format!(
            "; billed this cycle: {} -> {}",
            plan.billed_before, plan.billed_after
        )
    } else {
        String::new()
    };
    format!(
        "Plan: {adds} to add, {removes} to remove, {restores} to restore. Seats: {} -> {}{billed}{cap}.",
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

/// How long ago the user was last seen, by the signal it was read from.
fn seen_phrase(days: i64, signal: Option<IdleSignal>, never_active: bool) -> String {
    match signal {
        Some(IdleSignal::LastAuthenticated) => format!("last signed in {}", ago(days)),
        Some(IdleSignal::Granted) => format!("never active, granted {}", ago(days)),
        Some(IdleSignal::LastActivity) => format!("last active {}", ago(days)),
        None if never_active => format!("never active, granted {}", ago(days)),
        None => format!("last active {}", ago(days)),
    }
}

fn activity(c: &Change) -> Option<String> {
    Some(seen_phrase(c.days_idle?, c.idle_signal, c.never_active))
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
        Reason::Ineligible => parts.push("not eligible (policy.remove_ineligible)".to_string()),
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
        if let (Some(n), Some(lost)) = (c.seats, c.seats_lost)
            && lost < n
        {
            parts.push(format!(
                "{} lost, {} kept through other grants",
                lost,
                n - lost
            ));
        }
    } else if c.action == Action::RemoveUser && !c.keeps_via.is_empty() {
        parts.push(format!("keeps seat via {}", c.keeps_via.join(", ")));
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
        GuardReason::MaxRemovals {
            removals,
            limit,
            set_by,
        } => format!(
            "{} {} {} ({limit})",
            plural(*removals as u64, "removal", "removals"),
            if *removals == 1 { "exceeds" } else { "exceed" },
            match set_by {
                LimitSource::File => code("policy.max_removals"),
                LimitSource::Flag => code("--max-removals"),
                LimitSource::Default => format!(
                    "the default removal cap, since neither {} nor {} sets one",
                    code("policy.max_removals"),
                    code("--max-removals")
                ),
            },
        ),
        GuardReason::MaxSeats {
            seats_after,
            billed_after,
            max_seats,
            set_by,
        } => {
            let pending = billed_after.saturating_sub(*seats_after);
            let billed = if pending > 0 {
                format!(
                    " ({seats_after} held, {pending} pending cancellation and billed until their date)"
                )
            } else {
                String::new()
            };
            format!(
                "{} billed this cycle after apply{billed} {} {} ({max_seats})",
                plural(*billed_after as u64, "seat", "seats"),
                if *billed_after == 1 {
                    "exceeds"
                } else {
                    "exceed"
                },
                match set_by {
                    LimitSource::Flag => code("--max-seats"),
                    _ => code("policy.max_seats"),
                },
            )
        }
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

/// The hold of a plan from an incomplete listing, as a sentence: which check
/// failed and what is held. `code` wraps setting names as in
/// [`guard_message`].
pub fn partial_message(p: &crate::plan::PartialListing, code: fn(&str) -> String) -> String {
    let removals = match p.held_removals.len() {
        0 => "every removal held (none seen on the pages read)".to_string(),
        n => format!(
            "every removal held ({} seen on the pages read, more may sit on the others)",
            plural(n as u64, "removal", "removals")
        ),
    };
    let cap = match p.max_seats {
        Some(cap) => format!(
            "; the seat cap ({cap}, {}) cannot be checked, so the {} held too: nothing is written",
            code("max_seats"),
            plural(p.held_adds.len() as u64, "add is", "adds are")
        ),
        None => "; adds only (an add is idempotent), and no seat cap is set".to_string(),
    };
    format!(
        "the seat listing could not be proven whole ({}): {removals}, the removal cap unchecked{cap}",
        p.reason
    )
}

/// What to do about a plan from an incomplete listing.
pub fn partial_next_step(p: &crate::plan::PartialListing) -> String {
    let mut s = "nothing, if GitHub settles: the next reconcile reads the listing again and applies the rest; if it keeps failing, lower --page-concurrency or check what keeps changing seats while they are read".to_string();
    if p.max_seats.is_some() {
        s.push_str(" (adds wait for a whole listing while a seat cap is set)");
    }
    s
}

/// What would let a guarded plan through, for the line after the reason.
pub fn guard_next_step(r: &GuardReason) -> String {
    match r {
        GuardReason::MaxRemovals {
            set_by: LimitSource::Flag,
            ..
        } => "the operator's --max-removals bounds every seats.yaml: split the change into smaller ones, or ask the operator to raise it".into(),
        GuardReason::MaxRemovals { .. } => "split the change into smaller ones, or raise policy.max_removals in seats.yaml (a count, or a percentage like \"40%\")".into(),
        GuardReason::MaxSeats {
            set_by: LimitSource::Flag,
            ..
        } => "the operator's --max-seats bounds every seats.yaml: remove seats first, or ask the operator to raise it".into(),
        GuardReason::MaxSeats { .. } => "remove seats first (seats pending cancellation stay billed until their date), or raise policy.max_seats".into(),
        GuardReason::EmptyDesired { .. } => "list the users and teams that should keep a seat, or set policy.allow_empty: true to remove every seat".into(),
    }
}

/// `? alice  (removal held: ...)`: why the typo guard held a removal.
fn held_phrase(h: &HeldRemoval) -> String {
    let what = match h.code {
        SkipCode::NoSuchUser => "which is not a GitHub user",
        _ => "which is not a member",
    };
    format!(
        "removal held: seats.yaml lists {}, {what}; did you mean {}?",
        h.listed, h.login
    )
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

fn idle_phrase(days: i64, never_active: bool, signal: IdleSignal) -> String {
    let mut s = plural(days, "day", "days");
    if never_active {
        s.push_str(", never active");
    } else if signal == IdleSignal::LastAuthenticated {
        s.push_str(" since the last sign-in");
    }
    s
}

fn unknown_team_note(team: &str) -> String {
    format!("Members of team {team} are unknown; seats after apply do not count them")
}

/// At most this many `=` lines (seats granted outside the file) in text and
/// markdown; the JSON lists them all.
const HELD_OUTSIDE_SHOWN: usize = 20;

/// `seat granted by org acme`, for a holder whose grants are outside the file.
fn held_outside_phrase(via: &[String]) -> String {
    format!("seat granted by {}", via.join(", "))
}

fn assign_via_note(team: &str) -> String {
    format!(
        "Seats are assigned through enterprise team {team}: each user added or removed joins or leaves it"
    )
}

const EMPTY_TEAM: &str = "team has no members; nothing to grant";

/// What applying each change did, one line each, then a count.
pub fn results(results: &[crate::reconcile::ChangeResult]) -> String {
    let mut s: String = results.iter().map(result_line).collect();
    s.push_str(&results_summary(results));
    s
}

/// One change's result, e.g. `ok      add alice` or
/// `failed  remove bob: GitHub's message`, with a newline.
pub fn result_line(r: &crate::reconcile::ChangeResult) -> String {
    use crate::plan::Action;
    let what = match r.action {
        Action::AddTeam => format!("add team {}", r.name),
        Action::RemoveTeam => format!("remove team {}", r.name),
        Action::AddUser => format!("add {}", r.name),
        Action::RemoveUser => format!("remove {}", r.name),
    };
    match &r.message {
        Some(m) => format!("{:<7} {what}: {m}\n", r.result),
        None => format!("{:<7} {what}\n", r.result),
    }
}

/// One budget change's result, e.g. `ok      add_budget alice 50` or
/// `failed  remove_budget (default): GitHub's message`, with a newline.
pub fn budget_result_line(r: &crate::reconcile::BudgetResult) -> String {
    let who = r.login.as_deref().unwrap_or("(default)");
    let what = match r.amount {
        Some(a) => format!("{} {who} {a}", r.action.as_str()),
        None => format!("{} {who}", r.action.as_str()),
    };
    match &r.message {
        Some(m) => format!("{:<7} {what}: {m}\n", r.result),
        None => format!("{:<7} {what}\n", r.result),
    }
}

/// `Applied: 3 ok, 0 failed, 1 skipped.` (`3 ok, 1 pending, ...` when
/// GitHub accepted a change for later) with a newline.
pub fn results_summary(results: &[crate::reconcile::ChangeResult]) -> String {
    let count = |what: &str| results.iter().filter(|r| r.result == what).count();
    let (ok, failed, pending) = (count("ok"), count("failed"), count("pending"));
    // `pending` (a 202) is named only when there is one.
    let accepted = if pending > 0 {
        format!(" {pending} pending,")
    } else {
        String::new()
    };
    format!(
        "Applied: {ok} ok,{accepted} {failed} failed, {} skipped.\n",
        results.len() - ok - failed - pending
    )
}
