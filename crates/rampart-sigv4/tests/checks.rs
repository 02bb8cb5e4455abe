//! Policy checks around the signature: secret, clock, presigned expiry,
//! scope, malformed and missing authentication, session tokens, payload
//! hashes, error texts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use rampart_sigv4::{
    debug_canonical_request, parse, sha256, variants, verify, Auth, Form, Options, SigError,
    UNSIGNED_PAYLOAD,
};

fn classic(case: &str) -> RawRequest {
    let path = files_with_ext(&data_dir().join("classic"), "sreq")
        .into_iter()
        .find(|p| p.file_stem().unwrap() == case)
        .unwrap();
    RawRequest::from_file(&path)
}

fn crt(case: &str, form: &str) -> RawRequest {
    RawRequest::from_file(&data_dir().join(format!("crt/v4/{case}/{form}-signed-request.txt")))
}

fn parse_raw(raw: &RawRequest) -> Result<Auth, SigError> {
    raw.with(parse)
}

fn verify_raw(
    raw: &RawRequest,
    secret: &[u8],
    now: std::time::SystemTime,
    opts: &Options,
) -> Result<(), SigError> {
    raw.with(|req| parse(req).and_then(|auth| verify(req, &auth, secret, now, opts)))
}

fn suite(raw: &RawRequest) -> Result<(), SigError> {
    verify_raw(raw, SECRET, suite_now(), &suite_opts(true))
}

#[test]
fn wrong_secret_is_a_mismatch() {
    for raw in [
        classic("get-vanilla"),
        crt("get-vanilla", "header"),
        crt("get-vanilla", "query"),
    ] {
        suite(&raw).unwrap();
        for secret in [
            &b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"[..],
            b"",
            b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY ",
        ] {
            assert_eq!(
                verify_raw(&raw, secret, suite_now(), &suite_opts(true)),
                Err(SigError::SignatureMismatch)
            );
        }
    }
}

#[test]
fn header_form_clock_skew() {
    let opts = suite_opts(true);
    for raw in [
        classic("get-vanilla"),
        crt("post-x-www-form-urlencoded", "header"),
    ] {
        for (offset, ok) in [
            (0i64, true),
            (299, true),
            (-299, true),
            (300, true),
            (-300, true),
            (301, false),
            (-301, false),
            (86_400, false),
            (-86_400, false),
        ] {
            let now = at(SUITE_TIME.checked_add_signed(offset).unwrap());
            let result = verify_raw(&raw, SECRET, now, &opts);
            if ok {
                assert_eq!(result, Ok(()), "offset {offset}");
            } else {
                assert_eq!(result, Err(SigError::ClockSkew), "offset {offset}");
            }
        }
        // A custom window.
        let tight = Options {
            max_skew: Duration::from_secs(10),
            ..opts.clone()
        };
        assert_eq!(
            verify_raw(&raw, SECRET, at(SUITE_TIME + 10), &tight),
            Ok(())
        );
        assert_eq!(
            verify_raw(&raw, SECRET, at(SUITE_TIME + 11), &tight),
            Err(SigError::ClockSkew)
        );
        // Sub-second precision of `now` counts.
        let just_over = at(SUITE_TIME + 300) + Duration::from_millis(1);
        assert_eq!(
            verify_raw(&raw, SECRET, just_over, &opts),
            Err(SigError::ClockSkew)
        );
    }
}

#[test]
fn presigned_validity_window() {
    let opts = suite_opts(true);
    let raw = crt("get-vanilla", "query");
    let auth = parse_raw(&raw).unwrap();
    assert_eq!(auth.form(), Form::Presigned);
    assert_eq!(auth.expires(), Some(Duration::from_secs(3600)));
    assert_eq!(auth.timestamp(), suite_now());
    for (offset, expected) in [
        (0i64, Ok(())),
        (3_599, Ok(())),
        (3_600, Ok(())),
        (3_601, Err(SigError::Expired)),
        (86_400, Err(SigError::Expired)),
        (-299, Ok(())),
        (-300, Ok(())),
        (-301, Err(SigError::ClockSkew)),
    ] {
        let now = at(SUITE_TIME.checked_add_signed(offset).unwrap());
        assert_eq!(
            verify_raw(&raw, SECRET, now, &opts),
            expected,
            "offset {offset}"
        );
    }
}

/// Presigned request for `execute-api` re-signed with other parameters.
fn presigned(expires: &str, payload_hash: &str, body: &[u8]) -> RawRequest {
    let text = format!(
        "POST /prod/upload?a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={ZERO_SIG} HTTP/1.1\nHost:api.example.test\n\n"
    );
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    let mut raw = RawRequest::parse(&bytes);
    resign(&mut raw, SECRET, payload_hash);
    raw
}

#[test]
fn presigned_expires_limits() {
    let opts = Options::default();
    let week = 604_800;
    let raw = presigned("604800", &hex(&sha256(b"")), b"");
    assert_eq!(
        parse_raw(&raw).unwrap().expires(),
        Some(Duration::from_secs(week))
    );
    assert_eq!(
        verify_raw(&raw, SECRET, at(SUITE_TIME + week), &opts),
        Ok(())
    );
    assert_eq!(
        verify_raw(&raw, SECRET, at(SUITE_TIME + week + 1), &opts),
        Err(SigError::Expired)
    );
    for bad in [
        "604801",
        "0",
        "",
        "-1",
        "+60",
        "3600s",
        "99999999999999999999",
        " 60",
    ] {
        let mut raw = crt("get-vanilla", "query");
        let q = raw
            .query
            .take()
            .unwrap()
            .replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={bad}"));
        raw.query = Some(q);
        assert!(
            matches!(parse_raw(&raw), Err(SigError::Malformed(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn scope_region_and_service() {
    let raw = classic("get-vanilla");
    let with = |regions: &[&str], service: &str| Options {
        service: service.into(),
        regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        ..Options::default()
    };
    let v = |o: &Options| verify_raw(&raw, SECRET, suite_now(), o);
    assert_eq!(
        v(&with(&[], "service")),
        Ok(()),
        "empty region list allows any"
    );
    assert_eq!(v(&with(&["eu-west-1", "us-east-1"], "service")), Ok(()));
    assert_eq!(
        v(&with(&["eu-west-1"], "service")),
        Err(SigError::RegionNotAllowed)
    );
    assert_eq!(
        v(&with(&["US-EAST-1"], "service")),
        Err(SigError::RegionNotAllowed)
    );
    assert_eq!(v(&with(&[], "execute-api")), Err(SigError::ServiceMismatch));
    assert_eq!(v(&Options::default()), Err(SigError::ServiceMismatch));
    assert_eq!(v(&with(&[], "Service")), Err(SigError::ServiceMismatch));
}

const SIG: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const CRED: &str = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

#[test]
fn malformed_authorization_headers() {
    let good = format!("AWS4-HMAC-SHA256 {CRED}, SignedHeaders=host;x-amz-date, Signature={SIG}");
    let mut raw = classic("get-vanilla");
    raw.set_header("Authorization", &good);
    suite(&raw).unwrap();
    let sig_upper = SIG.to_uppercase();
    let table: Vec<(&str, String)> = vec![
        (
            "other algorithm",
            good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
        ),
        (
            "SigV4a",
            good.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        ),
        ("other scheme", "Bearer abc.def.ghi".into()),
        ("empty", String::new()),
        ("algorithm only", "AWS4-HMAC-SHA256".into()),
        (
            "bad terminator",
            good.replace("aws4_request", "aws5_request"),
        ),
        (
            "scope too short",
            good.replace("/service/aws4_request", "/aws4_request"),
        ),
        (
            "scope too long",
            good.replace("aws4_request", "aws4_request/x"),
        ),
        ("empty access key", good.replace("AKIDEXAMPLE", "")),
        (
            "access key with space",
            good.replace("AKIDEXAMPLE", "AKID EXAMPLE"),
        ),
        ("empty region", good.replace("us-east-1", "")),
        ("bad scope date", good.replace("/20150830/", "/2015083/")),
        (
            "impossible scope date",
            good.replace("/20150830/", "/20150230/"),
        ),
        (
            "scope date differs from X-Amz-Date",
            good.replace("/20150830/", "/20150831/"),
        ),
        ("short signature", good.replace(SIG, &SIG[1..])),
        ("long signature", good.replace(SIG, &format!("{SIG}0"))),
        ("uppercase hex", good.replace(SIG, &sig_upper)),
        ("non-hex signature", good.replace(SIG, &"zz".repeat(32))),
        ("empty signature", good.replace(SIG, "")),
        (
            "no SignedHeaders",
            format!("AWS4-HMAC-SHA256 {CRED}, Signature={SIG}"),
        ),
        (
            "no Signature",
            format!("AWS4-HMAC-SHA256 {CRED}, SignedHeaders=host;x-amz-date"),
        ),
        (
            "no Credential",
            format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={SIG}"),
        ),
        ("repeated Signature", format!("{good}, Signature={SIG}")),
        ("unknown component", format!("{good}, Foo=bar")),
        ("trailing comma", format!("{good},")),
        ("space around =", good.replace("Signature=", "Signature = ")),
        (
            "host not signed",
            good.replace("host;x-amz-date", "x-amz-date"),
        ),
        (
            "x-amz-date not signed",
            good.replace("host;x-amz-date", "host"),
        ),
        (
            "unsorted SignedHeaders",
            good.replace("host;x-amz-date", "x-amz-date;host"),
        ),
        (
            "uppercase SignedHeaders",
            good.replace("host;x-amz-date", "Host;X-Amz-Date"),
        ),
        (
            "repeated signed header",
            good.replace("host;x-amz-date", "host;host;x-amz-date"),
        ),
        (
            "empty signed header",
            good.replace("host;x-amz-date", "host;;x-amz-date"),
        ),
        (
            "authorization signed",
            good.replace("host;x-amz-date", "authorization;host;x-amz-date"),
        ),
        (
            "signed header absent",
            good.replace("host;x-amz-date", "host;my-header;x-amz-date"),
        ),
    ];
    assert!(table.len() >= 10);
    for (what, value) in &table {
        let mut raw = classic("get-vanilla");
        raw.set_header("Authorization", value);
        match parse_raw(&raw) {
            Err(SigError::Malformed(reason)) => assert!(!reason.contains(SIG), "{what}"),
            other => panic!("{what}: expected Malformed, got {other:?}"),
        }
    }
    // Not ASCII.
    let mut raw = classic("get-vanilla");
    raw.headers
        .push(("Authorization".into(), format!("{good}\u{e9}").into_bytes()));
    raw.headers
        .retain(|(n, v)| n != "Authorization" || v.len() != good.len());
    assert!(matches!(parse_raw(&raw), Err(SigError::Malformed(_))));
}

#[test]
fn malformed_request_around_the_header() {
    let expect_malformed = |raw: &RawRequest, what: &str| {
        assert!(
            matches!(parse_raw(raw), Err(SigError::Malformed(_))),
            "{what}: {:?}",
            parse_raw(raw)
        );
    };
    let base = classic("get-vanilla");
    let authz = String::from_utf8(base.header("authorization").unwrap().to_vec()).unwrap();

    let mut raw = base.clone();
    raw.headers
        .push(("authorization".into(), authz.clone().into_bytes()));
    expect_malformed(&raw, "two Authorization headers");

    let mut raw = base.clone();
    raw.remove_header("X-Amz-Date");
    expect_malformed(&raw, "no X-Amz-Date header");

    let mut raw = base.clone();
    raw.headers
        .push(("x-amz-date".into(), b"20150830T123600Z".to_vec()));
    expect_malformed(&raw, "two X-Amz-Date headers");

    for bad in [
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20150830T246000Z",
        "Sun, 30 Aug 2015 12:36:00 GMT",
    ] {
        let mut raw = base.clone();
        raw.set_header("X-Amz-Date", bad);
        expect_malformed(&raw, bad);
    }

    let mut raw = base.clone();
    raw.query = Some(format!("X-Amz-Signature={SIG}"));
    expect_malformed(&raw, "both forms");
    let mut raw = crt("get-vanilla", "query");
    raw.set_header("Authorization", &authz);
    expect_malformed(&raw, "both forms (presigned + header)");

    let mut raw = classic("get-vanilla-with-session-token");
    raw.headers
        .push(("X-Amz-Security-Token".into(), b"second".to_vec()));
    expect_malformed(&raw, "two session tokens");

    let mut raw = base.clone();
    raw.path = "example/".into();
    assert!(matches!(
        verify_raw(&raw, SECRET, suite_now(), &suite_opts(true)),
        Err(SigError::Malformed(_))
    ));
}

#[test]
fn malformed_presigned_queries() {
    let base = crt("get-vanilla", "query");
    let q = base.query.clone().unwrap();
    let edits: Vec<(&str, String)> = vec![
        (
            "duplicate X-Amz-Date",
            format!("{q}&X-Amz-Date=20150830T123600Z"),
        ),
        (
            "duplicate X-Amz-Signature",
            format!("{q}&X-Amz-Signature={SIG}"),
        ),
        (
            "duplicate (encoded name)",
            format!("{q}&X-Amz-Sig%6Eature={SIG}"),
        ),
        ("no X-Amz-Expires", q.replace("&X-Amz-Expires=3600", "")),
        (
            "no X-Amz-Date",
            q.replace("&X-Amz-Date=20150830T123600Z", ""),
        ),
        (
            "no X-Amz-Algorithm",
            q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""),
        ),
        (
            "no X-Amz-Signature",
            q.split("&X-Amz-Signature").next().unwrap().to_owned(),
        ),
        (
            "no X-Amz-SignedHeaders",
            q.replace("&X-Amz-SignedHeaders=host", ""),
        ),
        (
            "no X-Amz-Credential",
            q.replace("X-Amz-Credential=", "X-Amz-Credentials="),
        ),
        (
            "other algorithm",
            q.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
        ),
        (
            "host not signed",
            q.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"),
        ),
        ("bad credential", q.replace("%2Faws4_request", "%2Faws4")),
        (
            "bad percent-encoding",
            q.replace("%2F20150830", "%G220150830"),
        ),
        (
            "scope date mismatch",
            q.replace("X-Amz-Date=20150830T", "X-Amz-Date=20150831T"),
        ),
        (
            "non-hex signature",
            q.replace("X-Amz-Signature=", "X-Amz-Signature=g"),
        ),
    ];
    for (what, query) in edits {
        let raw = RawRequest {
            query: Some(query),
            ..base.clone()
        };
        assert!(
            matches!(parse_raw(&raw), Err(SigError::Malformed(_))),
            "{what}: {:?}",
            parse_raw(&raw)
        );
    }
    // Parameter names are case-sensitive: lowercase ones are ordinary
    // parameters, so the request has no authentication at all.
    let raw = RawRequest {
        query: Some(q.replace("X-Amz-", "x-amz-")),
        ..base.clone()
    };
    assert_eq!(parse_raw(&raw).unwrap_err(), SigError::Missing);
}

#[test]
fn missing_authentication() {
    let mut raw = classic("get-vanilla");
    raw.remove_header("Authorization");
    assert_eq!(parse_raw(&raw).unwrap_err(), SigError::Missing);
    // X-Amz-Date / token / expires alone do not make a presigned request,
    // nor do undecodable parameter names.
    raw.query = Some(
        "a=1&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-Security-Token=t&b%zz=1".into(),
    );
    assert_eq!(parse_raw(&raw).unwrap_err(), SigError::Missing);
    let bare = RawRequest::parse(b"GET / HTTP/1.1\nHost:x\n\n");
    assert_eq!(parse_raw(&bare).unwrap_err(), SigError::Missing);
    assert_eq!(SigError::Missing.to_string(), "missing authentication");
}

#[test]
fn session_token_passes_through() {
    let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    for form in ["header", "query"] {
        for case in ["post-sts-header-before", "post-sts-header-after"] {
            let raw = crt(case, form);
            let auth = parse_raw(&raw).unwrap();
            assert_eq!(
                auth.session_token(),
                Some(token),
                "{case}/{form}: decoded from %2F %2B %3D"
            );
            suite(&raw).unwrap();
        }
    }
    // Presigned + token: both canonical variants are tried (signed first).
    let raw = crt("post-sts-header-after", "query");
    let n = raw.with(|req| {
        let auth = parse(req).unwrap();
        variants(req, &auth, &suite_opts(true)).unwrap()
    });
    let empty = hex(&sha256(b""));
    let got: Vec<(&str, bool)> = n
        .iter()
        .map(|v| (v.payload_hash.as_str(), v.presigned_token_signed))
        .collect();
    // Empty body: the body hash, then UNSIGNED-PAYLOAD (S3-style presigners).
    assert_eq!(
        got,
        [
            (empty.as_str(), true),
            (empty.as_str(), false),
            (UNSIGNED_PAYLOAD, true),
            (UNSIGNED_PAYLOAD, false)
        ]
    );
    let raw = crt("get-vanilla", "query");
    assert_eq!(parse_raw(&raw).unwrap().session_token(), None);
}

#[test]
fn body_hash_is_required_for_the_header_form() {
    let raw = signed_request(
        "POST",
        "/prod/pets?b=2&a=1",
        &[("Content-Type", "application/json")],
        br#"{"x":1}"#,
        "20150830T123600Z",
        "us-east-1",
        &["content-type"],
    );
    let opts = Options::default();
    assert_eq!(verify_raw(&raw, SECRET, suite_now(), &opts), Ok(()));
    let unknown = raw.with_payload(None, |req| {
        let auth = parse(req).unwrap();
        verify(req, &auth, SECRET, suite_now(), &opts)
    });
    assert_eq!(unknown, Err(SigError::PayloadHashRequired));
    let other_body = raw.with_payload(Some(sha256(b"{\"x\":2}")), |req| {
        let auth = parse(req).unwrap();
        verify(req, &auth, SECRET, suite_now(), &opts)
    });
    assert_eq!(other_body, Err(SigError::SignatureMismatch));
    // Not even UNSIGNED-PAYLOAD is tried for the header form without the header.
    let allow = Options {
        allow_unsigned_payload: true,
        ..Options::default()
    };
    let unknown = raw.with_payload(None, |req| {
        let auth = parse(req).unwrap();
        verify(req, &auth, SECRET, suite_now(), &allow)
    });
    assert_eq!(unknown, Err(SigError::PayloadHashRequired));
}

#[test]
fn x_amz_content_sha256() {
    let body = b"hello";
    let sign = |value: &str, signed: bool| {
        signed_request(
            "PUT",
            "/prod/blob",
            &[("x-amz-content-sha256", value)],
            body,
            "20150830T123600Z",
            "us-east-1",
            if signed {
                &["x-amz-content-sha256"][..]
            } else {
                &[][..]
            },
        )
    };
    let deny = Options::default();
    let allow = Options {
        allow_unsigned_payload: true,
        ..Options::default()
    };
    let now = suite_now();

    // Declared hash equal to the body: fine; body unknown: refused.
    let raw = sign(&hex(&sha256(body)), true);
    assert_eq!(verify_raw(&raw, SECRET, now, &deny), Ok(()));
    let unknown = raw.with_payload(None, |req| {
        let auth = parse(req).unwrap();
        verify(req, &auth, SECRET, now, &deny)
    });
    assert_eq!(unknown, Err(SigError::PayloadHashRequired));

    // Declared hash of another body.
    let raw = sign(&hex(&sha256(b"other")), true);
    assert_eq!(
        verify_raw(&raw, SECRET, now, &deny),
        Err(SigError::PayloadHashMismatch)
    );
    // Uppercase hex is another string than the body hash.
    let raw = sign(&hex(&sha256(body)).to_uppercase(), true);
    assert!(verify_raw(&raw, SECRET, now, &deny).is_err());

    // UNSIGNED-PAYLOAD only with the option; then the body is free.
    let raw = sign(UNSIGNED_PAYLOAD, true);
    assert_eq!(
        verify_raw(&raw, SECRET, now, &deny),
        Err(SigError::UnsignedPayloadNotAllowed)
    );
    assert_eq!(verify_raw(&raw, SECRET, now, &allow), Ok(()));
    let unknown = raw.with_payload(None, |req| {
        let auth = parse(req).unwrap();
        verify(req, &auth, SECRET, now, &allow)
    });
    assert_eq!(unknown, Ok(()));

    // Streaming (chunked) signatures are not supported.
    let raw = sign("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", true);
    assert!(matches!(
        verify_raw(&raw, SECRET, now, &allow),
        Err(SigError::Malformed(_))
    ));

    // Present but not signed: ignored, the body hash is used.
    let raw = sign(UNSIGNED_PAYLOAD, false);
    assert_eq!(verify_raw(&raw, SECRET, now, &deny), Ok(()));

    // Signed twice.
    let mut raw = sign(&hex(&sha256(body)), true);
    raw.headers.push((
        "X-Amz-Content-Sha256".into(),
        hex(&sha256(body)).into_bytes(),
    ));
    assert!(matches!(
        verify_raw(&raw, SECRET, now, &deny),
        Err(SigError::Malformed(_))
    ));
}

#[test]
fn presigned_payload_hash() {
    let deny = Options::default();
    let allow = Options {
        allow_unsigned_payload: true,
        ..Options::default()
    };
    let now = suite_now();
    let empty = hex(&sha256(b""));

    // Body hash signed (botocore SigV4QueryAuth, aws-c-auth).
    let raw = presigned("60", &hex(&sha256(b"data")), b"data");
    assert_eq!(verify_raw(&raw, SECRET, now, &deny), Ok(()));
    let raw = presigned("60", &empty, b"");
    assert_eq!(verify_raw(&raw, SECRET, now, &deny), Ok(()));

    // UNSIGNED-PAYLOAD (S3-style presigners): fine when the body is empty…
    let raw = presigned("60", UNSIGNED_PAYLOAD, b"");
    assert_eq!(verify_raw(&raw, SECRET, now, &deny), Ok(()));
    // …needs the option when there is a body…
    let raw = presigned("60", UNSIGNED_PAYLOAD, b"data");
    assert_eq!(
        verify_raw(&raw, SECRET, now, &deny),
        Err(SigError::SignatureMismatch)
    );
    assert_eq!(verify_raw(&raw, SECRET, now, &allow), Ok(()));
    // …or when the body is unknown.
    for (opts, expected) in [
        (&deny, Err(SigError::PayloadHashRequired)),
        (&allow, Ok(())),
    ] {
        let result = raw.with_payload(None, |req| {
            let auth = parse(req).unwrap();
            verify(req, &auth, SECRET, now, opts)
        });
        assert_eq!(result, expected);
    }
}

#[test]
fn errors_do_not_leak() {
    let raw = classic("get-vanilla");
    let wrong = verify_raw(&raw, b"wrong", suite_now(), &suite_opts(true)).unwrap_err();
    assert_eq!(wrong, SigError::SignatureMismatch);
    assert_eq!(wrong.to_string(), "signature does not match");
    let all = [
        SigError::Missing,
        SigError::Malformed("x"),
        SigError::ServiceMismatch,
        SigError::RegionNotAllowed,
        SigError::ClockSkew,
        SigError::Expired,
        SigError::PayloadHashRequired,
        SigError::PayloadHashMismatch,
        SigError::UnsignedPayloadNotAllowed,
        SigError::SignatureMismatch,
    ];
    for e in all {
        let text = e.to_string();
        let longest_hex_run = text
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(!text.contains('\n') && longest_hex_run < 8, "{text}");
    }
    // The operator-only view shows the canonical request.
    let expected = read_text(&data_dir().join("classic/get-vanilla/get-vanilla.creq"));
    let debug = raw.with(|req| {
        let auth = parse(req).unwrap();
        debug_canonical_request(req, &auth, &suite_opts(true))
    });
    assert_eq!(debug, expected);
    let debug = raw.with_payload(None, |req| {
        let auth = parse(req).unwrap();
        debug_canonical_request(req, &auth, &suite_opts(true))
    });
    assert!(debug.starts_with("<no canonical request"));
}

#[test]
fn auth_accessors() {
    let auth = parse_raw(&crt("get-header-value-multiline", "query")).unwrap();
    assert_eq!(auth.form(), Form::Presigned);
    assert_eq!(auth.access_key_id(), "AKIDEXAMPLE");
    assert_eq!(auth.scope_date(), "20150830");
    assert_eq!(auth.region(), "us-east-1");
    assert_eq!(auth.service(), "service");
    assert_eq!(
        auth.credential_scope(),
        "20150830/us-east-1/service/aws4_request"
    );
    assert_eq!(auth.signed_headers(), ["host", "my-header1"]);
    assert_eq!(auth.amz_date(), "20150830T123600Z");
    assert_eq!(auth.timestamp(), suite_now());
    assert_eq!(auth.expires(), Some(Duration::from_secs(3600)));
    assert_eq!(auth.session_token(), None);
    let opts = Options::default();
    assert_eq!(opts.service, "execute-api");
    assert!(opts.regions.is_empty());
    assert_eq!(opts.max_skew, Duration::from_secs(300));
    assert!(!opts.allow_unsigned_payload);
    assert!(opts.normalize);
}

/// An `execute-api` request as the gateway will see it: lowercase header
/// names (hyper), `host` from the authority, end to end.
#[test]
fn execute_api_end_to_end() {
    let raw = signed_request(
        "DELETE",
        "/prod/pets/%F0%9F%90%B6/../42?force=true&reason=a%20b",
        &[("X-Api-Key", "k")],
        b"",
        "20240229T235959Z",
        "eu-west-1",
        &["x-api-key"],
    );
    let lower: Vec<(String, Vec<u8>)> = raw
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let raw = RawRequest {
        headers: lower,
        ..raw
    };
    let opts = Options {
        regions: vec!["eu-west-1".into()],
        ..Options::default()
    };
    assert_eq!(verify_raw(&raw, SECRET, at(1_709_251_199), &opts), Ok(()));
    // The same request spelled with the dot segment resolved verifies too
    // (equivalent canonical form, see the crate docs).
    let resolved = RawRequest {
        path: "/prod/pets/42".into(),
        ..raw.clone()
    };
    assert_eq!(
        verify_raw(&resolved, SECRET, at(1_709_251_199), &opts),
        Ok(())
    );
}

#[test]
fn a_signing_key_only_verifies_its_own_scope() {
    let a = signed_request(
        "GET",
        "/prod/x",
        &[],
        b"",
        "20150830T123600Z",
        "us-east-1",
        &[],
    );
    let b = signed_request(
        "GET",
        "/prod/x",
        &[],
        b"",
        "20150831T123600Z",
        "us-east-1",
        &[],
    );
    let opts = Options {
        max_skew: Duration::from_secs(3 * 86_400),
        ..Options::default()
    };
    let auth_a = parse_raw(&a).unwrap();
    let auth_b = parse_raw(&b).unwrap();
    let key_a = rampart_sigv4::SigningKey::derive(SECRET, &auth_a);
    assert_eq!(key_a.scope(), "20150830/us-east-1/execute-api/aws4_request");
    let now = auth_b.timestamp();
    a.with(|req| {
        assert!(rampart_sigv4::verify_with_key(req, &auth_a, &key_a, now, &opts).is_ok());
    });
    b.with(|req| {
        assert_eq!(
            rampart_sigv4::verify_with_key(req, &auth_b, &key_a, now, &opts),
            Err(SigError::SignatureMismatch)
        );
        let key_b = rampart_sigv4::SigningKey::derive(SECRET, &auth_b);
        assert!(rampart_sigv4::verify_with_key(req, &auth_b, &key_b, now, &opts).is_ok());
    });
}
