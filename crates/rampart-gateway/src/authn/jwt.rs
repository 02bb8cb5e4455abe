//! `jwt` authorizers: OAuth 2.0 / OIDC bearer tokens (Cognito user pools and any OIDC
//! provider), verified by `rampart-jwt` against the issuer's keys (discovery, JWKS URL or
//! static keys; cached, refreshed on an unknown `kid` at most once a minute, the last
//! good keys kept when the endpoint fails).
//!
//! Missing or invalid token: 401 `Unauthorized`. Valid token without a route's required
//! scopes: 403 `Forbidden`. Keys never obtained (the JWKS endpoint down since start): 500
//! `AUTHORIZER_FAILURE`, never an allow. The claims become `jwt:<claim>` condition keys
//! for policies, and can be sent upstream as configured headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart_jwt::{Claims, JwtError, Verifier};
use sha2::Digest;

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub struct JwtAuthorizer {
    pub name: String,
    pub verifier: Verifier,
    /// The header carrying the token (`Bearer ` prefix optional).
    pub header: http::HeaderName,
    /// Upstream header ← claim.
    pub claim_headers: Vec<(http::HeaderName, String)>,
    /// Tokens verified recently.
    pub cache: TokenCache,
}

/// Verified tokens (by SHA-256) and their claims, kept until the token expires but at
/// most [`TokenCache::MAX_AGE`] (so a key the issuer withdraws stops being trusted soon),
/// at most [`TokenCache::CAPACITY`] entries. Verifying a signature costs tens of
/// microseconds (RS256 ~29 us, ES256 ~69 us here); clients reuse a token for many calls.
#[derive(Default)]
pub struct TokenCache {
    map: Mutex<Entries>,
}

/// Token hash → claims and the instant they stop being trusted.
type Entries = HashMap<[u8; 32], (Arc<Claims>, Instant)>;

impl TokenCache {
    pub const MAX_AGE: Duration = Duration::from_secs(300);
    pub const CAPACITY: usize = 10_000;

    fn key(token: &str) -> [u8; 32] {
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    pub fn get(&self, token: &str, now: Instant) -> Option<Arc<Claims>> {
        let map = self.map.lock().ok()?;
        match map.get(&Self::key(token)) {
            Some((c, until)) if now < *until => Some(c.clone()),
            _ => None,
        }
    }

    /// Remember a verified token until its `exp` (seconds since the epoch), at most
    /// `MAX_AGE`.
    pub fn insert(&self, token: &str, claims: Arc<Claims>, now: Instant, wall: SystemTime) {
        let Some(exp) = claims.exp() else { return };
        let wall_secs = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let left = Duration::from_secs(exp.saturating_sub(wall_secs).max(0) as u64);
        let until = now + left.min(Self::MAX_AGE);
        let Ok(mut map) = self.map.lock() else { return };
        if map.len() >= Self::CAPACITY {
            map.retain(|_, (_, u)| *u > now);
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
        }
        map.insert(Self::key(token), (claims, until));
    }
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl JwtAuthorizer {
    /// A token in the header (and not a SigV4 `Authorization`, which another authorizer
    /// of the same route may be waiting for).
    pub fn credentials_present(&self, parts: &http::request::Parts) -> bool {
        parts
            .headers
            .get(&self.header)
            .is_some_and(|v| !v.as_bytes().starts_with(b"AWS4-"))
    }
}

pub async fn authenticate(
    a: &JwtAuthorizer,
    ctx: &mut RequestContext,
    parts: &http::request::Parts,
    scopes: &[String],
) -> Result<(), GatewayError> {
    let unauthorized = |detail: String| GatewayError::Unauthorized {
        detail: format!("authorizer {}: {detail}", a.name),
    };
    let mut values = parts.headers.get_all(&a.header).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(unauthorized("no token, or more than one".into()));
    };
    let text = value
        .to_str()
        .map_err(|_| unauthorized("token is not text".into()))?;
    let token = match text.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        Some(_) => return Err(unauthorized("not a bearer token".into())),
        None => text.trim(),
    };
    let now = Instant::now();
    let claims = match a.cache.get(token, now) {
        Some(c) => c,
        None => match a.verifier.verify(token).await {
            Ok(c) => {
                let c = Arc::new(c);
                a.cache.insert(token, c.clone(), now, SystemTime::now());
                c
            }
            Err(JwtError::KeysUnavailable) => {
                return Err(GatewayError::AuthorizerFailure {
                    detail: format!("authorizer {}: the issuer's keys are unavailable", a.name),
                })
            }
            Err(e) => return Err(unauthorized(e.to_string())),
        },
    };
    if !rampart_jwt::has_scopes(&claims, scopes) {
        return Err(GatewayError::AccessDenied {
            message: "Forbidden".into(),
        });
    }
    ctx.principal = claims.sub().map(str::to_string);
    ctx.auth_type = rampart_iam::AuthType::Cognito;
    for (header, claim) in &a.claim_headers {
        let value = claim_text(&claims, claim).and_then(|v| http::HeaderValue::from_str(&v).ok());
        ctx.upstream_headers.push((header.clone(), value));
    }
    ctx.jwt_claims = Some(claims);
    Ok(())
}

/// A claim as header text: strings as they are, arrays space-joined, others as JSON.
fn claim_text(claims: &Claims, name: &str) -> Option<String> {
    Some(match claims.get(name)? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        let mut m = serde_json::Map::new();
        m.insert("exp".into(), exp.into());
        Arc::new(Claims::new(m))
    }

    #[test]
    fn token_cache_expiry_and_bounds() {
        let c = TokenCache::default();
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        // Expires in 60 s: kept 60 s.
        c.insert("a", claims(1_000_060), t0, wall);
        assert!(c.get("a", t0 + Duration::from_secs(59)).is_some());
        assert!(c.get("a", t0 + Duration::from_secs(60)).is_none());
        assert!(c.get("b", t0).is_none(), "another token");
        // Expires in a day: kept at most MAX_AGE.
        c.insert("long", claims(1_086_400), t0, wall);
        assert!(c
            .get("long", t0 + TokenCache::MAX_AGE - Duration::from_secs(1))
            .is_some());
        assert!(c.get("long", t0 + TokenCache::MAX_AGE).is_none());
        // Already expired, or no exp: not kept.
        c.insert("old", claims(999_000), t0, wall);
        assert!(c.get("old", t0).is_none());
        c.insert("noexp", Arc::new(Claims::default()), t0, wall);
        assert!(c.get("noexp", t0).is_none());
        // Bounded.
        for i in 0..TokenCache::CAPACITY + 10 {
            c.insert(&format!("t{i}"), claims(1_000_060), t0, wall);
        }
        assert!(c.map.lock().unwrap().len() <= TokenCache::CAPACITY);
    }
}
