#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_limiter::{Limiter, LimiterOptions, Period, Quota, RateLimit};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn opts(max_keys: usize) -> LimiterOptions {
    LimiterOptions {
        shards: 16,
        max_keys,
        min_sweep_interval: Duration::from_millis(10),
    }
}

#[test]
fn keys_are_independent() {
    let l: Limiter<String> = Limiter::new(Some(RateLimit::new(1.0, 2).unwrap()), None, opts(1000));
    let t = Duration::from_secs(5);
    assert!(l.decide("a", t).allowed);
    assert!(l.decide("a", t).allowed);
    assert!(!l.decide("a", t).allowed);
    assert!(l.decide("b", t).allowed);
    assert_eq!(l.len(), 2);
}

#[test]
fn eviction_bound_with_a_million_distinct_keys() {
    // rate 10/s burst 5: a key used once is idle again after 100 ms. One new key per virtual
    // millisecond means ~100 keys are active at any time; the map must stay under its bound
    // and never have to refuse a key.
    let max_keys = 4096;
    let l: Limiter<String> =
        Limiter::new(Some(RateLimit::new(10.0, 5).unwrap()), None, opts(max_keys));
    assert_eq!(l.capacity(), max_keys);
    let mut key = String::new();
    for i in 0..1_000_000u64 {
        key.clear();
        key.push_str("key-");
        key.push_str(&i.to_string());
        let now = Duration::from_millis(i);
        assert!(l.decide(key.as_str(), now).allowed, "key {i}");
        if i % 10_000 == 0 {
            assert!(l.len() <= max_keys);
        }
    }
    assert!(l.len() <= max_keys, "{}", l.len());
    // Evicted idle keys come back with a full bucket: no decision changed.
    let d = l.decide("key-0", Duration::from_secs(1_000_000));
    assert!(d.allowed);
    assert_eq!(d.remaining, 4);
}

#[test]
fn bound_holds_and_new_keys_fail_closed_when_all_keys_are_active() {
    let max_keys = 1024;
    let l: Limiter<String> =
        Limiter::new(Some(RateLimit::new(1.0, 5).unwrap()), None, opts(max_keys));
    let now = Duration::from_secs(1);
    let mut refused = 0;
    for i in 0..1_000_000u32 {
        let d = l.decide(format!("k{i}").as_str(), now);
        if !d.allowed {
            refused += 1;
            assert!(d.retry_after <= Duration::from_millis(10));
        }
    }
    assert!(l.len() <= max_keys);
    assert!(refused >= 1_000_000 - max_keys);
    // Known keys are still served.
    let known = (0..1_000_000u32)
        .map(|i| format!("k{i}"))
        .find(|k| l.decide(k.as_str(), now).allowed);
    assert!(known.is_some());
    // Once the buckets refill (5 s) and the sweep interval passed, the map makes room again.
    assert!(l.decide("late", now + Duration::from_secs(6)).allowed);
}

#[test]
fn quota_through_limiter_and_check_ordering() {
    let day = UNIX_EPOCH + Duration::from_secs(19_800 * 86_400);
    let q = Quota::new(3, 0, Period::Day, UNIX_EPOCH).unwrap();
    let l: Limiter<String> =
        Limiter::new(Some(RateLimit::new(1.0, 2).unwrap()), Some(q), opts(100));
    let t = Duration::from_secs(10);
    // Two allowed, the third throttled: the throttled one uses no quota.
    assert!(l.check("k", t, day).allowed);
    assert!(l.check("k", t, day).allowed);
    let o = l.check("k", t, day);
    assert!(!o.allowed && !o.throttle.allowed && o.quota.is_none());
    // One more second: one token; quota has one left.
    let o = l.check("k", t + Duration::from_secs(1), day);
    assert!(o.allowed);
    assert_eq!(o.quota.unwrap().remaining, 0);
    // Over quota: denied, and no token taken (the bucket keeps refilling).
    let o = l.check("k", t + Duration::from_secs(5), day);
    assert!(!o.allowed && o.throttle.allowed && !o.quota.unwrap().allowed);
    assert_eq!(o.throttle.remaining, 1);
    let o = l.check("k", t + Duration::from_secs(5), day);
    assert_eq!(
        o.throttle.remaining, 1,
        "a request over quota took no token"
    );
    // Next day the quota is back.
    let next = day + Duration::from_secs(86_400);
    let o = l.check("k", t + Duration::from_secs(6), next);
    assert!(o.allowed);
    assert_eq!(o.quota.unwrap().used, 1);
    // consume() directly.
    let d = l.consume("k", 2, t, next);
    assert!(d.allowed);
    assert!(!l.consume("k", 1, t, next).allowed);
    assert!(!l.consume("k", 1, t, next).allowed);
    assert_eq!(l.consume("k", 0, t, next).used, 3);
}

#[test]
fn quota_keys_are_kept_until_their_period_ends() {
    let q = Quota::new(1, 0, Period::Day, UNIX_EPOCH).unwrap();
    let one_shard = LimiterOptions {
        shards: 1,
        ..opts(16)
    };
    let l: Limiter<String> = Limiter::new(None, Some(q), one_shard);
    let day = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
    let mono = Duration::from_secs(1);
    for i in 0..16 {
        assert!(l.consume(format!("k{i}").as_str(), 1, mono, day).allowed);
    }
    // Full of keys holding quota: a new key is refused rather than evicting spent quota.
    assert!(!l.consume("new", 1, mono, day).allowed);
    assert!(
        !l.consume("k0", 1, mono + Duration::from_secs(60), day)
            .allowed
    );
    // Next day the old counters are stale and can be dropped.
    let next = day + Duration::from_secs(86_400);
    assert!(
        l.consume("new", 1, mono + Duration::from_secs(60), next)
            .allowed
    );
    assert!(l.len() <= 16);
}
