//! The terminal rendering, `terraform plan` style.

use super::{
    BOLD, EMPTY_TEAM, HELD_OUTSIDE_SHOWN, RED, RESET, YELLOW, assign_via_note, details,
    guard_message, guard_next_step, held_outside_phrase, held_phrase, idle_phrase, idle_threshold,
    label, partial_message, partial_next_step, plain, sign, summary_line, unknown_team_note,
};
use crate::plan::Plan;

/// Render `plan` like `terraform plan`: one line per change in plan order
/// (`+` add, `~` restore, `-` remove), then `!` lines for desired logins and
/// teams that cannot be granted, notes, idle seats, the guard verdict, the
/// cost preview when there is one, and [`summary_line`] as the last line.
///
/// `color` adds ANSI colours (green `+`, red `-`, yellow `~` and `!`); decide
/// it with [`super::use_color`].
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
    for h in &plan.held {
        body.push(paint(
            YELLOW,
            &line(format!("? {}", h.login), &held_phrase(h)),
        ));
    }
    for s in &plan.skipped {
        body.push(paint(YELLOW, &line(format!("! {}", s.login), &s.reason)));
    }
    for t in &plan.empty_teams {
        body.push(paint(YELLOW, &line(format!("! team {t}"), EMPTY_TEAM)));
    }
    for h in plan.held_outside.iter().take(HELD_OUTSIDE_SHOWN) {
        body.push(line(format!("= {}", h.login), &held_outside_phrase(&h.via)));
    }
    if plan.held_outside.len() > HELD_OUTSIDE_SHOWN {
        body.push(format!(
            "= ... and {} more seats granted outside this file (--format json lists them all)",
            plan.held_outside.len() - HELD_OUTSIDE_SHOWN
        ));
    }

    let mut notes: Vec<String> = plan
        .unknown_teams
        .iter()
        .map(|t| format!("Note: {}.", unknown_team_note(t)))
        .collect();
    if let Some(t) = &plan.assign_via_team {
        notes.push(format!("Note: {}.", assign_via_note(t)));
    }
    if let Some(from) = plan.idle_removal_from {
        notes.push(format!("Note: {}.", super::idle_removal_note(from)));
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
                idle_phrase(i.days_idle, i.never_active, i.signal)
            )
        }));
        blocks.push(idle);
    }

    if plan.guard.tripped {
        let mut guard = vec![paint(
            &format!("{BOLD}{RED}"),
            "Guard tripped, nothing will be applied:",
        )];
        for r in &plan.guard.reasons {
            guard.push(paint(RED, &format!("  - {}", guard_message(r, plain))));
            guard.push(format!("    To go ahead: {}.", guard_next_step(r)));
        }
        blocks.push(guard);
    }
    if let Some(p) = &plan.partial {
        blocks.push(vec![
            paint(
                &format!("{BOLD}{YELLOW}"),
                &format!("Held, not applied: {}.", partial_message(p, plain)),
            ),
            format!("  Next: {}.", partial_next_step(p)),
        ]);
    }
    if !plan.held.is_empty() {
        blocks.push(vec![paint(
            &format!("{BOLD}{YELLOW}"),
            &format!(
                "Held, not applied: {} (a login in seats.yaml looks like a typo of the seat holder's; fix it, or remove the holder from seats.yaml on purpose with the typo fixed).",
                if plan.held.len() == 1 {
                    "1 removal".to_string()
                } else {
                    format!("{} removals", plan.held.len())
                }
            ),
        )]);
    }

    if let Some(cost) = &plan.cost {
        let mut block = vec![format!("Cost: {}", cost.headline())];
        block.extend(cost.lines().into_iter().map(|l| format!("  {l}")));
        blocks.push(block);
    }

    for mut b in super::budgets::text_blocks(plan) {
        if let Some(last) = b.last_mut()
            && last.starts_with("Budgets:")
        {
            *last = paint(BOLD, last);
        }
        blocks.push(b);
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
