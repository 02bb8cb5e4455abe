//! The configuration file as written: serde types, unknown fields rejected everywhere.
//! Nothing here is used on the request path; `compile` turns it into checked domain types.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub apis: Vec<RawApi>,
    /// IAM users and roles that sign requests with SigV4 (`AWS_IAM` routes).
    #[serde(default)]
    pub identities: Option<RawIdentities>,
    /// Named authorizers that routes list in `authorizers` (`aws_iam` is built in).
    #[serde(default)]
    pub authorizers: BTreeMap<String, RawAuthorizer>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawAuthorizer {
    /// The connection's verified client certificate.
    Mtls(RawMtls),
    /// A custom authorizer with API Gateway's Lambda authorizer contract, over HTTP.
    Lambda(RawLambda),
    /// OAuth 2.0 / OIDC bearer tokens (Cognito user pools, any OIDC provider).
    Jwt(RawJwt),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJwt {
    /// The exact `iss` of the tokens.
    pub issuer: String,
    /// Where the keys come from: OIDC discovery (`{issuer}/.well-known/openid-configuration`,
    /// the default), a JWKS URL, or a static JWKS (JSON text).
    pub jwks_url: Option<String>,
    pub jwks: Option<String>,
    /// Accepted `aud` values (Cognito access tokens: `client_id`).
    pub audiences: Vec<String>,
    /// `id` or `access` (Cognito's `token_use`).
    pub token_use: Option<String>,
    /// Clock leeway for `exp` / `nbf` (default 0s).
    pub leeway: Option<String>,
    /// Enables HS256 for this issuer (at least 32 bytes; use `${env:...}`).
    pub hs256_secret: Option<String>,
    /// PEM CA bundle for the issuer's HTTPS endpoints (default: the public web roots).
    pub ca: Option<String>,
    /// The header carrying the token (default `Authorization`, `Bearer ` optional).
    pub header: Option<String>,
    /// Upstream request headers from claims: header name → claim.
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    /// Fetch keys over plain HTTP from a loopback address (tests only).
    #[serde(default)]
    pub dangerous_allow_http: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLambda {
    /// Where the authorizer event is POSTed (http:// or https://).
    pub url: String,
    /// `token` or `request`.
    pub kind: String,
    /// TOKEN: one source (`method.request.header.Authorization`); REQUEST: any number
    /// (`method.request.header.X`, `method.request.querystring.q`, `context.x`, ...).
    pub identity_source: Vec<String>,
    /// TOKEN: the whole token must match this regular expression, else 401 without a call.
    pub validation: Option<String>,
    /// `policy` (REST: an IAM policy, default) or `simple` (HTTP API: `isAuthorized`).
    pub response: Option<String>,
    /// Result cache TTL (default 300s, 0s disables, at most 3600s).
    pub ttl: Option<String>,
    /// Default 10s.
    pub timeout: Option<String>,
    /// PEM CA bundle for an https:// authorizer (default: the public web roots).
    pub ca: Option<String>,
    /// Upstream request headers from the authorizer's answer: header name → `context`
    /// key, or `principalId`.
    #[serde(default)]
    pub context_headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMtls {
    /// Accepted certificates; any matching entry accepts.
    pub allow: Vec<RawMtlsRule>,
    /// A CRL file (PEM or DER) of revoked certificates.
    pub crl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMtlsRule {
    /// Subject DN pattern (`*` and `?` wildcards), e.g. `CN=partner-*`.
    pub subject: Option<String>,
    /// A subject alternative name pattern: `DNS:*.example.com`, `URI:spiffe://x/*`.
    pub san: Option<String>,
    /// SHA-256 of the certificate, hex (colons allowed).
    pub fingerprint: Option<String>,
    /// The principal for requests with this certificate (default `mtls:<subject>`); an
    /// identity's ARN gives them that identity's policies and tags.
    pub principal: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentities {
    /// The key that secret access keys are encrypted with: 32 bytes, base64; or
    pub master_key: Option<String>,
    /// a file holding it.
    pub master_key_file: Option<String>,
    #[serde(default)]
    pub users: Vec<RawPrincipal>,
    #[serde(default)]
    pub roles: Vec<RawPrincipal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrincipal {
    pub name: String,
    /// Default: `server.aws.account_id`.
    pub account_id: Option<String>,
    /// IAM path, `/` by default (`/team/` gives `user/team/NAME`).
    pub path: Option<String>,
    /// `aws:PrincipalTag/<key>`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub access_keys: Vec<RawAccessKey>,
    /// Identity policies (documents inline) and policy files.
    #[serde(default)]
    pub policies: Vec<serde_json::Value>,
    #[serde(default)]
    pub policy_files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKey {
    pub id: String,
    /// The secret access key encrypted with the master key (`rampart secret encrypt`).
    pub secret: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    #[serde(default)]
    pub listeners: Vec<RawListener>,
    #[serde(default)]
    pub admin: Option<RawAdmin>,
    /// Worker threads, each with its own runtime and upstream pools (default: one per core).
    pub workers: Option<u64>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub paths: RawPaths,
    #[serde(default)]
    pub request_id: RawRequestId,
    #[serde(default)]
    pub access_log: RawAccessLog,
    /// Gateway responses by type (`RESOURCE_NOT_FOUND`, `DEFAULT_4XX`, ...).
    #[serde(default)]
    pub responses: BTreeMap<String, RawGatewayResponse>,
    /// Response headers removed from every upstream response (e.g. `server`, `x-powered-by`).
    #[serde(default)]
    pub strip_response_headers: Vec<String>,
    /// The partition, region and account that `execute-api` ARNs are built with.
    #[serde(default)]
    pub aws: RawAws,
    /// A rate limit for the whole gateway (all APIs, all callers).
    pub throttle: Option<RawThrottle>,
    /// Where API keys, usage plans and their counters live.
    pub usage: Option<RawUsage>,
    /// Web ACLs (AWS WAFv2 JSON files) and what they reference.
    pub waf: Option<RawWaf>,
}

/// `server.waf`: named web ACLs and the IP sets, regex pattern sets and rule groups they
/// reference (files in the AWS JSON shape, paths relative to the configuration file).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWaf {
    /// Web ACL name (what APIs refer to) to file.
    #[serde(default)]
    pub web_acls: BTreeMap<String, String>,
    #[serde(default)]
    pub ip_sets: Vec<String>,
    #[serde(default)]
    pub regex_pattern_sets: Vec<String>,
    #[serde(default)]
    pub rule_groups: Vec<String>,
    /// Body bytes inspected (default 16384; a web ACL's AssociationConfig wins).
    pub body_inspection_limit: Option<u64>,
    /// Keys tracked per rate-based rule (default 100000).
    pub rate_max_keys: Option<u64>,
    /// A country database (MaxMind DB format, e.g. GeoLite2-Country.mmdb) for
    /// `GeoMatchStatement`.
    pub geo_database: Option<String>,
}

/// The usage-plan store: `embedded` (one redb file under `data_dir`) or `redis` (throttle,
/// quota and usage counters shared by every gateway node; keys and plans stay embedded).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawUsage {
    /// Directory of the embedded store (default `rampart-data`, relative to the config).
    pub data_dir: Option<String>,
    /// 64 hex characters: the HMAC secret API keys are hashed with (default: generated
    /// into `<data_dir>/keyhash.secret`). Give every node of a cluster the same one.
    pub hash_secret: Option<String>,
    /// `embedded` (default) or `redis`.
    pub backend: Option<String>,
    pub redis: Option<RawRedis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Prepended to every Redis key (default `rampart:`).
    pub prefix: Option<String>,
    /// Connections (each multiplexed; default 2).
    pub pool_size: Option<u64>,
    /// Per command, including connecting (default `50ms`).
    pub timeout: Option<String>,
    /// When Redis cannot be reached: `fail_closed` (default: 503) or `fail_open_local`
    /// (this node's own limits and counters).
    pub on_unavailable: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    /// Steady requests per second.
    pub rate: f64,
    /// Bucket capacity: requests allowed at once.
    pub burst: u32,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    /// Default `aws`.
    pub partition: Option<String>,
    /// Default `us-east-1`.
    pub region: Option<String>,
    /// Twelve digits; default `000000000000`.
    pub account_id: Option<String>,
    /// SigV4 (`aws_iam`) settings.
    #[serde(default)]
    pub sigv4: RawSigv4,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSigv4 {
    /// Regions a credential scope may name (default: `region`).
    pub regions: Option<Vec<String>>,
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body is then not covered by
    /// the signature). Default false.
    #[serde(default)]
    pub allow_unsigned_payload: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub name: String,
    /// `host:port`; port 0 picks a free port.
    pub bind: String,
    #[serde(default)]
    pub tls: Option<RawTls>,
    /// A private listener serves internal APIs and must bind a loopback or private address.
    #[serde(default)]
    pub private: bool,
    /// The `aws:SourceVpce` value of requests on a private listener (default: its name).
    pub vpce_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain file.
    pub cert: String,
    /// PEM private key file.
    pub key: String,
    #[serde(default)]
    pub client_auth: Option<RawClientAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientAuth {
    /// `required` or `optional`.
    pub mode: String,
    /// PEM file of the CA certificates that client certificates must chain to.
    pub trust_store: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub bind: String,
    /// The admin API's bearer token (use `${env:NAME}`), or
    pub token: Option<String>,
    /// a file holding it. Without either, only `/metrics`, `/healthz` and `/readyz` are served.
    pub token_file: Option<String>,
    /// Allow the admin listener on a non-loopback address (it has no TLS: put it behind one).
    #[serde(default)]
    pub allow_remote: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_header_bytes: Option<u64>,
    pub max_body_bytes: Option<u64>,
    pub header_read_timeout: Option<String>,
    pub body_read_timeout: Option<String>,
    pub body_min_rate: Option<u64>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<u64>,
    pub shutdown_grace: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPaths {
    /// `merge` (default) or `reject`.
    pub duplicate_slashes: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRequestId {
    /// Header that carries the request id (default `x-request-id`).
    pub header: Option<String>,
    /// Peers (CIDRs) whose request id header is trusted; from anyone else a new id is made.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    /// `stdout` (default), `stderr`, `off`, or a file path.
    pub output: Option<String>,
    /// Request headers to include in each entry (credentials are still redacted).
    #[serde(default)]
    pub headers: Vec<String>,
    /// Extra request headers never to be logged (Authorization and Cookie never are).
    #[serde(default)]
    pub redact_headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGatewayResponse {
    pub status: Option<u16>,
    pub message: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub name: String,
    /// Stage names; each is served under `/{stage}`.
    #[serde(default)]
    pub stages: Vec<String>,
    /// A custom base path instead of stages (`/` serves the API at the root).
    #[serde(default)]
    pub base_path: Option<String>,
    /// Listeners that serve this API (default: every listener that is not private).
    #[serde(default)]
    pub listeners: Option<Vec<String>>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// The API id in `execute-api` ARNs (default: the API's name).
    pub api_id: Option<String>,
    /// An IAM resource policy (the JSON document, inline), or
    pub resource_policy: Option<serde_json::Value>,
    /// a file holding it.
    pub resource_policy_file: Option<String>,
    /// Default for routes that say neither: every route is public, or
    pub public: Option<bool>,
    /// needs one of these authorizers (`aws_iam`: SigV4-signed by a known identity).
    pub authorizers: Option<Vec<String>>,
    /// A rate limit for each stage of this API (all callers).
    pub throttle: Option<RawThrottle>,
    /// Where the API key comes from: `header` (default) or `authorizer` (a Lambda
    /// authorizer's `usageIdentifierKey`).
    pub api_key_source: Option<String>,
    /// The header of `api_key_source: header` (default `x-api-key`).
    pub api_key_header: Option<String>,
    /// Default for routes that do not say: they need an API key.
    pub api_key_required: Option<bool>,
    /// The web ACL (a name under `server.waf.web_acls`) for every stage of this API, and
    pub web_acl: Option<String>,
    /// per-stage web ACLs that replace it for those stages.
    #[serde(default)]
    pub stage_web_acls: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// An HTTP method or `ANY`.
    pub method: String,
    /// A path template: `/pets/{id}`, `/files/{proxy+}`.
    pub path: String,
    pub integration: RawIntegration,
    /// Tags, visible to policies as `aws:ResourceTag/<key>`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// No authentication: must be said (secure by default).
    pub public: Option<bool>,
    /// One of these must accept the request.
    pub authorizers: Option<Vec<String>>,
    /// OAuth scopes a JWT must carry (all of them) for this route.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A rate limit for each stage of this route, replacing the API's for it.
    pub throttle: Option<RawThrottle>,
    /// Callers must send an API key that is in a usage plan for this stage.
    pub api_key_required: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawIntegration {
    Http(RawHttpIntegration),
    Mock(RawMockIntegration),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpIntegration {
    /// Upstream URL. Without `{param}` placeholders the route's path is appended to it;
    /// with them, the path is exactly the URL with the placeholders filled in.
    pub url: String,
    /// `forward` (default) or `drop` the request's query string.
    pub query: Option<String>,
    pub connect_timeout: Option<String>,
    /// Total time for the upstream to answer (default 29 s, as API Gateway).
    pub timeout: Option<String>,
    /// Speak HTTP/2 to the upstream (by ALPN over TLS, prior knowledge over plain HTTP).
    #[serde(default)]
    pub http2: bool,
    /// Send the client's Host header instead of the upstream's authority.
    #[serde(default)]
    pub preserve_host: bool,
    #[serde(default)]
    pub tls: Option<RawUpstreamTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamTls {
    /// PEM CA bundle to verify the upstream with (default: the public web roots).
    pub ca: Option<String>,
    /// Client certificate (PEM chain) and key presented to the upstream.
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMockIntegration {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
}

fn default_status() -> u16 {
    200
}
