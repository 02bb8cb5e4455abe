//! The request context: condition keys and their values. Key names are case-insensitive,
//! as in IAM. Values are strings (each operator reads them as it needs: number, date,
//! IP address, ...); a key can have several values (`aws:TagKeys`, JWT `groups`).

use std::net::IpAddr;

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
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    hash: u64,
    value: Value,
    /// The values read as IP addresses, once (IP conditions are common and run often).
    ips: Box<[Option<IpAddr>]>,
}

/// FNV-1a of a lower-cased key: compared before the key itself.
pub fn key_hash(key_lower: &str) -> u64 {
    key_lower.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An IPv4-mapped IPv6 address counts as the IPv4 address.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes().first()?;
    if !(b.is_ascii_hexdigit() || *b == b':' || b.is_ascii_whitespace()) {
        return None;
    }
    match s.trim().parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
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
        let ips = value.as_slice().iter().map(|v| parse_ip(v)).collect();
        let hash = key_hash(&key);
        let entry = Entry {
            key,
            hash,
            value,
            ips,
        };
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Look up a lower-cased key.
    pub fn get(&self, key_lower: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|e| e.key == key_lower)
            .map(|e| &e.value)
    }

    /// [`Context::get`] with the key's [`key_hash`] computed ahead (conditions do).
    pub fn get_hashed(&self, key_lower: &str, hash: u64) -> Option<&Value> {
        self.entries
            .iter()
            .find(|e| e.hash == hash && e.key == key_lower)
            .map(|e| &e.value)
    }

    /// The values of a lower-cased key read as IP addresses (None: not an address).
    pub fn get_ips(&self, key_lower: &str, hash: u64) -> Option<&[Option<IpAddr>]> {
        self.entries
            .iter()
            .find(|e| e.hash == hash && e.key == key_lower)
            .map(|e| &*e.ips)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.value))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
