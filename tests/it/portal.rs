//! The self-serve portal over real HTTP: the portal's router served by the
//! controller's listener code (`http_guard::serve`) on 127.0.0.1, signing in
//! through the simulator's web application flow, writing through the
//! simulated repository. Every bad input of issue 20 answers a clear page
//! with its status code, and nothing is committed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use seatkeeper::portal::card::Target;
use seatkeeper::portal::oauth::GitHubIdentity;
use seatkeeper::portal::session::{Session, Signer};
use seatkeeper::portal::{Parts, Portal, PortalArgs};
use seatkeeper::simulator::{DEMO_REPO, Simulator, demo_state};

/// A portal in front of a simulator.
struct Harness {
    sim: Simulator,
    addr: SocketAddr,
    origin: String,
    kicks: Arc<AtomicUsize>,
    key: Vec<u8>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// One answer: status, headers (names lowercase, repeated ones kept), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Split `http://host:port/path?query` into the address and the path.
fn split_url(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (host.parse().unwrap(), path.to_string())
}

fn query_pairs(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(q).unwrap()
}

impl Harness {
    async fn start(tune: impl FnOnce(&mut PortalArgs, &Simulator)) -> Harness {
        let sim = Simulator::start(demo_state(), crate::support::sim_options())
            .await
            .unwrap();
        Harness::over(sim, tune).await
    }

    async fn over(sim: Simulator, tune: impl FnOnce(&mut PortalArgs, &Simulator)) -> Harness {
        Harness::bounded(sim, Default::default(), tune).await
    }

    /// A portal with the operator's `bounds` (as `seatkeeper run` passes them).
    async fn bounded(
        sim: Simulator,
        bounds: seatkeeper::reconcile::Bounds,
        tune: impl FnOnce(&mut PortalArgs, &Simulator),
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let key = b"0123456789abcdef0123456789abcdef-test".to_vec();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, &key).unwrap();
        let (client_id, secret) = sim.oauth().client();
        let mut args = PortalArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            client_id: Some(client_id.to_string()),
            session_key_file: Some(key_file),
            github_url: sim.url(),
            admin_team: Some("platform".to_string()),
            ..PortalArgs::default()
        };
        tune(&mut args, &sim);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = crate::support::sim_client(&sim).await;
        let identity = GitHubIdentity::new(
            &args.github_url,
            &sim.url(),
            client_id,
            secret.to_string().into(),
            Duration::from_secs(5),
        )
        .unwrap();
        let kicks = Arc::new(AtomicUsize::new(0));
        let counted = kicks.clone();
        let (owner, name) = DEMO_REPO.split_once('/').unwrap();
        let repo_ref = seatkeeper::github::repo::RepoRef {
            owner: owner.to_string(),
            name: name.to_string(),
        };
        // Woken, the "controller" applies the file on main at once, as
        // `seatkeeper run` does.
        let controller = client.clone();
        let kick = move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let (c, repo) = (controller.clone(), repo_ref.clone());
            tokio::spawn(async move {
                use seatkeeper::github::repo::RepoApi as _;
                let file = c
                    .read_file(&repo, "seats.yaml", "main")
                    .await
                    .unwrap()
                    .unwrap();
                let loaded =
                    seatkeeper::source::Loaded::parse("seats.yaml", &file.bytes, None).unwrap();
                let opts = seatkeeper::reconcile::Options {
                    mode: seatkeeper::reconcile::Mode::Apply,
                    ..Default::default()
                };
                seatkeeper::reconcile::reconcile(&c, &loaded, &opts)
                    .await
                    .unwrap();
            });
        };
        let portal = Portal::new(
            &args,
            addr,
            Parts {
                seats: Arc::new(client.clone()),
                usage: Some(Arc::new(client.clone())),
                repo: Arc::new(client),
                identity: Arc::new(identity),
                target: Target {
                    repo: seatkeeper::github::repo::RepoRef {
                        owner: owner.to_string(),
                        name: name.to_string(),
                    },
                    path: "seats.yaml".to_string(),
                    git_ref: "main".to_string(),
                },
                bounds,
                kick: Arc::new(kick),
                body_timeout: Duration::from_secs(2),
            },
        )
        .unwrap();
        let origin = portal.origin().to_string();
        let app = seatkeeper::portal::router(Arc::new(portal));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = seatkeeper::http_guard::serve(
                listener,
                app,
                &seatkeeper::http_guard::HttpArgs::default(),
                async {
                    let _ = stopped.await;
                },
            )
            .await;
        });
        Harness {
            sim,
            addr,
            origin,
            kicks,
            key,
            _stop: stop,
        }
    }

    async fn get(&self, path: &str, cookie: &str) -> Answer {
        call(self.addr, "GET", path, &[("cookie", cookie)], "").await
    }

    /// A form POST as a browser on the portal's page sends it.
    async fn post(&self, path: &str, cookie: &str, form: &str) -> Answer {
        call(
            self.addr,
            "POST",
            path,
            &[
                ("cookie", cookie),
                ("origin", &self.origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form,
        )
        .await
    }

    /// Leave for GitHub: the authorize URL and the pending-sign-in cookie.
    async fn leave(&self) -> (String, String) {
        let r = self.get("/signin", "").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let pending = r
            .cookies()
            .into_iter()
            .find(|c| c.starts_with("seatkeeper-oauth="))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        (r.header("location").unwrap().to_string(), pending)
    }

    /// The simulated GitHub's consent form, submitted as `login`: the
    /// callback URL GitHub redirects to.
    async fn authorize(&self, authorize_url: &str, login: &str) -> String {
        let (sim_addr, path) = split_url(authorize_url);
        let page = call(sim_addr, "GET", &path, &[], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(r#"name="login""#), "{}", page.body);
        let mut form = query_pairs(authorize_url);
        form.insert("login".into(), login.into());
        let r = call(
            sim_addr,
            "POST",
            "/login/oauth/authorize",
            &[("content-type", "application/x-www-form-urlencoded")],
            &serde_urlencoded::to_string(&form).unwrap(),
        )
        .await;
        assert_eq!(r.status, 302, "{}", r.body);
        r.header("location").unwrap().to_string()
    }

    /// Come back to the portal's callback with `pending`.
    async fn come_back(&self, callback_url: &str, pending: &str) -> Answer {
        let (_, path) = split_url(callback_url);
        self.get(&path, pending).await
    }

    /// Sign in as `login`: the session cookie (`name=value`).
    async fn sign_in(&self, login: &str) -> String {
        let (url, pending) = self.leave().await;
        let back = self.authorize(&url, login).await;
        let r = self.come_back(&back, &pending).await;
        assert_eq!(r.status, 303, "{}", r.body);
        session_cookie(&r).expect("a session cookie")
    }

    fn head(&self) -> String {
        self.sim
            .state()
            .repo(DEMO_REPO)
            .unwrap()
            .head("main")
            .unwrap()
            .sha
            .clone()
    }

    fn file(&self) -> String {
        self.sim
            .state()
            .file(DEMO_REPO, "main", "seats.yaml")
            .unwrap()
            .to_string()
    }

    fn seal(&self, s: &Session) -> String {
        format!(
            "seatkeeper-session={}",
            Signer::new(self.key.clone()).seal("session", s)
        )
    }
}

fn session_cookie(r: &Answer) -> Option<String> {
    r.cookies()
        .into_iter()
        .find(|c| c.starts_with("seatkeeper-session=") && !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_string())
}

fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn lists(file: &str, login: &str) -> bool {
    file.lines().any(|l| {
        let l = l.trim_start_matches([' ', '-']).trim();
        let l = l.strip_prefix("login:").map_or(l, str::trim);
        l.split_whitespace().next() == Some(login)
    })
}

#[tokio::test]
async fn a_person_signs_in_requests_a_seat_and_gives_it_back() {
    let h = Harness::start(|_, _| {}).await;
    let signed_out = h.get("/", "").await;
    assert_eq!(signed_out.status, 200);
    assert!(signed_out.body.contains("Sign in with GitHub"));
    let csp = signed_out.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));

    // The authorize URL carries client_id, state, PKCE and a redirect_uri
    // on the portal.
    let (url, pending) = h.leave().await;
    let q = query_pairs(&url);
    assert_eq!(q["client_id"], seatkeeper::simulator::DEMO_CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{}/callback", h.origin));
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 32);
    let back = h.authorize(&url, "nadia").await;
    let r = h.come_back(&back, &pending).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let set = r
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("seatkeeper-session="))
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=28800")
    );
    assert!(!set.contains("Secure"), "loopback portal: no Secure: {set}");
    let cookie = session_cookie(&r).unwrap();
    // The session holds the login, never GitHub's token.
    assert!(!set.contains("ghu_"));

    let card = h.get("/", &cookie).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(
        card.body.contains("You have no Copilot seat"),
        "{}",
        card.body
    );
    assert!(card.body.contains("@nadia"));
    let csrf = csrf_of(&card.body);

    let before = h.file();
    let r = h
        .post(
            "/request",
            &cookie,
            &format!("csrf={csrf}&note=pairing+with+the+platform+team"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/?done=request"));
    assert_eq!(h.kicks.load(Ordering::SeqCst), 1, "the controller is woken");
    // One-entry commit: exactly the new entry's lines, naming the portal.
    let after = h.file();
    assert!(lists(&after, "nadia") && !lists(&before, "nadia"));
    let added: Vec<_> = after.lines().filter(|l| !before.contains(*l)).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    let head = h
        .sim
        .state()
        .repo(DEMO_REPO)
        .unwrap()
        .head("main")
        .unwrap()
        .clone();
    assert!(
        head.message
            .starts_with("seats.yaml: grant a Copilot seat to nadia")
    );
    assert!(
        head.message.contains("Requested-by: nadia"),
        "{}",
        head.message
    );
    assert!(
        head.message.contains(&format!(
            "Seatkeeper-Source: the seatkeeper portal ({})",
            h.origin
        )),
        "{}",
        head.message
    );

    // The woken controller applied it before the page was answered: the
    // card the browser is sent to says so.
    let card = h.get("/?done=request", &cookie).await;
    assert!(
        card.body.contains("You have a Copilot seat"),
        "{}",
        card.body
    );
    assert!(card.body.contains("assigned to you by name"));
    assert!(
        card.body.contains("pairing with the platform team")
            || card.body.contains("Give my seat back")
    );

    let r = h.post("/release", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!lists(&h.file(), "nadia"));
    let head = h
        .sim
        .state()
        .repo(DEMO_REPO)
        .unwrap()
        .head("main")
        .unwrap()
        .clone();
    assert!(
        head.message
            .starts_with("seats.yaml: release the Copilot seat of nadia")
    );

    // Sign-out ends the session even if the cookie is replayed.
    let r = h.post("/signout", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 303);
    let again = h.get("/", &cookie).await;
    assert_eq!(again.status, 401);
    assert!(again.body.contains("You signed out"), "{}", again.body);
}

#[tokio::test]
async fn a_forged_or_replayed_state_is_refused_and_signs_nobody_in() {
    let h = Harness::start(|_, _| {}).await;
    let (url, pending) = h.leave().await;
    let back = h.authorize(&url, "nadia").await;
    // Forged: the state of the callback is not the one this browser sent.
    let state = query_pairs(&back)["state"].clone();
    let forged = back.replace(&state, "forged-state");
    let r = h.come_back(&forged, &pending).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("did not start in this browser"),
        "{}",
        r.body
    );
    assert!(session_cookie(&r).is_none());
    // No pending cookie at all (a link sent to someone else).
    let r = h.come_back(&back, "").await;
    assert_eq!(r.status, 400);
    assert!(session_cookie(&r).is_none());
    // The genuine callback still works once ...
    let r = h.come_back(&back, &pending).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(session_cookie(&r).is_some());
    // ... and never twice, even with its cookie replayed: the portal
    // refuses before asking GitHub to redeem the code again.
    let exchanges = || {
        h.sim
            .requests()
            .iter()
            .filter(|r| r.path == "/login/oauth/access_token")
            .count()
    };
    assert_eq!(exchanges(), 1);
    let r = h.come_back(&back, &pending).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("This sign-in link was used already."),
        "{}",
        r.body
    );
    assert!(session_cookie(&r).is_none());
    assert_eq!(exchanges(), 1, "the replay never reached GitHub");
}

#[tokio::test]
async fn a_code_used_twice_or_expired_is_refused_by_github_and_the_portal() {
    let h = Harness::start(|_, _| {}).await;
    let (url, pending) = h.leave().await;
    let back = h.authorize(&url, "nadia").await;
    assert_eq!(h.come_back(&back, &pending).await.status, 303);
    // The same code on a fresh sign-in of this browser.
    let (url2, pending2) = h.leave().await;
    let code = query_pairs(&back)["code"].clone();
    let state2 = query_pairs(&url2)["state"].clone();
    let replay = format!(
        "{}/callback?code={code}&state={}",
        h.origin,
        seatkeeper::portal::oauth::encode(&state2)
    );
    let r = h.come_back(&replay, &pending2).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("used already or has expired"), "{}", r.body);
    assert!(session_cookie(&r).is_none());

    // GitHub's own answer to the reused code, as its docs give it.
    let (sim_addr, _) = split_url(&h.sim.url());
    let (id, secret) = h.sim.oauth().client();
    let form = format!("client_id={id}&client_secret={secret}&code={code}");
    let r = call(
        sim_addr,
        "POST",
        "/login/oauth/access_token",
        &[
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &form,
    )
    .await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "bad_verification_code");
    assert_eq!(
        v["error_description"],
        "The code passed is incorrect or expired."
    );

    // A client that redeems its own code twice, with the right verifier:
    // the first time a token, the second GitHub's bad_verification_code.
    let (verifier, challenge) = seatkeeper::portal::oauth::pkce();
    let form = format!(
        "client_id={id}&redirect_uri={}&state=s&code_challenge={challenge}&code_challenge_method=S256&login=nadia",
        seatkeeper::portal::oauth::encode(&format!("{}/callback", h.origin))
    );
    let r = call(
        sim_addr,
        "POST",
        "/login/oauth/authorize",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form,
    )
    .await;
    let own = query_pairs(r.header("location").unwrap())["code"].clone();
    let redeem =
        format!("client_id={id}&client_secret={secret}&code={own}&code_verifier={verifier}");
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = call(
            sim_addr,
            "POST",
            "/login/oauth/access_token",
            &[("accept", "application/json")],
            &redeem,
        )
        .await;
        answers.push(serde_json::from_str::<serde_json::Value>(&r.body).unwrap());
    }
    assert!(
        answers[0]["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ghu_"),
        "{}",
        answers[0]
    );
    assert_eq!(
        answers[1]["error"], "bad_verification_code",
        "{}",
        answers[1]
    );

    // An expired code.
    h.sim.oauth().set_code_ttl(Duration::ZERO);
    let (url, pending) = h.leave().await;
    let back = h.authorize(&url, "nadia").await;
    let r = h.come_back(&back, &pending).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(session_cookie(&r).is_none());
}

#[tokio::test]
async fn a_wrong_pkce_verifier_does_not_redeem_a_code() {
    let h = Harness::start(|_, _| {}).await;
    let (url, _) = h.leave().await;
    let back = h.authorize(&url, "nadia").await;
    let code = query_pairs(&back)["code"].clone();
    let (sim_addr, _) = split_url(&h.sim.url());
    let (id, secret) = h.sim.oauth().client();
    let form = format!(
        "client_id={id}&client_secret={secret}&code={code}&code_verifier=not-the-verifier-of-this-sign-in-at-all"
    );
    let r = call(
        sim_addr,
        "POST",
        "/login/oauth/access_token",
        &[("accept", "application/json")],
        &form,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "bad_verification_code", "{}", r.body);
}

#[tokio::test]
async fn github_down_during_sign_in_is_a_503_page_and_no_session() {
    let h = Harness::start(|_, _| {}).await;
    let (url, pending) = h.leave().await;
    let back = h.authorize(&url, "nadia").await;
    h.sim.oauth().set_down(true);
    let r = h.come_back(&back, &pending).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("GitHub could not be reached"), "{}", r.body);
    assert!(session_cookie(&r).is_none());
}

#[tokio::test]
async fn expired_tampered_and_foreign_sessions_commit_nothing() {
    let h = Harness::start(|_, _| {}).await;
    let cookie = h.sign_in("nadia").await;
    let csrf = csrf_of(&h.get("/", &cookie).await.body);
    let head = h.head();

    // Expired: signed with the right key, past its end.
    let old = Session {
        login: "nadia".into(),
        sid: "s".into(),
        csrf: csrf.clone(),
        exp: chrono::Utc::now().timestamp() - 1,
    };
    let expired = h.seal(&old);
    let r = h.get("/", &expired).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Your session expired"), "{}", r.body);
    let r = h.post("/request", &expired, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Tampered: the login changed in the payload, the MAC kept.
    let (prefix, mac) = cookie.rsplit_once('.').unwrap();
    let payload = prefix.rsplit_once('.').unwrap().1;
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
    let forged = b64.encode(json.replace("nadia", "alice"));
    let tampered = format!("seatkeeper-session=v1.{forged}.{mac}");
    let r = h.get("/", &tampered).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("could not be verified"), "{}", r.body);
    let r = h.post("/request", &tampered, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 401);

    // Signed with another key.
    let other = format!(
        "seatkeeper-session={}",
        Signer::new(vec![9; 32]).seal(
            "session",
            &Session {
                exp: i64::MAX,
                ..old.clone()
            }
        )
    );
    assert_eq!(
        h.post("/request", &other, &format!("csrf={csrf}"))
            .await
            .status,
        401
    );

    // Missing CSRF token, another session's token, another origin.
    let r = h.post("/request", &cookie, "note=x").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("security token"), "{}", r.body);
    let other_session = h.sign_in("octocat").await;
    let foreign = csrf_of(&h.get("/", &other_session).await.body);
    assert_ne!(foreign, csrf);
    assert_eq!(
        h.post("/request", &cookie, &format!("csrf={foreign}"))
            .await
            .status,
        403
    );
    let r = call(
        h.addr,
        "POST",
        "/request",
        &[
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("another site"), "{}", r.body);

    assert_eq!(h.head(), head, "nothing was committed");
    assert_eq!(h.kicks.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn not_a_member_not_eligible_cap_reached_and_unwritable_are_clear_refusals() {
    let h = Harness::start(|_, _| {}).await;
    let head = h.head();

    // contractor-carl is a GitHub user outside acme.
    let carl = h.sign_in("contractor-carl").await;
    let card = h.get("/", &carl).await;
    assert!(
        card.body.contains("You cannot get a Copilot seat yet"),
        "{}",
        card.body
    );
    assert!(card.body.contains("not a member of acme"), "{}", card.body);
    assert!(!card.body.contains(r#"id="request""#), "no button to press");
    let csrf = csrf_of(&card.body);
    let r = h.post("/request", &carl, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("Ask an owner of the organization"),
        "{}",
        r.body
    );

    // Not in an eligible team.
    let text = h
        .file()
        .replace("policy:\n", "policy:\n  eligible_teams: [data-science]\n");
    h.sim.with_state(|s| {
        s.commit_file(
            DEMO_REPO,
            "main",
            "seats.yaml",
            &text,
            "eligible teams",
            "octocat",
        )
    });
    let head = {
        assert_ne!(h.head(), head);
        h.head()
    };
    let nadia = h.sign_in("nadia").await;
    let card = h.get("/", &nadia).await;
    assert!(
        card.body.contains("not in an eligible team (data-science)"),
        "{}",
        card.body
    );
    let csrf = csrf_of(&card.body);
    let r = h.post("/request", &nadia, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("eligible teams"), "{}", r.body);
    assert_eq!(h.head(), head);

    // The seat cap: every seat taken.
    let billed = h.sim.state().seats.len();
    let text = h.file().replace(
        "  eligible_teams: [data-science]\n",
        &format!("  max_seats: {billed}\n"),
    );
    h.sim
        .with_state(|s| s.commit_file(DEMO_REPO, "main", "seats.yaml", &text, "cap", "octocat"));
    let head = h.head();
    let r = h.post("/request", &nadia, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("raise the cap"), "{}", r.body);
    assert_eq!(h.head(), head);

    // The repository cannot be written.
    let text = h.file().replace(&format!("  max_seats: {billed}\n"), "");
    h.sim.with_state(|s| {
        s.commit_file(DEMO_REPO, "main", "seats.yaml", &text, "no cap", "octocat");
        s.repo_mut(DEMO_REPO).unwrap().writable = false;
    });
    let head = h.head();
    let r = h.post("/request", &nadia, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body.contains("tell the Copilot administrators"),
        "{}",
        r.body
    );
    assert_eq!(h.head(), head);
    assert_eq!(h.kicks.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_json_api_takes_a_user_token_or_the_session_with_its_csrf_header() {
    let h = Harness::start(|_, _| {}).await;
    let token = h.sim.oauth().user_token("nadia");
    let bearer = format!("Bearer {token}");
    let r = call(
        h.addr,
        "GET",
        "/api/v1/me",
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(me["login"], "nadia");
    assert_eq!(me["seat"]["state"], "none");
    assert_eq!(me["eligibility"]["eligible"], true);
    assert_eq!(me["budget"], serde_json::Value::Null);

    let r = call(
        h.addr,
        "GET",
        "/api/v1/me",
        &[("authorization", "Bearer ghu_nope")],
        "",
    )
    .await;
    assert_eq!(r.status, 401);
    let r = call(h.addr, "GET", "/api/v1/me", &[], "").await;
    assert_eq!(r.status, 401);

    // The login comes from the token, never the body.
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        r#"{"action":"request","login":"alice"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "unknown fields are refused: {}", r.body);
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        r#"{"action":"request","note":"from backstage"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["outcome"], "granted");
    assert_eq!(report["login"], "nadia");
    assert!(lists(&h.file(), "nadia"));

    // Cookie-authenticated: the CSRF header is required.
    let cookie = h.sign_in("octocat").await;
    let head = h.head();
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &[("cookie", &cookie), ("origin", &h.origin)],
        r#"{"action":"request"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(h.head(), head);
    let csrf = csrf_of(&h.get("/", &cookie).await.body);
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &[
            ("cookie", &cookie),
            ("origin", &h.origin),
            ("x-csrf-token", &csrf),
        ],
        r#"{"action":"request"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "octocat is not a member: {}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["reason"], "not_member");
    assert_eq!(h.head(), head);
}

#[tokio::test]
async fn writes_are_rate_limited_per_person_and_bodies_are_bounded() {
    let h = Harness::start(|a, _| a.rate_limit = 1).await;
    let cookie = h.sign_in("nadia").await;
    let csrf = csrf_of(&h.get("/", &cookie).await.body);
    assert_eq!(
        h.post("/release", &cookie, &format!("csrf={csrf}"))
            .await
            .status,
        303
    );
    let r = h.post("/release", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    let big = format!("csrf={csrf}&note={}", "x".repeat(20_000));
    let r = h.post("/request", &cookie, &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    // Sign-ins per address: five times the per-person limit (one used above).
    for _ in 0..4 {
        assert_eq!(h.get("/signin", "").await.status, 303);
    }
    let r = h.get("/signin", "").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many requests"), "{}", r.body);
}

#[tokio::test]
async fn the_admin_view_is_for_the_named_team_only() {
    let h = Harness::start(|_, _| {}).await;
    let nadia = h.sign_in("nadia").await;
    assert_eq!(h.get("/admin", &nadia).await.status, 403);
    let card = h.get("/", &nadia).await;
    assert!(!card.body.contains(r#"href="/admin""#));
    let csrf = csrf_of(&card.body);
    assert_eq!(
        h.post("/request", &nadia, &format!("csrf={csrf}"))
            .await
            .status,
        303
    );
    // grace is in `platform`.
    let grace = h.sign_in("grace").await;
    assert!(h.get("/", &grace).await.body.contains(r#"href="/admin""#));
    let r = h.get("/admin", &grace).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("request by nadia: granted"), "{}", r.body);
    // Drift: bob leaves the file, the controller has not run yet.
    let text = h.file().replace("  - bob\n", "");
    h.sim
        .with_state(|s| s.commit_file(DEMO_REPO, "main", "seats.yaml", &text, "bob", "octocat"));
    let r = h.get("/admin", &grace).await;
    assert!(r.body.contains("remove_user bob"), "drift: {}", r.body);
    assert!(r.body.contains("Idle seats"));
}

#[tokio::test]
async fn seatkeeper_run_serves_the_portal_on_its_own_listener() {
    let sim = Simulator::start(demo_state(), crate::support::sim_options())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, sim.oauth().client().1).unwrap();
    let secret = secret.to_str().unwrap();
    let source = format!("github:{DEMO_REPO}/seats.yaml@main");
    let common = [
        source.as_str(),
        "--portal-listen",
        "127.0.0.1:0",
        "--portal-client-secret-file",
        secret,
        "--portal-github-url",
    ];
    let mut args = common.to_vec();
    let url = sim.url();
    args.extend([url.as_str(), "--portal-client-id", sim.oauth().client().0]);
    let d = crate::support::Daemon::start(&sim, &args, &[]);
    let serving = d
        .wait_for("the portal's address in the log", || async {
            d.proc
                .json_log()
                .into_iter()
                .find(|v| v["message"] == "portal: serving")
        })
        .await;
    let (addr, _) = split_url(&format!("{}/", serving["url"].as_str().unwrap()));
    assert_ne!(addr, d.addr, "a listener of its own");
    let page = call(addr, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign in with GitHub"));
    assert!(page.header("content-security-policy").is_some());
    // The controller's own listener does not serve it.
    assert_eq!(call(d.addr, "GET", "/signin", &[], "").await.status, 404);

    // Without a client id the controller does not start, and says why.
    let mut p = crate::support::Proc::spawn(
        &sim,
        &[
            "run",
            source.as_str(),
            "--portal-listen",
            "127.0.0.1:0",
            "--portal-client-secret-file",
            secret,
        ],
        &[],
    );
    let status = p.wait_exit(Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        p.log_text()
            .contains("--portal-listen needs --portal-client-id"),
        "{}",
        p.log_text()
    );
}

#[tokio::test]
async fn in_pull_request_mode_the_card_links_the_request_and_says_what_it_waits_for() {
    let h = Harness::start(|_, _| {}).await;
    let text = h.file().replace(
        "policy:\n",
        "policy:\n  self_serve:\n    mode: pull_request\n    auto_merge: false\n",
    );
    h.sim.with_state(|s| {
        s.commit_file(DEMO_REPO, "main", "seats.yaml", &text, "PR mode", "octocat")
    });
    let head = h.head();
    let cookie = h.sign_in("nadia").await;
    let csrf = csrf_of(&h.get("/", &cookie).await.body);
    let r = h.post("/request", &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/?done=request_pr"));
    assert_eq!(
        h.head(),
        head,
        "main is unchanged until the pull request merges"
    );
    let card = h.get("/?done=request_pr", &cookie).await;
    assert!(
        card.body.contains("Your request waits for review"),
        "{}",
        card.body
    );
    assert!(
        card.body.contains("/pull/"),
        "a link to the pull request: {}",
        card.body
    );
    assert!(
        card.body.contains("a reviewer to approve and merge it"),
        "{}",
        card.body
    );
    assert!(!card.body.contains(r#"id="request""#), "no second request");
}

/// The demo's seats.yaml with budgets managed: a default of US$20 and bob's
/// own US$50 until 2099-12-31.
fn with_budgets(h: &Harness) -> String {
    let text = h
        .file()
        .replace("teams:\n", "budgets:\n  default: 20\nteams:\n")
        .replace(
            "  - bob\n",
            "  - login: bob\n    budget: 50\n    budget_expires: 2099-12-31\n",
        );
    h.sim.with_state(|s| {
        s.commit_file(DEMO_REPO, "main", "seats.yaml", &text, "budgets", "octocat")
    });
    text
}

fn head_message(h: &Harness) -> String {
    let st = h.sim.state();
    let r = st.repo(DEMO_REPO).unwrap();
    r.commits[&r.branches["main"]].message.clone()
}

#[tokio::test]
async fn the_card_shows_the_budget_and_this_months_ai_credit_use() {
    let h = Harness::start(|_, _| {}).await;
    // Without budgets in seats.yaml: no row, `budget: null`.
    let alice = h.sign_in("alice").await;
    let card = h.get("/", &alice).await;
    assert!(!card.body.contains("AI-credit budget"), "{}", card.body);
    assert!(!card.body.contains(r#"action="/budget""#), "{}", card.body);

    with_budgets(&h);
    h.sim.with_state(|s| {
        s.ai_credits
            .push(seatkeeper::simulator::usage::SimCredits::today(
                "bob", 1234.0,
            ))
    });
    let bob = h.sign_in("bob").await;
    let card = h.get("/", &bob).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(
        card.body
            .contains("US$50 a month (yours, until 2099-12-31; then the default applies)"),
        "{}",
        card.body
    );
    assert!(
        card.body.contains("1234 AI credits (US$12.34)"),
        "{}",
        card.body
    );
    assert!(card.body.contains(r#"action="/budget""#), "{}", card.body);
    let card = h.get("/", &alice).await;
    assert!(
        card.body.contains("US$20 a month (the default)"),
        "{}",
        card.body
    );
    assert!(
        card.body.contains("0 AI credits (US$0.00)"),
        "{}",
        card.body
    );

    // The JSON API carries the same.
    let token = h.sim.oauth().user_token("bob");
    let r = call(
        h.addr,
        "GET",
        "/api/v1/me",
        &[("authorization", &format!("Bearer {token}"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(me["budget"]["amount"], 50, "{me}");
    assert_eq!(me["budget"]["source"], "individual");
    assert_eq!(me["budget"]["expires"], "2099-12-31");
    assert_eq!(me["budget"]["default"], 20);
    assert_eq!(me["budget"]["credits_used"], 1234);

    // The usage route hidden (no billing permission): the use line goes,
    // the budget stays.
    h.sim.with_state(|s| s.ai_credit_usage_hidden = true);
    let card = h.get("/", &bob).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(card.body.contains("US$50 a month (yours"), "{}", card.body);
    assert!(!card.body.contains("AI credits (US$"), "{}", card.body);
}

#[tokio::test]
async fn a_budget_request_commits_one_entry_and_a_refused_one_commits_nothing() {
    let sim = Simulator::start(demo_state(), crate::support::sim_options())
        .await
        .unwrap();
    let bounds = seatkeeper::reconcile::Bounds {
        budgets: seatkeeper::plan::budgets::BudgetBounds {
            max_user_budget: Some(100),
            max_budget_total: None,
        },
        ..Default::default()
    };
    let h = Harness::bounded(sim, bounds, |_, _| {}).await;
    let before = with_budgets(&h);
    let alice = h.sign_in("alice").await;
    let csrf = csrf_of(&h.get("/", &alice).await.body);

    // No CSRF token: 403, nothing committed.
    let head = h.head();
    let r = h.post("/budget", &alice, "amount=75").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("security token"), "{}", r.body);
    let r = h
        .post("/budget", &alice, "csrf=not-the-token&amount=75")
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(h.head(), head);

    // Over --max-user-budget: a clear page, nothing committed.
    let r = h
        .post("/budget", &alice, &format!("csrf={csrf}&amount=120"))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body
            .contains("budget is US$120 a month, over the operator")
            && r.body.contains("--max-user-budget 100"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Your budget request was not recorded"));
    assert_eq!(h.head(), head);
    assert_eq!(h.file(), before);
    // Not a whole number: 422, nothing committed.
    let r = h
        .post("/budget", &alice, &format!("csrf={csrf}&amount=12.5"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(h.head(), head);
    assert_eq!(h.kicks.load(Ordering::SeqCst), 0);

    // Within the ceiling: exactly `request alice --budget 75`.
    let r = h
        .post("/budget", &alice, &format!("csrf={csrf}&amount=75"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/?done=budget"));
    assert_eq!(
        h.file(),
        before.replace("  - alice\n", "  - login: alice\n    budget: 75\n"),
        "only alice's entry changes"
    );
    let msg = head_message(&h);
    assert!(
        msg.starts_with("seats.yaml: set the Copilot budget of alice to US$75 a month\n"),
        "{msg}"
    );
    assert!(msg.contains("\nSeatkeeper-Budget: 75\n"), "{msg}");
    assert!(
        msg.contains("Seatkeeper-Source: the seatkeeper portal"),
        "{msg}"
    );
    assert_eq!(h.kicks.load(Ordering::SeqCst), 1);
    let card = h.get("/?done=budget", &alice).await;
    assert!(
        card.body.contains("Your budget request is recorded"),
        "{}",
        card.body
    );
    assert!(card.body.contains("US$75 a month (yours)"), "{}", card.body);

    // The JSON API: {"budget": N} is the same request, same ceiling.
    let token = h.sim.oauth().user_token("carol");
    let bearer = format!("Bearer {token}");
    let json = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let head = h.head();
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &json,
        r#"{"action":"request","budget":101}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["reason"], "operator_bounds", "{report}");
    assert_eq!(h.head(), head);
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &json,
        r#"{"action":"release","budget":10}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(h.head(), head);
    let r = call(
        h.addr,
        "POST",
        "/api/v1/requests",
        &json,
        r#"{"action":"request","budget":60}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["outcome"], "budget_set", "{report}");
    assert!(
        h.file()
            .contains("  - login: carol\n    budget: 60\n  - dave\n"),
        "{}",
        h.file()
    );
}
