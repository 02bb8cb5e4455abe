//! Invariants over deterministic pseudo-random inputs.
#![allow(clippy::unwrap_used, clippy::panic)]

use rampart_normalize::{normalize, CanonicalPath, DuplicateSlashes, Options, Rejection};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Tokens chosen to hit the interesting cases often: separators, dots,
/// percent-triplets (valid, encoded dots/slashes, partial, UTF-8 pieces,
/// overlong forms), ';', backslash, NUL, controls, non-ASCII.
const ALPHABET: &[&str] = &[
    "/",
    "/",
    "/",
    ".",
    ".",
    "..",
    "%",
    "2",
    "e",
    "E",
    "f",
    "F",
    "a",
    "A",
    "c",
    "0",
    ";",
    "\\",
    "%2e",
    "%2E",
    "%2f",
    "%2F",
    "%5c",
    "%00",
    "%25",
    "%20",
    "%3b",
    "%3B",
    "%c3",
    "%a9",
    "%C3%A9",
    "%c0%ae",
    "%e0%80%ae",
    "%ed%a0%80",
    "%ff",
    "%0",
    "%g",
    "%7f",
    "%09",
    "+",
    "?",
    "#",
    " ",
    "é",
    "🐕",
    "\0",
    "\t",
    "x",
    "~",
    "@",
    ":",
];

fn random_path(rng: &mut Rng) -> String {
    let mut s = String::new();
    // mostly absolute
    if rng.below(16) != 0 {
        s.push('/');
    }
    let n = rng.below(12);
    for _ in 0..n {
        s.push_str(ALPHABET[rng.below(ALPHABET.len())]);
    }
    s
}

fn check_invariants(input: &str, opts: &Options, c: &CanonicalPath) {
    let s = c.as_str();
    assert!(s.starts_with('/'), "{input:?} -> {s:?}");
    assert!(!s.contains("//"), "{input:?} -> {s:?}");
    assert!(!s.contains('\\') && !s.contains('\0'), "{input:?} -> {s:?}");
    assert!(
        !s.bytes().any(|b| b < 0x20 || b == 0x7F),
        "{input:?} -> {s:?}"
    );
    for seg in s.split('/') {
        assert!(seg != "." && seg != "..", "{input:?} -> {s:?}");
    }
    assert!(std::str::from_utf8(s.as_bytes()).is_ok());
    assert!(c
        .segments()
        .all(|seg| !seg.is_empty() && !seg.contains('/')));
    assert_eq!(c.has_trailing_slash(), s.len() > 1 && s.ends_with('/'));
    // rebuilding from segments gives the same path
    let mut rebuilt = String::from("/");
    rebuilt.push_str(&c.segments().collect::<Vec<_>>().join("/"));
    if c.has_trailing_slash() {
        rebuilt.push('/');
    }
    assert_eq!(rebuilt, s);
    // idempotent through the upstream encoding, under both policies
    let uri = c.to_uri_path();
    assert!(uri.is_ascii());
    assert!(!uri.contains(';'));
    assert_eq!(
        normalize(&uri, opts).as_ref(),
        Ok(c),
        "{input:?} -> {uri:?}"
    );
    let reject = Options {
        duplicate_slashes: DuplicateSlashes::Reject,
    };
    assert_eq!(
        normalize(&uri, &reject).as_ref(),
        Ok(c),
        "{input:?} -> {uri:?}"
    );
    if !s.contains('%') {
        assert_eq!(normalize(s, opts).as_ref(), Ok(c), "{input:?}");
    }
}

#[test]
fn generated_inputs_keep_invariants() {
    let merge = Options::default();
    let reject = Options {
        duplicate_slashes: DuplicateSlashes::Reject,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ok = 0usize;
    let mut counts = std::collections::HashMap::<Rejection, usize>::new();
    for _ in 0..200_000 {
        let input = random_path(&mut rng);
        let m = normalize(&input, &merge);
        let r = normalize(&input, &reject);
        match (&m, &r) {
            (Ok(cm), Ok(cr)) => {
                assert_eq!(cm, cr);
                check_invariants(&input, &merge, cm);
                ok += 1;
            }
            (Ok(cm), Err(Rejection::DuplicateSlash)) => {
                check_invariants(&input, &merge, cm);
                ok += 1;
            }
            (Err(em), Err(er)) => {
                // the policy only changes the outcome of paths that are
                // otherwise acceptable
                assert_eq!(em, er, "{input:?}");
                *counts.entry(*em).or_default() += 1;
                if *em == Rejection::NotAbsolute {
                    assert!(!input.starts_with('/'));
                }
            }
            _ => panic!("{input:?}: merge {m:?}, reject {r:?}"),
        }
    }
    // The generator must actually exercise both outcomes and every rejection
    // reachable from its alphabet.
    assert!(ok > 10_000, "only {ok} accepted");
    for r in [
        Rejection::NotAbsolute,
        Rejection::InvalidPercentEncoding,
        Rejection::EncodedSlash,
        Rejection::Backslash,
        Rejection::Nul,
        Rejection::ControlCharacter,
        Rejection::InvalidUtf8,
    ] {
        assert!(
            counts.get(&r).copied().unwrap_or(0) > 100,
            "{r:?}: {counts:?}"
        );
    }
}

#[test]
fn generated_canonical_paths_round_trip() {
    // Generate canonical-looking decoded paths directly (arbitrary chars,
    // including '%', ';', spaces and non-ASCII) and check the encoding round
    // trip on each one that is canonical.
    const CHARS: &[char] = &[
        'a', 'Z', '0', '.', '%', ';', ' ', '?', '#', '+', '=', 'é', '€', '🐕', '[', '"', '^', '|',
        '~', '-', '_', '!', '*', '\'', '(', ')', ',', ':', '@', '$', '&',
    ];
    let opts = Options::default();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..50_000 {
        let mut s = String::new();
        for _ in 0..=rng.below(4) {
            s.push('/');
            for _ in 0..=rng.below(5) {
                s.push(CHARS[rng.below(CHARS.len())]);
            }
        }
        if rng.below(4) == 0 {
            s.push('/');
        }
        let canonical = s.split('/').all(|seg| seg != "." && seg != "..");
        if !canonical {
            continue;
        }
        // build the canonical value by encoding, then decode it again
        let mut uri = String::new();
        for (i, seg) in s.split('/').enumerate() {
            if i > 0 {
                uri.push('/');
            }
            rampart_normalize::encode_segment(seg, &mut uri);
        }
        let c = normalize(&uri, &opts).unwrap();
        assert_eq!(c.as_str(), s);
        assert_eq!(c.to_uri_path(), uri);
    }
}

/// A deliberately naive, multi-pass implementation of the documented rules,
/// written independently of the optimised single-pass one.
fn reference(raw: &str, opts: &Options) -> Result<String, Rejection> {
    // rule 1
    if !raw.starts_with('/') {
        return Err(Rejection::NotAbsolute);
    }
    // rule 2: decode into (byte, was_raw_slash) pairs
    let b = raw.as_bytes();
    let mut decoded: Vec<(u8, bool)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .filter(|h| h.len() == 2 && h.chars().all(|c| c.is_ascii_hexdigit()));
            let Some(h) = hex else {
                return Err(Rejection::InvalidPercentEncoding);
            };
            let v = u8::from_str_radix(h, 16).unwrap();
            if v == b'/' {
                return Err(Rejection::EncodedSlash);
            }
            decoded.push((v, false));
            i += 3;
        } else {
            decoded.push((b[i], b[i] == b'/'));
            i += 1;
        }
        let (v, _) = *decoded.last().unwrap();
        match v {
            b'\\' => return Err(Rejection::Backslash),
            0 => return Err(Rejection::Nul),
            1..=0x1F | 0x7F => return Err(Rejection::ControlCharacter),
            _ => {}
        }
    }
    // rule 3
    let bytes: Vec<u8> = decoded.iter().map(|&(v, _)| v).collect();
    let text = String::from_utf8(bytes).map_err(|_| Rejection::InvalidUtf8)?;
    // rule 4 (encoded slashes were refused, so every '/' is a raw one)
    let mut segs: Vec<&str> = text[1..].split('/').collect();
    let last = segs.pop().unwrap();
    if segs.iter().any(|s| s.is_empty()) {
        if opts.duplicate_slashes == DuplicateSlashes::Reject {
            return Err(Rejection::DuplicateSlash);
        }
        segs.retain(|s| !s.is_empty());
    }
    segs.push(last);
    // rule 5: RFC 3986 5.2.4 on a path of the form "/" + segs.join("/")
    let mut stack: Vec<&str> = Vec::new();
    let mut trailing = false;
    for (k, s) in segs.iter().enumerate() {
        let is_last = k + 1 == segs.len();
        match *s {
            "." => trailing = is_last,
            ".." => {
                stack.pop();
                trailing = is_last;
            }
            "" => trailing = is_last && !stack.is_empty(),
            s => {
                stack.push(s);
                trailing = false;
            }
        }
    }
    let mut out = String::from("/");
    out.push_str(&stack.join("/"));
    if trailing && !stack.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[test]
fn matches_naive_reference() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..100_000 {
        let input = random_path(&mut rng);
        for policy in [DuplicateSlashes::Merge, DuplicateSlashes::Reject] {
            let o = Options {
                duplicate_slashes: policy,
            };
            let fast = normalize(&input, &o).map(CanonicalPath::into_string);
            assert_eq!(fast, reference(&input, &o), "{input:?} ({policy:?})");
        }
    }
}
