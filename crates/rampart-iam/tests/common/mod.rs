//! Helpers shared by the integration tests (each test file uses a part of them).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_iam::{parse, Caller, Context, Decision, ParseOptions, Policy, PolicySet, Request};

/// The API every test talks about.
pub const ACCOUNT: &str = "123456789012";
pub const OTHER_ACCOUNT: &str = "999988887777";
pub const API: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123";
pub const PETS: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/dog";
pub const INVOKE: &str = "execute-api:Invoke";
pub const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
pub const BOB_OTHER: &str = "arn:aws:iam::999988887777:user/bob";

/// An identity policy that must parse.
pub fn identity(text: &str) -> Policy {
    parse("identity", text, &ParseOptions::identity())
        .unwrap_or_else(|f| panic!("identity policy rejected: {f:?}\n{text}"))
}

/// A resource policy (no shorthand) that must parse.
pub fn resource(text: &str) -> Policy {
    parse("resource", text, &ParseOptions::resource(None))
        .unwrap_or_else(|f| panic!("resource policy rejected: {f:?}\n{text}"))
}

/// `{"Version":"2012-10-17","Statement":[<statements>]}`
pub fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

pub fn set(policies: Vec<Policy>) -> PolicySet {
    PolicySet::new(policies)
}

/// A context from single-valued pairs.
pub fn ctx(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::new();
    for (k, v) in pairs {
        c.insert(k, *v);
    }
    c
}

/// Evaluate, checking that the fast path and the full trace agree.
pub fn decide(
    set: &PolicySet,
    action: &str,
    resource: &str,
    caller: &Caller,
    context: &Context,
) -> Decision {
    let req = Request::new(action, resource, caller, context);
    let fast = set.evaluate(&req);
    let full = set.explain(&req).decision;
    assert_eq!(
        fast, full,
        "evaluate and explain disagree for {action} on {resource}"
    );
    fast
}

/// Alice invoking PETS with this context.
pub fn decide_alice(set: &PolicySet, context: &Context) -> Decision {
    decide(set, INVOKE, PETS, &Caller::aws(ALICE), context)
}
