//! Stage 5, authorize. The IAM policy engine arrives with a later issue. This stage already
//! issues the [`Authorized`] proof that the integrate stage demands, so the order of the
//! pipeline is enforced by the type system: no code path reaches a backend without it.

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

/// Proof that a request passed the authorize stage. Only this module can make one.
#[derive(Debug)]
pub struct Authorized {
    _private: (),
}

pub fn authorize(
    _ctx: &mut RequestContext,
    _req: &http::request::Parts,
) -> Result<Authorized, GatewayError> {
    Ok(Authorized { _private: () })
}
