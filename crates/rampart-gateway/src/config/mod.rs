//! Configuration: one declarative YAML or JSON file.
//!
//! `source` reads the text (keeping every node's line and column), `raw` is the file's
//! typed shape (serde, unknown fields rejected), `compile` validates everything once and
//! produces [`Compiled`], the form the request path uses. Every error names the file, the
//! line and column, and the field path (`apis[0].routes[3].integration.url`).

pub mod compile;
pub mod raw;
pub mod source;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::HeaderName;

pub use self::compile::{parse_duration, RequestIdPolicy};
use crate::listener::{Limits, ListenerSpec};
use crate::record::access_log::AccessLogSpec;
use crate::respond::GatewayResponses;
use crate::route::Router;

/// A validated configuration, ready for the request path.
#[derive(Debug)]
pub struct Compiled {
    pub listeners: Vec<ListenerSpec>,
    /// TLS server configurations, one per listener (None for plain HTTP).
    pub tls_configs: Vec<Option<Arc<rustls::ServerConfig>>>,
    pub admin: Option<SocketAddr>,
    /// Worker threads (fixed at start; a reload cannot change it).
    pub workers: usize,
    pub limits: Limits,
    pub paths: rampart_normalize::Options,
    pub request_id: RequestIdPolicy,
    pub access_log: AccessLogSpec,
    pub responses: GatewayResponses,
    pub strip_response_headers: Vec<HeaderName>,
    pub router: Router,
    /// SigV4 verification settings: service `execute-api`, the region of
    /// `server.aws.region`, five minutes of clock skew.
    pub sigv4: rampart_sigv4::Options,
    /// The gateway-wide rate limit.
    pub throttle: Option<crate::throttle::Bucket>,
    /// Temporary credentials (shared by every configuration of a running gateway).
    pub temporary: std::sync::Arc<crate::authn::identity::TemporaryStore>,
    /// Findings that do not stop the configuration (policy warnings, lints), with
    /// positions: `rampart validate` prints them, `serve` logs them.
    pub warnings: Vec<ConfigError>,
    /// IAM users and roles for SigV4.
    pub identities: std::sync::Arc<crate::authn::identity::IdentityStore>,
    /// The admin API's token (`None`: no admin API, only metrics and health).
    pub admin_token: Option<crate::usage::settings::AdminToken>,
    /// `server.usage`: where keys, plans and counters live.
    pub usage: crate::usage::settings::UsageSettings,
    /// Some route needs an API key.
    pub keys_required: bool,
    /// The running usage store (set by the gateway; outlives reloads).
    pub usage_rt: Option<std::sync::Arc<crate::usage::Usage>>,
    /// `rampart_waf_rule_matches_total` (set by the gateway).
    pub waf_matches: Option<crate::record::metrics::WafMatches>,
    /// The web ACLs of `server.waf.web_acls`, by name (the APIs hold them too).
    pub web_acls: std::collections::HashMap<String, Arc<rampart_waf::CompiledAcl>>,
    /// Each API's id, name and stages (empty: served without stages), for checking the
    /// `apiStages` of usage plans the admin API receives.
    pub api_stages: Vec<ApiStages>,
}

/// What a usage plan's `apiStages[]` entry may name.
#[derive(Debug, Clone)]
pub struct ApiStages {
    pub id: String,
    pub name: String,
    pub stages: Vec<String>,
}

/// One configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Field path; empty for errors of the text itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )
        } else {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file, self.line, self.col, self.path, self.message
            )
        }
    }
}

/// All errors of a configuration.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Load and compile a configuration file.
pub fn load_file(path: &Path) -> Result<Compiled, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            col: 0,
            path: String::new(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load_str(&text, &file, &base, &env_lookup)
}

/// Load and compile configuration text. `file` names it in errors; `base` is where
/// relative paths start; `env` resolves `${env:NAME}`.
pub fn load_str(
    text: &str,
    file: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Compiled, ConfigErrors> {
    let (mut value, positions) = source::parse(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_string(),
            line: e.pos.line,
            col: e.pos.col,
            path: String::new(),
            message: e.message,
        }])
    })?;
    let at = |path: String, message: String| {
        let pos = positions.find(&path);
        ConfigError {
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            path,
            message,
        }
    };
    if value.is_null() {
        value = serde_json::Value::Object(Default::default());
    }
    let mut env_errors = Vec::new();
    source::substitute_env(&mut value, env, &mut env_errors);
    let mut errors: Vec<ConfigError> = env_errors
        .into_iter()
        .map(|e| at(e.path, e.message))
        .collect();

    // Typed shape. Serde stops at the first error, so each independent part (the server
    // section, each API, each route) is read on its own, and an unknown field is removed
    // and the part read again: every misspelt key and every broken part is reported.
    let mut structural = Vec::new();
    let read = read_config(value, &mut structural);
    errors.extend(structural.into_iter().map(|(p, m)| at(p, m)));
    let Some(raw) = &read.raw else {
        return Err(ConfigErrors(errors));
    };
    // Check the meaning of every part that has its shape, so that neither an unset
    // variable nor a broken route hides other errors. A value whose variable is unset is
    // still the `${env:...}` text, so errors at those paths are left out; paths are those
    // of the file, whatever parts were left out.
    match compile::compile(raw, base) {
        Ok(mut c) if errors.is_empty() => {
            for w in &mut c.warnings {
                let pos = positions.find(&w.path);
                w.file = file.to_string();
                w.line = pos.line;
                w.col = pos.col;
            }
            Ok(c)
        }
        Ok(_) => Err(ConfigErrors(errors)),
        Err(es) => {
            let env_paths: Vec<String> = errors.iter().map(|e| e.path.clone()).collect();
            errors.extend(
                es.0.into_iter()
                    .map(|(p, m)| (read.file_path(&p), m))
                    .filter(|(p, _)| !env_paths.contains(p))
                    .map(|(p, m)| at(p, m)),
            );
            Err(ConfigErrors(errors))
        }
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (_, true) => prefix.to_string(),
        (true, false) => path.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Deserialize one part, reporting every unknown field and then the first other error.
fn read_part<T: serde::de::DeserializeOwned>(
    mut value: serde_json::Value,
    prefix: &str,
    errors: &mut Vec<(String, String)>,
) -> Option<T> {
    for _ in 0..100 {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(r) => return Some(r),
            Err(err) => {
                let path = err.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let msg = err.inner().to_string();
                let unknown = msg.starts_with("unknown field");
                // Inside internally tagged enums serde reports the enum's path, not the
                // field's: add the field so the error (and its removal) is precise.
                let mut path = path;
                if unknown {
                    if let Some(name) = msg.split('`').nth(1) {
                        if !(path == name || path.ends_with(&format!(".{name}"))) {
                            path = join(&path, name);
                        }
                    }
                }
                errors.push((join(prefix, &path), msg));
                if !(unknown && remove_path(&mut value, &path)) {
                    return None;
                }
            }
        }
    }
    None
}

/// The parts of a file that have their shape.
struct ReadConfig {
    /// Every API and route that read, with the server section, identities and authorizers;
    /// `None` if one of those failed or the file is no mapping (every API is checked
    /// against them, so without them its errors could be false).
    raw: Option<raw::RawConfig>,
    /// For each API of `raw`, its index in the file and those of its routes.
    places: Vec<(usize, Vec<usize>)>,
}

impl ReadConfig {
    /// `path` (of `raw`: `apis[1].routes[0].integration.url`) as a path of the file.
    fn file_path(&self, path: &str) -> String {
        /// `[n]` at the start of `s`: n and the rest.
        fn index(s: &str) -> Option<(usize, &str)> {
            let (n, rest) = s.strip_prefix('[')?.split_once(']')?;
            Some((n.parse().ok()?, rest))
        }
        let Some((a, rest)) = path.strip_prefix("apis").and_then(index) else {
            return path.to_string();
        };
        let Some((api, routes)) = self.places.get(a) else {
            return path.to_string();
        };
        let route = rest
            .strip_prefix(".routes")
            .and_then(index)
            .and_then(|(r, tail)| Some((routes.get(r)?, tail)));
        match route {
            Some((route, tail)) => format!("apis[{api}].routes[{route}]{tail}"),
            None => format!("apis[{api}]{rest}"),
        }
    }
}

/// Read the whole file's shape part by part: what read, and an error for every part that
/// did not.
fn read_config(value: serde_json::Value, errors: &mut Vec<(String, String)>) -> ReadConfig {
    let mut read = ReadConfig {
        raw: None,
        places: Vec::new(),
    };
    let serde_json::Value::Object(mut top) = value else {
        errors.push((
            String::new(),
            "the configuration must be a mapping with `server` and `apis`".into(),
        ));
        return read;
    };
    let server = top.remove("server").unwrap_or(serde_json::Value::Null);
    let apis = top.remove("apis").unwrap_or(serde_json::Value::Null);
    let identities = top.remove("identities").unwrap_or(serde_json::Value::Null);
    let authorizers = top.remove("authorizers").unwrap_or(serde_json::Value::Null);
    for k in top.keys() {
        errors.push((
            k.clone(),
            format!(
                "unknown field `{k}`, expected `server`, `apis`, `identities` or `authorizers`"
            ),
        ));
    }
    let mut named = std::collections::BTreeMap::new();
    let mut context_read = true;
    match authorizers {
        serde_json::Value::Null => {}
        serde_json::Value::Object(m) => {
            for (name, a) in m {
                match read_part::<raw::RawAuthorizer>(a, &format!("authorizers.{name}"), errors) {
                    Some(a) => {
                        named.insert(name, a);
                    }
                    None => context_read = false,
                }
            }
        }
        _ => {
            context_read = false;
            errors.push((
                "authorizers".into(),
                "must be a mapping of names to authorizers".into(),
            ));
        }
    }
    let identities = if identities.is_null() {
        Some(None)
    } else {
        read_part::<raw::RawIdentities>(identities, "identities", errors).map(Some)
    };
    let server = if server.is_null() {
        Some(raw::RawServer::default())
    } else {
        read_part::<raw::RawServer>(server, "server", errors)
    };
    let mut out_apis = Vec::new();
    match apis {
        serde_json::Value::Null => {}
        serde_json::Value::Array(items) => {
            for (i, mut api) in items.into_iter().enumerate() {
                let prefix = format!("apis[{i}]");
                let routes = api.as_object_mut().and_then(|m| m.remove("routes"));
                let Some(mut a) = read_part::<raw::RawApi>(api, &prefix, errors) else {
                    continue;
                };
                let mut route_places = Vec::new();
                match routes {
                    None | Some(serde_json::Value::Null) => {}
                    Some(serde_json::Value::Array(rs)) => {
                        for (j, r) in rs.into_iter().enumerate() {
                            if let Some(r) = read_part::<raw::RawRoute>(
                                r,
                                &format!("{prefix}.routes[{j}]"),
                                errors,
                            ) {
                                a.routes.push(r);
                                route_places.push(j);
                            }
                        }
                    }
                    Some(_) => errors.push((
                        format!("{prefix}.routes"),
                        "must be a list of routes".into(),
                    )),
                }
                out_apis.push(a);
                read.places.push((i, route_places));
            }
        }
        _ => errors.push(("apis".into(), "must be a list of APIs".into())),
    }
    if let (true, Some(server), Some(identities)) = (context_read, server, identities) {
        read.raw = Some(raw::RawConfig {
            server,
            apis: out_apis,
            identities,
            authorizers: named,
        });
    }
    read
}

/// Remove the node at a serde_path_to_error path (`a.b[2].c`). True if something was removed.
fn remove_path(v: &mut serde_json::Value, path: &str) -> bool {
    let mut cur = v;
    let mut segs: Vec<String> = Vec::new();
    for part in path.split('.') {
        let mut p = part;
        while let Some(i) = p.find('[') {
            if i > 0 {
                segs.push(p[..i].to_string());
            }
            let Some(j) = p[i..].find(']') else {
                return false;
            };
            segs.push(p[i..i + j + 1].to_string());
            p = &p[i + j + 1..];
        }
        if !p.is_empty() {
            segs.push(p.to_string());
        }
    }
    let Some(last) = segs.pop() else { return false };
    for s in &segs {
        cur = match s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            Some(idx) => match idx.parse::<usize>().ok().and_then(|i| cur.get_mut(i)) {
                Some(c) => c,
                None => return false,
            },
            None => match cur.get_mut(s.as_str()) {
                Some(c) => c,
                None => return false,
            },
        };
    }
    match cur.as_object_mut() {
        Some(m) => m.remove(&last).is_some(),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Compiled, ConfigErrors> {
        load_str(text, "t.yaml", Path::new("."), &|n| {
            (n == "SET").then(|| "value".into())
        })
    }

    fn errors(text: &str) -> Vec<String> {
        match load(text) {
            Ok(_) => panic!("expected errors"),
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    const GOOD: &str = "server:
  listeners:
    - {name: main, bind: 127.0.0.1:0}
apis:
  - name: a
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /x/{id}
        integration: {type: http, url: 'http://127.0.0.1:1/y/{id}', timeout: 2s}
      - method: ANY
        path: /{proxy+}
        integration: {type: mock, body: '${env:SET}'}
";

    #[test]
    fn good_config_compiles_with_defaults() {
        let c = load(GOOD).unwrap();
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.limits.max_body_bytes, 10 * 1024 * 1024);
        assert!(c.admin.is_none());
    }

    /// A part that cannot be read at all (a route without its integration) is left out,
    /// and the rest is still checked for meaning, with the file's paths.
    #[test]
    fn a_broken_route_does_not_hide_the_errors_of_the_others() {
        let text = GOOD
            .replace(
                "      - method: ANY",
                "      - {method: GET, path: /z, integraton: {type: mock}}
      - {method: GET, path: /w, integration: {type: http, url: 'ftp://x', timeout: soon}}
      - method: ANY",
            )
            .replace("timeout: 2s", "timeout: 2 seconds");
        let e = errors(&text);
        assert_eq!(
            e,
            vec![
                "t.yaml:12:33: apis[0].routes[1].integraton: unknown field `integraton`, expected one of `method`, `path`, `integration`, `tags`, `public`, `authorizers`, `scopes`, `throttle`, `api_key_required`",
                "t.yaml:12:9: apis[0].routes[1]: missing field `integration`",
                "t.yaml:11:69: apis[0].routes[0].integration.timeout: unknown unit ` seconds` in `2 seconds` (use ms, s, m or h)",
                "t.yaml:13:75: apis[0].routes[2].integration.timeout: `soon` is not a duration like `500ms`, `10s`, `2m`",
                "t.yaml:13:59: apis[0].routes[2].integration.url: must start with http:// or https://",
            ],
            "{e:#?}"
        );
    }

    /// Scopes are checked on JWTs only: on a public route, or one another authorizer lets
    /// callers into, they would restrict nothing, so they are refused.
    #[test]
    fn scopes_need_jwt_authorizers_only() {
        let text = GOOD
            .replace(
                "apis:\n",
                "authorizers:
  tok: {type: lambda, kind: token, url: 'http://127.0.0.1:1/', identity_source: [method.request.header.Authorization]}
apis:\n",
            )
            .replace(
                "      - method: ANY\n",
                "      - {method: GET, path: /p, scopes: [a/read], integration: {type: mock}}
      - {method: GET, path: /l, public: false, authorizers: [tok, aws_iam], scopes: [a/read], integration: {type: mock}}
      - method: ANY\n",
            );
        let e = errors(&text);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(
            e[0].contains("apis[0].routes[1].scopes: a public route has no token"),
            "{e:#?}"
        );
        assert!(
            e[1].contains(
                "apis[0].routes[2].scopes: scopes are checked by jwt authorizers only, and `tok`"
            ),
            "{e:#?}"
        );
        assert!(e[2].contains("apis[0].routes[2].scopes: scopes are checked by jwt authorizers only, and `aws_iam`"), "{e:#?}");
    }

    #[test]
    fn mock_status_is_a_final_status_and_upstream_urls_hold_no_credentials() {
        for bad in [0, 100, 101, 199, 600, 999] {
            let text = GOOD.replace(
                "{type: mock, body:",
                &format!("{{type: mock, status: {bad}, body:"),
            );
            let e = errors(&text);
            assert_eq!(
                e,
                vec![format!("t.yaml:14:35: apis[0].routes[1].integration.status: {bad} is not a final HTTP status (200-599)")],
                "{bad}"
            );
        }
        for good in [200, 204, 302, 418, 599] {
            let text = GOOD.replace(
                "{type: mock, body:",
                &format!("{{type: mock, status: {good}, body:"),
            );
            assert!(load(&text).is_ok(), "{good}");
        }
        // Credentials in an upstream URL are refused and not echoed, whether the URL
        // parses or not.
        for (url, says) in [
            (
                "http://user:s3cr3t@127.0.0.1:1/",
                "must not hold credentials",
            ),
            ("http://user:s3cr3t@127.0.0.1:1/ x", "is not a URL"),
        ] {
            let e = errors(&GOOD.replace("http://127.0.0.1:1/", url));
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(
                e[0].contains(&format!("apis[0].routes[0].integration.url: {says}")),
                "{e:?}"
            );
            assert!(!e[0].contains("s3cr3t"), "{e:?}");
        }
    }

    #[test]
    fn every_error_has_file_line_column_and_path() {
        let text = GOOD
            .replace("timeout: 2s", "timeout: 2 seconds, retries: 3")
            .replace("stages: [prod]", "stages: [prod]\n    colour: blue")
            .replace("${env:SET}", "${env:UNSET}");
        let e = errors(&text);
        assert_eq!(
            e,
            vec![
                "t.yaml:15:35: apis[0].routes[1].integration.body: environment variable `UNSET` is not set",
                "t.yaml:7:5: apis[0].colour: unknown field `colour`, expected one of `name`, `stages`, `base_path`, `listeners`, `routes`, `api_id`, `resource_policy`, `resource_policy_file`, `public`, `authorizers`, `throttle`, `api_key_source`, `api_key_header`, `api_key_required`, `web_acl`, `stage_web_acls`",
                "t.yaml:12:89: apis[0].routes[0].integration.retries: unknown field `retries`, expected one of `url`, `query`, `connect_timeout`, `timeout`, `http2`, `preserve_host`, `tls`",
                // The rest of the part that had an unknown field is checked too.
                "t.yaml:12:69: apis[0].routes[0].integration.timeout: unknown unit ` seconds` in `2 seconds` (use ms, s, m or h)",
            ]
        );
        // Semantic errors are all collected too.
        let text = GOOD
            .replace("timeout: 2s", "timeout: 2 seconds")
            .replace("method: ANY", "method: FETCH")
            .replace("/{proxy+}", "/{proxy+}/x");
        let e = errors(&text);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("t.yaml:11:69:"), "{e:?}");
        assert!(
            e[0].contains("apis[0].routes[0].integration.timeout: unknown unit"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("t.yaml:12:9: apis[0].routes[1].method:"),
            "{e:?}"
        );
        assert!(
            e[2].starts_with("t.yaml:13:9: apis[0].routes[1].path: greedy"),
            "{e:?}"
        );
    }

    #[test]
    fn routes_are_secure_by_default() {
        let head = "server:\n  listeners:\n    - {name: main, bind: 127.0.0.1:0}\napis:\n  - name: a\n    stages: [prod]\n";
        let route = |extra: &str| {
            format!("      - {{method: GET, path: /x, integration: {{type: mock}}{extra}}}\n")
        };
        // Neither `public` nor authorizers: rejected, at the route.
        let e = errors(&format!("{head}    routes:\n{}", route("")));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:8:9: apis[0].routes[0]: no authorizers"),
            "{e:?}"
        );
        // `public: false` is not a way out.
        let e = errors(&format!("{head}    routes:\n{}", route(", public: false")));
        assert!(
            e[0].contains("apis[0].routes[0].public: no authorizers"),
            "{e:?}"
        );
        // Unknown authorizer names, and both at once.
        let e = errors(&format!(
            "{head}    routes:\n{}{}",
            route(", authorizers: [aws_iam, nope]"),
            route(", public: true, authorizers: [aws_iam]").replace("/x", "/y")
        ));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("apis[0].routes[0].authorizers[1]: unknown authorizer `nope`"),
            "{e:?}"
        );
        assert!(
            e[1].contains("apis[0].routes[1]: set either `public: true` or `authorizers`"),
            "{e:?}"
        );
        // API-level defaults; a route can override them.
        let ok = format!(
            "{head}    authorizers: [aws_iam]\n    routes:\n{}{}",
            route(""),
            route(", public: true").replace("/x", "/open")
        );
        let cfg = load(&ok).unwrap();
        let auth_of = |path: &str| {
            let canon = rampart_normalize::normalize(path, &cfg.paths).unwrap();
            match cfg.router.route(0, &http::Method::GET, &canon) {
                crate::route::RouteMatch::Found(m) => m.route.auth.clone(),
                _ => panic!("no route for {path}"),
            }
        };
        assert_eq!(
            auth_of("/prod/x"),
            crate::authn::RouteAuth::Require(vec![crate::authn::Authorizer::AwsIam])
        );
        assert_eq!(auth_of("/prod/open"), crate::authn::RouteAuth::Public);
        let e = errors(&format!(
            "{}    public: true\n    authorizers: [aws_iam]\n    routes:\n{}",
            head,
            route("")
        ));
        assert!(
            e[0].contains("apis[0]: set either `public: true` or `authorizers`"),
            "{e:?}"
        );
    }

    #[test]
    fn json_configs_report_positions_too() {
        let text = "{\n  \"server\": {\"listeners\": [{\"name\": \"m\", \"bind\": \"nowhere\"}]},\n  \"apis\": []\n}\n";
        let e = errors(text);
        assert_eq!(e, vec!["t.yaml:2:42: server.listeners[0].bind: `nowhere` is not an address like `127.0.0.1:8080` or `[::1]:8443`"]);
        let e = errors("{\"server\": {\"listeners\": [}\n");
        assert!(e[0].starts_with("t.yaml:1:"), "{e:?}");
    }

    #[test]
    fn semantic_checks() {
        let cases = [
            (
                GOOD.replace(
                    "url: 'http://127.0.0.1:1/y/{id}'",
                    "url: 'http://127.0.0.1:1/y/{nope}'",
                ),
                "`{nope}` is not a parameter",
            ),
            (
                GOOD.replace("stages: [prod]", "stages: [prod]\n    base_path: /v1"),
                "either `stages` or `base_path`",
            ),
            (
                GOOD.replace("bind: 127.0.0.1:0}", "bind: 0.0.0.0:0, private: true}"),
                "private listener must bind",
            ),
            (
                GOOD.replace(
                    "method: ANY\n        path: /{proxy+}",
                    "method: GET\n        path: /x/{id}",
                ),
                "duplicate route",
            ),
            (
                format!("{GOOD}  - name: a\n    stages: [dev]\n    public: true\n"),
                "duplicate API name",
            ),
            (
                format!("{GOOD}  - name: b\n    stages: [prod]\n    public: true\n"),
                "both served at `/prod`",
            ),
            (
                GOOD.replace(
                    "listeners:\n    - {name: main, bind: 127.0.0.1:0}",
                    "responses: {NOT_A_TYPE: {status: 400}}",
                ),
                "unknown response type",
            ),
        ];
        for (text, want) in cases {
            let e = errors(&text);
            assert!(e.iter().any(|m| m.contains(want)), "want `{want}` in {e:?}");
        }
    }
}
