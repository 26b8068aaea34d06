//! The budget part of a plan, in each format: `+ budget bob US$50`,
//! `~ budget (default) US$20 -> US$30`, `- budget carol US$9`.

use serde_json::{Value, json};

use crate::plan::Plan;
use crate::plan::budgets::{BudgetAction, BudgetChange, BudgetPlan, BudgetReason};

/// `+`, `~` or `-`.
pub(super) fn symbol(c: &BudgetChange) -> &'static str {
    match c.action {
        BudgetAction::AddBudget => "+",
        BudgetAction::UpdateBudget => "~",
        BudgetAction::RemoveBudget => "-",
    }
}

fn dollars(n: Option<u64>) -> String {
    n.map_or_else(|| "none".to_string(), |n| format!("US${n}"))
}

/// `budget bob US$50` / `budget (default) US$20 -> US$30`.
pub(super) fn label(c: &BudgetChange) -> String {
    match c.action {
        BudgetAction::AddBudget => format!("budget {} {}", c.who(), dollars(c.amount)),
        BudgetAction::UpdateBudget => format!(
            "budget {} {} -> {}",
            c.who(),
            dollars(c.amount_before),
            dollars(c.amount)
        ),
        BudgetAction::RemoveBudget => {
            format!("budget {} {}", c.who(), dollars(c.amount_before))
        }
    }
}

/// Why, for a reader.
pub(super) fn reason(c: &BudgetChange) -> &'static str {
    match c.reason {
        BudgetReason::New => "in seats.yaml",
        BudgetReason::Differs => {
            "GitHub's amount differs from seats.yaml (changed in the file, or edited by hand): seats.yaml wins"
        }
        BudgetReason::Expired => "budget_expires is past",
        BudgetReason::NotDeclared => "not in seats.yaml (budgets.manage: exclusive)",
        BudgetReason::Duplicate => "a second budget for the same login",
    }
}

/// `Budgets: 1 to add, 1 to update, 1 to remove. Default: US$20 -> US$30;
/// listed users' total: US$200 -> US$250 a month.`
pub fn summary(b: &BudgetPlan) -> String {
    let n = |a| b.of(a).count();
    format!(
        "Budgets: {} to add, {} to update, {} to remove. Default: {} -> {}; listed users' total: US${} -> US${} a month.",
        n(BudgetAction::AddBudget),
        n(BudgetAction::UpdateBudget),
        n(BudgetAction::RemoveBudget),
        dollars(b.default_before),
        dollars(b.default_after),
        b.total_before,
        b.total_after
    )
}

/// The lines the terminal shows, in blocks.
pub(super) fn text_blocks(plan: &Plan) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    if let Some(why) = &plan.budgets_unavailable {
        blocks.push(vec![format!("Note: budgets not planned: {why}.")]);
    }
    let Some(b) = &plan.budgets else {
        return blocks;
    };
    let mut lines: Vec<String> = b
        .changes
        .iter()
        .map(|c| format!("{} {}  ({})", symbol(c), label(c), reason(c)))
        .collect();
    lines.extend(b.adopted.iter().map(|(l, a)| {
        format!("= budget {l} US${a}  (not in seats.yaml; kept: budgets.manage: additive)")
    }));
    lines.extend(b.warnings.iter().map(|w| format!("! {w}")));
    if !b.guard.is_empty() {
        lines.push("Budget guard tripped, nothing will be applied:".to_string());
        lines.extend(b.guard.iter().map(|g| format!("  - {}", g.message())));
    }
    lines.push(summary(b));
    blocks.push(lines);
    blocks
}

/// The markdown section (escaped by the caller's escaper).
pub(super) fn markdown_lines(plan: &Plan, esc: fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = &plan.budgets_unavailable {
        out.push(format!("> [!NOTE]\n> Budgets not planned: {}", esc(why)));
        out.push(String::new());
    }
    let Some(b) = &plan.budgets else {
        return out;
    };
    out.push(format!("**{}**", esc(&summary(b))));
    out.push(String::new());
    if !b.guard.is_empty() {
        out.push("> [!WARNING]".into());
        out.push("> **Budget guard tripped, nothing will be applied:**".into());
        out.extend(b.guard.iter().map(|g| format!("> - {}", esc(&g.message()))));
        out.push(String::new());
    }
    if !b.changes.is_empty() || !b.adopted.is_empty() || !b.warnings.is_empty() {
        out.push("| | Budget | Reason |".into());
        out.push("|---|---|---|".into());
        for c in &b.changes {
            out.push(format!(
                "| `{}` | {} | {} |",
                symbol(c),
                esc(&label(c)),
                esc(reason(c))
            ));
        }
        for (l, a) in &b.adopted {
            out.push(format!(
                "| `=` | {} | not in seats.yaml; kept (additive) |",
                esc(&format!("budget {l} US${a}"))
            ));
        }
        for w in &b.warnings {
            out.push(format!("| `!` | | {} |", esc(w)));
        }
        out.push(String::new());
    }
    out
}

/// The plan JSON's `budgets` object (see docs/plan-json.md).
pub(super) fn json_value(b: &BudgetPlan) -> Value {
    let changes: Vec<Value> = b
        .changes
        .iter()
        .map(|c| {
            let mut v = json!({"action": c.action.as_str()});
            if let Some(l) = &c.login {
                v["login"] = json!(l);
            }
            if let Some(a) = c.amount {
                v["amount"] = json!(a);
            }
            if let Some(a) = c.amount_before {
                v["amount_before"] = json!(a);
            }
            v["reason"] = json!(c.reason.as_str());
            v
        })
        .collect();
    json!({
        "default_before": b.default_before,
        "default_after": b.default_after,
        "individual_before": b.individual_before,
        "individual_after": b.individual_after,
        "total_before": b.total_before,
        "total_after": b.total_after,
        "changes": changes,
        "adopted": b.adopted.iter().map(|(l, a)| json!({"login": l, "amount": a})).collect::<Vec<_>>(),
        "warnings": b.warnings,
        "guard": b.guard.iter().map(|g| json!({"kind": g.kind(), "message": g.message()})).collect::<Vec<_>>(),
    })
}
