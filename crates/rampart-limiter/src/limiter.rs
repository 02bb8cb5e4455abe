//! Many keys' throttle and quota state in a sharded, bounded map.

use crate::gcra::{Decision, RateLimit};
use crate::quota::{period_index, Quota, QuotaDecision};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// Sizing of a [`Limiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterOptions {
    /// Number of independently locked shards (rounded up to a power of two, at least 1).
    pub shards: usize,
    /// The most keys held at once (see [`Limiter`] for the exact bound).
    pub max_keys: usize,
    /// When a sweep of a full shard frees less than a quarter of it, the shard is not swept
    /// again for this long (monotonic clock), so a shard full of active keys costs one O(n)
    /// sweep per interval rather than one per new key.
    pub min_sweep_interval: Duration,
}

impl Default for LimiterOptions {
    fn default() -> Self {
        Self {
            shards: 64,
            max_keys: 1 << 20,
            min_sweep_interval: Duration::from_millis(10),
        }
    }
}

/// One key's state: 24 bytes plus the key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// GCRA theoretical arrival time, ns on the monotonic clock; `<= now` means full.
    tat: u64,
    /// Quota counter: (period index, used in that period).
    quota: (i64, u64),
}

impl Entry {
    const FRESH: Self = Self {
        tat: 0,
        quota: (i64::MIN, 0),
    };

    /// Nothing worth keeping: the bucket is full again and no quota is used in the current
    /// period (`period` = the newest period index the shard has seen).
    fn idle(&self, now: u64, period: i64) -> bool {
        self.tat <= now && (self.quota.1 == 0 || self.quota.0 < period)
    }
}

struct Shard<K> {
    map: HashMap<K, Entry>,
    /// Monotonic ns before which a full shard is not swept again.
    next_sweep: u64,
    /// Newest quota period index seen by this shard.
    period: i64,
}

/// The result of [`Limiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Throttle and quota both allowed (and both consumed).
    pub allowed: bool,
    /// The throttle decision (allowed with `remaining = u32::MAX` when no throttle is set).
    pub throttle: Decision,
    /// The quota decision, when a quota is set and the throttle allowed.
    pub quota: Option<QuotaDecision>,
}

/// In-process throttle and quota state for many keys (e.g. API keys of one usage plan, or
/// `key + method` for per-method throttles).
///
/// Clocks are injected: `now: Duration` is monotonic time since any fixed epoch the caller
/// chooses (e.g. `Instant::elapsed` of a process-start `Instant`; see [`MonotonicClock`]), and
/// `wall: SystemTime` is UTC wall time for quota periods. Nothing here reads a clock.
///
/// **Memory bound.** Each shard holds at most `max(1, max_keys / shards)` keys, so the whole
/// map holds at most `max(max_keys, shards)` keys (`len() <= max_keys` whenever
/// `max_keys >= shards`), each one `HashMap` slot of `K` + 24 bytes. When a new key arrives at
/// a full shard, the shard drops its idle keys (bucket full again and no quota used in the
/// current period — dropping them changes no future decision). If the shard is still full, the
/// new key is **denied** (fail closed) with `retry_after` = time until the next sweep is
/// allowed; known keys are unaffected. Size `max_keys` above the number of keys that can be
/// active at once (keys holding quota count as active for the whole period).
pub struct Limiter<K> {
    rate: Option<RateLimit>,
    quota: Option<Quota>,
    shards: Box<[Mutex<Shard<K>>]>,
    mask: usize,
    per_shard: usize,
    min_sweep: u64,
    hasher: RandomState,
}

const UNLIMITED: Decision = Decision {
    allowed: true,
    retry_after: Duration::ZERO,
    remaining: u32::MAX,
    reset_after: Duration::ZERO,
};

/// Why a key could not be given state.
struct Full {
    retry_after: Duration,
}

impl<K: Hash + Eq> Limiter<K> {
    /// A limiter applying `rate` (throttle) and `quota` to every key; either may be absent.
    pub fn new(rate: Option<RateLimit>, quota: Option<Quota>, options: LimiterOptions) -> Self {
        let n = options
            .shards
            .max(1)
            .checked_next_power_of_two()
            .unwrap_or(1 << 16);
        let shards = (0..n)
            .map(|_| {
                Mutex::new(Shard {
                    map: HashMap::new(),
                    next_sweep: 0,
                    period: i64::MIN,
                })
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Self {
            rate,
            quota,
            shards,
            mask: n - 1,
            per_shard: (options.max_keys / n).max(1),
            min_sweep: u64::try_from(options.min_sweep_interval.as_nanos()).unwrap_or(u64::MAX),
            hasher: RandomState::new(),
        }
    }

    /// The throttle setting.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate.as_ref()
    }

    /// The quota setting.
    pub fn quota(&self) -> Option<&Quota> {
        self.quota.as_ref()
    }

    /// Keys currently held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this limiter can hold.
    pub fn capacity(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, Shard<K>> {
        // Truncation is fine: only the low bits select the shard.
        let i = (self.hasher.hash_one(key) as usize) & self.mask;
        match self.shards.get(i) {
            Some(s) => lock(s),
            None => lock(&self.shards[0]),
        }
    }

    /// One throttle decision for `key` at monotonic `now`. O(1); allocates only when a new
    /// key is inserted. With no throttle set, always allowed.
    pub fn decide<Q>(&self, key: &Q, now: Duration) -> Decision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(rate) = &self.rate else {
            return UNLIMITED;
        };
        let now = nanos(now);
        let mut shard = self.shard(key);
        if let Some(e) = shard.map.get_mut(key) {
            return rate.decide(&mut e.tat, now);
        }
        let mut tat = 0;
        let d = rate.decide(&mut tat, now);
        if d.allowed {
            if let Err(full) = self.insert(
                &mut shard,
                key,
                Entry {
                    tat,
                    ..Entry::FRESH
                },
                now,
            ) {
                return denied_full(full);
            }
        }
        d
    }

    /// Consumes `n` requests of `key`'s quota at wall time `wall` (`now` is the monotonic
    /// time, used only for eviction). With no quota set, always allowed with
    /// `remaining = u64::MAX`. A denied request consumes nothing.
    pub fn consume<Q>(&self, key: &Q, n: u64, now: Duration, wall: SystemTime) -> QuotaDecision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(quota) = &self.quota else {
            return unlimited_quota(wall);
        };
        let now = nanos(now);
        let mut shard = self.shard(key);
        shard.period = shard.period.max(period_index(quota.period(), wall));
        if let Some(e) = shard.map.get_mut(key) {
            return quota.consume(&mut e.quota, n, wall);
        }
        let mut counter = Entry::FRESH.quota;
        let d = quota.consume(&mut counter, n, wall);
        if d.allowed && n > 0 {
            let entry = Entry {
                quota: counter,
                ..Entry::FRESH
            };
            if self.insert(&mut shard, key, entry, now).is_err() {
                return QuotaDecision {
                    allowed: false,
                    used: 0,
                    remaining: d.remaining + n,
                    ..d
                };
            }
        }
        d
    }

    /// The gateway's per-request check: throttle, then quota for one request; either denial
    /// leaves both untouched (a throttled request does not use quota, a request over quota
    /// takes no token).
    pub fn check<Q>(&self, key: &Q, now: Duration, wall: SystemTime) -> Outcome
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mono = nanos(now);
        let mut shard = self.shard(key);
        if let Some(q) = &self.quota {
            shard.period = shard.period.max(period_index(q.period(), wall));
        }
        let existing = shard.map.get(key).copied();
        let entry = existing.unwrap_or(Entry::FRESH);
        let (throttle, tat) = match &self.rate {
            Some(r) => r.peek(entry.tat, mono),
            None => (UNLIMITED, entry.tat),
        };
        if !throttle.allowed {
            return Outcome {
                allowed: false,
                throttle,
                quota: None,
            };
        }
        let (quota, counter) = match &self.quota {
            Some(q) => {
                let (d, c) = q.peek(entry.quota, 1, wall);
                if !d.allowed {
                    return Outcome {
                        allowed: false,
                        throttle,
                        quota: Some(d),
                    };
                }
                (Some(d), c)
            }
            None => (None, entry.quota),
        };
        let updated = Entry {
            tat,
            quota: counter,
        };
        if existing.is_some() {
            if let Some(e) = shard.map.get_mut(key) {
                *e = updated;
            }
        } else if updated.idle(mono, shard.period) {
            // Nothing worth remembering (e.g. neither throttle nor quota is set).
        } else if let Err(full) = self.insert(&mut shard, key, updated, mono) {
            let throttle = denied_full(full);
            return Outcome {
                allowed: false,
                throttle,
                quota: None,
            };
        }
        Outcome {
            allowed: true,
            throttle,
            quota,
        }
    }

    fn insert<Q>(&self, shard: &mut Shard<K>, key: &Q, entry: Entry, now: u64) -> Result<(), Full>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if shard.map.len() >= self.per_shard {
            if now < shard.next_sweep {
                return Err(Full {
                    retry_after: Duration::from_nanos(shard.next_sweep - now),
                });
            }
            let period = shard.period;
            shard.map.retain(|_, e| !e.idle(now, period));
            let len = shard.map.len();
            if len > self.per_shard - self.per_shard / 4 {
                shard.next_sweep = now.saturating_add(self.min_sweep);
            }
            if len >= self.per_shard {
                let wait = shard.next_sweep.saturating_sub(now);
                return Err(Full {
                    retry_after: Duration::from_nanos(wait),
                });
            }
        }
        shard.map.insert(key.to_owned(), entry);
        Ok(())
    }
}

fn denied_full(full: Full) -> Decision {
    Decision {
        allowed: false,
        retry_after: full.retry_after,
        remaining: 0,
        reset_after: full.retry_after,
    }
}

fn unlimited_quota(wall: SystemTime) -> QuotaDecision {
    QuotaDecision {
        allowed: true,
        used: 0,
        remaining: u64::MAX,
        resets_at: wall,
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A monotonic clock for the `now` arguments: time since this clock was created.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    start: std::time::Instant,
}

impl MonotonicClock {
    /// A clock whose epoch is the current instant.
    pub fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
        }
    }

    /// Time since the clock's epoch.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}
