//! Stage 2b, routing: find the API (by listener and base path: a stage such as `/prod` or a
//! custom base path) and then the route (most specific path template first, then method)
//! for a canonical path. Routing only ever sees the output of [`rampart_normalize`], the
//! same value every later check sees.
//!
//! Specificity, per path segment: a literal segment beats `{param}`, which beats a greedy
//! `{proxy+}` (one or more segments). The deepest, most literal resource that exists for
//! the path wins; then its method, where an exact method beats `ANY`. A path that exists
//! with no matching method is a 405 with `Allow`, not a fall-through to a less specific
//! resource, so a protected resource can never be reached through a sibling template.

use std::collections::HashMap;
use std::sync::Arc;

use http::Method;
use rampart_normalize::CanonicalPath;

use crate::integrate::Integration;

/// A compiled route.
#[derive(Debug)]
pub struct Route {
    /// Method and template (`GET /pets/{id}`), as it appears in logs and metrics.
    pub id: Arc<str>,
    pub api: Arc<str>,
    pub method: MethodMatch,
    /// The path template as written (`/pets/{id}`).
    pub template: String,
    pub integration: Integration,
    /// This route's metric handles.
    pub metrics: crate::record::metrics::RouteMetrics,
    /// The API's authorization settings (shared by its routes).
    pub authz: Arc<crate::authz::ApiPolicy>,
    /// `aws:ResourceTag/<key>` values.
    pub tags: Vec<(String, String)>,
    /// Who may call it.
    pub auth: crate::authn::RouteAuth,
    /// OAuth scopes a JWT must carry (all of them).
    pub scopes: Vec<String>,
    /// This route's own rate limit per stage, replacing its API's.
    pub throttle: Option<crate::throttle::PerStage>,
    /// Its API's rate limit per stage.
    pub api_throttle: Option<std::sync::Arc<crate::throttle::PerStage>>,
    /// Callers need an API key in a usage plan for the stage.
    pub api_key_required: bool,
    /// The API's key settings.
    pub api_keys: std::sync::Arc<crate::usage::settings::ApiKeys>,
    /// The API's web ACLs.
    pub waf: std::sync::Arc<crate::waf::ApiWaf>,
}

impl Route {
    /// The method a request is authorized and throttled as: a GET route's for the HEAD
    /// requests it answers (what governs GET covers what a HEAD reaches), else the
    /// request's own (on an `ANY` route too).
    pub fn policy_method<'m>(&self, method: &'m Method) -> &'m str {
        match &self.method {
            MethodMatch::Exact(m) if *m == Method::GET && method == Method::HEAD => "GET",
            _ => method.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodMatch {
    Any,
    Exact(Method),
}

impl MethodMatch {
    pub fn as_str(&self) -> &str {
        match self {
            MethodMatch::Any => "ANY",
            MethodMatch::Exact(m) => m.as_str(),
        }
    }
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// Parse a path template. Errors are plain messages; the caller adds the field path.
pub fn parse_template(t: &str) -> Result<Vec<Segment>, String> {
    if !t.starts_with('/') {
        return Err("path template must start with `/`".into());
    }
    let mut out = Vec::new();
    let mut names = Vec::new();
    let parts: Vec<&str> = t[1..].split('/').collect();
    let n = parts.len();
    for (i, p) in parts.into_iter().enumerate() {
        if p.is_empty() {
            if i + 1 == n {
                break; // `/` alone or a trailing slash
            }
            return Err("empty segment (`//`) in path template".into());
        }
        if let Some(inner) = p.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!("invalid parameter name `{inner}`"));
            }
            if names.contains(&name) {
                return Err(format!("parameter `{name}` appears twice"));
            }
            names.push(name);
            if greedy {
                if i + 1 != n {
                    return Err(format!(
                        "greedy parameter `{{{name}+}}` must be the last segment"
                    ));
                }
                out.push(Segment::Greedy(name.to_string()));
            } else {
                out.push(Segment::Param(name.to_string()));
            }
        } else if p.contains(['{', '}']) {
            return Err(format!("segment `{p}` mixes text and a parameter"));
        } else if p == "." || p == ".." {
            return Err("dot segments are not allowed in path templates".into());
        } else {
            // Templates are matched against canonical (decoded) paths, so they are
            // normalised the same way: `/caf%C3%A9` and `/café` are one template.
            let canon = rampart_normalize::normalize(&format!("/{p}"), &Default::default())
                .map_err(|e| format!("segment `{p}`: {}", e.reason()))?;
            let first = canon.segments().next().map(str::to_string);
            match first {
                Some(s) => out.push(Segment::Literal(s)),
                None => return Err(format!("segment `{p}` is empty once normalised")),
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, Node>,
    param: Option<(String, Box<Node>)>,
    greedy: Option<(String, Box<Node>)>,
    /// Routes of the resource ending here, by method (`ANY` last).
    routes: Vec<Arc<Route>>,
}

/// The compiled routes of one API.
#[derive(Debug, Default)]
pub struct RouteTable {
    root: Node,
}

/// Why a route could not be added.
#[derive(Debug)]
pub enum AddError {
    Duplicate,
    ParamNameConflict(String, String),
}

impl RouteTable {
    pub fn add(&mut self, segments: &[Segment], route: Arc<Route>) -> Result<(), AddError> {
        let mut node = &mut self.root;
        for seg in segments {
            node = match seg {
                Segment::Literal(l) => node.literal.entry(l.clone()).or_default(),
                Segment::Param(name) | Segment::Greedy(name) => {
                    let slot = if matches!(seg, Segment::Param(_)) {
                        &mut node.param
                    } else {
                        &mut node.greedy
                    };
                    let (existing, child) =
                        slot.get_or_insert_with(|| (name.clone(), Box::default()));
                    if existing != name {
                        return Err(AddError::ParamNameConflict(existing.clone(), name.clone()));
                    }
                    child
                }
            };
        }
        if node.routes.iter().any(|r| r.method == route.method) {
            return Err(AddError::Duplicate);
        }
        node.routes.push(route);
        // exact methods first, ANY last
        node.routes
            .sort_by_key(|r| matches!(r.method, MethodMatch::Any));
        Ok(())
    }

    /// The node for `segs`, the last segments of the canonical path `full`, collecting
    /// the parameters on the way.
    fn find<'a>(
        node: &'a Node,
        full: &'a str,
        segs: &[&'a str],
        params: &mut Vec<(&'a str, ParamValue<'a>)>,
    ) -> Option<&'a Node> {
        let Some((first, rest)) = segs.split_first() else {
            return (!node.routes.is_empty()).then_some(node);
        };
        if let Some(child) = node.literal.get(*first) {
            if let Some(n) = Self::find(child, full, rest, params) {
                return Some(n);
            }
        }
        if let Some((name, child)) = &node.param {
            params.push((name, ParamValue::One(first)));
            if let Some(n) = Self::find(child, full, rest, params) {
                return Some(n);
            }
            params.pop();
        }
        if let Some((name, child)) = &node.greedy {
            if !child.routes.is_empty() {
                // The rest of the path, without its trailing slash.
                let rest = full.get(offset_in(full, first)..).unwrap_or_default();
                let rest = rest.strip_suffix('/').unwrap_or(rest);
                params.push((name, ParamValue::Many(rest)));
                return Some(child);
            }
        }
        None
    }
}

/// Where `part`, a slice of `full`, begins in it.
fn offset_in(full: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(full.as_ptr() as usize)
}

/// Segments routed without a heap allocation; longer paths are collected into a `Vec`.
const INLINE_SEGMENTS: usize = 16;

/// A matched parameter value: one decoded segment, or several for a greedy parameter.
#[derive(Debug, Clone)]
pub enum ParamValue<'a> {
    One(&'a str),
    /// Segments of the canonical path, `/` between them (`a/b`).
    Many(&'a str),
}

impl ParamValue<'_> {
    /// The decoded value (`a/b` for a greedy match of two segments).
    pub fn decoded(&self) -> String {
        match self {
            ParamValue::One(s) | ParamValue::Many(s) => (*s).to_string(),
        }
    }
    /// The value percent-encoded for a URL path (slashes between greedy segments kept).
    pub fn encoded(&self, out: &mut String) {
        match self {
            ParamValue::One(s) => rampart_normalize::encode_segment(s, out),
            ParamValue::Many(v) => {
                for (i, s) in v.split('/').enumerate() {
                    if i > 0 {
                        out.push('/');
                    }
                    rampart_normalize::encode_segment(s, out);
                }
            }
        }
    }
}

/// An API served under one base path (one of its stages, or its custom base path).
#[derive(Debug)]
pub struct Mount {
    pub api: Arc<str>,
    pub stage: Option<String>,
    base: Vec<String>,
    /// Indices of the listeners that serve it.
    pub listeners: Vec<usize>,
    table: Arc<RouteTable>,
}

/// All APIs, ready to route.
#[derive(Debug, Default)]
pub struct Router {
    /// Sorted by base-path length, longest first.
    mounts: Vec<Mount>,
}

/// A routing outcome.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found(Matched<'a>),
    /// The resource exists, not for this method.
    MethodNotAllowed {
        allow: Vec<&'a str>,
    },
    NotFound,
}

#[derive(Debug)]
pub struct Matched<'a> {
    pub route: &'a Arc<Route>,
    pub stage: Option<&'a str>,
    pub params: Vec<(&'a str, ParamValue<'a>)>,
    /// The canonical path with the stage or base path removed (what the API sees).
    pub resource_path: &'a str,
}

impl Matched<'_> {
    /// The path of the request's `execute-api` ARN: the resource path without a trailing
    /// slash, which routing ignores (`/a/` and `/a` are one resource, and a policy on one
    /// covers both; the root stays `/`).
    pub fn arn_path(&self) -> &str {
        match self.resource_path.strip_suffix('/') {
            Some(p) if !p.is_empty() => p,
            _ => self.resource_path,
        }
    }

    /// The method of the request's `execute-api` ARN ([`Route::policy_method`]).
    pub fn arn_method<'m>(&self, method: &'m Method) -> &'m str {
        self.route.policy_method(method)
    }
}

impl Router {
    pub fn mount(
        &mut self,
        api: Arc<str>,
        stage: Option<String>,
        base: Vec<String>,
        listeners: Vec<usize>,
        table: Arc<RouteTable>,
    ) {
        self.mounts.push(Mount {
            api,
            stage,
            base,
            listeners,
            table,
        });
        self.mounts.sort_by_key(|m| std::cmp::Reverse(m.base.len()));
    }

    /// True when two mounts of the same listener share a base path.
    pub fn conflicts(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (i, a) in self.mounts.iter().enumerate() {
            for b in &self.mounts[i + 1..] {
                if a.base == b.base && a.listeners.iter().any(|l| b.listeners.contains(l)) {
                    out.push((
                        a.api.to_string(),
                        b.api.to_string(),
                        format!("/{}", a.base.join("/")),
                    ));
                }
            }
        }
        out
    }

    pub fn route<'a>(
        &'a self,
        listener: usize,
        method: &Method,
        path: &'a CanonicalPath,
    ) -> RouteMatch<'a> {
        let full = path.as_str();
        // The segments, on the stack unless there are very many.
        let mut inline = [""; INLINE_SEGMENTS];
        let spilled: Vec<&str>;
        let mut it = path.segments();
        let mut n = 0;
        let segs: &[&str] = loop {
            match it.next() {
                None => break &inline[..n],
                Some(s) if n < INLINE_SEGMENTS => {
                    inline[n] = s;
                    n += 1;
                }
                Some(s) => {
                    spilled = inline.iter().copied().chain([s]).chain(it).collect();
                    break &spilled;
                }
            }
        };
        for m in &self.mounts {
            if !m.listeners.contains(&listener) {
                continue;
            }
            if segs.len() < m.base.len() || segs.iter().zip(&m.base).any(|(a, b)| a != b) {
                continue;
            }
            let rest = &segs[m.base.len()..];
            let mut params = Vec::new();
            let Some(node) = RouteTable::find(&m.table.root, full, rest, &mut params) else {
                continue;
            };
            let route = node.routes.iter().find(|r| match &r.method {
                MethodMatch::Any => true,
                MethodMatch::Exact(x) => {
                    x == method || (method == Method::HEAD && x == Method::GET)
                }
            });
            let Some(route) = route else {
                let mut allow: Vec<&str> = node.routes.iter().map(|r| r.method.as_str()).collect();
                // GET routes answer HEAD too (above).
                if allow.contains(&"GET") && !allow.contains(&"HEAD") {
                    allow.push("HEAD");
                }
                allow.sort_unstable();
                return RouteMatch::MethodNotAllowed { allow };
            };
            // The rest of the canonical path from the `/` before its first segment (the
            // trailing slash kept), or `/`.
            let resource_path = match rest.first() {
                Some(first) => full
                    .get(offset_in(full, first).saturating_sub(1)..)
                    .unwrap_or("/"),
                None => "/",
            };
            return RouteMatch::Found(Matched {
                route,
                stage: m.stage.as_deref(),
                params,
                resource_path,
            });
        }
        RouteMatch::NotFound
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn route(api: &str, method: &str, t: &str) -> Arc<Route> {
        Arc::new(Route {
            id: format!("{method} {t}").into(),
            api: api.into(),
            method: if method == "ANY" {
                MethodMatch::Any
            } else {
                MethodMatch::Exact(method.parse().unwrap())
            },
            template: t.into(),
            integration: Integration::test_mock(),
            metrics: Default::default(),
            authz: Arc::new(crate::authz::ApiPolicy {
                arn: rampart_iam::ApiArn {
                    partition: "aws".into(),
                    region: "us-east-1".into(),
                    account: "000000000000".into(),
                    api_id: api.into(),
                },
                resource_policy: None,
            }),
            waf: Default::default(),
            tags: Vec::new(),
            auth: crate::authn::RouteAuth::Public,
            scopes: Vec::new(),
            throttle: None,
            api_throttle: None,
            api_key_required: false,
            api_keys: Arc::new(crate::usage::settings::ApiKeys {
                api_id: api.into(),
                api_name: api.into(),
                source: crate::usage::settings::KeySource::Header(http::HeaderName::from_static(
                    "x-api-key",
                )),
            }),
        })
    }

    fn router(routes: &[(&str, &str)]) -> Router {
        let mut table = RouteTable::default();
        for (m, t) in routes {
            table
                .add(&parse_template(t).unwrap(), route("a", m, t))
                .unwrap();
        }
        let mut r = Router::default();
        r.mount(
            "a".into(),
            Some("prod".into()),
            vec!["prod".into()],
            vec![0],
            Arc::new(table),
        );
        r
    }

    fn hit(r: &Router, method: &str, path: &str) -> String {
        let p = rampart_normalize::normalize(path, &Default::default()).unwrap();
        match r.route(0, &method.parse().unwrap(), &p) {
            RouteMatch::Found(m) => {
                let mut s = format!("{} {}", m.route.method.as_str(), m.route.template);
                for (k, v) in &m.params {
                    s.push_str(&format!(" {k}={}", v.decoded()));
                }
                s
            }
            RouteMatch::MethodNotAllowed { allow } => format!("405 {}", allow.join(",")),
            RouteMatch::NotFound => "404".into(),
        }
    }

    #[test]
    fn specificity() {
        let r = router(&[
            ("GET", "/pets"),
            ("GET", "/pets/{id}"),
            ("GET", "/pets/mine"),
            ("ANY", "/pets/{id}/toys/{proxy+}"),
            ("GET", "/{proxy+}"),
            ("POST", "/pets"),
            ("ANY", "/admin"),
            ("DELETE", "/admin"),
        ]);
        assert_eq!(hit(&r, "GET", "/prod/pets"), "GET /pets");
        assert_eq!(hit(&r, "GET", "/prod/pets/"), "GET /pets");
        assert_eq!(hit(&r, "POST", "/prod/pets"), "POST /pets");
        assert_eq!(hit(&r, "PUT", "/prod/pets"), "405 GET,HEAD,POST");
        assert_eq!(hit(&r, "GET", "/prod/pets/mine"), "GET /pets/mine");
        assert_eq!(hit(&r, "GET", "/prod/pets/7"), "GET /pets/{id} id=7");
        assert_eq!(hit(&r, "HEAD", "/prod/pets/7"), "GET /pets/{id} id=7");
        assert_eq!(
            hit(&r, "PATCH", "/prod/pets/mine/toys/a/b"),
            "ANY /pets/{id}/toys/{proxy+} id=mine proxy=a/b"
        );
        assert_eq!(
            hit(&r, "GET", "/prod/pets/7/toys"),
            "GET /{proxy+} proxy=pets/7/toys"
        );
        assert_eq!(hit(&r, "GET", "/prod/x/y"), "GET /{proxy+} proxy=x/y");
        assert_eq!(hit(&r, "GET", "/prod"), "404");
        assert_eq!(hit(&r, "GET", "/dev/pets"), "404");
        assert_eq!(hit(&r, "DELETE", "/prod/admin"), "DELETE /admin");
        assert_eq!(hit(&r, "GET", "/prod/admin"), "ANY /admin");
        assert_eq!(hit(&r, "GET", "/prod/pets/a%20b"), "GET /pets/{id} id=a b");
    }

    /// The resource path and the parameters, encoded as for an upstream URL.
    fn found(r: &Router, path: &str) -> String {
        let p = rampart_normalize::normalize(path, &Default::default()).unwrap();
        match r.route(0, &Method::GET, &p) {
            RouteMatch::Found(m) => {
                let mut s = m.resource_path.to_string();
                for (k, v) in &m.params {
                    s.push_str(&format!(" {k}="));
                    v.encoded(&mut s);
                }
                s
            }
            _ => "no match".into(),
        }
    }

    #[test]
    fn resource_paths_and_greedy_values() {
        let r = router(&[("GET", "/"), ("GET", "/pets"), ("GET", "/files/{proxy+}")]);
        assert_eq!(found(&r, "/prod"), "/");
        assert_eq!(found(&r, "/prod/"), "/");
        assert_eq!(found(&r, "/prod/pets"), "/pets");
        assert_eq!(found(&r, "/prod/pets/"), "/pets/");
        assert_eq!(found(&r, "/prod/files/a"), "/files/a proxy=a");
        // The trailing slash stays on the resource path, not in the greedy value.
        assert_eq!(
            found(&r, "/prod/files/a/b%20c/"),
            "/files/a/b c/ proxy=a/b%20c"
        );
        assert_eq!(
            found(&r, "/prod//files/./x/../caf%C3%A9"),
            "/files/café proxy=caf%C3%A9"
        );
        // More segments than are routed on the stack.
        let many: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let deep = format!("/prod/files/{}/", many.join("/"));
        assert_eq!(
            found(&r, &deep),
            format!("/files/{}/ proxy={}", many.join("/"), many.join("/"))
        );
        let r = router(&[(
            "GET",
            "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}",
        )]);
        let seventeen = (0..17).map(|i| format!("/{i}")).collect::<String>();
        let out = found(&r, &format!("/prod{seventeen}"));
        assert!(out.starts_with(&format!("{seventeen} a=0 b=1 ")), "{out}");
        assert!(out.ends_with(" q=16"), "{out}");
    }

    #[test]
    fn templates() {
        assert!(parse_template("/a/{p+}/b").is_err());
        assert!(parse_template("/a/{p}/{p}").is_err());
        assert!(parse_template("/a/x{p}").is_err());
        assert!(parse_template("a").is_err());
        assert!(parse_template("/a//b").is_err());
        assert!(parse_template("/a/../b").is_err());
        assert_eq!(parse_template("/").unwrap(), vec![]);
        assert_eq!(
            parse_template("/caf%C3%A9/{id}").unwrap(),
            vec![Segment::Literal("café".into()), Segment::Param("id".into())]
        );
    }

    #[test]
    fn duplicates_and_conflicts() {
        let mut t = RouteTable::default();
        t.add(
            &parse_template("/a/{id}").unwrap(),
            route("a", "GET", "/a/{id}"),
        )
        .unwrap();
        assert!(matches!(
            t.add(
                &parse_template("/a/{id}").unwrap(),
                route("a", "GET", "/a/{id}")
            ),
            Err(AddError::Duplicate)
        ));
        assert!(matches!(
            t.add(
                &parse_template("/a/{name}").unwrap(),
                route("a", "POST", "/a/{name}")
            ),
            Err(AddError::ParamNameConflict(..))
        ));
    }

    #[test]
    fn root_base_path_and_listeners() {
        let mut table = RouteTable::default();
        table
            .add(&parse_template("/").unwrap(), route("root", "GET", "/"))
            .unwrap();
        let mut r = Router::default();
        r.mount("root".into(), None, vec![], vec![1], Arc::new(table));
        let p = rampart_normalize::normalize("/", &Default::default()).unwrap();
        assert!(matches!(r.route(1, &Method::GET, &p), RouteMatch::Found(_)));
        assert!(matches!(r.route(0, &Method::GET, &p), RouteMatch::NotFound));
    }
}
