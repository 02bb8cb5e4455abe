//! Rate-based rule state (`rampart_waf::rate`), all with injected time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_waf::rate::{
    RateConfig, RateError, RateTracker, DEFAULT_MAX_KEYS, LIMITED_KEYS_CAP, MEMORY_BYTES_PER_KEY,
    MEMORY_FIXED_BYTES, SUB_BUCKETS,
};
use std::collections::VecDeque;

const SEC: u64 = 1000;

fn tracker(limit: u64, window_secs: u64) -> RateTracker {
    RateTracker::new(RateConfig::new(limit, window_secs)).unwrap()
}

fn small(limit: u64, window_secs: u64, max_keys: usize) -> RateTracker {
    RateTracker::new(RateConfig {
        limit,
        window_secs,
        max_keys,
    })
    .unwrap()
}

// Deterministic pseudo-random numbers for the traffic patterns.
#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn tracker_is_send_and_sync() {
    assert_send_sync::<RateTracker>();
}

#[test]
fn accepts_the_aws_windows_only() {
    for w in [60, 120, 300, 600] {
        let t = RateTracker::new(RateConfig::new(10, w)).unwrap();
        assert_eq!(t.config().window_secs, w);
        assert_eq!(t.config().max_keys, DEFAULT_MAX_KEYS);
    }
    for w in [0, 1, 30, 59, 61, 180, 599, 601, 900, 3600, u64::MAX] {
        assert_eq!(
            RateTracker::new(RateConfig::new(10, w)).unwrap_err(),
            RateError::Window(w)
        );
    }
}

#[test]
fn validates_limit_and_max_keys() {
    assert!(RateTracker::new(RateConfig::new(1, 60)).is_ok());
    assert!(RateTracker::new(RateConfig::new(2_000_000_000, 60)).is_ok());
    assert_eq!(
        RateTracker::new(RateConfig::new(0, 60)).unwrap_err(),
        RateError::Limit(0)
    );
    assert_eq!(
        RateTracker::new(RateConfig::new(2_000_000_001, 60)).unwrap_err(),
        RateError::Limit(2_000_000_001)
    );
    let cfg = RateConfig {
        max_keys: 0,
        ..RateConfig::new(10, 60)
    };
    assert_eq!(RateTracker::new(cfg).unwrap_err(), RateError::MaxKeys(0));
    let cfg = RateConfig {
        max_keys: 1,
        ..RateConfig::new(10, 60)
    };
    assert!(RateTracker::new(cfg).is_ok());
    let err = RateTracker::new(RateConfig::new(10, 30)).unwrap_err();
    assert!(err.to_string().contains("60, 120, 300 or 600"), "{err}");
}

#[test]
fn exactly_at_limit_is_allowed_one_more_is_limited() {
    let t = tracker(5, 60);
    for i in 1..=5 {
        assert!(
            !t.record(b"10.0.0.1", 1_000),
            "request {i} is within the limit"
        );
        assert_eq!(t.count(b"10.0.0.1", 1_000), i);
    }
    assert!(!t.is_limited(b"10.0.0.1", 1_000));
    assert!(
        t.record(b"10.0.0.1", 1_000),
        "the 6th request exceeds a limit of 5"
    );
    assert!(t.is_limited(b"10.0.0.1", 1_000));
    assert_eq!(t.count(b"10.0.0.1", 1_000), 6);
    // Other keys are untouched; unknown keys count 0 and are not tracked by queries.
    assert_eq!(t.count(b"10.0.0.2", 1_000), 0);
    assert!(!t.is_limited(b"10.0.0.2", 1_000));
    assert_eq!(t.tracked_keys(), 1);
}

#[test]
fn limit_of_one() {
    let t = tracker(1, 60);
    assert!(!t.record(b"k", 0));
    assert!(t.record(b"k", 1));
}

/// The seeds' example: more than 1000 requests in 300 s from one IP are blocked, another IP
/// at 999 is not.
#[test]
fn seeds_example_1000_per_300s() {
    let t = tracker(1000, 300);
    // Both IPs spread their requests over 250 s.
    for i in 0..1001u64 {
        let now = i * 250;
        let limited = t.record(b"192.0.2.1", now);
        assert_eq!(limited, i == 1000, "request {} of 192.0.2.1", i + 1);
        if i < 999 {
            assert!(!t.record(b"192.0.2.2", now));
        }
    }
    assert_eq!(t.count(b"192.0.2.1", 250_000), 1001);
    assert_eq!(t.count(b"192.0.2.2", 250_000), 999);
    assert!(t.is_limited(b"192.0.2.1", 250_000));
    assert!(!t.is_limited(b"192.0.2.2", 250_000));
    // Still 999 a few seconds later: the IP at 999 stays allowed.
    assert!(!t.is_limited(b"192.0.2.2", 260_000));
}

#[test]
fn blocked_key_recovers_once_the_window_slides() {
    let t = tracker(1000, 300);
    for _ in 0..1001 {
        t.record(b"ip", 10 * SEC);
    }
    assert!(t.is_limited(b"ip", 10 * SEC));
    // Exact while the burst is younger than 0.9 W.
    assert!(t.is_limited(b"ip", 10 * SEC + 270 * SEC - 1));
    assert_eq!(t.count(b"ip", 279 * SEC), 1001);
    // Then it fades out, never increasing, and is gone 1.1 W after the burst.
    let mut previous = u64::MAX;
    let mut released_at = None;
    for now in (279 * SEC..=340 * SEC).step_by(100) {
        let c = t.count(b"ip", now);
        assert!(c <= previous, "count went up at {now}");
        previous = c;
        if released_at.is_none() && !t.is_limited(b"ip", now) {
            released_at = Some(now);
        }
    }
    assert_eq!(t.count(b"ip", 340 * SEC), 0);
    let released_at = released_at.unwrap();
    assert!(
        (300 * SEC..=340 * SEC).contains(&released_at),
        "released at {released_at}"
    );
    // Once released, the key starts over.
    assert!(!t.record(b"ip", 341 * SEC));
    assert_eq!(t.count(b"ip", 341 * SEC), 1);
}

/// Requests of a blocked key count (as in AWS WAF): a client that keeps hammering stays
/// blocked until it slows down.
#[test]
fn requests_of_a_blocked_key_count() {
    let t = tracker(10, 60);
    // 1 request per second: 60 per window, well over 10.
    let mut now = 0;
    for i in 0..300u64 {
        now = i * SEC;
        let limited = t.record(b"client", now);
        assert_eq!(limited, i >= 10, "request {}", i + 1);
    }
    // 300 s of hammering, blocked at every request after the 10th; the count stays at the
    // true rate, not at the limit.
    assert!((59..=61).contains(&t.count(b"client", now)));
    // It stops: blocked until its rate is back to 10 per window or less.
    assert!(t.is_limited(b"client", now + 40 * SEC));
    assert!(!t.is_limited(b"client", now + 60 * SEC));
    // Slowing down to 1 request per 10 s (6 per window) keeps it allowed.
    for i in 0..30u64 {
        assert!(!t.record(b"client", now + 60 * SEC + i * 10 * SEC));
    }
}

#[test]
fn each_window_has_its_own_length() {
    for w in [60u64, 120, 300, 600] {
        let t = tracker(10, w);
        let start = 5 * SEC;
        for _ in 0..11 {
            t.record(b"k", start);
        }
        let w_ms = w * SEC;
        // Counted exactly for 0.9 W, still limited at W, gone after 1.1 W.
        assert_eq!(t.count(b"k", start + w_ms * 9 / 10 - 1), 11, "window {w}");
        assert!(
            t.is_limited(b"k", start + w_ms - w_ms / 10 - 1),
            "window {w}"
        );
        assert_eq!(t.count(b"k", start + w_ms * 11 / 10), 0, "window {w}");
        assert!(!t.is_limited(b"k", start + w_ms * 11 / 10), "window {w}");
    }
    // 66 s after the burst, a 60 s window has forgotten it, a 120 s window has not.
    let short = tracker(10, 60);
    let long = tracker(10, 120);
    for _ in 0..11 {
        short.record(b"k", 0);
        long.record(b"k", 0);
    }
    assert!(!short.is_limited(b"k", 66 * SEC));
    assert!(long.is_limited(b"k", 66 * SEC));
}

/// Reference: exact sliding-window count over `(now - W, now]` and the number of requests in
/// the slot straddling `now - W` (the stated error bound).
struct Exact {
    times: VecDeque<u64>,
    window_ms: u64,
}

impl Exact {
    /// Records at non-decreasing times; queries are at the latest record time or later.
    fn record(&mut self, now: u64) {
        self.times.push_back(now);
        // Older than any slot a query from now on can look at.
        let slot_ms = self.window_ms / SUB_BUCKETS;
        let horizon = (now / slot_ms).saturating_sub(SUB_BUCKETS) * slot_ms;
        while self.times.front().is_some_and(|&t| t < horizon) {
            self.times.pop_front();
        }
    }

    fn count_and_edge(&self, now: u64) -> (u64, u64) {
        let slot_ms = self.window_ms / SUB_BUCKETS;
        let slot = now / slot_ms;
        let exact = self
            .times
            .iter()
            .filter(|&&t| t + self.window_ms > now && t <= now)
            .count() as u64;
        let edge = match slot.checked_sub(SUB_BUCKETS) {
            Some(e) => self.times.iter().filter(|&&t| t / slot_ms == e).count() as u64,
            None => 0,
        };
        (exact, edge)
    }
}

#[test]
fn steady_rate_is_counted_within_one_request() {
    for w in [60u64, 300] {
        let t = tracker(1_000_000, w);
        let mut exact = Exact {
            times: VecDeque::new(),
            window_ms: w * SEC,
        };
        // 10 requests per second for 3 windows.
        let mut worst = 0;
        for i in 0..(30 * w) {
            let now = i * 100;
            t.record(b"k", now);
            exact.record(now);
            let (want, _) = exact.count_and_edge(now);
            let got = t.count(b"k", now);
            worst = worst.max(got.abs_diff(want));
            // Between requests too.
            let (want, _) = exact.count_and_edge(now + 50);
            worst = worst.max(t.count(b"k", now + 50).abs_diff(want));
        }
        assert!(worst <= 1, "window {w}: off by {worst}");
    }
}

#[test]
fn bursty_traffic_error_is_at_most_the_edge_slot() {
    for (w, seed) in [(60u64, 1u64), (120, 2), (300, 3), (600, 4)] {
        let t = tracker(1_000_000, w);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let mut exact = Exact {
            times: VecDeque::new(),
            window_ms: w * SEC,
        };
        let mut now = 0;
        let mut checks = 0;
        let mut max_err = 0;
        let mut slack_used = false;
        while now < 5 * w * SEC {
            // Quiet gaps of up to a fifth of the window, then bursts of up to 50 requests.
            now += rng.below(w * SEC / 5);
            for _ in 0..rng.below(50) {
                now += rng.below(200);
                t.record(b"k", now);
                exact.record(now);
            }
            for probe in [now, now + rng.below(w * SEC / 2)] {
                let (want, edge) = exact.count_and_edge(probe);
                let got = t.count(b"k", probe);
                let err = got.abs_diff(want);
                assert!(
                    err <= edge,
                    "window {w}: estimate {got}, exact {want}, edge slot {edge} at {probe}"
                );
                max_err = max_err.max(err);
                slack_used |= err > 0;
                checks += 1;
            }
        }
        assert!(checks > 50, "window {w}: {checks} checks");
        // The interpolation is exercised, not just exact counts.
        assert!(slack_used, "window {w}");
        assert!(max_err > 0);
    }
}

#[test]
fn time_going_backwards_still_counts() {
    let t = tracker(10, 60);
    t.record(b"k", 30 * SEC);
    t.record(b"k", 20 * SEC);
    assert_eq!(t.count(b"k", 30 * SEC), 2);
    assert_eq!(t.count(b"k", 25 * SEC), 2);
}

#[test]
fn concurrent_records_are_all_counted() {
    let t = tracker(79_999, 60);
    std::thread::scope(|s| {
        for thread in 0..8u64 {
            let t = &t;
            s.spawn(move || {
                for i in 0..10_000u64 {
                    t.record(b"shared", 1_000);
                    // Some traffic on other keys and shards too.
                    if i % 100 == 0 {
                        t.record(format!("own-{thread}-{i}").as_bytes(), 1_000);
                    }
                }
            });
        }
    });
    assert_eq!(t.count(b"shared", 1_000), 80_000);
    assert!(t.is_limited(b"shared", 1_000));
    assert_eq!(t.tracked_keys(), 1 + 8 * 100);
    assert_eq!(t.count(b"own-3-500", 1_000), 1);
}

#[test]
fn concurrent_records_across_slots_are_all_counted() {
    let t = tracker(1_000_000, 60);
    std::thread::scope(|s| {
        for thread in 0..8u64 {
            let t = &t;
            // Each thread walks its own clock through the first 50 s.
            s.spawn(move || {
                for i in 0..10_000u64 {
                    t.record(b"shared", (i * 5 + thread) % 50_000);
                }
            });
        }
    });
    assert_eq!(t.count(b"shared", 50_000), 80_000);
}

/// A full single-shard table evicts the lowest count, then the least recently seen.
#[test]
fn eviction_picks_the_lowest_count_then_the_oldest() {
    let t = small(3, 60, 4);
    for _ in 0..5 {
        t.record(b"a", 0); // over the limit
    }
    t.record(b"b", 1_000);
    t.record(b"c", 2_000);
    t.record(b"d", 3_000);
    t.record(b"d", 3_000);
    assert_eq!(t.tracked_keys(), 4);
    t.record(b"e", 4_000); // evicts b: count 1, older than c
    assert_eq!(t.tracked_keys(), 4);
    assert_eq!(t.count(b"b", 4_000), 0);
    assert_eq!(t.count(b"a", 4_000), 5);
    assert_eq!(t.count(b"c", 4_000), 1);
    assert_eq!(t.count(b"d", 4_000), 2);
    t.record(b"f", 5_000); // evicts c: count 1, older than e
    assert_eq!(t.count(b"c", 5_000), 0);
    assert_eq!(t.count(b"e", 5_000), 1);
    assert!(t.is_limited(b"a", 5_000));
    // An evicted key that comes back starts from zero: under-counted, never over-counted.
    assert!(!t.record(b"b", 6_000));
    assert_eq!(t.count(b"b", 6_000), 1);
}

#[test]
fn idle_entries_are_reused_first() {
    let t = small(100, 60, 3);
    t.record(b"old", 0);
    for _ in 0..3 {
        t.record(b"busy", 60 * SEC);
    }
    t.record(b"recent", 65 * SEC);
    // At 70 s `old` (recorded at 0) is out of the window: idle, reused even though the hand
    // may start elsewhere.
    t.record(b"new", 70 * SEC);
    assert_eq!(t.tracked_keys(), 3);
    assert_eq!(t.count(b"busy", 70 * SEC), 3);
    assert_eq!(t.count(b"recent", 70 * SEC), 1);
    assert_eq!(t.count(b"new", 70 * SEC), 1);
}

/// When every tracked key is over the limit, the ones with the highest counts stay (as AWS
/// blocks the highest rates beyond its managed-keys maximum).
#[test]
fn a_table_full_of_limited_keys_keeps_the_highest_counts() {
    let t = small(1, 60, 8);
    // Keys 0..8 with counts 2..=9, all over the limit of 1.
    for k in 0..8u64 {
        for _ in 0..(k + 2) {
            t.record(&k.to_be_bytes(), 1_000);
        }
    }
    for k in 0..8u64 {
        assert!(t.is_limited(&k.to_be_bytes(), 1_000));
    }
    // Newcomers, each over the limit after two requests: each eviction drops the lowest
    // count in the table, first key 0 (count 2), then the previous newcomer (count 2, older
    // than key 1's 3).
    for k in 100..104u64 {
        t.record(&k.to_be_bytes(), 2_000);
        assert!(t.record(&k.to_be_bytes(), 2_000));
    }
    assert_eq!(t.tracked_keys(), 8);
    assert_eq!(t.count(&0u64.to_be_bytes(), 2_000), 0);
    for k in 1..8u64 {
        assert_eq!(t.count(&k.to_be_bytes(), 2_000), k + 2, "key {k}");
        assert!(t.is_limited(&k.to_be_bytes(), 2_000), "key {k}");
    }
    for k in 100..103u64 {
        assert_eq!(t.count(&k.to_be_bytes(), 2_000), 0, "key {k}");
    }
    assert!(t.is_limited(&103u64.to_be_bytes(), 2_000));
}

/// The memory bound: 2 million distinct keys never grow the table past `max_keys` nor the
/// memory past `80 x max_keys + 16 KiB`, and a heavy hitter over the limit before and during
/// the spray stays blocked. A new attacker starting during the spray still gets blocked.
#[test]
fn spraying_two_million_keys_keeps_the_bound_and_the_heavy_hitter() {
    let cfg = RateConfig::new(100, 60);
    let max_keys = cfg.max_keys;
    let bound = max_keys * 80 + 16 * 1024;
    assert_eq!(MEMORY_BYTES_PER_KEY, 80);
    assert_eq!(MEMORY_FIXED_BYTES, 16 * 1024);
    assert_eq!(cfg.memory_bound_bytes(), bound);
    let t = RateTracker::new(cfg).unwrap();
    let empty = t.approx_memory_bytes();
    assert!(empty < 16 * 1024, "empty tracker: {empty} bytes");

    let heavy = b"203.0.113.66";
    let late = b"198.51.100.7";
    for i in 0..150 {
        t.record(heavy, i * 10);
    }
    assert!(t.is_limited(heavy, 1_500));

    let spray = 2_000_000u64;
    let mut late_sent = 0u64;
    for i in 0..spray {
        // 2 million keys over 50 s, one request each.
        let now = 2_000 + i / 40;
        t.record(&i.to_le_bytes(), now);
        if i % 1_000 == 0 {
            assert!(
                t.record(heavy, now),
                "heavy hitter unblocked at spray key {i}"
            );
        }
        // A new attacker from the middle of the spray: one request per 100 sprayed keys.
        if i >= spray / 2 && i % 100 == 0 {
            late_sent += 1;
            let limited = t.record(late, now);
            assert_eq!(
                limited,
                late_sent > 100,
                "late attacker request {late_sent}"
            );
        }
        if i % 250_000 == 0 {
            assert!(t.tracked_keys() <= max_keys);
            assert!(t.approx_memory_bytes() <= bound);
        }
    }
    let end = 2_000 + spray / 40;
    assert!(t.tracked_keys() <= max_keys);
    assert_eq!(t.tracked_keys(), max_keys, "the table is full, not more");
    let mem = t.approx_memory_bytes();
    assert!(mem <= bound, "{mem} bytes > {bound}");
    assert!(t.is_limited(heavy, end));
    assert_eq!(t.count(heavy, end), 150 + spray / 1_000);
    assert!(t.is_limited(late, end));
    assert_eq!(t.count(late, end), late_sent);

    // Once everything is idle, purging gives the memory back.
    let later = end + 70 * SEC;
    assert_eq!(t.purge_idle(later), max_keys);
    assert_eq!(t.tracked_keys(), 0);
    assert_eq!(t.approx_memory_bytes(), empty);
    assert!(!t.is_limited(heavy, later));
}

#[test]
fn purge_keeps_active_keys() {
    let t = small(10, 60, 1_000);
    for k in 0..500u64 {
        t.record(&k.to_be_bytes(), 0);
    }
    for k in 0..10u64 {
        for _ in 0..20 {
            t.record(&k.to_be_bytes(), 50 * SEC);
        }
    }
    // At 70 s only the keys recorded at 50 s are left.
    assert_eq!(t.purge_idle(70 * SEC), 490);
    assert_eq!(t.tracked_keys(), 10);
    for k in 0..10u64 {
        assert!(t.is_limited(&k.to_be_bytes(), 70 * SEC));
        assert_eq!(t.count(&k.to_be_bytes(), 70 * SEC), 20);
    }
    for k in 10..500u64 {
        assert_eq!(t.count(&k.to_be_bytes(), 70 * SEC), 0);
    }
    // The table still works after shrinking, and fills up again (keys fall unevenly into
    // the shards, so some evict before the table is full).
    for k in 1_000..3_000u64 {
        t.record(&k.to_be_bytes(), 71 * SEC);
    }
    assert_eq!(t.tracked_keys(), 1_000);
    for k in 0..10u64 {
        assert!(t.is_limited(&k.to_be_bytes(), 71 * SEC));
    }
}

#[test]
fn small_max_keys_bounds() {
    for max_keys in [1usize, 2, 7, 255, 256, 511, 512, 1_000, 16_385] {
        let t = small(1_000, 60, max_keys);
        for i in 0..(3 * max_keys as u64 + 10) {
            t.record(&i.to_be_bytes(), i);
        }
        assert_eq!(t.tracked_keys(), max_keys, "max_keys {max_keys}");
        let bound = RateConfig {
            max_keys,
            ..RateConfig::new(1_000, 60)
        }
        .memory_bound_bytes();
        assert!(t.approx_memory_bytes() <= bound, "max_keys {max_keys}");
    }
}

/// Keys over the limit are listed by name when the tracker remembers them, forgotten once
/// they fall back to the limit, and never more than `LIMITED_KEYS_CAP` at once.
#[test]
fn limited_keys_are_listed_while_over_the_limit() {
    let t = tracker(3, 60).remember_limited_keys();
    let (a, b, long) = (&[192u8, 0, 2, 1][..], &[192u8, 0, 2, 2][..], &[7u8; 17][..]);
    for i in 0..5 {
        t.record(a, i * SEC);
        t.record(long, i * SEC);
    }
    for i in 0..3 {
        t.record(b, i * SEC);
    }
    assert!(t.is_limited(a, 5 * SEC) && t.is_limited(long, 5 * SEC) && !t.is_limited(b, 5 * SEC));
    // `long` is over the limit too, but only keys of at most 16 bytes (addresses) are kept.
    assert_eq!(t.limited_keys(5 * SEC), vec![a.to_vec()]);
    // Once the window has passed, `a` has recovered and is forgotten.
    assert!(t.limited_keys(200 * SEC).is_empty());
    assert!(
        t.limited_keys(5 * SEC).is_empty(),
        "forgotten, not just hidden"
    );
    // Over the limit again: listed again.
    for i in 0..4 {
        t.record(a, 300 * SEC + i);
    }
    assert_eq!(t.limited_keys(300 * SEC + 10), vec![a.to_vec()]);

    // A tracker that was not asked to remember lists nothing.
    let plain = tracker(3, 60);
    for i in 0..5 {
        plain.record(a, i * SEC);
    }
    assert!(plain.is_limited(a, 5 * SEC));
    assert!(plain.limited_keys(5 * SEC).is_empty());

    // Bounded: more keys over the limit than the cap, the cap remembered, all still counted.
    let t = tracker(1, 60).remember_limited_keys();
    let n = LIMITED_KEYS_CAP as u32 + 500;
    for k in 0..n {
        t.record(&k.to_be_bytes(), 0);
        assert!(t.record(&k.to_be_bytes(), 1), "key {k} over the limit");
    }
    assert_eq!(t.limited_keys(2).len(), LIMITED_KEYS_CAP);
    // When the remembered ones have recovered, a new key over the limit takes their room
    // (without waiting for a listing).
    let later = 200 * SEC;
    let fresh = u32::MAX.to_be_bytes();
    t.record(&fresh, later);
    assert!(t.record(&fresh, later + 1));
    assert_eq!(t.limited_keys(later + 2), vec![fresh.to_vec()]);
}
