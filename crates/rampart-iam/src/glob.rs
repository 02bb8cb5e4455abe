//! Wildcard patterns: `*` (any run of characters, possibly empty) and `?` (exactly one
//! character), as IAM uses them in actions, resources and `StringLike` / `ArnLike`.
//!
//! A pattern is a list of segments, so a `*` that came from a policy variable escape
//! (`${*}`) or from a substituted value is a literal character, never a wildcard.

use std::sync::Arc;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Lit(String),
    /// `*`
    Star,
    /// `?`
    One,
}

/// A compiled pattern, with fast forms for the common shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Glob {
    /// `*`
    Any,
    /// No wildcard.
    Exact(String),
    /// `prefix*`
    Prefix(String),
    General(Vec<Seg>),
}

/// Split text into segments: `*` and `?` are wildcards, everything else literal.
pub fn segments(text: &str, out: &mut Vec<Seg>) {
    let mut lit = String::new();
    for c in text.chars() {
        match c {
            '*' | '?' => {
                if !lit.is_empty() {
                    push_lit(out, std::mem::take(&mut lit));
                }
                out.push(if c == '*' { Seg::Star } else { Seg::One });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        push_lit(out, lit);
    }
}

/// Append literal text, merging with a literal before it.
pub fn push_lit(out: &mut Vec<Seg>, s: String) {
    if let Some(Seg::Lit(prev)) = out.last_mut() {
        prev.push_str(&s);
    } else if !s.is_empty() {
        out.push(Seg::Lit(s));
    }
}

impl Glob {
    /// Compile wildcard text.
    pub fn new(text: &str) -> Glob {
        let mut segs = Vec::new();
        segments(text, &mut segs);
        Glob::from_segs(segs)
    }

    /// Compile ready-made segments.
    pub fn from_segs(mut segs: Vec<Seg>) -> Glob {
        // `**` is `*`.
        segs.dedup_by(|a, b| *a == Seg::Star && *b == Seg::Star);
        match segs.as_slice() {
            [] => Glob::Exact(String::new()),
            [Seg::Star] => Glob::Any,
            [Seg::Lit(s)] => Glob::Exact(s.clone()),
            [Seg::Lit(s), Seg::Star] => Glob::Prefix(s.clone()),
            _ => Glob::General(segs),
        }
    }

    /// The literal text every match starts with.
    pub fn literal_prefix(&self) -> &str {
        match self {
            Glob::Any => "",
            Glob::Exact(s) | Glob::Prefix(s) => s,
            Glob::General(segs) => match segs.first() {
                Some(Seg::Lit(s)) => s,
                _ => "",
            },
        }
    }

    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(p) => p == s,
            Glob::Prefix(p) => s.starts_with(p.as_str()),
            Glob::General(segs) => match_segs(segs, s),
        }
    }
}

/// Wildcard match of `s` against `segs` (greedy with backtracking to the last `*`, which
/// is exact for patterns made of `*`, `?` and literals).
pub fn match_segs(segs: &[Seg], s: &str) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < segs.len() {
            match &segs[pi] {
                Seg::Star => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                Seg::Lit(l) => {
                    if s[si..].starts_with(l.as_str()) {
                        pi += 1;
                        si += l.len();
                        continue;
                    }
                }
                Seg::One => {
                    if let Some(c) = s[si..].chars().next() {
                        pi += 1;
                        si += c.len_utf8();
                        continue;
                    }
                }
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last `*` take more characters: up to the next place where the
        // literal after it occurs, or one character.
        let Some((sp, ss)) = star else {
            return false;
        };
        let Some(c) = s[ss..].chars().next() else {
            return false;
        };
        let from = ss + c.len_utf8();
        let next = match segs.get(sp + 1) {
            Some(Seg::Lit(l)) => match find_lit(&s[from..], l) {
                Some(off) => from + off,
                None => return false,
            },
            _ => from,
        };
        star = Some((sp, next));
        pi = sp + 1;
        si = next;
    }
}

/// Which interned head was last compared with the ARN under evaluation, and the result.
#[derive(Debug, Default)]
pub struct HeadCache {
    last: Option<(usize, bool)>,
}

/// Where `lit` (not empty) first occurs in `hay`. Cheaper than `str::find` for the short
/// literals of patterns; a match on a UTF-8 leading byte is always at a char boundary.
fn find_lit(hay: &str, lit: &str) -> Option<usize> {
    let (h, l) = (hay.as_bytes(), lit.as_bytes());
    let first = *l.first()?;
    let mut i = 0;
    while i + l.len() <= h.len() {
        let j = i + h[i..].iter().position(|&b| b == first)?;
        if h[j..].starts_with(l) {
            return Some(j);
        }
        i = j + 1;
    }
    None
}

/// An ARN pattern: matched segment by segment (the six colon-separated parts), so a `*`
/// in the region never spans into the account. The last part of the pattern takes the
/// rest of the ARN, colons included: in the resource part `*` crosses `/` and `:`, and
/// a short pattern such as `arn:aws:execute-api:*` covers every execute-api ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnGlob {
    parts: Vec<Glob>,
    /// When every part but the last is literal (the usual case): those parts joined with
    /// their colons, so matching is a prefix comparison and one glob.
    head: Option<Arc<str>>,
}

impl ArnGlob {
    pub fn new(text: &str) -> ArnGlob {
        ArnGlob::from_parts(text.splitn(6, ':').map(Glob::new).collect())
    }

    fn from_parts(parts: Vec<Glob>) -> ArnGlob {
        let n = parts.len();
        let mut head = Some(String::new());
        for p in &parts[..n.saturating_sub(1)] {
            match (p, head.as_mut()) {
                (Glob::Exact(s), Some(h)) => {
                    h.push_str(s);
                    h.push(':');
                }
                _ => head = None,
            }
        }
        ArnGlob {
            parts,
            head: head.map(Arc::from),
        }
    }

    /// From pattern segments (after variable substitution): split on literal colons.
    pub fn from_segs(segs: Vec<Seg>) -> ArnGlob {
        let mut parts: Vec<Vec<Seg>> = vec![Vec::new()];
        for seg in segs {
            match seg {
                Seg::Lit(l) => {
                    let room = 7 - parts.len();
                    let mut pieces = l.splitn(room.max(1), ':');
                    if let (Some(first), Some(last)) = (pieces.next(), parts.last_mut()) {
                        push_lit(last, first.to_string());
                    }
                    for p in pieces {
                        let mut v = Vec::new();
                        push_lit(&mut v, p.to_string());
                        parts.push(v);
                    }
                }
                other => {
                    if let Some(last) = parts.last_mut() {
                        last.push(other);
                    }
                }
            }
        }
        ArnGlob::from_parts(parts.into_iter().map(Glob::from_segs).collect())
    }

    /// Share equal literal heads between patterns (see [`HeadCache`]).
    pub fn intern_head(&mut self, pool: &mut std::collections::HashMap<Arc<str>, Arc<str>>) {
        if let Some(h) = &self.head {
            let shared = pool.entry(h.clone()).or_insert_with(|| h.clone()).clone();
            self.head = Some(shared);
        }
    }

    /// [`ArnGlob::is_match`], remembering whether `arn` starts with a shared head: the
    /// statements of a policy set mostly share one (`arn:aws:execute-api:REGION:ACCOUNT:`),
    /// and one comparison then serves them all. One cache per ARN.
    pub fn is_match_cached(&self, arn: &str, cache: &mut HeadCache) -> bool {
        if let (Some(head), Some(last)) = (&self.head, self.parts.last()) {
            let id = Arc::as_ptr(head) as *const u8 as usize;
            let starts = match cache.last {
                Some((k, ok)) if k == id => ok,
                _ => {
                    let ok = arn.starts_with(&**head);
                    cache.last = Some((id, ok));
                    ok
                }
            };
            return starts && last.is_match(&arn[head.len()..]);
        }
        self.is_match(arn)
    }

    pub fn is_any(&self) -> bool {
        matches!(self.parts.as_slice(), [Glob::Any])
    }

    /// Literal text every matching ARN starts with (for indexing).
    pub fn literal_prefix(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            match p {
                Glob::Exact(s) if i + 1 < self.parts.len() => out.push_str(s),
                _ => {
                    out.push_str(p.literal_prefix());
                    return out;
                }
            }
        }
        out
    }

    pub fn is_match(&self, arn: &str) -> bool {
        if let (Some(head), Some(last)) = (&self.head, self.parts.last()) {
            return match arn.strip_prefix(&**head) {
                Some(rest) => last.is_match(rest),
                None => false,
            };
        }
        let n = self.parts.len();
        let mut it = arn.splitn(n, ':');
        for p in &self.parts {
            match it.next() {
                Some(s) if p.is_match(s) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("a*", "a", true),
            ("a*", "ba", false),
            ("*a", "bba", true),
            ("*a", "ab", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("*/GET/*", "prod/GET/pets/1", true),
            ("*/GET/*", "prod/POST/GET", false),
            ("**", "x", true),
            ("a**b", "ab", true),
            ("?", "", false),
            ("", "", true),
            ("", "x", false),
            ("ab*", "ab", true),
            ("*ab*ab", "abababab", true),
            ("*aab", "aaab", true),
            ("*a?c", "abxac", false),
            ("*a?c", "abxabc", true),
            ("*é?x", "aébéyx", true),
            ("a*/x", "a/y/x/x", true),
            ("a*/x", "a/y/x/", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(Glob::new(p).is_match(s), want, "{p:?} vs {s:?}");
        }
    }

    #[test]
    fn literal_segments_are_not_wildcards() {
        let g = Glob::from_segs(vec![Seg::Lit("a*b".into())]);
        assert!(g.is_match("a*b"));
        assert!(!g.is_match("aXb"));
    }

    #[test]
    fn arn_segments() {
        let base = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets";
        let cases = [
            ("*", true),
            ("arn:aws:execute-api:*:*:*", true),
            ("arn:aws:execute-api:*", true),
            ("arn:aws:execute-api:us-*:123456789012:abc/*", true),
            ("arn:aws:execute-api:*:123456789012:*/GET/*", true),
            // `*` in the region does not reach into the account.
            ("arn:aws:execute-api:*123456789012:abc/*", false),
            (
                "arn:aws:execute-api:us-east-1:123456789012:abc/prod/get/pets",
                false,
            ),
            (
                "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets",
                true,
            ),
            (
                "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/pe?s",
                true,
            ),
            ("arn:aws:s3:::*", false),
        ];
        for (p, want) in cases {
            assert_eq!(ArnGlob::new(p).is_match(base), want, "{p}");
        }
        // The resource part may contain colons, and `*` spans them.
        assert!(ArnGlob::new("arn:aws:logs:*:*:log-group:*")
            .is_match("arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"));
    }

    #[test]
    fn arn_prefix() {
        assert_eq!(
            ArnGlob::new("arn:aws:execute-api:us-east-1:1:abc/*/GET/*").literal_prefix(),
            "arn:aws:execute-api:us-east-1:1:abc/"
        );
        assert_eq!(
            ArnGlob::new("arn:aws:execute-api:*:1:abc/*").literal_prefix(),
            "arn:aws:execute-api:"
        );
        assert_eq!(ArnGlob::new("*").literal_prefix(), "");
    }

    #[test]
    fn arn_from_segments_splits_literal_colons_only() {
        let g = ArnGlob::from_segs(vec![
            Seg::Lit("arn:aws:execute-api:r:1:abc/prod/GET/users/".into()),
            Seg::Lit("a:b".into()),
        ]);
        assert!(g.is_match("arn:aws:execute-api:r:1:abc/prod/GET/users/a:b"));
        let g = ArnGlob::from_segs(vec![Seg::Lit("arn:aws:execute-api:".into()), Seg::Star]);
        assert!(g.is_match("arn:aws:execute-api:r:1:abc/prod/GET/x"));
    }
}
