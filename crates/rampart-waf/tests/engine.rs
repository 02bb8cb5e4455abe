#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::bool_assert_comparison
)]
//! Web ACL parsing, validation and evaluation: statements, fields, actions, labels, rule
//! groups, IP sets and rate-based rules.

use rampart_waf::model::{IpSet, RegexPatternSet};
use rampart_waf::{
    load_web_acl, parse_ip_set, parse_regex_set, parse_rule_group, parse_web_acl, CompiledAcl,
    LoadError, Resources, Verdict, WafRequest,
};
use serde_json::{json, Value};
use std::net::IpAddr;

fn acl(rules: Value) -> CompiledAcl {
    acl_with(rules, &Resources::default())
}

fn acl_with(rules: Value, res: &Resources) -> CompiledAcl {
    let doc = json!({"Name": "test", "DefaultAction": {"Allow": {}}, "Rules": rules,
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "test"}});
    match load_web_acl(doc.to_string().as_bytes(), res) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

fn errors(doc: Value) -> String {
    errors_with(doc, &Resources::default())
}

fn errors_with(doc: Value, res: &Resources) -> String {
    match load_web_acl(doc.to_string().as_bytes(), res) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn rule(name: &str, prio: i64, statement: Value, action: &str) -> Value {
    json!({"Name": name, "Priority": prio, "Statement": statement, "Action": {action: {}},
        "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": name}})
}

/// `TextTransformations` in the given order.
fn tts(tt: &[&str]) -> Vec<Value> {
    tt.iter()
        .enumerate()
        .map(|(i, t)| json!({"Priority": i, "Type": t}))
        .collect()
}

fn byte(field: Value, s: &str, pos: &str, tt: &[&str]) -> Value {
    json!({"ByteMatchStatement": {"SearchString": s, "FieldToMatch": field,
        "TextTransformations": tts(tt), "PositionalConstraint": pos}})
}

fn regex(field: Value, pattern: &str, tt: &[&str]) -> Value {
    json!({"RegexMatchStatement": {"RegexString": pattern, "FieldToMatch": field,
        "TextTransformations": tts(tt)}})
}

const IP: &str = "198.51.100.7";

struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ip: IpAddr,
}

fn req(method: &str, target: &str) -> Req {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Req {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: Vec::new(),
        body: Vec::new(),
        ip: IP.parse().unwrap(),
    }
}

impl Req {
    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn body(mut self, b: &str) -> Self {
        self.body = b.as_bytes().to_vec();
        self
    }
    fn ip(mut self, ip: &str) -> Self {
        self.ip = ip.parse().unwrap();
        self
    }
    fn eval(&self, acl: &CompiledAcl) -> rampart_waf::Decision {
        self.eval_at(acl, 0)
    }
    fn eval_at(&self, acl: &CompiledAcl, now_ms: u64) -> rampart_waf::Decision {
        let mut r = WafRequest::new(
            &self.method,
            self.path.as_bytes(),
            self.query.as_bytes(),
            self.ip,
        );
        r.headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        r.body = &self.body;
        r.body_size = self.body.len() as u64;
        acl.evaluate_traced(&r, now_ms)
    }
    fn blocked(&self, acl: &CompiledAcl) -> bool {
        self.eval(acl).blocked()
    }
}

#[test]
fn byte_match_positional_constraints() {
    let cases = [
        ("EXACTLY", "/admin", "/admin", true),
        ("EXACTLY", "/admin", "/admin/x", false),
        ("STARTS_WITH", "/admin", "/admin/x", true),
        ("STARTS_WITH", "/admin", "/x/admin", false),
        ("ENDS_WITH", ".php", "/index.php", true),
        ("ENDS_WITH", ".php", "/index.php5", false),
        ("CONTAINS", "etc/passwd", "/a/etc/passwd/b", true),
        ("CONTAINS", "etc/passwd", "/a/etc/shadow", false),
        ("CONTAINS_WORD", "admin", "/x/admin/y", true),
        ("CONTAINS_WORD", "admin", "/administrator", false),
        ("CONTAINS_WORD", "admin", "/sysadmin", false),
        ("CONTAINS_WORD", "admin", "admin", true),
        ("CONTAINS_WORD", "admin", "/administrator/admin", true),
    ];
    for (pos, needle, path, want) in cases {
        let a = acl(json!([rule(
            "r",
            0,
            byte(json!({"UriPath": {}}), needle, pos, &["NONE"]),
            "Block"
        )]));
        assert_eq!(
            req("GET", path).blocked(&a),
            want,
            "{pos} {needle} in {path}"
        );
    }
}

#[test]
fn transformations_apply_in_priority_order() {
    // Priority 1 LOWERCASE after priority 0 URL_DECODE: %41DMIN -> ADMIN -> admin.
    let st = json!({"ByteMatchStatement": {"SearchString": "admin", "FieldToMatch": {"QueryString": {}},
        "TextTransformations": [{"Priority": 1, "Type": "LOWERCASE"}, {"Priority": 0, "Type": "URL_DECODE"}],
        "PositionalConstraint": "CONTAINS"}});
    let a = acl(json!([rule("r", 0, st, "Block")]));
    let d = req("GET", "/?u=%41DMIN").eval(&a);
    assert!(d.blocked());
    let loc = d.matches[0].location.clone().unwrap();
    assert_eq!(loc.field, "QueryString");
    assert_eq!(loc.excerpt, "u=admin");
    assert_eq!(
        format!("{:?}", loc.transformations),
        "[UrlDecode, Lowercase]"
    );
    // Without the decode it does not match.
    let a = acl(json!([rule(
        "r",
        0,
        byte(
            json!({"QueryString": {}}),
            "admin",
            "CONTAINS",
            &["LOWERCASE"]
        ),
        "Block"
    )]));
    assert!(!req("GET", "/?u=%41DMIN").blocked(&a));
}

/// A regex statement's final LOWERCASE is folded into its pattern: it matches what the
/// lowercased value would (and a capital in the pattern never does), and its match report
/// still lists LOWERCASE and shows the value lowercased.
#[test]
fn a_final_lowercase_in_a_regex_statement() {
    let regex = |pattern: &str, tt: &[&str]| regex(json!({"QueryString": {}}), pattern, tt);
    let a = acl(json!([rule(
        "r",
        0,
        regex(r"\bunion\s+select\b", &["URL_DECODE", "LOWERCASE"]),
        "Block"
    )]));
    for (query, hit) in [
        ("q=1%20UNION%20SeLeCT%202", true),
        ("q=1 union select 2", true),
        ("q=reunion select", false),
        ("q=UNION", false),
    ] {
        assert_eq!(
            req("GET", &format!("/?{query}")).blocked(&a),
            hit,
            "{query}"
        );
    }
    let d = req("GET", "/?q=1%20UNION%20SeLeCT%202").eval(&a);
    let loc = d.matches[0].location.clone().unwrap();
    assert_eq!(loc.excerpt, "q=1 union select 2");
    assert_eq!(
        format!("{:?}", loc.transformations),
        "[UrlDecode, Lowercase]"
    );
    // Lowercased values hold no capital: a pattern with one never matches.
    let a = acl(json!([rule(
        "r",
        0,
        regex("UNION", &["LOWERCASE"]),
        "Block"
    )]));
    assert!(!req("GET", "/?q=UNION").blocked(&a));
    assert!(!req("GET", "/?q=union").blocked(&a));
    // Without LOWERCASE last, the pattern is case-sensitive as written.
    let a = acl(json!([rule(
        "r",
        0,
        regex("union", &["LOWERCASE", "URL_DECODE"]),
        "Block"
    )]));
    assert!(req("GET", "/?q=UNION").blocked(&a));
    assert!(!req("GET", "/?q=%55NION").blocked(&a));
}

/// Transformed values are cached per request (for long values): statements on the same field
/// with different chains, or in a different order, still see their own chain's result.
#[test]
fn transformation_chains_do_not_share_results() {
    let filler = "x".repeat(400);
    let body = format!("{filler} %41DMIN {filler}");
    let count = |name: &str, prio: i64, s: &str, tt: &[&str]| {
        rule(
            name,
            prio,
            byte(json!({"Body": {}}), s, "CONTAINS", tt),
            "Count",
        )
    };
    let a = acl(json!([
        count("lower", 0, "%41dmin", &["LOWERCASE"]),
        count("lower-again", 1, "%41dmin", &["LOWERCASE"]),
        count("raw-upper", 2, "%41DMIN", &["NONE"]),
        count("decoded", 3, "ADMIN", &["URL_DECODE"]),
        count("decoded-lower", 4, "admin", &["URL_DECODE", "LOWERCASE"]),
        count("lower-decoded", 5, "Admin", &["LOWERCASE", "URL_DECODE"]),
        count("lower-not-upper", 6, "%41DMIN", &["LOWERCASE"]),
        count("decoded-not-raw", 7, "%41DMIN", &["URL_DECODE"]),
        count(
            "twice-lower-not-upper",
            8,
            "ADMIN",
            &["URL_DECODE", "LOWERCASE"]
        ),
    ]));
    let d = req("POST", "/").body(&body).eval(&a);
    let matched: Vec<&str> = d.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(
        matched,
        [
            "lower",
            "lower-again",
            "raw-upper",
            "decoded",
            "decoded-lower",
            "lower-decoded"
        ]
    );
    // The same again in another request: nothing carries over.
    let d = req("POST", "/").body(&body.to_lowercase()).eval(&a);
    let matched: Vec<&str> = d.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(
        matched,
        ["lower", "lower-again", "decoded-lower", "lower-decoded"]
    );
}

/// Regex statements on the same values and transformations run as one set per value
/// (`RegexGroup`): each statement still answers for its own pattern, in any order of
/// evaluation, across nested statements, and never for another field, header or chain.
#[test]
fn grouped_regexes_answer_for_their_own_pattern() {
    let body = || json!({"Body": {}});
    let count = |name: &str, prio: i64, st: Value| rule(name, prio, st, "Count");
    let a = acl(json!([
        count("union", 0, regex(body(), r"union\s+select", &["LOWERCASE"])),
        count("script", 1, regex(body(), r"<script", &["LOWERCASE"])),
        count("passwd", 2, regex(body(), r"etc/passwd", &["LOWERCASE"])),
        // Same patterns, another chain: its own group (no LOWERCASE: case matters).
        count("union-raw", 3, regex(body(), r"union\s+select", &["NONE"])),
        // Nested in And/Not, same group as the first three.
        count(
            "not-script-but-passwd",
            4,
            json!({"AndStatement": {"Statements": [
                {"NotStatement": {"Statement": regex(body(), r"<script", &["LOWERCASE"])}},
                regex(body(), r"etc/passwd", &["LOWERCASE"]),
            ]}})
        ),
        // Two headers with the same pattern and chain are two fields.
        count(
            "h-a",
            5,
            regex(
                json!({"SingleHeader": {"Name": "x-a"}}),
                r"^bad",
                &["LOWERCASE"]
            )
        ),
        count(
            "h-b",
            6,
            regex(
                json!({"SingleHeader": {"Name": "x-b"}}),
                r"^bad",
                &["LOWERCASE"]
            )
        ),
        count(
            "h-a-end",
            7,
            regex(
                json!({"SingleHeader": {"Name": "x-a"}}),
                r"end$",
                &["LOWERCASE"]
            )
        ),
        // A pattern that needs Unicode stays alone and keeps its meaning.
        count("greek", 8, regex(body(), r"\p{Greek}+", &["LOWERCASE"])),
    ]));
    let matched =
        |r: &Req| -> Vec<String> { r.eval(&a).matches.iter().map(|m| m.rule.clone()).collect() };
    assert_eq!(
        matched(
            &req("POST", "/")
                .body("x UNION  Select y")
                .header("x-a", "BAD")
                .header("x-b", "good")
        ),
        ["union", "h-a"]
    );
    assert_eq!(
        matched(
            &req("POST", "/")
                .body("union select /etc/passwd")
                .header("x-b", "Bad and the end")
        ),
        [
            "union",
            "passwd",
            "union-raw",
            "not-script-but-passwd",
            "h-b"
        ]
    );
    assert_eq!(
        matched(
            &req("POST", "/")
                .body("<SCRIPT> etc/passwd αβγ")
                .header("x-a", "the END")
        ),
        ["script", "passwd", "h-a-end", "greek"]
    );
    assert!(matched(&req("POST", "/").body("nothing here")).is_empty());
}

/// The regex groups of every chain on the same values are also asked together, once, on a
/// value none of their chains would change: a miss there answers them all. A value that
/// some chain decodes (into a match or not) or that some pattern matches as it is still
/// gets each statement's own answer, on the body, a header and a JSON body's items.
#[test]
fn regexes_of_several_chains_on_one_field_answer_for_their_own_chain() {
    let count = |name: &str, prio: i64, field: Value, pattern: &str, tt: &[&str]| {
        rule(name, prio, regex(field, pattern, tt), "Count")
    };
    let json_body = || {
        json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE",
        "InvalidFallbackBehavior": "NO_MATCH"}})
    };
    let header = || json!({"SingleHeader": {"Name": "x-v"}});
    let mut rules = Vec::new();
    for (i, (name, field)) in [
        ("body", json!({"Body": {}})),
        ("json", json_body()),
        ("header", header()),
    ]
    .into_iter()
    .enumerate()
    {
        let p = i as i64 * 10;
        rules.push(count(
            &format!("{name}-decoded"),
            p,
            field.clone(),
            "<script",
            &["URL_DECODE"],
        ));
        rules.push(count(
            &format!("{name}-entity"),
            p + 1,
            field.clone(),
            "<img",
            &["HTML_ENTITY_DECODE"],
        ));
        rules.push(count(
            &format!("{name}-raw"),
            p + 2,
            field.clone(),
            "zzz",
            &["NONE"],
        ));
        rules.push(count(
            &format!("{name}-lower"),
            p + 3,
            field.clone(),
            "select",
            &["LOWERCASE"],
        ));
        rules.push(count(
            &format!("{name}-raw-2"),
            p + 4,
            field,
            "yyy",
            &["NONE"],
        ));
    }
    let a = acl(Value::Array(rules));
    let matched = |body: &str, header: &str| -> Vec<String> {
        req("POST", "/")
            .header("x-v", header)
            .body(body)
            .eval(&a)
            .matches
            .iter()
            .map(|m| m.rule.clone())
            .collect()
    };
    // Nothing to decode, nothing matches: every statement misses.
    assert!(matched(r#"{"a":"plain text"}"#, "plain").is_empty());
    // Only a decoding chain sees a match (the value as it is matches no pattern).
    assert_eq!(
        matched(r#"{"a":"%3Cscript%3E"}"#, "%3cscript"),
        ["body-decoded", "json-decoded", "header-decoded"]
    );
    assert_eq!(
        matched(r#"{"a":"&lt;img src=x&gt;"}"#, "&lt;img"),
        ["body-entity", "json-entity", "header-entity"]
    );
    // A decodable value whose decoding matches nothing, and a pattern matching as it is.
    assert_eq!(
        matched(r#"{"a":"%41 zzz"}"#, "%41 SELECT yyy"),
        ["body-raw", "json-raw", "header-lower", "header-raw-2"]
    );
    // Nothing to decode, one pattern matches: the others still miss.
    assert_eq!(
        matched(r#"{"a":"SeLeCt"}"#, "yyy"),
        ["body-lower", "json-lower", "header-raw-2"]
    );
}

/// Detector verdicts are remembered per request and value, each detector (SQLi `LOW`, SQLi
/// `HIGH`, XSS) on its own: statements asking another detector about the same value, first
/// or later, get that detector's answer.
#[test]
fn detector_verdicts_are_not_shared_between_detectors() {
    let field = || json!({"SingleHeader": {"Name": "x-v"}});
    let sqli = |level: &str| {
        json!({"SqliMatchStatement": {"FieldToMatch": field(), "SensitivityLevel": level,
            "TextTransformations": tts(&["NONE"])}})
    };
    let xss = || {
        json!({"XssMatchStatement": {"FieldToMatch": field(),
            "TextTransformations": tts(&["NONE"])}})
    };
    let a = acl(json!([
        rule("low", 0, sqli("LOW"), "Count"),
        rule("high", 1, sqli("HIGH"), "Count"),
        rule("xss", 2, xss(), "Count"),
        rule("low-again", 3, sqli("LOW"), "Count"),
        rule("high-again", 4, sqli("HIGH"), "Count"),
    ]));
    let matched = |v: &str| -> Vec<String> {
        req("GET", "/")
            .header("x-v", v)
            .eval(&a)
            .matches
            .iter()
            .map(|m| m.rule.clone())
            .collect()
    };
    // `1 union`: HIGH only (a fragment libinjection excuses).
    assert_eq!(matched("1 union"), ["high", "high-again"]);
    assert_eq!(matched("<script>alert(1)</script>"), ["xss"]);
    assert_eq!(
        matched("1' or '1'='1"),
        ["low", "high", "low-again", "high-again"]
    );
    assert!(matched("O'Brien").is_empty());
}

/// A value remembers which of the first 64 regex groups ran on it and matched; groups past
/// 64 keep their answers in a map. With 70 groups (one per transformation chain, each of
/// a matching and a missing pattern, asked in both orders), every statement still answers
/// for its own pattern, on a header and on a JSON body's items.
#[test]
fn grouped_regexes_past_64_groups_answer_for_their_own_pattern() {
    // Transformations that leave the test values as they are.
    let kinds = [
        "LOWERCASE",
        "URL_DECODE",
        "URL_DECODE_UNI",
        "HTML_ENTITY_DECODE",
        "COMPRESS_WHITE_SPACE",
        "JS_DECODE",
        "CSS_DECODE",
        "REMOVE_NULLS",
        "REPLACE_NULLS",
        "ESCAPE_SEQ_DECODE",
    ];
    let mut chains: Vec<Vec<&str>> = kinds.iter().map(|k| vec![*k]).collect();
    for a in kinds {
        for b in kinds {
            if a != b && chains.len() < 70 {
                chains.push(vec![a, b]);
            }
        }
    }
    assert_eq!(chains.len(), 70);
    let header = || json!({"SingleHeader": {"Name": "x-v"}});
    let json_body = || {
        json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE",
        "InvalidFallbackBehavior": "NO_MATCH"}})
    };
    let mut rules = Vec::new();
    for (i, chain) in chains.iter().enumerate() {
        // Even chains ask the missing pattern first, odd ones the matching one.
        let (first, second) = if i % 2 == 0 {
            ("beta", "alpha")
        } else {
            ("alpha", "beta")
        };
        for (j, (field, p)) in [
            (header(), first),
            (header(), second),
            (json_body(), first),
            (json_body(), second),
        ]
        .into_iter()
        .enumerate()
        {
            let kind = if field.get("SingleHeader").is_some() {
                "h"
            } else {
                "j"
            };
            rules.push(rule(
                &format!("{kind}-{p}-{i}"),
                (i * 4 + j) as i64,
                regex(field, &format!("^{p}"), chain),
                "Count",
            ));
        }
    }
    let a = acl(Value::Array(rules));
    let matched = |r: &Req| -> Vec<String> {
        let mut m: Vec<String> = r.eval(&a).matches.iter().map(|m| m.rule.clone()).collect();
        m.sort();
        m
    };
    let want = |kinds: &[&str]| -> Vec<String> {
        let mut w: Vec<String> = kinds
            .iter()
            .flat_map(|k| (0..70).map(move |i| format!("{k}-alpha-{i}")))
            .collect();
        w.sort();
        w
    };
    assert_eq!(
        matched(
            &req("POST", "/")
                .header("x-v", "alpha one")
                .body(r#"{"a":"alpha two","b":["gamma beta"]}"#)
        ),
        want(&["h", "j"])
    );
    assert_eq!(
        matched(
            &req("POST", "/")
                .header("x-v", "gamma")
                .body(r#"{"k":"alpha"}"#)
        ),
        want(&["j"])
    );
    assert_eq!(
        matched(&req("POST", "/").header("x-v", "alpha").body("{}")),
        want(&["h"])
    );
}

#[test]
fn fields_query_headers_cookies_method_header_order() {
    let r = req("PUT", "/p?a=1&Token=evil&b")
        .header("Host", "h")
        .header("User-Agent", "sqlmap/1.5")
        .header("Cookie", "sid=abc; theme=evil-theme")
        .header("X-Forward", "1");
    let check = |field: Value, s: &str, want: bool| {
        let a = acl(json!([rule(
            "r",
            0,
            byte(field.clone(), s, "CONTAINS", &["NONE"]),
            "Block"
        )]));
        assert_eq!(r.blocked(&a), want, "{field} contains {s}");
    };
    check(
        json!({"SingleQueryArgument": {"Name": "token"}}),
        "evil",
        true,
    );
    check(json!({"SingleQueryArgument": {"Name": "a"}}), "evil", false);
    check(json!({"AllQueryArguments": {}}), "evil", true);
    check(json!({"AllQueryArguments": {}}), "Token", false); // values only
    check(json!({"QueryString": {}}), "Token=evil", true);
    check(json!({"Method": {}}), "PUT", true);
    check(
        json!({"SingleHeader": {"Name": "user-agent"}}),
        "sqlmap",
        true,
    );
    check(
        json!({"SingleHeader": {"Name": "referer"}}),
        "sqlmap",
        false,
    );
    check(
        json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "KEY", "OversizeHandling": "CONTINUE"}}),
        "X-Forward",
        true,
    );
    check(
        json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        "X-Forward",
        false,
    );
    check(
        json!({"Headers": {"MatchPattern": {"IncludedHeaders": ["host"]}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        "sqlmap",
        false,
    );
    check(
        json!({"Headers": {"MatchPattern": {"ExcludedHeaders": ["host"]}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        "sqlmap",
        true,
    );
    check(
        json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        "evil",
        true,
    );
    check(
        json!({"Cookies": {"MatchPattern": {"IncludedCookies": ["sid"]}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        "evil",
        false,
    );
    check(
        json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "KEY", "OversizeHandling": "CONTINUE"}}),
        "theme",
        true,
    );
    check(
        json!({"HeaderOrder": {"OversizeHandling": "CONTINUE"}}),
        "host:user-agent:cookie:x-forward",
        true,
    );
    // Credentials never show in excerpts.
    let a = acl(json!([rule(
        "r",
        0,
        byte(
            json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
            "abc",
            "CONTAINS",
            &["NONE"]
        ),
        "Count"
    )]));
    let d = r.eval(&a);
    assert_eq!(
        d.matches[0].location.as_ref().unwrap().excerpt,
        "[redacted]"
    );
}

#[test]
fn body_oversize_handling_and_size_constraints() {
    let big = "a".repeat(20_000) + "EVIL";
    let field = |o: &str| json!({"Body": {"OversizeHandling": o}});
    for (o, want) in [("CONTINUE", false), ("MATCH", true), ("NO_MATCH", false)] {
        let a = acl(json!([rule(
            "r",
            0,
            byte(field(o), "EVIL", "CONTAINS", &["NONE"]),
            "Block"
        )]));
        assert_eq!(req("POST", "/").body(&big).blocked(&a), want, "{o}");
        // Within the limit, CONTINUE and NO_MATCH inspect normally.
        assert_eq!(
            req("POST", "/").body("xxEVILxx").blocked(&a),
            true,
            "{o} small"
        );
    }
    let size = |op: &str, n: u64| {
        json!({"SizeConstraintStatement": {"FieldToMatch": {"Body": {}},
        "ComparisonOperator": op, "Size": n, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})
    };
    let a = acl(json!([rule("r", 0, size("GT", 8192), "Block")]));
    assert!(
        req("POST", "/").body(&big).blocked(&a),
        "the whole size counts, not the inspected part"
    );
    assert!(!req("POST", "/").body("small").blocked(&a));
    for (op, n, want) in [
        ("EQ", 5, true),
        ("NE", 5, false),
        ("LE", 5, true),
        ("LT", 5, false),
        ("GE", 6, false),
        ("GT", 4, true),
    ] {
        let a = acl(json!([rule("r", 0, size(op, n), "Block")]));
        assert_eq!(req("POST", "/").body("12345").blocked(&a), want, "{op} {n}");
    }
}

#[test]
fn json_body_scopes_paths_and_invalid_fallback() {
    let st = |scope: &str, pattern: Value, fallback: &str| {
        json!({"ByteMatchStatement": {"SearchString": "evil",
        "FieldToMatch": {"JsonBody": {"MatchPattern": pattern, "MatchScope": scope,
            "InvalidFallbackBehavior": fallback, "OversizeHandling": "CONTINUE"}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}})
    };
    let body = r#"{"user": {"name": "evil"}, "evilkey": 1, "list": [1, "x"]}"#;
    let case = |scope: &str, pattern: Value, body: &str, fallback: &str| {
        let a = acl(json!([rule("r", 0, st(scope, pattern, fallback), "Block")]));
        let d = req("POST", "/")
            .header("content-type", "application/json")
            .body(body)
            .eval(&a);
        (
            d.blocked(),
            d.matches
                .first()
                .and_then(|m| m.location.clone())
                .map(|l| l.field),
        )
    };
    assert_eq!(
        case("VALUE", json!({"All": {}}), body, "NO_MATCH"),
        (true, Some("JsonBody:/user/name".into()))
    );
    assert_eq!(
        case("KEY", json!({"All": {}}), body, "NO_MATCH"),
        (true, Some("JsonBody:/evilkey".into()))
    );
    assert_eq!(
        case(
            "VALUE",
            json!({"IncludedPaths": ["/list"]}),
            body,
            "NO_MATCH"
        )
        .0,
        false
    );
    assert_eq!(
        case(
            "VALUE",
            json!({"IncludedPaths": ["/user"]}),
            body,
            "NO_MATCH"
        )
        .0,
        true
    );
    let bad = "{not json evil";
    assert_eq!(case("VALUE", json!({"All": {}}), bad, "NO_MATCH").0, false);
    assert_eq!(case("VALUE", json!({"All": {}}), bad, "MATCH").0, true);
    assert_eq!(
        case("VALUE", json!({"All": {}}), bad, "EVALUATE_AS_STRING").0,
        true
    );
    assert_eq!(
        case("VALUE", json!({"All": {}}), "{\"a\": \"fine\"}", "MATCH").0,
        false
    );
}

#[test]
fn actions_priorities_labels_and_count() {
    let label_rule = |name: &str, prio: i64, st: Value, action: &str, label: &str| {
        let mut r = rule(name, prio, st, action);
        r["RuleLabels"] = json!([{"Name": label}]);
        r
    };
    let ua = |s: &str| {
        byte(
            json!({"SingleHeader": {"Name": "user-agent"}}),
            s,
            "CONTAINS",
            &["LOWERCASE"],
        )
    };
    let a = acl(json!([
        // Listed out of order: priority decides.
        rule(
            "block-labelled",
            20,
            json!({"LabelMatchStatement": {"Scope": "LABEL", "Key": "bad-agent"}}),
            "Block"
        ),
        label_rule("count-agent", 10, ua("scanner"), "Count", "bad-agent"),
        rule("allow-partner", 5, ua("partner"), "Allow"),
        rule(
            "block-ns",
            30,
            json!({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "awswaf:000000000000:webacl:test"}}),
            "Block"
        ),
    ]));
    let d = req("GET", "/").header("user-agent", "Scanner/2").eval(&a);
    assert!(d.blocked());
    assert_eq!(d.terminating_rule.as_deref(), Some("block-labelled"));
    assert_eq!(
        d.labels,
        vec!["awswaf:000000000000:webacl:test:bad-agent".to_owned()]
    );
    assert_eq!(
        d.matches
            .iter()
            .map(|m| (m.rule.as_str(), m.action))
            .collect::<Vec<_>>(),
        vec![("count-agent", "COUNT"), ("block-labelled", "BLOCK")]
    );
    // The trace shows every rule, the later one skipped.
    assert_eq!(
        d.trace
            .iter()
            .map(|t| (t.rule.as_str(), t.matched, t.skipped))
            .collect::<Vec<_>>(),
        vec![
            ("allow-partner", false, false),
            ("count-agent", true, false),
            ("block-labelled", true, false),
            ("block-ns", false, true)
        ]
    );
    // Allow terminates before the counting rule.
    let d = req("GET", "/")
        .header("user-agent", "partner scanner")
        .eval(&a);
    assert_eq!(
        (d.blocked(), d.terminating_rule.as_deref()),
        (false, Some("allow-partner"))
    );
    assert!(d.labels.is_empty());
    // Nothing matches: the default action.
    let d = req("GET", "/").header("user-agent", "curl").eval(&a);
    assert_eq!((d.blocked(), d.terminating_rule.clone()), (false, None));
}

#[test]
fn default_block_and_custom_responses() {
    let doc = json!({"Name": "strict", "DefaultAction": {"Block": {"CustomResponse": {"ResponseCode": 451,
            "CustomResponseBodyKey": "denied", "ResponseHeaders": [{"Name": "reason", "Value": "policy"}]}}},
        "CustomResponseBodies": {"denied": {"ContentType": "APPLICATION_JSON", "Content": "{\"error\":\"denied\"}"}},
        "Rules": [rule("allow-health", 0, byte(json!({"UriPath": {}}), "/health", "EXACTLY", &["NONE"]), "Allow")],
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "s"}});
    let a = load_web_acl(doc.to_string().as_bytes(), &Resources::default()).unwrap();
    assert!(!req("GET", "/health").blocked(&a));
    let d = req("GET", "/other").eval(&a);
    match d.verdict {
        Verdict::Block(r) => {
            assert_eq!(r.status, 451);
            assert_eq!(
                r.headers,
                vec![("x-amzn-waf-reason".to_owned(), "policy".to_owned())]
            );
            assert_eq!(
                r.body,
                Some(("application/json", "{\"error\":\"denied\"}".to_owned()))
            );
        }
        Verdict::Allow => panic!("expected a block"),
    }
}

#[test]
fn and_or_not_and_regex() {
    let re = |p: &str| {
        json!({"RegexMatchStatement": {"RegexString": p, "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})
    };
    let a = acl(json!([rule(
        "r",
        0,
        json!({"AndStatement": {"Statements": [
            re("^/api/"),
            {"NotStatement": {"Statement": {"OrStatement": {"Statements": [re("\\.json$"), re("^/api/public")]}}}}
        ]}}),
        "Block"
    )]));
    assert!(req("GET", "/api/private/x").blocked(&a));
    assert!(!req("GET", "/api/private/x.json").blocked(&a));
    assert!(!req("GET", "/api/public/x").blocked(&a));
    assert!(!req("GET", "/web/x").blocked(&a));
}

fn ip_set(name: &str, addrs: &[&str], v6: bool) -> IpSet {
    parse_ip_set(json!({"IPSet": {"Name": name, "Id": "1234", "ARN": format!("arn:aws:wafv2:us-east-1:111122223333:regional/ipset/{name}/1234"),
        "IPAddressVersion": if v6 {"IPV6"} else {"IPV4"}, "Addresses": addrs}, "LockToken": "x"}).to_string().as_bytes()).unwrap()
}

#[test]
fn ip_sets_and_forwarded_ip_fallback() {
    let res = Resources {
        ip_sets: vec![
            ip_set("bad", &["203.0.113.0/24", "198.51.100.7/32"], false),
            ip_set("bad6", &["2001:db8::/32"], true),
        ],
        ..Resources::default()
    };
    let direct = |arn: &str| json!({"IPSetReferenceStatement": {"ARN": arn}});
    let a = acl_with(
        json!([
            rule(
                "v4",
                0,
                direct("arn:aws:wafv2:us-east-1:111122223333:regional/ipset/bad/1234"),
                "Block"
            ),
            rule(
                "v6",
                1,
                direct("arn:aws:wafv2:us-east-1:111122223333:regional/ipset/bad6/9999"),
                "Block"
            )
        ]),
        &res,
    );
    assert!(req("GET", "/").ip("203.0.113.9").blocked(&a));
    assert!(req("GET", "/").ip("198.51.100.7").blocked(&a));
    assert!(
        req("GET", "/").ip("::ffff:203.0.113.9").blocked(&a),
        "IPv4-mapped IPv6"
    );
    assert!(!req("GET", "/").ip("198.51.100.8").blocked(&a));
    assert!(req("GET", "/").ip("2001:db8:1::5").blocked(&a));
    assert!(!req("GET", "/").ip("2001:db9::5").blocked(&a));

    let fwd = |fallback: &str, pos: &str| {
        json!({"IPSetReferenceStatement": {"ARN": "bad",
        "IPSetForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": fallback, "Position": pos}}})
    };
    let peer = "10.0.0.1";
    for (fallback, pos, xff, want) in [
        ("NO_MATCH", "FIRST", Some("203.0.113.5, 10.1.1.1"), true),
        ("NO_MATCH", "LAST", Some("203.0.113.5, 10.1.1.1"), false),
        ("NO_MATCH", "ANY", Some("10.1.1.1, 203.0.113.5"), true),
        ("NO_MATCH", "FIRST", Some("garbage"), false),
        ("MATCH", "FIRST", Some("garbage"), true),
        ("MATCH", "FIRST", None, false), // no header: the statement does not apply
    ] {
        let a = acl_with(json!([rule("f", 0, fwd(fallback, pos), "Block")]), &res);
        let mut r = req("GET", "/").ip(peer);
        if let Some(x) = xff {
            r = r.header("x-forwarded-for", x);
        }
        assert_eq!(r.blocked(&a), want, "{fallback} {pos} {xff:?}");
    }
    // Several header lines are one list in order: LAST is the last line's last address
    // (a proxy that adds a line of its own), FIRST the first line's first, ANY any of them.
    for (pos, want) in [("FIRST", false), ("LAST", true), ("ANY", true)] {
        let a = acl_with(json!([rule("f", 0, fwd("NO_MATCH", pos), "Block")]), &res);
        let r = req("GET", "/")
            .ip(peer)
            .header("x-forwarded-for", "10.1.1.1, 10.2.2.2")
            .header("x-forwarded-for", "198.51.100.7");
        assert_eq!(r.blocked(&a), want, "{pos}");
    }
    let a = acl_with(
        json!([rule("f", 0, fwd("NO_MATCH", "FIRST"), "Block")]),
        &res,
    );
    let r = req("GET", "/")
        .ip(peer)
        .header("x-forwarded-for", "203.0.113.5")
        .header("x-forwarded-for", "10.1.1.1");
    assert!(r.blocked(&a), "FIRST is the first line's first address");
}

#[test]
fn regex_pattern_sets_by_reference() {
    let set: RegexPatternSet = parse_regex_set(
        json!({"Name": "bots", "ARN": "arn:aws:wafv2:us-east-1:1:regional/regexpatternset/bots/77",
        "RegularExpressionList": [{"RegexString": "(?i)nikto"}, {"RegexString": "(?i)masscan"}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let res = Resources {
        regex_sets: vec![set],
        ..Resources::default()
    };
    let a = acl_with(
        json!([rule(
            "r",
            0,
            json!({"RegexPatternSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:1:regional/regexpatternset/bots/77",
        "FieldToMatch": {"SingleHeader": {"Name": "User-Agent"}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}),
            "Block"
        )]),
        &res,
    );
    assert!(req("GET", "/")
        .header("user-agent", "Mozilla Nikto/2")
        .blocked(&a));
    assert!(req("GET", "/").header("user-agent", "MASSCAN").blocked(&a));
    assert!(!req("GET", "/").header("user-agent", "Mozilla").blocked(&a));
}

#[test]
fn rule_groups_with_exclusions_overrides_scope_down_and_count_override() {
    let group = parse_rule_group(json!({"RuleGroup": {"Name": "mine", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/mine/42",
        "Capacity": 10,
        "Rules": [
            rule("no-admin", 0, byte(json!({"UriPath": {}}), "/admin", "STARTS_WITH", &["LOWERCASE"]), "Block"),
            rule("no-debug", 1, byte(json!({"QueryString": {}}), "debug=1", "CONTAINS", &["NONE"]), "Block"),
        ],
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "mine"}}, "LockToken": "t"}).to_string().as_bytes()).unwrap();
    let res = Resources {
        rule_groups: vec![group],
        ..Resources::default()
    };
    let group_rule = |extra: Value, override_action: &str| {
        let mut st =
            json!({"ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/mine/42"});
        for (k, v) in extra.as_object().unwrap() {
            st[k] = v.clone();
        }
        json!({"Name": "grp", "Priority": 0, "Statement": {"RuleGroupReferenceStatement": st},
            "OverrideAction": {override_action: {}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "grp"}})
    };
    let a = acl_with(json!([group_rule(json!({}), "None")]), &res);
    let d = req("GET", "/Admin/x").eval(&a);
    assert_eq!(
        (d.blocked(), d.terminating_rule.as_deref()),
        (true, Some("grp/no-admin"))
    );
    assert_eq!(
        d.labels,
        Vec::<String>::new(),
        "the group's rules add no labels unless they declare them"
    );
    // ExcludedRules turns a rule into Count.
    let a = acl_with(
        json!([group_rule(
            json!({"ExcludedRules": [{"Name": "no-admin"}]}),
            "None"
        )]),
        &res,
    );
    let d = req("GET", "/admin").eval(&a);
    assert!(!d.blocked());
    assert_eq!(d.matches[0].action, "COUNT");
    // RuleActionOverrides.
    let a = acl_with(
        json!([group_rule(
            json!({"RuleActionOverrides": [{"Name": "no-debug", "ActionToUse": {"Count": {}}}]}),
            "None"
        )]),
        &res,
    );
    assert!(!req("GET", "/x?debug=1").blocked(&a));
    assert!(req("GET", "/admin").blocked(&a));
    // OverrideAction Count: the group's block becomes a count.
    let a = acl_with(json!([group_rule(json!({}), "Count")]), &res);
    let d = req("GET", "/admin").eval(&a);
    assert!(!d.blocked());
    assert_eq!(
        (d.matches[0].rule.as_str(), d.matches[0].action),
        ("grp/no-admin", "COUNT")
    );
}

#[test]
fn managed_group_scope_down_and_unknown_names() {
    let managed = |name: &str, scope_down: Option<Value>| {
        let mut st = json!({"VendorName": "AWS", "Name": name});
        if let Some(s) = scope_down {
            st["ScopeDownStatement"] = s;
        }
        json!({"Name": "m", "Priority": 0, "Statement": {"ManagedRuleGroupStatement": st}, "OverrideAction": {"None": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"}})
    };
    let e = errors(
        json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": [managed("AWSManagedRulesNope", None)]}),
    );
    assert!(
        e.contains("Rules[0].Statement.ManagedRuleGroupStatement.Name")
            && e.contains("unknown managed rule group"),
        "{e}"
    );
    for name in rampart_waf::managed::NAMES {
        // Every built-in group compiles; with a scope-down that never matches, nothing is blocked.
        let never = byte(json!({"UriPath": {}}), "/never-ever", "EXACTLY", &["NONE"]);
        let a = acl(json!([managed(name, Some(never))]));
        assert!(
            !req("GET", "/?q=1' or '1'='1")
                .header("user-agent", "sqlmap")
                .blocked(&a),
            "{name}"
        );
    }
}

/// A web ACL of one built-in group, named `name`, with its own actions.
fn managed_only(name: &str, group: &str) -> CompiledAcl {
    acl(
        json!([{"Name": name, "Priority": 0, "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": name}}]),
    )
}

/// The first matching rule whose name starts with `prefix`, for `r` from a browser-like
/// client (a `Host` and a `User-Agent`, so the header rules stay quiet).
fn first_match(a: &CompiledAcl, r: Req, prefix: &str) -> Option<String> {
    let d = r
        .header("host", "api.example.test")
        .header("user-agent", "Mozilla/5.0")
        .eval(a);
    d.matches
        .iter()
        .find(|m| m.rule.starts_with(prefix))
        .map(|m| m.rule.clone())
}

/// No rule of `a` whose name starts with `prefix` matches `v` (percent-encoded) as a query
/// argument or as a form field in a body.
fn clear_in_query_and_form(a: &CompiledAcl, prefix: &str, v: &str) {
    let query = first_match(a, req("GET", &format!("/search?q={v}")), prefix);
    assert_eq!(query, None, "query {v}");
    let form = first_match(a, req("POST", "/notes").body(&format!("q={v}")), prefix);
    assert_eq!(form, None, "body {v}");
}

/// The core rule set's `GenericLFI_*` rules run `URL_DECODE_UNI` first, so overlong UTF-8
/// and `%u` spellings of `.`, `/` and `\\` reach the patterns as bytes (`%c0%af` is 0xC0 0xAF,
/// `%u2215` its low byte 0x15): caught single and double encoded, in query arguments and
/// bodies. Valid UTF-8 text (accents, emoji, CJK) never contains those bytes.
#[test]
fn generic_lfi_catches_overlong_utf8_and_percent_u_traversal() {
    let a = managed_only("crs", "AWSManagedRulesCommonRuleSet");
    let lfi = |r: Req| first_match(&a, r, "crs/GenericLFI_");
    let attacks = [
        "..%c0%af..%c0%afetc%c0%afpasswd",
        "%c0%ae%c0%ae/etc/passwd",
        "..%e0%80%afetc%e0%80%afpasswd",
        "%e0%80%ae%e0%80%ae%e0%80%afetc",
        "..%c1%9cwindows%c1%9cwin.ini",
        "%f0%80%80%ae%f0%80%80%ae/etc",
        "..%u2215etc%u2215passwd",
        "%u002e%u002e%u2216etc",
        "%uff0e%uff0e%uff0fetc",
    ];
    for attack in attacks {
        let double = attack.replace('%', "%25");
        for v in [attack, double.as_str()] {
            assert_eq!(
                lfi(req("GET", &format!("/download?file={v}"))).as_deref(),
                Some("crs/GenericLFI_QUERYARGUMENTS"),
                "query {v}"
            );
            assert_eq!(
                lfi(req("POST", "/upload").body(&format!("file={v}"))).as_deref(),
                Some("crs/GenericLFI_BODY"),
                "body {v}"
            );
        }
    }
    // The same patterns guard the path, headers and cookies.
    assert_eq!(
        lfi(req("GET", "/files/..%c0%af..%c0%afetc/passwd")).as_deref(),
        Some("crs/GenericLFI_URIPATH")
    );
    assert_eq!(
        lfi(req("GET", "/").header("x-file", "..%e0%80%afetc%e0%80%afpasswd")).as_deref(),
        Some("crs/GenericLFI_HEADER")
    );
    assert_eq!(
        lfi(req("GET", "/").header("cookie", "file=%c0%ae%c0%ae/etc/passwd")).as_deref(),
        Some("crs/GenericLFI_COOKIE")
    );
    // The malformed `%c0%5c` (0xC0 before a real `\\`) in the query and the body; in the
    // body, JS_DECODE takes a backslash as an escape, so the rule's second statement looks
    // for backslash traversal without it.
    for v in [
        "..%c0%5cwindows",
        "..\\..\\windows\\win.ini",
        "..%5c..%5cboot.ini",
        "x=C:\\WINDOWS\\System32\\config",
    ] {
        assert_eq!(
            lfi(req("POST", "/upload").body(&format!("file={v}"))).as_deref(),
            Some("crs/GenericLFI_BODY"),
            "{v}"
        );
    }
    assert_eq!(
        lfi(req("GET", "/download?file=..%c0%5cwindows")).as_deref(),
        Some("crs/GenericLFI_QUERYARGUMENTS")
    );
    let form = req("POST", "/upload")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("file=..\\..\\etc");
    assert_eq!(lfi(form).as_deref(), Some("crs/GenericLFI_BODY"));
    // The backslash statement reads a JSON body's strings decoded (an escaped newline after
    // an ellipsis is no traversal), whatever the Content-Type says, and a body that is not
    // JSON as text, also when it is labelled JSON: the label is the client's to choose.
    let json_req = |b: &str| {
        req("POST", "/upload")
            .header("content-type", "application/json; charset=utf-8")
            .body(b)
    };
    assert_eq!(lfi(json_req(r#"{"note": "Call me ...\nThanks"}"#)), None);
    assert_eq!(
        lfi(req("POST", "/upload").body(r#"{"note": "Call me ...\nThanks"}"#)),
        None
    );
    for b in [
        r#"{"file": "..\\..\\etc"}"#,
        r#"{"file": "..\\config.yml"}"#,
        "file=..\\..\\app\\config.yml",
        "..\\config.yml",
        "file=..%5c..%5capp%5cconfig.yml",
        r#"{"file": "..%5cconfig.yml"}"#,
    ] {
        assert_eq!(
            lfi(json_req(b)).as_deref(),
            Some("crs/GenericLFI_BODY"),
            "{b}"
        );
    }
    // A JSON string's opening quote separates as `=` does in a form: one level up is
    // caught in both.
    for b in [r#"{"file": "../config.yml"}"#, "file=../config.yml"] {
        assert_eq!(
            lfi(req("POST", "/upload").body(b)).as_deref(),
            Some("crs/GenericLFI_BODY"),
            "{b}"
        );
    }
    // A Windows path in JSON (backslashes escaped) is no traversal.
    assert_eq!(
        lfi(req("POST", "/upload").body(r#"{"path": "C:\\Users\\me\\notes.txt", "up": "..."}"#)),
        None
    );
    // Raw bytes and JavaScript escapes in a JSON body.
    let mut raw = req("POST", "/upload");
    raw.body = b"{\"file\": \"..\xc0\xafetc\xc0\xafpasswd\"}".to_vec();
    assert_eq!(lfi(raw).as_deref(), Some("crs/GenericLFI_BODY"));
    assert_eq!(
        lfi(req("POST", "/upload").body(r#"{"file": "..\u2215etc\u2215passwd"}"#)).as_deref(),
        Some("crs/GenericLFI_BODY")
    );

    let benign = [
        "caf%C3%A9",
        "Siobh%C3%A1n%20O%27Brien",
        "%F0%9F%98%80%F0%9F%8E%89",
        "%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%81%A7%E3%81%99",
        "wait..%C3%A9t%C3%A9",
        "loading...%E2%80%A6%E6%97%A5",
        "%EF%BC%A1%EF%BC%8E%EF%BC%A2",
        "caf%u00e9",
        "v1.2%2Freadme",
    ];
    for v in benign {
        clear_in_query_and_form(&a, "crs/GenericLFI_", v);
    }
    for text in [
        "café, Siobhán, naïve, Ærøskøbing",
        "party 🎉😀 ok... 👍🏽",
        "日本語のテキスト。中文：你好！한국어",
        "wait..été… «quoted» ½ ＡＢＣ．／",
    ] {
        let body =
            serde_json::to_string(&json!({"note": text, "path": "docs/v1.2/readme"})).unwrap();
        assert_eq!(lfi(req("POST", "/notes").body(&body)), None, "{text}");
        let mut r = req("GET", "/search");
        r.query = format!("q={text}");
        assert_eq!(lfi(r), None, "raw query {text}");
    }
}

/// The Linux rule set's `LFI_*` rules turn overlong UTF-8 (`%c0%af`, `%e0%80%af`: a `/` in
/// disguise) into `%u002f` and decode it (UTF8_TO_UNICODE, then URL_DECODE_UNI), so an
/// absolute path spelled with them is the path it stands for; valid UTF-8 text stays clear.
#[test]
fn linux_lfi_catches_overlong_utf8_slashes() {
    let a = managed_only("linux", "AWSManagedRulesLinuxRuleSet");
    let lfi = |r: Req| first_match(&a, r, "linux/LFI_");
    for attack in [
        "%c0%afetc%c0%afpasswd",
        "%e0%80%afetc%e0%80%afshadow",
        "%f0%80%80%afproc%f0%80%80%afself%f0%80%80%afenviron",
        "%c0%afetc/passwd",
    ] {
        let double = attack.replace('%', "%25");
        for v in [attack, double.as_str()] {
            assert_eq!(
                lfi(req("GET", &format!("/download?file={v}"))).as_deref(),
                Some("linux/LFI_QUERYSTRING"),
                "query {v}"
            );
            assert_eq!(
                lfi(req("GET", "/").header("x-file", v)).as_deref(),
                Some("linux/LFI_HEADER"),
                "header {v}"
            );
        }
        assert_eq!(
            lfi(req("POST", "/upload").body(&format!("file={attack}"))).as_deref(),
            Some("linux/LFI_BODY"),
            "body {attack}"
        );
        assert_eq!(
            lfi(req("GET", &format!("/files{attack}"))).as_deref(),
            Some("linux/LFI_URIPATH"),
            "path {attack}"
        );
    }
    // The raw bytes too, in a body.
    let mut raw = req("POST", "/upload");
    raw.body = b"file=\xc0\xafetc\xc0\xafpasswd".to_vec();
    assert_eq!(lfi(raw).as_deref(), Some("linux/LFI_BODY"));
    for v in [
        "caf%C3%A9%2Fmenu",
        "Siobh%C3%A1n%20O%27Brien",
        "%F0%9F%98%80%F0%9F%8E%89",
        "%E6%97%A5%E6%9C%AC%E8%AA%9E%2Fetc",
        "docs%2Fetc%2Fnotes",
    ] {
        clear_in_query_and_form(&a, "linux/LFI_", v);
    }
}

#[test]
fn rate_counters_carry_over_to_an_unchanged_rule_on_reload() {
    let rate = |limit: u64, window: u64| {
        json!({"RateBasedStatement": {"Limit": limit, "EvaluationWindowSec": window,
            "AggregateKeyType": "IP"}})
    };
    let r = req("GET", "/").ip("192.0.2.1");
    let old = acl(json!([rule("rate", 0, rate(10, 60), "Block")]));
    for i in 0..11 {
        r.eval_at(&old, 1000 + i);
    }
    assert!(r.eval_at(&old, 1020).blocked());

    // The same rule in a reloaded ACL (another rule added before it): still over the limit,
    // and the counts are shared, so requests on either ACL count.
    let new = acl(json!([
        rule(
            "other",
            0,
            json!({"ByteMatchStatement": {"SearchString": "x",
            "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "CONTAINS"}}),
            "Count"
        ),
        rule("rate", 1, rate(10, 60), "Block")
    ]));
    assert!(
        !r.eval_at(&new, 1030).blocked(),
        "fresh counters before adoption"
    );
    assert_eq!(new.adopt_rate_state(&old), 1);
    assert!(r.eval_at(&new, 1040).blocked(), "counters carried over");
    assert_eq!(new.adopt_rate_state(&old), 0, "adopted once only");
    // The key recovers as before.
    assert!(!r.eval_at(&new, 1000 + 121_000).blocked());

    // A changed limit, window or key starts afresh; so does another rule name.
    for (name, statement) in [
        ("rate", rate(20, 60)),
        ("rate", rate(10, 120)),
        (
            "rate",
            json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
            "AggregateKeyType": "CONSTANT"}}),
        ),
        ("renamed", rate(10, 60)),
    ] {
        let changed = acl(json!([rule(name, 0, statement.clone(), "Block")]));
        assert_eq!(changed.adopt_rate_state(&old), 0, "{name} {statement}");
    }
}

#[test]
fn rate_managed_keys_list_the_blocked_addresses() {
    let by_ip = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
        "AggregateKeyType": "IP"}});
    let constant = json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
        "AggregateKeyType": "CONSTANT"}});
    let a = acl(json!([
        rule("per-ip", 0, by_ip, "Count"),
        rule("all", 1, constant, "Count")
    ]));
    let v4 = req("GET", "/").ip("192.0.2.1");
    let v6 = req("GET", "/").ip("2001:db8::7");
    let quiet = req("GET", "/").ip("192.0.2.9");
    for i in 0..11 {
        v4.eval_at(&a, 1000 + i);
        v6.eval_at(&a, 1000 + i);
    }
    quiet.eval_at(&a, 1020);
    let keys = a.rate_managed_keys(1030);
    let ips: Vec<std::net::IpAddr> =
        vec!["192.0.2.1".parse().unwrap(), "2001:db8::7".parse().unwrap()];
    // The CONSTANT rule is over its limit too, but has no addresses to list.
    assert_eq!(keys, vec![("per-ip".to_string(), ips)]);
    // Two windows later nobody is over the limit.
    assert_eq!(
        a.rate_managed_keys(1000 + 121_000),
        vec![("per-ip".to_string(), vec![])]
    );
}

#[test]
fn rate_based_rules_block_and_recover() {
    let a = acl(json!([rule(
        "rate",
        0,
        json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
        "AggregateKeyType": "IP"}}),
        "Block"
    )]));
    let r = req("GET", "/").ip("192.0.2.1");
    let other = req("GET", "/").ip("192.0.2.2");
    for i in 0..10 {
        assert!(!r.eval_at(&a, 1000 + i).blocked(), "request {i}");
    }
    assert!(
        r.eval_at(&a, 1100).blocked(),
        "the 11th request in the window"
    );
    assert!(
        !other.eval_at(&a, 1100).blocked(),
        "another IP is not affected"
    );
    // Two windows later the rate has fallen: allowed again.
    assert!(!r.eval_at(&a, 1000 + 121_000).blocked());

    // Custom keys: per header value; requests without the header are not counted.
    let a = acl(json!([rule(
        "rate",
        0,
        json!({"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
        "AggregateKeyType": "CUSTOM_KEYS", "CustomKeys": [{"Header": {"Name": "x-tenant", "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}}, {"HTTPMethod": {}}]}}),
        "Block"
    )]));
    for i in 0..10 {
        let t = if i % 2 == 0 { "ACME" } else { "acme" };
        assert!(!req("GET", "/")
            .header("x-tenant", t)
            .eval_at(&a, i)
            .blocked());
    }
    assert!(req("GET", "/")
        .header("x-tenant", "Acme")
        .eval_at(&a, 20)
        .blocked());
    assert!(
        !req("POST", "/")
            .header("x-tenant", "acme")
            .eval_at(&a, 20)
            .blocked(),
        "the method is part of the key"
    );
    for i in 0..20 {
        assert!(
            !req("GET", "/").eval_at(&a, 30 + i).blocked(),
            "no header: not counted"
        );
    }

    // Scope-down: only matching requests count.
    let a = acl(json!([rule(
        "rate",
        0,
        json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CONSTANT",
        "ScopeDownStatement": byte(json!({"UriPath": {}}), "/login", "EXACTLY", &["NONE"])}}),
        "Block"
    )]));
    for i in 0..50 {
        assert!(!req("GET", "/home").eval_at(&a, i).blocked());
    }
    for i in 0..10 {
        assert!(!req("POST", "/login").eval_at(&a, 100 + i).blocked());
    }
    assert!(req("POST", "/login").eval_at(&a, 200).blocked());
    assert!(
        !req("GET", "/home").eval_at(&a, 200).blocked(),
        "outside the scope-down"
    );
}

#[test]
fn parse_errors_carry_json_paths() {
    let e = errors(
        json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": [
        rule("r", 0, json!({"ByteMatchStatement": {"SearchString": "a", "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "ROT13"}], "PositionalConstraint": "CONTAINS"}}), "Block")]}),
    );
    assert!(
        e.contains("Rules[0].Statement.ByteMatchStatement.TextTransformations[0].Type")
            && e.contains("ROT13"),
        "{e}"
    );
    let e =
        errors(json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": [], "Colour": "red"}));
    assert!(e.contains("Colour"), "{e}");
    let e = errors(
        json!({"WebACL": {"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": [
        rule("r", 0, json!({"FooStatement": {}}), "Block")]}, "LockToken": "abc"}),
    );
    assert!(
        e.contains("WebACL.Rules[0].Statement") && e.contains("FooStatement"),
        "{e}"
    );
    assert!(matches!(
        parse_web_acl(b"not json"),
        Err(LoadError::Parse { .. })
    ));
}

#[test]
fn validation_errors_carry_paths() {
    let ok_stmt = byte(json!({"UriPath": {}}), "/x", "CONTAINS", &["NONE"]);
    let cases: Vec<(Value, &str)> = vec![
        (json!([rule("a", 0, ok_stmt.clone(), "Block"), rule("a", 1, ok_stmt.clone(), "Block")]), "Rules[1].Name: duplicate rule name"),
        (json!([rule("a", 0, ok_stmt.clone(), "Block"), rule("b", 0, ok_stmt.clone(), "Block")]), "Rules[1].Priority: duplicate priority"),
        (json!([{"Name": "a", "Priority": 0, "Statement": ok_stmt.clone()}]), "Rules[0].Action: missing"),
        (json!([rule("a", 0, ok_stmt.clone(), "Captcha")]), "Rules[0].Action: CAPTCHA"),
        (json!([rule("a", 0, json!({"RegexMatchStatement": {"RegexString": "(", "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}), "Block")]), "Rules[0].Statement.RegexMatchStatement.RegexString: invalid regular expression"),
        (json!([rule("a", 0, json!({"ByteMatchStatement": {"SearchString": "x", "FieldToMatch": {"UriPath": {}, "Method": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}}), "Block")]), "Rules[0].Statement.ByteMatchStatement.FieldToMatch: must have exactly one field"),
        (json!([rule("a", 0, json!({"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:1:regional/ipset/missing/1"}}), "Block")]), "Rules[0].Statement.IPSetReferenceStatement.ARN: no IP set"),
        (json!([rule("a", 0, json!({"GeoMatchStatement": {"CountryCodes": ["NL"]}}), "Block")]), "GeoMatchStatement needs a country database"),
        (json!([rule("a", 0, json!({"RateBasedStatement": {"Limit": 100, "EvaluationWindowSec": 30, "AggregateKeyType": "IP"}}), "Block")]), "Rules[0].Statement.RateBasedStatement.EvaluationWindowSec: must be 60, 120, 300 or 600"),
        (json!([rule("a", 0, json!({"NotStatement": {"Statement": {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}}}}), "Block")]), "cannot be nested"),
        (json!([rule("a", 0, json!({"AndStatement": {"Statements": [ok_stmt.clone()]}}), "Block")]), "Rules[0].Statement.AndStatement.Statements: needs at least 2"),
        (json!([rule("a", 0, ok_stmt.clone(), "Block")
            .as_object().unwrap().clone().into_iter().chain([("Action".to_owned(), json!({"Block": {"CustomResponse": {"ResponseCode": 403, "CustomResponseBodyKey": "nope"}}}))]).collect::<serde_json::Map<_, _>>()]), "CustomResponseBodyKey: no CustomResponseBodies entry"),
    ];
    for (rules, want) in cases {
        let e = errors(json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": rules}));
        assert!(e.contains(want), "want {want:?} in {e}");
    }
    let e = errors(json!({"Name": "x", "DefaultAction": {"Allow": {}, "Block": {}}, "Rules": []}));
    assert!(
        e.contains("DefaultAction: must have exactly one of Allow or Block"),
        "{e}"
    );
}

/// Labels, label keys and namespaces follow AWS's syntax (`[0-9A-Za-z_\\-:]`, 1 to 1024
/// characters): anything else is an error at load, with the field's path.
#[test]
fn labels_keys_and_namespaces_are_validated() {
    let ok_stmt = byte(json!({"UriPath": {}}), "/x", "CONTAINS", &["NONE"]);
    let labelled = |name: &str| {
        let mut r = rule("a", 0, ok_stmt.clone(), "Count");
        r["RuleLabels"] = json!([{"Name": "fine"}, {"Name": name}]);
        r
    };
    let label_match = |key: &str| {
        rule(
            "m",
            1,
            json!({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": key}}),
            "Block",
        )
    };
    let rate_ns = |ns: &str| {
        rule(
            "r",
            2,
            json!({"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
                "CustomKeys": [{"LabelNamespace": {"Namespace": ns}}]}}),
            "Block",
        )
    };
    let long = "a".repeat(1025);
    let cases: Vec<(Value, &str)> = vec![
        (json!([labelled("bad label!")]), "Rules[0].RuleLabels[1].Name: \"bad label!\" is not a label"),
        (json!([labelled("")]), "Rules[0].RuleLabels[1].Name: \"\" is not a label"),
        (json!([labelled(&long)]), "Rules[0].RuleLabels[1].Name"),
        (json!([labelled("caf\u{e9}")]), "Rules[0].RuleLabels[1].Name"),
        (json!([label_match("ns/bad")]), "Rules[0].Statement.LabelMatchStatement.Key: \"ns/bad\" is not a label"),
        (json!([label_match("")]), "Rules[0].Statement.LabelMatchStatement.Key"),
        (json!([rate_ns("bad ns:")]), "Rules[0].Statement.RateBasedStatement.CustomKeys[0].LabelNamespace.Namespace: \"bad ns:\" is not a label"),
    ];
    for (rules, want) in cases {
        let e = errors(json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": rules}));
        assert!(e.contains(want), "want {want:?} in {e}");
    }

    // A rule group's namespace, named with the referencing statement's path.
    let group = |ns: &str| {
        parse_rule_group(json!({"Name": "mine", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/mine/42",
            "Capacity": 10, "LabelNamespace": ns, "Rules": [labelled("ok")]}).to_string().as_bytes()).unwrap()
    };
    let reference = json!([{"Name": "grp", "Priority": 0, "OverrideAction": {"None": {}},
        "Statement": {"RuleGroupReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/rulegroup/mine/42"}}}]);
    let res = Resources {
        rule_groups: vec![group("awswaf:111122223333:rule group:mine:")],
        ..Resources::default()
    };
    let e = errors_with(
        json!({"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": reference.clone()}),
        &res,
    );
    assert!(
        e.contains("Rules[0].Statement.RuleGroupReferenceStatement(group mine).LabelNamespace"),
        "{e}"
    );

    // Valid ones load and match: qualified, namespaced, at the length limit.
    let res = Resources {
        rule_groups: vec![group("awswaf:111122223333:rulegroup:mine:")],
        ..Resources::default()
    };
    acl_with(reference, &res);
    let mut longest = rule("long", 3, ok_stmt.clone(), "Count");
    longest["RuleLabels"] = json!([{"Name": "b".repeat(1024)}]);
    let a = acl(json!([
        labelled("ns-1:sub_2:Label-3"),
        longest,
        label_match("ns-1:sub_2")
    ]));
    let d = req("GET", "/x").eval(&a);
    assert_eq!(d.terminating_rule.as_deref(), Some("m"));
}

#[test]
fn excerpts_never_show_credentials() {
    let quote = |field: Value| byte(field, "'", "CONTAINS", &["URL_DECODE"]);
    let a = acl(json!([
        rule(
            "json",
            0,
            quote(
                json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}})
            ),
            "Count"
        ),
        rule(
            "form",
            1,
            quote(json!({"Body": {"OversizeHandling": "CONTINUE"}})),
            "Count"
        ),
        rule("arg", 2, quote(json!({"AllQueryArguments": {}})), "Count"),
    ]));
    let loc = |d: &rampart_waf::Decision, rule: &str| {
        d.matches
            .iter()
            .find(|m| m.rule == rule)
            .and_then(|m| m.location.clone())
            .unwrap()
    };
    let d = req("POST", "/login?api_token=s3cr'et")
        .body(r#"{"user": "bob", "password": "hunter2'x"}"#)
        .eval(&a);
    assert_eq!(loc(&d, "json").field, "JsonBody:/password");
    assert_eq!(loc(&d, "json").excerpt, "[redacted]");
    assert_eq!(loc(&d, "arg").excerpt, "[redacted]");
    let form = loc(&d, "form").excerpt;
    assert_eq!(form, r#"{"user": "bob", "password": "***********"#);
    // What comes before the credential is shown; everything after it is masked.
    let d = req("POST", "/")
        .body("user=o'brien&password=hunter2&x=1")
        .eval(&a);
    let form = loc(&d, "form").excerpt;
    assert_eq!(form, "user=o'brien&password=***********");
}

/// Masking looks at names as the application decodes them, and does not stop at an `&`
/// the rule's transformations decoded out of the secret itself.
#[test]
fn excerpts_mask_credentials_whatever_the_transformations() {
    let a = acl(json!([
        rule(
            "qs",
            0,
            byte(json!({"QueryString": {}}), "=", "CONTAINS", &["URL_DECODE"]),
            "Count"
        ),
        rule(
            "args",
            1,
            byte(
                json!({"AllQueryArguments": {}}),
                "&",
                "CONTAINS",
                &["URL_DECODE"]
            ),
            "Count"
        ),
        rule(
            "raw",
            2,
            byte(json!({"QueryString": {}}), "=", "CONTAINS", &["NONE"]),
            "Count"
        ),
    ]));
    let excerpt = |target: &str, rule: &str| {
        let d = req("GET", target).eval(&a);
        d.matches
            .iter()
            .find(|m| m.rule == rule)
            .and_then(|m| m.location.clone())
            .unwrap()
            .excerpt
    };
    let e = excerpt("/login?user=bob&password=Tr0ub4dor%26horse%3Dbattery", "qs");
    assert!(e.starts_with("user=bob&password=**"), "{e}");
    assert!(!e.contains("horse") && !e.contains("battery"), "{e}");
    // An encoded argument name is the application's `password`.
    for name in ["p%61ssword", "P%2541SSWORD", "%u0070assword"] {
        let e = excerpt(&format!("/login?user=bob&{name}=Tr0ub4dor%26x"), "args");
        assert_eq!(e, "[redacted]", "{name}");
        let e = excerpt(&format!("/login?user=bob&{name}=Tr0ub4dor%26x"), "raw");
        assert!(
            e.starts_with("user=bob&") && !e.contains("Tr0ub"),
            "{name}: {e}"
        );
    }
    // Matches in other values stay readable.
    assert_eq!(excerpt("/search?q=fish%26chips", "args"), "fish&chips");
    assert_eq!(excerpt("/search?q=fish%26chips", "qs"), "q=fish&chips");
}

/// `Resources::load_files`: every file is tried, each broken one reported with its index
/// and name, the good ones kept; the kind decides the shape a file must have.
#[test]
fn resource_files_load_and_each_broken_one_is_reported() {
    use rampart_waf::{ResourceKind, Resources};
    let dir = std::env::temp_dir().join(format!("rampart-waf-resources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ip = dir.join("ip.json");
    std::fs::write(
        &ip,
        json!({"IPSet": {"Name": "office", "Id": "1", "IPAddressVersion": "IPV4",
            "Addresses": ["203.0.113.0/24"]}, "LockToken": "t"})
        .to_string(),
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    let missing = dir.join("missing.json");

    let mut res = Resources::default();
    let mut failed = Vec::new();
    res.load_files(ResourceKind::IpSet, &[&ip, &missing, &bad, &ip], |i, m| {
        failed.push((i, m))
    });
    assert_eq!(res.ip_sets.len(), 2, "the good files are kept");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, 1);
    assert!(
        failed[0].1.starts_with("cannot read ") && failed[0].1.contains("missing.json"),
        "{failed:?}"
    );
    assert_eq!(failed[1].0, 2);
    assert!(
        failed[1].1.contains("bad.json: ") && failed[1].1.contains("not valid JSON"),
        "{failed:?}"
    );

    // An IP set is no rule group.
    let mut failed = Vec::new();
    res.load_files(ResourceKind::RuleGroup, &[&ip], |i, m| failed.push((i, m)));
    assert!(res.rule_groups.is_empty());
    assert_eq!(failed.len(), 1, "{failed:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each JSON key and value is transformed according to its own bytes (the trigger classes
/// that let a chain skip transformations are per value, across statements and chains): an
/// encoded value after a plain one is still decoded, an upper-case key or value still
/// lower-cased.
#[test]
fn json_items_are_transformed_by_their_own_contents() {
    let st = |needle: &str, scope: &str, tt: &[&str], pos: &str| {
        json!({"ByteMatchStatement": {"SearchString": needle,
        "FieldToMatch": {"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": scope,
            "InvalidFallbackBehavior": "NO_MATCH", "OversizeHandling": "CONTINUE"}},
        "TextTransformations": tts(tt), "PositionalConstraint": pos}})
    };
    // (rule, needle, scope, transformations, positional constraint)
    let table: [(&str, &str, &str, &[&str], &str); 5] = [
        (
            "plain",
            "plain",
            "VALUE",
            &["URL_DECODE", "LOWERCASE"],
            "EXACTLY",
        ),
        ("decoded", "<script", "VALUE", &["URL_DECODE"], "CONTAINS"),
        ("lowered", "upper evil", "ALL", &["LOWERCASE"], "EXACTLY"),
        ("key", "c", "KEY", &["URL_DECODE", "LOWERCASE"], "EXACTLY"),
        ("raw", "%3Cscript", "VALUE", &["NONE"], "CONTAINS"),
    ];
    let rules: Vec<Value> = table
        .iter()
        .enumerate()
        .map(|(i, (name, needle, scope, tt, pos))| {
            rule(name, i as i64, st(needle, scope, tt, pos), "Count")
        })
        .collect();
    let a = acl(Value::Array(rules));
    let body = r#"{"a": "plain", "b": "%3Cscript%3E", "C": "UPPER EVIL", "d": [1, "x"]}"#;
    let d = req("POST", "/")
        .header("content-type", "application/json")
        .body(body)
        .eval(&a);
    let matched: Vec<&str> = d.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(matched, ["plain", "decoded", "lowered", "key", "raw"]);
    let field = |rule: &str| {
        d.matches
            .iter()
            .find(|m| m.rule == rule)
            .and_then(|m| m.location.clone())
            .map(|l| l.field)
    };
    assert_eq!(field("decoded").as_deref(), Some("JsonBody:/b"));
    assert_eq!(field("lowered").as_deref(), Some("JsonBody:/C"));
}

/// `Headers` statements on names (scope `KEY`): each name goes through the statement's own
/// transformations, exactly as sent, and a match reports the header.
#[test]
fn header_names_match_whether_well_known_or_not() {
    let st = |pattern: &str, tt: &[&str]| {
        json!({"RegexMatchStatement": {"RegexString": pattern,
        "FieldToMatch": {"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "KEY", "OversizeHandling": "CONTINUE"}},
        "TextTransformations": tts(tt)}})
    };
    let a = acl(json!([
        rule("known", 0, st("^content-type$", &["LOWERCASE"]), "Count"),
        rule("known-upper", 1, st("^CONTENT-TYPE$", &["NONE"]), "Count"),
        rule("unknown", 2, st("^x-evil", &["NONE"]), "Count"),
        rule("none", 3, st("^accept$", &["NONE"]), "Count"),
    ]));
    let d = req("GET", "/")
        .header("content-type", "text/plain")
        .header("x-evil-thing", "1")
        .header("host", "example.com")
        .eval(&a);
    let matched: Vec<&str> = d.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(matched, ["known", "unknown"]);
    assert_eq!(
        d.matches[0].location.as_ref().map(|l| l.field.as_str()),
        Some("Headers:content-type")
    );
    // `accept` present this time; `CONTENT-TYPE` kept as sent.
    let d = req("GET", "/")
        .header("accept", "*/*")
        .header("CONTENT-TYPE", "text/plain")
        .eval(&a);
    let matched: Vec<&str> = d.matches.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(matched, ["known", "known-upper", "none"]);
}

/// Regex statements on fields that yield the same values (`Headers` with different name
/// filters and scopes, `SingleHeader`, `Body` with different oversize handling,
/// `AllQueryArguments` and `SingleQueryArgument`) share one
/// set pass per value, and each still answers only for the values its own filter, scope or
/// header name admit.
#[test]
fn grouped_regexes_keep_each_fields_filter_and_scope() {
    let headers = |pattern: Value, scope: &str| json!({"Headers": {"MatchPattern": pattern, "MatchScope": scope, "OversizeHandling": "CONTINUE"}});
    let regex = |field: Value, pattern: &str| {
        json!({"RegexMatchStatement": {"RegexString": pattern, "FieldToMatch": field,
            "TextTransformations": tts(&["LOWERCASE"])}})
    };
    // (rule, field, pattern)
    let table = [
        ("all-values", headers(json!({"All": {}}), "VALUE"), "^bad"),
        (
            "not-x-a",
            headers(json!({"ExcludedHeaders": ["x-a"]}), "VALUE"),
            "^bad",
        ),
        (
            "only-x-b",
            headers(json!({"IncludedHeaders": ["x-b"]}), "VALUE"),
            "^bad",
        ),
        ("names", headers(json!({"All": {}}), "KEY"), "^x-a$"),
        ("names-bad", headers(json!({"All": {}}), "KEY"), "^bad"),
        (
            "single-x-b",
            json!({"SingleHeader": {"Name": "x-b"}}),
            "^bad",
        ),
        (
            "body-continue",
            json!({"Body": {"OversizeHandling": "CONTINUE"}}),
            "evil",
        ),
        (
            "body-no-match",
            json!({"Body": {"OversizeHandling": "NO_MATCH"}}),
            "evil",
        ),
        ("args-bad", json!({"AllQueryArguments": {}}), "^bad"),
        (
            "single-arg-q",
            json!({"SingleQueryArgument": {"Name": "Q"}}),
            "^bad",
        ),
    ];
    let rules: Vec<Value> = table
        .iter()
        .enumerate()
        .map(|(i, (name, field, pattern))| {
            rule(name, i as i64, regex(field.clone(), pattern), "Count")
        })
        .collect();
    let a = acl(Value::Array(rules));
    let matched =
        |r: &Req| -> Vec<String> { r.eval(&a).matches.iter().map(|m| m.rule.clone()).collect() };
    assert_eq!(
        matched(&req("POST", "/").header("x-a", "BAD").body("fine")),
        ["all-values", "names"]
    );
    assert_eq!(
        matched(&req("POST", "/").header("x-b", "bad").body("EVIL")),
        [
            "all-values",
            "not-x-a",
            "only-x-b",
            "single-x-b",
            "body-continue",
            "body-no-match"
        ]
    );
    assert!(matched(&req("POST", "/").header("x-c", "good")).is_empty());
    assert_eq!(
        matched(&req("GET", "/?r=fine&q=BAD")),
        ["args-bad", "single-arg-q"]
    );
    assert_eq!(matched(&req("GET", "/?q=fine&r=bad")), ["args-bad"]);
    assert!(matched(&req("GET", "/?q=fine&r=good")).is_empty());
}
