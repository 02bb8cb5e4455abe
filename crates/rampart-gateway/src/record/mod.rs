//! Stage 9b, record: the access log and metrics. Audit trail and threat findings come
//! with later issues.

pub mod access_log;
pub mod metrics;
