//! Which header fields cross the gateway toward an upstream and back.
//!
//! A request's fields are not edited in its map: a [`Rewrite`] says which of the client's
//! fields stay behind and which fields the gateway sets, and the HTTP/1.1 exchange applies
//! it as it writes the head (five inserts and a few removals per request were most of the
//! proxy's header work); an HTTP/2 request has it applied to its map.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that are about one connection and never cross a proxy.
pub const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The fields the gateway sets on every request, in the order they are written after the
/// client's (`host` goes first).
static FORWARDING: [HeaderName; 4] = [
    X_FORWARDED_HOST,
    X_FORWARDED_FOR,
    X_FORWARDED_PROTO,
    X_REQUEST_ID,
];

/// Request headers that tell a backend which path to serve instead of the request line's
/// (IIS, Symfony, Zend): the gateway routed and checked the canonical path, so the backend
/// must not be told another. Removed from every request.
pub const PATH_OVERRIDES: [&str; 2] = ["x-original-url", "x-rewrite-url"];

/// Request headers with which a proxy tells a backend the client's address, scheme, host,
/// port or base path, other than the `X-Forwarded-For`, `-Proto` and `-Host` the gateway
/// sets itself. Backends honour them (Spring's `ForwardedHeaderFilter`, Rails, nginx's
/// `real_ip`), so from a client that is not a trusted proxy they would be believed in place
/// of what the gateway saw. Removed unless the peer is a trusted proxy.
pub const CLIENT_FORWARDING: [&str; 10] = [
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
];

/// A token of a `Connection` header that names a hop-by-hop header (any case).
fn is_hop_by_hop(name: &[u8]) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|h| h.as_str().as_bytes().eq_ignore_ascii_case(name))
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped.
pub fn tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// The header names a `Connection` value lists (other than `close` and the hop-by-hop
/// names themselves), pushed onto `out`.
pub fn connection_named(v: &[u8], out: &mut Vec<HeaderName>) {
    for t in tokens(v) {
        if t.eq_ignore_ascii_case(b"close") || is_hop_by_hop(t) {
            continue;
        }
        if let Ok(n) = HeaderName::from_bytes(t) {
            out.push(n);
        }
    }
}

/// Removes the hop-by-hop fields and the ones `Connection` names (used on HTTP/2
/// responses; HTTP/1.1 heads leave them out as they are read).
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    // One pass over the distinct names finds the ones to remove (a bit each); most
    // messages have none, or only `connection`. Names are compared as `HeaderName`s:
    // well-known ones by their tag, without looking at bytes.
    let mut present = 0u16;
    for k in h.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|hop| hop == k) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    // No allocation unless `Connection` names fields.
    let mut named = Vec::new();
    for v in h.get_all(header::CONNECTION) {
        connection_named(v.as_bytes(), &mut named);
    }
    for name in named {
        h.remove(name);
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            h.remove(name);
        }
    }
}

/// What happens to a request's header fields on the way upstream.
///
/// Stay behind: the hop-by-hop fields and those `Connection` names, `Expect` (the gateway
/// answers `100-continue` itself), [`PATH_OVERRIDES`], [`CLIENT_FORWARDING`] unless the
/// peer is a trusted proxy, and the client's own `Host` and the four fields the gateway
/// sets: `X-Forwarded-Host` (the client's `Host`), `X-Forwarded-For` (the peer, after a
/// trusted proxy's chain), `X-Forwarded-Proto` and `X-Request-Id`.
pub struct Rewrite {
    /// Names the request's `Connection` fields list (usually none).
    named: Vec<HeaderName>,
    /// The peer is a trusted proxy: its client-forwarding fields stay.
    trusted: bool,
    /// The `Host` sent: the upstream's, or the client's when it is preserved (none when the
    /// client sent none and it is preserved).
    host: Option<HeaderValue>,
    /// Values of [`FORWARDING`] (`X-Forwarded-Host` absent without a client host).
    set: [Option<HeaderValue>; 4],
}

impl Rewrite {
    /// `client_host`: the client's `Host` (or its request target's authority).
    pub fn new(
        h: &HeaderMap,
        trusted: bool,
        host: Option<HeaderValue>,
        client_host: Option<HeaderValue>,
        forwarded_for: HeaderValue,
        tls: bool,
        request_id: HeaderValue,
    ) -> Self {
        let mut named = Vec::new();
        // Cheaper than a lookup by hash for the few fields of a request.
        for (k, v) in h {
            if k == header::CONNECTION {
                connection_named(v.as_bytes(), &mut named);
            }
        }
        let proto = HeaderValue::from_static(if tls { "https" } else { "http" });
        Self {
            named,
            trusted,
            host,
            set: [
                client_host,
                Some(forwarded_for),
                Some(proto),
                Some(request_id),
            ],
        }
    }

    /// Whether the client's field `k` goes upstream. `Content-Length` does: the HTTP/1.1
    /// exchange puts its own framing in its place, hyper's HTTP/2 client checks it against
    /// the body.
    pub fn keeps(&self, k: &HeaderName) -> bool {
        if k == header::HOST
            || k == header::EXPECT
            || HOP_BY_HOP.contains(k)
            || FORWARDING.contains(k)
        {
            return false;
        }
        let n = k.as_str();
        // Every name of both lists starts with one of these (most headers do not).
        if matches!(n.as_bytes().first(), Some(b'f' | b't' | b'x'))
            && (PATH_OVERRIDES.contains(&n) || (!self.trusted && CLIENT_FORWARDING.contains(&n)))
        {
            return false;
        }
        !self.named.contains(k)
    }

    /// The `Host` to send, if any.
    pub fn host(&self) -> Option<&HeaderValue> {
        self.host.as_ref()
    }

    /// The fields the gateway sets after the client's.
    pub fn forwarding(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        FORWARDING
            .iter()
            .zip(&self.set)
            .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
    }

    /// The rewrite applied to a map (an HTTP/2 request's).
    pub fn apply(&self, h: &mut HeaderMap) {
        let gone: Vec<HeaderName> = h.keys().filter(|k| !self.keeps(k)).cloned().collect();
        for k in gone {
            h.remove(k);
        }
        if let Some(v) = &self.host {
            h.insert(header::HOST, v.clone());
        }
        for (k, v) in self.forwarding() {
            h.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rewrite(h: &HeaderMap, trusted: bool) -> Rewrite {
        Rewrite::new(
            h,
            trusted,
            Some(HeaderValue::from_static("upstream.test")),
            Some(HeaderValue::from_static("api.test")),
            HeaderValue::from_static("192.0.2.1"),
            false,
            HeaderValue::from_static("rid"),
        )
    }

    #[test]
    fn client_forwarding_headers_stay_behind_by_name_in_any_case() {
        let names: Vec<&str> = PATH_OVERRIDES
            .iter()
            .chain(&CLIENT_FORWARDING)
            .copied()
            .collect();
        for trusted in [false, true] {
            let mut h = HeaderMap::new();
            for n in &names {
                if let Ok(name) = HeaderName::from_bytes(n.to_ascii_uppercase().as_bytes()) {
                    h.insert(name, HeaderValue::from_static("v"));
                }
            }
            assert_eq!(h.len(), names.len());
            h.insert("x-keep", HeaderValue::from_static("v"));
            h.insert("accept", HeaderValue::from_static("v"));
            let rw = rewrite(&h, trusted);
            for n in PATH_OVERRIDES {
                assert!(!rw.keeps(&HeaderName::from_static(n)), "{n}");
            }
            for n in CLIENT_FORWARDING {
                assert_eq!(
                    rw.keeps(&HeaderName::from_static(n)),
                    trusted,
                    "{n}, trusted: {trusted}"
                );
            }
            rw.apply(&mut h);
            for n in PATH_OVERRIDES {
                assert!(!h.contains_key(n), "{n}");
            }
            for n in CLIENT_FORWARDING {
                assert_eq!(h.contains_key(n), trusted, "{n}, trusted: {trusted}");
            }
            assert!(h.contains_key("x-keep") && h.contains_key("accept"));
        }
    }

    #[test]
    fn the_gateway_sets_host_and_forwarding_fields_in_place_of_the_clients() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("host", "api.test"),
            ("x-forwarded-host", "evil.test"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-request-id", "client-chosen"),
            ("expect", "100-continue"),
            ("content-length", "3"),
            ("accept", "*/*"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let rw = rewrite(&h, false);
        let kept: Vec<&str> = h
            .keys()
            .filter(|k| rw.keeps(k))
            .map(HeaderName::as_str)
            .collect();
        assert_eq!(kept, ["content-length", "accept"]);
        assert_eq!(rw.host().unwrap(), "upstream.test");
        let set: Vec<(&str, &str)> = rw
            .forwarding()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            set,
            [
                ("x-forwarded-host", "api.test"),
                ("x-forwarded-for", "192.0.2.1"),
                ("x-forwarded-proto", "http"),
                ("x-request-id", "rid"),
            ]
        );
        rw.apply(&mut h);
        let mut all: Vec<(&str, &str)> = h
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            [
                ("accept", "*/*"),
                ("content-length", "3"),
                ("host", "upstream.test"),
                ("x-forwarded-for", "192.0.2.1"),
                ("x-forwarded-host", "api.test"),
                ("x-forwarded-proto", "http"),
                ("x-request-id", "rid"),
            ]
        );
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed_in_any_case() {
        let fields = [
            ("connection", "Close, X-Hop,Keep-Alive"),
            ("connection", "x-other"),
            ("keep-alive", "timeout=5"),
            ("x-hop", "1"),
            ("x-other", "2"),
            ("upgrade", "h2c"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic eA=="),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authenticate", "Basic"),
            ("x-kept", "yes"),
            ("close", "a header that happens to be called close"),
        ];
        let mut h = HeaderMap::new();
        for (k, v) in fields {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        // A request's rewrite leaves the same fields behind.
        let rw = rewrite(&h, false);
        let mut kept: Vec<&str> = h
            .keys()
            .filter(|k| rw.keeps(k))
            .map(HeaderName::as_str)
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, ["close", "x-kept"]);

        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["close", "x-kept"], "{h:?}");

        // Without any hop-by-hop header nothing changes.
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        h.insert(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("1"),
        );
        let before = h.clone();
        strip_hop_by_hop(&mut h);
        assert_eq!(h, before);
    }
}
