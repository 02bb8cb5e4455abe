//! Claim checks (static keys, fixed clock): exp / nbf with and without leeway, issuer,
//! audience, Cognito access tokens (`client_id`), `token_use`, scopes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::keys::{at, jwks, TestKey, NOW};
use jsonwebtoken::Algorithm;
use rampart_jwt::{has_scopes, Claims, IssuerConfig, JwtError, KeySource, TokenUse, Verifier};
use serde_json::{json, Value};

const ISS: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";
const CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

fn key() -> TestKey {
    TestKey::p256("k1")
}

fn verifier_with(key: &TestKey, f: impl FnOnce(&mut IssuerConfig)) -> Verifier {
    let mut cfg = IssuerConfig::new(ISS, KeySource::Static(jwks(&[key])), vec![CLIENT.into()]);
    f(&mut cfg);
    Verifier::new(vec![cfg]).unwrap()
}

/// A Cognito ID token's claims at `NOW`.
fn id_token() -> Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "aud": CLIENT,
        "email_verified": true,
        "token_use": "id",
        "auth_time": NOW - 10,
        "iss": ISS,
        "cognito:username": "alice",
        "cognito:groups": ["admins", "users"],
        "exp": NOW + 3600,
        "iat": NOW - 10,
        "email": "alice@example.com",
    })
}

/// A Cognito access token's claims at `NOW` (no `aud`; `client_id`, `scope`).
fn access_token() -> Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admins"],
        "iss": ISS,
        "version": 2,
        "client_id": CLIENT,
        "origin_jti": "11111111-2222-3333-4444-555555555555",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin orders/read orders/write",
        "auth_time": NOW - 10,
        "exp": NOW + 3600,
        "iat": NOW - 10,
        "jti": "66666666-7777-8888-9999-000000000000",
        "username": "alice",
    })
}

async fn check(v: &Verifier, k: &TestKey, claims: &Value, now: u64) -> Result<Claims, JwtError> {
    v.verify_at(&k.sign(Algorithm::ES256, claims), at(now))
        .await
}

#[tokio::test]
async fn cognito_id_and_access_tokens() {
    let k = key();
    let v = verifier_with(&k, |_| {});
    let c = check(&v, &k, &id_token(), NOW).await.unwrap();
    assert_eq!(c.get_str("cognito:username"), Some("alice"));
    assert_eq!(c.get_strings("cognito:groups"), vec!["admins", "users"]);
    assert_eq!(c.aud(), vec![CLIENT]);
    assert_eq!(c.token_use(), Some("id"));
    let c = check(&v, &k, &access_token(), NOW).await.unwrap();
    assert_eq!(c.client_id(), Some(CLIENT));
    assert!(c.aud().is_empty());
    assert_eq!(c.exp(), Some((NOW + 3600) as i64));
}

#[tokio::test]
async fn expiry_with_and_without_leeway() {
    let k = key();
    let strict = verifier_with(&k, |_| {});
    let lenient = verifier_with(&k, |c| c.leeway = Duration::from_secs(60));
    let mut t = id_token();
    t["exp"] = json!(NOW);
    // exp is the first instant the token is no longer valid.
    assert!(check(&strict, &k, &t, NOW - 1).await.is_ok());
    assert_eq!(check(&strict, &k, &t, NOW).await, Err(JwtError::Expired));
    assert_eq!(
        check(&strict, &k, &t, NOW + 30).await,
        Err(JwtError::Expired)
    );
    assert!(check(&lenient, &k, &t, NOW + 30).await.is_ok());
    assert!(check(&lenient, &k, &t, NOW + 59).await.is_ok());
    assert_eq!(
        check(&lenient, &k, &t, NOW + 60).await,
        Err(JwtError::Expired)
    );
    // A fractional NumericDate.
    t["exp"] = json!(NOW as f64 + 0.5);
    assert!(check(&strict, &k, &t, NOW).await.is_ok());
    assert_eq!(
        check(&strict, &k, &t, NOW + 1).await,
        Err(JwtError::Expired)
    );
    // The real clock: a token that expired in 2025 is refused by `verify`.
    assert_eq!(
        strict.verify(&k.sign(Algorithm::ES256, &t)).await,
        Err(JwtError::Expired)
    );
}

#[tokio::test]
async fn exp_is_required_and_must_be_a_number() {
    let k = key();
    let v = verifier_with(&k, |c| c.leeway = Duration::from_secs(300));
    let mut t = id_token();
    t.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::MissingClaim("exp"))
    );
    t["exp"] = json!((NOW + 3600).to_string());
    assert!(matches!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
    t["exp"] = json!(null);
    assert!(matches!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
}

/// A token issued in the future (its `iat` past now and the leeway) is not valid yet, as
/// API Gateway's JWT authorizers have it; one without `iat` is fine.
#[tokio::test]
async fn issued_in_the_future_is_not_valid_yet() {
    let k = key();
    let strict = verifier_with(&k, |_| {});
    let lenient = verifier_with(&k, |c| c.leeway = Duration::from_secs(60));
    let mut t = id_token();
    t["iat"] = json!(NOW + 30);
    assert_eq!(
        check(&strict, &k, &t, NOW).await,
        Err(JwtError::NotYetValid)
    );
    assert!(check(&strict, &k, &t, NOW + 30).await.is_ok());
    assert!(check(&lenient, &k, &t, NOW).await.is_ok());
    t["iat"] = json!(NOW + 3600);
    assert_eq!(
        check(&lenient, &k, &t, NOW).await,
        Err(JwtError::NotYetValid)
    );
    t["iat"] = json!("now");
    assert!(matches!(
        check(&strict, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
    t.as_object_mut().unwrap().remove("iat");
    assert!(check(&strict, &k, &t, NOW).await.is_ok());
}

#[tokio::test]
async fn not_before_with_and_without_leeway() {
    let k = key();
    let strict = verifier_with(&k, |_| {});
    let lenient = verifier_with(&k, |c| c.leeway = Duration::from_secs(60));
    let mut t = id_token();
    t["nbf"] = json!(NOW + 30);
    assert_eq!(
        check(&strict, &k, &t, NOW).await,
        Err(JwtError::NotYetValid)
    );
    assert_eq!(
        check(&strict, &k, &t, NOW + 29).await,
        Err(JwtError::NotYetValid)
    );
    assert!(check(&strict, &k, &t, NOW + 30).await.is_ok());
    assert!(check(&lenient, &k, &t, NOW).await.is_ok());
    assert!(check(&lenient, &k, &t, NOW - 30).await.is_ok());
    assert_eq!(
        check(&lenient, &k, &t, NOW - 31).await,
        Err(JwtError::NotYetValid)
    );
    t["nbf"] = json!("soon");
    assert!(matches!(
        check(&lenient, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let k = key();
    let v = verifier_with(&k, |_| {});
    for iss in [
        format!("{ISS}/"),
        ISS.to_uppercase(),
        ISS.replace("https", "http"),
        "https://evil.example".to_owned(),
        String::new(),
    ] {
        let mut t = id_token();
        t["iss"] = json!(iss);
        assert_eq!(
            check(&v, &k, &t, NOW).await,
            Err(JwtError::WrongIssuer),
            "{iss}"
        );
    }
    let mut t = id_token();
    t.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::MissingClaim("iss"))
    );
    t["iss"] = json!([ISS]);
    assert!(matches!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
}

#[tokio::test]
async fn several_issuers_each_with_their_keys() {
    let k1 = key();
    let k2 = TestKey::ed25519("k1"); // same kid, other issuer
    let v = Verifier::new(vec![
        IssuerConfig::new(ISS, KeySource::Static(jwks(&[&k1])), vec![CLIENT.into()]),
        IssuerConfig::new(
            "https://other.example",
            KeySource::Static(jwks(&[&k2])),
            vec!["o".into()],
        ),
    ])
    .unwrap();
    let mut t2 = id_token();
    t2["iss"] = json!("https://other.example");
    t2["aud"] = json!("o");
    assert!(check(&v, &k1, &id_token(), NOW).await.is_ok());
    let tok = k2.sign(Algorithm::EdDSA, &t2);
    assert!(v.verify_at(&tok, at(NOW)).await.is_ok());
    // Issuer 1's key does not verify issuer 2's tokens, nor its audiences.
    let tok = k1.sign(Algorithm::ES256, &t2);
    assert_eq!(
        v.verify_at(&tok, at(NOW)).await,
        Err(JwtError::AlgorithmMismatch)
    );
    let mut t = id_token();
    t["aud"] = json!("o");
    assert_eq!(check(&v, &k1, &t, NOW).await, Err(JwtError::WrongAudience));
}

#[tokio::test]
async fn audience() {
    let k = key();
    let v = verifier_with(&k, |c| c.audiences.push("second".into()));
    let mut t = id_token();
    for (aud, ok) in [
        (json!(CLIENT), true),
        (json!("second"), true),
        (json!(["x", "second"]), true),
        (json!(["x", 3, CLIENT]), true),
        (json!("other"), false),
        (json!(["x", "y"]), false),
        (json!([]), false),
        (json!(CLIENT.to_uppercase()), false),
    ] {
        t["aud"] = aud.clone();
        let r = check(&v, &k, &t, NOW).await;
        if ok {
            assert!(r.is_ok(), "{aud}: {r:?}");
        } else {
            assert_eq!(r, Err(JwtError::WrongAudience), "{aud}");
        }
    }
    t["aud"] = json!({"a": CLIENT});
    assert!(matches!(
        check(&v, &k, &t, NOW).await,
        Err(JwtError::Malformed(_))
    ));
    // No aud and no client_id.
    t.as_object_mut().unwrap().remove("aud");
    assert_eq!(check(&v, &k, &t, NOW).await, Err(JwtError::WrongAudience));
}

#[tokio::test]
async fn cognito_access_token_client_id() {
    let k = key();
    let v = verifier_with(&k, |_| {});
    assert!(check(&v, &k, &access_token(), NOW).await.is_ok());
    let mut t = access_token();
    t["client_id"] = json!("another-client");
    assert_eq!(check(&v, &k, &t, NOW).await, Err(JwtError::WrongAudience));
    t["client_id"] = json!([CLIENT]);
    assert_eq!(check(&v, &k, &t, NOW).await, Err(JwtError::WrongAudience));
    // With an `aud`, only `aud` counts: a right client_id does not rescue a wrong aud.
    let mut t = access_token();
    t["aud"] = json!("another-client");
    assert_eq!(check(&v, &k, &t, NOW).await, Err(JwtError::WrongAudience));
}

#[tokio::test]
async fn token_use() {
    let k = key();
    let access = verifier_with(&k, |c| c.token_use = Some(TokenUse::Access));
    let id = verifier_with(&k, |c| c.token_use = Some(TokenUse::Id));
    let any = verifier_with(&k, |_| {});
    assert!(check(&access, &k, &access_token(), NOW).await.is_ok());
    assert_eq!(
        check(&access, &k, &id_token(), NOW).await,
        Err(JwtError::WrongTokenUse)
    );
    assert!(check(&id, &k, &id_token(), NOW).await.is_ok());
    assert_eq!(
        check(&id, &k, &access_token(), NOW).await,
        Err(JwtError::WrongTokenUse)
    );
    assert!(check(&any, &k, &id_token(), NOW).await.is_ok());
    assert!(check(&any, &k, &access_token(), NOW).await.is_ok());
    let mut t = access_token();
    t.as_object_mut().unwrap().remove("token_use");
    assert_eq!(
        check(&access, &k, &t, NOW).await,
        Err(JwtError::WrongTokenUse)
    );
    assert!(check(&any, &k, &t, NOW).await.is_ok());
    t["token_use"] = json!("ACCESS");
    assert_eq!(
        check(&access, &k, &t, NOW).await,
        Err(JwtError::WrongTokenUse)
    );
}

#[tokio::test]
async fn scopes_of_a_verified_access_token() {
    let k = key();
    let v = verifier_with(&k, |_| {});
    let c = check(&v, &k, &access_token(), NOW).await.unwrap();
    let s = |list: &[&str]| list.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(has_scopes(&c, &s(&["orders/read"])));
    assert!(has_scopes(&c, &s(&["orders/read", "orders/write"])));
    assert!(!has_scopes(&c, &s(&["orders/read", "orders/delete"])));
    assert!(!has_scopes(&c, &s(&["orders"])));
    assert!(has_scopes(&c, &[]));
    // `scp` as an array (Okta, Azure AD style).
    let mut t = access_token();
    t.as_object_mut().unwrap().remove("scope");
    t["scp"] = json!(["pets:read", "pets:write"]);
    let c = check(&v, &k, &t, NOW).await.unwrap();
    assert_eq!(c.scopes(), vec!["pets:read", "pets:write"]);
    assert!(has_scopes(&c, &s(&["pets:write"])));
    // An ID token has no scopes.
    let c = check(&v, &k, &id_token(), NOW).await.unwrap();
    assert!(!has_scopes(&c, &s(&["openid"])));
}

#[tokio::test]
async fn static_keys_unknown_kid() {
    let k = key();
    let v = verifier_with(&k, |_| {});
    let other = k.with_kid("k2");
    assert_eq!(
        check(&v, &other, &id_token(), NOW).await,
        Err(JwtError::UnknownKey)
    );
    // A single JWK (not a set) is accepted as static keys.
    let v = Verifier::new(vec![IssuerConfig::new(
        ISS,
        KeySource::Static(k.jwk.to_string()),
        vec![CLIENT.into()],
    )])
    .unwrap();
    assert!(check(&v, &k, &id_token(), NOW).await.is_ok());
}

#[tokio::test]
async fn checks_run_after_the_signature() {
    // An expired token with a bad signature reports the signature, not the expiry: claims
    // of an unauthenticated token are not trusted for anything but choosing the issuer.
    let k = key();
    let v = verifier_with(&k, |_| {});
    let mut t = id_token();
    t["exp"] = json!(NOW - 100);
    let impostor = TestKey::p256("k1");
    assert_eq!(
        check(&v, &impostor, &t, NOW).await,
        Err(JwtError::BadSignature)
    );
}
