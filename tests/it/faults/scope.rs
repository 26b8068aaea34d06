//! What differs between an organization and an enterprise, behind one trait:
//! the generated shape (people, teams, seats), the routes, the client's
//! concurrency, and the seat model the oracles read. Everything else
//! (scenarios, rounds, oracles, the run loop, coverage) is written once.

use super::*;

/// One holder's seat, as the oracles read it from the simulator's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Holding {
    /// Holds a seat now (some grant not pending cancellation).
    pub(crate) active: bool,
    /// Holds an active direct grant (the scope's `selected_users`).
    pub(crate) direct: bool,
    /// The scope's teams (keys, see [`Scope::team_key`]) granting an active seat.
    pub(crate) teams: BTreeSet<String>,
    /// Every grant, described, for messages.
    pub(crate) grants: BTreeSet<String>,
}

/// What the generator drew for a scope, before seats.yaml and the faults.
pub(crate) struct Shape {
    pub(crate) state: SimState,
    /// People seats.yaml may list, protect, or the simulator may reject.
    pub(crate) people: Vec<String>,
    /// Teams seats.yaml may list (each with a 50% chance), as written.
    pub(crate) teams: Vec<String>,
    /// Teams seats.yaml lists for sure (a big team).
    pub(crate) forced_teams: Vec<String>,
    /// Teams `policy.eligible_teams` may name.
    pub(crate) eligible_teams: Vec<String>,
    /// Page size of the listing.
    pub(crate) per_page: usize,
    /// Pages of the listing.
    pub(crate) pages: usize,
    /// The change while paging, if any.
    pub(crate) churn: Option<(Churn, Vec<FaultAction>)>,
    /// Facts for the failure summary.
    pub(crate) summary: String,
}

/// How the seats change while the listing is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Churn {
    /// A new holder gets a direct enterprise seat, the last entry (total + 1).
    Added,
    /// An organization grants a new holder a seat, mid-listing (total + 1).
    AddedByOrg,
    /// A holder loses every grant of the scope (total − 1).
    Removed,
    /// One such holder out, a new one in a later second: every count stays equal.
    NetZero,
}

/// An organization or an enterprise, as the shared harness drives it.
pub(crate) trait Scope: Send + Sync + 'static {
    /// For messages: `org` or `enterprise`.
    const NAME: &'static str;
    /// Scenarios by default.
    const DEFAULT_SCENARIOS: u64;
    /// Simulators serving scenarios at once (each serves one at a time).
    const WORKERS: u64;
    /// `SEATKEEPER_…_SCENARIOS`: how many scenarios.
    const SCENARIOS_VAR: &'static str;
    /// `SEATKEEPER_…_SEED`: replay one scenario, with a trace.
    const SEED_VAR: &'static str;
    /// XORed into the seed, so both scopes draw differently from one seed.
    const SALT: u64;
    /// The seat listing's route.
    const SEATS_ROUTE: &'static str;
    /// The route of `selected_users` writes.
    const USERS_ROUTE: &'static str;
    /// The route of selected-team writes.
    const TEAMS_ROUTE: &'static str;
    /// The JSON key naming the teams in a selected-team write.
    const TEAMS_KEY: &'static str;
    /// Look-ups at once (`Options::concurrency`).
    const CONCURRENCY: usize;
    /// Seat pages at once after page 1.
    const PAGE_CONCURRENCY: usize;
    /// The changes while paging the generator makes (each must be refused).
    const CHURN_KINDS: &'static [Churn];
    /// seats.yaml's first key, e.g. `org: acme`.
    const HEADER: &'static str;
    /// Routes any fault may hit.
    const FAULT_ROUTES: &'static [&'static str];
    /// Routes where a 404 means "gone" without lying about a person (a
    /// spurious 404 from a membership or user route would, rightly, make a
    /// listed user ineligible).
    const NOT_FOUND_ROUTES: &'static [&'static str];

    /// The people, teams and seats, and the change while paging.
    fn shape(r: &mut Rng, today: NaiveDate) -> Shape;
    /// How seats.yaml may spell a team (e.g. with or without `ent:`).
    fn spell_team(r: &mut Rng, slug: &str) -> String;
    /// A team as compared: lowercase, plus the scope's prefix.
    fn team_key(slug: &str) -> String;
    /// The kind of the scope's teams.
    fn team_kind() -> TeamKind;
    /// The selected teams (keys).
    fn selected_teams(st: &SimState) -> BTreeSet<String>;
    /// Every holder (lowercase) and their seat.
    fn holdings(st: &SimState) -> BTreeMap<String, Holding>;
    /// May this login hold a seat (exists, is a member, passes `eligible_teams`)?
    fn eligible(want: &Want, st: &SimState, login: &str) -> bool;
    /// Would `inactivity.action: remove` take this login's direct seat?
    fn idle_removable(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool;
    /// A listed user who lost `h` in a reconcile: was it theirs to keep?
    fn listed_keeps(want: &Want, st: &SimState, login: &str, h: &Holding, today: NaiveDate)
    -> bool;
    /// Must this listed user's direct seat have gone for being idle?
    fn idle_must_go(want: &Want, st: &SimState, login: &str, today: NaiveDate) -> bool;
    /// Did a change the outcome reports `ok` happen (`name` lowercase or a
    /// team key)? `h` is `post`'s holdings.
    fn happened(action: Action, name: &str, post: &SimState, h: &BTreeMap<String, Holding>)
    -> bool;
    /// Scope-specific checks of a successful round (e.g. that the plan was
    /// made from a listing that existed).
    fn check_listing(s: &Scenario, round: &Round) -> Result<(), String>;
}

/// Holders that are active in `h`.
pub(crate) fn holds(h: &BTreeMap<String, Holding>, login: &str) -> bool {
    h.get(login).is_some_and(|x| x.active)
}
