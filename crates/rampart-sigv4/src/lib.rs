//! Server-side verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
//!
//! Rampart's authenticate stage uses this crate for `AWS_IAM` routes (service
//! `execute-api`): the client signs with any AWS SDK (botocore, the Rust SDK,
//! …) and the gateway recomputes the signature from the request *as it
//! arrived on the wire*.
//!
//! # Flow
//!
//! 1. Describe the received request with [`Incoming`]: method, the raw
//!    (still percent-encoded) path and query, the headers, and the SHA-256 of
//!    the body if the gateway buffered it.
//! 2. [`parse`] finds the signature — either the `Authorization` header form
//!    or the presigned query form (`X-Amz-Algorithm`, `X-Amz-Credential`, …) —
//!    and checks its syntax. The resulting [`Auth`] names the access key id,
//!    the credential scope and the session token, so the caller can look up
//!    the secret key.
//! 3. [`verify`] checks the scope (service, allowed regions), the time
//!    (clock skew for the header form, validity window for presigned URLs),
//!    the payload hash, and finally the signature, compared in constant time.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use rampart_sigv4::{parse, verify, Incoming, Options};
//!
//! // The `get-vanilla` case of the AWS SigV4 test suite.
//! let headers: [(&str, &[u8]); 3] = [
//!     ("Host", b"example.amazonaws.com"),
//!     ("X-Amz-Date", b"20150830T123600Z"),
//!     ("Authorization", b"AWS4-HMAC-SHA256 \
//!         Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
//!         SignedHeaders=host;x-amz-date, \
//!         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
//! ];
//! let req = Incoming {
//!     method: "GET",
//!     path: "/",
//!     query: None,
//!     headers: &headers,
//!     payload_sha256: Some(rampart_sigv4::sha256(b"")),
//! };
//! let auth = parse(&req)?;
//! assert_eq!(auth.access_key_id(), "AKIDEXAMPLE");
//! let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"; // looked up by access key id
//! let opts = Options { service: "service".into(), ..Options::default() };
//! let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
//! verify(&req, &auth, secret, now, &opts)?;
//! # Ok::<(), rampart_sigv4::SigError>(())
//! ```
//!
//! # Canonicalisation (server side)
//!
//! * **URI** (`Options::normalize = true`, every service but S3): the wire
//!   path with empty, `.` and `..` segments removed (a trailing `/` is kept),
//!   then every byte except unreserved (`A-Za-z0-9-_.~`) and `/` is
//!   percent-encoded once more: wire `%3A` → `%253A`, raw space → `%20`.
//!   With `normalize = false` (S3 style) segments are left alone and the path
//!   is encoded once (see [`Options::normalize`]).
//! * **Query**: split on `&` and the first `=`, percent-decode name and value
//!   (a `%` must start a valid `%XX`; `+` is a literal plus), re-encode
//!   keeping only unreserved bytes, sort by (name, value), `name=` when the
//!   value is empty. The presigned form leaves `X-Amz-Signature` out.
//! * **Headers**: only the signed ones, lowercase names, values trimmed with
//!   inner whitespace runs collapsed to one space, repeated headers joined
//!   with `,` in arrival order.
//! * **Payload**: the signed `x-amz-content-sha256` header if there is one,
//!   otherwise the hex SHA-256 of the body (see [`verify`] for the rules).
//!
//! # Equivalent spellings
//!
//! A signature covers the canonical request, so every wire request with the
//! same canonical form is accepted: `/a/./b`, `//a//b` and `/a/x/../b` all
//! verify as `/a/b`, `?b=2&a=1` as `?a=1&b=2`, `%7E` as `~` in the query.
//! The gateway must therefore route on its own normalised path (never on a
//! string that this crate did not see), and the access key id itself is not
//! covered by the header-form signature — it only selects the secret.
//!
//! # Errors
//!
//! [`SigError`]'s `Display` never contains the expected signature, the
//! canonical request or the string to sign; [`debug_canonical_request`] exists
//! for operator logs.

mod canonical;
mod time;

use std::fmt;
use std::time::{Duration, SystemTime};

use ring::{digest, hmac};

use canonical::{canonical_headers, canonical_query, canonical_uri, header_values, hex};

/// The only algorithm this crate accepts.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Payload-hash placeholder for a body that is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Longest validity of a presigned request (`X-Amz-Expires`), 7 days.
pub const MAX_PRESIGNED_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);

const SIGNATURE_PARAM: &str = "X-Amz-Signature";
const TOKEN_PARAM: &str = "X-Amz-Security-Token";
const CONTENT_SHA256: &str = "x-amz-content-sha256";

/// A received request, exactly as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Request method as received (`GET`, `POST`, …).
    pub method: &'a str,
    /// Raw path as on the wire, still percent-encoded, starting with `/`.
    pub path: &'a str,
    /// Raw query string (without the `?`), still percent-encoded.
    pub query: Option<&'a str>,
    /// All request headers in arrival order; names in any case, repeated
    /// names allowed. HTTP/2: pass the `:authority` as a `host` header. From
    /// an `http::HeaderMap`: `map.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))`.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// SHA-256 of the complete body, when the gateway buffered it. Without it
    /// only requests with an unsigned payload can be verified.
    pub payload_sha256: Option<[u8; 32]>,
}

/// Where the signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    Header,
    /// Presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature` query parameters.
    Presigned,
}

/// A syntactically valid SigV4 signature, as found by [`parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    form: Form,
    access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    amz_date: String,
    timestamp: SystemTime,
    expires: Option<Duration>,
    session_token: Option<String>,
    signature: [u8; 32],
}

impl Auth {
    /// Header or presigned form.
    pub fn form(&self) -> Form {
        self.form
    }
    /// Access key id from the credential (selects the secret key).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// Credential scope date, `YYYYMMDD`.
    pub fn scope_date(&self) -> &str {
        &self.scope_date
    }
    /// Credential scope region, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// Credential scope service, e.g. `execute-api`.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.scope_date, self.region, self.service
        )
    }
    /// Signed header names: lowercase, sorted, always containing `host`.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
    /// The `X-Amz-Date` value, `YYYYMMDD'T'HHMMSS'Z'`.
    pub fn amz_date(&self) -> &str {
        &self.amz_date
    }
    /// The instant `X-Amz-Date` names.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }
    /// `X-Amz-Expires` of a presigned request; `None` for the header form.
    pub fn expires(&self) -> Option<Duration> {
        self.expires
    }
    /// `X-Amz-Security-Token` (header or query parameter), signed or not.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("form", &self.form)
            .field("access_key_id", &self.access_key_id)
            .field("credential_scope", &self.credential_scope())
            .field("signed_headers", &self.signed_headers)
            .field("amz_date", &self.amz_date)
            .field("expires", &self.expires)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// What [`verify`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Required credential-scope service (`execute-api` for API Gateway).
    pub service: String,
    /// Allowed credential-scope regions; empty allows any region.
    pub regions: Vec<String>,
    /// Header form: largest allowed |now − X-Amz-Date|. Presigned form: how
    /// far X-Amz-Date may lie in the future. Default 5 minutes.
    pub max_skew: Duration,
    /// Accept `UNSIGNED-PAYLOAD` (body not covered by the signature) when the
    /// body is not known to be empty. Default `false`.
    pub allow_unsigned_payload: bool,
    /// Normalise and double-encode the path (every AWS service except S3;
    /// default `true`). `false` = S3 style: path taken as is, encoded once
    /// (valid `%XX` kept with uppercase hex, or decoded when unreserved; other
    /// raw bytes except `/` encoded).
    pub normalize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            service: "execute-api".to_owned(),
            regions: Vec::new(),
            max_skew: Duration::from_secs(300),
            allow_unsigned_payload: false,
            normalize: true,
        }
    }
}

/// Why a request was refused. `Display` never contains signatures, canonical
/// requests, strings to sign or other request data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    /// No `Authorization` header and no presigned query parameters.
    #[error("missing authentication")]
    Missing,
    /// The signature is present but syntactically invalid.
    #[error("malformed SigV4 authentication: {0}")]
    Malformed(&'static str),
    /// The credential scope names another service.
    #[error("credential scope service does not match")]
    ServiceMismatch,
    /// The credential scope region is not allowed.
    #[error("credential scope region is not allowed")]
    RegionNotAllowed,
    /// X-Amz-Date is too far from the current time.
    #[error("request time is outside the allowed clock skew")]
    ClockSkew,
    /// The presigned request is past X-Amz-Date + X-Amz-Expires.
    #[error("presigned request has expired")]
    Expired,
    /// The body hash is needed but the caller did not provide it.
    #[error("the request body hash is required to verify this signature")]
    PayloadHashRequired,
    /// `x-amz-content-sha256` does not match the body.
    #[error("x-amz-content-sha256 does not match the request body")]
    PayloadHashMismatch,
    /// `UNSIGNED-PAYLOAD` while [`Options::allow_unsigned_payload`] is off.
    #[error("unsigned payload is not allowed")]
    UnsignedPayloadNotAllowed,
    /// The recomputed signature differs.
    #[error("signature does not match")]
    SignatureMismatch,
}

/// SHA-256 of `data` (for [`Incoming::payload_sha256`]).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

fn single_header<'a>(
    req: &Incoming<'a>,
    name: &'a str,
    dup: &'static str,
) -> Result<Option<&'a [u8]>, SigError> {
    let mut values = header_values(req.headers, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(SigError::Malformed(dup));
    }
    Ok(first)
}

fn ascii_str<'a>(v: &'a [u8], what: &'static str) -> Result<&'a str, SigError> {
    match std::str::from_utf8(v) {
        Ok(s) if s.is_ascii() => Ok(s),
        _ => Err(SigError::Malformed(what)),
    }
}

/// A session token: printable ASCII, no spaces (tokens are base64).
fn token_value(v: &[u8]) -> Result<String, SigError> {
    let v = v.trim_ascii();
    if v.is_empty() || !v.iter().all(|b| b.is_ascii_graphic()) {
        return Err(SigError::Malformed("invalid X-Amz-Security-Token"));
    }
    Ok(String::from_utf8_lossy(v).into_owned())
}

/// Presigned-form query parameters, in the order of `PRESIGN_PARAMS`.
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-SignedHeaders",
    SIGNATURE_PARAM,
    "X-Amz-Date",
    "X-Amz-Expires",
    TOKEN_PARAM,
];
/// The first four mark a request as presigned.
const PRESIGN_MARKERS: usize = 4;

/// Decoded presigned parameters, or `None` when the query has none of the
/// marker parameters. Names that fail to decode cannot be auth parameters and
/// are ignored here (the canonical query refuses them later).
fn presign_params(query: Option<&str>) -> Result<Option<[Option<String>; 7]>, SigError> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found: [Vec<&str>; 7] = Default::default();
    for (raw_name, raw_value) in canonical::raw_pairs(query) {
        let Some(name) = canonical::percent_decode(raw_name.as_bytes()) else {
            continue;
        };
        if let Some(i) = PRESIGN_PARAMS
            .iter()
            .position(|p| p.as_bytes() == name.as_slice())
        {
            found[i].push(raw_value);
        }
    }
    if found[..PRESIGN_MARKERS].iter().all(Vec::is_empty) {
        return Ok(None);
    }
    let mut out: [Option<String>; 7] = Default::default();
    for (slot, values) in out.iter_mut().zip(found) {
        match values.as_slice() {
            [] => {}
            [raw] => {
                let decoded = canonical::percent_decode(raw.as_bytes())
                    .ok_or(SigError::Malformed("invalid percent-encoding in query"))?;
                let s = String::from_utf8(decoded)
                    .map_err(|_| SigError::Malformed("presigned parameter is not UTF-8"))?;
                *slot = Some(s);
            }
            _ => return Err(SigError::Malformed("duplicate presigned query parameter")),
        }
    }
    Ok(Some(out))
}

/// Finds and syntax-checks the SigV4 signature of a request.
///
/// Returns [`SigError::Missing`] when there is neither an `Authorization`
/// header nor presigned query parameters (`X-Amz-Algorithm`,
/// `X-Amz-Credential`, `X-Amz-SignedHeaders` or `X-Amz-Signature`), and
/// [`SigError::Malformed`] for: another algorithm, both forms at once,
/// repeated `Authorization` headers / components / presigned parameters, a
/// bad credential scope (`AKID/YYYYMMDD/REGION/SERVICE/aws4_request`), a
/// scope date that differs from the `X-Amz-Date` date, a signature that is not
/// 64 lowercase hex digits, signed headers that are not lowercase, sorted
/// and unique, that lack `host` (and, header form, `x-amz-date`), that name
/// `authorization` or a header the request does not have, or an
/// `X-Amz-Expires` outside 1..=604800 seconds.
pub fn parse(req: &Incoming<'_>) -> Result<Auth, SigError> {
    let authz = single_header(req, "authorization", "more than one Authorization header")?;
    let presigned = presign_params(req.query)?;
    match (authz, presigned) {
        (None, None) => Err(SigError::Missing),
        (Some(_), Some(_)) => Err(SigError::Malformed(
            "both an Authorization header and presigned query parameters",
        )),
        (Some(value), None) => parse_header_form(req, value),
        (None, Some(params)) => parse_presigned(req, params),
    }
}

fn parse_header_form(req: &Incoming<'_>, value: &[u8]) -> Result<Auth, SigError> {
    let value = ascii_str(value, "Authorization header is not ASCII")?.trim_ascii();
    let (alg, rest) = match value.split_once([' ', '\t']) {
        Some((alg, rest)) => (alg, rest),
        None => (value, ""),
    };
    if alg != ALGORITHM {
        return Err(SigError::Malformed("unsupported Authorization algorithm"));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim_ascii();
        let (key, v) = part
            .split_once('=')
            .ok_or(SigError::Malformed("Authorization component without ="))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(SigError::Malformed("unknown Authorization component")),
        };
        if slot.replace(v).is_some() {
            return Err(SigError::Malformed("repeated Authorization component"));
        }
    }
    let credential = credential.ok_or(SigError::Malformed("Authorization without Credential"))?;
    let signed_headers =
        signed_headers.ok_or(SigError::Malformed("Authorization without SignedHeaders"))?;
    let signature = signature.ok_or(SigError::Malformed("Authorization without Signature"))?;

    let amz_date = single_header(req, "x-amz-date", "more than one X-Amz-Date header")?
        .ok_or(SigError::Malformed("missing X-Amz-Date header"))?;
    let amz_date = ascii_str(amz_date, "invalid X-Amz-Date")?.trim_ascii();
    let token = single_header(
        req,
        "x-amz-security-token",
        "more than one X-Amz-Security-Token header",
    )?
    .map(token_value)
    .transpose()?;
    let auth = build_auth(
        req,
        Form::Header,
        credential,
        signed_headers,
        signature,
        amz_date,
        None,
        token,
    )?;
    if !auth.signed_headers.iter().any(|h| h == "x-amz-date") {
        return Err(SigError::Malformed("x-amz-date is not a signed header"));
    }
    Ok(auth)
}

fn parse_presigned(req: &Incoming<'_>, params: [Option<String>; 7]) -> Result<Auth, SigError> {
    let [algorithm, credential, signed_headers, signature, amz_date, expires, token] = params;
    let missing = |what| move || SigError::Malformed(what);
    let algorithm = algorithm.ok_or_else(missing("presigned request without X-Amz-Algorithm"))?;
    if algorithm != ALGORITHM {
        return Err(SigError::Malformed("unsupported X-Amz-Algorithm"));
    }
    let credential =
        credential.ok_or_else(missing("presigned request without X-Amz-Credential"))?;
    let signed_headers =
        signed_headers.ok_or_else(missing("presigned request without X-Amz-SignedHeaders"))?;
    let signature = signature.ok_or_else(missing("presigned request without X-Amz-Signature"))?;
    let amz_date = amz_date.ok_or_else(missing("presigned request without X-Amz-Date"))?;
    let expires = expires.ok_or_else(missing("presigned request without X-Amz-Expires"))?;
    let expires = (expires.len() <= 7 && expires.bytes().all(|b| b.is_ascii_digit()))
        .then(|| expires.parse::<u64>().ok())
        .flatten()
        .map(Duration::from_secs)
        .filter(|e| !e.is_zero() && *e <= MAX_PRESIGNED_EXPIRES)
        .ok_or(SigError::Malformed(
            "X-Amz-Expires must be 1..=604800 seconds",
        ))?;
    let token = token.map(|t| token_value(t.as_bytes())).transpose()?;
    build_auth(
        req,
        Form::Presigned,
        &credential,
        &signed_headers,
        &signature,
        &amz_date,
        Some(expires),
        token,
    )
}

fn valid_name(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn is_header_name_char(b: u8) -> bool {
    b.is_ascii_lowercase()
        || b.is_ascii_digit()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[allow(clippy::too_many_arguments)]
fn build_auth(
    req: &Incoming<'_>,
    form: Form,
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: &str,
    expires: Option<Duration>,
    session_token: Option<String>,
) -> Result<Auth, SigError> {
    let bad_scope = SigError::Malformed("invalid credential scope");
    let mut parts = credential.split('/');
    let (Some(akid), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad_scope);
    };
    if !valid_name(akid, 128, b"")
        || time::parse_date(date).is_none()
        || !valid_name(region, 64, b"-")
        || !valid_name(service, 64, b"-_.")
        || terminator != "aws4_request"
    {
        return Err(bad_scope);
    }
    let timestamp =
        time::parse_amz_date(amz_date).ok_or(SigError::Malformed("invalid X-Amz-Date"))?;
    if amz_date.get(..8) != Some(date) {
        return Err(SigError::Malformed(
            "credential scope date differs from X-Amz-Date",
        ));
    }

    let names: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    if names
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(is_header_name_char))
    {
        return Err(SigError::Malformed("invalid SignedHeaders"));
    }
    if names.windows(2).any(|w| w[0] >= w[1]) {
        return Err(SigError::Malformed("SignedHeaders not sorted and unique"));
    }
    if !names.iter().any(|n| n == "host") {
        return Err(SigError::Malformed("host is not a signed header"));
    }
    if names.iter().any(|n| n == "authorization") {
        return Err(SigError::Malformed(
            "authorization cannot be a signed header",
        ));
    }
    if names
        .iter()
        .any(|n| header_values(req.headers, n).next().is_none())
    {
        return Err(SigError::Malformed(
            "a signed header is missing from the request",
        ));
    }
    let signature = canonical::decode_hex32(signature).ok_or(SigError::Malformed(
        "signature is not 64 lowercase hex digits",
    ))?;

    Ok(Auth {
        form,
        access_key_id: akid.to_owned(),
        scope_date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: names,
        amz_date: amz_date.to_owned(),
        timestamp,
        expires,
        session_token,
        signature,
    })
}

/// One way to build the canonical request; [`verify`] accepts the request if
/// any variant from [`variants`] reproduces the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Last line of the canonical request: lowercase hex SHA-256 of the body,
    /// the signed `x-amz-content-sha256` value, or [`UNSIGNED_PAYLOAD`].
    pub payload_hash: String,
    /// Presigned form with a session token: `true` if `X-Amz-Security-Token`
    /// is part of the canonical query (botocore, the SDKs), `false` if it was
    /// appended after signing (aws-c-auth `omit_session_token`). Ignored
    /// otherwise (the header form says it in `SignedHeaders`).
    pub presigned_token_signed: bool,
}

fn payload_candidates(
    req: &Incoming<'_>,
    auth: &Auth,
    opts: &Options,
) -> Result<Vec<String>, SigError> {
    let body = req.payload_sha256.map(|h| hex(&h));
    if auth.signed_headers.iter().any(|h| h == CONTENT_SHA256) {
        let declared = single_header(
            req,
            CONTENT_SHA256,
            "more than one x-amz-content-sha256 header",
        )?
        .ok_or(SigError::Malformed(
            "a signed header is missing from the request",
        ))?;
        let declared = ascii_str(declared, "invalid x-amz-content-sha256")?.trim_ascii();
        if declared == UNSIGNED_PAYLOAD {
            return if opts.allow_unsigned_payload {
                Ok(vec![UNSIGNED_PAYLOAD.to_owned()])
            } else {
                Err(SigError::UnsignedPayloadNotAllowed)
            };
        }
        if canonical::decode_hex32(declared).is_none() {
            return Err(SigError::Malformed(
                "unsupported x-amz-content-sha256 value",
            ));
        }
        return match body {
            Some(body) if body == declared => Ok(vec![body]),
            Some(_) => Err(SigError::PayloadHashMismatch),
            None => Err(SigError::PayloadHashRequired),
        };
    }
    match auth.form {
        Form::Header => body.map(|b| vec![b]).ok_or(SigError::PayloadHashRequired),
        Form::Presigned => {
            // botocore's SigV4QueryAuth and aws-c-auth sign the body hash;
            // S3-style presigners sign UNSIGNED-PAYLOAD, which leaves the body
            // open, so it needs the option unless the body is known empty.
            let empty = req.payload_sha256 == Some(sha256(b""));
            let mut out: Vec<String> = body.into_iter().collect();
            if opts.allow_unsigned_payload || empty {
                out.push(UNSIGNED_PAYLOAD.to_owned());
            }
            if out.is_empty() {
                Err(SigError::PayloadHashRequired)
            } else {
                Ok(out)
            }
        }
    }
}

/// The canonical-request variants [`verify`] tries, in order: one per payload
/// hash candidate (see [`verify`]) and, for a presigned request carrying a
/// session token, with and without the token in the canonical query.
pub fn variants(req: &Incoming<'_>, auth: &Auth, opts: &Options) -> Result<Vec<Variant>, SigError> {
    let token_modes: &[bool] = if auth.form == Form::Presigned && auth.session_token.is_some() {
        &[true, false]
    } else {
        &[true]
    };
    let mut out = Vec::new();
    for payload_hash in payload_candidates(req, auth, opts)? {
        for &presigned_token_signed in token_modes {
            out.push(Variant {
                payload_hash: payload_hash.clone(),
                presigned_token_signed,
            });
        }
    }
    Ok(out)
}

/// The canonical request of `req` for one [`Variant`]:
/// `METHOD\nURI\nQUERY\nHEADERS\n\nSIGNED_HEADERS\nPAYLOAD_HASH`. Uses
/// `opts.normalize` only. Bytes, since header values need not be UTF-8.
pub fn canonical_request(
    req: &Incoming<'_>,
    auth: &Auth,
    opts: &Options,
    variant: &Variant,
) -> Result<Vec<u8>, SigError> {
    let omit: &[&str] = match auth.form {
        Form::Header => &[],
        Form::Presigned if variant.presigned_token_signed => &[SIGNATURE_PARAM],
        Form::Presigned => &[SIGNATURE_PARAM, TOKEN_PARAM],
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&canonical_uri(req.path, opts.normalize)?);
    out.push(b'\n');
    out.extend_from_slice(&canonical_query(req.query, omit)?);
    out.push(b'\n');
    out.extend_from_slice(&canonical_headers(req.headers, &auth.signed_headers)?);
    out.push(b'\n');
    out.extend_from_slice(auth.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(variant.payload_hash.as_bytes());
    Ok(out)
}

/// `AWS4-HMAC-SHA256\nX-Amz-Date\nSCOPE\nhex(sha256(canonical_request))`.
pub fn string_to_sign(auth: &Auth, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        auth.amz_date,
        auth.credential_scope(),
        hex(&sha256(canonical_request))
    )
}

fn hmac_key(key: &[u8], data: &str) -> hmac::Key {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref())
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
fn signing_key(secret: &[u8], auth: &Auth) -> hmac::Key {
    let mut k_secret = Vec::with_capacity(secret.len() + 4);
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret);
    let k_date = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &k_secret),
        auth.scope_date.as_bytes(),
    );
    k_secret.fill(0);
    let k_region = hmac_key(k_date.as_ref(), &auth.region);
    let k_service = hmac::sign(&k_region, auth.service.as_bytes());
    hmac_key(k_service.as_ref(), "aws4_request")
}

/// Lowercase hex signature of `string_to_sign` under `secret` and `auth`'s
/// credential scope. For signing test requests; [`verify`] compares in
/// constant time without exposing the expected value.
pub fn compute_signature(secret: &[u8], auth: &Auth, string_to_sign: &str) -> String {
    hex(hmac::sign(&signing_key(secret, auth), string_to_sign.as_bytes()).as_ref())
}

fn check_time(auth: &Auth, now: SystemTime, max_skew: Duration) -> Result<(), SigError> {
    match (auth.form, auth.expires) {
        (Form::Presigned, Some(expires)) => match now.duration_since(auth.timestamp) {
            Ok(elapsed) if elapsed > expires => Err(SigError::Expired),
            Ok(_) => Ok(()),
            Err(ahead) if ahead.duration() > max_skew => Err(SigError::ClockSkew),
            Err(_) => Ok(()),
        },
        _ => {
            let diff = now
                .duration_since(auth.timestamp)
                .unwrap_or_else(|ahead| ahead.duration());
            if diff > max_skew {
                Err(SigError::ClockSkew)
            } else {
                Ok(())
            }
        }
    }
}

/// Verifies the signature `auth` (from [`parse`] of the same `req`) with the
/// caller's `secret` for `auth.access_key_id()`.
///
/// Checks, in order:
/// 1. the scope service equals `opts.service` ([`SigError::ServiceMismatch`])
///    and the region is in `opts.regions` unless that is empty
///    ([`SigError::RegionNotAllowed`]);
/// 2. time: header form |now − X-Amz-Date| ≤ `max_skew`; presigned form
///    X-Amz-Date − `max_skew` ≤ now ≤ X-Amz-Date + X-Amz-Expires
///    ([`SigError::ClockSkew`], [`SigError::Expired`]);
/// 3. payload hash: a *signed* `x-amz-content-sha256` is used as is — 64
///    lowercase hex digits that must equal the body hash (which must then be
///    known), or `UNSIGNED-PAYLOAD` if `allow_unsigned_payload`; otherwise
///    the hex SHA-256 of the body (required for the header form). A presigned
///    request may also be signed with `UNSIGNED-PAYLOAD` (S3-style
///    presigners), accepted if `allow_unsigned_payload` or the body is known
///    to be empty;
/// 4. the signature of each [`variants`] entry, compared in constant time
///    ([`SigError::SignatureMismatch`]).
pub fn verify(
    req: &Incoming<'_>,
    auth: &Auth,
    secret: &[u8],
    now: SystemTime,
    opts: &Options,
) -> Result<(), SigError> {
    verify_with_key(req, auth, &SigningKey::derive(secret, auth), now, opts)
}

/// The key derived from a secret for one credential scope (date, region, service): four
/// HMACs that a caller may keep per access key for the day instead of repeating them on
/// every request ([`SigningKey::scope`] says which scope it is for).
#[derive(Clone)]
pub struct SigningKey {
    key: hmac::Key,
    scope: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn derive(secret: &[u8], auth: &Auth) -> Self {
        SigningKey {
            key: signing_key(secret, auth),
            scope: auth.credential_scope(),
        }
    }

    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

/// [`verify`] with a key derived earlier; a key for another scope never verifies.
pub fn verify_with_key(
    req: &Incoming<'_>,
    auth: &Auth,
    key: &SigningKey,
    now: SystemTime,
    opts: &Options,
) -> Result<(), SigError> {
    if auth.service != opts.service {
        return Err(SigError::ServiceMismatch);
    }
    if !opts.regions.is_empty() && !opts.regions.contains(&auth.region) {
        return Err(SigError::RegionNotAllowed);
    }
    check_time(auth, now, opts.max_skew)?;
    if key.scope != auth.credential_scope() {
        return Err(SigError::SignatureMismatch);
    }
    let variants = variants(req, auth, opts)?;
    let mut matched = false;
    for variant in &variants {
        let creq = canonical_request(req, auth, opts, variant)?;
        let sts = string_to_sign(auth, &creq);
        matched |= hmac::verify(&key.key, sts.as_bytes(), &auth.signature).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SigError::SignatureMismatch)
    }
}

/// The canonical request [`verify`] builds first, for operator debug logs
/// only: it contains the signed header values (possibly sensitive). Errors
/// are rendered as text.
pub fn debug_canonical_request(req: &Incoming<'_>, auth: &Auth, opts: &Options) -> String {
    let first = variants(req, auth, opts).and_then(|v| {
        v.first()
            .ok_or(SigError::PayloadHashRequired)
            .and_then(|v| canonical_request(req, auth, opts, v))
    });
    match first {
        Ok(creq) => String::from_utf8_lossy(&creq).into_owned(),
        Err(e) => format!("<no canonical request: {e}>"),
    }
}
