//! Stage 4, authenticate. Authenticators (API keys, JWT/OIDC, SigV4, client certificates,
//! custom authorizers) arrive with a later issue. The verified client certificate of an
//! mTLS connection is already in the request context for them.

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub fn authenticate(
    _ctx: &mut RequestContext,
    _req: &http::request::Parts,
) -> Result<(), GatewayError> {
    Ok(())
}
