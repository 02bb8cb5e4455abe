//! Stage 1, listener: sockets, TLS, HTTP/1.1 and HTTP/2, connection limits and timeouts.
//!
//! The gateway runs one single-threaded runtime per worker (by default one per core, like
//! nginx's workers): each worker accepts on its own `SO_REUSEPORT` socket of every listener
//! and keeps its own upstream connection pools, so a request is served start to finish on
//! one thread with no cross-thread wake-ups. Each listener accepts on its own task. A connection is admitted only while the
//! gateway-wide connection limit has room (past it, new connections are closed at once
//! and counted). TLS handshakes must finish within the header read timeout. HTTP/1.1
//! connections run behind [`conn::GuardedIo`] (slowloris 408, idle timeout); HTTP/2 is
//! chosen by ALPN, limited by its header-list size and concurrent streams, and runs behind
//! [`conn::H2HeadWatch`] and [`conn::StreamActivity`] (a header block or a first request
//! slower than the header read timeout, and the idle timeout, close the connection).
//! At shutdown a listener stops accepting and [`drain::Drain`] has every connection close
//! once its requests in flight are answered, for up to the shutdown grace period.

pub mod conn;
pub mod drain;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use self::conn::{ConnPhase, GuardedIo, H2HeadWatch, InFlight, StreamActivity};
use self::drain::{Drain, Watcher};
use self::tls::{TlsInfo, TlsSpec};
use crate::body::RecordedBody;

/// A listener as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub name: String,
    pub bind: SocketAddr,
    pub tls: Option<TlsSpec>,
    pub private: bool,
    /// `aws:SourceVpce` of requests on a private listener (default: its name).
    pub vpce_id: Option<String>,
}

/// Limits of the listener stage, each with a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_body_bytes: u64,
    pub header_read_timeout: Duration,
    /// With `body_min_rate`: how long a client may keep the gateway waiting for its request
    /// body (see [`crate::body::BodyPace`]); past it, 408.
    pub body_read_timeout: Duration,
    pub body_min_rate: u64,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The pace request bodies must keep.
    pub fn body_pace(&self) -> crate::body::BodyPace {
        crate::body::BodyPace {
            timeout: self.body_read_timeout,
            min_rate: self.body_min_rate,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 10 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(20),
            body_min_rate: 500,
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What a request knows about the connection it came on.
#[derive(Debug)]
pub struct ConnInfo {
    pub listener: usize,
    pub listener_name: Arc<str>,
    pub peer: SocketAddr,
    /// The peer's IP address as a header value (for `X-Forwarded-For`), made once.
    pub peer_ip_header: http::HeaderValue,
    pub tls: Option<TlsInfo>,
    /// HTTP/1.1: the connection guard's phase.
    pub phase: Option<Arc<ConnPhase>>,
    /// HTTP/2: the requests in flight, for the connection's timeouts.
    pub streams: Option<Arc<StreamActivity>>,
}

impl ConnInfo {
    /// Marks a request in flight until the returned guard is dropped (HTTP/2; `None` for
    /// HTTP/1.1, whose guard follows [`ConnPhase`]).
    pub fn request_in_flight(&self) -> Option<InFlight> {
        self.streams.as_ref().map(|s| s.start())
    }
}

/// The request handler the listener drives.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        req: Request<Incoming>,
    ) -> impl std::future::Future<Output = Response<RecordedBody>> + Send;
    /// Limits in force now (they may change on reload).
    fn limits(&self) -> Limits;
    /// Connection events, for metrics and logs.
    fn connection_opened(&self, _listener: &str) {}
    fn connection_closed(&self, _listener: &str) {}
    fn connection_refused(&self, _listener: &str, _reason: &'static str) {}
    /// The HTTP/1.1 response written when a request head is too slow (408, the connection
    /// closes); the configured `REQUEST_TIMEOUT` gateway response.
    fn request_timeout_response(&self) -> bytes::Bytes;
}

thread_local! {
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Mark the current thread as worker `i` (per-worker state such as upstream pools is
/// chosen by it).
pub fn set_worker_index(i: usize) {
    WORKER.with(|w| w.set(i));
}

/// The worker the current thread belongs to (0 outside workers).
pub fn worker_index() -> usize {
    WORKER.with(|w| w.get())
}

/// Bind `n` sockets to `addr` with `SO_REUSEPORT`, one per worker; the kernel spreads new
/// connections across them. With port 0 the first socket picks the port for all.
pub fn bind_reuseport(addr: SocketAddr, n: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut out: Vec<std::net::TcpListener> = Vec::with_capacity(n);
    let mut addr = addr;
    for _ in 0..n.max(1) {
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        s.listen(1024)?;
        let l: std::net::TcpListener = s.into();
        if let Ok(a) = l.local_addr() {
            addr = a;
        }
        out.push(l);
    }
    Ok(out)
}

/// A bound listener and its live TLS configuration (replaced on reload).
pub struct BoundListener {
    pub index: usize,
    pub spec: ListenerSpec,
    pub local_addr: SocketAddr,
    pub tls: Arc<ArcSwapOption<rustls::ServerConfig>>,
    socket: TcpListener,
}

impl BoundListener {
    /// Take over a socket from [`bind_reuseport`]; must run inside the worker's runtime.
    pub fn from_std(
        index: usize,
        spec: ListenerSpec,
        tls: Arc<ArcSwapOption<rustls::ServerConfig>>,
        socket: std::net::TcpListener,
    ) -> std::io::Result<Self> {
        let socket = TcpListener::from_std(socket)?;
        let local_addr = socket.local_addr()?;
        Ok(Self {
            index,
            spec,
            local_addr,
            tls,
            socket,
        })
    }

    /// Accept until `shutdown` turns true, then let in-flight connections drain.
    pub async fn run<H: Handler>(
        self,
        handler: Arc<H>,
        connections: Arc<Semaphore>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let drain = Drain::new();
        let name: Arc<str> = self.spec.name.clone().into();
        loop {
            let accepted = tokio::select! {
                r = self.socket.accept() => r,
                _ = shutdown.wait_for(|s| *s) => break,
            };
            let (tcp, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off a little.
                    tracing::warn!(listener = %name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                handler.connection_refused(&name, "max_connections");
                tracing::warn!(listener = %name, %peer, "connection refused: max_connections reached");
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let handler = handler.clone();
            let tls = self.tls.load_full();
            let name = name.clone();
            let index = self.index;
            let watcher = drain.watcher();
            tokio::spawn(async move {
                handler.connection_opened(&name);
                serve(
                    handler.clone(),
                    index,
                    name.clone(),
                    peer,
                    tcp,
                    tls,
                    watcher,
                )
                .await;
                handler.connection_closed(&name);
                drop(permit);
            });
        }
        drop(self.socket);
        let grace = handler.limits().shutdown_grace;
        tokio::select! {
            _ = drain.shutdown() => {},
            _ = tokio::time::sleep(grace) => {
                tracing::warn!(listener = %name, remaining = drain.live(), "shutdown grace period over; closing remaining connections");
            }
        }
    }
}

async fn serve<H: Handler>(
    handler: Arc<H>,
    index: usize,
    name: Arc<str>,
    peer: SocketAddr,
    tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    watcher: Watcher,
) {
    let limits = handler.limits();
    match tls {
        None => {
            let phase = ConnPhase::new();
            let info = ConnInfo::new(index, name, peer, None, Some(phase.clone()), None);
            serve_h1(handler, info, tcp, phase, &limits, watcher).await;
        }
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            let stream = match tokio::time::timeout(
                limits.header_read_timeout,
                acceptor.accept(tcp),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    handler.connection_refused(&name, "tls_handshake");
                    tracing::info!(listener = %name, %peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    handler.connection_refused(&name, "tls_handshake_timeout");
                    tracing::info!(listener = %name, %peer, "TLS handshake timed out");
                    return;
                }
            };
            let tls_info = TlsInfo::from_connection(stream.get_ref().1);
            let h2 = tls_info.alpn.as_deref() == Some("h2");
            if h2 {
                let streams = StreamActivity::new();
                let info = ConnInfo::new(
                    index,
                    name.clone(),
                    peer,
                    Some(tls_info),
                    None,
                    Some(streams.clone()),
                );
                let svc = service(handler.clone(), info);
                let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                b.timer(TokioTimer::new())
                    .max_header_list_size(limits.max_header_bytes as u32)
                    .max_concurrent_streams(256)
                    .keep_alive_interval(Some(limits.idle_timeout))
                    .keep_alive_timeout(limits.header_read_timeout);
                let io = H2HeadWatch::new(stream, streams.clone());
                let conn = b.serve_connection(TokioIo::new(io), svc);
                tokio::select! {
                    r = watcher.watch(conn) => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "h2 connection ended with an error");
                        }
                    }
                    // Dropping the connection closes it.
                    why = streams.expired(limits.header_read_timeout, limits.idle_timeout) => {
                        if why == "header_read_timeout" {
                            handler.connection_refused(&name, why);
                            tracing::info!(listener = %name, %peer, "h2 connection sent no request or request head in time: closed");
                        } else {
                            tracing::debug!(listener = %name, %peer, "h2 connection idle: closed");
                        }
                    }
                }
            } else {
                let phase = ConnPhase::new();
                let info =
                    ConnInfo::new(index, name, peer, Some(tls_info), Some(phase.clone()), None);
                serve_h1(handler, info, stream, phase, &limits, watcher).await;
            }
        }
    }
}

impl ConnInfo {
    fn new(
        listener: usize,
        listener_name: Arc<str>,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        phase: Option<Arc<ConnPhase>>,
        streams: Option<Arc<StreamActivity>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            listener,
            listener_name,
            peer_ip_header: http::HeaderValue::from_str(&peer.ip().to_string())
                .unwrap_or(http::HeaderValue::from_static("unknown")),
            peer,
            tls,
            phase,
            streams,
        })
    }
}

fn service<H: Handler>(
    handler: Arc<H>,
    info: Arc<ConnInfo>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<RecordedBody>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<RecordedBody>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req| {
        let handler = handler.clone();
        let info = info.clone();
        async move { Ok::<_, Infallible>(handler.handle(info, req).await) }
    })
}

async fn serve_h1<H, S>(
    handler: Arc<H>,
    info: Arc<ConnInfo>,
    stream: S,
    phase: Arc<ConnPhase>,
    limits: &Limits,
    watcher: Watcher,
) where
    H: Handler,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = info.peer;
    let name = info.listener_name.clone();
    let io = GuardedIo::new(
        stream,
        phase.clone(),
        limits.header_read_timeout,
        limits.idle_timeout,
        handler.request_timeout_response(),
    );
    let svc = service(handler.clone(), info);
    let mut b = hyper::server::conn::http1::Builder::new();
    // The exact header limit is checked per request (431 with the uniform body); hyper's
    // buffer cap is a hard stop well above it for heads that are absurdly large.
    b.timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size((limits.max_header_bytes * 2).max(8192) + 8192)
        .keep_alive(true);
    let conn = b.serve_connection(TokioIo::new(io), svc);
    if let Err(e) = watcher.watch(conn).await {
        if e.is_parse() {
            // Not HTTP/1.1 (a malformed request line or header, bytes a target may not
            // hold, an unreadable length, more than 100 header fields): hyper has answered
            // 400 or 431 without a body and closes, before there is a request to log.
            handler.connection_refused(&name, "malformed_request");
            tracing::info!(listener = %name, %peer, error = %e, "request not parsed as HTTP/1.1");
        } else {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
    if phase.header_timed_out() {
        handler.connection_refused(&name, "header_read_timeout");
        tracing::info!(listener = %name, %peer, "request head not received in time: 408");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::future::{poll_fn, Future};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// How many times an HTTP/1.1 connection's future is polled to serve `request`, written
    /// whole (head and body in one write), until the connection waits for the next request.
    async fn polls_to_serve(request: &'static [u8]) -> usize {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
            req.into_body().collect().await?;
            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(b"done"))))
        });
        let mut conn = Box::pin(
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), svc),
        );
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = {
            let polls = polls.clone();
            poll_fn(move |cx| {
                polls.fetch_add(1, Ordering::Relaxed);
                conn.as_mut().poll(cx)
            })
        };
        let task = tokio::spawn(counted);
        client.write_all(request).await.unwrap();
        let mut out = Vec::new();
        while !out.ends_with(b"\r\n\r\ndone") {
            let mut buf = [0u8; 1024];
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed early: {out:?}");
            out.extend_from_slice(&buf[..n]);
        }
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"), "{out:?}");
        // Whatever else the connection's task was woken for runs now (one thread).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let polls = polls.load(Ordering::Relaxed);
        drop(client);
        task.await.unwrap().unwrap();
        polls
    }

    /// A request body that arrives with its head costs the connection no extra poll: taking
    /// the body's only chunk must not wake the connection's task once hyper has finished
    /// reading the body. Upstream hyper 1.12 woke it (a second poll of the whole connection
    /// per POST, about 5% of a proxied 2 KB POST's instructions); `vendor/hyper` carries the
    /// fix (`src/body/chan.rs`, see `vendor/README.md`).
    #[tokio::test]
    async fn a_body_read_with_its_head_costs_no_extra_poll() {
        let get = polls_to_serve(b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n").await;
        let post =
            polls_to_serve(b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello").await;
        assert_eq!(
            post, get,
            "a POST polled the connection {post} times, a GET {get}"
        );
    }
}
