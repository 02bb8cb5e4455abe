//! Policy variables: substitution in `Resource` and condition values, defaults, missing
//! values, the `${*}` / `${?}` / `${$}` escapes, values that are never wildcards, and the
//! old policy version where `${...}` is plain text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_iam::{Caller, Context, Decision, PolicySet};

const USERS: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users";

fn allow_resource(version: Option<&str>, resource: &str) -> PolicySet {
    let version = version
        .map(|v| format!(r#""Version":"{v}","#))
        .unwrap_or_default();
    let text = format!(
        r#"{{{version}"Statement":[{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"{resource}"}}]}}"#
    );
    set(vec![identity(&text)])
}

fn allow_when(condition: &str) -> PolicySet {
    set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{condition}}}"#
    )))])
}

fn at(set: &PolicySet, resource: &str, context: &Context) -> Decision {
    decide(set, INVOKE, resource, &Caller::aws(ALICE), context)
}

#[test]
fn username_in_resource() {
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/users/${{aws:username}}"),
    );
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(at(&s, &format!("{USERS}/alice"), &c), Decision::Allow);
    assert_eq!(at(&s, &format!("{USERS}/bob"), &c), Decision::ImplicitDeny);
    assert_eq!(
        at(&s, &format!("{USERS}/alice/x"), &c),
        Decision::ImplicitDeny
    );
    // The request for another user with that user's name in the context.
    let bob = ctx(&[("aws:username", "bob")]);
    assert_eq!(at(&s, &format!("{USERS}/bob"), &bob), Decision::Allow);
    // Variables after a wildcard, and in the middle.
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/users/${{aws:username}}/*"),
    );
    assert_eq!(
        at(&s, &format!("{USERS}/alice/docs/1"), &c),
        Decision::Allow
    );
    assert_eq!(
        at(&s, &format!("{USERS}/alicex/docs/1"), &c),
        Decision::ImplicitDeny
    );
}

#[test]
fn principal_tag_in_resource_and_condition() {
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/teams/${{aws:PrincipalTag/team}}/*"),
    );
    let teams = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/teams";
    let red = ctx(&[("aws:PrincipalTag/team", "red")]);
    assert_eq!(at(&s, &format!("{teams}/red/x"), &red), Decision::Allow);
    assert_eq!(
        at(&s, &format!("{teams}/blue/x"), &red),
        Decision::ImplicitDeny
    );
    // The key inside `${...}` is case-insensitive, like condition keys.
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/teams/${{AWS:principaltag/TEAM}}/*"),
    );
    assert_eq!(at(&s, &format!("{teams}/red/x"), &red), Decision::Allow);

    let s = allow_when(r#"{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#);
    let same = ctx(&[
        ("aws:PrincipalTag/team", "red"),
        ("aws:ResourceTag/team", "red"),
    ]);
    let differ = ctx(&[
        ("aws:PrincipalTag/team", "red"),
        ("aws:ResourceTag/team", "blue"),
    ]);
    assert_eq!(decide_alice(&s, &same), Decision::Allow);
    assert_eq!(decide_alice(&s, &differ), Decision::ImplicitDeny);
}

#[test]
fn defaults() {
    let s = allow_when(
        r#"{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team, 'company-wide'}"}}"#,
    );
    // No tag: the default is used.
    let c = ctx(&[("aws:ResourceTag/team", "company-wide")]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    // A tag: its value is used, not the default.
    let c = ctx(&[
        ("aws:PrincipalTag/team", "red"),
        ("aws:ResourceTag/team", "company-wide"),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
    let c = ctx(&[
        ("aws:PrincipalTag/team", "red"),
        ("aws:ResourceTag/team", "red"),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);

    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/users/${{aws:username, 'guest'}}"),
    );
    assert_eq!(
        at(&s, &format!("{USERS}/guest"), &Context::new()),
        Decision::Allow
    );
    assert_eq!(
        at(&s, &format!("{USERS}/alice"), &Context::new()),
        Decision::ImplicitDeny
    );
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(at(&s, &format!("{USERS}/alice"), &c), Decision::Allow);
    assert_eq!(
        at(&s, &format!("{USERS}/guest"), &c),
        Decision::ImplicitDeny
    );
}

#[test]
fn missing_value_in_resource_statement_does_not_match() {
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/users/${{aws:username}}"),
    );
    // Neither the empty string nor the literal text stands in for the missing value.
    for r in [
        format!("{USERS}/"),
        format!("{USERS}/${{aws:username}}"),
        format!("{USERS}/alice"),
    ] {
        assert_eq!(at(&s, &r, &Context::new()), Decision::ImplicitDeny, "{r}");
    }
    // A multi-valued key is not a variable value either.
    let mut many = Context::new();
    many.insert_many("aws:username", ["alice", "bob"]);
    assert_eq!(
        at(&s, &format!("{USERS}/alice"), &many),
        Decision::ImplicitDeny
    );

    // A Deny with an unresolvable variable does not apply either.
    let s = set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}},
           {{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"{API}/*/GET/users/${{aws:username}}"}}"#
    )))]);
    assert_eq!(
        at(&s, &format!("{USERS}/alice"), &Context::new()),
        Decision::Allow
    );
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(
        at(&s, &format!("{USERS}/alice"), &c),
        Decision::ExplicitDeny
    );
}

#[test]
fn missing_value_in_not_resource_statement_does_not_match() {
    // "Everything except my own folder": with no user name there is no statement.
    let s = set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"{API}/*/GET/users/${{aws:username}}"}}"#
    )))]);
    let c = ctx(&[("aws:username", "alice")]);
    assert_eq!(at(&s, &format!("{USERS}/bob"), &c), Decision::Allow);
    assert_eq!(
        at(&s, &format!("{USERS}/alice"), &c),
        Decision::ImplicitDeny
    );
    assert_eq!(
        at(&s, &format!("{USERS}/bob"), &Context::new()),
        Decision::ImplicitDeny,
        "an unresolvable variable makes the statement not match"
    );
}

#[test]
fn missing_value_in_condition_statement_does_not_match() {
    for cond in [
        r#"{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
        r#"{"StringLike":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}*"}}"#,
        r#"{"StringEqualsIgnoreCase":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
        r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:PrincipalTag/team}"}}"#,
        // Negated operators too: the value cannot be compared, so the statement is out.
        r#"{"StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
        r#"{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
        r#"{"StringNotLike":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}*"}}"#,
        r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:PrincipalTag/team}"}}"#,
        r#"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:PrincipalTag/team}"}}"#,
        r#"{"ForAllValues:StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
        r#"{"ForAnyValue:StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#,
    ] {
        let s = allow_when(cond);
        let c = ctx(&[
            ("aws:ResourceTag/team", "blue"),
            ("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:blue"),
        ]);
        assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny, "{cond}");
    }
    // With the value present the negated forms work as usual.
    let s =
        allow_when(r#"{"StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#);
    let c = |tag: &str| {
        ctx(&[
            ("aws:ResourceTag/team", "blue"),
            ("aws:PrincipalTag/team", tag),
        ])
    };
    assert_eq!(decide_alice(&s, &c("red")), Decision::Allow);
    assert_eq!(decide_alice(&s, &c("blue")), Decision::ImplicitDeny);
}

#[test]
fn escapes_are_literal() {
    let s = allow_resource(Some("2012-10-17"), &format!("{API}/*/GET/files/${{*}}"));
    let files = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/files";
    assert_eq!(
        at(&s, &format!("{files}/*"), &Context::new()),
        Decision::Allow
    );
    assert_eq!(
        at(&s, &format!("{files}/x"), &Context::new()),
        Decision::ImplicitDeny
    );

    let s = allow_resource(Some("2012-10-17"), &format!("{API}/*/GET/files/a${{?}}"));
    assert_eq!(
        at(&s, &format!("{files}/a?"), &Context::new()),
        Decision::Allow
    );
    assert_eq!(
        at(&s, &format!("{files}/ab"), &Context::new()),
        Decision::ImplicitDeny
    );

    let s = allow_resource(Some("2012-10-17"), &format!("{API}/*/GET/files/${{$}}x"));
    assert_eq!(
        at(&s, &format!("{files}/$x"), &Context::new()),
        Decision::Allow
    );

    // In condition values: `${*}` in StringLike is a literal star.
    let s = allow_when(r#"{"StringLike":{"aws:UserAgent":"agent${*}"}}"#);
    assert_eq!(
        decide_alice(&s, &ctx(&[("aws:UserAgent", "agent*")])),
        Decision::Allow
    );
    assert_eq!(
        decide_alice(&s, &ctx(&[("aws:UserAgent", "agent/1.0")])),
        Decision::ImplicitDeny
    );
    let s = allow_when(r#"{"StringLike":{"aws:UserAgent":"a${?}c"}}"#);
    assert_eq!(
        decide_alice(&s, &ctx(&[("aws:UserAgent", "a?c")])),
        Decision::Allow
    );
    assert_eq!(
        decide_alice(&s, &ctx(&[("aws:UserAgent", "abc")])),
        Decision::ImplicitDeny
    );
    // `${$}{...}` spells a variable without being one.
    let s = allow_when(r#"{"StringEquals":{"aws:UserAgent":"${$}{aws:username}"}}"#);
    let c = ctx(&[
        ("aws:UserAgent", "${aws:username}"),
        ("aws:username", "alice"),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    let c = ctx(&[("aws:UserAgent", "alice"), ("aws:username", "alice")]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
}

#[test]
fn substituted_values_are_never_wildcards() {
    let s = allow_resource(
        Some("2012-10-17"),
        &format!("{API}/*/GET/users/${{aws:username}}"),
    );
    for name in ["*", "?", "a*", "b?b"] {
        let c = ctx(&[("aws:username", name)]);
        assert_eq!(
            at(&s, &format!("{USERS}/{name}"), &c),
            Decision::Allow,
            "{name}"
        );
        for other in ["bob", "x", "abc", "bob2"] {
            assert_eq!(
                at(&s, &format!("{USERS}/{other}"), &c),
                Decision::ImplicitDeny,
                "{name} vs {other}"
            );
        }
    }
    let s = allow_when(r#"{"StringLike":{"aws:UserAgent":"${aws:username}"}}"#);
    let c = ctx(&[("aws:username", "*"), ("aws:UserAgent", "curl")]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
    let c = ctx(&[("aws:username", "*"), ("aws:UserAgent", "*")]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    let s = allow_when(
        r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:${aws:username}"}}"#,
    );
    let c = ctx(&[
        ("aws:username", "*"),
        ("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic"),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
    // The policy's own wildcards around a variable still are wildcards.
    let s = allow_when(r#"{"StringLike":{"aws:UserAgent":"*${aws:username}?"}}"#);
    let c = ctx(&[("aws:username", "x*"), ("aws:UserAgent", "abcx*9")]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    let c = ctx(&[("aws:username", "x*"), ("aws:UserAgent", "abcxy9")]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
}

#[test]
fn old_version_keeps_variables_literal() {
    for version in [Some("2008-10-17"), None] {
        let s = allow_resource(version, &format!("{API}/*/GET/users/${{aws:username}}"));
        let c = ctx(&[("aws:username", "alice")]);
        assert_eq!(
            at(&s, &format!("{USERS}/alice"), &c),
            Decision::ImplicitDeny,
            "{version:?}"
        );
        assert_eq!(
            at(&s, &format!("{USERS}/${{aws:username}}"), &c),
            Decision::Allow,
            "{version:?}"
        );
        assert_eq!(
            at(&s, &format!("{USERS}/${{aws:username}}"), &Context::new()),
            Decision::Allow,
            "{version:?}: no variable, nothing to resolve"
        );
    }
    let text = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{"StringEquals":{"aws:UserAgent":"${aws:username}"}}}]}"#;
    let s = set(vec![identity(text)]);
    let c = ctx(&[("aws:username", "alice"), ("aws:UserAgent", "alice")]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
    let c = ctx(&[
        ("aws:username", "alice"),
        ("aws:UserAgent", "${aws:username}"),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    // `${*}` is no escape in the old version: the `*` stays a wildcard.
    let s = allow_resource(Some("2008-10-17"), &format!("{API}/*/GET/users/${{*}}"));
    assert_eq!(
        at(&s, &format!("{USERS}/${{anything}}"), &Context::new()),
        Decision::Allow
    );
}

#[test]
fn variables_in_condition_values() {
    let s = allow_when(r#"{"StringLike":{"aws:UserAgent":"app-${aws:username}-*"}}"#);
    let c = |ua: &str| ctx(&[("aws:username", "alice"), ("aws:UserAgent", ua)]);
    assert_eq!(decide_alice(&s, &c("app-alice-1.0")), Decision::Allow);
    assert_eq!(decide_alice(&s, &c("app-bob-1.0")), Decision::ImplicitDeny);
    // Several values, one with a variable: OR as usual.
    let s = allow_when(r#"{"StringEquals":{"aws:UserAgent":["static","${aws:username}"]}}"#);
    assert_eq!(decide_alice(&s, &c("alice")), Decision::Allow);
    assert_eq!(decide_alice(&s, &c("static")), Decision::Allow);
    assert_eq!(decide_alice(&s, &c("bob")), Decision::ImplicitDeny);
    // Case-insensitive comparison also of the substituted value.
    let s = allow_when(r#"{"StringEqualsIgnoreCase":{"aws:UserAgent":"${aws:username}"}}"#);
    let c = ctx(&[("aws:username", "Alice"), ("aws:UserAgent", "aLiCe")]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    // ArnEquals with the caller's account.
    let s = allow_when(
        r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:user/alice"}}"#,
    );
    let c = ctx(&[
        ("aws:PrincipalAccount", ACCOUNT),
        ("aws:PrincipalArn", ALICE),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::Allow);
    let c = ctx(&[
        ("aws:PrincipalAccount", OTHER_ACCOUNT),
        ("aws:PrincipalArn", ALICE),
    ]);
    assert_eq!(decide_alice(&s, &c), Decision::ImplicitDeny);
}
