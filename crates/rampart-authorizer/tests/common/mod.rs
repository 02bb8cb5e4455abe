//! Shared test helpers: fixtures and request facts matching the minimal samples.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_authorizer::RequestFacts;
use serde_json::Value;

pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn json(rel: &str) -> Value {
    serde_json::from_slice(&bytes(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// 2026-11-20T23:00:00Z, the samples' time.
pub fn sample_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_215_600_000)
}

pub const DOMAIN: &str = "abc123.execute-api.us-east-1.amazonaws.com";
pub const REST_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/42";
pub const HTTP_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/pets/42";

pub static REST_HEADERS: [(&str, &str); 2] = [("Authorization", "Bearer abc"), ("Host", DOMAIN)];
pub static HTTP_HEADERS: [(&str, &str); 3] = [
    ("Authorization", "Bearer abc"),
    ("Host", DOMAIN),
    ("Cookie", "c=1"),
];
pub static QUERY: [(&str, &str); 1] = [("tenant", "t1")];
pub static PATH_PARAMS: [(&str, &str); 1] = [("petId", "42")];
pub static STAGE_VARS: [(&str, &str); 1] = [("env", "prod")];

/// The request of `minimal/authorizer-request-event-rest.json`.
pub fn rest_facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "GET",
        resource: "/pets/{petId}",
        resource_id: "r1",
        route_key: "GET /pets/{petId}",
        path: "/pets/42",
        request_path: "/prod/pets/42",
        raw_query: "tenant=t1",
        headers: &REST_HEADERS,
        query: &QUERY,
        path_params: &PATH_PARAMS,
        stage: "prod",
        stage_variables: &STAGE_VARS,
        request_id: "c1d2",
        source_ip: "192.0.2.10",
        user_agent: Some("curl/8"),
        account_id: "123456789012",
        api_id: "abc123",
        method_arn: REST_ARN,
        protocol: "HTTP/1.1",
        domain_name: DOMAIN,
        time: sample_time(),
    }
}

/// The request of `minimal/authorizer-request-event-http-v2.json`.
pub fn http_facts() -> RequestFacts<'static> {
    RequestFacts {
        stage: "$default",
        request_path: "/pets/42",
        headers: &HTTP_HEADERS,
        method_arn: HTTP_ARN,
        ..rest_facts()
    }
}

/// Remove a member by dotted path (for keys ours has and a sample lacks).
pub fn remove(v: &mut Value, path: &str) -> Value {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut cur = v;
    for p in parts {
        cur = cur.get_mut(p).unwrap_or_else(|| panic!("no {path}"));
    }
    cur.as_object_mut()
        .unwrap()
        .remove(last)
        .unwrap_or_else(|| panic!("no {path}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same keys and nesting: every key of `sample` (but `ignore`d ones) is in `ours` with the
/// same JSON type (`null` is compatible with anything); `ours` has no key beyond the
/// sample's but `extra`. Members named in `maps` are data maps (headers, ...): only their
/// type is compared.
pub fn assert_shape(ours: &Value, sample: &Value, maps: &[&str], ignore: &[&str], extra: &[&str]) {
    shape(ours, sample, "", maps, ignore, extra);
}

fn shape(ours: &Value, sample: &Value, path: &str, maps: &[&str], ignore: &[&str], extra: &[&str]) {
    if ours.is_null() || sample.is_null() {
        return;
    }
    assert_eq!(
        type_name(ours),
        type_name(sample),
        "{path}: ours {ours} vs sample {sample}"
    );
    let (Value::Object(o), Value::Object(s)) = (ours, sample) else {
        return;
    };
    if maps.contains(&path) {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    for (k, sv) in s {
        let p = join(k);
        if ignore.contains(&p.as_str()) {
            continue;
        }
        let ov = o
            .get(k)
            .unwrap_or_else(|| panic!("ours lacks `{p}` (sample has {sv})"));
        shape(ov, sv, &p, maps, ignore, extra);
    }
    for k in o.keys() {
        let p = join(k);
        assert!(
            s.contains_key(k) || extra.contains(&p.as_str()),
            "ours has `{p}`, the sample does not"
        );
    }
}
