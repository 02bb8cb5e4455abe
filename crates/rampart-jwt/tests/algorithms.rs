//! Algorithms and headers: every supported algorithm verifies against keys fetched from a
//! JWKS over TLS; `none`, confusion attacks, mismatched keys, key-carrying and critical
//! headers, tampering and malformed tokens are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::keys::{claims, jwks, sign_raw, unsigned, TestKey, RSA1_PUB_PEM};
use common::server::Server;
use jsonwebtoken::{Algorithm, EncodingKey};
use rampart_jwt::{IssuerConfig, JwtError, KeySource, Verifier, MAX_TOKEN_BYTES};
use serde_json::json;

const AUD: &str = "client-1";

struct Fixture {
    server: Server,
    verifier: Verifier,
    rsa: TestKey,
    p256: TestKey,
    p384: TestKey,
    ed: TestKey,
}

fn config(server: &Server) -> IssuerConfig {
    let mut cfg = IssuerConfig::new(
        server.base.clone(),
        KeySource::JwksUrl(server.jwks_url()),
        vec![AUD.to_owned()],
    );
    cfg.root_certificates_pem = Some(server.ca_pem.clone());
    cfg
}

async fn fixture_with(f: impl FnOnce(&mut IssuerConfig)) -> Fixture {
    let rsa = TestKey::rsa1("rsa");
    let p256 = TestKey::p256("p256");
    let p384 = TestKey::p384("p384");
    let ed = TestKey::ed25519("ed");
    let server = Server::start(jwks(&[&rsa, &p256, &p384, &ed])).await;
    let mut cfg = config(&server);
    f(&mut cfg);
    let verifier = Verifier::new(vec![cfg]).unwrap();
    Fixture {
        server,
        verifier,
        rsa,
        p256,
        p384,
        ed,
    }
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

impl Fixture {
    fn claims(&self) -> serde_json::Value {
        claims(&self.server.base, AUD)
    }
}

#[tokio::test]
async fn every_supported_algorithm_verifies() {
    let f = fixture().await;
    let c = f.claims();
    let cases = [
        (&f.rsa, Algorithm::RS256),
        (&f.rsa, Algorithm::RS384),
        (&f.rsa, Algorithm::RS512),
        (&f.rsa, Algorithm::PS256),
        (&f.rsa, Algorithm::PS384),
        (&f.rsa, Algorithm::PS512),
        (&f.p256, Algorithm::ES256),
        (&f.p384, Algorithm::ES384),
        (&f.ed, Algorithm::EdDSA),
    ];
    for (key, alg) in cases {
        let token = key.sign(alg, &c);
        let claims = f
            .verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(claims.sub(), Some("user-1"));
        assert_eq!(claims.iss(), Some(f.server.base.as_str()));
    }
    // One fetch served them all.
    assert_eq!(f.server.hits("/jwks.json"), 1);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let f = fixture().await;
    let c = f.claims();
    for alg in ["none", "None", "NONE", ""] {
        let token = unsigned(&json!({"alg": alg, "kid": "rsa"}), &c);
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::UnsupportedAlgorithm),
            "{alg}"
        );
        // Even with a signature part made of junk.
        let token = format!("{token}AAAA");
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    // Without any signature part at all.
    let token = unsigned(&json!({"alg": "none"}), &c);
    let two_parts = token.trim_end_matches('.');
    assert!(matches!(
        f.verifier.verify(two_parts).await,
        Err(JwtError::Malformed(_))
    ));
    // No fetch was even needed to refuse them.
    assert_eq!(f.server.hits("/jwks.json"), 0);
}

#[tokio::test]
async fn unsupported_algorithms_are_refused() {
    let f = fixture().await;
    let c = f.claims();
    let secret = EncodingKey::from_secret(&[7; 64]);
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign_raw(
            &secret,
            alg,
            &json!({"alg": format!("{alg:?}"), "kid": "rsa"}),
            &c,
        );
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::UnsupportedAlgorithm)
        );
    }
    for alg in ["ES512", "RSA-OAEP", "rs256", "42"] {
        let token = unsigned(&json!({"alg": alg, "kid": "rsa"}), &c) + "AAAA";
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    let token = unsigned(&json!({"alg": 256, "kid": "rsa"}), &c) + "AAAA";
    assert!(matches!(
        f.verifier.verify(&token).await,
        Err(JwtError::Malformed(_))
    ));
    let token = unsigned(&json!({"kid": "rsa"}), &c) + "AAAA";
    assert!(matches!(
        f.verifier.verify(&token).await,
        Err(JwtError::Malformed(_))
    ));
}

/// The classic confusion attack: `HS256` "signed" with the RSA public key's bytes.
#[tokio::test]
async fn hs256_with_the_rsa_public_key_is_refused() {
    let f = fixture().await;
    let c = f.claims();
    let rsa_jwk = f.rsa.jwk.to_string();
    let secrets: Vec<Vec<u8>> = vec![
        RSA1_PUB_PEM.as_bytes().to_vec(),
        RSA1_PUB_PEM.trim_end().as_bytes().to_vec(),
        rsa_jwk.into_bytes(),
    ];
    for secret in &secrets {
        let token = sign_raw(
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
            &json!({"alg": "HS256", "kid": "rsa", "typ": "JWT"}),
            &c,
        );
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::UnsupportedAlgorithm)
        );
    }

    // With a shared secret configured, HS256 is verified against that secret only.
    let f =
        fixture_with(|c| c.hs256_secret = Some(b"0123456789abcdef0123456789abcdef".to_vec())).await;
    let c = f.claims();
    for secret in &secrets {
        let token = sign_raw(
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
            &json!({"alg": "HS256", "kid": "rsa", "typ": "JWT"}),
            &c,
        );
        assert_eq!(f.verifier.verify(&token).await, Err(JwtError::BadSignature));
    }
}

#[tokio::test]
async fn hs256_with_a_configured_secret() {
    let secret = b"0123456789abcdef0123456789abcdef-and-more".to_vec();
    let f = fixture_with(|c| c.hs256_secret = Some(secret.clone())).await;
    let c = f.claims();
    let hs = EncodingKey::from_secret(&secret);
    // With or without kid (a kid is ignored for HS256: there is one secret).
    for header in [
        json!({"alg": "HS256"}),
        json!({"alg": "HS256", "kid": "rsa"}),
    ] {
        let token = sign_raw(&hs, Algorithm::HS256, &header, &c);
        assert!(f.verifier.verify(&token).await.is_ok(), "{header}");
    }
    // Asymmetric tokens of the same issuer still verify against the JWKS.
    assert!(f
        .verifier
        .verify(&f.rsa.sign(Algorithm::RS256, &c))
        .await
        .is_ok());
    assert!(f
        .verifier
        .verify(&f.ed.sign(Algorithm::EdDSA, &c))
        .await
        .is_ok());
    // A different secret fails.
    let token = sign_raw(
        &EncodingKey::from_secret(&[1; 64]),
        Algorithm::HS256,
        &json!({"alg": "HS256"}),
        &c,
    );
    assert_eq!(f.verifier.verify(&token).await, Err(JwtError::BadSignature));
}

#[tokio::test]
async fn hs256_only_issuer() {
    let secret = vec![9u8; 32];
    let mut cfg = IssuerConfig::new("https://hs.example", KeySource::None, vec![AUD.into()]);
    cfg.hs256_secret = Some(secret.clone());
    let verifier = Verifier::new(vec![cfg]).unwrap();
    let c = claims("https://hs.example", AUD);
    let token = sign_raw(
        &EncodingKey::from_secret(&secret),
        Algorithm::HS256,
        &json!({"alg": "HS256"}),
        &c,
    );
    assert!(verifier.verify(&token).await.is_ok());
    let token = TestKey::rsa1("rsa").sign(Algorithm::RS256, &c);
    assert_eq!(
        verifier.verify(&token).await,
        Err(JwtError::UnsupportedAlgorithm)
    );
}

#[tokio::test]
async fn algorithm_must_match_the_key() {
    let f = fixture().await;
    let c = f.claims();
    // RS256 header naming the EC key (signed with the RSA key).
    let token = f.rsa.with_kid("p256").sign(Algorithm::RS256, &c);
    assert_eq!(
        f.verifier.verify(&token).await,
        Err(JwtError::AlgorithmMismatch)
    );
    // ES256 header naming the RSA key.
    let token = f.p256.with_kid("rsa").sign(Algorithm::ES256, &c);
    assert_eq!(
        f.verifier.verify(&token).await,
        Err(JwtError::AlgorithmMismatch)
    );
    // ES384 header naming the P-256 key, and ES256 naming the P-384 key.
    let token = f.p384.with_kid("p256").sign(Algorithm::ES384, &c);
    assert_eq!(
        f.verifier.verify(&token).await,
        Err(JwtError::AlgorithmMismatch)
    );
    let token = f.p256.with_kid("p384").sign(Algorithm::ES256, &c);
    assert_eq!(
        f.verifier.verify(&token).await,
        Err(JwtError::AlgorithmMismatch)
    );
    // EdDSA naming the RSA key.
    let token = f.ed.with_kid("rsa").sign(Algorithm::EdDSA, &c);
    assert_eq!(
        f.verifier.verify(&token).await,
        Err(JwtError::AlgorithmMismatch)
    );
    // HS256 naming the RSA key, with a secret configured elsewhere: see the confusion test.
}

#[tokio::test]
async fn jwk_alg_restricts_the_key() {
    let mut rsa = TestKey::rsa1("rsa");
    rsa.jwk["alg"] = json!("RS256");
    let server = Server::start(jwks(&[&rsa])).await;
    let verifier = Verifier::new(vec![config(&server)]).unwrap();
    let c = claims(&server.base, AUD);
    assert!(verifier
        .verify(&rsa.sign(Algorithm::RS256, &c))
        .await
        .is_ok());
    for alg in [Algorithm::RS512, Algorithm::PS256] {
        assert_eq!(
            verifier.verify(&rsa.sign(alg, &c)).await,
            Err(JwtError::AlgorithmMismatch),
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn key_carrying_and_critical_headers_are_refused() {
    let f = fixture().await;
    let c = f.claims();
    let jwks_url = f.server.jwks_url();
    let cases = [
        (
            "jku",
            json!({"alg": "RS256", "kid": "rsa", "jku": "https://evil.example/jwks.json"}),
        ),
        // Even the configured JWKS URL: the key source is the configuration, not the token.
        (
            "jku",
            json!({"alg": "RS256", "kid": "rsa", "jku": jwks_url}),
        ),
        (
            "x5u",
            json!({"alg": "RS256", "kid": "rsa", "x5u": "https://evil.example/cert.pem"}),
        ),
        (
            "jwk",
            json!({"alg": "RS256", "kid": "rsa", "jwk": f.rsa.jwk}),
        ),
        (
            "x5c",
            json!({"alg": "RS256", "kid": "rsa", "x5c": ["MIIB"]}),
        ),
        (
            "crit",
            json!({"alg": "RS256", "kid": "rsa", "crit": ["exp"], "exp": 1}),
        ),
        (
            "crit",
            json!({"alg": "RS256", "kid": "rsa", "crit": ["b64"], "b64": false}),
        ),
        ("crit", json!({"alg": "RS256", "kid": "rsa", "crit": []})),
    ];
    for (name, header) in cases {
        // Correctly signed by the real key: the header alone is the reason.
        let token = f.rsa.sign_raw(Algorithm::RS256, &header, &c);
        assert_eq!(
            f.verifier.verify(&token).await,
            Err(JwtError::ForbiddenHeader(name)),
            "{header}"
        );
    }
    // Harmless header parameters are fine.
    let header = json!({"alg": "RS256", "kid": "rsa", "typ": "at+jwt", "x5t": "abc", "cty": "x"});
    assert!(f
        .verifier
        .verify(&f.rsa.sign_raw(Algorithm::RS256, &header, &c))
        .await
        .is_ok());
}

#[tokio::test]
async fn tampering_is_detected() {
    let f = fixture().await;
    let c = f.claims();
    let token = f.rsa.sign(Algorithm::RS256, &c);
    let parts: Vec<&str> = token.split('.').collect();

    // Another payload under the original signature.
    let mut forged = c.clone();
    forged["sub"] = json!("admin");
    let other = f.rsa.sign(Algorithm::RS256, &forged);
    let other_payload = other.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
    assert_eq!(
        f.verifier.verify(&spliced).await,
        Err(JwtError::BadSignature)
    );

    // Signed by another RSA key under the same kid.
    let impostor = TestKey::rsa2("rsa");
    assert_eq!(
        f.verifier
            .verify(&impostor.sign(Algorithm::RS256, &c))
            .await,
        Err(JwtError::BadSignature)
    );
    // A flipped signature bit, an empty signature, a signature for another algorithm.
    let mut sig = parts[2].as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(sig).unwrap()
    );
    assert_eq!(
        f.verifier.verify(&flipped).await,
        Err(JwtError::BadSignature)
    );
    let empty = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(f.verifier.verify(&empty).await, Err(JwtError::BadSignature));
    let ps = f.rsa.sign(Algorithm::PS256, &c);
    let mixed = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        ps.split('.').nth(2).unwrap()
    );
    assert_eq!(f.verifier.verify(&mixed).await, Err(JwtError::BadSignature));
    // ECDSA and EdDSA too.
    let es = f.p256.sign(Algorithm::ES256, &c);
    let es_forged = f.p256.sign(Algorithm::ES256, &forged);
    let p: Vec<&str> = es.split('.').collect();
    let spliced = format!("{}.{}.{}", p[0], es_forged.split('.').nth(1).unwrap(), p[2]);
    assert_eq!(
        f.verifier.verify(&spliced).await,
        Err(JwtError::BadSignature)
    );
    let ed_impostor = TestKey::ed25519("ed");
    assert_eq!(
        f.verifier
            .verify(&ed_impostor.sign(Algorithm::EdDSA, &c))
            .await,
        Err(JwtError::BadSignature)
    );
}

#[tokio::test]
async fn malformed_tokens() {
    let f = fixture().await;
    let c = f.claims();
    let good = f.rsa.sign(Algorithm::RS256, &c);
    let p: Vec<&str> = good.split('.').collect();
    let cases = [
        String::new(),
        "abc".to_owned(),
        format!("{}.{}", p[0], p[1]),
        format!("{good}.extra"),
        format!("{}=.{}.{}", p[0], p[1], p[2]),
        format!("{}.{}.{}", "!!!", p[1], p[2]),
        format!("{}.{}.{}", p[0], "e30=", p[2]),
        format!("{}.{}.{}", p[0], common::keys::b64(b"[1,2]"), p[2]),
        format!("{}.{}.{}", common::keys::b64(b"\"RS256\""), p[1], p[2]),
        format!("{}.{}.{}", common::keys::b64(b"{not json"), p[1], p[2]),
        format!("{}.{}.{}!", p[0], p[1], p[2]),
        format!("{}.{}.{}", p[0], p[1], "a".repeat(MAX_TOKEN_BYTES)),
        format!("Bearer {good}"),
    ];
    for token in &cases {
        let r = f.verifier.verify(token).await;
        assert!(
            matches!(r, Err(JwtError::Malformed(_))),
            "{token:.60}: {r:?}"
        );
    }
    // Display never echoes token contents.
    for token in &cases {
        if let Err(e) = f.verifier.verify(token).await {
            let shown = e.to_string();
            assert!(!shown.contains(p[1]) && !shown.contains(p[2]), "{shown}");
        }
    }
}

#[tokio::test]
async fn tokens_without_kid() {
    // A single key fits: it is used.
    let ed = TestKey::ed25519("only");
    let server = Server::start(jwks(&[&ed])).await;
    let verifier = Verifier::new(vec![config(&server)]).unwrap();
    let c = claims(&server.base, AUD);
    let token = ed.sign_raw(Algorithm::EdDSA, &json!({"alg": "EdDSA"}), &c);
    assert!(verifier.verify(&token).await.is_ok());

    // Several keys fit: refused rather than tried one by one.
    let f = fixture().await;
    let c = f.claims();
    let second_rsa = TestKey::rsa2("rsa2");
    f.server.set_jwks(jwks(&[&f.rsa, &second_rsa, &f.p256]));
    let token = f
        .rsa
        .sign_raw(Algorithm::RS256, &json!({"alg": "RS256"}), &c);
    assert_eq!(f.verifier.verify(&token).await, Err(JwtError::UnknownKey));
    // While only one EC key fits ES256.
    let token = f
        .p256
        .sign_raw(Algorithm::ES256, &json!({"alg": "ES256"}), &c);
    assert!(f.verifier.verify(&token).await.is_ok());
    // A kid that is not a string.
    let token = f
        .p256
        .sign_raw(Algorithm::ES256, &json!({"alg": "ES256", "kid": 1}), &c);
    assert!(matches!(
        f.verifier.verify(&token).await,
        Err(JwtError::Malformed(_))
    ));
}
