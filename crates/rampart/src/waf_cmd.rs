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
    /// Exit code 0 when allowed, 3 when blocked, 1 on errors.
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
    /// The request line: `METHOD /path?query`.
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

fn read(p: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

pub fn run(cmd: WafCommand) -> ExitCode {
    match cmd {
        WafCommand::ManagedKeys { admin } => crate::admin_cmd::waf_managed_keys(admin),
        WafCommand::Test(args) => match test(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("rampart waf test: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn test(a: TestArgs) -> Result<ExitCode, String> {
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
        return Err(failures.join("\n"));
    }
    let acl = rampart_waf::load_web_acl(&read(&a.acl)?, &res)
        .map_err(|e| format!("{}:\n{e}", a.acl.display()))?;
    let (method, target) = a
        .request
        .trim()
        .split_once(' ')
        .ok_or("--request must be `METHOD /path?query`")?;
    let target = target.trim();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?}: expected `Name: value`"))?;
        headers.push((k.trim().to_owned(), v.trim().as_bytes().to_vec()));
    }
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.as_bytes().to_vec(),
        (None, Some(p)) => read(p)?,
        (None, None) => Vec::new(),
    };
    let mut req = WafRequest::new(method, path.as_bytes(), query.as_bytes(), a.ip);
    req.headers = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
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
