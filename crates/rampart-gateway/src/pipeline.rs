//! The request pipeline: one fixed, ordered list of stages, one per layer of the product.
//!
//! ```text
//!  client ─► 1 listener ─► 2 normalise+route ─► 3 WAF ─► 4 authenticate ─► 5 authorize
//!                                                                              │ Authorized
//!  client ◄─ 9 respond+record ◄─ 8 integrate ◄─ 7 validate ◄─ 6 throttle ◄─────┘
//! ```
//!
//! Each stage either enriches the [`RequestContext`] and passes the request on, or stops
//! it with a [`GatewayError`] that says which stage stopped it. The stages are composed
//! here and nowhere else. Stage 7 is filled by a later issue; it is already in
//! place so that the order of the stages cannot change.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use rampart_normalize::CanonicalPath;
use tokio::time::Instant;

use crate::body::{GatewayBody, LimitedBody, RequestBody};
use crate::config::Compiled;
use crate::integrate::http::Forwarded;
use crate::integrate::Integration;
use crate::listener::ConnInfo;
use crate::respond::GatewayError;
use crate::route::RouteMatch;
use crate::{authn, authz, throttle, validate, waf};

/// The pipeline stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Listener,
    Route,
    Waf,
    Authenticate,
    Authorize,
    Throttle,
    Validate,
    Integrate,
}

impl RequestContext {
    /// The verified client certificate of an mTLS connection.
    pub fn client_cert(&self) -> Option<&crate::listener::tls::ClientCertInfo> {
        self.conn.tls.as_ref()?.client_cert.as_deref()
    }
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Listener => "listener",
            Stage::Route => "route",
            Stage::Waf => "waf",
            Stage::Authenticate => "authenticate",
            Stage::Authorize => "authorize",
            Stage::Throttle => "throttle",
            Stage::Validate => "validate",
            Stage::Integrate => "integrate",
        }
    }
}

/// Everything the stages learn about a request, passed from stage to stage and finally
/// to the recorder.
#[derive(Debug)]
pub struct RequestContext {
    pub request_id: String,
    /// The request id as a header value (sent upstream and to the client).
    pub request_id_header: http::HeaderValue,
    pub started: Instant,
    pub client_ip: IpAddr,
    /// The peer is a configured trusted proxy.
    pub trusted_peer: bool,
    pub conn: Arc<ConnInfo>,
    pub method: http::Method,
    pub user_agent: Option<String>,
    /// Request headers selected for the access log (already redacted).
    pub logged_headers: Vec<(String, String)>,
    pub path: Option<CanonicalPath>,
    pub api: Option<Arc<str>>,
    pub stage: Option<String>,
    pub route: Option<Arc<str>>,
    /// The matched route itself.
    pub matched: Option<Arc<crate::route::Route>>,
    /// Filled by the authenticate stage: the caller's ARN, how it authenticated, and its
    /// identity policies (an IAM user's or role's, or a Lambda authorizer's returned policy).
    pub principal: Option<String>,
    pub auth_type: rampart_iam::AuthType,
    /// The claims of a verified JWT (`jwt:<claim>` condition keys).
    pub jwt_claims: Option<Arc<rampart_jwt::Claims>>,
    /// Headers for the upstream request set by authorizers (None: remove it).
    pub upstream_headers: Vec<(http::HeaderName, Option<http::HeaderValue>)>,
    /// The identity-store entry of an IAM caller (tags, unique id).
    pub identity: Option<Arc<crate::authn::identity::Identity>>,
    pub identity_policies: Option<Arc<rampart_iam::PolicySet>>,
    pub api_key_id: Option<String>,
    /// The usage plan the API key was admitted under.
    pub usage_plan_id: Option<String>,
    /// A Lambda authorizer's `usageIdentifierKey` (the API key of `api_key_source: authorizer`).
    pub usage_identifier_key: Option<String>,
    /// Filled by the WAF stage.
    pub labels: Vec<String>,
    pub waf_action: Option<&'static str>,
    pub upstream_latency: Option<Duration>,
    pub rejected_by: Option<Stage>,
    /// On HTTP/2: holds the request in flight on its connection until the context is dropped
    /// (with the response, or when the request is abandoned).
    pub in_flight: Option<crate::listener::conn::InFlight>,
}

/// Run stages 1–8 for one request.
pub async fn run(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, (Stage, GatewayError)> {
    // 1. Listener limits that need the parsed head.
    check_limits(cfg, &req).map_err(|e| (Stage::Listener, e))?;
    let (parts, body) = req.into_parts();
    // 2. Normalise: the one canonical path everything after this sees.
    let canon = rampart_normalize::normalize(parts.uri.path(), &cfg.paths)
        .map_err(|r| (Stage::Route, GatewayError::InvalidPath(r)))?;
    // A body over the size limit or slower than its pace is the listener's rejection,
    // whichever stage was reading the body when it was found.
    let result = routed(cfg, ctx, parts, body, &canon)
        .await
        .map_err(|(stage, e)| match e {
            GatewayError::BodyTooLarge | GatewayError::BodyTimeout { .. } => (Stage::Listener, e),
            e => (stage, e),
        });
    ctx.path = Some(canon);
    result
}

/// Header fields a request may have: hyper's HTTP/1.1 parser refuses more before a
/// request exists; HTTP/2 requests (whose header block has only a size limit) are held to
/// the same.
const MAX_HEADER_FIELDS: usize = 100;

fn check_limits(cfg: &Compiled, req: &Request<Incoming>) -> Result<(), GatewayError> {
    let limits = &cfg.limits;
    let fields = req.headers().len();
    let uri = req.uri();
    let mut bytes = req.method().as_str().len()
        + uri.path_and_query().map_or(1, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + 12;
    for (k, v) in req.headers() {
        bytes += k.as_str().len() + v.len() + 4;
    }
    if bytes > limits.max_header_bytes || fields > MAX_HEADER_FIELDS {
        return Err(GatewayError::HeadersTooLarge { bytes, fields });
    }
    if let Some(len) = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limits.max_body_bytes {
            return Err(GatewayError::BodyTooLarge);
        }
    }
    Ok(())
}

async fn routed(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: http::request::Parts,
    body: Incoming,
    canon: &CanonicalPath,
) -> Result<Response<GatewayBody>, (Stage, GatewayError)> {
    // 2. Route.
    let m = match cfg.router.route(ctx.conn.listener, &parts.method, canon) {
        RouteMatch::Found(m) => m,
        RouteMatch::MethodNotAllowed { allow } => {
            return Err((
                Stage::Route,
                GatewayError::MethodNotAllowed {
                    allow: allow.join(", "),
                },
            ))
        }
        RouteMatch::NotFound => return Err((Stage::Route, GatewayError::NotFound)),
    };
    ctx.api = Some(m.route.api.clone());
    ctx.stage = m.stage.map(str::to_string);
    ctx.route = Some(m.route.id.clone());
    ctx.matched = Some(m.route.clone());
    // 3–7.
    let mut parts = parts;
    let body = waf::inspect(cfg, ctx, &mut parts, body, &m.route.waf)
        .await
        .map_err(|e| (Stage::Waf, e))?;
    let body = authn::authenticate(cfg, ctx, &parts, body, &m)
        .await
        .map_err(|e| (Stage::Authenticate, e))?;
    // What authorizers send upstream replaces anything the client sent under those names.
    for (name, value) in ctx.upstream_headers.drain(..) {
        parts.headers.remove(&name);
        if let Some(v) = value {
            parts.headers.insert(name, v);
        }
    }
    let proof = authz::authorize(cfg, ctx, &parts, m.arn_method(&parts.method), m.arn_path())
        .map_err(|e| (Stage::Authorize, e))?;
    throttle::admit(cfg, ctx, &parts.headers)
        .await
        .map_err(|e| (Stage::Throttle, e))?;
    validate::check(ctx, &parts).map_err(|e| (Stage::Validate, e))?;
    // 8. Integrate.
    integrate(proof, cfg, ctx, parts, body, &m).await
}

async fn integrate(
    _proof: authz::Authorized,
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: http::request::Parts,
    body: RequestBody,
    m: &crate::route::Matched<'_>,
) -> Result<Response<GatewayBody>, (Stage, GatewayError)> {
    match &m.route.integration {
        Integration::Mock(mock) => Ok(mock.respond()),
        Integration::Http(h) => {
            let path = h.upstream_path(&m.resource_path, &m.params, parts.uri.query());
            let forwarded = Forwarded {
                peer_header: &ctx.conn.peer_ip_header,
                tls: ctx.conn.tls.is_some(),
                request_id: &ctx.request_id_header,
                trust_forwarded: ctx.trusted_peer,
            };
            let body = LimitedBody::new(body, cfg.limits.max_body_bytes, cfg.limits.body_pace());
            let t0 = Instant::now();
            let r = h.forward(parts, body, &path, &forwarded).await;
            ctx.upstream_latency = Some(t0.elapsed());
            let mut resp = r.map_err(|e| (Stage::Integrate, e))?;
            crate::integrate::http::strip_response_headers(
                resp.headers_mut(),
                &cfg.strip_response_headers,
            );
            Ok(resp)
        }
    }
}
