//! Properties over random policies and requests:
//! (a) parsing and evaluation never panic, whatever the input;
//! (b) adding a Deny statement never turns a decision into Allow, and never takes an
//!     explicit deny away (the decision stays, or becomes an explicit deny);
//! (c) the indexed fast path (`evaluate`) agrees with the full trace (`explain`), also for
//!     sets big enough to be indexed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rampart_iam::{
    parse, Caller, Context, Decision, ParseOptions, Policy, PolicySet, Request, Value as CtxValue,
};
use serde_json::{json, Map, Value};

const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const BOB: &str = "arn:aws:iam::999988887777:user/bob";

/// Fewer statements than this are scanned linearly (eval.rs `INDEX_MIN`).
const INDEX_MIN: usize = 24;

const ACTIONS: &[&str] = &[
    "execute-api:Invoke",
    "execute-api:*",
    "execute-api:Inv*",
    "execute-api:Inv?ke",
    "execute-api:InvalidateCache",
    "EXECUTE-API:invoke",
    "s3:GetObject",
    "*",
];

const REQUEST_ACTIONS: &[&str] = &[
    "execute-api:Invoke",
    "execute-api:InvalidateCache",
    "execute-api:ManageConnections",
    "s3:GetObject",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:execute-api:*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/pets/*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/d?g",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/dog",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/test/*",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/users/${aws:username}",
    "arn:aws:execute-api:us-east-1:123456789012:xyz789/*",
    "arn:aws:execute-api:*:123456789012:abc123/*",
    "arn:aws:execute-api:us-east-1:*:*",
    "arn:aws:execute-api:us-west-2:123456789012:abc123/*",
    "arn:aws:execute-api:us-east-1:123456789012:*/prod/*",
    "arn:aws:s3:::bucket/*",
];

const APIS: &[&str] = &[
    "arn:aws:execute-api:us-east-1:123456789012:abc123",
    "arn:aws:execute-api:us-east-1:123456789012:xyz789",
    "arn:aws:execute-api:us-west-2:123456789012:abc123",
];
const STAGES: &[&str] = &["prod", "test", "$default"];
const METHODS: &[&str] = &["GET", "POST", "DELETE"];
const PATHS: &[&str] = &[
    "pets/dog",
    "pets/cat",
    "users/alice",
    "users/bob",
    "",
    "a:b/c",
];

/// (operator, key, values)
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    ("StringEquals", "aws:username", &["alice", "bob"]),
    ("StringNotEquals", "aws:username", &["alice"]),
    ("StringEqualsIgnoreCase", "aws:username", &["ALICE"]),
    ("StringLike", "aws:UserAgent", &["curl/*"]),
    ("StringNotLike", "aws:UserAgent", &["*bot*"]),
    (
        "IpAddress",
        "aws:SourceIp",
        &["10.0.0.0/8", "2001:db8::/32"],
    ),
    ("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]),
    ("NumericLessThan", "aws:MultiFactorAuthAge", &["3600"]),
    ("NumericGreaterThanEquals", "aws:MultiFactorAuthAge", &["0"]),
    ("DateLessThan", "aws:CurrentTime", &["2024-06-01T00:00:00Z"]),
    ("DateGreaterThan", "aws:CurrentTime", &["1700000000"]),
    ("Bool", "aws:SecureTransport", &["true"]),
    ("BoolIfExists", "aws:SecureTransport", &["false"]),
    ("Null", "aws:TokenIssueTime", &["true"]),
    ("ForAnyValue:StringEquals", "aws:TagKeys", &["a", "b"]),
    ("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b"]),
    ("ForAnyValue:StringNotLike", "aws:TagKeys", &["a*"]),
    ("StringEqualsIfExists", "aws:SourceVpce", &["vpce-1"]),
    (
        "ArnLike",
        "aws:PrincipalArn",
        &["arn:aws:iam::123456789012:user/*"],
    ),
    ("ArnNotEquals", "aws:PrincipalArn", &[ALICE]),
    (
        "StringEquals",
        "aws:PrincipalTag/team",
        &["${aws:username}"],
    ),
    (
        "StringNotEquals",
        "aws:PrincipalTag/team",
        &["${aws:username, 'x'}"],
    ),
    ("BinaryEquals", "jwt:bin", &["QmluYXJ5VmFsdWU="]),
];

/// Request context keys and typical values.
const CONTEXT: &[(&str, &[&str])] = &[
    ("aws:username", &["alice", "bob", "*", ""]),
    ("aws:UserAgent", &["curl/8.0", "Mozilla/5.0 (bot)", ""]),
    (
        "aws:SourceIp",
        &[
            "10.1.2.3",
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "nope",
        ],
    ),
    (
        "aws:MultiFactorAuthAge",
        &["10", "7200", "-1", "1e3", "abc"],
    ),
    (
        "aws:CurrentTime",
        &[
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00+02:00",
            "1700000001",
            "garbage",
        ],
    ),
    ("aws:SecureTransport", &["true", "false", "TRUE", "1"]),
    ("aws:TokenIssueTime", &["2024-01-01T00:00:00Z"]),
    ("aws:SourceVpce", &["vpce-1", "vpce-2"]),
    ("aws:PrincipalArn", &[ALICE, BOB]),
    ("aws:PrincipalTag/team", &["red", "alice", "x"]),
    ("jwt:bin", &["QmluYXJ5VmFsdWU=", "b3RoZXI=", "%%%"]),
];

const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"*"}"#,
    r#"{"AWS":"123456789012"}"#,
    r#"{"AWS":"arn:aws:iam::999988887777:root"}"#,
    r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
    r#"{"AWS":["arn:aws:iam::123456789012:role/deployer","arn:aws:iam::123456789012:root"]}"#,
    r#"{"Service":"lambda.amazonaws.com"}"#,
];

fn sample(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(pool)
}

fn strings(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(sample(pool), 1..=max)
}

/// A statement as JSON. `principal`: for a resource policy.
fn statement(principal: bool, effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        prop::bool::weighted(0.15),
        strings(ACTIONS, 3),
        prop::bool::weighted(0.15),
        strings(RESOURCES, 3),
        prop::collection::vec(prop::sample::select(CONDITIONS), 0..3),
        prop::bool::weighted(0.2),
        sample(PRINCIPALS),
    )
        .prop_map(
            move |(effect, not_action, actions, not_resource, resources, conds, not_p, p)| {
                let mut st = Map::new();
                st.insert("Effect".into(), json!(effect));
                let a = if not_action { "NotAction" } else { "Action" };
                st.insert(a.into(), json!(actions));
                let r = if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                };
                st.insert(r.into(), json!(resources));
                if principal {
                    let name = if not_p { "NotPrincipal" } else { "Principal" };
                    st.insert(name.into(), serde_json::from_str(p).unwrap());
                }
                if !conds.is_empty() {
                    let mut c = Map::new();
                    for (op, key, values) in conds {
                        let block = c.entry(op.to_string()).or_insert_with(|| json!({}));
                        block
                            .as_object_mut()
                            .unwrap()
                            .insert(key.to_string(), json!(values));
                    }
                    st.insert("Condition".into(), Value::Object(c));
                }
                Value::Object(st)
            },
        )
}

fn policy_text(statements: &[Value]) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn compile(statements: &[Value], resource_policy: bool) -> Policy {
    let text = policy_text(statements);
    let opts = if resource_policy {
        ParseOptions::resource(None)
    } else {
        ParseOptions::identity()
    };
    parse("gen", &text, &opts)
        .unwrap_or_else(|f| panic!("generated policy rejected: {f:?}\n{text}"))
}

/// Policies (statements of each) for one set, and whether they are resource policies.
fn policy_set() -> impl Strategy<Value = (Vec<Vec<Value>>, bool)> {
    any::<bool>().prop_flat_map(|rp| {
        let small = prop::collection::vec(prop::collection::vec(statement(rp, None), 1..8), 1..4);
        // Enough statements for the index.
        let large = prop::collection::vec(prop::collection::vec(statement(rp, None), 8..20), 2..4);
        (prop_oneof![small, large], Just(rp))
    })
}

fn build(policies: &[Vec<Value>], rp: bool) -> PolicySet {
    PolicySet::new(policies.iter().map(|p| compile(p, rp)).collect())
}

fn value(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        9 => sample(pool).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn context() -> impl Strategy<Value = Context> {
    let singles: Vec<_> = CONTEXT
        .iter()
        .map(|(k, pool)| prop::option::weighted(0.6, value(pool)).prop_map(move |v| (*k, v)))
        .collect();
    let tags = prop::option::weighted(
        0.6,
        prop::collection::vec(value(&["a", "b", "c", "ab"]), 0..4),
    );
    (singles, tags).prop_map(|(singles, tags)| {
        let mut c = Context::new();
        for (k, v) in singles {
            if let Some(v) = v {
                c.insert(k, v);
            }
        }
        if let Some(t) = tags {
            c.set("aws:TagKeys", CtxValue::Many(t));
        }
        c
    })
}

fn caller() -> impl Strategy<Value = Caller> {
    prop_oneof![
        Just(Caller::aws(ALICE)),
        Just(Caller::aws(BOB)),
        Just(Caller::aws("arn:aws:iam::123456789012:root")),
        Just(Caller::aws(
            "arn:aws:sts::123456789012:assumed-role/deployer/s1"
        )),
        Just(Caller::anonymous()),
    ]
}

fn resource_arn() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (sample(APIS), sample(STAGES), sample(METHODS), sample(PATHS))
            .prop_map(|(a, s, m, p)| format!("{a}/{s}/{m}/{p}")),
        1 => Just("arn:aws:s3:::bucket/key".to_string()),
        1 => "[ -~]{0,40}".prop_map(|s| s),
    ]
}

/// (action, resource, caller, context)
fn request() -> impl Strategy<Value = (&'static str, String, Caller, Context)> {
    (sample(REQUEST_ACTIONS), resource_arn(), caller(), context())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

#[test]
fn evaluate_agrees_with_explain() {
    let mut runner = TestRunner::new(config(384));
    let indexed = Cell::new(0usize);
    let strategy = (policy_set(), prop::collection::vec(request(), 1..8));
    runner
        .run(&strategy, |((policies, rp), requests)| {
            let set = build(&policies, rp);
            if set.statement_count() >= INDEX_MIN {
                indexed.set(indexed.get() + 1);
            }
            for (action, resource, caller, ctx) in &requests {
                let req = Request::new(action, resource, caller, ctx);
                let fast = set.evaluate(&req);
                let full = set.explain(&req);
                prop_assert_eq!(fast, full.decision, "{} on {}", action, resource);
                // The deciding statements are consistent with the decision.
                let deciding = full.deciding().count();
                prop_assert_eq!(deciding == 0, fast == Decision::ImplicitDeny);
            }
            Ok(())
        })
        .unwrap();
    assert!(
        indexed.get() >= 50,
        "only {} sets were big enough for the index",
        indexed.get()
    );
}

#[test]
fn adding_a_deny_never_grants() {
    let mut runner = TestRunner::new(config(384));
    let strategy = (
        policy_set(),
        prop::collection::vec(request(), 1..6),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|((policies, rp), reqs, new_policy, at)| {
            (
                Just((policies, rp)),
                Just(reqs),
                Just(new_policy),
                Just(at),
                statement(rp, Some("Deny")),
            )
        });
    runner
        .run(
            &strategy,
            |((policies, rp), requests, new_policy, at, deny)| {
                let before = build(&policies, rp);
                let mut more = policies.clone();
                if new_policy {
                    more.push(vec![deny]);
                } else {
                    let i = at.index(more.len());
                    more[i].push(deny);
                }
                let after = build(&more, rp);
                for (action, resource, caller, ctx) in &requests {
                    let req = Request::new(action, resource, caller, ctx);
                    let (b, a) = (before.evaluate(&req), after.evaluate(&req));
                    prop_assert!(
                        a == b || a == Decision::ExplicitDeny,
                        "{:?} became {:?} for {} on {}",
                        b,
                        a,
                        action,
                        resource
                    );
                    if b != Decision::Allow {
                        prop_assert_ne!(a, Decision::Allow);
                    }
                    if b == Decision::ExplicitDeny {
                        prop_assert_eq!(a, Decision::ExplicitDeny);
                    }
                    prop_assert_eq!(a, after.explain(&req).decision);
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Words that make random JSON look like a policy.
const WORDS: &[&str] = &[
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "*",
    "execute-api:Invoke",
    "arn:aws:execute-api:us-east-1:123456789012:abc123/*",
    "execute-api:/*",
    "StringEquals",
    "StringLike",
    "ForAllValues:StringNotEquals",
    "IpAddress",
    "DateLessThan",
    "NumericEqualsIfExists",
    "BinaryEquals",
    "Null",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:username",
    "${aws:username}",
    "${aws:PrincipalTag/t, 'd'}",
    "${*}",
    "${",
    "10.0.0.0/8",
    "2020-01-01T00:00:00+1é1",
    "123456789012",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let word = prop_oneof![4 => sample(WORDS).prop_map(str::to_string), 1 => any::<String>()];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        word.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Parse for both kinds (and with the shorthand on); evaluate whatever parses.
fn parse_everything(text: &str, requests: &[(&'static str, String, Caller, Context)]) {
    let api = rampart_iam::ApiArn {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        api_id: "abc123".into(),
    };
    for opts in [
        ParseOptions::identity(),
        ParseOptions::resource(None),
        ParseOptions::resource(Some(api)),
    ] {
        if let Ok(p) = parse("fuzz", text, &opts) {
            let set = PolicySet::new(vec![p]);
            for (action, resource, caller, ctx) in requests {
                let req = Request::new(action, resource, caller, ctx);
                let d = set.evaluate(&req);
                assert_eq!(d, set.explain(&req).decision);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = rampart_iam::parse_json(&text);
        parse_everything(&text, &[]);
    }

    #[test]
    fn arbitrary_json_never_panics(
        doc in arb_json(),
        wrap in any::<bool>(),
        requests in prop::collection::vec(request(), 1..3),
    ) {
        // Also as a document whose statements are the random value.
        let doc = if wrap {
            json!({"Version": "2012-10-17", "Statement": [doc]})
        } else {
            doc
        };
        parse_everything(&doc.to_string(), &requests);
    }

    #[test]
    fn mutated_policies_never_panic(
        (policies, rp) in policy_set(),
        cut in any::<prop::sample::Index>(),
        len in 0usize..12,
        junk in "[\\PC]{0,8}",
        requests in prop::collection::vec(request(), 1..3),
    ) {
        let _ = rp;
        let text = policy_text(&policies[0]);
        let chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len());
        let end = (at + len).min(chars.len());
        let mutated: String = chars[..at]
            .iter()
            .chain(junk.chars().collect::<Vec<_>>().iter())
            .chain(chars[end..].iter())
            .collect();
        parse_everything(&mutated, &requests);
    }

    #[test]
    fn random_context_values_never_panic(
        (op, key, values) in prop::sample::select(CONDITIONS),
        if_exists in any::<bool>(),
        request_values in prop::collection::vec(any::<String>(), 0..4),
        single in any::<bool>(),
    ) {
        let op = if if_exists && op != "Null" && !op.ends_with("IfExists") { format!("{op}IfExists") } else { op.to_string() };
        let text = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {op: {key: values}}}]
        })
        .to_string();
        let p = parse("c", &text, &ParseOptions::identity()).unwrap();
        let set = PolicySet::new(vec![p]);
        let mut ctx = Context::new();
        match (single, request_values.first()) {
            (true, Some(v)) => ctx.insert(key, v.clone()),
            _ => ctx.set(key, CtxValue::Many(request_values.clone())),
        }
        let caller = Caller::aws(ALICE);
        let req = Request::new("execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:a/p/GET/", &caller, &ctx);
        prop_assert_eq!(set.evaluate(&req), set.explain(&req).decision);
    }
}
