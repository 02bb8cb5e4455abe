//! `aws_iam` routes: SigV4 (`rampart-sigv4`) against the identity store.
//!
//! The body is read whole (up to `max_body_bytes`) because the signature covers its
//! SHA-256, as API Gateway reads it; everything cheap (parsing, the access key, the scope)
//! is checked before. Service `execute-api`, the region of `server.aws.region`, five
//! minutes of clock skew, signatures compared in constant time. Clients get API Gateway's
//! messages and never the expected signature; the reason goes to the log.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_sigv4::{Incoming as Signed, SigError};

use crate::body::{client_body_error, read_limited, RequestBody};
use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub const MAX_SKEW: Duration = Duration::from_secs(300);

pub async fn authenticate(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: &http::request::Parts,
    body: RequestBody,
) -> Result<RequestBody, GatewayError> {
    // HTTP/2 carries the host as `:authority`.
    let authority = parts.uri.authority().map(|a| a.as_str().to_string());
    let mut headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(a) = &authority {
            headers.push(("host", a.as_bytes()));
        }
    }
    let mut incoming = Signed {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
        payload_sha256: None,
    };
    let auth = rampart_sigv4::parse(&incoming).map_err(|e| match e {
        SigError::Missing => GatewayError::MissingAuthenticationToken,
        other => invalid(None, format!("{other}")),
    })?;
    let invalid_token = || {
        invalid(
            Some("The security token included in the request is invalid.".into()),
            format!(
                "unknown, disabled or mismatched credentials {}",
                auth.access_key_id()
            ),
        )
    };
    // Long-term keys of the identity store, or temporary credentials (with their token).
    // The secret is borrowed, never copied.
    let temporary: Arc<crate::authn::identity::Temporary>;
    let (secret, identity, principal, signing_cache) =
        match cfg.identities.lookup(auth.access_key_id()) {
            Some(key) => {
                if auth.session_token().is_some() {
                    // A long-term key with a session token is not a valid pair.
                    return Err(invalid_token());
                }
                (
                    key.secret.expose(),
                    key.identity.clone(),
                    key.identity.arn.clone(),
                    Some(&key.signing),
                )
            }
            None => {
                let Some(t) = cfg.temporary.lookup(auth.access_key_id()) else {
                    return Err(invalid_token());
                };
                match auth.session_token() {
                    Some(token) if t.token_matches(token) => {}
                    _ => return Err(invalid_token()),
                }
                if SystemTime::now() >= t.expires {
                    return Err(GatewayError::ExpiredToken {
                        detail: format!("temporary credentials {} expired", auth.access_key_id()),
                    });
                }
                // The role as the configuration in force defines it.
                let Some(role) = cfg.identities.by_arn(&t.role_arn) else {
                    return Err(invalid_token());
                };
                temporary = t;
                (
                    temporary.secret.expose(),
                    role.clone(),
                    temporary.assumed_role_arn.clone(),
                    None,
                )
            }
        };
    let opts = &cfg.sigv4;
    let bytes = match body {
        RequestBody::Buffered(b) => Ok(b),
        RequestBody::Streaming(body) => {
            read_limited(body, cfg.limits.max_body_bytes, cfg.limits.body_pace()).await
        }
    }
    .map_err(|e| {
        client_body_error(&*e).unwrap_or_else(|| invalid(None, format!("reading the body: {e}")))
    })?;
    incoming.payload_sha256 = Some(rampart_sigv4::sha256(&bytes));
    let now = SystemTime::now();
    // The derived key of a long-term key's current scope, kept once a request verified.
    let scope = auth.credential_scope();
    let cached = signing_cache.and_then(|m| {
        m.lock()
            .ok()
            .and_then(|g| g.as_ref().filter(|k| k.scope() == scope).cloned())
    });
    let fresh = cached.is_none();
    let signing = cached.unwrap_or_else(|| rampart_sigv4::SigningKey::derive(secret, &auth));
    let result = rampart_sigv4::verify_with_key(&incoming, &auth, &signing, now, opts);
    if result.is_ok() && fresh {
        if let Some(Ok(mut g)) = signing_cache.map(|m| m.lock()) {
            *g = Some(signing);
        }
    }
    if let Err(e) = result {
        let message = match e {
            SigError::ClockSkew => Some(skew_message(auth.amz_date(), auth.timestamp(), now)),
            SigError::Expired => Some(format!(
                "Signature expired: {} + {} seconds is now earlier than {}",
                auth.amz_date(),
                auth.expires().map_or(0, |d| d.as_secs()),
                amz_date(now)
            )),
            SigError::RegionNotAllowed => {
                Some("Credential should be scoped to a valid region.".into())
            }
            SigError::ServiceMismatch => {
                Some("Credential should be scoped to correct service: 'execute-api'.".into())
            }
            _ => None,
        };
        if e == SigError::SignatureMismatch {
            tracing::debug!(
                request_id = %ctx.request_id,
                canonical_request = %rampart_sigv4::debug_canonical_request(&incoming, &auth, opts),
                "SigV4 mismatch: the canonical request the gateway computed"
            );
        }
        return Err(invalid(
            message,
            format!(
                "{e} (access key {}, {:?} form)",
                auth.access_key_id(),
                auth.form()
            ),
        ));
    }
    tracing::debug!(request_id = %ctx.request_id, principal = %principal, form = ?auth.form(), "SigV4 verified");
    ctx.principal = Some(principal);
    ctx.identity_policies = identity.policies.clone();
    ctx.identity = Some(identity);
    ctx.auth_type = rampart_iam::AuthType::Iam;
    Ok(RequestBody::Buffered(bytes))
}

fn invalid(message: Option<String>, detail: String) -> GatewayError {
    GatewayError::InvalidSignature { message, detail }
}

/// `YYYYMMDDTHHMMSSZ`.
fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    crate::record::access_log::rfc3339(secs, None).replace(['-', ':'], "")
}

/// API Gateway's wording for a request outside the clock skew.
fn skew_message(amz: &str, signed: SystemTime, now: SystemTime) -> String {
    if signed < now {
        format!(
            "Signature expired: {amz} is now earlier than {} ({} - 5 min.)",
            amz_date(now - MAX_SKEW),
            amz_date(now)
        )
    } else {
        format!(
            "Signature not yet current: {amz} is still later than {} ({} + 5 min.)",
            amz_date(now + MAX_SKEW),
            amz_date(now)
        )
    }
}
