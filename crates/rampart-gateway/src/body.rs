//! Body types of the request path. Bodies stream: nothing is buffered whole unless a
//! later stage needs it.
//!
//! - [`GatewayBody`]: what the gateway answers with (a fixed body or a streamed upstream body).
//! - [`LimitedBody`]: the client's request body, cut off at the configured size limit and
//!   when the client keeps the gateway waiting for it too long ([`BodyPace`]).
//! - [`RecordedBody`]: the outgoing body, counting bytes and calling the recorder once,
//!   when the body ends or the client goes away.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::integrate::UpstreamBody;
use crate::respond::GatewayError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// A response body: fixed bytes, or an upstream's streamed body.
    #[project = GatewayBodyProj]
    pub enum GatewayBody {
        Full { #[pin] inner: Full<Bytes> },
        Upstream { #[pin] inner: UpstreamBody, deadline: Pin<Box<tokio::time::Sleep>> },
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
pub fn upstream(inner: UpstreamBody, deadline: Pin<Box<tokio::time::Sleep>>) -> GatewayBody {
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
                Poll::Ready(r) => Poll::Ready(r),
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

/// The client sent its request body too slowly (see [`BodyPace`]).
#[derive(Debug, thiserror::Error)]
#[error("request body too slow: waited {waited:?} for {received} bytes")]
pub struct BodyTimeout {
    pub waited: Duration,
    pub received: u64,
}

/// How long a client may keep the gateway waiting for its request body (Apache
/// `mod_reqtimeout`'s `body=…,MinRate=…`): `timeout`, plus one second for every `min_rate`
/// bytes received so far. Only time spent waiting on the client counts (not time in which
/// the upstream was slow to take the bytes), so a slowloris that dribbles a body is cut off
/// about `timeout` after it starts, and a large upload at `min_rate` bytes a second or more
/// is never cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub timeout: Duration,
    /// Bytes a second; 0: no extension.
    pub min_rate: u64,
}

/// The time a body has kept the gateway waiting, against its [`BodyPace`]. The timer exists
/// only while the client has nothing ready. Even a body that came with its head is not
/// ready at the first poll (hyper's HTTP/1.1 dispatcher hands it over on demand), so the
/// first time a wait begins the body yields once instead (it asks to be polled again at
/// once, behind the dispatcher, which was just woken): the usual body is then ready, and
/// no timer is registered for it (a timer per request cost about 1% of the 2 KB POST
/// benchmark's requests a second).
struct Stall {
    pace: BodyPace,
    received: u64,
    waited: Duration,
    /// The current wait: when it began, and the timer for what is left of the allowance.
    wait: Option<(tokio::time::Instant, Pin<Box<tokio::time::Sleep>>)>,
    /// The body has yielded since bytes last arrived.
    yielded: bool,
}

impl Stall {
    fn new(pace: BodyPace) -> Self {
        Self {
            pace,
            received: 0,
            waited: Duration::ZERO,
            wait: None,
            yielded: false,
        }
    }

    fn allowance(&self) -> Duration {
        let extra = match self.pace.min_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(self.received as f64 / rate as f64),
        };
        self.pace.timeout.saturating_add(extra)
    }

    /// The client has nothing ready: an error once it has kept the gateway waiting past its
    /// allowance.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<BodyTimeout> {
        if self.wait.is_none() && !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.wait.is_none() {
            let now = tokio::time::Instant::now();
            let left = self.allowance().saturating_sub(self.waited);
            self.wait = Some((now, Box::pin(tokio::time::sleep_until(now + left))));
        }
        let Some((since, timer)) = self.wait.as_mut() else {
            return Poll::Pending;
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(BodyTimeout {
                waited: self.waited + since.elapsed(),
                received: self.received,
            }),
            Poll::Pending => Poll::Pending,
        }
    }

    /// `n` bytes arrived.
    fn arrived(&mut self, n: usize) {
        self.received += n as u64;
        self.yielded = false;
        if let Some((since, _)) = self.wait.take() {
            self.waited += since.elapsed();
        }
    }
}

/// The gateway error for a request body the client sent too large ([`BodyTooLarge`]) or
/// too slowly ([`BodyTimeout`]), if `e` is one of those; `None` for any other failure.
pub fn client_body_error(e: &(dyn std::error::Error + 'static)) -> Option<GatewayError> {
    if e.is::<BodyTooLarge>() {
        return Some(GatewayError::BodyTooLarge);
    }
    e.downcast_ref::<BodyTimeout>()
        .map(|t| GatewayError::BodyTimeout {
            detail: t.to_string(),
        })
}

/// Read a whole body, refusing more than `limit` bytes or a client slower than `pace`.
pub async fn read_limited(body: Incoming, limit: u64, pace: BodyPace) -> Result<Bytes, BoxError> {
    use http_body_util::BodyExt;
    let collected = LimitedBody::new(RequestBody::Streaming(body), limit, pace)
        .collect()
        .await?;
    Ok(collected.to_bytes())
}

/// A client request body cut off with [`BodyTooLarge`] past `limit` bytes, and with
/// [`BodyTimeout`] when the client is slower than its [`BodyPace`].
pub struct LimitedBody {
    inner: Option<Incoming>,
    /// A buffered body, taken by the first poll.
    buffered: Option<Bytes>,
    seen: u64,
    limit: u64,
    stall: Stall,
}

impl LimitedBody {
    pub fn new(body: RequestBody, limit: u64, pace: BodyPace) -> Self {
        let (inner, buffered) = match body {
            RequestBody::Streaming(b) => (Some(b), None),
            RequestBody::Buffered(b) => (None, (!b.is_empty()).then_some(b)),
        };
        Self {
            inner,
            buffered,
            seen: 0,
            limit,
            stall: Stall::new(pace),
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
                let n = frame.data_ref().map_or(0, Bytes::len);
                this.stall.arrived(n);
                this.seen += n as u64;
                if this.seen > this.limit {
                    return Poll::Ready(Some(Err(BodyTooLarge { limit: this.limit }.into())));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.stall.poll_expired(cx) {
                Poll::Ready(timeout) => Poll::Ready(Some(Err(timeout.into()))),
                Poll::Pending => Poll::Pending,
            },
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

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn poll(stall: &mut Stall) -> Poll<BodyTimeout> {
        stall.poll_expired(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[tokio::test]
    async fn only_time_spent_waiting_on_the_client_counts() {
        let ms = Duration::from_millis;
        let mut stall = Stall::new(BodyPace {
            timeout: ms(300),
            min_rate: 0,
        });
        // Waiting on the client for 150 ms, then bytes arrive. (Each wait starts with a
        // yield: the timer starts at the second poll.)
        assert!(poll(&mut stall).is_pending());
        assert!(stall.wait.is_none());
        assert!(poll(&mut stall).is_pending());
        tokio::time::sleep(ms(150)).await;
        stall.arrived(10);
        // The upstream takes its time (the body is not polled): not the client's.
        tokio::time::sleep(ms(400)).await;
        // Waiting again: 150 ms of the allowance are left, so not expired at once...
        assert!(poll(&mut stall).is_pending());
        assert!(poll(&mut stall).is_pending());
        // ...but once they are used up.
        tokio::time::sleep(ms(200)).await;
        match poll(&mut stall) {
            Poll::Ready(t) => {
                assert_eq!(t.received, 10);
                assert!(t.waited >= ms(300) && t.waited < ms(1000), "{:?}", t.waited);
            }
            Poll::Pending => panic!("not expired after 350 ms of waiting in all"),
        }
    }

    #[test]
    fn the_allowance_grows_with_the_bytes_received_at_the_minimum_rate() {
        let mut stall = Stall::new(BodyPace {
            timeout: Duration::from_secs(20),
            min_rate: 500,
        });
        assert_eq!(stall.allowance(), Duration::from_secs(20));
        stall.arrived(1000);
        assert_eq!(stall.allowance(), Duration::from_secs(22));
        stall.arrived(250);
        assert_eq!(stall.allowance(), Duration::from_millis(22_500));
    }
}
