//! `aws_iam` routes: SigV4 verification (`rampart-sigv4`) against the identity store.
use hyper::body::Incoming;

use crate::body::RequestBody;
use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub async fn authenticate(
    _cfg: &Compiled,
    _ctx: &mut RequestContext,
    _parts: &http::request::Parts,
    _body: Incoming,
) -> Result<RequestBody, GatewayError> {
    Err(GatewayError::MissingAuthenticationToken)
}
