//! The connection guard between the socket (or TLS stream) and HTTP/1.1: it enforces the
//! header read timeout (slowloris: a request head that is not complete in time gets a
//! 408 and the connection is closed) and the idle keep-alive timeout (a connection with
//! no request in flight and no new bytes is closed silently).
//!
//! Phases: `Idle` (waiting for a request) → first byte → `Head` (reading a request head;
//! the header timeout runs) → the gateway's handler is called → `Busy` (no timer: the
//! request and its response are in flight, bounded by the integration timeout) → the
//! response body ends → `Idle` again.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Head,
    Busy,
}

/// State shared between a connection's guard and the requests running on it.
#[derive(Debug)]
pub struct ConnPhase {
    state: Mutex<(Phase, Instant)>,
    timed_out: AtomicBool,
}

impl ConnPhase {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new((Phase::Idle, Instant::now())),
            timed_out: AtomicBool::new(false),
        })
    }

    fn set(&self, p: Phase) {
        if let Ok(mut s) = self.state.lock() {
            *s = (p, Instant::now());
        }
    }

    fn get(&self) -> (Phase, Instant) {
        match self.state.lock() {
            Ok(s) => *s,
            Err(_) => (Phase::Busy, Instant::now()),
        }
    }

    /// A request head has been received and handed to the gateway.
    pub fn request_started(&self) {
        self.set(Phase::Busy);
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

/// The 408 answer written straight to the connection; no request id exists yet.
const TIMEOUT_RESPONSE: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 29\r\n\r\n{\"message\":\"Request Timeout\"}";

pin_project_lite::pin_project! {
    /// Wraps a connection's byte stream for HTTP/1.1; see the module docs.
    pub struct GuardedIo<S> {
        #[pin]
        inner: S,
        phase: Arc<ConnPhase>,
        local: Phase,
        timer: Pin<Box<Sleep>>,
        header_timeout: Duration,
        idle_timeout: Duration,
        written_408: usize,
    }
}

impl<S> GuardedIo<S> {
    pub fn new(
        inner: S,
        phase: Arc<ConnPhase>,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        // A new connection must send its first request head within the header timeout.
        phase.set(Phase::Head);
        Self {
            inner,
            phase,
            local: Phase::Head,
            timer: Box::pin(tokio::time::sleep(header_timeout)),
            header_timeout,
            idle_timeout,
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
            let (shared, since) = this.phase.get();
            if shared != *this.local {
                *this.local = shared;
                let deadline = match shared {
                    Phase::Idle => since + *this.idle_timeout,
                    Phase::Head => since + *this.header_timeout,
                    // Re-check now and then: the request may finish while we wait.
                    Phase::Busy => Instant::now() + *this.idle_timeout,
                };
                this.timer.as_mut().reset(deadline);
            }
            if *this.written_408 > 0 {
                // Finish writing the 408, then report end of stream.
                while *this.written_408 < TIMEOUT_RESPONSE.len() {
                    match this
                        .inner
                        .as_mut()
                        .poll_write(cx, &TIMEOUT_RESPONSE[*this.written_408..])
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
                    if buf.filled().len() > before && *this.local == Phase::Idle {
                        this.phase.set(Phase::Head);
                        *this.local = Phase::Head;
                        this.timer
                            .as_mut()
                            .reset(Instant::now() + *this.header_timeout);
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
            let (shared, since) = this.phase.get();
            match shared {
                Phase::Busy => {
                    *this.local = Phase::Busy;
                    this.timer
                        .as_mut()
                        .reset(Instant::now() + *this.idle_timeout);
                }
                Phase::Idle if since + *this.idle_timeout <= Instant::now() => {
                    return Poll::Ready(Ok(())); // end of stream: close quietly
                }
                Phase::Head if since + *this.header_timeout <= Instant::now() => {
                    this.phase.timed_out.store(true, Ordering::Relaxed);
                    *this.written_408 = 0;
                    match this.inner.as_mut().poll_write(cx, TIMEOUT_RESPONSE) {
                        Poll::Ready(Ok(n)) if n > 0 && n < TIMEOUT_RESPONSE.len() => {
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
                    // The phase changed since the timer was set: loop to re-arm it.
                    *this.local = Phase::Busy;
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
