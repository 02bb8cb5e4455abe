//! Stage 4, authenticate: who is calling.
//!
//! Secure by default: every route either requires authorizers (any one of its list
//! suffices) or is declared `public: true`; the configuration is rejected otherwise.
//!
//! - `aws_iam`: the request is signed with SigV4 by an access key of the identity store
//!   ([`identity`]); see [`sigv4`]. The principal, its tags and identity policies go to
//!   the authorize stage, which combines them with the API's resource policy.
//!
//! Failures answer as API Gateway does, with no detail for the client (the reason goes to
//! the log and the `rampart_rejections_total` metric): `MISSING_AUTHENTICATION_TOKEN` 403
//! when no credentials were sent, `INVALID_SIGNATURE` 403 for a bad or unknown signature,
//! `EXPIRED_TOKEN` 403 for an expired presigned URL or a request outside the clock skew.
//!
//! The verified client certificate of an mTLS connection is in the request context.

pub mod identity;
pub mod sigv4;

use hyper::body::Incoming;

use crate::body::RequestBody;
use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;
use crate::route::Route;

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAuth {
    /// Declared `public: true`.
    Public,
    /// One of these must accept the request.
    Require(Vec<Authorizer>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorizer {
    /// SigV4 (`AWS_IAM`).
    AwsIam,
}

/// Authenticate the request; on success the request body comes back (read whole when
/// the authenticator needed it, as SigV4 does to check the payload hash).
pub async fn authenticate(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: &http::request::Parts,
    body: Incoming,
    route: &Route,
) -> Result<RequestBody, GatewayError> {
    let list = match &route.auth {
        RouteAuth::Public => return Ok(RequestBody::Streaming(body)),
        RouteAuth::Require(list) => list,
    };
    // Today's only authorizer; with several, the first whose credentials are present
    // decides.
    match list.first() {
        Some(Authorizer::AwsIam) => sigv4::authenticate(cfg, ctx, parts, body).await,
        None => Err(GatewayError::Internal {
            detail: "route requires an empty authorizer list".into(),
        }),
    }
}
