//! SQL injection and cross-site scripting detection (`SqliMatchStatement`,
//! `XssMatchStatement`).

use serde::Deserialize;

/// `SqliMatchStatement.SensitivityLevel`: `LOW` (the default) or `HIGH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sensitivity {
    #[default]
    Low,
    High,
}

/// Whether `input` (already transformed) contains SQL injection.
pub fn is_sqli(input: &[u8], sensitivity: Sensitivity) -> bool {
    let _ = (input, sensitivity);
    false
}

/// Whether `input` (already transformed) contains cross-site scripting.
pub fn is_xss(input: &[u8]) -> bool {
    let _ = input;
    false
}
