#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_limiter::{period_end, period_start, ConfigError, Period, Quota};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// UTC time from a civil date (test-only, naive but explicit).
fn utc(y: i64, mo: u32, d: u32, h: u64, mi: u64, s: u64) -> SystemTime {
    // Days from 1970-01-01 by counting.
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = |y: i64, m: u32| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let mut days: i64 = 0;
    if y >= 1970 {
        for yy in 1970..y {
            days += if leap(yy) { 366 } else { 365 };
        }
    } else {
        for yy in y..1970 {
            days -= if leap(yy) { 366 } else { 365 };
        }
    }
    for m in 1..mo {
        days += mdays(y, m);
    }
    days += i64::from(d) - 1;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs((-secs) as u64)
    }
}

const NS: Duration = Duration::from_nanos(1);

#[test]
fn day_boundaries() {
    let t = utc(2024, 3, 10, 13, 45, 7);
    assert_eq!(period_start(Period::Day, t), utc(2024, 3, 10, 0, 0, 0));
    assert_eq!(period_end(Period::Day, t), utc(2024, 3, 11, 0, 0, 0));
    let midnight = utc(2024, 3, 11, 0, 0, 0);
    assert_eq!(period_start(Period::Day, midnight), midnight);
    assert_eq!(
        period_start(Period::Day, midnight - NS),
        utc(2024, 3, 10, 0, 0, 0)
    );
    // Before the epoch.
    let t = utc(1969, 12, 31, 23, 0, 0) + Duration::from_millis(5);
    assert_eq!(period_start(Period::Day, t), utc(1969, 12, 31, 0, 0, 0));
    assert_eq!(period_end(Period::Day, t), UNIX_EPOCH);
}

#[test]
fn week_starts_monday_utc() {
    // 2024-03-10 is a Sunday; its week started Monday 2024-03-04.
    let t = utc(2024, 3, 10, 23, 59, 59);
    assert_eq!(period_start(Period::Week, t), utc(2024, 3, 4, 0, 0, 0));
    assert_eq!(period_end(Period::Week, t), utc(2024, 3, 11, 0, 0, 0));
    let monday = utc(2024, 3, 11, 0, 0, 0);
    assert_eq!(period_start(Period::Week, monday), monday);
    // Across a year end: Wed 2025-01-01 is in the week from Mon 2024-12-30.
    assert_eq!(
        period_start(Period::Week, utc(2025, 1, 1, 12, 0, 0)),
        utc(2024, 12, 30, 0, 0, 0)
    );
    // The epoch (Thursday) is in the week from Monday 1969-12-29.
    assert_eq!(
        period_start(Period::Week, UNIX_EPOCH),
        utc(1969, 12, 29, 0, 0, 0)
    );
}

#[test]
fn month_boundaries_leap_and_non_leap_february_and_december() {
    let cases = [
        (
            utc(2024, 2, 15, 8, 0, 0),
            utc(2024, 2, 1, 0, 0, 0),
            utc(2024, 3, 1, 0, 0, 0),
        ),
        (
            utc(2024, 2, 29, 23, 59, 59),
            utc(2024, 2, 1, 0, 0, 0),
            utc(2024, 3, 1, 0, 0, 0),
        ),
        (
            utc(2023, 2, 28, 23, 59, 59),
            utc(2023, 2, 1, 0, 0, 0),
            utc(2023, 3, 1, 0, 0, 0),
        ),
        (
            utc(2000, 2, 29, 1, 0, 0),
            utc(2000, 2, 1, 0, 0, 0),
            utc(2000, 3, 1, 0, 0, 0),
        ),
        (
            utc(2100, 2, 28, 1, 0, 0),
            utc(2100, 2, 1, 0, 0, 0),
            utc(2100, 3, 1, 0, 0, 0),
        ),
        (
            utc(2024, 12, 31, 23, 59, 59),
            utc(2024, 12, 1, 0, 0, 0),
            utc(2025, 1, 1, 0, 0, 0),
        ),
        (
            utc(2025, 1, 1, 0, 0, 0),
            utc(2025, 1, 1, 0, 0, 0),
            utc(2025, 2, 1, 0, 0, 0),
        ),
        (
            utc(1969, 12, 5, 0, 0, 0),
            utc(1969, 12, 1, 0, 0, 0),
            UNIX_EPOCH,
        ),
    ];
    for (t, start, end) in cases {
        assert_eq!(period_start(Period::Month, t), start, "{t:?}");
        assert_eq!(period_end(Period::Month, t), end, "{t:?}");
    }
    // Leap-year February is 29 days, non-leap 28.
    let len = |y| {
        period_end(Period::Month, utc(y, 2, 10, 0, 0, 0))
            .duration_since(period_start(Period::Month, utc(y, 2, 10, 0, 0, 0)))
            .unwrap()
    };
    assert_eq!(len(2024), Duration::from_secs(29 * 86_400));
    assert_eq!(len(2023), Duration::from_secs(28 * 86_400));
}

#[test]
fn daily_quota_rolls_over_exactly_at_midnight_utc() {
    let start = utc(2024, 1, 1, 0, 0, 0);
    let q = Quota::new(3, 0, Period::Day, start).unwrap();
    let mut c = (i64::MIN, 0);
    let t = utc(2024, 5, 6, 23, 59, 58);
    for i in 1..=3 {
        let d = q.consume(&mut c, 1, t);
        assert!(d.allowed);
        assert_eq!((d.used, d.remaining), (i, 3 - i));
        assert_eq!(d.resets_at, utc(2024, 5, 7, 0, 0, 0));
    }
    let last_ns = utc(2024, 5, 7, 0, 0, 0) - NS;
    assert!(!q.consume(&mut c, 1, last_ns).allowed);
    let d = q.consume(&mut c, 1, utc(2024, 5, 7, 0, 0, 0));
    assert!(d.allowed);
    assert_eq!((d.used, d.remaining), (1, 2));
    assert_eq!(d.resets_at, utc(2024, 5, 8, 0, 0, 0));
}

#[test]
fn weekly_and_monthly_quota_roll_over() {
    let q = Quota::new(1, 0, Period::Week, UNIX_EPOCH).unwrap();
    let mut c = (i64::MIN, 0);
    assert!(q.consume(&mut c, 1, utc(2024, 3, 4, 0, 0, 0)).allowed);
    assert!(!q.consume(&mut c, 1, utc(2024, 3, 10, 23, 59, 59)).allowed);
    assert!(q.consume(&mut c, 1, utc(2024, 3, 11, 0, 0, 0)).allowed);

    let q = Quota::new(1, 0, Period::Month, UNIX_EPOCH).unwrap();
    let mut c = (i64::MIN, 0);
    assert!(q.consume(&mut c, 1, utc(2024, 2, 29, 12, 0, 0)).allowed);
    assert!(!q.consume(&mut c, 1, utc(2024, 3, 1, 0, 0, 0) - NS).allowed);
    assert!(q.consume(&mut c, 1, utc(2024, 3, 1, 0, 0, 0)).allowed);
    assert!(q.consume(&mut c, 1, utc(2025, 1, 1, 0, 0, 0)).allowed);
    let d = q.consume(&mut c, 1, utc(2025, 1, 31, 23, 59, 59));
    assert!(!d.allowed);
    assert_eq!(d.resets_at, utc(2025, 2, 1, 0, 0, 0));
}

#[test]
fn offset_applies_in_initial_period_only() {
    let start = utc(2024, 6, 15, 10, 0, 0);
    let q = Quota::new(10, 4, Period::Month, start).unwrap();
    assert_eq!(q.limit_at(start), 6);
    assert_eq!(q.limit_at(utc(2024, 6, 1, 0, 0, 0)), 6);
    assert_eq!(q.limit_at(utc(2024, 7, 1, 0, 0, 0)), 10);
    let mut c = (i64::MIN, 0);
    let n = (0..20)
        .filter(|_| q.consume(&mut c, 1, utc(2024, 6, 20, 0, 0, 0)).allowed)
        .count();
    assert_eq!(n, 6);
    let n = (0..20)
        .filter(|_| q.consume(&mut c, 1, utc(2024, 7, 2, 0, 0, 0)).allowed)
        .count();
    assert_eq!(n, 10);
    let n = (0..20)
        .filter(|_| q.consume(&mut c, 1, utc(2024, 8, 2, 0, 0, 0)).allowed)
        .count();
    assert_eq!(n, 10);
    assert_eq!(
        Quota::new(5, 6, Period::Day, start),
        Err(ConfigError::OffsetAboveLimit {
            limit: 5,
            offset: 6
        })
    );
    assert_eq!(
        Quota::new(5, 5, Period::Day, start)
            .unwrap()
            .limit_at(start),
        0
    );
}

#[test]
fn denied_requests_do_not_consume() {
    let q = Quota::new(10, 0, Period::Day, UNIX_EPOCH).unwrap();
    let mut c = (i64::MIN, 0);
    let t = utc(2024, 1, 1, 1, 0, 0);
    assert!(q.consume(&mut c, 7, t).allowed);
    let d = q.consume(&mut c, 4, t);
    assert!(!d.allowed);
    assert_eq!((d.used, d.remaining), (7, 3));
    let d = q.consume(&mut c, 3, t);
    assert!(d.allowed);
    assert_eq!((d.used, d.remaining), (10, 0));
    let d = q.consume(&mut c, u64::MAX, t);
    assert!(!d.allowed);
    assert_eq!(d.used, 10);
}
