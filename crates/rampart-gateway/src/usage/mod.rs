//! Part of stage 6, throttle: API keys and usage plans.
//!
//! A route with `api_key_required` admits a request only with an API key (from the API's
//! key header, or a Lambda authorizer's `usageIdentifierKey`) that is known, enabled, not
//! expired and in a usage plan for the request's API stage; anything else is 403
//! `{"message":"Forbidden"}` (the log says which). The plan then applies, in one decision:
//! its throttle (a token bucket per key, or the per-method override for the route), then its
//! quota (requests per DAY, WEEK or MONTH per key), and counts the request in the key's
//! daily usage. Over the throttle: 429 `THROTTLED`; over the quota: 429 `QUOTA_EXCEEDED`
//! `{"message":"Limit Exceeded"}`.
//!
//! Keys and plans live in the embedded store (`rampart-usage`, one redb file), managed
//! through the admin API. Counters live there too (crash-safe), or in Redis
//! (`rampart-limiter-redis`) when several nodes must share them. If Redis cannot be reached
//! the request is refused (503, `fail_closed`) or decided with this node's own counters
//! (`fail_open_local`), logged at most once a second and counted in
//! `rampart_usage_store_failures_total`.

pub mod settings;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use http::HeaderMap;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use rampart_limiter::{Limiter, LimiterOptions, MonotonicClock, Period, Quota, RateLimit};
use rampart_usage::{CounterRef, KeyHash, Store, StoreError, UsagePlan};

use crate::pipeline::RequestContext;
use crate::record::metrics::{Metrics, PlanLabels, StoreFailureLabels};
use crate::respond::GatewayError;
use crate::route::Route;
use settings::{Backend, KeySource, OnUnavailable, UsageSettings};

/// The running usage-plan machinery of a gateway; outlives configuration reloads.
pub struct Usage {
    store: Arc<Store>,
    table: ArcSwap<KeyTable>,
    redis: Option<(rampart_limiter_redis::RedisLimiter, OnUnavailable)>,
    /// Throttle state by (plan, override, rate, burst): kept across table rebuilds so an
    /// admin change does not refill every bucket.
    limiters: Mutex<HashMap<LimiterId, Arc<Limiter<u64>>>>,
    clock: MonotonicClock,
    plan_decisions: Family<PlanLabels, Counter>,
    store_failures: Family<StoreFailureLabels, Counter>,
    pub settings: UsageSettings,
    /// When the last store-failure line was logged (at most one a second).
    last_failure_log: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Usage")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

type LimiterId = (String, String, u64, u32);

/// What the hot path looks keys up in, rebuilt from the store after every change.
#[derive(Default)]
struct KeyTable {
    keys: HashMap<KeyHash, Arc<KeyEntry>>,
}

struct KeyEntry {
    id: String,
    hash: KeyHash,
    enabled: bool,
    expires_at: Option<u64>,
    /// Limiter key: the first 8 bytes of the key's hash.
    slot: u64,
    /// Hex of the first 16 bytes of the hash: the key's name in Redis (the same on every
    /// node that shares the hash secret).
    redis_id: String,
    plans: Vec<(Arc<PlanEntry>, CounterRef)>,
}

/// The results counted in `rampart_usage_plan_decisions_total`.
const RESULTS: [&str; 4] = ["allowed", "throttled", "quota_exceeded", "error"];

struct PlanEntry {
    id: String,
    /// This plan's decision counters, by [`RESULTS`] index (looked up once per rebuild, so
    /// the request path does no label hashing or allocation for them).
    decisions: [Counter; 4],
    stages: Vec<StageEntry>,
    throttle: Option<(RateLimit, Arc<Limiter<u64>>)>,
    quota: Option<Quota>,
}

struct StageEntry {
    api: String,
    stage: Option<String>,
    overrides: Vec<Override>,
}

/// A per-method throttle (`"/pets/{id}/GET"`).
struct Override {
    /// The resource path, or `None` for `/*`.
    path: Option<String>,
    /// The method, or `None` for `*`.
    method: Option<String>,
    key: String,
    limit: RateLimit,
    limiter: Arc<Limiter<u64>>,
}

impl Override {
    fn specificity(&self) -> u8 {
        u8::from(self.path.is_some()) * 2 + u8::from(self.method.is_some())
    }

    fn matches(&self, route: &Route, method: &http::Method) -> bool {
        let path_ok = self.path.as_deref().is_none_or(|p| p == route.template);
        let method_ok = match self.method.as_deref() {
            None => true,
            Some("ANY") => route.method == crate::route::MethodMatch::Any,
            Some(m) => m == route.policy_method(method),
        };
        path_ok && method_ok
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn period_secs(p: Period) -> u64 {
    match p {
        Period::Day => 86_400,
        Period::Week => 7 * 86_400,
        Period::Month => 31 * 86_400,
    }
}

fn period_tag(p: Period) -> char {
    match p {
        Period::Day => 'd',
        Period::Week => 'w',
        Period::Month => 'm',
    }
}

/// Why a usage decision could not be made.
enum Failure {
    Unavailable(String),
}

impl Usage {
    /// Open the store under `settings.data_dir` and build the key table.
    pub fn open(settings: UsageSettings, metrics: &Metrics) -> Result<Arc<Usage>, String> {
        let store = Store::open(&settings.data_dir, settings.hash_secret).map_err(|e| {
            format!(
                "cannot open the usage store in {}: {e}",
                settings.data_dir.display()
            )
        })?;
        let redis = match &settings.backend {
            Backend::Embedded => None,
            Backend::Redis {
                url,
                prefix,
                pool_size,
                timeout,
                on_unavailable,
            } => {
                let limiter =
                    rampart_limiter_redis::RedisLimiter::new(rampart_limiter_redis::RedisOptions {
                        url: url.clone(),
                        prefix: prefix.clone(),
                        pool_size: *pool_size,
                        timeout: *timeout,
                        retry_interval: Duration::from_millis(250),
                    })
                    .map_err(|e| format!("server.usage.redis: {e}"))?;
                Some((limiter, *on_unavailable))
            }
        };
        let usage = Arc::new(Usage {
            store: Arc::new(store),
            table: ArcSwap::from_pointee(KeyTable::default()),
            redis,
            limiters: Mutex::new(HashMap::new()),
            clock: MonotonicClock::new(),
            plan_decisions: metrics.plan_decisions.clone(),
            store_failures: metrics.usage_store_failures.clone(),
            settings,
            last_failure_log: Mutex::new(None),
        });
        usage
            .rebuild()
            .map_err(|e| format!("cannot read the usage store: {e}"))?;
        Ok(usage)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The Redis backend, when counters are shared.
    pub fn redis(&self) -> Option<&rampart_limiter_redis::RedisLimiter> {
        self.redis.as_ref().map(|(r, _)| r)
    }

    /// Rebuild the key table from the store (after every change through the admin API).
    pub fn rebuild(&self) -> Result<(), StoreError> {
        let snap = self.store.snapshot()?;
        let mut limiters = match self.limiters.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        let mut kept: HashMap<LimiterId, Arc<Limiter<u64>>> = HashMap::new();
        let mut limiter_for = |plan: &str, key: &str, limit: RateLimit| {
            let id: LimiterId = (
                plan.into(),
                key.into(),
                limit.rate().to_bits(),
                limit.burst(),
            );
            let l = limiters.get(&id).cloned().unwrap_or_else(|| {
                Arc::new(Limiter::new(Some(limit), None, LimiterOptions::default()))
            });
            kept.insert(id, l.clone());
            l
        };
        let mut plans: HashMap<String, Arc<PlanEntry>> = HashMap::new();
        for p in &snap.plans {
            let decisions = RESULTS.map(|result| {
                self.plan_decisions
                    .get_or_create(&PlanLabels {
                        plan: p.id.clone(),
                        result,
                    })
                    .clone()
            });
            plans.insert(
                p.id.clone(),
                Arc::new(plan_entry(p, decisions, &mut limiter_for)),
            );
        }
        *limiters = kept;
        drop(limiters);
        let counters = self.store.counters();
        let mut keys = HashMap::new();
        for (hash, k) in &snap.keys {
            let mut slot = [0u8; 8];
            slot.copy_from_slice(&hash.0[..8]);
            let entry = KeyEntry {
                id: k.id.clone(),
                hash: *hash,
                enabled: k.enabled,
                expires_at: k.expires_at,
                slot: u64::from_le_bytes(slot),
                redis_id: hex(&hash.0[..16]),
                plans: k
                    .usage_plan_ids
                    .iter()
                    .filter_map(|pid| {
                        let p = plans.get(pid)?;
                        Some((p.clone(), counters.counter(pid, &k.id)))
                    })
                    .collect(),
            };
            keys.insert(*hash, Arc::new(entry));
        }
        self.table.store(Arc::new(KeyTable { keys }));
        Ok(())
    }

    /// Write counters to disk (every second, and at shutdown).
    pub fn flush(&self) {
        if let Err(e) = self.store.counters().flush() {
            tracing::error!(error = %e, "cannot flush usage counters");
        }
    }

    /// The usage-plan decision for one request on a route that needs an API key.
    pub async fn admit(
        &self,
        ctx: &mut RequestContext,
        headers: &HeaderMap,
        route: &Route,
    ) -> Result<(), GatewayError> {
        let presented = match &route.api_keys.source {
            KeySource::Header(h) => headers.get(h).and_then(|v| v.to_str().ok()),
            KeySource::Authorizer => ctx.usage_identifier_key.as_deref(),
        };
        let Some(presented) = presented.filter(|v| !v.is_empty()) else {
            return Err(GatewayError::InvalidApiKey {
                detail: "no API key",
            });
        };
        let hash = self.store.hasher().hash(presented);
        let table = self.table.load();
        let Some(key) = table.keys.get(&hash).filter(|k| k.hash.ct_eq(&hash)) else {
            return Err(GatewayError::InvalidApiKey {
                detail: "unknown API key",
            });
        };
        ctx.api_key_id = Some(key.id.clone());
        if !key.enabled {
            return Err(GatewayError::InvalidApiKey {
                detail: "disabled API key",
            });
        }
        if key.expires_at.is_some_and(|t| t <= unix_now()) {
            return Err(GatewayError::InvalidApiKey {
                detail: "expired API key",
            });
        }
        let keys = &route.api_keys;
        let stage = ctx.stage.as_deref();
        let found = key.plans.iter().find_map(|(p, c)| {
            let s = p.stages.iter().find(|s| {
                (s.api == *keys.api_id || s.api == *keys.api_name) && s.stage.as_deref() == stage
            })?;
            Some((p, c, s))
        });
        let Some((plan, counter, stage_entry)) = found else {
            return Err(GatewayError::InvalidApiKey {
                detail: "API key not in a usage plan for this stage",
            });
        };
        ctx.usage_plan_id = Some(plan.id.clone());
        let method = &ctx.method;
        let over = stage_entry
            .overrides
            .iter()
            .filter(|o| o.matches(route, method))
            .max_by_key(|o| o.specificity());
        let throttle: Option<(&str, RateLimit, &Arc<Limiter<u64>>)> = match over {
            Some(o) => Some((o.key.as_str(), o.limit, &o.limiter)),
            None => plan.throttle.as_ref().map(|(l, lim)| ("", *l, lim)),
        };
        let wall = SystemTime::now();
        let result = match &self.redis {
            Some((redis, mode)) => {
                match self.decide_redis(redis, key, plan, throttle, wall).await {
                    Ok(r) => r,
                    Err(Failure::Unavailable(detail)) => {
                        let local = *mode == OnUnavailable::FailOpenLocal;
                        self.store_failures
                            .get_or_create(&StoreFailureLabels {
                                backend: "redis",
                                outcome: if local { "local" } else { "rejected" },
                            })
                            .inc();
                        self.log_failure(&detail, local);
                        if !local {
                            return Err(GatewayError::Unavailable {
                                detail: format!("usage store: {detail}"),
                            });
                        }
                        self.decide_local(key, plan, counter, throttle, wall)
                    }
                }
            }
            None => self.decide_local(key, plan, counter, throttle, wall),
        };
        let i = match &result {
            Ok(()) => 0,
            Err(GatewayError::Throttled { .. }) => 1,
            Err(GatewayError::QuotaExceeded { .. }) => 2,
            Err(_) => 3,
        };
        plan.decisions[i].inc();
        result
    }

    fn log_failure(&self, detail: &str, local: bool) {
        let mut last = match self.last_failure_log.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            if local {
                tracing::warn!(error = %detail, "usage store unreachable: deciding with this node's own limits (fail_open_local)");
            } else {
                tracing::error!(error = %detail, "usage store unreachable: refusing keyed requests with 503 (fail_closed)");
            }
        }
    }

    /// Throttle, then quota, on this node.
    fn decide_local(
        &self,
        key: &KeyEntry,
        plan: &PlanEntry,
        counter: &CounterRef,
        throttle: Option<(&str, RateLimit, &Arc<Limiter<u64>>)>,
        wall: SystemTime,
    ) -> Result<(), GatewayError> {
        if let Some((_, limit, limiter)) = throttle {
            let d = limiter.decide(&key.slot, self.clock.now());
            if !d.allowed {
                return Err(crate::throttle::throttled(&d, "plan", &limit));
            }
        }
        let q = self
            .store
            .counters()
            .admit(counter, plan.quota.as_ref(), wall)
            .map_err(|e| GatewayError::Unavailable {
                detail: format!("usage counters: {e}"),
            })?;
        match &plan.quota {
            Some(quota) if !q.allowed => {
                let reset = q
                    .resets_at
                    .duration_since(wall)
                    .unwrap_or(Duration::from_secs(1));
                Err(quota_exceeded(quota, quota.limit_at(wall), 0, reset))
            }
            _ => Ok(()),
        }
    }

    /// Throttle, quota and usage in one Redis script.
    async fn decide_redis(
        &self,
        redis: &rampart_limiter_redis::RedisLimiter,
        key: &KeyEntry,
        plan: &PlanEntry,
        throttle: Option<(&str, RateLimit, &Arc<Limiter<u64>>)>,
        wall: SystemTime,
    ) -> Result<Result<(), GatewayError>, Failure> {
        let bucket_key = throttle.map(|(o, _, _)| format!("t:{}:{}:{o}", plan.id, key.redis_id));
        let quota_key;
        let quota_check = match &plan.quota {
            Some(q) => {
                let p = q.period();
                quota_key = format!(
                    "q:{}:{}:{}{}",
                    plan.id,
                    key.redis_id,
                    period_tag(p),
                    rampart_limiter::period_index(p, wall)
                );
                let end = rampart_limiter::period_end(p, wall)
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Some(rampart_limiter_redis::QuotaCheck {
                    key: &quota_key,
                    limit: q.limit_at(wall),
                    expire_at_unix: end + 86_400,
                })
            }
            None => None,
        };
        let day = rampart_limiter::period_index(Period::Day, wall);
        let usage_key = redis_usage_key(&plan.id, &key.redis_id, day);
        let check = rampart_limiter_redis::Check {
            throttle: match (&bucket_key, throttle) {
                (Some(k), Some((_, l, _))) => Some((k.as_str(), l)),
                _ => None,
            },
            quota: quota_check,
            usage: Some(rampart_limiter_redis::Counter {
                key: &usage_key,
                expire_at_unix: unix_now() + 400 * 86_400,
            }),
        };
        let out = match redis.check(&check).await {
            Ok(o) => o,
            Err(rampart_limiter_redis::Error::Unavailable(m)) => {
                return Err(Failure::Unavailable(m))
            }
            Err(e) => return Err(Failure::Unavailable(e.to_string())),
        };
        if out.allowed {
            return Ok(Ok(()));
        }
        if let (Some(d), Some((_, l, _))) = (&out.throttle, throttle) {
            if !d.allowed {
                return Ok(Err(crate::throttle::throttled(d, "plan", &l)));
            }
        }
        match (&plan.quota, &out.quota) {
            (Some(q), Some(o)) => {
                let reset = rampart_limiter::period_end(q.period(), wall)
                    .duration_since(wall)
                    .unwrap_or(Duration::from_secs(1));
                Ok(Err(quota_exceeded(q, q.limit_at(wall), o.remaining, reset)))
            }
            _ => Err(Failure::Unavailable(
                "inconsistent answer from Redis".into(),
            )),
        }
    }
}

pub(crate) fn redis_usage_key(plan: &str, redis_id: &str, day: i64) -> String {
    format!("u:{plan}:{redis_id}:{day}")
}

impl Usage {
    /// The key's name in Redis counters.
    pub(crate) fn redis_id(&self, key_id: &str) -> Option<String> {
        let table = self.table.load();
        table
            .keys
            .values()
            .find(|k| k.id == key_id)
            .map(|k| k.redis_id.clone())
    }
}

fn quota_exceeded(q: &Quota, limit: u64, remaining: u64, reset: Duration) -> GatewayError {
    let t = ceil_secs(reset).max(1);
    GatewayError::QuotaExceeded {
        retry_after_secs: t,
        policy: format!("\"quota\";q={limit};w={}", period_secs(q.period())),
        state: format!("\"quota\";r={remaining};t={t}"),
    }
}

fn plan_entry(
    p: &UsagePlan,
    decisions: [Counter; 4],
    limiter_for: &mut impl FnMut(&str, &str, RateLimit) -> Arc<Limiter<u64>>,
) -> PlanEntry {
    let throttle = p
        .throttle
        .as_ref()
        .and_then(|t| t.to_rate_limit().ok())
        .map(|l| (l, limiter_for(&p.id, "", l)));
    let stages = p
        .api_stages
        .iter()
        .map(|s| StageEntry {
            api: s.api_id.clone(),
            stage: s.stage.clone(),
            overrides: s
                .throttle
                .iter()
                .filter_map(|(k, t)| {
                    let limit = t.to_rate_limit().ok()?;
                    let (path, method) = k.rsplit_once('/')?;
                    let path = if path == "/*" || path.is_empty() {
                        None
                    } else {
                        Some(path.to_string())
                    };
                    let method = (method != "*").then(|| method.to_string());
                    let okey = format!("{}:{}:{k}", s.api_id, s.stage.as_deref().unwrap_or("-"));
                    Some(Override {
                        path,
                        method,
                        limiter: limiter_for(&p.id, &okey, limit),
                        key: okey,
                        limit,
                    })
                })
                .collect(),
        })
        .collect();
    PlanEntry {
        id: p.id.clone(),
        decisions,
        stages,
        throttle,
        quota: p.quota(),
    }
}
