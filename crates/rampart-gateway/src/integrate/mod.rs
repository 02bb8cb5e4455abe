//! Stage 8, integrate: hand the request to its backend. `http` proxies to an upstream
//! (pooled, streaming, with timeouts); `mock` answers from configuration. Functions come
//! with a later issue.
//!
//! The only way in is [`crate::pipeline::Authorized`], a value that only the authorize
//! stage can make: a request cannot reach a backend without passing every stage before.

pub mod http;
pub mod mock;
pub mod pool;

use std::sync::Arc;

pub use self::http::HttpIntegration;
pub use self::mock::MockIntegration;

/// A route's backend.
#[derive(Debug)]
pub enum Integration {
    Http(Arc<HttpIntegration>),
    Mock(MockIntegration),
}

impl Integration {
    #[cfg(test)]
    pub(crate) fn test_mock() -> Self {
        Integration::Mock(MockIntegration::new(
            ::http::StatusCode::OK,
            ::http::HeaderMap::new(),
            bytes::Bytes::new(),
        ))
    }
}
