#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_limiter::{ConfigError, Limiter, LimiterOptions, RateLimit};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MS: u64 = 1_000_000;

#[test]
fn burst_then_steady_rate_on_virtual_time() {
    let r = RateLimit::new(10.0, 5).unwrap();
    let mut tat = 0;
    // A new bucket starts full: 5 immediately, the 6th is denied.
    for i in 0..5 {
        let d = r.decide(&mut tat, 0);
        assert!(d.allowed);
        assert_eq!(d.remaining, 4 - i);
    }
    assert!(!r.decide(&mut tat, 0).allowed);
    // Then one per 100 ms: poll every 1 ms for 10 virtual seconds.
    let mut allowed_at = Vec::new();
    for ms in 1..=10_000u64 {
        if r.decide(&mut tat, ms * MS).allowed {
            allowed_at.push(ms);
        }
    }
    assert!(
        (99..=101).contains(&allowed_at.len()),
        "{}",
        allowed_at.len()
    );
    for w in allowed_at.windows(2) {
        assert_eq!(w[1] - w[0], 100);
    }
    assert_eq!(allowed_at[0], 100);
}

#[test]
fn retry_after_is_exact() {
    let r = RateLimit::new(10.0, 5).unwrap();
    let mut tat = 0;
    for _ in 0..5 {
        r.decide(&mut tat, 0);
    }
    let now = 37 * MS;
    let d = r.decide(&mut tat, now);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Duration::from_millis(63));
    assert_eq!(d.remaining, 0);
    assert_eq!(d.reset_after, Duration::from_millis(463));
    // One nanosecond early is still denied, at retry_after it is allowed.
    assert!(!r.decide(&mut tat, 100 * MS - 1).allowed);
    let d = r.decide(&mut tat, 100 * MS);
    assert!(d.allowed);
    assert_eq!(d.retry_after, Duration::ZERO);
    assert_eq!(d.reset_after, Duration::from_millis(500));
}

#[test]
fn reset_after_and_remaining_track_refill() {
    let r = RateLimit::new(10.0, 5).unwrap();
    let mut tat = 0;
    r.decide(&mut tat, 0);
    r.decide(&mut tat, 0);
    // 250 ms later the bucket is full again (2 tokens refill in 200 ms).
    let d = r.decide(&mut tat, 250 * MS);
    assert_eq!(d.remaining, 4);
    assert_eq!(d.reset_after, Duration::from_millis(100));
}

#[test]
fn fractional_rate() {
    let r = RateLimit::new(0.5, 1).unwrap();
    let mut tat = 0;
    assert!(r.decide(&mut tat, 0).allowed);
    let d = r.decide(&mut tat, 0);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Duration::from_secs(2));
    assert!(!r.decide(&mut tat, 1_999 * MS).allowed);
    assert!(r.decide(&mut tat, 2_000 * MS).allowed);
    // 60 s at 0.5/s with burst 1: 1 + 30 requests when polling every 10 ms.
    let mut tat = 0;
    let n = (0..=6_000u64)
        .filter(|i| r.decide(&mut tat, i * 10 * MS).allowed)
        .count();
    assert_eq!(n, 31);
}

#[test]
fn rate_zero_and_burst_zero_deny_everything() {
    for (rate, burst) in [(0.0, 0), (0.0, 10), (5.0, 0)] {
        let r = RateLimit::new(rate, burst).unwrap();
        assert!(r.denies_all());
        let mut tat = 0;
        for s in 0..100u64 {
            let d = r.decide(&mut tat, s * 1_000 * MS);
            assert!(!d.allowed);
            assert_eq!(d.remaining, 0);
        }
        let l: Limiter<String> = Limiter::new(Some(r), None, LimiterOptions::default());
        assert!(!l.decide("k", Duration::ZERO).allowed);
        assert!(l.is_empty(), "a denied new key keeps no state");
    }
}

#[test]
fn config_validation() {
    assert!(matches!(
        RateLimit::new(-1.0, 1),
        Err(ConfigError::InvalidRate(_))
    ));
    assert!(matches!(
        RateLimit::new(f64::NAN, 1),
        Err(ConfigError::InvalidRate(_))
    ));
    assert!(matches!(
        RateLimit::new(f64::INFINITY, 1),
        Err(ConfigError::InvalidRate(_))
    ));
    assert!(matches!(
        RateLimit::new(1.0, 1_000_000_001),
        Err(ConfigError::BurstTooLarge(_))
    ));
    assert!(RateLimit::new(1.0, 1_000_000_000).is_ok());
    assert!(matches!(
        RateLimit::new(1e-300, 1),
        Err(ConfigError::RefillTooSlow { .. })
    ));
    assert!(RateLimit::new(f64::MAX, 1).is_ok());
    assert!(RateLimit::new(10_000.0, 5_000).is_ok());
}

#[test]
fn very_high_rate_still_bounded_by_burst() {
    let r = RateLimit::new(1e12, 3).unwrap();
    let mut tat = 0;
    let n = (0..10)
        .filter(|_| r.decide(&mut tat, 1_000).allowed)
        .count();
    assert_eq!(n, 3);
}

#[test]
fn ratelimit_headers() {
    let r = RateLimit::new(100.0, 100).unwrap();
    let mut tat = 0;
    let d = r.decide(&mut tat, 0);
    let (policy, state) = d.headers("burst", &r);
    assert_eq!(policy, "\"burst\";q=100;w=1");
    assert_eq!(state, "\"burst\";r=99;t=1");

    let r = RateLimit::new(0.5, 10).unwrap();
    let mut tat = 0;
    let d = r.decide(&mut tat, 0);
    let (policy, state) = d.headers("a\"b\\c\u{e9}", &r);
    assert_eq!(policy, "\"a\\\"b\\\\c_\";q=10;w=20");
    assert_eq!(state, "\"a\\\"b\\\\c_\";r=9;t=2");

    let r = RateLimit::new(0.0, 0).unwrap();
    let d = r.decide(&mut 0, 0);
    assert_eq!(
        d.headers("x", &r),
        ("\"x\";q=0;w=1".into(), "\"x\";r=0;t=0".into())
    );
}

#[test]
fn concurrent_hammering_never_exceeds_burst_plus_rate_times_t() {
    let rate = 1_000.0;
    let burst = 50u32;
    let l: Arc<Limiter<String>> = Arc::new(Limiter::new(
        Some(RateLimit::new(rate, burst).unwrap()),
        None,
        LimiterOptions::default(),
    ));
    let start = Instant::now();
    let allowed = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (l, allowed) = (l.clone(), allowed.clone());
            std::thread::spawn(move || {
                while start.elapsed() < Duration::from_millis(300) {
                    if l.decide("shared", start.elapsed()).allowed {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let t = start.elapsed().as_secs_f64();
    let n = allowed.load(Ordering::Relaxed) as f64;
    assert!(
        n <= f64::from(burst) + rate * t + 1.0,
        "{n} allowed in {t}s"
    );
    assert!(n >= f64::from(burst), "{n} allowed in {t}s");

    // Same on virtual time: threads share an advancing virtual clock.
    let l: Arc<Limiter<String>> = Arc::new(Limiter::new(
        Some(RateLimit::new(10.0, 5).unwrap()),
        None,
        LimiterOptions::default(),
    ));
    let clock = Arc::new(AtomicU64::new(0));
    let allowed = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (l, clock, allowed) = (l.clone(), clock.clone(), allowed.clone());
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let now = clock.fetch_add(50_000, Ordering::SeqCst); // 50 µs per call
                    if l.decide("k", Duration::from_nanos(now)).allowed {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let t = Duration::from_nanos(clock.load(Ordering::SeqCst)).as_secs_f64(); // 8 s
    let n = allowed.load(Ordering::Relaxed) as f64;
    assert!(n <= 5.0 + 10.0 * t + 1.0, "{n} allowed in {t}s");
}
