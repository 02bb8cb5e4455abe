//! Stage 5, authorize: the IAM policy engine (`rampart-iam`) on `execute-api:Invoke`.
//!
//! The request's resource is `arn:{partition}:execute-api:{region}:{account}:{api-id}/
//! {stage}/{METHOD}/{path}`, built from the canonical path (never from the raw one), with
//! `$default` as the stage of an API served under a base path. The API's resource policy
//! and the caller's identity policies (an IAM caller's, or a Lambda authorizer's answer)
//! are combined as API Gateway does for the authentication type; with neither (and no IAM
//! or Lambda authentication, which need an allow) the request passes.
//!
//! Condition keys supplied per request: `aws:SourceIp`, `aws:CurrentTime`,
//! `aws:EpochTime`, `aws:SecureTransport`, `aws:UserAgent`, `aws:Referer`,
//! `aws:ResourceTag/<key>` (the route's tags), `aws:SourceVpce` (private listeners),
//! `aws:PrincipalArn` / `aws:PrincipalAccount` / `aws:username` (IAM callers),
//! `aws:userid` / `aws:PrincipalType` / `aws:PrincipalTag/<key>` (identity-store callers),
//! `rampart:Listener`, `rampart:ClientCertFingerprint` and `rampart:ClientCertSubject`
//! (mTLS), and `jwt:<claim>` (verified JWTs).
//!
//! A denial is a 403 with API Gateway's message, never the statement that decided it; the
//! decision, the ARN and the caller go to the log.
//!
//! This stage issues the [`Authorized`] proof the integrate stage demands, so no code path
//! reaches a backend without passing here.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rampart_iam::{ApiArn, AuthType, Caller, Context, Decision, PolicySet, Request};

use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

/// Proof that a request passed the authorize stage. Only this module can make one.
#[derive(Debug)]
pub struct Authorized {
    _private: (),
}

/// The authorization settings of one API, compiled at load.
#[derive(Debug)]
pub struct ApiPolicy {
    pub arn: ApiArn,
    pub resource_policy: Option<PolicySet>,
}

const INVOKE: &str = "execute-api:invoke";

pub fn authorize(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    req: &http::request::Parts,
    method: &str,
    resource_path: &str,
) -> Result<Authorized, GatewayError> {
    let Some(route) = ctx.matched.clone() else {
        return Err(GatewayError::Internal {
            detail: "authorize without a route".into(),
        });
    };
    let api = &route.authz;
    let auth = ctx.auth_type;
    let identity = ctx.identity_policies.clone();
    // Nothing to decide: no resource policy, no identity policies, no authentication
    // (the route is public), or a valid JWT / Cognito token and no resource policy.
    if api.resource_policy.is_none()
        && identity.is_none()
        && matches!(auth, AuthType::None | AuthType::Cognito)
    {
        return Ok(Authorized { _private: () });
    }
    let stage = ctx.stage.as_deref().unwrap_or("$default");
    let arn = api.arn.method_arn(stage, method, resource_path);
    let caller = match &ctx.principal {
        Some(p) if p.starts_with("arn:") => Caller::aws(p),
        // A token subject or certificate name: not an IAM principal, named in messages.
        Some(p) => Caller {
            arn: p.clone(),
            account: None,
            kind: rampart_iam::CallerKind::Anonymous,
        },
        None => Caller::anonymous(),
    };
    let context = request_context(cfg, ctx, req, &route, &caller);
    let request = Request::new(INVOKE, &arn, &caller, &context);
    let decision = rampart_iam::authorize(
        auth,
        &api.arn.account,
        identity.as_deref(),
        api.resource_policy.as_ref(),
        &request,
    );
    match decision {
        Decision::Allow => Ok(Authorized { _private: () }),
        Decision::ExplicitDeny | Decision::ImplicitDeny => {
            tracing::info!(
                request_id = %ctx.request_id,
                resource = %arn,
                caller = %caller.arn,
                decision = ?decision,
                "request denied by policy"
            );
            Err(GatewayError::AccessDenied {
                message: rampart_iam::denial_message(auth, decision, &caller, &arn),
            })
        }
    }
}

/// API Gateway's check before a Lambda authorizer runs: does the resource policy
/// explicitly deny this (still anonymous) request?
pub fn pre_authorizer_denied(
    cfg: &Compiled,
    ctx: &RequestContext,
    req: &http::request::Parts,
    route: &Arc<crate::route::Route>,
    arn: &str,
) -> bool {
    let Some(rp) = &route.authz.resource_policy else {
        return false;
    };
    let caller = Caller::anonymous();
    let context = request_context(cfg, ctx, req, route, &caller);
    rampart_iam::pre_authorizer(Some(rp), &Request::new(INVOKE, arn, &caller, &context))
}

/// The condition keys of one request.
fn request_context(
    cfg: &Compiled,
    ctx: &RequestContext,
    req: &http::request::Parts,
    route: &Arc<crate::route::Route>,
    caller: &Caller,
) -> Context {
    let mut c = Context::with_capacity(12 + route.tags.len());
    c.insert("aws:SourceIp", ctx.client_ip.to_string());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    c.insert("aws:EpochTime", now.as_secs().to_string());
    c.insert(
        "aws:CurrentTime",
        crate::record::access_log::rfc3339(now.as_secs(), None),
    );
    c.insert(
        "aws:SecureTransport",
        if ctx.conn.tls.is_some() {
            "true"
        } else {
            "false"
        },
    );
    for (key, header) in [
        ("aws:UserAgent", http::header::USER_AGENT),
        ("aws:Referer", http::header::REFERER),
    ] {
        if let Some(v) = req.headers.get(header).and_then(|v| v.to_str().ok()) {
            c.insert(key, v);
        }
    }
    for (k, v) in &route.tags {
        c.insert(&format!("aws:ResourceTag/{k}"), v.as_str());
    }
    c.insert("rampart:Listener", ctx.conn.listener_name.as_ref());
    if let Some(l) = cfg.listeners.get(ctx.conn.listener) {
        if l.private {
            c.insert("aws:SourceVpce", l.vpce_id.as_deref().unwrap_or(&l.name));
        }
    }
    if let Some(cert) = ctx.client_cert() {
        c.insert(
            "rampart:ClientCertFingerprint",
            cert.fingerprint_sha256.as_str(),
        );
        c.insert("rampart:ClientCertSubject", cert.subject.as_str());
    }
    if let Some(id) = &ctx.identity {
        c.insert("aws:userid", id.user_id.as_str());
        c.insert(
            "aws:PrincipalType",
            match id.kind {
                crate::authn::identity::Kind::User => "User",
                crate::authn::identity::Kind::Role => "AssumedRole",
            },
        );
        for (k, v) in &id.tags {
            c.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
        }
    }
    if let Some(claims) = &ctx.jwt_claims {
        for (k, v) in claims.as_map() {
            let key = format!("jwt:{k}");
            match v {
                serde_json::Value::String(s) => c.insert(&key, s.as_str()),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                    c.insert(&key, v.to_string())
                }
                serde_json::Value::Array(a) => c.insert_many(
                    &key,
                    a.iter().filter_map(|x| match x {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                            Some(x.to_string())
                        }
                        _ => None,
                    }),
                ),
                _ => {}
            }
        }
    }
    if !matches!(caller.kind, rampart_iam::CallerKind::Anonymous) {
        c.insert("aws:PrincipalArn", caller.arn.as_str());
        if let Some(a) = &caller.account {
            c.insert("aws:PrincipalAccount", a.as_str());
        }
        if let Some(name) = caller.arn.split(":user/").nth(1) {
            c.insert("aws:username", name.rsplit('/').next().unwrap_or(name));
        }
    }
    c
}
