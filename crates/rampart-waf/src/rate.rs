//! Rate-based rule state: requests counted per aggregation key over a sliding evaluation
//! window, with a hard bound on memory.
//!
//! This is the state engine behind an AWS WAF `RateBasedStatement`. It knows nothing about
//! requests: the caller builds the aggregation key (an IP address, a forwarded IP, a header
//! value, the composite of custom keys...) as bytes and calls [`RateTracker::record`] for
//! every request the rule has to count. One [`RateTracker`] serves one rule instance (AWS
//! keeps separate state per web ACL, rule group reference and rule; so should the caller).
//!
//! # What is counted
//!
//! Only what the caller records. The caller decides whether the scope-down statement matched
//! and records the request only then. As in AWS WAF, every request that reaches the rule and
//! matches the scope-down statement counts, **including the requests the rule itself is
//! blocking**: a client that keeps sending while it is blocked keeps its rate above the limit
//! and stays blocked; it is released only once its own rate falls back to the limit or below.
//! [`RateTracker::record`] therefore always counts, and then says whether the key is over the
//! limit.
//!
//! # Windows and accuracy
//!
//! The evaluation window `W` is 60, 120, 300 or 600 seconds (AWS's `EvaluationWindowSec`).
//! The rule matches a key's requests while the key's count in the window **exceeds** the
//! limit (`count > limit`): with a limit of 1000, the 1000th request is still allowed and the
//! 1001st is not.
//!
//! Time is injected: every call takes `now_ms`, milliseconds on a monotonic clock of the
//! caller's choice (for example milliseconds since process start). Time is cut into
//! [`SUB_BUCKETS`] slots per window (slot length `W / 10`: 6, 12, 30 or 60 s), aligned on
//! multiples of the slot length. Each key keeps a ring of `SUB_BUCKETS + 1` counters (one
//! per slot). The count at `now` is
//!
//! ```text
//! estimate = (requests in the current slot and the 9 slots before it)
//!          + floor(requests in the 10th slot back x (part of that slot still inside the window))
//! ```
//!
//! that is the usual sub-bucket approximation of a sliding window: slots wholly inside the
//! window `(now - W, now]` are counted exactly and only the one slot straddling the window's
//! trailing edge is interpolated, as if its requests had been spread evenly over it.
//!
//! **Accuracy.** Let `exact` be the number of recorded requests with a time in
//! `(now - W, now]` and `edge` the number of requests recorded in the slot straddling
//! `now - W`. Then `|estimate - exact| <= edge`: the error never exceeds the traffic of one
//! slot, that is of one tenth of the window. For a steady rate the error is at most one
//! request. In particular:
//!
//! * while all of a key's requests are younger than `0.9 W` the count is exact, so a burst
//!   is detected exactly;
//! * a request stops counting somewhere between `0.9 W` and `1.1 W` after it was recorded
//!   (it fades out linearly over the slot during which it leaves the window); a key blocked
//!   because of a burst is released at the latest `1.1 W` after the burst.
//!
//! Counters are `u32` per slot and saturate (at about 4.3 billion requests per slot, above
//! the highest limit of 2 billion, so a saturated key stays over the limit).
//!
//! If `now_ms` goes backwards for a key (two threads reading the clock and then racing to the
//! lock), the key's newest time is used instead: the request counts in the newest slot.
//!
//! # Keys
//!
//! The table stores a 64-bit hash of each key, not the key: SipHash keyed by a random
//! [`RandomState`] drawn when the tracker is built, so an attacker can neither predict
//! collisions nor aim keys at one shard. Two distinct keys share a counter only if their
//! hashes collide, with probability about `tracked keys / 2^64` per new key (about 5 x 10^-15
//! for a table of 100 000 keys). Not storing keys keeps entries at a fixed size whatever the
//! key (composite keys can be long) but means the tracker cannot list the keys it is
//! limiting; a caller that needs AWS's "managed keys" listing keeps the keys for which
//! [`RateTracker::record`] returned `true`.
//!
//! # Memory bound and eviction
//!
//! A tracker holds at most `max_keys` keys ([`DEFAULT_MAX_KEYS`] = 100 000 by default),
//! spread over up to 64 shards (a power of two, with at least 256 keys per shard when
//! `max_keys` allows), each a `Mutex` around a vector of fixed-size entries and an
//! open-addressing index of `u32` positions. Storage grows as keys arrive and never beyond
//! the shard's share of `max_keys`: an entry is 64 bytes and the index at most 16 bytes per
//! key, so [`RateConfig::memory_bound_bytes`] = `80 x max_keys + 16 KiB` bounds
//! [`RateTracker::approx_memory_bytes`] (the heap and inline bytes the tracker asked for,
//! allocator overhead aside) whatever the traffic: 8 MB for 100 000 keys.
//!
//! When a new key arrives in a full shard, one entry is evicted, chosen by a clock hand that
//! sweeps the shard's entries:
//!
//! 1. the hand examines at least 8 entries (fewer if the shard holds fewer) and stops
//!    early at an idle entry (count 0 in the window), which is evicted at once;
//! 2. the candidate is the examined entry with the lowest count in the window, the least
//!    recently seen among equal counts;
//! 3. if that candidate is over the limit, the hand keeps going until it meets an entry that
//!    is not, which is evicted; if the whole shard is over the limit, the shard's entry with
//!    the lowest count is evicted.
//!
//! An eviction visits 8 entries (each a sum of 11 counters); it visits more only to get
//! past a run of over-limit keys, and the hand passes each of those once per turn. Only a
//! shard (nearly) full of over-limit keys costs up to a whole shard per new key.
//!
//! Guarantees:
//!
//! * **A key over the limit is never evicted while its shard holds any key that is not.** To
//!   flush a blocked key out of the table, an attacker has to fill its whole shard (a shard
//!   holds `max_keys / shards` keys, at least 256 when `max_keys` is at least 256; keys land
//!   in shards by a secret hash, so in practice that means about `max_keys` keys over all
//!   shards) with keys that are each over the limit themselves, so each of them blocked:
//!   spraying distinct keys, however many, does not unblock anybody. When there are more
//!   keys over the limit than room, the ones with the lowest counts are dropped first, which
//!   is what AWS does beyond its 10 000 managed keys per rule ("those with the highest rates
//!   are blocked").
//! * A key under the limit is evicted only if it has the lowest count (then the oldest last
//!   request) of the at least 8 entries examined with it. A sprayed key that never returns has
//!   count 1, so under a spray of distinct keys an active key that has sent two requests or
//!   more in the window is evicted only if none of the other entries examined with it (at
//!   least 7) is a sprayed key.
//!   An evicted key that comes back starts again from zero: its count is under-estimated,
//!   never over-estimated (eviction never makes an innocent key blocked).
//!
//! Idle entries are not removed in the background: they are the first ones reused when a
//! shard is full, and [`RateTracker::purge_idle`] removes them (and gives back memory) on
//! demand.
//!
//! # Concurrency
//!
//! [`RateTracker`] is `Send + Sync` and all its methods take `&self`: each call locks one
//! shard (the inspection methods [`RateTracker::tracked_keys`],
//! [`RateTracker::approx_memory_bytes`] and [`RateTracker::purge_idle`] lock them in turn),
//! so concurrent records of one key are all counted. A poisoned shard lock is used anyway:
//! the shard's state is plain counters, consistent between any two statements that could
//! panic.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::mem::size_of;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The evaluation windows AWS WAF accepts (`EvaluationWindowSec`), in seconds.
pub const WINDOWS_SECS: [u64; 4] = [60, 120, 300, 600];

/// Sub-buckets (slots) per evaluation window; the approximation error is at most the traffic
/// of one slot.
pub const SUB_BUCKETS: u64 = 10;

/// Lowest accepted limit (AWS's own minimum is 10; lower limits are accepted here).
pub const MIN_LIMIT: u64 = 1;

/// Highest accepted limit (AWS's maximum).
pub const MAX_LIMIT: u64 = 2_000_000_000;

/// Default bound on the number of keys tracked by one rule.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Highest accepted `max_keys` (positions in a shard are `u32`).
pub const MAX_MAX_KEYS: usize = 1 << 30;

/// Upper bound on the bytes per key of `max_keys` (64-byte entry, at most 16 bytes of index).
pub const MEMORY_BYTES_PER_KEY: usize = 80;

/// Upper bound on the bytes that do not depend on `max_keys` (tracker, shard headers, the
/// smallest index of a shard).
pub const MEMORY_FIXED_BYTES: usize = 16 * 1024;

/// Counters per key: the current slot and the `SUB_BUCKETS` before it.
const RING: usize = SUB_BUCKETS as usize + 1;

/// Most shards of a tracker.
const MAX_SHARDS: usize = 64;

/// Fewest keys per shard when `max_keys` allows it (see the eviction guarantee).
const MIN_KEYS_PER_SHARD: usize = 256;

/// Entries examined at least per eviction.
const EVICTION_SAMPLE: usize = 8;

/// Smallest non-empty index of a shard.
const MIN_INDEX: usize = 16;

/// Free index slot.
const EMPTY: u32 = u32::MAX;

/// Settings of one rate-based rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// The rule matches a key while its count in the window exceeds this (1..=2 000 000 000).
    pub limit: u64,
    /// Evaluation window in seconds: 60, 120, 300 or 600.
    pub window_secs: u64,
    /// The most keys tracked at once (1..=2^30); bounds memory (see the module docs).
    pub max_keys: usize,
}

impl RateConfig {
    /// `limit` requests per `window_secs` with the default `max_keys`.
    pub fn new(limit: u64, window_secs: u64) -> Self {
        Self {
            limit,
            window_secs,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), RateError> {
        if !(MIN_LIMIT..=MAX_LIMIT).contains(&self.limit) {
            return Err(RateError::Limit(self.limit));
        }
        if !WINDOWS_SECS.contains(&self.window_secs) {
            return Err(RateError::Window(self.window_secs));
        }
        if !(1..=MAX_MAX_KEYS).contains(&self.max_keys) {
            return Err(RateError::MaxKeys(self.max_keys));
        }
        Ok(())
    }

    /// Upper bound on [`RateTracker::approx_memory_bytes`] for these settings, whatever the
    /// traffic: `MEMORY_BYTES_PER_KEY x max_keys + MEMORY_FIXED_BYTES`.
    pub fn memory_bound_bytes(&self) -> usize {
        self.max_keys
            .saturating_mul(MEMORY_BYTES_PER_KEY)
            .saturating_add(MEMORY_FIXED_BYTES)
    }
}

/// Invalid [`RateConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// The limit is outside 1..=2 000 000 000.
    #[error("rate-based rule limit must be between {MIN_LIMIT} and {MAX_LIMIT}, got {0}")]
    Limit(u64),
    /// The window is not 60, 120, 300 or 600 seconds.
    #[error("rate-based rule evaluation window must be 60, 120, 300 or 600 seconds, got {0}")]
    Window(u64),
    /// `max_keys` is 0 or above 2^30.
    #[error("rate-based rule max_keys must be between 1 and {MAX_MAX_KEYS}, got {0}")]
    MaxKeys(usize),
}

/// One key's counters: 64 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Keyed hash of the key.
    hash: u64,
    /// Newest time recorded for the key; its slot is the ring's newest.
    last_ms: u64,
    /// Requests per slot: slot `j` at `counts[j % RING]`, valid for the `RING` slots up to
    /// the newest.
    counts: [u32; RING],
}

impl Entry {
    fn new(hash: u64, now_ms: u64) -> Self {
        Self {
            hash,
            last_ms: now_ms,
            counts: [0; RING],
        }
    }
}

/// The slot arithmetic of one window length.
#[derive(Debug, Clone, Copy)]
struct Window {
    slot_ms: u64,
}

impl Window {
    /// Counts one request at `now_ms` (or at the entry's newest time if that is later).
    fn add(self, e: &mut Entry, now_ms: u64) {
        let t = now_ms.max(e.last_ms);
        let slot = t / self.slot_ms;
        let head = e.last_ms / self.slot_ms;
        if slot - head >= RING as u64 {
            e.counts = [0; RING];
        } else {
            for j in head + 1..=slot {
                e.counts[slot_pos(j)] = 0;
            }
        }
        e.last_ms = t;
        let c = &mut e.counts[slot_pos(slot)];
        *c = c.saturating_add(1);
    }

    /// The entry's estimated count in the window ending at `now_ms` (see the module docs).
    fn estimate(self, e: &Entry, now_ms: u64) -> u64 {
        let t = now_ms.max(e.last_ms);
        let slot = t / self.slot_ms;
        let head = e.last_ms / self.slot_ms;
        if slot - head > SUB_BUCKETS {
            return 0;
        }
        // Slots wholly inside the window: `slot - 9 ..= slot`, of which those up to `head`
        // hold requests (all of them within the ring since `slot - 9 > head - RING`).
        let mut total = 0u64;
        for j in slot.saturating_sub(SUB_BUCKETS - 1)..=head {
            total += u64::from(e.counts[slot_pos(j)]);
        }
        // The slot straddling the trailing edge, weighted by the part still in the window.
        if let Some(edge) = slot.checked_sub(SUB_BUCKETS) {
            let inside = self.slot_ms - t % self.slot_ms;
            total += u64::from(e.counts[slot_pos(edge)]) * inside / self.slot_ms;
        }
        total
    }
}

/// Position of absolute slot `j` in an entry's ring.
fn slot_pos(j: u64) -> usize {
    // The remainder is below RING, so the cast is lossless.
    (j % RING as u64) as usize
}

/// One independently locked part of the table.
#[derive(Debug)]
struct Shard {
    /// The keys' counters, in no particular order.
    entries: Vec<Entry>,
    /// Open-addressing index (linear probing from the hash's low bits, backward-shift
    /// deletion): positions in `entries`, or `EMPTY`. Empty, or a power of two at least
    /// twice `entries.len()` and at least `MIN_INDEX`.
    index: Vec<u32>,
    /// The most entries this shard holds.
    cap: usize,
    /// Clock hand: where the next eviction starts examining entries.
    hand: usize,
}

impl Shard {
    fn new(cap: usize) -> Self {
        Self {
            entries: Vec::new(),
            index: Vec::new(),
            cap,
            hand: 0,
        }
    }

    fn home(&self, hash: u64) -> usize {
        // Keeping the low bits is the point of the cast.
        (hash as usize) & (self.index.len() - 1)
    }

    /// `Ok(index slot)` holding `hash`, or `Err(free index slot)` where it would go. The index
    /// must not be empty.
    fn probe(&self, hash: u64) -> Result<usize, usize> {
        let mask = self.index.len() - 1;
        let mut i = self.home(hash);
        loop {
            let p = self.index[i];
            if p == EMPTY {
                return Err(i);
            }
            if self.entries[p as usize].hash == hash {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Position in `entries` of the key with this hash.
    fn find(&self, hash: u64) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        self.probe(hash).ok().map(|i| self.index[i] as usize)
    }

    /// Empties index slot `i` and moves up the entries that probed past it.
    fn unindex(&mut self, mut i: usize) {
        let mask = self.index.len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let p = self.index[j];
            if p == EMPTY {
                break;
            }
            let k = self.home(self.entries[p as usize].hash);
            // The entry at `j` may stay if its home lies cyclically in `(i, j]`.
            let stays = if i <= j {
                i < k && k <= j
            } else {
                i < k || k <= j
            };
            if !stays {
                self.index[i] = p;
                i = j;
            }
        }
        self.index[i] = EMPTY;
    }

    /// Rebuilds the index with `len` slots (a power of two) for the current entries.
    fn reindex(&mut self, len: usize) {
        self.index = vec![EMPTY; len];
        for pos in 0..self.entries.len() {
            if let Err(i) = self.probe(self.entries[pos].hash) {
                self.index[i] = pos_u32(pos);
            }
        }
    }

    /// The index size for `n` entries.
    fn index_len_for(n: usize) -> usize {
        n.saturating_mul(2).next_power_of_two().max(MIN_INDEX)
    }

    /// Position of a new entry for `hash` (not in the shard), evicting one if the shard is
    /// full.
    fn insert(&mut self, hash: u64, now_ms: u64, w: Window, limit: u64) -> usize {
        let len = self.entries.len();
        if len < self.cap {
            if self.index.len() < (len + 1) * 2 {
                self.reindex(Self::index_len_for(len + 1));
            }
            if len == self.entries.capacity() {
                // Double, but never past the shard's share of `max_keys`.
                self.entries
                    .reserve_exact(len.max(MIN_INDEX).min(self.cap - len));
            }
            self.entries.push(Entry::new(hash, now_ms));
            if let Err(i) = self.probe(hash) {
                self.index[i] = pos_u32(len);
            }
            return len;
        }
        let victim = self.victim(w, limit, now_ms);
        if let Ok(i) = self.probe(self.entries[victim].hash) {
            self.unindex(i);
        }
        self.entries[victim] = Entry::new(hash, now_ms);
        if let Err(i) = self.probe(hash) {
            self.index[i] = pos_u32(victim);
        }
        victim
    }

    /// The entry to evict from this full shard (see the module docs).
    fn victim(&mut self, w: Window, limit: u64, now_ms: u64) -> usize {
        let n = self.entries.len();
        let mut pos = if self.hand < n { self.hand } else { 0 };
        let mut best = pos;
        let mut best_rank = (u64::MAX, u64::MAX);
        let mut examined = 0;
        loop {
            let e = &self.entries[pos];
            let count = w.estimate(e, now_ms);
            if (count, e.last_ms) < best_rank {
                best_rank = (count, e.last_ms);
                best = pos;
            }
            examined += 1;
            pos = if pos + 1 == n { 0 } else { pos + 1 };
            if count == 0 || examined == n || (examined >= EVICTION_SAMPLE && best_rank.0 <= limit)
            {
                break;
            }
        }
        self.hand = pos;
        best
    }

    /// Removes the entries with nothing in the window; returns how many.
    fn purge_idle(&mut self, w: Window, now_ms: u64) -> usize {
        let before = self.entries.len();
        let mut pos = 0;
        while pos < self.entries.len() {
            if w.estimate(&self.entries[pos], now_ms) > 0 {
                pos += 1;
                continue;
            }
            if let Ok(i) = self.probe(self.entries[pos].hash) {
                self.unindex(i);
            }
            // The last entry moves to `pos`.
            let last = self.entries.len() - 1;
            if pos != last {
                if let Ok(i) = self.probe(self.entries[last].hash) {
                    self.index[i] = pos_u32(pos);
                }
            }
            self.entries.swap_remove(pos);
        }
        let len = self.entries.len();
        if len < before {
            self.hand = 0;
            // Give memory back once the shard is at most a quarter full.
            if len == 0 {
                self.entries = Vec::new();
                self.index = Vec::new();
            } else if len * 4 <= self.entries.capacity() {
                self.entries.shrink_to(len.max(MIN_INDEX).min(self.cap));
                self.reindex(Self::index_len_for(len));
            }
        }
        before - len
    }

    fn memory_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<Entry>() + self.index.capacity() * size_of::<u32>()
    }
}

/// A position in a shard as stored in the index (shards hold at most 2^30 entries).
fn pos_u32(pos: usize) -> u32 {
    u32::try_from(pos).unwrap_or(EMPTY)
}

/// A shard alone on its cache lines, so that threads locking neighbouring shards do not
/// contend.
#[derive(Debug)]
#[repr(align(64))]
struct PaddedShard(Mutex<Shard>);

/// At most this many over-limit keys are remembered by name ([`RateTracker::remember_limited_keys`]).
pub const LIMITED_KEYS_CAP: usize = 10_000;
/// Only keys of at most this many bytes are remembered (IP addresses: 4 or 16).
pub const LIMITED_KEY_MAX_LEN: usize = 16;

/// Per-key request counts of one rate-based rule (see the module docs).
pub struct RateTracker {
    config: RateConfig,
    window: Window,
    hasher: RandomState,
    shards: Box<[PaddedShard]>,
    /// When enabled: the keys that went over the limit, by hash, so they can be listed
    /// (the table itself keeps hashes only). Bounded by [`LIMITED_KEYS_CAP`].
    limited: Option<Mutex<Limited>>,
}

/// The keys over the limit, by hash (see [`RateTracker::remember_limited_keys`]).
#[derive(Default)]
struct Limited {
    keys: HashMap<u64, Box<[u8]>>,
    /// When full, keys that have recovered are dropped to make room, at most once per
    /// second (`now_ms` of the last time).
    pruned_at: Option<u64>,
}

impl fmt::Debug for RateTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateTracker")
            .field("config", &self.config)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl RateTracker {
    /// An empty tracker; fails if the settings are invalid ([`RateConfig::validate`]).
    pub fn new(config: RateConfig) -> Result<Self, RateError> {
        config.validate()?;
        let wanted = (config.max_keys / MIN_KEYS_PER_SHARD).clamp(1, MAX_SHARDS);
        // The largest power of two not above `wanted`.
        let count = 1usize << (usize::BITS - 1 - wanted.leading_zeros());
        let base = config.max_keys / count;
        let extra = config.max_keys % count;
        let shards = (0..count)
            .map(|i| PaddedShard(Mutex::new(Shard::new(base + usize::from(i < extra)))))
            .collect();
        Ok(Self {
            config,
            window: Window {
                slot_ms: config.window_secs * 1000 / SUB_BUCKETS,
            },
            hasher: RandomState::new(),
            shards,
            limited: None,
        })
    }

    /// Also remember the keys (of at most [`LIMITED_KEY_MAX_LEN`] bytes: addresses) that go
    /// over the limit, up to [`LIMITED_KEYS_CAP`] at once, for [`RateTracker::limited_keys`].
    /// A key is remembered at the request that takes it over the limit (a key that crosses
    /// while the list is full and holds no recovered key is missed until it crosses again);
    /// the other requests only pay one more count estimate.
    pub fn remember_limited_keys(mut self) -> Self {
        self.limited = Some(Mutex::new(Limited::default()));
        self
    }

    /// Drops the remembered keys that are no longer over the limit at `now_ms`.
    fn prune_limited(&self, limited: &mut Limited, now_ms: u64) {
        limited.keys.retain(|&hash, _| {
            let shard = self.shard(hash);
            shard.find(hash).is_some_and(|pos| {
                self.window.estimate(&shard.entries[pos], now_ms) > self.config.limit
            })
        });
        limited.pruned_at = Some(now_ms);
    }

    /// The remembered keys that are over the limit at `now_ms` (see
    /// [`RateTracker::remember_limited_keys`]; empty when not enabled), in no particular
    /// order. Keys that have fallen back to the limit are forgotten.
    pub fn limited_keys(&self, now_ms: u64) -> Vec<Vec<u8>> {
        let Some(limited) = &self.limited else {
            return Vec::new();
        };
        let mut limited = limited.lock().unwrap_or_else(PoisonError::into_inner);
        self.prune_limited(&mut limited, now_ms);
        limited.keys.values().map(|k| k.to_vec()).collect()
    }

    /// The settings.
    pub fn config(&self) -> RateConfig {
        self.config
    }

    /// Counts one request for `key` at `now_ms` and says whether the key is now over the
    /// limit (its count in the window, this request included, exceeds the limit). Requests
    /// of keys already over the limit count too, as in AWS WAF.
    pub fn record(&self, key: &[u8], now_ms: u64) -> bool {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shard(hash);
        let pos = match shard.find(hash) {
            Some(pos) => pos,
            None => shard.insert(hash, now_ms, self.window, self.config.limit),
        };
        let e = &mut shard.entries[pos];
        // Keys are remembered when they cross the limit, not on every request over it: a
        // flood from one address would otherwise take the list's lock on each request.
        let was_over =
            self.limited.is_some() && self.window.estimate(e, now_ms) > self.config.limit;
        self.window.add(e, now_ms);
        let over = self.window.estimate(e, now_ms) > self.config.limit;
        drop(shard);
        if over && !was_over && key.len() <= LIMITED_KEY_MAX_LEN {
            if let Some(limited) = &self.limited {
                let mut limited = limited.lock().unwrap_or_else(PoisonError::into_inner);
                if limited.keys.len() >= LIMITED_KEYS_CAP
                    && !limited.keys.contains_key(&hash)
                    && limited
                        .pruned_at
                        .is_none_or(|t| now_ms.saturating_sub(t) >= 1000)
                {
                    self.prune_limited(&mut limited, now_ms);
                }
                if limited.keys.len() < LIMITED_KEYS_CAP {
                    limited.keys.entry(hash).or_insert_with(|| key.into());
                }
            }
        }
        over
    }

    /// Whether `key` is over the limit at `now_ms`, without counting a request.
    pub fn is_limited(&self, key: &[u8], now_ms: u64) -> bool {
        self.count(key, now_ms) > self.config.limit
    }

    /// `key`'s estimated count in the window ending at `now_ms` (0 for an untracked key).
    pub fn count(&self, key: &[u8], now_ms: u64) -> u64 {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        shard
            .find(hash)
            .map_or(0, |pos| self.window.estimate(&shard.entries[pos], now_ms))
    }

    /// Keys in the table, idle ones included (at most `max_keys`).
    pub fn tracked_keys(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).entries.len()).sum()
    }

    /// Removes the keys with nothing left in the window at `now_ms` and gives back memory
    /// of shards left at most a quarter full; returns how many keys were removed.
    pub fn purge_idle(&self, now_ms: u64) -> usize {
        self.shards
            .iter()
            .map(|s| lock(&s.0).purge_idle(self.window, now_ms))
            .sum()
    }

    /// Bytes held by the tracker: its own size, the shards and their allocations (allocator
    /// overhead aside). Never above [`RateConfig::memory_bound_bytes`].
    pub fn approx_memory_bytes(&self) -> usize {
        size_of::<Self>()
            + self
                .shards
                .iter()
                .map(|s| size_of::<PaddedShard>() + lock(&s.0).memory_bytes())
                .sum::<usize>()
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        // The index uses the low bits; the shard is picked from the high half.
        let i = (hash >> 32) as usize & (self.shards.len() - 1);
        lock(&self.shards[i].0)
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Every entry is reachable through the index at its position, and the index holds
    /// nothing else.
    fn check(shard: &Shard) {
        assert!(shard.entries.len() <= shard.cap);
        assert!(shard.entries.capacity() <= shard.cap.max(MIN_INDEX));
        if shard.entries.is_empty() {
            return;
        }
        assert!(shard.index.len().is_power_of_two());
        assert!(shard.index.len() >= 2 * shard.entries.len());
        for (pos, e) in shard.entries.iter().enumerate() {
            let slot = shard.probe(e.hash).unwrap();
            assert_eq!(shard.index[slot] as usize, pos);
        }
        let used = shard.index.iter().filter(|&&p| p != EMPTY).count();
        assert_eq!(used, shard.entries.len());
    }

    /// Inserts, evictions and purges on a small shard whose hashes share their low bits
    /// (long probe chains, wrapping around the index) keep the index consistent.
    #[test]
    fn index_stays_consistent_under_churn() {
        let w = Window { slot_ms: 6_000 };
        let mut shard = Shard::new(40);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut now = 0;
        for round in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // 200 distinct keys; the low 4 bits take only 3 values.
            let hash = ((x % 200) << 8) | (x % 3) | 0xF0;
            now += x % 500;
            let pos = match shard.find(hash) {
                Some(pos) => pos,
                None => shard.insert(hash, now, w, 5),
            };
            assert_eq!(shard.entries[pos].hash, hash);
            w.add(&mut shard.entries[pos], now);
            if round % 997 == 0 {
                shard.purge_idle(w, now + (x % 3) * 30_000);
            }
            check(&shard);
        }
    }
}
