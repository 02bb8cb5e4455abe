//! SQL injection detection: libinjection (via the `libinjectionrs` port)
//! for `LOW`, plus the token-stream rules that make up `HIGH`.
//!
//! See the [module documentation](super) for the exact definitions.

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use libinjectionrs::sqli::{SqliTokenizer, Token, TokenType};
use libinjectionrs::{SqliFlags, SqliState};

use super::Sensitivity;

/// A libinjection SQLi fingerprint: the folded token-type string (for
/// example `s&1UE` for `' and 1 union select …`), at most 8 ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    buf: [u8; 8],
    len: u8,
}

impl Fingerprint {
    fn from_raw(raw: [u8; 8]) -> Fingerprint {
        let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let mut buf = [0u8; 8];
        // Token-type characters are ASCII; anything else would be a port bug,
        // so keep the prefix that is.
        let len = raw[..len]
            .iter()
            .position(|b| !b.is_ascii_graphic())
            .unwrap_or(len);
        buf[..len].copy_from_slice(&raw[..len]);
        Fingerprint {
            buf,
            len: len as u8,
        }
    }

    /// The fingerprint libinjection uses when a parse is unreliable (`X`);
    /// also reported if the detector itself failed.
    fn evil() -> Fingerprint {
        Fingerprint::from_raw(*b"X\0\0\0\0\0\0\0")
    }

    /// The fingerprint as a string, e.g. `"s&sos"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The fingerprint bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:?})", self.as_str())
    }
}

/// Why an input was classified as SQL injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliMatch {
    /// libinjection's verdict (the only rule at `LOW`), with its fingerprint.
    Libinjection(Fingerprint),
    /// `HIGH`: a logic operator followed by an always-true-looking comparison
    /// of literals (`or 1=1`, `and 'a'='a'`, `or x=x`).
    Tautology,
    /// `HIGH`: `UNION [ALL|DISTINCT] [(…] SELECT`.
    UnionSelect,
    /// `HIGH`: `;` followed by the start of a second statement (`; drop table`,
    /// `; select …`, `; exec …`, …).
    StackedQuery,
    /// `HIGH`: a string closed by the input, then (after optional `)`) a
    /// comment: `admin'--`, `admin' #`, `x')/*`.
    QuoteThenComment,
    /// `HIGH`: the whole input is a number or variable followed by `UNION`
    /// (a parameter-splitting fragment that libinjection deliberately lets
    /// through).
    UnionFragment,
}

/// How the input is assumed to be embedded in the SQL statement: unquoted, or
/// inside a single- or double-quoted string literal (libinjection's contexts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteContext {
    /// `… WHERE id = $INPUT`
    None,
    /// `… WHERE name = '$INPUT'`
    Single,
    /// `… WHERE name = "$INPUT"`
    Double,
}

/// SQL dialect for comment parsing (`--x` is a comment in ANSI only, `#` in
/// MySQL only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// ANSI SQL.
    Ansi,
    /// MySQL.
    Mysql,
}

fn flags(quote: QuoteContext, dialect: Dialect) -> SqliFlags {
    let q = match quote {
        QuoteContext::None => SqliFlags::FLAG_QUOTE_NONE,
        QuoteContext::Single => SqliFlags::FLAG_QUOTE_SINGLE,
        QuoteContext::Double => SqliFlags::FLAG_QUOTE_DOUBLE,
    };
    let d = match dialect {
        Dialect::Ansi => SqliFlags::FLAG_SQL_ANSI,
        Dialect::Mysql => SqliFlags::FLAG_SQL_MYSQL,
    };
    q | d
}

/// Classifies `input`; `None` if it is not SQL injection at `sensitivity`.
pub fn sqli_match(input: &[u8], sensitivity: Sensitivity) -> Option<SqliMatch> {
    if !could_be_sqli(input) {
        return None;
    }
    sqli_match_exhaustive(input, sensitivity)
}

/// False only for input that is one SQL word: an ASCII letter or `_`, then only ASCII
/// letters, digits and `_` (`customer`, `orderId`, `Dublin`, `UNION`, `sleep`); or one plain
/// number: ASCII digits, with at most one `.` between digits (`3`, `00042`, `10.99`).
///
/// Why nothing else is needed: without a quote only the unquoted context runs (the quoted
/// ones need a `'` or `"` in the input), and without a comment there is no MySQL re-parse.
/// The tokeniser sends a letter or `_` to its word parser (the `b e n q u x` string prefixes
/// need a quote or `&` after them and fall back to it), which takes every following byte
/// outside its delimiter set; letters, digits and `_` are outside it, as are the `.` and
/// `` ` `` it would split at. It sends a digit to its number parser, which takes the digits,
/// one `.` and the digits after it (a hexadecimal or binary literal needs an `x` or `b`, an
/// exponent an `e`); the upstream-delta rewrite (`normalize`) leaves such a number alone,
/// as it only blanks numbers with an exponent marker. So the input is exactly one token: a
/// keyword of some type or a bareword, or a number. Its fingerprint is that one type
/// character; libinjection's blacklist holds no one-character fingerprint, and every `HIGH`
/// rule needs two tokens or more. Keys and short values of JSON bodies, cookies and
/// arguments are mostly such words and numbers. `tests/detect.rs` checks this against
/// [`sqli_match_exhaustive`] on every keyword, on generated words and numbers, and the
/// blacklist for every token type.
pub fn could_be_sqli(input: &[u8]) -> bool {
    const fn word_table(first: bool) -> [bool; 256] {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphabetic() || c == b'_' || (!first && c.is_ascii_digit());
            b += 1;
        }
        t
    }
    const FIRST: [bool; 256] = word_table(true);
    const REST: [bool; 256] = word_table(false);
    match input.split_first() {
        None => false,
        Some((&first, rest)) if FIRST[first as usize] => !rest.iter().all(|&b| REST[b as usize]),
        Some(_) => !is_plain_number(input),
    }
}

/// ASCII digits, with at most one `.` between digits.
fn is_plain_number(input: &[u8]) -> bool {
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    match input.iter().position(|&b| b == b'.') {
        None => digits(input),
        Some(dot) => digits(&input[..dot]) && digits(&input[dot + 1..]),
    }
}

/// [`sqli_match`] without the [`could_be_sqli`] shortcut: the detector itself.
pub fn sqli_match_exhaustive(input: &[u8], sensitivity: Sensitivity) -> Option<SqliMatch> {
    if input.is_empty() {
        return None;
    }
    let norm = Normalized::new(input);
    if let Some(fp) = libinjection(&norm) {
        return Some(SqliMatch::Libinjection(fp));
    }
    match sensitivity {
        Sensitivity::Low => None,
        Sensitivity::High => high_rules(norm.ansi()),
    }
}

/// libinjection's fingerprint for `input` if it is SQL injection at `LOW`
/// sensitivity (`None` otherwise), as in libinjection's `test-sqli-*` cases.
pub fn sqli_fingerprint(input: &[u8]) -> Option<Fingerprint> {
    if !could_be_sqli(input) {
        return None;
    }
    libinjection(&Normalized::new(input))
}

/// The folded fingerprint of `input` in one context (libinjection's
/// `libinjection_sqli_fingerprint`), whether or not it is blacklisted. Mostly
/// for diagnostics and the folding test vectors.
pub fn sqli_context_fingerprint(
    input: &[u8],
    quote: QuoteContext,
    dialect: Dialect,
) -> Fingerprint {
    let norm = Normalized::new(input);
    let buf = norm.for_dialect(dialect);
    catch_unwind(AssertUnwindSafe(|| {
        let mut state = SqliState::new(buf, flags(quote, dialect));
        let count = state.fold_tokens();
        let mut raw = [0u8; 8];
        for (slot, token) in raw.iter_mut().zip(state.tokens().iter().take(count)) {
            *slot = token.token_type.to_char() as u8;
        }
        // libinjection collapses any fingerprint containing an evil token.
        if raw.contains(&b'X') {
            return Fingerprint::evil();
        }
        Fingerprint::from_raw(raw)
    }))
    .unwrap_or_else(|_| Fingerprint::evil())
}

/// libinjection's `libinjection_is_sqli`: the contexts it tries, in its
/// order, each checked by the port (fold, blacklist, false-positive rules) on
/// the input normalised for that context's dialect.
///
/// A panic inside the port (none is known: it is fuzzed in our tests) is
/// treated as a detection with fingerprint `X`, i.e. the WAF fails closed on
/// inputs its parser cannot handle.
fn libinjection(norm: &Normalized<'_>) -> Option<Fingerprint> {
    // One state serves every context (it is reset for each, as C does).
    let mut state = SqliState::new(norm.ansi(), flags(QuoteContext::None, Dialect::Ansi));
    // One context: (is SQLi, fingerprint, whether to re-parse as MySQL).
    let mut check = |quote: QuoteContext, dialect: Dialect| {
        let buf = norm.for_dialect(dialect);
        state.reset_for(buf, flags(quote, dialect));
        let hit = state.is_sqli() || port_whitelist_miss(&state, buf);
        let reparse = state.stats_comment_ddx != 0 || state.stats_comment_hash != 0;
        (hit, Fingerprint::from_raw(state.fingerprint), reparse)
    };
    let run = || {
        let (hit, fp, reparse) = check(QuoteContext::None, Dialect::Ansi);
        if hit {
            return Some(fp);
        }
        if reparse {
            let (hit, fp, _) = check(QuoteContext::None, Dialect::Mysql);
            if hit {
                return Some(fp);
            }
        }
        if norm.shape.single {
            let (hit, fp, reparse) = check(QuoteContext::Single, Dialect::Ansi);
            if hit {
                return Some(fp);
            }
            if reparse {
                let (hit, fp, _) = check(QuoteContext::Single, Dialect::Mysql);
                if hit {
                    return Some(fp);
                }
            }
        }
        if norm.shape.double {
            let (hit, fp, _) = check(QuoteContext::Double, Dialect::Mysql);
            if hit {
                return Some(fp);
            }
        }
        None
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| Some(Fingerprint::evil()))
}

/// Two places where the port's false-positive rules (`is_not_whitelist`)
/// excuse a blacklisted fingerprint that libinjection's C code reports:
///
/// * a 3-token fingerprint whose middle keyword starts with `INTO`
///   (`1 into outfile 'x'`): C compares `INTO` case-insensitively, the port
///   case-sensitively, so lower-case `into outfile` is excused;
/// * a fingerprint ending in a comment, with `sp_password` in the input: the
///   port searches only inputs that are valid UTF-8.
///
/// Called after the port said "not SQLi"; returns whether C would say "SQLi".
fn port_whitelist_miss(state: &SqliState<'_>, input: &[u8]) -> bool {
    let fp = Fingerprint::from_raw(state.fingerprint);
    let fp = fp.as_bytes();
    // The rare shapes first: the blacklist lookup (which the port just made) only for them.
    let sp_password = fp.len() > 1 && fp.ends_with(b"c") && contains(input, b"sp_password");
    let into = fp.len() == 3
        && !matches!(
            fp,
            b"sos" | b"s&s" | b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s"
        )
        && state.tokens().get(1).is_some_and(|t| {
            t.token_type == TokenType::Keyword
                && t.len >= 5
                && t.val[..4].eq_ignore_ascii_case(b"INTO")
        });
    (sp_password || into) && libinjectionrs::sqli::blacklist::is_blacklisted_bytes(fp)
}

// ---------------------------------------------------------------------------
// Upstream deltas.
//
// `libinjectionrs` 0.1.1 ports a libinjection from before three later upstream
// tokenizer changes that matter for detection:
//
// * `==` (SQLite equality) is one operator token, like `=` (libinjection
//   issue #82, PR #84; `tests/test-sqli-051.txt`,
//   `data/sqli-sqlite-double-equals.txt`). The port splits it into two `=`
//   operators, so `' or 1==1--` folds to `s&1oo` and is missed.
// * A number with an exponent marker but no exponent digits (`1.e`, `10.E`,
//   `1e+`) is ignored entirely, as MySQL does (libinjection issue #59, PR #60;
//   the corazawaf `test-sqli-1e-*` / `test-folding-099/100` vectors). The port
//   makes it a bareword, so `1' or 1.e(1)` folds to `s&n(1` and is missed.
// * Outside MySQL mode, `[` is a left parenthesis, not the start of an MS SQL
//   `[bracket word]` (libinjection issue #18; `data/sqli-mysql-bword.txt`).
//   The port always reads a bracket word, so `[1 union select …]` hides its
//   content.
//
// They are reproduced by a same-length rewrite of the input before it reaches
// the port: the second `=` of an `==` operator token, and every byte of an
// ignored number, become a space, and (for the ANSI-dialect passes only) `[`
// becomes `(`. Token positions and lengths are unchanged, and bytes inside
// strings and comments only ever lose content, never structure. Nothing is
// allocated unless one of the forms is present.
// ---------------------------------------------------------------------------

/// The input with the upstream deltas applied, per dialect.
pub(crate) struct Normalized<'a> {
    /// `==` and ignored-number rewrites (the MySQL-dialect input).
    common: Cow<'a, [u8]>,
    /// `common` with `[` rewritten to `(`, if there was a `[`.
    ansi: Option<Vec<u8>>,
    shape: Shape,
}

/// What the detector asks of its input before it runs, from one pass over it: which quote
/// contexts apply, whether a `[` needs the ANSI rewrite, and whether an upstream delta may
/// (an `==` token needs `==`, and an ignored number an exponent marker just after its
/// digits or its `.`: in [`scan_number`], `e` or `E` always follows a digit or `.`). Most
/// input has neither form, and is then used as it is without walking its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    single: bool,
    double: bool,
    bracket: bool,
    rewrite: bool,
}

impl Shape {
    fn of(input: &[u8]) -> Shape {
        // Bits of a byte: the three bytes asked about, then the first bytes of the two
        // rewritten pairs (`=` of `==`; a digit or `.` before an exponent marker), then
        // their second bytes, two places up so that `(prev & FIRSTS) << 2 & this` is a pair.
        const SINGLE: u8 = 1;
        const DOUBLE: u8 = 2;
        const BRACKET: u8 = 4;
        const EQ_FIRST: u8 = 8;
        const NUM_FIRST: u8 = 16;
        const FIRSTS: u8 = EQ_FIRST | NUM_FIRST;
        const EQ_SECOND: u8 = EQ_FIRST << 2;
        const EXP_SECOND: u8 = NUM_FIRST << 2;
        const TABLE: [u8; 256] = {
            let mut t = [0u8; 256];
            t[b'\'' as usize] = SINGLE;
            t[b'"' as usize] = DOUBLE;
            t[b'[' as usize] = BRACKET;
            t[b'=' as usize] = EQ_FIRST | EQ_SECOND;
            t[b'.' as usize] = NUM_FIRST;
            let mut d = b'0';
            while d <= b'9' {
                t[d as usize] = NUM_FIRST;
                d += 1;
            }
            t[b'e' as usize] = EXP_SECOND;
            t[b'E' as usize] = EXP_SECOND;
            t
        };
        let (mut any, mut pairs, mut prev) = (0u8, 0u8, 0u8);
        for &b in input {
            let t = TABLE[usize::from(b)];
            any |= t;
            pairs |= (prev & FIRSTS) << 2 & t;
            prev = t;
        }
        Shape {
            single: any & SINGLE != 0,
            double: any & DOUBLE != 0,
            bracket: any & BRACKET != 0,
            rewrite: pairs != 0,
        }
    }
}

impl<'a> Normalized<'a> {
    pub(crate) fn new(original: &'a [u8]) -> Normalized<'a> {
        let shape = Shape::of(original);
        let common = if shape.rewrite {
            normalize_walk(original)
        } else {
            Cow::Borrowed(original)
        };
        // The rewrite only blanks `=` and bytes of numbers: a `[` stays where it was.
        let ansi = shape.bracket.then(|| {
            let mut buf = common.to_vec();
            for i in 0..buf.len() {
                // Not the delimiter of an Oracle q-string, `q'[…]'`.
                let q_delim = i >= 2 && buf[i - 1] == b'\'' && matches!(buf[i - 2], b'q' | b'Q');
                if buf[i] == b'[' && !q_delim {
                    buf[i] = b'(';
                }
            }
            buf
        });
        Normalized {
            common,
            ansi,
            shape,
        }
    }

    /// The input for ANSI-dialect passes.
    pub(crate) fn ansi(&self) -> &[u8] {
        self.ansi.as_deref().unwrap_or(&self.common)
    }

    fn for_dialect(&self, dialect: Dialect) -> &[u8] {
        match dialect {
            Dialect::Ansi => self.ansi(),
            Dialect::Mysql => &self.common,
        }
    }
}

/// Applies the `==` and ignored-number deltas; borrows `input` unless a rewrite is needed
/// (the MySQL-dialect input [`Normalized`] holds).
#[cfg(test)]
fn normalize(input: &[u8]) -> Cow<'_, [u8]> {
    Normalized::new(input).common
}

/// The `==` and ignored-number deltas without the [`Shape`] shortcut: walks the input's
/// operator runs and numbers.
fn normalize_walk(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut blank = |range: std::ops::Range<usize>| {
        let buf = out.get_or_insert_with(|| input.to_vec());
        for b in &mut buf[range] {
            *b = b' ';
        }
    };
    let mut i = 0;
    // Whether a token certainly starts at `i` (just after a number or an
    // operator run); otherwise it is judged from the previous byte.
    let mut boundary = true;
    while i < input.len() {
        let c = input[i];
        let class = BYTE_CLASS[c as usize];
        let after_boundary = boundary;
        boundary = false;
        if class == 0 {
            // Most bytes: neither an operator nor where a number can start.
            i += 1;
            continue;
        }
        if class & OP != 0 {
            // Start of a run of operator characters (runs are always consumed
            // whole, so this is never mid-run): walk it the way the tokenizer
            // does, blanking the second '=' of each "==" token.
            i = walk_operator_run(input, i, &mut blank);
            boundary = true;
            continue;
        }
        let at_start = after_boundary || i == 0 || ends_token(input[i - 1]);
        if at_start && starts_number(input, i) {
            let (end, ignored) = scan_number(input, i);
            if ignored {
                blank(i..end);
            }
            i = end.max(i + 1);
            boundary = true;
            continue;
        }
        i += 1;
    }
    match out {
        Some(buf) => Cow::Owned(buf),
        None => Cow::Borrowed(input),
    }
}

/// [`is_op_char`] bytes.
const OP: u8 = 1;
/// Digits and `.`: where [`starts_number`] can hold.
const NUMBER: u8 = 2;

/// What [`normalize`] must look at each byte for; 0 for most bytes.
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if is_op_char(c) {
            t[b] |= OP;
        }
        if c.is_ascii_digit() || c == b'.' {
            t[b] |= NUMBER;
        }
        b += 1;
    }
    t
};

/// Characters the tokenizer hands to its operator, dash or slash parsers.
const fn is_op_char(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'%'
            | b'&'
            | b'*'
            | b'+'
            | b'-'
            | b'/'
            | b':'
            | b'<'
            | b'='
            | b'>'
            | b'^'
            | b'|'
            | b'~'
    )
}

/// Two-character operators of libinjection's keyword table, plus `==`.
fn is_op2(a: u8, b: u8) -> bool {
    matches!(
        [a, b],
        [b'!', b'!']
            | [b'!', b'<']
            | [b'!', b'=']
            | [b'!', b'>']
            | [b'%', b'=']
            | [b'&', b'&']
            | [b'&', b'=']
            | [b'*', b'=']
            | [b'+', b'=']
            | [b'-', b'=']
            | [b'/', b'=']
            | [b':', b':']
            | [b':', b'=']
            | [b'<', b'<']
            | [b'<', b'=']
            | [b'<', b'>']
            | [b'<', b'@']
            | [b'>', b'=']
            | [b'>', b'>']
            | [b'^', b'=']
            | [b'|', b'/']
            | [b'|', b'=']
            | [b'|', b'|']
            | [b'=', b'=']
    )
}

/// Walks a run of operator characters starting at a token boundary,
/// mirroring libinjection's operator parsers, and blanks the second byte of
/// every `==` token. Returns the index just past the run.
fn walk_operator_run(
    s: &[u8],
    start: usize,
    blank: &mut impl FnMut(std::ops::Range<usize>),
) -> usize {
    let mut j = start;
    while j < s.len() && is_op_char(s[j]) {
        let c = s[j];
        let next = s.get(j + 1).copied();
        match c {
            // Single-character operators (or comment starts, whose content
            // cannot matter: stop treating the run as operators).
            b'%' | b'^' | b'+' | b'~' => j += 1,
            b'-' if next == Some(b'-') => return skip_op_run(s, j),
            b'/' if next == Some(b'*') => return skip_op_run(s, j),
            b'-' | b'/' => j += 1,
            _ => {
                if c == b'<' && next == Some(b'=') && s.get(j + 2) == Some(&b'>') {
                    j += 3;
                } else if let Some(n) = next.filter(|&n| is_op2(c, n)) {
                    if c == b'=' && n == b'=' {
                        blank(j + 1..j + 2);
                    }
                    j += 2;
                } else {
                    j += 1;
                }
            }
        }
    }
    j
}

fn skip_op_run(s: &[u8], mut j: usize) -> usize {
    while j < s.len() && is_op_char(s[j]) {
        j += 1;
    }
    j
}

/// Whether the tokenizer, positioned at `i`, parses a number: a digit, or a
/// `.` followed by a digit.
fn starts_number(s: &[u8], i: usize) -> bool {
    match s[i] {
        b'0'..=b'9' => true,
        b'.' => s.get(i + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Whether a token can end just before a number starts here, so that the
/// number really is parsed as one (word, variable and money characters would
/// continue the previous token). Bytes inside strings and comments may also
/// pass; rewriting those is harmless.
fn ends_token(prev: u8) -> bool {
    matches!(
        prev,
        b' ' | b'['
            | b']'
            | b'{'
            | b'}'
            | b'<'
            | b'>'
            | b':'
            | b'\\'
            | b'?'
            | b'='
            | b'!'
            | b'#'
            | b'~'
            | b'+'
            | b'-'
            | b'*'
            | b'/'
            | b'&'
            | b'|'
            | b'^'
            | b'%'
            | b'('
            | b')'
            | b','
            | b';'
            | b'\''
            | b'"'
            | b'\t'
            | b'\n'
            | 0x0b
            | 0x0c
            | b'\r'
            | 0xa0
            | 0x00
    )
}

/// Scans a number the way upstream libinjection's `parse_number` does and
/// returns its end and whether upstream ignores it (exponent marker without
/// exponent digits).
fn scan_number(s: &[u8], start: usize) -> (usize, bool) {
    let len = s.len();
    if s[start] == b'0' && start + 1 < len {
        let hex = matches!(s[start + 1], b'x' | b'X');
        let bin = matches!(s[start + 1], b'b' | b'B');
        if hex || bin {
            let mut end = start + 2;
            while end < len
                && (if hex {
                    s[end].is_ascii_hexdigit()
                } else {
                    matches!(s[end], b'0' | b'1')
                })
            {
                end += 1;
            }
            return (end, false);
        }
    }
    let mut pos = start;
    while pos < len && s[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < len && s[pos] == b'.' {
        pos += 1;
        while pos < len && s[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos - start == 1 {
            return (pos, false);
        }
    }
    let mut have_e = false;
    let mut have_exp = false;
    if pos < len && matches!(s[pos], b'e' | b'E') {
        have_e = true;
        pos += 1;
        if pos < len && matches!(s[pos], b'+' | b'-') {
            pos += 1;
        }
        while pos < len && s[pos].is_ascii_digit() {
            have_exp = true;
            pos += 1;
        }
    }
    if pos < len && matches!(s[pos], b'd' | b'D' | b'f' | b'F') {
        let after = s.get(pos + 1).copied();
        let white = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0 | 0x00);
        if after.is_none_or(|c| white(c) || c == b';' || c == b'u' || c == b'U') {
            pos += 1;
        }
    }
    (pos, have_e && !have_exp)
}

// ---------------------------------------------------------------------------
// HIGH rules.
// ---------------------------------------------------------------------------

fn high_rules(norm: &[u8]) -> Option<SqliMatch> {
    if !may_match_high(norm) {
        return None;
    }
    catch_unwind(AssertUnwindSafe(|| {
        let mut contexts = [Some(QuoteContext::None), None, None];
        if norm.contains(&b'\'') {
            contexts[1] = Some(QuoteContext::Single);
        }
        if norm.contains(&b'"') {
            contexts[2] = Some(QuoteContext::Double);
        }
        contexts
            .into_iter()
            .flatten()
            .find_map(|quote| scan_context(norm, quote))
    }))
    .unwrap_or(Some(SqliMatch::Libinjection(Fingerprint::evil())))
}

/// Cheap byte-level prefilter: whether any `HIGH` rule could match, so that
/// ordinary text skips the token scans. Each rule needs its marker:
/// tautology a comparison (`=`, `<`, `>`, `like`, `regexp`) and a logic
/// operator (`or`, `and`, `xor` (contains `or`), `||`, `&&`); the UNION rules
/// `union`; stacked queries `;`; quote-then-comment a quote and `--`, `/*` or
/// `#`.
fn may_match_high(s: &[u8]) -> bool {
    let has = |c: u8| s.contains(&c);
    if has(b';') || contains_ci(s, b"union") {
        return true;
    }
    let comment = contains(s, b"--") || contains(s, b"/*") || has(b'#');
    if comment && (has(b'\'') || has(b'"')) {
        return true;
    }
    let cmp =
        has(b'=') || has(b'<') || has(b'>') || contains_ci(s, b"like") || contains_ci(s, b"regexp");
    cmp && (contains_ci(s, b"or")
        || contains_ci(s, b"and")
        || contains(s, b"||")
        || contains(s, b"&&"))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The last few significant (non-comment) tokens, newest last.
struct Window {
    toks: [Option<Token>; 8],
}

impl Window {
    fn push(&mut self, t: Token) {
        self.toks.rotate_left(1);
        self.toks[7] = Some(t);
    }

    /// The token `back` places before the newest (0 = newest).
    fn get(&self, back: usize) -> Option<&Token> {
        7usize.checked_sub(back).and_then(|i| self.toks[i].as_ref())
    }
}

fn value(t: &Token) -> &[u8] {
    &t.val[..t.len.min(t.val.len())]
}

fn is_word(t: &Token, w: &str) -> bool {
    value(t).eq_ignore_ascii_case(w.as_bytes())
}

fn is_any_word(t: &Token, ws: &[&str]) -> bool {
    ws.iter().any(|w| is_word(t, w))
}

fn is_literal(t: &Token) -> bool {
    matches!(t.token_type, TokenType::Number | TokenType::String)
}

fn is_unary(t: &Token) -> bool {
    t.token_type == TokenType::Operator && matches!(value(t), b"-" | b"+" | b"!" | b"~")
}

fn is_comparison(t: &Token) -> bool {
    t.token_type == TokenType::Operator
        && (matches!(
            value(t),
            b"=" | b"<>" | b"!=" | b"<" | b">" | b"<=" | b">=" | b"<=>" | b"!<" | b"!>"
        ) || is_any_word(t, &["LIKE", "RLIKE", "REGEXP"]))
}

/// Scans the token stream of one quote context (ANSI dialect).
fn scan_context(s: &[u8], quote: QuoteContext) -> Option<SqliMatch> {
    let mut tokenizer = SqliTokenizer::new(s, flags(quote, Dialect::Ansi));
    let mut window = Window {
        toks: Default::default(),
    };
    let mut significant = 0usize;
    let mut seen_any = false;
    // QuoteThenComment state: the context string closed at the start, seen
    // only ')' since.
    let mut quote_closed = false;
    // StackedQuery state: tokens seen since the last ';' (None: no ';').
    let mut since_semicolon: Option<usize> = None;

    while let Some(t) = tokenizer.next_token() {
        if quote != QuoteContext::None {
            if !seen_any {
                quote_closed = t.token_type == TokenType::String && t.str_close != 0;
            } else if quote_closed {
                if ends_query(s, &t) {
                    return Some(SqliMatch::QuoteThenComment);
                }
                if t.token_type != TokenType::RightParenthesis {
                    quote_closed = false;
                }
            }
        }
        seen_any = true;
        if t.token_type == TokenType::Comment {
            continue;
        }
        significant += 1;
        window.push(t);
        if let Some(m) = check_window(&window) {
            return Some(m);
        }
        if let Some(n) = since_semicolon.as_mut() {
            *n += 1;
        }
        if window
            .get(0)
            .is_some_and(|t| t.token_type == TokenType::Semicolon)
        {
            since_semicolon = Some(0);
        } else if let Some(n) = since_semicolon {
            if let Some(m) = check_stacked(&window, n, false) {
                return Some(m);
            }
        }
    }
    // End of input: statements that are complete on their own.
    if let Some(n) = since_semicolon {
        if let Some(m) = check_stacked(&window, n, true) {
            return Some(m);
        }
    }
    if quote == QuoteContext::None && is_union_fragment(&window, significant) {
        return Some(SqliMatch::UnionFragment);
    }
    None
}

/// Tautology and UNION SELECT, checked as each token arrives.
fn check_window(w: &Window) -> Option<SqliMatch> {
    let newest = w.get(0)?;

    // UNION [ALL|DISTINCT] [(...] SELECT
    if newest.token_type == TokenType::Expression && is_word(newest, "SELECT") {
        let mut back = 1;
        while let Some(t) = w.get(back) {
            if t.token_type == TokenType::LeftParenthesis || is_any_word(t, &["ALL", "DISTINCT"]) {
                back += 1;
                continue;
            }
            if t.token_type == TokenType::Union && is_word(t, "UNION") {
                return Some(SqliMatch::UnionSelect);
            }
            break;
        }
    }

    // LOGIC [(...] [unary] A CMP [unary] B, A and B literals or the same word.
    let b = newest;
    let b_ok = is_literal(b) || matches!(b.token_type, TokenType::Bareword | TokenType::Variable);
    if !b_ok {
        return None;
    }
    let mut back = 1;
    while w.get(back).is_some_and(is_unary) {
        back += 1;
    }
    if !w.get(back).is_some_and(is_comparison) {
        return None;
    }
    back += 1;
    let a = w.get(back)?;
    back += 1;
    while w
        .get(back)
        .is_some_and(|t| is_unary(t) || t.token_type == TokenType::LeftParenthesis)
    {
        back += 1;
    }
    if !w
        .get(back)
        .is_some_and(|t| t.token_type == TokenType::LogicOperator)
    {
        return None;
    }
    let literals = is_literal(a) && is_literal(b);
    let same_word = matches!(a.token_type, TokenType::Bareword | TokenType::Variable)
        && a.token_type == b.token_type
        && value(a).eq_ignore_ascii_case(value(b));
    (literals || same_word).then_some(SqliMatch::Tautology)
}

/// Whether `t` (right after the string the input closed, and any `)`) is a
/// comment that discards the rest of the query: `/*…`, `--` followed by
/// whitespace or the end, or `#` followed only by whitespace.
fn ends_query(s: &[u8], t: &Token) -> bool {
    let start = t.pos.min(s.len());
    let rest = &s[start..];
    let blank = |b: &[u8]| b.iter().all(|c| c.is_ascii_whitespace());
    if rest.starts_with(b"/*") {
        true
    } else if let Some(after) = rest.strip_prefix(b"--") {
        after.first().is_none_or(|c| c.is_ascii_whitespace())
    } else if let Some(after) = rest.strip_prefix(b"#") {
        blank(after)
    } else {
        false
    }
}

/// `;` followed by the start of another statement. `n` is the number of
/// significant tokens after the `;` (the newest is at window offset 0);
/// decided once three have been seen, or at the end of the input.
fn check_stacked(w: &Window, n: usize, at_end: bool) -> Option<SqliMatch> {
    if !(n == 3 || (at_end && (1..3).contains(&n))) {
        return None;
    }
    // The statement keyword and up to two tokens after it.
    let (kw, next, next2) = match n {
        1 => (w.get(0)?, None, None),
        2 => (w.get(1)?, w.get(0), None),
        _ => (w.get(2)?, w.get(1), w.get(0)),
    };
    let hit = if is_word(kw, "SELECT") {
        // `; select 1`, `; select @@version`, `; select * …`, `; select
        // name from …`, but not `; select one`.
        next.is_some_and(|t| {
            t.token_type != TokenType::Bareword
                || next2.is_some_and(|t2| {
                    is_any_word(t2, &["FROM", "AS"])
                        || matches!(t2.token_type, TokenType::Comma | TokenType::Dot)
                })
        })
    } else if is_any_word(kw, &["EXEC", "EXECUTE"]) {
        // `; exec xp_cmdshell`, `; exec master..sp_who`, `; exec(@q)`,
        // `; exec 'x'`, but not `; exec will …`.
        next.is_some_and(|t| match t.token_type {
            TokenType::LeftParenthesis | TokenType::String | TokenType::Variable => true,
            TokenType::Bareword => {
                let v = value(t);
                let proc_prefix = v.len() > 3
                    && (v[..3].eq_ignore_ascii_case(b"xp_") || v[..3].eq_ignore_ascii_case(b"sp_"));
                proc_prefix || v.contains(&b'.')
            }
            _ => false,
        })
    } else if is_word(kw, "INSERT") {
        next.is_some_and(|t| is_word(t, "INTO"))
    } else if is_word(kw, "DELETE") {
        next.is_some_and(|t| is_word(t, "FROM"))
    } else if is_word(kw, "UPDATE") {
        next2.is_some_and(|t| is_word(t, "SET"))
    } else if is_any_word(kw, &["DROP", "CREATE", "ALTER", "TRUNCATE"]) {
        next.is_some_and(|t| {
            is_any_word(
                t,
                &[
                    "TABLE",
                    "DATABASE",
                    "SCHEMA",
                    "VIEW",
                    "INDEX",
                    "USER",
                    "PROCEDURE",
                    "PROC",
                    "FUNCTION",
                    "TRIGGER",
                    "LOGIN",
                ],
            )
        })
    } else if is_any_word(kw, &["DECLARE", "SET"]) {
        next.is_some_and(|t| t.token_type == TokenType::Variable)
    } else if is_word(kw, "WAITFOR") {
        next.is_some_and(|t| is_any_word(t, &["DELAY", "TIME"]))
    } else if is_word(kw, "SHUTDOWN") {
        match next {
            None => at_end,
            Some(t) => is_word(t, "WITH") || t.token_type == TokenType::Semicolon,
        }
    } else {
        false
    };
    hit.then_some(SqliMatch::StackedQuery)
}

/// The whole input is `[+|-] number|variable UNION`.
fn is_union_fragment(w: &Window, significant: usize) -> bool {
    let (Some(u), Some(operand)) = (w.get(0), w.get(1)) else {
        return false;
    };
    let operand_ok = matches!(operand.token_type, TokenType::Number | TokenType::Variable);
    if u.token_type != TokenType::Union || !is_word(u, "UNION") || !operand_ok {
        return false;
    }
    match significant {
        2 => true,
        3 => w.get(2).is_some_and(|t| matches!(value(t), b"-" | b"+")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        String::from_utf8(normalize(s.as_bytes()).into_owned()).unwrap_or_default()
    }

    #[test]
    fn normalize_borrows_unless_a_rewrite_is_needed() {
        for s in [
            "hello world",
            "a=b",
            "x != y",
            "1e5",
            "1.5E-3",
            "0x1e",
            "x1.e",
            "@v1.e",
            "select 1",
            "1 <= 2",
        ] {
            assert!(matches!(normalize(s.as_bytes()), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn normalize_rewrites_only_the_upstream_forms() {
        for (input, want) in [
            ("1==1", "1= 1"),
            ("a !== b", "a !== b"),
            ("a <== b", "a <== b"),
            ("a === b", "a = = b"),
            ("a ==== b", "a = =  b"),
            ("a *== b", "a *== b"),
            ("a -== b", "a -=  b"),
            ("1 --== b", "1 --== b"),
            ("1.e(1)", "   (1)"),
            ("x 1e+ y", "x     y"),
            ("x 1.ef y", "x      y"),
            ("10.E/1", "    /1"),
            ("(.5e)", "(   )"),
            ("1.2.3e", "1.2   "),
            ("a1.e b2e", "a1.e b2e"),
        ] {
            assert_eq!(norm(input), want, "{input}");
        }
    }

    #[test]
    fn brackets_become_parentheses_for_ansi_only() {
        let n = Normalized::new(b"[a] q'[b]' Q'[c]' x==y");
        assert_eq!(n.ansi(), b"(a] q'[b]' Q'[c]' x= y");
        assert_eq!(n.for_dialect(Dialect::Mysql), b"[a] q'[b]' Q'[c]' x= y");
        let plain = Normalized::new(b"no brackets");
        assert!(plain.ansi.is_none() && matches!(plain.common, Cow::Borrowed(_)));
    }

    #[test]
    fn the_normalize_shortcut_changes_nothing() {
        // Generated strings over the bytes that matter to the walk (operators, digits, `.`,
        // exponent markers, the `d`/`f` suffixes, quotes, spaces, letters): the shortcut and
        // the full walk must give the same bytes, and the shortcut must be taken often
        // enough for that to mean something.
        let alphabet = b"=!<>*-+/|&%^~:.0123456789eEdDfFxXbB'\" ab#()[];";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut taken = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize + 1;
            let s: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (i * 5)) % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                &*normalize(&s),
                &*normalize_walk(&s),
                "{}",
                String::from_utf8_lossy(&s)
            );
            if !Shape::of(&s).rewrite {
                taken += 1;
            }
            // The one-pass shape answers what the plain searches answer.
            let rewrite = s.windows(2).any(|w| {
                w == b"=="
                    || (matches!(w[1], b'e' | b'E') && (w[0].is_ascii_digit() || w[0] == b'.'))
            });
            let want = Shape {
                single: s.contains(&b'\''),
                double: s.contains(&b'"'),
                bracket: s.contains(&b'['),
                rewrite,
            };
            assert_eq!(Shape::of(&s), want, "{}", String::from_utf8_lossy(&s));
        }
        assert!(taken > 10_000, "the shortcut was taken {taken} times");
    }
}
