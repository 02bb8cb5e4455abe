//! Authorizer types, identity sources and the identity of a request (the cache key).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::event::RequestFacts;
use crate::ConfigError;

/// Where a `REQUEST` authorizer's identity comes from.
///
/// Written in API Gateway's REST syntax (`method.request.header.X`,
/// `method.request.querystring.q`, `stageVariables.v`, `context.x`) or the HTTP API syntax
/// (`$request.header.X`, `$request.querystring.q`, `$stageVariables.v`, `$context.x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header; the name is matched case-insensitively.
    Header(String),
    /// A query-string parameter; the name is matched case-sensitively.
    Query(String),
    /// A stage variable.
    StageVariable(String),
    /// A context variable, one of [`CONTEXT_VARIABLES`].
    Context(String),
}

/// The context variables an identity source may name (`context.x` / `$context.x`).
pub const CONTEXT_VARIABLES: &[&str] = &[
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "extendedRequestId",
    "httpMethod",
    "http.method",
    "http.path",
    "http.protocol",
    "http.sourceIp",
    "http.userAgent",
    "identity.sourceIp",
    "identity.userAgent",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourceId",
    "resourcePath",
    "routeKey",
    "stage",
];

impl IdentitySource {
    /// Parse one identity source expression.
    pub fn parse(expr: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::IdentitySource {
            source_expr: expr.to_string(),
            reason: why.to_string(),
        };
        let (kind, name) = [
            ("method.request.header.", 'h'),
            ("$request.header.", 'h'),
            ("method.request.querystring.", 'q'),
            ("$request.querystring.", 'q'),
            ("stageVariables.", 's'),
            ("$stageVariables.", 's'),
            ("context.", 'c'),
            ("$context.", 'c'),
        ]
        .iter()
        .find_map(|(prefix, kind)| expr.strip_prefix(prefix).map(|name| (*kind, name)))
        .ok_or_else(|| {
            bad(
                "expected method.request.header.X, method.request.querystring.X, \
                 stageVariables.X, context.X or the $request./$stageVariables./$context. forms",
            )
        })?;
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        match kind {
            'h' => {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(bad("not a valid header name"));
                }
                Ok(Self::Header(name.to_string()))
            }
            'q' => Ok(Self::Query(name.to_string())),
            's' => Ok(Self::StageVariable(name.to_string())),
            _ => {
                if !CONTEXT_VARIABLES.contains(&name) {
                    return Err(bad("unknown context variable"));
                }
                Ok(Self::Context(name.to_string()))
            }
        }
    }

    /// The source's values in this request (several for a repeated header or query
    /// parameter, in arrival order); empty when absent.
    pub fn values(&self, facts: &RequestFacts<'_>) -> Vec<String> {
        let all = |pairs: &[(&str, &str)], name: &str, ci: bool| -> Vec<String> {
            pairs
                .iter()
                .filter(|(k, _)| {
                    if ci {
                        k.eq_ignore_ascii_case(name)
                    } else {
                        *k == name
                    }
                })
                .map(|(_, v)| (*v).to_string())
                .collect()
        };
        match self {
            Self::Header(n) => all(facts.headers, n, true),
            Self::Query(n) => all(facts.query, n, false),
            Self::StageVariable(n) => {
                // A stage variable has one value; the last definition wins.
                all(facts.stage_variables, n, false)
                    .pop()
                    .into_iter()
                    .collect()
            }
            Self::Context(n) => context_variable(n, facts).into_iter().collect(),
        }
    }
}

impl fmt::Display for IdentitySource {
    /// The REST API spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(n) => write!(f, "method.request.header.{n}"),
            Self::Query(n) => write!(f, "method.request.querystring.{n}"),
            Self::StageVariable(n) => write!(f, "stageVariables.{n}"),
            Self::Context(n) => write!(f, "context.{n}"),
        }
    }
}

/// The value of a context variable for this request.
fn context_variable(name: &str, f: &RequestFacts<'_>) -> Option<String> {
    let s = |v: &str| Some(v.to_string());
    match name {
        "accountId" => s(f.account_id),
        "apiId" => s(f.api_id),
        "domainName" => s(f.domain_name),
        "domainPrefix" => s(crate::event::domain_prefix(f.domain_name)),
        "requestId" | "extendedRequestId" => s(f.request_id),
        "httpMethod" | "http.method" => s(f.method),
        "http.path" | "path" => s(f.request_path),
        "http.protocol" | "protocol" => s(f.protocol),
        "http.sourceIp" | "identity.sourceIp" => s(f.source_ip),
        "http.userAgent" | "identity.userAgent" => f.user_agent.map(str::to_string),
        "requestTime" => Some(crate::event::clf_time(f.time)),
        "requestTimeEpoch" => Some(crate::event::epoch_millis(f.time).to_string()),
        "resourceId" => s(f.resource_id),
        "resourcePath" => s(f.resource),
        "routeKey" => s(f.route_key),
        "stage" => s(f.stage),
        _ => None,
    }
}

/// A `TOKEN` authorizer's validation expression (`identityValidationExpression`).
///
/// The whole token must match: the pattern is compiled as `^(?:pattern)$`, so
/// `Bearer [A-Za-z0-9._-]+` does not accept `xBearer abc` or `Bearer abc def`.
#[derive(Debug, Clone)]
pub struct Validation {
    pattern: String,
    regex: regex::Regex,
}

impl Validation {
    pub fn new(pattern: &str) -> Result<Self, ConfigError> {
        let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| ConfigError::Validation(e.to_string()))?;
        Ok(Self {
            pattern: pattern.to_string(),
            regex,
        })
    }

    /// Does the whole token match?
    pub fn is_match(&self, token: &str) -> bool {
        self.regex.is_match(token)
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// The authorizer type.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `TOKEN`: the token is one request header's value, optionally validated by a
    /// regular expression before the authorizer is called.
    Token {
        /// The header name (matched case-insensitively).
        header: String,
        validation: Option<Validation>,
    },
    /// `REQUEST`: the identity is the values of every listed source.
    Request { sources: Vec<IdentitySource> },
}

impl Kind {
    /// A `TOKEN` authorizer. `source` is `method.request.header.X`, `$request.header.X`
    /// or a bare header name; `validation` a regular expression the whole token must
    /// match.
    pub fn token(source: &str, validation: Option<&str>) -> Result<Self, ConfigError> {
        let header = match IdentitySource::parse(source) {
            Ok(IdentitySource::Header(h)) => h,
            Ok(_) => {
                return Err(ConfigError::IdentitySource {
                    source_expr: source.to_string(),
                    reason: "a TOKEN authorizer's identity source must be a header".into(),
                })
            }
            Err(e) => {
                if http::HeaderName::from_bytes(source.as_bytes()).is_err() {
                    return Err(e);
                }
                source.to_string()
            }
        };
        let validation = validation.map(Validation::new).transpose()?;
        Ok(Self::Token { header, validation })
    }

    /// A `REQUEST` authorizer with these identity source expressions (may be empty:
    /// then nothing is required, and nothing is cached).
    pub fn request<S: AsRef<str>>(sources: &[S]) -> Result<Self, ConfigError> {
        let sources = sources
            .iter()
            .map(|s| IdentitySource::parse(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::Request { sources })
    }

    /// The token of a `TOKEN` authorizer in this request: the header's single value.
    pub fn token_value<'f>(&self, facts: &RequestFacts<'f>) -> Option<&'f str> {
        let Self::Token { header, .. } = self else {
            return None;
        };
        let mut it = facts
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(header));
        match (it.next(), it.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }
}

/// The identity of a request: what the cache is keyed by. A SHA-256 digest of every
/// identity source value (with lengths, so no two different value lists collide), so the
/// cache holds no tokens and every key has the same small size.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdentityKey {
    digest: [u8; 32],
    /// No identity source: such a request must not be answered from the cache.
    empty: bool,
}

impl IdentityKey {
    fn new(values: &[Vec<String>]) -> Self {
        let mut h = Sha256::new();
        h.update((values.len() as u64).to_be_bytes());
        for source in values {
            h.update((source.len() as u64).to_be_bytes());
            for v in source {
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
        }
        Self {
            digest: h.finalize().into(),
            empty: values.is_empty(),
        }
    }

    /// True for a `REQUEST` authorizer without identity sources: never cached.
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey(")?;
        for b in &self.digest[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// Why a request has no identity. The gateway answers 401 `Unauthorized` without calling
/// the authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The identity source, REST spelling (`method.request.header.Authorization`).
    pub identity_source: String,
    pub reason: MissingReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingReason {
    /// Not in the request.
    Absent,
    /// Present with an empty value.
    Empty,
    /// A `TOKEN` header sent more than once (which token would be meant is ambiguous).
    Repeated,
    /// The token does not match the validation expression.
    Invalid,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            MissingReason::Absent => "is absent",
            MissingReason::Empty => "is empty",
            MissingReason::Repeated => "is repeated",
            MissingReason::Invalid => "does not match the validation expression",
        };
        write!(f, "identity source {} {why}", self.identity_source)
    }
}

impl std::error::Error for Missing {}

/// The identity of a request for this authorizer: for `TOKEN` the token (which must be
/// present once, non-empty and match the validation expression), for `REQUEST` the
/// values of every identity source (each must be present and non-empty).
pub fn identity(kind: &Kind, facts: &RequestFacts<'_>) -> Result<IdentityKey, Missing> {
    match kind {
        Kind::Token { header, validation } => {
            let missing = |reason| Missing {
                identity_source: format!("method.request.header.{header}"),
                reason,
            };
            let count = facts
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(header))
                .count();
            let token = match (count, kind.token_value(facts)) {
                (0, _) => return Err(missing(MissingReason::Absent)),
                (1, Some(t)) => t,
                _ => return Err(missing(MissingReason::Repeated)),
            };
            if token.is_empty() {
                return Err(missing(MissingReason::Empty));
            }
            if validation.as_ref().is_some_and(|v| !v.is_match(token)) {
                return Err(missing(MissingReason::Invalid));
            }
            Ok(IdentityKey::new(&[vec![token.to_string()]]))
        }
        Kind::Request { sources } => {
            let mut all = Vec::with_capacity(sources.len());
            for s in sources {
                let values = s.values(facts);
                let reason = if values.is_empty() {
                    Some(MissingReason::Absent)
                } else if values.iter().all(String::is_empty) {
                    Some(MissingReason::Empty)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(Missing {
                        identity_source: s.to_string(),
                        reason,
                    });
                }
                all.push(values);
            }
            Ok(IdentityKey::new(&all))
        }
    }
}
