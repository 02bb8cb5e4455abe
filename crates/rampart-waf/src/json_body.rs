//! The JSON body's keys and leaf values (`JsonBody`), collected in one pass that also
//! validates the body.
//!
//! Each key and value is recorded where it is instead of building a document tree:
//! strings without escapes and the text of numbers, booleans and `null` are slices of the
//! body itself (a number as written: `1e300` is inspected as `1e300`), unescaped strings
//! live in one buffer. Items come in document order, duplicate keys included (a tree
//! keeps one of them; the WAF inspects them all).
//!
//! An item's JSON Pointer is not stored whole: each key and array index is one segment
//! (its escaped text and its parent's segment), and a pointer is put together only when
//! asked for (a path filter, a match to report). Storing whole pointers would let a long key
//! over many array elements turn a 16 KB body into megabytes of copies.
//!
//! Hand-written rather than serde_json's deserializer driving a visitor, which it replaced:
//! the WAF walks every JSON body, and this pass costs about a quarter of what that one did
//! (serde_json parsed numbers to print them again, and checked each string's UTF-8
//! separately). The tests hold it to serde_json on generated documents.

use crate::request::ValueMemo;
use std::ops::Range;

/// The items of a valid JSON body.
pub(crate) struct JsonItems {
    /// Unescaped strings and path segments (everything else is a slice of the body).
    text: Vec<u8>,
    items: Vec<Item>,
    segments: Vec<Segment>,
}

/// One key or leaf value of a JSON body.
pub(crate) struct JsonItem<'p> {
    /// JSON Pointer of the key's member or of the value.
    pub path: JsonPath<'p>,
    pub is_key: bool,
    /// A string (key or value); false for numbers, booleans and null.
    pub is_string: bool,
    /// The key, the string's content, or the scalar's JSON text as written.
    pub value: &'p [u8],
    /// What the evaluation has learnt about the value.
    pub memo: &'p ValueMemo,
}

struct Item {
    path: SegmentId,
    value: Span,
    is_key: bool,
    is_string: bool,
    memo: ValueMemo,
}

enum Span {
    Body(Range<usize>),
    Text(Range<usize>),
}

/// An index into `segments`; [`ROOT`] for the empty pointer.
type SegmentId = u32;
const ROOT: SegmentId = SegmentId::MAX;

/// `/key` (escaped) or `/index`, under its parent's pointer.
struct Segment {
    parent: SegmentId,
    text: Range<usize>,
}

/// The JSON Pointer of an item, put together on demand.
#[derive(Clone, Copy)]
pub(crate) struct JsonPath<'p> {
    items: &'p JsonItems,
    id: SegmentId,
}

impl JsonPath<'_> {
    /// Appends the pointer (`/a/0/b`; nothing for the whole document) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut id = self.id;
        // Leaf first, then reversed: the nesting depth is bounded by the parser
        // ([`MAX_DEPTH`]).
        while let Some(seg) = self.items.segments.get(id as usize) {
            out.extend(self.items.text[seg.text.clone()].iter().rev());
            id = seg.parent;
        }
        out[start..].reverse();
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl JsonItems {
    /// `None` when `body` is not one valid JSON value (RFC 8259; surrounding whitespace
    /// allowed, nesting at most [`MAX_DEPTH`] deep).
    pub fn parse(body: &[u8]) -> Option<JsonItems> {
        // JSON text is UTF-8. Checked once for the whole body: outside strings any byte
        // beyond ASCII is a syntax error anyway, and a string cannot end inside a sequence.
        std::str::from_utf8(body).ok()?;
        let mut p = Parser {
            b: body,
            at: 0,
            path: ROOT,
            // Sized for the body at once: growing them cost about an eighth of the walk of
            // a typical 1 KB API body (an item every dozen bytes or so; keys and indexes
            // are most of `text`).
            out: JsonItems {
                text: Vec::with_capacity(body.len() / 4),
                items: Vec::with_capacity(body.len() / 12 + 8),
                segments: Vec::with_capacity(body.len() / 16 + 8),
            },
        };
        p.ws();
        p.value(0)?;
        p.ws();
        (p.at == body.len()).then_some(p.out)
    }

    /// The items in document order, each key followed by its value's items.
    pub fn iter<'p>(&'p self, body: &'p [u8]) -> impl Iterator<Item = JsonItem<'p>> + 'p {
        self.items.iter().map(move |i| JsonItem {
            path: JsonPath {
                items: self,
                id: i.path,
            },
            is_key: i.is_key,
            is_string: i.is_string,
            value: match &i.value {
                Span::Body(r) => &body[r.clone()],
                Span::Text(r) => &self.text[r.clone()],
            },
            memo: &i.memo,
        })
    }
}

/// Deeper nesting is not valid JSON here (serde_json's default limit, which this parser
/// replaced: a bound on the recursion, and no API body needs more).
const MAX_DEPTH: usize = 127;

/// A byte that ends the plain run of a string: `"`, `\` or a control character (which
/// JSON strings must escape).
const STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// One pass over the body: a recursive descent that records items as it validates.
struct Parser<'b> {
    b: &'b [u8],
    at: usize,
    /// The current JSON Pointer.
    path: SegmentId,
    out: JsonItems,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn push(&mut self, value: Span, is_key: bool, is_string: bool) {
        self.out.items.push(Item {
            path: self.path,
            value,
            is_key,
            is_string,
            memo: ValueMemo::default(),
        });
    }

    /// A value at the current path; `depth` containers enclose it.
    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                let s = self.string()?;
                self.push(s, false, true);
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then_some(())?;
        self.push(Span::Body(self.at..end), false, false);
        self.at = end;
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as written.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        self.push(Span::Body(start..self.at), false, false);
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// At a container's opening bracket: steps in; false when the container is empty (its
    /// `close` follows at once).
    fn open(&mut self, close: u8, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.ws();
        Some(self.eat(close).is_none())
    }

    /// After a member or element: true at a `,` (another one follows), false at `close`.
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.at += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if !self.open(b']', depth)? {
            return Some(());
        }
        let parent = self.path;
        let mut i = 0usize;
        loop {
            self.path = parent;
            self.enter(|text| text.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()));
            self.value(depth)?;
            if !self.more(b']')? {
                self.path = parent;
                return Some(());
            }
            i += 1;
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if !self.open(b'}', depth)? {
            return Some(());
        }
        let parent = self.path;
        loop {
            self.path = parent;
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.enter_key(&key);
            self.push(key, true, true);
            self.ws();
            self.eat(b':')?;
            self.ws();
            self.value(depth)?;
            if !self.more(b'}')? {
                self.path = parent;
                return Some(());
            }
        }
    }

    /// The string at `at` (its opening quote): a slice of the body when it has no escape,
    /// else unescaped into `text`.
    fn string(&mut self) -> Option<Span> {
        self.at += 1;
        let start = self.at;
        self.at = plain_run(self.b, start);
        match *self.b.get(self.at)? {
            b'"' => {
                self.at += 1;
                Some(Span::Body(start..self.at - 1))
            }
            b'\\' => {
                let from = self.out.text.len();
                self.out.text.extend_from_slice(&self.b[start..self.at]);
                self.escaped()?;
                Some(Span::Text(from..self.out.text.len()))
            }
            _ => None,
        }
    }

    /// The rest of a string from its first escape, unescaped onto `text`.
    fn escaped(&mut self) -> Option<()> {
        loop {
            let c = *self.b.get(self.at)?;
            self.at += 1;
            match c {
                b'"' => return Some(()),
                b'\\' => {
                    let e = *self.b.get(self.at)?;
                    self.at += 1;
                    let byte = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            self.out
                                .text
                                .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    self.out.text.push(byte);
                }
                c if c < 0x20 => return None,
                c => self.out.text.push(c),
            }
        }
    }

    /// After `\u`: four hex digits, or a surrogate pair as two escapes. A lone surrogate
    /// is no character: invalid, as serde_json has it.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        match hi {
            0xD800..=0xDBFF => {
                self.eat(b'\\')?;
                self.eat(b'u')?;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return None;
                }
                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
            }
            _ => char::from_u32(hi),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n << 4 | char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// Makes `/` and `bytes` a segment under the current path, and the current path.
    fn enter(&mut self, bytes: impl FnOnce(&mut Vec<u8>)) {
        let start = self.out.text.len();
        self.out.text.push(b'/');
        bytes(&mut self.out.text);
        self.out.segments.push(Segment {
            parent: self.path,
            text: start..self.out.text.len(),
        });
        // At most one segment per key or element, so fewer than the body has bytes.
        self.path = (self.out.segments.len() - 1) as SegmentId;
    }

    /// Enters the member whose key is at `key` (escaped in the pointer: `~` is `~0`, `/`
    /// is `~1`).
    fn enter_key(&mut self, key: &Span) {
        let (src, range) = match key {
            Span::Body(r) => (self.b, r.clone()),
            // The unescaped key is copied first: `text` grows while it is read.
            Span::Text(r) => {
                let k = self.out.text[r.clone()].to_vec();
                self.enter(|text| escape_segment(text, &k));
                return;
            }
        };
        self.enter(|text| escape_segment(text, &src[range]));
    }
}

/// Where the plain run of a string that starts at `from` ends: the first `"`, `\` or
/// control character at or after `from`, or the end of `b`. Eight bytes at a time: each
/// test flags the lowest byte that meets it exactly (a borrow can only flag bytes above a
/// true hit), so the lowest flag of the three is the answer.
fn plain_run(b: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = from;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let quote = zero_in(w ^ (ONES * u64::from(b'"')));
        let backslash = zero_in(w ^ (ONES * u64::from(b'\\')));
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let hits = quote | backslash | control;
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + b[at..]
        .iter()
        .position(|&c| STRING_STOP[usize::from(c)])
        .unwrap_or(b.len() - at)
}

/// Appends key `k` to a pointer segment, `~` as `~0` and `/` as `~1`.
fn escape_segment(text: &mut Vec<u8>, k: &[u8]) {
    if !k.iter().any(|&b| b == b'~' || b == b'/') {
        text.extend_from_slice(k);
        return;
    }
    for &b in k {
        match b {
            b'~' => text.extend_from_slice(b"~0"),
            b'/' => text.extend_from_slice(b"~1"),
            b => text.push(b),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn items(body: &[u8]) -> Vec<(String, bool, bool, String)> {
        let parsed = JsonItems::parse(body).unwrap();
        parsed
            .iter(body)
            .map(|i| {
                (
                    String::from_utf8(i.path.to_vec()).unwrap(),
                    i.is_key,
                    i.is_string,
                    String::from_utf8(i.value.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn item(
        path: &str,
        is_key: bool,
        is_string: bool,
        value: &str,
    ) -> (String, bool, bool, String) {
        (path.into(), is_key, is_string, value.into())
    }

    #[test]
    fn keys_and_leaves_in_document_order_with_pointers() {
        let body = br#" {"z":{"b~/c":[1,"two",{"k":null}]},"a":true,"n":[-5,10.99,1e300,2.0,18446744073709551615]} "#;
        // Numbers, booleans and null are inspected as written.
        assert_eq!(
            items(body),
            vec![
                item("/z", true, true, "z"),
                item("/z/b~0~1c", true, true, "b~/c"),
                item("/z/b~0~1c/0", false, false, "1"),
                item("/z/b~0~1c/1", false, true, "two"),
                item("/z/b~0~1c/2/k", true, true, "k"),
                item("/z/b~0~1c/2/k", false, false, "null"),
                item("/a", true, true, "a"),
                item("/a", false, false, "true"),
                item("/n", true, true, "n"),
                item("/n/0", false, false, "-5"),
                item("/n/1", false, false, "10.99"),
                item("/n/2", false, false, "1e300"),
                item("/n/3", false, false, "2.0"),
                item("/n/4", false, false, "18446744073709551615"),
            ]
        );
    }

    #[test]
    fn escaped_strings_are_unescaped_and_plain_ones_lent_from_the_body() {
        let body = br#"{"k\u0041":"a\"b\\c\n\u00e9","plain":"x y"}"#;
        assert_eq!(
            items(body),
            vec![
                item("/kA", true, true, "kA"),
                item("/kA", false, true, "a\"b\\c\né"),
                item("/plain", true, true, "plain"),
                item("/plain", false, true, "x y"),
            ]
        );
        let parsed = JsonItems::parse(body).unwrap();
        let plain = parsed.iter(body).last().unwrap().value;
        let at = plain.as_ptr() as usize - body.as_ptr() as usize;
        assert_eq!(
            &body[at..at + 3],
            b"x y",
            "an unescaped string is the body's bytes"
        );
    }

    #[test]
    fn duplicate_keys_are_all_inspected() {
        assert_eq!(
            items(br#"{"a":"first","a":"second"}"#),
            vec![
                item("/a", true, true, "a"),
                item("/a", false, true, "first"),
                item("/a", true, true, "a"),
                item("/a", false, true, "second"),
            ]
        );
    }

    #[test]
    fn pointers_are_not_copied_per_item() {
        // A long key over many elements: whole pointers per item would be 4,000 bytes
        // times 6,000 elements.
        let key = "k".repeat(4000);
        let body = format!(r#"{{"{key}":[{}1]}}"#, "1,".repeat(5999));
        let parsed = JsonItems::parse(body.as_bytes()).unwrap();
        // Linear: a few bytes of text per body byte, at most one segment per two.
        assert!(
            parsed.text.len() <= 4 * body.len() && parsed.segments.len() <= body.len() / 2,
            "{} bytes of text and {} segments for a {}-byte body",
            parsed.text.len(),
            parsed.segments.len(),
            body.len()
        );
        let last = parsed.iter(body.as_bytes()).last().unwrap();
        assert_eq!(last.path.to_vec(), format!("/{key}/5999").into_bytes());
        assert_eq!(last.value, b"1");
    }

    #[test]
    fn scalars_and_empty_containers_at_the_top() {
        assert_eq!(items(b"\"s\""), vec![item("", false, true, "s")]);
        assert_eq!(items(b"7"), vec![item("", false, false, "7")]);
        assert!(items(b"{}").is_empty());
        assert!(items(b"[[],{}]").is_empty());
    }

    #[test]
    fn invalid_json_is_none() {
        for body in [
            &b""[..],
            b"{",
            b"{\"a\":1}x",
            b"{\"a\":1} {}",
            b"[1,]",
            b"{'a':1}",
            b"\"\xff\"",
            b"NaN",
            // Numbers outside the grammar.
            b"[01]",
            b"[1.]",
            b"[.5]",
            b"[-]",
            b"[1e]",
            b"[+1]",
            b"[0x1]",
            // Lone surrogates, unknown or short escapes, raw control characters, no end.
            br#"["\ud83d"]"#,
            br#"["\ude00"]"#,
            br#"["\ud83d\u0041"]"#,
            br#"["\x"]"#,
            br#"["\u12"]"#,
            b"[\"a\nb\"]",
            b"[\"a\\",
        ] {
            assert!(JsonItems::parse(body).is_none(), "{}", body.escape_ascii());
        }
    }

    #[test]
    fn plain_runs_end_at_the_first_quote_backslash_or_control_character() {
        let mut r = rng::Rng(7);
        const BYTES: &[u8] = b"ab \"\\\x00\x1f\x7f\x80\xff!#[]";
        for _ in 0..200_000 {
            let len = r.below(24) as usize;
            let b: Vec<u8> = (0..len)
                .map(|_| BYTES[r.below(BYTES.len() as u64) as usize])
                .collect();
            let from = r.below(len as u64 + 1) as usize;
            let want = from
                + b[from..]
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                    .unwrap_or(len - from);
            assert_eq!(
                plain_run(&b, from),
                want,
                "{} from {from}",
                b.escape_ascii()
            );
        }
    }

    #[test]
    fn numbers_are_inspected_as_written() {
        let body = b"[1E+2,-0,0.50,1e400,123456789012345678901234567890]";
        let values: Vec<String> = items(body).into_iter().map(|i| i.3).collect();
        assert_eq!(
            values,
            [
                "1E+2",
                "-0",
                "0.50",
                "1e400",
                "123456789012345678901234567890"
            ]
        );
    }

    #[test]
    fn escapes_and_surrogates() {
        assert_eq!(
            items(br#"["\ud83d\ude00\/\b\f\r\t","\u00E9t\u00e9"]"#),
            vec![
                item("/0", false, true, "\u{1f600}/\u{8}\u{c}\r\t"),
                item("/1", false, true, "\u{e9}t\u{e9}"),
            ]
        );
    }

    #[test]
    fn nesting_limit_is_serde_jsons() {
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(JsonItems::parse(nested(MAX_DEPTH).as_bytes()).is_some());
        assert!(JsonItems::parse(nested(MAX_DEPTH + 1).as_bytes()).is_none());
        for n in [MAX_DEPTH, MAX_DEPTH + 1] {
            assert_eq!(
                oracle::items(nested(n).as_bytes()).is_ok(),
                n == MAX_DEPTH,
                "serde_json's limit"
            );
        }
    }

    use crate::test_rng as rng;

    /// A random JSON value, `depth` levels deep at most, in varied but valid syntax.
    fn gen_value(r: &mut rng::Rng, depth: u32, out: &mut String) {
        let ws = |r: &mut rng::Rng, out: &mut String| {
            for _ in 0..r.below(3) {
                out.push([' ', '\t', '\n', '\r'][r.below(4) as usize]);
            }
        };
        ws(r, out);
        match r.below(if depth == 0 { 4 } else { 6 }) {
            0 => gen_string(r, out),
            1 => gen_number(r, out),
            2 => out.push_str(["true", "false", "null"][r.below(3) as usize]),
            3 => gen_string(r, out),
            4 => {
                out.push('[');
                for i in 0..r.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    gen_value(r, depth - 1, out);
                }
                ws(r, out);
                out.push(']');
            }
            _ => {
                out.push('{');
                for i in 0..r.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(r, out);
                    gen_string(r, out);
                    ws(r, out);
                    out.push(':');
                    gen_value(r, depth - 1, out);
                }
                ws(r, out);
                out.push('}');
            }
        }
        ws(r, out);
    }

    fn gen_string(r: &mut rng::Rng, out: &mut String) {
        const PIECES: [&str; 20] = [
            "a",
            "key",
            " ",
            "~",
            "/",
            "é",
            "😀",
            "O'Brien",
            "<b>",
            "\\\"",
            "\\\\",
            "\\/",
            "\\n",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\u002F",
            "\\u007e",
            "1",
        ];
        out.push('"');
        for _ in 0..r.below(6) {
            out.push_str(PIECES[r.below(PIECES.len() as u64) as usize]);
        }
        out.push('"');
    }

    fn gen_number(r: &mut rng::Rng, out: &mut String) {
        if r.below(2) == 0 {
            out.push('-');
        }
        match r.below(3) {
            0 => out.push('0'),
            _ => {
                out.push(char::from(b'1' + r.below(9) as u8));
                for _ in 0..r.below(22) {
                    out.push(char::from(b'0' + r.below(10) as u8));
                }
            }
        }
        if r.below(3) == 0 {
            out.push('.');
            for _ in 0..=r.below(4) {
                out.push(char::from(b'0' + r.below(10) as u8));
            }
        }
        if r.below(3) == 0 {
            out.push(['e', 'E'][r.below(2) as usize]);
            match r.below(3) {
                0 => out.push('+'),
                1 => out.push('-'),
                _ => {}
            }
            for _ in 0..=r.below(2) {
                out.push(char::from(b'0' + r.below(10) as u8));
            }
        }
    }

    /// Whether two renderings of a scalar are the same JSON value: the parser keeps the
    /// text, serde_json's visitor saw a parsed number (rounded by serde_json's own fast
    /// float parser, which can be an ulp off the exact value).
    fn same_scalar(ours: &str, theirs: &str) -> bool {
        ours == theirs
            || matches!((ours.parse::<f64>(), theirs.parse::<f64>()),
                (Ok(a), Ok(b)) if (a - b).abs() <= a.abs().max(b.abs()) * 1e-15)
    }

    /// Generated documents, valid and then damaged one byte at a time, are valid exactly
    /// when serde_json says so, with the same keys, values and pointers.
    #[test]
    fn agrees_with_serde_json_on_generated_documents() {
        const NOISE: &[u8] = b"{}[]:,\"\\ 0-.eE+tfnu\x01\xff";
        let mut r = rng::Rng(0x9e37_79b9_7f4a_7c15);
        let (mut valid, mut invalid, mut out_of_range) = (0, 0, 0);
        for n in 0..30_000 {
            let mut doc = String::new();
            gen_value(&mut r, 4, &mut doc);
            let mut body = doc.into_bytes();
            if n % 3 != 0 && !body.is_empty() {
                let at = r.below(body.len() as u64) as usize;
                match r.below(3) {
                    0 => {
                        body.remove(at);
                    }
                    1 => body.insert(at, NOISE[r.below(NOISE.len() as u64) as usize]),
                    _ => body[at] = NOISE[r.below(NOISE.len() as u64) as usize],
                }
            }
            let theirs = oracle::items(&body);
            let ours = JsonItems::parse(&body).map(|p| {
                p.iter(&body)
                    .map(|i| {
                        let value = String::from_utf8(i.value.to_vec()).unwrap();
                        let path = String::from_utf8(i.path.to_vec()).unwrap();
                        (path, i.is_key, i.is_string, value)
                    })
                    .collect::<Vec<_>>()
            });
            match (ours, theirs) {
                (Some(ours), Ok(theirs)) => {
                    valid += 1;
                    assert_eq!(ours.len(), theirs.len(), "{}", body.escape_ascii());
                    for (o, t) in ours.iter().zip(&theirs) {
                        assert!(
                            o.0 == t.0
                                && o.1 == t.1
                                && o.2 == t.2
                                && (o.2 && o.3 == t.3 || !o.2 && same_scalar(&o.3, &t.3)),
                            "{:?} against serde_json's {:?} in {}",
                            o,
                            t,
                            body.escape_ascii()
                        );
                    }
                }
                (None, Err(_)) => invalid += 1,
                // The one intended difference: a number beyond f64 (`1e400`) is valid
                // JSON, inspected as written; serde_json could not parse it to a float.
                (Some(_), Err(e)) if e.to_string().starts_with("number out of range") => {
                    out_of_range += 1
                }
                (ours, theirs) => panic!(
                    "{}: ours {}, serde_json {:?}",
                    body.escape_ascii(),
                    if ours.is_some() { "valid" } else { "invalid" },
                    theirs.map(|_| "valid")
                ),
            }
        }
        assert!(
            valid > 12_000 && invalid > 5_000 && out_of_range > 0,
            "{valid} valid, {invalid} invalid, {out_of_range} out of f64's range"
        );
    }

    /// The reference: serde_json's deserializer driving a visitor that collects what the
    /// parser does, pointers written out whole.
    mod oracle {
        use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
        use std::fmt;

        pub type Items = Vec<(String, bool, bool, String)>;

        pub fn items(body: &[u8]) -> Result<Items, serde_json::Error> {
            let mut out = Vec::new();
            let mut de = serde_json::Deserializer::from_slice(body);
            Node(&mut out, String::new()).deserialize(&mut de)?;
            de.end()?;
            Ok(out)
        }

        struct Node<'a>(&'a mut Items, String);

        impl<'de> DeserializeSeed<'de> for Node<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_any(self)
            }
        }

        impl Node<'_> {
            fn scalar(self, v: String, is_string: bool) {
                self.0.push((self.1, false, is_string, v));
            }
        }

        impl<'de> Visitor<'de> for Node<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<(), E> {
                self.scalar(v.to_string(), false);
                Ok(())
            }
            fn visit_i64<E>(self, v: i64) -> Result<(), E> {
                self.scalar(v.to_string(), false);
                Ok(())
            }
            fn visit_u64<E>(self, v: u64) -> Result<(), E> {
                self.scalar(v.to_string(), false);
                Ok(())
            }
            fn visit_f64<E>(self, v: f64) -> Result<(), E> {
                self.scalar(format!("{v:e}"), false);
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                self.scalar("null".into(), false);
                Ok(())
            }
            fn visit_str<E>(self, s: &str) -> Result<(), E> {
                self.scalar(s.into(), true);
                Ok(())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let mut i = 0;
                while seq
                    .next_element_seed(Node(&mut *self.0, format!("{}/{i}", self.1)))?
                    .is_some()
                {
                    i += 1;
                }
                Ok(())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(k) = map.next_key::<String>()? {
                    let path = format!("{}/{}", self.1, k.replace('~', "~0").replace('/', "~1"));
                    self.0.push((path.clone(), true, true, k));
                    map.next_value_seed(Node(&mut *self.0, path))?;
                }
                Ok(())
            }
        }
    }
}
