//! The one canonical-path routine of Rampart.
//!
//! Every request path goes through [`normalize`] exactly once. Routing and
//! every later security check (authentication scopes, path rules, rate-limit
//! keys, …) look only at the resulting [`CanonicalPath`], and the request is
//! forwarded upstream with [`CanonicalPath::to_uri_path`]. Because there is a
//! single definition of "which resource does this path name", no layer can be
//! bypassed by spelling the same path differently.
//!
//! # Why
//!
//! Gateways and reverse proxies have a long history of path-confusion
//! vulnerabilities where the proxy and the backend disagree about a path:
//!
//! * **dot segments**, plain or encoded: `/public/../admin`, `/%2e%2e/admin`,
//!   `/.%2E/admin`;
//! * **matrix parameters**: `/admin/..;/secret` or `/admin;x` which Tomcat /
//!   Spring strip to `/admin/../secret` or `/admin`;
//! * **encoded separators**: `/public/..%2fadmin`, `/admin%5c..%5csecret`,
//!   raw `\` (treated as `/` by some servers);
//! * **duplicate slashes**: `//admin` matched differently from `/admin`;
//! * **NUL and control bytes**: `/admin%00.json` truncated by C backends;
//! * **overlong / invalid UTF-8**: `%c0%ae` decoded as `.` by lenient decoders.
//!
//! # Rules
//!
//! `normalize` applies these rules, in one pass over the input:
//!
//! 1. The path must start with `/`, otherwise [`Rejection::NotAbsolute`]
//!    (`*`, the empty string and relative paths are refused).
//! 2. Every `%XX` triplet (hex digits in either case) is decoded. A `%` not
//!    followed by two hex digits is [`Rejection::InvalidPercentEncoding`].
//!    A decoded `/` (`%2F`) is [`Rejection::EncodedSlash`]; a raw or decoded
//!    `\` is [`Rejection::Backslash`]; a raw or decoded NUL byte is
//!    [`Rejection::Nul`]; any other raw or decoded byte below `0x20` or equal
//!    to `0x7F` is [`Rejection::ControlCharacter`]. Since encoded separators
//!    are refused, decoding everything cannot change the segment structure,
//!    which is why the canonical form is the fully decoded one.
//! 3. The decoded bytes must be valid UTF-8, otherwise
//!    [`Rejection::InvalidUtf8`]. This refuses overlong encodings (`%C0%AE`,
//!    `%E0%80%AE`), surrogates (`%ED%A0%80`) and stray bytes (`%FF`).
//! 4. The path is split on `/`. Empty segments (from `//`, including a leading
//!    `//`) are merged away with [`DuplicateSlashes::Merge`] (the default) or
//!    refused with [`Rejection::DuplicateSlash`] under
//!    [`DuplicateSlashes::Reject`]. A single trailing `/` is not an empty
//!    segment and is preserved: `/a/` stays `/a/`, `/a//` becomes `/a/` (or
//!    is refused under `Reject`).
//! 5. Dot segments are removed as in RFC 3986 §5.2.4, on the *decoded*
//!    segments (so `%2e%2e`, `.%2E` and `%2E.` are `..`): `.` is dropped, `..`
//!    removes the previous segment, and `..` at the root is clamped
//!    (`/../a` → `/a`). A path whose last segment is `.` or `..` ends with `/`
//!    (`/a/b/..` → `/a/`, `/a/.` → `/a/`).
//! 6. Nothing else changes: case is preserved, `;` and `+` are ordinary
//!    characters (`/admin;x` is one segment named `admin;x`, and `..;` is not a
//!    dot segment), `%20` becomes a space. Raw bytes that are not rejected by
//!    rule 2 (including raw non-ASCII characters) are taken literally.
//!
//! When a path breaks several rules, the reported [`Rejection`] is the one of
//! the lowest-numbered rule; among rule-2 violations the leftmost one wins.
//! All rejections are answered with `400 Bad Request` by the gateway.
//!
//! [`CanonicalPath::to_uri_path`] re-encodes the canonical path for the
//! upstream request: RFC 3986 unreserved characters and
//! `! $ & ' ( ) * + , = : @` are kept, everything else (notably `;`, `%`,
//! space, `?`, `#` and non-ASCII) is percent-encoded as uppercase `%XX` of its
//! UTF-8 bytes. For every canonical path `c`,
//! `normalize(&c.to_uri_path(), opts) == Ok(c)`.
//!
//! ```
//! use rampart_normalize::{normalize, Options, Rejection};
//!
//! let opts = Options::default();
//! let p = normalize("/pets/%2e%2e/admin/my%20dog;x/", &opts).unwrap();
//! assert_eq!(p.as_str(), "/admin/my dog;x/");
//! assert_eq!(p.to_uri_path(), "/admin/my%20dog%3Bx/");
//! assert_eq!(p.segments().collect::<Vec<_>>(), ["admin", "my dog;x"]);
//!
//! assert_eq!(normalize("/public/..%2fadmin", &opts), Err(Rejection::EncodedSlash));
//! ```

use std::fmt;
use std::str::FromStr;

/// Policy for empty segments (`//`) inside a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DuplicateSlashes {
    /// Empty segments are dropped: `//a///b` → `/a/b`.
    #[default]
    Merge,
    /// Empty segments are refused with [`Rejection::DuplicateSlash`].
    Reject,
}

impl DuplicateSlashes {
    /// The configuration spelling of this policy (`"merge"` or `"reject"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DuplicateSlashes::Merge => "merge",
            DuplicateSlashes::Reject => "reject",
        }
    }
}

impl fmt::Display for DuplicateSlashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing a [`DuplicateSlashes`] from a string other than
/// `merge` or `reject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDuplicateSlashes;

impl fmt::Display for UnknownDuplicateSlashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected \"merge\" or \"reject\"")
    }
}

impl std::error::Error for UnknownDuplicateSlashes {}

impl FromStr for DuplicateSlashes {
    type Err = UnknownDuplicateSlashes;

    /// Parses the configuration spelling: `merge` or `reject` (exact, lower case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "merge" => Ok(DuplicateSlashes::Merge),
            "reject" => Ok(DuplicateSlashes::Reject),
            _ => Err(UnknownDuplicateSlashes),
        }
    }
}

/// Options of [`normalize`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// What to do with empty segments (`//`).
    pub duplicate_slashes: DuplicateSlashes,
}

/// Why a path was refused. The gateway answers 400 for every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Does not start with `/` (e.g. `*`, the empty string or `a/b`).
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    InvalidPercentEncoding,
    /// `%2F` / `%2f`.
    EncodedSlash,
    /// A raw `\` or `%5C` / `%5c`.
    Backslash,
    /// `%00` or a raw NUL byte.
    Nul,
    /// Any other raw or decoded byte below `0x20`, or `0x7F`.
    ControlCharacter,
    /// The decoded bytes are not UTF-8 (including overlong encodings such as
    /// `%C0%AE` and surrogates such as `%ED%A0%80`).
    InvalidUtf8,
    /// An empty segment while [`Options::duplicate_slashes`] is
    /// [`DuplicateSlashes::Reject`].
    DuplicateSlash,
}

impl Rejection {
    /// A short, client-safe English description.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::NotAbsolute => "path is not absolute",
            Rejection::InvalidPercentEncoding => "invalid percent-encoding in path",
            Rejection::EncodedSlash => "encoded slash in path",
            Rejection::Backslash => "backslash in path",
            Rejection::Nul => "NUL byte in path",
            Rejection::ControlCharacter => "control character in path",
            Rejection::InvalidUtf8 => "path is not valid UTF-8",
            Rejection::DuplicateSlash => "empty segment (duplicate slash) in path",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Rejection {}

/// A canonical path: fully percent-decoded UTF-8, always starts with `/`, no
/// `.` or `..` segments, no empty segments except that a trailing `/` is
/// preserved.
///
/// The only way to obtain one is [`normalize`], so holding a `CanonicalPath`
/// proves the path went through the canonicalisation rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalPath(String);

impl CanonicalPath {
    /// The decoded canonical path, e.g. `/pets/my dog/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The non-empty segments: `/a/b/` → `["a", "b"]`, `/` → `[]`.
    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// Whether the path ends with `/` after a segment: `/a/` → `true`,
    /// `/` → `false`, `/a` → `false`.
    pub fn has_trailing_slash(&self) -> bool {
        self.0.len() > 1 && self.0.ends_with('/')
    }

    /// The path re-encoded for forwarding upstream: each segment as by
    /// [`encode_segment`], joined with `/`, trailing slash kept.
    ///
    /// `normalize(&c.to_uri_path(), opts) == Ok(c)` for every canonical `c`.
    pub fn to_uri_path(&self) -> String {
        let len = self
            .0
            .bytes()
            .map(|b| if b == b'/' || keep_literal(b) { 1 } else { 3 })
            .sum();
        let mut out = String::with_capacity(len);
        // The canonical form contains '/' only as a separator, so encoding
        // the whole string with '/' kept is the same as encoding segment by
        // segment and joining with '/'.
        encode_bytes(&self.0, &mut out, true);
        out
    }

    /// Consumes the path and returns the decoded canonical string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for CanonicalPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<CanonicalPath> for String {
    fn from(p: CanonicalPath) -> String {
        p.0
    }
}

/// Percent-encode one decoded segment (or path-parameter value) the same way
/// [`CanonicalPath::to_uri_path`] does, appending to `out`.
///
/// RFC 3986 unreserved characters and `! $ & ' ( ) * + , = : @` are kept,
/// everything else is written as uppercase `%XX` of its UTF-8 bytes. A `/`
/// inside the value is encoded as `%2F` (which [`normalize`] refuses, so a
/// value can never introduce a new segment).
pub fn encode_segment(segment: &str, out: &mut String) {
    encode_bytes(segment, out, false);
}

fn encode_bytes(s: &str, out: &mut String, keep_slash: bool) {
    const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if keep_literal(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
            out.push(char::from(UPPER_HEX[usize::from(b & 0x0F)]));
        }
    }
}

/// Whether `to_uri_path` / `encode_segment` write this byte unencoded.
fn keep_literal(b: u8) -> bool {
    KEEP[usize::from(b)]
}

static KEEP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'='
                    | b':'
                    | b'@'
            );
        i += 1;
    }
    t
};

// Byte classes of the decoder.
const PLAIN: u8 = 0;
const SLASH: u8 = 1;
const PERCENT: u8 = 2;
const BACKSLASH: u8 = 3;
const NUL: u8 = 4;
const CONTROL: u8 = 5;

static CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = CONTROL;
        i += 1;
    }
    t[0] = NUL;
    t[0x7F] = CONTROL;
    t[b'/' as usize] = SLASH;
    t[b'%' as usize] = PERCENT;
    t[b'\\' as usize] = BACKSLASH;
    t
};

/// Value of a hex digit, or 0xFF.
static HEX: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Checks one decoded byte against rule 2 (the raw separator is handled by
/// the caller; here `/` can only come from `%2F`).
fn check_decoded(b: u8) -> Result<(), Rejection> {
    match CLASS[usize::from(b)] {
        SLASH => Err(Rejection::EncodedSlash),
        BACKSLASH => Err(Rejection::Backslash),
        NUL => Err(Rejection::Nul),
        CONTROL => Err(Rejection::ControlCharacter),
        _ => Ok(()),
    }
}

/// Canonicalises the path component of a request target (no query).
///
/// See the [crate documentation](crate) for the rules. The result is a
/// [`CanonicalPath`] or the [`Rejection`] of the lowest-numbered rule the
/// path breaks.
pub fn normalize(raw_path: &str, opts: &Options) -> Result<CanonicalPath, Rejection> {
    let input = raw_path.as_bytes();
    // Rule 1.
    if input.first() != Some(&b'/') {
        return Err(Rejection::NotAbsolute);
    }
    let len = input.len();
    // Decoding and dot removal only ever shrink the path: this is the only
    // allocation.
    let mut out: Vec<u8> = Vec::with_capacity(len);
    out.push(b'/');

    // Rule 3 and 4 violations are recorded and reported after the whole path
    // has been checked against rule 2, so the reported rejection does not
    // depend on where in the path the violations are.
    let mut decoded_high = false;
    let mut invalid_utf8 = false;
    let mut empty_segment = false;

    // Invariant: at the start of every segment, `out` ends with '/'.
    let mut i = 1;
    loop {
        let start = out.len();
        // Rule 2: decode one segment (up to the next raw '/' or the end).
        while i < len {
            // Copy the run of plain bytes in one go.
            let run = i;
            while i < len && CLASS[usize::from(input[i])] == PLAIN {
                i += 1;
            }
            out.extend_from_slice(&input[run..i]);
            let Some(&b) = input.get(i) else { break };
            match CLASS[usize::from(b)] {
                SLASH => break,
                PERCENT => {
                    let hi = input.get(i + 1).map_or(0xFF, |&h| HEX[usize::from(h)]);
                    let lo = input.get(i + 2).map_or(0xFF, |&l| HEX[usize::from(l)]);
                    if hi > 0x0F || lo > 0x0F {
                        return Err(Rejection::InvalidPercentEncoding);
                    }
                    let d = (hi << 4) | lo;
                    check_decoded(d)?;
                    decoded_high |= d >= 0x80;
                    out.push(d);
                    i += 3;
                }
                BACKSLASH => return Err(Rejection::Backslash),
                NUL => return Err(Rejection::Nul),
                _ => return Err(Rejection::ControlCharacter),
            }
        }
        let last = i >= len;

        // Rules 4 and 5 on the decoded segment `out[start..]`.
        match &out[start..] {
            b"" => {
                // The final empty segment is the trailing slash (or the root).
                if !last {
                    empty_segment = true;
                }
            }
            b"." => out.truncate(start),
            b".." => {
                out.truncate(start);
                if start > 1 {
                    // Remove the previous segment, keeping its leading '/'.
                    let prev = out[..start - 1]
                        .iter()
                        .rposition(|&c| c == b'/')
                        .map_or(1, |p| p + 1);
                    // Rule 3 applies to the removed segment too. A segment
                    // without percent-decoded bytes >= 0x80 consists of whole
                    // characters of the input `&str` and ASCII, so it is
                    // valid UTF-8 and need not be checked.
                    if decoded_high && std::str::from_utf8(&out[prev..start - 1]).is_err() {
                        invalid_utf8 = true;
                    }
                    out.truncate(prev);
                }
            }
            _ => {
                if !last {
                    out.push(b'/');
                }
            }
        }
        if last {
            break;
        }
        i += 1; // the '/' separator
    }

    // Rule 3 on what is left (the conversion is needed anyway).
    let path = match String::from_utf8(out) {
        Ok(s) if !invalid_utf8 => s,
        _ => return Err(Rejection::InvalidUtf8),
    };
    // Rule 4.
    if empty_segment && opts.duplicate_slashes == DuplicateSlashes::Reject {
        return Err(Rejection::DuplicateSlash);
    }
    Ok(CanonicalPath(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn n(p: &str) -> Result<String, Rejection> {
        normalize(p, &Options::default()).map(CanonicalPath::into_string)
    }

    #[test]
    fn tables_are_consistent() {
        for b in 0..=255u8 {
            let expected_hex = (b as char).to_digit(16);
            let got = HEX[usize::from(b)];
            assert_eq!(expected_hex.map(|d| d as u8), (got != 0xFF).then_some(got));
            if b < 0x80 {
                assert_eq!(
                    keep_literal(b),
                    b.is_ascii_alphanumeric() || "-._~!$&'()*+,=:@".contains(b as char),
                    "byte {b:#x}"
                );
            } else {
                assert!(!keep_literal(b));
            }
        }
    }

    #[test]
    fn precedence_follows_rule_order() {
        // rule 2 beats rule 3, wherever they are
        assert_eq!(n("/%ff/%2f"), Err(Rejection::EncodedSlash));
        // rule 2: leftmost wins
        assert_eq!(n("/%00/%2f"), Err(Rejection::Nul));
        assert_eq!(n("/%2f/%00"), Err(Rejection::EncodedSlash));
        // rule 3 beats rule 4
        let reject = Options {
            duplicate_slashes: DuplicateSlashes::Reject,
        };
        assert_eq!(normalize("//%ff", &reject), Err(Rejection::InvalidUtf8));
        // an invalid segment removed by `..` is still invalid
        assert_eq!(n("/%ff/.."), Err(Rejection::InvalidUtf8));
        assert_eq!(n("/a/%c3/../b"), Err(Rejection::InvalidUtf8));
    }

    #[test]
    fn mixing_raw_and_encoded_utf8() {
        // raw characters combine with decoded bytes into one byte sequence
        assert_eq!(n("/é%A9"), Err(Rejection::InvalidUtf8));
        assert_eq!(n("/%C3©"), Err(Rejection::InvalidUtf8));
        assert_eq!(n("/é%C3%A9"), Ok("/éé".to_owned()));
    }

    #[test]
    fn duplicate_slashes_from_str() {
        assert_eq!("merge".parse(), Ok(DuplicateSlashes::Merge));
        assert_eq!("reject".parse(), Ok(DuplicateSlashes::Reject));
        assert!("Merge".parse::<DuplicateSlashes>().is_err());
        assert_eq!(DuplicateSlashes::Reject.to_string(), "reject");
        assert_eq!(DuplicateSlashes::default(), DuplicateSlashes::Merge);
    }

    #[test]
    fn output_never_longer_than_input() {
        // So the single `Vec::with_capacity(len)` never reallocates.
        for p in ["/", "/a/..", "/a/b/../c/./", "/%2e%2e/a"] {
            let c = normalize(p, &Options::default()).unwrap();
            assert!(c.as_str().len() <= p.len());
        }
    }
}
