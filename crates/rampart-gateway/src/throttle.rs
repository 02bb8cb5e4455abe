//! Stage 6, throttle: API keys and their usage plans (per-key throttles and quotas, see
//! [`crate::usage`]), then the rate limits that apply to every caller, keyed or not (API
//! Gateway's stage-level and account-level throttling).
//!
//! Each limit is one token bucket (`rampart-limiter`'s GCRA: `rate` requests per second,
//! `burst` capacity) shared by all the gateway's workers: `server.throttle` for the whole
//! gateway, `apis[].throttle` for each stage of an API, `routes[].throttle` for each
//! stage of a route (API Gateway's per-method setting, replacing the API's for it). A
//! request takes a token from the most specific limit first, then the gateway-wide one.
//! Over a limit: 429 `THROTTLED` `{"message":"Too Many Requests"}` with `Retry-After` and
//! the IETF `RateLimit-Policy` / `RateLimit` headers.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rampart_limiter::RateLimit;

use crate::config::Compiled;
use crate::pipeline::RequestContext;
use crate::respond::GatewayError;

/// One shared token bucket.
#[derive(Debug)]
pub struct Bucket {
    /// The policy name in `RateLimit-Policy` (`gateway`, `api`, `route`).
    pub name: &'static str,
    pub limit: RateLimit,
    tat: Mutex<u64>,
}

impl Bucket {
    pub fn new(name: &'static str, limit: RateLimit) -> Self {
        Bucket {
            name,
            limit,
            tat: Mutex::new(0),
        }
    }

    fn take(&self, now: u64) -> rampart_limiter::Decision {
        match self.tat.lock() {
            Ok(mut tat) => self.limit.decide(&mut tat, now),
            // A poisoned lock: deny rather than let everything through.
            Err(_) => rampart_limiter::Decision {
                allowed: false,
                retry_after: Duration::from_secs(1),
                remaining: 0,
                reset_after: Duration::from_secs(1),
            },
        }
    }
}

/// A limit per stage (`None` for an API served under a base path).
#[derive(Debug)]
pub struct PerStage {
    pub limit: RateLimit,
    pub name: &'static str,
    /// A few stages: a list beats hashing (and allocating) a key per request.
    buckets: Vec<(Option<String>, Bucket)>,
}

impl PerStage {
    pub fn new(name: &'static str, limit: RateLimit, stages: &[Option<String>]) -> Self {
        PerStage {
            limit,
            name,
            buckets: stages
                .iter()
                .map(|s| (s.clone(), Bucket::new(name, limit)))
                .collect(),
        }
    }

    fn bucket(&self, stage: Option<&str>) -> Option<&Bucket> {
        self.buckets
            .iter()
            .find(|(s, _)| s.as_deref() == stage)
            .map(|(_, b)| b)
    }
}

/// Nanoseconds on a monotonic clock shared by every worker.
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub async fn admit(
    cfg: &Compiled,
    ctx: &mut RequestContext,
    headers: &http::HeaderMap,
) -> Result<(), GatewayError> {
    // Usage plans first (API Gateway's order: per client, then per stage, then account).
    // The route is cloned (an `Arc`) only for keyed routes: `admit` needs `ctx` mutably.
    if let Some(route) = ctx.matched.as_ref().filter(|r| r.api_key_required).cloned() {
        match &cfg.usage_rt {
            // Boxed: keyless routes do not carry the usage check's future.
            Some(usage) => Box::pin(usage.admit(ctx, headers, &route)).await?,
            // Compile and start make this impossible; never let it through regardless.
            None => {
                return Err(GatewayError::Internal {
                    detail: "a route needs API keys but no usage store is running".into(),
                })
            }
        }
    }
    let route = ctx.matched.as_ref();
    let specific = route.and_then(|r| r.throttle.as_ref().or(r.api_throttle.as_deref()));
    if let Some(per_stage) = specific {
        if let Some(b) = per_stage.bucket(ctx.stage.as_deref()) {
            check(b)?;
        }
    }
    if let Some(b) = &cfg.throttle {
        check(b)?;
    }
    Ok(())
}

fn check(b: &Bucket) -> Result<(), GatewayError> {
    let d = b.take(now_ns());
    if d.allowed {
        return Ok(());
    }
    Err(throttled(&d, b.name, &b.limit))
}

/// The 429 for a denied throttle decision of the limit named `name`.
pub(crate) fn throttled(
    d: &rampart_limiter::Decision,
    name: &str,
    limit: &RateLimit,
) -> GatewayError {
    let (policy, state) = d.headers(name, limit);
    let retry = if d.retry_after == Duration::MAX {
        3600
    } else {
        d.retry_after.as_secs() + u64::from(d.retry_after.subsec_nanos() > 0)
    };
    GatewayError::Throttled {
        retry_after_secs: retry.max(1),
        policy,
        state,
    }
}
