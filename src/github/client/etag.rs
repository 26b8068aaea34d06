//! Conditional reads of the seat listing and the billing details.
//!
//! GitHub: "Making a conditional request does not count against your
//! primary rate limit if a 304 response is returned and the request was made
//! while correctly authorized with an Authorization header" (REST API best
//! practices, "Use conditional requests if appropriate"). So the controller
//! keeps each listing page's `ETag` with the page, sends `If-None-Match`, and
//! on a `304` reuses the page it has: a zero-drift reconcile whose pages are
//! all unchanged costs no primary-limit point.
//!
//! The pages are validated as a set: when a page changed, the pages after it
//! are read whole (an entry granted or removed shifts every later entry), in
//! a second pass if the first reused any of them. A `304` is the server's word
//! that the page is what it would send now, so the whole-listing checks of
//! [`super::listing`] run on reused pages exactly as on fresh ones.
//!
//! Bad inputs: an `ETag` that changes while the body stays the same (a deploy,
//! a proxy) is seen through the body's digest and counted as unchanged, logged
//! once; a weak `ETag` (`W/"…"`) is sent back as received (`If-None-Match`
//! compares weakly); a `304` for a page that was never cached, or sent no
//! `If-None-Match`, is read again without it, logged once.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::github::{BillingInfo, Scope};

use super::packed::PackedPage;

use super::listing::Links;

/// A 128-bit digest of a response body (two seeded 64-bit hashes): tells
/// an unchanged body under a new `ETag`. Not cryptographic: the bodies are
/// GitHub's, and a chance collision is 2^-128.
pub(super) type Digest = (u64, u64);

/// The digest of a body.
pub(super) fn digest(body: &str) -> Digest {
    use std::hash::BuildHasher;
    let h = |seed| foldhash::quality::FixedState::with_seed(seed).hash_one(body.as_bytes());
    (h(0x5ea7_4ee9), h(0x2b99_2ddf))
}

/// One cached page: its validator, its body's digest and the page packed
/// (not the decoded JSON).
#[derive(Debug, Clone)]
pub(super) struct CachedPage {
    pub etag: String,
    pub digest: Digest,
    pub body: PackedPage,
    pub links: Links,
}

/// The cached pages of one scope's listing, by page number.
#[derive(Debug, Clone, Default)]
pub(super) struct CachedListing {
    pub per_page: usize,
    pub pages: BTreeMap<usize, Arc<CachedPage>>,
}

/// Whether a page was answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// `304`, or a new `ETag` over the same bytes: the cached page.
    Reused,
    /// A page whose bytes differ from the cached ones (or none was cached).
    Changed,
}

/// One pass over a listing: the validators it may send and what each page was.
#[derive(Debug)]
pub(super) struct Round {
    prior: CachedListing,
    /// Pages from this one on are read whole (no `If-None-Match`).
    whole_from: usize,
    seen: Mutex<BTreeMap<usize, Seen>>,
    fresh: Mutex<BTreeMap<usize, Arc<CachedPage>>>,
}

impl Round {
    /// A pass validating `prior`'s pages before `whole_from`.
    pub fn new(prior: CachedListing, whole_from: usize) -> Round {
        Round {
            prior,
            whole_from,
            seen: Mutex::new(BTreeMap::new()),
            fresh: Mutex::new(BTreeMap::new()),
        }
    }

    /// The cached page to validate against, when this pass may send one
    /// (same page size only: another size is another listing).
    pub fn cached(&self, page: usize, per_page: usize) -> Option<Arc<CachedPage>> {
        if page >= self.whole_from || self.prior.per_page != per_page {
            return None;
        }
        self.prior.pages.get(&page).cloned()
    }

    /// Record what page `page` was and the page to keep for the next pass.
    pub fn note(&self, page: usize, seen: Seen, kept: Option<Arc<CachedPage>>) {
        lock(&self.seen).insert(page, seen);
        if let Some(k) = kept {
            lock(&self.fresh).insert(page, k);
        }
    }

    /// The first page that changed, when a later page was reused: those
    /// later pages must be read whole.
    pub fn reread_after(&self) -> Option<usize> {
        let seen = lock(&self.seen);
        let first = seen
            .iter()
            .find(|(_, s)| **s == Seen::Changed)
            .map(|(p, _)| *p)?;
        seen.range(first + 1..)
            .any(|(_, s)| *s == Seen::Reused)
            .then_some(first)
    }

    /// Pages answered `304` (or unchanged under a new `ETag`).
    pub fn reused(&self) -> usize {
        lock(&self.seen)
            .values()
            .filter(|s| **s == Seen::Reused)
            .count()
    }

    /// The cache after this pass, up to page `upto` (all pages: `usize::MAX`).
    pub fn into_listing(self, per_page: usize, upto: usize) -> CachedListing {
        let mut pages = self.fresh.into_inner().unwrap_or_else(|e| e.into_inner());
        pages.retain(|p, _| *p <= upto);
        CachedListing { per_page, pages }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client's conditional-request cache: per scope, the listing pages and
/// the billing details with their `ETag`s. Off unless
/// [`super::ClientConfig::conditional_requests`] is set (the controller).
#[derive(Debug, Default)]
pub(super) struct EtagCache {
    listings: Mutex<HashMap<String, CachedListing>>,
    billing: Mutex<HashMap<String, (String, BillingInfo)>>,
    warned_churn: AtomicBool,
    warned_orphan: AtomicBool,
}

fn key(scope: &Scope) -> String {
    scope.to_string()
}

impl EtagCache {
    /// The cached listing of `scope` (empty when none).
    pub fn listing(&self, scope: &Scope) -> CachedListing {
        lock(&self.listings)
            .get(&key(scope))
            .cloned()
            .unwrap_or_default()
    }

    /// Keep `listing` for `scope`.
    pub fn store(&self, scope: &Scope, listing: CachedListing) {
        lock(&self.listings).insert(key(scope), listing);
    }

    /// Drop `scope`'s pages: after a failed read nothing of it is trusted.
    pub fn forget(&self, scope: &Scope) {
        lock(&self.listings).remove(&key(scope));
    }

    /// The billing details' validator and value for an org.
    pub fn billing(&self, org: &str) -> Option<(String, BillingInfo)> {
        lock(&self.billing).get(org).cloned()
    }

    /// Keep the billing details with their `ETag`.
    pub fn store_billing(&self, org: &str, etag: String, info: BillingInfo) {
        lock(&self.billing).insert(org.to_string(), (etag, info));
    }

    /// Log, once per client, that an `ETag` changed over the same bytes.
    pub fn churn(&self, route: &str) {
        if !self.warned_churn.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                route,
                "GitHub sent a new ETag for an unchanged page: its body is reused (compared by digest); such pages cost rate limit until their ETags settle (logged once)"
            );
        }
    }

    /// Log, once per client, a `304` that answered no cached page.
    pub fn orphan(&self, route: &str) {
        if !self.warned_orphan.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                route,
                "GitHub answered 304 Not Modified to a request that named no cached copy: reading it again without If-None-Match (logged once)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(etag: &str) -> Arc<CachedPage> {
        Arc::new(CachedPage {
            etag: etag.into(),
            digest: digest(etag),
            body: PackedPage::pack(&crate::github::PageSeats {
                total_seats: 0,
                seats: vec![],
                team_names: vec![],
            }),
            links: Links::default(),
        })
    }

    #[test]
    fn a_changed_page_rereads_the_reused_pages_after_it() {
        let prior = CachedListing {
            per_page: 100,
            pages: (1..=4).map(|p| (p, page(&p.to_string()))).collect(),
        };
        #[rustfmt::skip]
        let cases: [(&[Seen], Option<usize>); 5] = [
            (&[Seen::Reused, Seen::Reused, Seen::Reused, Seen::Reused], None),
            (&[Seen::Reused, Seen::Changed, Seen::Reused, Seen::Reused], Some(2)),
            (&[Seen::Reused, Seen::Changed, Seen::Changed, Seen::Changed], None),
            (&[Seen::Reused, Seen::Reused, Seen::Reused, Seen::Changed], None),
            (&[Seen::Changed, Seen::Reused, Seen::Changed, Seen::Reused], Some(1)),
        ];
        for (seen, want) in cases {
            let r = Round::new(prior.clone(), usize::MAX);
            for (i, s) in seen.iter().enumerate() {
                r.note(i + 1, *s, None);
            }
            assert_eq!(r.reread_after(), want, "{seen:?}");
        }
    }

    #[test]
    fn validators_go_only_before_the_whole_pages_and_at_the_same_size() {
        let prior = CachedListing {
            per_page: 100,
            pages: (1..=3).map(|p| (p, page(&p.to_string()))).collect(),
        };
        let r = Round::new(prior, 3);
        assert!(r.cached(1, 100).is_some());
        assert!(r.cached(3, 100).is_none(), "page 3 is read whole");
        assert!(r.cached(1, 50).is_none(), "another page size");
        assert!(r.cached(9, 100).is_none(), "never cached");
    }
}
