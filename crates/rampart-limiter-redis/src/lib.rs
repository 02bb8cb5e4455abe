//! Rampart's Redis backend for usage plans: the same throttle (GCRA token bucket) and quota
//! semantics as [`rampart_limiter::Limiter::check`], shared by every gateway node that talks
//! to one Redis.
//!
//! # One script per batch of requests
//!
//! [`RedisLimiter::check`] queues its check; checks are sent in batches by one Lua script
//! (`EVALSHA`, loaded with `SCRIPT LOAD` on `NOSCRIPT`, e.g. after a Redis restart). At most
//! [`RedisOptions::pool_size`] batches are in flight; the checks that arrive meanwhile go
//! together in the next call (up to 64), so under load many requests share one round trip
//! and one clock reading, while a lone request is sent at once. Redis runs a script without
//! interleaving other commands, so each decision and its consumption are atomic across
//! nodes. Per check:
//!
//! 1. **Throttle** (when the [`Check`] has one): read the bucket's TAT and make exactly the
//!    decision [`RateLimit::peek`] makes. Denied: that check ends (nothing written, the quota
//!    not even read).
//! 2. **Quota** (when present): read the counter; if one more request passes the limit,
//!    deny (the throttle token is not taken either).
//! 3. **Commit** (admitted, and every read succeeded): the bucket's new TAT, the quota
//!    counter plus one, the usage counter (when present) plus one.
//!
//! Within a batch each key is read once (`GET`) and written once, after the last check
//! (`SET … PX` for a bucket, `SET … KEEPTTL` for an existing counter, `SET … EXAT` for a new
//! one); checks that share a key (every request of one busy API key) see each other's effects
//! through the script's table of values, exactly as if they had run one after another. So a
//! batch costs one `TIME` plus two commands per distinct key, however many of its checks
//! share them (one request alone: `GET` ×3, `SET` ×3).
//!
//! A check whose command Redis refuses (a key of the wrong type, a corrupt counter) fails
//! alone with [`Error::Protocol`]; the batch's other checks are decided normally.
//!
//! # Key layout
//!
//! Every key is `prefix + key` ([`RedisOptions::prefix`], e.g. `rampart:`); the caller picks
//! the key names (and puts the quota period index in the quota key). Each check's keys go in `KEYS[]`
//! in the order bucket, quota, usage, each only when present, one check after another;
//! `ARGV[1]` is the time, then come five arguments per check:
//!
//! | slot | content |
//! |------|---------|
//! | `KEYS[]` | per check: bucket (if throttle), quota (if quota), usage (if usage) |
//! | `ARGV[1]` | now, µs since the Unix epoch, or empty: use `redis.call('TIME')` |
//! | per check, 1 | emission interval `T` in whole µs, or empty: no throttle |
//! | per check, 2 | tolerance `burst × T`, µs |
//! | per check, 3 | quota limit for this period, or empty: no quota |
//! | per check, 4 | quota key expiry (`SET … EXAT` when created, Unix seconds) |
//! | per check, 5 | usage key expiry (`SET … EXAT` when created, Unix seconds), or empty: no usage counter |
//!
//! Values: the bucket holds the TAT as integer microseconds since the Unix epoch, with a
//! `PX` expiry of the time until the bucket is full again plus 1 s, so idle buckets vanish (a
//! missing bucket is a full one); quota and usage keys hold integer counters and expire at the
//! `expire_at_unix` the caller passes (it must lie in the future by Redis' clock: Redis deletes
//! a key whose expiry is in the past). With Redis Cluster, a check's keys must hash to one
//! slot (use a `{hash tag}`); note that [`redis::aio::ConnectionManager`] does not speak the
//! cluster protocol, so this crate targets a single Redis (or a proxy / failover endpoint).
//!
//! # Time source
//!
//! The GCRA runs on the Redis server's clock (`TIME`, microseconds), so all nodes share one
//! clock and node clock skew does not matter for throttling. The emission interval is
//! `round(1e6 / rate)` µs (at least 1 µs); whenever `1e9 / rate` ns is a whole number of
//! microseconds (e.g. any rate dividing 10⁶) the decisions are exactly those of
//! [`RateLimit::peek`]; otherwise the interval differs from the local engine's by < 0.5 µs
//! (0.05 % at 1 000 req/s). Quota periods are the caller's: it names the period in the key and
//! passes the limit and expiry, typically from [`rampart_limiter::Quota`] on its wall clock.
//!
//! # Failure behaviour
//!
//! [`RedisLimiter::new`] only validates; connections are made lazily, so the gateway starts
//! while Redis is down. A pool of [`RedisOptions::pool_size`] multiplexed
//! [`redis::aio::ConnectionManager`]s is used round-robin. Connecting and every command are
//! bounded by [`RedisOptions::timeout`] (one deadline per call, covering connecting, the
//! `NOSCRIPT` fallback and the retry below), and a check's wait in the batch queue and in
//! flight together is bounded by `timeout` too, so a dead or black-holed Redis costs a request
//! at most `timeout` (a check whose caller gave up is not sent).
//!
//! * A pooled connection that worked before and is found closed (Redis restarted, an idle
//!   connection closed by the server or a middlebox) is replaced and the command retried once
//!   on a fresh connection, within the same deadline. (If the connection broke while a
//!   script was in flight, that request may be counted twice; the alternative is failing it.)
//! * Any other failure — refused, reset on a fresh connection, timeout, `LOADING`,
//!   `READONLY`, `MASTERDOWN`, `OOM`, `BUSY`, authentication — is [`Error::Unavailable`]: every
//!   pooled connection is discarded and a circuit breaker opens. For
//!   [`RedisOptions::retry_interval`] every call fails at once with [`Error::Unavailable`]
//!   (`"... circuit open ..."`), without network traffic; then the next call probes Redis
//!   (concurrent calls keep failing fast for another interval while it does), and the first
//!   success closes the breaker. The limiter therefore recovers by itself when Redis comes
//!   back, including after a restart or when Redis was down at startup.
//! * Errors Redis answers with (wrong key type, a corrupt counter, ACL denial) are
//!   [`Error::Protocol`]; they leave the breaker closed and nothing written.
//!
//! [`RedisLimiter::is_healthy`] is false before the first command and after a failure, true
//! once Redis answered; [`RedisLimiter::ping`] probes it without traffic. Failures are logged
//! with `tracing::warn!` at most once per `max(retry_interval, 1 s)` (with the number of
//! failures since the previous line), recovery with `tracing::info!`. The URL's password never
//! appears in errors, logs or `Debug` output. What to do on [`Error::Unavailable`] (fail
//! open, fail closed, fall back to the in-process [`rampart_limiter::Limiter`]) is the
//! caller's policy.
//!
//! A [`Tokio`](tokio) runtime with the time driver enabled is required.
//!
//! ```no_run
//! use rampart_limiter::RateLimit;
//! use rampart_limiter_redis::{Check, Counter, QuotaCheck, RedisLimiter, RedisOptions};
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let limiter = RedisLimiter::new(RedisOptions {
//!     url: "redis://127.0.0.1:6379/0".into(),
//!     ..RedisOptions::default()
//! })?;
//! let out = limiter
//!     .check(&Check {
//!         throttle: Some(("t:{key1}", RateLimit::new(10.0, 20)?)),
//!         quota: Some(QuotaCheck { key: "q:{key1}:20100", limit: 1000, expire_at_unix: 1_736_553_600 }),
//!         usage: Some(Counter { key: "u:{key1}:20100", expire_at_unix: 1_739_145_600 }),
//!     })
//!     .await?;
//! if !out.allowed { /* 429 */ }
//! # Ok(()) }
//! ```

use rampart_limiter::{Decision, RateLimit};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[doc(hidden)]
pub mod testing;

/// The Lua script run by [`RedisLimiter::check`] (see the crate documentation for its layout).
pub const CHECK_SCRIPT: &str = include_str!("check.lua");

/// Largest expiry (`EXAT`) sent (9999-12-31T23:59:59Z); larger values are clamped.
const MAX_EXPIRE_AT: u64 = 253_402_300_799;

/// Largest quota limit handled exactly by the script's Lua numbers (2^53); larger limits are
/// clamped (they are unlimited in practice).
const MAX_LIMIT: u64 = 1 << 53;

/// Most checks sent in one script call.
const MAX_BATCH: usize = 64;

/// Connection settings of a [`RedisLimiter`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// `redis://[user][:password@]host[:port][/db]` (also `unix:///path`); `rediss://` needs a
    /// TLS feature this crate does not enable.
    pub url: String,
    /// Prepended to every key, e.g. `rampart:`.
    pub prefix: String,
    /// Number of multiplexed connections, used round-robin (>= 1).
    pub pool_size: usize,
    /// Bound on each command, including connecting when needed (> 0).
    pub timeout: Duration,
    /// After a failure, calls fail fast for this long before Redis is tried again.
    pub retry_interval: Duration,
}

impl Default for RedisOptions {
    /// `redis://127.0.0.1:6379/0`, prefix `rampart:`, 2 connections, 50 ms timeout, 250 ms
    /// retry interval.
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/0".to_owned(),
            prefix: "rampart:".to_owned(),
            pool_size: 2,
            timeout: Duration::from_millis(50),
            retry_interval: Duration::from_millis(250),
        }
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("retry_interval", &self.retry_interval)
            .finish()
    }
}

/// A failed call. Messages never contain the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Invalid [`RedisOptions`].
    #[error("invalid redis limiter configuration: {0}")]
    Config(String),
    /// Redis cannot be used right now: connection refused, timeout, I/O error, server not
    /// ready (`LOADING`, `READONLY`, ...), authentication failed, or the circuit breaker is open.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered, but not as expected (script error, wrong key type, unexpected reply).
    #[error("redis protocol error: {0}")]
    Protocol(String),
}

/// One request to decide: any combination of throttle, quota and usage counter (keys without
/// the prefix).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Check<'a> {
    /// The token bucket's key and limit.
    pub throttle: Option<(&'a str, RateLimit)>,
    /// The quota counter for the current period.
    pub quota: Option<QuotaCheck<'a>>,
    /// A counter incremented when the request is admitted (usage reporting).
    pub usage: Option<Counter<'a>>,
}

/// A quota counter for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCheck<'a> {
    /// The counter's key; the caller puts the period index in it.
    pub key: &'a str,
    /// The limit for this period (already reduced by the quota offset in the initial period).
    pub limit: u64,
    /// When the counter expires (Unix seconds): the end of the period plus any slack.
    pub expire_at_unix: u64,
}

/// A counter incremented by each admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter<'a> {
    /// The counter's key.
    pub key: &'a str,
    /// When the counter expires (Unix seconds).
    pub expire_at_unix: u64,
}

/// The result of [`RedisLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Throttle and quota both allowed (and both consumed, usage counted).
    pub allowed: bool,
    /// The throttle decision; `None` when the check had no throttle. As with
    /// [`rampart_limiter::Limiter::check`], when the quota denies, this is the (allowed)
    /// decision the throttle made although its token was not taken.
    pub throttle: Option<Decision>,
    /// The quota decision; `None` when the check had no quota or the throttle denied.
    pub quota: Option<QuotaOutcome>,
}

/// A quota decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaOutcome {
    /// Whether the request fit; when false nothing was consumed.
    pub allowed: bool,
    /// Requests used in this period after this decision.
    pub used: u64,
    /// Requests left in this period after this decision.
    pub remaining: u64,
}

/// A Redis-backed throttle/quota limiter shared by gateway nodes. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    config: ConnectionManagerConfig,
    slots: Box<[Mutex<Slot>]>,
    next: AtomicUsize,
    prefix: String,
    timeout: Duration,
    retry_interval: Duration,
    /// The URL with its password replaced, for messages.
    url: String,
    /// Strings never to show (the password, raw and percent-decoded).
    secrets: Vec<String>,
    healthy: AtomicBool,
    breaker: Mutex<Breaker>,
    script: redis::Script,
    queue: Mutex<Queue>,
}

/// Checks waiting for the next batch.
#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Flusher tasks running (at most one per pool slot).
    flushers: usize,
}

struct Pending {
    item: Encoded,
    tx: tokio::sync::oneshot::Sender<Result<Reply, Error>>,
}

/// One check's script keys (prefixed) and its five arguments (`None` sends `''`).
struct Encoded {
    keys: Vec<String>,
    args: Args,
}

/// A check's script arguments: interval, tolerance, limit, quota expiry, usage expiry.
type Args = [Option<u64>; 5];

/// The script's answer for one check: state, wait, used (see `check.lua`).
type Reply = [i64; 3];

impl Encoded {
    fn new(inner: &Inner, c: &Check<'_>) -> Self {
        let mut keys = Vec::with_capacity(3);
        let mut args = [None; 5];
        if let Some((key, rate)) = &c.throttle {
            let (interval, tolerance) = gcra_micros(rate);
            keys.push(inner.key(key));
            args[0] = Some(interval);
            args[1] = Some(tolerance);
        }
        if let Some(q) = &c.quota {
            keys.push(inner.key(q.key));
            args[2] = Some(q.limit.min(MAX_LIMIT));
            args[3] = Some(q.expire_at_unix.min(MAX_EXPIRE_AT));
        }
        if let Some(u) = &c.usage {
            keys.push(inner.key(u.key));
            args[4] = Some(u.expire_at_unix.min(MAX_EXPIRE_AT));
        }
        Self { keys, args }
    }
}

#[derive(Default)]
struct Slot {
    /// Bumped each time a connection manager is created, so a failure only discards the
    /// manager that failed.
    generation: u64,
    conn: Option<ConnectionManager>,
    /// A command has succeeded on `conn`.
    proven: bool,
}

#[derive(Default)]
struct Breaker {
    /// Calls before this instant fail fast.
    open_until: Option<Instant>,
    /// The failure that opened the breaker.
    last_error: String,
    /// Since when Redis has been failing.
    down_since: Option<Instant>,
    last_warn: Option<Instant>,
    /// Failures not logged since `last_warn`.
    unlogged: u64,
}

/// A connection taken for one command.
struct Lease {
    slot: usize,
    generation: u64,
    proven: bool,
    conn: ConnectionManager,
}

impl RedisLimiter {
    /// Validates the options (URL syntax, `pool_size >= 1`, `timeout > 0`); does not connect,
    /// so the gateway can start while Redis is down.
    pub fn new(opts: RedisOptions) -> Result<Self, Error> {
        let url = redact_url(&opts.url);
        let mut secrets = url_secrets(&opts.url);
        let client = redis::Client::open(opts.url.as_str())
            .map_err(|e| Error::Config(scrub(&format!("redis url {url}: {e}"), &secrets)))?;
        if let Some(pw) = client.get_connection_info().redis_settings().password() {
            if !pw.is_empty() && !secrets.iter().any(|s| s == pw) {
                secrets.push(pw.to_owned());
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        if opts.pool_size == 0 {
            return Err(Error::Config("pool_size must be at least 1".to_owned()));
        }
        if opts.timeout.is_zero() {
            return Err(Error::Config("timeout must be above zero".to_owned()));
        }
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(opts.timeout))
            .set_response_timeout(Some(opts.timeout));
        let slots = (0..opts.pool_size)
            .map(|_| Mutex::new(Slot::default()))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                slots,
                next: AtomicUsize::new(0),
                prefix: opts.prefix,
                timeout: opts.timeout,
                retry_interval: opts.retry_interval,
                url,
                secrets,
                healthy: AtomicBool::new(false),
                breaker: Mutex::new(Breaker::default()),
                script: redis::Script::new(CHECK_SCRIPT),
                queue: Mutex::new(Queue::default()),
            }),
        })
    }

    /// One request: the throttle bucket (if any) and the quota (if any) decided and consumed
    /// atomically, the usage counter incremented if admitted; one round trip. A deny-all
    /// throttle (rate 0 or burst 0) denies with `retry_after = Duration::MAX` without touching
    /// Redis, as does a check with nothing in it (allowed).
    pub async fn check(&self, c: &Check<'_>) -> Result<Outcome, Error> {
        self.run_check(c, None).await
    }

    /// [`check`](Self::check) at an injected time (µs since the Unix epoch) instead of Redis'
    /// clock; for tests.
    #[doc(hidden)]
    pub async fn check_at(&self, c: &Check<'_>, now_unix_micros: u64) -> Result<Outcome, Error> {
        self.run_check(c, Some(now_unix_micros)).await
    }

    async fn run_check(&self, c: &Check<'_>, now_us: Option<u64>) -> Result<Outcome, Error> {
        if let Some((_, rate)) = &c.throttle {
            if rate.denies_all() {
                return Ok(Outcome {
                    allowed: false,
                    throttle: Some(rate.peek(0, 0).0),
                    quota: None,
                });
            }
        }
        if c.throttle.is_none() && c.quota.is_none() && c.usage.is_none() {
            return Ok(Outcome {
                allowed: true,
                throttle: None,
                quota: None,
            });
        }
        let inner = &*self.inner;
        let item = Encoded::new(inner, c);
        let args = item.args;
        let reply = match now_us {
            // Injected time: a batch of one, run directly.
            Some(now) => {
                let mut replies = self.run_batch(Some(now), &[&item]).await?;
                replies.pop().unwrap_or_else(|| {
                    Err(Error::Protocol("script returned no result".to_owned()))
                })?
            }
            None => self.enqueue(item).await?,
        };
        parse_reply(reply, &args).map_err(|msg| Error::Protocol(inner.scrub(&msg)))
    }

    /// Queues one check for the next batch and waits for its result (at most
    /// [`RedisOptions::timeout`] in the queue and in flight together).
    async fn enqueue(&self, item: Encoded) -> Result<Reply, Error> {
        let inner = &*self.inner;
        // Fail fast while the breaker is open, without queueing.
        inner.admit_peek()?;
        let deadline = tokio::time::Instant::now() + inner.timeout;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start_flusher = {
            let mut q = lock(&inner.queue);
            q.pending.push(Pending { item, tx });
            if q.flushers < inner.slots.len() {
                q.flushers += 1;
                true
            } else {
                false
            }
        };
        if start_flusher {
            let this = self.clone();
            tokio::spawn(async move { this.flush().await });
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err(Error::Unavailable("redis limiter batch dropped".to_owned())),
            Err(_) => Err(Error::Unavailable(format!(
                "{}: no reply within {:?}",
                inner.url, inner.timeout
            ))),
        }
    }

    /// Sends queued checks in batches of up to [`MAX_BATCH`] until the queue is empty. At
    /// most one flusher per pool slot runs, so under load the checks that arrive while a batch
    /// is in flight go together in the next one (one script call, one round trip, one clock
    /// reading for many requests).
    async fn flush(&self) {
        /// Gives the flusher's place back however the task ends, also when it is dropped
        /// mid-batch (its runtime shutting down): otherwise the queue could be left with no
        /// flusher and every later check would time out.
        struct Slot<'a>(&'a Inner);
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                let mut q = lock(&self.0.queue);
                q.flushers -= 1;
            }
        }
        let inner = &*self.inner;
        let _slot = Slot(inner);
        loop {
            let batch: Vec<Pending> = {
                let mut q = lock(&inner.queue);
                // Checks whose caller gave up (timed out) are not sent.
                q.pending.retain(|p| !p.tx.is_closed());
                if q.pending.is_empty() {
                    return;
                }
                let n = q.pending.len().min(MAX_BATCH);
                q.pending.drain(..n).collect()
            };
            let items: Vec<&Encoded> = batch.iter().map(|p| &p.item).collect();
            let res = self.run_batch(None, &items).await;
            match res {
                Ok(replies) => {
                    for (p, r) in batch.into_iter().zip(replies) {
                        let _ = p.tx.send(r);
                    }
                }
                Err(e) => {
                    for p in batch {
                        let _ = p.tx.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// One script call for `items`; per item its reply, or the error Redis raised for it.
    async fn run_batch(
        &self,
        now_us: Option<u64>,
        items: &[&Encoded],
    ) -> Result<Vec<Result<Reply, Error>>, Error> {
        let inner = &*self.inner;
        let mut inv = inner.script.prepare_invoke();
        inv.arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        for it in items {
            for k in &it.keys {
                inv.key(k.as_str());
            }
            for a in &it.args {
                match a {
                    Some(v) => inv.arg(*v),
                    None => inv.arg(""),
                };
            }
        }
        let reply: Vec<redis::Value> = self.exec(Op::Script(&inv)).await?;
        if reply.len() != 3 * items.len() {
            return Err(Error::Protocol(format!(
                "script returned {} values for {} checks",
                reply.len(),
                items.len()
            )));
        }
        let int = |v: &redis::Value| match v {
            redis::Value::Int(i) => Ok(*i),
            other => Err(Error::Protocol(format!(
                "script returned a non-integer: {other:?}"
            ))),
        };
        Ok(reply
            .chunks_exact(3)
            .map(|r| match r {
                [redis::Value::Int(-1), msg, _] => Err(Error::Protocol(inner.scrub(&match msg {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    redis::Value::SimpleString(s) => s.clone(),
                    other => format!("{other:?}"),
                }))),
                [a, b, c] => Ok([int(a)?, int(b)?, int(c)?]),
                _ => unreachable!("chunks of three"),
            })
            .collect())
    }

    /// Reads integer counters (a missing key reads 0); keys without the prefix, one `MGET`
    /// round trip (none for an empty slice).
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<u64>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let inner = &*self.inner;
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(inner.key(k));
        }
        let values: Vec<Option<u64>> = self.exec(Op::Cmd(&cmd)).await?;
        if values.len() != keys.len() {
            return Err(Error::Protocol(format!(
                "MGET of {} keys returned {} values",
                keys.len(),
                values.len()
            )));
        }
        Ok(values.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// `PING` through the pool and the circuit breaker, e.g. for a readiness probe before any
    /// traffic (updates [`is_healthy`](Self::is_healthy)).
    pub async fn ping(&self) -> Result<(), Error> {
        let _: String = self.exec(Op::Cmd(&redis::cmd("PING"))).await?;
        Ok(())
    }

    /// True when the last command reached Redis (it succeeded, or Redis answered with an
    /// error). False before the first command: see [`ping`](Self::ping).
    pub fn is_healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Acquire)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Runs one command under the breaker and the timeout (which also bounds connecting and
    /// the one retry below), and records the outcome.
    ///
    /// A connection that has worked before and is found closed (Redis restarted, an idle
    /// connection dropped by the server or a middlebox) is replaced and the command retried
    /// once on a fresh connection, so such events do not trip the breaker.
    async fn exec<T: redis::FromRedisValue>(&self, op: Op<'_>) -> Result<T, Error> {
        let inner = &*self.inner;
        inner.admit()?;
        let deadline = tokio::time::Instant::now() + inner.timeout;
        let slot = inner.next.fetch_add(1, Ordering::Relaxed) % inner.slots.len().max(1);
        let mut lease = inner.lease(slot)?;
        let mut retried = false;
        loop {
            let res = tokio::time::timeout_at(deadline, op.run(&mut lease.conn)).await;
            let err = match res {
                Ok(Ok(v)) => {
                    inner.on_success(&lease);
                    return Ok(v);
                }
                Ok(Err(e)) if !unavailable(&e) => {
                    inner.on_success(&lease);
                    return Err(Error::Protocol(inner.describe(&e)));
                }
                Ok(Err(e)) => {
                    if lease.proven
                        && !retried
                        && e.is_connection_dropped()
                        && !e.is_connection_refusal()
                    {
                        tracing::debug!(error = %inner.describe(&e), "redis connection closed; reconnecting");
                        inner.discard(&lease);
                        lease = inner.lease(slot)?;
                        retried = true;
                        continue;
                    }
                    Error::Unavailable(inner.describe(&e))
                }
                Err(_) => Error::Unavailable(format!(
                    "{}: no reply within {:?}",
                    inner.url, inner.timeout
                )),
            };
            // Discard every connection (a dead or black-holed socket would keep failing or
            // timing out); the next attempt connects afresh.
            for m in inner.slots.iter() {
                let mut s = lock(m);
                s.conn = None;
                s.proven = false;
            }
            if let Error::Unavailable(msg) = &err {
                inner.on_failure(msg);
            }
            return Err(err);
        }
    }
}

/// A command to run.
#[derive(Clone, Copy)]
enum Op<'a> {
    Script(&'a redis::ScriptInvocation<'a>),
    Cmd(&'a redis::Cmd),
}

impl Op<'_> {
    async fn run<T: redis::FromRedisValue>(
        self,
        conn: &mut ConnectionManager,
    ) -> redis::RedisResult<T> {
        match self {
            Op::Script(inv) => inv.invoke_async(conn).await,
            Op::Cmd(cmd) => cmd.query_async(conn).await,
        }
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("url", &self.inner.url)
            .field("prefix", &self.inner.prefix)
            .field("pool_size", &self.inner.slots.len())
            .field("timeout", &self.inner.timeout)
            .field("retry_interval", &self.inner.retry_interval)
            .field("healthy", &self.is_healthy())
            .finish()
    }
}

impl Inner {
    /// The connection of pool slot `slot`, created (lazily: it connects inside the first
    /// command, under that command's timeout) when the slot is empty.
    fn lease(&self, slot: usize) -> Result<Lease, Error> {
        let Some(m) = self.slots.get(slot) else {
            return Err(Error::Config("empty connection pool".to_owned()));
        };
        let mut s = lock(m);
        let conn = match &s.conn {
            Some(c) => c.clone(),
            None => {
                let c = ConnectionManager::new_lazy_with_config(
                    self.client.clone(),
                    self.config.clone(),
                )
                .map_err(|e| Error::Unavailable(self.describe(&e)))?;
                s.generation = s.generation.wrapping_add(1);
                s.proven = false;
                s.conn = Some(c.clone());
                c
            }
        };
        Ok(Lease {
            slot,
            generation: s.generation,
            proven: s.proven,
            conn,
        })
    }

    /// Empties the lease's slot if it still holds the lease's connection.
    fn discard(&self, lease: &Lease) {
        if let Some(m) = self.slots.get(lease.slot) {
            let mut s = lock(m);
            if s.generation == lease.generation {
                s.conn = None;
                s.proven = false;
            }
        }
    }

    /// Redis answered on this lease's connection.
    fn on_success(&self, lease: &Lease) {
        if !lease.proven {
            if let Some(m) = self.slots.get(lease.slot) {
                let mut s = lock(m);
                if s.generation == lease.generation && s.conn.is_some() {
                    s.proven = true;
                }
            }
        }
        self.on_reachable();
    }

    fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    fn scrub(&self, msg: &str) -> String {
        scrub(msg, &self.secrets)
    }

    fn describe(&self, e: &RedisError) -> String {
        self.scrub(&format!("{}: {e}", self.url))
    }

    /// Fails fast while the breaker is open; once the interval has passed, lets this call
    /// through as a probe and keeps failing the others fast for another interval.
    fn admit(&self) -> Result<(), Error> {
        if self.healthy.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut b = lock(&self.breaker);
        let Some(until) = b.open_until else {
            return Ok(());
        };
        let now = Instant::now();
        if now < until {
            return Err(Error::Unavailable(format!(
                "{}; circuit open, next attempt in {} ms",
                b.last_error,
                until.duration_since(now).as_millis().max(1)
            )));
        }
        b.open_until = Some(now + self.retry_interval);
        Ok(())
    }

    /// Fails fast while the breaker is open (without claiming the probe: the batch that
    /// carries this check does that in [`admit`](Self::admit)).
    fn admit_peek(&self) -> Result<(), Error> {
        if self.healthy.load(Ordering::Acquire) {
            return Ok(());
        }
        let b = lock(&self.breaker);
        match b.open_until {
            Some(until) if Instant::now() < until => Err(Error::Unavailable(format!(
                "{}; circuit open, next attempt in {} ms",
                b.last_error,
                until.duration_since(Instant::now()).as_millis().max(1)
            ))),
            _ => Ok(()),
        }
    }

    fn on_reachable(&self) {
        if self.healthy.load(Ordering::Acquire) {
            return;
        }
        let mut b = lock(&self.breaker);
        self.healthy.store(true, Ordering::Release);
        b.open_until = None;
        b.last_warn = None;
        b.unlogged = 0;
        if let Some(since) = b.down_since.take() {
            tracing::info!(
                redis = %self.url,
                down_for_ms = since.elapsed().as_millis() as u64,
                "redis limiter backend available again"
            );
        }
    }

    fn on_failure(&self, msg: &str) {
        let mut b = lock(&self.breaker);
        self.healthy.store(false, Ordering::Release);
        let now = Instant::now();
        b.open_until = Some(now + self.retry_interval);
        msg.clone_into(&mut b.last_error);
        b.down_since.get_or_insert(now);
        b.unlogged += 1;
        let every = self.retry_interval.max(Duration::from_secs(1));
        if b.last_warn.is_none_or(|t| now.duration_since(t) >= every) {
            tracing::warn!(
                error = %msg,
                failures = b.unlogged,
                retry_interval_ms = self.retry_interval.as_millis() as u64,
                "redis limiter backend unavailable; failing fast between attempts"
            );
            b.last_warn = Some(now);
            b.unlogged = 0;
        }
    }
}

/// Whether an error means Redis cannot be used right now (rather than a bad request/reply).
fn unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
        || matches!(e.code(), Some("OOM" | "BUSY" | "MISCONF"))
}

/// `(interval, tolerance)` in whole microseconds for a limit that does not deny all.
fn gcra_micros(rate: &RateLimit) -> (u64, u64) {
    // Validated by RateLimit::new: finite, > 0, burst / rate <= 2^62 ns.
    let interval = (1e6 / rate.rate()).round().max(1.0) as u64;
    (interval, interval.saturating_mul(u64::from(rate.burst())))
}

/// The [`Outcome`] of a check from the script's `{state, wait, used}` and the check's own
/// arguments (the interval, tolerance and limit the script was given).
fn parse_reply([state, wait, used]: Reply, args: &Args) -> Result<Outcome, String> {
    let nonneg = |v: i64, what: &str| {
        u64::try_from(v).map_err(|_| format!("script returned a negative {what}: {v}"))
    };
    let (wait, used) = (nonneg(wait, "wait")?, nonneg(used, "quota count")?);
    if !(0..=2).contains(&state) {
        return Err(format!("script returned state {state}"));
    }
    let throttle = match (args[0], args[1]) {
        (Some(interval), Some(tolerance)) if state == 0 => {
            // Denied: wait - tolerance until a token; the bucket is full after wait - interval.
            let Some(retry) = wait.checked_sub(tolerance).filter(|r| *r > 0) else {
                return Err(format!(
                    "script denied a wait of {wait} us within the burst"
                ));
            };
            Some(Decision {
                allowed: false,
                retry_after: Duration::from_micros(retry),
                remaining: 0,
                reset_after: Duration::from_micros(wait.saturating_sub(interval)),
            })
        }
        (Some(interval), Some(tolerance)) => {
            let Some(left) = tolerance.checked_sub(wait) else {
                return Err(format!(
                    "script admitted a wait of {wait} us beyond the burst"
                ));
            };
            Some(Decision {
                allowed: true,
                retry_after: Duration::ZERO,
                remaining: u32::try_from(left / interval).unwrap_or(u32::MAX),
                reset_after: Duration::from_micros(wait),
            })
        }
        _ if state == 0 => return Err("script throttled a check without a throttle".to_owned()),
        _ => None,
    };
    let quota = match (args[2], state) {
        // Denied by the throttle: the quota was not looked at.
        (_, 0) | (None, 1) => None,
        (Some(limit), 1) if (1..=limit).contains(&used) => Some(QuotaOutcome {
            allowed: true,
            used,
            remaining: limit - used,
        }),
        (Some(limit), 2) if used >= limit => Some(QuotaOutcome {
            allowed: false,
            used,
            remaining: limit.saturating_sub(used),
        }),
        (limit, _) => {
            return Err(format!(
                "script returned state {state} and count {used} for a quota limit of {limit:?}"
            ))
        }
    };
    Ok(Outcome {
        allowed: state == 1,
        throttle,
        quota,
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The URL with its password replaced by `***`: the userinfo after the first `:` (up to the
/// last `@`), and `pass=` query values (unix socket URLs).
pub fn redact_url(url: &str) -> String {
    let (head, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    let rest = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                    &rest[at..]
                }
                None => rest,
            }
        }
        None => rest,
    };
    match rest.find('?') {
        Some(q) => {
            out.push_str(&rest[..=q]);
            let query = &rest[q + 1..];
            let (query, fragment) = match query.find('#') {
                Some(h) => query.split_at(h),
                None => (query, ""),
            };
            let parts: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _))
                        if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") =>
                    {
                        format!("{k}=***")
                    }
                    _ => p.to_owned(),
                })
                .collect();
            out.push_str(&parts.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(rest),
    }
    out
}

/// The password as written in the URL (userinfo, `pass=`), raw and percent-decoded.
fn url_secrets(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    if let Some(at) = rest.rfind('@') {
        if let Some((_, pw)) = rest[..at].split_once(':') {
            out.push(pw.to_owned());
        }
    }
    if let Some(q) = rest.find('?') {
        let query = rest[q + 1..].split('#').next().unwrap_or_default();
        for p in query.split('&') {
            if let Some((k, v)) = p.split_once('=') {
                if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") {
                    out.push(v.to_owned());
                }
            }
        }
    }
    let decoded: Vec<String> = out.iter().map(|s| percent_decode(s)).collect();
    out.extend(decoded);
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn scrub(msg: &str, secrets: &[String]) -> String {
    let mut out = msg.to_owned();
    for s in secrets {
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("redis://:pw@host:1/0"), "redis://:***@host:1/0");
        assert_eq!(
            redact_url("redis://user:p@ss:w/rd@host/0"),
            "redis://user:***@host/0"
        );
        assert_eq!(redact_url("redis://user@host/0"), "redis://user@host/0");
        assert_eq!(redact_url("redis://host:6379/0"), "redis://host:6379/0");
        assert_eq!(
            redact_url("unix:///run/redis.sock?db=1&pass=secret#x"),
            "unix:///run/redis.sock?db=1&pass=***#x"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn finds_secrets() {
        assert_eq!(
            url_secrets("redis://u:p%40ss@h/0"),
            vec!["p%40ss".to_owned(), "p@ss".to_owned()]
        );
        assert!(url_secrets("redis://h:6379/0").is_empty());
        assert_eq!(
            scrub("x p@ss y p%40ss", &url_secrets("redis://u:p%40ss@h/0")),
            "x *** y ***"
        );
    }

    #[test]
    fn validates_options() {
        let bad = |o: RedisOptions| RedisLimiter::new(o).err();
        assert!(matches!(
            bad(RedisOptions {
                url: "http://:hunter22@h/".into(),
                ..RedisOptions::default()
            }),
            Some(Error::Config(m)) if !m.contains("hunter22")
        ));
        assert!(matches!(
            bad(RedisOptions {
                pool_size: 0,
                ..RedisOptions::default()
            }),
            Some(Error::Config(_))
        ));
        assert!(matches!(
            bad(RedisOptions {
                timeout: Duration::ZERO,
                ..RedisOptions::default()
            }),
            Some(Error::Config(_))
        ));
        assert!(RedisLimiter::new(RedisOptions::default()).is_ok());
    }

    #[test]
    fn micros_of_rate() {
        let r = RateLimit::new(20.0, 5).unwrap();
        assert_eq!(gcra_micros(&r), (50_000, 250_000));
        let r = RateLimit::new(3e6, 2).unwrap();
        assert_eq!(gcra_micros(&r), (1, 2));
    }
}
