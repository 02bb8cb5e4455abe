//! Stage 7, validate. Request validation against models arrives with a later issue.

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub fn check(_ctx: &mut RequestContext, _req: &http::request::Parts) -> Result<(), GatewayError> {
    Ok(())
}
