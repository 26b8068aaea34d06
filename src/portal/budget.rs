//! The card's budget row and the "Ask for a budget of $N" form: the
//! person's AI-credit budget as seats.yaml declares it (their own `budget`,
//! else `budgets.default`), their AI-credit use this month when the usage
//! route answers, and a budget request that is exactly `seatkeeper request
//! LOGIN --budget N` (same validation, same operator ceilings).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Portal;
use super::act::{perform, status_of, what_to_do};
use super::pages::{self, Who};
use super::routes::{checked_form, page, see_other, too_many};
use crate::config::{Scope, SeatsFile};
use crate::edit::BudgetEdit;
use crate::github::usage::{UsageApi, UsageRead};
use crate::selfserve::Kind;

/// The person's budget, when seats.yaml manages budgets (a `budgets:`
/// block, or a `budget` on any user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetCard {
    /// Whole US dollars a month that apply to the person now; `None`: no
    /// budget (no individual one and no `budgets.default`).
    pub amount: Option<u64>,
    /// `individual` (their own `budget`), `default` (`budgets.default`) or
    /// `none`.
    pub source: &'static str,
    /// The individual budget's `budget_expires` (then the default applies).
    pub expires: Option<NaiveDate>,
    /// `budgets.default`, for "the default is $N".
    pub default: Option<u64>,
    /// The month of `credits_used`, `YYYY-MM` (UTC).
    pub month: String,
    /// AI credits used this month (1 credit = US$0.01); absent when the
    /// usage route did not answer (no billing permission, GitHub down).
    pub credits_used: Option<u64>,
}

/// The budget row of `login` in `file` on `today`, without the use;
/// `None` when the file manages no budgets.
pub fn of(file: &SeatsFile, login: &str, today: NaiveDate) -> Option<BudgetCard> {
    if !file.manages_budgets() {
        return None;
    }
    let default = file.budgets.as_ref().and_then(|b| b.default);
    let own = file
        .user(login)
        .and_then(|u| u.budget.map(|a| (a, u.budget_expires)))
        // Past its `budget_expires` the individual budget is removed.
        .filter(|(_, exp)| exp.is_none_or(|d| d >= today));
    let (amount, source, expires) = match (own, default) {
        (Some((a, exp)), _) => (Some(a), "individual", exp),
        (None, Some(d)) => (Some(d), "default", None),
        (None, None) => (None, "none", None),
    };
    Some(BudgetCard {
        amount,
        source,
        expires,
        default,
        month: today.format("%Y-%m").to_string(),
        credits_used: None,
    })
}

/// AI credits `login` used in `today`'s month; `None` for any failure: the
/// card omits the line rather than fail.
pub async fn credits_used(
    usage: Option<&dyn UsageApi>,
    scope: &Scope,
    login: &str,
    today: NaiveDate,
) -> Option<u64> {
    match usage?
        .ai_credit_usage(scope, Some(login), today.year(), today.month())
        .await
    {
        Ok(UsageRead::Credits(c)) => Some(c),
        Ok(UsageRead::Unavailable(why)) => {
            tracing::debug!(login = %login, why = %why, "portal: AI-credit use not available");
            None
        }
        Err(e) => {
            tracing::warn!(login = %login, error = %e, "portal: cannot read AI-credit use");
            None
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct BudgetForm {
    csrf: Option<String>,
    amount: Option<String>,
}

/// `POST /budget`: ask for a budget of `amount` dollars a month.
pub(crate) async fn ask(State(p): State<Arc<Portal>>, req: Request) -> Response {
    let (s, form, ip) = match checked_form::<BudgetForm>(&p, req, |f| f.csrf.as_deref()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let who = Who {
        login: &s.login,
        csrf: &s.csrf,
    };
    if let Err(secs) = p.rate(&s.login, ip) {
        return too_many(secs, Some(who));
    }
    let Some(amount) = form
        .amount
        .as_deref()
        .and_then(|a| a.trim().trim_start_matches('$').parse::<u64>().ok())
    else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::problem(
                "Your budget request was not recorded",
                "The amount must be a whole number of US dollars a month, like 50.",
                "Nothing was written. Go back and enter a whole number.",
                Some(who),
            ),
        );
    };
    let change = BudgetEdit::Set {
        amount,
        expires: None,
    };
    let report = perform(&p, &s.login, Kind::Request, None, Some(change)).await;
    let status = status_of(&report);
    if status != StatusCode::OK {
        return page(
            status,
            pages::problem(
                "Your budget request was not recorded",
                &report.message,
                match report.reason {
                    // The message says why (not listed, a date in the past).
                    Some("bad_entry") => "Nothing was written.",
                    _ => what_to_do(&report),
                },
                Some(who),
            ),
        );
    }
    let done = match report.outcome {
        "pull_request" => "budget_pr",
        "budget_set" => "budget",
        _ => "nothing",
    };
    see_other(&format!("/?done={done}"))
}
