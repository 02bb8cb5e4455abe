//! Test keys (RSA from the committed PEMs in `tests/data`, EC and Ed25519 generated with
//! ring), their JWKs, and token signing with `jsonwebtoken`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs1KeyDer;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const RSA1_PEM: &str = include_str!("../data/rsa1.pem");
pub const RSA1_PUB_PEM: &str = include_str!("../data/rsa1.pub.pem");
pub const RSA2_PEM: &str = include_str!("../data/rsa2.pem");

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A private key that signs tokens, with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    /// The public JWK (with `kid`, without `alg`).
    pub jwk: Value,
}

impl TestKey {
    pub fn rsa(kid: &str, pem: &str) -> TestKey {
        let der = PrivatePkcs1KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let pair = RsaKeyPair::from_der(der.secret_pkcs1_der()).unwrap();
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        TestKey {
            kid: kid.into(),
            encoding: EncodingKey::from_rsa_der(der.secret_pkcs1_der()),
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&public.n), "e": b64(&public.e)}),
        }
    }

    pub fn rsa1(kid: &str) -> TestKey {
        TestKey::rsa(kid, RSA1_PEM)
    }

    pub fn rsa2(kid: &str) -> TestKey {
        TestKey::rsa(kid, RSA2_PEM)
    }

    pub fn p256(kid: &str) -> TestKey {
        Self::ec(kid, &ECDSA_P256_SHA256_FIXED_SIGNING, "P-256")
    }

    pub fn p384(kid: &str) -> TestKey {
        Self::ec(kid, &ECDSA_P384_SHA384_FIXED_SIGNING, "P-384")
    }

    fn ec(kid: &str, alg: &'static ring::signature::EcdsaSigningAlgorithm, crv: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let half = (point.len() - 1) / 2;
        TestKey {
            kid: kid.into(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "kid": kid, "crv": crv,
                "x": b64(&point[1..1 + half]), "y": b64(&point[1 + half..]),
            }),
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        TestKey {
            kid: kid.into(),
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(pair.public_key().as_ref())}),
        }
    }

    /// The same key under another `kid`.
    pub fn with_kid(&self, kid: &str) -> TestKey {
        let mut k = self.clone();
        k.kid = kid.into();
        k.jwk["kid"] = json!(kid);
        k
    }

    /// A standard token: header `{alg, kid, typ: JWT}`.
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A token with an arbitrary header, signed with this key.
    pub fn sign_raw(&self, alg: Algorithm, header: &Value, claims: &Value) -> String {
        sign_raw(&self.encoding, alg, header, claims)
    }
}

/// `b64(header).b64(claims).signature` with any header.
pub fn sign_raw(key: &EncodingKey, alg: Algorithm, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

/// A token with no signature at all (`alg` as given, empty third part).
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A JWK Set of the given keys.
pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// The fixed "now" of the claim tests: 2025-01-01T00:00:00Z.
pub const NOW: u64 = 1_735_689_600;

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Claims valid at `NOW` (and at the real current time until 2100) for `iss` and `aud`.
pub fn claims(iss: &str, aud: &str) -> Value {
    json!({
        "iss": iss,
        "aud": aud,
        "sub": "user-1",
        "iat": NOW - 60,
        "exp": 4_102_444_800u64,
    })
}
