//! `rampart policy`: simulate IAM authorization decisions and validate policy documents,
//! with the `rampart-iam` evaluator the gateway uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use rampart_iam::eval::StatementTrace;
use rampart_iam::policy::Effect;
use rampart_iam::{
    authorize, parse, parse_value, ApiArn, AuthType, Caller, Context, Decision, Explanation,
    Finding, ParseOptions, Policy, PolicySet, Request, Severity, Value,
};
use serde_json::{json, Value as Json};

const SIMULATE_HELP: &str = "\
How the decision is made:
  Without --resource-policy and without --auth, the decision is the identity policies'
  own (explicit deny, else allow, else implicit deny).
  With --resource-policy (or --auth), identity and resource policies are combined as
  API Gateway does for the route's authorization type: --auth defaults to `iam` when
  --policy or --principal is given, `none` otherwise. The API's account is the 5th
  field of --resource; a caller from another account needs both sides to allow.

Exit status:
  0  the decision is Allow
  1  the request is denied (ExplicitDeny or ImplicitDeny); with --cases, a case's
     decision differs from its expected value
  2  usage error, unreadable file, or a policy (or case) that does not parse";

const VALIDATE_HELP: &str = "\
Exit status:
  0  no errors (warnings may have been printed)
  1  at least one error in a policy
  2  usage error or unreadable file";

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Decide whether a request is allowed, and explain why statement by statement.
    #[command(after_help = SIMULATE_HELP)]
    Simulate(SimulateArgs),
    /// Check policy documents; print every error and warning with its JSON path.
    #[command(after_help = VALIDATE_HELP)]
    Validate(ValidateArgs),
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Identity-based policy files: the caller's IAM policies, or the policy a Lambda
    /// authorizer returned.
    #[arg(
        long = "policy",
        value_name = "FILE",
        num_args = 1..,
        required_unless_present_any = ["resource_policy", "cases"],
        conflicts_with = "cases"
    )]
    policies: Vec<PathBuf>,
    /// The API's resource policy. `execute-api:/stage/METHOD/path` shorthand resources
    /// are read against the API of --resource.
    #[arg(long, value_name = "FILE", conflicts_with = "cases")]
    resource_policy: Option<PathBuf>,
    /// The action requested.
    #[arg(
        long,
        value_name = "ACTION",
        default_value = "execute-api:Invoke",
        conflicts_with = "cases"
    )]
    action: String,
    /// The resource requested, e.g.
    /// arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets.
    #[arg(
        long,
        value_name = "ARN",
        required_unless_present = "cases",
        conflicts_with = "cases"
    )]
    resource: Option<String>,
    /// The caller: an IAM ARN (user, role, assumed-role session), a 12-digit account id,
    /// or `anonymous` (the default). Sets aws:PrincipalArn, aws:PrincipalAccount and (for
    /// users) aws:username unless --context gives them.
    #[arg(long, value_name = "ARN", conflicts_with = "cases")]
    principal: Option<String>,
    /// A request context key and value (repeatable; a key given several times is
    /// multi-valued, for ForAnyValue / ForAllValues).
    #[arg(
        long = "context",
        value_name = "KEY=VALUE",
        value_parser = parse_key_value,
        conflicts_with = "cases"
    )]
    context: Vec<(String, String)>,
    /// The route's authorization type.
    #[arg(long, value_enum, conflicts_with = "cases")]
    auth: Option<AuthArg>,
    /// Print one JSON object instead of text.
    #[arg(long, conflicts_with = "cases")]
    json: bool,
    /// Run every case of a JSON file (an array of {name, identityPolicies, resourcePolicy,
    /// principal, action, resource, context, auth, expected}); prints one JSON line per
    /// case.
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Policy files (JSON).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Read the files as resource-based policies (Principal required) instead of
    /// identity-based ones (Principal not allowed).
    #[arg(long)]
    resource: bool,
    /// Print a JSON array of {file, severity, path, code, message}.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthArg {
    /// No authorization: the resource policy alone decides (public without one).
    None,
    /// AWS_IAM: identity and resource policies, cross-account rules.
    Iam,
    /// A Lambda authorizer: --policy is the policy it returned.
    Lambda,
    /// Cognito / JWT: the resource policy alone decides once the token is valid.
    Cognito,
}

impl From<AuthArg> for AuthType {
    fn from(a: AuthArg) -> Self {
        match a {
            AuthArg::None => AuthType::None,
            AuthArg::Iam => AuthType::Iam,
            AuthArg::Lambda => AuthType::LambdaAuthorizer,
            AuthArg::Cognito => AuthType::Cognito,
        }
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// A usage or input error: printed, exit status 2. Empty when already reported.
struct Usage(String);

impl Usage {
    fn print(&self) {
        if !self.0.is_empty() {
            eprintln!("rampart policy: {}", self.0);
        }
    }
}

const EXIT_DENIED: u8 = 1;
const EXIT_USAGE: u8 = 2;

pub fn run(cmd: PolicyCommand) -> ExitCode {
    let r = match cmd {
        PolicyCommand::Simulate(a) if a.cases.is_some() => run_cases(&a),
        PolicyCommand::Simulate(a) => simulate(&a),
        PolicyCommand::Validate(a) => validate(&a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            e.print();
            ExitCode::from(EXIT_USAGE)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building the request
// ---------------------------------------------------------------------------------------

/// `--principal` / a case's `principal`.
fn caller_of(p: Option<&str>) -> Result<Caller, String> {
    let Some(p) = p else {
        return Ok(Caller::anonymous());
    };
    if p == "anonymous" {
        return Ok(Caller::anonymous());
    }
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Caller::aws(&format!("arn:aws:iam::{p}:root")));
    }
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[4].is_empty() {
        return Err(format!(
            "principal `{p}` is not an IAM ARN (arn:aws:iam::ACCOUNT:user/NAME, ...), an account id or `anonymous`"
        ));
    }
    Ok(Caller::aws(p))
}

/// The request context: the given keys, plus the principal's keys unless given.
fn context_of(pairs: Vec<(String, Value)>, caller: &Caller) -> Context {
    let mut ctx = Context::with_capacity(pairs.len() + 3);
    for (k, v) in pairs {
        ctx.set(&k, v);
    }
    if caller.arn != "anonymous" {
        let mut derived = vec![("aws:PrincipalArn", caller.arn.clone())];
        if let Some(a) = &caller.account {
            derived.push(("aws:PrincipalAccount", a.clone()));
        }
        if let Some(name) = user_name(&caller.arn) {
            derived.push(("aws:username", name.to_string()));
        }
        for (k, v) in derived {
            if ctx.get(&k.to_ascii_lowercase()).is_none() {
                ctx.insert(k, v);
            }
        }
    }
    ctx
}

/// `arn:aws:iam::123456789012:user/path/alice` → `alice`.
fn user_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "iam" {
        return None;
    }
    let rest = parts[5].strip_prefix("user/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Group `--context key=value` pairs by key (case-insensitively, as IAM reads keys): a
/// key given once is single-valued, a key given several times multi-valued.
fn group_pairs(pairs: &[(String, String)]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(x, _)| x.eq_ignore_ascii_case(k)) {
            Some((_, vs)) => vs.push(v.clone()),
            None => out.push((k.clone(), vec![v.clone()])),
        }
    }
    out.into_iter()
        .map(|(k, mut vs)| {
            let v = if vs.len() == 1 {
                Value::One(vs.remove(0))
            } else {
                Value::Many(vs)
            };
            (k, v)
        })
        .collect()
}

/// The account of an ARN (its 5th field).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The API of an execute-api ARN, for reading `execute-api:/...` shorthand.
fn api_of(resource: &str) -> Option<ApiArn> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
        return None;
    }
    let api_id = parts[5].split('/').next().filter(|s| !s.is_empty())?;
    if parts[1].is_empty() || parts[3].is_empty() || parts[4].is_empty() {
        return None;
    }
    Some(ApiArn {
        partition: parts[1].to_string(),
        region: parts[3].to_string(),
        account: parts[4].to_string(),
        api_id: api_id.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Deciding
// ---------------------------------------------------------------------------------------

/// Everything one simulation found.
struct Outcome {
    decision: Decision,
    /// How the sides were combined; `None`: the identity policies alone.
    auth: Option<AuthType>,
    identity: Option<Explanation>,
    resource: Option<Explanation>,
    /// Caller's and API's accounts differ (IAM auth only).
    cross_account: bool,
}

struct Inputs<'a> {
    identity: Option<&'a PolicySet>,
    resource: Option<&'a PolicySet>,
    /// Combine with `authorize` (and this API account), or use the identity side alone.
    combine: Option<(AuthType, &'a str)>,
}

fn decide(inp: &Inputs, req: &Request) -> Outcome {
    let explain = |s: Option<&PolicySet>| {
        s.map(|s| {
            let e = s.explain(req);
            let d = s.evaluate(req);
            if e.decision != d {
                eprintln!(
                    "rampart policy: warning: evaluate says {d:?} but explain says {:?} (a bug in rampart-iam)",
                    e.decision
                );
            }
            e
        })
    };
    let identity = explain(inp.identity);
    let resource = explain(inp.resource);
    match inp.combine {
        Some((auth, account)) => Outcome {
            decision: authorize(auth, account, inp.identity, inp.resource, req),
            auth: Some(auth),
            identity,
            resource,
            cross_account: auth == AuthType::Iam && req.caller.account.as_deref() != Some(account),
        },
        None => Outcome {
            decision: inp
                .identity
                .map_or(Decision::ImplicitDeny, |s| s.evaluate(req)),
            auth: None,
            identity,
            resource,
            cross_account: false,
        },
    }
}

impl Outcome {
    /// Were the identity policies consulted?
    fn identity_counts(&self) -> bool {
        !matches!(self.auth, Some(AuthType::None | AuthType::Cognito))
    }

    fn trace(&self) -> impl Iterator<Item = &StatementTrace> {
        self.identity
            .iter()
            .chain(self.resource.iter())
            .flat_map(|e| e.trace.iter())
    }

    /// The statements that decided: the applicable ones of the decision's effect, on the
    /// sides that count for the authorization type.
    fn deciding(&self) -> Vec<&StatementTrace> {
        let want = match self.decision {
            Decision::Allow => Effect::Allow,
            Decision::ExplicitDeny => Effect::Deny,
            Decision::ImplicitDeny => return Vec::new(),
        };
        let id = self.identity.iter().filter(|_| self.identity_counts());
        id.chain(self.resource.iter())
            .flat_map(|e| e.trace.iter())
            .filter(|t| t.applies && t.effect == want)
            .collect()
    }

    /// Why the decision has no deciding statement.
    fn no_statement_reason(&self) -> String {
        let side = |e: &Option<Explanation>| e.as_ref().map(|e| e.decision);
        match self.decision {
            Decision::Allow => {
                "no statement: without a resource policy the route is open to every caller its authorization lets in".into()
            }
            Decision::ImplicitDeny
                if self.cross_account
                    && (side(&self.identity) == Some(Decision::Allow)
                        || side(&self.resource) == Some(Decision::Allow)) =>
            {
                "no statement: the caller is from another account than the API, so both the identity policies and the resource policy must allow (only one does)".into()
            }
            _ => "no statement allows the request (implicit deny)".into(),
        }
    }
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "Allow",
        Decision::ExplicitDeny => "ExplicitDeny",
        Decision::ImplicitDeny => "ImplicitDeny",
    }
}

fn effect_name(e: Effect) -> &'static str {
    match e {
        Effect::Allow => "Allow",
        Effect::Deny => "Deny",
    }
}

fn auth_name(a: AuthType) -> &'static str {
    match a {
        AuthType::None => "none",
        AuthType::Iam => "iam",
        AuthType::LambdaAuthorizer => "lambda",
        AuthType::Cognito => "cognito",
    }
}

/// `policy.json Statement[2] (Sid NoDelete)`
fn statement_label(t: &StatementTrace) -> String {
    match &t.sid {
        Some(sid) => format!("{} Statement[{}] (Sid {sid})", t.policy, t.statement),
        None => format!("{} Statement[{}]", t.policy, t.statement),
    }
}

fn exit_for(d: Decision) -> ExitCode {
    match d {
        Decision::Allow => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_DENIED),
    }
}

// ---------------------------------------------------------------------------------------
// simulate
// ---------------------------------------------------------------------------------------

fn read(path: &Path) -> Result<String, Usage> {
    std::fs::read_to_string(path).map_err(|e| Usage(format!("cannot read {}: {e}", path.display())))
}

/// Parse a policy file; on errors print its findings and fail.
fn load_policy(path: &Path, opts: &ParseOptions) -> Result<Policy, Usage> {
    let name = path.display().to_string();
    match parse(&name, &read(path)?, opts) {
        Ok(p) => {
            for w in &p.warnings {
                eprintln!("{name}: {w}");
            }
            Ok(p)
        }
        Err(findings) => {
            for f in &findings {
                eprintln!("{name}: {f}");
            }
            Err(Usage(String::new()))
        }
    }
}

fn simulate(a: &SimulateArgs) -> Result<ExitCode, Usage> {
    let resource = a
        .resource
        .as_deref()
        .ok_or_else(|| Usage("--resource is required".into()))?;
    let caller = caller_of(a.principal.as_deref()).map_err(Usage)?;
    let ctx = context_of(group_pairs(&a.context), &caller);

    let mut identity = Vec::new();
    let mut failed = false;
    for p in &a.policies {
        match load_policy(p, &ParseOptions::identity()) {
            Ok(p) => identity.push(p),
            Err(e) => {
                e.print();
                failed = true;
            }
        }
    }
    let rp = match &a.resource_policy {
        Some(p) => match load_policy(p, &ParseOptions::resource(api_of(resource))) {
            Ok(p) => Some(p),
            Err(e) => {
                e.print();
                failed = true;
                None
            }
        },
        None => None,
    };
    if failed {
        return Err(Usage(String::new()));
    }

    let auth = a.auth.map(AuthType::from).or_else(|| {
        default_auth(
            a.resource_policy.is_some(),
            !a.policies.is_empty() || a.principal.is_some(),
        )
    });
    let combine = match auth {
        Some(auth) => Some((
            auth,
            arn_account(resource).ok_or_else(|| {
                Usage(format!(
                    "--resource `{resource}` has no account (arn:aws:execute-api:REGION:ACCOUNT:API/...): the API's account is needed to combine policies"
                ))
            })?,
        )),
        None => None,
    };
    let identity_set = (!a.policies.is_empty()).then(|| PolicySet::new(identity));
    let resource_set = rp.map(|p| PolicySet::new(vec![p]));
    let req = Request::new(&a.action, resource, &caller, &ctx);
    let out = decide(
        &Inputs {
            identity: identity_set.as_ref(),
            resource: resource_set.as_ref(),
            combine,
        },
        &req,
    );
    if a.json {
        println!("{}", simulation_json(&out));
    } else {
        print!("{}", simulation_text(&out, &caller, combine.map(|c| c.1)));
    }
    Ok(exit_for(out.decision))
}

fn trace_json(t: &StatementTrace) -> Json {
    json!({
        "policy": t.policy,
        "statement": t.statement,
        "sid": t.sid,
        "effect": effect_name(t.effect),
        "applies": t.applies,
        "reason": t.reason.as_ref().map(ToString::to_string),
    })
}

fn simulation_json(out: &Outcome) -> Json {
    let side = |e: &Option<Explanation>| e.as_ref().map(|e| decision_name(e.decision));
    json!({
        "decision": decision_name(out.decision),
        "deciding": out.deciding().into_iter().map(|t| json!({
            "policy": t.policy,
            "statement": t.statement,
            "sid": t.sid,
            "effect": effect_name(t.effect),
        })).collect::<Vec<_>>(),
        "trace": out.trace().map(trace_json).collect::<Vec<_>>(),
        "identity": side(&out.identity),
        "resource": side(&out.resource),
    })
}

fn simulation_text(out: &Outcome, caller: &Caller, api_account: Option<&str>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "decision: {}", decision_name(out.decision));
    let deciding = out.deciding();
    if deciding.is_empty() {
        let _ = writeln!(s, "decided by: {}", out.no_statement_reason());
    }
    for t in &deciding {
        let _ = writeln!(
            s,
            "decided by: {} [{}]",
            statement_label(t),
            effect_name(t.effect)
        );
    }
    if let Some(auth) = out.auth {
        let _ = write!(s, "authorization: {}", auth_name(auth));
        if auth == AuthType::Iam {
            let _ = write!(
                s,
                " (caller account {}, API account {}{})",
                caller.account.as_deref().unwrap_or("none"),
                api_account.unwrap_or("?"),
                if out.cross_account {
                    ": cross-account, both sides must allow"
                } else {
                    ""
                }
            );
        }
        s.push('\n');
    }
    if let Some(e) = &out.identity {
        let _ = write!(s, "identity policies: {}", decision_name(e.decision));
        if !out.identity_counts() {
            s.push_str(" (not consulted for this authorization type)");
        }
        s.push('\n');
    }
    if let Some(e) = &out.resource {
        let _ = writeln!(s, "resource policy: {}", decision_name(e.decision));
    }
    s.push_str("statements:\n");
    for t in out.trace() {
        let why = match (&t.reason, t.applies) {
            (_, true) => "applies".to_string(),
            (Some(r), false) => format!("does not apply: {r}"),
            (None, false) => "does not apply".to_string(),
        };
        let _ = writeln!(
            s,
            "  {} [{}]: {why}",
            statement_label(t),
            effect_name(t.effect)
        );
    }
    s
}

// ---------------------------------------------------------------------------------------
// simulate --cases
// ---------------------------------------------------------------------------------------

const CASE_KEYS: &[&str] = &[
    "name",
    "identityPolicies",
    "resourcePolicy",
    "principal",
    "action",
    "resource",
    "context",
    "auth",
    "expected",
];

fn run_cases(a: &SimulateArgs) -> Result<ExitCode, Usage> {
    let Some(path) = &a.cases else {
        return Err(Usage("--cases is required".into()));
    };
    let text = read(path)?;
    let doc = rampart_iam::parse_json(&text)
        .map_err(|e| Usage(format!("{}: not valid JSON: {e}", path.display())))?;
    let Some(cases) = doc.as_array() else {
        return Err(Usage(format!(
            "{}: the cases file must be a JSON array of cases",
            path.display()
        )));
    };
    let mut all_match = true;
    let mut errors = false;
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Json::as_str)
            .map_or_else(|| format!("[{i}]"), str::to_string);
        let expected_raw = case.get("expected").cloned().unwrap_or(Json::Null);
        let line = match run_case(case) {
            Ok((decision, expected)) => {
                let matched = expected.map(|e| e == decision);
                if matched == Some(false) {
                    all_match = false;
                }
                json!({
                    "name": name,
                    "decision": decision_name(decision),
                    "expected": expected_raw,
                    "match": matched,
                })
            }
            Err(msg) => {
                errors = true;
                eprintln!("{}: case {name}: {msg}", path.display());
                json!({
                    "name": name,
                    "decision": Json::Null,
                    "expected": expected_raw,
                    "match": if expected_raw.is_null() { Json::Null } else { Json::Bool(false) },
                    "error": msg,
                })
            }
        };
        println!("{line}");
    }
    Ok(if errors {
        ExitCode::from(EXIT_USAGE)
    } else if all_match {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENIED)
    })
}

/// `expected` values: the test data's words (`Allowed`, ...) or the decisions' names.
fn expected_of(v: &Json) -> Result<Option<Decision>, String> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => match s.as_str() {
            "Allowed" | "Allow" => Ok(Some(Decision::Allow)),
            "ExplicitlyDenied" | "ExplicitDeny" => Ok(Some(Decision::ExplicitDeny)),
            "ImplicitlyDenied" | "ImplicitDeny" => Ok(Some(Decision::ImplicitDeny)),
            _ => Err(format!(
                "expected `{s}` is not Allowed, ExplicitlyDenied or ImplicitlyDenied"
            )),
        },
        _ => Err("expected must be a string".into()),
    }
}

fn auth_of(s: &str) -> Option<AuthType> {
    Some(match s.to_ascii_lowercase().as_str() {
        "none" => AuthType::None,
        "iam" | "aws_iam" => AuthType::Iam,
        "lambda" | "custom" => AuthType::LambdaAuthorizer,
        "cognito" | "cognito_user_pools" | "jwt" => AuthType::Cognito,
        _ => return None,
    })
}

fn findings_text(name: &str, findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{name}: {f}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Evaluate one case: its decision and expected decision.
fn run_case(case: &Json) -> Result<(Decision, Option<Decision>), String> {
    let Some(obj) = case.as_object() else {
        return Err("a case must be a JSON object".into());
    };
    if let Some(k) = obj.keys().find(|k| !CASE_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{k}` (expected one of {})",
            CASE_KEYS.join(", ")
        ));
    }
    let str_field = |k: &str| -> Result<Option<&str>, String> {
        match obj.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("`{k}` must be a string")),
        }
    };
    let expected = expected_of(obj.get("expected").unwrap_or(&Json::Null))?;
    let resource = str_field("resource")?.ok_or("a case needs a `resource`")?;
    let action = str_field("action")?.unwrap_or("execute-api:Invoke");
    let principal = str_field("principal")?;
    let caller = caller_of(principal)?;
    let mut pairs = Vec::new();
    match obj.get("context") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (k, v) in m {
                // A list (even of one value) is multi-valued.
                let val = match v {
                    Json::Array(a) => a
                        .iter()
                        .map(rampart_iam::policy::scalar)
                        .collect::<Option<Vec<_>>>()
                        .map(Value::Many),
                    v => rampart_iam::policy::scalar(v).map(Value::One),
                }
                .ok_or_else(|| format!("context `{k}`: a string or a list of strings"))?;
                pairs.push((k.clone(), val));
            }
        }
        Some(_) => return Err("`context` must be an object".into()),
    }
    let ctx = context_of(pairs, &caller);
    let identity = match obj.get("identityPolicies") {
        None | Some(Json::Null) => None,
        Some(Json::Array(ps)) => {
            let mut out = Vec::new();
            for (i, p) in ps.iter().enumerate() {
                let name = format!("identityPolicies[{i}]");
                out.push(
                    parse_value(&name, p, &ParseOptions::identity())
                        .map_err(|f| findings_text(&name, &f))?,
                );
            }
            Some(PolicySet::new(out))
        }
        Some(_) => return Err("`identityPolicies` must be an array of policies".into()),
    };
    let resource_set = match obj.get("resourcePolicy") {
        None | Some(Json::Null) => None,
        Some(p) => {
            let name = "resourcePolicy";
            let pol = parse_value(name, p, &ParseOptions::resource(api_of(resource)))
                .map_err(|f| findings_text(name, &f))?;
            Some(PolicySet::new(vec![pol]))
        }
    };
    let auth = match str_field("auth")? {
        Some(s) => Some(
            auth_of(s).ok_or_else(|| format!("auth `{s}` is not none, iam, lambda or cognito"))?,
        ),
        None => default_auth(
            resource_set.is_some(),
            identity.is_some() || principal.is_some(),
        ),
    };
    let combine = match auth {
        Some(auth) => Some((
            auth,
            arn_account(resource).ok_or_else(|| format!("resource `{resource}` has no account"))?,
        )),
        None => None,
    };
    let req = Request::new(action, resource, &caller, &ctx);
    let out = decide(
        &Inputs {
            identity: identity.as_ref(),
            resource: resource_set.as_ref(),
            combine,
        },
        &req,
    );
    Ok((out.decision, expected))
}

// ---------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------

fn validate(a: &ValidateArgs) -> Result<ExitCode, Usage> {
    let opts = if a.resource {
        ParseOptions::resource(None)
    } else {
        ParseOptions::identity()
    };
    let mut any_error = false;
    let mut unreadable = false;
    let mut json_out = Vec::new();
    for path in &a.files {
        let name = path.display().to_string();
        let text = match read(path) {
            Ok(t) => t,
            Err(e) => {
                e.print();
                unreadable = true;
                continue;
            }
        };
        let findings = match parse(&name, &text, &opts) {
            Ok(p) => p.warnings,
            Err(f) => f,
        };
        any_error |= findings.iter().any(|f| f.severity == Severity::Error);
        if a.json {
            json_out.extend(findings.iter().map(|f| {
                json!({
                    "file": name,
                    "severity": f.severity,
                    "path": if f.path.is_empty() { "$" } else { f.path.as_str() },
                    "code": f.code,
                    "message": f.message,
                })
            }));
        } else if findings.is_empty() {
            println!("{name}: ok");
        } else {
            for f in &findings {
                println!("{name}: {f}");
            }
        }
    }
    if a.json {
        println!("{}", Json::Array(json_out));
    }
    Ok(if unreadable {
        ExitCode::from(EXIT_USAGE)
    } else if any_error {
        ExitCode::from(EXIT_DENIED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The authorization type when none is given: with a resource policy, IAM when there are
/// identity policies or a named principal (so a cross-account caller gets table B), else
/// none; without a resource policy the identity policies decide alone.
fn default_auth(resource_policy: bool, identified: bool) -> Option<AuthType> {
    resource_policy.then_some(if identified {
        AuthType::Iam
    } else {
        AuthType::None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert_eq!(
            user_name("arn:aws:iam::123456789012:user/alice"),
            Some("alice")
        );
        assert_eq!(
            user_name("arn:aws:iam::123456789012:user/ops/bob"),
            Some("bob")
        );
        assert_eq!(user_name("arn:aws:iam::123456789012:role/r"), None);
        assert_eq!(
            user_name("arn:aws:sts::123456789012:assumed-role/r/s"),
            None
        );
    }

    #[test]
    fn api_from_resource() {
        let api = api_of("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets");
        assert_eq!(
            api.map(|a| a.prefix()).as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:abc123")
        );
        assert!(api_of("arn:aws:s3:::bucket/key").is_none());
    }
}
