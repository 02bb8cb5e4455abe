//! Public keys: parsing JWK (sets) and choosing the key for a token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// What a public key can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyType {
    /// Whether `alg` can be used with a key of this type.
    fn fits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (
                KeyType::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (KeyType::P256, Algorithm::ES256)
                | (KeyType::P384, Algorithm::ES384)
                | (KeyType::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// One usable public key.
#[derive(Clone)]
pub(crate) struct PublicKey {
    pub kid: Option<String>,
    pub key_type: KeyType,
    /// The JWK's own `alg`, when it has one: then only that algorithm is accepted.
    pub alg: Option<Algorithm>,
    pub decoding: DecodingKey,
}

impl PublicKey {
    fn fits(&self, alg: Algorithm) -> bool {
        self.key_type.fits(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// The usable keys of an issuer.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    pub keys: Vec<PublicKey>,
}

/// The outcome of looking a token's key up.
pub(crate) enum Lookup {
    Found(usize),
    /// A key with the `kid` exists, but none fits the algorithm.
    Mismatch,
    /// No key with the `kid` (or, without `kid`, no key fits the algorithm).
    NotFound,
    /// No `kid` and several keys fit: refuse rather than try them all.
    Ambiguous,
}

impl KeySet {
    pub fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        match kid {
            Some(kid) => {
                let mut named = false;
                for (i, k) in self.keys.iter().enumerate() {
                    if k.kid.as_deref() == Some(kid) {
                        if k.fits(alg) {
                            return Lookup::Found(i);
                        }
                        named = true;
                    }
                }
                if named {
                    Lookup::Mismatch
                } else {
                    Lookup::NotFound
                }
            }
            None => {
                let mut fitting = self
                    .keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.fits(alg))
                    .map(|(i, _)| i);
                match (fitting.next(), fitting.next()) {
                    (Some(i), None) => Lookup::Found(i),
                    (None, _) => Lookup::NotFound,
                    (Some(_), Some(_)) => Lookup::Ambiguous,
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Parse a JWK Set (`{"keys": [...]}`) or a single JWK. Keys that cannot be used for
/// signature verification here (encryption keys, symmetric `oct` keys, unsupported curves,
/// RSA under 2048 bits, malformed) are skipped; the count of skipped keys is returned too.
/// Errors (which never quote the input) when the document is not such JSON.
pub(crate) fn parse_jwks(bytes: &[u8]) -> Result<(KeySet, usize), String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
    let entries: Vec<Value> = match doc {
        Value::Object(mut o) => match o.remove("keys") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err("\"keys\" is not an array".into()),
            None if o.contains_key("kty") => vec![Value::Object(o)],
            None => return Err("neither a JWK Set nor a JWK".into()),
        },
        _ => return Err("not a JSON object".into()),
    };
    let mut set = KeySet::default();
    let mut skipped = 0;
    for entry in entries {
        match parse_jwk(entry) {
            Some(k) => set.keys.push(k),
            None => skipped += 1,
        }
    }
    Ok((set, skipped))
}

fn parse_jwk(entry: Value) -> Option<PublicKey> {
    let jwk: Jwk = serde_json::from_value(entry).ok()?;
    if let Some(u) = &jwk.common.public_key_use {
        if *u != PublicKeyUse::Signature {
            return None;
        }
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(signature_alg(a)?),
    };
    let key_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = URL_SAFE_NO_PAD.decode(&p.n).ok()?;
            let e = URL_SAFE_NO_PAD.decode(&p.e).ok()?;
            if bit_len(&n) < 2048 || e.is_empty() {
                return None;
            }
            KeyType::Rsa
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (t, len) = match p.curve {
                EllipticCurve::P256 => (KeyType::P256, 32),
                EllipticCurve::P384 => (KeyType::P384, 48),
                _ => return None,
            };
            let x = URL_SAFE_NO_PAD.decode(&p.x).ok()?;
            let y = URL_SAFE_NO_PAD.decode(&p.y).ok()?;
            if x.len() != len || y.len() != len {
                return None;
            }
            t
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            if p.curve != EllipticCurve::Ed25519 {
                return None;
            }
            if URL_SAFE_NO_PAD.decode(&p.x).ok()?.len() != 32 {
                return None;
            }
            KeyType::Ed25519
        }
        // Symmetric keys are never taken from a key set: HS256 needs an explicit secret.
        AlgorithmParameters::OctetKey(_) => return None,
    };
    if let Some(a) = alg {
        if !key_type.fits(a) {
            return None;
        }
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some(PublicKey {
        kid: jwk.common.key_id,
        key_type,
        alg,
        decoding,
    })
}

/// The signature algorithm a JWK `alg` names, `None` for anything else.
fn signature_alg(a: KeyAlgorithm) -> Option<Algorithm> {
    Some(match a {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The bit length of a big-endian unsigned integer.
fn bit_len(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (be.len() - i) * 8 - be[i].leading_zeros() as usize,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn skips_unusable_keys() {
        let n = b64(&[0xc5; 256]);
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "r", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "small", "n": b64(&[0xc5; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ec-alg", "alg": "ES256", "n": n, "e": "AQAB"},
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": b64(&[1; 66]), "y": b64(&[1; 66])},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[1; 32])},
            {"kty": "EC", "kid": "p256", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[1; 32])},
            {"kty": "OKP", "kid": "x", "crv": "X25519", "x": b64(&[1; 32])},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(&[1; 32])},
            {"kty": "what"},
            "not an object",
        ]});
        let (set, skipped) = parse_jwks(doc.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = set.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, vec!["r", "p256", "ed"]);
        assert_eq!(skipped, 10);
    }

    #[test]
    fn single_jwk_and_errors() {
        let doc = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1; 32])});
        let (set, _) = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(b"{\"keys\": 1}").is_err());
        assert!(parse_jwks(b"{}").is_err());
        let e = parse_jwks(b"{\"keys\": [\"secret-material").err().unwrap();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn lookup_rules() {
        let n = b64(&[0xc5; 256]);
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "r", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "any", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[1; 32])},
        ]});
        let (set, _) = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert!(matches!(
            set.lookup(Some("r"), Algorithm::RS256),
            Lookup::Found(0)
        ));
        assert!(matches!(
            set.lookup(Some("r"), Algorithm::PS256),
            Lookup::Mismatch
        ));
        assert!(matches!(
            set.lookup(Some("any"), Algorithm::PS512),
            Lookup::Found(1)
        ));
        assert!(matches!(
            set.lookup(Some("e"), Algorithm::RS256),
            Lookup::Mismatch
        ));
        assert!(matches!(
            set.lookup(Some("e"), Algorithm::ES384),
            Lookup::Mismatch
        ));
        assert!(matches!(
            set.lookup(Some("e"), Algorithm::ES256),
            Lookup::Found(2)
        ));
        assert!(matches!(
            set.lookup(Some("?"), Algorithm::ES256),
            Lookup::NotFound
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::ES256),
            Lookup::Found(2)
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::RS256),
            Lookup::Ambiguous
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            Lookup::NotFound
        ));
        assert!(matches!(
            set.lookup(Some("r"), Algorithm::HS256),
            Lookup::Mismatch
        ));
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[0, 1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
    }
}
