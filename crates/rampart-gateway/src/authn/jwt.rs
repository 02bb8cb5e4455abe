//! `jwt` authorizers: OAuth 2.0 / OIDC bearer tokens (Cognito user pools and any OIDC
//! provider), verified by `rampart-jwt` against the issuer's keys (discovery, JWKS URL or
//! static keys; cached, refreshed on an unknown `kid` at most once a minute, the last
//! good keys kept when the endpoint fails).
//!
//! Missing or invalid token: 401 `Unauthorized`. Valid token without a route's required
//! scopes: 403 `Forbidden`. Keys never obtained (the JWKS endpoint down since start): 500
//! `AUTHORIZER_FAILURE`, never an allow. The claims become `jwt:<claim>` condition keys
//! for policies, and can be sent upstream as configured headers.

use rampart_jwt::{Claims, JwtError, Verifier};

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub struct JwtAuthorizer {
    pub name: String,
    pub verifier: Verifier,
    /// The header carrying the token (`Bearer ` prefix optional).
    pub header: http::HeaderName,
    /// Upstream header ← claim.
    pub claim_headers: Vec<(http::HeaderName, String)>,
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl JwtAuthorizer {
    pub fn credentials_present(&self, parts: &http::request::Parts) -> bool {
        parts.headers.contains_key(&self.header)
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
    let claims = match a.verifier.verify(token).await {
        Ok(c) => c,
        Err(JwtError::KeysUnavailable) => {
            return Err(GatewayError::AuthorizerFailure {
                detail: format!("authorizer {}: the issuer's keys are unavailable", a.name),
            })
        }
        Err(e) => return Err(unauthorized(e.to_string())),
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
