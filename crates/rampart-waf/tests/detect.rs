//! SQL injection / XSS detection against libinjection's published test
//! vectors (`tests/data/libinjection/`, see its README), plus the `HIGH`
//! sensitivity rules, benign samples, non-UTF-8 input and a fuzz-style
//! property test.
//!
//! Pass rates are printed (`cargo test --test detect -- --nocapture`); every
//! case that does not match its file is listed below with the reason, and the
//! tests fail if the set of mismatches changes in either direction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rampart_waf::detect::{
    could_be_sqli, could_be_xss, is_sqli, is_xss, sqli_context_fingerprint, sqli_fingerprint,
    sqli_match, sqli_match_exhaustive, Dialect, QuoteContext, Sensitivity, SqliMatch,
};

// ---------------------------------------------------------------------------
// Test-vector plumbing.
// ---------------------------------------------------------------------------

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libinjection")
}

/// All `--TEST--` files whose name starts with `prefix`, as
/// (`relative path`, input, expected), sorted.
fn vectors(prefix: &str) -> Vec<(String, Vec<u8>, String)> {
    let mut out = Vec::new();
    for sub in ["tests", "corazawaf/tests"] {
        let dir = data_dir().join(sub);
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.starts_with(prefix) {
                continue;
            }
            let (input, expected) = parse_test_file(&fs::read(&path).unwrap());
            out.push((format!("{sub}/{name}"), input, expected));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no {prefix} vectors found");
    out
}

/// libinjection's `testdriver.c` format: `--TEST--`, `--INPUT--` and
/// `--EXPECTED--` lines start sections; input and expected output are
/// right-trimmed of spaces, tabs, CRs and newlines.
fn parse_test_file(raw: &[u8]) -> (Vec<u8>, String) {
    let mut section = 0;
    let (mut input, mut expected) = (Vec::new(), Vec::new());
    for line in raw.split_inclusive(|&b| b == b'\n') {
        match (section, line) {
            (0, b"--TEST--\n") => section = 1,
            (1, b"--INPUT--\n") => section = 2,
            (2, b"--EXPECTED--\n") => section = 3,
            (2, _) => input.extend_from_slice(line),
            (3, _) => expected.extend_from_slice(line),
            _ => {}
        }
    }
    assert_eq!(section, 3, "malformed test file");
    (
        rtrim(&input).to_vec(),
        String::from_utf8(rtrim(&expected).to_vec()).unwrap(),
    )
}

fn rtrim(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\n' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    &b[..end]
}

/// libinjection's `reader.c` sample format: one URL-encoded input per line;
/// empty lines and lines starting with `#` are skipped.
fn samples(file: &str) -> Vec<Vec<u8>> {
    let raw = fs::read(data_dir().join("data").join(file)).unwrap();
    raw.split(|&b| b == b'\n')
        .map(rtrim)
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .map(url_decode)
        .collect()
}

/// `modp_url_decode` as used by libinjection's `reader.c`: `+` is a space,
/// `%XX` a byte, a malformed `%` is kept.
fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn sample_files(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(data_dir().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Checks that exactly the `known` cases mismatch, printing the pass rate.
fn check_mismatches(
    what: &str,
    total: usize,
    mismatches: &BTreeMap<String, String>,
    known: &[(&str, &str)],
) {
    let passed = total - mismatches.len();
    println!("{what}: {passed}/{total} match the published expectation");
    for (name, detail) in mismatches {
        let reason = known
            .iter()
            .find(|(k, _)| k == name)
            .map_or("UNEXPECTED", |(_, r)| r);
        println!("  {name}: {detail}\n      -> {reason}");
    }
    let unexpected: Vec<&String> = mismatches
        .keys()
        .filter(|n| !known.iter().any(|(k, _)| k == n))
        .collect();
    let fixed: Vec<&str> = known
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !mismatches.contains_key(*k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{what}: unexpected mismatches {unexpected:?}"
    );
    assert!(
        fixed.is_empty(),
        "{what}: known mismatches now pass, update the list: {fixed:?}"
    );
}

// The index this data was copied from holds one revision of each file, in
// several cases an old one (see the README); those older expectations predate
// upstream changes that libinjection's current code (and this port) makes.

// ---------------------------------------------------------------------------
// SQLi: test-sqli-* (fingerprint if SQLi, empty if not).
// ---------------------------------------------------------------------------

const SQLI_KNOWN: &[(&str, &str)] = &[
    (
        "tests/test-sqli-007.txt",
        "stale revision: current libinjection collapses any fingerprint containing the evil token to `X`",
    ),
    (
        "tests/test-sqli-020.txt",
        "stale revision: `so1` is no longer in libinjection's fingerprint list",
    ),
    (
        "tests/test-sqli-026.txt",
        "stale revision: in the MySQL pass `--1` is not a comment, and current libinjection folds this to `so1&1`",
    ),
    (
        "tests/test-sqli-040.txt",
        "stale revision: double-quoted text is a string (`1&sos`), no longer a variable (`1&v`)",
    ),
    (
        "tests/test-sqli-045.txt",
        "stale revision: current libinjection reports `1U` once a comment or folding is involved",
    ),
    (
        "tests/test-sqli-050.txt",
        "stale revision in the old token-dump format; current libinjection reports the evil fingerprint `X`",
    ),
    (
        "corazawaf/tests/test-sqli-010.txt",
        "corazawaf deliberately deviates from upstream here (its comment says so); upstream excuses `1#…`",
    ),
];

#[test]
fn published_sqli_vectors() {
    let cases = vectors("test-sqli-");
    let mut mismatches = BTreeMap::new();
    for (name, input, expected) in &cases {
        let got = sqli_fingerprint(input)
            .map(|f| f.to_string())
            .unwrap_or_default();
        // A detected case must also be detected by is_sqli at both levels.
        assert_eq!(is_sqli(input, Sensitivity::Low), !got.is_empty(), "{name}");
        if !got.is_empty() {
            assert!(is_sqli(input, Sensitivity::High), "{name}");
        }
        if &got != expected {
            mismatches.insert(
                name.clone(),
                format!("input {} expected {expected:?} got {got:?}", show(input)),
            );
        }
    }
    check_mismatches("test-sqli", cases.len(), &mismatches, SQLI_KNOWN);
}

// ---------------------------------------------------------------------------
// Folding: test-folding-* list the folded tokens (ANSI, unquoted); we compare
// the token types, i.e. the fingerprint.
// ---------------------------------------------------------------------------

const FOLDING_KNOWN: &[(&str, &str)] = &[
    (
        "tests/test-folding-015.txt",
        "stale revision: `1 op ( 1 )` now folds to `1` (five-token rule)",
    ),
    (
        "tests/test-folding-019.txt",
        "stale revision: `( (` and unary folding, then the five-token rule, give `1)`",
    ),
    (
        "tests/test-folding-021.txt",
        "stale revision: backquoted words are barewords (`n`), not strings",
    ),
    (
        "tests/test-folding-045.txt",
        "stale revision: `IF` is a function (`f`) outside T-SQL statements",
    ),
    (
        "tests/test-folding-046.txt",
        "stale revision: `IF` is a function (`f`)",
    ),
    (
        "tests/test-folding-054.txt",
        "stale revision: SQL types are folded away and `TABLE` is a bareword",
    ),
    (
        "tests/test-folding-079.txt",
        "stale revision: the collate type is `A`, formerly `C`",
    ),
    (
        "tests/test-folding-080.txt",
        "stale revision: a collation bareword containing `_` becomes a type (`t`)",
    ),
    (
        "tests/test-folding-081.txt",
        "stale revision: `1 op (1)` now folds to `1`",
    ),
    (
        "tests/test-folding-116.txt",
        "stale revision: `USER(1)` is now kept as bareword + parenthesised number",
    ),
];

#[test]
fn published_folding_vectors() {
    let cases = vectors("test-folding-");
    let mut mismatches = BTreeMap::new();
    for (name, input, expected) in &cases {
        let mut expected_fp: String = expected.lines().filter_map(|l| l.chars().next()).collect();
        // The fingerprint of a fold containing the evil token is just `X`.
        if expected_fp.contains('X') {
            expected_fp = "X".to_string();
        }
        let got = sqli_context_fingerprint(input, QuoteContext::None, Dialect::Ansi).to_string();
        if got != expected_fp {
            mismatches.insert(
                name.clone(),
                format!("input {} expected {expected_fp:?} got {got:?}", show(input)),
            );
        }
    }
    check_mismatches("test-folding", cases.len(), &mismatches, FOLDING_KNOWN);
}

// ---------------------------------------------------------------------------
// Tokens: test-tokens-* list the raw tokens (ANSI, unquoted). These exercise
// the port's tokenizer directly; we compare token types.
// ---------------------------------------------------------------------------

const TOKENS_KNOWN: &[(&str, &str)] = &[
    (
        "tests/test-tokens-backquotes-001.txt",
        "stale revision: `SELECT` is an expression (`E`), once a keyword",
    ),
    (
        "tests/test-tokens-backquotes-002.txt",
        "stale revision: backquoted words are barewords (`n`), not strings",
    ),
    (
        "tests/test-tokens-backquotes-003.txt",
        "stale revision: `SELECT` is `E`; `foo.` splits off as a bareword",
    ),
    (
        "tests/test-tokens-backquotes-004.txt",
        "stale revision: `.` between words is a dot token",
    ),
    (
        "tests/test-tokens-backquotes-005.txt",
        "stale revision: `.` between words is a dot token",
    ),
    (
        "tests/test-tokens-backquotes-012.txt",
        "stale revision: backquoted words are barewords (`n`), not strings",
    ),
];

#[test]
fn published_tokens_vectors() {
    use libinjectionrs::sqli::SqliTokenizer;
    use libinjectionrs::SqliFlags;
    let cases = vectors("test-tokens-");
    let mut mismatches = BTreeMap::new();
    for (name, input, expected) in &cases {
        let expected_types: String = expected.lines().filter_map(|l| l.chars().next()).collect();
        let mut tokenizer =
            SqliTokenizer::new(input, SqliFlags::FLAG_QUOTE_NONE | SqliFlags::FLAG_SQL_ANSI);
        let mut got = String::new();
        while let Some(t) = tokenizer.next_token() {
            got.push(t.token_type.to_char());
        }
        if got != expected_types {
            mismatches.insert(
                name.clone(),
                format!(
                    "input {} expected {expected_types:?} got {got:?}",
                    show(input)
                ),
            );
        }
    }
    check_mismatches("test-tokens", cases.len(), &mismatches, TOKENS_KNOWN);
}

// ---------------------------------------------------------------------------
// HTML5 tokenizer (test-html5-*: `TYPE,len,text` per token) and XSS
// (test-xss-*: 1 or 0).
// ---------------------------------------------------------------------------

const HTML5_KNOWN: &[(&str, &str)] = &[
    (
        "tests/test-html5-009.txt",
        "stale revision: the self-closing token is now reported as `/>` (its length was already 2)",
    ),
    (
        "tests/test-html5-010.txt",
        "stale revision: self-closing token text `/>`",
    ),
    (
        "tests/test-html5-015.txt",
        "stale revision: the closing `>` of `<foo  bar>` is now a TAG_NAME_CLOSE token",
    ),
    (
        "tests/test-html5-032.txt",
        "stale revision: self-closing token text `/>`",
    ),
];

#[test]
fn published_html5_vectors() {
    use libinjectionrs::xss::{Html5Flags, Html5State};
    let cases = vectors("test-html5-");
    let mut mismatches = BTreeMap::new();
    for (name, input, expected) in &cases {
        let mut h5 = Html5State::new(input, Html5Flags::DataState);
        let mut got = String::new();
        while h5.next() {
            let text = String::from_utf8_lossy(&h5.token_start[..h5.token_len]);
            got.push_str(&format!("{},{},{}\n", h5.token_type, h5.token_len, text));
        }
        let got = got.trim_end();
        if got != expected {
            mismatches.insert(name.clone(), format!("expected {expected:?} got {got:?}"));
        }
    }
    check_mismatches("test-html5", cases.len(), &mismatches, HTML5_KNOWN);
}

#[test]
fn published_xss_vectors() {
    let cases = vectors("test-xss-");
    let mut mismatches = BTreeMap::new();
    for (name, input, expected) in &cases {
        let got = if is_xss(input) { "1" } else { "0" };
        if got != expected {
            mismatches.insert(
                name.clone(),
                format!("input {} expected {expected} got {got}", show(input)),
            );
        }
    }
    check_mismatches("test-xss", cases.len(), &mismatches, &[]);
}

// ---------------------------------------------------------------------------
// Sample corpora (data/*.txt): known attacks should be detected, with a few
// outliers (upstream's `make check` allows 19 misses over all its sqli-*
// files and 20 over its xss-* files); false positives are counted.
// ---------------------------------------------------------------------------

/// Inputs of `data/sqli-*.txt` that `LOW` (libinjection) does not detect
/// (upstream tolerates 19 misses over its full, larger set of files).
const SQLI_SAMPLE_MISSES_LOW: &[&str] = &[
    "21%2f%2a*/union%2f%2a*/select%2f%2a*/1,2,3%2f%2a*/from%2f%2a*/users--",
    ")-sleep(9999",
    "*/UNION SELECT password FROM users--",
    "UNION ALL SELECT FileToClob(&#x27;/etc/passwd&#x27;,&#x27;server&#x27;)::html,0",
    "UNION ALL SELECT FileToBlob(&#x27;/etc/passwd&#x27;,&#x27;server&#x27;)::html,0",
    "PHPX AND 1=1 AND XX=X",
    "5000224' UNION user_id>0--",
    "-5000224' UNION user_id>0--",
    "SELECT $.`` 1.e.table_name",
    "SELECT{_ .``1.e.table_name}",
    "SELECT LightOS . ``1.e.table_name LightOS)",
    "SELECT information_schema 1337.e.tables 13.37e.table_name",
    "SELECT\\UNION SELECT 2",
    "SELECT\0table_name\0FROM\0all_tab_tables",
    "1 CASE WHEN BINARY TRUE THEN TRUE END IS NOT UNKNOWN HAVING TRUE FOR UPDATE",
    "1 CASE WHEN BINARY TRUE THEN TRUE END IS UNKNOWN FOR UPDATE UNION SELECT MATTRESSES",
    // Caught while the port read `[id]` as a bracket word; like upstream, `[`
    // is a parenthesis outside MySQL now (HIGH: UnionSelect).
    "-[id] UNION SELECT table_name FROM information_schema.tables LIMIT 1",
    "-1 LOCK IN SHARE MODE UNION SELECT table_name from information_schema.tables",
];

#[test]
fn sqli_sample_corpora() {
    let mut total = 0;
    let mut missed_low = Vec::new();
    let mut missed_high = Vec::new();
    for file in sample_files("sqli-") {
        let inputs = samples(&file);
        let low = inputs
            .iter()
            .filter(|i| is_sqli(i, Sensitivity::Low))
            .count();
        let high = inputs
            .iter()
            .filter(|i| is_sqli(i, Sensitivity::High))
            .count();
        println!("{file}: LOW {low}/{n}, HIGH {high}/{n}", n = inputs.len());
        total += inputs.len();
        for i in &inputs {
            let (l, h) = (is_sqli(i, Sensitivity::Low), is_sqli(i, Sensitivity::High));
            assert!(!l || h, "HIGH must include LOW: {}", show(i));
            if !l {
                missed_low.push(String::from_utf8_lossy(i).into_owned());
            }
            if !h {
                missed_high.push(String::from_utf8_lossy(i).into_owned());
            }
        }
    }
    println!(
        "sqli samples: LOW {}/{total} ({} missed), HIGH {}/{total} ({} missed)",
        total - missed_low.len(),
        missed_low.len(),
        total - missed_high.len(),
        missed_high.len()
    );
    for m in &missed_high {
        println!("  missed at HIGH too: {m:?}");
    }
    assert_eq!(missed_low, SQLI_SAMPLE_MISSES_LOW, "LOW misses changed");
    // HIGH catches the UNION ... SELECT ones.
    assert!(missed_high.len() < missed_low.len());
}

/// `data/false_positives.txt` inputs flagged at `LOW`: the same ones current
/// libinjection flags (the file records past false positives; upstream runs
/// it without a threshold).
const FALSE_POSITIVES_LOW: &[&str] = &[
    "CHRISTMAS STOCKING \"NOT\" STUFFER",
    "SMALL \"&\" SIGN",
    "BILLEEVERSBOUTIQUE , BROWNING \"LIKE\"",
    "80% ACRYLIC AND 20% WOOL",
    "35% COTTON AND 65% POLYESTER.",
    "\"IS\" STAMP",
    "\"LIKE\" STAMP",
    "/SEARCH/HANDMADE?SEARCH_SUBMIT=&Q=\"MOD\"&VIEW_TYPE=GALLERY&SHIP_TO=US&PAGE=14",
    "/SEARCH?SEARCH_SUBMIT=&Q=36\"+X+48+\"+FRAME&VIEW_TYPE=GALLERY&SHIP_TO=US",
    "FAITES UN TOUR SUR NOTRE NOUVELLE <BR /><A HREF=\"/APPS/\">GALERIE D'APPLICATIONS</A>!",
    "RENCONTREZ DES PERSONNES AVEC QUI VOUS AVEZ DES INTRTS COMMUNS ET COLLABOREZ AVEC EUX. TROUVEZ DES TEAMS LOCAUX  REJOINDRE SUR LA <A HREF=\"/TEAMS/\">PAGE DES TEAMS</A>",
    "/SEARCH/HANDMADE?SEARCH_SUBMIT=&Q=\"LIKE\"+STAMP&VIEW_TYPE=GALLERY&SHIP_TO=US",
    "MISTERGLAS.DK'*'''''''''''''''''''''''''''''''''",
    "1611-IioXXIG1ti8rspL2vbXFy--",
    "1611/IioXXIG1ti8rspL2vbXFy--",
    "\"*\"",
    "'countdown calendar\" and \"disney:",
    "1,1--",
    "select 'and'",
    "select x from y where",
    "x/*",
];

/// Additional `data/false_positives.txt` inputs flagged at `HIGH` only.
const FALSE_POSITIVES_HIGH_ONLY: &[&str] = &["BAMBOO CHARCOAL SOAP 1 '#"];

#[test]
fn false_positive_corpus() {
    let inputs = samples("false_positives.txt");
    let low: Vec<String> = inputs
        .iter()
        .filter(|i| is_sqli(i, Sensitivity::Low))
        .map(|i| String::from_utf8_lossy(i).into_owned())
        .collect();
    let high_only: Vec<String> = inputs
        .iter()
        .filter(|i| is_sqli(i, Sensitivity::High) && !is_sqli(i, Sensitivity::Low))
        .map(|i| String::from_utf8_lossy(i).into_owned())
        .collect();
    println!(
        "false_positives.txt: LOW flags {}/{n}, HIGH flags {}/{n}",
        low.len(),
        low.len() + high_only.len(),
        n = inputs.len()
    );
    for i in &high_only {
        println!(
            "  HIGH only: {i:?} ({:?})",
            sqli_match(i.as_bytes(), Sensitivity::High)
        );
    }
    assert_eq!(low, FALSE_POSITIVES_LOW);
    assert_eq!(high_only, FALSE_POSITIVES_HIGH_ONLY);
    // XSS false positives in the same corpus (it is SQLi-oriented, but has
    // some HTML).
    let xss: Vec<String> = inputs
        .iter()
        .filter(|i| is_xss(i))
        .map(|i| String::from_utf8_lossy(i).into_owned())
        .collect();
    println!(
        "false_positives.txt: XSS flags {}/{}: {xss:?}",
        xss.len(),
        inputs.len()
    );
    assert!(xss.is_empty(), "{xss:?}");
}

/// Inputs of `data/xss-*.txt` that libinjection's XSS detector misses.
const XSS_SAMPLE_MISSES: &[&str] = &[
    "<BODY onload!#$%&()*~ -_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<a href=\"&nbsp;javascript:alert(1)\" >",
];

/// `could_be_xss` is only a shortcut: wherever it says no, the detector itself (the port,
/// without the shortcut) says no, on every published vector and sample and on generated
/// inputs built from what the detector reacts to. The generator reaches detections once
/// `<` or `=` is allowed, so the test would catch a shortcut that skipped real ones.
/// `could_be_sqli` lets `sqli_match` skip single SQL words. Checked against the detector
/// without the shortcut, at both sensitivities: on every keyword of libinjection's table in
/// three spellings, on every published vector and sample, and on generated words built from
/// keyword pieces, digits and `_`. The blacklist must hold no one-character fingerprint.
#[test]
fn the_sqli_shortcut_never_skips_a_detection() {
    use libinjectionrs::sqli::blacklist::is_blacklisted;
    use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
    use libinjectionrs::sqli::TokenType;
    for t in [
        TokenType::Keyword,
        TokenType::Union,
        TokenType::Group,
        TokenType::Expression,
        TokenType::SqlType,
        TokenType::Function,
        TokenType::Bareword,
        TokenType::Number,
        TokenType::Variable,
        TokenType::String,
        TokenType::Operator,
        TokenType::LogicOperator,
        TokenType::Comment,
        TokenType::Collate,
        TokenType::LeftParenthesis,
        TokenType::RightParenthesis,
        TokenType::LeftBrace,
        TokenType::RightBrace,
        TokenType::Dot,
        TokenType::Comma,
        TokenType::Colon,
        TokenType::Semicolon,
        TokenType::Tsql,
        TokenType::Unknown,
        TokenType::Backslash,
    ] {
        let c = t.to_char();
        assert!(
            !is_blacklisted(&c.to_string()),
            "{t:?} ({c}) alone is blacklisted"
        );
    }
    let mut skipped = 0;
    let mut check = |input: &[u8]| {
        if could_be_sqli(input) {
            return;
        }
        skipped += 1;
        for s in [Sensitivity::Low, Sensitivity::High] {
            assert_eq!(
                sqli_match_exhaustive(input, s),
                None,
                "shortcut skips a detection at {s:?}: {}",
                show(input)
            );
        }
    };
    let mut words: Vec<String> = Vec::new();
    for k in SQL_KEYWORDS {
        words.push(k.word.to_owned());
        words.push(k.word.to_ascii_lowercase());
        words.push(format!("{}_1", k.word));
    }
    for w in &words {
        check(w.as_bytes());
    }
    for c in vectors("test-sqli-") {
        check(&c.1);
    }
    for file in sample_files("") {
        for input in samples(&file) {
            check(&input);
        }
    }
    // Generated words: keyword pieces glued together with digits and `_`.
    let keywords: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !could_be_sqli(w.as_bytes()))
        .collect();
    const SHORT: [&str; 13] = [
        "_", "0", "1", "9", "x", "e", "n", "b", "q", "u", "N", "X", "E",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..100_000 {
        let mut w = String::new();
        for _ in 0..1 + next() % 4 {
            let r = next();
            w.push_str(if r % 2 == 0 {
                keywords[(r / 2 % keywords.len() as u64) as usize]
            } else {
                SHORT[(r / 2 % SHORT.len() as u64) as usize]
            });
        }
        check(w.as_bytes());
    }
    // Generated plain numbers: digits (leading zeros, `0` before what would be a hex or
    // binary marker, lengths past 64-bit integers) with and without one `.` between digits.
    let mut numbers = 0;
    for _ in 0..100_000 {
        let mut n = String::new();
        let r = next();
        for part in 0..1 + r % 2 {
            if part == 1 {
                n.push('.');
            }
            for _ in 0..1 + next() % 24 {
                n.push(char::from(b'0' + (next() % 10) as u8));
            }
        }
        assert!(!could_be_sqli(n.as_bytes()), "{n} is a plain number");
        numbers += 1;
        check(n.as_bytes());
    }
    assert_eq!(numbers, 100_000);
    assert!(skipped > 150_000, "the shortcut was exercised ({skipped})");
    // And what it must not skip.
    for s in [
        "1union", "x y", "a.b", "a'", "a--", "a#", "@v", "$1", "a`b", "", "é", "1.", ".5", "1..2",
        "1.2.3", "-1", "+1", "1e5", "1e+", "1.e", "0x1f", "0b1", "1 2", "1_000", "1,5", "1=1",
        "1;", "1--", "1#",
    ] {
        assert!(could_be_sqli(s.as_bytes()) || s.is_empty(), "{s:?}");
    }
}

#[test]
fn the_xss_shortcut_never_skips_a_detection() {
    let port = |s: &[u8]| libinjectionrs::detect_xss(s).is_injection();
    let mut published: Vec<Vec<u8>> = vectors("test-xss-").into_iter().map(|c| c.1).collect();
    for file in sample_files("") {
        published.extend(samples(&file));
    }
    let mut skipped = 0;
    for input in &published {
        if !could_be_xss(input) {
            skipped += 1;
            assert!(!port(input), "shortcut skips a detection: {}", show(input));
        }
    }
    assert!(
        skipped > 100,
        "the corpora exercise the shortcut ({skipped})"
    );

    // Pieces of what the tokeniser and the blacklists look at, without `<` and `=`.
    const PIECES: &[&str] = &[
        "on",
        "onerror",
        "onload",
        "ONCLICK",
        "style",
        "STYLE",
        "xmlns",
        "xlink:href",
        "href",
        "src",
        "action",
        "formaction",
        "attributename",
        "values",
        "from",
        "to",
        "by",
        "javascript:",
        "vbscript:",
        "data:",
        "&#106;",
        "alert(1)",
        "'",
        "\"",
        "`",
        " ",
        "\t",
        "\n",
        "\r",
        "\x0b",
        "\x0c",
        "/",
        ">",
        "\0",
        "a",
        "x",
        "!",
        "?",
        "%",
        "&",
        "#",
        ";",
        "(",
        ")",
        "[if",
        "xml",
        "import",
        "entity",
        "!doctype",
        "--",
        "svg",
        "script",
        "xsl",
        "-",
        ":",
        "\u{a0}",
        "\u{ff}",
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let mut flagged_with_markers = 0;
    for round in 0..200_000 {
        let mut s = String::new();
        for _ in 0..1 + next(8) {
            s.push_str(PIECES[next(PIECES.len())]);
            // Every other input gets the two bytes the shortcut looks for, somewhere.
            if round % 2 == 1 && next(3) == 0 {
                s.push(if next(2) == 0 { '=' } else { '<' });
            }
        }
        let b = s.as_bytes();
        if could_be_xss(b) {
            flagged_with_markers += usize::from(port(b));
        } else {
            assert!(!port(b), "shortcut skips a detection: {s:?}");
        }
    }
    assert!(
        flagged_with_markers > 1_000,
        "the generator reaches detections when `<`/`=` are allowed ({flagged_with_markers})"
    );
}

#[test]
fn xss_sample_corpora() {
    let mut total = 0;
    let mut missed = Vec::new();
    for file in sample_files("xss-") {
        let inputs = samples(&file);
        let hit = inputs.iter().filter(|i| is_xss(i)).count();
        println!("{file}: {hit}/{}", inputs.len());
        total += inputs.len();
        missed.extend(
            inputs
                .iter()
                .filter(|i| !is_xss(i))
                .map(|i| String::from_utf8_lossy(i).into_owned()),
        );
    }
    println!("xss samples: {}/{total} detected", total - missed.len());
    assert_eq!(missed, XSS_SAMPLE_MISSES);
}

// ---------------------------------------------------------------------------
// Upstream deltas reproduced on top of the port.
// ---------------------------------------------------------------------------

#[test]
fn double_equals_is_one_operator() {
    // `==` folds exactly like `=` (libinjection PR #84).
    for (a, b) in [
        ("' or 1==1;--", "' or 1=1;--"),
        ("' or 1==1--", "' or 1=1--"),
        ("' or '1'=='1", "' or '1'='1"),
        ("1 or 1==1", "1 or 1=1"),
        ("admin' or 1==1#", "admin' or 1=1#"),
    ] {
        assert_eq!(
            sqli_fingerprint(a.as_bytes()),
            sqli_fingerprint(b.as_bytes()),
            "{a}"
        );
        assert!(sqli_fingerprint(a.as_bytes()).is_some(), "{a}");
    }
    // Only an `==` token is rewritten: `!==` is `!=` then `=`, `<==` is `<=`
    // then `=`, `===` is `==` then `=`, and content of strings is irrelevant.
    for (a, b) in [
        ("1 !== 1", "1 != = 1"),
        ("1 <== 1", "1 <= = 1"),
        ("1 === 1", "1 = = 1"),
        ("1 <=>= 1", "1 <=> = 1"),
        ("'a==b' union select 1", "'a=b' union select 1"),
    ] {
        for (q, d) in [
            (QuoteContext::None, Dialect::Ansi),
            (QuoteContext::Single, Dialect::Mysql),
        ] {
            assert_eq!(
                sqli_context_fingerprint(a.as_bytes(), q, d),
                sqli_context_fingerprint(b.as_bytes(), q, d),
                "{a} vs {b}"
            );
        }
    }
}

#[test]
fn exponent_without_digits_is_ignored() {
    // libinjection PR #60: `1.e`, `10.E`, `1e+` and friends are skipped.
    assert_eq!(sqli_fingerprint(b"1' or 1.e(1)").unwrap().as_str(), "s&(1)");
    assert_eq!(sqli_fingerprint(b"1' or 2 1.e/1").unwrap().as_str(), "s&1");
    for (a, fp) in [
        ("SELECT 1.e.table_name", "En"),
        ("SELECT 10.e.`table_name`", "En"),
        ("1 1.e+ union select 2", "1UE1"),
        ("1 .5e union select 2", "1UE1"),
    ] {
        assert_eq!(
            sqli_context_fingerprint(a.as_bytes(), QuoteContext::None, Dialect::Ansi).as_str(),
            fp,
            "{a}"
        );
    }
    // Real exponents, hex, words and variables are untouched.
    for (a, fp) in [
        ("1e5", "1"),
        ("0x1e", "1"),
        ("a1.e", "n"),
        ("@v1.e", "v"),
        ("1.5E-3", "1"),
    ] {
        assert_eq!(
            sqli_context_fingerprint(a.as_bytes(), QuoteContext::None, Dialect::Ansi).as_str(),
            fp,
            "{a}"
        );
    }
}

#[test]
fn port_whitelist_matches_c() {
    // The port compares `INTO` case-sensitively in its false-positive rules;
    // libinjection does not.
    for input in [
        "1 into outfile 'asd'",
        "1 INTO OUTFILE 'asd'",
        "'1' into dumpfile 'x'",
    ] {
        assert!(is_sqli(input.as_bytes(), Sensitivity::Low), "{input}");
    }
    // ...and still excuses other keywords in the middle: `1 from 2`.
    assert!(!is_sqli(b"1 from 2", Sensitivity::Low));
    // `sp_password` in a trailing comment makes `nc` SQLi, in non-UTF-8
    // input too.
    assert!(is_sqli(b"x -- sp_password", Sensitivity::Low));
    assert!(is_sqli(b"x -- sp_password \xff", Sensitivity::Low));
    assert!(!is_sqli(b"x -- password \xff", Sensitivity::Low));
}

#[test]
fn brackets_are_parentheses_outside_mysql() {
    // libinjection issue #18: `[` starts an MS SQL bracket word only in MySQL
    // mode (where bracket words are harmless); elsewhere it is a parenthesis.
    let fp = |s: &str, d| sqli_context_fingerprint(s.as_bytes(), QuoteContext::None, d).to_string();
    assert_eq!(
        fp("1 [x] union select 2", Dialect::Ansi),
        fp("1 (x] union select 2", Dialect::Ansi)
    );
    assert_eq!(
        fp("1 [x union select 2]", Dialect::Mysql),
        fp("1 x", Dialect::Mysql)
    );
    // An Oracle q-string delimiter is left alone.
    assert_eq!(
        fp("q'[a]' union select 1", Dialect::Ansi),
        fp("'a' union select 1", Dialect::Ansi)
    );
}

// ---------------------------------------------------------------------------
// Sensitivity levels.
// ---------------------------------------------------------------------------

/// Attacks only `HIGH` detects, with the rule that fires.
const HIGH_ONLY: &[(&str, SqliMatch)] = &[
    ("or 1=1", SqliMatch::Tautology),
    ("or 1=1--", SqliMatch::Tautology),
    ("OR 'a'='a'", SqliMatch::Tautology),
    ("and x=x", SqliMatch::Tautology),
    ("or 2>1", SqliMatch::Tautology),
    ("or (1=1)", SqliMatch::Tautology),
    ("or 1==1", SqliMatch::Tautology),
    ("union all select", SqliMatch::UnionSelect),
    ("UNION DISTINCT (SELECT", SqliMatch::UnionSelect),
    ("; drop table users", SqliMatch::StackedQuery),
    ("; DELETE FROM users", SqliMatch::StackedQuery),
    ("; exec xp_cmdshell", SqliMatch::StackedQuery),
    ("; select @@version", SqliMatch::StackedQuery),
    ("; select name, pass from users", SqliMatch::StackedQuery),
    ("; shutdown", SqliMatch::StackedQuery),
    ("; waitfor delay '0:0:5'", SqliMatch::StackedQuery),
    ("admin'#", SqliMatch::QuoteThenComment),
    ("admin' -- bye", SqliMatch::QuoteThenComment),
    ("admin\" #", SqliMatch::QuoteThenComment),
    ("1 union", SqliMatch::UnionFragment),
    ("@v UNION", SqliMatch::UnionFragment),
];

#[test]
fn high_detects_more_than_low() {
    for (input, rule) in HIGH_ONLY {
        assert!(
            !is_sqli(input.as_bytes(), Sensitivity::Low),
            "LOW flags {input:?}"
        );
        assert_eq!(
            sqli_match(input.as_bytes(), Sensitivity::High),
            Some(*rule),
            "{input:?}"
        );
    }
}

#[test]
fn both_levels_detect_classic_attacks() {
    for input in [
        "1' or '1'='1",
        "' or 1=1--",
        "1 or 1=1",
        "admin'--",
        "1 union select 1,2",
        "-1 UNION ALL SELECT username, password FROM users",
        "1; drop table users",
        "x'; drop table users--",
        "1' and sleep(5)#",
        "' or 1==1;--",
        "1' or 1.e(1)",
    ] {
        for level in [Sensitivity::Low, Sensitivity::High] {
            assert!(is_sqli(input.as_bytes(), level), "{input:?} at {level:?}");
        }
        assert!(matches!(
            sqli_match(input.as_bytes(), Sensitivity::High),
            Some(SqliMatch::Libinjection(_))
        ));
    }
}

/// Benign text: none is flagged at `LOW`; the second list is what `HIGH`
/// flags.
const BENIGN: &[&str] = &[
    "O'Brien",
    "select a product",
    "Rock 'n' roll",
    "1 or 2 items",
    "don't",
    "drop me a line",
    "credit union",
    "Tom & Jerry",
    "10 or 12",
    "Is it true or false?",
    "a=1&b=2",
    "The union selected a new leader",
    "it's -- great",
    "I'm here; select one",
    "Union Select Committee",
    "1 union",
    "FOO BAR'# BLAH",
    "7\" #2 CIRCULAR NEEDLE",
    "1; exec will create the case 7",
    "Hello, World!",
    "john.doe@example.com",
    "https://example.com/path?x=1&y=2",
    "We'll see; update later",
    "café crème",
];

const BENIGN_FLAGGED_AT_HIGH: &[&str] = &["Union Select Committee", "1 union"];

#[test]
fn benign_text() {
    for input in BENIGN {
        assert!(
            !is_sqli(input.as_bytes(), Sensitivity::Low),
            "LOW flags {input:?}"
        );
        assert!(!is_xss(input.as_bytes()), "XSS flags {input:?}");
    }
    let flagged: Vec<&str> = BENIGN
        .iter()
        .copied()
        .filter(|i| is_sqli(i.as_bytes(), Sensitivity::High))
        .collect();
    assert_eq!(flagged, BENIGN_FLAGGED_AT_HIGH);
}

#[test]
fn xss_basics() {
    for input in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg/onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<iframe src=javascript:alert(1)>",
        "' onmouseover='alert(1)",
    ] {
        assert!(is_xss(input.as_bytes()), "{input:?}");
    }
    for input in [
        "<b>bold</b>",
        "<a href=\"https://example.com\">link</a>",
        "1 < 2 > 0",
        "x => y",
    ] {
        assert!(!is_xss(input.as_bytes()), "{input:?}");
    }
}

// ---------------------------------------------------------------------------
// Bytes in: non-UTF-8 input and a fuzz-style property test.
// ---------------------------------------------------------------------------

#[test]
fn non_utf8_input() {
    let cases: &[&[u8]] = &[
        b"\xff\xfe' or 1=1--",
        b"1' or '1'='1\x80",
        b"\xc3' union select \xff--",
        b"<script>\xffalert(1)</script>",
        b"\x00\x00\x00",
        b"\xa0or\xa01=1",
        b"\xed\xa0\x80",
    ];
    for c in cases {
        for level in [Sensitivity::Low, Sensitivity::High] {
            let _ = is_sqli(c, level);
        }
        let _ = is_xss(c);
        let _ = sqli_fingerprint(c);
    }
    assert!(is_sqli(b"\xff\xfe' or 1=1--", Sensitivity::Low));
    assert!(is_sqli(b"1' or '1'='1\x80", Sensitivity::Low));
    assert!(is_xss(b"<script>\xffalert(1)</script>"));
    assert!(!is_sqli(b"", Sensitivity::High));
    assert!(!is_xss(b""));
}

/// xorshift64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic() {
    // Pieces that steer the tokenizers into their odd corners.
    const PIECES: &[&[u8]] = &[
        b"'",
        b"\"",
        b"`",
        b"/*",
        b"*/",
        b"/*!",
        b"--",
        b"#",
        b"(",
        b")",
        b"{",
        b"}",
        b"[",
        b"]",
        b" ",
        b"1",
        b"1.e",
        b".5e",
        b"1e+",
        b"0x",
        b"0b",
        b"@",
        b"@@",
        b"$",
        b"$$",
        b"$a$",
        b"\\",
        b"\\N",
        b"select",
        b"union",
        b"or",
        b"and",
        b"=",
        b"==",
        b"!==",
        b"<=>",
        b"!",
        b";",
        b",",
        b".",
        b"<",
        b">",
        b"/",
        b"<script",
        b"<!--",
        b"-->",
        b"<!",
        b"<?",
        b"&#",
        b"&",
        b"x",
        b"on",
        b"href=",
        b"javascript:",
        b"\x00",
        b"\xa0",
        b"\xff",
        b"\xc3",
        b"e",
        b"q'",
        b"n'",
        b"x'",
        b"b'",
        b"u&'",
        b"e'",
        b"user(",
        b"drop",
        b"table",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    for round in 0..30_000 {
        buf.clear();
        let len = rng.below(48);
        for _ in 0..len {
            if round % 2 == 0 || rng.below(3) == 0 {
                buf.push(rng.next() as u8);
            } else {
                buf.extend_from_slice(PIECES[rng.below(PIECES.len())]);
            }
        }
        // The port itself must not panic (our wrapper would otherwise hide
        // it by failing closed)...
        let port = std::panic::catch_unwind(|| {
            let _ = libinjectionrs::detect_sqli(&buf).is_injection();
            let _ = libinjectionrs::detect_xss(&buf).is_injection();
        });
        assert!(port.is_ok(), "libinjectionrs panicked on {buf:?}");
        // ...and neither may ours; HIGH always includes LOW.
        let low = is_sqli(&buf, Sensitivity::Low);
        let high = is_sqli(&buf, Sensitivity::High);
        assert!(!low || high, "{buf:?}");
        let _ = is_xss(&buf);
    }
    // Long inputs.
    let long: Vec<u8> = (0..100_000u32).map(|_| rng.next() as u8).collect();
    let _ = is_sqli(&long, Sensitivity::High);
    let _ = is_xss(&long);
    let mut long_sql = b"1' or '1'='1".to_vec();
    long_sql.extend_from_slice(&b" and more".repeat(20_000));
    assert!(is_sqli(&long_sql, Sensitivity::Low));
    let mut long_tail = b"x ".repeat(50_000);
    long_tail.extend_from_slice(b"; drop table users");
    assert!(is_sqli(&long_tail, Sensitivity::High));
}

/// The vendored port's keyword lookup (a hash index on the stack-upper-cased word, our patch)
/// answers exactly what the upstream binary search over `SQL_KEYWORDS` answered: every
/// keyword in any case, and nothing for words that are not in the table.
#[test]
fn keyword_lookup_matches_the_table() {
    use libinjectionrs::sqli::sqli_data::{lookup_bytes, lookup_word, SQL_KEYWORDS};
    use libinjectionrs::sqli::TokenType;
    let upstream = |w: &str| {
        let upper = w.to_ascii_uppercase();
        match SQL_KEYWORDS.binary_search_by(|k| k.word.cmp(&upper)) {
            Ok(i) => Some(SQL_KEYWORDS[i].token_type),
            Err(_) => None,
        }
    };
    let mut keywords = 0;
    for k in SQL_KEYWORDS {
        for w in [k.word.to_owned(), k.word.to_ascii_lowercase()] {
            let got = lookup_word(&w);
            assert_eq!(got, upstream_type(k.token_type), "{w:?}");
            assert_eq!(lookup_bytes(w.as_bytes()), got, "{w:?}");
            assert_eq!(upstream(&w), Some(k.token_type), "{w:?}");
            keywords += 1;
        }
        // Neighbours that are not in the table are barewords.
        for w in [
            format!("{}x", k.word),
            format!("x{}", k.word),
            k.word[1..].to_owned(),
        ] {
            if upstream(&w).is_none() {
                assert_eq!(lookup_word(&w), TokenType::Bareword, "{w:?}");
            }
        }
    }
    assert!(keywords > 18_000, "{keywords}");
    assert_eq!(lookup_word(""), TokenType::Bareword);
    assert_eq!(lookup_bytes(b"SEL\xffECT"), TokenType::Bareword);
    assert_eq!(lookup_bytes(&[b'A'; 100]), TokenType::Bareword);
    assert_eq!(lookup_word("uNiOn"), TokenType::Union);
}

/// The vendored port's packed fingerprint set (a speed patch) answers what the lookup of
/// `0` + the fingerprint in the keyword table answers: every blacklisted fingerprint in
/// any case, and every other string over the token-type alphabet of up to 7 bytes not.
#[test]
fn blacklist_set_matches_the_table() {
    use libinjectionrs::sqli::blacklist::{is_blacklisted, is_blacklisted_bytes};
    use libinjectionrs::sqli::sqli_data::{lookup_bytes, SQL_KEYWORDS};
    use libinjectionrs::sqli::TokenType;
    let by_table = |fp: &[u8]| {
        let mut word = vec![b'0'];
        word.extend_from_slice(fp);
        lookup_bytes(&word) == TokenType::Fingerprint
    };
    let mut blacklisted = 0;
    for k in SQL_KEYWORDS
        .iter()
        .filter(|k| k.word.starts_with('0') && k.token_type == b'F')
    {
        let fp = &k.word[1..];
        assert!(is_blacklisted(fp), "{fp}");
        assert!(is_blacklisted(&fp.to_ascii_lowercase()), "{fp}");
        blacklisted += 1;
    }
    assert!(blacklisted > 8_000, "{blacklisted}");
    // Every string of up to 4 bytes over the alphabet, and generated longer ones.
    let alphabet = b"kUBEtfn1vso&cA(){}.,:;TX?\\F";
    let mut checked = 0;
    let mut hits = 0;
    let mut check = |fp: &[u8]| {
        let want = by_table(fp);
        assert_eq!(
            is_blacklisted_bytes(fp),
            want,
            "{}",
            String::from_utf8_lossy(fp)
        );
        checked += 1;
        hits += usize::from(want);
    };
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(fp) = stack.pop() {
        check(&fp);
        if fp.len() < 4 {
            for &c in alphabet {
                let mut next = fp.clone();
                next.push(c);
                stack.push(next);
            }
        }
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 5 + (x % 5) as usize;
        let fp: Vec<u8> = (0..len)
            .map(|i| alphabet[((x >> (i * 6)) % alphabet.len() as u64) as usize])
            .collect();
        check(&fp);
    }
    assert!(
        checked > 700_000 && hits > 400,
        "{checked} checked, {hits} blacklisted"
    );
}

/// The upstream port's mapping of a table entry's type byte.
fn upstream_type(t: u8) -> libinjectionrs::sqli::TokenType {
    use libinjectionrs::sqli::TokenType;
    match t {
        b'k' => TokenType::Keyword,
        b'f' => TokenType::Function,
        b'U' => TokenType::Union,
        b'E' => TokenType::Expression,
        b'T' => TokenType::Tsql,
        b't' => TokenType::SqlType,
        b'o' => TokenType::Operator,
        b'&' => TokenType::LogicOperator,
        b'v' => TokenType::Variable,
        b'1' => TokenType::Number,
        b'A' => TokenType::Collate,
        b'B' => TokenType::Group,
        b'F' => TokenType::Fingerprint,
        _ => TokenType::Bareword,
    }
}

/// The vendored XSS detector's tag and attribute blacklists (a speed patch compares a
/// normalised name with each entry, where upstream compared byte by byte): every entry
/// still matches in any case and with NUL bytes inside, and near misses do not.
#[test]
fn xss_blacklists_match_in_any_case_and_through_nul_bytes() {
    let source = include_str!("../../../vendor/libinjectionrs/src/xss/blacklists.rs");
    let list = |start: &str| -> Vec<(String, String)> {
        let from = source.find(start).expect(start);
        let body = &source[from..from + source[from..].find("\n];").unwrap()];
        body.lines()
            .filter_map(|l| {
                let name = l.split('"').nth(1)?.to_owned();
                let kind = l
                    .split("AttributeType::")
                    .nth(1)
                    .map(|k| k.trim_end_matches([' ', '}', ',']).to_owned())
                    .unwrap_or_default();
                Some((name, kind))
            })
            .collect()
    };
    let events = list("pub const BLACK_ATTR_EVENTS");
    let attrs = list("pub const BLACK_ATTRS");
    let tags = list("pub const BLACK_TAGS");
    assert!(events.len() > 250 && attrs.len() > 15 && tags.len() > 10);
    // The forms of a name: as listed, lower case, mixed case, and with a NUL byte inside.
    let forms = |name: &str| -> Vec<Vec<u8>> {
        let lower = name.to_ascii_lowercase();
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        let mut nul = lower.clone().into_bytes();
        nul.insert(nul.len() / 2, 0);
        vec![
            name.as_bytes().to_vec(),
            lower.into_bytes(),
            mixed.into_bytes(),
            nul,
        ]
    };
    let xss = |parts: &[&[u8]]| rampart_waf::detect::is_xss(&parts.concat());
    for (event, kind) in &events {
        assert_eq!(kind, "Black", "{event}");
        for f in forms(event) {
            assert!(xss(&[b"<a on", &f, b"=x>"]), "on{}", show(&f));
        }
        // One letter more is no event handler.
        assert!(!xss(&[b"<a on", event.as_bytes(), b"QQ=x>"]), "on{event}QQ");
    }
    for (attr, kind) in &attrs {
        for f in forms(attr) {
            let flagged = match kind.as_str() {
                "Black" => xss(&[b"<a ", &f, b"=x>"]),
                "AttrUrl" => xss(&[b"<a ", &f, b"=\"javascript:alert(1)\">"]),
                "Style" => xss(&[b"<a ", &f, b"=\"x\">"]),
                "AttrIndirect" => xss(&[b"<a ", &f, b"=\"href\">"]),
                other => panic!("unknown attribute type {other} for {attr}"),
            };
            assert!(flagged, "{attr} ({kind}) as {}", show(&f));
        }
    }
    for (tag, _) in &tags {
        for f in forms(tag) {
            assert!(xss(&[b"<", &f, b">"]), "<{}>", show(&f));
        }
    }
    // Names no list has are not flagged; nor are names past every entry's length.
    for benign in [
        &b"<a title=x>"[..],
        b"<a on=x>",
        b"<a data-x=1>",
        b"<b>bold</b>",
    ] {
        assert!(!rampart_waf::detect::is_xss(benign), "{}", show(benign));
    }
    let long = [b"<a on".to_vec(), vec![b'c'; 200], b"=x>".to_vec()].concat();
    assert!(!rampart_waf::detect::is_xss(&long));
}

/// The vendored port rules out a two-word keyword ("UNION ALL", "NOT IN") from its length and
/// four bytes before it builds the pair (`pair_may_be_keyword`): it must let every entry of
/// the table through, split at any space and written in any case; take the same bytes from
/// the pair as from the joined pair, short sides (one byte, none) included; and rule out
/// most pairs that are no entry.
#[test]
fn keyword_pair_filter_admits_every_entry() {
    use libinjectionrs::sqli::sqli_data::{
        lookup_bytes, pair_key, pair_may_be_keyword, SQL_KEYWORDS,
    };
    use libinjectionrs::sqli::TokenType;
    let mut pairs = 0;
    let mut ruled_out = 0;
    for k in SQL_KEYWORDS {
        for w in [k.word.to_owned(), k.word.to_ascii_lowercase()] {
            for (i, _) in w.match_indices(' ') {
                let (a, b) = (&w.as_bytes()[..i], &w.as_bytes()[i + 1..]);
                assert!(pair_may_be_keyword(a, b), "{w:?} split at {i}");
                pairs += 1;
            }
            // A word of the table and a number make no entry, and are mostly ruled out.
            let other = format!("{w} {}", k.word.len());
            if lookup_bytes(other.as_bytes()) == TokenType::Bareword
                && !pair_may_be_keyword(w.as_bytes(), k.word.len().to_string().as_bytes())
            {
                ruled_out += 1;
            }
        }
    }
    assert!(pairs > 100, "{pairs}");
    // The filter is worth asking: most pairs that are no entry fail it.
    assert!(ruled_out > SQL_KEYWORDS.len(), "{ruled_out}");

    // The key of a word is its bytes 0, 1 (or 0), len - 2 (or 0) and len - 1; the pair's
    // must be the joined pair's, for sides of every short length.
    let sides = ["", "a", "I", "IS", "Or", "NOT", "union", "x_1"];
    for a in sides {
        for b in sides {
            let joined = format!("{a} {b}");
            let w = joined.as_bytes();
            let n = w.len();
            let key = [w[0], w[1.min(n - 1)], w[n.saturating_sub(2)], w[n - 1]];
            assert_eq!(pair_key(a.as_bytes(), b.as_bytes()), (n, key), "{joined:?}");
        }
    }
}
