//! Tampering: for a set of signed vectors, every single-byte change (XOR 1)
//! of the method, path, query, each signed header value, the body (when it
//! is hashed), and the signature must make verification fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::SystemTime;

use common::*;
use rampart_sigv4::{parse, verify, Form, Options, SigError};

struct Target {
    file: &'static str,
    opts: Options,
    now: SystemTime,
}

fn botocore_opts() -> Options {
    Options {
        regions: vec!["eu-west-1".into()],
        ..Options::default()
    }
}

/// Vectors without `//` or dot segments in the path (where a flip can yield
/// an equivalent spelling by design, e.g. `/./` → `///`), and without an
/// unsigned session token (which may change by design).
fn targets() -> Vec<Target> {
    let suite = |file| Target {
        file,
        opts: suite_opts(true),
        now: suite_now(),
    };
    let boto = |file| Target {
        file,
        opts: botocore_opts(),
        now: at(1_709_251_199),
    };
    vec![
        suite("classic/get-vanilla-query-order-key/get-vanilla-query-order-key.sreq"),
        suite("classic/get-vanilla-query-order-encoded/get-vanilla-query-order-encoded.sreq"),
        suite("classic/get-header-value-trim/get-header-value-trim.sreq"),
        suite("classic/get-header-key-duplicate/get-header-key-duplicate.sreq"),
        suite("classic/get-header-value-multiline/get-header-value-multiline.sreq"),
        suite("classic/get-utf8/get-utf8.sreq"),
        suite("classic/normalize-path/get-special-character/get-special-character.sreq"),
        suite("classic/post-x-www-form-urlencoded-parameters/post-x-www-form-urlencoded-parameters.sreq"),
        suite("classic/post-sts-token/post-sts-header-before/post-sts-header-before.sreq"),
        suite("crt/v4/post-x-www-form-urlencoded/header-signed-request.txt"),
        suite("crt/v4/post-x-www-form-urlencoded/query-signed-request.txt"),
        suite("crt/v4/get-vanilla-query-order-encoded/query-signed-request.txt"),
        suite("crt/v4/get-vanilla-utf8-query/query-signed-request.txt"),
        suite("crt/v4/get-header-value-multiline/query-signed-request.txt"),
        suite("crt/v4/get-vanilla-with-session-token/query-signed-request.txt"),
        suite("crt/v4/post-sts-header-before/query-signed-request.txt"),
        boto("botocore/post-json-query.sreq"),
        boto("botocore/put-binary-body.sreq"),
        boto("botocore/get-encoded-path-token.sreq"),
        boto("botocore/presigned-get-token.sreq"),
    ]
}

fn check(raw: &RawRequest, t: &Target) -> Result<(), SigError> {
    raw.with(|req| parse(req).and_then(|auth| verify(req, &auth, SECRET, t.now, &t.opts)))
}

/// Every string obtained by flipping one byte of `s` that is still UTF-8
/// (`Incoming` carries the method, path and query as `&str`, as hyper does).
fn str_flips(s: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut unrepresentable = 0;
    for i in 0..s.len() {
        let mut b = s.as_bytes().to_vec();
        b[i] ^= 1;
        match String::from_utf8(b) {
            Ok(v) => out.push(v),
            Err(_) => unrepresentable += 1,
        }
    }
    (out, unrepresentable)
}

#[test]
fn every_single_byte_change_is_rejected() {
    let mut total = 0;
    let mut mismatches = 0;
    for t in targets() {
        let name = t.file;
        let base = RawRequest::from_file(&data_dir().join(name));
        check(&base, &t).unwrap_or_else(|e| panic!("{name}: baseline must verify: {e}"));
        let auth = base.with(|req| parse(req).unwrap());
        let mut variants: Vec<(String, RawRequest)> = Vec::new();

        for m in str_flips(&base.method).0 {
            variants.push((
                format!("method {m:?}"),
                RawRequest {
                    method: m,
                    ..base.clone()
                },
            ));
        }
        let (paths, _) = str_flips(&base.path);
        for p in paths {
            variants.push((
                format!("path {p:?}"),
                RawRequest {
                    path: p,
                    ..base.clone()
                },
            ));
        }
        if let Some(q) = &base.query {
            for q in str_flips(q).0 {
                variants.push((
                    format!("query {q:?}"),
                    RawRequest {
                        query: Some(q),
                        ..base.clone()
                    },
                ));
            }
        }
        let signed = auth.signed_headers();
        for (i, (hname, value)) in base.headers.iter().enumerate() {
            let lower = hname.to_ascii_lowercase();
            if lower == "authorization" {
                // Every byte except the access key id, which is not covered by
                // the signature: it only selects the secret.
                let v = String::from_utf8(value.clone()).unwrap();
                let akid = v.find("Credential=AKIDEXAMPLE").unwrap() + "Credential=".len();
                for j in (0..value.len()).filter(|j| !(akid..akid + 11).contains(j)) {
                    let mut r = base.clone();
                    r.headers[i].1[j] ^= 1;
                    variants.push((format!("authorization byte {j}"), r));
                }
            } else if signed.contains(&lower) {
                for j in 0..value.len() {
                    let mut r = base.clone();
                    r.headers[i].1[j] ^= 1;
                    variants.push((format!("header {hname} byte {j}"), r));
                }
            }
        }
        for j in 0..base.body.len() {
            let mut r = base.clone();
            r.body[j] ^= 1;
            variants.push((format!("body byte {j}"), r));
        }
        let mut longer = base.clone();
        longer.body.push(b'x');
        variants.push(("body + 1 byte".into(), longer));

        // The signature itself: each of its 64 hex digits.
        let sig_variants = signature_flips(&base, auth.form());
        assert_eq!(sig_variants.len(), 64, "{name}");
        for (hex_digit_kept, r) in sig_variants {
            let result = check(&r, &t);
            if hex_digit_kept {
                assert_eq!(
                    result,
                    Err(SigError::SignatureMismatch),
                    "{name}: signature flip"
                );
            } else {
                assert!(
                    matches!(result, Err(SigError::Malformed(_))),
                    "{name}: non-hex signature"
                );
            }
            total += 1;
        }

        for (what, r) in &variants {
            let result = check(r, &t);
            assert!(result.is_err(), "{name}: {what} was accepted");
            if result == Err(SigError::SignatureMismatch) {
                mismatches += 1;
            }
            total += 1;
        }
    }
    eprintln!("tampered variants: {total}, of which signature mismatches: {mismatches}");
    assert!(total > 5_000, "{total} variants");
    assert!(mismatches > 2_000, "{mismatches} signature mismatches");
}

/// (flip kept a lowercase hex digit, request) for each signature digit.
fn signature_flips(base: &RawRequest, form: Form) -> Vec<(bool, RawRequest)> {
    let mut out = Vec::new();
    for j in 0..64 {
        let mut r = base.clone();
        let digit;
        match form {
            Form::Presigned => {
                let q = r.query.as_mut().unwrap();
                let at = q.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len() + j;
                let mut b = std::mem::take(q).into_bytes();
                b[at] ^= 1;
                digit = b[at];
                *q = String::from_utf8(b).unwrap();
            }
            Form::Header => {
                let i = r
                    .headers
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                    .unwrap();
                let v = &mut r.headers[i].1;
                let at = v.windows(10).position(|w| w == b"Signature=").unwrap() + 10 + j;
                v[at] ^= 1;
                digit = v[at];
            }
        }
        out.push((digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit), r));
    }
    out
}

/// What the signature does *not* cover, by design: unsigned headers and a
/// session token added after signing (`post-sts-header-after`).
#[test]
fn unsigned_parts_may_change() {
    let t = Target {
        file: "",
        opts: suite_opts(true),
        now: suite_now(),
    };
    let mut raw = RawRequest::from_file(&data_dir().join("classic/get-vanilla/get-vanilla.sreq"));
    raw.set_header("User-Agent", "anything");
    check(&raw, &t).unwrap();

    let mut raw = RawRequest::from_file(
        &data_dir().join("classic/post-sts-token/post-sts-header-after/post-sts-header-after.sreq"),
    );
    raw.set_header("X-Amz-Security-Token", "AnotherToken");
    check(&raw, &t).unwrap();
    assert_eq!(
        raw.with(|req| parse(req).unwrap().session_token().map(str::to_owned)),
        Some("AnotherToken".into())
    );
}
