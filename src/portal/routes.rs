//! The portal's HTTP routes: pages, sign-in, the two buttons and the
//! budget form ([`super::budget`]), sign-out, the admin view, the stylesheet,
//! and (from [`super::api`]) the JSON API.
//! Every answer gets the security headers of [`secure_headers`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;

use super::Portal;
use super::act::{perform, status_of, what_to_do};
use super::pages::{self, Notice, Who};
use super::session::{
    CookieProblem, PENDING_COOKIE, PENDING_TTL_SECS, Pending, SESSION_COOKIE, Session, cookie,
    random_token, set_cookie,
};
use crate::http_guard::Peer;
use crate::selfserve::Kind;

/// Largest form or JSON body accepted (a note is 200 characters).
pub(crate) const MAX_BODY: usize = 8 * 1024;

const PURPOSE_SESSION: &str = "session";
const PURPOSE_PENDING: &str = "pending";

/// The portal's router.
pub fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/signin", get(signin))
        .route("/callback", get(callback))
        .route("/request", post(|s, r| act(s, r, Kind::Request)))
        .route("/release", post(|s, r| act(s, r, Kind::Release)))
        .route("/budget", post(super::budget::ask))
        .route("/signout", post(signout))
        .route("/admin", get(admin))
        .route("/static/portal.css", get(stylesheet))
        .merge(super::api::router())
        .fallback(not_found)
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(portal)
}

/// Content-Security-Policy: nothing but our own stylesheet and images, no
/// script at all, forms only to ourselves, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn page(status: StatusCode, m: Markup) -> Response {
    let mut r = (status, m.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn with_cookie(mut r: Response, value: String) -> Response {
    if let Ok(v) = HeaderValue::try_from(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::try_from(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn peer_ip(req_ext: &http::Extensions) -> IpAddr {
    req_ext
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip())
}

impl Portal {
    /// The session of a request, when its cookie is valid.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Result<Session, CookieProblem> {
        let raw = cookie(headers, SESSION_COOKIE).ok_or(CookieProblem::Missing)?;
        let s: Session = self.signer.open(PURPOSE_SESSION, raw)?;
        if s.exp <= Utc::now().timestamp() {
            return Err(CookieProblem::Expired);
        }
        if self.signed_out.contains(&s.sid) {
            return Err(CookieProblem::SignedOut);
        }
        Ok(s)
    }

    fn clear_session(&self) -> String {
        set_cookie(SESSION_COOKIE, "", 0, self.secure_cookies)
    }

    /// Count a write by `login` from `ip`; `Err` is the 429 answer's
    /// seconds to wait.
    pub(crate) fn rate(&self, login: &str, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        self.per_address
            .hit(&ip.to_string(), now)
            .and_then(|()| self.per_person.hit(&login.to_ascii_lowercase(), now))
            .map_err(|d| d.as_secs().max(1))
    }

    /// Is `login` in the admin team?
    pub(crate) async fn is_admin(&self, login: &str) -> bool {
        let Some(team) = &self.admin_team else {
            return false;
        };
        let scope = match super::card::read_file(&*self.parts.repo, &self.parts.target).await {
            Ok((_, f)) => f.scope,
            Err(_) => return false,
        };
        matches!(
            self.parts.seats.in_team(&scope, team, login).await,
            Ok(Some(true))
        )
    }
}

/// What a bad cookie means, for a person.
pub(crate) fn cookie_notice(p: CookieProblem) -> &'static str {
    match p {
        CookieProblem::Missing => "You are not signed in.",
        CookieProblem::Tampered => {
            "Your sign-in could not be verified (the cookie was changed, or the portal's key changed). Sign in again."
        }
        CookieProblem::Expired => "Your session expired. Sign in again.",
        CookieProblem::SignedOut => "You signed out of this session. Sign in again.",
    }
}

fn signed_out_page(status: StatusCode, notice: Option<&str>, clear: Option<String>) -> Response {
    let n = notice.map(|t| Notice {
        bad: true,
        text: t.to_string(),
    });
    let r = page(status, pages::signed_out(n.as_ref()));
    match clear {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

#[derive(Debug, Deserialize)]
struct IndexQuery {
    done: Option<String>,
}

async fn index(
    State(p): State<Arc<Portal>>,
    Query(q): Query<IndexQuery>,
    headers: HeaderMap,
) -> Response {
    let s = match p.session(&headers) {
        Ok(s) => s,
        Err(CookieProblem::Missing) => return signed_out_page(StatusCode::OK, None, None),
        Err(e) => {
            return signed_out_page(
                StatusCode::UNAUTHORIZED,
                Some(cookie_notice(e)),
                Some(p.clear_session()),
            );
        }
    };
    let who = Who {
        login: &s.login,
        csrf: &s.csrf,
    };
    let today = Utc::now().date_naive();
    let (card, admin) = tokio::join!(
        super::card::read(
            &*p.parts.seats,
            &*p.parts.repo,
            p.parts.usage.as_deref(),
            &p.parts.target,
            &s.login,
            today
        ),
        p.is_admin(&s.login)
    );
    match card {
        Ok(card) => {
            let notice = match q.done.as_deref() {
                Some("request") => Some("Your request is recorded as a commit to seats.yaml."),
                Some("request_pr") => Some("Your request is open as a pull request."),
                Some("release") => Some("Your seat is given back: the commit is recorded."),
                Some("budget") => Some(
                    "Your budget request is recorded as a commit to seats.yaml: GitHub's budget follows shortly.",
                ),
                Some("budget_pr") => Some("Your budget request is open as a pull request."),
                Some("nothing") => Some("Nothing to change."),
                _ => None,
            }
            .map(|t| Notice {
                bad: false,
                text: t.to_string(),
            });
            page(
                StatusCode::OK,
                pages::card(&card, who, notice.as_ref(), admin),
            )
        }
        Err(e) => {
            tracing::warn!(login = %s.login, error = %e, "portal: cannot read the card");
            page(
                StatusCode::BAD_GATEWAY,
                pages::problem(
                    "GitHub did not answer",
                    "Your seat could not be read from GitHub.",
                    "Try again in a minute; if it persists, tell the Copilot administrators.",
                    Some(who),
                ),
            )
        }
    }
}

pub(crate) fn too_many(secs: u64, who: Option<Who<'_>>) -> Response {
    let mut r = page(
        StatusCode::TOO_MANY_REQUESTS,
        pages::problem(
            "Too many requests",
            "You (or your network) made too many requests in the last hour.",
            &format!("Wait {} minutes and try again.", secs.div_ceil(60)),
            who,
        ),
    );
    if let Ok(v) = HeaderValue::try_from(secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn signin(State(p): State<Arc<Portal>>, req: Request) -> Response {
    let ip = peer_ip(req.extensions());
    if let Err(d) = p.signins.hit(&ip.to_string(), Instant::now()) {
        return too_many(d.as_secs().max(1), None);
    }
    let (verifier, challenge) = super::oauth::pkce();
    let pending = Pending {
        state: random_token(),
        verifier,
        exp: Utc::now().timestamp() + PENDING_TTL_SECS,
    };
    let url = super::oauth::authorize_url(
        &p.github_web,
        &p.client_id,
        &p.redirect_uri,
        &pending.state,
        &challenge,
    );
    let sealed = p.signer.seal(PURPOSE_PENDING, &pending);
    with_cookie(
        see_other(&url),
        set_cookie(PENDING_COOKIE, &sealed, PENDING_TTL_SECS, p.secure_cookies),
    )
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn signin_problem(p: &Portal, status: StatusCode, what: &str, todo: &str) -> Response {
    with_cookie(
        page(status, pages::problem("Sign-in failed", what, todo, None)),
        set_cookie(PENDING_COOKIE, "", 0, p.secure_cookies),
    )
}

async fn callback(
    State(p): State<Arc<Portal>>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    const AGAIN: &str = "Start again from the portal's Sign in button.";
    if q.error.is_some() {
        return signin_problem(
            &p,
            StatusCode::FORBIDDEN,
            "GitHub did not sign you in (the authorization was declined).",
            AGAIN,
        );
    }
    let pending: Option<Pending> = cookie(&headers, PENDING_COOKIE)
        .and_then(|raw| p.signer.open(PURPOSE_PENDING, raw).ok())
        .filter(|pd: &Pending| pd.exp > Utc::now().timestamp());
    let given = q.state.as_deref().unwrap_or("");
    let Some(pending) = pending.filter(|pd| super::csrf::token_matches(&pd.state, Some(given)))
    else {
        return signin_problem(
            &p,
            StatusCode::BAD_REQUEST,
            "This sign-in did not start in this browser, or took longer than ten minutes (the state does not match).",
            AGAIN,
        );
    };
    // Each state signs in once, even if its cookie is replayed.
    if !p.used_states.insert(&pending.state) {
        return signin_problem(
            &p,
            StatusCode::BAD_REQUEST,
            "This sign-in link was used already.",
            AGAIN,
        );
    }
    let Some(code) = q
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 512)
    else {
        return signin_problem(
            &p,
            StatusCode::BAD_REQUEST,
            "GitHub sent no sign-in code.",
            AGAIN,
        );
    };
    use super::oauth::SignInError;
    match p
        .parts
        .identity
        .exchange(code, &pending.verifier, &p.redirect_uri)
        .await
    {
        Ok(login) => {
            let s = Session::new(&login, Utc::now().timestamp(), p.session_secs);
            tracing::info!(login = %login, "portal: signed in");
            let sealed = p.signer.seal(PURPOSE_SESSION, &s);
            let r = with_cookie(
                see_other("/"),
                set_cookie(SESSION_COOKIE, &sealed, p.session_secs, p.secure_cookies),
            );
            with_cookie(r, set_cookie(PENDING_COOKIE, "", 0, p.secure_cookies))
        }
        Err(SignInError::BadCode(_)) => signin_problem(
            &p,
            StatusCode::BAD_REQUEST,
            "GitHub did not accept the sign-in code: it was used already or has expired.",
            AGAIN,
        ),
        Err(e @ (SignInError::Misconfigured(_) | SignInError::BadToken)) => {
            tracing::error!(error = %e, "portal: sign-in refused by GitHub");
            signin_problem(
                &p,
                StatusCode::BAD_GATEWAY,
                "GitHub refused the portal's sign-in settings.",
                "Tell the Copilot administrators (the portal's client id, secret or callback URL is wrong).",
            )
        }
        Err(e @ SignInError::Unreachable(_)) => {
            tracing::warn!(error = %e, "portal: GitHub unreachable during sign-in");
            signin_problem(
                &p,
                StatusCode::SERVICE_UNAVAILABLE,
                "GitHub could not be reached to sign you in.",
                "Try again in a minute.",
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ActForm {
    csrf: Option<String>,
    note: Option<String>,
}

/// The session, origin and CSRF checks of a form POST, then its body.
/// A request body within [`MAX_BODY`] and the listener's body timeout.
pub(crate) async fn capped_body(
    p: &Portal,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, crate::http_guard::BodyError> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    crate::http_guard::read_body(Body::new(body), length, MAX_BODY, p.parts.body_timeout).await
}

pub(crate) async fn checked_form<T: serde::de::DeserializeOwned + Default>(
    p: &Portal,
    req: Request,
    csrf_of: impl Fn(&T) -> Option<&str>,
) -> Result<(Session, T, IpAddr), Response> {
    let ip = peer_ip(req.extensions());
    let (parts, body) = req.into_parts();
    let s = p.session(&parts.headers).map_err(|e| {
        signed_out_page(
            StatusCode::UNAUTHORIZED,
            Some(cookie_notice(e)),
            (e != CookieProblem::Missing).then(|| p.clear_session()),
        )
    })?;
    let who = Who {
        login: &s.login,
        csrf: &s.csrf,
    };
    let forbidden = |what: &str| {
        page(
            StatusCode::FORBIDDEN,
            pages::problem(
                "Request refused",
                what,
                "Nothing was changed. Go back to the portal, reload it, and use its button.",
                Some(who),
            ),
        )
    };
    if !super::csrf::origin_ok(&parts.headers, &p.origin) {
        return Err(forbidden(
            "This form was sent from another site (its Origin is not the portal's).",
        ));
    }
    let bytes = match capped_body(p, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => {
            return Err(page(
                e.status(),
                pages::problem(
                    "Request refused",
                    "The form was too large or too slow to arrive.",
                    "Nothing was changed; try again.",
                    Some(who),
                ),
            ));
        }
    };
    let form: T = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if !super::csrf::token_matches(&s.csrf, csrf_of(&form)) {
        return Err(forbidden(
            "This form did not carry this session's security token (it came from an old page, another session, or another site).",
        ));
    }
    Ok((s, form, ip))
}

async fn act(State(p): State<Arc<Portal>>, req: Request, kind: Kind) -> Response {
    let (s, form, ip) = match checked_form::<ActForm>(&p, req, |f| f.csrf.as_deref()).await {
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
    let note = match kind {
        Kind::Request => form.note,
        Kind::Release => None,
    };
    let report = perform(&p, &s.login, kind, note, None).await;
    let status = status_of(&report);
    if status != StatusCode::OK {
        let title = match kind {
            Kind::Request => "Your request was not recorded",
            Kind::Release => "Your seat was not given back",
        };
        return page(
            status,
            pages::problem(title, &report.message, what_to_do(&report), Some(who)),
        );
    }
    if kind == Kind::Request && report.outcome == "granted" {
        super::act::settle(&p, &s.login).await;
    }
    let done = match (kind, report.outcome) {
        (_, "already_listed" | "not_listed") => "nothing",
        (Kind::Request, "pull_request") => "request_pr",
        (Kind::Request, _) => "request",
        (Kind::Release, _) => "release",
    };
    see_other(&format!("/?done={done}"))
}

#[derive(Debug, Default, Deserialize)]
struct SignOutForm {
    csrf: Option<String>,
}

async fn signout(State(p): State<Arc<Portal>>, req: Request) -> Response {
    let (s, _, _) = match checked_form::<SignOutForm>(&p, req, |f| f.csrf.as_deref()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    p.signed_out.insert(&s.sid);
    tracing::info!(login = %s.login, "portal: signed out");
    with_cookie(see_other("/"), p.clear_session())
}

async fn admin(State(p): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let s = match p.session(&headers) {
        Ok(s) => s,
        Err(e) => {
            return signed_out_page(StatusCode::UNAUTHORIZED, Some(cookie_notice(e)), None);
        }
    };
    let who = Who {
        login: &s.login,
        csrf: &s.csrf,
    };
    if !p.is_admin(&s.login).await {
        return page(
            StatusCode::FORBIDDEN,
            pages::problem(
                "Admins only",
                "The admin view is for members of the team the operators named.",
                "Ask the Copilot administrators if you need it.",
                Some(who),
            ),
        );
    }
    match super::admin::read(&*p.parts.seats, &*p.parts.repo, &p.parts.target, &p.recent).await {
        Ok(view) => page(StatusCode::OK, pages::admin(&view, who)),
        Err(e) => {
            tracing::warn!(error = %e, "portal: cannot read the admin view");
            page(
                StatusCode::BAD_GATEWAY,
                pages::problem(
                    "GitHub did not answer",
                    "The admin view could not be read.",
                    "Try again in a minute.",
                    Some(who),
                ),
            )
        }
    }
}

async fn stylesheet() -> Response {
    let mut r = include_str!("static/portal.css").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        pages::problem(
            "Not found",
            "There is no such page.",
            "The portal has one page.",
            None,
        ),
    )
}
