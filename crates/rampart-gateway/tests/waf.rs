//! The WAF stage through the real gateway: web ACLs attached to APIs and stages, blocks
//! before authentication with WAF_FILTERED or a custom response, body inspection (and the
//! body still reaching the upstream), inserted headers, labels and the WAF action in the
//! access log, per-rule metrics, configuration errors with paths, and rate-based blocking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;

fn acl_json(name: &str, extra_rules: serde_json::Value) -> String {
    let vis = |n: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": n});
    let mut rules = vec![
        json!({"Name": "block-sqli-body", "Priority": 1, "Action": {"Block": {}}, "VisibilityConfig": vis("b"),
            "RuleLabels": [{"Name": "sqli"}],
            "Statement": {"ByteMatchStatement": {"SearchString": "union select", "FieldToMatch": {"Body": {"OversizeHandling": "CONTINUE"}},
                "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "LOWERCASE"}], "PositionalConstraint": "CONTAINS"}}}),
        json!({"Name": "teapot-admin", "Priority": 2, "VisibilityConfig": vis("t"),
            "Action": {"Block": {"CustomResponse": {"ResponseCode": 418, "CustomResponseBodyKey": "nope",
                "ResponseHeaders": [{"Name": "why", "Value": "admin"}]}}},
            "Statement": {"ByteMatchStatement": {"SearchString": "/admin", "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}}}),
        json!({"Name": "count-curl", "Priority": 3, "VisibilityConfig": vis("c"),
            "Action": {"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen-by", "Value": "waf"}]}}},
            "Statement": {"ByteMatchStatement": {"SearchString": "curl", "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}},
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}], "PositionalConstraint": "STARTS_WITH"}}}),
    ];
    if let Some(extra) = extra_rules.as_array() {
        rules.extend(extra.iter().cloned());
    }
    json!({"WebACL": {"Name": name, "DefaultAction": {"Allow": {}}, "Rules": rules, "VisibilityConfig": vis(name),
        "CustomResponseBodies": {"nope": {"ContentType": "TEXT_PLAIN", "Content": "no admin here"}}}, "LockToken": "x"})
    .to_string()
}

fn config(backend: std::net::SocketAddr) -> String {
    format!(
        "{}  waf:
    web_acls:
      main: main-acl.json
      strict: strict-acl.json
apis:
  - name: shop
    stages: [prod, dev]
    authorizers: [aws_iam]
    web_acl: main
    stage_web_acls: {{dev: strict}}
    routes:
      - {{method: ANY, path: '/{{proxy+}}', integration: {{type: http, url: 'http://{backend}'}}}}
  - name: open
    base_path: /open
    public: true
    routes:
      - {{method: ANY, path: '/{{proxy+}}', integration: {{type: http, url: 'http://{backend}'}}}}
",
        server_section("")
    )
}

async fn start_waf(backend: std::net::SocketAddr) -> TestGateway {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("main-acl.json"),
        acl_json("main", json!([])),
    )
    .unwrap();
    let strict = json!({"Name": "strict", "DefaultAction": {"Block": {}}, "Rules": [],
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "s"}});
    std::fs::write(dir.path().join("strict-acl.json"), strict.to_string()).unwrap();
    start_in(dir, &config(backend)).await
}

#[tokio::test]
async fn web_acl_blocks_before_authentication_and_lets_clean_requests_through() {
    let backend = echo_backend().await;
    let gw = start_waf(backend).await;
    let a = gw.addr("main");
    // Attack in a form body on an authenticated API: the WAF answers 403 before SigV4 would
    // answer 403 MissingAuthenticationToken.
    let r = request(
        a,
        "POST",
        "/prod/search",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"q=1%20UNION%20SELECT%20password",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["message"], "Forbidden");
    assert_eq!(
        r.header("x-amzn-errortype").as_deref(),
        Some("ForbiddenException")
    );
    assert!(r.header("x-request-id").is_some());
    // Clean request: the WAF passes it to authentication, which refuses it (no signature).
    let r = request(
        a,
        "POST",
        "/prod/search",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"q=union station",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Missing Authentication Token");
    assert_eq!(
        r.header("x-amzn-errortype").as_deref(),
        Some("MissingAuthenticationTokenException")
    );
    // A custom response.
    let r = get(a, "/prod/admin/users").await;
    assert_eq!(r.status, 418);
    assert_eq!(r.text(), "no admin here");
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(r.header("x-amzn-waf-why").as_deref(), Some("admin"));
    // The dev stage has its own web ACL (default Block).
    let r = get(a, "/dev/anything").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Forbidden");
    // An API without a web ACL is not inspected.
    let r = request(a, "POST", "/open/x", &[], b"q=1 union select 2").await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Access log: WAF action per request; the blocked one carries the rule's label.
    let log = gw.access_log(5).await;
    let actions: Vec<&str> = log
        .iter()
        .map(|l| l["waf_action"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        actions,
        vec!["BLOCK", "ALLOW", "BLOCK", "BLOCK", "-"],
        "{log:#?}"
    );
    // Metrics per rule and action.
    let m = metrics(&gw).await;
    assert!(
        m.contains(
            r#"rampart_waf_rule_matches_total{acl="main",rule="block-sqli-body",action="BLOCK"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains(
            r#"rampart_waf_rule_matches_total{acl="main",rule="teapot-admin",action="BLOCK"} 1"#
        ),
        "{m}"
    );
}

#[tokio::test]
async fn inspected_bodies_still_reach_the_upstream_and_count_inserts_headers() {
    let backend = echo_backend().await;
    let dir = tempdir();
    std::fs::write(
        dir.path().join("main-acl.json"),
        acl_json("main", json!([])),
    )
    .unwrap();
    let yaml = format!(
        "{}  waf:
    web_acls: {{main: main-acl.json}}
apis:
  - name: open
    base_path: /
    public: true
    web_acl: main
    routes:
      - {{method: ANY, path: '/{{proxy+}}', integration: {{type: http, url: 'http://{backend}'}}}}
",
        server_section("")
    );
    let gw = start_in(dir, &yaml).await;
    let a = gw.addr("main");
    let body = "x".repeat(40_000) + " harmless tail";
    let r = request(
        a,
        "POST",
        "/echo",
        &[("user-agent", "curl/8.0"), ("content-type", "text/plain")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echoed = r.json();
    assert_eq!(
        echoed["body"].as_str(),
        Some(body.as_str()),
        "the whole inspected body is forwarded"
    );
    assert_eq!(echoed["headers"]["x-amzn-waf-seen-by"], "waf", "{echoed}");
    let log = gw.access_log(1).await;
    assert_eq!(log[0]["waf_action"], "COUNT");
    let m = metrics(&gw).await;
    assert!(
        m.contains(
            r#"rampart_waf_rule_matches_total{acl="main",rule="count-curl",action="COUNT"} 1"#
        ),
        "{m}"
    );
}

/// A web ACL rule list: `rate`, blocking over `limit` requests a minute per key; `key` holds
/// `AggregateKeyType` and its settings.
fn rate_rule(limit: u64, key: serde_json::Value) -> serde_json::Value {
    let mut statement = json!({"Limit": limit, "EvaluationWindowSec": 60});
    if let (Some(s), Some(k)) = (statement.as_object_mut(), key.as_object()) {
        s.extend(k.clone());
    }
    json!([{"Name": "rate", "Priority": 0, "Action": {"Block": {}},
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"},
        "Statement": {"RateBasedStatement": statement}}])
}

/// `server` (a server section), web ACL `main` from `main-acl.json`, and an open API behind
/// it whose `GET /{proxy+}` answers `body`.
fn open_api_yaml(server: &str, body: &str) -> String {
    format!(
        "{server}  waf:
    web_acls: {{main: main-acl.json}}
apis:
  - name: open
    base_path: /
    public: true
    web_acl: main
    routes:
      - {{method: GET, path: '/{{proxy+}}', integration: {{type: mock, body: {body}}}}}
"
    )
}

#[tokio::test]
async fn rate_based_rule_blocks_an_ip_over_the_limit() {
    let dir = tempdir();
    let rate = rate_rule(10, json!({"AggregateKeyType": "IP"}));
    std::fs::write(dir.path().join("main-acl.json"), acl_json("main", rate)).unwrap();
    let yaml = open_api_yaml(&server_section(""), "ok");
    let gw = start_in(dir, &yaml).await;
    let a = gw.addr("main");
    let mut statuses = Vec::new();
    for _ in 0..13 {
        statuses.push(get(a, "/x").await.status);
    }
    assert_eq!(statuses, [vec![200; 10], vec![403; 3]].concat());
}

#[tokio::test]
async fn rate_counters_survive_a_reload_unless_the_rule_changed() {
    let dir = tempdir();
    let rate = |limit: u64| rate_rule(limit, json!({"AggregateKeyType": "IP"}));
    std::fs::write(dir.path().join("main-acl.json"), acl_json("main", rate(10))).unwrap();
    let yaml = |body: &str| open_api_yaml(&server_section(""), body);
    let gw = start_in(dir, &yaml("ok")).await;
    let a = gw.addr("main");
    for _ in 0..11 {
        get(a, "/x").await;
    }
    assert_eq!(get(a, "/x").await.status, 403);
    // Another change to the configuration, the ACL as it was: still blocked.
    std::fs::write(gw.config_path(), yaml("changed")).unwrap();
    gw.gw.reload().await.expect("reloads");
    assert_eq!(get(a, "/x").await.status, 403, "counters reset by a reload");
    // A new limit starts afresh.
    std::fs::write(
        gw.dir.path().join("main-acl.json"),
        acl_json("main", rate(20)),
    )
    .unwrap();
    gw.gw.reload().await.expect("reloads");
    let r = get(a, "/x").await;
    assert_eq!((r.status, r.text()), (200, "changed".to_string()));
}

#[tokio::test]
async fn the_admin_api_lists_the_addresses_a_rate_rule_blocks() {
    const TOKEN: &str = "waf-admin-token-0123456789abcdef0123";
    let dir = tempdir();
    let rate = rate_rule(
        10,
        json!({"AggregateKeyType": "FORWARDED_IP",
            "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"}}),
    );
    std::fs::write(dir.path().join("main-acl.json"), acl_json("main", rate)).unwrap();
    let server = server_section("").replace(
        "  admin:\n    bind: 127.0.0.1:0\n",
        &format!("  admin:\n    bind: 127.0.0.1:0\n    token: {TOKEN}\n"),
    );
    assert!(server.contains(TOKEN));
    let yaml = open_api_yaml(&server, "ok");
    let gw = start_in(dir, &yaml).await;
    let a = gw.addr("main");
    for (ip, n) in [
        ("198.51.100.7", 12),
        ("2001:db8::42", 11),
        ("203.0.113.5", 3),
    ] {
        for _ in 0..n {
            request(a, "GET", "/x", &[("x-forwarded-for", ip)], b"").await;
        }
    }
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        gw.admin(),
        "GET",
        "/admin/waf/managed-keys",
        &[("authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"items": [{"webAcl": "main", "rule": "rate",
            "ManagedKeysIPV4": {"IPAddressVersion": "IPV4", "Addresses": ["198.51.100.7/32"]},
            "ManagedKeysIPV6": {"IPAddressVersion": "IPV6", "Addresses": ["2001:db8::42/128"]}}]})
    );
    // The admin token is required; other methods are refused.
    let r = request(gw.admin(), "GET", "/admin/waf/managed-keys", &[], b"").await;
    assert_eq!(r.status, 401);
    let r = request(
        gw.admin(),
        "DELETE",
        "/admin/waf/managed-keys",
        &[("authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn bad_web_acls_are_configuration_errors_with_paths() {
    let dir = tempdir();
    let bad = json!({"Name": "bad", "DefaultAction": {"Allow": {}}, "Rules": [{"Name": "r", "Priority": 0,
        "Action": {"Block": {}}, "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"},
        "Statement": {"RegexMatchStatement": {"RegexString": "(unclosed", "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}]});
    std::fs::write(dir.path().join("bad.json"), bad.to_string()).unwrap();
    let yaml = format!(
        "{}  waf:
    web_acls: {{bad: bad.json}}
apis:
  - name: open
    base_path: /
    public: true
    web_acl: missing
    routes:
      - {{method: GET, path: /x, integration: {{type: mock, body: ok}}}}
",
        server_section("")
    );
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, yaml).unwrap();
    let err = rampart_gateway::config::load_file(&path)
        .expect_err("must not load")
        .to_string();
    assert!(
        err.contains("server.waf.web_acls.bad")
            && err.contains("Rules[0].Statement.RegexMatchStatement.RegexString"),
        "{err}"
    );
    assert!(
        err.contains("apis[0].web_acl") && err.contains("no web ACL named `missing`"),
        "{err}"
    );
}

/// `server.waf.ip_sets`, `regex_pattern_sets` and `rule_groups`: files in the AWS CLI's
/// output shape, referenced from a web ACL by ARN, apply to traffic; a broken or missing
/// file is a configuration error at its own index, all of them reported in one load.
#[tokio::test]
async fn referenced_sets_and_rule_groups_load_from_files_and_each_broken_one_is_reported() {
    let vis = |n: &str| json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": n});
    let ip_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/loopback/1";
    let re_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/regexpatternset/secrets/2";
    let rg_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/rulegroup/paths/3";
    let ip_set = json!({"IPSet": {"Name": "loopback", "Id": "1", "ARN": ip_arn, "IPAddressVersion": "IPV4",
        "Addresses": ["127.0.0.0/8"]}, "LockToken": "t"});
    let regex_set = json!({"RegexPatternSet": {"Name": "secrets", "Id": "2", "ARN": re_arn,
        "RegularExpressionList": [{"RegexString": "^/secret"}]}, "LockToken": "t"});
    let rule_group = json!({"RuleGroup": {"Name": "paths", "Id": "3", "ARN": rg_arn, "Capacity": 10,
        "VisibilityConfig": vis("g"),
        "Rules": [{"Name": "no-secrets", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("n"),
            "Statement": {"RegexPatternSetReferenceStatement": {"ARN": re_arn, "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}]}, "LockToken": "t"});
    let acl = json!({"Name": "refs", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("refs"), "Rules": [
        {"Name": "paths", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("p"),
         "Statement": {"RuleGroupReferenceStatement": {"ARN": rg_arn}}},
        {"Name": "loopback-admin", "Priority": 1, "Action": {"Block": {}}, "VisibilityConfig": vis("l"),
         "Statement": {"AndStatement": {"Statements": [
            {"IPSetReferenceStatement": {"ARN": ip_arn}},
            {"ByteMatchStatement": {"SearchString": "/admin", "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}}]}}}]});
    let files = [
        ("loopback.json", ip_set.to_string()),
        ("secrets.json", regex_set.to_string()),
        ("paths.json", rule_group.to_string()),
        ("refs.json", acl.to_string()),
        ("broken.json", "{\"IPSet\": ".to_owned()),
    ];
    let yaml = |ip_sets: &str, regex_sets: &str, rule_groups: &str| {
        format!(
            "{}  waf:
    ip_sets: {ip_sets}
    regex_pattern_sets: {regex_sets}
    rule_groups: {rule_groups}
    web_acls: {{refs: refs.json}}
apis:
  - name: open
    base_path: /
    public: true
    web_acl: refs
    routes:
      - {{method: ANY, path: '/{{proxy+}}', integration: {{type: mock, body: ok}}}}
",
            server_section("")
        )
    };

    // Every file broken or missing but one: each reported at its index, with its file.
    let dir = tempdir();
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("rampart.yaml");
    std::fs::write(
        &path,
        yaml(
            "[loopback.json, missing.json]",
            "[broken.json]",
            "[paths.json]",
        ),
    )
    .unwrap();
    let err = rampart_gateway::config::load_file(&path)
        .expect_err("must not load")
        .to_string();
    assert!(
        err.contains("server.waf.ip_sets[1]")
            && err.contains("cannot read")
            && err.contains("missing.json"),
        "{err}"
    );
    assert!(
        err.contains("server.waf.regex_pattern_sets[0]")
            && err.contains("broken.json")
            && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(!err.contains("server.waf.ip_sets[0]"), "{err}");

    // All present: the rule group's regex set and the IP set apply to traffic.
    let gw = start_in(
        dir,
        &yaml("[loopback.json]", "[secrets.json]", "[paths.json]"),
    )
    .await;
    let a = gw.addr("main");
    assert_eq!(request(a, "GET", "/public", &[], b"").await.status, 200);
    assert_eq!(
        request(a, "GET", "/secret/keys", &[], b"").await.status,
        403
    );
    assert_eq!(
        request(a, "GET", "/admin/users", &[], b"").await.status,
        403
    );
}
