//! Stage 4, authenticate: who is calling.
//!
//! Secure by default: every route either requires authorizers (any one of its list
//! suffices) or is declared `public: true`; the configuration is rejected otherwise.
//!
//! - `aws_iam` (built in): SigV4 by an access key of the identity store ([`identity`]),
//!   long-term or temporary; see [`sigv4`].
//! - `jwt`: OAuth 2.0 / OIDC bearer tokens ([`jwt`]).
//! - `mtls`: the connection's verified client certificate ([`mtls`]).
//! - `lambda`: API Gateway's custom authorizer contract over HTTP ([`lambda`]).
//!
//! The principal, its tags and identity policies (or a Lambda authorizer's policy) go to
//! the authorize stage, which combines them with the API's resource policy.
//!
//! Failures answer as API Gateway does, with no detail for the client (the reason goes to
//! the log and the `rampart_rejections_total` metric); the table is in
//! docs/authentication.md.

pub mod identity;
pub mod jwt;
pub mod lambda;
pub mod mtls;
pub mod sigv4;

use std::sync::Arc;

use crate::body::RequestBody;
use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;
use crate::route::Matched;

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAuth {
    /// Declared `public: true`.
    Public,
    /// One of these must accept the request.
    Require(Vec<Authorizer>),
}

#[derive(Debug, Clone)]
pub enum Authorizer {
    /// SigV4 (`AWS_IAM`).
    AwsIam,
    /// The connection's client certificate.
    Mtls(Arc<mtls::MtlsAuthorizer>),
    /// A custom (Lambda) authorizer.
    Lambda(Arc<lambda::LambdaAuthorizer>),
    /// OAuth 2.0 / OIDC bearer tokens.
    Jwt(Arc<jwt::JwtAuthorizer>),
}

impl Authorizer {
    pub fn name(&self) -> &str {
        match self {
            Authorizer::AwsIam => "aws_iam",
            Authorizer::Mtls(m) => &m.name,
            Authorizer::Lambda(l) => &l.name,
            Authorizer::Jwt(j) => &j.name,
        }
    }

    /// Did the request bring this authorizer's kind of credentials?
    fn credentials_present(&self, ctx: &RequestContext, parts: &http::request::Parts) -> bool {
        match self {
            Authorizer::AwsIam => {
                parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-"))
                    || parts
                        .uri
                        .query()
                        .is_some_and(|q| q.contains("X-Amz-Signature="))
            }
            Authorizer::Mtls(_) => ctx.client_cert().is_some(),
            Authorizer::Lambda(l) => l.credentials_present(parts),
            Authorizer::Jwt(j) => j.credentials_present(parts),
        }
    }
}

impl PartialEq for Authorizer {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Authorizer {}

/// Authenticate the request; on success the request body comes back (read whole when
/// the authenticator needed it, as SigV4 does to check the payload hash).
pub async fn authenticate(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: &http::request::Parts,
    body: RequestBody,
    m: &Matched<'_>,
) -> Result<RequestBody, GatewayError> {
    let list = match &m.route.auth {
        RouteAuth::Public => return Ok(body),
        RouteAuth::Require(list) => list,
    };
    // Any one suffices: the first whose kind of credentials the request carries decides
    // (its failure is the answer); with none present, the first one's "missing" answer.
    let chosen = list
        .iter()
        .find(|a| a.credentials_present(ctx, parts))
        .or(list.first());
    match chosen {
        // The authenticators' futures are boxed: only their routes pay for their size.
        Some(Authorizer::AwsIam) => Box::pin(sigv4::authenticate(cfg, ctx, parts, body)).await,
        Some(Authorizer::Mtls(m)) => {
            let conn = ctx.conn.clone();
            let Some(cert) = conn.tls.as_ref().and_then(|t| t.client_cert.as_deref()) else {
                return Err(GatewayError::Unauthorized {
                    detail: format!("authorizer {}: no client certificate", m.name),
                });
            };
            match m.accept(cert) {
                Ok(principal) => {
                    set_principal(cfg, ctx, principal);
                    Ok(body)
                }
                Err(mtls::Refusal::Revoked) => Err(GatewayError::Unauthorized {
                    detail: format!(
                        "authorizer {}: certificate {} is revoked",
                        m.name, cert.fingerprint_sha256
                    ),
                }),
                Err(mtls::Refusal::NoRuleMatches) => Err(GatewayError::AccessDenied {
                    message: "Forbidden".into(),
                }),
            }
        }
        Some(Authorizer::Jwt(j)) => {
            Box::pin(jwt::authenticate(j, ctx, parts, &m.route.scopes)).await?;
            Ok(body)
        }
        Some(Authorizer::Lambda(l)) => {
            Box::pin(lambda::authenticate(l, cfg, ctx, parts, m)).await?;
            Ok(body)
        }
        None => Err(GatewayError::Internal {
            detail: "route requires an empty authorizer list".into(),
        }),
    }
}

/// Record the caller; a principal that is an identity's ARN brings its policies and tags
/// (IAM authorization), any other is a name for logs and resource-policy conditions.
fn set_principal(cfg: &Compiled, ctx: &mut RequestContext, principal: String) {
    if let Some(id) = cfg.identities.by_arn(&principal) {
        ctx.identity = Some(id.clone());
        ctx.identity_policies = id.policies.clone();
        ctx.auth_type = rampart_iam::AuthType::Iam;
    }
    ctx.principal = Some(principal);
}
