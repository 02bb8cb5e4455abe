//! The AWS IAM policy language for Rampart: parse and validate policy documents, evaluate
//! them exactly as IAM documents it (explicit deny, then allow, else implicit deny), explain
//! decisions, and combine identity and resource policies the way API Gateway does.
//!
//! - [`policy`]: documents → compiled [`Policy`] with findings (errors reject; warnings in
//!   the spirit of IAM Access Analyzer), JSON paths on everything.
//! - [`condition`]: every operator, `...IfExists`, `ForAnyValue:` / `ForAllValues:`, `Null`.
//! - [`vars`]: policy variables; [`glob`]: `*` / `?` wildcards and ARN matching.
//! - [`eval`]: [`PolicySet`] (indexed by resource prefix), [`Decision`], traces.
//! - [`apigw`]: API Gateway's authorization flows and 403 messages.

pub mod apigw;
pub mod condition;
pub mod context;
pub mod eval;
pub mod glob;
mod json;
pub mod policy;
pub mod vars;

pub use apigw::{authorize, denial_message, pre_authorizer, AuthType};
pub use context::{Context, Value};
pub use eval::{Caller, CallerKind, Decision, Explanation, Mismatch, PolicySet, Request};
pub use policy::{parse, parse_value, ApiArn, Finding, ParseOptions, Policy, PolicyKind, Severity};

/// Parse JSON text strictly (duplicate keys rejected), as policies are read.
pub fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    json::parse(text)
}
