//! Stage 3, perimeter (WAF). Web ACLs arrive with a later issue; until then this stage
//! admits every request and records no WAF action.

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub fn inspect(_ctx: &mut RequestContext, _req: &http::request::Parts) -> Result<(), GatewayError> {
    Ok(())
}
