//! Stage 8, integrate: hand the request to its backend. `http` proxies to an upstream
//! (pooled, streaming, with timeouts); `mock` answers from configuration. Functions come
//! with a later issue.
//!
//! The only way in is [`crate::authz::Authorized`], a value that only the authorize
//! stage can make: a request cannot reach a backend without passing every stage before.

pub mod h1;
pub mod headers;
pub mod http;
pub mod mock;
pub mod pool;

use std::sync::Arc;

pub use self::http::HttpIntegration;
pub use self::mock::MockIntegration;

/// An upstream response body: read by the request's task from an HTTP/1.1 connection, or
/// a stream of hyper's HTTP/2 client.
pub enum UpstreamBody {
    H1(h1::ResponseBody),
    H2(hyper::body::Incoming),
}

impl http_body::Body for UpstreamBody {
    type Data = bytes::Bytes;
    type Error = crate::body::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        match self.get_mut() {
            UpstreamBody::H1(b) => std::pin::Pin::new(b).poll_frame(cx),
            UpstreamBody::H2(b) => std::pin::Pin::new(b)
                .poll_frame(cx)
                .map(|r| r.map(|r| r.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::H1(b) => b.is_end_stream(),
            UpstreamBody::H2(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            UpstreamBody::H1(b) => b.size_hint(),
            UpstreamBody::H2(b) => b.size_hint(),
        }
    }
}

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
