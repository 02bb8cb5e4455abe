//! "Does any pattern match?" answered by a lazy DFA of our own rather than through the
//! `regex` crate's front end.
//!
//! Almost every regex statement of a web ACL is asked that question and nothing else, on
//! short values (JSON items, header values, query arguments): a few dozen bytes, where the
//! `regex` crate's per-call work (its cache pool, the strategy dispatch, the impossibility
//! checks) costs about as much as the search itself (40 ns against 22 ns for a JSON key
//! under the SQLi set's 4.7 KB pattern). A [`Lazy`] is the same pattern (or set) compiled
//! once more, as a bare `regex_automata` lazy DFA searched forward for the earliest match,
//! with its cache taken from [`Caches`], which an evaluation takes once from its ACL's pool.
//!
//! It is only built for patterns that compile in the ASCII mode the WAF prefers (no
//! Unicode word boundaries, so the DFA never has to give up on a byte) and that have no
//! literal prefix the `regex` crate would scan for at `memchr` speed. Should a search still
//! fail (the cache thrashing past its limit is the only way left), the caller asks the
//! `regex` crate instead: the answer is always the same as the `regex` crate's.
//!
//! Before any search, values of any length meet the patterns' requirement
//! ([`crate::required`]): bytes and byte pairs of which every match holds at least one,
//! computed from the patterns' syntax (`\r` or `\n` for the header-injection rules, `\`
//! for the Windows traversal ones, a rare pair of each SQL word). A value that holds none
//! of them is answered "no match" at the cost of a table lookup or two per byte.
//! Requirements that ordinary text nearly always meets (a class of letters, the space) are
//! not kept.

use crate::required::{self, Required, Requirement};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::syntax;
use regex_automata::{nfa::thompson, Input, MatchKind};
use std::sync::{Arc, Mutex, PoisonError};

/// A pattern or set of patterns as a lazy DFA, and where its cache sits in [`Caches`].
#[derive(Debug)]
pub(crate) struct Lazy {
    /// Boxed: a DFA's description is several hundred bytes, and statements are many.
    dfa: Box<DFA>,
    slot: usize,
    /// Bytes and pairs of which every match holds one, when the patterns have such a set
    /// worth checking: a value without any of them is answered "no" without a search.
    required: Option<Box<Required>>,
}

impl Lazy {
    /// `patterns` as one DFA that reports whether any of them matches; `None` when they
    /// need Unicode mode, do not build within the limits, or start with literals the
    /// `regex` crate finds faster than any DFA. `slots` hands out cache positions.
    pub(crate) fn build(patterns: &[&str], slots: &mut Slots) -> Option<Lazy> {
        let syntax = syntax::Config::new().unicode(false).utf8(false);
        let hirs = patterns
            .iter()
            .map(|p| syntax::parse_with(p, &syntax).ok())
            .collect::<Option<Vec<_>>>()?;
        let required = required::of_patterns(&hirs)
            .and_then(Requirement::compile)
            .map(Box::new);
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(NFA_LIMIT)),
            )
            .build_many_from_hir(&hirs)
            .ok()?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(CACHE_CAPACITY),
            )
            .build_from_nfa(nfa)
            .ok()?;
        let slot = slots.0.len();
        slots.0.push(dfa.clone());
        Some(Lazy {
            dfa: Box::new(dfa),
            slot,
            required,
        })
    }

    /// Whether any pattern matches `v`; `None` if the DFA gave up or `v` is long (ask the
    /// `regex` crate).
    pub(crate) fn is_match(&self, caches: &mut Caches, v: &[u8]) -> Option<bool> {
        if self.required.as_ref().is_some_and(|r| !r.met_by(v)) {
            return Some(false);
        }
        if v.len() > SHORT {
            return None;
        }
        let cache = caches.0.get_mut(self.slot)?;
        self.dfa
            .try_search_fwd(cache, &Input::new(v).earliest(true))
            .ok()
            .map(|m| m.is_some())
    }
}

/// Longer values are left to the `regex` crate: on them its literal scans (for a pattern's
/// prefix, suffix or a literal inside it) win, and its per-call work no longer counts.
const SHORT: usize = 128;

/// The `regex` crate's limits for a set (`compile::ascii_regex_set`; a single pattern gets
/// half): whatever compiles there compiles here.
const NFA_LIMIT: usize = 8 << 20;
const CACHE_CAPACITY: usize = 8 << 20;

/// Every [`Lazy`] of an ACL, in slot order, as it is being compiled.
#[derive(Debug, Default)]
pub(crate) struct Slots(Vec<DFA>);

/// One cache per [`Lazy`] of an ACL: a search fills its DFA's cache with the states it
/// meets, so caches are reused from evaluation to evaluation ([`CachePool`]).
pub(crate) struct Caches(Vec<Cache>);

/// The ACL's caches not in use: an evaluation takes one set and gives it back.
#[derive(Debug)]
pub(crate) struct CachePool {
    dfas: Arc<[DFA]>,
    free: Mutex<Vec<Caches>>,
}

/// Sets of caches kept for reuse: more than the threads that evaluate at once is waste.
const POOL_MAX: usize = 64;

impl CachePool {
    pub(crate) fn new(slots: Slots) -> CachePool {
        CachePool {
            dfas: slots.0.into(),
            free: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn take(&self) -> Caches {
        if self.dfas.is_empty() {
            return Caches(Vec::new());
        }
        let free = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        free.unwrap_or_else(|| Caches(self.dfas.iter().map(Cache::new).collect()))
    }

    pub(crate) fn give_back(&self, caches: Caches) {
        if caches.0.is_empty() {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < POOL_MAX {
            free.push(caches);
        }
    }
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caches({})", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// Attack and benign lines of libinjection's published data, lower-cased too (most
    /// chains end in LOWERCASE), and generated strings of the bytes patterns care about.
    fn inputs() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/libinjection/data");
        let mut out: Vec<Vec<u8>> = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let text = std::fs::read(entry.path()).unwrap_or_default();
            for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                out.push(line.to_vec());
                out.push(line.to_ascii_lowercase());
            }
        }
        let alphabet =
            b"abcdeijlnoprstuvxy0123456789 '\"`<>=();:/\\.-_$@{}[]%&#!|*+,\r\n\t\x00\xc0\xff";
        let words: [&[u8]; 12] = [
            b"select",
            b"union",
            b"or",
            b"script",
            b"jndi:",
            b"169.254.169.254",
            b"../",
            b"etc/passwd",
            b"javascript:",
            b"sleep(",
            b"http://",
            b"${",
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut v = Vec::new();
            while v.len() < len {
                let r = next();
                if r % 5 == 0 {
                    v.extend_from_slice(words[(r / 5) as usize % words.len()]);
                } else {
                    v.push(alphabet[(r / 5) as usize % alphabet.len()]);
                }
            }
            out.push(v);
        }
        out
    }

    #[test]
    fn lazy_dfas_answer_as_the_regex_crate_does() {
        let patterns = crate::managed::regex_patterns();
        assert!(patterns.len() > 100, "{} patterns", patterns.len());
        let inputs = inputs();
        assert!(inputs.len() > 20_000);
        let mut slots = Slots::default();
        let mut built = 0;
        let mut matched = 0;
        let mut skipped = 0;
        for p in &patterns {
            let Ok(re) = regex::bytes::RegexBuilder::new(p).unicode(false).build() else {
                continue;
            };
            let Some(lazy) = Lazy::build(&[p.as_str()], &mut slots) else {
                continue;
            };
            built += 1;
            let pool = CachePool::new(std::mem::take(&mut slots));
            let mut caches = pool.take();
            // Slot 0 of the fresh pool.
            let lazy = Lazy { slot: 0, ..lazy };
            for v in &inputs {
                let expected = re.is_match(v);
                matched += usize::from(expected);
                // Answered by the required bytes alone (checked below like any answer).
                skipped += usize::from(lazy.required.as_ref().is_some_and(|r| !r.met_by(v)));
                match lazy.is_match(&mut caches, v) {
                    Some(got) => {
                        assert_eq!(got, expected, "{p} on {:?}", String::from_utf8_lossy(v))
                    }
                    None => assert!(
                        v.len() > SHORT,
                        "gave up on {:?}",
                        String::from_utf8_lossy(v)
                    ),
                }
            }
        }
        assert!(
            built * 10 >= patterns.len() * 9,
            "built {built} of {}",
            patterns.len()
        );
        // The inputs exercise the patterns: many matches, not only misses, and many values
        // answered by the required bytes without a search.
        assert!(matched > 10_000, "{matched} matches");
        assert!(
            skipped > 100_000,
            "{skipped} answered by the required bytes"
        );
    }

    #[test]
    fn a_set_answers_whether_any_of_its_patterns_matches() {
        let patterns = crate::managed::regex_patterns();
        let ascii: Vec<&str> = patterns
            .iter()
            .map(String::as_str)
            .filter(|p| {
                regex::bytes::RegexBuilder::new(p)
                    .unicode(false)
                    .build()
                    .is_ok()
            })
            .take(40)
            .collect();
        let set = regex::bytes::RegexSetBuilder::new(&ascii)
            .unicode(false)
            .size_limit(8 << 20)
            .build()
            .expect("the set builds");
        let mut slots = Slots::default();
        let lazy = Lazy::build(&ascii, &mut slots).expect("the lazy DFA builds");
        let pool = CachePool::new(slots);
        let mut caches = pool.take();
        let (mut yes, mut no) = (0, 0);
        for v in inputs().iter().filter(|v| v.len() <= SHORT) {
            let expected = set.is_match(v);
            assert_eq!(
                lazy.is_match(&mut caches, v),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(v)
            );
            if expected {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(yes > 1_000 && no > 1_000, "{yes} matches, {no} misses");
        // The caches go back to the pool and come out again, warm.
        pool.give_back(caches);
        assert_eq!(pool.free.lock().unwrap().len(), 1);
    }
}
