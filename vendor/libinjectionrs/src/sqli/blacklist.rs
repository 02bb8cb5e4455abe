// SQL injection blacklist checker - matches C implementation exactly

use super::sqli_data;

/// Check if a fingerprint is blacklisted
/// This matches libinjection_sqli_blacklist from the C version
pub fn is_blacklisted(fingerprint: &str) -> bool {
    // Match the C version: convert v0 fingerprint to v1 format
    // v0: up to 5 chars, mixed case  
    // v1: '0' prefix, up to 5 more chars, upper case
    
    if fingerprint.is_empty() {
        return false;
    }
    
    // Build the v1 fingerprint with '0' prefix and uppercase (Rampart patch: on the stack;
    // lookup_bytes upper-cases).
    let fp = fingerprint.as_bytes();
    let mut buf = [0u8; 16];
    if fp.len() + 1 > buf.len() {
        return false;
    }
    buf[0] = b'0';
    buf[1..=fp.len()].copy_from_slice(fp);
    sqli_data::lookup_bytes(&buf[..=fp.len()]) == crate::sqli::TokenType::Fingerprint
}
