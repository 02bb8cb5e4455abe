//! Stage 6, throttle. Usage plans, rate limits and quotas arrive with a later issue.

use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

pub fn admit(_ctx: &mut RequestContext) -> Result<(), GatewayError> {
    Ok(())
}
