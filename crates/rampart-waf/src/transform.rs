//! AWS WAF text transformations (`TextTransformations[].Type`), applied in `Priority` order
//! to a field's bytes before it is inspected.
//!
//! Semantics follow the AWS WAF developer guide ("Text transformation options") and, where AWS
//! says a transformation behaves like the ModSecurity transformation of the same name, the
//! ModSecurity reference manual for that transformation. Every function here works on raw
//! bytes (request fields need not be UTF-8) and never fails: malformed encodings are left in
//! place or skipped, as documented on each function.
//!
//! Performance contract: these run on every inspected request field, so each transformation
//! first scans for the bytes that could trigger a change (a chunked scan the compiler turns
//! into SIMD) and returns `Cow::Borrowed` without allocating when there are none. A
//! `Cow::Borrowed` result is always the *whole* input, unchanged; [`apply_all`] relies on it.

use serde::Deserialize;
use std::borrow::Cow;

/// One AWS text transformation type, by its AWS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformType {
    None,
    CompressWhiteSpace,
    HtmlEntityDecode,
    Lowercase,
    CmdLine,
    UrlDecode,
    UrlDecodeUni,
    Base64Decode,
    Base64DecodeExt,
    HexDecode,
    JsDecode,
    CssDecode,
    EscapeSeqDecode,
    SqlHexDecode,
    NormalizePath,
    NormalizePathWin,
    RemoveNulls,
    ReplaceNulls,
    ReplaceComments,
    #[serde(rename = "UTF8_TO_UNICODE")]
    Utf8ToUnicode,
    #[serde(rename = "MD5")]
    Md5,
}

/// Applies one transformation. Borrowed (the whole input) when the input is unchanged.
pub fn apply(t: TransformType, input: &[u8]) -> Cow<'_, [u8]> {
    match t {
        TransformType::None => Cow::Borrowed(input),
        TransformType::CompressWhiteSpace => compress_white_space(input),
        TransformType::HtmlEntityDecode => html_entity_decode(input),
        TransformType::Lowercase => lowercase(input),
        TransformType::CmdLine => cmd_line(input),
        TransformType::UrlDecode => url_decode(input, false),
        TransformType::UrlDecodeUni => url_decode(input, true),
        TransformType::Base64Decode => base64_decode(input),
        TransformType::Base64DecodeExt => base64_decode_ext(input),
        TransformType::HexDecode => hex_decode(input),
        TransformType::JsDecode => js_decode(input),
        TransformType::CssDecode => css_decode(input),
        TransformType::EscapeSeqDecode => escape_seq_decode(input),
        TransformType::SqlHexDecode => sql_hex_decode(input),
        TransformType::NormalizePath => normalize_path(input, false),
        TransformType::NormalizePathWin => normalize_path(input, true),
        TransformType::RemoveNulls => remove_nulls(input),
        TransformType::ReplaceNulls => replace_nulls(input),
        TransformType::ReplaceComments => replace_comments(input),
        TransformType::Utf8ToUnicode => utf8_to_unicode(input),
        TransformType::Md5 => md5_digest(input),
    }
}

/// Applies transformations in order (callers sort by `Priority` first). Borrowed when no
/// transformation changed anything; otherwise only the latest output buffer is kept.
///
/// On short values (most request fields) a chain is dominated by each transformation's own
/// call and scan, and most of them find nothing to do: the value's byte [`classes`] are
/// taken once instead, and a transformation none of whose [`triggers`] occur is skipped
/// (it would have returned its input unchanged). After a transformation changes the value,
/// the classes of the new value are taken again.
pub fn apply_all<'a>(ts: &[TransformType], input: &'a [u8]) -> Cow<'a, [u8]> {
    let present = if input.len() < CLASSES_MAX_LEN && ts.len() > 1 {
        classes(input)
    } else {
        u32::MAX
    };
    apply_all_with(ts, input, present)
}

/// [`apply_all`] when the input's [`classes`] are already known (`u32::MAX`: not known), as
/// when one value meets several chains.
pub fn apply_all_with<'a>(ts: &[TransformType], input: &'a [u8], present: u32) -> Cow<'a, [u8]> {
    let short = |v: &[u8]| v.len() < CLASSES_MAX_LEN && ts.len() > 1;
    let mut present = present;
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    for &t in ts {
        if triggers(t) & present == 0 {
            continue;
        }
        let next = match apply(t, &cur) {
            Cow::Borrowed(_) => continue,
            Cow::Owned(v) => v,
        };
        present = if short(&next) {
            classes(&next)
        } else {
            u32::MAX
        };
        cur = Cow::Owned(next);
    }
    cur
}

// ---------------------------------------------------------------------------------------------
// Trigger classes: which bytes can make a transformation change its input
// ---------------------------------------------------------------------------------------------

/// Values at least this long are not classified: one pass of table lookups costs more than
/// the vectorised trigger scans it would save.
const CLASSES_MAX_LEN: usize = 256;

/// `%` or `+` (URL decoding).
const C_PERCENT_PLUS: u32 = 1 << 0;
/// `&` (HTML entities).
const C_AMP: u32 = 1 << 1;
/// `A-Z`.
const C_UPPER: u32 = 1 << 2;
/// `\` (JavaScript, CSS and C escapes; Windows paths).
const C_BACKSLASH: u32 = 1 << 3;
/// Whitespace other than the space: `\t \n \v \f \r` and NBSP (0xA0).
const C_WS: u32 = 1 << 4;
/// Two spaces in a row.
const C_SPACE_SPACE: u32 = 1 << 5;
/// `/*`.
const C_COMMENT: u32 = 1 << 6;
/// `//`.
const C_SLASH_SLASH: u32 = 1 << 7;
/// 0x00.
const C_NUL: u32 = 1 << 8;
/// `.`.
const C_DOT: u32 = 1 << 9;
/// `x` or `X`.
const C_X: u32 = 1 << 10;
/// A byte of 0x80 or above.
const C_HIGH: u32 = 1 << 11;
/// Set for every value, empty or not: the trigger of transformations that always run.
const C_ANY: u32 = 1 << 31;
/// The two-byte classes in the table: bit 0 `  `, bit 1 `/*`, bit 2 `//` (the order of
/// `C_SPACE_SPACE`, `C_COMMENT` and `C_SLASH_SLASH`), in a field for the byte that starts
/// the pair and one for the byte that ends it.
const PAIR_FIRST: u32 = 24;
const PAIR_SECOND: u32 = 16;
const PAIR_MASK: u32 = 0b111;
const PAIR_FIELDS: u32 = PAIR_MASK << PAIR_FIRST | PAIR_MASK << PAIR_SECOND;
const PAIR_TO_CLASS: u32 = 5;
const _: () = assert!(
    C_SPACE_SPACE == 1 << PAIR_TO_CLASS
        && C_COMMENT == 2 << PAIR_TO_CLASS
        && C_SLASH_SLASH == 4 << PAIR_TO_CLASS
);

const CLASS: [u32; 256] = {
    let mut t = [0u32; 256];
    t[b'%' as usize] = C_PERCENT_PLUS;
    t[b'+' as usize] = C_PERCENT_PLUS;
    t[b'&' as usize] = C_AMP;
    t[b'\\' as usize] = C_BACKSLASH;
    t[0] = C_NUL;
    t[b'.' as usize] = C_DOT;
    t[b' ' as usize] = 0b001 << PAIR_FIRST | 0b001 << PAIR_SECOND;
    t[b'/' as usize] = 0b110 << PAIR_FIRST | 0b100 << PAIR_SECOND;
    t[b'*' as usize] = 0b010 << PAIR_SECOND;
    t[b'x' as usize] = C_X;
    t[b'X' as usize] = C_X;
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] |= C_UPPER;
        b += 1;
    }
    let mut b = b'\t';
    while b <= b'\r' {
        t[b as usize] = C_WS;
        b += 1;
    }
    let mut b = 0x80;
    loop {
        t[b] = C_HIGH;
        if b == 0xFF {
            break;
        }
        b += 1;
    }
    t[0xA0] = C_HIGH | C_WS;
    t
};

/// The trigger classes present in `v` (see [`triggers`]).
pub fn classes(v: &[u8]) -> u32 {
    // One pass, without branches: each byte's entry holds its classes, and in two more
    // fields the two-byte classes it can start and end; a pair is found where the previous
    // byte's first field meets this byte's second field (the previous entry is kept shifted
    // so that its first field lies on the second; other bits that land in `pairs` are
    // masked out at the end).
    let mut present = C_ANY;
    let mut pairs = 0u32;
    let mut prev = 0u32;
    for &b in v {
        let e = CLASS[b as usize];
        present |= e;
        pairs |= prev & e;
        prev = e >> (PAIR_FIRST - PAIR_SECOND);
    }
    present & !(PAIR_FIELDS) | (pairs >> PAIR_SECOND & PAIR_MASK) << PAIR_TO_CLASS
}

/// The classes of bytes (see [`classes`]) without which `t` returns its input unchanged
/// (`Cow::Borrowed`): a superset of what each function below scans for before it copies.
/// `tests/transform.rs` checks this against the functions on generated inputs.
pub fn triggers(t: TransformType) -> u32 {
    match t {
        TransformType::None => 0,
        TransformType::CompressWhiteSpace => C_WS | C_SPACE_SPACE,
        TransformType::HtmlEntityDecode => C_AMP,
        TransformType::Lowercase => C_UPPER,
        TransformType::UrlDecode | TransformType::UrlDecodeUni => C_PERCENT_PLUS,
        TransformType::JsDecode | TransformType::CssDecode | TransformType::EscapeSeqDecode => {
            C_BACKSLASH
        }
        TransformType::SqlHexDecode => C_X,
        TransformType::NormalizePath => C_DOT | C_SLASH_SLASH,
        TransformType::NormalizePathWin => C_DOT | C_SLASH_SLASH | C_BACKSLASH,
        TransformType::RemoveNulls | TransformType::ReplaceNulls => C_NUL,
        TransformType::ReplaceComments => C_COMMENT,
        TransformType::Utf8ToUnicode => C_HIGH,
        TransformType::CmdLine
        | TransformType::Base64Decode
        | TransformType::Base64DecodeExt
        | TransformType::HexDecode
        | TransformType::Md5 => C_ANY,
    }
}

// ---------------------------------------------------------------------------------------------
// Scanning and small helpers
// ---------------------------------------------------------------------------------------------

/// Index of the first byte at or after `from` satisfying `pred`. Scans in fixed-size chunks
/// without early exit inside a chunk, which lets the compiler vectorise the predicate.
#[inline(always)]
fn find_from(hay: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> Option<usize> {
    const CHUNK: usize = 32;
    let tail = hay.get(from..)?;
    let mut base = 0;
    for chunk in tail.chunks_exact(CHUNK) {
        if chunk.iter().fold(false, |acc, &b| acc | pred(b)) {
            break;
        }
        base += CHUNK;
    }
    tail[base..]
        .iter()
        .position(|&b| pred(b))
        .map(|p| from + base + p)
}

/// Copies `input[from..next]` to `out`, where `next` is the next byte satisfying `pred`, and
/// returns `next`; copies the rest of the input and returns `None` when there is none.
#[inline(always)]
fn copy_until(
    out: &mut Vec<u8>,
    input: &[u8],
    from: usize,
    pred: impl Fn(u8) -> bool,
) -> Option<usize> {
    match find_from(input, from, pred) {
        Some(next) => {
            out.extend_from_slice(&input[from..next]);
            Some(next)
        }
        None => {
            out.extend_from_slice(input.get(from..).unwrap_or_default());
            None
        }
    }
}

const INVALID: u8 = 0xFF;

const HEX: [u8; 256] = {
    let mut t = [INVALID; 256];
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

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    let v = HEX[b as usize];
    (v != INVALID).then_some(v)
}

#[inline]
fn is_hex(b: u8) -> bool {
    HEX[b as usize] != INVALID
}

/// Value of exactly `N` hex digits at `s[at..at + N]`, if they are all present and valid.
#[inline]
fn hex_n<const N: usize>(s: &[u8], at: usize) -> Option<u32> {
    let digits = s.get(at..at + N)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        hex_val(b).map(|d| (acc << 4) | u32::from(d))
    })
}

/// One byte for a `%uHHHH` / `\uHHHH` / CSS escape code point, as ModSecurity does: full-width
/// ASCII (U+FF01..U+FF5E) maps to the ASCII character it mirrors, anything else keeps its low
/// byte only.
#[inline]
fn unicode_to_byte(cp: u32) -> u8 {
    if (0xFF01..=0xFF5E).contains(&cp) {
        (cp - 0xFEE0) as u8
    } else {
        (cp & 0xFF) as u8
    }
}

#[inline]
fn done(input: &[u8], out: Vec<u8>, changed: bool) -> Cow<'_, [u8]> {
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

// ---------------------------------------------------------------------------------------------
// Case, whitespace, NULs
// ---------------------------------------------------------------------------------------------

/// LOWERCASE: ASCII `A-Z` to `a-z`; every other byte is left alone.
fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    match find_from(input, 0, |b| b.is_ascii_uppercase()) {
        None => Cow::Borrowed(input),
        Some(first) => {
            let mut v = input.to_vec();
            v[first..].make_ascii_lowercase();
            Cow::Owned(v)
        }
    }
}

/// Where a run-folding transformation must start rewriting: the first `trigger` byte, except
/// that a single space followed by a byte for which `keeps_space` holds (or by the end) is
/// left as it is and skipped, so ordinary text with single spaces is not copied.
#[inline]
fn first_rewrite(
    input: &[u8],
    trigger: impl Fn(u8) -> bool,
    keeps_space: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = find_from(input, from, &trigger)?;
        if input[i] == b' ' && input.get(i + 1).is_none_or(|&next| keeps_space(next)) {
            from = i + 1;
        } else {
            return Some(i);
        }
    }
}

/// The whitespace COMPRESS_WHITE_SPACE folds: space, `\t \n \v \f \r` and NBSP (0xA0).
#[inline(always)]
fn is_compress_ws(b: u8) -> bool {
    (b == b' ') | (b.wrapping_sub(b'\t') < 5) | (b == 0xA0)
}

/// COMPRESS_WHITE_SPACE: each run of whitespace (see [`is_compress_ws`]) becomes one space.
/// Leading and trailing whitespace is compressed, not trimmed.
fn compress_white_space(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = first_rewrite(input, is_compress_ws, |next| !is_compress_ws(next)) else {
        return Cow::Borrowed(input);
    };
    // The prefix holds only lone spaces followed by non-whitespace: start outside a run.
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut in_space = false;
    for &b in &input[first..] {
        if is_compress_ws(b) {
            if in_space {
                changed = true;
            } else {
                changed |= b != b' ';
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(b);
            in_space = false;
        }
    }
    done(input, out, changed)
}

/// REMOVE_NULLS: deletes every 0x00 byte.
fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    match find_from(input, 0, |b| b == 0) {
        None => Cow::Borrowed(input),
        Some(first) => {
            let mut out = Vec::with_capacity(input.len() - 1);
            out.extend_from_slice(&input[..first]);
            out.extend(input[first..].iter().copied().filter(|&b| b != 0));
            Cow::Owned(out)
        }
    }
}

/// REPLACE_NULLS: replaces every 0x00 byte with a space.
fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    match find_from(input, 0, |b| b == 0) {
        None => Cow::Borrowed(input),
        Some(first) => {
            let mut v = input.to_vec();
            for b in &mut v[first..] {
                if *b == 0 {
                    *b = b' ';
                }
            }
            Cow::Owned(v)
        }
    }
}

/// CMD_LINE (ModSecurity `t:cmdLine`): deletes `\ " ' ^`; deletes spaces before `/` and `(`;
/// replaces `,` `;` and whitespace (space, `\t \n \v \f \r`) by a space, a run of them by
/// one space; lowercases ASCII. Deleted characters do not end a run of spaces, so
/// `a ^ b` becomes `a b` and `a "/b` becomes `a/b`.
fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    #[inline(always)]
    fn trigger(b: u8) -> bool {
        matches!(b, b'\\' | b'"' | b'\'' | b'^' | b',' | b';' | b' ' | b'\t'..=b'\r' | b'A'..=b'Z')
    }
    let Some(first) = first_rewrite(input, trigger, |next| {
        !trigger(next) && next != b'/' && next != b'('
    }) else {
        return Cow::Borrowed(input);
    };
    // The prefix holds no separators, deleted characters or capitals, and only lone spaces
    // followed by a byte that keeps them: start outside a run.
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut in_space = false;
    for &b in &input[first..] {
        match b {
            b'\\' | b'"' | b'\'' | b'^' => changed = true,
            b' ' | b'\t'..=b'\r' | b',' | b';' => {
                if in_space {
                    changed = true;
                } else {
                    changed |= b != b' ';
                    out.push(b' ');
                    in_space = true;
                }
            }
            b'/' | b'(' => {
                if in_space {
                    // The last byte written is the run's single space.
                    out.pop();
                    changed = true;
                }
                out.push(b);
                in_space = false;
            }
            _ => {
                changed |= b.is_ascii_uppercase();
                out.push(b.to_ascii_lowercase());
                in_space = false;
            }
        }
    }
    done(input, out, changed)
}

// ---------------------------------------------------------------------------------------------
// URL, HTML, hex, base64
// ---------------------------------------------------------------------------------------------

/// URL_DECODE (`uni == false`): `%HH` to the byte, `+` to a space. An invalid or truncated
/// escape leaves its `%` as is and decoding resumes at the next byte (`%%41` is `%A`).
///
/// URL_DECODE_UNI (`uni == true`, ModSecurity `t:urlDecodeUni`): additionally `%uHHHH`
/// (`u` or `U`) to one byte, full-width ASCII U+FF01..U+FF5E mapped to ASCII 0x21..0x7E,
/// other code points keeping their low byte.
fn url_decode(input: &[u8], uni: bool) -> Cow<'_, [u8]> {
    #[inline(always)]
    fn trigger(b: u8) -> bool {
        (b == b'%') | (b == b'+')
    }
    let uni_escape = |s: &[u8], i: usize| {
        if uni && matches!(s.get(i + 1), Some(b'u' | b'U')) {
            hex_n::<4>(s, i + 2)
        } else {
            None
        }
    };
    let Some(first) = find_from(input, 0, trigger) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut i = first;
    loop {
        if input[i] == b'+' {
            out.push(b' ');
            changed = true;
            i += 1;
        } else if let Some(cp) = uni_escape(input, i) {
            out.push(unicode_to_byte(cp));
            changed = true;
            i += 6;
        } else if let Some(v) = hex_n::<2>(input, i + 1) {
            out.push(v as u8);
            changed = true;
            i += 3;
        } else {
            out.push(b'%');
            i += 1;
        }
        match copy_until(&mut out, input, i, trigger) {
            Some(next) => i = next,
            None => break,
        }
    }
    done(input, out, changed)
}

/// HTML_ENTITY_DECODE (ModSecurity `t:htmlEntityDecode`): `&#xHH..;` / `&#XHH..;` (hex) and
/// `&#DD..;` (decimal) become one byte, the code point's low byte; `&quot;` `&amp;` `&lt;`
/// `&gt;` `&nbsp;` (names matched case-insensitively) become `"` `&` `<` `>` 0xA0. The `;` is
/// optional everywhere and only consumed when it directly follows the entity, so `&#65x;`
/// is `Ax;` and `&ltscript` is `<script` (as browsers read legacy entities). Anything else,
/// e.g. `&#;`, `&#xg;` or an unknown name, is left as is. One pass: `&amp;lt;` is `&lt;`.
fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = find_from(input, 0, |b| b == b'&') else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut i = first;
    loop {
        match parse_html_entity(&input[i + 1..]) {
            Some((byte, len)) => {
                out.push(byte);
                changed = true;
                i += 1 + len;
            }
            None => {
                out.push(b'&');
                i += 1;
            }
        }
        match copy_until(&mut out, input, i, |b| b == b'&') {
            Some(next) => i = next,
            None => break,
        }
    }
    done(input, out, changed)
}

/// Parses the entity after a `&`: the decoded byte and the number of bytes consumed.
fn parse_html_entity(s: &[u8]) -> Option<(u8, usize)> {
    const NAMED: [(&[u8], u8); 5] = [
        (b"quot", b'"'),
        (b"amp", b'&'),
        (b"lt", b'<'),
        (b"gt", b'>'),
        (b"nbsp", 0xA0),
    ];
    let (byte, mut end) = if s.first() == Some(&b'#') {
        let (radix, start) = if matches!(s.get(1), Some(b'x' | b'X')) {
            (16u8, 2)
        } else {
            (10u8, 1)
        };
        let mut value = 0u8; // the code point modulo 256: its low byte
        let mut end = start;
        while let Some(&c) = s.get(end) {
            let digit = if radix == 16 {
                hex_val(c)
            } else {
                c.is_ascii_digit().then(|| c - b'0')
            };
            let Some(d) = digit else { break };
            value = value.wrapping_mul(radix).wrapping_add(d);
            end += 1;
        }
        if end == start {
            return None;
        }
        (value, end)
    } else {
        NAMED
            .iter()
            .find(|(name, _)| s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name))
            .map(|&(name, byte)| (byte, name.len()))?
    };
    if s.get(end) == Some(&b';') {
        end += 1;
    }
    Some((byte, end))
}

/// HEX_DECODE: each pair of hex digits becomes one byte. Lenient on malformed input: a byte
/// that does not start a pair of hex digits (a non-hex character, or a lone last digit) is
/// copied unchanged and decoding resumes at the next byte, so `41 42` is `A B`, `414` is `A4`
/// and text without a hex pair is returned unchanged.
fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let n = input.len();
    let Some(first) = (0..n.saturating_sub(1)).find(|&i| is_hex(input[i]) && is_hex(input[i + 1]))
    else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(n / 2 + first);
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < n {
        match hex_n::<2>(input, i) {
            Some(v) => {
                out.push(v as u8);
                i += 2;
            }
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// SQL_HEX_DECODE (ModSecurity `t:sqlHexDecode`): `0x` / `0X` followed by at least two hex
/// digits is replaced by the bytes of its digit pairs (`0x414243` is `ABC`); an odd last digit
/// is kept (`0x414` is `A4`). `0x` without two hex digits is left as is.
fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    #[inline]
    fn literal_at(s: &[u8], i: usize) -> bool {
        s[i] == b'0' && matches!(s.get(i + 1), Some(b'x' | b'X')) && hex_n::<2>(s, i + 2).is_some()
    }
    // Find the first literal by its `x`, which is rarer than `0`.
    let mut from = 0;
    let first = loop {
        let Some(x) = find_from(input, from, |b| (b | 0x20) == b'x') else {
            return Cow::Borrowed(input);
        };
        if x > 0 && literal_at(input, x - 1) {
            break x - 1;
        }
        from = x + 1;
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < input.len() {
        if literal_at(input, i) {
            i += 2;
            while let Some(v) = hex_n::<2>(input, i) {
                out.push(v as u8);
                i += 2;
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

const B64_STD: [u8; 256] = base64_table(false);
const B64_EXT: [u8; 256] = base64_table(true);

const fn base64_table(url_safe_too: bool) -> [u8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    if url_safe_too {
        t[b'-' as usize] = 62;
        t[b'_' as usize] = 63;
    }
    t
}

/// Accumulates 6-bit base64 values and emits whole bytes; leftover bits of an incomplete
/// quantum (one character: 6 bits) are dropped.
struct Base64Acc {
    acc: u32,
    bits: u32,
}

impl Base64Acc {
    #[inline]
    fn push(&mut self, v: u8, out: &mut Vec<u8>) {
        self.acc = (self.acc << 6) | u32::from(v);
        self.bits += 6;
        if self.bits >= 8 {
            self.bits -= 8;
            out.push((self.acc >> self.bits) as u8);
            self.acc &= (1 << self.bits) - 1;
        }
    }
}

/// BASE64_DECODE (ModSecurity `t:base64Decode`): decodes the standard alphabet (`+ /`). It
/// decodes what can be decoded: the leading run of alphabet characters, stopping at the first
/// other byte (padding `=`, whitespace, anything); a trailing incomplete quantum yields its
/// whole bytes (`YQ` is `a`, a lone last character yields nothing).
fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let end = find_from(input, 0, |b| B64_STD[b as usize] == INVALID).unwrap_or(input.len());
    let mut out = Vec::with_capacity(end / 4 * 3 + 2);
    let mut acc = Base64Acc { acc: 0, bits: 0 };
    for &b in &input[..end] {
        acc.push(B64_STD[b as usize], &mut out);
    }
    Cow::Owned(out)
}

/// BASE64_DECODE_EXT (ModSecurity `t:base64DecodeExt`): forgiving decode. Bytes outside the
/// alphabet are ignored (whitespace, `.`, `%`, ...); the URL-safe `-` and `_` are accepted as
/// `+` and `/`; `=` ends the current quantum (its whole bytes are kept), so concatenated
/// padded chunks decode chunk by chunk: `YQ==Yg==` is `ab`.
fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut acc = Base64Acc { acc: 0, bits: 0 };
    for &b in input {
        let v = B64_EXT[b as usize];
        if v != INVALID {
            acc.push(v, &mut out);
        } else if b == b'=' {
            acc = Base64Acc { acc: 0, bits: 0 };
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Backslash escapes: JavaScript, CSS, ANSI C
// ---------------------------------------------------------------------------------------------

/// Control characters named by `\a \b \f \n \r \t \v`.
#[inline]
fn c_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0B,
        _ => return None,
    })
}

/// Up to `max` octal digits at `s[at..]`: (value, digit count). The first digit is known.
#[inline]
fn octal(s: &[u8], at: usize, max: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut len = 0;
    while len < max {
        match s.get(at + len) {
            Some(&c @ b'0'..=b'7') => {
                value = value * 8 + u32::from(c - b'0');
                len += 1;
            }
            _ => break,
        }
    }
    (value, len)
}

/// Shared driver of the backslash decoders: copies runs between backslashes, lets `escape`
/// decode the sequence starting at each backslash (it returns the next read position).
fn backslash_decode<'a>(
    input: &'a [u8],
    escape: impl Fn(&[u8], usize, &mut Vec<u8>) -> (usize, bool),
) -> Cow<'a, [u8]> {
    let Some(first) = find_from(input, 0, |b| b == b'\\') else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut i = first;
    loop {
        let (next, decoded) = escape(input, i, &mut out);
        changed |= decoded;
        i = next;
        match copy_until(&mut out, input, i, |b| b == b'\\') {
            Some(next) => i = next,
            None => break,
        }
    }
    done(input, out, changed)
}

/// JS_DECODE (ModSecurity `t:jsDecode`): `\a \b \f \n \r \t \v`; `\xHH`; `\uHHHH` to one byte
/// (full-width ASCII U+FF01..U+FF5E mapped to ASCII, otherwise the low byte); octal `\O`..`\OOO`
/// with JavaScript's limit (three digits only when the first is 0-3, so `\666` is `6` + `6`
/// after `\66`); any other escaped byte stands for itself (`\'` `\"` `\\` `\8`, and `\x` or
/// `\u` without enough hex digits: `\u00ag` is `u00ag`). A backslash at the very end stays.
fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
    backslash_decode(input, |s, i, out| {
        let Some(&c) = s.get(i + 1) else {
            out.push(b'\\');
            return (i + 1, false);
        };
        if c == b'u' {
            if let Some(cp) = hex_n::<4>(s, i + 2) {
                out.push(unicode_to_byte(cp));
                return (i + 6, true);
            }
        } else if c == b'x' {
            if let Some(v) = hex_n::<2>(s, i + 2) {
                out.push(v as u8);
                return (i + 4, true);
            }
        } else if (b'0'..=b'7').contains(&c) {
            let (v, len) = octal(s, i + 1, if c <= b'3' { 3 } else { 2 });
            out.push(v as u8);
            return (i + 1 + len, true);
        }
        out.push(c_escape(c).unwrap_or(c));
        (i + 2, true)
    })
}

/// ESCAPE_SEQ_DECODE (ModSecurity `t:escapeSeqDecode`): ANSI C escapes `\a \b \f \n \r \t \v
/// \\ \? \' \"`, `\xHH` (also `\XHH`) and octal `\O`..`\OOO` (three digits, truncated to a
/// byte: `\666` is 0xB6). As in ModSecurity, any other escaped byte stands for itself (`\8`
/// is `8`, `\x4g` is `x4g`) and a backslash at the very end stays.
fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    backslash_decode(input, |s, i, out| {
        let Some(&c) = s.get(i + 1) else {
            out.push(b'\\');
            return (i + 1, false);
        };
        if c == b'x' || c == b'X' {
            if let Some(v) = hex_n::<2>(s, i + 2) {
                out.push(v as u8);
                return (i + 4, true);
            }
        } else if (b'0'..=b'7').contains(&c) {
            let (v, len) = octal(s, i + 1, 3);
            out.push(v as u8);
            return (i + 1 + len, true);
        }
        out.push(c_escape(c).unwrap_or(c));
        (i + 2, true)
    })
}

/// CSS_DECODE (ModSecurity `t:cssDecode`, CSS 2.x escapes): `\` + 1 to 6 hex digits is one
/// byte (full-width ASCII U+FF01..U+FF5E mapped to ASCII, otherwise the low byte: `\123456`
/// is 0x56), and one whitespace after it (`\r\n` counting as one) is consumed; `\` + newline
/// (`\n`, `\r\n`, `\r`, `\f`) is a line continuation and removed; `\` + any other byte is that
/// byte (`ja\vascript` is `javascript`); a backslash at the very end is removed.
fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    backslash_decode(input, |s, i, out| {
        let Some(&c) = s.get(i + 1) else {
            return (i + 1, true);
        };
        let digits = s[i + 1..]
            .iter()
            .take(6)
            .take_while(|&&b| is_hex(b))
            .count();
        if digits > 0 {
            let cp = s[i + 1..i + 1 + digits]
                .iter()
                .fold(0u32, |acc, &b| (acc << 4) | u32::from(HEX[b as usize]));
            out.push(unicode_to_byte(cp));
            let mut next = i + 1 + digits;
            match (s.get(next), s.get(next + 1)) {
                (Some(b'\r'), Some(b'\n')) => next += 2,
                (Some(b' ' | b'\t'..=b'\r'), _) => next += 1,
                _ => {}
            }
            return (next, true);
        }
        match (c, s.get(i + 2)) {
            (b'\r', Some(b'\n')) => (i + 3, true),
            (b'\n' | b'\r' | 0x0C, _) => (i + 2, true),
            _ => {
                out.push(c);
                (i + 2, true)
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Comments, paths, UTF-8, MD5
// ---------------------------------------------------------------------------------------------

/// Index of the first `needle` (two bytes) at or after `from`.
#[inline]
fn find_pair(s: &[u8], from: usize, needle: [u8; 2]) -> Option<usize> {
    let mut at = from;
    loop {
        let i = find_from(s, at, |b| b == needle[0])?;
        if s.get(i + 1) == Some(&needle[1]) {
            return Some(i);
        }
        at = i + 1;
    }
}

/// REPLACE_COMMENTS (ModSecurity `t:replaceComments`): each C-style comment `/* ... */` becomes
/// one space (adjacent spaces are not compressed); an unterminated comment is replaced by one
/// space up to the end of the input; a lone `*/` is left as is.
fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(mut open) = find_pair(input, 0, *b"/*") else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    let mut copied = 0;
    loop {
        out.extend_from_slice(&input[copied..open]);
        out.push(b' ');
        let Some(close) = find_pair(input, open + 2, *b"*/") else {
            return Cow::Owned(out);
        };
        copied = close + 2;
        match find_pair(input, copied, *b"/*") {
            Some(next) => open = next,
            None => break,
        }
    }
    out.extend_from_slice(&input[copied..]);
    Cow::Owned(out)
}

/// Whether [`normalize_segments`] could change `path` (no allocation): it contains `.` or
/// `..` segments or an empty segment other than a leading or trailing one (`//`).
fn path_needs_normalizing(path: &[u8]) -> bool {
    if find_from(path, 0, |b| b == b'.').is_none() && find_pair(path, 0, *b"//").is_none() {
        return false;
    }
    let last = path.split(|&b| b == b'/').count() - 1;
    path.split(|&b| b == b'/')
        .enumerate()
        .any(|(i, seg)| seg == b"." || seg == b".." || (seg.is_empty() && i != 0 && i != last))
}

/// Removes empty and `.` segments and resolves `..` against the previous segment. A `..`
/// with nothing to remove is kept in a relative path (`a/../../b` is `../b`) and dropped at
/// the root of an absolute one (`/../etc` is `/etc`). The leading `/` is kept; a trailing `/`
/// is kept when the input ends with `/` and something remains (`a/./` is `a/`, `a/.` is `a`).
fn normalize_segments(path: &[u8]) -> Vec<u8> {
    let absolute = path.first() == Some(&b'/');
    let trailing = path.len() > 1 && path.last() == Some(&b'/');
    let mut stack: Vec<&[u8]> = Vec::new();
    for seg in path.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => match stack.last() {
                Some(&top) if top != b".." => {
                    stack.pop();
                }
                _ if absolute => {}
                _ => stack.push(seg),
            },
            _ => stack.push(seg),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if absolute {
        out.push(b'/');
    }
    for (k, seg) in stack.iter().enumerate() {
        if k > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !stack.is_empty() {
        out.push(b'/');
    }
    out
}

/// NORMALIZE_PATH (ModSecurity `t:normalizePath`, see [`normalize_segments`]) and
/// NORMALIZE_PATH_WIN (`t:normalizePathWin`: backslashes become `/` first).
fn normalize_path(input: &[u8], windows: bool) -> Cow<'_, [u8]> {
    if windows && find_from(input, 0, |b| b == b'\\').is_some() {
        let slashed: Vec<u8> = input
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        return Cow::Owned(if path_needs_normalizing(&slashed) {
            normalize_segments(&slashed)
        } else {
            slashed
        });
    }
    if !path_needs_normalizing(input) {
        return Cow::Borrowed(input);
    }
    let out = normalize_segments(input);
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// UTF8_TO_UNICODE (ModSecurity `t:utf8toUnicode`): every multi-byte UTF-8 sequence becomes
/// `%u` + its code point in lowercase hex, at least four digits (`é` is `%u00e9`, U+1F600 is
/// `%u1f600`). As in ModSecurity, sequences are decoded structurally: a lead byte 0xC0-0xF4
/// followed by the right number of continuation bytes is converted even when overlong or a
/// surrogate (`C0 AF` is `%u002f`, exposing the disguised `/`). ASCII and bytes that do not
/// start a complete sequence (stray continuations, 0xF5-0xFF, truncated sequences) are copied
/// unchanged.
fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    #[inline(always)]
    fn non_ascii(b: u8) -> bool {
        b >= 0x80
    }
    let Some(first) = find_from(input, 0, non_ascii) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    out.extend_from_slice(&input[..first]);
    let mut changed = false;
    let mut i = first;
    loop {
        let b = input[i];
        let (len, lead_bits) = match b {
            0xC0..=0xDF => (2, b & 0x1F),
            0xE0..=0xEF => (3, b & 0x0F),
            0xF0..=0xF4 => (4, b & 0x07),
            _ => (0, 0),
        };
        let seq = input
            .get(i + 1..i + len)
            .filter(|c| len > 0 && c.iter().all(|&c| c & 0xC0 == 0x80));
        match seq {
            Some(conts) => {
                let cp = conts.iter().fold(u32::from(lead_bits), |acc, &c| {
                    (acc << 6) | u32::from(c & 0x3F)
                });
                push_percent_u(&mut out, cp);
                changed = true;
                i += len;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
        match copy_until(&mut out, input, i, non_ascii) {
            Some(next) => i = next,
            None => break,
        }
    }
    done(input, out, changed)
}

/// Appends `%u` and `cp` in lowercase hex, zero-padded to at least four digits.
fn push_percent_u(out: &mut Vec<u8>, cp: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"%u");
    let mut n = 4;
    while n < 8 && cp >> (4 * n) != 0 {
        n += 1;
    }
    for k in (0..n).rev() {
        out.push(DIGITS[((cp >> (4 * k)) & 0xF) as usize]);
    }
}

/// MD5: the 16 raw bytes of the MD5 digest of the input (not hex).
fn md5_digest(input: &[u8]) -> Cow<'_, [u8]> {
    use ::md5::{Digest, Md5};
    Cow::Owned(Md5::digest(input).to_vec())
}
