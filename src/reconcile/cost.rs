//! Gathering the cost preview's inputs: the operator's prices
//! (`--seat-price`), the preview of a fresh plan, and the AI-credit use of
//! the people a plan removes (one usage request each, at most
//! [`MAX_USAGE_READS`]).

use chrono::{Datelike, NaiveDate};

use crate::config::Scope;
use crate::github::usage::{UsageApi, UsageRead};
use crate::github::{GitHubError, LiveState};
use crate::plan::Plan;
use crate::plan::cost::{CostInput, SeatPrices, Usage, preview};

/// Most per-person usage requests one plan makes: past it the rest are
/// left out with a note (the route answers one user per request).
pub const MAX_USAGE_READS: usize = 50;

/// The operator's seat prices as command-line flags (plan, apply, run).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PriceArgs {
    /// A negotiated monthly seat price in whole US dollars for the cost preview, PLAN=DOLLARS (repeatable; plans business and enterprise; defaults business=19, enterprise=39).
    #[arg(
        long = "seat-price",
        value_name = "PLAN=DOLLARS",
        value_parser = parse_price,
        help_heading = "Cost preview"
    )]
    pub seat_price: Vec<String>,
}

fn parse_price(s: &str) -> Result<String, String> {
    SeatPrices::default().set(s)?;
    Ok(s.to_string())
}

impl PriceArgs {
    /// The prices in force: the defaults, overridden flag by flag.
    pub fn prices(&self) -> SeatPrices {
        let mut p = SeatPrices::default();
        for s in &self.seat_price {
            // Checked by the value parser.
            let _ = p.set(s);
        }
        p
    }
}

/// Give `plan` its cost preview (no usage read yet).
pub fn attach(plan: &mut Plan, live: &LiveState, today: NaiveDate, prices: SeatPrices) {
    plan.cost = Some(preview(&CostInput::from_plan(plan, live, today, prices)));
}

/// The AI-credit use this month of the people `plan` removes, into its
/// preview. When the route does not answer (403/404, or any error) the
/// preview gets a note instead of figures: usage is a courtesy, never a
/// reason to fail a plan.
pub async fn read_usage(api: &dyn UsageApi, scope: &Scope, plan: &mut Plan, today: NaiveDate) {
    let Some(cost) = plan.cost.as_mut() else {
        return;
    };
    if cost.billed_to_cycle_end.is_empty() {
        cost.usage_note = None;
        return;
    }
    let logins: Vec<String> = cost
        .billed_to_cycle_end
        .iter()
        .map(|b| b.login.clone())
        .collect();
    let usage = match usage_of(api, scope, &logins, today, MAX_USAGE_READS).await {
        Ok(u) => u,
        Err(e) => Usage {
            credits: Default::default(),
            note: Some(format!("AI-credit use not shown: {e}")),
        },
    };
    for b in &mut cost.billed_to_cycle_end {
        b.credits_used = usage.credits.get(&b.login).copied();
    }
    cost.usage_note = usage.note;
}

/// The AI-credit use of the first `max` of `logins` in `today`'s month
/// (the cycle's month). A 403/404 leaves a note and no figures.
pub async fn usage_of(
    api: &dyn UsageApi,
    scope: &Scope,
    logins: &[String],
    today: NaiveDate,
    max: usize,
) -> Result<Usage, GitHubError> {
    let mut usage = Usage::default();
    for login in logins.iter().take(max) {
        match api
            .ai_credit_usage(scope, Some(login), today.year(), today.month())
            .await?
        {
            UsageRead::Credits(c) => {
                usage.credits.insert(login.clone(), c);
            }
            UsageRead::Unavailable(why) => {
                usage.credits.clear();
                usage.note = Some(format!("AI-credit use not shown: {why}"));
                return Ok(usage);
            }
        }
    }
    if logins.len() > max {
        usage.note = Some(format!(
            "AI-credit use read for the first {max} of {} people only",
            logins.len()
        ));
    }
    Ok(usage)
}
