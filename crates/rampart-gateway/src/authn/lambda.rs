//! `lambda` authorizers: API Gateway's custom (Lambda) authorizer contract
//! (`rampart-authorizer`) over HTTP, TOKEN and REQUEST kinds, policy or simple responses,
//! results cached by identity-source values.
//!
//! Before the authorizer is called, an explicit Deny in the API's resource policy answers
//! at once (as API Gateway's pre-authorization check). Then: a missing identity source or
//! an `Unauthorized` answer is 401; a timeout, connection error or malformed answer is 500
//! (`AUTHORIZER_FAILURE`, never an allow); a returned policy is evaluated by the authorize
//! stage against the method ARN (so a cached policy is re-evaluated for each request); a
//! simple `isAuthorized: false` is 403. The `context` values can be sent upstream as
//! configured headers (client headers of those names are removed first).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rampart_authorizer::{Cache, Format, Kind, Outcome, RequestFacts, Verdict};

use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;
use crate::route::Matched;

pub struct LambdaAuthorizer {
    pub name: String,
    pub kind: Kind,
    pub format: Format,
    pub cache: Cache,
    pub transport: Box<dyn rampart_authorizer::Transport>,
    /// Upstream header ← context key (`principalId` for the principal).
    pub context_headers: Vec<(http::HeaderName, String)>,
}

impl std::fmt::Debug for LambdaAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaAuthorizer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl LambdaAuthorizer {
    pub fn credentials_present(&self, parts: &http::request::Parts) -> bool {
        match &self.kind {
            Kind::Token { header, .. } => parts.headers.contains_key(header.as_str()),
            // REQUEST sources are checked when the facts are built.
            Kind::Request { .. } => true,
        }
    }
}

pub async fn authenticate(
    a: &LambdaAuthorizer,
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: &http::request::Parts,
    m: &Matched<'_>,
) -> Result<(), GatewayError> {
    let route = m.route;
    let stage = m.stage.unwrap_or("$default");
    let method_arn = route
        .authz
        .arn
        .method_arn(stage, m.arn_method(&parts.method), m.arn_path());
    if a.format == Format::Policy
        && crate::authz::pre_authorizer_denied(cfg, ctx, parts, route, &method_arn)
    {
        return Err(GatewayError::AccessDenied {
            message: rampart_iam::denial_message(
                rampart_iam::AuthType::LambdaAuthorizer,
                rampart_iam::Decision::ExplicitDeny,
                &rampart_iam::Caller::anonymous(),
                &method_arn,
            ),
        });
    }
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let raw_query = parts.uri.query().unwrap_or("");
    let query_owned: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let query: Vec<(&str, &str)> = query_owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let params_owned: Vec<(String, String)> = m
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), v.decoded()))
        .collect();
    let params: Vec<(&str, &str)> = params_owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let source_ip = ctx.client_ip.to_string();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(parts.uri.host())
        .unwrap_or("");
    let protocol = match parts.version {
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let facts = RequestFacts {
        method: parts.method.as_str(),
        resource: &route.template,
        resource_id: &route.id,
        route_key: &route.id,
        path: m.resource_path,
        request_path: parts.uri.path(),
        raw_query,
        headers: &headers,
        query: &query,
        path_params: &params,
        stage,
        stage_variables: &[],
        request_id: ctx.request_id.as_str(),
        source_ip: &source_ip,
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        account_id: &route.authz.arn.account,
        api_id: &route.authz.arn.api_id,
        method_arn: &method_arn,
        protocol,
        domain_name: host,
        time: SystemTime::now(),
    };
    let outcome = rampart_authorizer::authorize(
        &a.kind,
        a.format,
        &facts,
        &a.cache,
        a.transport.as_ref(),
        Instant::now(),
    )
    .await
    .map_err(|e| GatewayError::AuthorizerFailure {
        detail: format!("authorizer {}: {e}", a.name),
    })?;
    let resp = match outcome {
        Outcome::Unauthorized => {
            return Err(GatewayError::Unauthorized {
                detail: format!("authorizer {}: unauthorized", a.name),
            })
        }
        Outcome::Answer(r) => r,
    };
    match &resp.verdict {
        Verdict::Simple(false) => {
            return Err(GatewayError::AccessDenied {
                message: "Forbidden".into(),
            })
        }
        Verdict::Simple(true) => {
            // A yes for this request: the identity side allows it, and the resource policy
            // (table A) can still deny it explicitly.
            ctx.auth_type = rampart_iam::AuthType::LambdaAuthorizer;
            ctx.identity_policies = allow_all();
        }
        Verdict::Policy(set) => {
            ctx.auth_type = rampart_iam::AuthType::LambdaAuthorizer;
            ctx.identity_policies = Some(Arc::clone(set));
        }
    }
    ctx.principal = resp.principal_id.clone();
    ctx.usage_identifier_key = resp.usage_identifier_key.clone();
    for (header, key) in &a.context_headers {
        let value = if key == "principalId" {
            resp.principal_id.clone()
        } else {
            resp.context.get(key).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        let value = value.and_then(|v| http::HeaderValue::from_str(&v).ok());
        ctx.upstream_headers.push((header.clone(), value));
    }
    Ok(())
}

/// The identity side of a simple `isAuthorized: true` answer.
fn allow_all() -> Option<Arc<rampart_iam::PolicySet>> {
    static SET: std::sync::OnceLock<Option<Arc<rampart_iam::PolicySet>>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]});
        rampart_iam::parse_value(
            "authorizer (isAuthorized)",
            &doc,
            &rampart_iam::ParseOptions::identity(),
        )
        .ok()
        .map(|p| Arc::new(rampart_iam::PolicySet::new(vec![p])))
    })
    .clone()
}

/// Percent-decode a query component (`+` is a space).
fn decode(s: &str) -> String {
    let hexval = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hexval(b[i + 1]), hexval(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_decoding() {
        assert_eq!(super::decode("a%20b+c%2"), "a b c%2");
        assert_eq!(super::decode("%e2%82%ac%zz%"), "€%zz%");
        assert_eq!(super::decode("é%"), "é%");
    }
}
