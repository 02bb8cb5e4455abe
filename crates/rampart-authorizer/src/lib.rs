//! API Gateway Lambda (custom) authorizers for Rampart: the contract between the gateway's
//! authenticate stage and an authorizer, exactly as API Gateway speaks it, so an
//! authorizer written for AWS works unchanged.
//!
//! # The flow
//!
//! ```text
//! RequestFacts ─► identity() ──Missing──────────────────────────────► 401 Unauthorized
//!                     │ IdentityKey
//!                     ├─► Cache::get ──hit──────────────────────────► Outcome::Answer
//!                     ▼ miss
//!                 event() ─► Transport::invoke ─► parse_response() ─► Outcome / AuthorizerError
//!                                                        │ Answer
//!                                                        └─► Cache::insert
//! ```
//!
//! [`authorize`] runs it; the pieces are public for other flows.
//!
//! - [`Kind`]: `TOKEN` (one header; optional [`Validation`] regex the whole token must
//!   match, else 401 without a call) or `REQUEST` ([`IdentitySource`]s: headers, query
//!   parameters, stage variables, context variables, in REST syntax
//!   `method.request.header.X` or HTTP API syntax `$request.header.X`).
//! - [`Format`]: `Policy` sends the REST v1 events (`TOKEN`:
//!   `{"type","authorizationToken","methodArn"}`; `REQUEST`: `type, methodArn, resource,
//!   path, httpMethod, headers, multiValueHeaders, queryStringParameters,
//!   multiValueQueryStringParameters, pathParameters, stageVariables, requestContext`) and
//!   expects `{"principalId", "policyDocument", "context"?, "usageIdentifierKey"?}`;
//!   `Simple` sends the HTTP API payload 2.0 `REQUEST` event and expects
//!   `{"isAuthorized": bool, "context"?: {...}}`.
//! - [`identity`]: the request's [`IdentityKey`] (the cache key), or [`Missing`] when a
//!   source is absent, empty, repeated (`TOKEN`) or fails validation: 401, no call.
//! - [`event`]: the event JSON from [`RequestFacts`].
//! - [`Transport`]: how the event reaches the authorizer; [`HttpTransport`] POSTs it as
//!   JSON over `http://` or `https://` (custom roots) with a timeout and a 1 MiB reply
//!   bound. A function host implements the same trait.
//! - [`parse_response`]: [`Outcome::Answer`] (a [`Response`] still to be evaluated),
//!   [`Outcome::Unauthorized`] (HTTP 401, the JSON string `"Unauthorized"`, or
//!   `{"errorMessage":"Unauthorized"}`: the Lambda convention), or an [`AuthorizerError`]
//!   (timeout, connection error, other non-2xx, a function error, malformed JSON or
//!   shape): the gateway answers 500 and never allows.
//! - [`Cache`]: responses by identity; TTL 300 s by default, 0 disables, at most 3600 s;
//!   bounded (10,000 entries by default, oldest evicted); the clock is passed in.
//!
//! # Evaluating an answer
//!
//! An [`Outcome::Answer`] is not an allow. In the policy form, [`Verdict::Policy`] holds
//! the returned policy compiled as an identity policy: evaluate it against the request's
//! method ARN (`execute-api:Invoke`), e.g. as the identity side of
//! `rampart_iam::authorize(AuthType::LambdaAuthorizer, ...)`, and answer 403 unless it
//! allows. In the simple form, [`Verdict::Simple`]`(false)` answers 403. `context` values
//! are passed on as returned (numbers and booleans are not yet stringified; API Gateway
//! stringifies them in `requestContext.authorizer` of REST proxy events).
//!
//! # Caching pitfall
//!
//! The cache stores the parsed response and the gateway re-evaluates its policy for every
//! method ARN, as API Gateway does. A policy scoped to the resource of the first request
//! (`arn:...:abc/prod/GET/pets/1`) is therefore reused for the same identity's next
//! request to another resource (`.../GET/pets/2`) — and denies it, for the whole TTL.
//! An authorizer whose results are cached must return policies covering everything the
//! identity may call, with wildcards (`arn:aws:execute-api:region:account:api/prod/*/*`
//! or `.../*`), or the TTL must be 0. Likewise a simple response is a blanket answer for
//! every route: add `$context.routeKey` to the identity sources when it depends on the
//! route. A `REQUEST` authorizer with no identity sources is never cached.

mod cache;
mod event;
mod response;
mod source;
mod transport;

use std::time::{Duration, Instant};

pub use cache::Cache;
pub use event::{event, Pairs, RequestFacts};
pub use response::{parse_response, Outcome, Response, Verdict, POLICY_NAME};
pub use source::{
    identity, IdentityKey, IdentitySource, Kind, Missing, MissingReason, Validation,
    CONTEXT_VARIABLES,
};
pub use transport::{HttpOptions, HttpTransport, InvokeFuture, Reply, Transport};

/// The response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// IAM policy responses; REST v1 events.
    Policy,
    /// HTTP API simple responses (`enableSimpleResponses`); payload 2.0 events.
    Simple,
}

/// The authorizer failed: the gateway answers 500 and never allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizerError {
    #[error("the authorizer did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the authorizer: {0}")]
    Connect(String),
    #[error("exchange with the authorizer failed: {0}")]
    Transport(String),
    #[error("the authorizer answered HTTP {0}")]
    Status(u16),
    #[error("the authorizer's response exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the authorizer failed: {0}")]
    Function(String),
    #[error("malformed authorizer response: {0}")]
    Malformed(String),
}

/// An authorizer configuration error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("identity source `{source_expr}`: {reason}")]
    IdentitySource { source_expr: String, reason: String },
    #[error("invalid validation expression: {0}")]
    Validation(String),
    #[error("result TTL {0:?} exceeds the maximum of 3600 s")]
    Ttl(Duration),
    #[error("invalid authorizer URL {0}")]
    Url(String),
    #[error("TLS: {0}")]
    Tls(String),
}

/// The whole flow for one request: identity (missing → [`Outcome::Unauthorized`], no
/// call), the cache, the call, the parse; a fresh answer is cached from `now`.
/// Unauthorized answers and errors are not cached.
pub async fn authorize(
    kind: &Kind,
    format: Format,
    facts: &RequestFacts<'_>,
    cache: &Cache,
    transport: &dyn Transport,
    now: Instant,
) -> Result<Outcome, AuthorizerError> {
    let Ok(key) = identity(kind, facts) else {
        return Ok(Outcome::Unauthorized);
    };
    if let Some(hit) = cache.get(&key, now) {
        return Ok(Outcome::Answer(hit));
    }
    let ev = event(kind, format, facts);
    let reply = transport.invoke(&ev).await?;
    let outcome = parse_response(reply.status, &reply.body, format)?;
    if let Outcome::Answer(r) = &outcome {
        cache.insert(key, r.clone(), now);
    }
    Ok(outcome)
}
