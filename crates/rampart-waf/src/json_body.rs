//! The JSON body's keys and leaf values (`JsonBody`), collected in one streaming pass.
//!
//! The parser hands each key and string to a visitor that records where it is instead of
//! building a document tree: strings without escapes are slices of the body itself, the
//! rest (unescaped strings, the text of numbers, booleans and `null`) lives in one buffer.
//! Items come in document order, duplicate keys included (a tree keeps one of them; the WAF
//! inspects them all).
//!
//! An item's JSON Pointer is not stored whole: each key and array index is one segment
//! (its escaped text and its parent's segment), and a pointer is put together only when
//! asked for (a path filter, a match to report). Storing whole pointers would let a long key
//! over many array elements turn a 16 KB body into megabytes of copies.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;

/// The items of a valid JSON body.
pub(crate) struct JsonItems {
    /// Unescaped strings, scalars' text and path segments.
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
    /// The key, the string's content, or the scalar's JSON text.
    pub value: &'p [u8],
}

struct Item {
    path: SegmentId,
    value: Span,
    is_key: bool,
    is_string: bool,
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
        // Leaf first, then reversed: the nesting depth is bounded by the parser (128).
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
    /// `None` when `body` is not one valid JSON value (surrounding whitespace allowed).
    pub fn parse(body: &[u8]) -> Option<JsonItems> {
        let mut c = Collector {
            body,
            path: ROOT,
            out: JsonItems {
                text: Vec::new(),
                items: Vec::with_capacity(32),
                segments: Vec::with_capacity(32),
            },
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        Node(&mut c).deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(c.out)
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
        })
    }
}

struct Collector<'b> {
    body: &'b [u8],
    /// The current JSON Pointer.
    path: SegmentId,
    out: JsonItems,
}

impl Collector<'_> {
    fn push(&mut self, value: Span, is_key: bool, is_string: bool) {
        self.out.items.push(Item {
            path: self.path,
            value,
            is_key,
            is_string,
        });
    }

    /// Where `s` is: in the body when the parser lent it from there, else copied.
    fn span(&mut self, s: &str) -> Span {
        let (base, p) = (self.body.as_ptr() as usize, s.as_ptr() as usize);
        match p.checked_sub(base) {
            Some(at) if at + s.len() <= self.body.len() => Span::Body(at..at + s.len()),
            _ => self.text(s.as_bytes()),
        }
    }

    fn text(&mut self, b: &[u8]) -> Span {
        let start = self.out.text.len();
        self.out.text.extend_from_slice(b);
        Span::Text(start..self.out.text.len())
    }

    fn scalar(&mut self, args: fmt::Arguments<'_>) {
        use std::io::Write;
        let start = self.out.text.len();
        // Writing to a Vec cannot fail.
        let _ = self.out.text.write_fmt(args);
        self.push(Span::Text(start..self.out.text.len()), false, false);
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

    /// Enters the member `k` (escaped: `~` is `~0`, `/` is `~1`).
    fn enter_key(&mut self, k: &str) {
        self.enter(|text| {
            for &b in k.as_bytes() {
                match b {
                    b'~' => text.extend_from_slice(b"~0"),
                    b'/' => text.extend_from_slice(b"~1"),
                    b => text.push(b),
                }
            }
        });
    }
}

/// A value at the collector's current path.
struct Node<'c, 'b>(&'c mut Collector<'b>);

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.scalar(format_args!("{v}"));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.scalar(format_args!("{v}"));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.scalar(format_args!("{v}"));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // The text serde_json gives a number it parsed as a float (`10.99`, `1e+300`, `2.0`).
        match serde_json::Number::from_f64(v) {
            Some(n) => self.0.scalar(format_args!("{n}")),
            None => self.0.scalar(format_args!("null")),
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.scalar(format_args!("null"));
        Ok(())
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
        let span = self.0.span(s);
        self.0.push(span, false, true);
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        let span = self.0.text(s.as_bytes());
        self.0.push(span, false, true);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let c = self.0;
        let parent = c.path;
        let mut i = 0usize;
        loop {
            c.path = parent;
            c.enter(|text| text.extend_from_slice(itoa(i, &mut [0u8; 20])));
            let more = seq.next_element_seed(Node(&mut *c))?;
            if more.is_none() {
                // The segment made for an element that was not there stays unused.
                break;
            }
            i += 1;
        }
        c.path = parent;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        let parent = c.path;
        while map.next_key_seed(Key(&mut *c))?.is_some() {
            map.next_value_seed(Node(&mut *c))?;
            c.path = parent;
        }
        c.path = parent;
        Ok(())
    }
}

/// A member's key: recorded as an item at the member's path, which it leaves as the
/// collector's current path for the value.
struct Key<'c, 'b>(&'c mut Collector<'b>);

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
        self.0.enter_key(s);
        let span = self.0.span(s);
        self.0.push(span, true, true);
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.0.enter_key(s);
        let span = self.0.text(s.as_bytes());
        self.0.push(span, true, true);
        Ok(())
    }
}

/// `n` in decimal, in `buf`.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
                item("/n/2", false, false, "1e+300"),
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
        ] {
            assert!(JsonItems::parse(body).is_none(), "{}", body.escape_ascii());
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(
            JsonItems::parse(deep.as_bytes()).is_none(),
            "nesting is limited"
        );
    }
}
