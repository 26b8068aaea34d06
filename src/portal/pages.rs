//! The portal's pages: server-rendered HTML (maud escapes every value),
//! one stylesheet, no script. Every form carries the session's CSRF token.

use maud::{DOCTYPE, Markup, html};

use super::admin::AdminView;
use super::card::{Card, SeatState};
use super::csrf::FIELD;

/// A line above the card: what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// A problem (red) rather than news (blue).
    pub bad: bool,
    /// The sentence.
    pub text: String,
}

/// The signed-in person, for the header's sign-out form.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// Their login.
    pub login: &'a str,
    /// The session's CSRF token.
    pub csrf: &'a str,
}

/// The frame of every page. `refresh`: reload after this many seconds
/// (while a seat is being assigned; works without script).
pub fn layout(title: &str, who: Option<Who<'_>>, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = refresh {
                    meta http-equiv="refresh" content=(s);
                }
                title { (title) " · Copilot seats" }
                link rel="stylesheet" href="/static/portal.css";
            }
            body {
                header {
                    a.brand href="/" { "Copilot seats" }
                    @if let Some(w) = who {
                        form.inline method="post" action="/signout" {
                            input type="hidden" name=(FIELD) value=(w.csrf);
                            span.muted { "@" (w.login) " " }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
                footer.muted { "Requests are recorded as commits to seats.yaml by seatkeeper." }
            }
        }
    }
}

fn notice(n: Option<&Notice>) -> Markup {
    html! {
        @if let Some(n) = n {
            p.notice.bad[n.bad] role="status" { (n.text) }
        }
    }
}

/// The page before signing in.
pub fn signed_out(n: Option<&Notice>) -> Markup {
    layout(
        "Sign in",
        None,
        None,
        html! {
            section.card {
                h1 { "GitHub Copilot for your account" }
                (notice(n))
                p { "Sign in with GitHub to see whether you have a Copilot seat, ask for one, or give yours back." }
                p { a.button.primary href="/signin" id="signin" { "Sign in with GitHub" } }
                p.muted { "The portal learns only your GitHub login; it keeps no GitHub token." }
            }
        },
    )
}

fn status_line(card: &Card) -> Markup {
    let (class, text) = match card.seat.state {
        SeatState::Held => ("ok", "You have a Copilot seat".to_string()),
        SeatState::PendingCancellation => (
            "warn",
            match card.seat.pending_cancellation_date {
                Some(d) => format!("Your Copilot seat ends on {d}"),
                None => "Your Copilot seat is ending".to_string(),
            },
        ),
        SeatState::None if card.applying() => (
            "warn",
            "Your request is recorded: the seat is being assigned".to_string(),
        ),
        SeatState::None if card.open_request.is_some() => {
            ("warn", "Your request waits for review".to_string())
        }
        SeatState::None if !card.eligibility.eligible => {
            ("bad", "You cannot get a Copilot seat yet".to_string())
        }
        SeatState::None => ("", "You have no Copilot seat".to_string()),
    };
    html! { p.status.(class) id="status" role="status" { (text) } }
}

/// The card of a signed-in person.
pub fn card(card: &Card, who: Who<'_>, n: Option<&Notice>, admin: bool) -> Markup {
    let refresh = card.applying().then_some(1);
    let how = if card.seat.grants.is_empty() {
        "—".to_string()
    } else {
        card.seat
            .grants
            .iter()
            .map(|g| match g.split_once(':') {
                Some(("team", t)) => format!("through team {t}"),
                Some(("org", o)) => format!("through organization {o}"),
                _ => "assigned to you by name".to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let eligibility = if card.eligibility.eligible {
        if card.eligibility.eligible_teams.is_empty() {
            format!("Yes: a member of {}", card.scope)
        } else {
            format!(
                "Yes: a member of {} in an eligible team ({})",
                card.scope,
                card.eligibility.eligible_teams.join(", ")
            )
        }
    } else {
        format!(
            "No: {}",
            card.eligibility.reason.as_deref().unwrap_or("not eligible")
        )
    };
    let team_only = !card.listed && card.seat.state == SeatState::Held;
    let can_request = !card.listed
        && card.seat.state != SeatState::Held
        && card.eligibility.eligible
        && card.open_request.is_none();
    layout(
        "Your Copilot seat",
        Some(who),
        refresh,
        html! {
            section.card id="card" {
                h1 { "@" (card.login) }
                (notice(n))
                (status_line(card))
                dl {
                    dt { "Organization" } dd { (card.scope) }
                    @if let Some(p) = &card.plan_type { dt { "Plan" } dd { "Copilot " (p) } }
                    dt { "How you hold it" } dd { (how) }
                    dt { "Last activity" }
                    dd { (card.seat.last_activity_at.map_or_else(|| "—".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())) }
                    @if card.listed {
                        dt { "Expires" }
                        dd { (card.expires.map_or_else(|| "never".to_string(), |d| d.to_string())) }
                    }
                    dt { "Eligible" } dd { (eligibility) }
                    @if let Some(b) = &card.budget {
                        dt { "AI-credit budget" }
                        dd id="budget" { (budget_line(b)) }
                        @if let Some(c) = b.credits_used {
                            dt { "Used in " (b.month) }
                            dd id="credits-used" { (c) " AI credits (US$" (format!("{}.{:02}", c / 100, c % 100)) ")" }
                        }
                    }
                    dt { "Seats in use" }
                    dd {
                        (card.seats_billed)
                        @if let Some(cap) = card.seat_cap { " of " (cap) }
                    }
                }
                @if let Some(pr) = &card.open_request {
                    p { "Pull request " a href=(pr.url) { "#" (pr.number) } " waits for " (pr.waits_for) "." }
                }
                @if can_request {
                    form method="post" action="/request" {
                        input type="hidden" name=(FIELD) value=(who.csrf);
                        label for="note" { "Why you need it (optional, for reviewers)" }
                        input type="text" id="note" name="note" maxlength="200";
                        p { button.primary type="submit" id="request" { "Request Copilot" } }
                    }
                }
                @if card.listed && card.budget.is_some() {
                    form method="post" action="/budget" {
                        input type="hidden" name=(FIELD) value=(who.csrf);
                        label for="amount" { "Ask for a budget of $" }
                        input type="number" id="amount" name="amount" min="0" step="1" required;
                        " a month "
                        button type="submit" id="ask-budget" { "Ask" }
                    }
                }
                @if card.listed {
                    form method="post" action="/release" {
                        input type="hidden" name=(FIELD) value=(who.csrf);
                        button.danger type="submit" id="release" { "Give my seat back" }
                    }
                }
                @if team_only {
                    p.muted { "Your seat comes from a team, not from seats.yaml: leave the team to give it back." }
                }
                @if admin {
                    p { a href="/admin" { "Admin view" } }
                }
            }
        },
    )
}

/// "US$50 a month (yours, until 2027-03-31)", "US$20 a month (the
/// default)", "None".
fn budget_line(b: &super::budget::BudgetCard) -> String {
    match (b.amount, b.source) {
        (None, _) => "None".to_string(),
        (Some(a), "individual") => format!(
            "US${a} a month (yours{})",
            b.expires
                .map(|d| format!(", until {d}; then the default applies"))
                .unwrap_or_default()
        ),
        (Some(a), _) => format!("US${a} a month (the default)"),
    }
}

/// A page saying what went wrong and what to do.
pub fn problem(title: &str, what: &str, todo: &str, who: Option<Who<'_>>) -> Markup {
    layout(
        title,
        who,
        None,
        html! {
            section.card id="problem" {
                h1 { (title) }
                p.notice.bad role="alert" { (what) }
                p { (todo) }
                p { a.button href="/" { "Back to the portal" } }
            }
        },
    )
}

/// The admin view.
pub fn admin(view: &AdminView, who: Who<'_>) -> Markup {
    layout(
        "Admin",
        Some(who),
        None,
        html! {
            section.card id="admin" {
                h1 { "Copilot seats of " (view.scope) }
                h2 { "Recent changes" }
                @if view.recent.is_empty() { p.muted { "None recorded since the controller started." } }
                table {
                    @for c in &view.recent {
                        tr {
                            td { (c.when) }
                            td { (c.subject) }
                            td { @if let Some(u) = &c.url { a href=(u) { (c.short) } } @else { (c.short) } }
                        }
                    }
                }
                h2 { "Pending requests" }
                @if view.pending.is_empty() { p.muted { "No open request." } }
                ul { @for p in &view.pending { li { a href=(p.1) { "#" (p.0) } " " (p.2) } } }
                h2 { "Idle seats" }
                @if view.idle.is_empty() { p.muted { "No seat idle for " (view.idle_days) " days or more." } }
                ul { @for i in &view.idle { li { (i) } } }
                h2 { "Drift" }
                @if view.drift.is_empty() { p.muted { "GitHub matches seats.yaml." } }
                ul { @for d in &view.drift { li { (d) } } }
            }
        },
    )
}
