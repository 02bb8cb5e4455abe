//! Compares two revisions of the vendored libinjection port (`libinjectionrs`, the working
//! tree's, and `libinjectionrs_old`, another revision's) input by input. Run by `run.sh`,
//! which puts the two side by side; see there.
//!
//! Usage: `libinjection-diff ROOT [MUTATIONS]`, ROOT being the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every string of a JSON document (keys too).
fn collect_json(v: &serde_json::Value, out: &mut BTreeSet<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => {
            out.insert(s.as_bytes().to_vec());
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_json(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.insert(k.as_bytes().to_vec());
            collect_json(x, out)
        }),
        _ => {}
    }
}

/// `%XX` and `+` decoded (a malformed escape is kept as it is).
fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if s[i] == b'+' { b' ' } else { s[i] });
        i += 1;
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, files)
            } else {
                files.push(p)
            }
        }
    }
}

/// xorshift64: the same mutations on every run.
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

/// What mutations insert: SQL's punctuation, comments, quotes, keywords and odd bytes.
const PIECES: &[&[u8]] = &[
    b"'",
    b"\"",
    b"`",
    b"#",
    b"--",
    b"-",
    b"/*",
    b"*/",
    b"/*!",
    b"(",
    b")",
    b";",
    b",",
    b".",
    b"@",
    b"@@",
    b"$",
    b":",
    b"::",
    b"\\",
    b" ",
    b"  ",
    b"\t",
    b"\n",
    b"\r",
    b"1",
    b"0x1f",
    b"1e5",
    b".5",
    b"union",
    b"select",
    b"or",
    b"and",
    b"OR",
    b"1=1",
    b"=",
    b"<>",
    b"!",
    b"||",
    b"&&",
    b"is",
    b"not",
    b"null",
    b"in",
    b"like",
    b"case",
    b"when",
    b"collate",
    b"utf8_bin",
    b"{",
    b"}",
    b"[",
    b"]",
    b"N'",
    b"X'",
    b"b'",
    b"q'[",
    b"$$",
    b"%",
    b"+",
    b"*",
    b"~",
    b"^",
    b"|",
    b"&",
    b"sleep",
    b"user",
    b"from",
    b"where",
    b"into",
    b"end",
    b"varchar",
    b"\x00",
    b"\xff",
    b"\xc3\xa1",
    b"e",
    b"a",
    b"x",
    b"_",
];

/// The six contexts: quote none, single, double, each in the ANSI and MySQL dialects.
const FLAGS: [u32; 6] = [1 | 8, 1 | 16, 2 | 8, 2 | 16, 4 | 8, 4 | 16];

/// One context's outcome, every field the wrapper or a test reads.
fn run_new(state: &mut libinjectionrs::SqliState<'_>) -> String {
    let hit = state.is_sqli();
    let tokens: Vec<String> = state.tokens().iter().map(|t| format!("{t:?}")).collect();
    format!(
        "{hit} {:?} {} {} {} {} {} {tokens:?}",
        state.fingerprint,
        state.stats_comment_ddw,
        state.stats_comment_ddx,
        state.stats_comment_c,
        state.stats_comment_hash,
        state.stats_tokens
    )
}

fn run_old(state: &mut libinjectionrs_old::SqliState<'_>) -> String {
    let hit = state.is_sqli();
    let tokens: Vec<String> = state.tokens().iter().map(|t| format!("{t:?}")).collect();
    format!(
        "{hit} {:?} {} {} {} {} {} {tokens:?}",
        state.fingerprint,
        state.stats_comment_ddw,
        state.stats_comment_ddx,
        state.stats_comment_c,
        state.stats_comment_hash,
        state.stats_tokens
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(
        args.get(1)
            .expect("usage: libinjection-diff ROOT [MUTATIONS]"),
    );
    let mutations: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300_000);

    let mut set = BTreeSet::new();
    let mut files = Vec::new();
    walk(
        &root.join("crates/rampart-waf/tests/data/libinjection"),
        &mut files,
    );
    walk(&root.join("bench/waf/corpus"), &mut files);
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let json_lines = f.extension().is_some_and(|e| e == "jsonl");
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if !json_lines {
                set.insert(line.to_vec());
                set.insert(url_decode(line));
                continue;
            }
            // A request of the CRS regression or benign corpus: its strings, decoded and
            // split at `&`, `=` and `?` too.
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let mut strings = BTreeSet::new();
            collect_json(&v, &mut strings);
            for s in strings {
                for part in s.split(|&b| b == b'&' || b == b'=' || b == b'?') {
                    set.insert(url_decode(part));
                }
                set.insert(url_decode(&s));
                set.insert(s);
            }
        }
    }
    // The WAF benchmark's free text and identifiers.
    for s in [
        &b"Rock 'n' roll T-shirt size 3"[..],
        b"Gift wrap, please. Deliver to O'Brien at the back door; call 555-0103 first.",
        b"Siobh\xc3\xa1n O'Brien",
        b"12 Union Street",
        b"siobhan.obrien@example.com",
        b"2026-11-21T10:15:00Z",
        b"SKU-00001",
        b"7d9c2f1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f",
        b"en-IE,en;q=0.9",
    ] {
        set.insert(s.to_vec());
    }
    let base: Vec<Vec<u8>> = set.into_iter().filter(|v| v.len() <= 4096).collect();
    assert!(
        base.len() > 1000,
        "the corpora were not found under {root:?}"
    );

    let mut inputs = base.clone();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..mutations {
        let mut v = base[rng.below(base.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(v.len() + 1);
            match rng.below(4) {
                0 | 1 => {
                    let p = PIECES[rng.below(PIECES.len())];
                    v.splice(at..at, p.iter().copied());
                }
                2 if at < v.len() => {
                    let end = (at + 1 + rng.below(4)).min(v.len());
                    v.drain(at..end);
                }
                3 if at < v.len() => v[at] = PIECES[rng.below(PIECES.len())][0],
                _ => {}
            }
        }
        if v.len() > 200 && rng.below(2) == 0 {
            let start = rng.below(v.len() - 100);
            v = v[start..start + 100].to_vec();
        }
        inputs.push(v);
    }

    let mut diffs = 0usize;
    let mut hits = 0usize;
    let mut report = |what: &str, f: u32, input: &[u8], old: &str, new: &str| {
        diffs += 1;
        if diffs <= 10 {
            eprintln!(
                "{what} flags={f} input={:?}\n  old {old}\n  new {new}",
                String::from_utf8_lossy(input)
            );
        }
    };
    for input in &inputs {
        for &f in &FLAGS {
            let old = run_old(&mut libinjectionrs_old::SqliState::new(
                input,
                libinjectionrs_old::SqliFlags::new(f),
            ));
            let new = run_new(&mut libinjectionrs::SqliState::new(
                input,
                libinjectionrs::SqliFlags::new(f),
            ));
            hits += usize::from(old.starts_with("true"));
            if old != new {
                report("DIFF", f, input, &old, &new);
            }
        }
        // One state reset from context to context, as Rampart's wrapper uses it.
        let mut a =
            libinjectionrs_old::SqliState::new(input, libinjectionrs_old::SqliFlags::new(9));
        let mut b = libinjectionrs::SqliState::new(input, libinjectionrs::SqliFlags::new(9));
        for &f in FLAGS.iter().rev() {
            a.reset_for(input, libinjectionrs_old::SqliFlags::new(f));
            b.reset_for(input, libinjectionrs::SqliFlags::new(f));
            let (old, new) = (run_old(&mut a), run_new(&mut b));
            if old != new {
                report("DIFF after reset", f, input, &old, &new);
            }
        }
    }
    println!(
        "{} inputs ({} from the corpora, {mutations} mutations), {} contexts, {hits} of them SQLi: {diffs} differences",
        inputs.len(),
        base.len(),
        inputs.len() * FLAGS.len()
    );
    if diffs > 0 {
        std::process::exit(1);
    }
}
