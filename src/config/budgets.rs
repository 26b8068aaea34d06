//! `budgets:` in seats.yaml: Copilot AI-credit budgets, in whole US dollars
//! a month (GitHub's user-level budgets, `BundlePricing` / `ai_credits`).

use serde::{Deserialize, Serialize};

use super::Pos;

/// `budgets.manage`: may seatkeeper delete user budgets the file does not
/// declare?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetManage {
    /// Delete individual (`user`-scope) ai_credits budgets not declared, and
    /// restore hand edits.
    #[default]
    Exclusive,
    /// Create and update what is declared; never delete.
    Additive,
}

impl BudgetManage {
    /// Every value, as written in seats.yaml.
    pub const VALUES: &[&str] = &["exclusive", "additive"];

    /// The mode a value names.
    pub fn from_value(s: &str) -> Option<BudgetManage> {
        [BudgetManage::Exclusive, BudgetManage::Additive]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// The value as written in seats.yaml.
    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetManage::Exclusive => "exclusive",
            BudgetManage::Additive => "additive",
        }
    }
}

/// The `budgets` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Budgets {
    /// The universal per-user budget (`budget_scope: multi_user_customer`),
    /// whole dollars; `None`: not managed.
    pub default: Option<u64>,
    /// Where `default` is written, for messages.
    pub default_pos: Option<Pos>,
    /// Exclusive (delete undeclared user budgets) or additive.
    pub manage: BudgetManage,
}

/// Largest budget amount the file accepts, in whole dollars (the operator's
/// `--max-user-budget` usually bounds it far lower).
pub const MAX_BUDGET_DOLLARS: i64 = 1_000_000;
