//! Stage 9a, respond: the one place where a gateway error becomes a response.
//!
//! Every error is a small typed value ([`GatewayError`]) that knows its response type
//! (the API Gateway name, e.g. `RESOURCE_NOT_FOUND`) and who caused it. The client gets the
//! uniform body `{"message": "...", "requestId": "..."}` with the type's configured status,
//! message and headers; internal detail (upstream error text, file names, ...) goes only
//! to the operator's log, never into a response.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::body::{full, GatewayBody};

/// Gateway response types. Names follow API Gateway where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResponseType {
    BadRequestPath,
    ResourceNotFound,
    MethodNotAllowed,
    RequestTimeout,
    RequestTooLarge,
    RequestHeadersTooLarge,
    AccessDenied,
    MissingAuthenticationToken,
    InvalidSignature,
    ExpiredToken,
    Unauthorized,
    AuthorizerFailure,
    Throttled,
    InvalidApiKey,
    QuotaExceeded,
    WafFiltered,
    ServiceUnavailable,
    IntegrationFailure,
    IntegrationTimeout,
    ApiConfigurationError,
    Default4xx,
    Default5xx,
}

impl ResponseType {
    pub const ALL: [ResponseType; 22] = [
        Self::BadRequestPath,
        Self::ResourceNotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::RequestTooLarge,
        Self::RequestHeadersTooLarge,
        Self::AccessDenied,
        Self::MissingAuthenticationToken,
        Self::InvalidSignature,
        Self::ExpiredToken,
        Self::Unauthorized,
        Self::AuthorizerFailure,
        Self::Throttled,
        Self::InvalidApiKey,
        Self::QuotaExceeded,
        Self::WafFiltered,
        Self::ServiceUnavailable,
        Self::IntegrationFailure,
        Self::IntegrationTimeout,
        Self::ApiConfigurationError,
        Self::Default4xx,
        Self::Default5xx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequestPath => "BAD_REQUEST_PATH",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::RequestTooLarge => "REQUEST_TOO_LARGE",
            Self::RequestHeadersTooLarge => "REQUEST_HEADERS_TOO_LARGE",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::ExpiredToken => "EXPIRED_TOKEN",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::AuthorizerFailure => "AUTHORIZER_FAILURE",
            Self::Throttled => "THROTTLED",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::WafFiltered => "WAF_FILTERED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::IntegrationFailure => "INTEGRATION_FAILURE",
            Self::IntegrationTimeout => "INTEGRATION_TIMEOUT",
            Self::ApiConfigurationError => "API_CONFIGURATION_ERROR",
            Self::Default4xx => "DEFAULT_4XX",
            Self::Default5xx => "DEFAULT_5XX",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    fn default_status(self) -> StatusCode {
        match self {
            Self::BadRequestPath => StatusCode::BAD_REQUEST,
            Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestHeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::AccessDenied
            | Self::MissingAuthenticationToken
            | Self::InvalidSignature
            | Self::ExpiredToken
            | Self::InvalidApiKey => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::AuthorizerFailure => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Throttled | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::WafFiltered => StatusCode::FORBIDDEN,
            Self::IntegrationFailure => StatusCode::BAD_GATEWAY,
            Self::IntegrationTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::ApiConfigurationError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Default4xx => StatusCode::BAD_REQUEST,
            Self::Default5xx => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// API Gateway's `x-amzn-ErrorType` for this response, which AWS SDKs read to name the
    /// error; `None` where API Gateway has no such response or its type is not known.
    fn error_type(self) -> Option<&'static str> {
        Some(match self {
            Self::BadRequestPath | Self::Default4xx => "BadRequestException",
            Self::ResourceNotFound => "NotFoundException",
            Self::AccessDenied => "AccessDeniedException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::ExpiredToken => "ExpiredTokenException",
            Self::Unauthorized => "UnauthorizedException",
            Self::AuthorizerFailure => "AuthorizerConfigurationException",
            Self::Throttled => "TooManyRequestsException",
            Self::InvalidApiKey | Self::WafFiltered => "ForbiddenException",
            Self::QuotaExceeded => "LimitExceededException",
            Self::ApiConfigurationError | Self::Default5xx => "InternalServerErrorException",
            Self::MethodNotAllowed
            | Self::RequestTimeout
            | Self::RequestTooLarge
            | Self::RequestHeadersTooLarge
            | Self::ServiceUnavailable
            | Self::IntegrationFailure
            | Self::IntegrationTimeout => return None,
        })
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::BadRequestPath => "Invalid request path",
            Self::ResourceNotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::RequestTimeout => "Request Timeout",
            Self::RequestTooLarge => "Request Too Large",
            Self::RequestHeadersTooLarge => "Request Header Fields Too Large",
            Self::AccessDenied => "Forbidden",
            Self::MissingAuthenticationToken => "Missing Authentication Token",
            Self::InvalidSignature => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            Self::ExpiredToken => "The security token included in the request is expired",
            Self::Unauthorized => "Unauthorized",
            // API Gateway answers `{"message": null}`; see GatewayResponse::new.
            Self::AuthorizerFailure => "",
            Self::Throttled => "Too Many Requests",
            Self::InvalidApiKey => "Forbidden",
            Self::QuotaExceeded => "Limit Exceeded",
            Self::WafFiltered => "Forbidden",
            Self::ServiceUnavailable => "Service Unavailable",
            Self::IntegrationFailure => "Bad Gateway",
            Self::IntegrationTimeout => "Endpoint request timed out",
            Self::ApiConfigurationError => "Internal server error",
            Self::Default4xx => "Bad Request",
            Self::Default5xx => "Internal server error",
        }
    }
}

/// Who caused an error: decides the log level and the metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Client,
    Upstream,
    Gateway,
}

/// Everything that can stop a request inside the gateway.
#[derive(Debug)]
pub enum GatewayError {
    InvalidPath(rampart_normalize::Rejection),
    NotFound,
    MethodNotAllowed {
        allow: String,
    },
    HeadersTooLarge {
        bytes: usize,
        fields: usize,
    },
    BodyTooLarge,
    /// The client kept the gateway waiting for its request body past its allowance (408).
    BodyTimeout {
        detail: String,
    },
    UpstreamFailure {
        detail: String,
    },
    UpstreamTimeout,
    /// Denied by policy: API Gateway's message (never the statement that decided).
    AccessDenied {
        message: String,
    },
    /// No credentials where a route requires them.
    MissingAuthenticationToken,
    /// Credentials that do not verify. `message`: what the client is told (API Gateway's
    /// text for the case, never the expected signature); `detail`: for the log.
    InvalidSignature {
        message: Option<String>,
        detail: String,
    },
    ExpiredToken {
        detail: String,
    },
    /// Missing or invalid credentials (401).
    Unauthorized {
        detail: String,
    },
    /// A custom authorizer failed (timeout, error, malformed answer): 500, never allow.
    AuthorizerFailure {
        detail: String,
    },
    /// Over a rate limit: 429 with `Retry-After` and the `RateLimit` headers.
    Throttled {
        retry_after_secs: u64,
        policy: String,
        state: String,
    },
    /// A route that needs an API key got none, or one that is unknown, disabled, expired or
    /// in no usage plan for this stage: the client hears only "Forbidden"; `detail` says
    /// which for the log.
    InvalidApiKey {
        detail: &'static str,
    },
    /// Over a usage plan's quota for the period: 429 with a `Retry-After` until it resets.
    QuotaExceeded {
        retry_after_secs: u64,
        policy: String,
        state: String,
    },
    /// A security layer's backing store cannot be reached and is configured to fail
    /// closed (e.g. Redis for usage plans): 503, never let the request through unchecked.
    Unavailable {
        detail: String,
    },
    Internal {
        detail: String,
    },
    /// A web ACL blocked the request: the rule's custom response, or `WAF_FILTERED`.
    WafBlocked {
        rule: String,
        response: std::sync::Arc<rampart_waf::BlockResponse>,
    },
    /// A malformed request (e.g. a body that could not be read).
    BadRequest {
        detail: String,
    },
}

impl GatewayError {
    pub fn response_type(&self) -> ResponseType {
        match self {
            Self::InvalidPath(_) => ResponseType::BadRequestPath,
            Self::NotFound => ResponseType::ResourceNotFound,
            Self::MethodNotAllowed { .. } => ResponseType::MethodNotAllowed,
            Self::HeadersTooLarge { .. } => ResponseType::RequestHeadersTooLarge,
            Self::BodyTooLarge => ResponseType::RequestTooLarge,
            Self::BodyTimeout { .. } => ResponseType::RequestTimeout,
            Self::UpstreamFailure { .. } => ResponseType::IntegrationFailure,
            Self::UpstreamTimeout => ResponseType::IntegrationTimeout,
            Self::AccessDenied { .. } => ResponseType::AccessDenied,
            Self::MissingAuthenticationToken => ResponseType::MissingAuthenticationToken,
            Self::InvalidSignature { .. } => ResponseType::InvalidSignature,
            Self::ExpiredToken { .. } => ResponseType::ExpiredToken,
            Self::Unauthorized { .. } => ResponseType::Unauthorized,
            Self::AuthorizerFailure { .. } => ResponseType::AuthorizerFailure,
            Self::Throttled { .. } => ResponseType::Throttled,
            Self::InvalidApiKey { .. } => ResponseType::InvalidApiKey,
            Self::QuotaExceeded { .. } => ResponseType::QuotaExceeded,
            Self::Unavailable { .. } => ResponseType::ServiceUnavailable,
            Self::Internal { .. } => ResponseType::ApiConfigurationError,
            Self::WafBlocked { .. } => ResponseType::WafFiltered,
            Self::BadRequest { .. } => ResponseType::Default4xx,
        }
    }

    /// A message for this occurrence that replaces the type's default one.
    fn specific_message(&self) -> Option<&str> {
        match self {
            Self::AccessDenied { message } => Some(message),
            Self::InvalidSignature {
                message: Some(m), ..
            } => Some(m),
            _ => None,
        }
    }

    pub fn cause(&self) -> Cause {
        match self {
            Self::UpstreamFailure { .. }
            | Self::UpstreamTimeout
            | Self::AuthorizerFailure { .. } => Cause::Upstream,
            Self::Internal { .. } | Self::Unavailable { .. } => Cause::Gateway,
            _ => Cause::Client,
        }
    }
}

/// Operator-facing detail; never sent to a client.
impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPath(r) => write!(f, "invalid path: {r}"),
            Self::NotFound => f.write_str("no route"),
            Self::MethodNotAllowed { allow } => write!(f, "method not allowed (allow: {allow})"),
            Self::HeadersTooLarge { bytes, fields } => {
                write!(
                    f,
                    "request headers too large ({bytes} bytes, {fields} fields)"
                )
            }
            Self::BodyTooLarge => f.write_str("request body too large"),
            Self::BodyTimeout { detail } => f.write_str(detail),
            Self::UpstreamFailure { detail } => write!(f, "upstream failure: {detail}"),
            Self::UpstreamTimeout => f.write_str("upstream timed out"),
            Self::AccessDenied { message } => write!(f, "access denied: {message}"),
            Self::MissingAuthenticationToken => f.write_str("no credentials"),
            Self::InvalidSignature { detail, .. } => write!(f, "invalid signature: {detail}"),
            Self::ExpiredToken { detail } => write!(f, "expired: {detail}"),
            Self::Unauthorized { detail } => write!(f, "unauthorized: {detail}"),
            Self::AuthorizerFailure { detail } => write!(f, "authorizer failure: {detail}"),
            Self::Throttled { policy, .. } => write!(f, "throttled by {policy}"),
            Self::InvalidApiKey { detail } => write!(f, "invalid API key: {detail}"),
            Self::QuotaExceeded { policy, .. } => write!(f, "quota exceeded: {policy}"),
            Self::Unavailable { detail } => write!(f, "unavailable: {detail}"),
            Self::Internal { detail } => write!(f, "internal error: {detail}"),
            Self::WafBlocked { rule, .. } => write!(f, "blocked by WAF rule {rule}"),
            Self::BadRequest { detail } => write!(f, "bad request: {detail}"),
        }
    }
}

/// One configured gateway response.
#[derive(Debug, Clone)]
pub struct GatewayResponse {
    pub status: StatusCode,
    pub message: String,
    /// The message as JSON (`null` for API Gateway's empty message).
    message_json: String,
    /// The body with the request id left out, pre-rendered up to it.
    body_prefix: String,
    pub headers: HeaderMap,
    /// The operator set the message: it replaces error-specific messages too.
    configured_message: bool,
}

impl GatewayResponse {
    fn new(
        status: StatusCode,
        message: String,
        headers: HeaderMap,
        configured_message: bool,
    ) -> Self {
        let message_json = if message.is_empty() && !configured_message {
            "null".to_string()
        } else {
            serde_json::Value::String(message.clone()).to_string()
        };
        let body_prefix = format!("{{\"message\":{message_json},\"requestId\":");
        Self {
            status,
            message,
            message_json,
            body_prefix,
            headers,
            configured_message,
        }
    }
}

/// `g` without a request id, as an HTTP/1.1 response with `connection: close`.
fn http1_closing(g: &GatewayResponse) -> Bytes {
    let body = format!("{{\"message\":{}}}", g.message_json);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        g.status.as_u16(),
        g.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (k, v) in &g.headers {
        if k == http::header::CONTENT_TYPE
            || k == http::header::CONTENT_LENGTH
            || k == http::header::CONNECTION
        {
            continue;
        }
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Bytes::from(out)
}

/// Per-type overrides, as configured under `server.responses`.
#[derive(Debug, Clone, Default)]
pub struct Override {
    pub status: Option<StatusCode>,
    pub message: Option<String>,
    pub headers: HeaderMap,
}

/// The gateway responses of a configuration, resolved for every type.
#[derive(Debug, Clone)]
pub struct GatewayResponses {
    by_type: HashMap<ResponseType, GatewayResponse>,
    /// `REQUEST_TIMEOUT` as the bytes of an HTTP/1.1 response that closes the connection
    /// (see [`GatewayResponses::request_timeout_http1`]).
    request_timeout_http1: Bytes,
}

impl Default for GatewayResponses {
    fn default() -> Self {
        Self::new(&HashMap::new())
    }
}

impl GatewayResponses {
    /// Resolve every type: its own override, else DEFAULT_4XX / DEFAULT_5XX's, else the built-in.
    pub fn new(overrides: &HashMap<ResponseType, Override>) -> Self {
        let mut by_type = HashMap::new();
        for t in ResponseType::ALL {
            let own = overrides.get(&t);
            let status = own.and_then(|o| o.status).unwrap_or(t.default_status());
            let class = if t.default_status().is_server_error() {
                overrides.get(&ResponseType::Default5xx)
            } else {
                overrides.get(&ResponseType::Default4xx)
            };
            let configured = own
                .and_then(|o| o.message.clone())
                .or_else(|| class.and_then(|c| c.message.clone()));
            let configured_message = configured.is_some();
            let message = configured.unwrap_or_else(|| t.default_message().to_string());
            let mut headers = class.map(|c| c.headers.clone()).unwrap_or_default();
            if let Some(o) = own {
                for (k, v) in &o.headers {
                    headers.insert(k.clone(), v.clone());
                }
            }
            // The error type API Gateway sends with this response, unless the operator
            // set the header.
            let error_type = HeaderName::from_static("x-amzn-errortype");
            if let (Some(v), false) = (t.error_type(), headers.contains_key(&error_type)) {
                headers.insert(error_type, HeaderValue::from_static(v));
            }
            by_type.insert(
                t,
                GatewayResponse::new(status, message, headers, configured_message),
            );
        }
        let request_timeout_http1 = by_type
            .get(&ResponseType::RequestTimeout)
            .map(http1_closing)
            .unwrap_or_default();
        Self {
            by_type,
            request_timeout_http1,
        }
    }

    /// The `REQUEST_TIMEOUT` response as the bytes of an HTTP/1.1 response that closes the
    /// connection: the listener writes it itself when a request head is too slow (before
    /// hyper has a request, so without a request id; the configured status, message and
    /// headers apply).
    pub fn request_timeout_http1(&self) -> Bytes {
        self.request_timeout_http1.clone()
    }

    /// Build the client response for `err`.
    pub fn render(&self, err: &GatewayError, request_id: &str) -> Response<GatewayBody> {
        if let GatewayError::WafBlocked { response, .. } = err {
            if response.status != 403 || response.body.is_some() || !response.headers.is_empty() {
                return render_waf_custom(response, request_id);
            }
        }
        let t = err.response_type();
        let mut resp = match self.by_type.get(&t) {
            Some(g) => {
                let mut body = String::with_capacity(g.body_prefix.len() + request_id.len() + 4);
                match err.specific_message() {
                    // An error-specific message (API Gateway's `$context.error.message`).
                    Some(message) if !g.configured_message => {
                        body.push_str("{\"message\":");
                        body.push_str(&serde_json::Value::String(message.to_string()).to_string());
                        body.push_str(",\"requestId\":");
                    }
                    _ => body.push_str(&g.body_prefix),
                }
                body.push_str(&serde_json::Value::String(request_id.to_string()).to_string());
                body.push('}');
                let mut resp = Response::new(full(Bytes::from(body)));
                *resp.status_mut() = g.status;
                for (k, v) in &g.headers {
                    resp.headers_mut().insert(k.clone(), v.clone());
                }
                resp
            }
            None => {
                let mut resp = Response::new(full(Bytes::from_static(
                    b"{\"message\":\"Internal server error\"}",
                )));
                *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                resp
            }
        };
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let GatewayError::MethodNotAllowed { allow } = err {
            if let Ok(v) = HeaderValue::from_str(allow) {
                h.insert(http::header::ALLOW, v);
            }
        }
        if let GatewayError::Throttled {
            retry_after_secs,
            policy,
            state,
        }
        | GatewayError::QuotaExceeded {
            retry_after_secs,
            policy,
            state,
        } = err
        {
            h.insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(*retry_after_secs),
            );
            for (name, v) in [("ratelimit-policy", policy), ("ratelimit", state)] {
                if let Ok(v) = HeaderValue::from_str(v) {
                    h.insert(HeaderName::from_static(name), v);
                }
            }
        }
        if let GatewayError::Unavailable { .. } = err {
            h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let GatewayError::BodyTimeout { .. } = err {
            // The rest of a stalled body is not coming: the connection cannot carry another
            // request (HTTP/2 drops the header; the stream alone ends there).
            h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert(HeaderName::from_static("x-request-id"), v);
        }
        resp
    }
}

/// A web ACL's custom Block response: its status, headers and body as configured.
fn render_waf_custom(r: &rampart_waf::BlockResponse, request_id: &str) -> Response<GatewayBody> {
    let (ctype, body) = match &r.body {
        Some((ctype, content)) => (*ctype, Bytes::from(content.clone())),
        None => (
            "application/json",
            Bytes::from_static(b"{\"message\":\"Forbidden\"}"),
        ),
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN);
    let h = resp.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(r: Response<GatewayBody>) -> serde_json::Value {
        let b = r.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn uniform_body_and_overrides() {
        let r = GatewayResponses::default();
        let resp = r.render(
            &GatewayError::UpstreamFailure {
                detail: "connect: refused 10.1.2.3".into(),
            },
            "rid-1",
        );
        assert_eq!(resp.status(), 502);
        assert_eq!(resp.headers()["x-request-id"], "rid-1");
        let v = body_of(resp).await;
        assert_eq!(
            v,
            serde_json::json!({"message": "Bad Gateway", "requestId": "rid-1"})
        );

        let mut o = HashMap::new();
        let mut headers = HeaderMap::new();
        headers.insert("x-team", HeaderValue::from_static("core"));
        o.insert(
            ResponseType::Default4xx,
            Override {
                status: None,
                message: Some("Nope \"quoted\"".into()),
                headers,
            },
        );
        o.insert(
            ResponseType::ResourceNotFound,
            Override {
                status: Some(StatusCode::IM_A_TEAPOT),
                message: None,
                headers: HeaderMap::new(),
            },
        );
        let r = GatewayResponses::new(&o);
        let resp = r.render(&GatewayError::NotFound, "x");
        assert_eq!(resp.status(), 418);
        assert_eq!(resp.headers()["x-team"], "core");
        assert_eq!(body_of(resp).await["message"], "Nope \"quoted\"");
        // 5xx types are untouched by DEFAULT_4XX
        let resp = r.render(&GatewayError::UpstreamTimeout, "x");
        assert_eq!(resp.status(), 504);
        assert!(resp.headers().get("x-team").is_none());
        assert_eq!(body_of(resp).await["message"], "Endpoint request timed out");
    }

    #[test]
    fn error_types_are_api_gateways_and_the_operator_may_replace_them() {
        let r = GatewayResponses::default();
        let kind = |r: &GatewayResponses, e: &GatewayError| {
            r.render(e, "x")
                .headers()
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_string())
        };
        let throttled = GatewayError::Throttled {
            retry_after_secs: 1,
            policy: String::new(),
            state: String::new(),
        };
        for (e, want) in [
            (
                GatewayError::MissingAuthenticationToken,
                Some("MissingAuthenticationTokenException"),
            ),
            (GatewayError::NotFound, Some("NotFoundException")),
            (throttled, Some("TooManyRequestsException")),
            (GatewayError::UpstreamTimeout, None),
        ] {
            assert_eq!(kind(&r, &e).as_deref(), want, "{e:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-amzn-errortype", HeaderValue::from_static("Mine"));
        let mut o = HashMap::new();
        o.insert(
            ResponseType::Default4xx,
            Override {
                status: None,
                message: None,
                headers,
            },
        );
        let r = GatewayResponses::new(&o);
        assert_eq!(
            kind(&r, &GatewayError::MissingAuthenticationToken).as_deref(),
            Some("Mine")
        );
        assert_eq!(
            kind(&r, &GatewayError::UpstreamTimeout),
            None,
            "DEFAULT_4XX's headers stay off 5xx"
        );
    }
}
