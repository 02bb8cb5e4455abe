//! What every match of a pattern must hold: a set of bytes and of byte pairs (two adjacent
//! bytes) of which any match holds at least one, computed from the pattern's syntax. A value
//! that holds none of them cannot match, and is answered without a search
//! ([`crate::lazy::Lazy`]).
//!
//! For `[\r\n]\s*(?:set-cookie|location)` that is `\r` or `\n`; for a list of SQL words it
//! is one rare pair from each (`_s` of `information_schema`, `xp` of `xp_cmdshell`). Of the
//! parts of a concatenation, every one's requirement would do, and the lightest is kept: the
//! one ordinary values (JSON keys and values, headers) are expected to meet least often
//! ([`byte_weight`]). An alternation needs one of each branch's. A pair is two adjacent
//! bytes of a literal, or the last byte of one part and the first of the next when both
//! always consume input (`\s+` before `by` gives the pairs of a space and `b`).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Bytes and pairs of bytes of which every match holds at least one, as built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    bytes: [bool; 256],
    /// Sorted and without repeats: `first << 8 | second`.
    pairs: Vec<u16>,
}

/// Above this weight a requirement is met by almost every value (a class of letters, the
/// space): not worth checking before a search. Set above the 140k of the SQL injection
/// extended patterns as the body rule asks them (case-folded for its final `LOWERCASE`, so
/// each pair of their words comes in four forms): checked, they spare most JSON items a
/// search of their 4.7 KB pattern's DFA (`rule_costs`: 352.4k instructions per evaluation
/// at 120k, 345.9k here; no further gain up to 400k).
const MAX_WEIGHT: u32 = 160_000;

/// A pair set larger than this is never the lightest candidate worth keeping.
const MAX_PAIRS: usize = 4096;

impl Requirement {
    fn byte_class(class: &[bool; 256]) -> Requirement {
        Requirement {
            bytes: *class,
            pairs: Vec::new(),
        }
    }

    fn pairs(first: &[bool; 256], second: &[bool; 256]) -> Option<Requirement> {
        let firsts: Vec<u8> = (0..=255u8).filter(|&b| first[usize::from(b)]).collect();
        let seconds: Vec<u8> = (0..=255u8).filter(|&b| second[usize::from(b)]).collect();
        if firsts.len() * seconds.len() > MAX_PAIRS {
            return None;
        }
        let mut pairs = Vec::with_capacity(firsts.len() * seconds.len());
        for &a in &firsts {
            for &b in &seconds {
                pairs.push(u16::from(a) << 8 | u16::from(b));
            }
        }
        Some(Requirement {
            bytes: [false; 256],
            pairs,
        })
    }

    fn union(mut self, other: &Requirement) -> Requirement {
        for (o, &b) in self.bytes.iter_mut().zip(other.bytes.iter()) {
            *o |= b;
        }
        self.pairs.extend_from_slice(&other.pairs);
        self.pairs.sort_unstable();
        self.pairs.dedup();
        self
    }

    /// How often ordinary values are expected to meet the requirement, in thousandths of a
    /// hit per byte: each byte's [`byte_weight`], each pair's the product of its bytes'.
    pub(crate) fn weight(&self) -> u32 {
        let bytes: u32 = (0..=255u8)
            .filter(|&b| self.bytes[usize::from(b)])
            .map(|b| byte_weight(b) * 1000)
            .sum();
        let pairs: u32 = self
            .pairs
            .iter()
            .map(|&p| byte_weight((p >> 8) as u8) * byte_weight(p as u8))
            .sum();
        bytes.saturating_add(pairs)
    }

    /// The requirement in the form searches check, if it is worth checking.
    pub(crate) fn compile(self) -> Option<Required> {
        if self.weight() >= MAX_WEIGHT {
            return None;
        }
        // A pair is met when it is one of the pairs or its second byte is one of the bytes:
        // one bit test per byte after the first.
        let pairs = (!self.pairs.is_empty()).then(|| {
            let mut bits = Box::new([0u64; 1024]);
            for &p in &self.pairs {
                bits[usize::from(p >> 6)] |= 1 << (p & 63);
            }
            for (second, _) in self.bytes.iter().enumerate().filter(|(_, &b)| b) {
                for first in 0..256 {
                    let p = first << 8 | second;
                    bits[p >> 6] |= 1 << (p & 63);
                }
            }
            bits
        });
        // The bytes a hit starts at: the required bytes and the pairs' first bytes. When
        // there are at most three, `memchr` finds them far faster than the table walks.
        let mut starts: Vec<u8> = (0..=255u8)
            .filter(|&b| self.bytes[usize::from(b)])
            .chain(self.pairs.iter().map(|&p| (p >> 8) as u8))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let anchors = match starts[..] {
            [a] => Some(Anchors::One(a)),
            [a, b] => Some(Anchors::Two(a, b)),
            [a, b, c] => Some(Anchors::Three(a, b, c)),
            _ => None,
        };
        Some(Required {
            bytes: self.bytes,
            pairs,
            anchors,
        })
    }
}

/// The bytes every hit of a requirement starts at, when they are few.
#[derive(Debug, Clone, Copy)]
enum Anchors {
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
}

/// Below this length a value is walked byte by byte even when the requirement has
/// [`Anchors`]: `memchr`'s setup costs more than the walk.
const ANCHORED_MIN: usize = 32;

/// A [`Requirement`] as a byte table and a bit per pair (set too for every pair whose
/// second byte is in the table).
#[derive(Debug, Clone)]
pub(crate) struct Required {
    bytes: [bool; 256],
    pairs: Option<Box<[u64; 1024]>>,
    anchors: Option<Anchors>,
}

impl Required {
    /// Whether `v` holds a required byte or pair: false means no match is possible.
    pub(crate) fn met_by(&self, v: &[u8]) -> bool {
        match self.anchors {
            Some(anchors) if v.len() >= ANCHORED_MIN => self.met_at_anchors(v, anchors),
            _ => self.met_by_walk(v),
        }
    }

    /// [`met_by`](Self::met_by) from the positions of the anchor bytes only: a required byte
    /// is an anchor, and so is the first byte of every required pair.
    fn met_at_anchors(&self, v: &[u8], anchors: Anchors) -> bool {
        let hit = |i: usize| {
            let b = v[i];
            self.bytes[usize::from(b)]
                || self.pairs.as_ref().is_some_and(|pairs| {
                    v.get(i + 1).is_some_and(|&next| {
                        let p = usize::from(b) << 8 | usize::from(next);
                        pairs[p >> 6] >> (p & 63) & 1 == 1
                    })
                })
        };
        match anchors {
            Anchors::One(a) => memchr::memchr_iter(a, v).any(hit),
            Anchors::Two(a, b) => memchr::memchr2_iter(a, b, v).any(hit),
            Anchors::Three(a, b, c) => memchr::memchr3_iter(a, b, c, v).any(hit),
        }
    }

    /// [`met_by`](Self::met_by) by a walk over every byte.
    fn met_by_walk(&self, v: &[u8]) -> bool {
        let Some(pairs) = &self.pairs else {
            return v.iter().any(|&b| self.bytes[usize::from(b)]);
        };
        let Some((&head, rest)) = v.split_first() else {
            return false;
        };
        if self.bytes[usize::from(head)] {
            return true;
        }
        let mut prev = usize::from(head) << 8;
        for &b in rest {
            let p = prev | usize::from(b);
            if pairs[p >> 6] >> (p & 63) & 1 == 1 {
                return true;
            }
            prev = usize::from(b) << 8;
        }
        false
    }
}

/// A rough frequency of `b` in the values of JSON APIs and headers (per thousand bytes), to
/// choose, among the parts every match needs, the one values hold least often.
fn byte_weight(b: u8) -> u32 {
    match b {
        b' ' => 150,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 70,
        b'a'..=b'z' => 25,
        b'0'..=b'9' => 30,
        b'A'..=b'Z' => 12,
        b'-' | b'.' | b'_' | b',' => 10,
        b':' | b'/' | b'\'' | b'@' | b'=' | b';' | b'(' | b')' | b'+' | b'"' => 4,
        0x80..=0xff => 2,
        0x21..=0x7e => 2,
        _ => 1,
    }
}

/// The requirement of a set of patterns: a match of any of them meets it. `None` if some
/// pattern has none (see [`requirement`]).
pub(crate) fn of_patterns(hirs: &[Hir]) -> Option<Requirement> {
    hirs.iter()
        .map(requirement)
        .reduce(|a, b| Some(a?.union(&b?)))
        .flatten()
}

/// Bytes and pairs of which every match of `hir` holds at least one; `None` if `hir` can
/// match without consuming a byte (the empty string, an assertion) or nothing narrower is
/// known.
pub(crate) fn requirement(hir: &Hir) -> Option<Requirement> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(lit) => {
            let bytes = &lit.0;
            let single = bytes.iter().map(|&b| {
                let mut class = [false; 256];
                class[usize::from(b)] = true;
                Requirement::byte_class(&class)
            });
            let pairs = bytes.windows(2).map(|w| Requirement {
                bytes: [false; 256],
                pairs: vec![u16::from(w[0]) << 8 | u16::from(w[1])],
            });
            single.chain(pairs).min_by_key(Requirement::weight)
        }
        HirKind::Class(_) => byte_set(hir).map(|set| Requirement::byte_class(&set)),
        HirKind::Repetition(rep) if rep.min >= 1 => requirement(&rep.sub),
        HirKind::Repetition(_) => None,
        HirKind::Capture(cap) => requirement(&cap.sub),
        HirKind::Concat(parts) => {
            let mut candidates: Vec<Requirement> = parts.iter().filter_map(requirement).collect();
            // Pairs across adjacent parts that both always consume input (assertions in
            // between consume nothing, so they are passed over).
            let consuming: Vec<&Hir> = parts
                .iter()
                .filter(|p| !matches!(p.kind(), HirKind::Look(_)))
                .collect();
            for w in consuming.windows(2) {
                if let (Some(last), Some(first)) = (edge(w[0], Edge::Last), edge(w[1], Edge::First))
                {
                    candidates.extend(Requirement::pairs(&last, &first));
                }
            }
            candidates.into_iter().min_by_key(Requirement::weight)
        }
        HirKind::Alternation(branches) => branches
            .iter()
            .map(requirement)
            .reduce(|a, b| Some(a?.union(&b?)))
            .flatten(),
    }
}

/// The bytes a byte class matches (`None` for a Unicode class: patterns are compiled
/// without Unicode mode, so one is not narrowed).
fn byte_set(hir: &Hir) -> Option<[bool; 256]> {
    let HirKind::Class(Class::Bytes(class)) = hir.kind() else {
        return None;
    };
    let mut set = [false; 256];
    for r in class.ranges() {
        for b in r.start()..=r.end() {
            set[usize::from(b)] = true;
        }
    }
    Some(set)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    First,
    Last,
}

/// The bytes a match of `hir` can start (or end) with, when every match consumes at least
/// one byte and that set is known; `None` otherwise.
fn edge(hir: &Hir, which: Edge) -> Option<[bool; 256]> {
    if hir.properties().minimum_len().is_none_or(|n| n == 0) {
        return None;
    }
    match hir.kind() {
        HirKind::Literal(lit) => {
            let b = match which {
                Edge::First => lit.0.first(),
                Edge::Last => lit.0.last(),
            }?;
            let mut set = [false; 256];
            set[usize::from(*b)] = true;
            Some(set)
        }
        HirKind::Class(_) => byte_set(hir),
        HirKind::Repetition(rep) => edge(&rep.sub, which),
        HirKind::Capture(cap) => edge(&cap.sub, which),
        HirKind::Alternation(branches) => {
            let mut set = [false; 256];
            for b in branches {
                for (s, e) in set.iter_mut().zip(edge(b, which)?.iter()) {
                    *s |= e;
                }
            }
            Some(set)
        }
        HirKind::Concat(parts) => {
            // The outermost part decides, if it always consumes input; assertions before
            // it are passed over.
            let mut consuming = parts
                .iter()
                .filter(|p| !matches!(p.kind(), HirKind::Look(_)));
            let outer = match which {
                Edge::First => consuming.next(),
                Edge::Last => consuming.next_back(),
            }?;
            edge(outer, which)
        }
        HirKind::Empty | HirKind::Look(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use regex_automata::util::syntax;

    fn hir(pattern: &str) -> Hir {
        syntax::parse_with(pattern, &syntax::Config::new().unicode(false).utf8(false)).unwrap()
    }

    /// The requirement as text: the bytes, then the pairs.
    fn required(pattern: &str) -> Option<String> {
        requirement(&hir(pattern)).map(|r| {
            let bytes: String = (0..=255u8)
                .filter(|&b| r.bytes[usize::from(b)])
                .map(char::from)
                .collect();
            let pairs: Vec<String> = r
                .pairs
                .iter()
                .map(|&p| format!("{}{}", char::from((p >> 8) as u8), char::from(p as u8)))
                .collect();
            format!("{bytes}|{}", pairs.join(" "))
        })
    }

    #[test]
    fn the_lightest_part_of_what_every_match_holds() {
        // The rarest pair of a literal, or of adjacent parts.
        assert_eq!(required("union").as_deref(), Some("|un"));
        assert_eq!(required("xp_cmdshell").as_deref(), Some("|p_"));
        assert_eq!(required("a+;b").as_deref(), Some("|;b"));
        assert_eq!(required("x{2,}[<>]").as_deref(), Some("|x< x>"));
        // One from each branch of an alternation; a rare class alone.
        assert_eq!(required("ab/|cd'|e=").as_deref(), Some("|b/ d' e="));
        assert_eq!(required("(?i)s").as_deref(), Some("Ss|"));
        // Pairs across parts that always consume input, through repetitions and assertions.
        assert_eq!(required("[xy]+\\b[kq]").as_deref(), Some("|xk xq yk yq"));
        // Nothing when a match can be empty or a branch needs no byte.
        assert_eq!(required("a*"), None);
        assert_eq!(required("^$"), None);
        assert_eq!(required("a|b?"), None);
        assert_eq!(required("(?:^|x)"), None);
        // No pairs across a part that may be empty.
        assert_eq!(required("[xy]z?[kq]").as_deref(), Some("xy|"));
        // A class that matches no byte: nothing matches, so nothing is needed.
        assert_eq!(required("a[^\\x00-\\xff]").as_deref(), Some("|"));
    }

    #[test]
    fn values_without_a_required_byte_or_pair_are_not_met() {
        let r = requirement(&hir("(?:union|xp_cmd)|[;']"))
            .unwrap()
            .compile()
            .unwrap();
        // A required byte first, inside or last (after the first byte, a byte is met through
        // the bits of the pairs it ends).
        for v in [&b"union"[..], b"xp_", b"a;b", b"'", b";x", b"xy'", b"sunny"] {
            assert!(r.met_by(v), "{:?}", String::from_utf8_lossy(v));
        }
        for v in [&b"nuts"[..], b"x_p", b"", b"u", b"n u", b"customer"] {
            assert!(!r.met_by(v), "{:?}", String::from_utf8_lossy(v));
        }
    }

    /// The search from anchor bytes answers as the walk over every byte, on requirements
    /// with one, two and three anchors (bytes, pairs, both) and long generated values that
    /// hold anchors, pairs' halves and required bytes in every position.
    #[test]
    fn anchored_search_agrees_with_the_walk() {
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut below = |n: u64| rng.below(n);
        let mut anchored = 0;
        for pattern in [
            "\\r",
            "[\\r\\n]\\s*x",
            "union|unhex",
            "xp_cmd|_s",
            "(?:ab|ac)|;",
            "(?i)ab",
            "\\.\\./|%2e",
        ] {
            let r = requirement(&hir(pattern)).unwrap().compile().unwrap();
            let Some(anchors) = r.anchors else { continue };
            anchored += 1;
            let alphabet = b"\r\nxabcunp_s;.%2e/ AB";
            let (mut met, mut unmet) = (0, 0);
            for _ in 0..20_000 {
                let len = ANCHORED_MIN + below(200) as usize;
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        // Mostly bytes that are no anchor, so that both answers occur.
                        if below(3) == 0 {
                            alphabet[below(alphabet.len() as u64) as usize]
                        } else {
                            b"klmqrtvwyz"[below(10) as usize]
                        }
                    })
                    .collect();
                let want = r.met_by_walk(&v);
                assert_eq!(
                    r.met_at_anchors(&v, anchors),
                    want,
                    "{pattern} on {}",
                    v.escape_ascii()
                );
                assert_eq!(r.met_by(&v), want);
                if want {
                    met += 1;
                } else {
                    unmet += 1;
                }
            }
            assert!(
                met > 100 && unmet > 100,
                "{pattern}: {met} met, {unmet} not"
            );
        }
        assert!(anchored >= 5, "only {anchored} requirements had anchors");
    }
}
