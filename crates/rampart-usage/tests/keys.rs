#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_usage::{
    generate_key, key_prefix, new_id, validate_key_value, KeyHash, KeyHasher, KEY_PREFIX,
};
use std::collections::HashSet;

fn is_base62(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

#[test]
fn generated_key_format() {
    let k = generate_key();
    assert!(k.starts_with(KEY_PREFIX), "{k}");
    assert_eq!(k.len(), 43);
    assert!(k[3..].chars().all(is_base62));
    validate_key_value(&k).unwrap();
}

#[test]
fn thousand_keys_distinct_valid_and_spread_over_the_alphabet() {
    let mut seen = HashSet::new();
    let mut chars = HashSet::new();
    for _ in 0..1000 {
        let k = generate_key();
        validate_key_value(&k).unwrap();
        chars.extend(k[3..].chars());
        assert!(seen.insert(k), "duplicate key");
    }
    // 40,000 uniform draws over 62 characters: every character appears.
    assert_eq!(chars.len(), 62);
}

#[test]
fn ids_are_ten_lowercase_alphanumerics_and_distinct() {
    let mut seen = HashSet::new();
    let mut chars = HashSet::new();
    for _ in 0..1000 {
        let id = new_id();
        assert_eq!(id.len(), 10);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        chars.extend(id.chars());
        assert!(seen.insert(id));
    }
    assert_eq!(chars.len(), 36);
}

#[test]
fn key_value_validation() {
    validate_key_value(&"a".repeat(20)).unwrap();
    validate_key_value(&"Z9_-".repeat(32)).unwrap();
    validate_key_value("apikey1234abcdefghij0123456789").unwrap();
    for bad in [
        "a".repeat(19),
        "a".repeat(129),
        String::new(),
        format!("{}!", "a".repeat(25)),
        format!("{} b", "a".repeat(25)),
        format!("{}é", "a".repeat(25)),
    ] {
        let e = validate_key_value(&bad).unwrap_err();
        if bad.len() >= 4 {
            assert!(
                !e.contains(&bad[..bad.len().min(20)]),
                "message echoes the value: {e}"
            );
        }
    }
    assert!(validate_key_value(&"a".repeat(19))
        .unwrap_err()
        .contains("20 to 128"));
    assert!(validate_key_value("aaaaaaaaaaaaaaaaaaaaaa.a")
        .unwrap_err()
        .contains("position 23"));
}

#[test]
fn hash_is_keyed_and_deterministic() {
    let a = KeyHasher::new(&[1u8; 32]);
    let a2 = KeyHasher::new(&[1u8; 32]);
    let b = KeyHasher::new(&[2u8; 32]);
    let v = "rk_0123456789abcdefghijABCDEFGHIJ0123456789";
    assert_eq!(a.hash(v), a2.hash(v));
    assert_ne!(a.hash(v), b.hash(v));
    assert_ne!(
        a.hash(v),
        a.hash("rk_0123456789abcdefghijABCDEFGHIJ012345678X")
    );
    // Not a plain SHA-256 / not the value itself.
    assert_ne!(&a.hash(v).0[..], &v.as_bytes()[..32]);
}

#[test]
fn ct_eq_compares_every_byte() {
    let h = KeyHasher::new(&[3u8; 32]).hash("some-key-value-0123456789");
    assert!(h.ct_eq(&h.clone()));
    for i in 0..32 {
        for bit in [0x01u8, 0x80] {
            let mut other = h;
            other.0[i] ^= bit;
            assert!(!h.ct_eq(&other), "byte {i}");
        }
    }
    assert!(KeyHash([0; 32]).ct_eq(&KeyHash([0; 32])));
}

#[test]
fn debug_output_hides_secrets() {
    let secret = [0xabu8; 32];
    let hasher = KeyHasher::new(&secret);
    let dbg = format!("{hasher:?}");
    assert!(
        !dbg.contains("ab, ab") && !dbg.contains("abab") && !dbg.contains("171"),
        "{dbg}"
    );
    let h = hasher.hash("a-key-value-of-twenty-chars");
    let dbg = format!("{h:?}");
    assert!(dbg.len() < 30, "{dbg}");
    assert!(dbg.contains(&h.to_hex()[..8]));
    assert!(!dbg.contains(&h.to_hex()[..16]));
    assert_eq!(KeyHash::from_hex(&h.to_hex()), Some(h));
    assert_eq!(KeyHash::from_hex("zz"), None);
}

#[test]
fn prefixes() {
    assert_eq!(key_prefix("rk_AbCdEfGhIjKlMnOpQrStUv"), "rk_AbCd");
    assert_eq!(key_prefix("apikey1234abcdefghij0123456789"), "apikey1");
    assert_eq!(key_prefix("shortvalue"), "shor");
    assert_eq!(key_prefix("abc"), "a");
    assert_eq!(key_prefix(""), "");
}
