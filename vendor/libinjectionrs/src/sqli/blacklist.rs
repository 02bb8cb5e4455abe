// SQL injection blacklist checker - matches C implementation exactly

use super::sqli_data;

/// Check if a fingerprint is blacklisted
/// This matches libinjection_sqli_blacklist from the C version
pub fn is_blacklisted(fingerprint: &str) -> bool {
    is_blacklisted_bytes(fingerprint.as_bytes())
}

/// Rampart patch: [`is_blacklisted`] on bytes. Fingerprints of up to 7 bytes (all that
/// folding makes) are answered by `sqli_data::is_blacklisted_packed`, a set of the table's
/// fingerprints packed into integers; longer ones by the keyword lookup as before.
pub fn is_blacklisted_bytes(fp: &[u8]) -> bool {
    // Match the C version: convert v0 fingerprint to v1 format
    // v0: up to 5 chars, mixed case  
    // v1: '0' prefix, up to 5 more chars, upper case
    
    if fp.is_empty() {
        return false;
    }
    if let Some(found) = sqli_data::is_blacklisted_packed(fp) {
        return found;
    }
    
    // Build the v1 fingerprint with '0' prefix and uppercase (Rampart patch: on the stack;
    // lookup_bytes upper-cases).
    let mut buf = [0u8; 16];
    if fp.len() + 1 > buf.len() {
        return false;
    }
    buf[0] = b'0';
    buf[1..=fp.len()].copy_from_slice(fp);
    sqli_data::lookup_bytes(&buf[..=fp.len()]) == crate::sqli::TokenType::Fingerprint
}
