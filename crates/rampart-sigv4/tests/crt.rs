//! The aws-c-auth v0.9.0 SigV4 suite (smithy-rs `aws-sigv4` 1.6.4 copy,
//! `aws-signing-test-suite/v4`): every case in header form and presigned
//! (query) form, verified from the signed-request files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use rampart_sigv4::{
    canonical_request, compute_signature, parse, sha256, string_to_sign, variants, verify, Form,
    Options, SigError, Variant,
};

/// Cases not checked end to end, with the reason:
/// * `double-encode-path` — smithy-rs addition with only a canonical request:
///   its canonical request says `x-amz-date:20210511T154045Z` while the signed
///   request it ships says `X-amz-date:20150830T123600Z` with an `ANOTREAL`
///   credential whose secret is not the suite's (its signature 57d15767… is
///   not reproducible with the suite secret at either date). Only its canonical *URI* and signed-header
///   lines are compared (that is what the case exists for: the `execute-api`
///   path `/test/@connections/JBDvjfGEIAMCERw%3D`).
const SKIP: &[&str] = &["double-encode-path"];

struct Case {
    name: String,
    normalize: bool,
    sign_body: bool,
    omit_session_token: bool,
    token: Option<String>,
}

fn load_cases() -> Vec<(std::path::PathBuf, Option<Case>)> {
    let root = data_dir().join("crt").join("v4");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
            let ctx = dir.join("context.json");
            let case = ctx.exists().then(|| {
                let json = read_text(&ctx);
                assert_eq!(
                    json_field(&json, "service").as_deref(),
                    Some("service"),
                    "{name}"
                );
                assert_eq!(
                    json_field(&json, "region").as_deref(),
                    Some("us-east-1"),
                    "{name}"
                );
                assert_eq!(
                    json_field(&json, "timestamp").as_deref(),
                    Some("2015-08-30T12:36:00Z")
                );
                assert_eq!(
                    json_field(&json, "expiration_in_seconds").as_deref(),
                    Some("3600")
                );
                Case {
                    name: name.clone(),
                    normalize: json_flag(&json, "normalize").unwrap(),
                    sign_body: json_flag(&json, "sign_body").unwrap(),
                    omit_session_token: json_flag(&json, "omit_session_token").unwrap_or(false),
                    token: json_field(&json, "token"),
                }
            });
            (dir, case)
        })
        .collect()
}

/// Full check of one form (`prefix` = "header" or "query").
fn check_form(dir: &Path, case: &Case, prefix: &str) {
    let name = format!("{}/{prefix}", case.name);
    let raw = RawRequest::from_file(&dir.join(format!("{prefix}-signed-request.txt")));
    let creq = read_text(&dir.join(format!("{prefix}-canonical-request.txt")));
    let sts = read_text(&dir.join(format!("{prefix}-string-to-sign.txt")));
    let sig = read_text(&dir.join(format!("{prefix}-signature.txt")));
    let opts = suite_opts(case.normalize);
    raw.with(|req| {
        let auth = parse(req).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
        let presigned = prefix == "query";
        assert_eq!(
            auth.form(),
            if presigned {
                Form::Presigned
            } else {
                Form::Header
            },
            "{name}"
        );
        assert_eq!(
            auth.expires(),
            presigned.then_some(Duration::from_secs(3600)),
            "{name}"
        );
        assert_eq!(auth.session_token(), case.token.as_deref(), "{name}");
        assert_eq!(
            auth.credential_scope(),
            "20150830/us-east-1/service/aws4_request"
        );
        assert_eq!(
            auth.signed_headers()
                .iter()
                .any(|h| h == "x-amz-content-sha256"),
            case.sign_body && !presigned,
            "{name}: sign_body cases sign x-amz-content-sha256 in header form"
        );

        let variant = Variant {
            payload_hash: hex(&sha256(&raw.body)),
            // Header form: SignedHeaders says whether the token is signed.
            presigned_token_signed: !(presigned && case.omit_session_token),
        };
        assert!(
            variants(req, &auth, &opts).unwrap().contains(&variant),
            "{name}"
        );
        let ours = canonical_request(req, &auth, &opts, &variant).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            strip_nl(&creq),
            "{name}: canonical request"
        );
        let ours_sts = string_to_sign(&auth, &ours);
        assert_eq!(ours_sts, strip_nl(&sts), "{name}: string to sign");
        assert_eq!(
            compute_signature(SECRET, &auth, &ours_sts),
            strip_nl(&sig),
            "{name}: signature"
        );
        verify(req, &auth, SECRET, suite_now(), &opts)
            .unwrap_or_else(|e| panic!("{name}: verify: {e}"));

        // The other path mode must not verify where it changes the URI.
        let other = Options {
            normalize: !case.normalize,
            ..opts.clone()
        };
        let other_creq = canonical_request(req, &auth, &other, &variant).unwrap();
        if other_creq != ours {
            assert_eq!(
                verify(req, &auth, SECRET, suite_now(), &other),
                Err(SigError::SignatureMismatch),
                "{name}"
            );
        }
    });
}

#[test]
fn crt_v4_suite() {
    let cases = load_cases();
    assert_eq!(cases.len(), 40, "crt/v4 case count");
    let mut full = 0;
    let mut skipped = Vec::new();
    for (dir, case) in &cases {
        let name = dir.file_name().unwrap().to_str().unwrap();
        if SKIP.contains(&name) {
            skipped.push(name.to_owned());
            continue;
        }
        match case {
            Some(case) => {
                check_form(dir, case, "header");
                check_form(dir, case, "query");
                full += 1;
            }
            None => assert_eq!(
                name, "double-url-encode",
                "only the smithy-rs additions lack context.json"
            ),
        }
    }
    assert_eq!(full, 38);
    assert_eq!(skipped, SKIP, "skip list names exactly the skipped cases");
}

/// smithy-rs addition (no context.json): a Lambda invoke ARN path, header form
/// only, signed at 2021-05-11T15:40:45Z for `lambda` in `us-east-2`.
#[test]
fn crt_double_url_encode() {
    let dir = data_dir().join("crt/v4/double-url-encode");
    let raw = RawRequest::from_file(&dir.join("header-signed-request.txt"));
    let creq = read_text(&dir.join("header-canonical-request.txt"));
    let sts = read_text(&dir.join("header-string-to-sign.txt"));
    let opts = Options {
        service: "lambda".into(),
        regions: vec!["us-east-2".into()],
        ..Options::default()
    };
    raw.with(|req| {
        let auth = parse(req).unwrap();
        let variant = Variant {
            payload_hash: hex(&sha256(b"")),
            presigned_token_signed: true,
        };
        let ours = canonical_request(req, &auth, &opts, &variant).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours), strip_nl(&creq));
        assert_eq!(string_to_sign(&auth, &ours), strip_nl(&sts));
        verify(req, &auth, SECRET, at(1_620_747_645), &opts).unwrap();
    });
}

/// The skipped case: compare what is consistent (URI and signed headers).
#[test]
fn crt_double_encode_path_uri() {
    let dir = data_dir().join("crt/v4/double-encode-path");
    let raw = RawRequest::from_file(&dir.join("header-signed-request.txt"));
    let creq = read_text(&dir.join("header-canonical-request.txt"));
    let expected: Vec<&str> = creq.lines().collect();
    raw.with(|req| {
        let auth = parse(req).unwrap();
        assert_eq!(auth.access_key_id(), "ANOTREAL");
        let variant = Variant {
            payload_hash: hex(&sha256(b"")),
            presigned_token_signed: true,
        };
        let opts = suite_opts(true);
        let ours =
            String::from_utf8(canonical_request(req, &auth, &opts, &variant).unwrap()).unwrap();
        let ours: Vec<&str> = ours.lines().collect();
        assert_eq!(ours[0], expected[0], "method");
        assert_eq!(ours[1], "/test/%40connections/JBDvjfGEIAMCERw%253D");
        assert_eq!(ours[1], expected[1], "canonical URI");
        assert_eq!(ours[2], expected[2], "query");
        assert_eq!(ours[3], expected[3], "host line");
        assert_eq!(ours[4], "x-amz-date:20150830T123600Z");
        assert_ne!(
            ours[4], expected[4],
            "the inconsistency this case is skipped for"
        );
        assert_eq!(ours[5..], expected[5..], "signed headers and payload hash");
    });
}
