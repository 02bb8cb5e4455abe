//! Rampart's API keys and usage plans, modelled on Amazon API Gateway, and their persistence.
//!
//! # Model
//!
//! * A [`UsagePlan`] applies to a list of API stages ([`ApiStage`]: a gateway API, matched
//!   against an API's `api_id` or `name`, and optionally a stage). It may set a per-key
//!   throttle ([`ThrottleSettings`], with per-method overrides per stage keyed
//!   `"<resourcePath>/<METHOD>"` such as `"/pets/{id}/GET"` or `"/*/*"`) and a per-key quota
//!   ([`QuotaSettings`]: `limit` requests per `DAY`/`WEEK`/`MONTH`, `offset` of them already
//!   used in the initial period, the one containing the plan's `createdAt`).
//! * An [`ApiKey`] belongs to any number of plans, provided those plans have no
//!   (apiId, stage) pair in common, so that a request on a stage selects at most one plan for
//!   a key. Keys can be disabled and can expire ([`ApiKey::usable_at`]).
//! * The admin API's JSON bodies are exactly these serde types, with API Gateway's
//!   camelCase field names and unknown fields rejected: [`NewUsagePlan`] (create/replace),
//!   [`NewApiKey`] (create; `value` imports a given key), [`KeyPatch`] (update).
//!
//! # Key values and hashing
//!
//! Generated keys are `rk_` plus 40 base62 characters from the OS CSPRNG (unbiased, about
//! 238 bits; [`generate_key`]). Imported keys must be 20 to 128 characters of
//! `[A-Za-z0-9_-]` ([`validate_key_value`]). The store never keeps a key value: it keeps
//! `HMAC-SHA256(secret, value)` ([`KeyHasher`], [`KeyHash`]) and a 7-character display
//! prefix ([`key_prefix`]). The 32-byte secret is given to [`Store::open`] or kept in
//! `<dir>/keyhash.secret` (created with mode 0600). The plaintext is returned once, by
//! [`Store::create_key`]. The gateway hashes a presented key with [`Store::hasher`] and looks
//! the hash up in a table built from [`Store::snapshot`]; [`KeyHash::ct_eq`] compares in
//! constant time. Error messages and `Debug` output never contain key values or the secret.
//!
//! # CSV import
//!
//! [`parse_import`] / [`Store::import_csv`] read API Gateway's API-key file: the first
//! non-blank line is a header (case-insensitive, any order, whitespace trimmed) with the
//! required columns `Name` and `Key` and the optional `Description`, `Enabled`
//! (`true`/`false`, default true) and `UsagePlanIds` (comma-separated ids in one quoted
//! field); other columns are ignored. RFC 4180 quoting, CRLF or LF, BOM and blank lines
//! skipped. Every bad row is reported with the line it starts on ([`RowError`]), and if any
//! row is bad nothing is written. Importing an existing key value overwrites that key's name,
//! description and enabled flag and adds the listed plans.
//!
//! # Storage and durability
//!
//! One redb file, `<dir>/rampart.redb`, holds the keys (by id, plus an index by hash), the
//! plans, the plan/key associations and the counters. Every admin change is one durable redb
//! write transaction.
//!
//! Quota and usage counters ([`Counters`]) live in memory (one lock per counter, interned
//! through a sharded map; the gateway keeps [`CounterRef`] handles) and are made durable
//! without a transaction or fsync per request:
//!
//! 1. [`Counters::admit`] updates the counter and appends one checksummed line with its
//!    absolute values (`<plan> <key> <period kind> <period index> <used> <day> <count>
//!    <crc>`) to an append-only journal file, with one `write(2)`. Data handed to the kernel
//!    survives a `kill -9`.
//! 2. [`Counters::flush`] (every second and at shutdown) swaps in a new journal generation,
//!    copies the changed counters, commits them with the marker "journal generations below
//!    this are included" in one durable transaction, and only then deletes the older journal
//!    files. A crash at any point leaves either the old marker and all needed journal files,
//!    or the new marker.
//! 3. [`Store::open`] loads the counters table, replays the journal generations not yet
//!    included (skipping a torn last line and any line failing its checksum; lines merge by
//!    maximum, so duplicates and order do not matter), and flushes.
//!
//! Any `admit` that returned is therefore recovered after a crash of the process; a power
//! loss can lose the requests since the last flush. Usage per day is kept for
//! [`USAGE_RETENTION_DAYS`] days.
//!
//! ```
//! use rampart_usage::{NewApiKey, NewUsagePlan, QuotaPeriod, QuotaSettings, Store};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), None)?;
//! let now = 1_700_000_000;
//! let plan = store.create_plan(
//!     NewUsagePlan {
//!         id: None,
//!         name: "basic".into(),
//!         description: String::new(),
//!         api_stages: vec![],
//!         throttle: None,
//!         quota: Some(QuotaSettings { limit: 2, offset: 0, period: QuotaPeriod::Day }),
//!         tags: Default::default(),
//!     },
//!     now,
//! )?;
//! let (key, value) = store.create_key(
//!     NewApiKey { name: "alice".into(), usage_plan_ids: vec![plan.id.clone()], ..Default::default() },
//!     now,
//! )?;
//! assert!(value.starts_with("rk_") && key.prefix == value[..7]);
//!
//! let counter = store.counters().counter(&plan.id, &key.id);
//! let quota = plan.quota();
//! let wall = UNIX_EPOCH + Duration::from_secs(now);
//! assert!(store.counters().admit(&counter, quota.as_ref(), wall)?.allowed);
//! assert!(store.counters().admit(&counter, quota.as_ref(), wall)?.allowed);
//! assert!(!store.counters().admit(&counter, quota.as_ref(), wall)?.allowed);
//! store.counters().flush()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod counters;
pub mod csv;
pub mod keys;
pub mod model;
pub mod store;

pub use counters::{CounterRef, Counters, USAGE_RETENTION_DAYS};
pub use csv::{parse_import, ImportRow, RowError};
pub use keys::{
    generate_key, key_prefix, new_id, try_generate_key, try_new_id, validate_key_value, KeyHash,
    KeyHasher, RandomError, ID_LEN, KEY_PREFIX, KEY_RANDOM_CHARS, MAX_KEY_LEN, MIN_KEY_LEN,
};
pub use model::{
    validate_method_key, validate_name, ApiKey, ApiStage, KeyPatch, NewApiKey, NewUsagePlan,
    QuotaPeriod, QuotaSettings, ThrottleSettings, UsagePlan, MAX_DESCRIPTION_LEN,
    MAX_METHOD_KEY_LEN, MAX_METHOD_THROTTLES, MAX_NAME_LEN, MAX_TAGS, MAX_TAG_KEY_LEN,
    MAX_TAG_VALUE_LEN, THROTTLE_METHODS,
};
pub use store::{ImportReport, Snapshot, Store, StoreError, DB_FILE, SECRET_FILE};

/// Re-exported from `rampart-limiter` for convenience.
pub use rampart_limiter::{period_index, Period, Quota, QuotaDecision, RateLimit};
