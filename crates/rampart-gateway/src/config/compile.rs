//! Raw configuration in, validated configuration out. Every check happens here, once, and
//! every error is collected (not just the first) with the path of its field. Nothing on
//! the request path checks configuration again.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use ipnet::IpNet;

use super::raw::*;
use super::Compiled;
use crate::integrate::http::{upstream_tls, HttpIntegration, HttpSettings, UrlPart};
use crate::integrate::{Integration, MockIntegration};
use crate::listener::tls::{self, ClientAuthMode, ClientAuthSpec, TlsSpec};
use crate::listener::{Limits, ListenerSpec};
use crate::record::access_log::{AccessLogSpec, Output};
use crate::respond::{GatewayResponses, Override, ResponseType};
use crate::route::{self, MethodMatch, Route, RouteTable, Router, Segment};

/// Default upstream timeout, as API Gateway's integration timeout.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(29);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Request id policy.
#[derive(Debug, Clone)]
pub struct RequestIdPolicy {
    pub header: HeaderName,
    pub trusted_proxies: Vec<IpNet>,
}

impl RequestIdPolicy {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

/// Errors found while compiling, each with the path of its field.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<(String, String)>, pub Vec<(String, String)>);

impl Errors {
    /// A finding that does not stop the configuration (a lint); `rampart validate` prints
    /// it and `serve` logs it.
    pub(crate) fn warn(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.1.push((path.into(), msg.into()));
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.0.push((path.into(), msg.into()));
    }
}

fn rate_limit(e: &mut Errors, path: &str, t: RawThrottle) -> Option<rampart_limiter::RateLimit> {
    rampart_limiter::RateLimit::new(t.rate, t.burst)
        .map_err(|m| e.push(path, m.to_string()))
        .ok()
}

/// Partition, region and account of the `execute-api` ARNs.
struct Aws {
    partition: String,
    region: String,
    account: String,
}

fn compile_aws(e: &mut Errors, a: &RawAws) -> Aws {
    let word = |e: &mut Errors, path: &str, v: &Option<String>, dflt: &str| match v {
        Some(s)
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            e.push(
                path,
                format!("`{s}` is not valid here (letters, digits, `-`)"),
            );
            dflt.to_string()
        }
        Some(s) => s.clone(),
        None => dflt.to_string(),
    };
    let account = match &a.account_id {
        Some(id) if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) => {
            e.push(
                "server.aws.account_id",
                format!("`{id}` is not a 12-digit account id"),
            );
            "000000000000".to_string()
        }
        Some(id) => id.clone(),
        None => "000000000000".to_string(),
    };
    Aws {
        partition: word(e, "server.aws.partition", &a.partition, "aws"),
        region: word(e, "server.aws.region", &a.region, "us-east-1"),
        account,
    }
}

/// Who may call a route: `public: true`, or the authorizers (route, else API default).
/// Secure by default: a route with neither is an error.
fn compile_route_auth(
    e: &mut Errors,
    rp: &str,
    api: &RawApi,
    r: &RawRoute,
    identities: &crate::authn::identity::IdentityStore,
    named: &HashMap<String, crate::authn::Authorizer>,
) -> Option<crate::authn::RouteAuth> {
    use crate::authn::{Authorizer, RouteAuth};
    if r.public == Some(true) && r.authorizers.is_some() {
        e.push(
            rp.to_string(),
            "set either `public: true` or `authorizers`, not both",
        );
        return None;
    }
    let (public, names, path) = match (r.public, &r.authorizers) {
        (Some(p), None) => (p, None, format!("{rp}.public")),
        (_, Some(n)) => (false, Some(n), format!("{rp}.authorizers")),
        (None, None) => match (api.public, &api.authorizers) {
            (Some(p), None) => (p, None, rp.to_string()),
            (_, Some(n)) => (false, Some(n), rp.to_string()),
            (None, None) => (false, None, rp.to_string()),
        },
    };
    if public {
        return Some(RouteAuth::Public);
    }
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        e.push(
            path,
            "no authorizers: give the route (or its API) `authorizers: [...]`, or declare it `public: true`",
        );
        return None;
    };
    let mut list = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match n.as_str() {
            "aws_iam" => {
                if identities.is_empty() {
                    e.warn(
                        path.clone(),
                        "aws_iam route, but no identity has an access key: every request will be refused",
                    );
                }
                list.push(Authorizer::AwsIam)
            }
            other => match named.get(other) {
                Some(a) => list.push(a.clone()),
                None => {
                    let mut known: Vec<&str> = named.keys().map(String::as_str).collect();
                    known.sort();
                    known.insert(0, "aws_iam");
                    e.push(
                        if r.authorizers.is_some() {
                            format!("{rp}.authorizers[{i}]")
                        } else {
                            path.clone()
                        },
                        format!("unknown authorizer `{other}` (known: {})", known.join(", ")),
                    )
                }
            },
        }
    }
    (list.len() == names.len()).then_some(RouteAuth::Require(list))
}

/// Named authorizers (`authorizers:`), compiled once.
fn compile_authorizers(
    e: &mut Errors,
    raw: &std::collections::BTreeMap<String, RawAuthorizer>,
    base: &Path,
) -> HashMap<String, crate::authn::Authorizer> {
    use crate::authn::mtls::{load_crl, MtlsAuthorizer, Rule};
    use crate::authn::Authorizer;
    let mut out = HashMap::new();
    for (name, a) in raw {
        let p = format!("authorizers.{name}");
        if name == "aws_iam" || name.is_empty() {
            e.push(p, "`aws_iam` is built in; choose another name");
            continue;
        }
        match a {
            RawAuthorizer::Mtls(m) => {
                if m.allow.is_empty() {
                    e.push(format!("{p}.allow"), "needs at least one rule");
                }
                let mut rules = Vec::new();
                for (i, r) in m.allow.iter().enumerate() {
                    if r.subject.is_none() && r.san.is_none() && r.fingerprint.is_none() {
                        e.push(
                            format!("{p}.allow[{i}]"),
                            "give `subject`, `san` or `fingerprint` (or several: all must match)",
                        );
                        continue;
                    }
                    let fingerprint = r
                        .fingerprint
                        .as_ref()
                        .map(|f| f.replace(':', "").to_ascii_lowercase());
                    if let Some(f) = &fingerprint {
                        if f.len() != 64 || !f.bytes().all(|b| b.is_ascii_hexdigit()) {
                            e.push(
                                format!("{p}.allow[{i}].fingerprint"),
                                "a SHA-256 fingerprint is 64 hex digits",
                            );
                        }
                    }
                    rules.push(Rule {
                        subject: r.subject.as_deref().map(rampart_iam::glob::Glob::new),
                        san: r.san.as_deref().map(rampart_iam::glob::Glob::new),
                        fingerprint,
                        principal: r.principal.clone(),
                    });
                }
                let revoked = match &m.crl {
                    None => Default::default(),
                    Some(f) => load_crl(&resolve(base, f)).unwrap_or_else(|msg| {
                        e.push(format!("{p}.crl"), msg);
                        Default::default()
                    }),
                };
                out.insert(
                    name.clone(),
                    Authorizer::Mtls(Arc::new(MtlsAuthorizer {
                        name: name.clone(),
                        rules,
                        revoked,
                    })),
                );
            }
            RawAuthorizer::Lambda(l) => {
                if let Some(a) = compile_lambda(e, &p, name, l, base) {
                    out.insert(name.clone(), Authorizer::Lambda(Arc::new(a)));
                }
            }
            RawAuthorizer::Jwt(j) => {
                if let Some(a) = compile_jwt(e, &p, name, j, base) {
                    out.insert(name.clone(), Authorizer::Jwt(Arc::new(a)));
                }
            }
        }
    }
    out
}

fn compile_jwt(
    e: &mut Errors,
    p: &str,
    name: &str,
    j: &RawJwt,
    base: &Path,
) -> Option<crate::authn::jwt::JwtAuthorizer> {
    use rampart_jwt::{IssuerConfig, KeySource, TokenUse};
    let before = e.0.len();
    let keys = match (&j.jwks_url, &j.jwks) {
        (Some(_), Some(_)) => {
            e.push(p.to_string(), "set either `jwks_url` or `jwks`, not both");
            KeySource::None
        }
        (Some(u), None) => KeySource::JwksUrl(u.clone()),
        (None, Some(k)) => KeySource::Static(k.clone()),
        (None, None) => KeySource::discovery(&j.issuer),
    };
    let mut cfg = IssuerConfig::new(j.issuer.clone(), keys, j.audiences.clone());
    cfg.token_use = match j.token_use.as_deref() {
        None => None,
        Some("id") => Some(TokenUse::Id),
        Some("access") => Some(TokenUse::Access),
        Some(other) => {
            e.push(
                format!("{p}.token_use"),
                format!("`{other}` is not `id` or `access`"),
            );
            None
        }
    };
    if let Some(l) = &j.leeway {
        match parse_duration(l) {
            Ok(d) => cfg.leeway = d,
            Err(m) => e.push(format!("{p}.leeway"), m),
        }
    }
    cfg.hs256_secret = j.hs256_secret.as_ref().map(|s| s.as_bytes().to_vec());
    if let Some(ca) = &j.ca {
        match std::fs::read(resolve(base, ca)) {
            Ok(pem) => cfg.root_certificates_pem = Some(pem),
            Err(err) => e.push(format!("{p}.ca"), format!("cannot read {ca}: {err}")),
        }
    }
    cfg.dangerous_allow_http = j.dangerous_allow_http;
    let verifier = rampart_jwt::Verifier::new(vec![cfg])
        .map_err(|err| e.push(p.to_string(), err.message))
        .ok();
    let header = header_name(
        e,
        &format!("{p}.header"),
        j.header.as_deref().unwrap_or("authorization"),
    );
    let mut claim_headers = Vec::new();
    for (h, claim) in &j.claim_headers {
        if let Some(n) = header_name(e, &format!("{p}.claim_headers.{h}"), h) {
            claim_headers.push((n, claim.clone()));
        }
    }
    if e.0.len() > before {
        return None;
    }
    Some(crate::authn::jwt::JwtAuthorizer {
        name: name.to_string(),
        verifier: verifier?,
        header: header?,
        claim_headers,
        cache: Default::default(),
    })
}

fn compile_lambda(
    e: &mut Errors,
    p: &str,
    name: &str,
    l: &RawLambda,
    base: &Path,
) -> Option<crate::authn::lambda::LambdaAuthorizer> {
    use rampart_authorizer::{Cache, Format, HttpOptions, HttpTransport, Kind};
    let before = e.0.len();
    let kind = match l.kind.as_str() {
        "token" => match l.identity_source.as_slice() {
            [one] => Kind::token(one, l.validation.as_deref())
                .map_err(|m| e.push(format!("{p}.identity_source"), m.to_string()))
                .ok(),
            _ => {
                e.push(
                    format!("{p}.identity_source"),
                    "a token authorizer has exactly one identity source (a header)",
                );
                None
            }
        },
        "request" => {
            if l.validation.is_some() {
                e.push(format!("{p}.validation"), "only token authorizers validate");
            }
            Kind::request(&l.identity_source)
                .map_err(|m| e.push(format!("{p}.identity_source"), m.to_string()))
                .ok()
        }
        other => {
            e.push(
                format!("{p}.kind"),
                format!("`{other}` is not `token` or `request`"),
            );
            None
        }
    };
    let format = match l.response.as_deref() {
        None | Some("policy") => Format::Policy,
        Some("simple") => Format::Simple,
        Some(other) => {
            e.push(
                format!("{p}.response"),
                format!("`{other}` is not `policy` or `simple`"),
            );
            Format::Policy
        }
    };
    // 0s is allowed here: it turns caching off.
    let ttl = match &l.ttl {
        None => Cache::DEFAULT_TTL,
        Some(t) => parse_duration(t).unwrap_or_else(|m| {
            e.push(format!("{p}.ttl"), m);
            Cache::DEFAULT_TTL
        }),
    };
    let cache = Cache::new(ttl, Cache::DEFAULT_CAPACITY)
        .map_err(|m| e.push(format!("{p}.ttl"), m.to_string()))
        .ok();
    let timeout = duration(
        e,
        &format!("{p}.timeout"),
        &l.timeout,
        Duration::from_secs(10),
    );
    let roots =
        l.ca.as_ref()
            .and_then(|ca| match tls::load_certs(&resolve(base, ca)) {
                Ok(c) => Some(c),
                Err(m) => {
                    e.push(format!("{p}.ca"), m);
                    None
                }
            });
    let transport = HttpTransport::new(
        &l.url,
        HttpOptions {
            timeout,
            roots,
            ..HttpOptions::default()
        },
    )
    .map_err(|m| e.push(format!("{p}.url"), m.to_string()))
    .ok();
    let mut context_headers = Vec::new();
    for (h, key) in &l.context_headers {
        if let Some(n) = header_name(e, &format!("{p}.context_headers.{h}"), h) {
            context_headers.push((n, key.clone()));
        }
    }
    if e.0.len() > before {
        return None;
    }
    Some(crate::authn::lambda::LambdaAuthorizer {
        name: name.to_string(),
        kind: kind?,
        format,
        cache: cache?,
        transport: Box::new(transport?),
        context_headers,
    })
}

/// The identity store: users and roles, their keys (decrypted with the master key), tags
/// and identity policies.
fn compile_identities(
    e: &mut Errors,
    raw: Option<&RawIdentities>,
    aws: &Aws,
    base: &Path,
) -> Arc<crate::authn::identity::IdentityStore> {
    use crate::authn::identity::{unique_id, AccessKey, Identity, IdentityStore, Kind, MasterKey};
    let mut store = IdentityStore::default();
    let Some(raw) = raw else {
        return Arc::new(store);
    };
    let key_text = match (&raw.master_key, &raw.master_key_file) {
        (Some(_), Some(_)) => {
            e.push(
                "identities",
                "set either `master_key` or `master_key_file`, not both",
            );
            None
        }
        (Some(k), None) => Some((k.clone(), "identities.master_key")),
        (None, Some(f)) => match std::fs::read_to_string(resolve(base, f)) {
            Ok(t) => Some((t, "identities.master_key_file")),
            Err(err) => {
                e.push(
                    "identities.master_key_file",
                    format!("cannot read {f}: {err}"),
                );
                None
            }
        },
        (None, None) => None,
    };
    let master = key_text.and_then(|(t, p)| match MasterKey::from_base64(&t) {
        Ok(k) => Some(k),
        Err(m) => {
            e.push(p, m);
            None
        }
    });
    let mut names = HashSet::new();
    for (kind, list, section) in [
        (Kind::User, &raw.users, "users"),
        (Kind::Role, &raw.roles, "roles"),
    ] {
        for (i, u) in list.iter().enumerate() {
            let p = format!("identities.{section}[{i}]");
            if u.name.is_empty()
                || !u
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
            {
                e.push(
                    format!("{p}.name"),
                    format!("`{}` is not a valid IAM name", u.name),
                );
            }
            let account = match &u.account_id {
                Some(a) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => a.clone(),
                Some(a) => {
                    e.push(
                        format!("{p}.account_id"),
                        format!("`{a}` is not a 12-digit account id"),
                    );
                    aws.account.clone()
                }
                None => aws.account.clone(),
            };
            let path = u.path.clone().unwrap_or_else(|| "/".into());
            if !path.starts_with('/') || !path.ends_with('/') {
                e.push(format!("{p}.path"), "an IAM path starts and ends with `/`");
            }
            let kind_name = if kind == Kind::User { "user" } else { "role" };
            let arn = format!(
                "arn:{}:iam::{account}:{kind_name}{path}{}",
                aws.partition, u.name
            );
            if !names.insert(arn.clone()) {
                e.push(
                    format!("{p}.name"),
                    format!("duplicate {kind_name} `{}`", u.name),
                );
            }
            let mut policies = Vec::new();
            let mut docs: Vec<(String, serde_json::Value)> = u
                .policies
                .iter()
                .enumerate()
                .map(|(j, v)| (format!("{p}.policies[{j}]"), v.clone()))
                .collect();
            for (j, f) in u.policy_files.iter().enumerate() {
                let fp = format!("{p}.policy_files[{j}]");
                let file = resolve(base, f);
                match std::fs::read_to_string(&file)
                    .map_err(|err| format!("cannot read {}: {err}", file.display()))
                    .and_then(|t| {
                        rampart_iam::parse_json(&t)
                            .map_err(|m| format!("{}: not valid JSON: {m}", file.display()))
                    }) {
                    Ok(v) => docs.push((fp, v)),
                    Err(m) => e.push(fp, m),
                }
            }
            for (dp, doc) in docs {
                match rampart_iam::parse_value(&dp, &doc, &rampart_iam::ParseOptions::identity()) {
                    Ok(pol) => {
                        for w in &pol.warnings {
                            e.warn(
                                format!("{dp}.{}", w.path),
                                format!("{} [{}]", w.message, w.code),
                            );
                        }
                        policies.push(pol);
                    }
                    Err(findings) => {
                        for f in findings
                            .iter()
                            .filter(|f| f.severity == rampart_iam::Severity::Error)
                        {
                            let fp = if f.path.is_empty() {
                                dp.clone()
                            } else {
                                format!("{dp}.{}", f.path)
                            };
                            e.push(fp, format!("{} [{}]", f.message, f.code));
                        }
                    }
                }
            }
            let identity = Arc::new(Identity {
                kind,
                name: u.name.clone(),
                user_id: unique_id(kind, &arn),
                arn,
                account,
                tags: u.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                policies: (!policies.is_empty())
                    .then(|| Arc::new(rampart_iam::PolicySet::new(policies))),
            });
            store.add_identity(identity.clone());
            for (j, k) in u.access_keys.iter().enumerate() {
                let kp = format!("{p}.access_keys[{j}]");
                if k.id.len() < 16
                    || k.id.len() > 128
                    || !k
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    e.push(
                        format!("{kp}.id"),
                        "an access key id is 16 to 128 upper-case letters and digits",
                    );
                    continue;
                }
                if store.contains(&k.id) {
                    e.push(
                        format!("{kp}.id"),
                        format!("duplicate access key id `{}`", k.id),
                    );
                    continue;
                }
                let Some(mk) = &master else {
                    e.push(
                        format!("{kp}.secret"),
                        "access keys need `identities.master_key` (or `master_key_file`) to decrypt their secrets",
                    );
                    continue;
                };
                match mk.decrypt(&k.id, &k.secret) {
                    Ok(secret) => store.insert(
                        k.id.clone(),
                        AccessKey {
                            identity: identity.clone(),
                            secret,
                            enabled: k.enabled,
                            signing: Default::default(),
                        },
                    ),
                    Err(m) => e.push(format!("{kp}.secret"), m),
                }
            }
        }
    }
    Arc::new(store)
}

/// An API's ARN and resource policy (inline or from a file), parsed and validated once.
fn compile_api_policy(
    e: &mut Errors,
    ap: &str,
    api: &RawApi,
    aws: &Aws,
    base: &Path,
) -> crate::authz::ApiPolicy {
    let api_id = api.api_id.clone().unwrap_or_else(|| api.name.clone());
    if api_id.is_empty() || api_id.contains(['/', ':', '*', '?', ' ']) {
        e.push(
            format!("{ap}.api_id"),
            format!("`{api_id}` cannot be an API id in an ARN (no `/`, `:`, wildcards or spaces)"),
        );
    }
    let arn = rampart_iam::ApiArn {
        partition: aws.partition.clone(),
        region: aws.region.clone(),
        account: aws.account.clone(),
        api_id,
    };
    let (doc, path) = match (&api.resource_policy, &api.resource_policy_file) {
        (Some(_), Some(_)) => {
            e.push(
                ap.to_string(),
                "set either `resource_policy` or `resource_policy_file`, not both",
            );
            (None, String::new())
        }
        (Some(v), None) => (Some(v.clone()), format!("{ap}.resource_policy")),
        (None, Some(f)) => {
            let file = resolve(base, f);
            let p = format!("{ap}.resource_policy_file");
            match std::fs::read_to_string(&file) {
                Ok(text) => match rampart_iam::parse_json(&text) {
                    Ok(v) => (Some(v), p),
                    Err(m) => {
                        e.push(p, format!("{}: not valid JSON: {m}", file.display()));
                        (None, String::new())
                    }
                },
                Err(err) => {
                    e.push(p, format!("cannot read {}: {err}", file.display()));
                    (None, String::new())
                }
            }
        }
        (None, None) => (None, String::new()),
    };
    let resource_policy = doc.and_then(|v| {
        let opts = rampart_iam::ParseOptions::resource(Some(arn.clone()));
        let join = |f: &rampart_iam::Finding| {
            if f.path.is_empty() {
                path.clone()
            } else {
                format!("{path}.{}", f.path)
            }
        };
        match rampart_iam::parse_value(&path, &v, &opts) {
            Ok(p) => {
                for w in &p.warnings {
                    e.warn(join(w), format!("{} [{}]", w.message, w.code));
                }
                Some(rampart_iam::PolicySet::new(vec![p]))
            }
            Err(findings) => {
                for f in findings
                    .iter()
                    .filter(|f| f.severity == rampart_iam::Severity::Error)
                {
                    e.push(join(f), format!("{} [{}]", f.message, f.code));
                }
                None
            }
        }
    });
    crate::authz::ApiPolicy {
        arn,
        resource_policy,
    }
}

/// Parse a duration: `500ms`, `10s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{s}` needs a unit (ms, s, m or h)"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `500ms`, `10s`, `2m`"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{s}` (use ms, s, m or h)"
            ))
        }
    };
    Ok(d)
}

fn duration(errors: &mut Errors, path: &str, v: &Option<String>, default: Duration) -> Duration {
    match v {
        None => default,
        Some(s) => match parse_duration(s) {
            Ok(d) if d.is_zero() => {
                errors.push(path, "must be greater than zero");
                default
            }
            Ok(d) => d,
            Err(e) => {
                errors.push(path, e);
                default
            }
        },
    }
}

fn header_name(errors: &mut Errors, path: &str, s: &str) -> Option<HeaderName> {
    match HeaderName::from_bytes(s.as_bytes()) {
        Ok(h) => Some(h),
        Err(_) => {
            errors.push(path, format!("`{s}` is not a valid header name"));
            None
        }
    }
}

fn header_map(
    errors: &mut Errors,
    path: &str,
    m: &std::collections::BTreeMap<String, String>,
) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (k, v) in m {
        let p = format!("{path}.{k}");
        let Some(name) = header_name(errors, &p, k) else {
            continue;
        };
        match HeaderValue::from_str(v) {
            Ok(val) => {
                out.append(name, val);
            }
            Err(_) => errors.push(p, "invalid header value"),
        }
    }
    out
}

fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("invalid port in `{s}`"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err(format!(
        "`{s}` is not an address like `127.0.0.1:8080` or `[::1]:8443`"
    ))
}

/// Loopback, RFC 1918, unique-local or link-local: an address not reachable from the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

pub(crate) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Compile a raw configuration. `base` is the directory relative file paths start from.
pub fn compile(raw: &RawConfig, base: &Path) -> Result<Compiled, Errors> {
    let mut e = Errors::default();
    let s = &raw.server;

    // Listeners.
    let mut listeners = Vec::new();
    let mut tls_configs = Vec::new();
    let mut names = HashSet::new();
    for (i, l) in s.listeners.iter().enumerate() {
        let p = format!("server.listeners[{i}]");
        if l.name.is_empty() {
            e.push(format!("{p}.name"), "must not be empty");
        } else if !names.insert(l.name.clone()) {
            e.push(
                format!("{p}.name"),
                format!("duplicate listener name `{}`", l.name),
            );
        }
        let bind = match parse_bind(&l.bind) {
            Ok(b) => b,
            Err(m) => {
                e.push(format!("{p}.bind"), m);
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        };
        if l.private && !is_internal(bind.ip()) {
            e.push(
                format!("{p}.bind"),
                format!(
                    "a private listener must bind a loopback or private address, not {}",
                    bind.ip()
                ),
            );
        }
        let tls = l.tls.as_ref().map(|t| {
            let client_auth = t.client_auth.as_ref().and_then(|c| {
                let mode = match c.mode.as_str() {
                    "required" => ClientAuthMode::Required,
                    "optional" => ClientAuthMode::Optional,
                    other => {
                        e.push(
                            format!("{p}.tls.client_auth.mode"),
                            format!("`{other}` is not `required` or `optional`"),
                        );
                        return None;
                    }
                };
                Some(ClientAuthSpec {
                    mode,
                    trust_store: resolve(base, &c.trust_store),
                })
            });
            TlsSpec {
                cert: resolve(base, &t.cert),
                key: resolve(base, &t.key),
                client_auth,
            }
        });
        let cfg = match &tls {
            None => None,
            Some(spec) => match tls::server_config(spec) {
                Ok(c) => Some(c),
                Err(m) => {
                    e.push(format!("{p}.tls"), m);
                    None
                }
            },
        };
        tls_configs.push(cfg);
        listeners.push(ListenerSpec {
            name: l.name.clone(),
            bind,
            tls,
            private: l.private,
            vpce_id: l.vpce_id.clone(),
        });
        if l.vpce_id.is_some() && !l.private {
            e.push(
                format!("{p}.vpce_id"),
                "only a private listener has a VPC endpoint id",
            );
        }
    }
    if listeners.is_empty() && !raw.apis.is_empty() {
        e.push(
            "server.listeners",
            "at least one listener is needed to serve APIs",
        );
    }

    let admin = s.admin.as_ref().and_then(|a| match parse_bind(&a.bind) {
        Ok(b) => Some(b),
        Err(m) => {
            e.push("server.admin.bind", m);
            None
        }
    });
    let admin_token = s
        .admin
        .as_ref()
        .and_then(|a| crate::usage::settings::compile_admin_token(&mut e, a, admin, base));
    let usage = crate::usage::settings::compile_usage(&mut e, s.usage.as_ref(), base);
    let mut keys_required = false;
    let web_acls = crate::waf::compile_waf(&mut e, s.waf.as_ref(), base);

    let workers = match s.workers {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) if (1..=256).contains(&n) => n as usize,
        Some(n) => {
            e.push("server.workers", format!("{n} is not between 1 and 256"));
            1
        }
    };

    // Limits.
    let d = Limits::default();
    let lim = &s.limits;
    let positive = |e: &mut Errors, path: &str, v: Option<u64>, dflt: u64| match v {
        Some(0) => {
            e.push(path, "must be greater than zero");
            dflt
        }
        Some(n) => n,
        None => dflt,
    };
    let limits = Limits {
        max_header_bytes: positive(
            &mut e,
            "server.limits.max_header_bytes",
            lim.max_header_bytes,
            d.max_header_bytes as u64,
        ) as usize,
        max_body_bytes: positive(
            &mut e,
            "server.limits.max_body_bytes",
            lim.max_body_bytes,
            d.max_body_bytes,
        ),
        header_read_timeout: duration(
            &mut e,
            "server.limits.header_read_timeout",
            &lim.header_read_timeout,
            d.header_read_timeout,
        ),
        body_read_timeout: duration(
            &mut e,
            "server.limits.body_read_timeout",
            &lim.body_read_timeout,
            d.body_read_timeout,
        ),
        // 0: the whole body within `body_read_timeout` of waiting.
        body_min_rate: lim.body_min_rate.unwrap_or(d.body_min_rate),
        idle_timeout: duration(
            &mut e,
            "server.limits.idle_timeout",
            &lim.idle_timeout,
            d.idle_timeout,
        ),
        max_connections: positive(
            &mut e,
            "server.limits.max_connections",
            lim.max_connections,
            d.max_connections as u64,
        ) as usize,
        shutdown_grace: duration(
            &mut e,
            "server.limits.shutdown_grace",
            &lim.shutdown_grace,
            d.shutdown_grace,
        ),
    };

    let mut paths = rampart_normalize::Options::default();
    if let Some(ds) = &s.paths.duplicate_slashes {
        match ds.parse() {
            Ok(v) => paths.duplicate_slashes = v,
            Err(_) => e.push(
                "server.paths.duplicate_slashes",
                format!("`{ds}` is not `merge` or `reject`"),
            ),
        }
    }

    let request_id = RequestIdPolicy {
        header: s
            .request_id
            .header
            .as_deref()
            .and_then(|h| header_name(&mut e, "server.request_id.header", h))
            .unwrap_or(HeaderName::from_static("x-request-id")),
        trusted_proxies: s
            .request_id
            .trusted_proxies
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        e.push(
                            format!("server.request_id.trusted_proxies[{i}]"),
                            format!("`{c}` is not an IP address or CIDR"),
                        )
                    })
                    .ok()
            })
            .collect(),
    };

    let al = &s.access_log;
    let access_log = AccessLogSpec {
        output: match al.output.as_deref() {
            None | Some("stdout") => Output::Stdout,
            Some("stderr") => Output::Stderr,
            Some("off") => Output::Off,
            Some("") => {
                e.push("server.access_log.output", "must not be empty");
                Output::Stdout
            }
            Some(p) => Output::File(resolve(base, p)),
        },
        headers: al
            .headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| header_name(&mut e, &format!("server.access_log.headers[{i}]"), h))
            .collect(),
        redact: al
            .redact_headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                header_name(&mut e, &format!("server.access_log.redact_headers[{i}]"), h)
            })
            .collect(),
    };

    let mut overrides = HashMap::new();
    for (k, r) in &s.responses {
        let p = format!("server.responses.{k}");
        let Some(t) = ResponseType::from_name(k) else {
            let known: Vec<&str> = ResponseType::ALL.iter().map(|t| t.name()).collect();
            e.push(
                p,
                format!("unknown response type `{k}`; known: {}", known.join(", ")),
            );
            continue;
        };
        let status = r.status.and_then(|st| match StatusCode::from_u16(st) {
            Ok(c) if (400..=599).contains(&st) => Some(c),
            _ => {
                e.push(
                    format!("{p}.status"),
                    format!("{st} is not a 4xx or 5xx status"),
                );
                None
            }
        });
        let headers = header_map(&mut e, &format!("{p}.headers"), &r.headers);
        overrides.insert(
            t,
            Override {
                status,
                message: r.message.clone(),
                headers,
            },
        );
    }
    let responses = GatewayResponses::new(&overrides);

    let strip_response_headers = s
        .strip_response_headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| header_name(&mut e, &format!("server.strip_response_headers[{i}]"), h))
        .collect();

    let aws = compile_aws(&mut e, &s.aws);
    if s.aws.sigv4.regions.as_ref().is_some_and(|r| r.is_empty()) {
        e.push("server.aws.sigv4.regions", "list at least one region");
    }
    let throttle = s
        .throttle
        .and_then(|t| rate_limit(&mut e, "server.throttle", t))
        .map(|l| crate::throttle::Bucket::new("gateway", l));
    let identities = compile_identities(&mut e, raw.identities.as_ref(), &aws, base);
    let named_authorizers = compile_authorizers(&mut e, &raw.authorizers, base);

    // APIs and routes.
    let mut router = Router::default();
    let mut api_names = HashSet::new();
    for (ai, api) in raw.apis.iter().enumerate() {
        let ap = format!("apis[{ai}]");
        if api.name.is_empty() {
            e.push(format!("{ap}.name"), "must not be empty");
        } else if !api_names.insert(api.name.clone()) {
            e.push(
                format!("{ap}.name"),
                format!("duplicate API name `{}`", api.name),
            );
        }
        let api_name: Arc<str> = api.name.clone().into();
        let listener_idx: Vec<usize> = match &api.listeners {
            None => listeners
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.private)
                .map(|(i, _)| i)
                .collect(),
            Some(ls) => ls
                .iter()
                .enumerate()
                .filter_map(|(i, n)| match listeners.iter().position(|l| &l.name == n) {
                    Some(x) => Some(x),
                    None => {
                        e.push(
                            format!("{ap}.listeners[{i}]"),
                            format!("no listener named `{n}`"),
                        );
                        None
                    }
                })
                .collect(),
        };
        let authz = Arc::new(compile_api_policy(&mut e, &ap, api, &aws, base));
        let stage_keys: Vec<Option<String>> = if api.stages.is_empty() {
            vec![None]
        } else {
            api.stages.iter().cloned().map(Some).collect()
        };
        let api_keys = Arc::new(crate::usage::settings::compile_api_keys(&mut e, &ap, api));
        let api_waf = crate::waf::compile_api_waf(&mut e, &ap, api, &web_acls);
        let api_throttle = api
            .throttle
            .and_then(|t| rate_limit(&mut e, &format!("{ap}.throttle"), t))
            .map(|l| Arc::new(crate::throttle::PerStage::new("api", l, &stage_keys)));
        if api.public == Some(true) && api.authorizers.is_some() {
            e.push(
                ap.clone(),
                "set either `public: true` or `authorizers`, not both",
            );
        }
        let mut table = RouteTable::default();
        for (ri, r) in api.routes.iter().enumerate() {
            let rp = format!("{ap}.routes[{ri}]");
            let method = match r.method.to_ascii_uppercase().as_str() {
                "ANY" => Some(MethodMatch::Any),
                m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => {
                    m.parse::<Method>().ok().map(MethodMatch::Exact)
                }
                _ => {
                    e.push(
                        format!("{rp}.method"),
                        format!("`{}` is not an HTTP method or ANY", r.method),
                    );
                    None
                }
            };
            let segments = match route::parse_template(&r.path) {
                Ok(s) => Some(s),
                Err(m) => {
                    e.push(format!("{rp}.path"), m);
                    None
                }
            };
            let params: Vec<&str> = segments
                .iter()
                .flatten()
                .filter_map(|s| match s {
                    Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
                    Segment::Literal(_) => None,
                })
                .collect();
            let integration = compile_integration(
                &mut e,
                &format!("{rp}.integration"),
                &r.integration,
                &params,
                base,
            );
            let auth = compile_route_auth(&mut e, &rp, api, r, &identities, &named_authorizers);
            // Scopes are a JWT's: on a route that lets a caller in another way they would
            // restrict nothing (a caller with the other credentials skips them).
            if !r.scopes.is_empty() {
                match &auth {
                    Some(crate::authn::RouteAuth::Public) => e.push(
                        format!("{rp}.scopes"),
                        "a public route has no token to check scopes against: give it a jwt authorizer",
                    ),
                    Some(crate::authn::RouteAuth::Require(list)) => {
                        for a in list
                            .iter()
                            .filter(|a| !matches!(a, crate::authn::Authorizer::Jwt(_)))
                        {
                            e.push(
                                format!("{rp}.scopes"),
                                format!(
                                    "scopes are checked by jwt authorizers only, and `{}` lets callers in without them: use only jwt authorizers on this route",
                                    a.name()
                                ),
                            );
                        }
                    }
                    None => {}
                }
            }
            let api_key_required = r.api_key_required.or(api.api_key_required).unwrap_or(false);
            keys_required |= api_key_required;
            if api_key_required && matches!(auth, Some(crate::authn::RouteAuth::Public)) {
                e.warn(
                    rp.clone(),
                    "this route's only protection is an API key: API keys identify callers (for usage plans), they do not authenticate them; add `authorizers`",
                );
            }
            let (Some(method), Some(segments), Some(integration), Some(auth)) =
                (method, segments, integration, auth)
            else {
                continue;
            };
            let route = Arc::new(Route {
                id: format!("{} {}", method.as_str(), r.path).into(),
                api: api_name.clone(),
                method,
                template: r.path.clone(),
                integration,
                metrics: Default::default(),
                authz: authz.clone(),
                tags: r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                auth,
                scopes: r.scopes.clone(),
                throttle: r
                    .throttle
                    .and_then(|t| rate_limit(&mut e, &format!("{rp}.throttle"), t))
                    .map(|l| crate::throttle::PerStage::new("route", l, &stage_keys)),
                api_throttle: api_throttle.clone(),
                api_key_required,
                api_keys: api_keys.clone(),
                waf: api_waf.clone(),
            });
            match table.add(&segments, route) {
                Ok(()) => {}
                Err(route::AddError::Duplicate) => {
                    e.push(rp, format!("duplicate route {} {}", r.method, r.path))
                }
                Err(route::AddError::ParamNameConflict(a, b)) => e.push(
                    format!("{rp}.path"),
                    format!(
                        "parameter `{{{b}}}` sits where another route has `{{{a}}}`; use one name"
                    ),
                ),
            }
        }
        let table = Arc::new(table);
        match (&api.base_path, api.stages.is_empty()) {
            (Some(_), false) => e.push(ap.clone(), "set either `stages` or `base_path`, not both"),
            (None, true) => e.push(ap.clone(), "needs `stages` (e.g. [prod]) or a `base_path`"),
            (Some(bp), true) => match route::parse_template(bp) {
                Ok(segs) if segs.iter().all(|s| matches!(s, Segment::Literal(_))) => {
                    let base: Vec<String> = segs
                        .into_iter()
                        .filter_map(|s| match s {
                            Segment::Literal(l) => Some(l),
                            _ => None,
                        })
                        .collect();
                    router.mount(
                        api_name.clone(),
                        None,
                        base,
                        listener_idx.clone(),
                        table.clone(),
                    );
                }
                Ok(_) => e.push(
                    format!("{ap}.base_path"),
                    "a base path cannot have parameters",
                ),
                Err(m) => e.push(format!("{ap}.base_path"), m),
            },
            (None, false) => {
                let mut seen = HashSet::new();
                for (si, st) in api.stages.iter().enumerate() {
                    if st.is_empty()
                        || !st
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        e.push(
                            format!("{ap}.stages[{si}]"),
                            format!("`{st}` is not a stage name (letters, digits, `-`, `_`)"),
                        );
                    } else if !seen.insert(st) {
                        e.push(
                            format!("{ap}.stages[{si}]"),
                            format!("duplicate stage `{st}`"),
                        );
                    } else {
                        router.mount(
                            api_name.clone(),
                            Some(st.clone()),
                            vec![st.clone()],
                            listener_idx.clone(),
                            table.clone(),
                        );
                    }
                }
            }
        }
    }
    for (a, b, base) in router.conflicts() {
        e.push(
            "apis",
            format!("APIs `{a}` and `{b}` are both served at `{base}` on the same listener"),
        );
    }

    if !e.0.is_empty() {
        return Err(e);
    }
    let warnings = std::mem::take(&mut e.1)
        .into_iter()
        .map(|(path, message)| super::ConfigError {
            file: String::new(),
            line: 0,
            col: 0,
            path,
            message,
        })
        .collect();
    Ok(Compiled {
        listeners,
        tls_configs,
        admin,
        workers,
        limits,
        paths,
        request_id,
        access_log,
        responses,
        strip_response_headers,
        router,
        sigv4: rampart_sigv4::Options {
            service: "execute-api".into(),
            regions: match &s.aws.sigv4.regions {
                Some(r) => r.clone(),
                None => vec![aws.region.clone()],
            },
            max_skew: crate::authn::sigv4::MAX_SKEW,
            allow_unsigned_payload: s.aws.sigv4.allow_unsigned_payload,
            normalize: true,
        },
        temporary: Default::default(),
        identities,
        warnings,
        throttle,
        admin_token,
        usage,
        keys_required,
        usage_rt: None,
        waf_matches: None,
        web_acls,
        api_stages: raw
            .apis
            .iter()
            .map(|a| super::ApiStages {
                id: a.api_id.clone().unwrap_or_else(|| a.name.clone()),
                name: a.name.clone(),
                stages: a.stages.clone(),
            })
            .collect(),
    })
}

fn compile_integration(
    e: &mut Errors,
    p: &str,
    raw: &RawIntegration,
    params: &[&str],
    base: &Path,
) -> Option<Integration> {
    match raw {
        RawIntegration::Mock(m) => {
            // A final response: 1xx are interim (101 would announce a protocol switch that
            // never happens) and codes past 599 have no class.
            let status = match StatusCode::from_u16(m.status) {
                Ok(s) if (200..=599).contains(&m.status) => s,
                _ => {
                    e.push(
                        format!("{p}.status"),
                        format!("{} is not a final HTTP status (200-599)", m.status),
                    );
                    return None;
                }
            };
            let headers = header_map(e, &format!("{p}.headers"), &m.headers);
            Some(Integration::Mock(MockIntegration::new(
                status,
                headers,
                Bytes::from(m.body.clone()),
            )))
        }
        RawIntegration::Http(h) => {
            let before = e.0.len();
            // Checked first: an error in the URL ends the checks of the rest.
            let connect_timeout = duration(
                e,
                &format!("{p}.connect_timeout"),
                &h.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT,
            );
            let timeout = duration(
                e,
                &format!("{p}.timeout"),
                &h.timeout,
                DEFAULT_UPSTREAM_TIMEOUT,
            );
            let url: http::Uri = match h.url.replace(['{', '}'], "_").parse() {
                Ok(u) => u,
                Err(_) if h.url.contains('@') => {
                    // Maybe `user:password@`: not echoed.
                    e.push(format!("{p}.url"), "is not a URL");
                    return None;
                }
                Err(_) => {
                    e.push(format!("{p}.url"), format!("`{}` is not a URL", h.url));
                    return None;
                }
            };
            let scheme = match url.scheme_str() {
                Some("http") => http::uri::Scheme::HTTP,
                Some("https") => http::uri::Scheme::HTTPS,
                _ => {
                    e.push(format!("{p}.url"), "must start with http:// or https://");
                    return None;
                }
            };
            let Some(authority) = url.authority().cloned() else {
                e.push(format!("{p}.url"), "needs a host");
                return None;
            };
            if authority.as_str().contains('@') {
                // It would otherwise become the upstream's `Host` header. Not echoed: it
                // holds a password.
                e.push(
                    format!("{p}.url"),
                    "must not hold credentials (`user:password@`): the gateway does not send them",
                );
                return None;
            }
            if url.query().is_some() {
                e.push(format!("{p}.url"), "must not have a query string");
            }
            // The path as written, placeholders included.
            let after_scheme = &h.url[h.url.find("://").map(|i| i + 3).unwrap_or(0)..];
            let raw_path = after_scheme
                .find('/')
                .map(|i| &after_scheme[i..])
                .unwrap_or("");
            let mut template = None;
            if raw_path.contains('{') {
                let mut parts = Vec::new();
                let mut rest = raw_path;
                while let Some(i) = rest.find('{') {
                    parts.push(UrlPart::Text(rest[..i].to_string()));
                    let Some(j) = rest[i..].find('}') else {
                        e.push(format!("{p}.url"), "unclosed `{` in URL");
                        break;
                    };
                    let name = rest[i + 1..i + j].trim_end_matches('+');
                    if !params.contains(&name) {
                        e.push(
                            format!("{p}.url"),
                            format!("`{{{name}}}` is not a parameter of the route's path"),
                        );
                    }
                    parts.push(UrlPart::Param(name.to_string()));
                    rest = &rest[i + j + 1..];
                }
                parts.push(UrlPart::Text(rest.to_string()));
                template = Some(parts);
            }
            let forward_query = match h.query.as_deref() {
                None | Some("forward") => true,
                Some("drop") => false,
                Some(o) => {
                    e.push(
                        format!("{p}.query"),
                        format!("`{o}` is not `forward` or `drop`"),
                    );
                    true
                }
            };
            let mut ca = None;
            let mut client = None;
            if let Some(t) = &h.tls {
                if scheme != http::uri::Scheme::HTTPS {
                    e.push(format!("{p}.tls"), "TLS settings need an https:// URL");
                }
                if let Some(c) = &t.ca {
                    match tls::load_certs(&resolve(base, c)) {
                        Ok(v) => ca = Some(v),
                        Err(m) => e.push(format!("{p}.tls.ca"), m),
                    }
                }
                match (&t.client_cert, &t.client_key) {
                    (Some(c), Some(k)) => {
                        match (
                            tls::load_certs(&resolve(base, c)),
                            tls::load_key(&resolve(base, k)),
                        ) {
                            (Ok(c), Ok(k)) => client = Some((c, k)),
                            (Err(m), _) => e.push(format!("{p}.tls.client_cert"), m),
                            (_, Err(m)) => e.push(format!("{p}.tls.client_key"), m),
                        }
                    }
                    (None, None) => {}
                    _ => e.push(
                        format!("{p}.tls"),
                        "`client_cert` and `client_key` go together",
                    ),
                }
            }
            if e.0.len() > before {
                return None;
            }
            let tls = match upstream_tls(ca, client) {
                Ok(t) => t,
                Err(m) => {
                    e.push(format!("{p}.tls"), m);
                    return None;
                }
            };
            let base_path = if template.is_some() {
                String::new()
            } else {
                raw_path.trim_end_matches('/').to_string()
            };
            let settings = HttpSettings {
                scheme,
                authority,
                base_path,
                template,
                forward_query,
                connect_timeout,
                timeout,
                http2: h.http2,
                preserve_host: h.preserve_host,
            };
            match HttpIntegration::new(settings, tls) {
                Ok(i) => Some(Integration::Http(Arc::new(i))),
                Err(m) => {
                    e.push(format!("{p}.url"), m);
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("29s"), Ok(Duration::from_secs(29)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "::1",
            "fd00::1",
        ] {
            assert!(
                is_internal(ip.parse().unwrap_or(IpAddr::from([8, 8, 8, 8]))),
                "{ip}"
            );
        }
        for ip in ["0.0.0.0", "8.8.8.8", "::", "2001:db8::1"] {
            assert!(
                !is_internal(ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{ip}"
            );
        }
    }
}
