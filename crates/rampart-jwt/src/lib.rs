//! JWT / OpenID Connect access and ID token verification for Rampart's authenticate stage,
//! compatible with Amazon Cognito user pools (and API Gateway's JWT authorizers).
//!
//! # Overview
//!
//! * Configure one [`IssuerConfig`] per trusted issuer: its exact `iss`, where its keys
//!   come from ([`KeySource`]: an OIDC discovery document, a JWKS URL, static JWK JSON, or
//!   none when only an `HS256` shared secret is used), the accepted audiences, optionally
//!   the required Cognito `token_use`, a leeway, and fetch limits.
//! * Build a [`Verifier`] from them ([`Verifier::new`] validates everything and never does
//!   I/O), share it (it is a cheap `Clone` around an `Arc`, `Send + Sync`), and call
//!   [`Verifier::verify`] for each bearer token. The result is the token's [`Claims`];
//!   [`has_scopes`] checks OAuth scopes.
//!
//! # What is checked, in order
//!
//! 1. The token is a compact JWS of at most [`MAX_TOKEN_BYTES`] bytes whose header and
//!    payload are base64url (unpadded) JSON objects.
//! 2. The header has no `jku`, `x5u`, `jwk` or `x5c` (keys only ever come from the
//!    configuration) and no `crit` (no extension is understood) → [`JwtError::ForbiddenHeader`].
//! 3. `alg` is one of `RS256/384/512`, `PS256/384/512`, `ES256`, `ES384`, `EdDSA`, or
//!    `HS256` for an issuer with a shared secret; `none` and everything else is
//!    [`JwtError::UnsupportedAlgorithm`]. `HS256` is verified against the shared secret only,
//!    never against a public key (the RS256→HS256 confusion attack).
//! 4. `iss` selects the issuer by exact string comparison ([`JwtError::WrongIssuer`]).
//! 5. The key is the issuer's key with the header's `kid` (without `kid`: the only key that
//!    fits `alg`). The key's type, curve and own `alg` (when the JWK has one) must fit the
//!    header's `alg` ([`JwtError::AlgorithmMismatch`]). An unknown `kid` triggers at most
//!    one JWKS refresh per [`IssuerConfig::refresh_interval`], then [`JwtError::UnknownKey`].
//! 6. The signature ([`JwtError::BadSignature`]), then `exp` (required,
//!    [`JwtError::Expired`]), `nbf` and `iat` (optional, [`JwtError::NotYetValid`]) with the
//!    issuer's leeway (default 0 s).
//! 7. `aud` (a string or an array) must contain a configured audience; a token without `aud`
//!    (a Cognito access token) is accepted when its `client_id` is a configured audience
//!    ([`JwtError::WrongAudience`]).
//! 8. When configured, `token_use` must be present and equal ([`JwtError::WrongTokenUse`]).
//!
//! # Keys
//!
//! Remote keys are fetched over HTTPS (HTTP/1.1, rustls with the ring provider; the Mozilla
//! roots or [`IssuerConfig::root_certificates_pem`]), never following redirects, within
//! [`IssuerConfig::fetch_timeout`] (default 5 s) per document and
//! [`IssuerConfig::max_document_bytes`] (default 256 KiB). Keys are fetched lazily, on the
//! first token of the issuer (or by [`Verifier::prefetch`]), cached, and refetched when a
//! token names an unknown `kid` (at most once per refresh interval, default 60 s; the
//! initial load does not count, so a key published right after it is still picked up) or,
//! in the background, when the cache is older than [`IssuerConfig::max_key_age`] (default
//! 1 h). Concurrent requests share one fetch; only a request with an unknown `kid` (or the
//! first ones, before any keys) waits for it. A
//! failed fetch (error, non-200 status, timeout, too big, not a JWK Set, no usable key) keeps
//! the last good keys; when no keys were ever fetched, tokens of that issuer fail closed with
//! [`JwtError::KeysUnavailable`]. Fetch failures are logged with `tracing` (`warn` with
//! cached keys, `error` without). JWKs for encryption, symmetric (`oct`) keys, RSA keys
//! under 2048 bits and unsupported curves are ignored.
//!
//! Error messages ([`JwtError`], [`ConfigError`]) and logs never contain tokens, secrets or
//! key material.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rampart_jwt::{has_scopes, IssuerConfig, KeySource, TokenUse, Verifier};
//!
//! let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
//! let mut config = IssuerConfig::new(
//!     issuer,
//!     KeySource::JwksUrl(format!("{issuer}/.well-known/jwks.json")),
//!     vec!["3n4b5urk1ft4fl3mg5e62d9ado".to_owned()], // the app client id
//! );
//! config.token_use = Some(TokenUse::Access);
//! let verifier = Verifier::new(vec![config])?;
//!
//! let claims = verifier.verify("eyJ...").await?;
//! let allowed = has_scopes(&claims, &["orders/read".to_owned()]);
//! # let _ = allowed; Ok(()) }
//! ```

mod claims;
mod config;
mod error;
mod fetch;
mod keys;
mod remote;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

pub use claims::{has_scopes, Claims};
pub use config::{
    IssuerConfig, KeySource, TokenUse, DEFAULT_FETCH_TIMEOUT, DEFAULT_LEEWAY,
    DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_KEY_AGE, DEFAULT_REFRESH_INTERVAL,
    MIN_HS256_SECRET_BYTES,
};
pub use error::{ConfigError, JwtError};

use fetch::{Fetcher, KeyUrl};
use keys::{KeySet, Lookup};
use remote::{Remote, RemoteSource};

/// Longest token accepted: 16 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Header parameters that would let the token choose its own key.
const KEY_HEADERS: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];

/// Verifies tokens from a fixed set of issuers. Cheap to clone (an `Arc` inside); clones
/// share the key caches.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<Issuer>,
}

struct Issuer {
    issuer: String,
    audiences: Vec<String>,
    token_use: Option<TokenUse>,
    leeway_secs: f64,
    secret: Option<DecodingKey>,
    keys: Keys,
}

enum Keys {
    None,
    Static(Arc<KeySet>),
    Remote(Arc<Remote>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| i.issuer.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Verifier {
    /// Check the configuration and build the verifier. No I/O: remote keys are fetched on
    /// first use (or by [`Verifier::prefetch`]).
    pub fn new(issuers: Vec<IssuerConfig>) -> Result<Verifier, ConfigError> {
        if issuers.is_empty() {
            return Err(ConfigError::new("", "no issuer configured"));
        }
        let mut seen = HashSet::new();
        let mut built = Vec::with_capacity(issuers.len());
        for cfg in issuers {
            if !seen.insert(cfg.issuer.clone()) {
                return Err(ConfigError::new(&cfg.issuer, "issuer configured twice"));
            }
            built.push(build_issuer(cfg)?);
        }
        Ok(Verifier {
            inner: Arc::new(Inner { issuers: built }),
        })
    }

    /// Verify a token (without any `Bearer ` prefix) now.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        self.verify_at(token, SystemTime::now()).await
    }

    /// Verify a token as if the time were `now` (for `exp` and `nbf` only; the key cache uses
    /// the real monotonic clock).
    pub async fn verify_at(&self, token: &str, now: SystemTime) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed("token is too long"));
        }
        let mut parts = token.split('.');
        let (h64, p64, s64) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s), None) => (h, p, s),
            _ => return Err(JwtError::Malformed("not a compact JWS (three parts)")),
        };
        let header = decode_object(h64)
            .ok_or(JwtError::Malformed("header is not a base64url JSON object"))?;
        for name in KEY_HEADERS {
            if header.contains_key(name) {
                return Err(JwtError::ForbiddenHeader(name));
            }
        }
        if header.contains_key("crit") {
            return Err(JwtError::ForbiddenHeader("crit"));
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) => algorithm(a).ok_or(JwtError::UnsupportedAlgorithm)?,
            Some(_) => return Err(JwtError::Malformed("alg is not a string")),
            None => return Err(JwtError::Malformed("no alg")),
        };
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(JwtError::Malformed("kid is not a string")),
        };
        let payload = decode_object(p64).ok_or(JwtError::Malformed(
            "payload is not a base64url JSON object",
        ))?;
        let iss = match payload.get("iss") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(JwtError::Malformed("iss is not a string")),
            None => return Err(JwtError::MissingClaim("iss")),
        };
        let issuer = self
            .inner
            .issuers
            .iter()
            .find(|i| i.issuer == iss)
            .ok_or(JwtError::WrongIssuer)?;

        // The key. `remote_set` keeps a fetched key set alive while it is used.
        let remote_set: Arc<KeySet>;
        let key: &DecodingKey = if alg == Algorithm::HS256 {
            issuer
                .secret
                .as_ref()
                .ok_or(JwtError::UnsupportedAlgorithm)?
        } else {
            let (set, i) = match &issuer.keys {
                Keys::None => return Err(JwtError::UnsupportedAlgorithm),
                Keys::Static(set) => match set.lookup(kid, alg) {
                    Lookup::Found(i) => (Arc::clone(set), i),
                    Lookup::Mismatch => return Err(JwtError::AlgorithmMismatch),
                    Lookup::NotFound | Lookup::Ambiguous => return Err(JwtError::UnknownKey),
                },
                Keys::Remote(remote) => remote.key_for(kid, alg).await?,
            };
            remote_set = set;
            &remote_set.keys.get(i).ok_or(JwtError::UnknownKey)?.decoding
        };
        let signing_input = &token[..h64.len() + 1 + p64.len()];
        match jsonwebtoken::crypto::verify(s64, signing_input.as_bytes(), key, alg) {
            Ok(true) => {}
            Ok(false) => return Err(JwtError::BadSignature),
            Err(_) => return Err(JwtError::Malformed("signature is not base64url")),
        }

        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(_) => 0.0,
        };
        let exp = match payload.get("exp") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NEG_INFINITY),
            Some(_) => return Err(JwtError::Malformed("exp is not a number")),
            None => return Err(JwtError::MissingClaim("exp")),
        };
        if now >= exp + issuer.leeway_secs {
            return Err(JwtError::Expired);
        }
        // Not valid before `nbf`, nor issued in the future (API Gateway refuses both).
        for (claim, malformed) in [
            ("nbf", "nbf is not a number"),
            ("iat", "iat is not a number"),
        ] {
            match payload.get(claim) {
                Some(Value::Number(n))
                    if now + issuer.leeway_secs < n.as_f64().unwrap_or(f64::INFINITY) =>
                {
                    return Err(JwtError::NotYetValid)
                }
                None | Some(Value::Number(_)) => {}
                Some(_) => return Err(JwtError::Malformed(malformed)),
            }
        }

        let accepted = |a: &str| issuer.audiences.iter().any(|x| x == a);
        let audience_ok = match payload.get("aud") {
            Some(Value::String(a)) => accepted(a),
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
            Some(_) => return Err(JwtError::Malformed("aud is not a string or an array")),
            None => payload
                .get("client_id")
                .and_then(Value::as_str)
                .is_some_and(accepted),
        };
        if !audience_ok {
            return Err(JwtError::WrongAudience);
        }

        if let Some(required) = issuer.token_use {
            if payload.get("token_use").and_then(Value::as_str) != Some(required.as_str()) {
                return Err(JwtError::WrongTokenUse);
            }
        }
        Ok(Claims::new(payload))
    }

    /// Fetch the keys of every remote issuer that has none cached yet (at most once per
    /// refresh interval, like any fetch). Optional: call it at start-up to surface an
    /// unreachable identity provider early. [`JwtError::KeysUnavailable`] when some issuer
    /// still has no keys (the verifier remains usable and retries later).
    pub async fn prefetch(&self) -> Result<(), JwtError> {
        let mut ok = true;
        for issuer in &self.inner.issuers {
            if let Keys::Remote(remote) = &issuer.keys {
                ok &= remote.prefetch().await;
            }
        }
        if ok {
            Ok(())
        } else {
            Err(JwtError::KeysUnavailable)
        }
    }
}

/// The algorithms accepted in a header (`HS256` is further restricted per issuer).
fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        "HS256" => Algorithm::HS256,
        _ => return None,
    })
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn build_issuer(cfg: IssuerConfig) -> Result<Issuer, ConfigError> {
    let name = cfg.issuer.as_str();
    let err = |m: String| ConfigError::new(name, m);
    if cfg.issuer.is_empty() {
        return Err(err("issuer is empty".into()));
    }
    if cfg.audiences.is_empty() {
        return Err(err("no audience configured".into()));
    }
    if cfg.audiences.iter().any(String::is_empty) {
        return Err(err("an audience is empty".into()));
    }
    if let Some(s) = &cfg.hs256_secret {
        if s.len() < MIN_HS256_SECRET_BYTES {
            return Err(err(format!(
                "hs256_secret is shorter than {MIN_HS256_SECRET_BYTES} bytes"
            )));
        }
    }
    let remote = |source: RemoteSource| -> Result<Keys, ConfigError> {
        if cfg.fetch_timeout.is_zero() {
            return Err(err("fetch_timeout is zero".into()));
        }
        if cfg.max_document_bytes == 0 {
            return Err(err("max_document_bytes is zero".into()));
        }
        let tls = fetch::tls_config(cfg.root_certificates_pem.as_deref()).map_err(err)?;
        let fetcher = Fetcher {
            tls,
            timeout: cfg.fetch_timeout,
            max_bytes: cfg.max_document_bytes,
            allow_http: cfg.dangerous_allow_http,
        };
        Ok(Keys::Remote(Arc::new(Remote::new(
            cfg.issuer.clone(),
            source,
            fetcher,
            cfg.refresh_interval,
            cfg.max_key_age,
        ))))
    };
    let keys = match &cfg.keys {
        KeySource::Discovery(url) => remote(RemoteSource::Discovery(
            KeyUrl::parse(url, cfg.dangerous_allow_http).map_err(err)?,
        ))?,
        KeySource::JwksUrl(url) => remote(RemoteSource::Jwks(
            KeyUrl::parse(url, cfg.dangerous_allow_http).map_err(err)?,
        ))?,
        KeySource::Static(json) => {
            let (set, _) =
                keys::parse_jwks(json.as_bytes()).map_err(|e| err(format!("static keys: {e}")))?;
            if set.len() == 0 {
                return Err(err("static keys: no usable signing key".into()));
            }
            Keys::Static(Arc::new(set))
        }
        KeySource::None => {
            if cfg.hs256_secret.is_none() {
                return Err(err("KeySource::None requires hs256_secret".into()));
            }
            Keys::None
        }
    };
    Ok(Issuer {
        issuer: cfg.issuer.clone(),
        audiences: cfg.audiences.clone(),
        token_use: cfg.token_use,
        leeway_secs: cfg.leeway.as_secs_f64(),
        secret: cfg.hs256_secret.as_deref().map(DecodingKey::from_secret),
        keys,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Verifier>();
        check::<JwtError>();
    }

    fn static_cfg() -> IssuerConfig {
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([7u8; 32])
        });
        IssuerConfig::new(
            "https://i",
            KeySource::Static(jwk.to_string()),
            vec!["a".into()],
        )
    }

    #[test]
    fn config_errors() {
        let bad = |f: &dyn Fn(&mut IssuerConfig)| {
            let mut c = static_cfg();
            f(&mut c);
            Verifier::new(vec![c]).err()
        };
        assert!(bad(&|_| {}).is_none());
        assert!(Verifier::new(vec![]).is_err());
        assert!(Verifier::new(vec![static_cfg(), static_cfg()]).is_err());
        assert!(bad(&|c| c.audiences.clear()).is_some());
        assert!(bad(&|c| c.audiences.push(String::new())).is_some());
        assert!(bad(&|c| c.issuer.clear()).is_some());
        assert!(bad(&|c| c.hs256_secret = Some(vec![1; 31])).is_some());
        assert!(bad(&|c| c.hs256_secret = Some(vec![1; 32])).is_none());
        assert!(bad(&|c| c.keys = KeySource::None).is_some());
        assert!(bad(&|c| {
            c.keys = KeySource::None;
            c.hs256_secret = Some(vec![1; 32]);
        })
        .is_none());
        assert!(bad(&|c| c.keys = KeySource::Static("{\"keys\":[]}".into())).is_some());
        assert!(bad(&|c| c.keys = KeySource::JwksUrl("http://idp.example/j".into())).is_some());
        assert!(bad(&|c| {
            c.keys = KeySource::JwksUrl("http://idp.example/j".into());
            c.dangerous_allow_http = true;
        })
        .is_some());
        assert!(bad(&|c| {
            c.keys = KeySource::JwksUrl("http://127.0.0.1:1/j".into());
            c.dangerous_allow_http = true;
        })
        .is_none());
        assert!(bad(&|c| {
            c.keys = KeySource::discovery("https://idp.example/");
            c.root_certificates_pem = Some(b"nothing".to_vec());
        })
        .is_some());
        assert!(bad(&|c| {
            c.keys = KeySource::JwksUrl("https://idp.example/j".into());
            c.fetch_timeout = std::time::Duration::ZERO;
        })
        .is_some());
    }

    #[test]
    fn debug_redacts_secret() {
        let mut c = static_cfg();
        c.hs256_secret = Some(b"super-secret-super-secret-super-secret".to_vec());
        let s = format!("{c:?}");
        assert!(!s.contains("super-secret"), "{s}");
        assert!(!s.contains("kty"), "{s}");
        assert_eq!(
            KeySource::discovery("https://idp.example/"),
            KeySource::Discovery("https://idp.example/.well-known/openid-configuration".into())
        );
    }
}
