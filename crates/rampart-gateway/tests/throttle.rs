//! Rate limits for all callers (gateway-wide, per API stage, per route and stage): token
//! buckets shared by every worker, 429 `THROTTLED` with `Retry-After` and the IETF
//! `RateLimit-Policy` / `RateLimit` headers, recovery once tokens are back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

fn mock(body: &str) -> String {
    format!("{{type: mock, body: {body}}}")
}

#[tokio::test]
async fn gateway_wide_limit() {
    let yaml = format!(
        "{}  throttle: {{rate: 1, burst: 3}}\n  workers: 2\napis:\n  - name: a\n    stages: [prod]\n    public: true\n    routes:\n      - {{method: GET, path: /x, integration: {}}}\n",
        server_section(""),
        mock("x")
    );
    let g = start(&yaml).await;
    for i in 0..3 {
        assert_eq!(
            get(g.addr("main"), "/prod/x").await.status,
            200,
            "request {i}"
        );
    }
    let r = get(g.addr("main"), "/prod/x").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["message"], "Too Many Requests");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(
        r.header("x-amzn-errortype").as_deref(),
        Some("TooManyRequestsException")
    );
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"gateway\";q=3;w=3")
    );
    let state = r.header("ratelimit").unwrap();
    assert!(state.starts_with("\"gateway\";r=0;t="), "{state}");
    let log = g.access_log(4).await;
    assert_eq!(log[3]["error"], "THROTTLED");
    assert_eq!(log[3]["rejected_by"], "throttle");
}

#[tokio::test]
async fn per_stage_and_per_route_limits_and_recovery() {
    let yaml = format!(
        "{}apis:
  - name: a
    stages: [prod, dev]
    public: true
    throttle: {{rate: 0.5, burst: 2}}
    routes:
      - {{method: GET, path: /x, integration: {}}}
      - {{method: GET, path: /fast, throttle: {{rate: 1000, burst: 1000}}, integration: {}}}
      - {{method: GET, path: /tick, throttle: {{rate: 2, burst: 1}}, integration: {}}}
",
        server_section(""),
        mock("x"),
        mock("fast"),
        mock("tick")
    );
    let g = start(&yaml).await;
    let a = g.addr("main");
    assert_eq!(get(a, "/prod/x").await.status, 200);
    assert_eq!(get(a, "/prod/x").await.status, 200);
    let r = get(a, "/prod/x").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"api\";q=2;w=4")
    );
    // Another stage has its own bucket; a route with its own limit is not held by the API's.
    assert_eq!(get(a, "/dev/x").await.status, 200);
    for _ in 0..20 {
        assert_eq!(get(a, "/prod/fast").await.status, 200);
    }
    // 2/s with a burst of 1: the next immediate request waits; 600 ms later it passes.
    assert_eq!(get(a, "/prod/tick").await.status, 200);
    let r = get(a, "/prod/tick").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"route\";q=1;w=1")
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(get(a, "/prod/tick").await.status, 200);
}

#[test]
fn invalid_limits_are_configuration_errors() {
    let yaml = "server:
  listeners: [{name: main, bind: 127.0.0.1:0}]
  throttle: {rate: -1, burst: 3}
apis:
  - name: a
    stages: [prod]
    public: true
    routes:
      - {method: GET, path: /x, throttle: {rate: 1, burst: 2000000000}, integration: {type: mock}}
";
    let errs =
        match rampart_gateway::config::load_str(yaml, "t.yaml", std::path::Path::new("."), &|_| {
            None
        }) {
            Ok(_) => panic!("bad limits must be rejected"),
            Err(e) => e.0,
        };
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["server.throttle", "apis[0].routes[0].throttle"],
        "{errs:?}"
    );
}
