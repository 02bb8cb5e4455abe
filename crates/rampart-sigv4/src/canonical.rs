//! Canonical URI, query string and headers (the server side of SigV4's
//! "create a canonical request" step).

use crate::SigError;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// RFC 3986 unreserved: `A-Z a-z 0-9 - _ . ~`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn push_pct(out: &mut Vec<u8>, b: u8) {
    out.push(b'%');
    out.push(HEX_UPPER[usize::from(b >> 4)]);
    out.push(HEX_UPPER[usize::from(b & 0x0f)]);
}

/// Percent-encodes every byte except unreserved ones (and `/` if `keep_slash`).
fn encode_into(out: &mut Vec<u8>, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            push_pct(out, b);
        }
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        s.push(char::from(HEX_LOWER[usize::from(b & 0x0f)]));
    }
    s
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly 64 *lowercase* hex digits (the only spelling AWS signers
/// produce; accepting uppercase would make two wire forms of one signature).
pub(crate) fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
    }
    Some(out)
}

/// Strict percent-decoding: every `%` must start a `%XX` triplet. `+` is an
/// ordinary character (SigV4 signers encode a space as `%20`).
pub(crate) fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex_val(*s.get(i + 1)?)?;
            let lo = hex_val(*s.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// botocore's `remove_dot_segments`: drop empty and `.` segments, let `..`
/// remove the previous one (clamped at the root), keep one trailing `/` if
/// the input had one and something is left. Works on the *wire* (still
/// encoded) path, so `%2E%2E` is an ordinary segment.
pub(crate) fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Canonical URI of the wire path.
///
/// * `normalize = true` (every service but S3, API Gateway included): remove
///   dot segments and empty segments, then percent-encode every byte except
///   unreserved and `/` — a wire `%3A` becomes `%253A` (AWS: "encode each
///   segment twice", the client encoded once).
/// * `normalize = false` (S3 style): no segment changes and single encoding:
///   valid `%XX` triplets are kept (uppercased, or decoded if they name an
///   unreserved byte), raw bytes that are not unreserved or `/` are encoded.
pub(crate) fn canonical_uri(path: &str, normalize: bool) -> Result<Vec<u8>, SigError> {
    if !path.starts_with('/') {
        return Err(SigError::Malformed("request path does not start with /"));
    }
    let mut out = Vec::with_capacity(path.len() + 16);
    if normalize {
        encode_into(&mut out, remove_dot_segments(path).as_bytes(), true);
        return Ok(out);
    }
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let byte = match (
                    b.get(i + 1).and_then(|&c| hex_val(c)),
                    b.get(i + 2).and_then(|&c| hex_val(c)),
                ) {
                    (Some(hi), Some(lo)) => (hi << 4) | lo,
                    _ => return Err(SigError::Malformed("invalid percent-encoding in path")),
                };
                if is_unreserved(byte) {
                    out.push(byte);
                } else {
                    push_pct(&mut out, byte);
                }
                i += 3;
            }
            c => {
                encode_into(&mut out, &[c], true);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Raw `name=value` pairs of a query string: split on `&`, then on the first
/// `=`; empty pieces (`a=1&&b=2`, a trailing `&`) are skipped.
pub(crate) fn raw_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Canonical query string: decode each name and value, re-encode with only
/// unreserved bytes left as they are, sort by (encoded name, encoded value),
/// join as `name=value` with `&`. Parameters whose decoded name is in `omit`
/// are left out (`X-Amz-Signature` for presigned requests).
pub(crate) fn canonical_query(query: Option<&str>, omit: &[&str]) -> Result<Vec<u8>, SigError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (raw_name, raw_value) in raw_pairs(query) {
        let bad = || SigError::Malformed("invalid percent-encoding in query");
        let name = percent_decode(raw_name.as_bytes()).ok_or_else(bad)?;
        if omit.iter().any(|o| o.as_bytes() == name.as_slice()) {
            continue;
        }
        let value = percent_decode(raw_value.as_bytes()).ok_or_else(bad)?;
        let (mut n, mut v) = (Vec::new(), Vec::new());
        encode_into(&mut n, &name, false);
        encode_into(&mut v, &value, false);
        pairs.push((n, v));
    }
    pairs.sort();
    let mut out = Vec::with_capacity(query.len() + 16);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(n);
        out.push(b'=');
        out.extend_from_slice(v);
    }
    Ok(out)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Appends `value` trimmed, with inner whitespace runs collapsed to one space
/// (SigV4's "Trimall"; folded multi-line values end up on one line).
fn push_trimall(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if is_space(b) {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            started = true;
        }
    }
}

/// All values of header `name` (ASCII case-insensitive), in order.
pub(crate) fn header_values<'a>(
    headers: &'a [(&'a str, &'a [u8])],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// `name:value\n` for every signed header (names already lowercase and
/// sorted); repeated headers are joined with `,` in the order received.
pub(crate) fn canonical_headers(
    headers: &[(&str, &[u8])],
    signed: &[String],
) -> Result<Vec<u8>, SigError> {
    let mut out = Vec::new();
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut found = false;
        for value in header_values(headers, name) {
            if found {
                out.push(b',');
            }
            push_trimall(&mut out, value);
            found = true;
        }
        if !found {
            return Err(SigError::Malformed(
                "a signed header is missing from the request",
            ));
        }
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(p: &str, normalize: bool) -> String {
        String::from_utf8(canonical_uri(p, normalize).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn uri_normalized() {
        assert_eq!(uri("/", true), "/");
        assert_eq!(uri("//", true), "/");
        assert_eq!(uri("/./", true), "/");
        assert_eq!(uri("/example/..", true), "/");
        assert_eq!(uri("/a/b/../..", true), "/");
        assert_eq!(uri("/../../a", true), "/a");
        assert_eq!(uri("//example//", true), "/example/");
        assert_eq!(uri("/a/./b/.", true), "/a/b");
        assert_eq!(uri("/example space/", true), "/example%20space/");
        assert_eq!(uri("/a%3Ab", true), "/a%253Ab");
        assert_eq!(uri("/%2E%2E/x", true), "/%252E%252E/x");
        assert_eq!(uri("/\u{1234}", true), "/%E1%88%B4");
        assert_eq!(uri("/$x", true), "/%24x");
    }

    #[test]
    fn uri_s3() {
        assert_eq!(uri("//example//", false), "//example//");
        assert_eq!(uri("/./", false), "/./");
        assert_eq!(uri("/example space/", false), "/example%20space/");
        assert_eq!(uri("/a%3ab%7E%2F", false), "/a%3Ab~%2F");
        assert!(canonical_uri("/a%zz", false).is_err());
        assert!(canonical_uri("/a%2", false).is_err());
    }

    #[test]
    fn uri_must_be_absolute() {
        assert!(canonical_uri("", true).is_err());
        assert!(canonical_uri("a/b", true).is_err());
        assert!(canonical_uri("*", false).is_err());
    }

    fn q(s: &str) -> String {
        String::from_utf8(canonical_query(Some(s), &["X-Amz-Signature"]).unwrap_or_default())
            .unwrap_or_default()
    }

    #[test]
    fn query() {
        assert_eq!(q("b=2&a=1"), "a=1&b=2");
        assert_eq!(q("a=2&a=1&a"), "a=&a=1&a=2");
        assert_eq!(q("a=hello%20world&b=x+y"), "a=hello%20world&b=x%2By");
        assert_eq!(q("%7e=%7E&%e1%88%b4=1"), "%E1%88%B4=1&~=~");
        assert_eq!(q("a==b"), "a=%3Db");
        assert_eq!(q("&&a=1&"), "a=1");
        assert_eq!(q("X-Amz-Signature=abc&X-Amz-Sig%6Eature=def&z=1"), "z=1");
        assert!(canonical_query(Some("a=%G0"), &[]).is_err());
        assert!(canonical_query(Some("a%=1"), &[]).is_err());
        assert_eq!(canonical_query(None, &[]).ok(), Some(Vec::new()));
        assert_eq!(canonical_query(Some(""), &[]).ok(), Some(Vec::new()));
    }

    #[test]
    fn trimall() {
        let mut out = Vec::new();
        push_trimall(&mut out, b" \t a \t  b\r\n  c  ");
        assert_eq!(out, b"a b c");
        out.clear();
        push_trimall(&mut out, b"   ");
        assert_eq!(out, b"");
    }

    #[test]
    fn hex_roundtrip() {
        let bytes: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
        let h = hex(&bytes);
        assert_eq!(decode_hex32(&h).map(|a| a.to_vec()), Some(bytes));
        assert_eq!(decode_hex32(&h.to_uppercase()), None);
        assert_eq!(decode_hex32(&h[1..]), None);
    }
}
