//! The result cache, and the whole flow with a fake transport.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rampart_authorizer::{
    authorize, identity, AuthorizerError, Cache, ConfigError, Format, IdentityKey, InvokeFuture,
    Kind, Outcome, Reply, RequestFacts, Response, Transport, Verdict,
};
use serde_json::Value;

fn response(allowed: bool) -> Arc<Response> {
    Arc::new(Response {
        principal_id: None,
        verdict: Verdict::Simple(allowed),
        context: serde_json::Map::new(),
        usage_identifier_key: None,
    })
}

fn token_key(token: &str) -> IdentityKey {
    let h = [("Authorization", token)];
    let kind = Kind::token("Authorization", None).unwrap();
    identity(
        &kind,
        &RequestFacts {
            headers: &h,
            ..rest_facts()
        },
    )
    .unwrap()
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn hit_and_ttl_expiry() {
    let cache = Cache::new(Duration::from_secs(300), 100).unwrap();
    let t0 = Instant::now();
    let k = token_key("a");
    assert!(cache.get(&k, t0).is_none());
    let r = response(true);
    cache.insert(k.clone(), r.clone(), t0);
    let hit = cache.get(&k, t0 + 299 * SEC).unwrap();
    assert!(Arc::ptr_eq(&hit, &r));
    assert!(cache.get(&k, t0 + 300 * SEC).is_none());
    // An expired entry is dropped when looked up.
    assert_eq!(cache.len(), 0);
}

#[test]
fn reinsert_refreshes() {
    let cache = Cache::new(10 * SEC, 100).unwrap();
    let t0 = Instant::now();
    let k = token_key("a");
    cache.insert(k.clone(), response(true), t0);
    cache.insert(k.clone(), response(false), t0 + 5 * SEC);
    assert_eq!(cache.len(), 1);
    let hit = cache.get(&k, t0 + 12 * SEC).unwrap();
    assert!(matches!(hit.verdict, Verdict::Simple(false)));
}

#[test]
fn distinct_identities_do_not_share_an_entry() {
    let cache = Cache::default();
    assert_eq!(cache.ttl(), Cache::DEFAULT_TTL);
    let t0 = Instant::now();
    cache.insert(token_key("alice"), response(true), t0);
    assert!(cache.get(&token_key("mallory"), t0).is_none());
    assert!(cache.get(&token_key("alice "), t0).is_none());
    assert!(cache.get(&token_key("alice"), t0).is_some());
    let kind = Kind::request(&[
        "method.request.querystring.a",
        "method.request.querystring.b",
    ])
    .unwrap();
    let q1 = [("a", "1"), ("b", "2")];
    let q2 = [("a", "12"), ("b", "")];
    let q2b = [("a", "1"), ("b", "22")];
    let k1 = identity(
        &kind,
        &RequestFacts {
            query: &q1,
            ..rest_facts()
        },
    )
    .unwrap();
    cache.insert(k1, response(true), t0);
    assert!(identity(
        &kind,
        &RequestFacts {
            query: &q2,
            ..rest_facts()
        }
    )
    .is_err());
    let k2 = identity(
        &kind,
        &RequestFacts {
            query: &q2b,
            ..rest_facts()
        },
    )
    .unwrap();
    assert!(cache.get(&k2, t0).is_none());
}

#[test]
fn ttl_zero_disables() {
    let cache = Cache::new(Duration::ZERO, 100).unwrap();
    assert!(!cache.enabled());
    let t0 = Instant::now();
    cache.insert(token_key("a"), response(true), t0);
    assert!(cache.get(&token_key("a"), t0).is_none());
    assert!(cache.is_empty());
    let cache = Cache::new(SEC, 0).unwrap();
    assert!(!cache.enabled());
}

#[test]
fn ttl_limit() {
    assert!(Cache::new(Cache::MAX_TTL, 1).is_ok());
    assert_eq!(
        Cache::new(Cache::MAX_TTL + Duration::from_millis(1), 1).unwrap_err(),
        ConfigError::Ttl(Duration::from_millis(3_600_001))
    );
    assert_eq!(Cache::DEFAULT_TTL, 300 * SEC);
    assert_eq!(Cache::DEFAULT_CAPACITY, 10_000);
}

#[test]
fn bounded_oldest_evicted() {
    let cache = Cache::new(100 * SEC, 3).unwrap();
    let t0 = Instant::now();
    for (i, t) in ["a", "b", "c"].iter().enumerate() {
        cache.insert(token_key(t), response(true), t0 + i as u32 * SEC);
    }
    // Re-inserting "a" makes it the newest.
    cache.insert(token_key("a"), response(true), t0 + 3 * SEC);
    cache.insert(token_key("d"), response(true), t0 + 4 * SEC);
    assert_eq!(cache.len(), 3);
    let now = t0 + 5 * SEC;
    assert!(cache.get(&token_key("b"), now).is_none());
    for t in ["a", "c", "d"] {
        assert!(cache.get(&token_key(t), now).is_some(), "{t}");
    }
    // Many more keys never exceed the bound.
    for i in 0..1000 {
        cache.insert(token_key(&format!("k{i}")), response(true), now);
        assert!(cache.len() <= 3);
    }
    assert!(cache.get(&token_key("k999"), now).is_some());
    assert!(cache.get(&token_key("k996"), now).is_none());
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn an_empty_identity_is_never_cached() {
    let cache = Cache::default();
    let kind = Kind::request::<&str>(&[]).unwrap();
    let k = identity(&kind, &rest_facts()).unwrap();
    let t0 = Instant::now();
    cache.insert(k.clone(), response(true), t0);
    assert!(cache.get(&k, t0).is_none());
    assert!(cache.is_empty());
}

#[test]
fn shared_across_threads() {
    let cache = Arc::new(Cache::default());
    let t0 = Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let c = cache.clone();
            std::thread::spawn(move || {
                for j in 0..100 {
                    c.insert(token_key(&format!("{i}-{j}")), response(true), t0);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(cache.len(), 400);
}

/// Answers from a script, counting calls and keeping the events.
struct Fake {
    replies: Mutex<Vec<Result<Reply, AuthorizerError>>>,
    calls: AtomicUsize,
    events: Mutex<Vec<Value>>,
}

impl Fake {
    fn new(replies: Vec<Result<(u16, &str), AuthorizerError>>) -> Self {
        let mut replies: Vec<_> = replies
            .into_iter()
            .map(|r| {
                r.map(|(status, body)| Reply {
                    status,
                    body: bytes::Bytes::from(body.to_string()),
                })
            })
            .collect();
        replies.reverse();
        Self {
            replies: Mutex::new(replies),
            calls: AtomicUsize::new(0),
            events: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Transport for Fake {
    fn invoke<'a>(&'a self, event: &'a Value) -> InvokeFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.events.lock().unwrap().push(event.clone());
        let r = self
            .replies
            .lock()
            .unwrap()
            .pop()
            .expect("no scripted reply");
        Box::pin(async move { r })
    }
}

const ALLOW: &str = r#"{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[
    {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"}]}}"#;

#[tokio::test]
async fn flow_calls_once_then_uses_the_cache() {
    let kind = Kind::token("Authorization", None).unwrap();
    let cache = Cache::default();
    let fake = Fake::new(vec![Ok((200, ALLOW))]);
    let t0 = Instant::now();
    let facts = rest_facts();
    let first = authorize(&kind, Format::Policy, &facts, &cache, &fake, t0)
        .await
        .unwrap();
    let other_route = RequestFacts {
        method_arn: "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/DELETE/pets/1",
        ..rest_facts()
    };
    let second = authorize(&kind, Format::Policy, &other_route, &cache, &fake, t0 + SEC)
        .await
        .unwrap();
    assert_eq!(fake.calls(), 1);
    let (Outcome::Answer(a), Outcome::Answer(b)) = (first, second) else {
        panic!()
    };
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(
        fake.events.lock().unwrap()[0],
        serde_json::json!({"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": REST_ARN})
    );
}

#[tokio::test]
async fn flow_missing_identity_is_401_without_a_call() {
    let kind = Kind::token("Authorization", Some("Bearer [a-z]+")).unwrap();
    let cache = Cache::default();
    let fake = Fake::new(vec![]);
    let t0 = Instant::now();
    for headers in [&[][..], &[("Authorization", "Basic x")][..]] {
        let facts = RequestFacts {
            headers,
            ..rest_facts()
        };
        let out = authorize(&kind, Format::Policy, &facts, &cache, &fake, t0)
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Unauthorized));
    }
    assert_eq!(fake.calls(), 0);
}

#[tokio::test]
async fn flow_does_not_cache_unauthorized_or_errors() {
    let kind = Kind::request(&["$request.header.Authorization"]).unwrap();
    let cache = Cache::default();
    let fake = Fake::new(vec![
        Ok((401, "")),
        Err(AuthorizerError::Timeout(SEC)),
        Ok((200, "{}")),
        Ok((500, "")),
        Ok((200, r#"{"isAuthorized":false}"#)),
    ]);
    let t0 = Instant::now();
    let facts = http_facts();
    let run = || authorize(&kind, Format::Simple, &facts, &cache, &fake, t0);
    assert!(matches!(run().await, Ok(Outcome::Unauthorized)));
    assert_eq!(run().await.unwrap_err(), AuthorizerError::Timeout(SEC));
    assert!(matches!(run().await, Err(AuthorizerError::Malformed(_))));
    assert_eq!(run().await.unwrap_err(), AuthorizerError::Status(500));
    for _ in 0..3 {
        let Ok(Outcome::Answer(r)) = run().await else {
            panic!()
        };
        assert_eq!(r.is_authorized(), Some(false));
    }
    assert_eq!(fake.calls(), 5);
    assert_eq!(
        fake.events.lock().unwrap()[0],
        json("minimal/authorizer-request-event-http-v2.json")
    );
}
