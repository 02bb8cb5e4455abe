//! Decision cost. Targets (issue 3): a typical set (5 policies, 20 statements, conditions on
//! IP and tags) under 1 µs median; 10,000 statements of which 20 apply within 3x of that.
//!
//! Run: `cargo bench -p rampart-iam --bench eval`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rampart_iam::{
    authorize, parse, ApiArn, AuthType, Caller, Context, Decision, ParseOptions, PolicySet, Request,
};

const API: &str = "arn:aws:execute-api:us-east-1:123456789012:api0";

/// Four statements about the target API: an IP-conditioned allow, a tag-conditioned allow,
/// a deny that does not apply (other method), a deny whose condition does not hold.
fn statements_for(api: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!(
                r#"{{"Sid":"Ip{i}","Effect":"Allow","Action":"execute-api:Invoke","Resource":"{api}/*/GET/pets/*","Condition":{{"IpAddress":{{"aws:SourceIp":["10.0.0.0/8","192.168.{}.0/24"]}}}}}}"#,
                i % 250
            ),
            1 => format!(
                r#"{{"Sid":"Tag{i}","Effect":"Allow","Action":["execute-api:Invoke"],"Resource":"{api}/prod/*","Condition":{{"StringEquals":{{"aws:ResourceTag/team":["red","blue"],"aws:PrincipalTag/team":"red"}}}}}}"#
            ),
            2 => format!(
                r#"{{"Sid":"NoDelete{i}","Effect":"Deny","Action":"execute-api:Invoke","Resource":"{api}/*/DELETE/*"}}"#
            ),
            _ => format!(
                r#"{{"Sid":"Outside{i}","Effect":"Deny","Action":"execute-api:*","Resource":"{api}/*","Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.0.0.0/8","172.16.0.0/12"]}}}}}}"#
            ),
        })
        .collect()
}

fn policy(statements: &[String]) -> rampart_iam::Policy {
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    parse("bench", &text, &ParseOptions::identity()).unwrap()
}

/// 5 policies × 4 statements, all about the target API.
fn typical() -> PolicySet {
    let all = statements_for(API, 20);
    PolicySet::new(all.chunks(4).map(policy).collect())
}

/// 10,000 statements: 20 about the target API, the rest about 2,495 other APIs.
fn large() -> PolicySet {
    let mut policies = Vec::new();
    let ours = statements_for(API, 20);
    policies.extend(ours.chunks(4).map(policy));
    for a in 1..=2495 {
        let api = format!("arn:aws:execute-api:us-east-1:123456789012:api{a}");
        policies.push(policy(&statements_for(&api, 4)));
    }
    let set = PolicySet::new(policies);
    assert_eq!(set.statement_count(), 10_000);
    set
}

fn context() -> Context {
    let mut c = Context::new();
    c.insert("aws:SourceIp", "10.1.2.3");
    c.insert("aws:ResourceTag/team", "red");
    c.insert("aws:PrincipalTag/team", "red");
    c.insert("aws:SecureTransport", "true");
    c.insert("aws:CurrentTime", "2026-11-21T10:00:00Z");
    c.insert("aws:EpochTime", "1795255200");
    c.insert("aws:UserAgent", "curl/8.0");
    c.insert("rampart:Listener", "main");
    c
}

fn bench(c: &mut Criterion) {
    let caller = Caller::aws("arn:aws:iam::123456789012:user/alice");
    let ctx = context();
    let resource = format!("{API}/prod/GET/pets/42");
    let typical = typical();
    let large = large();
    let req = Request::new("execute-api:Invoke", &resource, &caller, &ctx);
    assert_eq!(typical.evaluate(&req), Decision::Allow);
    assert_eq!(large.evaluate(&req), Decision::Allow);
    assert_eq!(large.explain(&req).decision, Decision::Allow);

    let mut g = c.benchmark_group("decision");
    g.bench_function("typical: 5 policies, 20 statements", |b| {
        b.iter(|| {
            let req = Request::new("execute-api:Invoke", black_box(&resource), &caller, &ctx);
            black_box(typical.evaluate(&req))
        })
    });
    g.bench_function("large: 10000 statements, 20 apply", |b| {
        b.iter(|| {
            let req = Request::new("execute-api:Invoke", black_box(&resource), &caller, &ctx);
            black_box(large.evaluate(&req))
        })
    });
    // The gateway's whole decision: identity policies + a resource policy, table A.
    let api = ApiArn {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        api_id: "api0".into(),
    };
    let rp = PolicySet::new(vec![parse(
        "rp",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*",
             "Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        &ParseOptions::resource(Some(api)),
    )
    .unwrap()]);
    g.bench_function("typical + resource policy (IAM auth, table A)", |b| {
        b.iter(|| {
            let req = Request::new("execute-api:Invoke", black_box(&resource), &caller, &ctx);
            black_box(authorize(
                AuthType::Iam,
                "123456789012",
                Some(&typical),
                Some(&rp),
                &req,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
