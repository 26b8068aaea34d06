//! The cost preview of a plan: seats by `plan_type` before and after with
//! their monthly price, the pooled AI credits, when removals stop billing,
//! each affected person's AI-credit use this cycle, and (when known) budget
//! totals. A pure function over plain values ([`preview`]); the reconciler
//! gathers the inputs ([`CostInput::from_plan`]) and the renderers print the
//! result.
//!
//! The billing facts (github-observed, "Billing"): since June 2026 each
//! Business seat adds US$19 (1,900 AI credits, 1 credit = US$0.01) and each
//! Enterprise seat US$39 (3,900) to a pooled allowance; adding a seat grows
//! the pool at once, and a removed seat is billed, and keeps its credits in
//! the pool, to the end of the current cycle.

use std::collections::BTreeMap;

use crate::ci::{Ci, CiIndex};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{LiveState, Plan};
use crate::github::PlanType;

/// AI credits per US dollar of seat price (1 credit = US$0.01).
pub const CREDITS_PER_DOLLAR: u64 = 100;

/// Monthly seat prices in whole US dollars: GitHub's list prices unless the
/// operator passes negotiated ones (`--seat-price business=17`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPrices {
    /// Copilot Business, per seat a month (list price 19).
    pub business: u64,
    /// Copilot Enterprise, per seat a month (list price 39).
    pub enterprise: u64,
}

impl Default for SeatPrices {
    fn default() -> Self {
        SeatPrices {
            business: 19,
            enterprise: 39,
        }
    }
}

impl SeatPrices {
    /// The price of one seat of `plan`. A seat GitHub lists as `unknown` is
    /// priced as Business, the cheaper plan: the preview never overstates
    /// what a change saves or costs by guessing Enterprise.
    pub fn of(&self, plan: PlanType) -> u64 {
        match plan {
            PlanType::Enterprise => self.enterprise,
            PlanType::Business | PlanType::Unknown => self.business,
        }
    }

    /// Apply one `PLAN=DOLLARS` override (`business=17`, `enterprise=35`).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (plan, price) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}`: expected PLAN=DOLLARS, e.g. business=19"))?;
        let price: u64 = price.trim().parse().map_err(|_| {
            format!("`{spec}`: the price must be whole US dollars a month, e.g. business=19")
        })?;
        match plan.trim().to_ascii_lowercase().as_str() {
            "business" => self.business = price,
            "enterprise" => self.enterprise = price,
            other => {
                return Err(format!(
                    "`{spec}`: unknown plan `{other}` (business or enterprise)"
                ));
            }
        }
        Ok(())
    }
}

/// Budget totals before and after a plan, in whole US dollars a month
/// (the budgets feature fills it in; the preview only prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetTotals {
    /// Sum of the declared AI-credit budgets now.
    pub before: u64,
    /// After apply.
    pub after: u64,
}

/// How the end of the current billing cycle was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleSource {
    /// A seat pending cancellation: GitHub sets its
    /// `pending_cancellation_date` to the next billing date.
    PendingCancellation,
    /// No such seat: the first day of the next calendar month (UTC), the
    /// monthly cycle of GitHub's billing platform, whose usage reports also
    /// go by calendar month.
    CalendarMonth,
}

/// The current billing cycle: the first day of the next one, and how it
/// is known. GitHub bills monthly; the listing says the date only through a
/// seat pending cancellation (any such date after `today`, the earliest),
/// otherwise the calendar month is taken.
pub fn cycle_end(today: NaiveDate, live: &LiveState) -> (NaiveDate, CycleSource) {
    let pending = live
        .users
        .iter()
        .flat_map(|u| &u.grants)
        .filter_map(|g| g.pending_cancellation_date)
        .filter(|d| *d > today)
        .min();
    match pending {
        Some(d) => (d, CycleSource::PendingCancellation),
        None => (next_month(today), CycleSource::CalendarMonth),
    }
}

/// The first day of the month after `today`'s.
pub fn next_month(today: NaiveDate) -> NaiveDate {
    let (y, m) = if today.month() == 12 {
        (today.year() + 1, 1)
    } else {
        (today.year(), today.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
}

/// Per-person AI-credit use this cycle, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Credits used this cycle by login (as GitHub spells it), rounded to
    /// whole credits (one US cent each).
    pub credits: BTreeMap<String, u64>,
    /// Why some or all of it is missing (the route answered 403/404, more
    /// people than are looked up, or nobody looked); `None` when complete.
    pub note: Option<String>,
}

/// The plain values the preview is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostInput {
    /// Seats held now by plan type (pending cancellations excluded: they
    /// stop billing at the cycle's end whatever the plan does).
    pub before: BTreeMap<PlanType, u64>,
    /// Logins gaining a seat, with the plan it will be billed at.
    pub gained: Vec<(String, PlanType)>,
    /// Logins losing their seat, with the plan that bills it.
    pub lost: Vec<(String, PlanType)>,
    /// Prices per seat a month.
    pub prices: SeatPrices,
    /// The first day of the next billing cycle.
    pub cycle_end: NaiveDate,
    /// How `cycle_end` is known.
    pub cycle_source: CycleSource,
    /// AI-credit use this cycle of the people losing a seat.
    pub usage: Usage,
    /// Budget totals, when budgets are managed.
    pub budgets: Option<BudgetTotals>,
}

impl CostInput {
    /// The inputs for `plan` over `live`: seat holders before and after
    /// come from the plan's rosters. A new seat is billed at the plan most
    /// seats in the scope have now (an org has one plan; in an enterprise
    /// the common one), Business when there are none.
    pub fn from_plan(plan: &Plan, live: &LiveState, today: NaiveDate, prices: SeatPrices) -> Self {
        // Lookups by login without lowercase copies: at 100,000 seats two
        // maps and a set of lowercase logins were the reconcile's peak.
        let login = |j: usize| Ci(&live.users[j].login);
        let index = CiIndex::of(live.users.len(), login);
        let user = |l: &str| index.get(Ci(l), login).map(|i| &live.users[i]);
        let held = |l: &str| user(l).filter(|u| u.held()).map(|u| u.plan_type);
        let mut before: BTreeMap<PlanType, u64> = BTreeMap::new();
        for l in plan.roster_before.iter() {
            *before.entry(held(l).unwrap_or_default()).or_default() += 1;
        }
        let usual = before
            .iter()
            .filter(|(p, _)| **p != PlanType::Unknown)
            .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
            .map(|(p, _)| *p)
            .unwrap_or(PlanType::Business);
        let after_list: Vec<&str> = plan.roster_after.iter().collect();
        let after = CiIndex::of(after_list.len(), |j| Ci(after_list[j]));
        let lost = plan
            .roster_before
            .iter()
            .filter(|l| after.get(Ci(l), |j| Ci(after_list[j])).is_none())
            .map(|l| (l.to_string(), held(l).unwrap_or_default()))
            .collect();
        let gained = after_list
            .iter()
            .filter(|l| held(l).is_none())
            .map(|l| {
                // A restored seat keeps its plan; a known plan wins.
                let p = match user(l).map(|u| u.plan_type) {
                    Some(p) if p != PlanType::Unknown => p,
                    _ => usual,
                };
                (l.to_string(), p)
            })
            .collect();
        let (cycle_end, cycle_source) = cycle_end(today, live);
        CostInput {
            before,
            gained,
            lost,
            prices,
            cycle_end,
            cycle_source,
            usage: Usage::default(),
            // The listed users' budget total, when seats.yaml manages budgets.
            budgets: plan.budgets.as_ref().map(|b| BudgetTotals {
                before: b.total_before,
                after: b.total_after,
            }),
        }
    }
}

/// Seats of one plan type before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCost {
    /// The plan type.
    pub plan_type: PlanType,
    /// Its price per seat a month (US$).
    pub price: u64,
    /// Seats held now.
    pub seats_before: u64,
    /// Seats held after apply.
    pub seats_after: u64,
}

/// A person losing a seat: billed until the cycle's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilledToCycleEnd {
    /// The login.
    pub login: String,
    /// The plan billing the seat.
    pub plan_type: PlanType,
    /// AI credits used this cycle, when read.
    pub credits_used: Option<u64>,
}

/// The cost preview of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostPreview {
    /// One line per plan type with seats before or after, in order
    /// business, enterprise, unknown.
    pub plans: Vec<PlanCost>,
    /// Monthly seat cost now (US$).
    pub monthly_before: u64,
    /// From the next cycle, after apply (US$).
    pub monthly_after: u64,
    /// Pooled AI credits a month now.
    pub credits_before: u64,
    /// From the next cycle, after apply.
    pub credits_after: u64,
    /// Pooled credits this cycle after apply: added seats count at once,
    /// removed ones stay to the cycle's end.
    pub credits_this_cycle: u64,
    /// The first day of the next cycle: removals stop billing then.
    pub cycle_end: NaiveDate,
    /// How `cycle_end` is known.
    pub cycle_source: CycleSource,
    /// Seats this plan removes, each billed until `cycle_end`.
    pub billed_to_cycle_end: Vec<BilledToCycleEnd>,
    /// Why AI-credit use is missing, when it is.
    pub usage_note: Option<String>,
    /// Budget totals, when budgets are managed.
    pub budgets: Option<BudgetTotals>,
}

/// The cost preview of `input`.
pub fn preview(input: &CostInput) -> CostPreview {
    let mut after = input.before.clone();
    for (_, p) in &input.lost {
        let n = after.entry(*p).or_default();
        *n = n.saturating_sub(1);
    }
    for (_, p) in &input.gained {
        *after.entry(*p).or_default() += 1;
    }
    let mut plans = Vec::new();
    for p in [PlanType::Business, PlanType::Enterprise, PlanType::Unknown] {
        let b = input.before.get(&p).copied().unwrap_or(0);
        let a = after.get(&p).copied().unwrap_or(0);
        if b > 0 || a > 0 {
            plans.push(PlanCost {
                plan_type: p,
                price: input.prices.of(p),
                seats_before: b,
                seats_after: a,
            });
        }
    }
    let monthly_before: u64 = plans.iter().map(|c| c.price * c.seats_before).sum();
    let monthly_after: u64 = plans.iter().map(|c| c.price * c.seats_after).sum();
    let gained_dollars: u64 = input.gained.iter().map(|(_, p)| input.prices.of(*p)).sum();
    CostPreview {
        plans,
        monthly_before,
        monthly_after,
        credits_before: monthly_before * CREDITS_PER_DOLLAR,
        credits_after: monthly_after * CREDITS_PER_DOLLAR,
        credits_this_cycle: (monthly_before + gained_dollars) * CREDITS_PER_DOLLAR,
        cycle_end: input.cycle_end,
        cycle_source: input.cycle_source,
        billed_to_cycle_end: input
            .lost
            .iter()
            .map(|(l, p)| BilledToCycleEnd {
                login: l.clone(),
                plan_type: *p,
                credits_used: input.usage.credits.get(l).copied(),
            })
            .collect(),
        usage_note: input.usage.note.clone(),
        budgets: input.budgets,
    }
}

impl CostPreview {
    /// The change in one line, money first: `+3 Business seats:
    /// +US$57/month, +5,700 pooled credits`. Removals say when they take
    /// effect; a plan that changes no seat says what the seats cost.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        for c in &self.plans {
            let d = c.seats_after as i64 - c.seats_before as i64;
            if d != 0 {
                let name = match c.plan_type {
                    PlanType::Business => "Business",
                    PlanType::Enterprise => "Enterprise",
                    PlanType::Unknown => "unknown-plan",
                };
                parts.push(format!(
                    "{}{} {name} seat{}",
                    if d > 0 { "+" } else { "-" },
                    d.unsigned_abs(),
                    if d.abs() == 1 { "" } else { "s" }
                ));
            }
        }
        if parts.is_empty() {
            return format!(
                "No seat cost change: US${}/month, {} pooled credits",
                thousands(self.monthly_after),
                thousands(self.credits_after)
            );
        }
        let dollars = self.monthly_after as i64 - self.monthly_before as i64;
        let credits = self.credits_after as i64 - self.credits_before as i64;
        let mut out = format!(
            "{}: {}US${}/month, {}{} pooled credits",
            parts.join(", "),
            sign(dollars),
            thousands(dollars.unsigned_abs()),
            sign(credits),
            thousands(credits.unsigned_abs())
        );
        if !self.billed_to_cycle_end.is_empty() {
            out.push_str(&format!(
                " (removed seats are billed until {})",
                self.cycle_end
            ));
        }
        out
    }

    /// The detail lines under the headline, plain text.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.plans {
            out.push(format!(
                "{} seats: {} -> {} at US${}/month each: US${} -> US${}/month",
                c.plan_type.as_str(),
                c.seats_before,
                c.seats_after,
                c.price,
                thousands(c.price * c.seats_before),
                thousands(c.price * c.seats_after)
            ));
        }
        out.push(format!(
            "Pooled AI credits: {} -> {} a month ({} this cycle)",
            thousands(self.credits_before),
            thousands(self.credits_after),
            thousands(self.credits_this_cycle)
        ));
        if !self.billed_to_cycle_end.is_empty() {
            let mut who: Vec<String> = self
                .billed_to_cycle_end
                .iter()
                .take(NAMED)
                .map(|b| match b.credits_used {
                    Some(c) => format!("{} ({} credits used this cycle)", b.login, thousands(c)),
                    None => b.login.clone(),
                })
                .collect();
            if self.billed_to_cycle_end.len() > NAMED {
                who.push(format!(
                    "and {} more",
                    self.billed_to_cycle_end.len() - NAMED
                ));
            }
            out.push(format!(
                "Billed until {} (end of the cycle{}), access kept until then: {}",
                self.cycle_end,
                match self.cycle_source {
                    CycleSource::PendingCancellation => ", from GitHub's pending cancellations",
                    CycleSource::CalendarMonth => ", taken as the calendar month",
                },
                who.join(", ")
            ));
        }
        if let Some(b) = &self.budgets {
            out.push(format!(
                "AI-credit budgets: US${} -> US${}/month",
                thousands(b.before),
                thousands(b.after)
            ));
        }
        if let Some(n) = &self.usage_note
            && !self.billed_to_cycle_end.is_empty()
        {
            out.push(format!("Note: {n}"));
        }
        out
    }
}

/// People named on the "billed until" line; JSON names all of them.
const NAMED: usize = 20;

fn sign(n: i64) -> &'static str {
    if n < 0 { "-" } else { "+" }
}

/// `5700` -> `5,700`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(before: &[(PlanType, u64)], gained: &[PlanType], lost: &[PlanType]) -> CostInput {
        CostInput {
            before: before.iter().copied().collect(),
            gained: gained
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("new{i}"), *p))
                .collect(),
            lost: lost
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("old{i}"), *p))
                .collect(),
            prices: SeatPrices::default(),
            cycle_end: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            cycle_source: CycleSource::CalendarMonth,
            usage: Usage::default(),
            budgets: None,
        }
    }

    #[test]
    fn the_headline_leads_with_the_money() {
        use PlanType::*;
        #[rustfmt::skip]
        type Case<'a> = (&'a [(PlanType, u64)], &'a [PlanType], &'a [PlanType], &'a str);
        let cases: &[Case] = &[
            (
                &[(Business, 10)],
                &[Business; 3],
                &[],
                "+3 Business seats: +US$57/month, +5,700 pooled credits",
            ),
            (
                &[(Enterprise, 2)],
                &[],
                &[Enterprise],
                "-1 Enterprise seat: -US$39/month, -3,900 pooled credits (removed seats are billed until 2027-01-01)",
            ),
            (
                &[(Business, 1), (Enterprise, 1)],
                &[Business, Business],
                &[Enterprise],
                "+2 Business seats, -1 Enterprise seat: -US$1/month, -100 pooled credits (removed seats are billed until 2027-01-01)",
            ),
            (
                &[(Business, 100)],
                &[],
                &[],
                "No seat cost change: US$1,900/month, 190,000 pooled credits",
            ),
            (
                &[],
                &[],
                &[],
                "No seat cost change: US$0/month, 0 pooled credits",
            ),
        ];
        for (before, gained, lost, want) in cases {
            assert_eq!(preview(&input(before, gained, lost)).headline(), *want);
        }
    }

    #[test]
    fn removals_keep_the_pool_this_cycle_and_adds_grow_it_at_once() {
        use PlanType::*;
        let p = preview(&input(
            &[(Business, 4)],
            &[Enterprise],
            &[Business, Business],
        ));
        assert_eq!(p.monthly_before, 76);
        assert_eq!(p.monthly_after, 2 * 19 + 39);
        assert_eq!(p.credits_this_cycle, (76 + 39) * 100);
        assert_eq!(p.credits_after, 7_700);
        assert_eq!(p.billed_to_cycle_end.len(), 2);
    }

    #[test]
    fn negotiated_prices_and_unknown_plans() {
        let mut prices = SeatPrices::default();
        prices.set("business=17").unwrap();
        prices.set(" Enterprise = 35").unwrap();
        assert_eq!(
            prices,
            SeatPrices {
                business: 17,
                enterprise: 35
            }
        );
        assert_eq!(prices.of(PlanType::Unknown), 17);
        for bad in ["business", "business=1.5", "team=4", "business=-1"] {
            assert!(SeatPrices::default().set(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cycle_ends_at_the_next_month_unless_github_says() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(next_month(d(2026, 12, 5)), d(2027, 1, 1));
        assert_eq!(next_month(d(2026, 1, 31)), d(2026, 2, 1));
        let mut live = LiveState::default();
        assert_eq!(
            cycle_end(d(2026, 12, 5), &live),
            (d(2027, 1, 1), CycleSource::CalendarMonth)
        );
        let mut u =
            crate::github::LiveUser::new("a", crate::github::Grant::Direct, chrono::Utc::now());
        u.grants[0].pending_cancellation_date = Some(d(2026, 12, 18));
        live.users.push(u.clone());
        assert_eq!(
            cycle_end(d(2026, 12, 5), &live),
            (d(2026, 12, 18), CycleSource::PendingCancellation)
        );
        // A date already past says nothing about this cycle.
        assert_eq!(
            cycle_end(d(2026, 12, 20), &live).1,
            CycleSource::CalendarMonth
        );
    }

    #[test]
    fn thousands_groups_digits() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }
}
