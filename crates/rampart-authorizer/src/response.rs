//! The authorizer's answer: policy responses (REST, HTTP API) and simple responses
//! (HTTP API `enableSimpleResponses`).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{AuthorizerError, Format};

/// What the authorizer answered.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A well-formed answer. It still has to be evaluated: a policy against the method ARN
    /// (it may deny), a simple response by its `isAuthorized`. Never treat this variant
    /// itself as "allowed".
    Answer(Arc<Response>),
    /// The authorizer said `Unauthorized` (or the request had no identity): the gateway
    /// answers 401.
    Unauthorized,
}

/// A parsed, well-formed authorizer response.
#[derive(Debug, Clone)]
pub struct Response {
    /// `principalId` (required in the policy form; `None` for simple responses).
    pub principal_id: Option<String>,
    pub verdict: Verdict,
    /// `context`: in the policy form only strings, numbers and booleans; in a simple
    /// response any JSON.
    pub context: Map<String, Value>,
    /// `usageIdentifierKey`: the API key when the API's key source is `AUTHORIZER`.
    pub usage_identifier_key: Option<String>,
}

/// The decision part of a response.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// `policyDocument`, parsed as an identity policy and compiled, ready to be evaluated
    /// against each method ARN (e.g. as the identity side of `rampart_iam::authorize` with
    /// `AuthType::LambdaAuthorizer`).
    Policy(Arc<rampart_iam::PolicySet>),
    /// `isAuthorized` of a simple response: `false` answers 403.
    Simple(bool),
}

impl Response {
    /// The returned policy, in the policy form.
    pub fn policy(&self) -> Option<&rampart_iam::Policy> {
        match &self.verdict {
            Verdict::Policy(set) => set.policies().first(),
            Verdict::Simple(_) => None,
        }
    }

    /// `isAuthorized`, in the simple form.
    pub fn is_authorized(&self) -> Option<bool> {
        match self.verdict {
            Verdict::Simple(b) => Some(b),
            Verdict::Policy(_) => None,
        }
    }
}

/// The name under which the returned policy appears in traces.
pub const POLICY_NAME: &str = "authorizer";

/// Read an authorizer's reply.
///
/// - HTTP 401, the JSON string `"Unauthorized"` or an error object whose `errorMessage`
///   is exactly `Unauthorized` → [`Outcome::Unauthorized`].
/// - Any other non-2xx status, another `errorMessage` (a function error), a body that is
///   not JSON or not of `format`'s shape → [`AuthorizerError`] (the gateway answers 500).
pub fn parse_response(
    status: u16,
    body: &[u8],
    format: Format,
) -> Result<Outcome, AuthorizerError> {
    if status == 401 {
        return Ok(Outcome::Unauthorized);
    }
    if !(200..300).contains(&status) {
        return Err(AuthorizerError::Status(status));
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let value = rampart_iam::parse_json(text).map_err(|e| malformed(&format!("not JSON: {e}")))?;
    let obj = match value {
        Value::String(s) if s == "Unauthorized" => return Ok(Outcome::Unauthorized),
        Value::Object(o) => o,
        _ => return Err(malformed("the response must be a JSON object")),
    };
    if let Some(msg) = obj.get("errorMessage") {
        return match msg {
            Value::String(s) if s == "Unauthorized" => Ok(Outcome::Unauthorized),
            Value::String(s) => Err(AuthorizerError::Function(truncate(s))),
            _ => Err(AuthorizerError::Function(
                "(errorMessage is not a string)".into(),
            )),
        };
    }
    let response = match format {
        Format::Policy => policy_response(&obj)?,
        Format::Simple => simple_response(&obj)?,
    };
    Ok(Outcome::Answer(Arc::new(response)))
}

fn malformed(why: &str) -> AuthorizerError {
    AuthorizerError::Malformed(why.to_string())
}

/// Function error messages are logged, not echoed; keep them short.
fn truncate(s: &str) -> String {
    const MAX: usize = 256;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An optional member: absent and `null` are the same.
fn opt<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn policy_response(obj: &Map<String, Value>) -> Result<Response, AuthorizerError> {
    let principal_id = match obj.get("principalId") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(malformed("principalId must be a string")),
        None => return Err(malformed("principalId is missing")),
    };
    let doc = match opt(obj, "policyDocument") {
        Some(d @ Value::Object(_)) => d,
        Some(_) => return Err(malformed("policyDocument must be an object")),
        None => return Err(malformed("policyDocument is missing")),
    };
    let policy = rampart_iam::parse_value(POLICY_NAME, doc, &rampart_iam::ParseOptions::identity())
        .map_err(|findings| {
            let first = findings
                .iter()
                .find(|f| f.severity == rampart_iam::Severity::Error)
                .or(findings.first())
                .map(|f| format!(": {f}"))
                .unwrap_or_default();
            malformed(&format!("policyDocument is not a valid policy{first}"))
        })?;
    let context = match opt(obj, "context") {
        None => Map::new(),
        Some(Value::Object(m)) => {
            if let Some((k, _)) = m
                .iter()
                .find(|(_, v)| !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
            {
                return Err(malformed(&format!(
                    "context.{k} must be a string, number or boolean"
                )));
            }
            m.clone()
        }
        Some(_) => return Err(malformed("context must be an object")),
    };
    let usage_identifier_key = match opt(obj, "usageIdentifierKey") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed("usageIdentifierKey must be a string")),
    };
    Ok(Response {
        principal_id: Some(principal_id),
        verdict: Verdict::Policy(Arc::new(rampart_iam::PolicySet::new(vec![policy]))),
        context,
        usage_identifier_key,
    })
}

fn simple_response(obj: &Map<String, Value>) -> Result<Response, AuthorizerError> {
    let is_authorized = match obj.get("isAuthorized") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(malformed("isAuthorized must be a boolean")),
        None => return Err(malformed("isAuthorized is missing")),
    };
    let context = match opt(obj, "context") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(malformed("context must be an object")),
    };
    Ok(Response {
        principal_id: None,
        verdict: Verdict::Simple(is_authorized),
        context,
        usage_identifier_key: None,
    })
}
