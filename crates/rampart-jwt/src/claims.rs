//! The verified claims of a token, and the scope check.

use serde_json::{Map, Value};

/// The payload of a verified token: a JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Wrap a JSON object (for tests and callers building claims by hand).
    pub fn new(map: Map<String, Value>) -> Self {
        Claims(map)
    }

    /// A claim, whatever its type.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A claim that is a JSON string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A claim as a list of strings: a string gives itself, an array gives its string
    /// elements (others are skipped), anything else (or no claim) gives an empty list.
    pub fn get_strings(&self, name: &str) -> Vec<&str> {
        match self.0.get(name) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// A claim that is a JSON number, as `i64` when it is an integer in range.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    /// `sub`.
    pub fn sub(&self) -> Option<&str> {
        self.get_str("sub")
    }

    /// `iss` (always present in claims returned by the verifier).
    pub fn iss(&self) -> Option<&str> {
        self.get_str("iss")
    }

    /// `aud` as a list (a string or an array of strings).
    pub fn aud(&self) -> Vec<&str> {
        self.get_strings("aud")
    }

    /// `client_id` (Cognito access tokens).
    pub fn client_id(&self) -> Option<&str> {
        self.get_str("client_id")
    }

    /// `token_use` (Cognito: `id` or `access`).
    pub fn token_use(&self) -> Option<&str> {
        self.get_str("token_use")
    }

    /// `exp`, when it is an integer.
    pub fn exp(&self) -> Option<i64> {
        self.get_i64("exp")
    }

    /// The granted scopes: the space-separated `scope` claim (RFC 8693, Cognito) followed by
    /// the `scp` claim (an array, or a space-separated string).
    pub fn scopes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(s) = self.get_str("scope") {
            out.extend(s.split(' ').filter(|p| !p.is_empty()));
        }
        match self.0.get("scp") {
            Some(Value::String(s)) => out.extend(s.split(' ').filter(|p| !p.is_empty())),
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str)),
            _ => {}
        }
        out
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The underlying JSON object, by value.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

/// Whether the token was granted every scope in `required` (see [`Claims::scopes`]); an
/// empty `required` is always satisfied. Scopes are compared exactly (case-sensitive).
pub fn has_scopes(claims: &Claims, required: &[String]) -> bool {
    if required.is_empty() {
        return true;
    }
    let granted = claims.scopes();
    required.iter().all(|r| granted.contains(&r.as_str()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Claims {
        match v {
            Value::Object(m) => Claims::new(m),
            _ => Claims::default(),
        }
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        let c = claims(json!({"scope": "read  write", "scp": ["admin", 3]}));
        assert_eq!(c.scopes(), vec!["read", "write", "admin"]);
        assert!(has_scopes(&c, &["write".into(), "admin".into()]));
        assert!(!has_scopes(&c, &["Write".into()]));
        assert!(has_scopes(&c, &[]));
        assert!(has_scopes(&claims(json!({})), &[]));
        assert!(!has_scopes(&claims(json!({})), &["read".into()]));
        let c = claims(json!({"scp": "a b"}));
        assert!(has_scopes(&c, &["a".into(), "b".into()]));
    }

    #[test]
    fn string_helpers() {
        let c = claims(json!({"aud": "x", "groups": ["a", 1, "b"], "n": 5, "sub": "u"}));
        assert_eq!(c.aud(), vec!["x"]);
        assert_eq!(c.get_strings("groups"), vec!["a", "b"]);
        assert!(c.get_strings("n").is_empty());
        assert_eq!(c.get_i64("n"), Some(5));
        assert_eq!(c.sub(), Some("u"));
        assert_eq!(c.get_str("n"), None);
    }
}
