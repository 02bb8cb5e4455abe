//! Wildcards in actions and ARNs; `NotAction` / `NotResource` / `NotPrincipal`; every kind
//! of `Principal`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_iam::{Caller, CallerKind, Context, Decision, PolicySet};

fn allow(action: &str, resource: &str) -> PolicySet {
    set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#
    )))])
}

fn alice(set: &PolicySet, action: &str, resource: &str) -> Decision {
    decide(set, action, resource, &Caller::aws(ALICE), &Context::new())
}

#[test]
fn actions_are_case_insensitive_with_wildcards() {
    let cases: &[(&str, &str, bool)] = &[
        ("execute-api:Invoke", "execute-api:Invoke", true),
        ("execute-api:Invoke", "EXECUTE-API:INVOKE", true),
        ("Execute-API:invoke", "execute-api:Invoke", true),
        ("execute-api:Invoke", "execute-api:InvalidateCache", false),
        ("execute-api:Invoke", "execute-api:Invoke2", false),
        ("execute-api:*", "execute-api:Invoke", true),
        ("execute-api:*", "execute-api:ManageConnections", true),
        ("execute-api:*", "lambda:InvokeFunction", false),
        ("execute-api:inv*", "execute-api:Invoke", true),
        ("execute-api:INV*", "execute-api:InvalidateCache", true),
        ("execute-api:*Cache", "execute-api:InvalidateCache", true),
        ("execute-api:*Cache", "execute-api:Invoke", false),
        ("execute-api:Inv?ke", "execute-api:Invoke", true),
        ("execute-api:Inv?ke", "execute-api:Invooke", false),
        ("execute-api:Invoke?", "execute-api:Invoke", false),
        ("*", "execute-api:Invoke", true),
        ("*", "s3:GetObject", true),
    ];
    for (pattern, action, want) in cases {
        let s = allow(pattern, "*");
        let got = alice(&s, action, PETS) == Decision::Allow;
        assert_eq!(got, *want, "{pattern} vs {action}");
    }
}

#[test]
fn arns_are_case_sensitive_and_star_crosses_slashes() {
    let dog = PETS;
    let colon = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/a:b";
    let cases: &[(&str, &str, bool)] = &[
        ("*", dog, true),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/dog",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/get/pets/dog",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:ABC123/prod/GET/pets/dog",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:US-EAST-1:123456789012:abc123/*",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
            dog,
            false,
        ),
        // `*` spans `/` in the resource part.
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/*",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/*",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:*/prod/*",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*dog",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*cat",
            dog,
            false,
        ),
        // ... and `:` there.
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*",
            colon,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*:b",
            colon,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/a?b",
            colon,
            true,
        ),
        // `?` is one character.
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/d?g",
            dog,
            true,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/d?",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/do??",
            dog,
            false,
        ),
        // Region and account segments: each on its own.
        ("arn:aws:execute-api:*:123456789012:abc123/*", dog, true),
        ("arn:aws:execute-api:us-east-1:*:abc123/*", dog, true),
        ("arn:aws:execute-api:*:*:*", dog, true),
        ("arn:aws:execute-api:us-*-1:123456789012:*", dog, true),
        (
            "arn:aws:execute-api:us-east-1:1234567890??:abc123/*",
            dog,
            true,
        ),
        ("arn:aws:execute-api:us-east-1:???:abc123/*", dog, false),
        (
            "arn:aws:execute-api:us-west-2:123456789012:abc123/*",
            dog,
            false,
        ),
        (
            "arn:aws:execute-api:us-east-1:999988887777:abc123/*",
            dog,
            false,
        ),
        // A `*` in the region does not reach over the account.
        ("arn:aws:execute-api:*:abc123/*", dog, false),
        ("arn:aws:execute-api:*123456789012:abc123/*", dog, false),
        ("arn:aws:execute-api:us-east-1*:abc123/*", dog, false),
        // A pattern of fewer than six parts: its last part takes the rest of the ARN
        // (glob.rs: `arn:aws:execute-api:*` covers every execute-api ARN).
        ("arn:aws:execute-api:*", dog, true),
        ("arn:aws:execute-api:us-east-1:*", dog, true),
        ("arn:aws:execute-api:us-west-2:*", dog, false),
        ("arn:aws:lambda:us-east-1:123456789012:*", dog, false),
        (
            "arn:aws-cn:execute-api:us-east-1:123456789012:*",
            dog,
            false,
        ),
    ];
    for (pattern, arn, want) in cases {
        let s = allow(INVOKE, pattern);
        assert_eq!(
            alice(&s, INVOKE, arn) == Decision::Allow,
            *want,
            "{pattern} vs {arn}"
        );
    }
}

#[test]
fn not_action() {
    let s = set(vec![identity(&doc(
        r#"{"Effect":"Allow","NotAction":"execute-api:InvalidateCache","Resource":"*"}"#,
    ))]);
    assert_eq!(alice(&s, INVOKE, PETS), Decision::Allow);
    assert_eq!(alice(&s, "s3:GetObject", PETS), Decision::Allow);
    assert_eq!(
        alice(&s, "execute-api:InvalidateCache", PETS),
        Decision::ImplicitDeny
    );
    assert_eq!(
        alice(&s, "EXECUTE-API:invalidatecache", PETS),
        Decision::ImplicitDeny
    );

    let s = set(vec![identity(&doc(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},
           {"Effect":"Deny","NotAction":["execute-api:Inv*"],"Resource":"*"}"#,
    ))]);
    assert_eq!(alice(&s, INVOKE, PETS), Decision::Allow);
    assert_eq!(
        alice(&s, "execute-api:InvalidateCache", PETS),
        Decision::Allow
    );
    assert_eq!(
        alice(&s, "execute-api:ManageConnections", PETS),
        Decision::ExplicitDeny
    );
}

#[test]
fn not_resource() {
    let admin = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/admin/users";
    let s = set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"{API}/*/GET/admin/*"}}"#
    )))]);
    assert_eq!(alice(&s, INVOKE, PETS), Decision::Allow);
    assert_eq!(alice(&s, INVOKE, admin), Decision::ImplicitDeny);
    // Resources of other services are "not listed" too.
    assert_eq!(alice(&s, INVOKE, "arn:aws:s3:::bucket/x"), Decision::Allow);

    let s = set(vec![identity(&doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}},
           {{"Effect":"Deny","Action":"execute-api:Invoke","NotResource":["{API}/*/GET/public*","{API}/*/GET/health"]}}"#
    )))]);
    let public = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/public/x";
    let health = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/health";
    assert_eq!(alice(&s, INVOKE, public), Decision::Allow);
    assert_eq!(alice(&s, INVOKE, health), Decision::Allow);
    assert_eq!(alice(&s, INVOKE, PETS), Decision::ExplicitDeny);
    assert_eq!(
        alice(&s, "execute-api:InvalidateCache", PETS),
        Decision::Allow,
        "the Deny is only for Invoke"
    );
}

/// A resource policy: one Allow statement with this principal element.
fn rp_allow(principal: &str) -> PolicySet {
    set(vec![resource(&doc(&format!(
        r#"{{"Effect":"Allow",{principal},"Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
    )))])
}

fn by(set: &PolicySet, caller: &Caller) -> Decision {
    decide(set, INVOKE, PETS, caller, &Context::new())
}

fn federated(provider: &str) -> Caller {
    Caller {
        arn: "arn:aws:sts::123456789012:assumed-role/web/abc".into(),
        account: Some(ACCOUNT.into()),
        kind: CallerKind::Federated(provider.into()),
    }
}

fn service(name: &str) -> Caller {
    Caller {
        arn: name.into(),
        account: None,
        kind: CallerKind::Service,
    }
}

#[test]
fn principals() {
    let anonymous = Caller::anonymous();
    let alice = Caller::aws(ALICE);
    let carol = Caller::aws("arn:aws:iam::123456789012:user/carol");
    let bob = Caller::aws(BOB_OTHER);
    let root = Caller::aws("arn:aws:iam::123456789012:root");
    let session = Caller::aws("arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7");
    let other_role_session = Caller::aws("arn:aws:sts::123456789012:assumed-role/reader/s");
    let foreign_session = Caller::aws("arn:aws:sts::999988887777:assumed-role/deployer/s");
    let cognito = federated("cognito-identity.amazonaws.com");
    let google = federated("accounts.google.com");
    let lambda = service("lambda.amazonaws.com");
    let sns = service("sns.amazonaws.com");
    let callers = [
        ("anonymous", &anonymous),
        ("alice", &alice),
        ("carol", &carol),
        ("bob", &bob),
        ("root", &root),
        ("session", &session),
        ("other_role_session", &other_role_session),
        ("foreign_session", &foreign_session),
        ("cognito", &cognito),
        ("google", &google),
        ("lambda", &lambda),
        ("sns", &sns),
    ];
    let cases: &[(&str, &[&str])] = &[
        (
            r#""Principal":"*""#,
            &[
                "anonymous",
                "alice",
                "carol",
                "bob",
                "root",
                "session",
                "other_role_session",
                "foreign_session",
                "cognito",
                "google",
                "lambda",
                "sns",
            ],
        ),
        (
            r#""Principal":{"AWS":"*"}"#,
            &[
                "anonymous",
                "alice",
                "carol",
                "bob",
                "root",
                "session",
                "other_role_session",
                "foreign_session",
                "cognito",
                "google",
                "lambda",
                "sns",
            ],
        ),
        (
            r#""Principal":{"AWS":"123456789012"}"#,
            &["alice", "carol", "root", "session", "other_role_session"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:root"}"#,
            &["alice", "carol", "root", "session", "other_role_session"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:iam::999988887777:root"}"#,
            &["bob", "foreign_session"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
            &["alice"],
        ),
        (
            r#""Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::999988887777:user/bob"]}"#,
            &["alice", "bob"],
        ),
        // A role matches its sessions (a role path does not appear in the session ARN).
        (
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:role/deployer"}"#,
            &["session"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:role/ops/deployer"}"#,
            &["session"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7"}"#,
            &["session"],
        ),
        (
            r#""Principal":{"Federated":"cognito-identity.amazonaws.com"}"#,
            &["cognito"],
        ),
        (
            r#""Principal":{"Service":"lambda.amazonaws.com"}"#,
            &["lambda"],
        ),
        (
            r#""Principal":{"Service":["lambda.amazonaws.com","sns.amazonaws.com"]}"#,
            &["lambda", "sns"],
        ),
        (
            r#""Principal":{"AWS":"arn:aws:iam::123456789012:user/alice","Service":"sns.amazonaws.com"}"#,
            &["alice", "sns"],
        ),
    ];
    for (principal, allowed) in cases {
        let s = rp_allow(principal);
        for (name, caller) in &callers {
            let want = if allowed.contains(name) {
                Decision::Allow
            } else {
                Decision::ImplicitDeny
            };
            assert_eq!(by(&s, caller), want, "{principal} for {name}");
        }
    }
}

#[test]
fn not_principal_with_deny() {
    let allow_all = format!(
        r#"{{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
    );
    let policy = |not_principal: &str| {
        set(vec![resource(&doc(&format!(
            r#"{allow_all},{{"Effect":"Deny","NotPrincipal":{not_principal},"Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
        )))])
    };
    let alice = Caller::aws(ALICE);
    let carol = Caller::aws("arn:aws:iam::123456789012:user/carol");
    let root = Caller::aws("arn:aws:iam::123456789012:root");
    let bob = Caller::aws(BOB_OTHER);

    // "Everyone except Alice": list the user and her account, as IAM recommends.
    let s = policy(
        r#"{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:root"]}"#,
    );
    assert_eq!(by(&s, &alice), Decision::Allow);
    assert_eq!(by(&s, &root), Decision::Allow);
    assert_eq!(by(&s, &Caller::anonymous()), Decision::ExplicitDeny);
    assert_eq!(by(&s, &bob), Decision::ExplicitDeny);
    assert_eq!(
        by(&s, &carol),
        Decision::ExplicitDeny,
        "listing Alice's account spares the account, not everyone in it"
    );
    assert_eq!(
        by(&s, &service("lambda.amazonaws.com")),
        Decision::ExplicitDeny
    );

    // Only the user listed.
    let s = policy(r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#);
    assert_eq!(by(&s, &alice), Decision::Allow);
    assert_eq!(by(&s, &carol), Decision::ExplicitDeny);

    // A role, its account, and its sessions.
    let session = Caller::aws("arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7");
    let reader = Caller::aws("arn:aws:sts::123456789012:assumed-role/reader/s");
    let s = policy(
        r#"{"AWS":["arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7","arn:aws:iam::123456789012:role/deployer","arn:aws:iam::123456789012:root"]}"#,
    );
    assert_eq!(by(&s, &session), Decision::Allow);
    assert_eq!(by(&s, &reader), Decision::ExplicitDeny);
    assert_eq!(by(&s, &alice), Decision::ExplicitDeny);
    // Listing only the role (and account) does not spare its sessions: IAM wants the
    // assumed-role session ARN in NotPrincipal.
    let s = policy(
        r#"{"AWS":["arn:aws:iam::123456789012:role/deployer","arn:aws:iam::123456789012:root"]}"#,
    );
    assert_eq!(by(&s, &session), Decision::ExplicitDeny);

    // NotPrincipal with a service and a federated provider.
    let s = policy(r#"{"Service":"lambda.amazonaws.com"}"#);
    assert_eq!(by(&s, &service("lambda.amazonaws.com")), Decision::Allow);
    assert_eq!(
        by(&s, &service("sns.amazonaws.com")),
        Decision::ExplicitDeny
    );
    assert_eq!(by(&s, &alice), Decision::ExplicitDeny);
    let s = policy(r#"{"Federated":"cognito-identity.amazonaws.com"}"#);
    assert_eq!(
        by(&s, &federated("cognito-identity.amazonaws.com")),
        Decision::Allow
    );
    assert_eq!(
        by(&s, &federated("accounts.google.com")),
        Decision::ExplicitDeny
    );
}

#[test]
fn not_principal_with_allow() {
    // Everyone not listed, anonymous callers included.
    let s = set(vec![resource(&doc(&format!(
        r#"{{"Effect":"Allow","NotPrincipal":{{"AWS":"arn:aws:iam::999988887777:user/bob"}},"Action":"execute-api:Invoke","Resource":"{API}/*"}}"#
    )))]);
    assert_eq!(by(&s, &Caller::anonymous()), Decision::Allow);
    assert_eq!(by(&s, &Caller::aws(ALICE)), Decision::Allow);
    assert_eq!(by(&s, &Caller::aws(BOB_OTHER)), Decision::ImplicitDeny);
}

#[test]
fn identity_policies_have_no_principal_check() {
    // The same statement applies whoever the caller is.
    let s = allow(INVOKE, "*");
    for c in [
        Caller::anonymous(),
        Caller::aws(ALICE),
        Caller::aws(BOB_OTHER),
        service("lambda.amazonaws.com"),
    ] {
        assert_eq!(by(&s, &c), Decision::Allow, "{}", c.arn);
    }
}
