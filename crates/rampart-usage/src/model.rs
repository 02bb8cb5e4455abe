//! The admin API's data model: usage plans and API keys, with API Gateway's field names.

use crate::keys::validate_key_value;
use rampart_limiter::{ConfigError, Period, Quota, RateLimit};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest accepted name of a usage plan or API key (characters).
pub const MAX_NAME_LEN: usize = 128;
/// Longest accepted description (characters).
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// Most tags on one plan or key (API Gateway's limit).
pub const MAX_TAGS: usize = 50;
/// Longest tag key (characters).
pub const MAX_TAG_KEY_LEN: usize = 128;
/// Longest tag value (characters).
pub const MAX_TAG_VALUE_LEN: usize = 256;
/// Most per-method throttle overrides on one API stage of a plan.
pub const MAX_METHOD_THROTTLES: usize = 20;
/// Longest per-method throttle key (`"<resourcePath>/<METHOD>"`).
pub const MAX_METHOD_KEY_LEN: usize = 1024;

/// The HTTP methods accepted as the last segment of a per-method throttle key.
pub const THROTTLE_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY", "*",
];

/// API Gateway's `ThrottleSettings`: a token bucket of `burstLimit` refilled at `rateLimit`
/// requests per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Bucket capacity.
    pub burst_limit: u32,
    /// Steady rate, requests per second.
    pub rate_limit: f64,
}

impl ThrottleSettings {
    /// The validated limiter setting.
    pub fn to_rate_limit(&self) -> Result<RateLimit, String> {
        RateLimit::new(self.rate_limit, self.burst_limit).map_err(|e| e.to_string())
    }

    /// Validation messages, each prefixed by `path` (plus `.rateLimit` / `.burstLimit`).
    fn check(&self, path: &str, errors: &mut Vec<String>) {
        if let Err(e) = RateLimit::new(self.rate_limit, self.burst_limit) {
            let field = match e {
                ConfigError::InvalidRate(_) => ".rateLimit",
                ConfigError::BurstTooLarge(_) => ".burstLimit",
                _ => "",
            };
            errors.push(format!("{path}{field}: {e}"));
        }
    }
}

/// A quota period, serialized as API Gateway's `DAY`, `WEEK`, `MONTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// A UTC week starting Monday.
    Week,
    /// A UTC calendar month.
    Month,
}

impl From<QuotaPeriod> for Period {
    fn from(p: QuotaPeriod) -> Self {
        match p {
            QuotaPeriod::Day => Period::Day,
            QuotaPeriod::Week => Period::Week,
            QuotaPeriod::Month => Period::Month,
        }
    }
}

/// API Gateway's `QuotaSettings`: at most `limit` requests per `period`, `offset` of them
/// already spent in the initial period (the one containing the plan's creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaSettings {
    /// Requests per period (at least 1).
    pub limit: u64,
    /// Requests subtracted from `limit` in the initial period (at most `limit`).
    #[serde(default)]
    pub offset: u64,
    /// The period.
    pub period: QuotaPeriod,
}

impl QuotaSettings {
    /// The validated quota whose initial period contains `start`.
    pub fn to_quota(&self, start: SystemTime) -> Result<Quota, String> {
        if self.limit == 0 {
            return Err("limit must be at least 1".to_owned());
        }
        Quota::new(self.limit, self.offset, self.period.into(), start).map_err(|e| e.to_string())
    }
}

/// One API stage a usage plan applies to, with optional per-method throttle overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiStage {
    /// The gateway API (matched against an API's `api_id` or `name`).
    pub api_id: String,
    /// The stage; `None` for an API served without stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Per-method overrides keyed `"<resourcePath>/<HTTPMETHOD>"`, e.g. `"/pets/{id}/GET"`,
    /// `"/pets/ANY"`, `"/*/*"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throttle: BTreeMap<String, ThrottleSettings>,
}

impl ApiStage {
    fn same_target(&self, other: &ApiStage) -> bool {
        self.api_id == other.api_id && self.stage == other.stage
    }

    /// `api` and `stage` for messages: `API "pets" stage "prod"` / `API "pets" (no stage)`.
    pub fn describe(&self) -> String {
        match &self.stage {
            Some(s) => format!("API {:?} stage {:?}", self.api_id, s),
            None => format!("API {:?} (no stage)", self.api_id),
        }
    }
}

/// Checks a per-method throttle key `"<resourcePath>/<METHOD>"`.
pub fn validate_method_key(key: &str) -> Result<(), String> {
    if !key.starts_with('/') {
        return Err("must start with '/' (\"<resourcePath>/<HTTPMETHOD>\")".to_owned());
    }
    if key.chars().count() > MAX_METHOD_KEY_LEN {
        return Err(format!("longer than {MAX_METHOD_KEY_LEN} characters"));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters".to_owned());
    }
    let method = key.rsplit('/').next().unwrap_or_default();
    if !THROTTLE_METHODS.contains(&method) {
        return Err(format!(
            "the last segment must be an HTTP method in upper case ({}), got {:?}",
            THROTTLE_METHODS.join(", "),
            method
        ));
    }
    Ok(())
}

/// The create / replace body of a usage plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUsagePlan {
    /// The plan's id (1 to 64 of `A-Z a-z 0-9 _ -`); generated when absent. Naming it lets
    /// the nodes of a cluster that share counters in Redis address the same plan.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name (1 to 128 characters).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The API stages the plan applies to.
    #[serde(default)]
    pub api_stages: Vec<ApiStage>,
    /// Per-key throttle for every stage of the plan.
    #[serde(default)]
    pub throttle: Option<ThrottleSettings>,
    /// Per-key request quota.
    #[serde(default)]
    pub quota: Option<QuotaSettings>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl NewUsagePlan {
    /// Every problem, each message starting with the JSON path of the offending field, e.g.
    /// `apiStages[0].throttle["/pets/GET"].rateLimit: ...`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if let Some(id) = &self.id {
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                errors.push("id: must be 1 to 64 of A-Z, a-z, 0-9, `_` and `-`".to_owned());
            }
        }
        check_name("name", &self.name, &mut errors);
        check_description("description", &self.description, &mut errors);
        check_tags("tags", &self.tags, &mut errors);
        for (i, stage) in self.api_stages.iter().enumerate() {
            let path = format!("apiStages[{i}]");
            if stage.api_id.trim().is_empty() {
                errors.push(format!("{path}.apiId: must not be empty"));
            } else if stage.api_id.chars().count() > MAX_NAME_LEN {
                errors.push(format!(
                    "{path}.apiId: longer than {MAX_NAME_LEN} characters"
                ));
            }
            if let Some(s) = &stage.stage {
                if s.trim().is_empty() {
                    errors.push(format!(
                        "{path}.stage: must not be empty (omit it for an API without stages)"
                    ));
                }
            }
            if let Some(first) = self.api_stages[..i]
                .iter()
                .position(|other| other.same_target(stage))
            {
                errors.push(format!(
                    "{path}: {} is already listed at apiStages[{first}]",
                    stage.describe()
                ));
            }
            if stage.throttle.len() > MAX_METHOD_THROTTLES {
                errors.push(format!(
                    "{path}.throttle: at most {MAX_METHOD_THROTTLES} method overrides, got {}",
                    stage.throttle.len()
                ));
            }
            for (key, settings) in &stage.throttle {
                let kpath = format!("{path}.throttle[{}]", json_string(key));
                if let Err(e) = validate_method_key(key) {
                    errors.push(format!("{kpath}: {e}"));
                }
                settings.check(&kpath, &mut errors);
            }
        }
        if let Some(t) = &self.throttle {
            t.check("throttle", &mut errors);
        }
        if let Some(q) = &self.quota {
            if q.limit == 0 {
                errors.push("quota.limit: must be at least 1".to_owned());
            } else if q.offset > q.limit {
                errors.push(format!(
                    "quota.offset: {} exceeds the limit {}",
                    q.offset, q.limit
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A stored usage plan, as the admin API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsagePlan {
    /// The plan id (10 characters `[a-z0-9]`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The API stages the plan applies to.
    #[serde(default)]
    pub api_stages: Vec<ApiStage>,
    /// Per-key throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSettings>,
    /// Per-key quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSettings>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Creation time, Unix seconds; the start of the quota's initial period.
    pub created_at: u64,
}

impl UsagePlan {
    /// Builds a plan from a (validated) body.
    pub fn from_new(id: String, new: NewUsagePlan, created_at: u64) -> Self {
        Self {
            id,
            name: new.name,
            description: new.description,
            api_stages: new.api_stages,
            throttle: new.throttle,
            quota: new.quota,
            tags: new.tags,
            created_at,
        }
    }

    /// The plan's quota, its initial period being the one containing `created_at`. `None`
    /// without a quota (or with an invalid one, which validation prevents).
    pub fn quota(&self) -> Option<Quota> {
        let start = UNIX_EPOCH.checked_add(Duration::from_secs(self.created_at))?;
        self.quota.as_ref()?.to_quota(start).ok()
    }

    /// The plan's entry for `api` / `stage`, if the plan applies to it.
    pub fn covers(&self, api: &str, stage: Option<&str>) -> Option<&ApiStage> {
        self.api_stages
            .iter()
            .find(|s| s.api_id == api && s.stage.as_deref() == stage)
    }

    /// The first API stage this plan shares with `other`, if any.
    pub fn shared_stage(&self, other: &UsagePlan) -> Option<&ApiStage> {
        self.api_stages
            .iter()
            .find(|s| other.covers(&s.api_id, s.stage.as_deref()).is_some())
    }
}

fn default_true() -> bool {
    true
}

/// The create body of an API key. `value` imports a given key instead of generating one.
/// (`Debug` redacts the value; there is deliberately no `Serialize`.)
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiKey {
    /// Display name (1 to 128 characters).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Whether the key is accepted (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Expiry, Unix seconds (the key is refused from that instant on).
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Usage plans to associate the key with.
    #[serde(default)]
    pub usage_plan_ids: Vec<String>,
    /// A key value to import; generated when absent.
    #[serde(default)]
    pub value: Option<String>,
}

impl Default for NewApiKey {
    fn default() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            enabled: true,
            expires_at: None,
            tags: BTreeMap::new(),
            usage_plan_ids: Vec::new(),
            value: None,
        }
    }
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("enabled", &self.enabled)
            .field("expires_at", &self.expires_at)
            .field("tags", &self.tags)
            .field("usage_plan_ids", &self.usage_plan_ids)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl NewApiKey {
    /// Every problem, each message starting with the field's JSON path. Never echoes the
    /// key value.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        check_name("name", &self.name, &mut errors);
        check_description("description", &self.description, &mut errors);
        check_tags("tags", &self.tags, &mut errors);
        if let Some(v) = &self.value {
            if let Err(e) = validate_key_value(v) {
                errors.push(format!("value: {e}"));
            }
        }
        for (i, id) in self.usage_plan_ids.iter().enumerate() {
            if id.is_empty() {
                errors.push(format!("usagePlanIds[{i}]: must not be empty"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// An API key as the admin API returns it: never the value, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    /// The key id (10 characters `[a-z0-9]`); not secret.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Whether the key is accepted.
    pub enabled: bool,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// The usage plans the key belongs to.
    #[serde(default)]
    pub usage_plan_ids: Vec<String>,
    /// The first characters of the value (see [`key_prefix`](crate::key_prefix)).
    pub prefix: String,
}

impl ApiKey {
    /// Enabled and not expired at `unix_secs` (a key expires at `expires_at` exactly).
    pub fn usable_at(&self, unix_secs: u64) -> bool {
        self.enabled && self.expires_at.is_none_or(|e| unix_secs < e)
    }
}

/// A partial update of an API key. Absent fields are left alone; `"expiresAt": null` removes
/// the expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enable / disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Some(Some(t))` sets the expiry, `Some(None)` (JSON `null`) clears it.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<Option<u64>>,
    /// Replaces all tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

impl KeyPatch {
    /// Every problem, each message starting with the field's JSON path.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if let Some(n) = &self.name {
            check_name("name", n, &mut errors);
        }
        if let Some(d) = &self.description {
            check_description("description", d, &mut errors);
        }
        if let Some(t) = &self.tags {
            check_tags("tags", t, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Applies the patch to `key` (no validation).
    pub fn apply(self, key: &mut ApiKey) {
        if let Some(n) = self.name {
            key.name = n;
        }
        if let Some(d) = self.description {
            key.description = d;
        }
        if let Some(e) = self.enabled {
            key.enabled = e;
        }
        if let Some(x) = self.expires_at {
            key.expires_at = x;
        }
        if let Some(t) = self.tags {
            key.tags = t;
        }
    }
}

/// A present field (even `null`) is `Some(inner)`; an absent one is `None` via `default`.
fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Checks a display name (plan or key): 1 to 128 characters, not only whitespace, no control
/// characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("longer than {MAX_NAME_LEN} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

fn check_name(path: &str, name: &str, errors: &mut Vec<String>) {
    if let Err(e) = validate_name(name) {
        errors.push(format!("{path}: {e}"));
    }
}

fn check_description(path: &str, d: &str, errors: &mut Vec<String>) {
    if d.chars().count() > MAX_DESCRIPTION_LEN {
        errors.push(format!(
            "{path}: longer than {MAX_DESCRIPTION_LEN} characters"
        ));
    }
}

fn check_tags(path: &str, tags: &BTreeMap<String, String>, errors: &mut Vec<String>) {
    if tags.len() > MAX_TAGS {
        errors.push(format!(
            "{path}: at most {MAX_TAGS} tags, got {}",
            tags.len()
        ));
    }
    for (k, v) in tags {
        let kpath = format!("{path}[{}]", json_string(k));
        if k.is_empty() || k.chars().count() > MAX_TAG_KEY_LEN {
            errors.push(format!(
                "{kpath}: a tag key must be 1 to {MAX_TAG_KEY_LEN} characters"
            ));
        }
        if v.chars().count() > MAX_TAG_VALUE_LEN {
            errors.push(format!(
                "{kpath}: a tag value must be at most {MAX_TAG_VALUE_LEN} characters"
            ));
        }
    }
}
