//! The connection guard between the socket (or TLS stream) and HTTP/1.1: it enforces the
//! header read timeout (slowloris: a request head that is not complete in time gets a
//! 408 and the connection is closed) and the idle keep-alive timeout (a connection with
//! no request in flight and no new bytes is closed silently).
//!
//! Phases: `Idle` (waiting for a request) → first byte → `Head` (reading a request head;
//! the header timeout runs) → the gateway's handler is called → `Busy` (no timer: the
//! request and its response are in flight, bounded by the integration timeout) → the
//! response body ends → `Idle` again.
//!
//! The phase changes twice per request, so changing it must be cheap: it is two atomic
//! stores, and the timer is not touched. The timer instead fires at least every
//! `min(header timeout, idle timeout)`; when it fires, the guard compares the current
//! phase's deadline with the clock, acts if it has passed, and otherwise re-arms for that
//! deadline or the next check, whichever comes first. A deadline is therefore never missed:
//! a phase that begins after the timer was armed has a deadline no earlier than it.

use bytes::Bytes;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle = 0,
    Head = 1,
    Busy = 2,
}

/// State shared between a connection's guard and the requests running on it.
#[derive(Debug)]
pub struct ConnPhase {
    phase: AtomicU8,
    /// When the phase began, in nanoseconds after `base`.
    since: AtomicU64,
    base: Instant,
    timed_out: AtomicBool,
}

impl ConnPhase {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: AtomicU8::new(Phase::Idle as u8),
            since: AtomicU64::new(0),
            base: Instant::now(),
            timed_out: AtomicBool::new(false),
        })
    }

    fn set(&self, p: Phase) {
        let since = self.base.elapsed().as_nanos() as u64;
        self.since.store(since, Ordering::Relaxed);
        self.phase.store(p as u8, Ordering::Release);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Idle,
            1 => Phase::Head,
            _ => Phase::Busy,
        }
    }

    fn since(&self) -> Instant {
        self.base + Duration::from_nanos(self.since.load(Ordering::Relaxed))
    }

    /// A request head has been received and handed to the gateway.
    pub fn request_started(&self) {
        // Busy has no deadline: no need to read the clock.
        self.phase.store(Phase::Busy as u8, Ordering::Release);
    }

    /// The response has been sent in full (or abandoned).
    pub fn request_finished(&self) {
        self.set(Phase::Idle);
    }

    /// The connection was closed with a 408 because its request head was too slow.
    pub fn header_timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }
}

pin_project_lite::pin_project! {
    /// Wraps a connection's byte stream for HTTP/1.1; see the module docs.
    pub struct GuardedIo<S> {
        #[pin]
        inner: S,
        phase: Arc<ConnPhase>,
        timer: Pin<Box<Sleep>>,
        header_timeout: Duration,
        idle_timeout: Duration,
        // The 408 answer written straight to the connection (no request id exists yet).
        timeout_response: Bytes,
        written_408: usize,
    }
}

impl<S> GuardedIo<S> {
    pub fn new(
        inner: S,
        phase: Arc<ConnPhase>,
        header_timeout: Duration,
        idle_timeout: Duration,
        timeout_response: Bytes,
    ) -> Self {
        // A new connection must send its first request head within the header timeout.
        phase.set(Phase::Head);
        Self {
            inner,
            phase,
            timer: Box::pin(tokio::time::sleep(header_timeout.min(idle_timeout))),
            header_timeout,
            idle_timeout,
            timeout_response,
            written_408: 0,
        }
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncRead for GuardedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut this = self.project();
        loop {
            if *this.written_408 > 0 {
                // Finish writing the 408, then report end of stream.
                while *this.written_408 < this.timeout_response.len() {
                    match this
                        .inner
                        .as_mut()
                        .poll_write(cx, &this.timeout_response[*this.written_408..])
                    {
                        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                        Poll::Ready(Ok(n)) => *this.written_408 += n,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                let _ = this.inner.as_mut().poll_flush(cx);
                return Poll::Ready(Ok(()));
            }
            let before = buf.filled().len();
            match this.inner.as_mut().poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {
                    if buf.filled().len() > before && this.phase.phase() == Phase::Idle {
                        this.phase.set(Phase::Head);
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The timer fired: decide by the current phase.
            let now = Instant::now();
            let deadline = match this.phase.phase() {
                Phase::Busy => None,
                Phase::Idle => Some(this.phase.since() + *this.idle_timeout),
                Phase::Head => Some(this.phase.since() + *this.header_timeout),
            };
            match deadline {
                Some(d) if d <= now => {
                    if this.phase.phase() == Phase::Idle {
                        return Poll::Ready(Ok(())); // end of stream: close quietly
                    }
                    this.phase.timed_out.store(true, Ordering::Relaxed);
                    *this.written_408 = 0;
                    match this.inner.as_mut().poll_write(cx, this.timeout_response) {
                        Poll::Ready(Ok(n)) if n > 0 && n < this.timeout_response.len() => {
                            *this.written_408 = n;
                            continue;
                        }
                        Poll::Pending => {
                            *this.written_408 = 0;
                            return Poll::Ready(Ok(()));
                        }
                        _ => {
                            let _ = this.inner.as_mut().poll_flush(cx);
                            return Poll::Ready(Ok(()));
                        }
                    }
                }
                _ => {
                    let check = now + (*this.header_timeout).min(*this.idle_timeout);
                    let next = deadline.map_or(check, |d| d.min(check));
                    this.timer.as_mut().reset(next);
                }
            }
        }
    }
}

impl<S: AsyncWrite> AsyncWrite for GuardedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Requests in flight on an HTTP/2 connection, for its timeouts. HTTP/2's frames are hyper's,
/// so this guard sees requests, not bytes: a connection must start its first request within
/// the header read timeout, and is closed once it has had no request in flight for the idle
/// timeout. A client that opens a connection and dribbles a request's headers (or sends
/// nothing but pings) is cut off like an HTTP/1.1 slowloris, within the header timeout before
/// its first request and within the idle timeout after one.
#[derive(Debug)]
pub struct StreamActivity {
    in_flight: AtomicUsize,
    /// A request has been started on the connection.
    served: AtomicBool,
    /// When the connection last had no request in flight, in nanoseconds after `base`.
    idle_since: AtomicU64,
    base: Instant,
}

/// A request in flight on an HTTP/2 connection; dropping it (when the response has been
/// sent, or the request abandoned) ends it.
#[derive(Debug)]
pub struct InFlight(Arc<StreamActivity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        if a.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.idle_since
                .store(a.base.elapsed().as_nanos() as u64, Ordering::Release);
        }
    }
}

impl StreamActivity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            base: Instant::now(),
        })
    }

    /// A request has been received and handed to the gateway.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Release);
        InFlight(self.clone())
    }

    /// Resolves when the connection has gone too long without a request in flight: `first`
    /// before its first request (`"header_read_timeout"`), `idle` after
    /// (`"idle_timeout"`).
    pub async fn expired(&self, first: Duration, idle: Duration) -> &'static str {
        loop {
            let now = Instant::now();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                // Busy: look again later (a request has no deadline here; it is bounded by
                // the integration timeout).
                tokio::time::sleep(first.min(idle)).await;
                continue;
            }
            let served = self.served.load(Ordering::Acquire);
            let idle_since = self.idle_since.load(Ordering::Acquire);
            let deadline =
                self.base + Duration::from_nanos(idle_since) + if served { idle } else { first };
            if deadline <= now {
                // A request may have started, or come and gone, since the first look.
                if self.in_flight.load(Ordering::Acquire) == 0
                    && self.idle_since.load(Ordering::Acquire) == idle_since
                    && self.served.load(Ordering::Acquire) == served
                {
                    return if served {
                        "idle_timeout"
                    } else {
                        "header_read_timeout"
                    };
                }
                continue;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}
