//! Upstream connections for one `http` integration: a small pool per worker thread.
//!
//! Each worker keeps its own idle HTTP/1.1 connections (and at most one multiplexed HTTP/2
//! connection) to the integration's upstream, so a request and the connection it uses are
//! driven by the same single-threaded runtime: no shared pool map, no locks contended
//! across threads, no cross-thread wake-ups. HTTP/1.1 goes through Rampart's own client
//! ([`super::h1`]); HTTP/2 through hyper's.
//!
//! Reuse: the most recently used idle connection first; one the upstream has closed (or
//! sent stray bytes on) is dropped at checkout, one idle for 90 s is dropped. A request
//! without a body that met a dead reused connection (the upstream closed it just as it was
//! taken: the write failed, or the connection ended before any response byte and the
//! method is idempotent) is retried once on a new connection. Nothing else is retried: a
//! request body cannot be replayed, and a non-idempotent request may have been acted on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use http::{Method, Request, Response};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::h1::{self, Checkin, Conn, H1Error, RequestFraming, Stream};
use crate::body::{LimitedBody, UpstreamBody};

const SLOTS: usize = 64;
const MAX_IDLE: usize = 256;
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Where and how to connect.
pub struct Target {
    pub host: String,
    pub port: u16,
    /// TLS toward the upstream: connector and the name to verify.
    pub tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    pub http2: bool,
    pub connect_timeout: Duration,
}

#[derive(Default)]
struct Slot {
    /// Oldest first.
    idle: VecDeque<(Conn, Instant)>,
    h2: Option<http2::SendRequest<LimitedBody>>,
}

/// Why a request did not get a response.
#[derive(Debug)]
pub enum PoolError {
    Connect(String),
    ConnectTimeout,
    H1(H1Error),
    H2(hyper::Error),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut src: Option<&(dyn std::error::Error + 'static)> = match self {
            PoolError::Connect(e) => return write!(f, "connect: {e}"),
            PoolError::ConnectTimeout => return f.write_str("connect timed out"),
            PoolError::H1(e) => {
                write!(f, "{e}")?;
                std::error::Error::source(e)
            }
            PoolError::H2(e) => {
                write!(f, "{e}")?;
                std::error::Error::source(e)
            }
        };
        while let Some(s) = src {
            write!(f, ": {s}")?;
            src = s.source();
        }
        Ok(())
    }
}

impl PoolError {
    /// Every error in the chain, for callers that look for a particular cause.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first: Option<&(dyn std::error::Error + 'static)> = match self {
            PoolError::H1(e) => Some(e),
            PoolError::H2(e) => Some(e),
            _ => None,
        };
        std::iter::successors(first, |e| e.source())
    }
}

enum Connected {
    H1(Conn),
    H2(http2::SendRequest<LimitedBody>),
}

struct Shared {
    target: Target,
    slots: Box<[Mutex<Slot>]>,
}

impl Shared {
    fn slot(&self) -> &Mutex<Slot> {
        &self.slots[crate::listener::worker_index() % SLOTS]
    }
}

impl Checkin for Shared {
    fn checkin(&self, conn: Conn) {
        if let Ok(mut s) = self.slot().lock() {
            if s.idle.len() >= MAX_IDLE {
                s.idle.pop_front();
            }
            s.idle.push_back((conn, Instant::now()));
        }
    }
}

pub struct Pool {
    shared: Arc<Shared>,
}

/// Methods a client may repeat without changing the outcome (RFC 9110, section 9.2.2).
fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

impl Pool {
    pub fn new(target: Target) -> Self {
        Self {
            shared: Arc::new(Shared {
                target,
                slots: (0..SLOTS).map(|_| Mutex::new(Slot::default())).collect(),
            }),
        }
    }

    /// Send a request (absolute-form URI) and return the response head and streaming body.
    pub async fn send(
        &self,
        req: Request<LimitedBody>,
    ) -> Result<Response<UpstreamBody>, PoolError> {
        let mut reused = match self.checkout() {
            Some(Connected::H2(tx)) => return send_h2(tx, req).await,
            Some(Connected::H1(c)) => Some(c),
            None => None,
        };
        let (parts, body) = req.into_parts();
        let client_sent_length = parts.headers.contains_key(http::header::CONTENT_LENGTH);
        let framing = RequestFraming::for_body(&parts.method, client_sent_length, &body);
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut head = BytesMut::new();
        h1::encode_head(&parts.method, path, &parts.headers, framing, &mut head);
        // Only a request without a body can be sent again: nothing of it is consumed.
        let retry_safe = framing == RequestFraming::None || framing == RequestFraming::Length(0);
        let head_request = parts.method == Method::HEAD;
        let mut body = Some(body);
        loop {
            let (conn, was_reused) = match reused.take() {
                Some(c) => (c, true),
                None => match self.connect().await? {
                    Connected::H1(c) => (c, false),
                    Connected::H2(tx) => {
                        if let Ok(mut s) = self.shared.slot().lock() {
                            s.h2 = Some(tx.clone());
                        }
                        let body = body.take().unwrap_or_else(LimitedBody::empty);
                        return send_h2(tx, Request::from_parts(parts, body)).await;
                    }
                },
            };
            let retry = was_reused && retry_safe;
            let this_head = if retry {
                head.clone()
            } else {
                std::mem::take(&mut head)
            };
            let this_body = body.take().unwrap_or_else(LimitedBody::empty);
            let pool: Arc<dyn Checkin> = self.shared.clone();
            match conn
                .exchange(this_head, this_body, framing, head_request, pool)
                .await
            {
                Ok((rp, rb)) => return Ok(Response::from_parts(rp, UpstreamBody::H1(rb))),
                Err(H1Error::WriteFailed(_)) if retry => {}
                Err(H1Error::NoResponse(_)) if retry && idempotent(&parts.method) => {}
                Err(e) => return Err(PoolError::H1(e)),
            }
            tracing::debug!("reused upstream connection was closed; retrying on a new one");
        }
    }

    fn checkout(&self) -> Option<Connected> {
        let mut s = self.shared.slot().lock().ok()?;
        if let Some(h2) = &s.h2 {
            if !h2.is_closed() {
                return Some(Connected::H2(h2.clone()));
            }
            s.h2 = None;
        }
        let now = Instant::now();
        while let Some((_, since)) = s.idle.front() {
            if now.duration_since(*since) < IDLE_TIMEOUT {
                break;
            }
            s.idle.pop_front();
        }
        while let Some((mut c, _)) = s.idle.pop_back() {
            if c.reusable() {
                return Some(Connected::H1(c));
            }
        }
        None
    }

    async fn connect(&self) -> Result<Connected, PoolError> {
        let t = &self.shared.target;
        tokio::time::timeout(t.connect_timeout, connect(t))
            .await
            .map_err(|_| PoolError::ConnectTimeout)?
    }
}

async fn send_h2(
    mut tx: http2::SendRequest<LimitedBody>,
    mut req: Request<LimitedBody>,
) -> Result<Response<UpstreamBody>, PoolError> {
    *req.version_mut() = http::Version::HTTP_2;
    let resp = tx.send_request(req).await.map_err(PoolError::H2)?;
    Ok(resp.map(UpstreamBody::H2))
}

async fn connect(t: &Target) -> Result<Connected, PoolError> {
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| PoolError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match &t.tls {
        None if t.http2 => handshake_h2(tcp).await,
        None => Ok(Connected::H1(Conn::new(Stream::Plain(tcp)))),
        Some((connector, name)) => {
            let tls = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| PoolError::Connect(format!("TLS: {e}")))?;
            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                handshake_h2(tls).await
            } else {
                Ok(Connected::H1(Conn::new(Stream::Tls(Box::new(tls)))))
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
        .map_err(PoolError::H2)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream h2 connection ended with an error");
        }
    });
    Ok(Connected::H2(tx))
}
