//! Shared test helpers: vector files, a raw-HTTP parser for the signed-request
//! files, and a tiny test signer built on the public API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_sigv4::{
    canonical_request, compute_signature, parse, sha256, string_to_sign, Incoming, Options, Variant,
};

/// Secret of `AKIDEXAMPLE` in every vector.
pub const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, the time of every AWS suite vector.
pub const SUITE_TIME: u64 = 1_440_938_160;
pub const ZERO_SIG: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

pub fn suite_now() -> SystemTime {
    at(SUITE_TIME)
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap()
}

/// Options of the AWS suites: service `service`, region `us-east-1`.
pub fn suite_opts(normalize: bool) -> Options {
    Options {
        service: "service".into(),
        regions: vec!["us-east-1".into()],
        normalize,
        ..Options::default()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request as received: parsed from the suites' raw HTTP files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Request line (`METHOD TARGET VERSION`, the target may contain spaces),
    /// header lines (`Name:value`; lines starting with SP/HT continue the
    /// previous value, joined with one space), a blank line, then the body.
    pub fn parse(bytes: &[u8]) -> Self {
        let split = bytes.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(i) => (&bytes[..i], bytes[i + 2..].to_vec()),
            None => (bytes, Vec::new()),
        };
        let head = std::str::from_utf8(head).unwrap();
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let request_line = lines.next().unwrap();
        let (method, rest) = request_line.split_once(' ').unwrap();
        // `double-url-encode` has no HTTP version in its request line.
        let target = match rest.rsplit_once(' ') {
            Some((t, v)) if v.starts_with("HTTP/") => t,
            _ => rest,
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("continuation without header");
                last.1.push(b' ');
                last.1.extend_from_slice(line.as_bytes());
            } else if !line.is_empty() {
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_owned(), value.as_bytes().to_vec()));
            }
        }
        RawRequest {
            method: method.to_owned(),
            path,
            query,
            headers,
            body,
        }
    }

    pub fn from_file(path: &Path) -> Self {
        Self::parse(&read(path))
    }

    /// Runs `f` on the request as [`Incoming`], body hash known.
    pub fn with<R>(&self, f: impl FnOnce(&Incoming<'_>) -> R) -> R {
        self.with_payload(Some(sha256(&self.body)), f)
    }

    pub fn with_payload<R>(
        &self,
        payload: Option<[u8; 32]>,
        f: impl FnOnce(&Incoming<'_>) -> R,
    ) -> R {
        let pairs: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let req = Incoming {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &pairs,
            payload_sha256: payload,
        };
        f(&req)
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Replaces every header `name` by one with `value` (or appends it).
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_owned(), value.as_bytes().to_vec()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Test signer: the request carries a signature of 64 zeros (in its
/// `Authorization` header or `X-Amz-Signature` parameter); this computes the
/// real one with the public API and substitutes it.
pub fn resign(raw: &mut RawRequest, secret: &[u8], payload_hash: &str) {
    let sig = raw.with(|req| {
        let auth = parse(req).expect("parse before signing");
        let variant = Variant {
            payload_hash: payload_hash.to_owned(),
            presigned_token_signed: true,
        };
        let creq = canonical_request(req, &auth, &Options::default(), &variant).unwrap();
        compute_signature(secret, &auth, &string_to_sign(&auth, &creq))
    });
    if let Some(q) = raw.query.as_mut().filter(|q| q.contains(ZERO_SIG)) {
        *q = q.replace(ZERO_SIG, &sig);
        return;
    }
    for (name, value) in &mut raw.headers {
        if name.eq_ignore_ascii_case("authorization") {
            let v = String::from_utf8(value.clone()).unwrap();
            assert!(v.contains(ZERO_SIG));
            *value = v.replace(ZERO_SIG, &sig).into_bytes();
        }
    }
}

/// A header-form request for `execute-api`, signed with [`SECRET`] at
/// `amz_date` (`YYYYMMDD'T'HHMMSS'Z'`), signing `host;x-amz-date` plus
/// `extra_signed` (lowercase, must be present in `headers`).
pub fn signed_request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    amz_date: &str,
    region: &str,
    extra_signed: &[&str],
) -> RawRequest {
    let mut text =
        format!("{method} {target} HTTP/1.1\nHost:api.example.test\nX-Amz-Date:{amz_date}\n");
    for (n, v) in headers {
        text.push_str(&format!("{n}:{v}\n"));
    }
    let mut signed: Vec<&str> = vec!["host", "x-amz-date"];
    signed.extend_from_slice(extra_signed);
    signed.sort_unstable();
    text.push_str(&format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/{region}/execute-api/aws4_request, SignedHeaders={}, Signature={ZERO_SIG}\n\n",
        &amz_date[..8],
        signed.join(";")
    ));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    let mut raw = RawRequest::parse(&bytes);
    let payload = match raw.header("x-amz-content-sha256") {
        Some(v) if extra_signed.contains(&"x-amz-content-sha256") => {
            String::from_utf8(v.to_vec()).unwrap()
        }
        _ => hex(&sha256(body)),
    };
    resign(&mut raw, SECRET, &payload);
    raw
}

/// Minimal reader for the flat `context.json` files: the value after
/// `"key":`, either a bare word (`true`, `3600`) or a string.
pub fn json_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        return Some(s[..s.find('"')?].to_owned());
    }
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

pub fn json_flag(json: &str, key: &str) -> Option<bool> {
    json_field(json, key).map(|v| v == "true")
}

/// The `Signature=` value of an `Authorization` header.
pub fn authz_signature(raw: &RawRequest) -> String {
    let v = String::from_utf8(raw.header("authorization").unwrap().to_vec()).unwrap();
    v.split("Signature=").nth(1).unwrap().trim().to_owned()
}

/// Sorted list of `*.{ext}` files below `dir` (recursive).
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Strips one trailing newline (some expected-output files end with one).
pub fn strip_nl(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}
