//! Hardening of the controller's HTTP server (`seatkeeper run`): the pieces
//! [`crate::daemon`] puts in front of its routes.
//!
//! - [`serve`]: HTTP/1.1 with a header-read timeout (a half-sent request, or
//!   an idle keep-alive connection, is closed), a write-stall timeout (a peer
//!   that stops reading its response), a small per-connection buffer, and a
//!   cap on open connections, overall and per client address (more are closed
//!   as soon as they are accepted). Each listener has its own caps.
//! - [`read_body`]: a request body with a size limit and a deadline, so a
//!   trickled body cannot hold a connection or memory for long.
//! - [`WebhookGuard`]: what `/webhook` keeps between requests: a bounded
//!   record of recent `X-GitHub-Delivery` ids (a replay is acknowledged and
//!   ignored), a cap on large bodies being read at once (overall and per
//!   client; a push-sized body needs no slot, so trickled large bodies cannot
//!   make a signed delivery wait), a minimum interval between
//!   webhook-triggered reconciles per org ([`MinInterval`]), and
//!   rate-limited rejection logs ([`RateLimitedLog`]).
//!
//! Everything here is bounded: memory per connection, connections, bodies in
//! flight, remembered deliveries, log lines per interval.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use futures::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Sleep;

/// The server limits of `seatkeeper run`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Close a connection whose request headers have not all arrived this many seconds after it
    /// opened (or after its previous response), or whose peer stops reading a response for as
    /// long: a half-sent, idle or stalled connection holds nothing.
    #[arg(long = "http-header-timeout", default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Answer 408 to a webhook whose body has not fully arrived this many seconds after its
    /// headers.
    #[arg(long = "http-body-timeout", default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Most connections served at once on each listener (--listen and --probe-listen have their
    /// own); a connection beyond it is closed as soon as it is accepted.
    #[arg(long = "http-max-connections", default_value_t = 128, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// Most connections one client address holds at once on a listener; one beyond it is
    /// closed as soon as it is accepted, so one client cannot take every connection.
    #[arg(long = "http-max-connections-per-client", default_value_t = 32, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections_per_client: u64,
    /// Webhook-triggered reconciles of one source (positional or --config) start at least this
    /// many seconds apart: pushes within the interval are coalesced into one reconcile at its end
    /// (0: no minimum).
    #[arg(long = "webhook-min-interval", default_value_t = 5, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub webhook_min_interval: u64,
}

impl Default for HttpArgs {
    fn default() -> Self {
        HttpArgs {
            header_timeout: 10,
            body_timeout: 10,
            max_connections: 128,
            max_connections_per_client: 32,
            webhook_min_interval: 5,
        }
    }
}

impl HttpArgs {
    /// `--http-header-timeout` as a duration.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout.max(1))
    }

    /// `--http-body-timeout` as a duration.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout.max(1))
    }

    /// `--webhook-min-interval` as a duration.
    pub fn webhook_min_interval(&self) -> Duration {
        Duration::from_secs(self.webhook_min_interval)
    }
}

/// Largest read buffer of one connection. hyper's default (~400 KB) times
/// the connection cap would be most of the chart's memory limit; GitHub's
/// webhook headers are a few hundred bytes.
const CONNECTION_BUFFER: usize = 64 * 1024;

/// Most request headers accepted (hyper's default is 100).
const MAX_HEADERS: usize = 64;

/// Large webhook bodies (over [`SMALL_BODY`]) read at the same time; more
/// are answered 503 at once. With [`crate::daemon::MAX_WEBHOOK_BODY`] this
/// bounds the memory held by large bodies being read to 16 MiB.
pub const MAX_BODIES_IN_FLIGHT: usize = 16;

/// Of the [`MAX_BODIES_IN_FLIGHT`] large-body slots, one client address holds
/// at most this many.
pub const MAX_BODIES_PER_CLIENT: usize = 4;

/// A body whose `Content-Length` is at most this (a push event is a few KB)
/// is read without a large-body slot: the connection cap bounds such bodies
/// (128 connections x 64 KiB = 8 MiB), so bodies trickled by others can never
/// make a push-sized signed delivery answer 503. Each body is read within its
/// own deadline, from its own headers.
pub const SMALL_BODY: usize = 64 * 1024;

/// The client address of a request, put in its extensions by [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Counts per client address, each entry removed when its count drops to 0
/// (the map holds only addresses with something open).
#[derive(Debug, Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One unit of a [`PerClient`] count, given back when dropped.
struct ClientSlot {
    counts: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    /// Count one more for `ip`, or `None` when it holds `max` already.
    fn take(counts: &Arc<PerClient>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = lock(&counts.0);
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = lock(&self.counts.0);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Delivery ids remembered (32 bytes each, plus the set's overhead).
pub const DELIVERY_MEMORY: usize = 4096;

/// At most one log line per kind of rejection per this interval.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// The server

/// Serve `app` on `listener` with the limits in `args` until `shutdown`
/// completes; then stop accepting, let every open connection finish its
/// request in flight, and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    args: &HttpArgs,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let max = usize::try_from(args.max_connections)
        .unwrap_or(usize::MAX)
        .clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let per_client = usize::try_from(args.max_connections_per_client)
        .unwrap_or(usize::MAX)
        .max(1);
    let clients = Arc::new(PerClient::default());
    let stall = args.header_timeout();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(args.header_timeout())
        .max_buf_size(CONNECTION_BUFFER)
        .max_headers(MAX_HEADERS);
    let log = RateLimitedLog::new(LOG_EVERY);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    if let Some(suppressed) = log.allow("accept", Instant::now()) {
                        tracing::warn!(error = %e, suppressed, "cannot accept a connection");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(stream);
            if let Some(suppressed) = log.allow("max_connections", Instant::now()) {
                tracing::warn!(
                    max_connections = max,
                    suppressed,
                    "connection closed: --http-max-connections reached"
                );
            }
            continue;
        };
        let Some(client) = PerClient::take(&clients, peer.ip(), per_client) else {
            drop(stream);
            if let Some(suppressed) = log.allow("max_connections_per_client", Instant::now()) {
                tracing::warn!(
                    client = %peer.ip(),
                    max_connections_per_client = per_client,
                    suppressed,
                    "connection closed: --http-max-connections-per-client reached"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(StallTimeout::new(stream, stall));
        let app = app.clone().layer(axum::Extension(Peer(peer)));
        let conn = builder.serve_connection(io, TowerToHyperService::new(app));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { drop(stop.wait_for(|s| *s).await) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                // Timeouts and resets of hostile or broken clients: not the operator's problem.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(client);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let _ = permits.acquire_many(max as u32).await;
    Ok(())
}

/// A socket whose writes fail once they have been stalled (the peer not
/// reading) for longer than `limit`, so a client that never reads its
/// response cannot hold a connection forever.
struct StallTimeout {
    inner: TcpStream,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl StallTimeout {
    fn new(inner: TcpStream, limit: Duration) -> Self {
        StallTimeout {
            inner,
            limit,
            deadline: None,
        }
    }

    /// Pass a write's result through; on `Pending`, fail once stalled too long.
    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.deadline = None;
            return r;
        }
        let limit = self.limit;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, r)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

// ---------------------------------------------------------------------------
// Bodies

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Larger than the limit (by `Content-Length`, or once read).
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Not fully received before the deadline.
    #[error("request body not received within {} s", .timeout.as_secs())]
    TimedOut {
        /// The deadline.
        timeout: Duration,
    },
    /// The connection failed while the body was read.
    #[error("request body could not be read")]
    Broken,
    /// [`MAX_BODIES_IN_FLIGHT`] bodies are being read already.
    #[error("too many webhook deliveries being received at once: retry")]
    Busy,
}

impl BodyError {
    /// The status to answer: 413, 408, 400 or 503.
    pub fn status(&self) -> http::StatusCode {
        match self {
            BodyError::TooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut { .. } => http::StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken => http::StatusCode::BAD_REQUEST,
            BodyError::Busy => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short label for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "body_too_large",
            BodyError::TimedOut { .. } => "body_timeout",
            BodyError::Broken => "body_broken",
            BodyError::Busy => "too_many_bodies",
        }
    }
}

/// Read `body` whole: at most `limit` bytes (a larger `content_length` is
/// refused before reading anything), within `timeout`.
pub async fn read_body(
    body: Body,
    content_length: Option<u64>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::with_capacity(content_length.unwrap_or(0).min(limit as u64) as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyError::Broken)?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut { timeout }))
}

// ---------------------------------------------------------------------------
// Webhook state

/// The bounded state `/webhook` keeps between requests.
#[derive(Debug)]
pub struct WebhookGuard {
    body_timeout: Duration,
    bodies: Arc<Semaphore>,
    bodies_by_client: Arc<PerClient>,
    deliveries: Mutex<DeliveryLog>,
    throttles: Vec<Arc<MinInterval>>,
    log: RateLimitedLog,
}

impl WebhookGuard {
    /// State for `orgs` org slots, with the body timeout and the minimum
    /// trigger interval of `args`.
    pub fn new(orgs: usize, args: &HttpArgs) -> Self {
        let min_interval = args.webhook_min_interval();
        WebhookGuard {
            body_timeout: args.body_timeout(),
            bodies: Arc::new(Semaphore::new(MAX_BODIES_IN_FLIGHT)),
            bodies_by_client: Arc::new(PerClient::default()),
            deliveries: Mutex::new(DeliveryLog::new(DELIVERY_MEMORY)),
            throttles: (0..orgs)
                .map(|_| Arc::new(MinInterval::new(min_interval)))
                .collect(),
            log: RateLimitedLog::new(LOG_EVERY),
        }
    }

    /// Read a webhook body from `client` with [`read_body`] and the body
    /// timeout. A body declared at most [`SMALL_BODY`] long is read at once;
    /// a larger one (or one without `Content-Length`) needs a large-body
    /// slot: [`BodyError::Busy`] at once when [`MAX_BODIES_IN_FLIGHT`] are
    /// being read, or [`MAX_BODIES_PER_CLIENT`] from this client.
    pub async fn read_body(
        &self,
        body: Body,
        content_length: Option<u64>,
        limit: usize,
        client: Option<IpAddr>,
    ) -> Result<Bytes, BodyError> {
        if content_length.is_some_and(|n| n <= SMALL_BODY as u64) {
            return read_body(
                body,
                content_length,
                limit.min(SMALL_BODY),
                self.body_timeout,
            )
            .await;
        }
        let _client = match client {
            Some(ip) => Some(
                PerClient::take(&self.bodies_by_client, ip, MAX_BODIES_PER_CLIENT)
                    .ok_or(BodyError::Busy)?,
            ),
            None => None,
        };
        let Ok(_slot) = self.bodies.try_acquire() else {
            return Err(BodyError::Busy);
        };
        read_body(body, content_length, limit, self.body_timeout).await
    }

    /// Record `delivery`; false when it was seen already (a replay or a redelivery).
    pub fn first_delivery(&self, delivery: &str) -> bool {
        lock(&self.deliveries).insert(delivery)
    }

    /// Request a reconcile of org slot `index`: `fire` runs now, after the
    /// rest of the slot's minimum interval, or not at all when a deferred run
    /// is already pending (it will cover this request). Returns whether the
    /// run was deferred or coalesced.
    pub fn trigger(&self, index: usize, fire: impl Fn() + Send + Sync + 'static) -> Admit {
        let Some(throttle) = self.throttles.get(index) else {
            fire();
            return Admit::Now;
        };
        let admit = throttle.admit(Instant::now());
        match admit {
            Admit::Now => fire(),
            Admit::After(delay) => {
                let throttle = throttle.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    throttle.fired(Instant::now());
                    fire();
                });
            }
            Admit::Coalesced => {}
        }
        admit
    }

    /// Log one rejected webhook request, at most once per [`LOG_EVERY`] per
    /// `reason`, with how many were not logged since.
    pub fn log_rejection(&self, reason: &'static str, status: u16, delivery: &str, event: &str) {
        if let Some(suppressed) = self.log.allow(reason, Instant::now()) {
            tracing::warn!(
                reason,
                status,
                delivery = %truncate(delivery, 64),
                event = %truncate(event, 64),
                suppressed,
                "webhook rejected: {reason} (further rejections of this kind within {} s are counted, not logged)",
                LOG_EVERY.as_secs()
            );
        }
    }

    /// Log one ignored replay, rate-limited like rejections.
    pub fn log_replay(&self, delivery: &str) {
        if let Some(suppressed) = self.log.allow("duplicate_delivery", Instant::now()) {
            tracing::info!(
                delivery = %truncate(delivery, 64),
                suppressed,
                "webhook ignored: X-GitHub-Delivery already processed (a replay or a redelivery)"
            );
        }
    }
}

/// A header value as logged: at most `max` characters.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The last `capacity` delivery ids, as SHA-256 digests (fixed size
/// whatever the header holds), oldest forgotten first.
#[derive(Debug)]
pub struct DeliveryLog {
    capacity: usize,
    order: VecDeque<[u8; 32]>,
    seen: HashSet<[u8; 32]>,
}

impl DeliveryLog {
    /// An empty log remembering up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        DeliveryLog {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Remember `id`; false when it is remembered already.
    pub fn insert(&mut self, id: &str) -> bool {
        let key: [u8; 32] = Sha256::digest(id.as_bytes()).into();
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// What [`MinInterval::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Run now.
    Now,
    /// Run after this delay (the end of the interval); the caller must call
    /// [`MinInterval::fired`] when it does.
    After(Duration),
    /// A deferred run is already pending and covers this request.
    Coalesced,
}

/// Runs at least `interval` apart: the first request after a quiet
/// interval runs at once; requests within the interval become one deferred
/// run at its end.
#[derive(Debug)]
pub struct MinInterval {
    interval: Duration,
    state: Mutex<IntervalState>,
}

#[derive(Debug, Default)]
struct IntervalState {
    last: Option<Instant>,
    pending: bool,
}

impl MinInterval {
    /// Runs at least `interval` apart (zero: every request runs at once).
    pub fn new(interval: Duration) -> Self {
        MinInterval {
            interval,
            state: Mutex::new(IntervalState::default()),
        }
    }

    /// Decide a request arriving at `now`.
    pub fn admit(&self, now: Instant) -> Admit {
        if self.interval.is_zero() {
            return Admit::Now;
        }
        let mut st = lock(&self.state);
        if st.pending {
            return Admit::Coalesced;
        }
        match st.last {
            Some(last) if now < last + self.interval => {
                st.pending = true;
                Admit::After(last + self.interval - now)
            }
            _ => {
                st.last = Some(now);
                Admit::Now
            }
        }
    }

    /// The deferred run started at `now`.
    pub fn fired(&self, now: Instant) {
        let mut st = lock(&self.state);
        st.pending = false;
        st.last = Some(now);
    }
}

/// At most one log line per key per interval; the line carries how many
/// were suppressed since the previous one.
#[derive(Debug)]
pub struct RateLimitedLog {
    every: Duration,
    state: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl RateLimitedLog {
    /// One line per key per `every`.
    pub fn new(every: Duration) -> Self {
        RateLimitedLog {
            every,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(suppressed)` when a line for `key` may be logged at `now`
    /// (`suppressed` counts the ones not logged since the last line), else
    /// `None` (and this one is counted).
    pub fn allow(&self, key: &'static str, now: Instant) -> Option<u64> {
        let mut st = lock(&self.state);
        match st.get_mut(key) {
            Some((last, suppressed)) if now < *last + self.every => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let n = *suppressed;
                *last = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                st.insert(key, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_interval_defers_then_coalesces() {
        let t0 = Instant::now();
        let s = |n: u64| Duration::from_millis(n);
        let m = MinInterval::new(s(1000));
        // (arrival after t0 in ms, fired deferred run at ms, expected)
        let cases: &[(u64, Option<u64>, Admit)] = &[
            (0, None, Admit::Now),
            (100, None, Admit::After(s(900))),
            (200, None, Admit::Coalesced),
            (999, None, Admit::Coalesced),
            // The deferred run fires at 1000; the next request is within its interval.
            (1500, Some(1000), Admit::After(s(500))),
            (3000, Some(2000), Admit::Now),
            (3000, None, Admit::After(s(1000))),
        ];
        for (i, (at, fired, want)) in cases.iter().enumerate() {
            if let Some(f) = fired {
                m.fired(t0 + s(*f));
            }
            assert_eq!(m.admit(t0 + s(*at)), *want, "case {i} at {at} ms");
        }
    }

    #[test]
    fn zero_interval_always_runs() {
        let m = MinInterval::new(Duration::ZERO);
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(m.admit(t0 + Duration::from_millis(i)), Admit::Now);
        }
        assert_eq!(m.admit(t0), Admit::Now, "even a clock going back");
    }

    #[test]
    fn delivery_log_is_bounded_and_forgets_oldest() {
        let mut log = DeliveryLog::new(3);
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("b", true),
            ("a", false),
            ("c", true),
            ("d", true), // forgets a
            ("b", false),
            ("a", true), // forgets b
            ("b", true),
            ("", true),
            ("", false),
        ];
        for (id, want) in cases {
            assert_eq!(log.insert(id), *want, "{id:?}");
            assert!(log.len() <= 3);
        }
        let mut big = DeliveryLog::new(DELIVERY_MEMORY);
        for i in 0..DELIVERY_MEMORY * 3 {
            assert!(big.insert(&format!("{i:08x}-guid")));
        }
        assert_eq!(big.len(), DELIVERY_MEMORY);
        assert!(!big.insert(&format!("{:08x}-guid", DELIVERY_MEMORY * 3 - 1)));
        assert!(big.insert("00000000-guid"), "the oldest were forgotten");
    }

    #[test]
    fn rate_limited_log_counts_what_it_suppresses() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let cases: &[(&str, u64, Option<u64>)] = &[
            ("unsigned", 0, Some(0)),
            ("unsigned", 1, None),
            ("unsigned", 9, None),
            ("invalid", 9, Some(0)),
            ("unsigned", 10, Some(2)),
            ("unsigned", 11, None),
            ("unsigned", 30, Some(1)),
            ("invalid", 30, Some(0)),
        ];
        for (key, s, want) in cases {
            assert_eq!(log.allow(key, at(*s)), *want, "{key} at {s} s");
        }
    }

    /// (what, Content-Length, the chunks sent, what `read_body` returns)
    type BodyCase = (
        &'static str,
        Option<u64>,
        Vec<&'static [u8]>,
        Result<&'static [u8], BodyError>,
    );

    #[tokio::test]
    async fn bodies_are_limited_in_size_and_time() {
        let limit = 10;
        let timeout = Duration::from_millis(200);
        let cases: Vec<BodyCase> = vec![
            ("fits", Some(5), vec![b"hello"], Ok(b"hello")),
            (
                "exactly the limit",
                None,
                vec![b"01234", b"56789"],
                Ok(b"0123456789"),
            ),
            (
                "declared too large",
                Some(11),
                vec![],
                Err(BodyError::TooLarge { limit }),
            ),
            (
                "grows too large",
                None,
                vec![b"012345", b"678901"],
                Err(BodyError::TooLarge { limit }),
            ),
            ("empty", None, vec![], Ok(b"")),
        ];
        for (what, len, chunks, want) in cases {
            let stream = futures::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, io::Error>(Bytes::from_static(c))),
            );
            let got = read_body(Body::from_stream(stream), len, limit, timeout).await;
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{what}");
        }
        // A body that never finishes.
        let stream = futures::stream::iter([Ok::<_, io::Error>(Bytes::from_static(b"x"))])
            .chain(futures::stream::pending());
        let started = Instant::now();
        let got = read_body(Body::from_stream(stream), None, limit, timeout).await;
        assert_eq!(got, Err(BodyError::TimedOut { timeout }));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(BodyError::TimedOut { timeout }.status(), 408);
        assert_eq!(BodyError::TooLarge { limit }.status(), 413);
    }

    #[test]
    fn long_header_values_are_truncated_in_logs() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ééé", 2), "éé…");
    }
}
