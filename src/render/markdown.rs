//! The markdown rendering, for a PR comment or a job summary.

use std::fmt::Write as _;

use super::diff::DesiredDiff;
use super::{
    EMPTY_TEAM, HELD_OUTSIDE_SHOWN, assign_via_note, backticks, details, guard_message,
    guard_next_step, held_outside_phrase, held_phrase, idle_phrase, idle_threshold, label,
    partial_message, partial_next_step, sign, summary_line, unknown_team_note,
};
use crate::plan::{GuardReason, Plan, Reason};

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
pub(super) fn md_escape(s: &str) -> String {
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
/// org or enterprise, the cost headline in bold when the plan has a cost
/// preview (the money first), [`summary_line`] in bold, the guard verdict as a
/// `> [!WARNING]` block when tripped, a `| | Login / team | Reason |` table of
/// changes and `!` rows (folded into `<details>` past 20 rows), notes, the
/// cost preview's lines, and
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
    if let Some(cost) = &plan.cost {
        // The money first: what a reviewer weighs before the logins.
        doc.line(format!("**{}**", md_money(&cost.headline())));
        doc.line("");
    }
    doc.line(format!("**{}**", summary_line(plan)));
    doc.line("");

    if plan.guard.tripped {
        doc.line("> [!WARNING]");
        doc.line("> **Guard tripped, nothing will be applied:**");
        for r in &plan.guard.reasons {
            let msg = match r {
                // `limit` is free text: the only field that needs escaping.
                GuardReason::MaxRemovals {
                    removals,
                    limit,
                    set_by,
                } => guard_message(
                    &GuardReason::MaxRemovals {
                        removals: *removals,
                        limit: md_escape(limit),
                        set_by: *set_by,
                    },
                    backticks,
                ),
                other => guard_message(other, backticks),
            };
            doc.line(format!("> - {msg}"));
            doc.line(format!(
                ">   To go ahead: {}.",
                md_escape(&guard_next_step(r))
            ));
        }
        doc.line("");
    }

    if let Some(p) = &plan.partial {
        doc.line("> [!WARNING]");
        // `reason` is free text: the only field that needs escaping.
        let escaped = crate::plan::PartialListing {
            reason: md_escape(&p.reason),
            ..p.clone()
        };
        doc.line(format!(
            "> **Adds only:** {}.",
            partial_message(&escaped, backticks)
        ));
        doc.line(format!(">   Next: {}.", md_escape(&partial_next_step(p))));
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
    for h in &plan.held {
        rows.push(format!(
            "| `?` | {} | {} |",
            md_escape(&h.login),
            md_escape(&held_phrase(h))
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
    for h in plan.held_outside.iter().take(HELD_OUTSIDE_SHOWN) {
        rows.push(format!(
            "| `=` | {} | {} |",
            md_escape(&h.login),
            md_escape(&held_outside_phrase(&h.via))
        ));
    }
    if plan.held_outside.len() > HELD_OUTSIDE_SHOWN {
        rows.push(format!(
            "| `=` | ... | {} more seats granted outside this file |",
            plan.held_outside.len() - HELD_OUTSIDE_SHOWN
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
    if let Some(t) = &plan.assign_via_team {
        notes.push(format!("- {}", md_escape(&assign_via_note(t))));
    }
    if let Some(from) = plan.idle_removal_from {
        notes.push(format!("- {}", md_escape(&super::idle_removal_note(from))));
    }
    if !notes.is_empty() {
        let summary = format!("{} notes", notes.len());
        doc.section(&summary, &["**Notes**", ""], notes, false);
    }

    if let Some(cost) = &plan.cost {
        let rows = cost
            .lines()
            .iter()
            .map(|l| format!("- {}", md_money(l)))
            .collect();
        doc.section("Cost preview", &["**Cost preview**", ""], rows, false);
    }
    for l in super::budgets::markdown_lines(plan, md_escape) {
        doc.line(l);
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
                    idle_phrase(i.days_idle, i.never_active, i.signal)
                )
            })
            .collect();
        doc.section(&summary, &["| Login | Idle for |", "|---|---|"], rows, true);
    }

    doc.finish()
}

/// Escaped text with `$` escaped too: two dollar signs on one line
/// (`US$57 -> US$95`) would be read by GitHub as inline math.
fn md_money(s: &str) -> String {
    md_escape(s).replace('$', "\\$")
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
    // The money leads: the cost headline before what the PR asks for (and
    // not again under the plan's heading).
    let money = plan
        .cost
        .as_ref()
        .map(|c| format!("**{}**\n\n", md_money(&c.headline())))
        .unwrap_or_default();
    let body = if money.is_empty() {
        body.to_string()
    } else {
        body.replacen(&money, "", 1)
    };
    format!(
        "{MARKDOWN_MARKER}\n{money}{}{body}",
        DesiredDiff::between(base, head).markdown()
    )
}
