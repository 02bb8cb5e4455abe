//! Policy documents: parsing and validation into the compiled form the evaluator uses.
//!
//! Errors reject the policy (as IAM rejects a malformed document); warnings are kept
//! beside it (in the spirit of IAM Access Analyzer's policy checks). Every finding has the
//! JSON path of the element it is about, such as `Statement[2].Condition.StringEquals`.

use serde_json::Value;

use crate::condition::{Condition, Operator, SetQualifier};
use crate::glob::{ArnGlob, Glob};
use crate::vars::Template;

/// Identity-based (attached to a user or role, or returned by an authorizer) or
/// resource-based (attached to the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Identity,
    Resource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One entry of a `Principal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalPattern {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    Any,
    /// `{"AWS": "123456789012"}` or `arn:aws:iam::123456789012:root`: any principal of
    /// that account.
    Account(String),
    /// `{"AWS": "arn:..."}`: one user or role (a role also matches its sessions).
    Arn(String),
    Federated(String),
    Service(String),
    /// `CanonicalUser` (S3 only): matches nothing here.
    Unsupported(String),
}

#[derive(Debug, Clone)]
pub enum PrincipalMatch {
    Principal(Vec<PrincipalPattern>),
    NotPrincipal(Vec<PrincipalPattern>),
}

#[derive(Debug, Clone)]
pub enum ActionMatch {
    /// Lower-cased patterns (actions are case-insensitive).
    Action(Vec<Glob>),
    NotAction(Vec<Glob>),
}

/// A resource pattern; the plain ones are compiled ahead.
#[derive(Debug, Clone)]
pub enum ResourcePattern {
    Plain(ArnGlob),
    Template(Template),
}

#[derive(Debug, Clone)]
pub enum ResourceMatch {
    Resource(Vec<ResourcePattern>),
    NotResource(Vec<ResourcePattern>),
}

#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in its policy's `Statement` list.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// Resource policies only.
    pub principal: Option<PrincipalMatch>,
    pub action: ActionMatch,
    pub resource: ResourceMatch,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it came from (file name, authorizer, ...), for traces.
    pub name: String,
    pub kind: PolicyKind,
    pub version: Option<String>,
    pub statements: Vec<Statement>,
    /// Warnings found while parsing.
    pub warnings: Vec<Finding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// JSON path of the element, e.g. `Statement[0].Action[1]`.
    pub path: String,
    /// A stable identifier, e.g. `allow-with-not-action`.
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let path = if self.path.is_empty() {
            "$"
        } else {
            &self.path
        };
        write!(f, "{sev}: {path}: {} [{}]", self.message, self.code)
    }
}

/// The API a resource policy belongs to, for the `execute-api:/stage/GET/path` shorthand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub api_id: String,
}

impl ApiArn {
    /// `arn:aws:execute-api:{region}:{account}:{api-id}`
    pub fn prefix(&self) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}",
            self.partition, self.region, self.account, self.api_id
        )
    }

    /// The ARN of one request: `.../{stage}/{METHOD}/{path without leading slash}`.
    pub fn method_arn(&self, stage: &str, method: &str, path: &str) -> String {
        let path = path.strip_prefix('/').unwrap_or(path);
        format!("{}/{stage}/{method}/{path}", self.prefix())
    }
}

/// How to read a policy.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub kind: PolicyKind,
    /// Expand `execute-api:/...` shorthand resources to this API's ARNs.
    pub api: Option<ApiArn>,
}

impl ParseOptions {
    pub fn identity() -> Self {
        Self {
            kind: PolicyKind::Identity,
            api: None,
        }
    }

    pub fn resource(api: Option<ApiArn>) -> Self {
        Self {
            kind: PolicyKind::Resource,
            api,
        }
    }
}

/// Condition keys the gateway knows (lower-cased), and prefixes of key families.
const KNOWN_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:currenttime",
    "aws:epochtime",
    "aws:referer",
    "aws:useragent",
    "aws:securetransport",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:userid",
    "aws:username",
    "aws:tokenissuetime",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:requestedregion",
    "aws:tagkeys",
    "aws:calledvia",
    "aws:viaawsservice",
    "aws:federatedprovider",
    "aws:sourceidentity",
    "aws:resourceaccount",
    "rampart:listener",
    "rampart:clientcertfingerprint",
    "rampart:clientcertsubject",
    "rampart:apikeyid",
];
const KNOWN_PREFIXES: &[&str] = &[
    "aws:principaltag/",
    "aws:resourcetag/",
    "aws:requesttag/",
    "jwt:",
];

/// Is this (lower-cased) condition key one the gateway can supply?
pub fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.contains(&key)
        || KNOWN_PREFIXES
            .iter()
            .any(|p| key.len() > p.len() && key.starts_with(p))
}

struct Ctx<'a> {
    opts: &'a ParseOptions,
    vars: bool,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn error(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            path: path.to_string(),
            code,
            message: message.into(),
        });
    }
    fn warn(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            path: path.to_string(),
            code,
            message: message.into(),
        });
    }
}

/// Parse policy JSON text.
pub fn parse(name: &str, text: &str, opts: &ParseOptions) -> Result<Policy, Vec<Finding>> {
    match crate::json::parse(text) {
        Ok(v) => parse_value(name, &v, opts),
        Err(e) => Err(vec![Finding {
            severity: Severity::Error,
            path: String::new(),
            code: "json",
            message: format!("not valid JSON: {e}"),
        }]),
    }
}

/// Parse a policy document already read as JSON. On error, all findings (errors and
/// warnings) are returned.
pub fn parse_value(name: &str, doc: &Value, opts: &ParseOptions) -> Result<Policy, Vec<Finding>> {
    let mut cx = Ctx {
        opts,
        vars: false,
        findings: Vec::new(),
    };
    let Some(obj) = doc.as_object() else {
        cx.error("", "syntax", "a policy must be a JSON object");
        return Err(cx.findings);
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
            cx.error(
                k,
                "unknown-element",
                format!("unknown policy element `{k}`"),
            );
        }
    }
    let version = match obj.get("Version") {
        None => {
            cx.warn(
                "",
                "missing-version",
                "no Version: policy variables are off (use \"2012-10-17\")",
            );
            None
        }
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
        Some(_) => {
            cx.error(
                "Version",
                "invalid-version",
                "Version must be \"2012-10-17\" or \"2008-10-17\"",
            );
            None
        }
    };
    cx.vars = version.as_deref() == Some("2012-10-17");
    if let Some(id) = obj.get("Id") {
        if !id.is_string() {
            cx.error("Id", "syntax", "Id must be a string");
        }
    }
    let stmts: Vec<(String, &Value)> = match obj.get("Statement") {
        None => {
            cx.error("", "missing-statement", "a policy needs a Statement");
            vec![]
        }
        Some(Value::Array(a)) => {
            if a.is_empty() {
                cx.error("Statement", "missing-statement", "Statement is empty");
            }
            a.iter()
                .enumerate()
                .map(|(i, s)| (format!("Statement[{i}]"), s))
                .collect()
        }
        Some(s @ Value::Object(_)) => vec![("Statement".to_string(), s)],
        Some(_) => {
            cx.error(
                "Statement",
                "syntax",
                "Statement must be an object or an array of objects",
            );
            vec![]
        }
    };
    let mut statements = Vec::new();
    let mut sids: Vec<String> = Vec::new();
    for (i, (path, s)) in stmts.into_iter().enumerate() {
        if let Some(st) = statement(&mut cx, i, &path, s) {
            if let Some(sid) = &st.sid {
                if sids.contains(sid) {
                    cx.error(
                        &format!("{path}.Sid"),
                        "duplicate-sid",
                        format!("Sid `{sid}` is used twice"),
                    );
                }
                sids.push(sid.clone());
            }
            statements.push(st);
        }
    }
    if cx.findings.iter().any(|f| f.severity == Severity::Error) {
        return Err(cx.findings);
    }
    Ok(Policy {
        name: name.to_string(),
        kind: opts.kind,
        version,
        statements,
        warnings: cx.findings,
    })
}

/// A string or a list of strings.
fn strings(cx: &mut Ctx, path: &str, v: &Value) -> Option<Vec<(String, String)>> {
    match v {
        Value::String(s) => Some(vec![(path.to_string(), s.clone())]),
        Value::Array(a) if !a.is_empty() => {
            let mut out = Vec::new();
            for (i, x) in a.iter().enumerate() {
                match x {
                    Value::String(s) => out.push((format!("{path}[{i}]"), s.clone())),
                    _ => {
                        cx.error(&format!("{path}[{i}]"), "syntax", "must be a string");
                        return None;
                    }
                }
            }
            Some(out)
        }
        Value::Array(_) => {
            cx.error(path, "syntax", "must not be empty");
            None
        }
        _ => {
            cx.error(path, "syntax", "must be a string or a list of strings");
            None
        }
    }
}

fn statement(cx: &mut Ctx, index: usize, path: &str, s: &Value) -> Option<Statement> {
    let Some(obj) = s.as_object() else {
        cx.error(path, "syntax", "a statement must be an object");
        return None;
    };
    let errors_before = cx
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            cx.error(
                &format!("{path}.{k}"),
                "unknown-element",
                format!("unknown statement element `{k}`"),
            );
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            cx.error(&format!("{path}.Sid"), "syntax", "Sid must be a string");
            None
        }
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
        Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
        Some(_) => {
            cx.error(
                &format!("{path}.Effect"),
                "invalid-effect",
                "Effect must be \"Allow\" or \"Deny\"",
            );
            None
        }
        None => {
            cx.error(path, "missing-effect", "a statement needs an Effect");
            None
        }
    };
    let principal = principal(cx, path, obj, effect);
    let action = action(cx, path, obj, effect);
    let resource = resource(cx, path, obj, effect, action.as_ref());
    let conditions = match obj.get("Condition") {
        None => Some(Vec::new()),
        Some(c) => conditions(cx, &format!("{path}.Condition"), c, effect),
    };
    let errors_after = cx
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors_after > errors_before {
        return None;
    }
    Some(Statement {
        index,
        sid,
        effect: effect?,
        principal,
        action: action?,
        resource: resource?,
        conditions: conditions?,
    })
}

/// Which of an element and its `Not` form a statement has: `(name, value, negated)`.
/// Both is an error; neither is an error when `missing` gives its code and message.
fn pick<'a>(
    cx: &mut Ctx,
    path: &str,
    obj: &'a serde_json::Map<String, Value>,
    (name, not_name): (&'static str, &'static str),
    both_code: &'static str,
    missing: Option<(&'static str, &'static str)>,
) -> Option<(&'static str, &'a Value, bool)> {
    match (obj.get(name), obj.get(not_name)) {
        (Some(_), Some(_)) => {
            cx.error(
                path,
                both_code,
                format!("a statement cannot have both {name} and {not_name}"),
            );
            None
        }
        (Some(v), None) => Some((name, v, false)),
        (None, Some(v)) => Some((not_name, v, true)),
        (None, None) => {
            if let Some((code, message)) = missing {
                cx.error(path, code, message);
            }
            None
        }
    }
}

fn principal(
    cx: &mut Ctx,
    path: &str,
    obj: &serde_json::Map<String, Value>,
    effect: Option<Effect>,
) -> Option<PrincipalMatch> {
    let missing = (cx.opts.kind == PolicyKind::Resource).then_some((
        "missing-principal",
        "a statement of a resource policy needs a Principal or NotPrincipal",
    ));
    let (name, v, not) = pick(
        cx,
        path,
        obj,
        ("Principal", "NotPrincipal"),
        "principal-and-not-principal",
        missing,
    )?;
    let p = format!("{path}.{name}");
    if cx.opts.kind == PolicyKind::Identity {
        cx.error(
            &p,
            "principal-in-identity-policy",
            format!("{name} is not allowed in an identity-based policy"),
        );
        return None;
    }
    let mut pats = Vec::new();
    match v {
        Value::String(s) if s == "*" => pats.push(PrincipalPattern::Any),
        Value::Object(m) if !m.is_empty() => {
            for (kind, vals) in m {
                let kp = format!("{p}.{kind}");
                let Some(list) = strings(cx, &kp, vals) else {
                    continue;
                };
                for (vp, s) in list {
                    let pat = match kind.as_str() {
                        "AWS" => aws_principal(cx, &vp, &s),
                        "Federated" => Some(PrincipalPattern::Federated(s)),
                        "Service" => Some(PrincipalPattern::Service(s)),
                        "CanonicalUser" => {
                            cx.warn(
                                &vp,
                                "unsupported-principal",
                                "CanonicalUser principals never match at a gateway",
                            );
                            Some(PrincipalPattern::Unsupported(s))
                        }
                        _ => {
                            cx.error(
                                &kp,
                                "invalid-principal",
                                format!("unknown principal type `{kind}` (AWS, Federated, Service, CanonicalUser)"),
                            );
                            None
                        }
                    };
                    pats.extend(pat);
                }
            }
        }
        _ => {
            cx.error(
                &p,
                "invalid-principal",
                "must be \"*\" or an object such as {\"AWS\": \"arn:...\"}",
            );
            return None;
        }
    }
    if not && effect == Some(Effect::Allow) {
        cx.warn(
            &p,
            "allow-with-not-principal",
            "Allow with NotPrincipal grants access to every principal not listed, anonymous callers included",
        );
    }
    Some(if not {
        PrincipalMatch::NotPrincipal(pats)
    } else {
        PrincipalMatch::Principal(pats)
    })
}

fn aws_principal(cx: &mut Ctx, path: &str, s: &str) -> Option<PrincipalPattern> {
    if s == "*" {
        return Some(PrincipalPattern::Any);
    }
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(PrincipalPattern::Account(s.to_string()));
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        cx.error(
            path,
            "invalid-principal",
            format!("`{s}` is not an account id or an ARN"),
        );
        return None;
    }
    if s.contains('*') || s.contains('?') {
        cx.error(
            path,
            "invalid-principal",
            "wildcards are not allowed in principal ARNs (use aws:PrincipalArn with ArnLike)",
        );
        return None;
    }
    if parts[2] == "iam" && parts[5] == "root" {
        return Some(PrincipalPattern::Account(parts[4].to_string()));
    }
    Some(PrincipalPattern::Arn(s.to_string()))
}

fn action(
    cx: &mut Ctx,
    path: &str,
    obj: &serde_json::Map<String, Value>,
    effect: Option<Effect>,
) -> Option<ActionMatch> {
    let (name, v, not) = pick(
        cx,
        path,
        obj,
        ("Action", "NotAction"),
        "action-and-not-action",
        Some(("missing-action", "a statement needs an Action or NotAction")),
    )?;
    let p = format!("{path}.{name}");
    let list = strings(cx, &p, v)?;
    let mut globs = Vec::new();
    for (vp, s) in list {
        if s == "*" {
            if !not && effect == Some(Effect::Allow) {
                cx.warn(
                    &vp,
                    "action-wildcard",
                    "Action \"*\" allows every action of every service",
                );
            }
        } else {
            match s.split_once(':') {
                Some((svc, act))
                    if !svc.is_empty()
                        && !act.is_empty()
                        && svc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {}
                _ => {
                    cx.error(
                        &vp,
                        "invalid-action",
                        format!("`{s}` is not an action (service:Action, wildcards allowed)"),
                    );
                    continue;
                }
            }
        }
        globs.push(Glob::new(&s.to_ascii_lowercase()));
    }
    if not && effect == Some(Effect::Allow) {
        cx.warn(
            &p,
            "allow-with-not-action",
            "Allow with NotAction allows every action not listed, of every service",
        );
    }
    Some(if not {
        ActionMatch::NotAction(globs)
    } else {
        ActionMatch::Action(globs)
    })
}

/// Might this action set include execute-api actions?
fn touches_execute_api(a: &ActionMatch) -> bool {
    match a {
        ActionMatch::NotAction(_) => true,
        ActionMatch::Action(gs) => gs.iter().any(|g| {
            g.is_match("execute-api:invoke") || g.literal_prefix().starts_with("execute-api")
        }),
    }
}

fn resource(
    cx: &mut Ctx,
    path: &str,
    obj: &serde_json::Map<String, Value>,
    effect: Option<Effect>,
    action: Option<&ActionMatch>,
) -> Option<ResourceMatch> {
    let (name, v, not) = pick(
        cx,
        path,
        obj,
        ("Resource", "NotResource"),
        "resource-and-not-resource",
        Some((
            "missing-resource",
            "a statement needs a Resource or NotResource",
        )),
    )?;
    let p = format!("{path}.{name}");
    let list = strings(cx, &p, v)?;
    let mut pats = Vec::new();
    for (vp, mut s) in list {
        if let Some(rest) = s.strip_prefix("execute-api:") {
            match &cx.opts.api {
                Some(api) if rest.starts_with('/') => {
                    s = format!("{}{rest}", api.prefix());
                }
                Some(_) => {
                    cx.error(
                        &vp,
                        "invalid-resource",
                        format!(
                            "`{s}`: the execute-api shorthand is execute-api:/stage/METHOD/path"
                        ),
                    );
                    continue;
                }
                None => {
                    cx.error(
                        &vp,
                        "invalid-resource",
                        format!("`{s}`: the execute-api:/... shorthand needs the API it belongs to (use a full ARN here)"),
                    );
                    continue;
                }
            }
        }
        if s == "*" {
            if !not && effect == Some(Effect::Allow) && action.is_some_and(touches_execute_api) {
                cx.warn(
                    &vp,
                    "resource-wildcard",
                    "Resource \"*\" on execute-api allows every API, stage, method and path",
                );
            }
        } else if !s.starts_with("arn:") {
            cx.error(
                &vp,
                "invalid-resource",
                format!("`{s}` is not an ARN, \"*\" or execute-api:/... shorthand"),
            );
            continue;
        } else if s
            .split(':')
            .nth(2)
            .is_some_and(|svc| svc.contains('*') || svc.contains('?'))
        {
            cx.error(
                &vp,
                "invalid-resource",
                "wildcards are not allowed in the service part of an ARN",
            );
            continue;
        }
        match template(cx, &vp, &s) {
            Some(t) => pats.push(match t.as_plain() {
                Some(plain) => ResourcePattern::Plain(ArnGlob::new(plain)),
                None => ResourcePattern::Template(t),
            }),
            None => continue,
        }
    }
    if not && effect == Some(Effect::Allow) {
        cx.warn(
            &p,
            "allow-with-not-resource",
            "Allow with NotResource allows every resource not listed",
        );
    }
    Some(if not {
        ResourceMatch::NotResource(pats)
    } else {
        ResourceMatch::Resource(pats)
    })
}

fn template(cx: &mut Ctx, path: &str, s: &str) -> Option<Template> {
    if !cx.vars && s.contains("${") {
        cx.warn(
            path,
            "variable-in-old-version",
            "`${...}` is literal text here: policy variables need Version \"2012-10-17\"",
        );
    }
    match Template::parse(s, cx.vars) {
        Ok(t) => {
            for k in t.var_keys() {
                if !is_known_key(k) {
                    cx.warn(
                        path,
                        "unknown-variable",
                        format!(
                            "`{k}` is not a key the gateway supplies: this value never matches"
                        ),
                    );
                }
            }
            Some(t)
        }
        Err(e) => {
            cx.error(path, "invalid-variable", e.0);
            None
        }
    }
}

fn conditions(
    cx: &mut Ctx,
    path: &str,
    v: &Value,
    effect: Option<Effect>,
) -> Option<Vec<Condition>> {
    let Some(ops) = v.as_object() else {
        cx.error(path, "syntax", "Condition must be an object of operators");
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (op_name, block) in ops {
        let op_path = format!("{path}.{op_name}");
        let Some(op) = Operator::parse(op_name) else {
            cx.error(
                &op_path,
                "unknown-operator",
                format!("`{op_name}` is not a condition operator"),
            );
            ok = false;
            continue;
        };
        let Some(keys) = block.as_object().filter(|m| !m.is_empty()) else {
            cx.error(
                &op_path,
                "syntax",
                "a condition operator takes an object of keys and values",
            );
            ok = false;
            continue;
        };
        if op.set == SetQualifier::ForAllValues && effect == Some(Effect::Allow) && !op.negated {
            // Unless every key is also guarded by `"Null": {key: "false"}`.
            let guarded = |key: &str| {
                ops.iter().any(|(name, b)| {
                    name == "Null"
                        && b.get(key).is_some_and(|v| {
                            v.as_str() == Some("false") || v.as_bool() == Some(false)
                        })
                })
            };
            if !keys.keys().all(|k| guarded(k)) {
                cx.warn(
                    &op_path,
                    "forallvalues-with-allow",
                    "ForAllValues is also true when the key is absent or empty: with Allow, add a Null check",
                );
            }
        }
        for (key, vals) in keys {
            let kp = format!("{op_path}.{key}");
            let lower = key.to_ascii_lowercase();
            if !is_known_key(&lower) {
                cx.warn(
                    &kp,
                    "unknown-condition-key",
                    format!("`{key}` is not a condition key the gateway supplies"),
                );
            }
            // Where each of `raw` sits in the policy's list (a value that is not a scalar
            // is left out of `raw`, and must not shift the paths of those after it).
            let mut at: Vec<usize> = Vec::new();
            let raw: Vec<String> = match vals {
                Value::Array(a) if !a.is_empty() => {
                    let mut r = Vec::new();
                    for (i, x) in a.iter().enumerate() {
                        match scalar(x) {
                            Some(s) => {
                                r.push(s);
                                at.push(i);
                            }
                            None => {
                                cx.error(
                                    &format!("{kp}[{i}]"),
                                    "syntax",
                                    "condition values are strings, numbers or booleans",
                                );
                                ok = false;
                            }
                        }
                    }
                    r
                }
                v => match scalar(v) {
                    Some(s) => vec![s],
                    None => {
                        cx.error(
                            &kp,
                            "syntax",
                            "a condition value is a string, number, boolean or a non-empty list of them",
                        );
                        ok = false;
                        continue;
                    }
                },
            };
            if !cx.vars && raw.iter().any(|r| r.contains("${")) {
                cx.warn(
                    &kp,
                    "variable-in-old-version",
                    "`${...}` is literal text here: policy variables need Version \"2012-10-17\"",
                );
            }
            match Condition::compile(op_name, op, key, &raw, cx.vars) {
                Ok(c) => {
                    for t in template_keys(&c) {
                        if !is_known_key(&t) {
                            cx.warn(
                                &kp,
                                "unknown-variable",
                                format!("`{t}` is not a key the gateway supplies: this value never matches"),
                            );
                        }
                    }
                    out.push(c)
                }
                Err((i, msg)) => {
                    let vp = if matches!(vals, Value::Array(_)) {
                        format!("{kp}[{}]", at.get(i).copied().unwrap_or(i))
                    } else {
                        kp.clone()
                    };
                    cx.error(&vp, "invalid-condition-value", msg);
                    ok = false;
                }
            }
        }
    }
    ok.then_some(out)
}

fn template_keys(c: &Condition) -> Vec<String> {
    use crate::condition::Values;
    let ts: Vec<&Template> = match &c.values {
        Values::Str(ts) => ts.iter().collect(),
        Values::Like(ps) => ps.iter().map(|(t, _)| t).collect(),
        Values::Arn(ps) => ps.iter().map(|(t, _)| t).collect(),
        _ => Vec::new(),
    };
    ts.iter()
        .flat_map(|t| t.var_keys().map(str::to_string))
        .collect()
}

/// A condition value as the string IAM compares (numbers and booleans as written).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
