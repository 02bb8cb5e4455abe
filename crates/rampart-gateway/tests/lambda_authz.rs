//! Custom (Lambda) authorizers end to end, against a real authorizer endpoint on
//! loopback: TOKEN and REQUEST kinds, policy and simple answers, context passed upstream,
//! result caching (hits do not call; TTL; distinct identities), the pre-authorization
//! resource-policy check, and every failure mode (401, 403, 500 and never an allow).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};

type Calls = Arc<Mutex<HashMap<String, usize>>>;

fn policy(effect: &str, resource: &str) -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}]})
}

/// The authorizer: answers by token (TOKEN events) or by the `x-key` header (REQUEST).
async fn authorizer(calls: Calls) -> std::net::SocketAddr {
    backend(move |req| {
        let calls = calls.clone();
        async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let ev: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let token = ev["authorizationToken"]
                .as_str()
                .map(str::to_string)
                .or_else(|| ev["headers"]["x-key"].as_str().map(|k| format!("key:{k}")))
                .unwrap_or_default();
            *calls.lock().unwrap().entry(token.clone()).or_default() += 1;
            let arn = ev["methodArn"]
                .as_str()
                .or(ev["routeArn"].as_str())
                .unwrap_or("")
                .to_string();
            let ok = |v: serde_json::Value| Response::new(Full::new(Bytes::from(v.to_string())));
            match token.as_str() {
                "Bearer all" => ok(serde_json::json!({
                    "principalId": "user-1",
                    "policyDocument": policy("Allow", "arn:aws:execute-api:*:*:shop/*"),
                    "context": {"user": "u1", "n": 7, "admin": true}})),
                // Allows only the resource of this very request: the caching pitfall.
                "Bearer one" => ok(serde_json::json!({
                    "principalId": "user-2", "policyDocument": policy("Allow", &arn)})),
                "Bearer deny" => ok(serde_json::json!({
                    "principalId": "user-3", "policyDocument": policy("Deny", "*")})),
                "Bearer nobody" => {
                    let mut r = Response::new(Full::new(Bytes::from_static(
                        b"{\"message\":\"Unauthorized\"}",
                    )));
                    *r.status_mut() = StatusCode::UNAUTHORIZED;
                    r
                }
                "Bearer garbage" => ok(serde_json::json!({"principalId": 5})),
                "Bearer slow" => {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    ok(serde_json::json!({}))
                }
                "key:good" => {
                    ok(serde_json::json!({"isAuthorized": true, "context": {"tier": "gold"}}))
                }
                "key:bad" => ok(serde_json::json!({"isAuthorized": false})),
                _ => {
                    let mut r = Response::new(Full::new(Bytes::new()));
                    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    r
                }
            }
        }
    })
    .await
}

async fn setup() -> (TestGateway, Calls) {
    let calls: Calls = Default::default();
    let auth = authorizer(calls.clone()).await;
    let echo = echo_backend().await;
    let yaml = format!(
        r#"{server}authorizers:
  tok:
    type: lambda
    kind: token
    url: http://{auth}/
    identity_source: [method.request.header.Authorization]
    validation: '^Bearer [a-z]+$'
    timeout: 1s
    context_headers: {{x-user: user, x-principal: principalId, x-admin: admin}}
  quick:
    type: lambda
    kind: token
    url: http://{auth}/
    identity_source: [method.request.header.Authorization]
    ttl: 0s
  req:
    type: lambda
    kind: request
    response: simple
    url: http://{auth}/
    identity_source: [method.request.header.x-key, method.request.querystring.q]
    context_headers: {{x-tier: tier}}
apis:
  - name: shop
    stages: [prod]
    authorizers: [tok]
    resource_policy:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Deny, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*/GET/blocked",
           Condition: {{IpAddress: {{aws:SourceIp: 127.0.0.0/8}}}}}}
    routes:
      - {{method: GET, path: '/pets/{{id}}', integration: {{type: http, url: 'http://{echo}/pets/{{id}}'}}}}
      - {{method: GET, path: /blocked, integration: {{type: mock, body: blocked}}}}
      - {{method: GET, path: /nocache, authorizers: [quick], integration: {{type: mock, body: nocache}}}}
      - {{method: GET, path: /simple, authorizers: [req], integration: {{type: http, url: 'http://{echo}/simple'}}}}
"#,
        server = server_section(""),
    );
    (start(&yaml).await, calls)
}

fn with_token(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", token.to_string())]
}

async fn call(g: &TestGateway, target: &str, headers: Vec<(&'static str, String)>) -> RawResponse {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    request(g.addr("main"), "GET", target, &h, b"").await
}

fn count(calls: &Calls, token: &str) -> usize {
    calls.lock().unwrap().get(token).copied().unwrap_or(0)
}

#[tokio::test]
async fn token_authorizer_policies_context_and_cache() {
    let (g, calls) = setup().await;
    // Allowed; context values go upstream as configured headers, replacing client ones.
    let mut h = with_token("Bearer all");
    h.push(("x-user", "spoofed".into()));
    let r = call(&g, "/prod/pets/1", h.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["headers"]["x-user"], "u1");
    assert_eq!(v["headers"]["x-principal"], "user-1");
    assert_eq!(v["headers"]["x-admin"], "true");
    // Cached: a second request (another resource) does not call the authorizer.
    assert_eq!(call(&g, "/prod/pets/2", h).await.status, 200);
    assert_eq!(count(&calls, "Bearer all"), 1);
    let log = g.access_log(2).await;
    assert_eq!(log[0]["principal"], "user-1");

    // The pitfall: a policy for one resource, cached, denies the caller's next resource
    // (the resource policy has no Allow of its own: table A, silent + silent).
    assert_eq!(
        call(&g, "/prod/pets/1", with_token("Bearer one"))
            .await
            .status,
        200
    );
    let r = call(&g, "/prod/pets/2", with_token("Bearer one")).await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (403, Some("User is not authorized to access this resource"))
    );
    assert_eq!(
        count(&calls, "Bearer one"),
        1,
        "the second decision came from the cache"
    );

    // Explicit deny, Unauthorized, and distinct tokens never share an entry.
    let r = call(&g, "/prod/pets/1", with_token("Bearer deny")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User is not authorized to access this resource with an explicit deny"
    );
    let r = call(&g, "/prod/pets/1", with_token("Bearer nobody")).await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (401, Some("Unauthorized"))
    );
}

#[tokio::test]
async fn failures_never_allow() {
    let (g, calls) = setup().await;
    // Missing token, or one failing the validation expression: 401, no call.
    let r = call(&g, "/prod/pets/1", vec![]).await;
    assert_eq!(r.status, 401);
    let r = call(&g, "/prod/pets/1", with_token("Basic abc")).await;
    assert_eq!(r.status, 401);
    assert_eq!(calls.lock().unwrap().values().sum::<usize>(), 0);
    // Malformed answer, error status, timeout: 500 {"message": null}.
    for token in ["Bearer garbage", "Bearer unknown", "Bearer slow"] {
        let r = call(&g, "/prod/pets/1", with_token(token)).await;
        assert_eq!(r.status, 500, "{token}: {}", r.text());
        assert!(r.json()["message"].is_null(), "{token}: {}", r.text());
        assert!(r.json()["requestId"].is_string());
    }
    let log = g.access_log(5).await;
    assert_eq!(log[2]["error"], "AUTHORIZER_FAILURE");
    // The resource policy's explicit deny answers before the authorizer is called.
    // Every spelling of the resource, and HEAD on the GET route, is that ARN.
    let before = count(&calls, "Bearer all");
    for target in ["/prod/blocked", "/prod/blocked/", "/prod/blocked//"] {
        let r = call(&g, target, with_token("Bearer all")).await;
        assert_eq!(r.status, 403, "{target}");
        assert_eq!(
            r.json()["message"],
            "User is not authorized to access this resource with an explicit deny"
        );
    }
    let r = request(
        g.addr("main"),
        "HEAD",
        "/prod/blocked",
        &[("authorization", "Bearer all")],
        b"",
    )
    .await;
    assert_eq!(r.status, 403, "HEAD");
    assert_eq!(count(&calls, "Bearer all"), before);
}

#[tokio::test]
async fn ttl_zero_calls_every_time_and_request_authorizers() {
    let (g, calls) = setup().await;
    for _ in 0..3 {
        assert_eq!(
            call(&g, "/prod/nocache", with_token("Bearer all"))
                .await
                .status,
            200
        );
    }
    assert_eq!(count(&calls, "Bearer all"), 3);

    // REQUEST kind with a simple answer: both sources needed; context goes upstream.
    let key = |k: &str| vec![("x-key", k.to_string())];
    let r = call(&g, "/prod/simple?q=1", key("good")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["headers"]["x-tier"], "gold");
    assert_eq!(call(&g, "/prod/simple?q=1", key("good")).await.status, 200);
    assert_eq!(count(&calls, "key:good"), 1, "cached by (x-key, q)");
    assert_eq!(call(&g, "/prod/simple?q=2", key("good")).await.status, 200);
    assert_eq!(
        count(&calls, "key:good"),
        2,
        "another q is another identity"
    );
    let r = call(&g, "/prod/simple?q=1", key("bad")).await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (403, Some("Forbidden"))
    );
    let r = call(&g, "/prod/simple", key("good")).await;
    assert_eq!(r.status, 401, "a missing identity source");
}
