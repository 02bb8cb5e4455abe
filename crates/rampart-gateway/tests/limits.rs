//! Listener limits over real sockets: header bytes (431), body bytes (413), the header
//! read timeout against slowloris (408), the body pace against slow bodies (408), the idle
//! keep-alive timeout, max concurrent connections, and graceful shutdown that drains
//! in-flight requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::Response;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: &str = "  limits:
    max_header_bytes: 2048
    max_body_bytes: 1000
    header_read_timeout: 300ms
    body_read_timeout: 300ms
    body_min_rate: 1000
    idle_timeout: 400ms
    max_connections: 3
    shutdown_grace: 5s
";

/// `server` (a whole server section) and the API of these tests: `GET /prod/hello` (mock
/// "hi") and `ANY /prod/up/{proxy+}` to `upstream`.
fn config(server: &str, upstream: std::net::SocketAddr) -> String {
    format!(
        "{server}apis:
  - name: api
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /hello, integration: {{type: mock, body: hi}}}}
      - {{method: ANY, path: '/up/{{proxy+}}', integration: {{type: http, url: 'http://{upstream}/{{proxy}}'}}}}
"
    )
}

async fn gateway(upstream: std::net::SocketAddr) -> TestGateway {
    start(&config(&server_section(LIMITS), upstream)).await
}

/// A backend that counts requests, reads the body, and can be slow on `/slow`.
async fn counting_backend(count: Arc<AtomicUsize>) -> std::net::SocketAddr {
    backend(move |req: http::Request<hyper::body::Incoming>| {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let slow = req.uri().path() == "/slow";
            let len = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes().len())
                .unwrap_or(0);
            if slow {
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            Response::new(Full::new(Bytes::from(format!("got {len}"))))
        }
    })
    .await
}

#[tokio::test]
async fn header_bytes_limit_is_431_with_uniform_body() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    let ok = request(
        a,
        "GET",
        "/prod/up/x",
        &[("x-fill", &"a".repeat(1500))],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);
    let r = request(
        a,
        "GET",
        "/prod/up/x",
        &[("x-fill", &"a".repeat(2100))],
        b"",
    )
    .await;
    assert_eq!(r.status, 431);
    assert_eq!(r.json()["message"], "Request Header Fields Too Large");
    // Many small headers count too.
    let many: Vec<(String, String)> = (0..60)
        .map(|i| (format!("x-h{i}"), "v".repeat(30)))
        .collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        request(a, "GET", "/prod/up/x", &refs, b"").await.status,
        431
    );
    // A head far beyond the limit is refused by the parser itself, still 431.
    let r = request(
        a,
        "GET",
        "/prod/up/x",
        &[("x-fill", &"a".repeat(64 * 1024))],
        b"",
    )
    .await;
    assert_eq!(r.status, 431);
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "rejected requests never reach the upstream"
    );
}

/// What hyper's parser refuses (before there is a request: no body, no request id) is a
/// 400 or 431, and counted as a refused connection for the operator.
#[tokio::test]
async fn requests_that_are_not_http_are_refused_and_counted() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    let malformed: [&[u8]; 4] = [
        b"GET /prod/up/\x00 HTTP/1.1\r\nhost: t\r\n\r\n",
        b"GET /prod/up/x HTTP/1.1\r\nhost: t\r\nno colon here\r\n\r\n",
        b"GET /prod/up/x HTTP/1.1\r\nhost: t\r\ncontent-length: abc\r\n\r\n",
        b"GET /prod/up/x HTTP/9.9\r\nhost: t\r\n\r\n",
    ];
    for m in malformed {
        let r = raw(a, m).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(m));
    }
    // More than 100 header fields: hyper's limit, whatever their size.
    let many: Vec<(String, String)> = (0..101).map(|i| (format!("x-{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        request(a, "GET", "/prod/up/x", &refs, b"").await.status,
        431
    );
    assert_eq!(count.load(Ordering::SeqCst), 0, "none reached the upstream");
    // Counted when the server's side of the connection ends, which can be just after the
    // client has read the answer: wait for it (up to 5 s).
    let want =
        "rampart_refused_connections_total{listener=\"main\",reason=\"malformed_request\"} 5\n";
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut m = metrics(&g).await;
    while !m.contains(want) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        m = metrics(&g).await;
    }
    assert!(m.contains(want), "{m}");
}

#[tokio::test]
async fn body_bytes_limit_is_413() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    assert_eq!(
        request(a, "POST", "/prod/up/x", &[], &[b'x'; 1000])
            .await
            .text(),
        "got 1000"
    );
    // Declared too large: refused before the upstream is contacted.
    let r = request(a, "POST", "/prod/up/x", &[], &[b'x'; 1001]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["message"], "Request Too Large");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // Chunked, with no declared length: cut off once it passes the limit.
    let mut s = TcpStream::connect(a).await.unwrap();
    let mut req = b"POST /prod/up/x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"190\r\n");
        req.extend_from_slice(&[b'y'; 400]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&req).await.unwrap();
    let r = read_response(&mut s).await.unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["message"], "Request Too Large");
    let log = g.access_log(3).await;
    for e in &log[1..] {
        assert_eq!(e["error"], "REQUEST_TOO_LARGE", "{e}");
        assert_eq!(e["rejected_by"], "listener", "{e}");
    }
}

/// Sends a POST head declaring `len` body bytes to `target`, then the body in `chunks`
/// (written `gap` apart), and reads the answer (within 3 s of the last write). Returns the
/// answer, how long after the head it came, and how many body bytes were written by then.
async fn paced_post(
    a: std::net::SocketAddr,
    target: &str,
    len: usize,
    chunks: &[&[u8]],
    gap: Duration,
) -> (TcpStream, RawResponse, Duration, usize) {
    let mut s = TcpStream::connect(a).await.unwrap();
    let head = format!("POST {target} HTTP/1.1\r\nhost: t\r\ncontent-length: {len}\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let t0 = Instant::now();
    let (mut rd, mut wr) = s.into_split();
    let answer = tokio::spawn(async move {
        let r = tokio::time::timeout(Duration::from_secs(10), read_response(&mut rd)).await;
        (rd, r, t0.elapsed())
    });
    let mut sent = 0;
    for c in chunks {
        if answer.is_finished() || wr.write_all(c).await.is_err() {
            break;
        }
        sent += c.len();
        tokio::time::sleep(gap).await;
    }
    let (rd, r, after) = answer.await.unwrap();
    let r = r.expect("no answer").expect("no response");
    (rd.reunite(wr).unwrap(), r, after, sent)
}

/// The gateway of [`gateway`] plus an API `/guarded` behind a web ACL that inspects bodies
/// (so the gateway reads the body whole before routing on).
async fn gateway_with_waf(upstream: std::net::SocketAddr) -> TestGateway {
    let dir = tempdir();
    let vis =
        r#"{"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"}"#;
    let acl = format!(
        r#"{{"Name": "body", "DefaultAction": {{"Allow": {{}}}}, "VisibilityConfig": {vis}, "Rules": [
        {{"Name": "evil", "Priority": 1, "Action": {{"Block": {{}}}}, "VisibilityConfig": {vis},
          "Statement": {{"ByteMatchStatement": {{"SearchString": "evil", "PositionalConstraint": "CONTAINS",
            "FieldToMatch": {{"Body": {{"OversizeHandling": "MATCH"}}}},
            "TextTransformations": [{{"Priority": 0, "Type": "NONE"}}]}}}}}}]}}"#
    );
    std::fs::write(dir.path().join("body-acl.json"), acl).unwrap();
    let server = format!(
        "{}  waf:\n    web_acls:\n      body: body-acl.json\n",
        server_section(LIMITS)
    );
    let yaml = config(&server, upstream)
        + "  - name: guarded
    base_path: /guarded
    public: true
    web_acl: body
    routes:
      - {method: POST, path: /form, integration: {type: mock, body: taken}}
";
    start_in(dir, &yaml).await
}

#[tokio::test]
async fn slow_request_bodies_get_408_and_steady_ones_pass() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway_with_waf(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    let ms = Duration::from_millis;
    // Body read timeout 300 ms, plus 1 s for every 1000 bytes received.
    for target in ["/prod/up/x", "/guarded/form"] {
        // A body that stops after 10 of 100 bytes: 408 once the client has kept the
        // gateway waiting 300 ms, then the connection is closed.
        let (mut s, r, after, _) = paced_post(a, target, 100, &[&[b'x'; 10]], ms(10)).await;
        assert_eq!(r.status, 408, "{target}: {}", r.text());
        assert_eq!(r.json()["message"], "Request Timeout", "{target}");
        assert!(r.json()["requestId"].is_string(), "{target}: {}", r.text());
        assert!(after >= ms(250), "{target}: answered after {after:?}");
        assert_eq!(r.header("connection").as_deref(), Some("close"), "{target}");
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut rest))
            .await
            .expect("the connection stays open after a body timeout")
            .ok();
        // A body dribbled a byte every 50 ms (20 bytes a second, far under the minimum
        // rate) is held to about the same deadline: cut off long before it could end.
        let bytes = [b'y'; 100];
        let dribble: Vec<&[u8]> = bytes.chunks(1).collect();
        let (_, r, after, sent) = paced_post(a, target, 100, &dribble, ms(50)).await;
        assert_eq!(r.status, 408, "{target}: {}", r.text());
        assert!(
            after < ms(2000) && sent < 40,
            "{target}: {after:?}, {sent} bytes"
        );
        // A body that comes steadily above the minimum rate (100 bytes every 60 ms) takes
        // longer than the timeout in all, and passes.
        let bytes = [b'z'; 1000];
        let steady: Vec<&[u8]> = bytes.chunks(100).collect();
        let (_, r, after, sent) = paced_post(a, target, 1000, &steady, ms(60)).await;
        assert_eq!((r.status, sent), (200, 1000), "{target}: {}", r.text());
        assert!(after >= ms(500), "{target}: answered after {after:?}");
        let want = if target == "/guarded/form" {
            "taken"
        } else {
            "got 1000"
        };
        assert_eq!(r.text(), want);
    }
    let log = g.access_log(6).await;
    let timeouts: Vec<_> = log
        .iter()
        .filter(|e| e["error"] == "REQUEST_TIMEOUT")
        .collect();
    assert_eq!(timeouts.len(), 4, "{log:?}");
    for e in timeouts {
        assert_eq!(e["status"], 408, "{e}");
        assert_eq!(e["rejected_by"], "listener", "{e}");
    }
}

/// Sends a request head that never ends on `s` and reads the answer (within 3 s).
async fn stalled_head(s: &mut TcpStream) -> RawResponse {
    s.write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(3), read_response(s))
        .await
        .expect("no answer to a stalled head")
        .unwrap()
}

#[tokio::test]
async fn slowloris_gets_408_and_idle_connections_close() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    // A head that never completes.
    let mut s = TcpStream::connect(a).await.unwrap();
    let t0 = Instant::now();
    let r = stalled_head(&mut s).await;
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["message"], "Request Timeout");
    assert!(t0.elapsed() >= Duration::from_millis(250));
    // A head dribbled a byte at a time is held to the same deadline.
    let mut s = TcpStream::connect(a).await.unwrap();
    let t0 = Instant::now();
    let dribble = b"GET /prod/hello HTTP/1.1\r\nhost: t\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut answered = None;
    for b in dribble.iter() {
        if s.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        if t0.elapsed() > Duration::from_millis(600) {
            break;
        }
    }
    if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), read_response(&mut s)).await {
        answered = Some(r.status);
    }
    assert_eq!(answered, Some(408), "dribbling client not cut off");
    // Idle keep-alive: after a complete exchange the connection is closed quietly.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut s).await.unwrap().text(), "hi");
    let t0 = Instant::now();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut rest))
        .await
        .expect("idle connection not closed")
        .unwrap_or(0);
    assert_eq!(
        n,
        0,
        "closed without sending anything: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(350),
        "closed too early: {:?}",
        t0.elapsed()
    );
    // A keep-alive connection that is used within the idle timeout stays open.
    let mut s = TcpStream::connect(a).await.unwrap();
    for _ in 0..4 {
        s.write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut s).await.unwrap().text(), "hi");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A slow upstream is not a slow client: no 408 while the response is in flight.
    let r = get(a, "/prod/up/slow").await;
    assert_eq!(r.status, 200);
    let m = metrics(&g).await;
    assert!(
        m.contains(
            "rampart_refused_connections_total{listener=\"main\",reason=\"header_read_timeout\"} 2"
        ),
        "{m}"
    );
}

#[tokio::test]
async fn the_408_is_the_configured_request_timeout_response() {
    // DEFAULT_4XX's headers apply to every 4xx type; REQUEST_TIMEOUT's own message wins.
    let responses = "  responses:
    DEFAULT_4XX:
      headers: {x-gateway: rampart}
    REQUEST_TIMEOUT:
      message: Too slow, try again
      headers: {x-retry: soon}
";
    // No request goes upstream here: the discard port on loopback is never contacted.
    let unused = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    let g = start(&config(
        &server_section(&format!("{LIMITS}{responses}")),
        unused,
    ))
    .await;
    let mut s = TcpStream::connect(g.addr("main")).await.unwrap();
    let r = stalled_head(&mut s).await;
    assert_eq!(r.status, 408);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Too slow, try again"})
    );
    assert_eq!(r.header("x-retry").as_deref(), Some("soon"));
    assert_eq!(r.header("x-gateway").as_deref(), Some("rampart"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    // The connection is closed after it.
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest))
        .await
        .expect("connection left open after the 408")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

/// The guard's timer is re-armed only when it fires, not on every request: a slow head
/// that starts on a connection that has already served requests (its timer armed during
/// an earlier phase) is still cut off on time, and not before.
#[tokio::test]
async fn a_slow_head_after_earlier_requests_gets_408_on_time() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let mut s = TcpStream::connect(g.addr("main")).await.unwrap();
    for pause in [250, 150] {
        s.write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut s).await.unwrap().text(), "hi");
        // Idle, but within the 400 ms idle timeout.
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let t0 = Instant::now();
    let r = stalled_head(&mut s).await;
    assert_eq!(r.status, 408);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(280) && waited < Duration::from_millis(900),
        "408 after {waited:?}; the header timeout is 300 ms"
    );
}

#[tokio::test]
async fn max_connections_refuses_the_extra_ones() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(a).await.unwrap();
        s.write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut s).await.unwrap().status, 200);
        held.push(s);
    }
    let mut extra = TcpStream::connect(a).await.unwrap();
    let _ = extra
        .write_all(b"GET /prod/hello HTTP/1.1\r\nhost: t\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buf))
        .await
        .expect("extra connection neither served nor closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "the fourth connection is closed unserved");
    let m = metrics(&g).await;
    assert!(
        m.contains(
            "rampart_refused_connections_total{listener=\"main\",reason=\"max_connections\"} 1"
        ),
        "{m}"
    );
    assert!(
        m.contains("rampart_open_connections{listener=\"main\"} 3"),
        "{m}"
    );
    // Room again once one closes.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(a, "/prod/hello").await.status, 200);
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests() {
    let count = Arc::new(AtomicUsize::new(0));
    let g = gateway(counting_backend(count.clone()).await).await;
    let a = g.addr("main");
    let inflight = tokio::spawn(async move { get(a, "/prod/up/slow").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count.load(Ordering::SeqCst), 1, "request is in flight");
    let TestGateway { gw, dir: _dir } = g;
    let admin = gw.admin.unwrap();
    assert_eq!(get(admin, "/readyz").await.status, 200);
    let t0 = Instant::now();
    let shutdown = tokio::spawn(gw.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // While it drains, the admin listener stays: not ready, but alive.
    assert_eq!(get(admin, "/readyz").await.status, 503);
    assert_eq!(get(admin, "/healthz").await.status, 200);
    assert!(!shutdown.is_finished(), "still draining");
    shutdown.await.unwrap();
    let r = inflight.await.unwrap();
    assert_eq!(r.status, 200, "in-flight request completed");
    assert_eq!(r.text(), "got 0");
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "shutdown waited for it"
    );
    assert!(TcpStream::connect(a).await.is_err(), "no longer accepting");
    assert!(
        TcpStream::connect(admin).await.is_err(),
        "admin closed at the end"
    );
}
