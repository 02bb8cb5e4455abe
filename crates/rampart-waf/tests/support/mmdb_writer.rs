//! A minimal MaxMind DB (MMDB) writer for tests, following the public format spec
//! (<https://maxmind.github.io/MaxMind-DB/>): a binary search tree with 24, 28 or 32-bit
//! records (node 0 is the root; a record below `node_count` is a node, equal to it is
//! "no data", above it points into the data section at `record - node_count - 16`),
//! sixteen zero bytes, the data section, the marker `\xAB\xCD\xEFMaxMind.com` and the
//! metadata map.
//!
//! Networks are inserted broadest first: a network inserted over a narrower one that is
//! already in the tree replaces the whole subtree.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

pub const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

/// A value of the MMDB data section.
#[derive(Debug, Clone)]
pub enum Value {
    /// A pointer to a value in the data section (offset from the section's start).
    Pointer(u32),
    Str(String),
    Double(f64),
    Bytes(Vec<u8>),
    U16(u16),
    U32(u32),
    /// Keys are strings or pointers to strings.
    Map(Vec<(Value, Value)>),
    I32(i32),
    U64(u64),
    U128(u128),
    Array(Vec<Value>),
    Bool(bool),
    Float(f32),
}

pub fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

/// A map with string keys.
pub fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (s(k), v)).collect())
}

/// Control byte(s) for a value of type `type_num` and payload size `size`.
fn control(out: &mut Vec<u8>, type_num: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        assert!(size < 65_821 + (1 << 24), "value too large for MMDB");
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    if type_num <= 7 {
        out.push((type_num << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(type_num - 7);
    }
    out.extend_from_slice(&extra);
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn uint(out: &mut Vec<u8>, type_num: u8, value: u128, max_bytes: usize) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let payload = &bytes[skip..];
    assert!(payload.len() <= max_bytes);
    control(out, type_num, payload.len());
    out.extend_from_slice(payload);
}

/// Appends the encoding of `value` to `out`.
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Pointer(p) => {
            let p = *p as usize;
            if p < 1 << 11 {
                out.push(0x20 | (p >> 8) as u8);
                out.push(p as u8);
            } else if p - 2048 < 1 << 19 {
                let v = p - 2048;
                out.push(0x20 | (1 << 3) | (v >> 16) as u8);
                out.extend_from_slice(&(v as u32).to_be_bytes()[2..]);
            } else if p - 526_336 < 1 << 27 {
                let v = p - 526_336;
                out.push(0x20 | (2 << 3) | (v >> 24) as u8);
                out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
            } else {
                out.push(0x20 | (3 << 3));
                out.extend_from_slice(&(p as u32).to_be_bytes());
            }
        }
        Value::Str(text) => {
            control(out, 2, text.len());
            out.extend_from_slice(text.as_bytes());
        }
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Bytes(bytes) => {
            control(out, 4, bytes.len());
            out.extend_from_slice(bytes);
        }
        Value::U16(v) => uint(out, 5, u128::from(*v), 2),
        Value::U32(v) => uint(out, 6, u128::from(*v), 4),
        Value::Map(pairs) => {
            control(out, 7, pairs.len());
            for (key, value) in pairs {
                assert!(matches!(key, Value::Str(_) | Value::Pointer(_)));
                encode(key, out);
                encode(value, out);
            }
        }
        Value::I32(v) => {
            // Negative numbers need all four bytes.
            let bytes = v.to_be_bytes();
            let skip = if *v < 0 {
                0
            } else {
                bytes.iter().take_while(|b| **b == 0).count()
            };
            control(out, 8, 4 - skip);
            out.extend_from_slice(&bytes[skip..]);
        }
        Value::U64(v) => uint(out, 9, u128::from(*v), 8),
        Value::U128(v) => uint(out, 10, *v, 16),
        Value::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(item, out);
            }
        }
        Value::Bool(b) => control(out, 14, usize::from(*b)),
        Value::Float(f) => {
            control(out, 15, 4);
            out.extend_from_slice(&f.to_be_bytes());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Empty,
    Node(usize),
    /// Offset in the data section.
    Data(u32),
}

/// An MMDB under construction.
#[derive(Debug, Clone)]
pub struct MmdbWriter {
    pub ip_version: u16,
    pub record_size: u16,
    pub database_type: String,
    pub description: String,
    pub build_epoch: u64,
    pub languages: Vec<String>,
    pub binary_format_major_version: u16,
    pub binary_format_minor_version: u16,
    nodes: Vec<[Record; 2]>,
    data: Vec<u8>,
}

impl MmdbWriter {
    pub fn new(ip_version: u16, record_size: u16) -> MmdbWriter {
        assert!(ip_version == 4 || ip_version == 6);
        assert!(matches!(record_size, 24 | 28 | 32));
        MmdbWriter {
            ip_version,
            record_size,
            database_type: "GeoLite2-Country".to_string(),
            description: "Rampart test country database".to_string(),
            build_epoch: 1_700_000_000,
            languages: vec!["en".to_string(), "de".to_string()],
            binary_format_major_version: 2,
            binary_format_minor_version: 0,
            nodes: vec![[Record::Empty; 2]],
            data: Vec::new(),
        }
    }

    /// Appends a value to the data section; returns its offset (for the tree or for
    /// [`Value::Pointer`]).
    pub fn add_data(&mut self, value: &Value) -> u32 {
        let offset = u32::try_from(self.data.len()).unwrap();
        encode(value, &mut self.data);
        offset
    }

    /// Points `network` ("1.2.3.0/24", "2001:db8::/32") at the data at `offset`. IPv4
    /// networks go under `::/96` in an IPv6 tree.
    pub fn insert(&mut self, network: &str, offset: u32) {
        let (addr, prefix) = network.split_once('/').expect("network with a prefix");
        let addr: IpAddr = addr.parse().expect("network address");
        let prefix: u32 = prefix.parse().expect("prefix length");
        let (bits, width, prefix) = match (addr, self.ip_version) {
            (IpAddr::V4(v4), 4) => (u128::from(u32::from(v4)), 32, prefix),
            (IpAddr::V4(v4), _) => (u128::from(u32::from(v4)), 128, prefix + 96),
            (IpAddr::V6(v6), 6) => (u128::from(v6), 128, prefix),
            (IpAddr::V6(_), _) => panic!("IPv6 network {network} in an IPv4 tree"),
        };
        assert!((1..=width).contains(&prefix), "bad prefix in {network}");
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((bits >> (width - 1 - depth)) & 1) as usize;
            if depth == prefix - 1 {
                self.nodes[node][bit] = Record::Data(offset);
                return;
            }
            node = match self.nodes[node][bit] {
                Record::Node(next) => next,
                covering => {
                    // Split a covering network (or "no data") into two halves.
                    let next = self.nodes.len();
                    self.nodes.push([covering; 2]);
                    self.nodes[node][bit] = Record::Node(next);
                    next
                }
            };
        }
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn record_value(&self, record: Record) -> u64 {
        let node_count = self.nodes.len() as u64;
        match record {
            Record::Empty => node_count,
            Record::Node(n) => n as u64,
            Record::Data(offset) => node_count + 16 + u64::from(offset),
        }
    }

    /// The search tree, the separator and the data section (no metadata).
    pub fn tree_and_data(&self) -> Vec<u8> {
        let max = (1u64 << self.record_size) - 1;
        let mut out = Vec::new();
        for [left, right] in &self.nodes {
            let (l, r) = (self.record_value(*left), self.record_value(*right));
            assert!(
                l <= max && r <= max,
                "record too large for {}-bit records",
                self.record_size
            );
            let (l, r) = (l as u32, r as u32);
            match self.record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.push((((l >> 24) & 0x0F) << 4) as u8 | ((r >> 24) & 0x0F) as u8);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
        }
        assert_eq!(
            out.len(),
            self.nodes.len() * usize::from(self.record_size) / 4
        );
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&self.data);
        out
    }

    /// The metadata map.
    pub fn metadata(&self) -> Value {
        map(vec![
            (
                "node_count",
                Value::U32(u32::try_from(self.nodes.len()).unwrap()),
            ),
            ("record_size", Value::U16(self.record_size)),
            ("ip_version", Value::U16(self.ip_version)),
            ("database_type", s(&self.database_type)),
            (
                "languages",
                Value::Array(self.languages.iter().map(|l| s(l)).collect()),
            ),
            (
                "binary_format_major_version",
                Value::U16(self.binary_format_major_version),
            ),
            (
                "binary_format_minor_version",
                Value::U16(self.binary_format_minor_version),
            ),
            ("build_epoch", Value::U64(self.build_epoch)),
            ("description", map(vec![("en", s(&self.description))])),
        ])
    }

    /// The whole file.
    pub fn build(&self) -> Vec<u8> {
        let mut out = self.tree_and_data();
        out.extend_from_slice(METADATA_MARKER);
        encode(&self.metadata(), &mut out);
        out
    }
}

#[test]
fn encodes_control_bytes_per_spec() {
    // Examples from the spec's data section description.
    let mut out = Vec::new();
    encode(&s("abc"), &mut out);
    assert_eq!(out, b"\x43abc");
    out.clear();
    encode(&Value::U16(0x1234), &mut out);
    assert_eq!(out, [0xA2, 0x12, 0x34]);
    out.clear();
    encode(&Value::U32(0), &mut out);
    assert_eq!(out, [0xC0]);
    out.clear();
    encode(&Value::U64(1), &mut out);
    assert_eq!(out, [0x01, 0x02, 0x01]);
    out.clear();
    encode(&Value::Bool(true), &mut out);
    assert_eq!(out, [0x01, 0x07]);
    out.clear();
    encode(&Value::Array(vec![]), &mut out);
    assert_eq!(out, [0x00, 0x04]);
    out.clear();
    encode(&s(&"x".repeat(29)), &mut out);
    assert_eq!(&out[..2], [0x5D, 0x00]);
    out.clear();
    encode(&s(&"x".repeat(300)), &mut out);
    assert_eq!(&out[..3], [0x5E, 0x00, 15]);
    out.clear();
    encode(&Value::Pointer(5), &mut out);
    assert_eq!(out, [0x20, 0x05]);
    out.clear();
    encode(&Value::Pointer(2048), &mut out);
    assert_eq!(out, [0x28, 0x00, 0x00]);
    out.clear();
    encode(&Value::Pointer(526_336), &mut out);
    assert_eq!(out, [0x30, 0x00, 0x00, 0x00]);
    out.clear();
    encode(&Value::Map(vec![(s("a"), Value::I32(-1))]), &mut out);
    assert_eq!(out, [0xE1, 0x41, b'a', 0x04, 0x01, 0xFF, 0xFF, 0xFF, 0xFF]);
}
