//! A listing page packed for the conditional-read cache.
//!
//! The controller keeps every page of every listing it validates with
//! `If-None-Match`: at 100,000 seats that is 1,000 pages held between
//! reconciles. Kept as [`PageSeats`] (an `Entry` per seat, each with its own
//! login and team-name strings) they cost about 17 MB; packed, each entry is
//! one 32-byte record plus its login's bytes in one string per page, each
//! distinct team or organization name is stored once per page, and
//! timestamps are whole seconds in four bytes: about 4 MB. A `304` unpacks
//! the page into the same `PageSeats` it was packed from (tested both ways),
//! so the fold cannot tell a reused page from a fresh one. A page with a
//! timestamp that does not fit (sub-second, not after 1970, after 2106:
//! GitHub sends none) is kept as it is.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::github::live::{Entry, Grant, GrantSeat, PlanType, TeamKind, TeamRef};
use crate::github::{PageSeat, PageSeats};

/// What grants one packed entry's seat, names as indices into the page's
/// `names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PackedGrant {
    Unassigned,
    Direct,
    Team(TeamKind, u16),
    Organization(u16, Option<u16>),
}

/// One entry: 32 bytes, no allocation of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    /// Where the login starts in the page's `logins`, and its length.
    login: (u32, u16),
    grant: PackedGrant,
    plan_type: PlanType,
    created_at: Stamp,
    last_activity_at: Stamp,
    last_authenticated_at: Stamp,
    pending_cancellation_date: Option<NaiveDate>,
}

/// A timestamp in whole seconds since 1970, `0` for none.
type Stamp = u32;

/// `t` as a [`Stamp`], when it fits.
fn stamp(t: Option<DateTime<Utc>>) -> Option<Stamp> {
    match t {
        None => Some(0),
        Some(t) if t.timestamp_subsec_nanos() == 0 => {
            u32::try_from(t.timestamp()).ok().filter(|s| *s > 0)
        }
        Some(_) => None,
    }
}

fn unstamp(s: Stamp) -> Option<DateTime<Utc>> {
    (s != 0)
        .then(|| DateTime::from_timestamp(i64::from(s), 0))
        .flatten()
}

/// A [`PageSeats`], packed when its timestamps fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PackedPage(Storage);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Storage {
    /// See the module documentation.
    Packed {
        total_seats: u64,
        logins: Box<str>,
        /// Shared with every entry unpacked from the page.
        names: Box<[Arc<str>]>,
        records: Box<[Record]>,
        team_names: Box<[(String, String)]>,
    },
    /// A page with a timestamp a [`Stamp`] cannot hold.
    Plain(PageSeats),
}

impl PackedPage {
    /// Pack `page`.
    pub fn pack(page: &PageSeats) -> PackedPage {
        PackedPage(Self::try_pack(page).unwrap_or_else(|| Storage::Plain(page.clone())))
    }

    fn try_pack(page: &PageSeats) -> Option<Storage> {
        let mut logins = String::new();
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut name = |s: &str| -> Option<u16> {
            let i = names.iter().position(|n| **n == *s).unwrap_or_else(|| {
                names.push(s.into());
                names.len() - 1
            });
            u16::try_from(i).ok()
        };
        let records = page
            .seats
            .iter()
            .map(|s| match s {
                PageSeat::Unassigned(t) => Some(Record {
                    login: (0, 0),
                    grant: PackedGrant::Unassigned,
                    plan_type: PlanType::Unknown,
                    created_at: stamp(Some(*t))?,
                    last_activity_at: 0,
                    last_authenticated_at: 0,
                    pending_cancellation_date: None,
                }),
                PageSeat::Assigned(e) => {
                    let start = u32::try_from(logins.len()).ok()?;
                    logins.push_str(&e.login);
                    let grant = match &e.seat.grant {
                        Grant::Direct => PackedGrant::Direct,
                        Grant::Team(t) => PackedGrant::Team(t.kind, name(&t.slug)?),
                        Grant::Organization { org, team } => PackedGrant::Organization(
                            name(org)?,
                            match team {
                                Some(t) => Some(name(t)?),
                                None => None,
                            },
                        ),
                    };
                    Some(Record {
                        login: (start, u16::try_from(e.login.len()).ok()?),
                        grant,
                        plan_type: e.plan_type,
                        created_at: stamp(Some(e.seat.created_at))?,
                        last_activity_at: stamp(e.last_activity_at)?,
                        last_authenticated_at: stamp(e.last_authenticated_at)?,
                        pending_cancellation_date: e.seat.pending_cancellation_date,
                    })
                }
            })
            .collect::<Option<_>>()?;
        Some(Storage::Packed {
            total_seats: page.total_seats,
            logins: logins.into(),
            names: names.into(),
            records,
            team_names: page.team_names.clone().into(),
        })
    }

    /// The page it was packed from.
    pub fn unpack(&self) -> PageSeats {
        let (total_seats, logins, names, records, team_names) = match &self.0 {
            Storage::Plain(page) => return page.clone(),
            Storage::Packed {
                total_seats,
                logins,
                names,
                records,
                team_names,
            } => (total_seats, logins, names, records, team_names),
        };
        let name = |i: u16| {
            names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| Arc::from(""))
        };
        // Packed stamps are never 0, so a created_at always unstamps.
        let created = |s| unstamp(s).unwrap_or_default();
        let seats = records
            .iter()
            .map(|r| {
                let grant = match r.grant {
                    PackedGrant::Unassigned => return PageSeat::Unassigned(created(r.created_at)),
                    PackedGrant::Direct => Grant::Direct,
                    PackedGrant::Team(kind, slug) => Grant::Team(TeamRef {
                        kind,
                        slug: name(slug),
                    }),
                    PackedGrant::Organization(org, team) => Grant::Organization {
                        org: name(org),
                        team: team.map(name),
                    },
                };
                let start = r.login.0 as usize;
                let login = logins
                    .get(start..start + usize::from(r.login.1))
                    .unwrap_or("");
                PageSeat::Assigned(Entry {
                    login: login.to_string(),
                    seat: GrantSeat {
                        grant,
                        pending_cancellation_date: r.pending_cancellation_date,
                        created_at: created(r.created_at),
                    },
                    last_activity_at: unstamp(r.last_activity_at),
                    last_authenticated_at: unstamp(r.last_authenticated_at),
                    plan_type: r.plan_type,
                })
            })
            .collect();
        PageSeats {
            total_seats: *total_seats,
            seats,
            team_names: team_names.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32, secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn entry(login: &str, grant: Grant) -> PageSeat {
        PageSeat::Assigned(Entry {
            login: login.into(),
            seat: GrantSeat {
                grant,
                pending_cancellation_date: None,
                created_at: t(1, 0),
            },
            last_activity_at: None,
            last_authenticated_at: None,
            plan_type: PlanType::Unknown,
        })
    }

    #[test]
    fn a_page_unpacks_to_what_was_packed() {
        let mut full = entry("Zoë-Ünïcode", Grant::Team(TeamRef::enterprise("platform")));
        if let PageSeat::Assigned(e) = &mut full {
            e.seat.pending_cancellation_date = NaiveDate::from_ymd_opt(2026, 12, 1);
            e.last_activity_at = Some(t(3, 59));
            e.last_authenticated_at = Some(t(4, 1));
            e.plan_type = PlanType::Enterprise;
        }
        #[rustfmt::skip]
        let seats = vec![
            entry("alice", Grant::Direct),
            full,
            PageSeat::Unassigned(t(2, 7)),
            entry("bob", Grant::Team(TeamRef::org("platform"))),
            entry("carol", Grant::Organization { org: "acme".into(), team: None }),
            entry("dave", Grant::Organization { org: "acme".into(), team: Some("platform".into()) }),
            entry("", Grant::Direct),
        ];
        let page = PageSeats {
            total_seats: 9,
            seats,
            team_names: vec![("ent:platform".into(), "Platform".into())],
        };
        let packed = PackedPage::pack(&page);
        assert_eq!(packed.unpack(), page);
        let Storage::Packed { names, records, .. } = &packed.0 else {
            panic!("whole seconds pack")
        };
        assert_eq!(records.len(), 7);
        // "ent:platform", "platform" and "acme": each stored once for five uses.
        assert_eq!(names.len(), 3);
        let empty = PageSeats {
            total_seats: 0,
            seats: vec![],
            team_names: vec![],
        };
        assert_eq!(PackedPage::pack(&empty).unpack(), empty);
    }

    #[test]
    fn a_timestamp_that_does_not_fit_keeps_the_page_as_it_is() {
        let page = |t: DateTime<Utc>| PageSeats {
            total_seats: 1,
            seats: vec![PageSeat::Unassigned(t)],
            team_names: vec![],
        };
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        #[rustfmt::skip]
        let cases = [
            (t(1, 0), true),
            (t(1, 0) + chrono::Duration::nanoseconds(1), false),
            (at(0), false),
            (at(-1), false),
            (at(1 << 32), false),
            (at(u32::MAX.into()), true),
        ];
        for (when, packs) in cases {
            let page = page(when);
            let packed = PackedPage::pack(&page);
            assert_eq!(matches!(packed.0, Storage::Packed { .. }), packs, "{when}");
            assert_eq!(packed.unpack(), page, "{when}");
        }
    }

    #[test]
    fn a_record_stays_small() {
        // The point of packing: no allocation per entry, and a record far
        // smaller than the entry it stands for.
        let size = std::mem::size_of::<Record>();
        assert!(size <= 32, "{size}");
        assert!(2 * size < std::mem::size_of::<PageSeat>());
    }
}
