//! The `budgets` block and per-user budget amounts.

use super::super::spec;
use super::super::{BudgetManage, Budgets};
use super::Walker;
use crate::config::yaml::{Kind, Node};

impl Walker<'_> {
    /// A budget amount: a whole, non-negative number of dollars. A
    /// fractional amount gets its own message: GitHub takes whole dollars.
    pub(super) fn budget_amount(&mut self, v: &Node, what: &str) -> Option<u64> {
        if matches!(v.kind, Kind::Float) {
            let written = self.as_written(v).unwrap_or_default();
            self.error(
                v,
                format!("`{what}` is {written}: budgets are whole US dollars"),
                Some("GitHub's budgets take whole dollars: round it, e.g. `50`".into()),
            );
            return None;
        }
        self.int(v, what, spec::BUDGET_DOLLARS).map(|n| n as u64)
    }

    pub(super) fn budgets(&mut self, node: &Node) -> Option<Budgets> {
        let mut b = Budgets::default();
        for (key, _k, v) in self.entries(node, "budgets", spec::BUDGETS) {
            match key {
                "default" => {
                    b.default_pos = Some(v.pos);
                    b.default = self.budget_amount(v, "budgets.default");
                }
                "manage" => {
                    if let Some(m) = self.value(
                        v,
                        "budgets.manage",
                        BudgetManage::VALUES,
                        BudgetManage::from_value,
                    ) {
                        b.manage = m;
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        Some(b)
    }
}
