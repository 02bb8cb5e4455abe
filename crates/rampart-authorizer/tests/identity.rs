//! Identity sources and the identity (cache key) of a request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_authorizer::{
    identity, ConfigError, IdentityKey, IdentitySource, Kind, Missing, MissingReason, RequestFacts,
    Validation, CONTEXT_VARIABLES,
};

fn key(kind: &Kind, facts: &RequestFacts<'_>) -> IdentityKey {
    identity(kind, facts).unwrap_or_else(|m| panic!("{m}"))
}

fn missing(kind: &Kind, facts: &RequestFacts<'_>) -> Missing {
    identity(kind, facts).expect_err("identity should be missing")
}

fn req(sources: &[&str]) -> Kind {
    Kind::request(sources).unwrap()
}

#[test]
fn parse_every_source_syntax() {
    use IdentitySource::*;
    let cases = [
        (
            "method.request.header.Authorization",
            Header("Authorization".into()),
        ),
        (
            "$request.header.Authorization",
            Header("Authorization".into()),
        ),
        ("method.request.querystring.q", Query("q".into())),
        ("$request.querystring.q", Query("q".into())),
        ("stageVariables.v", StageVariable("v".into())),
        ("$stageVariables.v", StageVariable("v".into())),
        (
            "context.identity.sourceIp",
            Context("identity.sourceIp".into()),
        ),
        ("$context.routeKey", Context("routeKey".into())),
    ];
    for (text, want) in cases {
        assert_eq!(IdentitySource::parse(text).unwrap(), want, "{text}");
    }
    assert_eq!(
        IdentitySource::parse("$request.header.X-Api")
            .unwrap()
            .to_string(),
        "method.request.header.X-Api"
    );
    for v in CONTEXT_VARIABLES {
        IdentitySource::parse(&format!("context.{v}")).unwrap();
    }
}

#[test]
fn parse_rejects_bad_sources() {
    for bad in [
        "",
        "Authorization",
        "method.request.header.",
        "method.request.header.bad header",
        "method.request.path.id",
        "method.request.body.x",
        "context.nope",
        "$context.authorizer.claims",
        "request.header.X",
        "METHOD.REQUEST.HEADER.X",
    ] {
        assert!(
            matches!(
                IdentitySource::parse(bad),
                Err(ConfigError::IdentitySource { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(Kind::request(&["method.request.header.A", "context.nope"]).is_err());
}

#[test]
fn token_kind_construction() {
    for src in [
        "method.request.header.Authorization",
        "$request.header.Authorization",
        "Authorization",
    ] {
        let Kind::Token { header, validation } = Kind::token(src, None).unwrap() else {
            panic!()
        };
        assert_eq!(header, "Authorization");
        assert!(validation.is_none());
    }
    assert!(Kind::token("method.request.querystring.token", None).is_err());
    assert!(Kind::token("context.requestId", None).is_err());
    assert!(Kind::token("bad header", None).is_err());
    assert!(matches!(
        Kind::token("Authorization", Some("Bearer (")),
        Err(ConfigError::Validation(_))
    ));
}

#[test]
fn token_identity() {
    let kind = Kind::token("Authorization", None).unwrap();
    let a = key(&kind, &rest_facts());
    // Header names are case-insensitive.
    let h = [("AUTHORIZATION", "Bearer abc")];
    assert_eq!(
        key(
            &kind,
            &RequestFacts {
                headers: &h,
                ..rest_facts()
            }
        ),
        a
    );
    let h = [("authorization", "Bearer abd")];
    assert_ne!(
        key(
            &kind,
            &RequestFacts {
                headers: &h,
                ..rest_facts()
            }
        ),
        a
    );
    // Only the token counts.
    let other = RequestFacts {
        query: &[],
        request_id: "other",
        method_arn: "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/DELETE/x",
        ..rest_facts()
    };
    assert_eq!(key(&kind, &other), a);
}

#[test]
fn token_missing_empty_repeated() {
    let kind = Kind::token("Authorization", None).unwrap();
    let m = missing(
        &kind,
        &RequestFacts {
            headers: &[("Host", "x")],
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Absent);
    assert_eq!(m.identity_source, "method.request.header.Authorization");
    assert_eq!(
        m.to_string(),
        "identity source method.request.header.Authorization is absent"
    );
    let m = missing(
        &kind,
        &RequestFacts {
            headers: &[("Authorization", "")],
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Empty);
    let h = [("Authorization", "Bearer a"), ("authorization", "Bearer b")];
    let m = missing(
        &kind,
        &RequestFacts {
            headers: &h,
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Repeated);
}

#[test]
fn token_validation_expression_matches_the_whole_token() {
    let kind = Kind::token("Authorization", Some(r"Bearer [A-Za-z0-9._-]+")).unwrap();
    let Kind::Token {
        validation: Some(v),
        ..
    } = &kind
    else {
        panic!()
    };
    assert_eq!(v.as_str(), r"Bearer [A-Za-z0-9._-]+");
    key(&kind, &rest_facts());
    for bad in [
        "bearer abc",
        "xBearer abc",
        "Bearer abc def",
        "Bearer abc\n",
        "Bearer ",
    ] {
        let h = [("Authorization", bad)];
        let m = missing(
            &kind,
            &RequestFacts {
                headers: &h,
                ..rest_facts()
            },
        );
        assert_eq!(m.reason, MissingReason::Invalid, "{bad:?}");
    }
    // Alternation is anchored as a whole.
    let v = Validation::new("a|ab").unwrap();
    assert!(v.is_match("ab") && v.is_match("a"));
    assert!(!v.is_match("abc") && !v.is_match("xa"));
}

#[test]
fn request_identity_from_every_source_kind() {
    let facts = rest_facts();
    let cases: [(&str, &str); 4] = [
        ("method.request.header.authorization", "Bearer abc"),
        ("method.request.querystring.tenant", "t1"),
        ("stageVariables.env", "prod"),
        ("context.identity.sourceIp", "192.0.2.10"),
    ];
    for (src, value) in cases {
        let s = IdentitySource::parse(src).unwrap();
        assert_eq!(s.values(&facts), vec![value.to_string()], "{src}");
        key(&req(&[src]), &facts);
    }
    let ctx = |name: &str| {
        IdentitySource::parse(&format!("$context.{name}"))
            .unwrap()
            .values(&facts)
    };
    assert_eq!(ctx("routeKey"), ["GET /pets/{petId}"]);
    assert_eq!(ctx("requestTime"), ["20/Nov/2026:23:00:00 +0000"]);
    assert_eq!(ctx("requestTimeEpoch"), ["1795215600000"]);
    assert_eq!(ctx("domainPrefix"), ["abc123"]);
    assert_eq!(ctx("http.path"), ["/prod/pets/42"]);
    assert_eq!(ctx("resourcePath"), ["/pets/{petId}"]);
    for v in CONTEXT_VARIABLES {
        if *v != "identity.userAgent" && *v != "http.userAgent" {
            assert!(!ctx(v).is_empty(), "{v}");
        }
    }
    assert_eq!(ctx("http.userAgent"), ["curl/8"]);
}

#[test]
fn request_identity_values_distinguish_requests() {
    let kind = req(&[
        "method.request.header.Authorization",
        "method.request.querystring.tenant",
    ]);
    let base = key(&kind, &rest_facts());
    let q2 = [("tenant", "t2")];
    assert_ne!(
        key(
            &kind,
            &RequestFacts {
                query: &q2,
                ..rest_facts()
            }
        ),
        base
    );
    // Values outside the sources do not count.
    let q = [("tenant", "t1"), ("other", "x")];
    assert_eq!(
        key(
            &kind,
            &RequestFacts {
                query: &q,
                ..rest_facts()
            }
        ),
        base
    );
    // Query names are case-sensitive.
    let q = [("Tenant", "t1")];
    let m = missing(
        &kind,
        &RequestFacts {
            query: &q,
            ..rest_facts()
        },
    );
    assert_eq!(m.identity_source, "method.request.querystring.tenant");
    assert_eq!(m.reason, MissingReason::Absent);
    // Several values are all part of the identity, and cannot collide with a joined one.
    let kind = req(&["method.request.querystring.a"]);
    let two = [("a", "x"), ("a", "y")];
    let joined = [("a", "x,y")];
    let k2 = key(
        &kind,
        &RequestFacts {
            query: &two,
            ..rest_facts()
        },
    );
    assert_ne!(
        k2,
        key(
            &kind,
            &RequestFacts {
                query: &joined,
                ..rest_facts()
            }
        )
    );
    let swapped = [("a", "y"), ("a", "x")];
    assert_ne!(
        k2,
        key(
            &kind,
            &RequestFacts {
                query: &swapped,
                ..rest_facts()
            }
        )
    );
    // Values do not shift between sources.
    let ab = req(&[
        "method.request.querystring.a",
        "method.request.querystring.b",
    ]);
    let q1 = [("a", "xy"), ("b", "z")];
    let q2 = [("a", "x"), ("b", "yz")];
    assert_ne!(
        key(
            &ab,
            &RequestFacts {
                query: &q1,
                ..rest_facts()
            }
        ),
        key(
            &ab,
            &RequestFacts {
                query: &q2,
                ..rest_facts()
            }
        )
    );
}

#[test]
fn request_missing_or_empty_source() {
    let kind = req(&[
        "method.request.header.Authorization",
        "stageVariables.missing",
    ]);
    let m = missing(&kind, &rest_facts());
    assert_eq!(m.identity_source, "stageVariables.missing");
    assert_eq!(m.reason, MissingReason::Absent);
    let kind = req(&["$request.querystring.q"]);
    let m = missing(
        &kind,
        &RequestFacts {
            query: &[("q", "")],
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Empty);
    let kind = req(&["context.identity.userAgent"]);
    let m = missing(
        &kind,
        &RequestFacts {
            user_agent: None,
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Absent);
    let m = missing(
        &kind,
        &RequestFacts {
            user_agent: Some(""),
            ..rest_facts()
        },
    );
    assert_eq!(m.reason, MissingReason::Empty);
}

#[test]
fn no_sources_means_an_empty_identity() {
    let k = key(&req(&[]), &rest_facts());
    assert!(k.is_empty());
    assert!(!key(&req(&["stageVariables.env"]), &rest_facts()).is_empty());
    assert!(!key(&Kind::token("Authorization", None).unwrap(), &rest_facts()).is_empty());
}

#[test]
fn identity_key_debug_shows_no_token() {
    let k = key(&Kind::token("Authorization", None).unwrap(), &rest_facts());
    let d = format!("{k:?}");
    assert!(d.starts_with("IdentityKey(") && !d.contains("abc"), "{d}");
}
