//! The compiled form of `server.usage`, of the APIs' key settings and of the admin token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use sha2::{Digest, Sha256};

use crate::config::compile::Errors;
use crate::config::raw::{RawAdmin, RawApi, RawUsage};

/// What to do when the shared store (Redis) cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnavailable {
    /// 503 `SERVICE_UNAVAILABLE` with `Retry-After: 1`.
    FailClosed,
    /// Decide with this node's own limits and counters.
    FailOpenLocal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    Embedded,
    Redis {
        url: String,
        prefix: String,
        pool_size: usize,
        timeout: Duration,
        on_unavailable: OnUnavailable,
    },
}

/// `server.usage`, compiled.
#[derive(Debug, Clone)]
pub struct UsageSettings {
    pub data_dir: PathBuf,
    pub hash_secret: Option<[u8; 32]>,
    pub backend: Backend,
    /// `server.usage` was written (open the store even if no route needs keys).
    pub explicit: bool,
}

impl UsageSettings {
    /// The same store and backend (a reload cannot change them).
    pub fn same_store(&self, other: &UsageSettings) -> bool {
        self.data_dir == other.data_dir
            && self.hash_secret == other.hash_secret
            && self.backend == other.backend
    }
}

pub fn compile_usage(e: &mut Errors, raw: Option<&RawUsage>, base: &Path) -> UsageSettings {
    let default = RawUsage::default();
    let u = raw.unwrap_or(&default);
    let data_dir =
        crate::config::compile::resolve(base, u.data_dir.as_deref().unwrap_or("rampart-data"));
    let hash_secret = u.hash_secret.as_deref().and_then(|h| match parse_hex32(h) {
        Some(k) => Some(k),
        None => {
            e.push(
                "server.usage.hash_secret",
                "must be 64 hexadecimal characters (32 bytes)",
            );
            None
        }
    });
    let backend = match u.backend.as_deref().unwrap_or("embedded") {
        "embedded" => {
            if u.redis.is_some() {
                e.push("server.usage.redis", "only used with `backend: redis`");
            }
            Backend::Embedded
        }
        "redis" => match &u.redis {
            None => {
                e.push(
                    "server.usage.redis",
                    "`backend: redis` needs `redis: {url: ...}`",
                );
                Backend::Embedded
            }
            Some(r) => {
                if !(r.url.starts_with("redis://") || r.url.starts_with("rediss://")) {
                    e.push("server.usage.redis.url", "must be a redis:// URL");
                }
                let pool_size = match r.pool_size {
                    None => 2,
                    Some(n @ 1..=64) => n as usize,
                    Some(n) => {
                        e.push(
                            "server.usage.redis.pool_size",
                            format!("{n} is not between 1 and 64"),
                        );
                        2
                    }
                };
                let timeout = match r.timeout.as_deref().map(crate::config::parse_duration) {
                    None => Duration::from_millis(50),
                    Some(Ok(d)) if !d.is_zero() => d,
                    Some(Ok(_)) => {
                        e.push("server.usage.redis.timeout", "must be greater than zero");
                        Duration::from_millis(50)
                    }
                    Some(Err(m)) => {
                        e.push("server.usage.redis.timeout", m);
                        Duration::from_millis(50)
                    }
                };
                let on_unavailable = match r.on_unavailable.as_deref().unwrap_or("fail_closed") {
                    "fail_closed" => OnUnavailable::FailClosed,
                    "fail_open_local" => OnUnavailable::FailOpenLocal,
                    other => {
                        e.push(
                            "server.usage.redis.on_unavailable",
                            format!("`{other}` is not `fail_closed` or `fail_open_local`"),
                        );
                        OnUnavailable::FailClosed
                    }
                };
                if u.hash_secret.is_none() {
                    e.warn(
                        "server.usage.hash_secret",
                        "with Redis, give every node the same hash_secret: a key's counters are shared by its hash",
                    );
                }
                Backend::Redis {
                    url: r.url.clone(),
                    prefix: r.prefix.clone().unwrap_or_else(|| "rampart:".into()),
                    pool_size,
                    timeout,
                    on_unavailable,
                }
            }
        },
        other => {
            e.push(
                "server.usage.backend",
                format!("`{other}` is not `embedded` or `redis`"),
            );
            Backend::Embedded
        }
    };
    UsageSettings {
        data_dir,
        hash_secret,
        backend,
        explicit: raw.is_some(),
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Where an API's callers put their key.
#[derive(Debug, Clone)]
pub enum KeySource {
    Header(HeaderName),
    /// A Lambda authorizer's `usageIdentifierKey`.
    Authorizer,
}

/// An API's key settings, shared by its routes.
#[derive(Debug)]
pub struct ApiKeys {
    /// The API's id and name: a usage plan's `apiStages[].apiId` may name either.
    pub api_id: Arc<str>,
    pub api_name: Arc<str>,
    pub source: KeySource,
}

pub fn compile_api_keys(e: &mut Errors, ap: &str, api: &RawApi) -> ApiKeys {
    let source = match api
        .api_key_source
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("header") => {
            let name = api.api_key_header.as_deref().unwrap_or("x-api-key");
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) => KeySource::Header(h),
                Err(_) => {
                    e.push(
                        format!("{ap}.api_key_header"),
                        format!("`{name}` is not a header name"),
                    );
                    KeySource::Header(HeaderName::from_static("x-api-key"))
                }
            }
        }
        Some("authorizer") => {
            if api.api_key_header.is_some() {
                e.push(
                    format!("{ap}.api_key_header"),
                    "only used with `api_key_source: header`",
                );
            }
            KeySource::Authorizer
        }
        Some(other) => {
            e.push(
                format!("{ap}.api_key_source"),
                format!("`{other}` is not `header` or `authorizer`"),
            );
            KeySource::Header(HeaderName::from_static("x-api-key"))
        }
    };
    let api_id = api.api_id.clone().unwrap_or_else(|| api.name.clone());
    ApiKeys {
        api_id: api_id.into(),
        api_name: api.name.clone().into(),
        source,
    }
}

/// The admin API's bearer token, kept as its SHA-256 so that comparing it takes the same
/// time whatever is presented.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([REDACTED])")
    }
}

impl AdminToken {
    pub fn new(token: &str) -> Self {
        AdminToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Constant-time: both sides are hashed to 32 bytes and every byte is compared.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(presented).into();
        d.iter()
            .zip(&self.digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// `server.admin.token` / `token_file`, and the loopback rule.
pub fn compile_admin_token(
    e: &mut Errors,
    admin: &RawAdmin,
    bind: Option<std::net::SocketAddr>,
    base: &Path,
) -> Option<AdminToken> {
    if let Some(b) = bind {
        if !b.ip().is_loopback() && !admin.allow_remote {
            e.push(
                "server.admin.bind",
                format!("{b} is not a loopback address: the admin listener has no TLS; bind it to 127.0.0.1 (behind a TLS proxy) or set `allow_remote: true`"),
            );
        }
    }
    let token = match (&admin.token, &admin.token_file) {
        (Some(_), Some(_)) => {
            e.push(
                "server.admin",
                "set either `token` or `token_file`, not both",
            );
            return None;
        }
        (Some(t), None) => t.trim().to_string(),
        (None, Some(f)) => {
            match std::fs::read_to_string(crate::config::compile::resolve(base, f)) {
                Ok(t) => t.trim().to_string(),
                Err(err) => {
                    e.push("server.admin.token_file", format!("cannot read: {err}"));
                    return None;
                }
            }
        }
        (None, None) => return None,
    };
    if token.len() < 16 {
        e.push(
            "server.admin.token",
            "must be at least 16 characters (e.g. `openssl rand -hex 32`)",
        );
        return None;
    }
    Some(AdminToken::new(&token))
}
