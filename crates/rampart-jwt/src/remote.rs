//! An issuer's remote keys: the cache, the rate-limited refresh, discovery.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::error::JwtError;
use crate::fetch::{FetchError, Fetcher, KeyUrl};
use crate::keys::{parse_jwks, KeySet, Lookup};

/// Where the JWKS URL comes from.
pub(crate) enum RemoteSource {
    Discovery(KeyUrl),
    Jwks(KeyUrl),
}

#[derive(Clone)]
struct Cached {
    set: Arc<KeySet>,
    fetched_at: Instant,
}

#[derive(Default)]
struct RefreshState {
    /// The last fetch attempt of any kind: paces retries while no keys are cached.
    last_attempt: Option<Instant>,
    /// The last attempt made while keys were cached (unknown `kid`, stale keys): paces
    /// refreshes. The initial load does not count, so a `kid` published just after it can
    /// still be picked up at once.
    last_refresh: Option<Instant>,
    /// The `jwks_uri` found by discovery, until a JWKS fetch from it fails.
    discovered: Option<KeyUrl>,
}

/// The keys of one issuer fetched over the network.
pub(crate) struct Remote {
    issuer: String,
    source: RemoteSource,
    fetcher: Fetcher,
    refresh_interval: Duration,
    max_key_age: Duration,
    cache: RwLock<Option<Cached>>,
    /// Held while fetching: one fetch at a time per issuer.
    refresh: Arc<tokio::sync::Mutex<RefreshState>>,
}

impl Remote {
    pub fn new(
        issuer: String,
        source: RemoteSource,
        fetcher: Fetcher,
        refresh_interval: Duration,
        max_key_age: Duration,
    ) -> Self {
        Remote {
            issuer,
            source,
            fetcher,
            refresh_interval,
            max_key_age,
            cache: RwLock::new(None),
            refresh: Arc::new(tokio::sync::Mutex::new(RefreshState::default())),
        }
    }

    fn current(&self) -> Option<Cached> {
        self.cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether the refresh interval allows a fetch now.
    fn due(&self, st: &RefreshState, have_keys: bool) -> bool {
        let last = if have_keys {
            st.last_refresh
        } else {
            st.last_attempt
        };
        last.is_none_or(|t| t.elapsed() >= self.refresh_interval)
    }

    /// The key for a token: from the cache, or after at most one refresh per refresh
    /// interval when the `kid` is unknown.
    pub async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(Arc<KeySet>, usize), JwtError> {
        let before = self.current();
        if let Some(c) = &before {
            match c.set.lookup(kid, alg) {
                Lookup::Found(i) => {
                    if c.fetched_at.elapsed() >= self.max_key_age {
                        self.refresh_in_background();
                    }
                    return Ok((Arc::clone(&c.set), i));
                }
                Lookup::Mismatch => return Err(JwtError::AlgorithmMismatch),
                Lookup::Ambiguous => return Err(JwtError::UnknownKey),
                Lookup::NotFound => {}
            }
        }
        {
            let mut st = self.refresh.lock().await;
            let now = self.current();
            // If keys were stored while this task waited for the lock, they are as fresh as
            // they get: look there rather than fetch again.
            let changed = match (&before, &now) {
                (None, None) => false,
                (Some(a), Some(b)) => !Arc::ptr_eq(&a.set, &b.set),
                _ => true,
            };
            if !changed && self.due(&st, now.is_some()) {
                self.refresh_locked(&mut st).await;
            }
        }
        match self.current() {
            None => Err(JwtError::KeysUnavailable),
            Some(c) => match c.set.lookup(kid, alg) {
                Lookup::Found(i) => Ok((c.set, i)),
                Lookup::Mismatch => Err(JwtError::AlgorithmMismatch),
                Lookup::Ambiguous | Lookup::NotFound => Err(JwtError::UnknownKey),
            },
        }
    }

    /// Fetch now if nothing is cached yet (and the refresh interval allows); whether keys
    /// are cached afterwards.
    pub async fn prefetch(&self) -> bool {
        if self.current().is_none() {
            let mut st = self.refresh.lock().await;
            if self.current().is_none() && self.due(&st, false) {
                self.refresh_locked(&mut st).await;
            }
        }
        self.current().is_some()
    }

    /// Refresh stale keys without making the current request wait, unless a refresh is
    /// running or one was attempted within the refresh interval.
    fn refresh_in_background(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Ok(mut st) = self.refresh.clone().try_lock_owned() else {
            return;
        };
        if !self.due(&st, true) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.refresh_locked(&mut st).await;
        });
    }

    async fn refresh_locked(&self, st: &mut RefreshState) {
        let had_keys = self.current().is_some();
        st.last_attempt = Some(Instant::now());
        if had_keys {
            st.last_refresh = st.last_attempt;
        }
        match self.fetch(st).await {
            Ok((set, skipped)) => {
                tracing::debug!(
                    issuer = %self.issuer,
                    keys = set.len(),
                    skipped,
                    "fetched JWKS"
                );
                let cached = Cached {
                    set: Arc::new(set),
                    fetched_at: Instant::now(),
                };
                *self
                    .cache
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(cached);
            }
            Err(error) if had_keys => tracing::warn!(
                issuer = %self.issuer,
                %error,
                "JWKS refresh failed; keeping the cached keys"
            ),
            Err(error) => tracing::error!(
                issuer = %self.issuer,
                %error,
                "JWKS fetch failed and no keys are cached; tokens from this issuer are refused"
            ),
        }
    }

    async fn fetch(&self, st: &mut RefreshState) -> Result<(KeySet, usize), FetchError> {
        let url = match &self.source {
            RemoteSource::Jwks(u) => u.clone(),
            RemoteSource::Discovery(d) => match &st.discovered {
                Some(u) => u.clone(),
                None => {
                    let u = self.discover(d).await?;
                    st.discovered = Some(u.clone());
                    u
                }
            },
        };
        let result = self.fetch_jwks(&url).await;
        if result.is_err() {
            st.discovered = None;
        }
        result
    }

    async fn discover(&self, url: &KeyUrl) -> Result<KeyUrl, FetchError> {
        let body = self.fetcher.get(url).await?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|_| FetchError::Document("discovery document is not JSON".into()))?;
        let issuer = doc.get("issuer").and_then(Value::as_str);
        if issuer != Some(self.issuer.as_str()) {
            return Err(FetchError::Document(
                "discovery document's issuer is not the configured issuer".into(),
            ));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| FetchError::Document("discovery document has no jwks_uri".into()))?;
        KeyUrl::parse(jwks_uri, self.fetcher.allow_http).map_err(FetchError::Document)
    }

    async fn fetch_jwks(&self, url: &KeyUrl) -> Result<(KeySet, usize), FetchError> {
        let body = self.fetcher.get(url).await?;
        let (set, skipped) = parse_jwks(&body).map_err(FetchError::Document)?;
        if set.len() == 0 {
            return Err(FetchError::Document(format!(
                "JWKS has no usable signing key ({skipped} skipped)"
            )));
        }
        Ok((set, skipped))
    }
}
