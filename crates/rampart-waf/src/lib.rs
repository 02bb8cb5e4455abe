//! Rampart's web application firewall: web ACLs in the AWS WAFv2 JSON shape, evaluated on
//! every request by the gateway's WAF stage.
//!
//! ```text
//!  JSON ──parse_web_acl──► model::WebAcl ──compile (+ Resources)──► CompiledAcl
//!                                                        request ──evaluate──► Decision
//! ```
//!
//! - [`model`]: the AWS shapes, strictly (unknown fields are errors, with their JSON path).
//! - [`compile`](mod@compile): validation and compilation (references resolved, regexes built, labels
//!   qualified); every error names the path of the field (`Rules[2].Statement...`).
//! - [`eval`]: rules in priority order; labels from earlier rules are visible to later
//!   ones; Allow and Block end evaluation, Count records and goes on; rule groups with
//!   `ExcludedRules`, `RuleActionOverrides`, scope-down statements and `OverrideAction`.
//! - [`transform`]: the AWS text transformations; [`detect`]: SQL injection and XSS;
//!   [`rate`]: rate-based rule state with a memory bound; [`managed`]: the built-in
//!   `AWSManagedRules*` groups.

pub mod compile;
pub mod detect;
pub mod eval;
pub mod geo;
mod json_body;
mod lazy;
mod lowercase_fold;
pub mod managed;
pub mod model;
pub mod rate;
pub mod request;
mod required;
/// The integration tests' generator (xorshift64*), for the unit tests too.
#[cfg(test)]
#[path = "../tests/support/rng.rs"]
mod test_rng;
pub mod transform;

pub use compile::{compile, BlockResponse, CompiledAcl, DEFAULT_BODY_LIMIT};
pub use eval::{Decision, MatchLocation, RuleMatch, RuleTrace, Verdict};
pub use request::WafRequest;

use model::{IpSet, RegexPatternSet, RuleGroup, WebAcl};
use std::fmt;

/// A document that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Not JSON, or not the expected shape: the JSON path and serde's message.
    Parse { path: String, message: String },
    /// Valid JSON in the right shape that does not make a valid web ACL: (path, message).
    Invalid(Vec<(String, String)>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Parse { path, message } if path.is_empty() || path == "." => {
                write!(f, "{message}")
            }
            LoadError::Parse { path, message } => write!(f, "{path}: {message}"),
            LoadError::Invalid(errs) => {
                for (i, (p, m)) in errs.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{p}: {m}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// What a web ACL may reference: IP sets, regex pattern sets and rule groups (by ARN, or by
/// name when the ARN's `.../NAME/ID` names a loaded set), plus engine settings.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub ip_sets: Vec<IpSet>,
    pub regex_sets: Vec<RegexPatternSet>,
    pub rule_groups: Vec<RuleGroup>,
    /// Body inspection limit in bytes (default 16 KB; a web ACL's `AssociationConfig` wins).
    pub body_limit: Option<usize>,
    /// Keys tracked per rate-based rule (default 100 000).
    pub rate_max_keys: Option<usize>,
    /// The country database `GeoMatchStatement` needs.
    pub geo: Option<std::sync::Arc<geo::GeoDb>>,
}

/// The name an ARN `arn:aws:wafv2:REGION:ACCOUNT:SCOPE/KIND/NAME/ID` gives.
fn arn_name(arn: &str) -> Option<&str> {
    let mut parts = arn.rsplit('/');
    let _id = parts.next()?;
    parts.next()
}

fn by_ref<'a, T>(
    items: &'a [T],
    arn: &str,
    get: impl Fn(&T) -> (Option<&str>, &str),
) -> Option<&'a T> {
    items.iter().find(|t| get(t).0 == Some(arn)).or_else(|| {
        let name = arn_name(arn).unwrap_or(arn);
        items.iter().find(|t| get(t).1 == name || get(t).1 == arn)
    })
}

/// The kinds of file a web ACL can reference, as [`Resources::load_files`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `get-ip-set` output or the bare object.
    IpSet,
    /// `get-regex-pattern-set` output or the bare object.
    RegexSet,
    /// `get-rule-group` output or the bare object.
    RuleGroup,
}

impl Resources {
    /// Parses `json` as a resource of `kind` and adds it.
    pub fn add(&mut self, kind: ResourceKind, json: &[u8]) -> Result<(), LoadError> {
        match kind {
            ResourceKind::IpSet => self.ip_sets.push(parse_ip_set(json)?),
            ResourceKind::RegexSet => self.regex_sets.push(parse_regex_set(json)?),
            ResourceKind::RuleGroup => self.rule_groups.push(parse_rule_group(json)?),
        }
        Ok(())
    }

    /// Reads and adds each of `files` as a resource of `kind`. A file that cannot be read or
    /// parsed is skipped and reported to `failed` with its index and a message that names
    /// the file; the rest are still loaded, so every broken file is reported in one run.
    pub fn load_files<P: AsRef<std::path::Path>>(
        &mut self,
        kind: ResourceKind,
        files: &[P],
        mut failed: impl FnMut(usize, String),
    ) {
        for (i, f) in files.iter().enumerate() {
            let f = f.as_ref();
            let loaded = std::fs::read(f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))
                .and_then(|bytes| {
                    self.add(kind, &bytes)
                        .map_err(|e| format!("{}: {e}", f.display()))
                });
            if let Err(m) = loaded {
                failed(i, m);
            }
        }
    }

    pub fn ip_set(&self, arn: &str) -> Option<&IpSet> {
        by_ref(&self.ip_sets, arn, |s| (s.arn.as_deref(), s.name.as_str()))
    }

    pub fn regex_set(&self, arn: &str) -> Option<&RegexPatternSet> {
        by_ref(&self.regex_sets, arn, |s| {
            (s.arn.as_deref(), s.name.as_str())
        })
    }

    pub fn rule_group(&self, arn: &str) -> Option<&RuleGroup> {
        by_ref(&self.rule_groups, arn, |s| {
            (s.arn.as_deref(), s.name.as_str())
        })
    }
}

/// Parses `json` as `T`, unwrapping the `{"<wrapper>": {...}, "LockToken": ...}` object the
/// AWS CLI prints; errors carry the JSON path.
fn parse_doc<T: serde::de::DeserializeOwned>(json: &[u8], wrapper: &str) -> Result<T, LoadError> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| LoadError::Parse {
        path: String::new(),
        message: format!("not valid JSON: {e}"),
    })?;
    let (value, prefix) = match value {
        serde_json::Value::Object(mut m) if m.contains_key(wrapper) => {
            let inner = m.remove(wrapper).unwrap_or_default();
            for k in m.keys() {
                if !["LockToken", "ApplicationIntegrationURL"].contains(&k.as_str()) {
                    return Err(LoadError::Parse {
                        path: k.clone(),
                        message: "unknown field".into(),
                    });
                }
            }
            (inner, format!("{wrapper}."))
        }
        v => (v, String::new()),
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        LoadError::Parse {
            path: if path == "." {
                prefix.trim_end_matches('.').to_owned()
            } else {
                format!("{prefix}{path}")
            },
            message: e.into_inner().to_string(),
        }
    })
}

/// A web ACL (`get-web-acl` output or the bare object).
pub fn parse_web_acl(json: &[u8]) -> Result<WebAcl, LoadError> {
    parse_doc(json, "WebACL")
}

/// A rule group (`get-rule-group` output or the bare object).
pub fn parse_rule_group(json: &[u8]) -> Result<RuleGroup, LoadError> {
    parse_doc(json, "RuleGroup")
}

/// An IP set (`get-ip-set` output or the bare object).
pub fn parse_ip_set(json: &[u8]) -> Result<IpSet, LoadError> {
    parse_doc(json, "IPSet")
}

/// A regex pattern set (`get-regex-pattern-set` output or the bare object).
pub fn parse_regex_set(json: &[u8]) -> Result<RegexPatternSet, LoadError> {
    parse_doc(json, "RegexPatternSet")
}

/// Parses and compiles a web ACL in one step.
pub fn load_web_acl(json: &[u8], res: &Resources) -> Result<CompiledAcl, LoadError> {
    compile(&parse_web_acl(json)?, res)
}
