//! Body types of the request path. Bodies stream: nothing is buffered whole unless a
//! later stage needs it.
//!
//! - [`GatewayBody`]: what the gateway answers with (a fixed body or a streamed upstream body).
//! - [`LimitedBody`]: the client's request body, cut off at the configured size limit.
//! - [`RecordedBody`]: the outgoing body, counting bytes and calling the recorder once,
//!   when the body ends or the client goes away.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// A response body: fixed bytes, or an upstream's streamed body.
    #[project = GatewayBodyProj]
    pub enum GatewayBody {
        Full { #[pin] inner: Full<Bytes> },
        Upstream { #[pin] inner: Incoming, deadline: Pin<Box<tokio::time::Sleep>> },
    }
}

/// A fixed body.
pub fn full(b: impl Into<Bytes>) -> GatewayBody {
    GatewayBody::Full {
        inner: Full::new(b.into()),
    }
}

/// An upstream body that must be finished when `deadline` fires (the same timer that
/// bounded the wait for the response head, so it is registered once per request).
pub fn upstream(inner: Incoming, deadline: Pin<Box<tokio::time::Sleep>>) -> GatewayBody {
    GatewayBody::Upstream { inner, deadline }
}

/// The upstream did not finish its body in time.
#[derive(Debug, thiserror::Error)]
#[error("upstream body exceeded the integration timeout")]
pub struct BodyDeadline;

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            GatewayBodyProj::Full { inner } => inner.poll_frame(cx).map_err(|e| match e {}),
            GatewayBodyProj::Upstream { inner, deadline } => match inner.poll_frame(cx) {
                Poll::Ready(r) => Poll::Ready(r.map(|r| r.map_err(Into::into))),
                Poll::Pending => {
                    if deadline.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(BodyDeadline.into())));
                    }
                    Poll::Pending
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GatewayBody::Full { inner } => inner.is_end_stream(),
            GatewayBody::Upstream { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Full { inner } => inner.size_hint(),
            GatewayBody::Upstream { inner, .. } => inner.size_hint(),
        }
    }
}

/// The request body was larger than allowed.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds the limit of {limit} bytes")]
pub struct BodyTooLarge {
    pub limit: u64,
}

/// The client's request body: still streaming from the client, or already read whole
/// (an authenticator that signs the body, such as SigV4, reads it first).
pub enum RequestBody {
    Streaming(Incoming),
    Buffered(Bytes),
}

/// Read a whole body, refusing more than `limit` bytes.
pub async fn read_limited(body: Incoming, limit: u64) -> Result<Bytes, BoxError> {
    use http_body_util::BodyExt;
    let collected = http_body_util::Limited::new(body, limit as usize)
        .collect()
        .await
        .map_err(|e| -> BoxError {
            if e.is::<http_body_util::LengthLimitError>() {
                Box::new(BodyTooLarge { limit })
            } else {
                e
            }
        })?;
    Ok(collected.to_bytes())
}

/// A client request body cut off with [`BodyTooLarge`] past `limit` bytes.
pub struct LimitedBody {
    inner: Option<Incoming>,
    /// A buffered body, taken by the first poll.
    buffered: Option<Bytes>,
    seen: u64,
    limit: u64,
}

impl LimitedBody {
    pub fn new(body: RequestBody, limit: u64) -> Self {
        let (inner, buffered) = match body {
            RequestBody::Streaming(b) => (Some(b), None),
            RequestBody::Buffered(b) => (None, (!b.is_empty()).then_some(b)),
        };
        Self {
            inner,
            buffered,
            seen: 0,
            limit,
        }
    }
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(this.buffered.take().map(|b| Ok(Frame::data(b))));
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.seen += d.len() as u64;
                    if this.seen > this.limit {
                        return Poll::Ready(Some(Err(BodyTooLarge { limit: this.limit }.into())));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Some(i) => i.is_end_stream(),
            None => self.buffered.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(i) => i.size_hint(),
            None => SizeHint::with_exact(self.buffered.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}

/// Called once when a response body is done: bytes sent, and whether it ended cleanly.
pub type Finish = Box<dyn FnOnce(u64, bool) + Send + Sync>;

pin_project_lite::pin_project! {
    /// The outgoing body: counts bytes and calls `finish` exactly once.
    pub struct RecordedBody {
        #[pin]
        inner: GatewayBody,
        sent: u64,
        finish: Option<Finish>,
    }
    impl PinnedDrop for RecordedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(f) = this.finish.take() {
                // hyper drops a body without polling past its last frame once
                // `is_end_stream` says it is done: that is a complete response.
                f(*this.sent, this.inner.is_end_stream());
            }
        }
    }
}

impl RecordedBody {
    pub fn new(inner: GatewayBody, finish: Finish) -> Self {
        Self {
            inner,
            sent: 0,
            finish: Some(finish),
        }
    }
}

impl Body for RecordedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let r = this.inner.as_mut().poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    *this.sent += d.len() as u64;
                }
                if this.inner.is_end_stream() {
                    if let Some(f) = this.finish.take() {
                        f(*this.sent, true);
                    }
                }
            }
            Poll::Ready(None) => {
                if let Some(f) = this.finish.take() {
                    f(*this.sent, true);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(f) = this.finish.take() {
                    f(*this.sent, false);
                }
            }
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
