//! A second model of GitHub, not ours: fixtures written from GitHub's own
//! words (`tests/fixtures/docs/*.json`, each citing the sentences it
//! encodes), served over HTTP by a minimal fixture server that shares no
//! code with `src/simulator/`, and driven through the real client and the
//! real reconciler.
//!
//! Each fixture gives a scope, a seats.yaml, a date, the seat listing as
//! pages of compact entries, team members for look-ups, the answers to
//! writes, and the expected outcome. The server expands compact entries
//! into full GitHub objects (Simple User, Organization Simple, Team with
//! `type`, Enterprise Team with `group_id`), validates every body it sends
//! and receives against the official schemas in `tests/fixtures/openapi/`,
//! serves GitHub's `Link` header (none for a single page), answers
//! `per_page`/`page`, and records every request. A cited quote from an
//! OpenAPI description must appear verbatim in the operation it names.
//!
//! `SEATKEEPER_DOCS_FIXTURE=name` runs one fixture.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use seatkeeper::github::client::{Auth, ClientConfig, GitHubClient, RetrySleep, ThrottleConfig};
use seatkeeper::plan::{Change, Reason};
use seatkeeper::reconcile::{Mode, Options, Outcome, reconcile};
use seatkeeper::source::Loaded;

// ---------------------------------------------------------------------------
// The fixture format.

/// One scenario, checkable line by line against the cited sentences.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    /// One line: what the fixture shows.
    about: String,
    /// The sentences it encodes.
    cites: Vec<Cite>,
    /// `org` or `enterprise`.
    scope: String,
    seats_yaml: String,
    today: NaiveDate,
    /// `per_page` the client is configured with (default 100, GitHub's maximum).
    #[serde(default)]
    page_size: Option<usize>,
    listing: Listing,
    /// Members of teams the reconciler may look up, by slug as sent
    /// (`ent:platform`, `dev`). A team not here answers 404.
    #[serde(default)]
    team_members: BTreeMap<String, Vec<String>>,
    /// Teams the client may look up by slug (`GET /orgs/{org}/teams/{slug}`,
    /// `GET /enterprises/{enterprise}/teams/{slug}`): slug as sent -> the
    /// team's name. A team not here answers 404.
    #[serde(default)]
    teams: BTreeMap<String, String>,
    /// Answers to writes, in the order they must arrive.
    #[serde(default)]
    writes: Vec<WriteAnswer>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cite {
    /// `ghec` or `api.github.com` (an OpenAPI description, checked), or a
    /// docs.github.com address (quoted, not checked offline).
    source: String,
    /// `METHOD /path` of the operation, for a description.
    #[serde(default)]
    operation: Option<String>,
    /// The exact sentence.
    quote: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Listing {
    /// `total_seats` on every page unless a page says otherwise.
    total_seats: u64,
    pages: Vec<PageSpec>,
    /// Org scope: `seat_management_setting` of `GET /orgs/{org}/copilot/billing`.
    #[serde(default = "assign_selected")]
    seat_management_setting: String,
    /// Leave `rel="last"` out of every `Link` ("if it can't be calculated").
    #[serde(default)]
    omit_last: bool,
}

fn once() -> usize {
    1
}

fn assign_selected() -> String {
    "assign_selected".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageSpec {
    seats: Vec<Compact>,
    /// This page's `total_seats`, when it differs (seats changed while paging).
    #[serde(default)]
    total_seats: Option<u64>,
    /// The `rel="last"` page this page's `Link` names, when it differs.
    #[serde(default)]
    last: Option<usize>,
}

/// A seat entry in compact form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Compact {
    login: String,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    assigning_team: Option<CompactTeam>,
    #[serde(default)]
    pending_cancellation_date: Option<NaiveDate>,
    #[serde(default)]
    last_activity_at: Option<DateTime<Utc>>,
    #[serde(default)]
    last_authenticated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactTeam {
    slug: String,
    /// The team's name (default: the slug, without `ent:` for an
    /// Enterprise Team object).
    #[serde(default)]
    name: Option<String>,
    /// The Team object's `type` (`enterprise` or `organization`).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// `Team` (default) or `Enterprise Team`: which of the `oneOf` objects.
    #[serde(default)]
    object: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteAnswer {
    /// `POST /enterprises/octo-corp/copilot/billing/selected_users`.
    request: String,
    /// The body that must be sent.
    body: Value,
    status: u16,
    response: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Every read of a plan run, as `GET path?query` (page 1 first, the
    /// rest in any order).
    requests: Vec<String>,
    /// Reads only the apply run makes besides `requests`: a team's name
    /// before a team write.
    #[serde(default)]
    apply_reads: Vec<String>,
    /// How many times `requests` are made: a listing that keeps shifting is
    /// read once and re-read three times before it is called incomplete.
    #[serde(default = "once")]
    reads: usize,
    /// The plan run fails with a message containing this, or, for a seat
    /// listing that cannot be proven whole, plans adds only with every
    /// removal held and this as the check that failed (issue 18 item 5).
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    plan: Option<PlanExpect>,
    /// Run again in apply mode: the same reads, then `writes` in order.
    #[serde(default)]
    apply: Option<ApplyExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanExpect {
    /// `planned`, `in_sync` or `guarded`.
    status: String,
    changes: Vec<String>,
    seats_before: usize,
    seats_after: usize,
    billed_before: usize,
    billed_after: usize,
    #[serde(default)]
    held_outside: Vec<String>,
    /// Removals that keep a seat: login -> grants.
    #[serde(default)]
    keeps_via: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    inactive: Vec<String>,
    #[serde(default)]
    guard: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyExpect {
    #[serde(default)]
    status: Option<String>,
    /// `action name result`, or `action name result ~ message part`.
    #[serde(default)]
    results: Vec<String>,
    /// The apply run fails with a message containing this.
    #[serde(default)]
    error: Option<String>,
}

impl Fixture {
    fn enterprise(&self) -> bool {
        self.scope == "enterprise"
    }

    fn per_page(&self) -> usize {
        self.page_size.unwrap_or(100)
    }

    /// The org or enterprise name, from seats.yaml.
    fn name(&self) -> String {
        let key = if self.enterprise() {
            "enterprise:"
        } else {
            "org:"
        };
        self.seats_yaml
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("seats_yaml has no `{key}` line"))
    }

    /// Page 1's `Date`: noon of `today`.
    fn served_at(&self) -> String {
        self.today
            .and_hms_opt(12, 0, 0)
            .expect("noon")
            .and_utc()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }
}

// ---------------------------------------------------------------------------
// The official schemas: OpenAPI 3.0 to JSON Schema, by a whitelist of the
// validation keywords the descriptions use. `nullable: true` wraps the
// schema in `anyOf [null, schema]`.

const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "oneOf",
    "anyOf",
    "allOf",
    "format",
    "additionalProperties",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
];

fn json_schema(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = serde_json::Map::new();
    for (k, val) in m {
        if !KEYWORDS.contains(&k.as_str()) {
            continue;
        }
        let converted = match k.as_str() {
            "properties" => Value::Object(
                val.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), json_schema(s)))
                    .collect(),
            ),
            "items" | "additionalProperties" => json_schema(val),
            "oneOf" | "anyOf" | "allOf" => Value::Array(
                val.as_array()
                    .into_iter()
                    .flatten()
                    .map(json_schema)
                    .collect(),
            ),
            _ => val.clone(),
        };
        out.insert(k.clone(), converted);
    }
    if m.get("nullable") == Some(&Value::Bool(true)) {
        return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] });
    }
    Value::Object(out)
}

struct Schemas {
    /// (description, METHOD, path) -> operation.
    ops: BTreeMap<(String, String, String), Value>,
    compiled: Mutex<BTreeMap<String, Arc<jsonschema::Validator>>>,
}

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| {
        let mut ops = BTreeMap::new();
        for source in ["ghec", "api.github.com"] {
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/fixtures/openapi/{source}.operations.json"));
            let text = std::fs::read_to_string(&file).expect("OpenAPI fixture");
            let doc: Value = serde_json::from_str(&text).expect("OpenAPI JSON");
            for (path, methods) in doc["paths"].as_object().expect("paths") {
                for (method, op) in methods.as_object().expect("methods") {
                    ops.insert(
                        (source.to_string(), method.to_uppercase(), path.clone()),
                        op.clone(),
                    );
                }
            }
        }
        Schemas {
            ops,
            compiled: Mutex::new(BTreeMap::new()),
        }
    })
}

impl Schemas {
    fn op(&self, source: &str, method: &str, path: &str) -> Option<&Value> {
        self.ops
            .get(&(source.to_string(), method.to_string(), path.to_string()))
    }

    /// Errors of `instance` against `schema` (empty when valid).
    fn errors(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let mut c = self.compiled.lock().unwrap();
            c.entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(
                        jsonschema::options()
                            .with_draft(jsonschema::Draft::Draft7)
                            .should_validate_formats(true)
                            .build(&json_schema(schema))
                            .unwrap_or_else(|e| panic!("{key}: schema does not compile: {e}")),
                    )
                })
                .clone()
        };
        validator
            .iter_errors(instance)
            .take(5)
            .map(|e| format!("{key}: {e} at {}", e.instance_path))
            .collect()
    }
}

/// Which description an API path is in: enterprise routes in GHEC's.
fn source_of(template: &str) -> &'static str {
    if template.starts_with("/enterprises/") {
        "ghec"
    } else {
        "api.github.com"
    }
}

// ---------------------------------------------------------------------------
// Compact entries expanded into GitHub's objects.

const API: &str = "https://api.github.com";

/// A stable id per name, so the same login always has the same `id`.
fn id_of(kind: &str, name: &str) -> u64 {
    name.to_ascii_lowercase()
        .bytes()
        .chain(kind.bytes())
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 90_000_000
        + 1000
}

fn simple_user(login: &str) -> Value {
    let id = id_of("user", login);
    let u = format!("{API}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": u,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": "User",
        "site_admin": false
    })
}

fn organization_simple(login: &str) -> Value {
    let id = id_of("org", login);
    let o = format!("{API}/orgs/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": format!("O_{id}"),
        "url": o,
        "repos_url": format!("{o}/repos"),
        "events_url": format!("{o}/events"),
        "hooks_url": format!("{o}/hooks"),
        "issues_url": format!("{o}/issues"),
        "members_url": format!("{o}/members{{/member}}"),
        "public_members_url": format!("{o}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "description": null
    })
}

/// `team-organization`: an organization as `team-full` embeds it.
fn team_organization(login: &str) -> Value {
    let mut o = organization_simple(login);
    for (k, v) in [
        ("html_url", json!(format!("https://github.com/{login}"))),
        ("has_organization_projects", json!(true)),
        ("has_repository_projects", json!(true)),
        ("public_repos", json!(0)),
        ("public_gists", json!(0)),
        ("followers", json!(0)),
        ("following", json!(0)),
        ("type", json!("Organization")),
        ("created_at", json!("2020-01-01T00:00:00Z")),
        ("updated_at", json!("2020-01-01T00:00:00Z")),
        ("archived_at", Value::Null),
    ] {
        o[k] = v;
    }
    o
}

/// `Team` (with `type`) or `Enterprise Team` (with `group_id`).
fn team_object(t: &CompactTeam, owner: &str, created: &str) -> Value {
    let id = id_of("team", &t.slug);
    match t.object.as_deref().unwrap_or("Team") {
        "Team" => {
            let mut team = json!({
                "id": id,
                "node_id": format!("T_{id}"),
                "url": format!("{API}/organizations/{}/team/{id}", id_of("org", owner)),
                "html_url": format!("https://github.com/orgs/{owner}/teams/{}", t.slug),
                "name": t.name.as_deref().unwrap_or(&t.slug),
                "slug": t.slug,
                "description": null,
                "privacy": "closed",
                "notification_setting": "notifications_enabled",
                "permission": "pull",
                "members_url": format!("{API}/organizations/{}/team/{id}/members{{/member}}", id_of("org", owner)),
                "repositories_url": format!("{API}/organizations/{}/team/{id}/repos", id_of("org", owner)),
                "parent": null
            });
            if let Some(kind) = &t.kind {
                team["type"] = json!(kind);
            }
            team
        }
        "Enterprise Team" => {
            let e = format!("{API}/enterprises/{owner}/teams/{}", t.slug);
            json!({
                "id": id,
                "name": t.name.as_deref().unwrap_or(t.slug.trim_start_matches("ent:")),
                "slug": t.slug,
                "description": "",
                "url": e,
                "html_url": format!("https://github.com/enterprises/{owner}/teams/{}", t.slug),
                "members_url": format!("{e}/memberships{{/member}}"),
                "group_id": null,
                "created_at": created,
                "updated_at": created
            })
        }
        other => panic!("assigning_team.object `{other}`: Team or Enterprise Team"),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A seat detail object. A team's owner is the entry's organization, else
/// the enterprise (or the org of an org listing).
fn seat_object(c: &Compact, owner: &str) -> Value {
    let created = ts(c.created_at);
    let team_owner = c.organization.as_deref().unwrap_or(owner);
    json!({
        "assignee": simple_user(&c.login),
        "organization": c.organization.as_deref().map(organization_simple),
        "assigning_team": c.assigning_team.as_ref().map(|t| team_object(t, team_owner, &created)),
        "pending_cancellation_date": c.pending_cancellation_date.map(|d| d.to_string()),
        "last_activity_at": c.last_activity_at.map(ts),
        "last_activity_editor": c.last_activity_at.map(|_| "vscode/1.98.0/copilot/1.280.0"),
        "last_authenticated_at": c.last_authenticated_at.map(ts),
        "created_at": created,
        "updated_at": created,
        "plan_type": "business"
    })
}

// ---------------------------------------------------------------------------
// The fixture server.

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    /// Path and query as sent.
    target: String,
    body: Option<Value>,
}

struct Served {
    fixture: Arc<Fixture>,
    base: String,
    requests: Vec<Recorded>,
    /// Writes answered so far (an index into `fixture.writes`).
    writes_used: usize,
    /// Contract violations and unanswerable requests.
    problems: Vec<String>,
}

type Shared = Arc<Mutex<Served>>;

struct Server {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(fixture: Arc<Fixture>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("address");
        let shared = Arc::new(Mutex::new(Served {
            fixture,
            base: format!("http://{addr}"),
            requests: Vec::new(),
            writes_used: 0,
            problems: Vec::new(),
        }));
        let s = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let s = Arc::clone(&s);
                        async move { Ok::<_, Infallible>(handle(&s, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, shared, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn take(&self) -> (Vec<Recorded>, Vec<String>, usize) {
        let mut g = self.shared.lock().unwrap();
        let out = (
            std::mem::take(&mut g.requests),
            std::mem::take(&mut g.problems),
            g.writes_used,
        );
        g.writes_used = 0;
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn query_param(query: &str, key: &str) -> Option<usize> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

/// `%3A` and friends, as a path segment is decoded.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = segment
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GitHub's `Link` header for page `page` of `last`: `next`/`last` before
/// the last page (`last` left out when `with_last` is false), `prev`/`first`
/// after the first; none for a single page.
fn link(
    base: &str,
    path: &str,
    per_page: usize,
    (page, last, with_last): (usize, usize, bool),
) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let url = |n: usize| format!("<{base}{path}?per_page={per_page}&page={n}>");
    let mut parts = Vec::new();
    if page > 1 {
        parts.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        parts.push(format!("{}; rel=\"next\"", url(page + 1)));
        if with_last {
            parts.push(format!("{}; rel=\"last\"", url(last)));
        }
    }
    if page > 1 {
        parts.push(format!("{}; rel=\"first\"", url(1)));
    }
    Some(parts.join(", "))
}

struct Answer {
    status: u16,
    body: Value,
    link: Option<String>,
    /// The OpenAPI path the answer is described under.
    template: Option<String>,
}

fn error(status: u16, message: &str) -> Answer {
    Answer {
        status,
        body: json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string()
        }),
        link: None,
        template: None,
    }
}

fn route(s: &mut Served, method: &str, path: &str, query: &str, body: Option<&Value>) -> Answer {
    let f = Arc::clone(&s.fixture);
    let name = f.name();
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ok_owner = |kind: &str, owner: &str| {
        (kind == "enterprises") == f.enterprise() && owner.eq_ignore_ascii_case(&name)
    };
    let page = query_param(query, "page").unwrap_or(1).max(1);
    let per_page = query_param(query, "per_page").unwrap_or(30).clamp(1, 100);
    match (method, segs.as_slice()) {
        ("GET", [kind, owner, "copilot", "billing", "seats"]) if ok_owner(kind, owner) => {
            if per_page != f.per_page() {
                s.problems.push(format!(
                    "the client asked per_page={per_page}; the fixture's pages hold {}",
                    f.per_page()
                ));
            }
            let pages = &f.listing.pages;
            let spec = pages.get(page - 1);
            let total = spec
                .and_then(|p| p.total_seats)
                .unwrap_or(f.listing.total_seats);
            let last = spec.and_then(|p| p.last).unwrap_or(pages.len());
            let seats: Vec<Value> = spec
                .map(|p| p.seats.iter().map(|c| seat_object(c, &name)).collect())
                .unwrap_or_default();
            Answer {
                status: 200,
                body: json!({ "total_seats": total, "seats": seats }),
                link: link(&s.base, path, per_page, (page, last, !f.listing.omit_last)),
                template: Some(format!(
                    "/{kind}/{{{}}}/copilot/billing/seats",
                    owner_key(kind)
                )),
            }
        }
        ("GET", ["orgs", owner, "copilot", "billing"]) if ok_owner("orgs", owner) => {
            let pending = f
                .listing
                .pages
                .iter()
                .flat_map(|p| &p.seats)
                .filter(|c| c.pending_cancellation_date.is_some())
                .count();
            Answer {
                status: 200,
                body: json!({
                    "seat_breakdown": {
                        "total": f.listing.total_seats,
                        "added_this_cycle": 0,
                        "pending_cancellation": pending,
                        "pending_invitation": 0,
                        "active_this_cycle": 0,
                        "inactive_this_cycle": 0
                    },
                    "public_code_suggestions": "block",
                    "seat_management_setting": f.listing.seat_management_setting,
                    "plan_type": "business"
                }),
                link: None,
                template: Some("/orgs/{org}/copilot/billing".into()),
            }
        }
        ("GET", ["orgs", owner, "teams", slug, "members"])
        | ("GET", ["enterprises", owner, "teams", slug, "memberships"])
            if ok_owner(segs[0], owner) =>
        {
            let Some(members) = f.team_members.get(*slug) else {
                return error(404, "Not Found");
            };
            let last = members.len().div_ceil(per_page).max(1);
            let users: Vec<Value> = members
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|m| simple_user(m))
                .collect();
            Answer {
                status: 200,
                body: Value::Array(users),
                link: link(&s.base, path, per_page, (page, last, true)),
                template: Some(if segs[0] == "orgs" {
                    "/orgs/{org}/teams/{team_slug}/members".into()
                } else {
                    "/enterprises/{enterprise}/teams/{enterprise-team}/memberships".into()
                }),
            }
        }
        ("GET", [kind, owner, "teams", slug]) if ok_owner(kind, owner) => {
            let Some(team_name) = f.teams.get(*slug) else {
                return error(404, "Not Found");
            };
            let team = CompactTeam {
                slug: (*slug).to_string(),
                name: Some(team_name.clone()),
                kind: None,
                object: Some(
                    if *kind == "enterprises" {
                        "Enterprise Team"
                    } else {
                        "Team"
                    }
                    .into(),
                ),
            };
            let mut body = team_object(&team, owner, "2026-01-01T00:00:00Z");
            if *kind == "orgs" {
                // `team-full`: the Team object and what only this route adds.
                let members = f.team_members.get(*slug).map_or(0, Vec::len);
                for (k, v) in [
                    ("type", json!("organization")),
                    ("created_at", json!("2026-01-01T00:00:00Z")),
                    ("updated_at", json!("2026-01-01T00:00:00Z")),
                    ("members_count", json!(members)),
                    ("repos_count", json!(0)),
                    ("organization", team_organization(owner)),
                ] {
                    body[k] = v;
                }
            }
            Answer {
                status: 200,
                body,
                link: None,
                template: Some(if *kind == "enterprises" {
                    "/enterprises/{enterprise}/teams/{team_slug}".into()
                } else {
                    "/orgs/{org}/teams/{team_slug}".into()
                }),
            }
        }
        ("POST" | "DELETE", [kind, owner, "copilot", "billing", what]) if ok_owner(kind, owner) => {
            write(
                s,
                method,
                path,
                body,
                &format!("/{kind}/{{{}}}/copilot/billing/{what}", owner_key(kind)),
            )
        }
        ("POST", ["enterprises", owner, "teams", _, "memberships", what])
            if ok_owner("enterprises", owner) =>
        {
            write(
                s,
                method,
                path,
                body,
                &format!(
                    "/enterprises/{{enterprise}}/teams/{{enterprise-team}}/memberships/{what}"
                ),
            )
        }
        _ => {
            s.problems.push(format!(
                "{method} {path}?{query}: not a route this fixture serves"
            ));
            error(404, "Not Found")
        }
    }
}

fn owner_key(kind: &str) -> &'static str {
    if kind == "enterprises" {
        "enterprise"
    } else {
        "org"
    }
}

/// A write answered by the next fixture answer, which must name this
/// request and body; anything else is a problem (and a 500).
fn write(s: &mut Served, method: &str, path: &str, body: Option<&Value>, template: &str) -> Answer {
    let f = Arc::clone(&s.fixture);
    let line = format!("{method} {path}");
    let Some(answer) = f.writes.get(s.writes_used) else {
        s.problems.push(format!("unexpected write {line} {body:?}"));
        return error(500, "no fixture answer for this write");
    };
    if answer.request != line || Some(&answer.body) != body {
        s.problems.push(format!(
            "write #{}: expected {} {}, got {line} {}",
            s.writes_used + 1,
            answer.request,
            answer.body,
            body.map(Value::to_string).unwrap_or_default()
        ));
        return error(500, "the fixture expected another write");
    }
    s.writes_used += 1;
    Answer {
        status: answer.status,
        body: answer.response.clone(),
        link: None,
        template: Some(template.to_string()),
    }
}

/// Validate a body against the description of `template`: the request
/// body, or the response of `status` (GitHub's Basic Error when the status
/// is described without a body, or not at all).
fn validate(
    template: &str,
    method: &str,
    status: Option<u16>,
    body: &Value,
    problems: &mut Vec<String>,
) {
    let s = schemas();
    let source = source_of(template);
    let Some(op) = s.op(source, method, template) else {
        problems.push(format!(
            "{method} {template} is not in the {source} description"
        ));
        return;
    };
    let (key, schema) = match status {
        None => match op.pointer("/requestBody/content/application~1json/schema") {
            Some(schema) => (format!("{method} {template} request"), schema.clone()),
            None => return,
        },
        Some(code) => {
            let described = op["responses"].get(code.to_string());
            match described.and_then(|d| d.pointer("/content/application~1json/schema")) {
                Some(schema) => (format!("{method} {template} {code}"), schema.clone()),
                None if code >= 400 => (
                    "basic-error".to_string(),
                    json!({
                        "type": "object",
                        "required": ["message", "documentation_url"],
                        "properties": {
                            "message": {"type": "string"},
                            "documentation_url": {"type": "string"},
                            "status": {"type": "string"}
                        }
                    }),
                ),
                None => {
                    problems.push(format!("{method} {template}: {code} is not described"));
                    return;
                }
            }
        }
    };
    problems.extend(s.errors(&key, &schema, body));
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = (!bytes.is_empty()).then(|| {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
    });
    let mut g = shared.lock().unwrap();
    g.requests.push(Recorded {
        method: method.clone(),
        target: if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        },
        body: body.clone(),
    });
    let answer = route(&mut g, &method, &path, &query, body.as_ref());
    let mut problems = Vec::new();
    if let Some(t) = &answer.template {
        if let Some(b) = &body {
            validate(t, &method, None, b, &mut problems);
        }
        validate(t, &method, Some(answer.status), &answer.body, &mut problems);
    }
    g.problems.extend(problems);
    let served = g.fixture.served_at();
    drop(g);
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=utf-8")
        .header("date", served)
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", "4999")
        .header("x-ratelimit-reset", "4102444800");
    if let Some(l) = answer.link {
        resp = resp.header("link", l);
    }
    resp.body(Full::new(Bytes::from(answer.body.to_string())))
        .expect("response")
}

// ---------------------------------------------------------------------------
// Running a fixture through the real client and reconciler.

async fn client(server: &Server, f: &Fixture) -> GitHubClient {
    let mut c = ClientConfig::new(Auth::Token(SecretString::from("fixture-token")))
        .with_base_url(server.url());
    // Production concurrency; one attempt each, so the requests are exact.
    c.page_concurrency = 4;
    c.per_page = f.per_page();
    c.max_attempts = 1;
    c.throttle = ThrottleConfig::unlimited();
    c.request_timeout = Duration::from_secs(10);
    let instant: RetrySleep = Arc::new(|_| Box::pin(async {}));
    c.retry_sleep = Some(instant);
    GitHubClient::new(c).await.expect("client")
}

fn change_line(c: &Change) -> String {
    let mut why = vec![c.reason.as_str().to_string()];
    if let Some(d) = c.pending_cancellation_date {
        why.push(format!("pending {d}"));
    }
    if let Some(t) = &c.via_team {
        why.push(format!("via {t}"));
    }
    if let Some(n) = c.seats {
        why.push(format!("{n} seats"));
    }
    if let Some(n) = c.seats_lost {
        why.push(format!("{n} lost"));
    }
    if c.reason == Reason::Inactive
        && let (Some(d), Some(sig)) = (c.days_idle, c.idle_signal)
    {
        why.push(format!("{d} days by {}", sig.as_str()));
    }
    format!("{} {} ({})", c.action.as_str(), c.name, why.join(", "))
}

fn status_label(o: &Outcome) -> String {
    serde_json::to_value(o.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Compare one plan with the fixture's expectation.
fn check_plan(o: &Outcome, want: &PlanExpect, fail: &mut Vec<String>) {
    let p = &o.plan;
    let mut eq = |what: &str, got: String, want: String| {
        if got != want {
            fail.push(format!("{what}:\n     got {got}\n    want {want}"));
        }
    };
    eq("status", status_label(o), want.status.clone());
    eq(
        "changes",
        format!(
            "{:#?}",
            p.changes.iter().map(change_line).collect::<Vec<_>>()
        ),
        format!("{:#?}", want.changes),
    );
    eq(
        "seats before/after, billed before/after",
        format!(
            "{}/{}, {}/{}",
            p.seats_before, p.seats_after, p.billed_before, p.billed_after
        ),
        format!(
            "{}/{}, {}/{}",
            want.seats_before, want.seats_after, want.billed_before, want.billed_after
        ),
    );
    eq(
        "held_outside",
        format!(
            "{:?}",
            p.held_outside
                .iter()
                .map(|h| format!("{} via {}", h.login, h.via.join(", ")))
                .collect::<Vec<_>>()
        ),
        format!("{:?}", want.held_outside),
    );
    let keeps: BTreeMap<String, Vec<String>> = p
        .changes
        .iter()
        .filter(|c| !c.keeps_via.is_empty())
        .map(|c| (c.name.clone(), c.keeps_via.clone()))
        .collect();
    eq(
        "keeps_via",
        format!("{keeps:?}"),
        format!("{:?}", want.keeps_via),
    );
    eq(
        "inactive",
        format!(
            "{:?}",
            p.inactive
                .iter()
                .map(|i| format!("{} {} days by {}", i.login, i.days_idle, i.signal.as_str()))
                .collect::<Vec<_>>()
        ),
        format!("{:?}", want.inactive),
    );
    let guard: Vec<Value> = p
        .guard
        .reasons
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    eq(
        "guard",
        serde_json::to_string(&guard).unwrap_or_default(),
        serde_json::to_string(&want.guard).unwrap_or_default(),
    );
}

/// The reads: page 1 first, the rest in any order. A wanted line starting
/// with `? ` may be missing (a request in flight when the client gave up).
fn check_reads(got: &[Recorded], want: &[String], what: &str, fail: &mut Vec<String>) {
    let lines: Vec<String> = got
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    let required: Vec<&str> = want
        .iter()
        .filter(|w| !w.starts_with("? "))
        .map(String::as_str)
        .collect();
    let mut optional: Vec<&str> = want.iter().filter_map(|w| w.strip_prefix("? ")).collect();
    if lines.first().map(String::as_str) != required.first().copied() {
        fail.push(format!(
            "{what}: the first request is {:?}, not {:?}",
            lines.first(),
            required.first()
        ));
    }
    let mut rest: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut wrong = Vec::new();
    for r in &required {
        match rest.iter().position(|l| l == r) {
            Some(i) => {
                rest.remove(i);
            }
            None => wrong.push(format!("missing {r}")),
        }
    }
    for l in rest {
        match optional.iter().position(|o| *o == l) {
            Some(i) => {
                optional.remove(i);
            }
            None => wrong.push(format!("unexpected {l}")),
        }
    }
    if !wrong.is_empty() {
        fail.push(format!(
            "{what}: {}\n    all requests: {lines:#?}",
            wrong.join("; ")
        ));
    }
}

async fn run(name: &str, f: Fixture) -> Vec<String> {
    let mut fail = Vec::new();
    check_cites(&f, &mut fail);
    let f = Arc::new(f);
    let server = Server::start(Arc::clone(&f)).await;
    let source = match Loaded::parse("seats.yaml", f.seats_yaml.as_bytes(), None) {
        Ok(s) => s,
        Err(e) => return vec![format!("seats_yaml does not parse: {e}")],
    };
    let api = client(&server, &f).await;
    // A fixture that expects a failed check runs its apply under a seat cap
    // (`--max-seats`): an incomplete listing then holds its adds too, so
    // the fixture's "nothing is written" stays exact; adds only against a
    // server is tests/it/adds_only.rs.
    let capped = f.expect.error.is_some();
    let opts = |mode| Options {
        mode,
        today: Some(f.today),
        check_eligibility: false,
        batch_size: 100,
        concurrency: 8,
        stop: None,
        // The fixtures encode GitHub's semantics, not seatkeeper's default
        // removal cap: lift it (a fixture's own policy still applies).
        bounds: seatkeeper::reconcile::Bounds {
            max_removals: Some(seatkeeper::config::MaxRemovals::Percent(100.0)),
            max_seats: (capped && mode == Mode::Apply).then_some(u64::MAX),
            ..Default::default()
        },
        ..Options::default()
    };

    // Plan mode.
    let planned = reconcile(&api, &source, &opts(Mode::Plan)).await;
    let (reads, problems, _) = server.take();
    fail.extend(problems.into_iter().map(|p| format!("plan run: {p}")));
    let plan_reads: Vec<String> = (0..f.expect.reads)
        .flat_map(|_| f.expect.requests.iter().cloned())
        .collect();
    check_reads(&reads, &plan_reads, "plan run", &mut fail);
    if let Some(w) = reads.iter().find(|r| r.method != "GET") {
        fail.push(format!("plan run wrote: {} {}", w.method, w.target));
    }
    match (&planned, &f.expect.error, &f.expect.plan) {
        (Err(e), Some(want), _) => {
            if !e.to_string().contains(want.as_str()) {
                fail.push(format!("plan run error:\n     got {e}\n    want …{want}…"));
            }
        }
        (Err(e), None, _) => fail.push(format!("plan run failed: {e}")),
        // The listing check failed: adds only, every removal held.
        (Ok(o), Some(want), _)
            if o.plan
                .partial
                .as_ref()
                .is_some_and(|p| p.reason.contains(want.as_str())) =>
        {
            if let Some(c) = o.plan.changes.iter().find(|c| c.action.is_removal()) {
                fail.push(format!("adds-only plan removes: {}", change_line(c)));
            }
        }
        (Ok(o), Some(want), _) => fail.push(format!(
            "plan run succeeded ({:?}), expected an error with `{want}`",
            o.plan.changes.iter().map(change_line).collect::<Vec<_>>()
        )),
        (Ok(o), None, Some(want)) => check_plan(o, want, &mut fail),
        (Ok(_), None, None) => fail.push("the fixture expects neither a plan nor an error".into()),
    }

    // Apply mode: the same reads, then the fixture's writes in order.
    if let Some(want) = &f.expect.apply {
        let applied = reconcile(&api, &source, &opts(Mode::Apply)).await;
        let (requests, problems, used) = server.take();
        fail.extend(problems.into_iter().map(|p| format!("apply run: {p}")));
        let (reads, writes): (Vec<Recorded>, Vec<Recorded>) =
            requests.into_iter().partition(|r| r.method == "GET");
        let apply_reads: Vec<String> = plan_reads
            .iter()
            .chain(&f.expect.apply_reads)
            .cloned()
            .collect();
        check_reads(&reads, &apply_reads, "apply run", &mut fail);
        if used != f.writes.len() || writes.len() != f.writes.len() {
            fail.push(format!(
                "apply run: {} write(s) sent, {used} answered, the fixture has {}: {:?}",
                writes.len(),
                f.writes.len(),
                writes
                    .iter()
                    .map(|w| format!("{} {} {:?}", w.method, w.target, w.body))
                    .collect::<Vec<_>>()
            ));
        }
        match (&applied, &want.error) {
            (Err(e), Some(w)) => {
                if !e.to_string().contains(w.as_str()) {
                    fail.push(format!("apply run error:\n     got {e}\n    want …{w}…"));
                }
                if !writes.is_empty() {
                    fail.push("apply run failed, yet wrote".into());
                }
            }
            (Err(e), None) => fail.push(format!("apply run failed: {e}")),
            (Ok(o), Some(w))
                if o.plan
                    .partial
                    .as_ref()
                    .is_some_and(|p| p.reason.contains(w.as_str())) =>
            {
                if !writes.is_empty() {
                    fail.push(
                        "apply run: an incomplete listing under a seat cap, yet wrote".into(),
                    );
                }
            }
            (Ok(_), Some(w)) => fail.push(format!("apply run succeeded, expected `{w}`")),
            (Ok(o), None) => {
                if let Some(s) = &want.status
                    && &status_label(o) != s
                {
                    fail.push(format!("apply status {} not {s}", status_label(o)));
                }
                let got: Vec<(String, String)> = o
                    .results
                    .iter()
                    .map(|r| {
                        (
                            format!("{} {} {}", r.action.as_str(), r.name, r.result),
                            r.message.clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                let matches = got.len() == want.results.len()
                    && got.iter().zip(&want.results).all(|((line, msg), w)| {
                        let (head, part) = w.split_once(" ~ ").unwrap_or((w, ""));
                        line == head && msg.contains(part)
                    });
                if !matches {
                    fail.push(format!(
                        "apply results:\n     got {got:#?}\n    want {:#?}",
                        want.results
                    ));
                }
            }
        }
    } else if !f.writes.is_empty() {
        fail.push("the fixture has write answers but no `apply` expectation".into());
    }
    fail.into_iter().map(|m| format!("{name}: {m}")).collect()
}

/// Every fixture cites at least one sentence; a quote from an OpenAPI
/// description appears verbatim in the operation it names.
fn check_cites(f: &Fixture, fail: &mut Vec<String>) {
    if f.cites.is_empty() || f.about.trim().is_empty() {
        fail.push("a fixture needs `about` and at least one cite".into());
    }
    for c in &f.cites {
        match c.source.as_str() {
            "ghec" | "api.github.com" => {
                let Some((method, path)) = c.operation.as_deref().and_then(|o| o.split_once(' '))
                else {
                    fail.push(format!("cite of {} without `METHOD /path`", c.source));
                    continue;
                };
                let Some(op) = schemas().op(&c.source, method, path) else {
                    fail.push(format!("{} has no operation {method} {path}", c.source));
                    continue;
                };
                if !words(&strings(op)).contains(&words(&c.quote)) {
                    fail.push(format!(
                        "{} {method} {path} does not say: {}",
                        c.source, c.quote
                    ));
                }
            }
            url if url.starts_with("https://docs.github.com/") => {}
            other => fail.push(format!(
                "cite source `{other}`: ghec, api.github.com or a docs URL"
            )),
        }
    }
}

/// Every string in a JSON value, one per line.
fn strings(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(strings).collect::<Vec<_>>().join("\n"),
        Value::Object(m) => m.values().map(strings).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

/// Whitespace collapsed: descriptions wrap sentences across lines.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/docs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_from_githubs_words() {
    let only = std::env::var("SEATKEEPER_DOCS_FIXTURE").ok();
    let mut failures = Vec::new();
    let mut ran: Vec<String> = Vec::new();
    for file in fixture_files() {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("fixture");
        let fixture: Fixture = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{name}: not a fixture: {e}"));
                continue;
            }
        };
        ran.push(name.clone());
        let run = tokio::time::timeout(Duration::from_secs(30), run(&name, fixture));
        match run.await {
            Ok(f) => failures.extend(f),
            Err(_) => failures.push(format!("{name}: did not finish in 30 s")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the fixtures failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if only.is_none() {
        // Every fixture by name: one that is renamed, deleted or stops
        // parsing is noticed here, not lost in a count.
        assert_eq!(ran, FIXTURES, "the fixtures that ran");
    }
}

/// Every fixture in `tests/fixtures/docs/`, sorted: adding or removing one
/// is a change to this list too.
const FIXTURES: [&str; 21] = [
    "churn-empty-last-page",
    "churn-link-last",
    "churn-net-zero",
    "churn-short-page-without-last",
    "churn-short-page",
    "churn-total-seats",
    "enterprise-422-access-setting",
    "enterprise-422-suggestions-policy",
    "enterprise-ent-prefix",
    "enterprise-extra-page",
    "enterprise-idle-last-authenticated",
    "enterprise-keeps-seat-via",
    "enterprise-link-without-last",
    "enterprise-org-granted",
    "enterprise-overlapping-grants",
    "enterprise-pending-max-seats",
    "enterprise-team-type",
    "org-enterprise-team-grant",
    "org-pages",
    "org-pending-restore",
    "org-single-page",
];

/// The fixture server is a second model of GitHub only while it shares no
/// code with the simulator: this file's code (comments aside) names neither
/// `seatkeeper::simulator` (however imported) nor the test support module
/// (which wraps the simulator), nor anything through `crate::`/`super::`.
#[test]
fn the_fixture_server_shares_no_code_with_the_simulator() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/docs_fixtures.rs");
    let source = std::fs::read_to_string(&path).expect("tests/it/docs_fixtures.rs");
    let offending = uses_of_the_simulator(&source);
    assert!(
        offending.is_empty(),
        "{} uses the simulator's code:\n{}",
        path.display(),
        offending.join("\n")
    );
    // The check itself can fail, on every way of reaching the simulator.
    for sneaky in [
        "use seatkeeper::simulator::Simulator;",
        "use seatkeeper::{plan::Change, simulator::SimState};",
        "let s = seatkeeper :: simulator :: demo_state();",
        "use crate::support::sim_options;",
        "let x = super::support::TOKEN;",
        "use seatkeeper as sk; let s = sk::simulator::demo_state();",
        "use seatkeeper::{simulator};",
        "use seatkeeper::{ plan , simulator as s };",
    ] {
        assert!(
            !uses_of_the_simulator(sneaky).is_empty(),
            "not caught: {sneaky}"
        );
    }
    assert!(
        uses_of_the_simulator(
            "// the simulator is not used here\nlet a = '\"'; let b = \"simulator\";"
        )
        .is_empty()
    );
    assert!(!uses_of_the_simulator("let q = '\"'; use seatkeeper::simulator;").is_empty());
}

/// Lines of `source` whose code (string and char literals and comments left
/// out) names the simulator or the support module, or reaches out through
/// `crate`/`super`: each as a whole identifier, however spaced or grouped.
fn uses_of_the_simulator(source: &str) -> Vec<String> {
    const BANNED: [&str; 4] = ["simulator", "support", "crate", "super"];
    // `word` as a whole identifier (a path segment), not inside a longer one.
    let names = |code: &str, word: &str| {
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        code.match_indices(word).any(|(i, _)| {
            !ident(code[..i].chars().next_back()) && !ident(code[i + word.len()..].chars().next())
        })
    };
    let mut out = Vec::new();
    let mut in_string = false;
    let mut in_block_comment = false;
    for (n, line) in source.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let at = |i: usize| chars.get(i).copied();
        let mut code = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if in_block_comment {
                if c == '*' && at(i) == Some('/') {
                    i += 1;
                    in_block_comment = false;
                }
            } else if in_string {
                match c {
                    '\\' => i += 1,
                    '"' => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '\'' && at(i) == Some('\\') {
                // '\n', '\'', '\\': skip to the closing quote.
                i += 2;
                while at(i).is_some_and(|c| c != '\'') {
                    i += 1;
                }
                i += 1;
            } else if c == '\'' && at(i + 1) == Some('\'') {
                i += 2;
            } else if c == '/' && at(i) == Some('/') {
                break;
            } else if c == '/' && at(i) == Some('*') {
                i += 1;
                in_block_comment = true;
            } else {
                code.push(c);
            }
        }
        let code = code.to_lowercase();
        if BANNED.iter().any(|b| names(&code, b)) {
            out.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    out
}

/// The harness can fail: a fixture whose expectation is wrong is reported,
/// a body that breaks the schema is reported, and a quote the description
/// does not contain is reported.
#[tokio::test]
async fn the_harness_catches_wrong_expectations() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs/org-single-page.json"),
    )
    .expect("fixture");
    let mut f: Fixture = serde_json::from_str(&text).expect("fixture");
    if let Some(p) = f.expect.plan.as_mut() {
        p.seats_after += 1;
    }
    f.cites.push(Cite {
        source: "ghec".into(),
        operation: Some("GET /enterprises/{enterprise}/copilot/billing/seats".into()),
        quote: "Seats are free.".into(),
    });
    f.listing.pages[0].seats[0].assigning_team = Some(CompactTeam {
        slug: "dev".into(),
        name: None,
        kind: None,
        object: None,
    });
    let failures = run("mutated", f).await;
    let has = |part: &str| failures.iter().any(|m| m.contains(part));
    assert!(has("seats before/after"), "{failures:#?}");
    assert!(has("does not say: Seats are free."), "{failures:#?}");
    assert!(has("/seats/0/assigning_team"), "{failures:#?}");
}
