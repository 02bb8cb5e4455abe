//! Fetching and caching keys from a local identity provider over real TLS: lazy fetch,
//! rate-limited refresh on unknown `kid`, rotation, outages (keep the last good keys; fail
//! closed without any), size and time limits, discovery, TLS trust, plain HTTP rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::keys::{claims, jwks, TestKey};
use common::server::{Mode, Server, DISCOVERY_PATH, JWKS_PATH};
use jsonwebtoken::Algorithm;
use rampart_jwt::{IssuerConfig, JwtError, KeySource, Verifier};

const AUD: &str = "client-1";

fn config(server: &Server) -> IssuerConfig {
    let mut cfg = IssuerConfig::new(
        server.base.clone(),
        KeySource::JwksUrl(server.jwks_url()),
        vec![AUD.to_owned()],
    );
    cfg.root_certificates_pem = Some(server.ca_pem.clone());
    cfg
}

fn verifier(server: &Server, f: impl FnOnce(&mut IssuerConfig)) -> Verifier {
    let mut cfg = config(server);
    f(&mut cfg);
    Verifier::new(vec![cfg]).unwrap()
}

async fn verify(v: &Verifier, server: &Server, key: &TestKey) -> Result<(), JwtError> {
    let alg = match key.jwk["kty"].as_str() {
        Some("RSA") => Algorithm::RS256,
        Some("EC") => Algorithm::ES256,
        _ => Algorithm::EdDSA,
    };
    v.verify(&key.sign(alg, &claims(&server.base, AUD)))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn keys_are_fetched_lazily_once_and_cached() {
    let a = TestKey::rsa1("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |_| {});
    assert_eq!(server.hits(JWKS_PATH), 0, "Verifier::new does no I/O");
    for _ in 0..20 {
        verify(&v, &server, &a).await.unwrap();
    }
    // Clones share the cache.
    let v2 = v.clone();
    verify(&v2, &server, &a).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 1);
}

#[tokio::test]
async fn unknown_kid_refetches_once_per_refresh_interval() {
    let a = TestKey::p256("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |_| {}); // default interval: 60 s
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 1);
    // Unknown kid: exactly one refetch, then refused.
    let x = a.with_kid("x");
    assert_eq!(verify(&v, &server, &x).await, Err(JwtError::UnknownKey));
    assert_eq!(server.hits(JWKS_PATH), 2);
    // The same or another unknown kid within the interval: no refetch.
    assert_eq!(verify(&v, &server, &x).await, Err(JwtError::UnknownKey));
    let y = a.with_kid("y");
    assert_eq!(verify(&v, &server, &y).await, Err(JwtError::UnknownKey));
    assert_eq!(server.hits(JWKS_PATH), 2);
    // Known keys are unaffected.
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 2);
}

#[tokio::test]
async fn a_burst_of_unknown_kids_causes_one_fetch() {
    let a = TestKey::p256("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |_| {});
    verify(&v, &server, &a).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let v = v.clone();
        let token = a
            .with_kid(&format!("unknown-{i}"))
            .sign(Algorithm::ES256, &claims(&server.base, AUD));
        tasks.push(tokio::spawn(async move { v.verify(&token).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Err(JwtError::UnknownKey));
    }
    assert_eq!(server.hits(JWKS_PATH), 2);
}

#[tokio::test]
async fn concurrent_first_use_causes_one_fetch() {
    let a = TestKey::ed25519("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |_| {});
    let token = a.sign(Algorithm::EdDSA, &claims(&server.base, AUD));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert_eq!(server.hits(JWKS_PATH), 1);
}

#[tokio::test]
async fn key_rotation() {
    let old = TestKey::rsa1("old");
    let new = TestKey::rsa2("new");
    let server = Server::start(jwks(&[&old])).await;
    let v = verifier(&server, |c| c.refresh_interval = Duration::from_millis(500));
    verify(&v, &server, &old).await.unwrap();

    // The provider publishes a new key and signs with it: one refetch picks it up (the
    // initial load does not count against the refresh interval).
    server.set_jwks(jwks(&[&old, &new]));
    verify(&v, &server, &new).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 2);
    verify(&v, &server, &old).await.unwrap();

    // The old key is retired. Right after a refresh, another unknown kid does not refetch...
    server.set_jwks(jwks(&[&new]));
    let newer = TestKey::p256("newer");
    assert_eq!(verify(&v, &server, &newer).await, Err(JwtError::UnknownKey));
    assert_eq!(server.hits(JWKS_PATH), 2);
    verify(&v, &server, &old).await.unwrap();
    // ...after the interval it does, and the retired key stops being accepted.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(verify(&v, &server, &newer).await, Err(JwtError::UnknownKey));
    assert_eq!(server.hits(JWKS_PATH), 3);
    assert_eq!(verify(&v, &server, &old).await, Err(JwtError::UnknownKey));
    verify(&v, &server, &new).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 3);
}

#[tokio::test]
async fn stale_keys_are_refreshed_in_the_background() {
    let a = TestKey::p256("a");
    let b = TestKey::p256("b");
    let server = Server::start(jwks(&[&a, &b])).await;
    let v = verifier(&server, |c| {
        c.max_key_age = Duration::from_millis(100);
        c.refresh_interval = Duration::from_millis(100);
    });
    verify(&v, &server, &a).await.unwrap();
    server.set_jwks(jwks(&[&b]));
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Served from the (stale) cache without waiting; a refresh starts in the background.
    verify(&v, &server, &a).await.unwrap();
    server.wait_hits(JWKS_PATH, 2).await;
    // Give the refresh a moment to store the new set, then `a` is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match verify(&v, &server, &a).await {
            Err(JwtError::UnknownKey) => break,
            Ok(()) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            other => panic!("{other:?}"),
        }
    }
    verify(&v, &server, &b).await.unwrap();
}

#[tokio::test]
async fn outage_keeps_the_cached_keys() {
    for mode in [Mode::Status(500), Mode::Status(404), Mode::Close] {
        let a = TestKey::rsa1("a");
        let server = Server::start(jwks(&[&a])).await;
        let v = verifier(&server, |c| c.refresh_interval = Duration::from_millis(100));
        verify(&v, &server, &a).await.unwrap();
        server.set_mode(mode.clone());
        tokio::time::sleep(Duration::from_millis(150)).await;
        // An unknown kid makes one (failing) refetch attempt...
        let x = a.with_kid("x");
        assert_eq!(
            verify(&v, &server, &x).await,
            Err(JwtError::UnknownKey),
            "{mode:?}"
        );
        assert_eq!(server.hits(JWKS_PATH), 2, "{mode:?}");
        // ...and the last good keys keep working.
        verify(&v, &server, &a).await.unwrap();
        // The endpoint recovers: the next refresh picks up new keys.
        let b = TestKey::p256("b");
        server.set_jwks(jwks(&[&a, &b]));
        server.set_mode(Mode::Ok);
        tokio::time::sleep(Duration::from_millis(150)).await;
        verify(&v, &server, &b).await.unwrap();
        verify(&v, &server, &a).await.unwrap();
    }
}

#[tokio::test]
async fn outage_without_cached_keys_fails_closed() {
    for mode in [Mode::Status(500), Mode::Status(302), Mode::Close] {
        let a = TestKey::rsa1("a");
        let server = Server::start(jwks(&[&a])).await;
        server.set_mode(mode.clone());
        let v = verifier(&server, |_| {});
        assert_eq!(
            verify(&v, &server, &a).await,
            Err(JwtError::KeysUnavailable),
            "{mode:?}"
        );
        assert_eq!(server.hits(JWKS_PATH), 1);
        // Within the refresh interval: refused again without hammering the endpoint.
        assert_eq!(
            verify(&v, &server, &a).await,
            Err(JwtError::KeysUnavailable)
        );
        assert_eq!(server.hits(JWKS_PATH), 1);
        assert_eq!(v.prefetch().await, Err(JwtError::KeysUnavailable));
        assert_eq!(server.hits(JWKS_PATH), 1);
    }
}

#[tokio::test]
async fn recovers_after_a_failed_first_fetch() {
    let a = TestKey::rsa1("a");
    let server = Server::start(jwks(&[&a])).await;
    server.set_mode(Mode::Status(503));
    let v = verifier(&server, |c| c.refresh_interval = Duration::from_millis(500));
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    server.set_mode(Mode::Ok);
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 2);
}

#[tokio::test]
async fn unreachable_endpoint_fails_closed() {
    // Nothing listens on this port (bound then released).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("https://127.0.0.1:{port}");
    let mut cfg = IssuerConfig::new(
        issuer.clone(),
        KeySource::JwksUrl(format!("{issuer}/jwks.json")),
        vec![AUD.into()],
    );
    cfg.root_certificates_pem = Some(Server::start(String::new()).await.ca_pem);
    let v = Verifier::new(vec![cfg]).unwrap();
    let a = TestKey::p256("a");
    let token = a.sign(Algorithm::ES256, &claims(&issuer, AUD));
    assert_eq!(v.verify(&token).await, Err(JwtError::KeysUnavailable));
}

#[tokio::test]
async fn oversize_jwks_is_refused() {
    for mode in [Mode::Big(300 * 1024), Mode::BigChunked(300 * 1024)] {
        // No cached keys: fail closed.
        let a = TestKey::rsa1("a");
        let server = Server::start(jwks(&[&a])).await;
        server.set_mode(mode.clone());
        let v = verifier(&server, |_| {});
        assert_eq!(
            verify(&v, &server, &a).await,
            Err(JwtError::KeysUnavailable),
            "{mode:?}"
        );

        // Cached keys: kept.
        let server = Server::start(jwks(&[&a])).await;
        let v = verifier(&server, |c| c.refresh_interval = Duration::ZERO);
        verify(&v, &server, &a).await.unwrap();
        server.set_mode(mode.clone());
        assert_eq!(
            verify(&v, &server, &a.with_kid("x")).await,
            Err(JwtError::UnknownKey)
        );
        assert_eq!(server.hits(JWKS_PATH), 2);
        verify(&v, &server, &a).await.unwrap();
    }
    // Just under the default limit is fine; the limit is configurable.
    let a = TestKey::rsa1("a");
    let mut doc: serde_json::Value = serde_json::from_str(&jwks(&[&a])).unwrap();
    doc["padding"] = serde_json::json!("x".repeat(250 * 1024));
    let server = Server::start(doc.to_string()).await;
    verify(&verifier(&server, |_| {}), &server, &a)
        .await
        .unwrap();
    let v = verifier(&server, |c| c.max_document_bytes = 100 * 1024);
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
}

#[tokio::test]
async fn slow_endpoint_times_out() {
    let a = TestKey::p256("a");
    let server = Server::start(jwks(&[&a])).await;
    server.set_mode(Mode::Slow(Duration::from_secs(3)));
    let v = verifier(&server, |c| c.fetch_timeout = Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

#[tokio::test]
async fn garbage_jwks_is_refused_and_cached_keys_kept() {
    let a = TestKey::p256("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |c| c.refresh_interval = Duration::ZERO);
    verify(&v, &server, &a).await.unwrap();
    for doc in [
        "not json",
        "[]",
        "{\"keys\": []}",
        "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}",
    ] {
        server.set_jwks(doc.into());
        assert_eq!(
            verify(&v, &server, &a.with_kid("x")).await,
            Err(JwtError::UnknownKey)
        );
        verify(&v, &server, &a).await.unwrap();
    }
    // Nothing usable ever: fail closed.
    let server = Server::start("{\"keys\": []}".into()).await;
    let v = verifier(&server, |_| {});
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
}

#[tokio::test]
async fn symmetric_keys_in_a_jwks_are_ignored() {
    // An `oct` JWK published in the JWKS cannot enable HS256.
    let a = TestKey::p256("a");
    let secret = b"0123456789abcdef0123456789abcdef";
    let mut doc: serde_json::Value = serde_json::from_str(&jwks(&[&a])).unwrap();
    doc["keys"].as_array_mut().unwrap().push(serde_json::json!({
        "kty": "oct", "kid": "h", "k": common::keys::b64(secret)
    }));
    let server = Server::start(doc.to_string()).await;
    let v = verifier(&server, |_| {});
    let token = common::keys::sign_raw(
        &jsonwebtoken::EncodingKey::from_secret(secret),
        Algorithm::HS256,
        &serde_json::json!({"alg": "HS256", "kid": "h"}),
        &claims(&server.base, AUD),
    );
    assert_eq!(v.verify(&token).await, Err(JwtError::UnsupportedAlgorithm));
    verify(&v, &server, &a).await.unwrap();
}

#[tokio::test]
async fn discovery_document() {
    let a = TestKey::rsa1("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |c| {
        c.keys = KeySource::discovery(&server.base);
        c.refresh_interval = Duration::from_millis(100);
    });
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(server.hits(DISCOVERY_PATH), 1);
    assert_eq!(server.hits(JWKS_PATH), 1);
    // Refreshes reuse the discovered jwks_uri.
    let b = TestKey::ed25519("b");
    server.set_jwks(jwks(&[&a, &b]));
    tokio::time::sleep(Duration::from_millis(150)).await;
    verify(&v, &server, &b).await.unwrap();
    assert_eq!(server.hits(DISCOVERY_PATH), 1);
    assert_eq!(server.hits(JWKS_PATH), 2);
    // After a failed JWKS fetch, discovery is done again.
    server.set_mode(Mode::Status(500));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        verify(&v, &server, &a.with_kid("x")).await,
        Err(JwtError::UnknownKey)
    );
    server.set_mode(Mode::Ok);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        verify(&v, &server, &a.with_kid("y")).await,
        Err(JwtError::UnknownKey)
    );
    assert_eq!(server.hits(DISCOVERY_PATH), 2);
    verify(&v, &server, &a).await.unwrap();
}

#[tokio::test]
async fn discovery_under_an_issuer_path() {
    // Cognito-style issuer with a path: {issuer}/.well-known/openid-configuration.
    let a = TestKey::p384("a");
    let server = Server::start(jwks(&[&a])).await;
    let issuer = format!("{}/eu-west-1_Pool", server.base);
    server.set_discovery_issuer(&issuer);
    let mut cfg = IssuerConfig::new(
        issuer.clone(),
        KeySource::discovery(&issuer),
        vec![AUD.into()],
    );
    cfg.root_certificates_pem = Some(server.ca_pem.clone());
    let v = Verifier::new(vec![cfg]).unwrap();
    let token = a.sign(Algorithm::ES384, &claims(&issuer, AUD));
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(server.hits(&format!("/eu-west-1_Pool{DISCOVERY_PATH}")), 1);
}

#[tokio::test]
async fn discovery_issuer_mismatch_fails_closed() {
    let a = TestKey::rsa1("a");
    let server = Server::start(jwks(&[&a])).await;
    server.set_discovery_issuer("https://someone-else.example");
    let v = verifier(&server, |c| c.keys = KeySource::discovery(&server.base));
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    assert_eq!(server.hits(JWKS_PATH), 0);
}

#[tokio::test]
async fn untrusted_certificate_fails_closed() {
    let a = TestKey::rsa1("a");
    let server = Server::start(jwks(&[&a])).await;
    // The Mozilla roots do not include the test CA.
    let v = verifier(&server, |c| c.root_certificates_pem = None);
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    // Another test CA neither.
    let other = Server::start(String::new()).await;
    let v = verifier(&server, |c| {
        c.root_certificates_pem = Some(other.ca_pem.clone())
    });
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    assert_eq!(server.hits(JWKS_PATH), 0);
}

#[tokio::test]
async fn plain_http_only_with_the_escape_hatch_and_only_to_loopback() {
    let a = TestKey::rsa1("a");
    let server = Server::start_http(jwks(&[&a])).await;
    let cfg = IssuerConfig::new(
        server.base.clone(),
        KeySource::JwksUrl(server.jwks_url()),
        vec![AUD.into()],
    );
    let err = Verifier::new(vec![cfg.clone()]).unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
    let mut allowed = cfg.clone();
    allowed.dangerous_allow_http = true;
    let v = Verifier::new(vec![allowed]).unwrap();
    verify(&v, &server, &a).await.unwrap();
    // Not to a non-loopback address, even with the escape hatch.
    let mut remote = cfg;
    remote.dangerous_allow_http = true;
    remote.keys = KeySource::JwksUrl("http://192.0.2.1/jwks.json".into());
    assert!(Verifier::new(vec![remote]).is_err());
}

#[tokio::test]
async fn discovered_jwks_uri_follows_the_same_rules() {
    // An HTTPS discovery document pointing at an http:// JWKS (on loopback).
    let a = TestKey::rsa1("a");
    let http = Server::start_http(jwks(&[&a])).await;
    let server = Server::start(jwks(&[&a])).await;
    server.set_jwks_uri(&http.jwks_url());
    let v = verifier(&server, |c| c.keys = KeySource::discovery(&server.base));
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    assert_eq!(http.hits(JWKS_PATH), 0);
    // With the escape hatch, loopback http:// is allowed.
    let v = verifier(&server, |c| {
        c.keys = KeySource::discovery(&server.base);
        c.dangerous_allow_http = true;
    });
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(http.hits(JWKS_PATH), 1);
    // But never http:// to anything else.
    server.set_jwks_uri("http://192.0.2.1/jwks.json");
    let v = verifier(&server, |c| {
        c.keys = KeySource::discovery(&server.base);
        c.dangerous_allow_http = true;
    });
    assert_eq!(
        verify(&v, &server, &a).await,
        Err(JwtError::KeysUnavailable)
    );
    // And an http:// discovery URL is refused at configuration time.
    let mut cfg = config(&http);
    cfg.keys = KeySource::discovery(&http.base);
    assert!(Verifier::new(vec![cfg]).is_err());
}

#[tokio::test]
async fn prefetch_warms_the_cache() {
    let a = TestKey::p256("a");
    let server = Server::start(jwks(&[&a])).await;
    let v = verifier(&server, |_| {});
    assert_eq!(v.prefetch().await, Ok(()));
    assert_eq!(server.hits(JWKS_PATH), 1);
    assert_eq!(v.prefetch().await, Ok(()));
    verify(&v, &server, &a).await.unwrap();
    assert_eq!(server.hits(JWKS_PATH), 1);
}
