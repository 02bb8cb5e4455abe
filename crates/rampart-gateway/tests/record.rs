//! Respond and record, end to end: access log fields, credential redaction, Prometheus
//! metrics, request ids and client addresses behind trusted proxies, configured gateway
//! responses, upstream errors that leak nothing, and stripped upstream response headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Response;
use http_body_util::Full;

fn mock(body: &str) -> String {
    format!("{{type: mock, status: 200, headers: {{content-type: text/plain}}, body: {body}}}")
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Is `s` a (hyphenated, lowercase) UUID, as the gateway makes them?
fn looks_like_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
        && s.len() == 36
        && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The echo upstream's view of a request header.
fn echoed_header(r: &RawResponse, name: &str) -> Option<String> {
    r.json()["headers"][name].as_str().map(str::to_string)
}

// ---------------------------------------------------------------------------------------
// 1. Access log fields
// ---------------------------------------------------------------------------------------

const BACKEND_BODY: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz: a known body";

#[tokio::test]
async fn access_log_entry_has_every_field() {
    let up = backend(|_req| async {
        // Take a little time so that both latencies are clearly above zero.
        tokio::time::sleep(Duration::from_millis(5)).await;
        Response::new(Full::new(Bytes::from_static(BACKEND_BODY)))
    })
    .await;
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: ANY, path: '/items/{{id}}', integration: {{type: http, url: 'http://{up}'}}}}
",
        server_section("")
    );
    let g = start(&yaml).await;
    let a = g.addr("main");

    // A non-canonical spelling: the log shows the canonical path.
    let r = request(
        a,
        "GET",
        "/prod/./items//42?q=1",
        &[("user-agent", "record-test/1.0")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, BACKEND_BODY);
    let rid = r
        .header("x-request-id")
        .expect("x-request-id on the response");

    let e = g.access_log(1).await.remove(0);
    assert_eq!(e["request_id"], rid.as_str(), "{e}");
    assert_eq!(e["client_ip"], "127.0.0.1", "{e}");
    assert_eq!(e["listener"], "main", "{e}");
    assert_eq!(e["method"], "GET", "{e}");
    assert_eq!(e["path"], "/prod/items/42", "{e}");
    assert_eq!(e["api"], "shop", "{e}");
    assert_eq!(e["stage"], "prod", "{e}");
    assert_eq!(e["route"], "ANY /items/{id}", "{e}");
    assert_eq!(e["status"], 200, "{e}");
    assert_eq!(e["bytes_sent"], BACKEND_BODY.len() as u64, "{e}");
    assert_eq!(e["complete"], true, "{e}");
    let latency = e["latency_ms"].as_f64().expect("latency_ms is a number");
    assert!(latency > 0.0, "{e}");
    let upstream = e["upstream_latency_ms"]
        .as_f64()
        .expect("upstream_latency_ms is a number for an http route");
    assert!(upstream >= 5.0, "the backend slept 5 ms: {e}");
    assert!(upstream <= latency, "{e}");
    assert_eq!(e["protocol"], "HTTP/1.1", "{e}");
    assert_eq!(e["user_agent"], "record-test/1.0", "{e}");
    assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
    let obj = e.as_object().unwrap();
    // Present, and null: no TLS on this listener, and the layers that fill these are not
    // in place yet.
    for key in [
        "tls_version",
        "client_cert_subject",
        "client_cert_fingerprint",
        "principal",
        "api_key_id",
        "waf_action",
        "error",
        "rejected_by",
    ] {
        assert_eq!(obj.get(key), Some(&serde_json::Value::Null), "{key}: {e}");
    }
    // No request headers are logged unless configured.
    assert!(obj.get("headers").is_none(), "{e}");

    // A rejected request.
    let r = get(a, "/prod/nothing/here").await;
    assert_eq!(r.status, 404);
    let rid = r.header("x-request-id").unwrap();
    let e = g.access_log(2).await.remove(1);
    assert_eq!(e["request_id"], rid.as_str(), "{e}");
    assert_eq!(e["status"], 404, "{e}");
    assert_eq!(e["error"], "RESOURCE_NOT_FOUND", "{e}");
    assert_eq!(e["rejected_by"], "route", "{e}");
    assert_eq!(e["path"], "/prod/nothing/here", "{e}");
    assert!(e["api"].is_null() && e["route"].is_null(), "{e}");
    assert!(e["upstream_latency_ms"].is_null(), "{e}");
    assert_eq!(e["bytes_sent"], r.body.len() as u64, "{e}");
    assert_eq!(e["complete"], true, "{e}");
}

// ---------------------------------------------------------------------------------------
// 2. Redaction
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn credentials_never_reach_the_access_log() {
    let echo = echo_backend().await;
    let yaml = format!(
        "server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  access_log:
    output: access.log
    headers: [authorization, cookie, x-api-key, x-trace, x-secret]
    redact_headers: [x-secret]
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: ANY, path: /echo, integration: {{type: http, url: 'http://{echo}'}}}}
"
    );
    let g = start(&yaml).await;
    let r = request(
        g.addr("main"),
        "GET",
        "/prod/echo?token=SECRET-EEE",
        &[
            ("Authorization", "Bearer SECRET-AAA"),
            ("Cookie", "session=SECRET-BBB"),
            ("X-Api-Key", "SECRET-CCC"),
            ("X-Secret", "SECRET-DDD"),
            ("X-Trace", "visible-trace"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Forwarding is not logging: the upstream still gets the credentials and the query.
    assert_eq!(
        echoed_header(&r, "authorization").as_deref(),
        Some("Bearer SECRET-AAA")
    );
    assert_eq!(
        echoed_header(&r, "cookie").as_deref(),
        Some("session=SECRET-BBB")
    );
    assert_eq!(r.json()["query"], "token=SECRET-EEE");

    let e = g.access_log(1).await.remove(0);
    let text = std::fs::read_to_string(g.access_log_path()).unwrap();
    for secret in [
        "SECRET-AAA",
        "SECRET-BBB",
        "SECRET-CCC",
        "SECRET-DDD",
        "SECRET-EEE",
    ] {
        assert!(!text.contains(secret), "{secret} in the access log: {text}");
    }
    assert!(text.contains("visible-trace"), "{text}");
    // The configured headers, in order, as [name, value] pairs.
    let logged: Vec<(String, String)> = e["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("no headers in {e}"))
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("authorization", "[REDACTED]"),
        ("cookie", "[REDACTED]"),
        ("x-api-key", "[REDACTED]"),
        ("x-trace", "visible-trace"),
        ("x-secret", "[REDACTED]"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(logged, want, "{e}");
    // The query string is not logged at all.
    assert_eq!(e["path"], "/prod/echo", "{e}");
    assert!(!text.contains("token="), "{text}");
}

// ---------------------------------------------------------------------------------------
// 3. Metrics and health
// ---------------------------------------------------------------------------------------

/// Wait until `/metrics` has a line equal to `want` (the recorder runs as the body ends).
async fn expect_metric_line(g: &TestGateway, want: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics(g).await;
        if text.lines().any(|l| l == want) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no line `{want}` in /metrics:\n{text}");
}

#[tokio::test]
async fn metrics_count_requests_rejections_and_latency() {
    let echo = echo_backend().await;
    let closed = closed_port();
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /hello, integration: {}}}
      - {{method: GET, path: /up, integration: {{type: http, url: 'http://{echo}'}}}}
      - {{method: GET, path: /down, integration: {{type: http, url: 'http://127.0.0.1:{closed}'}}}}
",
        server_section(""),
        mock("hi")
    );
    let g = start(&yaml).await;
    let a = g.addr("main");
    for _ in 0..3 {
        assert_eq!(get(a, "/prod/hello").await.status, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(a, "/prod/up").await.status, 200);
    }
    assert_eq!(get(a, "/prod/nope").await.status, 404);
    assert_eq!(get(a, "/prod/down").await.status, 502);

    let text = expect_metric_line(
        &g,
        "rampart_requests_total{api=\"shop\",route=\"GET /down\",status_class=\"5xx\"} 1",
    )
    .await;
    let has = |line: &str| text.lines().any(|l| l == line);
    for line in [
        "rampart_requests_total{api=\"shop\",route=\"GET /hello\",status_class=\"2xx\"} 3",
        "rampart_requests_total{api=\"shop\",route=\"GET /up\",status_class=\"2xx\"} 2",
        // A request that matched no route has empty api and route labels.
        "rampart_requests_total{api=\"\",route=\"\",status_class=\"4xx\"} 1",
        "rampart_request_duration_seconds_count{api=\"shop\",route=\"GET /hello\"} 3",
        "rampart_upstream_duration_seconds_count{api=\"shop\",route=\"GET /up\"} 2",
        "rampart_rejections_total{stage=\"route\",reason=\"RESOURCE_NOT_FOUND\"} 1",
        "rampart_rejections_total{stage=\"integrate\",reason=\"INTEGRATION_FAILURE\"} 1",
    ] {
        assert!(has(line), "no line `{line}` in /metrics:\n{text}");
    }
    // Mock routes never reach an upstream.
    assert!(
        !text.lines().any(|l| l.starts_with(
            "rampart_upstream_duration_seconds_count{api=\"shop\",route=\"GET /hello\"}"
        )),
        "{text}"
    );
    // Histogram buckets: all three /hello requests fall under the +Inf bucket.
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("rampart_request_duration_seconds_bucket{")
                && l.contains("route=\"GET /hello\"")
        })
        .collect();
    assert!(buckets.len() > 10, "{text}");
    assert!(
        buckets
            .iter()
            .any(|l| l.contains("le=\"+Inf\"") && l.ends_with(" 3")),
        "{buckets:?}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("rampart_open_connections{listener=\"main\"} ")),
        "{text}"
    );
    assert!(text.contains("# TYPE rampart_requests counter"), "{text}");

    let r = get(g.admin(), "/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    let r = get(g.admin(), "/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ready");
    assert_eq!(get(g.admin(), "/nothing").await.status, 404);
}

// ---------------------------------------------------------------------------------------
// 4. Request ids and the client address
// ---------------------------------------------------------------------------------------

async fn echo_gateway(extra_server: &str) -> (TestGateway, SocketAddr) {
    let echo = echo_backend().await;
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: ANY, path: /echo, integration: {{type: http, url: 'http://{echo}'}}}}
",
        server_section(extra_server)
    );
    let g = start(&yaml).await;
    let a = g.addr("main");
    (g, a)
}

#[tokio::test]
async fn request_id_and_client_ip_from_an_untrusted_peer() {
    let (g, a) = echo_gateway("").await;
    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[
            ("x-request-id", "client-chosen-1"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rid = r.header("x-request-id").unwrap();
    assert_ne!(rid, "client-chosen-1");
    assert!(looks_like_uuid(&rid), "{rid}");
    // The upstream sees the gateway's id, and only the real peer as the client.
    assert_eq!(
        echoed_header(&r, "x-request-id").as_deref(),
        Some(rid.as_str())
    );
    assert_eq!(
        echoed_header(&r, "x-forwarded-for").as_deref(),
        Some("127.0.0.1")
    );
    let e = g.access_log(1).await.remove(0);
    assert_eq!(e["request_id"], rid.as_str());
    assert_eq!(e["client_ip"], "127.0.0.1");

    // Every request gets a fresh id.
    let r2 = get(a, "/prod/echo").await;
    let rid2 = r2.header("x-request-id").unwrap();
    assert!(looks_like_uuid(&rid2), "{rid2}");
    assert_ne!(rid, rid2);
}

#[tokio::test]
async fn request_id_and_client_ip_from_a_trusted_proxy() {
    let (g, a) = echo_gateway("  request_id:\n    trusted_proxies: [127.0.0.1/32]\n").await;

    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[
            ("x-request-id", "client-chosen-1"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-request-id").as_deref(), Some("client-chosen-1"));
    assert_eq!(
        echoed_header(&r, "x-request-id").as_deref(),
        Some("client-chosen-1")
    );
    // The chain the trusted proxy sent is kept; the upstream sees where it started.
    let xff = echoed_header(&r, "x-forwarded-for").unwrap();
    assert!(xff.starts_with("203.0.113.9"), "{xff}");
    let e = g.access_log(1).await.remove(0);
    assert_eq!(e["request_id"], "client-chosen-1");
    assert_eq!(e["client_ip"], "203.0.113.9");

    // An id with characters outside [A-Za-z0-9-_.:] is replaced even from a trusted proxy.
    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[("x-request-id", "bad/slash")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let rid = r.header("x-request-id").unwrap();
    assert!(looks_like_uuid(&rid), "{rid}");
    assert_eq!(
        echoed_header(&r, "x-request-id").as_deref(),
        Some(rid.as_str())
    );
    // So is one that is too long.
    let long = "a".repeat(129);
    let r = request(a, "GET", "/prod/echo", &[("x-request-id", &long)], b"").await;
    assert!(looks_like_uuid(&r.header("x-request-id").unwrap()));
    // Without X-Forwarded-For the client is the proxy itself.
    let e = g.access_log(3).await.remove(1);
    assert_eq!(e["client_ip"], "127.0.0.1");
    assert_eq!(e["request_id"], rid.as_str());
}

/// A trusted proxy's `X-Forwarded-For` chain gets the proxy's own address appended (the
/// peer the gateway saw), as every proxy does; the resolved client is already in the chain.
#[tokio::test]
async fn trusted_proxy_forwarded_for_chain_appends_the_peer() {
    let (_g, a) = echo_gateway("  request_id:\n    trusted_proxies: [127.0.0.1/32]\n").await;
    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[("x-forwarded-for", "203.0.113.9")],
        b"",
    )
    .await;
    assert_eq!(
        echoed_header(&r, "x-forwarded-for").as_deref(),
        Some("203.0.113.9, 127.0.0.1")
    );
}

/// Several `X-Forwarded-For` lines are one list in order (RFC 9110, section 5.3): a proxy
/// that adds its own line (HAProxy's `option forwardfor`) puts the address it saw in the
/// last one, and a client's own line before it must not become the client address.
#[tokio::test]
async fn forwarded_for_lines_are_one_chain() {
    let (g, a) = echo_gateway("  request_id:\n    trusted_proxies: [127.0.0.0/8]\n").await;
    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[
            ("x-forwarded-for", "10.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        echoed_header(&r, "x-forwarded-for").as_deref(),
        Some("10.1.1.1, 203.0.113.9, 127.0.0.1")
    );
    // A trusted address at the end of the last line is skipped, as within one line.
    let r = request(
        a,
        "GET",
        "/prod/echo",
        &[
            ("x-forwarded-for", "10.1.1.1, 198.51.100.4"),
            ("x-forwarded-for", "127.0.0.9"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let log = g.access_log(2).await;
    assert_eq!(log[0]["client_ip"], "203.0.113.9");
    assert_eq!(log[1]["client_ip"], "198.51.100.4");
}

/// Headers a backend would believe about the client's address or the path to serve are
/// the gateway's to set: a client's `Forwarded`, `X-Real-IP` and the like are removed
/// unless it is a trusted proxy, and path overrides (`X-Original-URL`, `X-Rewrite-URL`)
/// from anyone, since the canonical path is what was routed and checked.
#[tokio::test]
async fn client_forwarding_and_path_override_headers_are_not_forwarded() {
    let sent = [
        ("forwarded", "for=6.6.6.6;proto=https;host=evil.example"),
        ("x-real-ip", "6.6.6.6"),
        ("true-client-ip", "6.6.6.6"),
        ("x-forwarded-port", "8443"),
        ("x-forwarded-prefix", "/admin"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("x-custom", "kept"),
    ];
    let (_g, a) = echo_gateway("").await;
    let r = request(a, "GET", "/prod/echo", &sent, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (name, _) in &sent[..7] {
        assert_eq!(echoed_header(&r, name), None, "{name} reached the upstream");
    }
    assert_eq!(echoed_header(&r, "x-custom").as_deref(), Some("kept"));

    // A trusted proxy's forwarding headers are its own and pass; path overrides never do.
    let (_g, a) = echo_gateway("  request_id:\n    trusted_proxies: [127.0.0.1/32]\n").await;
    let r = request(a, "GET", "/prod/echo", &sent, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (name, value) in &sent[..5] {
        assert_eq!(echoed_header(&r, name).as_deref(), Some(*value), "{name}");
    }
    assert_eq!(echoed_header(&r, "x-original-url"), None);
    assert_eq!(echoed_header(&r, "x-rewrite-url"), None);
}

// ---------------------------------------------------------------------------------------
// 5. Gateway responses
// ---------------------------------------------------------------------------------------

/// Check the uniform error body: exactly `message` and `requestId`, the id matching the header.
fn assert_uniform(r: &RawResponse) -> String {
    let v = r.json();
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("body is not an object: {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["message", "requestId"], "{v}");
    assert_eq!(
        obj["requestId"].as_str(),
        r.header("x-request-id").as_deref(),
        "{v}"
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    obj["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn configured_gateway_responses_and_uniform_bodies() {
    let closed = closed_port();
    let slow = backend(|_req| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        Response::new(Full::new(Bytes::from_static(b"late")))
    })
    .await;
    let yaml = format!(
        "{}  limits:
    max_body_bytes: 10
  responses:
    RESOURCE_NOT_FOUND:
      status: 404
      message: Nothing here
      headers: {{x-custom: '1'}}
    DEFAULT_5XX:
      message: Try later
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /hello, integration: {}}}
      - {{method: POST, path: /hello, integration: {}}}
      - {{method: GET, path: /down, integration: {{type: http, url: 'http://127.0.0.1:{closed}'}}}}
      - {{method: GET, path: /slow, integration: {{type: http, url: 'http://{slow}', timeout: 200ms}}}}
",
        server_section(""),
        mock("hi"),
        mock("posted")
    );
    let g = start(&yaml).await;
    let a = g.addr("main");

    let r = get(a, "/prod/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-custom").as_deref(), Some("1"));
    let rid = r.header("x-request-id").unwrap();
    assert_eq!(
        r.text(),
        format!("{{\"message\":\"Nothing here\",\"requestId\":\"{rid}\"}}")
    );
    assert_eq!(assert_uniform(&r), "Nothing here");

    let r = get(a, "/prod/down").await;
    assert_eq!(r.status, 502);
    assert_eq!(assert_uniform(&r), "Try later");
    assert!(r.header("x-custom").is_none(), "{}", r.head);

    // DEFAULT_5XX's message applies to every 5xx type without its own.
    let r = get(a, "/prod/slow").await;
    assert_eq!(r.status, 504);
    assert_eq!(assert_uniform(&r), "Try later");

    // 4xx types keep their built-in messages: DEFAULT_5XX does not touch them.
    let r = get(a, "/prod/a%2fb").await;
    assert_eq!(r.status, 400);
    assert_eq!(assert_uniform(&r), "Invalid request path");
    let r = request(a, "PUT", "/prod/hello", &[], b"").await;
    assert_eq!(r.status, 405);
    assert_eq!(assert_uniform(&r), "Method Not Allowed");
    let r = request(a, "POST", "/prod/hello", &[], b"far more than ten bytes").await;
    assert_eq!(r.status, 413);
    assert_eq!(assert_uniform(&r), "Request Too Large");
    // And the route itself still works.
    let r = request(a, "POST", "/prod/hello", &[], b"short").await;
    assert_eq!(r.text(), "posted");
}

// ---------------------------------------------------------------------------------------
// 6. Upstream errors leak nothing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn upstream_errors_leak_nothing() {
    let closed = closed_port();
    let slow = backend(|_req| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        Response::new(Full::new(Bytes::from_static(b"late")))
    })
    .await;
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /down, integration: {{type: http, url: 'http://127.0.0.1:{closed}'}}}}
      - {{method: GET, path: /slow, integration: {{type: http, url: 'http://{slow}', timeout: 200ms}}}}
",
        server_section("")
    );
    let g = start(&yaml).await;
    let a = g.addr("main");

    let down = get(a, "/prod/down").await;
    assert_eq!(down.status, 502);
    assert_eq!(assert_uniform(&down), "Bad Gateway");
    let t0 = std::time::Instant::now();
    let slow_r = get(a, "/prod/slow").await;
    assert_eq!(slow_r.status, 504);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(assert_uniform(&slow_r), "Endpoint request timed out");

    for (r, port) in [(&down, closed), (&slow_r, slow.port())] {
        let rid = r.header("x-request-id").unwrap();
        // The request id is random hex: leave it out before looking for digits.
        let body = r.text().replace(&rid, "");
        let port = port.to_string();
        for leak in [
            "127.0.0.1",
            port.as_str(),
            "refused",
            "Connection",
            "error",
            "hyper",
            "timed out after",
        ] {
            assert!(
                !body.contains(leak),
                "{leak:?} leaked in the {} body: {body}",
                r.status
            );
        }
        for leak in ["127.0.0.1", "refused", "hyper", "timed out after"] {
            assert!(
                !r.head.contains(leak),
                "{leak:?} leaked in the {} head: {}",
                r.status,
                r.head
            );
        }
    }
    // The operator still learns what happened: the log has the rejection.
    let log = g.access_log(2).await;
    assert_eq!(log[0]["error"], "INTEGRATION_FAILURE");
    assert_eq!(log[0]["rejected_by"], "integrate");
    assert_eq!(log[1]["error"], "INTEGRATION_TIMEOUT");
    assert_eq!(log[1]["rejected_by"], "integrate");
}

// ---------------------------------------------------------------------------------------
// 7. Stripped response headers
// ---------------------------------------------------------------------------------------

async fn leaky_backend() -> SocketAddr {
    backend(|_req| async {
        Response::builder()
            .header("server", "secret-backend/1.0")
            .header("x-powered-by", "PHP/5")
            .header("x-keep", "1")
            .body(Full::new(Bytes::from_static(b"ok")))
            .unwrap()
    })
    .await
}

async fn leaky_gateway(up: SocketAddr, extra_server: &str) -> TestGateway {
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /x, integration: {{type: http, url: 'http://{up}'}}}}
",
        server_section(extra_server)
    );
    start(&yaml).await
}

#[tokio::test]
async fn strip_response_headers_removes_only_the_configured_ones() {
    let up = leaky_backend().await;

    // Without the setting, the backend's headers pass (the control for the check below).
    let plain = leaky_gateway(up, "").await;
    let r = get(plain.addr("main"), "/prod/x").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("server").as_deref(), Some("secret-backend/1.0"));
    assert_eq!(r.header("x-powered-by").as_deref(), Some("PHP/5"));

    let g = leaky_gateway(up, "  strip_response_headers: [server, X-Powered-By]\n").await;
    let r = get(g.addr("main"), "/prod/x").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok");
    assert!(r.header("server").is_none(), "{}", r.head);
    assert!(r.header("x-powered-by").is_none(), "{}", r.head);
    assert!(!r.head.contains("secret-backend"), "{}", r.head);
    assert!(!r.head.contains("PHP"), "{}", r.head);
    assert_eq!(r.header("x-keep").as_deref(), Some("1"));
}
