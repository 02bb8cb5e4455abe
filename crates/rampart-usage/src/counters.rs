//! Crash-safe quota and usage counters.
//!
//! One counter per (usage plan, API key): the quota state `(period kind, period index, used)`
//! and the number of requests per UTC day.
//!
//! # Durability
//!
//! * [`Counters::admit`] changes the counter in memory and then, still under the counter's
//!   lock, appends one line with the counter's *absolute* values to the current journal file
//!   (`counters.<generation>.journal`, opened `O_APPEND`) with a single unbuffered `write(2)`.
//!   No fsync, no database transaction. Once `write` returns, the data is in the kernel and
//!   survives the process being killed (not a power loss; [`Counters::flush`] bounds that
//!   window to the flush interval).
//! * [`Counters::flush`] (every second, and at shutdown) persists the counters to the redb
//!   file in one durable transaction and retires the journal, in this order:
//!   1. create journal generation `g + 1` and swap it in under the journal's write lock (the
//!      only moment admits wait, for a pointer swap); every admit that wrote to a generation
//!      `<= g` has finished, and its in-memory change is visible;
//!   2. copy the dirty counters (after the swap, so the copy covers every line of the
//!      generations `<= g`);
//!   3. commit them, together with the marker `journal_gen = g + 1` ("the table includes all
//!      journal generations below `g + 1`"), durably;
//!   4. delete the journal files below `g + 1`.
//!
//!   A crash before 3 leaves the old marker and the old files (replayed on open); after 3 the
//!   marker makes the open skip the stale files (a crash in 4 leaves files that are deleted
//!   later). Lines of generation `g + 1` written before the copy are also in the table;
//!   replaying them is harmless because replay merges by maximum.
//! * On open: load the table, replay the journal generations `>=` the marker in order, ignoring
//!   lines that are torn or fail their checksum, then flush.
//!
//! Replay merges each line into the counter: for the same period the larger `used` wins, a
//! later period of the same kind replaces an earlier one, a different period kind (the plan's
//! quota changed) replaces the state; per day, the larger count wins. Because lines carry
//! absolute values, the order of lines and duplicates do not matter (within a counter the
//! lines are written in order anyway, under the counter's lock).
//!
//! Usage per day is kept in memory for the current day (plus earlier days not yet flushed) and
//! in the `usage_days` table `(plan, key, day) -> count`, written by flush. Days older than
//! [`USAGE_RETENTION_DAYS`] before the newest day seen are dropped.

use crate::store::StoreError;
use rampart_limiter::{period_end, period_index, Period, Quota, QuotaDecision};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

/// A stored counter: `(period kind, period index, used, day, count that day)`.
type CounterRow = (u8, i64, u64, i64, u64);
/// `(plan id, key id) -> CounterRow`.
pub(crate) const COUNTERS: TableDefinition<(&str, &str), CounterRow> =
    TableDefinition::new("counters");
/// `(plan id, key id, day) -> requests that day` (day = days since 1970-01-01 UTC).
pub(crate) const USAGE: TableDefinition<(&str, &str, i64), u64> =
    TableDefinition::new("usage_days");
/// Small settings; holds [`META_JOURNAL_GEN`].
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The lowest journal generation not yet included in the counters tables.
const META_JOURNAL_GEN: &str = "counters.journal_gen";

/// Usage days older than this many days before the newest day seen are dropped.
pub const USAGE_RETENTION_DAYS: i64 = 400;

const SHARDS: usize = 16;
const KIND_NONE: u8 = 0;
const RECORD_BUF: usize = 384;
const JOURNAL_PREFIX: &str = "counters.";
const JOURNAL_SUFFIX: &str = ".journal";

fn kind_of(p: Period) -> u8 {
    match p {
        Period::Day => 1,
        Period::Week => 2,
        Period::Month => 3,
    }
}

fn kind_char(k: u8) -> char {
    match k {
        1 => 'D',
        2 => 'W',
        3 => 'M',
        _ => '-',
    }
}

fn kind_from_char(c: &str) -> Option<u8> {
    match c {
        "-" => Some(KIND_NONE),
        "D" => Some(1),
        "W" => Some(2),
        "M" => Some(3),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data are plain numbers, consistent after any panic: keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One counter's state.
#[derive(Debug, Clone, Default)]
struct State {
    /// Quota period kind (`KIND_NONE` if never counted against a quota).
    kind: u8,
    /// Quota period index (`period_index`).
    index: i64,
    /// Requests used in that period.
    used: u64,
    /// The current usage day.
    day: i64,
    /// Requests on `day`.
    today: u64,
    /// Counts of earlier days not yet known to be in the table.
    older: Vec<(i64, u64)>,
    /// Changed since the last flush copy.
    dirty: bool,
}

impl State {
    fn is_unused(&self) -> bool {
        self.kind == KIND_NONE && self.today == 0 && self.older.is_empty()
    }

    fn merge_older(&mut self, day: i64, count: u64) {
        if count == 0 {
            return;
        }
        match self.older.iter_mut().find(|(d, _)| *d == day) {
            Some(slot) => slot.1 = slot.1.max(count),
            None => self.older.push((day, count)),
        }
    }

    /// Makes `day` the current usage day, keeping the previous day's count for the next flush.
    fn switch_day(&mut self, day: i64) {
        if self.day == day {
            return;
        }
        let (prev_day, prev) = (self.day, self.today);
        self.merge_older(prev_day, prev);
        // A clock that went back to a day still in memory continues its count. (One only in
        // the table restarts at 0 in memory; flush keeps the table's larger value.)
        let restored = match self.older.iter().position(|(d, _)| *d == day) {
            Some(i) => self.older.swap_remove(i).1,
            None => 0,
        };
        self.day = day;
        self.today = restored;
    }

    /// Replay / load: merge a day count by maximum.
    fn merge_day(&mut self, day: i64, count: u64) {
        if day == self.day {
            self.today = self.today.max(count);
        } else if day > self.day || self.is_unused() {
            self.switch_day(day);
            self.today = self.today.max(count);
        } else {
            self.merge_older(day, count);
        }
    }

    /// Replay / load: merge a quota state.
    fn merge_quota(&mut self, kind: u8, index: i64, used: u64) {
        if kind == KIND_NONE {
            return;
        }
        if self.kind != kind || index > self.index {
            self.kind = kind;
            self.index = index;
            self.used = used;
        } else if index == self.index {
            self.used = self.used.max(used);
        }
    }
}

struct Entry {
    plan_id: Box<str>,
    key_id: Box<str>,
    /// `"<plan> <key> "`, escaped, the start of every journal line of this counter.
    prefix: Box<[u8]>,
    state: Mutex<State>,
}

impl Entry {
    fn new(plan_id: &str, key_id: &str) -> Self {
        let mut prefix = escape_id(plan_id);
        prefix.push(' ');
        prefix.push_str(&escape_id(key_id));
        prefix.push(' ');
        Self {
            plan_id: plan_id.into(),
            key_id: key_id.into(),
            prefix: prefix.into_bytes().into_boxed_slice(),
            state: Mutex::new(State::default()),
        }
    }
}

/// A handle on one (plan, key) counter, from [`Counters::counter`]. Cheap to clone; build it
/// once per configuration snapshot and keep it, so [`Counters::admit`] needs no lookup.
#[derive(Clone)]
pub struct CounterRef(Arc<Entry>);

impl CounterRef {
    /// The usage plan id.
    pub fn plan_id(&self) -> &str {
        &self.0.plan_id
    }

    /// The API key id.
    pub fn key_id(&self) -> &str {
        &self.0.key_id
    }
}

impl fmt::Debug for CounterRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CounterRef")
            .field("plan_id", &self.0.plan_id)
            .field("key_id", &self.0.key_id)
            .finish()
    }
}

/// Interns counters: `(plan id, key id) -> entry`.
type Shard = HashMap<(String, String), Arc<Entry>>;

struct Journal {
    file: File,
    gen: u64,
}

struct FlushState {
    /// Journal generations replaced but whose files may still exist.
    retired: Vec<u64>,
    /// Days before this were last pruned.
    pruned_cutoff: i64,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    plan_id: String,
    key_id: String,
    kind: u8,
    index: i64,
    used: u64,
    day: i64,
    today: u64,
}

/// The quota and usage counters of a [`Store`](crate::Store).
pub struct Counters {
    db: Arc<Database>,
    dir: PathBuf,
    hash_state: RandomState,
    shards: Vec<Mutex<Shard>>,
    journal: RwLock<Journal>,
    flush_state: Mutex<FlushState>,
    /// Some counter changed since the last flush started.
    pending: AtomicBool,
    /// The newest usage day seen (drives retention, so injected clocks work).
    max_day: AtomicI64,
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn journal_path(dir: &Path, gen: u64) -> PathBuf {
    dir.join(format!("{JOURNAL_PREFIX}{gen:020}{JOURNAL_SUFFIX}"))
}

fn io_err(context: &str, e: &std::io::Error) -> StoreError {
    StoreError::Io(format!("{context}: {e}"))
}

fn create_journal(dir: &Path, gen: u64) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal_path(dir, gen))
        .map_err(|e| io_err("cannot create the usage journal", &e))
}

/// Journal generations present in `dir`, ascending.
fn journal_gens(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut gens = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| io_err("cannot list the store directory", &e))?;
    for ent in rd {
        let ent = ent.map_err(|e| io_err("cannot list the store directory", &e))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(g) = name
            .strip_prefix(JOURNAL_PREFIX)
            .and_then(|s| s.strip_suffix(JOURNAL_SUFFIX))
            .and_then(|s| s.parse::<u64>().ok())
        {
            gens.push(g);
        }
    }
    gens.sort_unstable();
    Ok(gens)
}

fn is_safe_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// Ids in journal lines: `[A-Za-z0-9_.-]` as is, other bytes `%XX`, the empty id `~`.
fn escape_id(id: &str) -> String {
    if id.is_empty() {
        return "~".to_owned();
    }
    let mut s = String::with_capacity(id.len());
    for &b in id.as_bytes() {
        if is_safe_id_byte(b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn unescape_id(s: &str) -> Option<String> {
    if s == "~" {
        return Some(String::new());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if is_safe_id_byte(b) {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// FNV-1a, 32 bits: detects torn or mixed lines.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Encodes a journal line into `buf` without allocating; `None` if it does not fit.
fn encode_into(buf: &mut [u8], prefix: &[u8], st: &State) -> Option<usize> {
    let total = buf.len();
    let body_len = {
        let mut w: &mut [u8] = &mut *buf;
        w.write_all(prefix).ok()?;
        write!(
            w,
            "{} {} {} {} {} ",
            kind_char(st.kind),
            st.index,
            st.used,
            st.day,
            st.today
        )
        .ok()?;
        total - w.len()
    };
    let crc = checksum(buf.get(..body_len)?);
    let mut w: &mut [u8] = buf.get_mut(body_len..)?;
    let rest = w.len();
    writeln!(w, "{crc:08x}").ok()?;
    Some(body_len + (rest - w.len()))
}

/// Same line, allocated (only for very long ids).
fn encode_vec(prefix: &[u8], st: &State) -> Vec<u8> {
    let mut v = Vec::with_capacity(prefix.len() + 128);
    v.extend_from_slice(prefix);
    v.extend_from_slice(
        format!(
            "{} {} {} {} {} ",
            kind_char(st.kind),
            st.index,
            st.used,
            st.day,
            st.today
        )
        .as_bytes(),
    );
    let crc = checksum(&v);
    v.extend_from_slice(format!("{crc:08x}\n").as_bytes());
    v
}

/// Parses one complete journal line (without its `\n`); `None` if malformed.
fn parse_record(line: &[u8]) -> Option<Record> {
    let split = line.iter().rposition(|&b| b == b' ')?;
    let (body, crc) = (line.get(..=split)?, line.get(split + 1..)?);
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc != checksum(body) {
        return None;
    }
    let body = std::str::from_utf8(body).ok()?;
    let mut it = body.split(' ');
    let rec = Record {
        plan_id: unescape_id(it.next()?)?,
        key_id: unescape_id(it.next()?)?,
        kind: kind_from_char(it.next()?)?,
        index: it.next()?.parse().ok()?,
        used: it.next()?.parse().ok()?,
        day: it.next()?.parse().ok()?,
        today: it.next()?.parse().ok()?,
    };
    // The trailing space before the checksum leaves one empty piece.
    if it.next() != Some("") || it.next().is_some() {
        return None;
    }
    Some(rec)
}

/// Complete, valid lines of a journal file. A last line without `\n` (torn by a crash) and
/// lines failing their checksum are skipped.
fn read_journal(path: &Path) -> Result<Vec<Record>, StoreError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot read the usage journal", &e)),
    };
    let mut out = Vec::new();
    let mut rest: &[u8] = &data;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(nl);
        if let Some(rec) = parse_record(line) {
            out.push(rec);
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    Ok(out)
}

struct Snap {
    entry: Arc<Entry>,
    state: State,
}

impl Counters {
    /// Loads the counters table, replays the journal and flushes (see the module docs). The
    /// tables must exist.
    pub(crate) fn open(db: Arc<Database>, dir: &Path) -> Result<Counters, StoreError> {
        let hash_state = RandomState::new();
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| HashMap::new()).collect();
        let mut max_day = i64::MIN;

        let marker = {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            let marker = meta.get(META_JOURNAL_GEN)?.map_or(0, |g| g.value());
            let table = txn.open_table(COUNTERS)?;
            for row in table.iter()? {
                let (k, v) = row?;
                let (plan, key) = k.value();
                let (kind, index, used, day, today) = v.value();
                let entry = Entry::new(plan, key);
                {
                    let mut st = lock(&entry.state);
                    *st = State {
                        kind,
                        index,
                        used,
                        day,
                        today,
                        older: Vec::new(),
                        dirty: false,
                    };
                }
                max_day = max_day.max(day);
                let k = (plan.to_owned(), key.to_owned());
                let shard = shard_index(&hash_state, &k);
                if let Some(map) = shards.get_mut(shard) {
                    map.insert(k, Arc::new(entry));
                }
            }
            marker
        };

        let gens = journal_gens(dir)?;
        for &gen in gens.iter().filter(|&&g| g >= marker) {
            for rec in read_journal(&journal_path(dir, gen))? {
                let k = (rec.plan_id, rec.key_id);
                let shard = shard_index(&hash_state, &k);
                let Some(map) = shards.get_mut(shard) else {
                    continue;
                };
                let entry = map
                    .entry(k)
                    .or_insert_with_key(|(p, key)| Arc::new(Entry::new(p, key)));
                let mut st = lock(&entry.state);
                st.merge_quota(rec.kind, rec.index, rec.used);
                st.merge_day(rec.day, rec.today);
                st.dirty = true;
                max_day = max_day.max(rec.day);
            }
        }

        // A fresh generation, above every existing file and the marker.
        let gen = gens
            .last()
            .map_or(0, |g| g.saturating_add(1))
            .max(marker)
            .max(1);
        let file = create_journal(dir, gen)?;
        let counters = Counters {
            db,
            dir: dir.to_path_buf(),
            hash_state,
            shards: shards.into_iter().map(Mutex::new).collect(),
            journal: RwLock::new(Journal { file, gen }),
            flush_state: Mutex::new(FlushState {
                retired: gens,
                pruned_cutoff: i64::MIN,
            }),
            pending: AtomicBool::new(false),
            max_day: AtomicI64::new(max_day),
        };
        counters.flush_inner(true)?;
        Ok(counters)
    }

    /// The handle on the counter of `key_id` in `plan_id` (created empty if new).
    pub fn counter(&self, plan_id: &str, key_id: &str) -> CounterRef {
        let k = (plan_id.to_owned(), key_id.to_owned());
        let shard = shard_index(&self.hash_state, &k);
        let mut map = lock(&self.shards[shard]);
        let entry = map
            .entry(k)
            .or_insert_with(|| Arc::new(Entry::new(plan_id, key_id)));
        CounterRef(Arc::clone(entry))
    }

    /// Counts one request at `wall` against `quota` (if any) and the day's usage.
    ///
    /// With a quota: denied (nothing counted, nothing written) when the period's limit is
    /// reached; a counter whose stored period kind differs from the quota's starts at 0.
    /// Without a quota: always allowed, `used` = requests today, `remaining = u64::MAX`,
    /// `resets_at` = the end of the UTC day.
    ///
    /// An allowed request appends one line to the journal with a single `write(2)`; if that
    /// fails the result is `Err(StoreError::Io)` (fail closed) and the in-memory count stays
    /// incremented. No allocation (for ids up to ~250 bytes), no fsync, no transaction.
    pub fn admit(
        &self,
        c: &CounterRef,
        quota: Option<&Quota>,
        wall: SystemTime,
    ) -> Result<QuotaDecision, StoreError> {
        let day = period_index(Period::Day, wall);
        let entry = &*c.0;
        let mut st = lock(&entry.state);
        let quota_decision = match quota {
            Some(q) => {
                let kind = kind_of(q.period());
                let current = if st.kind == kind {
                    (st.index, st.used)
                } else {
                    (i64::MIN, 0)
                };
                let (d, next) = q.peek(current, 1, wall);
                if !d.allowed {
                    return Ok(d);
                }
                st.kind = kind;
                st.index = next.0;
                st.used = next.1;
                Some(d)
            }
            None => None,
        };
        st.switch_day(day);
        st.today = st.today.saturating_add(1);
        st.dirty = true;
        let decision = quota_decision.unwrap_or_else(|| QuotaDecision {
            allowed: true,
            used: st.today,
            remaining: u64::MAX,
            resets_at: period_end(Period::Day, wall),
        });
        if day > self.max_day.load(Ordering::Relaxed) {
            self.max_day.fetch_max(day, Ordering::Relaxed);
        }
        if !self.pending.load(Ordering::Relaxed) {
            self.pending.store(true, Ordering::Relaxed);
        }
        // Written under the counter's lock, so this counter's lines are in order.
        let mut buf = [0u8; RECORD_BUF];
        let written = match encode_into(&mut buf, &entry.prefix, &st) {
            Some(n) => self.append(buf.get(..n).unwrap_or_default()),
            None => self.append(&encode_vec(&entry.prefix, &st)),
        };
        drop(st);
        written.map(|()| decision)
    }

    /// One `write(2)` of a whole line to the current journal.
    fn append(&self, line: &[u8]) -> Result<(), StoreError> {
        let journal = self.journal.read().unwrap_or_else(PoisonError::into_inner);
        match (&journal.file).write(line) {
            Ok(n) if n == line.len() => Ok(()),
            Ok(n) => {
                // End the torn line so that the next one is intact (best effort).
                let _ = (&journal.file).write(b"\n");
                Err(StoreError::Io(format!(
                    "usage journal: short write ({n} of {} bytes)",
                    line.len()
                )))
            }
            Err(e) => Err(io_err("usage journal write failed", &e)),
        }
    }

    /// Requests used in the quota's current period at `wall` (0 if the counter is in another
    /// period or was counted under a different period kind).
    pub fn quota_used(&self, c: &CounterRef, quota: &Quota, wall: SystemTime) -> u64 {
        let st = lock(&c.0.state);
        let kind = kind_of(quota.period());
        if st.kind == kind && st.index == period_index(quota.period(), wall) {
            st.used
        } else {
            0
        }
    }

    /// Requests per key id and day (days since 1970-01-01 UTC, `from_day..=to_day`) in plan
    /// `plan_id`, optionally for one key: the persisted history merged with the counts not
    /// yet flushed. Days without requests are absent.
    pub fn usage(
        &self,
        plan_id: &str,
        key_id: Option<&str>,
        from_day: i64,
        to_day: i64,
    ) -> Result<BTreeMap<String, BTreeMap<i64, u64>>, StoreError> {
        let mut out: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
        if from_day > to_day {
            return Ok(out);
        }
        let mut add = |key: &str, day: i64, count: u64| {
            if count == 0 || day < from_day || day > to_day {
                return;
            }
            let slot = out
                .entry(key.to_owned())
                .or_default()
                .entry(day)
                .or_insert(0);
            *slot = (*slot).max(count);
        };
        {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(USAGE)?;
            match key_id {
                Some(k) => {
                    for row in table.range((plan_id, k, from_day)..=(plan_id, k, to_day))? {
                        let (key, count) = row?;
                        let (_, k, day) = key.value();
                        add(k, day, count.value());
                    }
                }
                None => {
                    for row in table.range((plan_id, "", i64::MIN)..)? {
                        let (key, count) = row?;
                        let (p, k, day) = key.value();
                        if p != plan_id {
                            break;
                        }
                        add(k, day, count.value());
                    }
                }
            }
        }
        for shard in &self.shards {
            let map = lock(shard);
            for entry in map.values() {
                if &*entry.plan_id != plan_id || key_id.is_some_and(|k| k != &*entry.key_id) {
                    continue;
                }
                let st = lock(&entry.state);
                add(&entry.key_id, st.day, st.today);
                for &(day, count) in &st.older {
                    add(&entry.key_id, day, count);
                }
            }
        }
        Ok(out)
    }

    /// Persists every changed counter in one durable transaction and starts a new journal
    /// generation (see the module docs for the crash-safe ordering). Cheap when nothing
    /// changed. Call it periodically (e.g. every second) and at shutdown.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flush_inner(false)
    }

    fn flush_inner(&self, force: bool) -> Result<(), StoreError> {
        let mut fs = lock(&self.flush_state);
        let max_day = self.max_day.load(Ordering::Relaxed);
        let cutoff = max_day.saturating_sub(USAGE_RETENTION_DAYS);
        let prune = (max_day != i64::MIN && cutoff > fs.pruned_cutoff).then_some(cutoff);
        let pending = self.pending.swap(false, Ordering::AcqRel);
        if !pending && prune.is_none() && !force {
            return Ok(());
        }

        // 1. Swap in a new journal generation. Admits hold the read lock for their write, so
        //    once we hold the write lock every line of the old generations has been written
        //    and its counter change is visible to step 2.
        let new_gen = {
            let current = self
                .journal
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .gen;
            let new_gen = current.saturating_add(1);
            let file = match create_journal(&self.dir, new_gen) {
                Ok(f) => f,
                Err(e) => {
                    self.pending.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            };
            let mut journal = self.journal.write().unwrap_or_else(PoisonError::into_inner);
            let old = std::mem::replace(&mut *journal, Journal { file, gen: new_gen });
            drop(journal);
            fs.retired.push(old.gen);
            new_gen
        };

        // 2. Copy the changed counters.
        let mut snaps = Vec::new();
        for shard in &self.shards {
            let map = lock(shard);
            for entry in map.values() {
                let mut st = lock(&entry.state);
                if (st.dirty || force) && !st.is_unused() {
                    st.dirty = false;
                    snaps.push(Snap {
                        entry: Arc::clone(entry),
                        state: st.clone(),
                    });
                }
            }
        }

        // 3. One durable transaction, with the marker "generations < new_gen are included".
        if let Err(e) = self.commit(&snaps, new_gen, prune) {
            for s in &snaps {
                lock(&s.entry.state).dirty = true;
            }
            self.pending.store(true, Ordering::Relaxed);
            return Err(e);
        }
        for s in &snaps {
            let mut st = lock(&s.entry.state);
            let persisted = |day: i64, count: u64| {
                (s.state.day == day && s.state.today >= count)
                    || s.state.older.iter().any(|&(d, c)| d == day && c >= count)
            };
            st.older.retain(|&(d, c)| !persisted(d, c));
        }
        if let Some(cutoff) = prune {
            fs.pruned_cutoff = cutoff;
            self.prune_memory(cutoff);
        }

        // 4. The old generations are in the table: delete their files.
        let dir = &self.dir;
        fs.retired.retain(|&g| {
            if g >= new_gen {
                return true;
            }
            // Keep it listed (to retry) only if deleting failed for another reason than
            // absence; a leftover file is harmless, the marker makes the open skip it.
            match std::fs::remove_file(journal_path(dir, g)) {
                Ok(()) => false,
                Err(e) => e.kind() != ErrorKind::NotFound,
            }
        });
        Ok(())
    }

    fn commit(&self, snaps: &[Snap], new_gen: u64, prune: Option<i64>) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut counters = txn.open_table(COUNTERS)?;
            let mut usage = txn.open_table(USAGE)?;
            let mut meta = txn.open_table(META)?;
            for s in snaps {
                let (plan, key) = (&*s.entry.plan_id, &*s.entry.key_id);
                let st = &s.state;
                counters.insert((plan, key), (st.kind, st.index, st.used, st.day, st.today))?;
                let days = std::iter::once((st.day, st.today)).chain(st.older.iter().copied());
                for (day, count) in days {
                    if count == 0 || prune.is_some_and(|c| day < c) {
                        continue;
                    }
                    let stored = usage.get((plan, key, day))?.map_or(0, |g| g.value());
                    if count > stored {
                        usage.insert((plan, key, day), count)?;
                    }
                }
            }
            if let Some(cutoff) = prune {
                usage.retain(|k, _| k.2 >= cutoff)?;
                counters.retain(|_, v| v.3 >= cutoff)?;
            }
            meta.insert(META_JOURNAL_GEN, new_gen)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Drops days before `cutoff` from memory, and counters last used before it that nobody
    /// holds a handle on.
    fn prune_memory(&self, cutoff: i64) {
        for shard in &self.shards {
            let mut map = lock(shard);
            map.retain(|_, entry| {
                let mut st = lock(&entry.state);
                st.older.retain(|&(d, _)| d >= cutoff);
                Arc::strong_count(entry) > 1 || st.dirty || st.day >= cutoff
            });
        }
    }
}

impl Drop for Counters {
    fn drop(&mut self) {
        // Best effort; the journal covers a failure.
        let _ = self.flush();
    }
}

fn shard_index(state: &RandomState, k: &(String, String)) -> usize {
    (state.hash_one(k) % SHARDS as u64) as usize
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn st(kind: u8, index: i64, used: u64, day: i64, today: u64) -> State {
        State {
            kind,
            index,
            used,
            day,
            today,
            ..State::default()
        }
    }

    #[test]
    fn line_round_trip_and_checksum() {
        let e = Entry::new("plan1", "key 2%");
        let s = st(2, -5, 7, 19_000, 42);
        let mut buf = [0u8; RECORD_BUF];
        let n = encode_into(&mut buf, &e.prefix, &s).unwrap();
        let line = &buf[..n];
        assert_eq!(line, encode_vec(&e.prefix, &s).as_slice());
        assert_eq!(line.last(), Some(&b'\n'));
        let rec = parse_record(&line[..n - 1]).unwrap();
        assert_eq!(
            rec,
            Record {
                plan_id: "plan1".into(),
                key_id: "key 2%".into(),
                kind: 2,
                index: -5,
                used: 7,
                day: 19_000,
                today: 42
            }
        );
        // Any single-byte change is caught.
        for i in 0..n - 1 {
            let mut bad = line[..n - 1].to_vec();
            bad[i] ^= 0x01;
            assert!(parse_record(&bad).is_none(), "byte {i}");
        }
        // Truncations are caught.
        for cut in 0..n - 1 {
            assert!(parse_record(&line[..cut]).is_none(), "cut {cut}");
        }
    }

    #[test]
    fn long_ids_fall_back_to_allocation() {
        let long = "x".repeat(500);
        let e = Entry::new(&long, "k");
        let s = st(1, 1, 1, 1, 1);
        let mut buf = [0u8; RECORD_BUF];
        assert!(encode_into(&mut buf, &e.prefix, &s).is_none());
        let v = encode_vec(&e.prefix, &s);
        let rec = parse_record(&v[..v.len() - 1]).unwrap();
        assert_eq!(rec.plan_id, long);
    }

    #[test]
    fn escape_round_trip() {
        for id in ["", "abc", "a b", "~", "%", "é/ü\n", "A-Z_0.9"] {
            let e = escape_id(id);
            assert!(!e.contains(' ') && !e.contains('\n') && !e.is_empty());
            assert_eq!(unescape_id(&e).as_deref(), Some(id));
        }
    }

    #[test]
    fn merge_rules() {
        let mut s = st(1, 10, 5, 10, 5);
        s.merge_quota(1, 10, 3);
        assert_eq!((s.kind, s.index, s.used), (1, 10, 5));
        s.merge_quota(1, 10, 8);
        assert_eq!(s.used, 8);
        s.merge_quota(1, 9, 100);
        assert_eq!((s.index, s.used), (10, 8));
        s.merge_quota(1, 11, 1);
        assert_eq!((s.index, s.used), (11, 1));
        s.merge_quota(2, 3, 4);
        assert_eq!((s.kind, s.index, s.used), (2, 3, 4));
        s.merge_quota(KIND_NONE, 0, 0);
        assert_eq!((s.kind, s.index, s.used), (2, 3, 4));

        s.merge_day(10, 3);
        assert_eq!((s.day, s.today), (10, 5));
        s.merge_day(11, 2);
        assert_eq!((s.day, s.today), (11, 2));
        assert_eq!(s.older, vec![(10, 5)]);
        s.merge_day(9, 7);
        assert_eq!(s.older, vec![(10, 5), (9, 7)]);
        s.merge_day(10, 6);
        assert_eq!(s.older, vec![(10, 6), (9, 7)]);
    }

    #[test]
    fn switch_day_restores_a_day_in_memory() {
        let mut s = st(0, 0, 0, 10, 4);
        s.switch_day(11);
        s.today += 1;
        s.switch_day(10);
        assert_eq!((s.day, s.today), (10, 4));
        assert_eq!(s.older, vec![(11, 1)]);
    }
}
