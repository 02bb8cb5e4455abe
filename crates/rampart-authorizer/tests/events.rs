//! The authorizer events, compared with the shared samples key by key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_authorizer::{event, Format, Kind, RequestFacts};
use serde_json::{json, Value};

fn token_kind() -> Kind {
    Kind::token("method.request.header.Authorization", None).unwrap()
}

#[test]
fn token_event_is_the_minimal_sample() {
    let headers = [("authorization", "Bearer abc.def.ghi")];
    let facts = RequestFacts {
        headers: &headers,
        ..rest_facts()
    };
    let ours = event(&token_kind(), Format::Policy, &facts);
    assert_eq!(ours, json("minimal/authorizer-token-event.json"));
}

#[test]
fn token_event_is_the_aws_fixture() {
    let headers = [("Authorization", "allow"), ("Host", "x")];
    let facts = RequestFacts {
        headers: &headers,
        method_arn: "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/",
        ..rest_facts()
    };
    let ours = event(&token_kind(), Format::Policy, &facts);
    assert_eq!(
        ours,
        json("aws_lambda_events-1.2.1/example-apigw-custom-auth-request.json")
    );
}

/// Keys real API Gateway sends in a REST `requestContext` that the minimal sample leaves out.
const REST_CONTEXT_EXTRAS: [&str; 6] = [
    "requestContext.protocol",
    "requestContext.domainName",
    "requestContext.domainPrefix",
    "requestContext.extendedRequestId",
    "requestContext.requestTime",
    "requestContext.requestTimeEpoch",
];

#[test]
fn rest_request_event_is_the_minimal_sample_plus_context_keys() {
    let kind = Kind::request(&["method.request.header.Authorization"]).unwrap();
    let mut ours = event(&kind, Format::Policy, &rest_facts());
    let extras: Vec<Value> = REST_CONTEXT_EXTRAS
        .iter()
        .map(|p| remove(&mut ours, p))
        .collect();
    assert_eq!(ours, json("minimal/authorizer-request-event-rest.json"));
    assert_eq!(
        extras,
        vec![
            json!("HTTP/1.1"),
            json!(DOMAIN),
            json!("abc123"),
            json!("c1d2"),
            json!("20/Nov/2026:23:00:00 +0000"),
            json!(1_795_215_600_000u64),
        ]
    );
}

/// Members that are data maps, not structure.
const REST_MAPS: [&str; 6] = [
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
];

#[test]
fn rest_request_event_has_the_aws_fixture_shape() {
    let kind = Kind::request(&["method.request.header.HeaderAuth1"]).unwrap();
    let ours = event(&kind, Format::Policy, &rest_facts());
    let sample =
        json("aws_lambda_events-1.2.1/example-apigw-custom-auth-request-type-request.json");
    let mut extra = REST_CONTEXT_EXTRAS.to_vec();
    extra.push("requestContext.identity.userAgent");
    assert_shape(
        &ours,
        &sample,
        &REST_MAPS,
        // Only with mutual TLS on a custom domain.
        &["requestContext.identity.clientCert"],
        &extra,
    );
}

#[test]
fn http_v2_event_is_the_minimal_sample() {
    let sample = json("minimal/authorizer-request-event-http-v2.json");
    for kind in [
        Kind::request(&["$request.header.Authorization"]).unwrap(),
        Kind::token("$request.header.Authorization", None).unwrap(),
    ] {
        assert_eq!(
            event(&kind, Format::Simple, &http_facts()),
            sample,
            "{kind:?}"
        );
    }
}

#[test]
fn http_v2_event_has_the_aws_fixture_shape() {
    let kind = Kind::request(&[
        "$request.header.Authorization",
        "$request.querystring.tenant",
    ])
    .unwrap();
    let ours = event(&kind, Format::Simple, &http_facts());
    assert_eq!(ours["identitySource"], json!(["Bearer abc", "t1"]));
    let maps = [
        "headers",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ];
    let ignore = ["requestContext.authentication"];
    assert_shape(
        &ours,
        &json("aws_lambda_events-1.2.1/example-apigw-v2-custom-authorizer-v2-request.json"),
        &maps,
        &ignore,
        &[],
    );
    // Without cookies, `cookies` is left out, as in the fixture without cookies.
    let ours = event(&kind, Format::Simple, &rest_facts());
    assert!(ours.get("cookies").is_none());
    assert_shape(
        &ours,
        &json("aws_lambda_events-1.2.1/example-apigw-v2-custom-authorizer-v2-request-without-cookies.json"),
        &maps,
        &ignore,
        &[],
    );
}

static MULTI_HEADERS: [(&str, &str); 6] = [
    ("X-Multi", "v1"),
    ("Authorization", "Bearer abc"),
    ("x-multi", "v2"),
    ("Cookie", "a=1; b=2"),
    ("cookie", "c=3"),
    ("Accept", "*/*"),
];
static MULTI_QUERY: [(&str, &str); 3] = [("a", "1"), ("A", "x"), ("a", "2")];

fn multi_facts() -> RequestFacts<'static> {
    RequestFacts {
        headers: &MULTI_HEADERS,
        query: &MULTI_QUERY,
        raw_query: "a=1&A=x&a=2",
        ..http_facts()
    }
}

#[test]
fn rest_multi_values_last_wins_in_single_maps() {
    let kind = Kind::request(&["method.request.header.X-Multi"]).unwrap();
    let ev = event(&kind, Format::Policy, &multi_facts());
    assert_eq!(ev["headers"]["X-Multi"], "v2");
    assert_eq!(ev["multiValueHeaders"]["X-Multi"], json!(["v1", "v2"]));
    assert!(ev["headers"].get("x-multi").is_none());
    assert_eq!(ev["headers"]["Cookie"], "c=3");
    assert_eq!(
        ev["multiValueHeaders"]["Cookie"],
        json!(["a=1; b=2", "c=3"])
    );
    // Query names are case-sensitive.
    assert_eq!(ev["queryStringParameters"], json!({"a": "2", "A": "x"}));
    assert_eq!(
        ev["multiValueQueryStringParameters"],
        json!({"a": ["1", "2"], "A": ["x"]})
    );
}

#[test]
fn http_v2_multi_values_are_comma_joined_and_cookies_collected() {
    let kind = Kind::request(&["$request.header.x-multi", "$request.querystring.a"]).unwrap();
    let ev = event(&kind, Format::Simple, &multi_facts());
    assert_eq!(
        ev["headers"],
        json!({"x-multi": "v1,v2", "authorization": "Bearer abc", "accept": "*/*"})
    );
    assert_eq!(ev["cookies"], json!(["a=1", "b=2", "c=3"]));
    assert_eq!(ev["queryStringParameters"], json!({"a": "1,2", "A": "x"}));
    assert_eq!(ev["rawQueryString"], "a=1&A=x&a=2");
    assert_eq!(ev["identitySource"], json!(["v1,v2", "1,2"]));
}

#[test]
fn empty_collections() {
    let facts = RequestFacts {
        headers: &[],
        query: &[],
        path_params: &[],
        stage_variables: &[],
        raw_query: "",
        user_agent: None,
        ..rest_facts()
    };
    let kind = Kind::request::<&str>(&[]).unwrap();
    let rest = event(&kind, Format::Policy, &facts);
    for k in [
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        assert_eq!(rest[k], json!({}), "{k}");
    }
    assert_eq!(rest["requestContext"]["identity"]["userAgent"], Value::Null);
    let v2 = event(&kind, Format::Simple, &facts);
    for k in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        assert!(v2.get(k).is_none(), "{k}");
    }
    assert_eq!(v2["headers"], json!({}));
    assert_eq!(v2["identitySource"], json!([]));
    assert_eq!(v2["requestContext"]["http"]["userAgent"], "");
}

#[test]
#[should_panic(expected = "ours lacks `requestContext.resourceId`")]
fn the_shape_check_notices_a_missing_key() {
    let kind = Kind::request(&["method.request.header.HeaderAuth1"]).unwrap();
    let mut ours = event(&kind, Format::Policy, &rest_facts());
    remove(&mut ours, "requestContext.resourceId");
    let sample =
        json("aws_lambda_events-1.2.1/example-apigw-custom-auth-request-type-request.json");
    assert_shape(
        &ours,
        &sample,
        &REST_MAPS,
        &["requestContext.identity.clientCert"],
        &[
            &REST_CONTEXT_EXTRAS[..],
            &["requestContext.identity.userAgent"],
        ]
        .concat(),
    );
}
