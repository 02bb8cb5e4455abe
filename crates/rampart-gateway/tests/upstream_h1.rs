//! The HTTP/1.1 upstream side of the proxy, against raw-socket upstreams that answer with
//! exact bytes: response framings (chunked with extensions and trailers, close-delimited,
//! interim 1xx, HEAD, 204, bodies split across writes, chunked plus content-length,
//! hop-by-hop fields left behind), when a connection is reused and when it must not be,
//! upstreams that close idle connections, broken responses (including a 101: upgrades are
//! not proxied), and how request bodies are framed for the upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the raw upstream does for one request: write these pieces (pausing between
/// them), then keep the connection or close it.
struct Answer {
    pieces: Vec<Vec<u8>>,
    close: bool,
}

fn answer(bytes: &[u8]) -> Answer {
    Answer {
        pieces: vec![bytes.to_vec()],
        close: false,
    }
}

/// A request as the upstream received it: head, and the body decoded.
type Received = (String, Vec<u8>);

struct RawUpstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Each request as received: head, and the body decoded.
    requests: Arc<Mutex<Vec<Received>>>,
}

impl RawUpstream {
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn last_request(&self) -> Received {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }
}

/// Read one request (head, and a content-length or chunked body) from `s`.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Received> {
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let lower = head.to_ascii_lowercase();
    let mut body = Vec::new();
    if let Some(len) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        while buf.len() < len {
            let n = s.read(&mut tmp).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&tmp[..n]);
        }
        body = buf.drain(..len).collect();
    } else if lower.contains("transfer-encoding: chunked") {
        loop {
            // Decode whole chunks from the front of the buffer.
            if let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") {
                let size =
                    usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).unwrap(), 16)
                        .unwrap();
                if size == 0 && buf.len() >= line_end + 4 {
                    buf.drain(..line_end + 4);
                    break;
                }
                if size > 0 && buf.len() >= line_end + 2 + size + 2 {
                    body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
                    buf.drain(..line_end + 2 + size + 2);
                    continue;
                }
            }
            let n = s.read(&mut tmp).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&tmp[..n]);
        }
    }
    Some((head, body))
}

/// An upstream on a raw socket: `respond(method, path)` decides the exact bytes.
async fn raw_upstream(respond: fn(&str, &str) -> Answer) -> RawUpstream {
    raw_upstream_by_position(move |method, path, _| respond(method, path)).await
}

/// [`raw_upstream`] where the answer may also depend on the request's position on its
/// connection (0 for the first).
async fn raw_upstream_by_position(
    respond: impl Fn(&str, &str, usize) -> Answer + Copy + Send + Sync + 'static,
) -> RawUpstream {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let r = r.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut position = 0;
                while let Some((head, body)) = read_request(&mut s, &mut buf).await {
                    let mut words = head.split_whitespace();
                    let method = words.next().unwrap_or("").to_string();
                    let path = words.next().unwrap_or("").to_string();
                    r.lock().unwrap().push((head, body));
                    let a = respond(&method, &path, position);
                    position += 1;
                    for (i, p) in a.pieces.iter().enumerate() {
                        if i > 0 {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                        }
                        if s.write_all(p).await.is_err() {
                            return;
                        }
                    }
                    if a.close {
                        return;
                    }
                }
            });
        }
    });
    RawUpstream {
        addr,
        connections,
        requests,
    }
}

/// One worker, so that every request uses the same upstream pool.
async fn gateway_to(up: SocketAddr) -> TestGateway {
    let yaml = format!(
        "{}apis:\n  - name: api\n    stages: [prod]\n    public: true\n    routes:\n      - {{method: ANY, path: '/{{proxy+}}', integration: {{type: http, url: 'http://{up}/{{proxy}}', timeout: 2s}}}}\n",
        server_section("").replace("server:\n", "server:\n  workers: 1\n")
    );
    start(&yaml).await
}

/// Requests on one kept-alive client connection.
async fn send(c: &mut TcpStream, method: &str, path: &str, extra: &str) -> RawResponse {
    c.write_all(format!("{method} /prod{path} HTTP/1.1\r\nhost: t\r\n{extra}\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), read_response(c))
        .await
        .expect("no response")
        .unwrap()
}

fn framings(method: &str, path: &str) -> Answer {
    match (method, path) {
        (_, "/chunked") => answer(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
        ),
        (_, "/hop") => answer(
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Conn-Private\r\nX-Conn-Private: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nX-End: yes\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ),
        (_, "/close") => Answer {
            pieces: vec![b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ".to_vec(), b"close".to_vec()],
            close: true,
        },
        (_, "/interim") => answer(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        ),
        ("HEAD", _) => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\nx-head: yes\r\n\r\n"),
        (_, "/nocontent") => answer(b"HTTP/1.1 204 No Content\r\nx-empty: yes\r\n\r\n"),
        (_, "/split") => Answer {
            pieces: vec![
                b"HTTP/1.1 200 OK\r\ncont".to_vec(),
                b"ent-length: 11\r\n\r\nfirst".to_vec(),
                b" last".to_vec(),
                b"!".to_vec(),
            ],
            close: false,
        },
        (_, "/split-chunked") => Answer {
            pieces: vec![
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r".to_vec(),
                b"\nabc\r\n".to_vec(),
                b"3\r\ndef\r\n0\r\n".to_vec(),
                b"\r\n".to_vec(),
            ],
            close: false,
        },
        _ => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    }
}

#[tokio::test]
async fn response_framings_reach_the_client_intact() {
    let up = raw_upstream(framings).await;
    let g = gateway_to(up.addr).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();

    let r = send(&mut c, "GET", "/chunked", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"));
    let r = send(&mut c, "GET", "/interim", "").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (201, "ok"),
        "interim 1xx skipped"
    );
    // HEAD: the head only, with the length a GET would have.
    c.write_all(b"HEAD /prod/head HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            c.read(&mut byte).await.unwrap(),
            1,
            "closed in the HEAD response"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("x-head: yes") && head.contains("content-length: 10"),
        "{head}"
    );
    let r = send(&mut c, "GET", "/nocontent", "").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-empty").as_deref(), Some("yes"));
    let r = send(&mut c, "GET", "/split", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "first last!"));
    let r = send(&mut c, "GET", "/split-chunked", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "abcdef"));
    // Hop-by-hop fields (any case), the ones Connection names and a length the transfer
    // coding voids stay behind; end-to-end fields pass.
    let r = send(&mut c, "GET", "/hop", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(r.header("x-end").as_deref(), Some("yes"));
    for gone in ["x-conn-private", "keep-alive"] {
        assert_eq!(r.header(gone), None, "{gone} reached the client");
    }
    assert_ne!(r.header("content-length").as_deref(), Some("99"));
    // All of the above kept one upstream connection in a good state.
    assert_eq!(
        up.connections(),
        1,
        "one upstream connection for all of them"
    );
    let r = send(&mut c, "GET", "/ok", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(up.connections(), 1);

    // A body delimited by the end of the connection arrives whole; that connection is
    // not reused.
    let r = send(&mut c, "GET", "/close", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "until close"));
    let r = send(&mut c, "GET", "/ok", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(up.connections(), 2);
}

fn reuse(_method: &str, path: &str) -> Answer {
    match path {
        "/close-header" => answer(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"),
        "/stray" => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokJUNK"),
        "/http10" => answer(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"),
        "/both" => answer(
            b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ),
        _ => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nsame"),
    }
}

#[tokio::test]
async fn connections_are_reused_only_when_that_is_safe() {
    let up = raw_upstream(reuse).await;
    let g = gateway_to(up.addr).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();
    for _ in 0..5 {
        assert_eq!(send(&mut c, "GET", "/x", "").await.text(), "same");
    }
    assert_eq!(
        up.connections(),
        1,
        "sequential requests share one connection"
    );
    // Each of these leaves its connection unusable: the next request opens another one and
    // gets its own answer (never the stray bytes of the previous one).
    let mut expected = 1;
    for path in ["/close-header", "/stray", "/http10"] {
        let r = send(&mut c, "GET", path, "").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{path}");
        let r = send(&mut c, "GET", "/x", "").await;
        assert_eq!(r.text(), "same", "after {path}");
        expected += 1;
        assert_eq!(up.connections(), expected, "{path} must not be reused");
    }
    // Both framings: chunked wins, and the void length does not reach the client (where it
    // would describe a body it does not frame).
    let r = send(&mut c, "GET", "/both", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(r.header("content-length"), None, "{}", r.head);
    assert_eq!(send(&mut c, "GET", "/x", "").await.text(), "same");
}

fn closes_quietly(_method: &str, _path: &str) -> Answer {
    // Keep-alive by every sign, but the upstream closes the connection right after.
    Answer {
        pieces: vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec()],
        close: true,
    }
}

#[tokio::test]
async fn an_upstream_that_closes_idle_connections_causes_no_errors() {
    let up = raw_upstream(closes_quietly).await;
    let g = gateway_to(up.addr).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();
    // Back to back: an idempotent request that meets the closed connection is retried.
    for i in 0..10 {
        let r = send(&mut c, "GET", "/x", "").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "GET {i}");
    }
    // With a pause (the close has been seen), a POST with a body is not sent on the dead
    // connection either.
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = send(&mut c, "POST", "/x", "content-length: 3\r\n\r\nabc").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "POST {i}");
        assert_eq!(up.last_request().1, b"abc");
    }
}

/// Answers the first request on each connection (keeping it open) and closes the
/// connection, unanswered, when a second request arrives on it: the race of a keep-alive
/// timeout.
fn first_request_only(_method: &str, _path: &str, position: usize) -> Answer {
    match position {
        0 => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst"),
        _ => Answer {
            pieces: vec![],
            close: true,
        },
    }
}

#[tokio::test]
async fn a_request_lost_to_a_closing_connection_is_retried_only_when_safe() {
    let up = raw_upstream_by_position(first_request_only).await;
    let g = gateway_to(up.addr).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();
    let r = send(&mut c, "GET", "/a", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "first"));
    // The idle connection looks fine, the upstream drops the request sent on it: a GET
    // without a body is sent again on a new connection.
    let r = send(&mut c, "GET", "/b", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "first"), "GET retried");
    assert_eq!(up.connections(), 2);
    assert_eq!(up.requests.lock().unwrap().len(), 3);
    // A POST with a body is not: the upstream might have acted on it.
    let r = send(&mut c, "POST", "/c", "content-length: 3\r\n\r\nabc").await;
    assert_eq!(r.status, 502, "POST not retried: {}", r.text());
    assert_eq!(up.connections(), 2);
    assert_eq!(up.requests.lock().unwrap().len(), 4);
    // The next request goes on a new connection.
    let r = send(&mut c, "GET", "/d", "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "first"));
}

fn broken(_method: &str, path: &str) -> Answer {
    match path {
        "/bad-length" => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\nok"),
        "/conflict" => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"),
        "/garbage" => answer(b"NOT HTTP AT ALL\r\n\r\n"),
        "/upgrade" => answer(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"),
        "/huge-head" => {
            let mut h = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..700 {
                h.extend_from_slice(format!("x-h{i}: {}\r\n", "v".repeat(100)).as_bytes());
            }
            h.extend_from_slice(b"\r\n");
            answer(&h)
        }
        "/closed-in-head" => Answer {
            pieces: vec![b"HTTP/1.1 200 OK\r\ncontent-le".to_vec()],
            close: true,
        },
        "/nothing" => Answer {
            pieces: vec![],
            close: true,
        },
        "/bad-chunk" => answer(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"),
        _ => answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    }
}

#[tokio::test]
async fn broken_upstream_responses_are_502_without_detail() {
    let up = raw_upstream(broken).await;
    let g = gateway_to(up.addr).await;
    let a = g.addr("main");
    for path in [
        "/bad-length",
        "/conflict",
        "/garbage",
        "/upgrade",
        "/huge-head",
        "/closed-in-head",
        "/nothing",
    ] {
        let r = get(a, &format!("/prod{path}")).await;
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        let v = r.json();
        assert_eq!(v["message"], "Bad Gateway", "{path}");
        let text = r.text().to_lowercase();
        for leak in [
            "content-length",
            "chunk",
            "upgrade",
            "head",
            "closed",
            "127.0.0.1",
        ] {
            assert!(
                !text.contains(leak),
                "{path}: response leaks `{leak}`: {text}"
            );
        }
    }
    // A chunked body that turns out malformed after the head was sent: the client gets a
    // cut-off response, never a complete-looking one.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"GET /prod/bad-chunk HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    let got = String::from_utf8_lossy(&got);
    // Either nothing (the error came before the head was written) or a cut-off response.
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        !got.ends_with("0\r\n\r\n"),
        "a cut-off body must not end cleanly: {got:?}"
    );
    // The gateway is fine afterwards.
    assert_eq!(get(a, "/prod/ok").await.text(), "ok");
}

fn echo_len(_method: &str, _path: &str) -> Answer {
    answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
}

#[tokio::test]
async fn request_bodies_are_framed_for_the_upstream() {
    let up = raw_upstream(echo_len).await;
    let g = gateway_to(up.addr).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();
    let header = |head: &str, name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };

    // A body of known length goes with content-length.
    send(&mut c, "POST", "/a", "content-length: 5\r\n\r\nhello").await;
    let (head, body) = up.last_request();
    assert!(head.starts_with("POST /a HTTP/1.1\r\n"), "{head}");
    assert_eq!(header(&head, "content-length").as_deref(), Some("5"));
    assert_eq!(header(&head, "transfer-encoding"), None);
    assert_eq!(body, b"hello");

    // A chunked client body stays chunked, and arrives the same.
    send(
        &mut c,
        "PUT",
        "/b",
        "transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n",
    )
    .await;
    let (head, body) = up.last_request();
    assert_eq!(
        header(&head, "transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert_eq!(header(&head, "content-length"), None);
    assert_eq!(body, b"abcdefg");

    // No body: no framing header on a GET; an empty POST keeps its `content-length: 0`.
    send(&mut c, "GET", "/c", "").await;
    let (head, _) = up.last_request();
    assert_eq!(header(&head, "content-length"), None, "{head}");
    assert_eq!(header(&head, "transfer-encoding"), None, "{head}");
    send(&mut c, "POST", "/d", "content-length: 0\r\n").await;
    let (head, _) = up.last_request();
    assert_eq!(
        header(&head, "content-length").as_deref(),
        Some("0"),
        "{head}"
    );

    // `expect: 100-continue` is answered by the gateway and not passed on.
    c.write_all(
        b"POST /prod/e HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n",
    )
    .await
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), read_response(&mut c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 100);
    c.write_all(b"body").await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), read_response(&mut c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let (head, body) = up.last_request();
    assert_eq!(header(&head, "expect"), None, "{head}");
    assert_eq!(body, b"body");
    assert_eq!(up.connections(), 1);
}
