//! The request context: condition keys and their values. Key names are case-insensitive,
//! as in IAM. Values are strings (each operator reads them as it needs: number, date,
//! IP address, ...); a key can have several values (`aws:TagKeys`, JWT `groups`).

/// The value(s) of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    One(String),
    Many(Vec<String>),
}

impl Value {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Value::One(s) => std::slice::from_ref(s),
            Value::Many(v) => v,
        }
    }

    /// The value when there is exactly one.
    pub fn single(&self) -> Option<&str> {
        match self {
            Value::One(s) => Some(s),
            Value::Many(_) => None,
        }
    }
}

/// Keys (lower-cased) and values. Few keys per request: a vector beats a hash map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Value)>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Set a single-valued key (replacing any earlier value).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.set(key, Value::One(value.into()));
    }

    /// Set a multi-valued key.
    pub fn insert_many<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.set(
            key,
            Value::Many(values.into_iter().map(Into::into).collect()),
        );
    }

    pub fn set(&mut self, key: &str, value: Value) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Look up a lower-cased key.
    pub fn get(&self, key_lower: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| k == key_lower)
            .map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
