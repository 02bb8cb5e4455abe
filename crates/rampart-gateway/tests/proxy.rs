//! The http integration over real sockets: methods, headers, query, bodies (streamed both
//! ways), status codes, HTTP/2 upstreams, connection reuse, and upstreams that are down,
//! slow or resetting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Response;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn api(routes: &str) -> String {
    format!(
        "{}apis:\n  - name: api\n    stages: [prod]\n    public: true\n    routes:\n{routes}",
        server_section("")
    )
}

fn http_route(path: &str, url: &str, extra: &str) -> String {
    format!("      - {{method: ANY, path: '{path}', integration: {{type: http, url: '{url}'{extra}}}}}\n")
}

/// A backend answering `status` for `/status/N`, echoing method, headers and body size.
async fn status_backend() -> SocketAddr {
    backend(|req: http::Request<hyper::body::Incoming>| async move {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let status: u16 = parts
            .uri
            .path()
            .strip_prefix("/status/")
            .and_then(|s| s.parse().ok())
            .unwrap_or(200);
        // A field sent more than once shows as its values joined by " | ".
        let mut headers = serde_json::Map::new();
        for k in parts.headers.keys() {
            let all: Vec<&str> = parts
                .headers
                .get_all(k)
                .iter()
                .map(|v| v.to_str().unwrap_or(""))
                .collect();
            headers.insert(k.to_string(), all.join(" | ").into());
        }
        let v = serde_json::json!({
            "method": parts.method.as_str(),
            "version": format!("{:?}", parts.version),
            "headers": headers,
            "len": body.len(),
            "sum": body.iter().map(|b| *b as u64).sum::<u64>(),
        });
        let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r.headers_mut().insert("x-backend", "yes".parse().unwrap());
        if status == 302 {
            r.headers_mut()
                .insert("location", "/elsewhere".parse().unwrap());
        }
        r
    })
    .await
}

#[tokio::test]
async fn methods_status_codes_and_query() {
    let b = status_backend().await;
    let g = start(&api(&http_route(
        "/{proxy+}",
        &format!("http://{b}/{{proxy}}"),
        "",
    )))
    .await;
    let a = g.addr("main");
    for m in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = request(a, m, "/prod/anything", &[], b"").await;
        assert_eq!(r.status, 200, "{m}");
        assert_eq!(r.json()["method"], m);
    }
    for s in [201u16, 202, 302, 400, 404, 418, 500, 503] {
        let r = get(a, &format!("/prod/status/{s}")).await;
        assert_eq!(r.status, s, "upstream status {s} is passed through");
        assert_eq!(r.header("x-backend").as_deref(), Some("yes"));
    }
    assert_eq!(
        get(a, "/prod/status/302")
            .await
            .header("location")
            .as_deref(),
        Some("/elsewhere")
    );
    let r = get(a, "/prod/status/204").await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    // HEAD has no body even though the upstream's GET would.
    let r = request(a, "HEAD", "/prod/x", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn request_headers_are_forwarded_minus_hop_by_hop() {
    let b = status_backend().await;
    let yaml = api(&format!(
        "{}{}",
        http_route("/{proxy+}", &format!("http://{b}/{{proxy}}"), ""),
        http_route(
            "/keep/{proxy+}",
            &format!("http://{b}/{{proxy}}"),
            ", preserve_host: true"
        )
    ));
    let g = start(&yaml).await;
    let a = g.addr("main");
    let r = request(
        a,
        "GET",
        "/prod/h",
        &[
            ("x-custom", "one"),
            ("authorization", "Bearer token-for-backend"),
            ("connection", "close, x-hop"),
            ("x-hop", "must-not-pass"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("te", "trailers"),
            // The gateway's own fields replace the client's.
            ("x-forwarded-host", "evil.test"),
            ("x-forwarded-proto", "https"),
            ("x-request-id", "chosen-by-the-client"),
            ("x-forwarded-port", "8443"),
        ],
        b"",
    )
    .await;
    let h = &r.json()["headers"];
    assert!(h.get("x-forwarded-port").is_none(), "{h}");
    assert_eq!(h["x-custom"], "one");
    assert_eq!(h["authorization"], "Bearer token-for-backend");
    for hop in ["x-hop", "keep-alive", "proxy-authorization", "te"] {
        assert!(h.get(hop).is_none(), "{hop} was forwarded");
    }
    assert_eq!(h["host"], b.to_string(), "Host is the upstream's authority");
    assert_eq!(h["x-forwarded-host"], "test");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(
        h["x-request-id"].as_str(),
        r.header("x-request-id").as_deref()
    );
    let r = get(a, "/prod/keep/h").await;
    assert_eq!(
        r.json()["headers"]["host"],
        "test",
        "preserve_host keeps the client's Host"
    );
}

#[tokio::test]
async fn bodies_pass_intact_in_both_directions() {
    let b = status_backend().await;
    let g = start(&api(&http_route(
        "/{proxy+}",
        &format!("http://{b}/{{proxy}}"),
        "",
    )))
    .await;
    let a = g.addr("main");
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sum: u64 = body.iter().map(|b| *b as u64).sum();
    let r = request(
        a,
        "POST",
        "/prod/big",
        &[("content-type", "application/octet-stream")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["len"], body.len());
    assert_eq!(r.json()["sum"], sum);
    // Chunked request body.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"POST /prod/chunked HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s).await.unwrap();
    assert_eq!(r.json()["len"], 11);
}

/// A backend on a raw socket that reports when the first request-body bytes arrive, and
/// sends its response body in two parts with a pause the test controls.
async fn streaming_backend(
    got_first_bytes: tokio::sync::mpsc::UnboundedSender<()>,
    release: Arc<tokio::sync::Notify>,
) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        // Read the head and the first body chunk.
        loop {
            let n = s.read(&mut tmp).await.unwrap();
            buf.extend_from_slice(&tmp[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                if buf.len() > i + 4 && buf[i + 4..].windows(5).any(|w| w == b"part1") {
                    break;
                }
            }
        }
        got_first_bytes.send(()).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst;\r\n")
            .await
            .unwrap();
        release.notified().await;
        // Drain the rest of the request body, then finish the response.
        loop {
            if buf.windows(5).any(|w| w == b"0\r\n\r\n") {
                break;
            }
            let n = s.read(&mut tmp).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&tmp[..n]);
        }
        s.write_all(b"5\r\nlast.\r\n0\r\n\r\n").await.unwrap();
    });
    addr
}

#[tokio::test]
async fn bodies_stream_without_buffering() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let b = streaming_backend(tx, release.clone()).await;
    let g = start(&api(&http_route("/s", &format!("http://{b}/s"), ""))).await;
    let mut c = TcpStream::connect(g.addr("main")).await.unwrap();
    c.write_all(
        b"POST /prod/s HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5\r\npart1\r\n",
    )
    .await
    .unwrap();
    // The backend sees the first part while the client has not finished its body.
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("request body was not streamed to the upstream");
    // And the client sees the first part of the response before the upstream finishes.
    let mut got = Vec::new();
    let mut tmp = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(5), async {
        while !got.windows(6).any(|w| w == b"first;") {
            let n = c.read(&mut tmp).await.unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&tmp[..n]);
        }
    })
    .await
    .expect("response body was not streamed to the client");
    c.write_all(b"5\r\npart2\r\n0\r\n\r\n").await.unwrap();
    release.notify_one();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !got.windows(5).any(|w| w == b"last.") {
            let n = c.read(&mut tmp).await.unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&tmp[..n]);
        }
    })
    .await
    .expect("end of the response");
}

#[tokio::test]
async fn http2_upstream_and_connection_reuse() {
    let b = status_backend().await;
    let yaml = api(&format!(
        "{}{}",
        http_route("/h1/{proxy+}", &format!("http://{b}/{{proxy}}"), ""),
        http_route(
            "/h2/{proxy+}",
            &format!("http://{b}/{{proxy}}"),
            ", http2: true"
        )
    ));
    let g = start(&yaml).await;
    let a = g.addr("main");
    assert_eq!(get(a, "/prod/h1/x").await.json()["version"], "HTTP/1.1");
    assert_eq!(get(a, "/prod/h2/x").await.json()["version"], "HTTP/2.0");
    // Over HTTP/2 the gateway's fields replace the client's too, and hop-by-hop ones stay.
    let r = request(
        a,
        "GET",
        "/prod/h2/x",
        &[
            ("x-forwarded-proto", "https"),
            ("x-custom", "one"),
            ("connection", "x-hop"),
            ("x-hop", "must-not-pass"),
        ],
        b"",
    )
    .await;
    let h = &r.json()["headers"];
    assert_eq!(h["x-forwarded-proto"], "http", "{h}");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1", "{h}");
    assert_eq!(h["x-custom"], "one", "{h}");
    assert!(
        h.get("x-hop").is_none() && h.get("connection").is_none(),
        "{h}"
    );

    // Count upstream connections: sequential requests reuse one pooled connection.
    let accepted = Arc::new(AtomicUsize::new(0));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"pooled",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    // Two workers, each with its own pool: at most two upstream connections.
    let g2 = start(
        &api(&http_route("/p", &format!("http://{up}/p"), ""))
            .replace("server:\n", "server:\n  workers: 2\n"),
    )
    .await;
    for _ in 0..20 {
        assert_eq!(get(g2.addr("main"), "/prod/p").await.text(), "pooled");
    }
    let n = accepted.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&n),
        "upstream connections are kept alive and reused per worker: {n} for 20 requests"
    );
}

fn assert_generic(r: &RawResponse, status: u16, message: &str, port: u16) {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert_eq!(v["message"], message);
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "only message and requestId: {v}"
    );
    let text = r.text().to_lowercase();
    for leak in [
        "127.0.0.1",
        &port.to_string(),
        "refused",
        "connect",
        "reset",
        "error",
        "hyper",
        "tcp",
    ] {
        assert!(!text.contains(leak), "response leaks `{leak}`: {text}");
    }
}

#[tokio::test]
async fn upstream_down_slow_and_resetting() {
    // Down: a port nobody listens on.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    // Slow: answers after 2 s.
    let slow = backend(|_req| async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Response::new(Full::new(Bytes::from_static(b"late")))
    })
    .await;
    // Resetting: accepts, reads, and closes with RST.
    let reset_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reset = reset_l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = reset_l.accept().await.unwrap();
            let mut tmp = [0u8; 1024];
            let _ = s.read(&mut tmp).await;
            let _ = s.set_zero_linger();
            drop(s);
        }
    });
    // Stalling body: sends a head and part of the body, then nothing.
    let stall_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stall = stall_l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = stall_l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut tmp = [0u8; 1024];
                let _ = s.read(&mut tmp).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly-some")
                    .await;
                tokio::time::sleep(Duration::from_secs(10)).await;
            });
        }
    });
    let yaml = api(&format!(
        "{}{}{}{}",
        http_route(
            "/down",
            &format!("http://{down}/x"),
            ", connect_timeout: 1s"
        ),
        http_route("/slow", &format!("http://{slow}/x"), ", timeout: 300ms"),
        http_route("/reset", &format!("http://{reset}/x"), ""),
        http_route("/stall", &format!("http://{stall}/x"), ", timeout: 500ms"),
    ));
    let g = start(&yaml).await;
    let a = g.addr("main");
    assert_generic(&get(a, "/prod/down").await, 502, "Bad Gateway", down.port());
    let t0 = std::time::Instant::now();
    assert_generic(
        &get(a, "/prod/slow").await,
        504,
        "Endpoint request timed out",
        slow.port(),
    );
    assert!(
        t0.elapsed() < Duration::from_millis(1900),
        "timeout honoured"
    );
    assert_generic(
        &get(a, "/prod/reset").await,
        502,
        "Bad Gateway",
        reset.port(),
    );
    // A body that stalls past the timeout is cut off: the client never gets a full response.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"GET /prod/stall HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    assert!(r.is_ok(), "connection closed after the body deadline");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.contains(&"x".repeat(91)), "body incomplete");
    let log = g.access_log(4).await;
    let stalled = log.iter().find(|e| e["path"] == "/prod/stall").unwrap();
    assert_eq!(stalled["complete"], false);
    let errs: Vec<_> = log.iter().filter_map(|e| e["error"].as_str()).collect();
    assert_eq!(
        errs,
        [
            "INTEGRATION_FAILURE",
            "INTEGRATION_TIMEOUT",
            "INTEGRATION_FAILURE"
        ]
    );
}
