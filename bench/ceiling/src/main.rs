//! How fast can a proxy on this machine be with the parts Rampart is built from? Three
//! deliberately minimal HTTP/1.1 reverse proxies, each with one upstream connection per
//! client connection, two worker threads with one current-thread tokio runtime each and
//! `SO_REUSEPORT` (Rampart's model), content-length bodies only, no error handling worth
//! the name. Not a product: a yardstick for `bench/run.sh`'s figures (README, Benchmarks).
//!
//! ```text
//! ceiling LISTEN UPSTREAM raw   # hand-written: httparse, one task per connection
//! ceiling LISTEN UPSTREAM hh    # hyper's HTTP/1.1 server and hyper's client connection
//! ceiling LISTEN UPSTREAM hr    # hyper's server, hand-written upstream exchange
//! ```

use rampart_alloc::Allocator;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[global_allocator]
static GLOBAL: Allocator = Allocator;

const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or("127.0.0.1:28090".into())
        .parse()
        .unwrap();
    let up: SocketAddr = std::env::args()
        .nth(2)
        .unwrap_or("127.0.0.1:28000".into())
        .parse()
        .unwrap();
    let mode = std::env::args().nth(3).unwrap_or("raw".into());
    let mut hs = vec![];
    for _ in 0..2 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_reuse_port(true).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind(&addr.into()).unwrap();
        s.listen(1024).unwrap();
        s.set_nonblocking(true).unwrap();
        let std_l: std::net::TcpListener = s.into();
        let mode = mode.clone();
        hs.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = TcpListener::from_std(std_l).unwrap();
                loop {
                    let (c, peer) = l.accept().await.unwrap();
                    c.set_nodelay(true).unwrap();
                    match mode.as_str() {
                        "hh" => {
                            tokio::spawn(async move {
                                let _ = hh(c, peer, up).await;
                            });
                        }
                        "hr" => {
                            tokio::spawn(async move {
                                let _ = hr(c, peer, up).await;
                            });
                        }
                        _ => {
                            tokio::spawn(async move {
                                let _ = conn(c, peer, up).await;
                            });
                        }
                    }
                }
            });
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
}

async fn read_head(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
) -> std::io::Result<usize> {
    loop {
        if let Some(p) = memfind(&buf[..*filled], b"\r\n\r\n") {
            return Ok(p + 4);
        }
        if buf.len() - *filled < 4096 {
            buf.resize(buf.len() + 8192, 0);
        }
        let n = s.read(&mut buf[*filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        *filled += n;
    }
}
/// Reads until `buf` holds `end` bytes; false if the peer closed first.
async fn read_body(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    end: usize,
) -> std::io::Result<bool> {
    while *filled < end {
        if buf.len() < end {
            buf.resize(end, 0);
        }
        let n = s.read(&mut buf[*filled..]).await?;
        if n == 0 {
            return Ok(false);
        }
        *filled += n;
    }
    Ok(true)
}

/// Copies the end-to-end headers as `name: value` lines; returns the content length.
fn copy_headers(out: &mut Vec<u8>, headers: &[httparse::Header<'_>]) -> usize {
    let mut len = 0;
    for h in headers {
        if HOP.iter().any(|x| h.name.eq_ignore_ascii_case(x)) {
            continue;
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    len
}

fn memfind(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

async fn conn(mut c: TcpStream, peer: SocketAddr, up: SocketAddr) -> std::io::Result<()> {
    let mut u: Option<TcpStream> = None;
    let mut cb = vec![0u8; 8192];
    let mut cf = 0usize;
    let mut ub = vec![0u8; 8192];
    let mut uf = 0usize;
    let mut out = Vec::with_capacity(4096);
    loop {
        let hl = read_head(&mut c, &mut cb, &mut cf).await?;
        let mut hdrs = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut hdrs);
        req.parse(&cb[..hl])
            .map_err(|_| std::io::ErrorKind::InvalidData)?;
        out.clear();
        out.extend_from_slice(req.method.unwrap().as_bytes());
        out.push(b' ');
        out.extend_from_slice(req.path.unwrap().as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let clen = copy_headers(&mut out, req.headers);
        out.extend_from_slice(
            format!(
                "x-forwarded-for: {}\r\nx-request-id: 0123456789abcdef\r\n\r\n",
                peer.ip()
            )
            .as_bytes(),
        );
        // body
        if !read_body(&mut c, &mut cb, &mut cf, hl + clen).await? {
            return Ok(());
        }
        out.extend_from_slice(&cb[hl..hl + clen]);
        cb.copy_within(hl + clen..cf, 0);
        cf -= hl + clen;
        if u.is_none() {
            let s = TcpStream::connect(up).await?;
            s.set_nodelay(true)?;
            u = Some(s);
        }
        let us = u.as_mut().unwrap();
        us.write_all(&out).await?;
        let rhl = read_head(us, &mut ub, &mut uf).await?;
        let mut rh = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut rh);
        resp.parse(&ub[..rhl])
            .map_err(|_| std::io::ErrorKind::InvalidData)?;
        out.clear();
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                resp.code.unwrap(),
                resp.reason.unwrap_or("")
            )
            .as_bytes(),
        );
        let rlen = copy_headers(&mut out, resp.headers);
        out.extend_from_slice(b"\r\n");
        if !read_body(us, &mut ub, &mut uf, rhl + rlen).await? {
            return Ok(());
        }
        out.extend_from_slice(&ub[rhl..rhl + rlen]);
        ub.copy_within(rhl + rlen..uf, 0);
        uf -= rhl + rlen;
        c.write_all(&out).await?;
    }
}

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::Arc;

fn strip(h: &mut http::HeaderMap) {
    for x in HOP {
        h.remove(*x);
    }
}

async fn hh(c: TcpStream, peer: SocketAddr, up: SocketAddr) -> std::io::Result<()> {
    let u = TcpStream::connect(up).await?;
    u.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(u))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let send = Arc::new(tokio::sync::Mutex::new(send));
    let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let send = send.clone();
        async move {
            let (mut parts, body) = req.into_parts();
            strip(&mut parts.headers);
            parts.headers.insert(
                "x-forwarded-for",
                http::HeaderValue::from_str(&peer.ip().to_string()).unwrap(),
            );
            parts.headers.insert(
                "x-request-id",
                http::HeaderValue::from_static("0123456789abcdef"),
            );
            let r = send
                .lock()
                .await
                .send_request(http::Request::from_parts(parts, body))
                .await;
            match r {
                Ok(mut resp) => {
                    strip(resp.headers_mut());
                    Ok::<_, hyper::Error>(resp)
                }
                Err(e) => Err(e),
            }
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(c), svc)
        .await;
    Ok(())
}

async fn hr(c: TcpStream, peer: SocketAddr, up: SocketAddr) -> std::io::Result<()> {
    let u = TcpStream::connect(up).await?;
    u.set_nodelay(true)?;
    let st = Arc::new(tokio::sync::Mutex::new((u, vec![0u8; 8192], 0usize)));
    let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let st = st.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let mut out = Vec::with_capacity(1024);
            out.extend_from_slice(parts.method.as_str().as_bytes());
            out.push(b' ');
            out.extend_from_slice(
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
                    .as_bytes(),
            );
            out.extend_from_slice(b" HTTP/1.1\r\n");
            for (k, v) in parts.headers.iter() {
                if HOP.iter().any(|x| k.as_str() == *x) {
                    continue;
                }
                out.extend_from_slice(k.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(
                format!(
                    "x-forwarded-for: {}\r\nx-request-id: 0123456789abcdef\r\n\r\n",
                    peer.ip()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&body);
            let mut g = st.lock().await;
            let (us, ub, uf) = &mut *g;
            us.write_all(&out).await.unwrap();
            let rhl = read_head(us, ub, uf).await.unwrap();
            let mut rh = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut rh);
            resp.parse(&ub[..rhl]).unwrap();
            let mut b = http::Response::builder().status(resp.code.unwrap());
            let mut rlen = 0usize;
            for h in resp.headers.iter() {
                if HOP.iter().any(|x| h.name.eq_ignore_ascii_case(x)) {
                    continue;
                }
                if h.name.eq_ignore_ascii_case("content-length") {
                    rlen = std::str::from_utf8(h.value)
                        .unwrap()
                        .trim()
                        .parse()
                        .unwrap();
                    continue;
                }
                b = b.header(h.name, h.value);
            }
            assert!(
                read_body(us, ub, uf, rhl + rlen).await.unwrap(),
                "upstream closed"
            );
            let bytes = Bytes::copy_from_slice(&ub[rhl..rhl + rlen]);
            ub.copy_within(rhl + rlen..*uf, 0);
            *uf -= rhl + rlen;
            Ok::<_, std::convert::Infallible>(b.body(Full::new(bytes)).unwrap())
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(c), svc)
        .await;
    Ok(())
}
