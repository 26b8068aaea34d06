//! Paged reads: the seat listing (folded into users with their grants) and
//! plain member lists.
//!
//! The page count comes from page 1's `Link: <...page=N>; rel="last"`
//! (GitHub omits `Link` when everything fits on one page), never from
//! `total_seats / per_page`: an enterprise listing holds one entry per grant
//! while `total_seats` counts each user once, so it can run pages past what
//! `total_seats` suggests. A listing is whole when every page up to the last
//! was read, every page but the last is full, no page says the page count or
//! `total_seats` changed, nothing was granted after page 1 was served, and
//! the entries fold to exactly `total_seats` users (enterprise) or entries
//! (org). Anything else is [`GitHubError::IncompleteListing`]: nothing is
//! written from it. Pages 2..N-1 are read concurrently and page N after
//! them, so a grant made while paging (it joins the end of the listing)
//! shows on a page read after the change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;

use super::etag::{self, CachedPage, Round, Seen};
use super::packed::PackedPage;
use super::{GitHubClient, Req, seg};
use crate::github::live::{Folder, LiveState};
use crate::github::{
    BillingInfo, GitHubError, PageSeat, PageSeats, Scope, SeatApi, SeatListResponse,
};

/// What a bounded read of a user list found.
pub(super) enum Paged {
    /// Page 1 answered 404.
    NotFound,
    /// More pages than allowed (the page count).
    TooMany(usize),
    /// Every login, in page order.
    Logins(Vec<String>),
}

/// More pages than this in one listing is refused: 10 million entries.
const MAX_PAGES: usize = 100_000;

#[derive(Deserialize)]
struct LoginJson {
    login: String,
}

/// What the `Link` header of a page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Links {
    /// The `rel="last"` page number.
    pub last: Option<usize>,
    /// A `rel="next"` link is present.
    pub next: bool,
    /// A `Link` header is present at all.
    pub present: bool,
    /// The `per_page` its URLs carry: the page size GitHub really used
    /// (an over-limit `per_page` is reduced "without any indication").
    pub per_page: Option<usize>,
}

/// Parse GitHub's `Link` header: `<URL>; rel="next", <URL>; rel="last"`,
/// where each URL carries `page=N` in its query.
pub(super) fn links(headers: &HeaderMap) -> Links {
    let Some(value) = headers
        .get(http::header::LINK)
        .and_then(|v| v.to_str().ok())
    else {
        return Links::default();
    };
    let mut out = Links {
        present: true,
        ..Links::default()
    };
    for part in value.split(',') {
        let Some((url, params)) = part.split_once(';') else {
            continue;
        };
        let rel = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| r.trim_matches('"'))
            .next();
        let url = url.trim().trim_matches(['<', '>']);
        match rel {
            Some("next") => out.next = true,
            Some("last") => out.last = query_param(url, "page"),
            _ => {}
        }
        if matches!(rel, Some("next" | "last")) {
            out.per_page = out.per_page.or(query_param(url, "per_page"));
        }
    }
    out
}

/// A numeric query parameter of a URL.
fn query_param(url: &str, name: &str) -> Option<usize> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// The page size GitHub really used for a listing: page 1's length when it
/// links on (it is full), else the `per_page` its `Link` URLs carry, else
/// the size asked for. GitHub reduces an over-limit `per_page` silently.
fn served_page_size(first_len: usize, links: &Links, asked: usize) -> usize {
    match (links.next, links.per_page) {
        (true, _) if first_len > 0 => first_len,
        (_, Some(p)) if p > 0 => p,
        _ => asked,
    }
}

/// The `Date` header: when GitHub served the response.
fn served_at(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let v = headers.get(http::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// One page of the seat listing with what its headers say.
#[derive(Debug)]
struct Page {
    body: PageSeats,
    links: Links,
    served_at: Option<DateTime<Utc>>,
}

/// The listing shifted while it was read: reading it again may succeed.
fn incomplete(message: String) -> GitHubError {
    GitHubError::IncompleteListing {
        message,
        shifted: true,
        partial: None,
    }
}

/// The listing could not be read, and reading it again at once would not help.
fn unreadable(message: String) -> GitHubError {
    GitHubError::IncompleteListing {
        message,
        shifted: false,
        partial: None,
    }
}

/// Errors that say what to fix stay as they are; the rest mean "the listing
/// could not be read whole".
fn page_failed(page: usize, e: GitHubError) -> GitHubError {
    match e {
        GitHubError::Unauthorized { .. }
        | GitHubError::Forbidden { .. }
        | GitHubError::NotFound { .. }
        | GitHubError::RateLimited { .. }
        | GitHubError::Config(_) => e,
        other => unreadable(format!("page {page} failed: {other}")),
    }
}

/// Pages fold in page order while they arrive in any order: an early page
/// waits until those before it are in.
struct Assembly {
    folder: Folder,
    /// Entries without an assignee: counted, never planned.
    unassigned: u64,
    next: usize,
    early: BTreeMap<usize, PageSeats>,
    /// Page 1's `Date`: an entry granted after it means seats changed while
    /// paging (a net-zero change, one seat in and one out, leaves every
    /// count equal while shifting an entry past us).
    served: Option<DateTime<Utc>>,
    /// Granting teams' names by canonical slug: team writes send names.
    team_names: HashMap<String, String>,
}

impl Assembly {
    fn add(&mut self, page: usize, body: PageSeats) -> Result<(), GitHubError> {
        self.early.insert(page, body);
        while let Some(body) = self.early.remove(&self.next) {
            if let Some(served) = self.served
                && let Some(late) = body
                    .seats
                    .iter()
                    .map(PageSeat::created_at)
                    .find(|t| *t >= served + chrono::Duration::seconds(1))
            {
                return Err(incomplete(format!(
                    "a seat was granted at {late} while the listing was read (page 1 was served at {served}): the pages may have shifted; the next reconcile will read them again"
                )));
            }
            let PageSeats {
                seats, team_names, ..
            } = body;
            for (slug, name) in team_names {
                self.team_names.entry(slug).or_insert(name);
            }
            for s in seats {
                match s {
                    PageSeat::Assigned(e) => {
                        self.folder.push(e).map_err(|e| incomplete(e.to_string()))?
                    }
                    PageSeat::Unassigned(_) => self.unassigned += 1,
                }
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Where a page sits in a listing: page `page` of `last` (0: unknown, the
/// pages are followed through `rel="next"`), as page 1 described it.
#[derive(Debug, Clone, Copy)]
struct Shape {
    page: usize,
    last: usize,
    /// Page 1's `total_seats`.
    total: u64,
    per_page: usize,
}

/// The checks every page passes in a listing that did not change while it
/// was read: the same `total_seats` and page count as page 1, full unless
/// it is the last, and no next page after the last.
fn check_page(p: &Page, shape: Shape) -> Result<(), GitHubError> {
    let Shape {
        page,
        last,
        total,
        per_page,
    } = shape;
    if p.body.total_seats != total {
        return Err(incomplete(format!(
            "total_seats changed while paging (page 1 said {total}, page {page} says {}): seats were granted or removed meanwhile; the next reconcile will read them again",
            p.body.total_seats
        )));
    }
    let n = p.body.seats.len();
    if last != 0 {
        if let Some(l) = p.links.last
            && l != last
        {
            return Err(incomplete(format!(
                "the page count changed while paging (page 1 said {last}, page {page} says {l})"
            )));
        }
        if page < last && n != per_page {
            return Err(incomplete(format!(
                "page {page} of {last} held {n} entries, not {per_page}: the listing shifted while paging"
            )));
        }
        if page == last && p.links.next {
            return Err(incomplete(format!(
                "page {page}, the last page, links to a next page: entries were added while paging"
            )));
        }
    }
    // A page that an earlier page linked to holds something.
    if page > 1 && (page == last || last == 0) && n == 0 {
        return Err(incomplete(format!(
            "page {page}, the last page, is empty: entries were removed while paging"
        )));
    }
    if last == 0 && p.links.next && n != per_page {
        // Without rel="last", a page that links to a next one must be full
        // just the same: a short one means an entry moved onto a page
        // already read.
        return Err(incomplete(format!(
            "page {page} held {n} entries, not {per_page}, yet links to a next page: the listing shifted while paging"
        )));
    }
    Ok(())
}

impl GitHubClient {
    /// GET one page of the seat listing; with a [`Round`], conditionally
    /// (a `304` answers with the cached page).
    async fn seat_page(
        &self,
        crab: &Octocrab,
        scope: &Scope,
        page: usize,
        round: Option<&Round>,
    ) -> Result<Page, GitHubError> {
        let (route, base) = match scope {
            Scope::Org(o) => (
                "/orgs/{org}/copilot/billing/seats",
                format!("/orgs/{}/copilot/billing/seats", seg(o)),
            ),
            Scope::Enterprise(e) => (
                "/enterprises/{enterprise}/copilot/billing/seats",
                format!("/enterprises/{}/copilot/billing/seats", seg(e)),
            ),
        };
        let per_page = self.inner.per_page;
        let mut req = Req::get(route, format!("{base}?per_page={per_page}&page={page}"));
        let cached = round.and_then(|r| r.cached(page, per_page));
        req.if_none_match = cached.as_ref().map(|c| c.etag.clone());
        let mut resp = self.send(crab, &req).await?;
        if resp.status == StatusCode::NOT_MODIFIED {
            if let Some(c) = &cached {
                if let Some(r) = round {
                    r.note(page, Seen::Reused, Some(c.clone()));
                }
                // The 304's own Date says when the page was validated.
                return Ok(Page {
                    body: c.body.unpack(),
                    links: c.links,
                    served_at: served_at(&resp.headers),
                });
            }
            // A 304 that answers nothing cached: ask once more, whole.
            if let Some(cache) = &self.inner.etags {
                cache.orphan(route);
            }
            req.if_none_match = None;
            resp = self.send(crab, &req).await?;
            if resp.status == StatusCode::NOT_MODIFIED {
                return Err(unreadable(format!(
                    "page {page}: GitHub answered 304 Not Modified to a request without If-None-Match"
                )));
            }
        }
        if resp.status == StatusCode::NOT_FOUND {
            return Err(self.diagnose_404(crab, &req, &resp, scope).await);
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let body = resp.json::<SeatListResponse>(route)?.into_page(scope);
        let links = links(&resp.headers);
        if let Some(r) = round {
            let digest = etag::digest(&resp.body);
            let tag = resp
                .headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let same = cached.as_ref().is_some_and(|c| c.digest == digest);
            if same && let Some(cache) = &self.inner.etags {
                cache.churn(route);
            }
            let seen = if same { Seen::Reused } else { Seen::Changed };
            // A page without an ETag cannot be validated: not kept.
            let kept = tag.map(|etag| {
                Arc::new(CachedPage {
                    etag,
                    digest,
                    body: PackedPage::pack(&body),
                    links,
                })
            });
            r.note(page, seen, kept);
        }
        Ok(Page {
            body,
            links,
            served_at: served_at(&resp.headers),
        })
    }

    /// Every seat entry of `scope`, folded into users, or an error: never a
    /// partial listing as a whole one. With conditional requests on, the pages are
    /// validated against the cached ones and a changed page makes the
    /// reused pages after it be read whole (see [`super::etag`]).
    pub(super) async fn read_listing(&self, scope: &Scope) -> Result<LiveState, GitHubError> {
        let Some(cache) = &self.inner.etags else {
            return self.read_listing_round(scope, None).await;
        };
        let per_page = self.inner.per_page;
        let mut whole_from = usize::MAX;
        let mut prior = cache.listing(scope);
        loop {
            let round = Round::new(prior, whole_from);
            let result = self.read_listing_round(scope, Some(&round)).await;
            let live = match result {
                Ok(live) => live,
                Err(e) => {
                    cache.forget(scope);
                    return Err(e);
                }
            };
            let reused = round.reused();
            match round.reread_after() {
                Some(first) if whole_from == usize::MAX => {
                    tracing::debug!(scope = %scope, first_changed = first, reused, "a listing page changed: reading the pages after it whole");
                    prior = round.into_listing(per_page, first);
                    whole_from = first + 1;
                }
                _ => {
                    tracing::debug!(scope = %scope, reused, "listing read (pages reused from 304s)");
                    cache.store(scope, round.into_listing(per_page, usize::MAX));
                    return Ok(live);
                }
            }
        }
    }

    /// One read of the listing: requests 1 + pages (+ the billing details,
    /// org). An incomplete listing carries the pages that were read, folded,
    /// as its `partial` (adds need no whole listing).
    async fn read_listing_round(
        &self,
        scope: &Scope,
        round: Option<&Round>,
    ) -> Result<LiveState, GitHubError> {
        let mut slot = None;
        match self.read_listing_into(scope, round, &mut slot).await {
            Err(GitHubError::IncompleteListing {
                message,
                shifted,
                partial: None,
            }) => Err(GitHubError::IncompleteListing {
                message,
                shifted,
                partial: slot.map(|a: Assembly| {
                    std::sync::Arc::new(LiveState {
                        seat_management_setting: None,
                        users: a.folder.finish(),
                        team_members: BTreeMap::new(),
                        assignment_members: None,
                    })
                }),
            }),
            other => other,
        }
    }

    /// [`GitHubClient::read_listing_round`], folding into `slot` once page 1
    /// is in.
    async fn read_listing_into(
        &self,
        scope: &Scope,
        round: Option<&Round>,
        slot: &mut Option<Assembly>,
    ) -> Result<LiveState, GitHubError> {
        let crab = self.crab_for_scope(scope).await?;
        // Page 1 goes alone: it says how many pages follow, and it is the
        // request that meets a bad token, a spent limit or an App's first
        // token exchange, once. The billing details then go with the last
        // page: one round trip fewer than asking for them before page 1.
        let first = self
            .seat_page(&crab, scope, 1, round)
            .await
            .map_err(|e| page_failed(1, e))?;
        let total = first.body.total_seats;
        let per_page = served_page_size(first.body.seats.len(), &first.links, self.inner.per_page);
        if per_page != self.inner.per_page {
            tracing::debug!(
                asked = self.inner.per_page,
                served = per_page,
                "GitHub served smaller pages than asked for"
            );
        }
        let last = match (first.links.last, first.links.present) {
            (Some(n), _) => n,
            (None, false) => 1,
            // A Link without rel="last" on page 1: follow rel="next" instead.
            (None, true) if first.links.next => 0,
            (None, true) => 1,
        };
        // Entries are at least the users counted (org: exactly), so fewer
        // pages than that cannot hold the listing.
        let needed = usize::try_from(total)
            .unwrap_or(usize::MAX)
            .div_ceil(per_page)
            .max(1);
        if last != 0 && last < needed {
            return Err(incomplete(format!(
                "GitHub reported {total} seats but its Link header says the listing has {last} page(s) of {per_page}: the seats changed while paging, or a proxy cut the header"
            )));
        }
        if last > MAX_PAGES {
            return Err(unreadable(format!(
                "the listing claims {last} pages, more than the {MAX_PAGES} seatkeeper reads"
            )));
        }
        let listing = slot.insert(Assembly {
            folder: Folder::deduplicating(scope, usize::try_from(total).unwrap_or(0)),
            unassigned: 0,
            next: 1,
            early: BTreeMap::new(),
            served: first.served_at,
            team_names: HashMap::new(),
        });
        let check = |page: usize, p: &Page, last: usize| {
            check_page(
                p,
                Shape {
                    page,
                    last,
                    total,
                    per_page,
                },
            )
        };
        check(1, &first, last)?;
        let mut setting = None;
        if last == 0 {
            // Sequential: each page says whether another follows.
            let mut page = first;
            let mut n = 1;
            while page.links.next {
                listing.add(n, page.body)?;
                n += 1;
                if n > MAX_PAGES {
                    return Err(unreadable(format!(
                        "the listing goes on past {MAX_PAGES} pages"
                    )));
                }
                page = self
                    .seat_page(&crab, scope, n, round)
                    .await
                    .map_err(|e| page_failed(n, e))?;
                check(n, &page, 0)?;
            }
            listing.add(n, page.body)?;
            if let Scope::Org(_) = scope {
                setting = Some(self.billing(scope).await?.seat_management_setting);
            }
        } else {
            listing.add(1, first.body)?;
            let mut read = 1;
            enum Part {
                Billing(Result<BillingInfo, GitHubError>),
                Page(usize, Result<Page, GitHubError>),
            }
            let concurrency = self.inner.page_concurrency;
            let crab = &crab;
            // `None` is the billing details (org only), `Some(n)` page n.
            let fetch = |item: Option<usize>| async move {
                match item {
                    None => Part::Billing(self.billing(scope).await),
                    Some(page) => Part::Page(page, self.seat_page(crab, scope, page, round).await),
                }
            };
            // Pages 2..last-1 go first, concurrently; the last page goes
            // after them all (with the billing details, which may go any
            // time). A grant made while the pages are read joins the end of
            // the listing, so the page that would hold it is read after
            // every change made during the others: one more round trip at
            // most, no more requests.
            let billing = matches!(scope, Scope::Org(_)).then_some(None);
            let closing: Vec<Option<usize>> = billing
                .into_iter()
                .chain((last >= 2).then_some(Some(last)))
                .collect();
            for batch in [(2..last).map(Some).collect::<Vec<_>>(), closing] {
                let mut stream = futures::stream::iter(batch)
                    .map(&fetch)
                    .buffer_unordered(concurrency);
                while let Some(part) = stream.next().await {
                    // Returning drops the stream, which cancels the requests still in flight.
                    match part {
                        Part::Billing(info) => setting = Some(info?.seat_management_setting),
                        Part::Page(page, result) => {
                            let p = result.map_err(|e| page_failed(page, e))?;
                            check(page, &p, last)?;
                            listing.add(page, p.body)?;
                            read += 1;
                            self.inner
                                .progress
                                .report(crate::progress::Progress::Pages {
                                    what: "seats",
                                    done: read,
                                    total: Some(last),
                                });
                        }
                    }
                }
            }
        }
        if !listing.early.is_empty() {
            return Err(unreadable("a page of the listing was not read".into()));
        }
        // Enterprise assignment is always selective: there is no billing
        // route to ask.
        let setting =
            match scope {
                Scope::Org(_) => Some(setting.ok_or_else(|| {
                    unreadable("the Copilot billing details were not read".into())
                })?),
                Scope::Enterprise(_) => Some(crate::github::SeatManagementSetting::AssignSelected),
            };
        let users = listing.folder.users() as u64;
        let entries = listing.folder.entries() + listing.unassigned;
        let counted = match scope {
            Scope::Org(_) => entries,
            Scope::Enterprise(_) => users + listing.unassigned,
        };
        if counted != total {
            return Err(incomplete(match scope {
                Scope::Org(_) => format!(
                    "GitHub reported {total} seats but the pages held {entries}: seats changed while paging"
                ),
                Scope::Enterprise(_) => format!(
                    "GitHub reported {total} seat holders but the {entries} entries name {counted}: seats changed while paging"
                ),
            }));
        }
        if listing.unassigned > 0 {
            tracing::warn!(
                scope = %scope,
                skipped = listing.unassigned,
                "seats without an assignee skipped: they cannot be managed by login"
            );
        }
        tracing::debug!(scope = %scope, users, entries, "listed Copilot seats");
        let listing = slot.take().expect("assembled above");
        self.teams().remember(scope, listing.team_names);
        Ok(LiveState {
            seat_management_setting: setting,
            users: listing.folder.finish(),
            team_members: BTreeMap::new(),
            assignment_members: None,
        })
    }

    /// [`GitHubClient::list_logins_within`] with no page bound; `None` on a 404.
    pub(super) async fn list_logins(
        &self,
        crab: &Octocrab,
        route: &'static str,
        base: String,
        scope: &Scope,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        Ok(
            match self
                .list_logins_within(crab, route, base, scope, usize::MAX)
                .await?
            {
                Paged::Logins(l) => Some(l),
                Paged::NotFound | Paged::TooMany(_) => None,
            },
        )
    }

    /// GET every page of a plain JSON array of users (`per_page=100`, or the
    /// configured page size): page
    /// 1, then the pages its `Link` names, concurrently; but when page 1 says
    /// there are more than `max_pages`, stop there ([`Paged::TooMany`]: the
    /// caller does something cheaper). A page that fails, a short page
    /// before the last, or a login listed twice is an error: a member list is
    /// read whole or not at all.
    pub(super) async fn list_logins_within(
        &self,
        crab: &Octocrab,
        route: &'static str,
        base: String,
        scope: &Scope,
        max_pages: usize,
    ) -> Result<Paged, GitHubError> {
        let what = if route.contains("/teams/") {
            "team members"
        } else {
            "members"
        };
        let per_page = self.inner.per_page;
        let get = |page: usize| {
            let req = Req::get(route, format!("{base}?per_page={per_page}&page={page}"));
            async move {
                let resp = self.send(crab, &req).await?;
                Ok::<_, GitHubError>((req, resp))
            }
        };
        let (req, resp) = get(1).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(Paged::NotFound);
        }
        if !resp.status.is_success() {
            return Err(self.status_error(&req, &resp, Some(scope)));
        }
        let first_links = links(&resp.headers);
        if let Some(last) = first_links.last
            && last > max_pages
        {
            return Ok(Paged::TooMany(last));
        }
        let progress = |done: usize| {
            self.inner
                .progress
                .report(crate::progress::Progress::Pages {
                    what,
                    done,
                    total: first_links.last,
                })
        };
        progress(1);
        let mut pages: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let first: Vec<LoginJson> = resp.json(route)?;
        pages.insert(1, first.into_iter().map(|u| u.login).collect());
        let short = |page: usize, n: usize, last: usize| -> Result<(), GitHubError> {
            if page < last && n != per_page {
                return Err(GitHubError::IncompleteListing {
                    message: format!(
                        "{route}: page {page} of {last} held {n} members, not {per_page}: the list changed while paging"
                    ),
                    shifted: true,
                    partial: None,
                });
            }
            Ok(())
        };
        match first_links.last {
            Some(last) if last > 1 => {
                if last > MAX_PAGES {
                    return Err(GitHubError::IncompleteListing {
                        message: format!("{route}: {last} pages is more than seatkeeper reads"),
                        shifted: false,
                        partial: None,
                    });
                }
                short(1, pages[&1].len(), last)?;
                let mut stream = futures::stream::iter(2..=last)
                    .map(|page| {
                        let fetch = get(page);
                        async move { (page, fetch.await) }
                    })
                    .buffer_unordered(self.inner.page_concurrency);
                while let Some((page, result)) = stream.next().await {
                    let (req, resp) = result?;
                    if !resp.status.is_success() {
                        return Err(self.status_error(&req, &resp, Some(scope)));
                    }
                    let users: Vec<LoginJson> = resp.json(route)?;
                    short(page, users.len(), last)?;
                    pages.insert(page, users.into_iter().map(|u| u.login).collect());
                    progress(pages.len());
                }
            }
            Some(_) => {}
            None if first_links.next => {
                // No rel="last": follow rel="next" one page at a time.
                let mut page = 1;
                let mut more = true;
                while more {
                    page += 1;
                    if page > MAX_PAGES {
                        return Err(GitHubError::IncompleteListing {
                            message: format!("{route}: more than {MAX_PAGES} pages"),
                            shifted: false,
                            partial: None,
                        });
                    }
                    let (req, resp) = get(page).await?;
                    if !resp.status.is_success() {
                        return Err(self.status_error(&req, &resp, Some(scope)));
                    }
                    more = links(&resp.headers).next;
                    let users: Vec<LoginJson> = resp.json(route)?;
                    if more && users.len() != per_page {
                        short(page, users.len(), page + 1)?;
                    }
                    pages.insert(page, users.into_iter().map(|u| u.login).collect());
                }
            }
            None => {}
        }
        let mut seen = HashSet::new();
        let mut logins = Vec::new();
        for login in pages.into_values().flatten() {
            if !seen.insert(login.to_ascii_lowercase()) {
                return Err(GitHubError::IncompleteListing {
                    message: format!(
                        "{route}: {login} is listed twice: the list changed while paging"
                    ),
                    shifted: true,
                    partial: None,
                });
            }
            logins.push(login);
        }
        Ok(Paged::Logins(logins))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(link: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::LINK, link.parse().unwrap());
        h
    }

    #[test]
    fn link_header_cases() {
        #[rustfmt::skip]
        let cases = [
            (r#"<https://api.github.com/x?per_page=100&page=2>; rel="next", <https://api.github.com/x?per_page=100&page=13>; rel="last""#, Some(13), true),
            (r#"<https://h/x?page=1>; rel="prev", <https://h/x?page=1>; rel="first""#, None, false),
            (r#"<https://h/x?page=3&per_page=100>; rel="next""#, None, true),
            (r#"<https://h/x?page=7>;rel=last"#, Some(7), false),
            ("garbage", None, false),
        ];
        for (value, last, next) in cases {
            let l = links(&headers(value));
            assert_eq!((l.last, l.next, l.present), (last, next, true), "{value}");
        }
        assert_eq!(links(&HeaderMap::new()), Links::default());
        let l = links(&headers(
            r#"<https://h/x?per_page=50&page=2>; rel="next", <https://h/x?per_page=50&page=4>; rel="last""#,
        ));
        assert_eq!(l.per_page, Some(50));
    }

    #[test]
    fn the_page_size_is_what_github_served() {
        let with = |next, per_page| Links {
            last: None,
            next,
            present: true,
            per_page,
        };
        // Asked 100, GitHub served 50 and links on: 50, whatever the URLs say.
        assert_eq!(served_page_size(50, &with(true, Some(100)), 100), 50);
        // One page only: the URLs' per_page, else what was asked.
        assert_eq!(served_page_size(3, &with(false, Some(50)), 100), 50);
        assert_eq!(served_page_size(3, &Links::default(), 100), 100);
        // An empty page 1 that links on says nothing of the size.
        assert_eq!(served_page_size(0, &with(true, None), 100), 100);
    }

    #[test]
    fn pages_of_a_listing_that_changed_are_refused() {
        let page = |seats: usize, total: u64, last: Option<usize>, next: bool| Page {
            body: SeatListResponse {
                total_seats: total,
                seats: (0..seats)
                    .map(|i| {
                        serde_json::from_value(serde_json::json!({
                            "created_at": "2026-01-01T00:00:00Z",
                            "assignee": {"login": format!("u{i}")}
                        }))
                        .unwrap()
                    })
                    .collect(),
                seat_management_setting: None,
            }
            .into_page(&Scope::Org("o".into())),
            links: Links {
                last,
                next,
                present: last.is_some() || next,
                per_page: None,
            },
            served_at: None,
        };
        let shape = |page, last| Shape {
            page,
            last,
            total: 5,
            per_page: 2,
        };
        #[rustfmt::skip]
        let cases = [
            // (page, its shape, refused with)
            (page(2, 5, Some(3), true), shape(1, 3), None),
            (page(2, 5, Some(3), true), shape(2, 3), None),
            (page(1, 5, None, false), shape(3, 3), None),
            (page(2, 6, Some(3), true), shape(2, 3), Some("total_seats changed")),
            (page(2, 5, Some(4), true), shape(2, 3), Some("page count changed")),
            (page(1, 5, Some(3), true), shape(2, 3), Some("page 2 of 3 held 1")),
            (page(2, 5, None, true), shape(3, 3), Some("the last page, links to a next page")),
            // Followed through rel="next" alone (last unknown).
            (page(2, 5, None, true), shape(2, 0), None),
            (page(1, 5, None, false), shape(3, 0), None),
            (page(1, 5, None, true), shape(2, 0), Some("page 2 held 1 entries, not 2, yet links to a next page")),
            (page(3, 5, None, true), shape(1, 0), Some("page 1 held 3 entries")),
            // The last page that page 1 announced comes back empty.
            (page(0, 5, None, false), shape(3, 3), Some("page 3, the last page, is empty")),
            (page(0, 5, None, false), shape(3, 0), Some("page 3, the last page, is empty")),
            (page(0, 0, None, false), Shape { page: 1, last: 1, total: 0, per_page: 2 }, None),
        ];
        for (i, (p, s, want)) in cases.into_iter().enumerate() {
            match (check_page(&p, s), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.to_string().contains(w), "case {i}: {e}"),
                (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn date_header_is_parsed() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::DATE,
            "Tue, 01 Dec 2026 20:04:50 GMT".parse().unwrap(),
        );
        assert_eq!(
            served_at(&h).map(|d| d.to_rfc3339()),
            Some("2026-12-01T20:04:50+00:00".to_string())
        );
    }
}
