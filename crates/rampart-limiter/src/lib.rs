//! Rampart's in-process rate-limit decision engine: API Gateway-style throttling (token
//! buckets, implemented as GCRA with one `u64` of state per key) and usage-plan quotas
//! (a request limit per UTC day, week or month), over a sharded map with bounded memory.
//!
//! All decisions take the time as an argument (`now: Duration` on a monotonic clock for
//! throttling, `SystemTime` for quota periods); nothing reads a clock.
//!
//! ```
//! use rampart_limiter::{Limiter, LimiterOptions, RateLimit};
//! use std::time::Duration;
//!
//! let limiter: Limiter<String> =
//!     Limiter::new(Some(RateLimit::new(10.0, 5)?), None, LimiterOptions::default());
//! let t0 = Duration::ZERO;
//! for _ in 0..5 {
//!     assert!(limiter.decide("key", t0).allowed);
//! }
//! let d = limiter.decide("key", t0);
//! assert!(!d.allowed);
//! assert_eq!(d.retry_after, Duration::from_millis(100));
//! # Ok::<(), rampart_limiter::ConfigError>(())
//! ```

mod gcra;
mod limiter;
mod quota;

pub use gcra::{ConfigError, Decision, RateLimit, MAX_BURST, MAX_REFILL_NANOS};
pub use limiter::{Limiter, LimiterOptions, MonotonicClock, Outcome};
pub use quota::{
    civil_from_days, days_from_civil, period_end, period_index, period_start, Period, Quota,
    QuotaDecision,
};
