//! Upstream connections for one `http` integration: a small pool per worker thread.
//!
//! Each worker keeps its own idle HTTP/1.1 connections (and at most one multiplexed HTTP/2
//! connection) to the integration's upstream, so a request and the connection it uses are
//! driven by the same single-threaded runtime: no shared pool map, no locks contended
//! across threads, no cross-thread wake-ups. HTTP/1.1 exchanges run in the request's own
//! task ([`super::h1`]); a connection goes back to its worker's idle list when its response
//! body ended cleanly, and is dropped when the upstream closed it or after 90 s idle. HTTP/2
//! is hyper's client connection.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::h1::{self, Checkin, Conn, Exchange, Io, ResponseBody};
use super::headers::Rewrite;
use super::UpstreamBody;
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
    /// Idle HTTP/1.1 connections, each with the time it became idle.
    idle: Vec<(Conn, Instant)>,
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
    /// The request target does not make an HTTP/2 request's URI.
    Target(String),
    ConnectTimeout,
    /// HTTP/2 (hyper's client).
    Http(hyper::Error),
    /// HTTP/1.1.
    H1(h1::Error),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Connect(e) => write!(f, "connect: {e}"),
            PoolError::ConnectTimeout => f.write_str("connect timed out"),
            PoolError::Target(e) => write!(f, "request target: {e}"),
            PoolError::Http(e) => {
                write!(f, "{e}")?;
                let mut src = std::error::Error::source(e);
                while let Some(s) = src {
                    write!(f, ": {s}")?;
                    src = s.source();
                }
                Ok(())
            }
            PoolError::H1(e) => write!(f, "{e}"),
        }
    }
}

enum Connected {
    H1(Conn),
    H2(http2::SendRequest<LimitedBody>),
}

/// The idle connections of every worker, shared with the response bodies that return
/// connections to them.
struct Idle {
    slots: Box<[Mutex<Slot>]>,
}

impl Idle {
    fn slot(&self) -> &Mutex<Slot> {
        &self.slots[crate::listener::worker_index() % SLOTS]
    }
}

impl Checkin for Idle {
    fn checkin(&self, conn: Conn) {
        let now = Instant::now();
        if let Ok(mut s) = self.slot().lock() {
            if s.idle.len() >= MAX_IDLE {
                // Full, perhaps of connections the upstream closed since the last sweep.
                s.idle.retain_mut(|(c, _)| c.is_usable());
            }
            if s.idle.len() < MAX_IDLE {
                s.idle.push((conn, now));
            }
        }
    }
}

pub struct Pool {
    target: Arc<Target>,
    idle: Arc<Idle>,
}

impl Pool {
    pub fn new(target: Target) -> Self {
        Self {
            target: Arc::new(target),
            idle: Arc::new(Idle {
                slots: (0..SLOTS).map(|_| Mutex::new(Slot::default())).collect(),
            }),
        }
    }

    /// Send `req` to `target` (origin form: path and query) and return the response head
    /// and streaming body. `req`'s own URI is not used; `rewrite`: the header fields that
    /// go upstream in place of `req`'s.
    ///
    /// A bodiless request with an idempotent method that meets a reused connection the
    /// upstream had closed (nothing came back) is sent once more on a new connection.
    pub async fn send(
        &self,
        req: Request<LimitedBody>,
        target: &str,
        rewrite: &Rewrite,
    ) -> Result<Response<UpstreamBody>, PoolError> {
        // The HTTP/2 exchange's future (about 1.3 KB) is boxed: kept inline, every request
        // future that contains this one would carry it, HTTP/1.1 upstreams too.
        let (conn, reused) = match self.checkout() {
            Some(Connected::H2(tx)) => {
                return Box::pin(self.send_h2(tx, req, target, rewrite)).await
            }
            Some(Connected::H1(c)) => (c, true),
            None => match Box::pin(self.connect()).await? {
                Connected::H1(c) => (c, false),
                Connected::H2(tx) => {
                    if let Ok(mut s) = self.idle.slot().lock() {
                        s.h2 = Some(tx.clone());
                    }
                    return Box::pin(self.send_h2(tx, req, target, rewrite)).await;
                }
            },
        };
        let (parts, body) = req.into_parts();
        let mut ex = Box::new(Exchange::new(conn, &parts, target, rewrite, body));
        let mut head = poll_fn(|cx| ex.poll_head(cx, &parts.method)).await;
        if let Err(e) = &head {
            if reused && e.nothing_received() && ex.is_bodiless() && parts.method.is_idempotent() {
                let Connected::H1(conn) = Box::pin(self.connect()).await? else {
                    return Err(PoolError::H1(h1::Error::Protocol(
                        "upstream changed protocol",
                    )));
                };
                ex.retry_on(conn);
                head = poll_fn(|cx| ex.poll_head(cx, &parts.method)).await;
            }
        }
        let head = head.map_err(PoolError::H1)?;
        let body = ResponseBody::new(ex, &head, self.idle.clone());
        let mut resp = Response::new(UpstreamBody::H1(body));
        *resp.status_mut() = head.status;
        *resp.version_mut() = head.version;
        *resp.headers_mut() = head.headers;
        Ok(resp)
    }

    async fn send_h2(
        &self,
        mut tx: http2::SendRequest<LimitedBody>,
        mut req: Request<LimitedBody>,
        target: &str,
        rewrite: &Rewrite,
    ) -> Result<Response<UpstreamBody>, PoolError> {
        rewrite.apply(req.headers_mut());
        // HTTP/2 requests carry an absolute URI: it becomes `:scheme` and `:authority`.
        *req.version_mut() = http::Version::HTTP_2;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.target.scheme.clone());
        parts.authority = Some(self.target.authority.clone());
        parts.path_and_query = Some(
            http::uri::PathAndQuery::try_from(target)
                .map_err(|e| PoolError::Target(e.to_string()))?,
        );
        *req.uri_mut() =
            http::Uri::from_parts(parts).map_err(|e| PoolError::Target(e.to_string()))?;
        let resp = tx.send_request(req).await.map_err(PoolError::Http)?;
        Ok(resp.map(UpstreamBody::H2))
    }

    fn checkout(&self) -> Option<Connected> {
        let mut s = self.idle.slot().lock().ok()?;
        if let Some(h2) = &s.h2 {
            if !h2.is_closed() {
                return Some(Connected::H2(h2.clone()));
            }
            s.h2 = None;
        }
        let now = Instant::now();
        // Connections the upstream closed or that sat idle too long are swept now and
        // then, not on every request; one picked below is checked on its own.
        if now.duration_since(s.swept) >= SWEEP_EVERY {
            s.swept = now;
            s.idle.retain_mut(|(c, since)| {
                now.duration_since(*since) < IDLE_TIMEOUT && c.is_usable()
            });
        }
        // The most recently used connection first.
        while let Some((mut conn, since)) = s.idle.pop() {
            if now.duration_since(since) < IDLE_TIMEOUT && conn.is_usable() {
                return Some(Connected::H1(conn));
            }
        }
        None
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
        None => Ok(Connected::H1(Conn::new(Io::Tcp(tcp)))),
        Some((connector, name)) => {
            let tls = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| PoolError::Connect(format!("TLS: {e}")))?;
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                handshake_h2(tls).await
            } else {
                Ok(Connected::H1(Conn::new(Io::Tls(Box::new(tls)))))
            }
        }
    }
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
