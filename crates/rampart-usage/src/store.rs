//! The embedded store: API keys, usage plans and counters in one redb file.

use crate::counters::{Counters, COUNTERS, META, USAGE};
use crate::csv::{parse_import, RowError};
use crate::keys::{key_prefix, try_generate_key, try_new_id, KeyHash, KeyHasher};
use crate::model::{ApiKey, KeyPatch, NewApiKey, NewUsagePlan, UsagePlan};
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "rampart.redb";
/// The key-hash secret's file name inside the store directory (when not given).
pub const SECRET_FILE: &str = "keyhash.secret";

/// `key id -> JSON of StoredKey`.
const KEYS: TableDefinition<&str, &str> = TableDefinition::new("keys");
/// `HMAC of the key value -> key id`.
const KEY_BY_HASH: TableDefinition<&[u8; 32], &str> = TableDefinition::new("key_by_hash");
/// `plan id -> JSON of UsagePlan`.
const PLANS: TableDefinition<&str, &str> = TableDefinition::new("plans");
/// `(plan id, key id) -> ()`: the associations, indexed by plan (the key record has them too).
const PLAN_KEYS: TableDefinition<(&str, &str), ()> = TableDefinition::new("plan_keys");

/// A store failure. Messages never contain a key value or the hash secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such key / plan / association.
    #[error("not found: {0}")]
    NotFound(String),
    /// The change contradicts existing data (duplicate key value, plans sharing a stage).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request body is invalid; one message per problem, each starting with a JSON path.
    #[error("invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A CSV import was rejected (nothing was written); every bad row.
    #[error("import rejected: {}", join_rows(.0))]
    Import(Vec<RowError>),
    /// A file-system error.
    #[error("I/O error: {0}")]
    Io(String),
    /// A database error (or a corrupt record).
    #[error("database error: {0}")]
    Db(String),
}

fn join_rows(rows: &[RowError]) -> String {
    rows.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

macro_rules! db_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

fn random_error(_: crate::keys::RandomError) -> StoreError {
    StoreError::Io("the system random number generator failed".to_owned())
}

/// What an import did: ids of the keys created and of the existing keys overwritten.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Keys created.
    pub created: Vec<String>,
    /// Existing keys (same value) overwritten.
    pub updated: Vec<String>,
}

/// Everything the gateway needs to build its lookup table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Every key with the HMAC of its value.
    pub keys: Vec<(KeyHash, ApiKey)>,
    /// Every usage plan.
    pub plans: Vec<UsagePlan>,
}

/// The stored form of a key: the public record plus the hash of its value.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    key: ApiKey,
    hash: String,
}

impl StoredKey {
    fn hash(&self) -> Result<KeyHash, StoreError> {
        KeyHash::from_hex(&self.hash)
            .ok_or_else(|| StoreError::Db(format!("corrupt hash in key record {}", self.key.id)))
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Db(format!("cannot encode a record: {e}")))
}

fn from_json<'a, T: Deserialize<'a>>(what: &str, id: &str, s: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Db(format!("corrupt {what} record {id}: {e}")))
}

/// The tables of one write transaction.
struct Tables<'t> {
    keys: Table<'t, &'static str, &'static str>,
    by_hash: Table<'t, &'static [u8; 32], &'static str>,
    plans: Table<'t, &'static str, &'static str>,
    plan_keys: Table<'t, (&'static str, &'static str), ()>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            keys: txn.open_table(KEYS)?,
            by_hash: txn.open_table(KEY_BY_HASH)?,
            plans: txn.open_table(PLANS)?,
            plan_keys: txn.open_table(PLAN_KEYS)?,
        })
    }

    fn key(&self, id: &str) -> Result<Option<StoredKey>, StoreError> {
        match self.keys.get(id)? {
            Some(v) => Ok(Some(from_json("key", id, v.value())?)),
            None => Ok(None),
        }
    }

    fn key_id_by_hash(&self, hash: &KeyHash) -> Result<Option<String>, StoreError> {
        Ok(self.by_hash.get(&hash.0)?.map(|v| v.value().to_owned()))
    }

    fn put_key(&mut self, k: &StoredKey) -> Result<(), StoreError> {
        let json = to_json(k)?;
        self.keys.insert(k.key.id.as_str(), json.as_str())?;
        Ok(())
    }

    fn plan(&self, id: &str) -> Result<Option<UsagePlan>, StoreError> {
        match self.plans.get(id)? {
            Some(v) => Ok(Some(from_json("usage plan", id, v.value())?)),
            None => Ok(None),
        }
    }

    fn put_plan(&mut self, p: &UsagePlan) -> Result<(), StoreError> {
        let json = to_json(p)?;
        self.plans.insert(p.id.as_str(), json.as_str())?;
        Ok(())
    }

    fn plan_key_ids(&self, plan_id: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for row in self.plan_keys.range((plan_id, "")..)? {
            let (k, _) = row?;
            let (p, key) = k.value();
            if p != plan_id {
                break;
            }
            out.push(key.to_owned());
        }
        Ok(out)
    }

    /// A fresh id not used in `table`.
    fn fresh_id(table: &Table<'t, &'static str, &'static str>) -> Result<String, StoreError> {
        for _ in 0..16 {
            let id = try_new_id().map_err(random_error)?;
            if table.get(id.as_str())?.is_none() {
                return Ok(id);
            }
        }
        Err(StoreError::Db("cannot find a free id".to_owned()))
    }

    /// Checks that `key` (labelled for messages) may be in all of `plans` at once.
    fn check_compatible(key_label: &str, plans: &[&UsagePlan]) -> Result<(), String> {
        for (i, a) in plans.iter().enumerate() {
            for b in plans.iter().skip(i + 1) {
                if a.id == b.id {
                    continue;
                }
                if let Some(stage) = a.shared_stage(b) {
                    return Err(format!(
                        "{key_label} cannot be in both usage plan {:?} ({}) and usage plan {:?} ({}): both cover {}; an API key may only be in usage plans without a common API stage",
                        a.name,
                        a.id,
                        b.name,
                        b.id,
                        stage.describe()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The plans of `plan_ids`, or `NotFound` naming the first missing one.
    fn plans_of(&self, plan_ids: &[String]) -> Result<Vec<UsagePlan>, StoreError> {
        plan_ids
            .iter()
            .map(|id| {
                self.plan(id)?
                    .ok_or_else(|| StoreError::NotFound(format!("usage plan {id}")))
            })
            .collect()
    }

    /// Adds `key` to `plan` (in the key record and the index), checking conflicts with the
    /// key's other plans. Idempotent. The caller writes the key record.
    fn associate(&mut self, key: &mut StoredKey, plan: &UsagePlan) -> Result<(), StoreError> {
        if key.key.usage_plan_ids.iter().any(|p| p == &plan.id) {
            return Ok(());
        }
        let others = self.plans_of(&key.key.usage_plan_ids)?;
        let mut all: Vec<&UsagePlan> = others.iter().collect();
        all.push(plan);
        Self::check_compatible(&format!("API key {}", key.key.id), &all)
            .map_err(StoreError::Conflict)?;
        key.key.usage_plan_ids.push(plan.id.clone());
        self.plan_keys
            .insert((plan.id.as_str(), key.key.id.as_str()), ())?;
        Ok(())
    }
}

/// The embedded store (see the crate docs). All operations are synchronous; run them on a
/// blocking thread.
pub struct Store {
    dir: PathBuf,
    db: Arc<Database>,
    hasher: KeyHasher,
    counters: Counters,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Reads `<dir>/keyhash.secret`, creating it (32 random bytes, mode 0600) if absent.
fn load_or_create_secret(dir: &Path) -> Result<[u8; 32], StoreError> {
    let path = dir.join(SECRET_FILE);
    let read = |path: &Path| -> Result<Option<[u8; 32]>, StoreError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let len = bytes.len();
                <[u8; 32]>::try_from(bytes).map(Some).map_err(|_| {
                    StoreError::Io(format!(
                        "{} must hold exactly 32 bytes, it has {len}",
                        path.display()
                    ))
                })
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    };
    if let Some(secret) = read(&path)? {
        return Ok(secret);
    }
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| random_error(crate::keys::RandomError))?;
    // Write a temporary file, sync it, then link it into place: never a partial secret file,
    // and a concurrent creator wins cleanly (we then read theirs).
    let tmp = dir.join(format!("{SECRET_FILE}.tmp"));
    let io =
        |what: &str, e: std::io::Error| StoreError::Io(format!("{what} {}: {e}", tmp.display()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| io("cannot create", e))?;
    f.write_all(&secret).map_err(|e| io("cannot write", e))?;
    f.sync_all().map_err(|e| io("cannot sync", e))?;
    drop(f);
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(secret)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read(&path)?.ok_or_else(|| StoreError::Io(format!("{} vanished", path.display())))
        }
        Err(e) => Err(StoreError::Io(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: `<dir>/rampart.redb`, the usage
    /// journal files and, when `hash_secret` is `None`, `<dir>/keyhash.secret`. Replays the
    /// usage journal left by a crash.
    pub fn open(dir: &Path, hash_secret: Option<[u8; 32]>) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", dir.display())))?;
        let secret = match hash_secret {
            Some(s) => s,
            None => load_or_create_secret(dir)?,
        };
        let db = Arc::new(Database::create(dir.join(DB_FILE))?);
        {
            let txn = db.begin_write()?;
            txn.open_table(KEYS)?;
            txn.open_table(KEY_BY_HASH)?;
            txn.open_table(PLANS)?;
            txn.open_table(PLAN_KEYS)?;
            txn.open_table(COUNTERS)?;
            txn.open_table(USAGE)?;
            txn.open_table(META)?;
            txn.commit()?;
        }
        let counters = Counters::open(Arc::clone(&db), dir)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            hasher: KeyHasher::new(&secret),
            counters,
        })
    }

    /// The key hasher (to hash a presented key for the snapshot lookup).
    pub fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    /// The quota and usage counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` in one durable write transaction, committed iff `f` succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_write()?;
        let result = {
            let mut tables = Tables::open(&txn)?;
            f(&mut tables)
        };
        match result {
            Ok(v) => {
                txn.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    // ----- keys -----

    /// Creates a key; returns it with its plaintext value (shown once, never stored). The value
    /// is generated unless `new.value` is given. A value already in use is a `Conflict`;
    /// `usage_plan_ids` are associated as by [`add_key_to_plan`](Self::add_key_to_plan), all
    /// or nothing (an unknown plan id is `Invalid`).
    pub fn create_key(
        &self,
        new: NewApiKey,
        now_unix: u64,
    ) -> Result<(ApiKey, String), StoreError> {
        new.validate().map_err(StoreError::Invalid)?;
        let value = match new.value {
            Some(v) => v,
            None => try_generate_key().map_err(random_error)?,
        };
        let hash = self.hasher.hash(&value);
        let prefix = key_prefix(&value);
        let key = self.write(|t| {
            if t.key_id_by_hash(&hash)?.is_some() {
                return Err(StoreError::Conflict(
                    "an API key with this value already exists".to_owned(),
                ));
            }
            let mut plans = Vec::new();
            let mut missing = Vec::new();
            for (i, id) in new.usage_plan_ids.iter().enumerate() {
                match t.plan(id)? {
                    Some(p) => {
                        if !plans.iter().any(|q: &UsagePlan| q.id == p.id) {
                            plans.push(p);
                        }
                    }
                    None => missing.push(format!(
                        "usagePlanIds[{i}]: usage plan {id:?} does not exist"
                    )),
                }
            }
            if !missing.is_empty() {
                return Err(StoreError::Invalid(missing));
            }
            let id = Tables::fresh_id(&t.keys)?;
            let mut stored = StoredKey {
                key: ApiKey {
                    id,
                    name: new.name,
                    description: new.description,
                    enabled: new.enabled,
                    expires_at: new.expires_at,
                    tags: new.tags,
                    created_at: now_unix,
                    usage_plan_ids: Vec::new(),
                    prefix,
                },
                hash: hash.to_hex(),
            };
            for p in &plans {
                t.associate(&mut stored, p)?;
            }
            t.put_key(&stored)?;
            t.by_hash.insert(&hash.0, stored.key.id.as_str())?;
            Ok(stored.key)
        })?;
        Ok((key, value))
    }

    /// Imports API Gateway's CSV key file (see [`parse_import`]): every row is checked first
    /// (syntax, referenced plans exist, plan-stage conflicts); if any row is bad, nothing is
    /// written and every bad row is reported. Otherwise one transaction creates the new keys
    /// and overwrites name, description and enabled of keys whose value already exists,
    /// adding the listed plans.
    pub fn import_csv(&self, text: &str, now_unix: u64) -> Result<ImportReport, StoreError> {
        let rows = parse_import(text).map_err(StoreError::Import)?;
        self.write(|t| {
            let mut errors = Vec::new();
            let mut plan_cache: HashMap<String, Option<UsagePlan>> = HashMap::new();
            let mut work = Vec::new();
            for row in rows {
                let mut problems = Vec::new();
                for id in &row.usage_plan_ids {
                    if !plan_cache.contains_key(id) {
                        let p = t.plan(id)?;
                        plan_cache.insert(id.clone(), p);
                    }
                    if plan_cache.get(id).is_none_or(Option::is_none) {
                        problems.push(format!("UsagePlanIds: usage plan {id:?} does not exist"));
                    }
                }
                let hash = self.hasher.hash(&row.key);
                let existing = match t.key_id_by_hash(&hash)? {
                    Some(id) => Some(t.key(&id)?.ok_or_else(|| {
                        StoreError::Db(format!("key index names a missing key {id}"))
                    })?),
                    None => None,
                };
                if problems.is_empty() {
                    let mut ids: Vec<String> = existing
                        .as_ref()
                        .map(|k| k.key.usage_plan_ids.clone())
                        .unwrap_or_default();
                    for id in &row.usage_plan_ids {
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                    for id in &ids {
                        if !plan_cache.contains_key(id) {
                            let p = t.plan(id)?;
                            plan_cache.insert(id.clone(), p);
                        }
                    }
                    let plans: Vec<&UsagePlan> = ids
                        .iter()
                        .filter_map(|id| plan_cache.get(id).and_then(Option::as_ref))
                        .collect();
                    let label = match &existing {
                        Some(k) => format!("the key (existing API key {})", k.key.id),
                        None => "the key".to_owned(),
                    };
                    if let Err(m) = Tables::check_compatible(&label, &plans) {
                        problems.push(format!("UsagePlanIds: {m}"));
                    }
                }
                if problems.is_empty() {
                    work.push((row, hash, existing));
                } else {
                    errors.push(RowError::new(row.line, problems.join("; ")));
                }
            }
            if !errors.is_empty() {
                return Err(StoreError::Import(errors));
            }
            let mut report = ImportReport::default();
            for (row, hash, existing) in work {
                let is_new = existing.is_none();
                let mut stored = match existing {
                    Some(mut k) => {
                        k.key.name = row.name;
                        k.key.description = row.description;
                        k.key.enabled = row.enabled;
                        k
                    }
                    None => StoredKey {
                        key: ApiKey {
                            id: Tables::fresh_id(&t.keys)?,
                            name: row.name,
                            description: row.description,
                            enabled: row.enabled,
                            expires_at: None,
                            tags: Default::default(),
                            created_at: now_unix,
                            usage_plan_ids: Vec::new(),
                            prefix: key_prefix(&row.key),
                        },
                        hash: hash.to_hex(),
                    },
                };
                for id in &row.usage_plan_ids {
                    if let Some(Some(p)) = plan_cache.get(id) {
                        t.associate(&mut stored, p)?;
                    }
                }
                t.put_key(&stored)?;
                if is_new {
                    t.by_hash.insert(&hash.0, stored.key.id.as_str())?;
                    report.created.push(stored.key.id);
                } else {
                    report.updated.push(stored.key.id);
                }
            }
            Ok(report)
        })
    }

    /// Every key, in id order.
    pub fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KEYS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let stored: StoredKey = from_json("key", k.value(), v.value())?;
            out.push(stored.key);
        }
        Ok(out)
    }

    /// One key.
    pub fn get_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KEYS)?;
        match table.get(id)? {
            Some(v) => Ok(Some(from_json::<StoredKey>("key", id, v.value())?.key)),
            None => Ok(None),
        }
    }

    /// Applies a patch (`Invalid` / `NotFound`).
    pub fn update_key(&self, id: &str, patch: KeyPatch) -> Result<ApiKey, StoreError> {
        patch.validate().map_err(StoreError::Invalid)?;
        self.write(|t| {
            let mut stored = t
                .key(id)?
                .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?;
            patch.apply(&mut stored.key);
            t.put_key(&stored)?;
            Ok(stored.key)
        })
    }

    /// Deletes a key and its plan associations (`NotFound`).
    pub fn delete_key(&self, id: &str) -> Result<(), StoreError> {
        self.write(|t| {
            let stored = t
                .key(id)?
                .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?;
            let hash = stored.hash()?;
            t.keys.remove(id)?;
            t.by_hash.remove(&hash.0)?;
            for plan in &stored.key.usage_plan_ids {
                t.plan_keys.remove((plan.as_str(), id))?;
            }
            Ok(())
        })
    }

    // ----- plans -----

    /// Creates a usage plan (`Invalid` with every problem).
    pub fn create_plan(&self, new: NewUsagePlan, now_unix: u64) -> Result<UsagePlan, StoreError> {
        new.validate().map_err(StoreError::Invalid)?;
        self.write(|t| {
            let id = match &new.id {
                Some(id) => {
                    if t.plan(id)?.is_some() {
                        return Err(StoreError::Conflict(format!(
                            "usage plan {id} already exists"
                        )));
                    }
                    id.clone()
                }
                None => Tables::fresh_id(&t.plans)?,
            };
            let plan = UsagePlan::from_new(id, new, now_unix);
            t.put_plan(&plan)?;
            Ok(plan)
        })
    }

    /// Every plan, in id order.
    pub fn list_plans(&self) -> Result<Vec<UsagePlan>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PLANS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push(from_json("usage plan", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// One plan.
    pub fn get_plan(&self, id: &str) -> Result<Option<UsagePlan>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PLANS)?;
        match table.get(id)? {
            Some(v) => Ok(Some(from_json("usage plan", id, v.value())?)),
            None => Ok(None),
        }
    }

    /// Replaces a plan's settings, keeping its id and creation time. Fails with `Conflict` if
    /// one of its keys is also in another plan that would then share an API stage with it.
    pub fn replace_plan(&self, id: &str, new: NewUsagePlan) -> Result<UsagePlan, StoreError> {
        new.validate().map_err(StoreError::Invalid)?;
        if new.id.as_deref().is_some_and(|n| n != id) {
            return Err(StoreError::Invalid(vec![
                "id: a plan's id cannot change".to_owned()
            ]));
        }
        self.write(|t| {
            let old = t
                .plan(id)?
                .ok_or_else(|| StoreError::NotFound(format!("usage plan {id}")))?;
            let plan = UsagePlan::from_new(old.id, new, old.created_at);
            for key_id in t.plan_key_ids(id)? {
                let Some(stored) = t.key(&key_id)? else {
                    continue;
                };
                let others: Vec<UsagePlan> = t.plans_of(
                    &stored
                        .key
                        .usage_plan_ids
                        .iter()
                        .filter(|p| p.as_str() != id)
                        .cloned()
                        .collect::<Vec<_>>(),
                )?;
                let mut all: Vec<&UsagePlan> = vec![&plan];
                all.extend(others.iter());
                Tables::check_compatible(&format!("API key {key_id}"), &all)
                    .map_err(StoreError::Conflict)?;
            }
            t.put_plan(&plan)?;
            Ok(plan)
        })
    }

    /// Deletes a plan and removes it from its keys (`NotFound`).
    pub fn delete_plan(&self, id: &str) -> Result<(), StoreError> {
        self.write(|t| {
            if t.plans.remove(id)?.is_none() {
                return Err(StoreError::NotFound(format!("usage plan {id}")));
            }
            for key_id in t.plan_key_ids(id)? {
                t.plan_keys.remove((id, key_id.as_str()))?;
                if let Some(mut stored) = t.key(&key_id)? {
                    stored.key.usage_plan_ids.retain(|p| p != id);
                    t.put_key(&stored)?;
                }
            }
            Ok(())
        })
    }

    // ----- associations -----

    /// Adds a key to a plan (`NotFound`; `Conflict` if the key is in another plan sharing an
    /// API stage with this one). Adding twice is a no-op.
    pub fn add_key_to_plan(&self, plan_id: &str, key_id: &str) -> Result<(), StoreError> {
        self.write(|t| {
            let plan = t
                .plan(plan_id)?
                .ok_or_else(|| StoreError::NotFound(format!("usage plan {plan_id}")))?;
            let mut stored = t
                .key(key_id)?
                .ok_or_else(|| StoreError::NotFound(format!("API key {key_id}")))?;
            if stored.key.usage_plan_ids.iter().any(|p| p == plan_id) {
                return Ok(());
            }
            t.associate(&mut stored, &plan)?;
            t.put_key(&stored)
        })
    }

    /// Removes a key from a plan (`NotFound` if the plan, the key or the association does not
    /// exist).
    pub fn remove_key_from_plan(&self, plan_id: &str, key_id: &str) -> Result<(), StoreError> {
        self.write(|t| {
            if t.plan(plan_id)?.is_none() {
                return Err(StoreError::NotFound(format!("usage plan {plan_id}")));
            }
            let mut stored = t
                .key(key_id)?
                .ok_or_else(|| StoreError::NotFound(format!("API key {key_id}")))?;
            let before = stored.key.usage_plan_ids.len();
            stored.key.usage_plan_ids.retain(|p| p != plan_id);
            if stored.key.usage_plan_ids.len() == before {
                return Err(StoreError::NotFound(format!(
                    "API key {key_id} in usage plan {plan_id}"
                )));
            }
            t.plan_keys.remove((plan_id, key_id))?;
            t.put_key(&stored)
        })
    }

    /// The keys of a plan, in id order (`NotFound`).
    pub fn plan_keys(&self, plan_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let txn = self.db.begin_read()?;
        let plans = txn.open_table(PLANS)?;
        if plans.get(plan_id)?.is_none() {
            return Err(StoreError::NotFound(format!("usage plan {plan_id}")));
        }
        let index = txn.open_table(PLAN_KEYS)?;
        let keys = txn.open_table(KEYS)?;
        let mut out = Vec::new();
        for row in index.range((plan_id, "")..)? {
            let (k, _) = row?;
            let (p, key_id) = k.value();
            if p != plan_id {
                break;
            }
            if let Some(v) = keys.get(key_id)? {
                out.push(from_json::<StoredKey>("key", key_id, v.value())?.key);
            }
        }
        Ok(out)
    }

    /// Every key (with its hash) and plan, from one consistent read transaction.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let txn = self.db.begin_read()?;
        let keys = txn.open_table(KEYS)?;
        let plans = txn.open_table(PLANS)?;
        let mut snap = Snapshot::default();
        for row in keys.iter()? {
            let (k, v) = row?;
            let stored: StoredKey = from_json("key", k.value(), v.value())?;
            snap.keys.push((stored.hash()?, stored.key));
        }
        for row in plans.iter()? {
            let (k, v) = row?;
            snap.plans
                .push(from_json("usage plan", k.value(), v.value())?);
        }
        Ok(snap)
    }
}
