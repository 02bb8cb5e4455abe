//! The AWS WAFv2 JSON shapes (what `aws wafv2 get-web-acl`, `get-rule-group`, `get-ip-set`
//! and `get-regex-pattern-set` print), strictly: unknown fields are errors. Fields AWS prints
//! that do not change how a request is judged (ids, ARNs, lock tokens, capacity, Firewall
//! Manager flags) are accepted and ignored; features Rampart does not implement (CAPTCHA,
//! Challenge, token domains, fraud-control configs, JA3/JA4 fingerprints) are rejected by
//! [`crate::compile`](mod@crate::compile) with a clear message instead of being silently skipped.

use crate::detect::Sensitivity;
use crate::transform::TransformType;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A web ACL.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WebAcl {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "ARN")]
    pub arn: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub default_action: DefaultAction,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub visibility_config: Option<VisibilityConfig>,
    #[serde(default)]
    pub capacity: Option<u64>,
    #[serde(default)]
    pub label_namespace: Option<String>,
    #[serde(default)]
    pub custom_response_bodies: BTreeMap<String, CustomResponseBody>,
    #[serde(default)]
    pub managed_by_firewall_manager: Option<bool>,
    #[serde(default)]
    pub retrofitted_by_firewall_manager: Option<bool>,
    #[serde(default)]
    pub pre_process_firewall_manager_rule_groups: Option<Vec<Value>>,
    #[serde(default)]
    pub post_process_firewall_manager_rule_groups: Option<Vec<Value>>,
    /// Rejected when not empty (CAPTCHA is not implemented).
    #[serde(default)]
    pub captcha_config: Option<Value>,
    /// Rejected when not empty (Challenge is not implemented).
    #[serde(default)]
    pub challenge_config: Option<Value>,
    #[serde(default)]
    pub token_domains: Option<Vec<String>>,
    /// Only the body inspection limit is read (`RequestBody.*.DefaultSizeInspectionLimit`).
    #[serde(default)]
    pub association_config: Option<AssociationConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssociationConfig {
    #[serde(default)]
    pub request_body: BTreeMap<String, RequestBodyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RequestBodyConfig {
    /// `KB_16`, `KB_32`, `KB_48`, `KB_64`.
    pub default_size_inspection_limit: String,
}

/// A rule group (yours, referenced by ARN, or a built-in managed one).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleGroup {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "ARN")]
    pub arn: Option<String>,
    #[serde(default)]
    pub capacity: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub visibility_config: Option<VisibilityConfig>,
    #[serde(default)]
    pub label_namespace: Option<String>,
    #[serde(default)]
    pub custom_response_bodies: BTreeMap<String, CustomResponseBody>,
    #[serde(default)]
    pub available_labels: Option<Vec<Value>>,
    #[serde(default)]
    pub consumed_labels: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IpSet {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "ARN")]
    pub arn: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "IPAddressVersion")]
    pub ip_address_version: IpVersion,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum IpVersion {
    #[serde(rename = "IPV4")]
    V4,
    #[serde(rename = "IPV6")]
    V6,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegexPatternSet {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "ARN")]
    pub arn: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub regular_expression_list: Vec<RegexEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegexEntry {
    pub regex_string: String,
}

/// A web ACL's default action.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DefaultAction {
    #[serde(default)]
    pub allow: Option<AllowAction>,
    #[serde(default)]
    pub block: Option<BlockAction>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub priority: i64,
    pub statement: Statement,
    #[serde(default)]
    pub action: Option<RuleAction>,
    #[serde(default)]
    pub override_action: Option<OverrideAction>,
    #[serde(default)]
    pub rule_labels: Vec<LabelName>,
    #[serde(default)]
    pub visibility_config: Option<VisibilityConfig>,
    #[serde(default)]
    pub captcha_config: Option<Value>,
    #[serde(default)]
    pub challenge_config: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LabelName {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VisibilityConfig {
    #[serde(default)]
    pub sampled_requests_enabled: Option<bool>,
    #[serde(default)]
    pub cloud_watch_metrics_enabled: Option<bool>,
    #[serde(default)]
    pub metric_name: Option<String>,
}

/// A rule's action: exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleAction {
    #[serde(default)]
    pub allow: Option<AllowAction>,
    #[serde(default)]
    pub block: Option<BlockAction>,
    #[serde(default)]
    pub count: Option<CountAction>,
    #[serde(default)]
    pub captcha: Option<Value>,
    #[serde(default)]
    pub challenge: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AllowAction {
    #[serde(default)]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CountAction {
    #[serde(default)]
    pub custom_request_handling: Option<CustomRequestHandling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BlockAction {
    #[serde(default)]
    pub custom_response: Option<CustomResponse>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CustomRequestHandling {
    pub insert_headers: Vec<HeaderPair>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CustomResponse {
    pub response_code: u16,
    #[serde(default)]
    pub custom_response_body_key: Option<String>,
    #[serde(default)]
    pub response_headers: Vec<HeaderPair>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HeaderPair {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CustomResponseBody {
    pub content_type: ContentType,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentType {
    TextPlain,
    TextHtml,
    ApplicationJson,
}

impl ContentType {
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::TextPlain => "text/plain",
            ContentType::TextHtml => "text/html",
            ContentType::ApplicationJson => "application/json",
        }
    }
}

/// The override action of a rule that references a rule group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OverrideAction {
    #[serde(default)]
    pub none: Option<Empty>,
    #[serde(default)]
    pub count: Option<Empty>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A statement: exactly one of the AWS statement types.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Statement {
    ByteMatchStatement(ByteMatch),
    RegexMatchStatement(RegexMatch),
    RegexPatternSetReferenceStatement(RegexSetReference),
    SqliMatchStatement(SqliMatch),
    XssMatchStatement(XssMatch),
    SizeConstraintStatement(SizeConstraint),
    #[serde(rename = "IPSetReferenceStatement")]
    IpSetReferenceStatement(IpSetReference),
    GeoMatchStatement(GeoMatch),
    LabelMatchStatement(LabelMatch),
    RateBasedStatement(Box<RateBased>),
    AndStatement(Statements),
    OrStatement(Statements),
    NotStatement(Box<NotStatement>),
    ManagedRuleGroupStatement(Box<ManagedRuleGroup>),
    RuleGroupReferenceStatement(RuleGroupReference),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statements {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NotStatement {
    pub statement: Statement,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TextTransformation {
    pub priority: i64,
    #[serde(rename = "Type")]
    pub kind: TransformType,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ByteMatch {
    /// The text to look for, as text (what the CLI and SDKs take). `SearchStringBase64`
    /// (a Rampart extension) gives it as base64 for bytes that are not text.
    #[serde(default)]
    pub search_string: Option<String>,
    #[serde(default)]
    pub search_string_base64: Option<String>,
    pub field_to_match: FieldToMatch,
    pub text_transformations: Vec<TextTransformation>,
    pub positional_constraint: Positional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Positional {
    Exactly,
    StartsWith,
    EndsWith,
    Contains,
    ContainsWord,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegexMatch {
    pub regex_string: String,
    pub field_to_match: FieldToMatch,
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegexSetReference {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub field_to_match: FieldToMatch,
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SqliMatch {
    pub field_to_match: FieldToMatch,
    pub text_transformations: Vec<TextTransformation>,
    #[serde(default)]
    pub sensitivity_level: Sensitivity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct XssMatch {
    pub field_to_match: FieldToMatch,
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SizeConstraint {
    pub field_to_match: FieldToMatch,
    pub comparison_operator: Comparison,
    pub size: u64,
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Comparison {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IpSetReference {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(default, rename = "IPSetForwardedIPConfig")]
    pub ip_set_forwarded_ip_config: Option<IpSetForwardedIpConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IpSetForwardedIpConfig {
    pub header_name: String,
    pub fallback_behavior: Fallback,
    pub position: ForwardedPosition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ForwardedIpConfig {
    pub header_name: String,
    pub fallback_behavior: Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fallback {
    Match,
    NoMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ForwardedPosition {
    First,
    Last,
    Any,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GeoMatch {
    pub country_codes: Vec<String>,
    #[serde(default, rename = "ForwardedIPConfig")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LabelMatch {
    pub scope: LabelScope,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LabelScope {
    Label,
    Namespace,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RateBased {
    pub limit: u64,
    #[serde(default)]
    pub evaluation_window_sec: Option<u64>,
    pub aggregate_key_type: AggregateKeyType,
    #[serde(default)]
    pub scope_down_statement: Option<Statement>,
    #[serde(default, rename = "ForwardedIPConfig")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
    #[serde(default)]
    pub custom_keys: Vec<CustomKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AggregateKeyType {
    Ip,
    ForwardedIp,
    CustomKeys,
    Constant,
}

/// One custom aggregation key: exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CustomKey {
    #[serde(default)]
    pub header: Option<NamedKey>,
    #[serde(default)]
    pub cookie: Option<NamedKey>,
    #[serde(default)]
    pub query_argument: Option<NamedKey>,
    #[serde(default)]
    pub query_string: Option<TransformedKey>,
    #[serde(default, rename = "HTTPMethod")]
    pub http_method: Option<Empty>,
    #[serde(default)]
    pub uri_path: Option<TransformedKey>,
    #[serde(default, rename = "IP")]
    pub ip: Option<Empty>,
    #[serde(default, rename = "ForwardedIP")]
    pub forwarded_ip: Option<Empty>,
    #[serde(default)]
    pub label_namespace: Option<LabelNamespaceKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NamedKey {
    pub name: String,
    #[serde(default)]
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TransformedKey {
    #[serde(default)]
    pub text_transformations: Vec<TextTransformation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LabelNamespaceKey {
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ManagedRuleGroup {
    pub vendor_name: String,
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub excluded_rules: Vec<LabelName>,
    #[serde(default)]
    pub rule_action_overrides: Vec<RuleActionOverride>,
    #[serde(default)]
    pub scope_down_statement: Option<Statement>,
    #[serde(default)]
    pub managed_rule_group_configs: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleActionOverride {
    pub name: String,
    pub action_to_use: RuleAction,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RuleGroupReference {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(default)]
    pub excluded_rules: Vec<LabelName>,
    #[serde(default)]
    pub rule_action_overrides: Vec<RuleActionOverride>,
}

/// The part of the request a statement inspects: exactly one member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FieldToMatch {
    #[serde(default)]
    pub uri_path: Option<Empty>,
    #[serde(default)]
    pub query_string: Option<Empty>,
    #[serde(default)]
    pub all_query_arguments: Option<Empty>,
    #[serde(default)]
    pub single_query_argument: Option<SingleName>,
    #[serde(default)]
    pub method: Option<Empty>,
    #[serde(default)]
    pub single_header: Option<SingleName>,
    #[serde(default)]
    pub headers: Option<HeadersField>,
    #[serde(default)]
    pub cookies: Option<CookiesField>,
    #[serde(default)]
    pub body: Option<BodyField>,
    #[serde(default)]
    pub json_body: Option<JsonBodyField>,
    #[serde(default)]
    pub header_order: Option<HeaderOrderField>,
    /// Rejected: TLS fingerprints are not computed.
    #[serde(default, rename = "JA3Fingerprint")]
    pub ja3_fingerprint: Option<Value>,
    #[serde(default, rename = "JA4Fingerprint")]
    pub ja4_fingerprint: Option<Value>,
    /// Rejected: browsers do not send fragments.
    #[serde(default)]
    pub uri_fragment: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SingleName {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Oversize {
    #[default]
    Continue,
    Match,
    NoMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchScope {
    All,
    Key,
    Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HeadersField {
    pub match_pattern: HeaderPattern,
    pub match_scope: MatchScope,
    #[serde(default)]
    pub oversize_handling: Oversize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HeaderPattern {
    #[serde(default)]
    pub all: Option<Empty>,
    #[serde(default)]
    pub included_headers: Option<Vec<String>>,
    #[serde(default)]
    pub excluded_headers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CookiesField {
    pub match_pattern: CookiePattern,
    pub match_scope: MatchScope,
    #[serde(default)]
    pub oversize_handling: Oversize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CookiePattern {
    #[serde(default)]
    pub all: Option<Empty>,
    #[serde(default)]
    pub included_cookies: Option<Vec<String>>,
    #[serde(default)]
    pub excluded_cookies: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BodyField {
    #[serde(default)]
    pub oversize_handling: Oversize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct JsonBodyField {
    pub match_pattern: JsonPattern,
    pub match_scope: MatchScope,
    #[serde(default)]
    pub invalid_fallback_behavior: Option<InvalidFallback>,
    #[serde(default)]
    pub oversize_handling: Oversize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct JsonPattern {
    #[serde(default)]
    pub all: Option<Empty>,
    #[serde(default)]
    pub included_paths: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvalidFallback {
    Match,
    NoMatch,
    EvaluateAsString,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HeaderOrderField {
    #[serde(default)]
    pub oversize_handling: Oversize,
}
