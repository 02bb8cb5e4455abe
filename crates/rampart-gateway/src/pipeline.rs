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

/// A request's id: generated (a random UUID), or a trusted proxy's (letters, digits and
/// `-_.:`, at most 128 bytes). Kept as the header value that goes upstream and to the
/// client, which is also its text.
#[derive(Debug, Clone)]
pub struct RequestId(http::HeaderValue);

impl RequestId {
    /// A new random id.
    pub fn generate() -> Self {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
        // Hex digits and hyphens: always a valid header value.
        Self(http::HeaderValue::from_str(text).unwrap_or(http::HeaderValue::from_static("invalid")))
    }

    /// The id a trusted proxy sent, if it is one: 1 to 128 letters, digits or `-_.:`.
    pub fn trusted(v: &http::HeaderValue) -> Option<Self> {
        let b = v.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c));
        ok.then(|| Self(v.clone()))
    }

    pub fn header(&self) -> &http::HeaderValue {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // ASCII by construction.
        self.0.to_str().unwrap_or("invalid")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the stages learn about a request, passed from stage to stage and finally
/// to the recorder.
#[derive(Debug)]
pub struct RequestContext {
    pub request_id: RequestId,
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
    // A declared length (hyper has parsed and checked `Content-Length`, and answers 400
    // when it is not one number); a chunked body is bounded as it arrives.
    if let Some(len) = http_body::Body::size_hint(req.body()).exact() {
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
            let path = h.upstream_path(m.resource_path, &m.params, parts.uri.query());
            let forwarded = Forwarded {
                peer_header: &ctx.conn.peer_ip_header,
                tls: ctx.conn.tls.is_some(),
                request_id: ctx.request_id.header(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::RequestId;
    use http::HeaderValue;

    #[test]
    fn generated_ids_are_distinct_lowercase_uuids() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a.as_str(), b.as_str());
        let u = uuid::Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(a.as_str(), u.hyphenated().to_string());
        assert_eq!(a.header().as_bytes(), a.as_str().as_bytes());
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn a_trusted_proxys_id_is_taken_only_if_plain_and_short() {
        let take = |s: &[u8]| {
            RequestId::trusted(&HeaderValue::from_bytes(s).unwrap())
                .map(|id| id.as_str().to_string())
        };
        assert_eq!(take(b"Root=1-abc"), None, "'=' is not allowed");
        assert_eq!(take(b"abc-DEF_1.2:3").as_deref(), Some("abc-DEF_1.2:3"));
        let longest = "a".repeat(128);
        assert_eq!(take(longest.as_bytes()).as_deref(), Some(longest.as_str()));
        assert_eq!(take("a".repeat(129).as_bytes()), None);
        assert_eq!(take(b""), None);
        for bad in [&b"a b"[..], b"a/b", b"a\"b", b"a%20", b"\xc3\xa9t\xc3\xa9"] {
            assert_eq!(take(bad), None, "{bad:?}");
        }
    }
}
