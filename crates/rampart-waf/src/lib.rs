//! Rampart's web application firewall.

pub mod detect;
pub mod rate;
pub mod transform;
