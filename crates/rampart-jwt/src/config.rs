//! Issuer configuration: a plain struct, no serde (the gateway's config loader fills it).

use std::fmt;
use std::time::Duration;

/// Default for [`IssuerConfig::refresh_interval`]: 60 s.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Default for [`IssuerConfig::max_key_age`]: 1 h.
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(3600);
/// Default for [`IssuerConfig::fetch_timeout`]: 5 s.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`IssuerConfig::max_document_bytes`]: 256 KiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Default for [`IssuerConfig::leeway`]: none.
pub const DEFAULT_LEEWAY: Duration = Duration::ZERO;
/// Shortest accepted [`IssuerConfig::hs256_secret`]: 32 bytes (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Where an issuer's public keys come from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An OpenID Connect discovery document URL (normally
    /// `{issuer}/.well-known/openid-configuration`, see [`KeySource::discovery`]). Its
    /// `issuer` must equal the configured issuer exactly; its `jwks_uri` is fetched (same
    /// HTTPS rules) and remembered until a JWKS fetch fails.
    Discovery(String),
    /// A JWKS URL (Cognito: `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`).
    JwksUrl(String),
    /// Static keys: a JWK Set (`{"keys":[...]}`) or a single JWK, as JSON. Never refreshed.
    Static(String),
    /// No public keys: only `HS256` tokens verified with [`IssuerConfig::hs256_secret`]
    /// (which is then required).
    None,
}

impl KeySource {
    /// The discovery document at `{issuer}/.well-known/openid-configuration` (a trailing `/`
    /// on the issuer is not doubled).
    pub fn discovery(issuer: &str) -> KeySource {
        KeySource::Discovery(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Discovery(u) => f.debug_tuple("Discovery").field(u).finish(),
            KeySource::JwksUrl(u) => f.debug_tuple("JwksUrl").field(u).finish(),
            KeySource::Static(_) => f.write_str("Static(..)"),
            KeySource::None => f.write_str("None"),
        }
    }
}

/// The `token_use` claim Cognito puts in its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// `"id"`: an ID token (has `aud`).
    Id,
    /// `"access"`: an access token (has `client_id` and `scope`, no `aud`).
    Access,
}

impl TokenUse {
    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// One trusted token issuer. Build with [`IssuerConfig::new`] and adjust the public fields.
#[derive(Clone)]
pub struct IssuerConfig {
    /// The exact `iss` value (no normalisation: a trailing `/` matters).
    pub issuer: String,
    /// Where the public keys come from.
    pub keys: KeySource,
    /// Accepted audiences: a token is accepted when its `aud` (string or array) contains one
    /// of them or, when it has no `aud` (Cognito access tokens), when its `client_id` is one
    /// of them. Must not be empty.
    pub audiences: Vec<String>,
    /// When set, `token_use` must be present and equal to it.
    pub token_use: Option<TokenUse>,
    /// Clock skew allowed on `exp` and `nbf`. Default 0 (see [`DEFAULT_LEEWAY`]): the
    /// gateway is expected to run with a synchronised clock; raise it (30-60 s is common)
    /// if the identity provider's clock is not trusted to agree.
    pub leeway: Duration,
    /// A shared secret enabling `HS256` for this issuer (at least 32 bytes). `HS256` tokens
    /// are verified against this secret only, never against a public key; tokens signed with
    /// an asymmetric algorithm still verify against the issuer's public keys.
    pub hs256_secret: Option<Vec<u8>>,
    /// Minimum time between two refreshes caused by an unknown `kid` or by stale keys (the
    /// initial load does not count), and between two attempts while no keys are cached yet.
    /// Default 60 s. Zero disables the pacing (not advisable: every unknown `kid` refetches).
    pub refresh_interval: Duration,
    /// Cached keys older than this are refetched in the background on the next verification
    /// (so a key removed by the provider stops being accepted); if that fails the cached
    /// keys are kept. Default 1 h.
    pub max_key_age: Duration,
    /// Timeout of one fetch (connect, TLS, request and body, for each document). Default 5 s.
    pub fetch_timeout: Duration,
    /// Largest discovery document or JWKS accepted; a bigger one is an error and the cached
    /// keys are kept. Default 256 KiB.
    pub max_document_bytes: usize,
    /// Trusted root CAs for the key fetches, as PEM. `None`: the Mozilla roots of
    /// `webpki-roots`. `Some`: only the certificates in it.
    pub root_certificates_pem: Option<Vec<u8>>,
    /// Allow plain `http://` key URLs, but only to a loopback address (`127.0.0.0/8`, `::1`,
    /// `localhost`). For tests and sidecars; never for a real identity provider.
    pub dangerous_allow_http: bool,
}

impl IssuerConfig {
    /// An issuer with the given keys and audiences, and every other setting at its default.
    pub fn new(issuer: impl Into<String>, keys: KeySource, audiences: Vec<String>) -> Self {
        IssuerConfig {
            issuer: issuer.into(),
            keys,
            audiences,
            token_use: None,
            leeway: DEFAULT_LEEWAY,
            hs256_secret: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_key_age: DEFAULT_MAX_KEY_AGE,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            root_certificates_pem: None,
            dangerous_allow_http: false,
        }
    }
}

impl fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerConfig")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("audiences", &self.audiences)
            .field("token_use", &self.token_use)
            .field("leeway", &self.leeway)
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("refresh_interval", &self.refresh_interval)
            .field("max_key_age", &self.max_key_age)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("max_document_bytes", &self.max_document_bytes)
            .field(
                "root_certificates_pem",
                &self.root_certificates_pem.as_ref().map(|_| ".."),
            )
            .field("dangerous_allow_http", &self.dangerous_allow_http)
            .finish()
    }
}
