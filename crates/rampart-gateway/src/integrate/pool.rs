//! Upstream connections for one `http` integration: a small pool per worker thread.
//!
//! Each worker keeps its own idle HTTP/1.1 connections (and at most one multiplexed HTTP/2
//! connection) to the integration's upstream, so a request and the connection it uses are
//! driven by the same single-threaded runtime: no shared pool map, no locks contended
//! across threads, no cross-thread wake-ups. An idle connection is reused when it is ready
//! (its previous response finished), dropped when the upstream closed it or after 90 s
//! idle. A request that could not even be written to a reused connection (the upstream
//! closed it at that moment) is retried once on a new one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::body::LimitedBody;

const SLOTS: usize = 64;
const MAX_IDLE: usize = 256;
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Where and how to connect.
pub struct Target {
    /// Scheme and authority of the upstream URL (HTTP/2 requests carry them).
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
    pub host: String,
    pub port: u16,
    /// TLS toward the upstream: connector and the name to verify.
    pub tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    pub http2: bool,
    pub connect_timeout: Duration,
}

struct Slot {
    idle: Vec<(http1::SendRequest<LimitedBody>, Instant)>,
    h2: Option<http2::SendRequest<LimitedBody>>,
    /// When `idle` was last swept of closed and expired connections.
    swept: Instant,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            idle: Vec::new(),
            h2: None,
            swept: Instant::now(),
        }
    }
}

/// Why a request did not get a response.
#[derive(Debug)]
pub enum PoolError {
    Connect(String),
    ConnectTimeout,
    Http(hyper::Error),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Connect(e) => write!(f, "connect: {e}"),
            PoolError::ConnectTimeout => f.write_str("connect timed out"),
            PoolError::Http(e) => {
                write!(f, "{e}")?;
                let mut src = std::error::Error::source(e);
                while let Some(s) = src {
                    write!(f, ": {s}")?;
                    src = s.source();
                }
                Ok(())
            }
        }
    }
}

enum Connected {
    H1(http1::SendRequest<LimitedBody>),
    H2(http2::SendRequest<LimitedBody>),
}

pub struct Pool {
    target: Arc<Target>,
    slots: Box<[Mutex<Slot>]>,
}

impl Pool {
    pub fn new(target: Target) -> Self {
        Self {
            target: Arc::new(target),
            slots: (0..SLOTS).map(|_| Mutex::new(Slot::default())).collect(),
        }
    }

    fn slot(&self) -> &Mutex<Slot> {
        &self.slots[crate::listener::worker_index() % SLOTS]
    }

    /// Send a request (origin-form URI) and return the response head and streaming body.
    pub async fn send(
        &self,
        mut req: Request<LimitedBody>,
    ) -> Result<Response<Incoming>, PoolError> {
        // One clock reading serves the checkout and the checkin (idle since the request
        // went out, a little earlier than it really became idle: conservative).
        let now = Instant::now();
        for attempt in 0..2 {
            let (mut tx, reused) = match self.checkout(now) {
                Some(Connected::H2(mut tx)) => {
                    self.h2_request(&mut req);
                    return tx.send_request(req).await.map_err(PoolError::Http);
                }
                Some(Connected::H1(tx)) => (tx, true),
                None => match Box::pin(self.connect()).await? {
                    Connected::H1(tx) => (tx, false),
                    Connected::H2(mut tx) => {
                        if let Ok(mut s) = self.slot().lock() {
                            s.h2 = Some(tx.clone());
                        }
                        self.h2_request(&mut req);
                        return tx.send_request(req).await.map_err(PoolError::Http);
                    }
                },
            };
            match tx.try_send_request(req).await {
                Ok(resp) => {
                    self.checkin(tx, now);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    Some(r) if reused && attempt == 0 => req = r,
                    _ => return Err(PoolError::Http(e.into_error())),
                },
            }
        }
        Err(PoolError::Connect("no connection".into()))
    }

    /// HTTP/2 requests carry an absolute URI: it becomes `:scheme` and `:authority`.
    fn h2_request(&self, req: &mut Request<LimitedBody>) {
        *req.version_mut() = http::Version::HTTP_2;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.target.scheme.clone());
        parts.authority = Some(self.target.authority.clone());
        parts.path_and_query = req.uri().path_and_query().cloned();
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }

    fn checkout(&self, now: Instant) -> Option<Connected> {
        let mut s = self.slot().lock().ok()?;
        if let Some(h2) = &s.h2 {
            if !h2.is_closed() {
                return Some(Connected::H2(h2.clone()));
            }
            s.h2 = None;
        }
        // Connections the upstream closed or that sat idle too long are swept now and
        // then, not on every request; one picked below is checked on its own.
        if now.duration_since(s.swept) >= SWEEP_EVERY {
            s.swept = now;
            s.idle
                .retain(|(tx, since)| !tx.is_closed() && now.duration_since(*since) < IDLE_TIMEOUT);
        }
        loop {
            // The most recently used connection that has finished its last response.
            let i = s.idle.iter().rposition(|(tx, _)| tx.is_ready())?;
            let (tx, since) = s.idle.swap_remove(i);
            if !tx.is_closed() && now.duration_since(since) < IDLE_TIMEOUT {
                return Some(Connected::H1(tx));
            }
        }
    }

    fn checkin(&self, tx: http1::SendRequest<LimitedBody>, since: Instant) {
        if tx.is_closed() {
            return;
        }
        if let Ok(mut s) = self.slot().lock() {
            if s.idle.len() >= MAX_IDLE {
                // Full, perhaps of connections the upstream closed since the last sweep.
                s.idle.retain(|(tx, _)| !tx.is_closed());
            }
            if s.idle.len() < MAX_IDLE {
                s.idle.push((tx, since));
            }
        }
    }

    async fn connect(&self) -> Result<Connected, PoolError> {
        let t = self.target.clone();
        tokio::time::timeout(t.connect_timeout, connect(&t))
            .await
            .map_err(|_| PoolError::ConnectTimeout)?
    }
}

async fn connect(t: &Target) -> Result<Connected, PoolError> {
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| PoolError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match &t.tls {
        None if t.http2 => handshake_h2(tcp).await,
        None => handshake_h1(tcp).await,
        Some((connector, name)) => {
            let tls = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| PoolError::Connect(format!("TLS: {e}")))?;
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                handshake_h2(tls).await
            } else {
                handshake_h1(tls).await
            }
        }
    }
}

async fn handshake_h1<S>(io: S) -> Result<Connected, PoolError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(PoolError::Http)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });
    Ok(Connected::H1(tx))
}

async fn handshake_h2<S>(io: S) -> Result<Connected, PoolError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, conn) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(PoolError::Http)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream h2 connection ended with an error");
        }
    });
    Ok(Connected::H2(tx))
}
