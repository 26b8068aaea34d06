//! The self-serve portal: a "Request Copilot" page served by the controller
//! on its own listener (`seatkeeper run --portal-listen ADDR`,
//! `seatkeeper demo --serve`).
//!
//! A person signs in with GitHub (the web application flow of the App's
//! user tokens, PKCE, `state` bound to the browser: [`oauth`]); the portal
//! keeps only their login, in a signed cookie ([`session`]). The card
//! ([`card`]) shows their seat, how they hold it, plan, activity, expiry,
//! eligibility and any open request; its buttons go through exactly the
//! path of `seatkeeper request`/`release` ([`crate::selfserve::record`]:
//! validation, the operator's bounds, `policy.self_serve.mode`, a one-entry
//! commit or pull request) under the controller's identity, for the
//! signed-in login only, and then wake the controller so the seat follows
//! at once. Forms carry a per-session CSRF token ([`csrf`]); every answer
//! has a strict Content-Security-Policy; writes are rate-limited per person
//! and per address ([`limits`]). [`api`] is the same for developer portals
//! as JSON; [`admin`] is a view for an operator-named team.
//!
//! Split: [`routes`] are the page handlers, [`pages`] the HTML.

mod act;
pub mod admin;
pub mod api;
pub mod budget;
pub mod card;
pub mod csrf;
pub mod limits;
pub mod oauth;
pub mod pages;
mod routes;
pub mod session;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::github::GitHubError;
use crate::github::SeatApi;
use crate::github::repo::RepoApi;

pub use routes::router;

/// Options of the portal (`seatkeeper run`).
#[derive(Debug, Clone, clap::Args)]
pub struct PortalArgs {
    /// Serve the self-serve portal (Sign in with GitHub, Request Copilot) here; off unless given. It records requests in the first github: source.
    #[arg(
        long = "portal-listen",
        id = "portal_listen",
        value_name = "ADDR",
        help_heading = "Portal"
    )]
    pub listen: Option<SocketAddr>,
    /// The portal's address as browsers reach it (e.g. https://copilot.example.com): the sign-in callback is URL/callback and POSTs must come from this origin [default: http://ADDR of --portal-listen].
    #[arg(
        long = "portal-url",
        id = "portal_url",
        value_name = "URL",
        help_heading = "Portal"
    )]
    pub url: Option<String>,
    /// The GitHub App's client id, for Sign in with GitHub.
    #[arg(
        long = "portal-client-id",
        id = "portal_client_id",
        env = "SEATKEEPER_PORTAL_CLIENT_ID",
        value_name = "ID",
        help_heading = "Portal"
    )]
    pub client_id: Option<String>,
    /// File holding the GitHub App's client secret.
    #[arg(
        long = "portal-client-secret-file",
        id = "portal_client_secret_file",
        env = "SEATKEEPER_PORTAL_CLIENT_SECRET_FILE",
        value_name = "PATH",
        help_heading = "Portal"
    )]
    pub client_secret_file: Option<PathBuf>,
    /// File holding the key that signs session cookies (32 bytes or more; the same for every replica). Without it a random key is made at start, and everyone signs in again after a restart.
    #[arg(
        long = "portal-session-key-file",
        id = "portal_session_key_file",
        env = "SEATKEEPER_PORTAL_SESSION_KEY_FILE",
        value_name = "PATH",
        help_heading = "Portal"
    )]
    pub session_key_file: Option<PathBuf>,
    /// GitHub's web address, where people sign in (GHE.com: https://SUBDOMAIN.ghe.com).
    #[arg(
        long = "portal-github-url",
        id = "portal_github_url",
        default_value = "https://github.com",
        value_name = "URL",
        help_heading = "Portal"
    )]
    pub github_url: String,
    /// Members of this team (a slug of the org of seats.yaml) see the admin view: recent changes, pending requests, idle seats, drift.
    #[arg(
        long = "portal-admin-team",
        id = "portal_admin_team",
        value_name = "SLUG",
        help_heading = "Portal"
    )]
    pub admin_team: Option<String>,
    /// Hours a sign-in lasts.
    #[arg(long = "portal-session-hours", id = "portal_session_hours", default_value_t = 8, value_name = "HOURS", help_heading = "Portal",
          value_parser = clap::value_parser!(u64).range(1..=168))]
    pub session_hours: u64,
    /// Requests and releases one person may make per hour; one client address may make five times as many, and as many sign-ins.
    #[arg(long = "portal-rate-limit", id = "portal_rate_limit", default_value_t = 10, value_name = "N", help_heading = "Portal",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate_limit: u32,
}

impl Default for PortalArgs {
    fn default() -> Self {
        PortalArgs {
            listen: None,
            url: None,
            client_id: None,
            client_secret_file: None,
            session_key_file: None,
            github_url: "https://github.com".to_string(),
            admin_team: None,
            session_hours: 8,
            rate_limit: 10,
        }
    }
}

/// What the controller hands the portal.
pub struct Parts {
    /// Seat reads (the controller's client).
    pub seats: Arc<dyn SeatApi>,
    /// Repository reads and writes (the controller's client).
    pub repo: Arc<dyn RepoApi>,
    /// Who a person is.
    pub identity: Arc<dyn oauth::Identity>,
    /// Where seats.yaml is.
    pub target: card::Target,
    /// The operator's bounds (as `seatkeeper request` applies them).
    pub bounds: crate::reconcile::Bounds,
    /// AI-credit use for the card's budget row (`None`: not shown).
    pub usage: Option<Arc<dyn crate::github::usage::UsageApi>>,
    /// Wake the controller: a recorded change is applied at once.
    pub kick: Arc<dyn Fn() + Send + Sync>,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
}

/// A running portal's state.
pub struct Portal {
    parts: Parts,
    signer: session::Signer,
    origin: String,
    redirect_uri: String,
    client_id: String,
    github_web: String,
    secure_cookies: bool,
    session_secs: i64,
    admin_team: Option<String>,
    per_person: limits::RateLimiter,
    per_address: limits::RateLimiter,
    signins: limits::RateLimiter,
    used_states: limits::BoundedSet,
    signed_out: limits::BoundedSet,
    recent: admin::RecentLog,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("origin", &self.origin)
            .field("target", &self.parts.target)
            .finish_non_exhaustive()
    }
}

fn config_error(msg: impl Into<String>) -> crate::Error {
    GitHubError::Config(msg.into()).into()
}

fn read_secret(path: &std::path::Path, what: &str) -> crate::Result<Vec<u8>> {
    let bytes = crate::config::read_capped(path, crate::config::MAX_SECRET_BYTES)
        .map_err(|e| config_error(format!("{what}: cannot read {}: {e}", path.display())))?;
    Ok(bytes)
}

/// The origin (`scheme://host[:port]`) of a URL, lowercased, or `None`.
fn origin_of(url: &str) -> Option<(String, bool)> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = uri.authority()?.as_str().to_ascii_lowercase();
    if authority.contains('@') {
        return None;
    }
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Some((format!("{scheme}://{authority}"), loopback))
}

impl Portal {
    /// A portal from its options. `listen` is the bound address (for the
    /// default `--portal-url`).
    pub fn new(args: &PortalArgs, listen: SocketAddr, parts: Parts) -> crate::Result<Portal> {
        let url = args.url.clone().unwrap_or_else(|| {
            let host = if listen.ip().is_unspecified() {
                SocketAddr::new(std::net::IpAddr::from([127, 0, 0, 1]), listen.port())
            } else {
                listen
            };
            format!("http://{host}")
        });
        let (origin, loopback) = origin_of(&url).ok_or_else(|| {
            config_error(format!(
                "--portal-url {url}: not an http:// or https:// address"
            ))
        })?;
        if origin.starts_with("http://") && !loopback {
            return Err(config_error(format!(
                "--portal-url {url}: plain http:// is only for loopback; serve the portal behind TLS (an Ingress) and give its https:// address"
            )));
        }
        let signer = match &args.session_key_file {
            Some(p) => {
                let key = read_secret(p, "--portal-session-key-file")?;
                let key = key.trim_ascii().to_vec();
                if key.len() < session::MIN_KEY_BYTES {
                    return Err(config_error(format!(
                        "--portal-session-key-file {}: {} bytes; the key needs at least {} (e.g. `head -c 32 /dev/urandom | base64`)",
                        p.display(),
                        key.len(),
                        session::MIN_KEY_BYTES
                    )));
                }
                session::Signer::new(key)
            }
            None => {
                tracing::warn!(
                    "portal: no --portal-session-key-file: sessions are signed with a random key and end when this process does"
                );
                session::Signer::random()
            }
        };
        let client_id = args.client_id.clone().filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            config_error("--portal-listen needs --portal-client-id (the GitHub App's client id) for Sign in with GitHub")
        })?;
        let rate = args.rate_limit.max(1);
        let hour = Duration::from_secs(3600);
        Ok(Portal {
            parts,
            signer,
            redirect_uri: format!("{origin}/callback"),
            origin,
            client_id,
            github_web: args.github_url.trim_end_matches('/').to_string(),
            secure_cookies: !loopback,
            session_secs: (args.session_hours.clamp(1, 168) * 3600) as i64,
            admin_team: args.admin_team.clone(),
            per_person: limits::RateLimiter::new(rate, hour),
            per_address: limits::RateLimiter::new(rate.saturating_mul(5), hour),
            signins: limits::RateLimiter::new(rate.saturating_mul(5), hour),
            used_states: limits::BoundedSet::new(16_384),
            signed_out: limits::BoundedSet::new(16_384),
            recent: admin::RecentLog::default(),
        })
    }

    /// The client secret from `--portal-client-secret-file`.
    pub fn client_secret(args: &PortalArgs) -> crate::Result<SecretString> {
        let path = args.client_secret_file.as_ref().ok_or_else(|| {
            config_error("--portal-listen needs --portal-client-secret-file (the GitHub App's client secret) for Sign in with GitHub")
        })?;
        let bytes = read_secret(path, "--portal-client-secret-file")?;
        let text = String::from_utf8(bytes)
            .map_err(|_| config_error("--portal-client-secret-file is not UTF-8"))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(config_error("--portal-client-secret-file is empty"));
        }
        Ok(SecretString::from(text.to_string()))
    }

    /// The portal's origin, e.g. `http://127.0.0.1:9091`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// The source the portal records requests in: the first `github:` source
/// (its index among the controller's sources), with its target.
pub fn portal_source(sources: &[crate::source::SourceSpec]) -> Option<(usize, card::Target)> {
    sources.iter().enumerate().find_map(|(i, s)| match s {
        crate::source::SourceSpec::GitHub {
            owner,
            repo,
            path,
            reference,
        } => Some((
            i,
            card::Target {
                repo: crate::github::repo::RepoRef {
                    owner: owner.clone(),
                    name: repo.clone(),
                },
                path: path.trim_matches('/').to_string(),
                git_ref: reference.clone(),
            },
        )),
        _ => None,
    })
}

/// What `seatkeeper run` lends the portal.
pub struct Controller<'a> {
    /// Its sources (the portal takes the first `github:` one).
    pub sources: &'a [crate::source::SourceSpec],
    /// Its GitHub client.
    pub client: crate::github::client::GitHubClient,
    /// The REST API root (`--github-url`), for `GET /user`.
    pub api_url: &'a str,
    /// The operator's bounds.
    pub bounds: crate::reconcile::Bounds,
    /// `--http-body-timeout`.
    pub body_timeout: Duration,
}

/// The portal of `seatkeeper run`: over the controller's client, for the
/// first `github:` source; `kick(index)` wakes that source's worker.
/// Checked before anything is served: a missing client id, secret or
/// `github:` source fails start-up with what to do.
pub fn for_controller(
    args: &PortalArgs,
    bound: SocketAddr,
    controller: Controller<'_>,
    kick: impl Fn(usize) + Send + Sync + 'static,
) -> crate::Result<axum::Router> {
    let Controller {
        sources,
        client,
        api_url,
        bounds,
        body_timeout,
    } = controller;
    let (index, target) = portal_source(sources).ok_or_else(|| {
        config_error(
            "--portal-listen needs a github:OWNER/REPO/PATH@REF source: the portal records each request as a commit there",
        )
    })?;
    let secret = Portal::client_secret(args)?;
    let client_id = args.client_id.clone().unwrap_or_default();
    let identity = oauth::GitHubIdentity::new(
        &args.github_url,
        api_url,
        &client_id,
        secret,
        Duration::from_secs(10),
    )
    .map_err(|e| config_error(format!("portal: {e}")))?;
    let portal = Portal::new(
        args,
        bound,
        Parts {
            seats: Arc::new(client.clone()),
            usage: Some(Arc::new(client.clone())),
            repo: Arc::new(client),
            identity: Arc::new(identity),
            target,
            bounds,
            kick: Arc::new(move || kick(index)),
            body_timeout,
        },
    )?;
    tracing::info!(url = %portal.origin(), "portal: serving");
    Ok(router(Arc::new(portal)))
}
