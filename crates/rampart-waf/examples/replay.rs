//! Offline detection measurement: evaluates a web ACL (by default one with all seven
//! built-in managed groups, each with OverrideAction None) against JSONL corpora in the
//! format of `bench/waf/waf-replay.py`, without HTTP, and prints the true-positive rate on
//! attacks and the false-positive rate on benign records, per category and per rule.
//! The Host header is replaced by `api.example.test` (CRS's tests send `Host: localhost`,
//! which `Host_localhost_HEADER` blocks by design; `bench/waf/rampart-replay.sh` does the
//! same with `--host-exact`); `--keep-host` keeps it.
//!
//! ```sh
//! cargo run --release -p rampart-waf --example replay -- \
//!     --corpus bench/waf/corpus/crs-regression-v3.3.4.jsonl \
//!     --corpus bench/waf/corpus/benign-api.jsonl [--acl acl.json] [--show-misses N] [--show-fp N]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_waf::{load_web_acl, managed, Resources, WafRequest};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

fn default_acl() -> String {
    let rules: Vec<String> = managed::NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                r#"{{"Name":"{n}","Priority":{i},"OverrideAction":{{"None":{{}}}},"Statement":{{"ManagedRuleGroupStatement":{{"VendorName":"AWS","Name":"{n}"}}}},"VisibilityConfig":{{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"{n}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"Name":"all-managed","DefaultAction":{{"Allow":{{}}}},"Rules":[{}]}}"#,
        rules.join(",")
    )
}

struct Rec {
    kind: String,
    category: String,
    id: String,
    method: String,
    target: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

type Parts = (String, Vec<u8>, Vec<(String, Vec<u8>)>, Vec<u8>);

fn parse_raw(raw: &[u8]) -> Option<Parts> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &raw[..end];
    let body = raw[end + 4..].to_vec();
    let mut lines = head.split(|&c| c == b'\n');
    let first = lines.next()?;
    let first = String::from_utf8_lossy(first).trim_end().to_owned();
    let mut parts = first.splitn(3, ' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?.as_bytes().to_vec();
    let headers = lines
        .filter_map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let i = l.iter().position(|&c| c == b':')?;
            Some((
                String::from_utf8_lossy(&l[..i]).trim().to_owned(),
                l[i + 1..].trim_ascii().to_vec(),
            ))
        })
        .collect();
    Some((method, target, headers, body))
}

fn load(path: &str) -> Vec<Rec> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (method, target, headers, body) =
            if let Some(raw) = v.get("raw_b64").and_then(Value::as_str) {
                use base64::Engine;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap();
                match parse_raw(&raw) {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                let headers = v
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str().unwrap_or_default().as_bytes().to_vec(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                // As waf-replay.py builds them: the query (when given) after the path, the
                // body from body_b64 or body.
                let mut target = s("path");
                if let Some(q) = v.get("query").and_then(Value::as_str) {
                    target.push('?');
                    target.push_str(q);
                }
                let body = match v.get("body_b64").and_then(Value::as_str) {
                    Some(b) => {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD.decode(b).unwrap()
                    }
                    None => s("body").into_bytes(),
                };
                (s("method"), target.into_bytes(), headers, body)
            };
        out.push(Rec {
            kind: s("kind"),
            category: s("category"),
            id: s("id"),
            method,
            target,
            headers,
            body,
        });
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut corpora = Vec::new();
    let mut acl = None;
    let mut show_misses = 0usize;
    let mut show_fp = 20usize;
    let mut keep_host = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--corpus" => corpora.push(args[i + 1].clone()),
            "--acl" => acl = Some(std::fs::read_to_string(&args[i + 1]).unwrap()),
            "--show-misses" => show_misses = args[i + 1].parse().unwrap(),
            "--show-fp" => show_fp = args[i + 1].parse().unwrap(),
            "--keep-host" => {
                keep_host = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let acl = acl.unwrap_or_else(default_acl);
    let compiled = match load_web_acl(acl.as_bytes(), &Resources::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("web ACL: {e}");
            std::process::exit(1);
        }
    };
    // category -> (total, blocked); rule -> hits
    let mut cats: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut rules: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut fps = Vec::new();
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    for path in &corpora {
        for mut r in load(path) {
            if !keep_host {
                for (k, v) in r.headers.iter_mut() {
                    if k.eq_ignore_ascii_case("host") {
                        *v = b"api.example.test".to_vec();
                    }
                }
            }
            let (p, q) = match r.target.iter().position(|&c| c == b'?') {
                Some(i) => (&r.target[..i], &r.target[i + 1..]),
                None => (&r.target[..], &b""[..]),
            };
            let mut req = WafRequest::new(&r.method, p, q, ip);
            req.headers = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect();
            req.body = &r.body;
            req.body_size = r.body.len() as u64;
            let d = compiled.evaluate(&req, 0);
            let e = cats
                .entry((r.kind.clone(), r.category.clone()))
                .or_default();
            e.0 += 1;
            if d.blocked() {
                e.1 += 1;
                let rule = d.terminating_rule.clone().unwrap_or_default();
                *rules.entry((r.kind.clone(), rule.clone())).or_default() += 1;
                if r.kind == "benign" {
                    let loc = d.matches.last().and_then(|m| m.location.clone());
                    fps.push(format!(
                        "{} {} {:?}",
                        r.id,
                        rule,
                        loc.map(|l| (l.field, l.excerpt))
                    ));
                }
            } else if r.kind == "attack" {
                misses.push(format!(
                    "{} {} {} body={}",
                    r.id,
                    r.method,
                    String::from_utf8_lossy(&r.target),
                    String::from_utf8_lossy(&r.body[..r.body.len().min(160)])
                ));
            }
        }
    }
    let mut tot: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    println!(
        "{:<8} {:<40} {:>6} {:>7} {:>7}",
        "kind", "category", "total", "blocked", "rate"
    );
    for ((kind, cat), (n, b)) in &cats {
        println!(
            "{kind:<8} {cat:<40} {n:>6} {b:>7} {:>6.1}%",
            100.0 * *b as f64 / *n as f64
        );
        let t = tot.entry(kind.clone()).or_default();
        t.0 += n;
        t.1 += b;
    }
    for (kind, (n, b)) in &tot {
        println!(
            "TOTAL {kind}: {b}/{n} blocked = {:.1}% ({})",
            100.0 * *b as f64 / *n as f64,
            if kind == "attack" { "TPR" } else { "FPR" }
        );
    }
    println!("\nterminating rules:");
    for ((kind, rule), n) in &rules {
        println!("  {kind:<7} {rule:<70} {n}");
    }
    if !fps.is_empty() {
        println!("\nfalse positives (first {show_fp}):");
        for f in fps.iter().take(show_fp) {
            println!("  {f}");
        }
    }
    if show_misses > 0 {
        println!("\nmissed attacks (first {show_misses}):");
        for m in misses.iter().take(show_misses) {
            println!("  {m}");
        }
    }
}
