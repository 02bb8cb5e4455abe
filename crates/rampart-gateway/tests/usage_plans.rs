//! API keys and usage plans through the real gateway: the admin API (authentication, keys,
//! plans, CSV import, usage), 403 for missing/unknown/disabled keys and keys outside the
//! stage's plans, per-key throttles with per-method overrides, quotas, 429 headers, access
//! log and metrics, and counts that survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

fn config(extra_usage: &str) -> String {
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
{extra_usage}apis:
  - name: shop
    stages: [prod, dev]
    authorizers: [aws_iam]
    api_key_required: true
    routes:
      - {{method: GET, path: /pets, integration: {{type: mock, body: pets}}}}
      - {{method: GET, path: '/pets/{{id}}', integration: {{type: mock, body: pet}}}}
      - {{method: GET, path: /open, api_key_required: false, integration: {{type: mock, body: open}}}}
"
    )
}

/// A public API (the lint case) is simpler for most tests.
pub fn public_config(extra_usage: &str) -> String {
    config(extra_usage).replace("    authorizers: [aws_iam]\n", "    public: true\n")
}

pub async fn admin(g: SocketAddr, method: &str, path: &str, body: Option<Value>) -> RawResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    request(
        g,
        method,
        path,
        &[
            ("authorization", &format!("Bearer {TOKEN}")),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

async fn keyed(a: SocketAddr, target: &str, key: &str) -> RawResponse {
    request(a, "GET", target, &[("x-api-key", key)], b"").await
}

/// Create a plan and a key in it; returns (plan id, key id, key value).
async fn plan_and_key(g: &TestGateway, plan: Value) -> (String, String, String) {
    let r = admin(g.admin(), "POST", "/admin/usageplans", Some(plan)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let plan_id = r.json()["id"].as_str().unwrap().to_string();
    let r = admin(
        g.admin(),
        "POST",
        "/admin/apikeys",
        Some(json!({"name": "alice", "usagePlanIds": [plan_id]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let k = r.json();
    (
        plan_id,
        k["id"].as_str().unwrap().to_string(),
        k["value"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn admin_api_refuses_bad_tokens() {
    let g = start(&public_config("")).await;
    let a = g.admin();
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong-token-wrong-token-wrong")],
        vec![("authorization", &*format!("Basic {TOKEN}"))],
        vec![("authorization", &*format!("Bearer {TOKEN}x"))],
        vec![("authorization", &*format!("bearer{TOKEN}"))],
    ] {
        let r = request(a, "GET", "/admin/apikeys", &headers, b"").await;
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json()["message"], "Unauthorized");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
        assert!(!r.text().contains(TOKEN));
    }
    let r = admin(a, "GET", "/admin/apikeys", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"], json!([]));
    // The scheme's case does not matter (RFC 9110).
    let lower = format!("bearer {TOKEN}");
    let r = request(
        a,
        "GET",
        "/admin/apikeys",
        &[("authorization", &lower)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Metrics and health stay open.
    assert_eq!(get(a, "/healthz").await.status, 200);

    // Without a token the API is off, whatever is presented.
    let g2 = start(&server_section("")).await;
    let r = admin(g2.admin(), "GET", "/admin/apikeys", None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn keys_plans_and_enforcement_end_to_end() {
    let g = start(&public_config("")).await;
    let a = g.addr("main");
    let (plan_id, key_id, value) = plan_and_key(
        &g,
        json!({
            "name": "gold",
            "apiStages": [{"apiId": "shop", "stage": "prod",
                           "throttle": {"/pets/{id}/GET": {"rateLimit": 0.5, "burstLimit": 1}}}],
            "throttle": {"rateLimit": 1000, "burstLimit": 1000},
            "quota": {"limit": 6, "period": "DAY"}
        }),
    )
    .await;
    assert!(value.starts_with("rk_") && value.len() >= 40, "{value}");
    // The value is shown once: never again through the API.
    let listed = admin(g.admin(), "GET", "/admin/apikeys", None).await.text();
    assert!(!listed.contains(&value));
    assert!(listed.contains(&key_id));

    // No key, unknown key: the same 403, no hint which.
    let none = get(a, "/prod/pets").await;
    let unknown = keyed(a, "/prod/pets", "rk_unknownunknownunknownunknown1234").await;
    for r in [&none, &unknown] {
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["message"], "Forbidden");
    }
    // A route that needs no key.
    assert_eq!(get(a, "/prod/open").await.status, 200);
    // Good key: allowed, and logged with key and plan.
    let r = keyed(a, "/prod/pets", &value).await; // quota 1/6
    assert_eq!(r.status, 200, "{}", r.text());
    // Not in a plan for the dev stage.
    assert_eq!(keyed(a, "/dev/pets", &value).await.status, 403);
    // The per-method override (0.5/s, burst 1) replaces the plan's throttle for GET /pets/{id}.
    assert_eq!(keyed(a, "/prod/pets/1", &value).await.status, 200); // quota 2/6
    let r = keyed(a, "/prod/pets/2", &value).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["message"], "Too Many Requests");
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"plan\";q=1;w=2")
    );
    // HEAD, which the GET route answers, is held to the GET override too.
    let r = request(
        a,
        "HEAD",
        "/prod/pets/3",
        &[("x-api-key", value.as_str())],
        b"",
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"plan\";q=1;w=2")
    );
    // The plan's own throttle is generous: /pets goes on until the quota (6) is used up.
    for i in 3..=6 {
        assert_eq!(
            keyed(a, "/prod/pets", &value).await.status,
            200,
            "request {i}"
        );
    }
    let r = keyed(a, "/prod/pets", &value).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["message"], "Limit Exceeded");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(
        r.header("ratelimit-policy").as_deref(),
        Some("\"quota\";q=6;w=86400")
    );
    assert!(r
        .header("ratelimit")
        .unwrap()
        .starts_with("\"quota\";r=0;t="));

    // Access log: key id and plan id, never the key's value.
    let log = g.access_log(10).await;
    let text = std::fs::read_to_string(g.access_log_path()).unwrap();
    assert!(!text.contains(&value), "the key value is never logged");
    let ok = log
        .iter()
        .find(|e| e["status"] == 200 && e["path"] == "/prod/pets")
        .unwrap();
    assert_eq!(ok["api_key_id"], key_id.as_str());
    assert_eq!(ok["usage_plan_id"], plan_id.as_str());
    let errors: Vec<&str> = log.iter().filter_map(|e| e["error"].as_str()).collect();
    assert!(errors.contains(&"INVALID_API_KEY"), "{errors:?}");
    assert!(errors.contains(&"THROTTLED"), "{errors:?}");
    assert!(errors.contains(&"QUOTA_EXCEEDED"), "{errors:?}");

    // Metrics by plan and result.
    let m = metrics(&g).await;
    for (result, n) in [
        ("allowed", 6),
        ("throttled", 2),
        ("quota_exceeded", 1),
        ("error", 0),
    ] {
        let line = format!(
            "rampart_usage_plan_decisions_total{{plan=\"{plan_id}\",result=\"{result}\"}} {n}\n"
        );
        assert!(m.contains(&line), "{line} missing:\n{m}");
    }
    assert!(m.contains("reason=\"INVALID_API_KEY\""));

    // Usage: 6 admitted today, 0 left.
    let r = admin(
        g.admin(),
        "GET",
        &format!("/admin/usageplans/{plan_id}/usage"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"][&key_id], json!([[6, 0]]));

    // Disable: refused at once; enable: back (to the quota's answer).
    let r = admin(
        g.admin(),
        "PATCH",
        &format!("/admin/apikeys/{key_id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["enabled"], false);
    let r = keyed(a, "/prod/pets", &value).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Forbidden");
    admin(
        g.admin(),
        "PATCH",
        &format!("/admin/apikeys/{key_id}"),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 429);
    // Expired keys are refused too.
    let r = admin(
        g.admin(),
        "PATCH",
        &format!("/admin/apikeys/{key_id}"),
        Some(json!({"expiresAt": 1})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 403);
    // Deleted keys too.
    let r = admin(
        g.admin(),
        "DELETE",
        &format!("/admin/apikeys/{key_id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 403);
}

#[tokio::test]
async fn token_bucket_burst_then_steady_rate() {
    let g = start(&public_config("")).await;
    let a = g.addr("main");
    let (_, _, value) = plan_and_key(
        &g,
        json!({"name": "t", "apiStages": [{"apiId": "shop", "stage": "prod"}],
               "throttle": {"rateLimit": 10, "burstLimit": 5}}),
    )
    .await;
    // The burst: 5 at once, then refused.
    for i in 0..5 {
        assert_eq!(
            keyed(a, "/prod/pets", &value).await.status,
            200,
            "burst {i}"
        );
    }
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 429);
    // The steady rate: over 1.5 s of continuous attempts, 10/s lets about 15 through.
    // Tolerance: ±3 (scheduling on a loaded 2-core machine, and the bucket's partial token).
    let t0 = Instant::now();
    let mut ok = 0;
    while t0.elapsed() < Duration::from_millis(1500) {
        if keyed(a, "/prod/pets", &value).await.status == 200 {
            ok += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!((12..=18).contains(&ok), "{ok} allowed in 1.5 s at 10/s");
}

#[tokio::test]
async fn csv_import_is_all_or_nothing() {
    let g = start(&public_config("")).await;
    let a = g.addr("main");
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(json!({"name": "csv", "apiStages": [{"apiId": "shop", "stage": "prod"}]})),
    )
    .await;
    let plan = r.json()["id"].as_str().unwrap().to_string();
    let bad = format!(
        "Name,Key,Enabled,UsagePlanIds\nok,abcdefghijklmnopqrstuvwxyz0123456789,true,{plan}\n,abcdefghijklmnopqrstuvwxyz0123456780,true,\nshort,tooshort,true,\nnoplan,abcdefghijklmnopqrstuvwxyz0123456781,maybe,nosuchplan\n"
    );
    let r = request(
        g.admin(),
        "POST",
        "/admin/apikeys/import",
        &[
            ("authorization", &format!("Bearer {TOKEN}")),
            ("content-type", "text/csv"),
        ],
        bad.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let lines: Vec<u64> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.contains(&3) && lines.contains(&4) && lines.contains(&5),
        "{lines:?}"
    );
    assert!(!lines.contains(&2), "{lines:?}");
    assert!(!r.text().contains("tooshort"), "key values never echoed");
    let listed = admin(g.admin(), "GET", "/admin/apikeys", None).await;
    assert_eq!(listed.json()["items"], json!([]), "nothing imported");

    let good = format!(
        "Enabled,Name,key,UsageplanIds\ntrue,MyFirstApiKey,apikey1234abcdefghij0123456789,\"{plan}\"\nfalse,Off,apikey1234abcdefghij0123456780,{plan}\n"
    );
    let r = request(
        g.admin(),
        "POST",
        "/admin/apikeys/import",
        &[("authorization", &format!("Bearer {TOKEN}"))],
        good.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["created"].as_array().unwrap().len(), 2);
    assert_eq!(
        keyed(a, "/prod/pets", "apikey1234abcdefghij0123456789")
            .await
            .status,
        200
    );
    assert_eq!(
        keyed(a, "/prod/pets", "apikey1234abcdefghij0123456780")
            .await
            .status,
        403,
        "imported disabled"
    );
}

#[tokio::test]
async fn a_key_can_share_plans_only_for_different_stages() {
    let g = start(&public_config("")).await;
    let (p1, key, _) = plan_and_key(
        &g,
        json!({"name": "p1", "apiStages": [{"apiId": "shop", "stage": "prod"}]}),
    )
    .await;
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(json!({"name": "p2", "apiStages": [{"apiId": "shop", "stage": "prod"}]})),
    )
    .await;
    let p2 = r.json()["id"].as_str().unwrap().to_string();
    let r = admin(
        g.admin(),
        "POST",
        &format!("/admin/usageplans/{p2}/keys"),
        Some(json!({"keyId": key})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(json!({"name": "p3", "apiStages": [{"apiId": "shop", "stage": "dev"}]})),
    )
    .await;
    let p3 = r.json()["id"].as_str().unwrap().to_string();
    let r = admin(
        g.admin(),
        "POST",
        &format!("/admin/usageplans/{p3}/keys"),
        Some(json!({"keyId": key})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = admin(
        g.admin(),
        "GET",
        &format!("/admin/usageplans/{p1}/keys"),
        None,
    )
    .await;
    assert_eq!(r.json()["items"][0]["id"], key.as_str());
    // Invalid plans are refused with the field named.
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(json!({"name": "bad", "quota": {"limit": 5, "offset": 9, "period": "DAY"}})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("quota"), "{}", r.text());
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(json!({"name": "bad", "surprise": 1})),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn plans_may_only_name_configured_apis_and_stages() {
    let g = start(&public_config("")).await;
    for (stages, says) in [
        (
            json!([{"apiId": "shop", "stage": "prod"}, {"apiId": "shpo", "stage": "prod"}]),
            "apiStages[1].apiId: no API \"shpo\" in the configuration (APIs: shop)",
        ),
        (
            json!([{"apiId": "shop", "stage": "beta"}]),
            "apiStages[0].stage: API \"shop\" has no stage \"beta\" (stages: prod, dev)",
        ),
        (
            json!([{"apiId": "shop"}]),
            "apiStages[0].stage: API \"shop\" has stages (prod, dev): name one in `stage`",
        ),
    ] {
        let plan = json!({"name": "typo", "apiStages": stages});
        let r = admin(g.admin(), "POST", "/admin/usageplans", Some(plan.clone())).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["message"], says);
        // Replacing a plan is checked the same way.
        let ok = json!({"name": "ok", "apiStages": [{"apiId": "shop", "stage": "dev"}]});
        let r = admin(g.admin(), "POST", "/admin/usageplans", Some(ok)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_string();
        let r = admin(
            g.admin(),
            "PUT",
            &format!("/admin/usageplans/{id}"),
            Some(plan),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["message"], says);
        let r = admin(g.admin(), "GET", &format!("/admin/usageplans/{id}"), None).await;
        assert_eq!(r.json()["apiStages"][0]["stage"], "dev", "unchanged");
    }
    let listed = admin(g.admin(), "GET", "/admin/usageplans", None)
        .await
        .json();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ok", "ok", "ok"],
        "no plan naming nothing was stored"
    );
}

#[tokio::test]
async fn quota_counts_survive_a_restart() {
    let dir = tempdir();
    let dir_path = dir.path().to_path_buf();
    let g = start_in(dir, &public_config("")).await;
    let (plan, key_id, value) = plan_and_key(
        &g,
        json!({"name": "q", "apiStages": [{"apiId": "shop", "stage": "prod"}],
               "quota": {"limit": 5, "period": "MONTH"}}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            keyed(g.addr("main"), "/prod/pets", &value).await.status,
            200
        );
    }
    let TestGateway { gw, dir } = g;
    gw.shutdown().await;
    let g = start_in(dir, &public_config("")).await;
    assert_eq!(g.dir.path(), dir_path);
    let a = g.addr("main");
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 200);
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 200);
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 429);
    let r = admin(
        g.admin(),
        "GET",
        &format!("/admin/usageplans/{plan}/usage"),
        None,
    )
    .await;
    assert_eq!(r.json()["items"][&key_id], json!([[5, 0]]));
}

#[tokio::test]
async fn config_lint_and_errors() {
    use rampart_gateway::config::load_str;
    let dir = tempdir();
    // A public route whose only protection is an API key: a warning, not an error.
    let cfg = load_str(&public_config(""), "t.yaml", dir.path(), &|_| None).unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("apis[0].routes[0]") && w.contains("do not authenticate")),
        "{w:?}"
    );
    let cfg = load_str(&config(""), "t.yaml", dir.path(), &|_| None).unwrap();
    assert!(
        !cfg.warnings
            .iter()
            .any(|w| w.message.contains("do not authenticate")),
        "authorizers + key: no lint"
    );
    // Bad settings are errors with their paths.
    let bad = public_config("    backend: memcached\n")
        .replace(&format!("token: {TOKEN}"), "token: short");
    let errs = load_str(&bad, "t.yaml", dir.path(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(errs.contains("server.usage.backend"), "{errs}");
    assert!(errs.contains("server.admin.token"), "{errs}");
    let remote = public_config("").replace(
        "    bind: 127.0.0.1:0\n    token",
        "    bind: 0.0.0.0:0\n    token",
    );
    let errs = load_str(&remote, "t.yaml", dir.path(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(errs.contains("not a loopback address"), "{errs}");
}

/// `api_key_source: authorizer`: the key is the Lambda authorizer's `usageIdentifierKey`,
/// whatever the client sends in `x-api-key`.
#[tokio::test]
async fn key_from_the_authorizers_usage_identifier_key() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    // Tokens map to usage identifier keys; the plaintext key never travels from the client.
    let auth = backend(|req: http::Request<hyper::body::Incoming>| async move {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let ev: Value = serde_json::from_slice(&body).unwrap();
        let token = ev["authorizationToken"].as_str().unwrap_or("").to_string();
        let key = match token.as_str() {
            "Bearer gold" => Some("authkey0123456789abcdefghijklmnop"),
            "Bearer stranger" => Some("strangerkey0123456789abcdefghijkl"),
            _ => None,
        };
        let mut out = json!({
            "principalId": "u",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}
        });
        if let Some(k) = key {
            out["usageIdentifierKey"] = json!(k);
        }
        http::Response::new(Full::new(Bytes::from(out.to_string())))
    })
    .await;
    let yaml = config("").replace(
        "    authorizers: [aws_iam]\n",
        "    authorizers: [tok]\n    api_key_source: authorizer\n",
    ) + &format!(
        "authorizers:
  tok:
    type: lambda
    kind: token
    url: http://{auth}/
    identity_source: [method.request.header.Authorization]
    ttl: 0s
"
    );
    let g = start(&yaml).await;
    let r = admin(
        g.admin(),
        "POST",
        "/admin/usageplans",
        Some(
            json!({"name": "a", "apiStages": [{"apiId": "shop", "stage": "prod"}],
                    "quota": {"limit": 2, "period": "DAY"}}),
        ),
    )
    .await;
    let plan = r.json()["id"].as_str().unwrap().to_string();
    let r = admin(
        g.admin(),
        "POST",
        "/admin/apikeys",
        Some(
            json!({"name": "via-authorizer", "value": "authkey0123456789abcdefghijklmnop",
                    "usagePlanIds": [plan]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = g.addr("main");
    let call = |token: &'static str, header_key: &'static str| async move {
        request(
            a,
            "GET",
            "/prod/pets",
            &[("authorization", token), ("x-api-key", header_key)],
            b"",
        )
        .await
        .status
    };
    // A known usage identifier key: admitted, and its quota applies.
    assert_eq!(call("Bearer gold", "").await, 200);
    assert_eq!(call("Bearer gold", "").await, 200);
    assert_eq!(call("Bearer gold", "").await, 429);
    // The client's own x-api-key header is not the source: a valid key there does not help.
    assert_eq!(
        call("Bearer nokey", "authkey0123456789abcdefghijklmnop").await,
        403
    );
    // An identifier key that is not a known API key.
    assert_eq!(call("Bearer stranger", "").await, 403);
}

/// A reload keeps the store, the keys and the counts; a reload that would need a store the
/// gateway did not start with is rejected and the old configuration keeps serving.
#[tokio::test]
async fn reload_keeps_keys_and_counts() {
    let g = start(&public_config("")).await;
    let (_, _, value) = plan_and_key(
        &g,
        json!({"name": "r", "apiStages": [{"apiId": "shop", "stage": "prod"}],
               "quota": {"limit": 3, "period": "DAY"}}),
    )
    .await;
    let a = g.addr("main");
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 200);
    std::fs::write(
        g.config_path(),
        public_config("").replace("body: pets", "body: pets2"),
    )
    .unwrap();
    g.gw.reload().await.unwrap();
    let r = keyed(a, "/prod/pets", &value).await;
    assert_eq!((r.status, r.text().as_str()), (200, "pets2"));
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 200);
    assert_eq!(keyed(a, "/prod/pets", &value).await.status, 429);

    // A gateway started without API keys cannot turn them on by reload.
    let plain = start(&server_section("apis:\n  - name: shop\n    stages: [prod]\n    public: true\n    routes:\n      - {method: GET, path: /pets, integration: {type: mock, body: x}}\n")).await;
    std::fs::write(
        plain.config_path(),
        server_section("apis:\n  - name: shop\n    stages: [prod]\n    public: true\n    api_key_required: true\n    routes:\n      - {method: GET, path: /pets, integration: {type: mock, body: x}}\n"),
    )
    .unwrap();
    let err = plain.gw.reload().await.unwrap_err().to_string();
    assert!(err.contains("restart"), "{err}");
    assert_eq!(get(plain.addr("main"), "/prod/pets").await.status, 200);
}
