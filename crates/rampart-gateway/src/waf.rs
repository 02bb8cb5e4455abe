//! Stage 3, perimeter (WAF): the web ACL attached to the request's API (or its stage) is
//! evaluated by `rampart-waf` before any authentication. A Block answers with the rule's
//! custom response or the `WAF_FILTERED` gateway response (403 `{"message":"Forbidden"}`);
//! Allow and Count go on, with any `x-amzn-waf-*` headers the actions insert. Every
//! terminating or counting match is logged on the `rampart::waf` target with the rule, its
//! labels, the field and a redacted excerpt, and counted in
//! `rampart_waf_rule_matches_total{acl,rule,action}`.
//!
//! When the web ACL inspects the body (`Body`, `JsonBody`, a size constraint on it), the
//! body is read first (up to `server.limits.max_body_bytes`, 413 past it) and handed on
//! buffered; otherwise it keeps streaming.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use hyper::body::Incoming;
use rampart_waf::{CompiledAcl, MatchLocation, ResourceKind, Resources, Verdict, WafRequest};

use crate::body::{client_body_error, read_limited, RequestBody};
use crate::config::compile::{resolve, Errors};
use crate::config::raw::{RawApi, RawWaf};
use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::record::access_log::AccessLogSpec;
use crate::respond::GatewayError;

/// The web ACLs of one API: the API's own and per-stage ones.
#[derive(Debug, Default)]
pub struct ApiWaf {
    pub default: Option<Arc<CompiledAcl>>,
    pub stages: Vec<(String, Arc<CompiledAcl>)>,
}

impl ApiWaf {
    fn acl(&self, stage: Option<&str>) -> Option<&Arc<CompiledAcl>> {
        stage
            .and_then(|s| self.stages.iter().find(|(n, _)| n == s).map(|(_, a)| a))
            .or(self.default.as_ref())
    }
}

/// `server.waf`: loads the IP sets, regex pattern sets and rule groups, then compiles each
/// named web ACL against them.
pub fn compile_waf(
    e: &mut Errors,
    raw: Option<&RawWaf>,
    base: &Path,
) -> HashMap<String, Arc<CompiledAcl>> {
    let mut out = HashMap::new();
    let Some(raw) = raw else { return out };
    let mut res = Resources {
        body_limit: raw.body_inspection_limit.map(|n| n as usize),
        rate_max_keys: raw.rate_max_keys.map(|n| n as usize),
        ..Resources::default()
    };
    if let Some(n) = raw.body_inspection_limit {
        if !(1..=64 * 1024).contains(&n) {
            e.push(
                "server.waf.body_inspection_limit",
                "must be 1 to 65536 bytes",
            );
        }
    }
    if let Some(f) = &raw.geo_database {
        match rampart_waf::geo::GeoDb::open(&resolve(base, f)) {
            Ok(db) => res.geo = Some(Arc::new(db)),
            Err(m) => e.push("server.waf.geo_database", m),
        }
    }
    if raw.rate_max_keys == Some(0) {
        e.push("server.waf.rate_max_keys", "must be at least 1");
    }
    for (path, kind, files) in [
        ("server.waf.ip_sets", ResourceKind::IpSet, &raw.ip_sets),
        (
            "server.waf.regex_pattern_sets",
            ResourceKind::RegexSet,
            &raw.regex_pattern_sets,
        ),
        (
            "server.waf.rule_groups",
            ResourceKind::RuleGroup,
            &raw.rule_groups,
        ),
    ] {
        let files: Vec<_> = files.iter().map(|f| resolve(base, f)).collect();
        res.load_files(kind, &files, |i, m| e.push(format!("{path}[{i}]"), m));
    }
    for (name, f) in &raw.web_acls {
        let file = resolve(base, f);
        let p = format!("server.waf.web_acls.{name}");
        match std::fs::read(&file) {
            Ok(bytes) => match rampart_waf::load_web_acl(&bytes, &res) {
                Ok(acl) => {
                    out.insert(name.clone(), Arc::new(acl));
                }
                Err(rampart_waf::LoadError::Invalid(errs)) => {
                    for (fp, m) in errs {
                        e.push(p.clone(), format!("{}: {fp}: {m}", file.display()));
                    }
                }
                Err(err) => e.push(p, format!("{}: {err}", file.display())),
            },
            Err(err) => e.push(p, format!("cannot read {}: {err}", file.display())),
        }
    }
    out
}

/// An API's `web_acl` and `stage_web_acls`.
pub fn compile_api_waf(
    e: &mut Errors,
    ap: &str,
    api: &RawApi,
    acls: &HashMap<String, Arc<CompiledAcl>>,
) -> Arc<ApiWaf> {
    let mut w = ApiWaf::default();
    let get = |e: &mut Errors, path: String, name: &str| match acls.get(name) {
        Some(a) => Some(a.clone()),
        None => {
            e.push(
                path,
                format!("no web ACL named `{name}` under server.waf.web_acls"),
            );
            None
        }
    };
    if let Some(n) = &api.web_acl {
        w.default = get(e, format!("{ap}.web_acl"), n);
    }
    let stage_acls: &BTreeMap<String, String> = &api.stage_web_acls;
    for (stage, n) in stage_acls {
        if !api.stages.contains(stage) {
            e.push(
                format!("{ap}.stage_web_acls.{stage}"),
                format!("the API has no stage `{stage}`"),
            );
            continue;
        }
        if let Some(a) = get(e, format!("{ap}.stage_web_acls.{stage}"), n) {
            w.stages.push((stage.clone(), a));
        }
    }
    Arc::new(w)
}

/// The addresses that rate-based rules aggregating by IP or forwarded IP block (or count)
/// now, for the admin API's `GET /admin/waf/managed-keys`: per web ACL and rule, in the
/// shape of AWS's `GetRateBasedStatementManagedKeys`.
pub fn managed_keys(acls: &HashMap<String, Arc<CompiledAcl>>) -> serde_json::Value {
    let now = now_ms();
    let mut names: Vec<&String> = acls.keys().collect();
    names.sort();
    let mut items = Vec::new();
    for name in names {
        for (rule, ips) in acls[name].rate_managed_keys(now) {
            let (v4, v6): (Vec<_>, Vec<_>) = ips.iter().partition(|ip| ip.is_ipv4());
            let list = |ips: Vec<&std::net::IpAddr>| -> Vec<String> {
                ips.iter()
                    .map(|ip| format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }))
                    .collect()
            };
            items.push(serde_json::json!({
                "webAcl": name,
                "rule": rule,
                "ManagedKeysIPV4": {"IPAddressVersion": "IPV4", "Addresses": list(v4)},
                "ManagedKeysIPV6": {"IPAddressVersion": "IPV6", "Addresses": list(v6)},
            }));
        }
    }
    serde_json::json!({ "items": items })
}

fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The excerpt of a match as the log shows it: `[redacted]` for a header the access log
/// never writes (`access_log.redact_headers` and the credentials it always redacts), since
/// the WAF's own list of credential headers does not know the operator's.
fn logged_excerpt<'a>(spec: &AccessLogSpec, loc: &'a MatchLocation) -> &'a str {
    let header = loc
        .field
        .strip_prefix("Headers:")
        .or_else(|| loc.field.strip_prefix("SingleHeader:"));
    match header.and_then(|n| http::HeaderName::from_bytes(n.as_bytes()).ok()) {
        Some(name) if spec.is_redacted(&name) => "[redacted]",
        _ => &loc.excerpt,
    }
}

/// Runs the request's web ACL; returns the body (buffered when the ACL read it).
pub async fn inspect(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    parts: &mut http::request::Parts,
    body: Incoming,
    waf: &ApiWaf,
) -> Result<RequestBody, GatewayError> {
    let Some(acl) = waf.acl(ctx.stage.as_deref()) else {
        return Ok(RequestBody::Streaming(body));
    };
    let body = if acl.body_bytes_needed() > 0 && !http_body::Body::is_end_stream(&body) {
        let bytes = Box::pin(read_limited(
            body,
            cfg.limits.max_body_bytes,
            cfg.limits.body_pace(),
        ))
        .await
        .map_err(|e| {
            client_body_error(&*e).unwrap_or_else(|| GatewayError::BadRequest {
                detail: format!("reading the body for the WAF: {e}"),
            })
        })?;
        RequestBody::Buffered(bytes)
    } else {
        RequestBody::Streaming(body)
    };
    let decision = {
        let body_bytes: &[u8] = match &body {
            RequestBody::Buffered(b) => b,
            RequestBody::Streaming(_) => &[],
        };
        let mut req = WafRequest::new(
            parts.method.as_str(),
            parts.uri.path().as_bytes(),
            parts.uri.query().unwrap_or_default().as_bytes(),
            ctx.client_ip,
        );
        req.headers = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        req.body = body_bytes;
        req.body_size = body_bytes.len() as u64;
        acl.evaluate(&req, now_ms())
    };
    for m in &decision.matches {
        let loc = m.location.as_ref();
        tracing::info!(
            target: "rampart::waf",
            request_id = %ctx.request_id,
            web_acl = %acl.name,
            rule = %m.rule,
            action = m.action,
            labels = ?decision.labels,
            field = loc.map_or("", |l| l.field.as_str()),
            transformations = ?loc.map(|l| &l.transformations),
            excerpt = loc.map_or("", |l| logged_excerpt(&cfg.access_log, l)),
            "waf rule matched"
        );
        if let Some(mx) = &cfg.waf_matches {
            mx.get_or_create(&crate::record::metrics::WafRuleLabels {
                acl: acl.name.clone(),
                rule: m.rule.clone(),
                action: m.action.to_owned(),
            })
            .inc();
        }
    }
    let counted = decision.matches.iter().any(|m| m.action == "COUNT");
    let rampart_waf::Decision {
        verdict,
        terminating_rule,
        labels,
        insert_headers,
        ..
    } = decision;
    ctx.labels = labels;
    match verdict {
        Verdict::Block(response) => {
            ctx.waf_action = Some("BLOCK");
            Err(GatewayError::WafBlocked {
                rule: terminating_rule.unwrap_or_else(|| "DefaultAction".into()),
                response,
            })
        }
        Verdict::Allow => {
            ctx.waf_action = Some(if counted && terminating_rule.is_none() {
                "COUNT"
            } else {
                "ALLOW"
            });
            for (name, value) in &insert_headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value),
                ) {
                    parts.headers.insert(n, v);
                }
            }
            Ok(body)
        }
    }
}
