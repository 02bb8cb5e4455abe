//! API Gateway's combination of the identity side and the resource policy (tables A and B
//! of aws-contracts.md §2.2), the other authorization flows, the 403 messages, method ARNs
//! and the `execute-api:/...` shorthand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_iam::{
    authorize, denial_message, parse, pre_authorizer, ApiArn, AuthType, Caller, Context, Decision,
    ParseOptions, PolicySet, Request,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Allow,
    /// A policy none of whose statements applies.
    Silent,
    /// No policy at all (also silent).
    Absent,
    Deny,
}

const SIDES: [Side; 4] = [Side::Allow, Side::Silent, Side::Absent, Side::Deny];

fn identity_side(s: Side) -> Option<PolicySet> {
    let st = match s {
        Side::Allow => {
            format!(r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"{API}/*"}}"#)
        }
        Side::Silent => format!(
            r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"{API}/*/POST/*"}},
               {{"Effect":"Deny","Action":"execute-api:InvalidateCache","Resource":"*"}}"#
        ),
        Side::Absent => return None,
        Side::Deny => format!(
            r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}},
               {{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"{API}/*/GET/*"}}"#
        ),
    };
    Some(set(vec![identity(&doc(&st))]))
}

fn resource_side(s: Side) -> Option<PolicySet> {
    let st = match s {
        Side::Allow => format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
        ),
        Side::Silent => format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/*/DELETE/*"}},
               {{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/test/*"}}"#
        ),
        Side::Absent => return None,
        Side::Deny => format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/*"}},
               {{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/*","Condition":{{"NotIpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}"#
        ),
    };
    Some(set(vec![resource(&doc(&st))]))
}

fn silent(s: Side) -> bool {
    matches!(s, Side::Silent | Side::Absent)
}

/// Table A (same account) of aws-contracts.md §2.2.
fn table_a(id: Side, rp: Side) -> Decision {
    use Decision::*;
    match (id, rp) {
        (Side::Deny, _) => ExplicitDeny,
        (_, Side::Deny) => ExplicitDeny,
        (Side::Allow, _) => Allow,
        (_, Side::Allow) => Allow,
        (i, r) if silent(i) && silent(r) => ImplicitDeny,
        _ => unreachable!(),
    }
}

/// Table B (cross account).
fn table_b(id: Side, rp: Side) -> Decision {
    use Decision::*;
    match (id, rp) {
        (Side::Deny, _) => ExplicitDeny,
        (_, Side::Deny) => ExplicitDeny,
        (Side::Allow, Side::Allow) => Allow,
        _ => ImplicitDeny,
    }
}

fn ctx_outside() -> Context {
    // The resource policy's Deny applies to callers outside 10.0.0.0/8.
    ctx(&[("aws:SourceIp", "192.0.2.1")])
}

#[test]
fn tables_spelled_out() {
    // The table rows as written in the reference, to catch a slip in the functions above.
    use Decision::*;
    let rows = [
        (Side::Allow, Side::Allow, Allow, Allow),
        (Side::Allow, Side::Silent, Allow, ImplicitDeny),
        (Side::Allow, Side::Deny, ExplicitDeny, ExplicitDeny),
        (Side::Silent, Side::Allow, Allow, ImplicitDeny),
        (Side::Silent, Side::Silent, ImplicitDeny, ImplicitDeny),
        (Side::Silent, Side::Deny, ExplicitDeny, ExplicitDeny),
        (Side::Deny, Side::Allow, ExplicitDeny, ExplicitDeny),
        (Side::Deny, Side::Silent, ExplicitDeny, ExplicitDeny),
        (Side::Deny, Side::Deny, ExplicitDeny, ExplicitDeny),
    ];
    for (id, rp, a, b) in rows {
        assert_eq!(table_a(id, rp), a, "A {id:?}/{rp:?}");
        assert_eq!(table_b(id, rp), b, "B {id:?}/{rp:?}");
    }
}

#[test]
fn iam_same_account_is_table_a_and_cross_account_table_b() {
    let c = ctx_outside();
    for (caller, table, name) in [
        (
            Caller::aws(ALICE),
            table_a as fn(Side, Side) -> Decision,
            "A",
        ),
        (
            Caller::aws("arn:aws:sts::123456789012:assumed-role/deployer/s"),
            table_a,
            "A (role session)",
        ),
        (Caller::aws(BOB_OTHER), table_b, "B"),
        (
            Caller::aws("arn:aws:sts::999988887777:assumed-role/deployer/s"),
            table_b,
            "B (role session)",
        ),
    ] {
        for id in SIDES {
            for rp in SIDES {
                let (i, r) = (identity_side(id), resource_side(rp));
                let req = Request::new(INVOKE, PETS, &caller, &c);
                let got = authorize(AuthType::Iam, ACCOUNT, i.as_ref(), r.as_ref(), &req);
                assert_eq!(
                    got,
                    table(id, rp),
                    "table {name}: identity {id:?}, resource {rp:?}"
                );
            }
        }
    }
}

#[test]
fn side_fixtures_mean_what_they_say() {
    let c = ctx_outside();
    let caller = Caller::aws(ALICE);
    let req = Request::new(INVOKE, PETS, &caller, &c);
    let want = |s: Side| match s {
        Side::Allow => Decision::Allow,
        Side::Silent => Decision::ImplicitDeny,
        Side::Deny => Decision::ExplicitDeny,
        Side::Absent => unreachable!(),
    };
    for s in [Side::Allow, Side::Silent, Side::Deny] {
        assert_eq!(
            identity_side(s).unwrap().evaluate(&req),
            want(s),
            "identity {s:?}"
        );
        assert_eq!(
            resource_side(s).unwrap().evaluate(&req),
            want(s),
            "resource {s:?}"
        );
    }
    // From inside 10.0.0.0/8 the "Deny" resource policy allows.
    let inside = ctx(&[("aws:SourceIp", "10.1.1.1")]);
    let req = Request::new(INVOKE, PETS, &caller, &inside);
    assert_eq!(
        resource_side(Side::Deny).unwrap().evaluate(&req),
        Decision::Allow
    );
}

#[test]
fn no_auth_and_cognito_need_an_explicit_allow_in_the_resource_policy() {
    let c = ctx_outside();
    let anonymous = Caller::anonymous();
    for auth in [AuthType::None, AuthType::Cognito] {
        for id in SIDES {
            for rp in SIDES {
                let want = match rp {
                    Side::Absent => Decision::Allow,
                    Side::Allow => Decision::Allow,
                    Side::Silent => Decision::ImplicitDeny,
                    Side::Deny => Decision::ExplicitDeny,
                };
                let (i, r) = (identity_side(id), resource_side(rp));
                let req = Request::new(INVOKE, PETS, &anonymous, &c);
                let got = authorize(auth, ACCOUNT, i.as_ref(), r.as_ref(), &req);
                assert_eq!(
                    got, want,
                    "{auth:?}: identity {id:?} (ignored), resource {rp:?}"
                );
            }
        }
    }
    // A resource policy naming a principal other than anonymous does not let anonymous in.
    let rp = set(vec![resource(&doc(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
    )))]);
    let req = Request::new(INVOKE, PETS, &anonymous, &c);
    assert_eq!(
        authorize(AuthType::None, ACCOUNT, None, Some(&rp), &req),
        Decision::ImplicitDeny
    );
}

#[test]
fn lambda_authorizer_is_table_a_whatever_the_caller() {
    let c = ctx_outside();
    for caller in [
        Caller::anonymous(),
        Caller::aws(BOB_OTHER),
        Caller::aws(ALICE),
    ] {
        for id in SIDES {
            for rp in SIDES {
                let (i, r) = (identity_side(id), resource_side(rp));
                let req = Request::new(INVOKE, PETS, &caller, &c);
                let got = authorize(
                    AuthType::LambdaAuthorizer,
                    ACCOUNT,
                    i.as_ref(),
                    r.as_ref(),
                    &req,
                );
                assert_eq!(
                    got,
                    table_a(id, rp),
                    "{}: authorizer {id:?}, resource {rp:?}",
                    caller.arn
                );
                // Before the authorizer: only an explicit Deny in the resource policy stops.
                assert_eq!(
                    pre_authorizer(r.as_ref(), &req),
                    rp == Side::Deny,
                    "pre-authorizer with resource {rp:?}"
                );
            }
        }
    }
}

#[test]
fn denial_messages() {
    let arn = PETS;
    let anonymous = Caller::anonymous();
    for auth in [AuthType::None, AuthType::Cognito, AuthType::Iam] {
        assert_eq!(
            denial_message(auth, Decision::ImplicitDeny, &anonymous, arn),
            format!("User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}")
        );
        assert_eq!(
            denial_message(auth, Decision::ExplicitDeny, &anonymous, arn),
            format!("User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn} with an explicit deny")
        );
    }
    assert_eq!(
        denial_message(AuthType::Iam, Decision::ExplicitDeny, &Caller::aws(ALICE), arn),
        format!("User: {ALICE} is not authorized to perform: execute-api:Invoke on resource: {arn} with an explicit deny")
    );
    for caller in [Caller::anonymous(), Caller::aws(ALICE)] {
        assert_eq!(
            denial_message(
                AuthType::LambdaAuthorizer,
                Decision::ImplicitDeny,
                &caller,
                arn
            ),
            "User is not authorized to access this resource"
        );
        assert_eq!(
            denial_message(
                AuthType::LambdaAuthorizer,
                Decision::ExplicitDeny,
                &caller,
                arn
            ),
            "User is not authorized to access this resource with an explicit deny"
        );
    }
}

fn api() -> ApiArn {
    ApiArn {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
        api_id: "abc123".into(),
    }
}

#[test]
fn method_arns() {
    let a = api();
    assert_eq!(a.prefix(), API);
    assert_eq!(a.method_arn("prod", "GET", "/pets/dog"), PETS);
    assert_eq!(a.method_arn("prod", "GET", "pets/dog"), PETS);
    assert_eq!(
        a.method_arn("prod", "GET", "/"),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/"
    );
    assert_eq!(
        a.method_arn("$default", "POST", "/orders/1"),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/$default/POST/orders/1"
    );
    let cn = ApiArn {
        partition: "aws-cn".into(),
        region: "cn-north-1".into(),
        account: ACCOUNT.into(),
        api_id: "x1".into(),
    };
    assert_eq!(
        cn.method_arn("dev", "DELETE", "/a/b"),
        "arn:aws-cn:execute-api:cn-north-1:123456789012:x1/dev/DELETE/a/b"
    );
}

fn shorthand(resources: &str) -> PolicySet {
    let text = doc(&format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":{resources}}}"#
    ));
    let p = parse("rp", &text, &ParseOptions::resource(Some(api())))
        .unwrap_or_else(|f| panic!("{f:?}"));
    set(vec![p])
}

#[test]
fn execute_api_shorthand_is_expanded() {
    let a = api();
    let anonymous = Caller::anonymous();
    let d = |s: &PolicySet, stage: &str, method: &str, path: &str| {
        decide(
            s,
            INVOKE,
            &a.method_arn(stage, method, path),
            &anonymous,
            &Context::new(),
        )
    };

    let s = shorthand(r#""execute-api:/prod/GET/pets""#);
    assert_eq!(d(&s, "prod", "GET", "/pets"), Decision::Allow);
    assert_eq!(d(&s, "prod", "GET", "/pets/1"), Decision::ImplicitDeny);
    assert_eq!(d(&s, "prod", "POST", "/pets"), Decision::ImplicitDeny);
    assert_eq!(d(&s, "test", "GET", "/pets"), Decision::ImplicitDeny);
    // Another API with the same stage and path is not covered.
    let other = "arn:aws:execute-api:us-east-1:123456789012:zzz999/prod/GET/pets";
    assert_eq!(
        decide(&s, INVOKE, other, &anonymous, &Context::new()),
        Decision::ImplicitDeny
    );

    let s = shorthand(r#""execute-api:/*""#);
    for (stage, method, path) in [("prod", "GET", "/"), ("test", "DELETE", "/a/b/c")] {
        assert_eq!(
            d(&s, stage, method, path),
            Decision::Allow,
            "{method} {path}"
        );
    }
    assert_eq!(
        decide(&s, INVOKE, other, &anonymous, &Context::new()),
        Decision::ImplicitDeny
    );

    let s = shorthand(r#"["execute-api:/*/POST/orders/*","execute-api:/prod/GET/"]"#);
    assert_eq!(d(&s, "dev", "POST", "/orders/7"), Decision::Allow);
    assert_eq!(d(&s, "prod", "GET", "/"), Decision::Allow);
    assert_eq!(d(&s, "prod", "GET", "/orders/7"), Decision::ImplicitDeny);

    // The expanded pattern is the full ARN.
    let p = parse(
        "rp",
        &doc(r#"{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/GET/pets"}"#),
        &ParseOptions::resource(Some(api())),
    )
    .unwrap();
    match &p.statements[0].resource {
        rampart_iam::policy::ResourceMatch::Resource(pats) => {
            assert_eq!(pats.len(), 1);
            match &pats[0] {
                rampart_iam::policy::ResourcePattern::Plain(g) => assert_eq!(
                    *g,
                    rampart_iam::glob::ArnGlob::new(
                        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"
                    )
                ),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shorthand_needs_the_api_and_a_slash() {
    let text = doc(
        r#"{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}"#,
    );
    let errs = parse("rp", &text, &ParseOptions::resource(None)).unwrap_err();
    assert!(
        errs.iter()
            .any(|f| f.code == "invalid-resource" && f.path == "Statement[0].Resource"),
        "{errs:?}"
    );
    let text = doc(
        r#"{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:prod/GET/x"}"#,
    );
    let errs = parse("rp", &text, &ParseOptions::resource(Some(api()))).unwrap_err();
    assert!(
        errs.iter()
            .any(|f| f.code == "invalid-resource" && f.path == "Statement[0].Resource"),
        "{errs:?}"
    );
}
