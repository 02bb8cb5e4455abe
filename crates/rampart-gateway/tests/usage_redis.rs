//! Usage plans on Redis: two gateway processes sharing one real `redis-server` enforce one
//! global quota exactly; Redis stopped mid-test under `fail_closed` (503) and
//! `fail_open_local` (local limits), and both recover by themselves when it returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use rampart_limiter_redis::testing::RedisServer;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TOKEN: &str = "test-admin-token-0123456789abcdef";
const SECRET: &str = "8f1c0e7a4b2d6f3e9a1c5b7d0e2f4a6c8e1b3d5f7a9c0e2b4d6f8a1c3e5b7d90";
const KEY: &str = "sharedkey0123456789abcdefghijklmn";

fn config(redis: &RedisServer, on_unavailable: &str) -> String {
    format!(
        "server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  admin:
    bind: 127.0.0.1:0
    token: {TOKEN}
  access_log:
    output: access.log
  usage:
    data_dir: data
    hash_secret: {SECRET}
    backend: redis
    redis:
      url: {}
      prefix: 'rt:'
      timeout: 100ms
      on_unavailable: {on_unavailable}
apis:
  - name: shop
    stages: [prod]
    public: true
    api_key_required: true
    routes:
      - {{method: GET, path: /pets, integration: {{type: mock, body: pets}}}}
",
        redis.url()
    )
}

async fn admin(g: SocketAddr, method: &str, path: &str, body: &[u8], ctype: &str) -> RawResponse {
    request(
        g,
        method,
        path,
        &[
            ("authorization", &format!("Bearer {TOKEN}")),
            ("content-type", ctype),
        ],
        body,
    )
    .await
}

/// The same plan id and the same key on a node (as an operator scripts it for a cluster).
async fn provision(g: &TestGateway, plan: Value) {
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        plan.to_string().as_bytes(),
        "application/json",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let csv = format!("Name,Key,UsagePlanIds\nshared,{KEY},{id}\n");
    let r = admin(
        g.admin(),
        "POST",
        "/admin/apikeys/import",
        csv.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

async fn keyed(a: SocketAddr) -> RawResponse {
    request(a, "GET", "/prod/pets", &[("x-api-key", KEY)], b"").await
}

#[tokio::test]
async fn two_gateways_share_one_quota_exactly() {
    let redis = RedisServer::start();
    let plan = json!({"id": "gold", "name": "gold", "apiStages": [{"apiId": "shop", "stage": "prod"}],
                      "quota": {"limit": 20, "period": "DAY"}});
    let g1 = start(&config(&redis, "fail_closed")).await;
    let g2 = start(&config(&redis, "fail_closed")).await;
    provision(&g1, plan.clone()).await;
    provision(&g2, plan).await;
    // 60 requests, concurrently, spread over both nodes: exactly 20 get through.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let a = if i % 2 == 0 {
            g1.addr("main")
        } else {
            g2.addr("main")
        };
        tasks.push(tokio::spawn(async move { keyed(a).await.status }));
    }
    let mut ok = 0;
    let mut over = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => over += 1,
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((ok, over), (20, 40));
    // Usage, read from Redis through either node.
    for g in [&g1, &g2] {
        let r = admin(
            g.admin(),
            "GET",
            "/admin/usageplans/gold/usage",
            b"",
            "application/json",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let items = r.json()["items"].as_object().unwrap().clone();
        let rows: Vec<&Value> = items.values().collect();
        assert_eq!(rows, vec![&json!([[20, 0]])]);
    }
}

#[tokio::test]
async fn redis_down_fail_closed_and_fail_open_local_then_recovery() {
    let mut redis = RedisServer::start();
    let plan = json!({"id": "silver", "name": "silver", "apiStages": [{"apiId": "shop", "stage": "prod"}],
                      "quota": {"limit": 1000, "period": "DAY"}});
    let closed = start(&config(&redis, "fail_closed")).await;
    let open = start(&config(&redis, "fail_open_local")).await;
    provision(&closed, plan.clone()).await;
    provision(&open, plan).await;
    assert_eq!(keyed(closed.addr("main")).await.status, 200);
    assert_eq!(keyed(open.addr("main")).await.status, 200);

    redis.stop();
    let t0 = Instant::now();
    let r = keyed(closed.addr("main")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["message"], "Service Unavailable");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert!(
        !r.text().contains("redis"),
        "nothing internal leaks: {}",
        r.text()
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a dead Redis costs at most the timeout"
    );
    // Fail open to local limits: still served, still counted locally.
    for _ in 0..3 {
        assert_eq!(keyed(open.addr("main")).await.status, 200);
    }
    let m = metrics(&closed).await;
    assert!(
        m.contains("rampart_usage_store_failures_total{backend=\"redis\",outcome=\"rejected\"}"),
        "{m}"
    );
    let m = metrics(&open).await;
    assert!(
        m.contains("rampart_usage_store_failures_total{backend=\"redis\",outcome=\"local\"}"),
        "{m}"
    );

    // Redis returns: both recover by themselves within a few retry intervals.
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if keyed(closed.addr("main")).await.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fail_closed node did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Counting is shared again: the open node's next request lands in Redis too.
    assert_eq!(keyed(open.addr("main")).await.status, 200);
    let r = admin(
        closed.admin(),
        "GET",
        "/admin/usageplans/silver/usage",
        b"",
        "application/json",
    )
    .await;
    let items = r.json()["items"].as_object().unwrap().clone();
    let used = items.values().next().unwrap()[0][0].as_u64().unwrap();
    assert!(used >= 2, "usage after recovery is in Redis again: {used}");
}
