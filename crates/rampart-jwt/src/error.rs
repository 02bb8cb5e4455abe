//! Errors: why a token was rejected, and why a configuration was refused.

/// Why a token was rejected.
///
/// The variants are the categories the gateway maps to responses. Every variant but
/// [`JwtError::KeysUnavailable`] is the caller's fault (a `401`); `KeysUnavailable` means
/// the issuer's keys could not be obtained at all, which is the gateway's (or the identity
/// provider's) problem, although the token is still refused.
///
/// `Display` (and `Debug`) never include the token, any part of it, or key material: only
/// fixed descriptions and the names of claims or header parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a well-formed compact JWS: wrong number of parts, bad base64url, not a JSON
    /// object, a claim of the wrong type, too long. The payload names what was wrong.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` is `none`, unknown, not supported (`HS384`, `HS512`, `ES512`, ...) or `HS256`
    /// for an issuer without a shared secret.
    #[error("unsupported or disallowed algorithm")]
    UnsupportedAlgorithm,
    /// The key named by `kid` exists but cannot be used with the token's `alg` (an `RS256`
    /// header with an EC key, a key whose own `alg` differs, `ES384` with a P-256 key).
    #[error("algorithm does not match the signing key")]
    AlgorithmMismatch,
    /// A header parameter this verifier refuses: `jku`, `x5u`, `jwk`, `x5c` (keys are only
    /// ever taken from the configuration) or `crit` (no critical extension is understood).
    #[error("header parameter {0:?} is not accepted")]
    ForbiddenHeader(&'static str),
    /// No key of the issuer has the token's `kid`, even after the one refresh allowed per
    /// refresh interval (or the token has no `kid` and no single key fits its `alg`).
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` (plus leeway) has passed.
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` (minus leeway) is still in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// A required claim (`iss`, `exp`, `token_use` when one is required) is absent.
    #[error("required claim {0:?} is missing")]
    MissingClaim(&'static str),
    /// `iss` is not exactly one of the configured issuers.
    #[error("issuer is not accepted")]
    WrongIssuer,
    /// Neither `aud` nor, when there is no `aud`, `client_id` names a configured audience.
    #[error("audience is not accepted")]
    WrongAudience,
    /// `token_use` is not the one the issuer requires.
    #[error("token_use is not accepted")]
    WrongTokenUse,
    /// The issuer's keys have never been fetched successfully (the JWKS endpoint is down,
    /// unreachable, too slow, too big or serving garbage, and nothing is cached). Fails
    /// closed.
    #[error("signing keys are unavailable")]
    KeysUnavailable,
}

/// A configuration [`crate::Verifier::new`] refuses. The message never contains a secret or
/// key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("JWT issuer {issuer:?}: {message}")]
pub struct ConfigError {
    /// The `issuer` of the offending [`crate::IssuerConfig`] (empty when there is none).
    pub issuer: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(issuer: &str, message: impl Into<String>) -> Self {
        ConfigError {
            issuer: issuer.to_owned(),
            message: message.into(),
        }
    }
}
