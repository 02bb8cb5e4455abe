//! Authorizer responses: policy and simple forms, Unauthorized, garbage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use rampart_authorizer::{parse_response, AuthorizerError, Format, Outcome, Response, Verdict};
use rampart_iam::{Caller, Context, Decision};
use serde_json::json;

fn answer(status: u16, body: &[u8], format: Format) -> Arc<Response> {
    match parse_response(status, body, format) {
        Ok(Outcome::Answer(r)) => r,
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn policy(body: &str) -> Arc<Response> {
    answer(200, body.as_bytes(), Format::Policy)
}

fn malformed(body: &str, format: Format) -> String {
    match parse_response(200, body.as_bytes(), format) {
        Err(AuthorizerError::Malformed(m)) => m,
        other => panic!("expected malformed for {body}, got {other:?}"),
    }
}

/// The returned policy's decision for `execute-api:Invoke` on this ARN.
fn decide(r: &Response, arn: &str) -> Decision {
    let Verdict::Policy(set) = &r.verdict else {
        panic!("not a policy response")
    };
    let caller = Caller::anonymous();
    let ctx = Context::new();
    set.evaluate(&rampart_iam::Request::new(
        "execute-api:Invoke",
        arn,
        &caller,
        &ctx,
    ))
}

#[test]
fn minimal_policy_response() {
    let r = answer(
        200,
        &bytes("minimal/authorizer-policy-response.json"),
        Format::Policy,
    );
    assert_eq!(r.principal_id.as_deref(), Some("user-123"));
    assert_eq!(
        r.usage_identifier_key.as_deref(),
        Some("apikey1234abcdefghij0123456789")
    );
    assert_eq!(
        serde_json::Value::Object(r.context.clone()),
        json!({"tenant": "t1", "tier": "gold", "n": 1, "flag": true})
    );
    assert_eq!(r.is_authorized(), None);
    let p = r.policy().unwrap();
    assert_eq!(p.name, "authorizer");
    assert_eq!(p.statements.len(), 1);
    // The policy is re-evaluated per method ARN.
    assert_eq!(decide(&r, REST_ARN), Decision::Allow);
    assert_eq!(
        decide(
            &r,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/7/toys"
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            &r,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/pets"
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn aws_fixture_policy_responses() {
    for f in [
        "example-apigw-custom-auth-response.json",
        "example-apigw-custom-auth-response-with-condition.json",
        "example-apigw-custom-auth-response-with-single-value-action.json",
        "example-apigw-custom-auth-response-with-single-value-resource.json",
    ] {
        let r = answer(
            200,
            &bytes(&format!("aws_lambda_events-1.2.1/{f}")),
            Format::Policy,
        );
        assert_eq!(r.principal_id.as_deref(), Some("yyyyyyyy"), "{f}");
        assert_eq!(r.usage_identifier_key.as_deref(), Some("{api-key}"), "{f}");
        assert_eq!(r.context["numberKey"], "1", "{f}");
        assert!(r.policy().is_some(), "{f}");
    }
}

#[test]
fn allow_and_deny_policies() {
    let doc = |effect: &str, resource: &str| {
        format!(
            r#"{{"principalId":"p","policyDocument":{{"Version":"2012-10-17","Statement":[
            {{"Action":"execute-api:Invoke","Effect":"{effect}","Resource":"{resource}"}}]}}}}"#
        )
    };
    let any = "arn:aws:execute-api:us-east-1:123456789012:abc123/*";
    let allow = policy(&doc("Allow", any));
    assert_eq!(decide(&allow, REST_ARN), Decision::Allow);
    let deny = policy(&doc("Deny", any));
    assert_eq!(decide(&deny, REST_ARN), Decision::ExplicitDeny);
    // Scoped to one resource: other resources are not allowed (the caching pitfall).
    let one = policy(&doc("Allow", REST_ARN));
    assert_eq!(decide(&one, REST_ARN), Decision::Allow);
    assert_eq!(
        decide(
            &one,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/43"
        ),
        Decision::ImplicitDeny
    );
    // Extra members are ignored; null optional members are absent.
    let r = policy(
        r#"{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[
        {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},
        "context":null,"usageIdentifierKey":null,"somethingElse":[1]}"#,
    );
    assert!(r.context.is_empty());
    assert_eq!(r.usage_identifier_key, None);
}

#[test]
fn context_value_types() {
    let base = r#"{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[
        {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":"#;
    let r = policy(&format!(
        r#"{base}{{"s":"x","i":-3,"f":1.5,"t":true,"e":""}}}}"#
    ));
    assert_eq!(
        serde_json::Value::Object(r.context.clone()),
        json!({"s":"x","i":-3,"f":1.5,"t":true,"e":""})
    );
    for (bad, key) in [
        (r#"{"o":{"k":"v"}}"#, "context.o"),
        (r#"{"a":["x"]}"#, "context.a"),
        (r#"{"ok":"x","n":null}"#, "context.n"),
    ] {
        let m = malformed(&format!("{base}{bad}}}"), Format::Policy);
        assert!(m.contains(key), "{m}");
    }
    let m = malformed(&format!("{base}[1]}}"), Format::Policy);
    assert!(m.contains("context must be an object"), "{m}");
}

#[test]
fn simple_responses() {
    let r = answer(
        200,
        &bytes("minimal/authorizer-simple-response-http-v2.json"),
        Format::Simple,
    );
    assert_eq!(r.is_authorized(), Some(true));
    assert!(r.policy().is_none());
    assert_eq!(r.principal_id, None);
    // Simple responses may carry any JSON in their context.
    assert_eq!(r.context["arr"], json!(["a"]));
    assert_eq!(r.context["obj"], json!({"k": "v"}));
    let r = answer(200, br#"{"isAuthorized": false}"#, Format::Simple);
    assert!(matches!(r.verdict, Verdict::Simple(false)));
    assert!(r.context.is_empty());
    for bad in [
        r#"{"isAuthorized": "true"}"#,
        r#"{"isAuthorized": 1}"#,
        r#"{"context": {}}"#,
        r#"{"isAuthorized": true, "context": "x"}"#,
        // A policy response is not a simple one.
        r#"{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}"#,
    ] {
        malformed(bad, Format::Simple);
    }
    // A simple response is not a policy one.
    malformed(r#"{"isAuthorized": true}"#, Format::Policy);
}

#[test]
fn unauthorized() {
    for format in [Format::Policy, Format::Simple] {
        for (status, body) in [
            (401, &b""[..]),
            (401, &b"{\"message\":\"Unauthorized\"}"[..]),
            (401, &b"garbage"[..]),
            (200, &b"\"Unauthorized\""[..]),
            (200, &b"{\"errorMessage\":\"Unauthorized\"}"[..]),
            (
                200,
                &b"{\"errorMessage\":\"Unauthorized\",\"errorType\":\"Error\",\"stackTrace\":[]}"[..],
            ),
        ] {
            assert!(
                matches!(
                    parse_response(status, body, format),
                    Ok(Outcome::Unauthorized)
                ),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

#[test]
fn errors_are_never_answers() {
    // Not exactly "Unauthorized".
    for body in [r#""unauthorized""#, r#""Unauthorized ""#, r#""Forbidden""#] {
        malformed(body, Format::Policy);
    }
    assert_eq!(
        parse_response(200, br#"{"errorMessage":"unauthorized"}"#, Format::Policy).unwrap_err(),
        AuthorizerError::Function("unauthorized".into())
    );
    assert!(matches!(
        parse_response(200, br#"{"errorMessage":"boom","errorType":"Error"}"#, Format::Simple),
        Err(AuthorizerError::Function(m)) if m == "boom"
    ));
    // An error object wins over anything else in it.
    assert!(matches!(
        parse_response(
            200,
            br#"{"errorMessage":"boom","isAuthorized":true}"#,
            Format::Simple
        ),
        Err(AuthorizerError::Function(_))
    ));
    for status in [403, 404, 500, 502, 503, 100, 301] {
        assert_eq!(
            parse_response(status, br#"{"isAuthorized":true}"#, Format::Simple).unwrap_err(),
            AuthorizerError::Status(status)
        );
    }
}

#[test]
fn garbage() {
    let stmt = r#"{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}"#;
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "not JSON"),
        ("not json".into(), "not JSON"),
        ("{\"principalId\":".into(), "not JSON"),
        ("[]".into(), "JSON object"),
        ("null".into(), "JSON object"),
        ("42".into(), "JSON object"),
        (format!(r#"{{"policyDocument":{stmt}}}"#), "principalId is missing"),
        (format!(r#"{{"principalId":7,"policyDocument":{stmt}}}"#), "principalId must be a string"),
        (format!(r#"{{"principalId":null,"policyDocument":{stmt}}}"#), "principalId must be a string"),
        (r#"{"principalId":"p"}"#.into(), "policyDocument is missing"),
        (r#"{"principalId":"p","policyDocument":"{}"}"#.into(), "policyDocument must be an object"),
        (r#"{"principalId":"p","policyDocument":{}}"#.into(), "not a valid policy"),
        (
            r#"{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Maybe","Resource":"*"}]}}"#.into(),
            "not a valid policy",
        ),
        (
            format!(r#"{{"principalId":"p","policyDocument":{stmt},"usageIdentifierKey":5}}"#),
            "usageIdentifierKey must be a string",
        ),
        // Duplicate keys are refused, not resolved.
        (
            format!(r#"{{"principalId":"p","principalId":"q","policyDocument":{stmt}}}"#),
            "not JSON",
        ),
    ];
    for (body, want) in cases {
        let m = malformed(&body, Format::Policy);
        assert!(m.contains(want), "{body}: {m}");
    }
    let m = match parse_response(200, &[0xff, 0xfe, b'{', b'}'], Format::Policy) {
        Err(AuthorizerError::Malformed(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.contains("UTF-8"));
    let dup = r#"{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Effect":"Allow","Resource":"*"}]}}"#;
    malformed(dup, Format::Policy);
}

#[test]
fn long_function_errors_are_truncated() {
    let long = "é".repeat(1000);
    let body = serde_json::to_vec(&json!({ "errorMessage": long })).unwrap();
    let Err(AuthorizerError::Function(m)) = parse_response(200, &body, Format::Policy) else {
        panic!()
    };
    assert!(m.len() < 300 && m.ends_with('…'), "{}", m.len());
}
