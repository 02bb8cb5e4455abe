//! The authorize stage end to end: an API's IAM resource policy decides on
//! `execute-api:Invoke` for ARNs built from the canonical path, with the condition keys the
//! gateway supplies (source IP, route tags, listener / VPC endpoint, secure transport),
//! and denials answer with API Gateway's 403 messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

const ARN: &str = "arn:aws:execute-api:eu-west-1:111122223333:petstore";

fn mock(body: &str) -> String {
    format!("{{type: mock, status: 200, headers: {{content-type: text/plain}}, body: {body}}}")
}

/// Server with a public listener `main` and a private listener `internal`.
fn server() -> String {
    "server:
  listeners:
    - {name: main, bind: 127.0.0.1:0}
    - {name: internal, bind: 127.0.0.1:0, private: true, vpce_id: vpce-0abc}
  admin: {bind: 127.0.0.1:0}
  access_log: {output: access.log}
  aws: {region: eu-west-1, account_id: '111122223333'}
"
    .to_string()
}

async fn petstore() -> TestGateway {
    let policy = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "ReadPetsFromLoopback", "Effect": "Allow", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/GET/pets*",
         "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}},
        {"Sid": "TeamRed", "Effect": "Allow", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/team/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "red"}}},
        {"Sid": "AdminOnlyViaEndpoint", "Effect": "Allow", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/admin",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}}},
        {"Sid": "VaultAnyMethod", "Effect": "Allow", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/vault*"},
        {"Sid": "VaultNotByGet", "Effect": "Deny", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/prod/GET/vault"},
        {"Sid": "NeverDelete", "Effect": "Deny", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/DELETE/*"},
        {"Sid": "Listeners", "Effect": "Allow", "Principal": "*",
         "Action": "execute-api:Invoke", "Resource": "execute-api:/*/GET/where",
         "Condition": {"StringEquals": {"rampart:Listener": "main"}, "Bool": {"aws:SecureTransport": "false"}}}
      ]
    }"#;
    // JSON is YAML: the policy goes in as one flow-style line.
    let policy = policy.split_whitespace().collect::<Vec<_>>().join(" ");
    let yaml = format!(
        "{}apis:
  - name: petstore
    stages: [prod]
    public: true
    listeners: [main, internal]
    resource_policy: {policy}
    routes:
      - {{method: ANY, path: '/pets/{{id}}', integration: {}}}
      - {{method: GET, path: /pets, integration: {}}}
      - {{method: GET, path: /team/red, tags: {{team: red}}, integration: {}}}
      - {{method: GET, path: /team/blue, tags: {{team: blue}}, integration: {}}}
      - {{method: GET, path: /admin, integration: {}}}
      - {{method: GET, path: /where, integration: {}}}
      - {{method: GET, path: /vault, integration: {}}}
  - name: open
    base_path: /open
    public: true
    routes:
      - {{method: ANY, path: '/{{proxy+}}', integration: {}}}
",
        server(),
        mock("pet"),
        mock("pets"),
        mock("red"),
        mock("blue"),
        mock("admin"),
        mock("where"),
        mock("vault"),
        mock("open"),
    );
    start(&yaml).await
}

fn denied(r: &RawResponse, arn: &str, explicit: bool) {
    assert_eq!(r.status, 403, "{}", r.text());
    let want = format!(
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}{}",
        if explicit {
            " with an explicit deny"
        } else {
            ""
        }
    );
    let body = r.json();
    assert_eq!(body["message"], want.as_str());
    assert_eq!(
        body["requestId"].as_str(),
        r.header("x-request-id").as_deref(),
        "the body carries the request id"
    );
    let text = r.text();
    for sid in ["NeverDelete", "ReadPetsFromLoopback", "Statement"] {
        assert!(
            !text.contains(sid),
            "the response names no statement: {text}"
        );
    }
}

#[tokio::test]
async fn resource_policy_allows_and_denies() {
    let g = petstore().await;
    let a = g.addr("main");
    // Allowed by source IP (the client is on loopback).
    let r = get(a, "/prod/pets/7").await;
    assert_eq!((r.status, r.text().as_str()), (200, "pet"));
    assert_eq!(get(a, "/prod/pets").await.status, 200);
    // No statement allows POST: implicit deny.
    let r = request(a, "POST", "/prod/pets/7", &[], b"{}").await;
    denied(&r, &format!("{ARN}/prod/POST/pets/7"), false);
    // An explicit Deny beats nothing else allowing it, and says so.
    let r = request(a, "DELETE", "/prod/pets/7", &[], b"").await;
    denied(&r, &format!("{ARN}/prod/DELETE/pets/7"), true);
    // An API without a resource policy (and no authorizer) stays open.
    assert_eq!(request(a, "DELETE", "/open/x", &[], b"").await.status, 200);
}

#[tokio::test]
async fn decisions_use_the_canonical_path() {
    let g = petstore().await;
    let a = g.addr("main");
    // Every spelling of DELETE /prod/pets/7 is the same ARN, and is denied.
    for target in [
        "/prod/pets/7",
        "/prod/pets/../pets/7",
        "/prod//pets/7",
        "/prod/%70ets/7",
        "/prod/pets/./7",
    ] {
        let r = request(a, "DELETE", target, &[], b"").await;
        denied(&r, &format!("{ARN}/prod/DELETE/pets/7"), true);
    }
    // A path parameter's value is part of the ARN, percent-decoded as routing sees it.
    let r = request(a, "PUT", "/prod/pets/%41b", &[], b"").await;
    denied(&r, &format!("{ARN}/prod/PUT/pets/Ab"), false);
}

/// Routing ignores a trailing slash and answers HEAD with a GET route: the ARN does the
/// same, so a statement on `GET /vault` covers `/vault/`, `/vault//`, `/vault/.` and HEAD
/// (an exact Deny was bypassed by either).
#[tokio::test]
async fn trailing_slashes_and_head_are_the_get_routes_arn() {
    let g = petstore().await;
    let a = g.addr("main");
    let arn = format!("{ARN}/prod/GET/vault");
    for target in [
        "/prod/vault",
        "/prod/vault/",
        "/prod/vault//",
        "/prod/vault/.",
    ] {
        denied(&request(a, "GET", target, &[], b"").await, &arn, true);
    }
    for target in ["/prod/vault", "/prod/vault/"] {
        let r = request(a, "HEAD", target, &[], b"").await;
        assert_eq!(r.status, 403, "HEAD {target}");
    }
    let log = g.access_log(6).await;
    assert!(log.iter().all(|l| l["status"] == 403), "{log:?}");
    // The ANY route's ARN keeps the request's method: HEAD is not GET there.
    let r = request(a, "HEAD", "/prod/pets/7", &[], b"").await;
    assert_eq!(r.status, 403, "no statement allows HEAD on /pets/7");
    // On any route and method.
    let r = request(a, "POST", "/prod/pets/7/", &[], b"").await;
    denied(&r, &format!("{ARN}/prod/POST/pets/7"), false);
}

#[tokio::test]
async fn tag_based_access_control_with_route_tags() {
    let g = petstore().await;
    let a = g.addr("main");
    assert_eq!(get(a, "/prod/team/red").await.text(), "red");
    denied(
        &get(a, "/prod/team/blue").await,
        &format!("{ARN}/prod/GET/team/blue"),
        false,
    );
}

#[tokio::test]
async fn listener_and_vpc_endpoint_conditions() {
    let g = petstore().await;
    // /admin only through the private listener's VPC endpoint id.
    let r = get(g.addr("internal"), "/prod/admin").await;
    assert_eq!((r.status, r.text().as_str()), (200, "admin"));
    denied(
        &get(g.addr("main"), "/prod/admin").await,
        &format!("{ARN}/prod/GET/admin"),
        false,
    );
    // rampart:Listener and aws:SecureTransport (plain HTTP here).
    assert_eq!(get(g.addr("main"), "/prod/where").await.status, 200);
    denied(
        &get(g.addr("internal"), "/prod/where").await,
        &format!("{ARN}/prod/GET/where"),
        false,
    );
}

#[tokio::test]
async fn access_denied_message_can_be_overridden_and_denials_are_counted() {
    let yaml = format!(
        "{}  responses:
    ACCESS_DENIED: {{message: 'Nope', headers: {{x-denied: 'yes'}}}}
apis:
  - name: p
    stages: [prod]
    public: true
    resource_policy:
      Version: '2012-10-17'
      Statement:
        - {{Effect: Deny, Principal: '*', Action: 'execute-api:Invoke', Resource: 'execute-api:/*'}}
    routes:
      - {{method: GET, path: /x, integration: {}}}
",
        server_section(""),
        mock("x")
    );
    let g = start(&yaml).await;
    let r = get(g.addr("main"), "/prod/x").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Nope");
    assert_eq!(r.header("x-denied").as_deref(), Some("yes"));
    let log = g.access_log(1).await;
    assert_eq!(log[0]["status"], 403);
    assert_eq!(log[0]["rejected_by"], "authorize");
    assert_eq!(log[0]["error"], "ACCESS_DENIED");
    let m = metrics(&g).await;
    assert!(
        m.lines().any(|l| l.contains("stage=\"authorize\"")
            && l.contains("ACCESS_DENIED")
            && !l.starts_with('#')),
        "{m}"
    );
}

#[test]
fn bad_policies_are_config_errors_with_paths_and_lines() {
    let yaml = "server:
  listeners:
    - {name: main, bind: 127.0.0.1:0}
apis:
  - name: p
    stages: [prod]
    public: true
    resource_policy:
      Version: '2012-10-17'
      Statement:
        - Effect: Permit
          Principal: '*'
          Action: execute-api:Invoke
          Resource: execute-api:/*
        - Effect: Allow
          Action: execute-api:Invoke
          Resource: execute-api:/*
          Condition: {IpAddress: {aws:SourceIp: not-an-ip}}
    routes:
      - {method: GET, path: /x, integration: {type: mock}}
";
    let errs =
        match rampart_gateway::config::load_str(yaml, "t.yaml", std::path::Path::new("."), &|_| {
            None
        }) {
            Ok(_) => panic!("a bad resource policy must be rejected"),
            Err(e) => e.0,
        };
    let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let find = |path: &str| {
        errs.iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("no error at {path}: {shown:#?}"))
    };
    let effect = find("apis[0].resource_policy.Statement[0].Effect");
    assert_eq!(effect.line, 11, "{shown:#?}");
    let principal = find("apis[0].resource_policy.Statement[1]");
    assert!(principal.message.contains("Principal"), "{shown:#?}");
    let ip = find("apis[0].resource_policy.Statement[1].Condition.IpAddress.aws:SourceIp");
    assert!(ip.message.contains("not-an-ip"), "{shown:#?}");
}

#[test]
fn resource_policy_file_and_its_errors() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}]}"#,
    )
    .unwrap();
    let yaml = "server:
  listeners:
    - {name: main, bind: 127.0.0.1:0}
apis:
  - name: p
    stages: [prod]
    public: true
    resource_policy_file: policy.json
    routes:
      - {method: GET, path: /x, integration: {type: mock}}
";
    let errs = match rampart_gateway::config::load_str(yaml, "t.yaml", dir.path(), &|_| None) {
        Ok(_) => panic!("a duplicated key must be rejected"),
        Err(e) => e.0,
    };
    assert_eq!(errs[0].path, "apis[0].resource_policy_file");
    assert!(
        errs[0].message.contains("duplicate key `Effect`"),
        "{errs:?}"
    );
}
