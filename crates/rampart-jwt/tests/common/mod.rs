//! Shared test helpers: key material, token signing, and a JWKS server over real TLS.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod keys;
pub mod server;
