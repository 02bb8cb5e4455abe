//! How API Gateway combines the identity side (the caller's IAM policies, or the policy a
//! Lambda authorizer returned) with the API's resource policy, per authorization type
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html>):
//!
//! | identity side | resource policy | same account (A) | other account (B) |
//! |---|---|---|---|
//! | Allow | Allow | Allow | Allow |
//! | Allow | silent | Allow | Implicit deny |
//! | Allow | Deny | Explicit deny | Explicit deny |
//! | silent | Allow | Allow | Implicit deny |
//! | silent | silent | Implicit deny | Implicit deny |
//! | silent | Deny | Explicit deny | Explicit deny |
//! | Deny | any | Explicit deny | Explicit deny |
//!
//! - No authorization: the resource policy alone decides and needs an explicit Allow (the
//!   caller is `anonymous`); with no resource policy the route is public.
//! - IAM (`AWS_IAM`): table A when the caller's account is the API's, table B otherwise.
//! - Lambda authorizer: before the authorizer runs, an explicit Deny in the resource
//!   policy refuses the request ([`pre_authorizer`]); then table A with the returned policy.
//! - Cognito / JWT: once the token is valid, the resource policy (if any) is evaluated on
//!   its own and needs an explicit Allow.

use crate::eval::{Caller, Decision, PolicySet, Request};

/// How the route authenticates its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    None,
    Iam,
    LambdaAuthorizer,
    Cognito,
}

fn side(set: Option<&PolicySet>, req: &Request) -> Decision {
    match set {
        Some(s) => s.evaluate(req),
        None => Decision::ImplicitDeny,
    }
}

/// The decision for a request. `identity` is the caller's policies (IAM) or the
/// authorizer's returned policy; `resource` the API's resource policy.
pub fn authorize(
    auth: AuthType,
    api_account: &str,
    identity: Option<&PolicySet>,
    resource: Option<&PolicySet>,
    req: &Request,
) -> Decision {
    use Decision::*;
    match auth {
        AuthType::None | AuthType::Cognito => match resource {
            None => Allow,
            Some(rp) => rp.evaluate(req),
        },
        AuthType::Iam | AuthType::LambdaAuthorizer => {
            let same_account = auth == AuthType::LambdaAuthorizer
                || req.caller.account.as_deref() == Some(api_account);
            let id = side(identity, req);
            if id == ExplicitDeny {
                return ExplicitDeny;
            }
            let rp = side(resource, req);
            match (id, rp) {
                (_, ExplicitDeny) => ExplicitDeny,
                (Allow, Allow) => Allow,
                (Allow, _) | (_, Allow) if same_account => Allow,
                _ => ImplicitDeny,
            }
        }
    }
}

/// Before a Lambda authorizer runs: an explicit Deny in the resource policy answers at
/// once (the authorizer is not called). Returns true when the request is denied.
pub fn pre_authorizer(resource: Option<&PolicySet>, req: &Request) -> bool {
    resource.is_some_and(|rp| rp.evaluate(req) == Decision::ExplicitDeny)
}

/// API Gateway's 403 message for a denial (never names the statement).
pub fn denial_message(
    auth: AuthType,
    decision: Decision,
    caller: &Caller,
    resource_arn: &str,
) -> String {
    let explicit = if decision == Decision::ExplicitDeny {
        " with an explicit deny"
    } else {
        ""
    };
    match auth {
        AuthType::LambdaAuthorizer => {
            format!("User is not authorized to access this resource{explicit}")
        }
        _ => format!(
            "User: {} is not authorized to perform: execute-api:Invoke on resource: {resource_arn}{explicit}",
            caller.arn
        ),
    }
}
