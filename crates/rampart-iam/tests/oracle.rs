//! The `execute-api:Invoke` oracle cases (`tests/data/execute_api_cases.json`, checked
//! against an independent IAM evaluator): IAM-authorized requests to an API of account
//! 123456789012, with the caller's identity policies and the API's resource policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_iam::{
    authorize, parse_value, AuthType, Caller, Context, Decision, ParseOptions, PolicySet, Request,
};
use serde_json::Value;

const API_ACCOUNT: &str = "123456789012";

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/execute_api_cases.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match rampart_iam::parse_json(&text).unwrap() {
        Value::Array(cases) => cases,
        other => panic!("expected a list of cases, got {other}"),
    }
}

fn context(case: &Value) -> Context {
    let mut c = Context::new();
    if let Some(Value::Object(m)) = case.get("context") {
        for (k, v) in m {
            match v {
                Value::String(s) => c.insert(k, s.as_str()),
                Value::Array(a) => {
                    c.insert_many(k, a.iter().map(|x| x.as_str().unwrap().to_string()))
                }
                other => c.insert(k, other.to_string()),
            }
        }
    }
    c
}

fn expected(case: &Value) -> Decision {
    match case["expected"].as_str().unwrap() {
        "Allowed" => Decision::Allow,
        "ImplicitlyDenied" => Decision::ImplicitDeny,
        "ExplicitlyDenied" => Decision::ExplicitDeny,
        other => panic!("unknown expected decision {other}"),
    }
}

#[test]
fn every_oracle_case() {
    let cases = cases();
    assert_eq!(cases.len(), 14, "the oracle file changed: update this test");
    let mut seen = [0usize; 3];
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let identity: Option<PolicySet> = case.get("identityPolicies").map(|ps| {
            let ps = ps.as_array().unwrap();
            PolicySet::new(
                ps.iter()
                    .enumerate()
                    .map(|(i, p)| {
                        parse_value(&format!("identity[{i}]"), p, &ParseOptions::identity())
                            .unwrap_or_else(|f| panic!("{name}: identity policy rejected: {f:?}"))
                    })
                    .collect(),
            )
        });
        let resource: Option<PolicySet> = case.get("resourcePolicy").map(|p| {
            PolicySet::new(vec![parse_value(
                "resource",
                p,
                &ParseOptions::resource(None),
            )
            .unwrap_or_else(|f| panic!("{name}: resource policy rejected: {f:?}"))])
        });
        let caller = Caller::aws(case["principal"].as_str().unwrap());
        let ctx = context(case);
        let arn = case["resource"].as_str().unwrap();
        let req = Request::new("execute-api:Invoke", arn, &caller, &ctx);
        let got = authorize(
            AuthType::Iam,
            API_ACCOUNT,
            identity.as_ref(),
            resource.as_ref(),
            &req,
        );
        let want = expected(case);
        assert_eq!(got, want, "oracle case {name:?}");
        seen[want as usize] += 1;

        // Each side's fast path agrees with its trace.
        for s in identity.iter().chain(resource.iter()) {
            assert_eq!(s.evaluate(&req), s.explain(&req).decision, "{name}");
        }
    }
    // The file exercises all three outcomes.
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}
