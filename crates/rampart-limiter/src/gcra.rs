//! Token buckets as GCRA (generic cell rate algorithm).
//!
//! A bucket of capacity `burst` refilled at `rate` tokens per second is represented by one
//! number, its *theoretical arrival time* `tat` (nanoseconds on the caller's monotonic clock):
//! the instant at which the bucket would be full again. A key whose `tat <= now` has a full
//! bucket, so a new key starts with `tat = 0` (full). With the emission interval
//! `T = 1 s / rate` and the tolerance `tau = burst * T`, a request at `now` is allowed iff
//! `max(tat, now) + T - now <= tau`, and then `tat := max(tat, now) + T`.

use std::fmt;
use std::time::Duration;

/// Largest accepted `burst` (`1e9`).
pub const MAX_BURST: u32 = 1_000_000_000;

/// Largest accepted time to refill an empty bucket (`burst / rate`): 2^62 ns, about 146 years.
/// Keeps every computation inside `u64` nanoseconds.
pub const MAX_REFILL_NANOS: u64 = 1 << 62;

const NANOS_PER_SEC: f64 = 1e9;

/// An invalid throttle or quota setting.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `rate` was negative, NaN or infinite.
    InvalidRate(f64),
    /// `burst` was above [`MAX_BURST`].
    BurstTooLarge(u32),
    /// `burst / rate` (time to refill an empty bucket) exceeds [`MAX_REFILL_NANOS`].
    RefillTooSlow {
        /// The rate given.
        rate: f64,
        /// The burst given.
        burst: u32,
    },
    /// A quota `offset` larger than its `limit`.
    OffsetAboveLimit {
        /// The quota limit.
        limit: u64,
        /// The offset given.
        offset: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRate(r) => write!(f, "rate must be finite and >= 0, got {r}"),
            Self::BurstTooLarge(b) => write!(f, "burst must be <= {MAX_BURST}, got {b}"),
            Self::RefillTooSlow { rate, burst } => write!(
                f,
                "burst {burst} at rate {rate}/s takes longer than 2^62 ns to refill"
            ),
            Self::OffsetAboveLimit { limit, offset } => {
                write!(f, "quota offset {offset} exceeds limit {limit}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A validated throttle setting: API Gateway's `rateLimit` / `burstLimit`.
///
/// `rate == 0` or `burst == 0` denies every request (API Gateway's way to block a client): a
/// bucket that never refills would hand out `burst` requests per *lifetime of the state*, which
/// is meaningless once idle state is evicted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    rate: f64,
    burst: u32,
    /// Emission interval `T` in ns; 0 means "deny everything".
    interval: u64,
    /// `tau = burst * T` in ns.
    tolerance: u64,
}

/// The outcome of one throttle decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed (and a token was taken).
    pub allowed: bool,
    /// When denied: how long until one token is available (`Retry-After`). Zero when allowed.
    /// [`Duration::MAX`] when the limit denies everything.
    pub retry_after: Duration,
    /// Whole tokens left in the bucket after this decision.
    pub remaining: u32,
    /// How long until the bucket is full again.
    pub reset_after: Duration,
}

impl RateLimit {
    /// Validates `rate` (requests per second, finite, `>= 0`) and `burst` (`<= 1e9`).
    pub fn new(rate: f64, burst: u32) -> Result<Self, ConfigError> {
        if !rate.is_finite() || rate < 0.0 {
            return Err(ConfigError::InvalidRate(rate));
        }
        if burst > MAX_BURST {
            return Err(ConfigError::BurstTooLarge(burst));
        }
        if rate == 0.0 || burst == 0 {
            return Ok(Self {
                rate,
                burst,
                interval: 0,
                tolerance: 0,
            });
        }
        let refill = f64::from(burst) * NANOS_PER_SEC / rate;
        if refill > MAX_REFILL_NANOS as f64 {
            return Err(ConfigError::RefillTooSlow { rate, burst });
        }
        // In range by the check above (interval <= refill <= 2^62); at least 1 ns.
        let interval = ((NANOS_PER_SEC / rate).round() as u64).max(1);
        let tolerance = interval.saturating_mul(u64::from(burst));
        Ok(Self {
            rate,
            burst,
            interval,
            tolerance,
        })
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Bucket capacity.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// True when every request is denied (`rate == 0` or `burst == 0`).
    pub fn denies_all(&self) -> bool {
        self.interval == 0
    }

    /// The GCRA step on one key's state `tat` at `now` (ns on the caller's monotonic clock).
    /// Updates `tat` only when allowed. O(1), no allocation.
    pub fn decide(&self, tat: &mut u64, now: u64) -> Decision {
        let (d, new_tat) = self.peek(*tat, now);
        if d.allowed {
            *tat = new_tat;
        }
        d
    }

    /// The decision [`decide`](Self::decide) would make, and the `tat` it would store if allowed.
    pub fn peek(&self, tat: u64, now: u64) -> (Decision, u64) {
        if self.interval == 0 {
            let d = Decision {
                allowed: false,
                retry_after: Duration::MAX,
                remaining: 0,
                reset_after: Duration::ZERO,
            };
            return (d, tat);
        }
        let base = tat.max(now);
        let new_tat = base.saturating_add(self.interval);
        let wait = new_tat - now; // new_tat > base >= now
        if wait > self.tolerance {
            let d = Decision {
                allowed: false,
                retry_after: Duration::from_nanos(wait - self.tolerance),
                remaining: 0,
                reset_after: Duration::from_nanos(tat.saturating_sub(now)),
            };
            return (d, tat);
        }
        let left = (self.tolerance - wait) / self.interval; // <= burst
        let d = Decision {
            allowed: true,
            retry_after: Duration::ZERO,
            remaining: u32::try_from(left).unwrap_or(u32::MAX),
            reset_after: Duration::from_nanos(wait),
        };
        (d, new_tat)
    }

    /// The `w` of the `RateLimit-Policy` field: seconds to refill an empty bucket, rounded up,
    /// at least 1.
    pub fn window_secs(&self) -> u64 {
        if self.interval == 0 {
            return 1;
        }
        ceil_secs(Duration::from_nanos(self.tolerance)).max(1)
    }
}

/// Whole seconds, rounded up.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Decision {
    /// The `RateLimit-Policy` and `RateLimit` field values of
    /// draft-ietf-httpapi-ratelimit-headers-09 (Structured Field Lists, RFC 9651), for a policy
    /// named `name` (emitted as an sf-string; `"` and `\` are escaped, other characters outside
    /// printable ASCII are replaced by `_`):
    ///
    /// ```text
    /// RateLimit-Policy: "<name>";q=<burst>;w=<ceil(burst / rate) seconds>
    /// RateLimit:        "<name>";r=<remaining>;t=<ceil(reset_after) seconds>
    /// ```
    ///
    /// e.g. `("\"burst\";q=100;w=1", "\"burst\";r=99;t=1")` for rate 100/s, burst 100. `q` is
    /// the bucket capacity, `w` the time the bucket takes to refill from empty, `r` the whole
    /// tokens left, `t` the time until the bucket is full again (for a denied request the
    /// caller also sends `Retry-After` from [`Decision::retry_after`]). A deny-all limit
    /// renders `q=0;w=1` and `r=0;t=0`.
    pub fn headers(&self, name: &str, policy: &RateLimit) -> (String, String) {
        let name = sf_string(name);
        let q = if policy.denies_all() { 0 } else { policy.burst };
        (
            format!("{name};q={q};w={}", policy.window_secs()),
            format!(
                "{name};r={};t={}",
                self.remaining,
                ceil_secs(self.reset_after)
            ),
        )
    }
}

fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('_'),
        }
    }
    out.push('"');
    out
}
