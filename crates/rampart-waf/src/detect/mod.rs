//! SQL injection and cross-site scripting detection (`SqliMatchStatement`,
//! `XssMatchStatement`).
//!
//! Both detectors take raw bytes (already text-transformed by the rule); any
//! byte sequence is accepted, valid UTF-8 or not.
//!
//! # Engine
//!
//! Detection is [libinjection]'s, through the pure-Rust port
//! [`libinjectionrs`] 0.1.1 (which, per its README, passes the C library's
//! test files and was differentially fuzzed against it). The port predates
//! three upstream tokenizer fixes, which are reproduced here by a same-length
//! rewrite of the input before it reaches the port (see `sqli.rs`): SQLite's
//! `==` is one operator; numbers such as `1.e` (an exponent marker without
//! digits, which MySQL ignores) are skipped; and outside MySQL mode `[` is a
//! parenthesis rather than the start of an MS SQL `[bracket word]`. Two
//! places where the port's false-positive rules differ from the C code
//! (`INTO` compared case-sensitively, `sp_password` only searched in UTF-8
//! input) are corrected after the port's verdict. libinjection's published
//! test vectors live in `tests/data/libinjection/` and are run by
//! `tests/detect.rs`. The port is vendored (`vendor/libinjectionrs`) with
//! speed-only patches: keyword lookups without allocation, XSS tag and
//! attribute names normalised once per blacklist check (see
//! `vendor/README.md`).
//!
//! # SQL injection sensitivity
//!
//! AWS WAF's `SensitivityLevel` is `LOW` (default, fewer false positives) or
//! `HIGH` (detects more, with more false positives). Here:
//!
//! **`LOW`** is exactly libinjection's verdict (`libinjection_is_sqli`): the
//! input is tokenised as SQL as if embedded unquoted, and (if it contains the
//! quote) inside a `'…'` or `"…"` literal, each in ANSI and, where comments
//! suggest it, MySQL dialect; tokens are folded to a fingerprint of at most
//! five token types (`s&1c` for `' or 1=1--`), which is SQLi if it is in
//! libinjection's blacklist of ~8,400 fingerprints and not excused by
//! libinjection's false-positive rules. [`sqli_fingerprint`] returns that
//! fingerprint.
//!
//! **`HIGH`** is `LOW`, or any of the following rules on the token stream of
//! the same quote contexts (ANSI dialect, comments skipped, whole input
//! rather than the first five folded tokens). Words match case-insensitively;
//! "literal" means a number or string token:
//!
//! * [`SqliMatch::Tautology`]: a logic operator (`OR`, `AND`, `XOR`, `||`,
//!   `&&`), optional `(` and unary `+ - ! ~`, then `A cmp B` where `cmp` is
//!   one of `= == <> != < > <= >= <=> !< !> LIKE RLIKE REGEXP` and `A`, `B`
//!   are both literals or the same bareword or variable: `or 1=1`,
//!   `and 'a'='a'`, `or x=x`, `' or 2>1`. (A bare `or 1`, `or true` is not
//!   enough: "10 or 12".)
//! * [`SqliMatch::UnionSelect`]: `UNION` then `SELECT`, with only `ALL`,
//!   `DISTINCT` or `(` between: `union all select`, `union(select`
//!   (`EXCEPT`/`INTERSECT` are not included: "except select items").
//! * [`SqliMatch::StackedQuery`]: `;` then the start of a second statement:
//!   `SELECT` followed by anything but a lone bareword (`; select 1`,
//!   `; select @@version`, `; select name from …`, not `; select one`);
//!   `EXEC`/`EXECUTE` followed by `(`, a string, a variable, an `xp_`/`sp_`
//!   name or a dotted name; `INSERT INTO`; `DELETE FROM`; `UPDATE x SET`;
//!   `DROP`/`CREATE`/`ALTER`/`TRUNCATE` followed by `TABLE`, `DATABASE`,
//!   `SCHEMA`, `VIEW`, `INDEX`, `USER`, `PROC[EDURE]`, `FUNCTION`, `TRIGGER`
//!   or `LOGIN`; `DECLARE @v` or `SET @v`; `WAITFOR DELAY|TIME`; `SHUTDOWN`
//!   at the end or before `;` or `WITH`.
//! * [`SqliMatch::QuoteThenComment`]: in the `'…'`/`"…"` contexts, the input
//!   closes the string and, after only `)`s, starts a comment that discards
//!   the rest of the query: `/*`, `--` followed by whitespace or the end, or
//!   `#` followed by nothing but whitespace (`admin'#`, `admin' -- x`,
//!   `x') /*`; not `BAR'# BLAH` or `7" #2`). libinjection excuses the `#`
//!   and long-comment forms.
//! * [`SqliMatch::UnionFragment`]: the entire input is `[-|+]` number or
//!   variable, then `UNION` (`1 union`, a parameter-splitting fragment that
//!   libinjection excuses).
//!
//! None of libinjection's other false-positive excuses are lifted, so benign
//! text such as `O'Brien`, `don't`, `Rock 'n' roll`, `select a product`,
//! `1 or 2 items`, `drop me a line`, `credit union` or `I'm here; select one`
//! is flagged at neither level. Text that `HIGH` does flag includes
//! `Union Select Committee`, `1 union` and a trailing `'#` (as in
//! `SOAP 1 '#`, one of libinjection's recorded false positives); the tests
//! pin the benign samples and libinjection's false-positive corpus counts for
//! each level.
//!
//! # Cross-site scripting
//!
//! [`is_xss`] is libinjection's XSS detector (HTML5 tokenisation in five
//! contexts, blacklisted tags, attributes and URL schemes).
//!
//! # Robustness and cost
//!
//! A single SQL word (letters, digits and `_`, not starting with a digit) cannot be SQL
//! injection at either level and skips the tokeniser ([`could_be_sqli`]); input with
//! neither `<` nor `=` cannot be XSS ([`could_be_xss`]). Both shortcuts are exact and
//! checked against the detectors in `tests/detect.rs`.
//!
//! No allocation is made here unless the input contains one of the
//! rewritten forms, and the vendored port looks keywords up without
//! allocating. `HIGH`'s token scans only run when a byte prefilter finds a rule
//! marker (`;`, `union`, a quote plus `--`/`/*`/`#`, or a comparison plus a
//! logic word), so ordinary text costs about the same at both levels (about
//! 1 µs for a 47-byte sentence with a quote, release build). A panic inside the
//! port (none known; fuzzed by the tests) is caught and treated as a
//! detection (fail closed).
//!
//! [libinjection]: https://github.com/libinjection/libinjection

use serde::Deserialize;

mod sqli;
mod xss;

pub use sqli::{
    could_be_sqli, sqli_context_fingerprint, sqli_fingerprint, sqli_match, sqli_match_exhaustive,
    Dialect, Fingerprint, QuoteContext, SqliMatch,
};
pub use xss::{could_be_xss, is_xss};

/// `SqliMatchStatement.SensitivityLevel`: `LOW` (the default) or `HIGH`.
/// See the [module documentation](self) for what each level detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sensitivity {
    #[default]
    Low,
    High,
}

/// Whether `input` (already transformed) contains SQL injection.
pub fn is_sqli(input: &[u8], sensitivity: Sensitivity) -> bool {
    sqli_match(input, sensitivity).is_some()
}
