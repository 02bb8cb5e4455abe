//! A regex statement whose last transformation is `LOWERCASE` matches the lowercased value;
//! its pattern is rewritten to one that matches the value itself exactly when the original
//! matches the lowercased value, and the transformation is dropped from the chain.
//!
//! Most values hold a capital letter (a name, a sentence, a `Mozilla/5.0` user agent), so
//! lowercasing copies nearly every value an inspection sees, and the chains it ends (URL,
//! JavaScript and HTML decoding, then `LOWERCASE`) otherwise change almost none: without it
//! the value is searched where it lies.
//!
//! The rewrite is exact because `LOWERCASE` maps each byte on its own (ASCII `A-Z` to
//! `a-z`, every other byte to itself): a pattern matches `lower(v)` at a place exactly when
//! the pattern with each byte set `S` replaced by its preimage `{b : lower(b) ∈ S}` matches
//! `v` there. A lower-case letter `x` of a literal becomes `[xX]`; a capital letter of a
//! literal can never be met (`lower` yields none) and becomes the empty class; a class
//! keeps its bytes that are no capital letter and gains the capital of each lower-case
//! letter it holds. Assertions look at line ends and word bytes, which `lower` keeps.

use regex_automata::util::syntax;
use regex_syntax::hir::{self, Class, ClassBytes, ClassBytesRange, Hir, HirKind};
use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// A rewritten pattern, in the mode it must be compiled in: the ASCII mode (`unicode(false)`)
/// if the original parses in it, as `compile::build_regex` tries first, the Unicode mode if not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folded {
    pub pattern: String,
    pub ascii: bool,
}

/// `pattern` rewritten to match `v` where it matches `lower(v)`; `None` if it does not parse,
/// or if the rewritten one does not parse in the same mode (the ASCII mode turns an
/// alternation of non-ASCII characters into a class it cannot print back): the statement
/// then keeps its `LOWERCASE`.
pub(crate) fn fold(pattern: &str) -> Option<Folded> {
    let ascii_mode = syntax::Config::new().unicode(false).utf8(false);
    let unicode_mode = syntax::Config::new().utf8(false);
    let (hir, ascii) = match syntax::parse_with(pattern, &ascii_mode) {
        Ok(h) => (h, true),
        Err(_) => (syntax::parse_with(pattern, &unicode_mode).ok()?, false),
    };
    let mut out = String::new();
    print(&preimage(&hir, ascii), &mut out).ok()?;
    let mode = if ascii { &ascii_mode } else { &unicode_mode };
    syntax::parse_with(&out, mode).ok()?;
    Some(Folded {
        pattern: out,
        ascii,
    })
}

/// `h` with every byte set replaced by its preimage under `lower`.
fn preimage(h: &Hir, ascii: bool) -> Hir {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => h.clone(),
        HirKind::Literal(lit) => literal(&lit.0, ascii),
        HirKind::Class(Class::Bytes(c)) => Hir::class(Class::Bytes(bytes_preimage(c))),
        HirKind::Class(Class::Unicode(c)) => Hir::class(Class::Unicode(unicode_preimage(c))),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            sub: Box::new(preimage(&r.sub, ascii)),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            sub: Box::new(preimage(&c.sub, ascii)),
            ..c.clone()
        }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(|h| preimage(h, ascii)).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(|h| preimage(h, ascii)).collect()),
    }
}

/// A literal's preimage: runs of bytes that are no letter stay literal (a UTF-8 sequence
/// holds no ASCII byte, so it stays whole); a lower-case letter becomes the class of it and
/// its capital; a capital makes the literal unmatchable.
fn literal(bytes: &[u8], ascii: bool) -> Hir {
    if bytes.iter().any(u8::is_ascii_uppercase) {
        return Hir::fail();
    }
    let mut parts = Vec::new();
    let mut run = Vec::new();
    for &b in bytes {
        if b.is_ascii_lowercase() {
            if !run.is_empty() {
                parts.push(Hir::literal(std::mem::take(&mut run)));
            }
            let upper = b.to_ascii_uppercase();
            parts.push(if ascii {
                Hir::class(Class::Bytes(ClassBytes::new([
                    ClassBytesRange::new(upper, upper),
                    ClassBytesRange::new(b, b),
                ])))
            } else {
                Hir::class(Class::Unicode(ClassUnicode::new([
                    ClassUnicodeRange::new(char::from(upper), char::from(upper)),
                    ClassUnicodeRange::new(char::from(b), char::from(b)),
                ])))
            });
        } else {
            run.push(b);
        }
    }
    if !run.is_empty() {
        parts.push(Hir::literal(run));
    }
    Hir::concat(parts)
}

/// Prints `h` as a pattern, as `regex_syntax`'s printer does, except that a run of letters
/// either case of which matches (`[uU][nN]...`, the preimage of a lower-case literal) and
/// ASCII bytes that are no letter print as one `(?i-u:union)`: the printer writes each such
/// class out in full, which made the patterns ten times longer and the regexes built from
/// them slow to parse. `-u`: ASCII case folding only (the Unicode mode's would add `K` for
/// `k`, the Kelvin sign).
fn print(h: &Hir, out: &mut String) -> std::fmt::Result {
    use std::fmt::Write;
    match h.kind() {
        HirKind::Concat(v) => {
            let mut i = 0;
            while i < v.len() {
                let run = v[i..].iter().take_while(|h| foldable(h).is_some()).count();
                if v[i..i + run]
                    .iter()
                    .any(|h| matches!(h.kind(), HirKind::Class(_)))
                {
                    out.push_str("(?i-u:");
                    for h in &v[i..i + run] {
                        for &b in foldable(h).unwrap_or_default() {
                            regex_syntax::escape_into(char::from(b).encode_utf8(&mut [0; 4]), out);
                        }
                    }
                    out.push(')');
                    i += run;
                } else {
                    print(&v[i], out)?;
                    i += 1;
                }
            }
            Ok(())
        }
        HirKind::Alternation(v) => {
            out.push_str("(?:");
            for (i, h) in v.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                print(h, out)?;
            }
            out.push(')');
            Ok(())
        }
        HirKind::Repetition(r) => {
            if matches!(r.sub.kind(), HirKind::Class(_)) && foldable(&r.sub).is_none() {
                print(&r.sub, out)?;
            } else {
                out.push_str("(?:");
                print(&r.sub, out)?;
                out.push(')');
            }
            match (r.min, r.max) {
                (0, Some(1)) => out.push('?'),
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (min, Some(max)) if max == min => write!(out, "{{{min}}}")?,
                (min, Some(max)) => write!(out, "{{{min},{max}}}")?,
                (min, None) => write!(out, "{{{min},}}")?,
            }
            if !r.greedy {
                out.push('?');
            }
            Ok(())
        }
        HirKind::Capture(c) => {
            out.push_str("(?:");
            print(&c.sub, out)?;
            out.push(')');
            Ok(())
        }
        HirKind::Class(_) if foldable(h).is_some() => {
            out.push_str("(?i-u:");
            for &b in foldable(h).unwrap_or_default() {
                out.push(char::from(b));
            }
            out.push(')');
            Ok(())
        }
        // A literal, a class, an assertion or the empty pattern: each prints as one item
        // of a concatenation.
        _ => hir::print::Printer::new().print(h, &mut *out),
    }
}

/// The bytes `h` stands for inside `(?i-u:...)`: a class of exactly a lower-case letter and
/// its capital (the letter), or a literal of ASCII bytes that are no letter (themselves).
fn foldable(h: &Hir) -> Option<&[u8]> {
    const LOWER: [u8; 26] = *b"abcdefghijklmnopqrstuvwxyz";
    match h.kind() {
        HirKind::Literal(l) if l.0.iter().all(|b| b.is_ascii() && !b.is_ascii_alphabetic()) => {
            Some(&l.0)
        }
        HirKind::Class(c) => {
            let pair = |lo: u32, hi: u32| {
                let (lo, hi) = (u8::try_from(lo).ok()?, u8::try_from(hi).ok()?);
                (lo.is_ascii_uppercase() && hi == lo.to_ascii_lowercase())
                    .then(|| &LOWER[usize::from(hi - b'a')..][..1])
            };
            match c {
                Class::Bytes(c) => match c.ranges() {
                    [a, b] if a.start() == a.end() && b.start() == b.end() => {
                        pair(u32::from(a.start()), u32::from(b.start()))
                    }
                    _ => None,
                },
                Class::Unicode(c) => match c.ranges() {
                    [a, b] if a.start() == a.end() && b.start() == b.end() => {
                        pair(u32::from(a.start()), u32::from(b.start()))
                    }
                    _ => None,
                },
            }
        }
        _ => None,
    }
}

fn bytes_preimage(c: &ClassBytes) -> ClassBytes {
    let mut member = [false; 256];
    for r in c.iter() {
        for b in r.start()..=r.end() {
            member[usize::from(b)] = true;
        }
    }
    let keep = |b: u8| member[usize::from(b.to_ascii_lowercase())];
    // The kept bytes as ranges of consecutive ones (a class of single bytes is slow to build).
    let mut ranges = Vec::new();
    let mut start: Option<u8> = None;
    for b in 0..=255u8 {
        match (keep(b), start) {
            (true, None) => start = Some(b),
            (false, Some(s)) => {
                ranges.push(ClassBytesRange::new(s, b - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push(ClassBytesRange::new(s, 255));
    }
    ClassBytes::new(ranges)
}

fn unicode_preimage(c: &ClassUnicode) -> ClassUnicode {
    let capitals = ClassUnicode::new([ClassUnicodeRange::new('A', 'Z')]);
    let mut lower_letters = c.clone();
    lower_letters.intersect(&ClassUnicode::new([ClassUnicodeRange::new('a', 'z')]));
    let mut out = c.clone();
    out.difference(&capitals);
    out.union(&ClassUnicode::new(lower_letters.iter().map(|r| {
        let up = |ch: char| ch.to_ascii_uppercase();
        ClassUnicodeRange::new(up(r.start()), up(r.end()))
    })));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use regex::bytes::RegexBuilder;

    fn build(f: &Folded) -> regex::bytes::Regex {
        RegexBuilder::new(&f.pattern)
            .unicode(!f.ascii)
            .build()
            .unwrap_or_else(|e| panic!("{:?}: {e}", f.pattern))
    }

    fn original(p: &str) -> (regex::bytes::Regex, bool) {
        match RegexBuilder::new(p).unicode(false).build() {
            Ok(re) => (re, true),
            Err(_) => (RegexBuilder::new(p).build().unwrap(), false),
        }
    }

    #[test]
    fn literals_and_classes() {
        let f = fold("(?-u)Union|select").unwrap();
        assert!(f.ascii);
        let re = build(&f);
        for (v, hit) in [
            (&b"SELECT"[..], true),
            (b"SeLeCt", true),
            (b"select", true),
            (b"UNION", false),
            (b"union", false),
        ] {
            assert_eq!(re.is_match(v), hit, "{}", v.escape_ascii());
        }
        // `[^a-z]` on the lowercased value: neither kind of letter.
        let re = build(&fold("^[^a-z]+$").unwrap());
        assert!(re.is_match(b"123-_"));
        assert!(!re.is_match(b"12A"));
        // `[A-Z]` can never match a lowercased value.
        assert!(!build(&fold("[A-Z]").unwrap()).is_match(b"ABCabc"));
        // A pattern only the Unicode mode accepts stays in it.
        let f = fold(r"\p{Greek}x").unwrap();
        assert!(!f.ascii);
        assert!(build(&f).is_match("αX".as_bytes()));
    }

    /// Strings of the attack and benign corpora (`bench/waf/corpus`): paths, header values
    /// and bodies, URL-decoded, so that the patterns meet what they are written for.
    fn corpus_values() -> Vec<Vec<u8>> {
        fn strings(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
            match v {
                serde_json::Value::String(s) => {
                    out.push(s.as_bytes().to_vec());
                    let decoded = crate::transform::apply_all(
                        &[crate::transform::TransformType::UrlDecodeUni],
                        s.as_bytes(),
                    );
                    out.push(decoded.into_owned());
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/waf/corpus");
        let mut out = Vec::new();
        for file in ["crs-regression-v3.3.4.jsonl", "benign-api.jsonl"] {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                for key in ["path", "headers", "body"] {
                    if let Some(x) = v.get(key) {
                        strings(x, &mut out);
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The rewritten pattern on `v` agrees with the original on `lower(v)`: the built-in
    /// groups' patterns and a few with capitals, classes and assertions, on the corpora's
    /// strings (as they are and capitalised at random) and on generated values.
    #[test]
    fn agrees_with_matching_the_lowercased_value() {
        let mut patterns = crate::managed::regex_patterns();
        let managed = patterns.len();
        assert!(managed > 50);
        patterns.extend(
            [
                r"(?i)abc",
                r"(?i:X)y",
                r"[[:upper:]]+",
                r"[[:alpha:]]{2}\b",
                r"\bselect\b",
                r"(?-u:\xC3)\x41",
                r"é|É|ß",
                r"(?m)^union$",
                r"[^\W\d]x",
                r"(?-u)[\x00-\x40\x5B-\xFF]z",
                r".A.",
                r"(?s).a.",
            ]
            .map(String::from),
        );
        let corpus = corpus_values();
        let mut rng = Rng(0x5eed_f01d);
        let mut matched = 0;
        let mut unfolded = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let (orig, ascii) = original(p);
            let Some(f) = fold(p) else {
                // Only patterns of our own list may stay unfolded, never a built-in one.
                assert!(i >= managed, "{p}");
                unfolded.push(p.clone());
                continue;
            };
            assert_eq!(f.ascii, ascii, "{p}");
            let folded = build(&f);
            let pieces: Vec<u8> = p
                .bytes()
                .chain(*b"aAzZ \n_-=<>'\"\\/().%&;0\xC3\x89\xFF")
                .collect();
            let mut values: Vec<Vec<u8>> = (0..150)
                .map(|_| corpus[rng.below(corpus.len() as u64) as usize].clone())
                .collect();
            for _ in 0..100 {
                let len = rng.below(40);
                values.push(
                    (0..len)
                        .map(|_| pieces[rng.below(pieces.len() as u64) as usize])
                        .collect(),
                );
            }
            for mut v in values {
                if rng.below(2) == 0 {
                    for b in v.iter_mut() {
                        if rng.below(2) == 0 {
                            *b = b.to_ascii_uppercase();
                        }
                    }
                }
                let want = orig.is_match(&v.to_ascii_lowercase());
                assert_eq!(
                    folded.is_match(&v),
                    want,
                    "pattern {p:?} value {}",
                    v.escape_ascii()
                );
                matched += usize::from(want);
            }
        }
        // The values meet the patterns often enough for the agreement to mean something.
        assert!(matched > 500, "{matched}");
        assert_eq!(unfolded, ["é|É|ß"]);
    }
}
