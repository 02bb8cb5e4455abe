//! Where the WAF benchmark's time goes, rule by rule: evaluates the typical 1 KB JSON request
//! of `benches/waf.rs` against web ACLs made of single rules of the common, SQLi and
//! known-bad-inputs groups (each as a plain rule with action Count), and against the rules
//! whose names contain any of the given substrings together.
//!
//! ```sh
//! cargo run --release -p rampart-waf --example rule_costs                  # every rule alone
//! cargo run --release -p rampart-waf --example rule_costs -- _BODY _HEADER # those together
//! cargo run --release -p rampart-waf --example rule_costs -- --plain ...   # the body without free text
//! ```
//!
//! A rule alone pays for what rules share in the full ACL (parsing the JSON body once,
//! transformed values, detector verdicts), so the per-rule figures add up to more than the
//! Criterion figure; the combined run shows what a set of rules costs together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_waf::{load_web_acl, managed, CompiledAcl, Resources, WafRequest};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

#[global_allocator]
static ALLOC: rampart_alloc::Allocator = rampart_alloc::Allocator;

#[path = "../benches/support/typical.rs"]
mod typical;

const GROUPS: [&str; 3] = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
];

/// A web ACL of `rules` (each a managed rule as JSON), every one with action Count so that
/// all of them are evaluated.
fn acl(rules: &[&Value]) -> CompiledAcl {
    let visibility = json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "x"});
    let rules: Vec<Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"Name": r["Name"], "Priority": i, "Action": {"Count": {}},
                "Statement": r["Statement"], "VisibilityConfig": visibility})
        })
        .collect();
    let doc = json!({"Name": "rule-costs", "DefaultAction": {"Allow": {}}, "Rules": rules,
        "VisibilityConfig": visibility});
    load_web_acl(doc.to_string().as_bytes(), &Resources::default()).expect("the ACL loads")
}

/// Microseconds per evaluation of `req` by `acl`: the fastest of 25 batches of 1,000, so
/// that a busy or noisy machine (a shared VM) disturbs the figure less.
fn cost(acl: &CompiledAcl, req: &WafRequest<'_>) -> f64 {
    for _ in 0..2_000 {
        std::hint::black_box(acl.evaluate(req, 0));
    }
    let n = 1_000;
    let mut best = f64::INFINITY;
    for _ in 0..25 {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(acl.evaluate(std::hint::black_box(req), 0));
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    best
}

fn main() {
    let mut wanted: Vec<String> = std::env::args().skip(1).collect();
    let plain = wanted.first().is_some_and(|a| a == "--plain");
    if plain {
        wanted.remove(0);
    }
    let body = if plain {
        typical::plain_json_body(1024)
    } else {
        typical::json_body(1024)
    };
    let mut req = WafRequest::new(
        "POST",
        b"/prod/orders/12345/items",
        b"expand=customer&lang=en",
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)),
    );
    req.headers = typical::headers();
    req.body = &body;
    req.body_size = body.len() as u64;

    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| serde_json::from_str(managed::source(g).expect("built in")).expect("JSON"))
        .collect();
    let rules: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["Rules"].as_array().expect("Rules").iter())
        .collect();

    if !wanted.is_empty() {
        let chosen: Vec<&Value> = rules
            .iter()
            .copied()
            .filter(|r| {
                let name = r["Name"].as_str().unwrap_or_default();
                wanted.iter().any(|w| name.contains(w.as_str()))
            })
            .collect();
        let us = cost(&acl(&chosen), &req);
        println!("{us:8.2} us  {} rules together", chosen.len());
        return;
    }
    let mut costs: Vec<(f64, &str)> = rules
        .iter()
        .map(|r| {
            (
                cost(&acl(&[r]), &req),
                r["Name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, name) in &costs {
        println!("{us:8.2} us  {name}");
    }
    println!(
        "{:8.2} us  all {} rules together",
        cost(&acl(&rules), &req),
        rules.len()
    );
}
