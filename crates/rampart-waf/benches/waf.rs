//! Evaluation cost of the issue's reference web ACL (AWSManagedRulesCommonRuleSet +
//! AWSManagedRulesSQLiRuleSet + AWSManagedRulesKnownBadInputsRuleSet) on a typical API
//! request with a 1 KB JSON body (target: under 20 µs) and with a 16 KB body, plus a
//! GET without a body and single detectors. `cargo bench -p rampart-waf`.
//!
//! The allocator is the gateway's (mimalloc), so the figures are what the gateway pays.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rampart_waf::{load_web_acl, Resources, WafRequest};
use std::net::{IpAddr, Ipv4Addr};

#[path = "support/typical.rs"]
mod typical;

#[global_allocator]
static ALLOC: rampart_alloc::Allocator = rampart_alloc::Allocator;

/// The groups as one web ACL; `excluded` rules of the common group are counted only.
fn acl(groups: &[&str], excluded: &[&str]) -> rampart_waf::CompiledAcl {
    let ex: Vec<String> = excluded
        .iter()
        .map(|n| format!(r#"{{"Name":"{n}"}}"#))
        .collect();
    let rules: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let ex = if *n == "AWSManagedRulesCommonRuleSet" { ex.join(",") } else { String::new() };
            format!(
                r#"{{"Name":"{n}","Priority":{i},"OverrideAction":{{"None":{{}}}},"Statement":{{"ManagedRuleGroupStatement":{{"VendorName":"AWS","Name":"{n}","ExcludedRules":[{ex}]}}}},"VisibilityConfig":{{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"{n}"}}}}"#
            )
        })
        .collect();
    let doc = format!(
        r#"{{"Name":"bench","DefaultAction":{{"Allow":{{}}}},"Rules":[{}],"VisibilityConfig":{{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"bench"}}}}"#,
        rules.join(",")
    );
    match load_web_acl(doc.as_bytes(), &Resources::default()) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let groups = [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ];
    let acl_1k = acl(&groups, &[]);
    // SizeRestrictions_BODY blocks bodies over 8 KB (as AWS's rule does): counted only, so
    // the 16 KB body is inspected in full by every other rule.
    let acl_16k = acl(&groups, &["SizeRestrictions_BODY"]);
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));
    let headers = typical::headers();
    let plain: fn(usize) -> Vec<u8> = typical::plain_json_body;
    let prose: fn(usize) -> Vec<u8> = typical::json_body;
    for (name, size, acl, make) in [
        ("post_json_1k", 1024, &acl_1k, prose),
        ("post_json_16k", 16 * 1024, &acl_16k, prose),
        // The same size without free text: identifiers, enums, numbers, timestamps.
        ("post_json_1k_plain", 1024, &acl_1k, plain),
    ] {
        let body = make(size);
        let mut req = WafRequest::new(
            "POST",
            b"/prod/orders/12345/items",
            b"expand=customer&lang=en",
            ip,
        );
        req.headers = headers.clone();
        req.body = &body;
        req.body_size = body.len() as u64;
        assert!(
            !acl.evaluate(&req, 0).blocked(),
            "{name}: the benign request must pass"
        );
        c.bench_function(&format!("common+sqli+knownbad/{name}"), |b| {
            b.iter(|| black_box(acl.evaluate(black_box(&req), 0)))
        });
    }
    let mut get = WafRequest::new(
        "GET",
        b"/prod/products",
        b"q=O%27Brien%20union%20station&page=2&sort=price",
        ip,
    );
    get.headers = headers[..4].to_vec();
    c.bench_function("common+sqli+knownbad/get_query", |b| {
        b.iter(|| black_box(acl_1k.evaluate(black_box(&get), 0)))
    });
    let attack = b"1' UNION SELECT username, password FROM users --";
    c.bench_function("detect/sqli_attack", |b| {
        b.iter(|| {
            black_box(rampart_waf::detect::is_sqli(
                black_box(attack),
                rampart_waf::detect::Sensitivity::Low,
            ))
        })
    });
    let benign = b"Siobhan O'Brien, 12 Union Street, select a plan";
    c.bench_function("detect/sqli_benign", |b| {
        b.iter(|| {
            black_box(rampart_waf::detect::is_sqli(
                black_box(benign),
                rampart_waf::detect::Sensitivity::Low,
            ))
        })
    });
    c.bench_function("detect/xss_benign", |b| {
        b.iter(|| black_box(rampart_waf::detect::is_xss(black_box(benign))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
