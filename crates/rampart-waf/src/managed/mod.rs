//! The built-in managed rule groups, under the names AWS users paste into
//! `ManagedRuleGroupStatement` (vendor `AWS`). Each is a rule group in the AWS JSON shape,
//! compiled into the binary; `docs/waf-managed-rules.md` documents every rule.

use crate::model::RuleGroup;
use std::sync::OnceLock;

/// The built-in groups, in the order they are documented.
pub const NAMES: [&str; 7] = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesPHPRuleSet",
    "AWSManagedRulesAdminProtectionRuleSet",
];

const SOURCES: [&str; 7] = [
    include_str!("AWSManagedRulesCommonRuleSet.json"),
    include_str!("AWSManagedRulesSQLiRuleSet.json"),
    include_str!("AWSManagedRulesKnownBadInputsRuleSet.json"),
    include_str!("AWSManagedRulesLinuxRuleSet.json"),
    include_str!("AWSManagedRulesUnixRuleSet.json"),
    include_str!("AWSManagedRulesPHPRuleSet.json"),
    include_str!("AWSManagedRulesAdminProtectionRuleSet.json"),
];

type Parsed = Result<RuleGroup, String>;

static PARSED: OnceLock<Vec<Parsed>> = OnceLock::new();

/// The group's JSON source.
pub fn source(name: &str) -> Option<&'static str> {
    NAMES.iter().position(|n| *n == name).map(|i| SOURCES[i])
}

/// The parsed group, `None` for an unknown name.
pub fn group(name: &str) -> Option<Result<RuleGroup, String>> {
    let i = NAMES.iter().position(|n| *n == name)?;
    let all = PARSED.get_or_init(|| {
        SOURCES
            .iter()
            .map(|s| crate::parse_rule_group(s.as_bytes()).map_err(|e| e.to_string()))
            .collect()
    });
    all.get(i).cloned()
}

/// Every `RegexString` of the built-in groups, for the tests of what is built from them.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn regex_patterns() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("RegexString", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for src in SOURCES {
        walk(&serde_json::from_str(src).unwrap(), &mut out);
    }
    out
}
