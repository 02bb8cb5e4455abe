//! The authorizer result cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::response::Response;
use crate::source::IdentityKey;
use crate::ConfigError;

/// Cached authorizer responses of one authorizer, keyed by [`IdentityKey`].
///
/// It stores the parsed response, not a decision: the gateway evaluates a cached policy
/// against each request's method ARN. Entries live `ttl` from insertion; when `capacity`
/// entries are held, inserting evicts the oldest. The clock is the caller's: `now` is
/// passed to every call, so tests can move time.
///
/// One `Cache` per authorizer: two authorizers must not share entries.
#[derive(Debug)]
pub struct Cache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<IdentityKey, Entry>,
    /// Insertion order: sequence number → key.
    order: BTreeMap<u64, IdentityKey>,
    next: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    expires: Instant,
    response: Arc<Response>,
}

impl Cache {
    /// API Gateway's default TTL.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
    /// API Gateway's maximum TTL.
    pub const MAX_TTL: Duration = Duration::from_secs(3600);
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A cache with this TTL (zero disables caching; more than [`Cache::MAX_TTL`] is an
    /// error) holding at most `capacity` entries (zero disables caching too).
    pub fn new(ttl: Duration, capacity: usize) -> Result<Self, ConfigError> {
        if ttl > Self::MAX_TTL {
            return Err(ConfigError::Ttl(ttl));
        }
        Ok(Self {
            ttl,
            capacity,
            inner: Mutex::new(Inner::default()),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Is anything ever cached?
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached response for this identity, if it has not expired at `now`.
    pub fn get(&self, key: &IdentityKey, now: Instant) -> Option<Arc<Response>> {
        if !self.enabled() || key.is_empty() {
            return None;
        }
        let mut inner = self.lock();
        let (seq, expires, response) = {
            let e = inner.entries.get(key)?;
            (e.seq, e.expires, e.response.clone())
        };
        if now < expires {
            return Some(response);
        }
        inner.entries.remove(key);
        inner.order.remove(&seq);
        None
    }

    /// Remember a response for this identity from `now` for the TTL. Does nothing when
    /// caching is disabled or the key is empty (a `REQUEST` authorizer without identity
    /// sources).
    pub fn insert(&self, key: IdentityKey, response: Arc<Response>, now: Instant) {
        if !self.enabled() || key.is_empty() {
            return;
        }
        let Some(expires) = now.checked_add(self.ttl) else {
            return;
        };
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        if let Some(old) = inner.entries.remove(&key) {
            inner.order.remove(&old.seq);
        }
        while inner.entries.len() >= self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        inner.order.insert(seq, key.clone());
        inner.entries.insert(
            key,
            Entry {
                seq,
                expires,
                response,
            },
        );
    }

    /// Entries held (expired ones included until they are looked up or evicted).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every entry (e.g. when the authorizer's configuration changes).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.order.clear();
    }
}

impl Default for Cache {
    /// TTL 300 s, 10,000 entries.
    fn default() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            capacity: Self::DEFAULT_CAPACITY,
            inner: Mutex::new(Inner::default()),
        }
    }
}
