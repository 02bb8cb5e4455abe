//! Usage-plan quotas: a request limit per calendar period in UTC.
//!
//! Periods (all UTC, boundaries inclusive at the start, exclusive at the end):
//! * `Day`: from 00:00:00 of each day;
//! * `Week`: from Monday 00:00:00 (ISO 8601 weeks; API Gateway does not document its week
//!   start, Monday is our choice);
//! * `Month`: from 00:00:00 on the 1st (proleptic Gregorian calendar, so February has 29 days
//!   in leap years).
//!
//! `offset` has API Gateway's current meaning (API reference, `QuotaSettings`): the number of
//! requests subtracted from `limit` in the *initial* period, the period containing the quota's
//! `start` (when the plan or key association took effect). Every later period gets the full
//! `limit`. (Older SDK docs described `offset` as the weekday a period starts on; not
//! implemented.)
//!
//! Times before 1970 are supported (floored division); times outside roughly ±292 billion
//! years saturate.

use crate::gcra::ConfigError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// The quota period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A UTC calendar day.
    Day,
    /// A UTC week starting Monday 00:00.
    Week,
    /// A UTC calendar month.
    Month,
}

/// A validated quota: API Gateway's `QuotaSettings { limit, offset, period }` plus the instant
/// the quota started (which fixes the initial period for `offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    limit: u64,
    offset: u64,
    period: Period,
    initial: i64,
}

/// The outcome of one quota consumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDecision {
    /// Whether the `n` requests fit; when false nothing was consumed.
    pub allowed: bool,
    /// Requests used in the current period after this decision.
    pub used: u64,
    /// Requests left in the current period after this decision.
    pub remaining: u64,
    /// The end of the current period, when the counter resets.
    pub resets_at: SystemTime,
}

impl Quota {
    /// `offset` must not exceed `limit`.
    pub fn new(
        limit: u64,
        offset: u64,
        period: Period,
        start: SystemTime,
    ) -> Result<Self, ConfigError> {
        if offset > limit {
            return Err(ConfigError::OffsetAboveLimit { limit, offset });
        }
        Ok(Self {
            limit,
            offset,
            period,
            initial: period_index(period, start),
        })
    }

    /// The period length.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The configured limit per period.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The limit that applies in the period with index `index`.
    fn limit_in(&self, index: i64) -> u64 {
        if index == self.initial {
            self.limit - self.offset
        } else {
            self.limit
        }
    }

    /// The limit that applies at `now` (`limit - offset` in the initial period).
    pub fn limit_at(&self, now: SystemTime) -> u64 {
        self.limit_in(period_index(self.period, now))
    }

    /// Consumes `n` requests from one key's counter `(period index, used)` at `now`. The
    /// counter rolls over (to 0 used) as soon as `now` is in a different period. Denied
    /// requests do not consume.
    pub fn consume(&self, counter: &mut (i64, u64), n: u64, now: SystemTime) -> QuotaDecision {
        let (d, next) = self.peek(*counter, n, now);
        if d.allowed {
            *counter = next;
        }
        d
    }

    /// What [`consume`](Self::consume) would decide, and the counter it would store if allowed.
    pub fn peek(
        &self,
        counter: (i64, u64),
        n: u64,
        now: SystemTime,
    ) -> (QuotaDecision, (i64, u64)) {
        let index = period_index(self.period, now);
        let used = if counter.0 == index { counter.1 } else { 0 };
        let limit = self.limit_in(index);
        let resets_at = index_start(self.period, index.saturating_add(1));
        match used.checked_add(n).filter(|&u| u <= limit) {
            Some(after) => (
                QuotaDecision {
                    allowed: true,
                    used: after,
                    remaining: limit - after,
                    resets_at,
                },
                (index, after),
            ),
            None => (
                QuotaDecision {
                    allowed: false,
                    used,
                    remaining: limit.saturating_sub(used),
                    resets_at,
                },
                (index, used),
            ),
        }
    }
}

/// The start of the period containing `now`.
pub fn period_start(period: Period, now: SystemTime) -> SystemTime {
    index_start(period, period_index(period, now))
}

/// The end of the period containing `now` (= the start of the next one, exclusive).
pub fn period_end(period: Period, now: SystemTime) -> SystemTime {
    index_start(period, period_index(period, now).saturating_add(1))
}

/// A number identifying the period containing `now`: days since 1970-01-01, Monday-weeks since
/// 1969-12-29, or months since January 1970 (negative before).
pub fn period_index(period: Period, now: SystemTime) -> i64 {
    let day = unix_secs(now).div_euclid(SECS_PER_DAY);
    match period {
        Period::Day => day,
        // 1970-01-01 was a Thursday; day -3 (1969-12-29) a Monday.
        Period::Week => (day + 3).div_euclid(7),
        Period::Month => {
            let (y, m, _) = civil_from_days(day);
            y * 12 + (m - 1)
        }
    }
}

fn index_start(period: Period, index: i64) -> SystemTime {
    let day = match period {
        Period::Day => index,
        Period::Week => index.saturating_mul(7).saturating_sub(3),
        Period::Month => days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1),
    };
    from_unix_secs(day.saturating_mul(SECS_PER_DAY))
}

/// Whole seconds since the Unix epoch, floored (negative before 1970).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            (-s).saturating_sub(i64::from(d.subsec_nanos() > 0))
        }
    }
}

fn from_unix_secs(s: i64) -> SystemTime {
    let d = Duration::from_secs(s.unsigned_abs());
    let t = if s >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    };
    t.unwrap_or(UNIX_EPOCH)
}

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
/// `(year, month 1-12, day 1-31)` of the UTC day `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days from 1970-01-01 to the given UTC date (no range check on `m` and `d`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.saturating_mul(146_097).saturating_add(doe - 719_468)
}
