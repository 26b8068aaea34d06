//! Push webhooks: when a branch moves, the simulator POSTs GitHub's `push`
//! payload to the configured URL, signed as GitHub signs it
//! (`X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)` in hex), with
//! `X-GitHub-Event: push` and a fresh `X-GitHub-Delivery` GUID. Deliveries go
//! out one at a time in the order the branches moved; like GitHub, a failed
//! delivery is logged and not retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::server::lock;

/// Where push webhooks go.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// `http://HOST:PORT/PATH` (plain HTTP: the simulator talks to 127.0.0.1).
    pub url: String,
    /// The shared secret the payload is signed with.
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// One delivery, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// Where it went.
    pub url: String,
    /// The status answered, or `None` when nothing answered.
    pub status: Option<u16>,
    /// `X-Hub-Signature-256`.
    pub signature: String,
    /// Every header sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// The exact body sent.
    pub body: Vec<u8>,
}

/// The sender: a queue drained by one task.
pub(crate) struct Hooks {
    target: Mutex<Option<WebhookTarget>>,
    queue: mpsc::UnboundedSender<Vec<u8>>,
    log: Arc<Mutex<Vec<Delivery>>>,
    hook_id: u64,
}

impl Hooks {
    /// A sender and the receiving end its task drains.
    pub(crate) fn new(hook_id: u64) -> (Hooks, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (queue, rx) = mpsc::unbounded_channel();
        (
            Hooks {
                target: Mutex::new(None),
                queue,
                log: Arc::new(Mutex::new(Vec::new())),
                hook_id,
            },
            rx,
        )
    }

    pub(crate) fn set_target(&self, target: Option<WebhookTarget>) {
        *lock(&self.target) = target;
    }

    /// Queue a payload (dropped when no target is set).
    pub(crate) fn send(&self, body: Vec<u8>) {
        if lock(&self.target).is_some() {
            let _ = self.queue.send(body);
        }
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.log).clone()
    }

    /// The task that delivers queued payloads, in order.
    pub(crate) async fn run(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
        while let Some(body) = rx.recv().await {
            let Some(target) = lock(&self.target).clone() else {
                continue;
            };
            let delivery = deliver(&target, self.hook_id, body).await;
            lock(&self.log).push(delivery);
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length: the error branch is unreachable.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return "sha256=".to_string();
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn guid() -> String {
    let a: u32 = rand::random();
    let b: u16 = rand::random();
    let c: u16 = rand::random::<u16>() & 0x0fff;
    let d: u16 = (rand::random::<u16>() & 0x3fff) | 0x8000;
    let e: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
    format!("{a:08x}-{b:04x}-4{c:03x}-{d:04x}-{e:012x}")
}

async fn deliver(target: &WebhookTarget, hook_id: u64, body: Vec<u8>) -> Delivery {
    let guid = guid();
    let sig = signature(target.secret.as_bytes(), &body);
    let headers: Vec<(String, String)> = vec![
        ("User-Agent".into(), "GitHub-Hookshot/simulator".into()),
        ("Content-Type".into(), "application/json".into()),
        ("X-GitHub-Event".into(), "push".into()),
        ("X-GitHub-Delivery".into(), guid.clone()),
        ("X-GitHub-Hook-ID".into(), hook_id.to_string()),
        (
            "X-GitHub-Hook-Installation-Target-ID".into(),
            hook_id.to_string(),
        ),
        (
            "X-GitHub-Hook-Installation-Target-Type".into(),
            "repository".into(),
        ),
        ("X-Hub-Signature-256".into(), sig.clone()),
    ];
    let status = tokio::time::timeout(Duration::from_secs(10), post(&target.url, &headers, &body))
        .await
        .ok()
        .flatten();
    if status.is_none() {
        tracing::warn!(url = %target.url, delivery = %guid, "simulator: push webhook not delivered");
    }
    Delivery {
        guid,
        event: "push".into(),
        url: target.url.clone(),
        status,
        signature: sig,
        headers,
        body,
    }
}

/// A plain HTTP/1.1 POST; the answer's status, or `None`.
async fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = tokio::net::TcpStream::connect(authority).await.ok()?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    // The status line is all we need.
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split(' ').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_githubs_example() {
        // "Validating webhook deliveries": secret "It's a Secret to
        // Everybody", payload "Hello, World!".
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn guids_look_like_uuids() {
        let g = guid();
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{g}");
        assert_ne!(guid(), g);
    }
}
