//! `rampart waf test`: evaluates one request against a web ACL offline and explains the
//! decision: for each rule, whether it matched, on which field, after which transformations.
//! `rampart waf managed-keys`: what a running gateway's rate-based rules block now.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use rampart_waf::{ResourceKind, Resources, Verdict, WafRequest};

#[derive(Subcommand)]
pub enum WafCommand {
    /// Evaluate one request against a web ACL (AWS WAFv2 JSON) and explain the decision.
    /// Exit code 0 when allowed, 3 when blocked, 1 when a file does not load, 2 when
    /// `--request` or a header is malformed.
    Test(TestArgs),
    /// The addresses the rate-based rules of a running gateway block now, per web ACL and
    /// rule (its admin API; AWS's GetRateBasedStatementManagedKeys).
    ManagedKeys {
        #[command(flatten)]
        admin: crate::admin_cmd::AdminOpts,
    },
}

#[derive(Args)]
pub struct TestArgs {
    /// The web ACL (`aws wafv2 get-web-acl` output or the bare object).
    #[arg(long)]
    acl: PathBuf,
    /// The request: `METHOD TARGET`, the target as in an HTTP request line (`/path?query`, or
    /// an absolute URL, of which the path and query count), without the HTTP version.
    #[arg(long)]
    request: String,
    /// A header, `Name: value` (repeatable, in order).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// The body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// The body, from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// The client IP (default 192.0.2.1).
    #[arg(long, default_value = "192.0.2.1")]
    ip: IpAddr,
    /// IP sets the web ACL references (repeatable).
    #[arg(long = "ip-set")]
    ip_sets: Vec<PathBuf>,
    /// Regex pattern sets the web ACL references (repeatable).
    #[arg(long = "regex-set")]
    regex_sets: Vec<PathBuf>,
    /// Rule groups the web ACL references (repeatable).
    #[arg(long = "rule-group")]
    rule_groups: Vec<PathBuf>,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

/// Why `rampart waf test` stopped.
enum TestError {
    /// A file did not load (exit 1).
    Load(String),
    /// The command line describes no valid request (exit 2, as for clap's usage errors).
    Usage(String),
}

impl From<String> for TestError {
    fn from(e: String) -> Self {
        TestError::Load(e)
    }
}

fn read(p: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

pub fn run(cmd: WafCommand) -> ExitCode {
    match cmd {
        WafCommand::ManagedKeys { admin } => crate::admin_cmd::waf_managed_keys(admin),
        WafCommand::Test(args) => match test(args) {
            Ok(code) => code,
            Err(TestError::Load(e)) => {
                eprintln!("rampart waf test: {e}");
                ExitCode::from(1)
            }
            Err(TestError::Usage(e)) => {
                eprintln!("rampart waf test: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The method, path and query of `--request` as the gateway's WAF stage sees them: the
/// target parsed by `http::Uri`, as hyper parses a request target (absolute form reduced
/// to its path and query, a fragment dropped), and only the forms a client sends to an
/// origin server accepted: `/path?query` or `scheme://authority/path?query`.
fn parse_request(request: &str) -> Result<(http::Method, http::Uri), String> {
    const USAGE: &str = "--request must be `METHOD TARGET`, e.g. `GET /path?query`";
    let (method, target) = request
        .trim()
        .split_once(' ')
        .ok_or_else(|| USAGE.to_owned())?;
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("{method:?} is not an HTTP method; {USAGE}"))?;
    let target = target.trim_start();
    if target.contains(|c: char| c.is_ascii_whitespace()) {
        return Err(format!(
            "the target {target:?} contains a space: percent-encode it (%20), and leave out \
             the HTTP version"
        ));
    }
    let uri: http::Uri = target
        .parse()
        .map_err(|e| format!("the target {target:?} is not a valid request target: {e}"))?;
    if uri.scheme().is_none() && !target.starts_with('/') {
        return Err(format!(
            "the target {target:?} is relative: it must start with / (or be an absolute URL)"
        ));
    }
    Ok((method, uri))
}

/// A `-H 'Name: value'` header, with the checks hyper applies to a received one.
fn parse_header(h: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| format!("header {h:?}: expected `Name: value`"))?;
    let name = http::HeaderName::from_bytes(k.trim().as_bytes())
        .map_err(|_| format!("header {h:?}: {:?} is not a valid header name", k.trim()))?;
    let value = http::HeaderValue::from_bytes(v.trim().as_bytes())
        .map_err(|_| format!("header {h:?}: the value has a control character"))?;
    Ok((name, value))
}

fn test(a: TestArgs) -> Result<ExitCode, TestError> {
    let (method, uri) = parse_request(&a.request).map_err(TestError::Usage)?;
    let headers = a
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TestError::Usage)?;
    let mut res = Resources::default();
    let mut failures = Vec::new();
    for (kind, files) in [
        (ResourceKind::IpSet, &a.ip_sets),
        (ResourceKind::RegexSet, &a.regex_sets),
        (ResourceKind::RuleGroup, &a.rule_groups),
    ] {
        res.load_files(kind, files, |_, m| failures.push(m));
    }
    if !failures.is_empty() {
        return Err(failures.join("\n").into());
    }
    let acl = rampart_waf::load_web_acl(&read(&a.acl)?, &res)
        .map_err(|e| format!("{}:\n{e}", a.acl.display()))?;
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.as_bytes().to_vec(),
        (None, Some(p)) => read(p)?,
        (None, None) => Vec::new(),
    };
    let mut req = WafRequest::new(
        method.as_str(),
        uri.path().as_bytes(),
        uri.query().unwrap_or_default().as_bytes(),
        a.ip,
    );
    req.headers = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    req.body = &body;
    req.body_size = body.len() as u64;
    let d = acl.evaluate_traced(&req, 0);
    let blocked = d.blocked();
    if a.json {
        let trace: Vec<serde_json::Value> = d
            .trace
            .iter()
            .map(|t| {
                serde_json::json!({
                    "rule": t.rule, "matched": t.matched, "skipped": t.skipped,
                    "action": if t.matched { Some(t.action) } else { None },
                    "field": t.location.as_ref().map(|l| &l.field),
                    "transformations": t.location.as_ref().map(|l| l.transformations.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()),
                    "excerpt": t.location.as_ref().map(|l| &l.excerpt),
                })
            })
            .collect();
        let out = serde_json::json!({
            "action": if blocked { "BLOCK" } else { "ALLOW" },
            "terminating_rule": d.terminating_rule,
            "labels": d.labels,
            "status": match &d.verdict { Verdict::Block(r) => Some(r.status), Verdict::Allow => None },
            "rules": trace,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        match &d.verdict {
            Verdict::Allow => println!(
                "ALLOW ({})",
                d.terminating_rule.as_deref().unwrap_or("default action")
            ),
            Verdict::Block(r) => println!(
                "BLOCK {} ({})",
                r.status,
                d.terminating_rule.as_deref().unwrap_or("default action")
            ),
        }
        for t in &d.trace {
            if t.skipped {
                println!("  - {:<50} not evaluated", t.rule);
            } else if t.matched {
                match &t.location {
                    Some(l) => println!(
                        "  * {:<50} MATCH -> {} on {} after [{}]: {}",
                        t.rule,
                        t.action,
                        l.field,
                        l.transformations
                            .iter()
                            .map(|x| format!("{x:?}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        l.excerpt
                    ),
                    None => println!("  * {:<50} MATCH -> {}", t.rule, t.action),
                }
            } else {
                println!("    {:<50} no match", t.rule);
            }
        }
        if !d.labels.is_empty() {
            println!("labels: {}", d.labels.join(", "));
        }
    }
    Ok(if blocked {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
