//! SigV4 verification per request (issue 4's benchmark): a signed POST with a 2 KB JSON
//! body, header form, and a presigned GET; the body hash is included (the gateway hashes
//! every body it verifies).
//!
//! Run: `cargo bench -p rampart-sigv4 --bench verify`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use rampart_sigv4::{
    canonical_request, compute_signature, parse, sha256, string_to_sign, variants, verify,
    Incoming, Options,
};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20261121T120000Z";

/// Sign `headers` (with a placeholder Authorization) the way a client would.
fn signed_authorization(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, &[u8])],
    body: &[u8],
    opts: &Options,
) -> String {
    let req = Incoming {
        method,
        path,
        query,
        headers,
        payload_sha256: Some(sha256(body)),
    };
    let auth = parse(&req).unwrap();
    let v = &variants(&req, &auth, opts).unwrap()[0];
    let creq = canonical_request(&req, &auth, opts, v).unwrap();
    compute_signature(SECRET, &auth, &string_to_sign(&auth, &creq))
}

fn bench(c: &mut Criterion) {
    let opts = Options::default();
    let now = UNIX_EPOCH + Duration::from_secs(1_795_262_400); // 2026-11-21T12:00:00Z
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(2038));
    let scope = "AKIDEXAMPLE/20261121/us-east-1/execute-api/aws4_request";
    let placeholder = format!(
        "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=content-type;host;x-amz-date, Signature={}",
        "0".repeat(64)
    );
    let mk = |authz: &str| -> Vec<(String, Vec<u8>)> {
        vec![
            ("host".into(), b"api.example.com".to_vec()),
            ("content-type".into(), b"application/json".to_vec()),
            ("x-amz-date".into(), DATE.as_bytes().to_vec()),
            ("user-agent".into(), b"bench".to_vec()),
            ("authorization".into(), authz.as_bytes().to_vec()),
        ]
    };
    let owned = mk(&placeholder);
    let hs: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    let sig = signed_authorization(
        "POST",
        "/prod/orders",
        Some("a=1&b=2"),
        &hs,
        body.as_bytes(),
        &opts,
    );
    let owned = mk(&placeholder.replace(&"0".repeat(64), &sig));
    let hs: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    let req = |payload| Incoming {
        method: "POST",
        path: "/prod/orders",
        query: Some("a=1&b=2"),
        headers: &hs,
        payload_sha256: payload,
    };
    let auth = parse(&req(Some(sha256(body.as_bytes())))).unwrap();
    verify(
        &req(Some(sha256(body.as_bytes()))),
        &auth,
        SECRET,
        now,
        &opts,
    )
    .unwrap();

    let key = rampart_sigv4::SigningKey::derive(SECRET, &auth);
    c.bench_function(
        "sigv4: parse + hash 2 KB body + verify, signing key cached (as the gateway does)",
        |b| {
            b.iter(|| {
                let r = req(Some(sha256(black_box(body.as_bytes()))));
                let auth = parse(&r).unwrap();
                black_box(rampart_sigv4::verify_with_key(&r, &auth, &key, now, &opts)).unwrap();
            })
        },
    );
    c.bench_function(
        "sigv4: parse + hash 2 KB body + verify (header form)",
        |b| {
            b.iter(|| {
                let r = req(Some(sha256(black_box(body.as_bytes()))));
                let auth = parse(&r).unwrap();
                black_box(verify(&r, &auth, SECRET, now, &opts)).unwrap();
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
