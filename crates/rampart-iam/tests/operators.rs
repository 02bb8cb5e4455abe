//! Every condition operator, with values that match and values that do not; `...IfExists`;
//! `ForAnyValue:` / `ForAllValues:`; missing keys; how values, keys and operators combine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_iam::{Context, Decision};

/// Does an Allow statement carrying this `Condition` apply to Alice's request?
fn holds(condition: &str, context: &Context) -> bool {
    let text = doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{condition}}}"#
    ));
    let set = set(vec![identity(&text)]);
    match decide_alice(&set, context) {
        Decision::Allow => true,
        Decision::ImplicitDeny => false,
        Decision::ExplicitDeny => panic!("no Deny statement in {text}"),
    }
}

/// The same condition on a Deny statement, next to an Allow for everything.
fn denies(condition: &str, context: &Context) -> bool {
    let text = doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}},
           {{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*","Condition":{condition}}}"#
    ));
    let set = set(vec![identity(&text)]);
    match decide_alice(&set, context) {
        Decision::ExplicitDeny => true,
        Decision::Allow => false,
        Decision::ImplicitDeny => panic!("the Allow statement should apply in {text}"),
    }
}

fn one(key: &str, value: &str) -> Context {
    ctx(&[(key, value)])
}

fn many(key: &str, values: &[&str]) -> Context {
    let mut c = Context::new();
    c.insert_many(key, values.iter().copied());
    c
}

/// `(condition, key, request value, expected)` for single-valued keys.
fn check_table(cases: &[(&str, &str, &str, bool)]) {
    for (cond, key, value, want) in cases {
        assert_eq!(
            holds(cond, &one(key, value)),
            *want,
            "{cond} with {key}={value:?}"
        );
    }
}

#[test]
fn string_operators() {
    let k = "aws:username";
    check_table(&[
        (
            r#"{"StringEquals":{"aws:username":"alice"}}"#,
            k,
            "alice",
            true,
        ),
        (
            r#"{"StringEquals":{"aws:username":"alice"}}"#,
            k,
            "Alice",
            false,
        ),
        (
            r#"{"StringEquals":{"aws:username":"alice"}}"#,
            k,
            "alice2",
            false,
        ),
        (
            r#"{"StringEquals":{"aws:username":"ali*"}}"#,
            k,
            "alice",
            false,
        ),
        (
            r#"{"StringNotEquals":{"aws:username":"alice"}}"#,
            k,
            "alice",
            false,
        ),
        (
            r#"{"StringNotEquals":{"aws:username":"alice"}}"#,
            k,
            "bob",
            true,
        ),
        (
            r#"{"StringNotEquals":{"aws:username":"alice"}}"#,
            k,
            "ALICE",
            true,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
            k,
            "alice",
            true,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
            k,
            "ALICE",
            true,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
            k,
            "bob",
            false,
        ),
        (
            r#"{"StringNotEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
            k,
            "aLiCe",
            false,
        ),
        (
            r#"{"StringNotEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
            k,
            "bob",
            true,
        ),
        (
            r#"{"StringLike":{"aws:username":"ali*"}}"#,
            k,
            "alice",
            true,
        ),
        (r#"{"StringLike":{"aws:username":"ali*"}}"#, k, "ali", true),
        (r#"{"StringLike":{"aws:username":"ali*"}}"#, k, "bob", false),
        (
            r#"{"StringLike":{"aws:username":"ali*"}}"#,
            k,
            "ALICE",
            false,
        ),
        (
            r#"{"StringLike":{"aws:username":"a?ice"}}"#,
            k,
            "alice",
            true,
        ),
        (
            r#"{"StringLike":{"aws:username":"a?ice"}}"#,
            k,
            "aice",
            false,
        ),
        (
            r#"{"StringLike":{"aws:username":"a?ice"}}"#,
            k,
            "allice",
            false,
        ),
        (r#"{"StringLike":{"aws:username":"*"}}"#, k, "", true),
        (
            r#"{"StringNotLike":{"aws:username":"ali*"}}"#,
            k,
            "alice",
            false,
        ),
        (
            r#"{"StringNotLike":{"aws:username":"ali*"}}"#,
            k,
            "bob",
            true,
        ),
    ]);
}

#[test]
fn numeric_operators() {
    let k = "aws:MultiFactorAuthAge";
    check_table(&[
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            true,
        ),
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10.0",
            true,
        ),
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":10}}"#,
            k,
            "10",
            true,
        ),
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "11",
            false,
        ),
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "ten",
            false,
        ),
        (
            r#"{"NumericNotEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            false,
        ),
        (
            r#"{"NumericNotEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "11",
            true,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "9",
            true,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "9.99",
            true,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            false,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "11",
            false,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"-1.5"}}"#,
            k,
            "-2",
            true,
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"-1.5"}}"#,
            k,
            "-1",
            false,
        ),
        (
            r#"{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            true,
        ),
        (
            r#"{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "3",
            true,
        ),
        (
            r#"{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10.5",
            false,
        ),
        (
            r#"{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "11",
            true,
        ),
        (
            r#"{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            false,
        ),
        (
            r#"{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "2",
            false,
        ),
        (
            r#"{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "10",
            true,
        ),
        (
            r#"{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "100",
            true,
        ),
        (
            r#"{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"10"}}"#,
            k,
            "9",
            false,
        ),
    ]);
}

#[test]
fn date_operators() {
    let k = "aws:CurrentTime";
    let t = "2024-01-01T00:00:00Z";
    let c = |op: &str| format!(r#"{{"{op}":{{"aws:CurrentTime":"{t}"}}}}"#);
    let cases: Vec<(String, &str, bool)> = vec![
        (c("DateEquals"), "2024-01-01T00:00:00Z", true),
        (c("DateEquals"), "2024-01-01T01:00:00+01:00", true),
        (c("DateEquals"), "2024-01-01T00:00:00.000Z", true),
        (c("DateEquals"), "1704067200", true),
        (c("DateEquals"), "2024-01-01T00:00:01Z", false),
        (c("DateEquals"), "not a date", false),
        (c("DateNotEquals"), "2024-01-01T00:00:00Z", false),
        (c("DateNotEquals"), "2024-01-02T00:00:00Z", true),
        (c("DateLessThan"), "2023-12-31T23:59:59Z", true),
        (c("DateLessThan"), "2024-01-01T00:00:00Z", false),
        (c("DateLessThan"), "2024-06-01T00:00:00Z", false),
        (c("DateLessThanEquals"), "2024-01-01T00:00:00Z", true),
        (c("DateLessThanEquals"), "2023-01-01", true),
        (c("DateLessThanEquals"), "2024-01-01T00:00:00.001Z", false),
        (c("DateGreaterThan"), "2024-01-01T00:00:01Z", true),
        (c("DateGreaterThan"), "2024-01-01T00:00:00Z", false),
        (c("DateGreaterThan"), "2023-12-31T23:59:59Z", false),
        (c("DateGreaterThanEquals"), "2024-01-01T00:00:00Z", true),
        (c("DateGreaterThanEquals"), "2030-01-01T00:00:00Z", true),
        (
            c("DateGreaterThanEquals"),
            "2023-12-31T23:59:59.999Z",
            false,
        ),
    ];
    for (cond, value, want) in &cases {
        assert_eq!(holds(cond, &one(k, value)), *want, "{cond} with {value}");
    }
    // A policy date given as seconds since the epoch, compared with aws:EpochTime.
    let cond = r#"{"DateGreaterThan":{"aws:EpochTime":1704067200}}"#;
    assert!(holds(cond, &one("aws:EpochTime", "1704067201")));
    assert!(!holds(cond, &one("aws:EpochTime", "1704067200")));
    assert!(holds(cond, &one("aws:EpochTime", "2024-01-01T00:00:01Z")));
}

#[test]
fn dates_with_non_ascii_offsets_do_not_panic() {
    // A four-byte offset whose bytes split a multi-byte character.
    for v in [
        "2020-01-01T00:00:00+1é1",
        "2020-01-01T00:00:00+é12",
        "2020-01-01T00:00+ééé",
    ] {
        assert!(!holds(
            r#"{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            &one("aws:CurrentTime", v)
        ));
        assert!(rampart_iam::condition::parse_date(v).is_none(), "{v}");
    }
}

#[test]
fn bool_operator() {
    let k = "aws:SecureTransport";
    check_table(&[
        (
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
            k,
            "true",
            true,
        ),
        (
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
            k,
            "false",
            false,
        ),
        (
            r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
            k,
            "yes",
            false,
        ),
        (r#"{"Bool":{"aws:SecureTransport":true}}"#, k, "true", true),
        (
            r#"{"Bool":{"aws:SecureTransport":false}}"#,
            k,
            "false",
            true,
        ),
        (
            r#"{"Bool":{"aws:SecureTransport":"false"}}"#,
            k,
            "true",
            false,
        ),
    ]);
}

#[test]
fn binary_equals() {
    // base64("BinaryValue") and base64("other")
    let k = "rampart:ClientCertFingerprint";
    let cond = r#"{"BinaryEquals":{"rampart:ClientCertFingerprint":"QmluYXJ5VmFsdWU="}}"#;
    check_table(&[
        (cond, k, "QmluYXJ5VmFsdWU=", true),
        (cond, k, "b3RoZXI=", false),
        (cond, k, "", false),
    ]);
}

#[test]
fn ip_address_operators() {
    let k = "aws:SourceIp";
    check_table(&[
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "10.1.2.3",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "10.255.255.255",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "11.0.0.1",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "9.255.255.255",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "not-an-ip",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "2001:db8::1",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"192.0.2.1"}}"#,
            k,
            "192.0.2.1",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"192.0.2.1"}}"#,
            k,
            "192.0.2.2",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}"#,
            k,
            "192.0.2.77",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "2001:db8::1",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "2001:db8:ffff::1",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "2001:db9::1",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "10.1.2.3",
            false,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":"2001:db8::1/128"}}"#,
            k,
            "2001:db8::1",
            true,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "10.1.2.3",
            false,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            k,
            "192.0.2.1",
            true,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "2001:db8::1",
            false,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
            k,
            "2001:db9::1",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
            k,
            "2001:db8::5",
            true,
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
            k,
            "10.9.9.9",
            true,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
            k,
            "2001:db8::5",
            false,
        ),
    ]);
}

#[test]
fn arn_operators() {
    let k = "aws:PrincipalArn";
    let alice = "arn:aws:iam::123456789012:user/alice";
    check_table(&[
        (
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}"#,
            k,
            alice,
            true,
        ),
        (
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}"#,
            k,
            "arn:aws:iam::123456789012:user/bob",
            false,
        ),
        (
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}"#,
            k,
            "arn:aws:iam::123456789012:user/Alice",
            false,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}"#,
            k,
            alice,
            true,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}"#,
            k,
            "arn:aws:iam::999988887777:user/alice",
            false,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}"#,
            k,
            "arn:aws:iam::123456789012:role/alice",
            false,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al?ce"}}"#,
            k,
            alice,
            true,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al?ce"}}"#,
            k,
            "not-an-arn",
            false,
        ),
        (
            r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}"#,
            k,
            alice,
            false,
        ),
        (
            r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}"#,
            k,
            "arn:aws:iam::123456789012:user/bob",
            true,
        ),
        (
            r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}"#,
            k,
            alice,
            false,
        ),
        (
            r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}"#,
            k,
            "arn:aws:iam::123456789012:role/admin",
            true,
        ),
    ]);
}

#[test]
fn null_operator() {
    let absent = Context::new();
    let present = one("aws:TokenIssueTime", "2024-01-01T00:00:00Z");
    let is_null = r#"{"Null":{"aws:TokenIssueTime":"true"}}"#;
    let not_null = r#"{"Null":{"aws:TokenIssueTime":"false"}}"#;
    assert!(holds(is_null, &absent));
    assert!(!holds(is_null, &present));
    assert!(!holds(not_null, &absent));
    assert!(holds(not_null, &present));
    // JSON booleans work as well.
    assert!(holds(r#"{"Null":{"aws:TokenIssueTime":true}}"#, &absent));
    assert!(holds(r#"{"Null":{"aws:TokenIssueTime":false}}"#, &present));
    // An empty multi-valued key counts as absent.
    assert!(holds(
        r#"{"Null":{"aws:TagKeys":"true"}}"#,
        &many("aws:TagKeys", &[])
    ));
    assert!(!holds(
        r#"{"Null":{"aws:TagKeys":"true"}}"#,
        &many("aws:TagKeys", &["a"])
    ));
}

/// Every operator (positive, negated) with a value valid for it.
const OPERATORS: &[(&str, &str, bool)] = &[
    ("StringEquals", "x", false),
    ("StringNotEquals", "x", true),
    ("StringEqualsIgnoreCase", "x", false),
    ("StringNotEqualsIgnoreCase", "x", true),
    ("StringLike", "x*", false),
    ("StringNotLike", "x*", true),
    ("NumericEquals", "1", false),
    ("NumericNotEquals", "1", true),
    ("NumericLessThan", "1", false),
    ("NumericLessThanEquals", "1", false),
    ("NumericGreaterThan", "1", false),
    ("NumericGreaterThanEquals", "1", false),
    ("DateEquals", "2024-01-01T00:00:00Z", false),
    ("DateNotEquals", "2024-01-01T00:00:00Z", true),
    ("DateLessThan", "2024-01-01T00:00:00Z", false),
    ("DateLessThanEquals", "2024-01-01T00:00:00Z", false),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", false),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", false),
    ("Bool", "true", false),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", false),
    ("IpAddress", "10.0.0.0/8", false),
    ("NotIpAddress", "10.0.0.0/8", true),
    ("ArnEquals", "arn:aws:iam::123456789012:user/x", false),
    ("ArnLike", "arn:aws:iam::123456789012:user/*", false),
    ("ArnNotEquals", "arn:aws:iam::123456789012:user/x", true),
    ("ArnNotLike", "arn:aws:iam::123456789012:user/*", true),
];

#[test]
fn missing_key_positive_false_negated_true_if_exists_true() {
    let empty = Context::new();
    // Another key present makes no difference.
    let other = one("aws:username", "alice");
    for (op, value, negated) in OPERATORS {
        for c in [&empty, &other] {
            let cond = format!(r#"{{"{op}":{{"jwt:absent":"{value}"}}}}"#);
            assert_eq!(holds(&cond, c), *negated, "{cond} on a missing key");
            let cond = format!(r#"{{"{op}IfExists":{{"jwt:absent":"{value}"}}}}"#);
            assert!(holds(&cond, c), "{cond} on a missing key");
        }
    }
}

#[test]
fn if_exists_checks_present_keys() {
    let cases: &[(&str, &str, &str, bool)] = &[
        (
            r#"{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}"#,
            "aws:SourceVpce",
            "vpce-1",
            true,
        ),
        (
            r#"{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}"#,
            "aws:SourceVpce",
            "vpce-2",
            false,
        ),
        (
            r#"{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}"#,
            "aws:SourceVpce",
            "vpce-1",
            false,
        ),
        (
            r#"{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}"#,
            "aws:SourceVpce",
            "vpce-2",
            true,
        ),
        (
            r#"{"StringLikeIfExists":{"aws:UserAgent":"curl/*"}}"#,
            "aws:UserAgent",
            "curl/8",
            true,
        ),
        (
            r#"{"StringLikeIfExists":{"aws:UserAgent":"curl/*"}}"#,
            "aws:UserAgent",
            "wget",
            false,
        ),
        (
            r#"{"NumericLessThanIfExists":{"aws:MultiFactorAuthAge":"3600"}}"#,
            "aws:MultiFactorAuthAge",
            "10",
            true,
        ),
        (
            r#"{"NumericLessThanIfExists":{"aws:MultiFactorAuthAge":"3600"}}"#,
            "aws:MultiFactorAuthAge",
            "7200",
            false,
        ),
        (
            r#"{"DateLessThanIfExists":{"aws:TokenIssueTime":"2024-01-01"}}"#,
            "aws:TokenIssueTime",
            "2023-06-01",
            true,
        ),
        (
            r#"{"DateLessThanIfExists":{"aws:TokenIssueTime":"2024-01-01"}}"#,
            "aws:TokenIssueTime",
            "2024-06-01",
            false,
        ),
        (
            r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}"#,
            "aws:MultiFactorAuthPresent",
            "true",
            true,
        ),
        (
            r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}"#,
            "aws:MultiFactorAuthPresent",
            "false",
            false,
        ),
        (
            r#"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            "aws:SourceIp",
            "10.0.0.1",
            true,
        ),
        (
            r#"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            "aws:SourceIp",
            "192.0.2.1",
            false,
        ),
        (
            r#"{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            "aws:SourceIp",
            "10.0.0.1",
            false,
        ),
        (
            r#"{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:topic"}}"#,
            "aws:SourceArn",
            "arn:aws:sns:us-east-1:1:topic",
            true,
        ),
        (
            r#"{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:topic"}}"#,
            "aws:SourceArn",
            "arn:aws:sns:us-east-1:1:other",
            false,
        ),
        (
            r#"{"BinaryEqualsIfExists":{"jwt:bin":"QmluYXJ5VmFsdWU="}}"#,
            "jwt:bin",
            "QmluYXJ5VmFsdWU=",
            true,
        ),
        (
            r#"{"BinaryEqualsIfExists":{"jwt:bin":"QmluYXJ5VmFsdWU="}}"#,
            "jwt:bin",
            "b3RoZXI=",
            false,
        ),
    ];
    check_table(cases);
}

#[test]
fn several_values_for_one_key_are_ored() {
    let cond = r#"{"StringEquals":{"aws:username":["alice","bob"]}}"#;
    assert!(holds(cond, &one("aws:username", "alice")));
    assert!(holds(cond, &one("aws:username", "bob")));
    assert!(!holds(cond, &one("aws:username", "carol")));
    let cond = r#"{"NumericEquals":{"aws:MultiFactorAuthAge":[1,2,3]}}"#;
    assert!(holds(cond, &one("aws:MultiFactorAuthAge", "3")));
    assert!(!holds(cond, &one("aws:MultiFactorAuthAge", "4")));
}

#[test]
fn negated_operator_with_several_values_is_nor() {
    let cond = r#"{"StringNotEquals":{"aws:username":["alice","bob"]}}"#;
    assert!(!holds(cond, &one("aws:username", "alice")));
    assert!(!holds(cond, &one("aws:username", "bob")));
    assert!(holds(cond, &one("aws:username", "carol")));
    let cond = r#"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#;
    assert!(!holds(cond, &one("aws:SourceIp", "192.168.1.1")));
    assert!(holds(cond, &one("aws:SourceIp", "172.16.0.1")));
}

#[test]
fn negated_operator_without_qualifier_on_multivalued_key_is_nor() {
    let cond = r#"{"StringNotEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &many("aws:TagKeys", &["c", "d"])));
    assert!(!holds(cond, &many("aws:TagKeys", &["c", "a"])));
    assert!(!holds(cond, &many("aws:TagKeys", &["b"])));
    // And the positive form holds when any request value matches any policy value.
    let cond = r#"{"StringEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &many("aws:TagKeys", &["c", "a"])));
    assert!(!holds(cond, &many("aws:TagKeys", &["c", "d"])));
    assert!(!holds(cond, &many("aws:TagKeys", &[])));
    let cond = r#"{"StringNotLike":{"jwt:groups":["adm*"]}}"#;
    assert!(!holds(cond, &many("jwt:groups", &["users", "admins"])));
    assert!(holds(cond, &many("jwt:groups", &["users", "ops"])));
}

#[test]
fn for_any_value() {
    let tags = |v: &[&str]| many("aws:TagKeys", v);
    let cond = r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &tags(&["b", "z"])));
    assert!(holds(cond, &tags(&["a"])));
    assert!(!holds(cond, &tags(&["y", "z"])));
    assert!(!holds(cond, &tags(&[])), "empty");
    assert!(!holds(cond, &Context::new()), "absent");
    // A single-valued key is a set of one.
    assert!(holds(cond, &one("aws:TagKeys", "a")));

    // Negated: some request value matches none of the policy values.
    let cond = r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &tags(&["a", "z"])));
    assert!(!holds(cond, &tags(&["a", "b"])));
    assert!(!holds(cond, &tags(&[])), "empty");
    assert!(!holds(cond, &Context::new()), "absent");

    let cond = r#"{"ForAnyValue:StringLike":{"jwt:groups":"adm*"}}"#;
    assert!(holds(cond, &many("jwt:groups", &["users", "admins"])));
    assert!(!holds(cond, &many("jwt:groups", &["users", "ops"])));

    let cond = r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#;
    assert!(holds(cond, &Context::new()), "IfExists on an absent key");
    assert!(!holds(cond, &tags(&["b"])));
}

#[test]
fn for_all_values() {
    let tags = |v: &[&str]| many("aws:TagKeys", v);
    let cond = r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &tags(&["a", "b"])));
    assert!(holds(cond, &tags(&["b"])));
    assert!(!holds(cond, &tags(&["a", "z"])));
    assert!(holds(cond, &tags(&[])), "empty");
    assert!(holds(cond, &Context::new()), "absent");

    // Negated: every request value matches none of the policy values.
    let cond = r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}"#;
    assert!(holds(cond, &tags(&["y", "z"])));
    assert!(!holds(cond, &tags(&["a", "z"])));
    assert!(holds(cond, &tags(&[])), "empty");
    assert!(holds(cond, &Context::new()), "absent");

    let cond = r#"{"ForAllValues:StringLike":{"jwt:groups":["team-*","admins"]}}"#;
    assert!(holds(cond, &many("jwt:groups", &["team-a", "admins"])));
    assert!(!holds(cond, &many("jwt:groups", &["team-a", "ops"])));
}

#[test]
fn several_keys_and_operators_are_anded() {
    let both = r#"{"StringEquals":{"aws:username":"alice","aws:PrincipalType":"User"}}"#;
    assert!(holds(
        both,
        &ctx(&[("aws:username", "alice"), ("aws:PrincipalType", "User")])
    ));
    assert!(!holds(both, &ctx(&[("aws:username", "alice")])));
    assert!(!holds(
        both,
        &ctx(&[("aws:username", "alice"), ("aws:PrincipalType", "Role")])
    ));

    let ops = r#"{"StringEquals":{"aws:username":"alice"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}"#;
    let good = [
        ("aws:username", "alice"),
        ("aws:SourceIp", "10.0.0.1"),
        ("aws:SecureTransport", "true"),
    ];
    assert!(holds(ops, &ctx(&good)));
    for i in 0..good.len() {
        let mut bad = good;
        bad[i].1 = "wrong";
        assert!(!holds(ops, &ctx(&bad)), "{:?} spoilt", good[i]);
        let dropped: Vec<_> = good
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| *p)
            .collect();
        assert!(!holds(ops, &ctx(&dropped)), "{:?} missing", good[i]);
    }
}

#[test]
fn condition_keys_are_case_insensitive() {
    assert!(holds(
        r#"{"StringEquals":{"AWS:UserName":"alice"}}"#,
        &one("aws:username", "alice")
    ));
    assert!(holds(
        r#"{"StringEquals":{"aws:username":"alice"}}"#,
        &one("Aws:USERNAME", "alice")
    ));
    assert!(holds(
        r#"{"IpAddress":{"aws:sourceip":"10.0.0.0/8"}}"#,
        &one("AWS:SourceIP", "10.1.1.1")
    ));
    assert!(holds(
        r#"{"Null":{"AWS:TOKENISSUETIME":"false"}}"#,
        &one("aws:TokenIssueTime", "2024-01-01")
    ));
    // ... but values are compared as the operator says.
    assert!(!holds(
        r#"{"StringEquals":{"AWS:UserName":"alice"}}"#,
        &one("aws:username", "ALICE")
    ));
}

#[test]
fn conditions_on_deny_statements() {
    let cond = r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#;
    assert!(denies(cond, &one("aws:SourceIp", "192.0.2.1")));
    assert!(!denies(cond, &one("aws:SourceIp", "10.0.0.1")));
    assert!(
        denies(cond, &Context::new()),
        "missing key: negated is true"
    );
    let cond = r#"{"Bool":{"aws:SecureTransport":"false"}}"#;
    assert!(denies(cond, &one("aws:SecureTransport", "false")));
    assert!(
        !denies(cond, &Context::new()),
        "missing key: positive is false"
    );
    let cond = r#"{"BoolIfExists":{"aws:SecureTransport":"false"}}"#;
    assert!(
        denies(cond, &Context::new()),
        "IfExists: missing key is true"
    );
}
