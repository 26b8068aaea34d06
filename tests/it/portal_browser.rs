//! The portal in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver), against `seatkeeper demo --serve` as a real process.
//! Signs in through the simulated GitHub's consent page, requests a seat,
//! waits for the card to say it is held, meets a cross-site forged form
//! (refused, nothing committed), gives the seat back and signs out.
//!
//! The WebDriver client is the few W3C WebDriver commands the test needs,
//! as JSON over the test suite's own HTTP client: fantoccini would add a
//! WebDriver crate tree (and its own HTTP and TLS stack) to a build that CI
//! already runs close to its time budget, for five commands.
//!
//! Screenshots of the signed-out page and the card are written to
//! target/portal-screenshots/; with SEATKEEPER_UPDATE_SCREENSHOTS=1 also to
//! docs/img/ (what the README shows).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::request;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL: &str =
    "apt-get install -y --no-install-recommends chromium chromium-driver (.ci/run does)";
const WAIT: Duration = Duration::from_secs(20);

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A WebDriver session.
struct Browser {
    driver: SocketAddr,
    session: String,
    ended: std::sync::atomic::AtomicBool,
    _chromedriver: Kill,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn start() -> Browser {
        let driver_bin = crate::support::tool(Path::new(CHROMEDRIVER), INSTALL);
        let chromium = crate::support::tool(Path::new(CHROMIUM), INSTALL);
        let port = free_port();
        let child = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let guard = Kill(child);
        let driver: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(driver).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=900,760",
                         "--force-device-scale-factor=1"]
            }
        }}});
        let r = wd(driver, "POST", "/session", Some(caps)).await;
        let session = r["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Browser {
            driver,
            session,
            ended: std::sync::atomic::AtomicBool::new(false),
            _chromedriver: guard,
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        wd(self.driver, method, &path, body).await
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn find(&self, css: &str) -> String {
        let r = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        match r[ELEMENT].as_str() {
            Some(e) => e.to_string(),
            None => panic!("no element {css}: {r}\n{}", self.source().await),
        }
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Reload until the page holds `text` (the card reloads itself while a
    /// seat is being assigned; this also covers a page that already moved).
    async fn wait_for_text(&self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let page = self.source().await;
            if page.contains(text) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "the page never said {text:?}:\n{page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/portal-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), &bytes).unwrap();
        if std::env::var_os("SEATKEEPER_UPDATE_SCREENSHOTS").is_some() {
            std::fs::write(root.join("docs/img").join(name), &bytes).unwrap();
        }
    }

    /// End the session (chromedriver stops its Chromium).
    async fn quit(&self) {
        let path = format!("/session/{}", self.session);
        wd(self.driver, "DELETE", &path, None).await;
        self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Browser {
    /// End the session (chromedriver then stops its Chromium) before
    /// chromedriver is killed, also when the test panics: a killed
    /// chromedriver would leave its Chromium running. Blocking, bounded.
    fn drop(&mut self) {
        use std::io::{Read as _, Write as _};
        if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Ok(mut s) = std::net::TcpStream::connect(self.driver) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
                self.session, self.driver
            );
            let mut answer = Vec::new();
            let _ = s.read_to_end(&mut answer);
        }
    }
}

async fn wd(driver: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let r = request(
        driver,
        method,
        path,
        &[("content-type", "application/json")],
        bytes,
    )
    .await;
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    assert!(
        r.status < 400,
        "WebDriver {method} {path} answered {}: {}",
        r.status,
        r.body
    );
    v["value"].clone()
}

/// `seatkeeper demo --serve` with its stdout captured; the portal's URL.
fn start_demo() -> (Kill, Arc<Mutex<Vec<String>>>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatkeeper"))
        .args(["demo", "--serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let guard = Kill(child);
    let deadline = Instant::now() + WAIT;
    loop {
        let found = lines.lock().unwrap().iter().find_map(|l| {
            l.strip_prefix("Portal: ")
                .and_then(|r| r.split_whitespace().next())
                .map(|u| u.trim_end_matches('/').to_string())
        });
        if let Some(url) = found {
            return (guard, lines, url);
        }
        assert!(
            Instant::now() < deadline,
            "demo --serve printed no `Portal:` line:\n{}",
            lines.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A page on another origin whose form posts to the portal without its
/// token: what a cross-site request forgery looks like.
async fn evil_site(portal: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = format!(
        "<!doctype html><title>Win</title><form method=post action=\"{portal}/request\">\
         <input type=hidden name=csrf value=guessed><button id=go>Win a prize</button></form>"
    );
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}/")
}

/// Wait until the demo has printed `n` pushes (it prints each delivery).
async fn wait_pushes(lines: &Arc<Mutex<Vec<String>>>, n: usize) {
    let deadline = Instant::now() + WAIT;
    while pushes(lines) < n {
        assert!(
            Instant::now() < deadline,
            "fewer than {n} pushes:\n{}",
            lines.lock().unwrap().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pushes(lines: &Arc<Mutex<Vec<String>>>) -> usize {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("push "))
        .count()
}

#[tokio::test]
#[ignore = "needs chromium: apt-get install chromium chromium-driver (.ci/run installs them)"]
async fn a_person_gets_and_gives_back_a_seat_in_a_real_browser() {
    let (_demo, out, portal) = start_demo();
    let b = Browser::start().await;

    b.go(&format!("{portal}/")).await;
    b.wait_for_text("Sign in with GitHub").await;
    b.screenshot("portal-signed-out.png").await;

    // Sign in: the portal sends the browser to the simulated GitHub.
    b.click("#signin").await;
    b.wait_for_text("Sign in to the simulated GitHub").await;
    assert!(!b.url().await.starts_with(&portal));
    b.type_into("#login", "nadia").await;
    b.click("#authorize").await;
    let card = b.wait_for_text("@nadia").await;
    assert!(card.contains("You have no Copilot seat"), "{card}");
    assert!(b.url().await.starts_with(&portal));

    // Request: a one-entry commit, then the seat within seconds.
    let before = pushes(&out);
    b.type_into("#note", "pairing on the billing service").await;
    let clicked = Instant::now();
    b.click("#request").await;
    b.wait_for_text("You have a Copilot seat").await;
    let took = clicked.elapsed();
    eprintln!("portal: request click -> \"You have a Copilot seat\" in {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    wait_pushes(&out, before + 1).await;
    assert!(
        out.lock().unwrap().iter().any(
            |l| l.contains("grant a Copilot seat to nadia") && l.contains("requested by nadia")
        ),
        "{}",
        out.lock().unwrap().join("\n")
    );
    b.screenshot("portal-card.png").await;

    // A forged form on another site: refused, nothing committed.
    let evil = evil_site(&portal).await;
    b.go(&evil).await;
    b.click("#go").await;
    let refused = b.wait_for_text("Request refused").await;
    assert!(refused.contains("another site"), "{refused}");
    // Any push of the forged request would be printed within the 100 ms the
    // demo polls its deliveries at.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pushes(&out),
        before + 1,
        "the forged request committed nothing"
    );

    // Give it back.
    b.go(&format!("{portal}/")).await;
    b.wait_for_text("You have a Copilot seat").await;
    b.click("#release").await;
    b.wait_for_text("Your seat is given back").await;
    wait_pushes(&out, before + 2).await;
    assert!(
        out.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("release the Copilot seat of nadia")),
    );

    // A session cookie changed in the browser (nadia -> alice): refused.
    let c = b.cmd("GET", "/cookie/seatkeeper-session", None).await;
    let value = c["value"].as_str().expect("the session cookie").to_string();
    let parts: Vec<&str> = value.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap();
    let forged = format!(
        "v1.{}.{}",
        b64.encode(json.replace("nadia", "alice")),
        parts[2]
    );
    b.cmd("DELETE", "/cookie/seatkeeper-session", None).await;
    b.cmd(
        "POST",
        "/cookie",
        Some(json!({"cookie": {"name": "seatkeeper-session", "value": forged, "path": "/"}})),
    )
    .await;
    b.go(&format!("{portal}/")).await;
    let page = b.wait_for_text("could not be verified").await;
    assert!(!page.contains("@alice"), "{page}");

    // A callback whose state this browser never sent.
    b.go(&format!("{portal}/callback?code=abc&state=forged"))
        .await;
    b.wait_for_text("did not start in this browser").await;

    // Someone outside the org: the card says why, and offers no button.
    b.go(&format!("{portal}/")).await;
    b.click("#signin").await;
    b.wait_for_text("Sign in to the simulated GitHub").await;
    b.type_into("#login", "contractor-carl").await;
    b.click("#authorize").await;
    let card = b.wait_for_text("You cannot get a Copilot seat yet").await;
    assert!(card.contains("not a member of acme"), "{card}");
    assert!(!card.contains("id=\"request\""), "{card}");

    // Sign out: back to the signed-out page.
    b.click("header button[type=submit]").await;
    b.wait_for_text("Sign in with GitHub").await;
    assert_eq!(pushes(&out), before + 2, "no bad input committed anything");
    b.quit().await;
}
