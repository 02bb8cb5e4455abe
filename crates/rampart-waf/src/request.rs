//! The WAF's view of a request and the fields statements inspect (`FieldToMatch`), parsed
//! lazily and at most once per request.

use crate::json_body::{JsonItem, JsonItems};
use std::cell::{Cell, OnceCell};
use std::net::IpAddr;

/// A request as the WAF sees it: the bytes as the client sent them (path and query not
/// decoded; rules decode with transformations), headers in arrival order, and the first
/// bytes of the body up to the web ACL's inspection limit.
#[derive(Debug, Clone)]
pub struct WafRequest<'a> {
    pub method: &'a str,
    /// The path as sent, without the query.
    pub uri_path: &'a [u8],
    /// The query string as sent, without the `?`.
    pub query: &'a [u8],
    /// Header names and values in arrival order (names in any case).
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// The body's first bytes (at most the inspection limit).
    pub body: &'a [u8],
    /// The body's whole size, when larger than `body` (e.g. from `Content-Length`).
    pub body_size: u64,
    /// The connection's peer address (the client's IP, or a trusted proxy's resolution).
    pub client_ip: IpAddr,
}

impl<'a> WafRequest<'a> {
    /// A request with no headers and no body.
    pub fn new(method: &'a str, uri_path: &'a [u8], query: &'a [u8], client_ip: IpAddr) -> Self {
        Self {
            method,
            uri_path,
            query,
            headers: Vec::new(),
            body: &[],
            body_size: 0,
            client_ip,
        }
    }
}

/// What an evaluation has learnt about one value (a header's name or value, a query
/// argument, a cookie, a JSON item, a single-valued field), kept with the value instead of
/// in maps keyed by its address: a value meets many statements.
#[derive(Default)]
pub(crate) struct ValueMemo {
    /// The value's trigger classes (`transform::classes`) once a statement asked for them:
    /// every statement with transformations asks.
    pub classes: Cell<Option<u32>>,
    /// The regex groups (by id, below 64) whose set has run on the value (after the group's
    /// transformations).
    pub ran: Cell<u64>,
    /// Of those, the groups with a pattern that matched (which ones: the evaluation's
    /// `regex_hits`).
    pub hit: Cell<u64>,
    /// The field sets (by id) already asked about the value (`compile::FieldSet`).
    pub field_sets: Cell<u64>,
}

/// Where the single-valued fields keep their memos in [`Parsed::fixed`].
pub(crate) const URI_PATH: usize = 0;
pub(crate) const QUERY: usize = 1;
pub(crate) const METHOD: usize = 2;
pub(crate) const BODY: usize = 3;
pub(crate) const HEADER_ORDER: usize = 4;

/// Per-evaluation caches of the parsed fields.
pub(crate) struct Parsed<'r, 'a> {
    pub req: &'r WafRequest<'a>,
    pub body_limit: usize,
    query_args: OnceCell<Vec<(&'a [u8], &'a [u8])>>,
    cookies: OnceCell<Vec<(Vec<u8>, Vec<u8>)>>,
    json: OnceCell<Option<JsonItems>>,
    header_order: OnceCell<Vec<u8>>,
    /// The memos of the single-valued fields (indexed by [`URI_PATH`] and the others).
    pub fixed: [ValueMemo; 5],
    /// The memos of each header's name (`2 * i`) and value (`2 * i + 1`).
    header_memos: OnceCell<Box<[ValueMemo]>>,
    /// The memos of each query argument's value.
    arg_memos: OnceCell<Box<[ValueMemo]>>,
    /// The memos of each cookie's name (`2 * i`) and value (`2 * i + 1`).
    cookie_memos: OnceCell<Box<[ValueMemo]>>,
}

fn memos(n: usize) -> Box<[ValueMemo]> {
    (0..n).map(|_| ValueMemo::default()).collect()
}

impl<'r, 'a> Parsed<'r, 'a> {
    pub fn new(req: &'r WafRequest<'a>, body_limit: usize) -> Self {
        Self {
            req,
            body_limit,
            query_args: OnceCell::new(),
            cookies: OnceCell::new(),
            json: OnceCell::new(),
            header_order: OnceCell::new(),
            fixed: Default::default(),
            header_memos: OnceCell::new(),
            arg_memos: OnceCell::new(),
            cookie_memos: OnceCell::new(),
        }
    }

    /// Where header `i`'s name (`2 * i`) and value (`2 * i + 1`) keep their memos.
    pub fn header_memos(&self) -> &[ValueMemo] {
        self.header_memos
            .get_or_init(|| memos(2 * self.req.headers.len()))
    }

    /// Where query argument `i`'s value keeps its memo.
    pub fn arg_memos(&self) -> &[ValueMemo] {
        self.arg_memos
            .get_or_init(|| memos(self.query_args().len()))
    }

    /// Where cookie `i`'s name (`2 * i`) and value (`2 * i + 1`) keep their memos.
    pub fn cookie_memos(&self) -> &[ValueMemo] {
        self.cookie_memos
            .get_or_init(|| memos(2 * self.cookies().len()))
    }

    /// The inspected part of the body.
    pub fn body(&self) -> &'a [u8] {
        let b = self.req.body;
        &b[..b.len().min(self.body_limit)]
    }

    /// The body is larger than the inspection limit.
    pub fn body_oversize(&self) -> bool {
        self.req.body_size.max(self.req.body.len() as u64) > self.body_limit as u64
    }

    /// The body's whole size.
    pub fn body_size(&self) -> u64 {
        self.req.body_size.max(self.req.body.len() as u64)
    }

    /// `name=value` pairs of the query, split on `&` and the first `=` (not decoded).
    pub fn query_args(&self) -> &[(&'a [u8], &'a [u8])] {
        self.query_args.get_or_init(|| {
            let q: &'a [u8] = self.req.query;
            q.split(|&c| c == b'&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.iter().position(|&c| c == b'=') {
                    Some(i) => (&p[..i], &p[i + 1..]),
                    None => (p, &p[p.len()..]),
                })
                .collect()
        })
    }

    /// Header values whose name equals `name` (ASCII case-insensitive).
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.req
            .headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// Cookies of every `Cookie` header, split on `;` and the first `=`, trimmed.
    pub fn cookies(&self) -> &[(Vec<u8>, Vec<u8>)] {
        self.cookies.get_or_init(|| {
            let mut out = Vec::new();
            for v in self.header_values("cookie") {
                for part in v.split(|&c| c == b';') {
                    let part = trim(part);
                    if part.is_empty() {
                        continue;
                    }
                    let (k, v) = match part.iter().position(|&c| c == b'=') {
                        Some(i) => (trim(&part[..i]), trim(&part[i + 1..])),
                        None => (part, &part[part.len()..]),
                    };
                    out.push((k.to_vec(), v.to_vec()));
                }
            }
            out
        })
    }

    /// The JSON body's keys and leaf values with their JSON Pointer paths, in document
    /// order (parsed once per request); `None` when the body is not valid JSON (or was cut
    /// off at the inspection limit).
    pub fn json_items(&self) -> Option<impl Iterator<Item = JsonItem<'_>>> {
        let items = self.json.get_or_init(|| JsonItems::parse(self.body()));
        Some(items.as_ref()?.iter(self.body()))
    }

    /// Header names in order, lowercased, joined by `:` (`HeaderOrder`).
    pub fn header_order(&self) -> &[u8] {
        self.header_order.get_or_init(|| {
            let mut out = Vec::new();
            for (i, (n, _)) in self.req.headers.iter().enumerate() {
                if i > 0 {
                    out.push(b':');
                }
                out.extend(n.bytes().map(|c| c.to_ascii_lowercase()));
            }
            out
        })
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}
