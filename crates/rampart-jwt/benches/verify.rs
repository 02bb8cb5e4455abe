//! Verification cost with a warm JWKS cache (keys fetched once from a local TLS server):
//! RS256 (2048-bit) and ES256, each the full `Verifier::verify` path (parse, header checks,
//! key lookup, signature, claims).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::keys::{claims, jwks, TestKey};
use common::server::Server;
use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::Algorithm;
use rampart_jwt::{IssuerConfig, KeySource, Verifier};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let rsa = TestKey::rsa1("rsa");
    let ec = TestKey::p256("ec");
    let (server, verifier) = rt.block_on(async {
        let server = Server::start(jwks(&[&rsa, &ec])).await;
        let mut cfg = IssuerConfig::new(
            server.base.clone(),
            KeySource::JwksUrl(server.jwks_url()),
            vec!["client-1".to_owned()],
        );
        cfg.root_certificates_pem = Some(server.ca_pem.clone());
        let verifier = Verifier::new(vec![cfg]).unwrap();
        verifier.prefetch().await.unwrap();
        (server, verifier)
    });
    let body = claims(&server.base, "client-1");
    for (name, key, alg) in [
        ("RS256", &rsa, Algorithm::RS256),
        ("ES256", &ec, Algorithm::ES256),
    ] {
        let token = key.sign(alg, &body);
        rt.block_on(verifier.verify(&token)).unwrap();
        c.bench_function(&format!("verify {name} (warm JWKS cache)"), |b| {
            b.iter(|| {
                rt.block_on(verifier.verify(std::hint::black_box(&token)))
                    .unwrap()
            })
        });
    }
    assert_eq!(server.hits(common::server::JWKS_PATH), 1);
}

criterion_group!(benches, bench);
criterion_main!(benches);
