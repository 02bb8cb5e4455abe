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
//! Nor is the timer polled on every read that has to wait: only when it has fired, or
//! when the task's waker is not the one it already holds.
//!
//! HTTP/2 connections have their own guard, as hyper parses their frames: [`StreamActivity`]
//! counts the requests in flight, and [`H2HeadWatch`] follows the frame headers the client
//! sends to tell when a header block is being received.

use bytes::Bytes;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
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
        // The waker the timer was last polled with (and holds until it fires or is reset):
        // while the task's waker is that one, a pending read need not poll the timer again.
        timer_waker: Option<Waker>,
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
            timer_waker: None,
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
            if this
                .timer_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
                && !this.timer.is_elapsed()
            {
                return Poll::Pending;
            }
            if this.timer.as_mut().poll(cx).is_pending() {
                *this.timer_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            *this.timer_waker = None;
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

/// `AsyncWrite` for a read-side wrapper (a pin-projected struct with an `inner` stream):
/// writes go straight through.
macro_rules! write_through {
    ($wrapper:ident) => {
        impl<S: AsyncWrite> AsyncWrite for $wrapper<S> {
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
    };
}

write_through!(GuardedIo);

/// Requests in flight on an HTTP/2 connection, and whether a header block is being received,
/// for its timeouts. A connection must start its first request within the header read
/// timeout; a header block (a `HEADERS` frame and its `CONTINUATION`s) must arrive whole
/// within the header read timeout of its first frame ([`H2HeadWatch`] follows the client's
/// frames); and a connection is closed once it has had no request in flight for the idle
/// timeout. A client that dribbles a request's headers, on a new connection or on one that
/// has served requests, is cut off like an HTTP/1.1 slowloris.
#[derive(Debug)]
pub struct StreamActivity {
    in_flight: AtomicUsize,
    /// A request has been started on the connection.
    served: AtomicBool,
    /// When the connection last had no request in flight, in nanoseconds after `base`.
    idle_since: AtomicU64,
    /// When the header block being received began, in nanoseconds after `base`;
    /// [`NO_HEAD`] if none is.
    head_since: AtomicU64,
    base: Instant,
}

/// [`StreamActivity::head_since`] when no header block is being received.
const NO_HEAD: u64 = u64::MAX;

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
            head_since: AtomicU64::new(NO_HEAD),
            base: Instant::now(),
        })
    }

    /// A header block has begun (`true`) or ended (`false`).
    fn set_head_open(&self, open: bool) {
        let since = if open {
            (self.base.elapsed().as_nanos() as u64).min(NO_HEAD - 1)
        } else {
            NO_HEAD
        };
        self.head_since.store(since, Ordering::Release);
    }

    /// A request has been received and handed to the gateway.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Release);
        InFlight(self.clone())
    }

    /// Resolves when the connection must be closed: a header block has been arriving for
    /// longer than `first`, or the connection has gone too long without a request in flight
    /// (`first` before its first request, `idle` after). Returns the reason:
    /// `"header_read_timeout"` for a slow header block or no first request, `"idle_timeout"`.
    ///
    /// The frame watch and the requests change the state without waking this future, so it
    /// never sleeps longer than `min(first, idle)` before it looks again: a header block that
    /// begins while it sleeps is seen at most that long after it began, and its deadline
    /// (`first` after it began) is then awaited exactly.
    pub async fn expired(&self, first: Duration, idle: Duration) -> &'static str {
        let check = first.min(idle);
        loop {
            let now = Instant::now();
            let head = self.head_since.load(Ordering::Acquire);
            if head != NO_HEAD {
                let deadline = self.base + Duration::from_nanos(head) + first;
                if deadline <= now {
                    if self.head_since.load(Ordering::Acquire) == head {
                        return "header_read_timeout";
                    }
                    continue;
                }
                tokio::time::sleep_until(deadline.min(now + check)).await;
                continue;
            }
            if self.in_flight.load(Ordering::Acquire) > 0 {
                // Busy: look again later (a request has no deadline here; it is bounded by
                // the integration timeout).
                tokio::time::sleep(check).await;
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
                    && self.head_since.load(Ordering::Acquire) == NO_HEAD
                {
                    return if served {
                        "idle_timeout"
                    } else {
                        "header_read_timeout"
                    };
                }
                continue;
            }
            tokio::time::sleep_until(deadline.min(now + check)).await;
        }
    }
}

/// HTTP/2 frame types and the flag the frame watch needs (RFC 9113, section 6).
const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_HEADERS: u8 = 0x4;
/// The client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, comes before the frames.
const PREFACE_LEN: usize = 24;
const FRAME_HEADER_LEN: usize = 9;

/// Follows the frame boundaries of the bytes a client sends on an HTTP/2 connection, to tell
/// whether a header block is being received: from the first bytes of a `HEADERS` frame's
/// header to the end of the frame (`HEADERS` or `CONTINUATION`) that carries
/// `END_HEADERS`. It reads only the 9-byte frame headers and skips payloads by their length;
/// hyper parses and checks everything, so a malformed stream here only ends the connection
/// there.
#[derive(Debug)]
struct FrameScan {
    preface_left: usize,
    /// The frame header being received (`header_len` bytes of it so far).
    header: [u8; FRAME_HEADER_LEN],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    payload_left: usize,
    /// The current frame ends a header block.
    ends_block: bool,
    /// A header block has begun and not yet ended.
    in_block: bool,
}

impl FrameScan {
    fn new() -> Self {
        Self {
            preface_left: PREFACE_LEN,
            header: [0; FRAME_HEADER_LEN],
            header_len: 0,
            payload_left: 0,
            ends_block: false,
            in_block: false,
        }
    }

    /// Takes the next bytes the client sent.
    fn feed(&mut self, mut data: &[u8]) {
        let skip = self.preface_left.min(data.len());
        self.preface_left -= skip;
        data = &data[skip..];
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                data = &data[n..];
                if self.payload_left == 0 {
                    self.frame_done();
                }
                continue;
            }
            let n = (FRAME_HEADER_LEN - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len < FRAME_HEADER_LEN {
                break;
            }
            self.header_len = 0;
            let [l0, l1, l2, kind, flags, ..] = self.header;
            let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            let head = matches!(kind, FRAME_HEADERS | FRAME_CONTINUATION);
            if kind == FRAME_HEADERS {
                self.in_block = true;
            }
            self.ends_block = head && flags & FLAG_END_HEADERS != 0;
            self.payload_left = len;
            if len == 0 {
                self.frame_done();
            }
        }
    }

    fn frame_done(&mut self) {
        if self.ends_block {
            self.in_block = false;
            self.ends_block = false;
        }
    }

    /// Whether a header block is being received: one has begun and not ended, or the frame
    /// header being received is that of a `HEADERS` frame (its type is its fourth byte).
    fn head_open(&self) -> bool {
        self.in_block || (self.header_len > 3 && self.header[3] == FRAME_HEADERS)
    }
}

pin_project_lite::pin_project! {
    /// Wraps an HTTP/2 connection's byte stream (below hyper, above TLS) and tells its
    /// [`StreamActivity`] when a header block begins and ends (see [`FrameScan`]). The state
    /// is published only when it differs at the end of a read, so a request whose headers
    /// arrive in one read, the usual case, costs no store and no clock read.
    pub struct H2HeadWatch<S> {
        #[pin]
        inner: S,
        scan: FrameScan,
        activity: Arc<StreamActivity>,
        published: bool,
    }
}

impl<S> H2HeadWatch<S> {
    pub fn new(inner: S, activity: Arc<StreamActivity>) -> Self {
        Self {
            inner,
            scan: FrameScan::new(),
            activity,
            published: false,
        }
    }
}

impl<S: AsyncRead> AsyncRead for H2HeadWatch<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let r = this.inner.poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.scan.feed(&buf.filled()[before..]);
            let open = this.scan.head_open();
            if open != *this.published {
                this.activity.set_head_open(open);
                *this.published = open;
            }
        }
        r
    }
}

write_through!(H2HeadWatch);

#[cfg(test)]
mod tests {
    use super::*;

    const PREFACE: &[u8; PREFACE_LEN] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// Feeds `chunks` in order and returns whether a head is open after each.
    fn states(chunks: &[&[u8]]) -> Vec<bool> {
        let mut scan = FrameScan::new();
        chunks
            .iter()
            .map(|c| {
                scan.feed(c);
                scan.head_open()
            })
            .collect()
    }

    #[test]
    fn a_whole_header_block_in_one_read_leaves_no_head_open() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x4, 0, 0, &[])); // SETTINGS
        bytes.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS | 0x1,
            1,
            &[0x82, 0x87],
        ));
        assert_eq!(states(&[&bytes]), [false]);
    }

    #[test]
    fn a_header_block_is_open_until_the_frame_with_end_headers_is_complete() {
        let headers = frame(FRAME_HEADERS, 0x1, 3, &[0x82, 0x87]);
        let cont = frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, &[0x84, 0x41]);
        let open = states(&[
            PREFACE,
            &headers[..4],
            &headers[4..],
            &cont[..10],
            &cont[10..],
        ]);
        assert_eq!(open, [false, true, true, true, false]);
        // HEADERS with END_HEADERS, split inside its payload.
        let headers = frame(FRAME_HEADERS, FLAG_END_HEADERS, 5, &[1, 2, 3, 4]);
        let open = states(&[PREFACE, &headers[..3], &headers[3..11], &headers[11..]]);
        assert_eq!(open, [false, false, true, false]);
    }

    #[test]
    fn data_settings_and_pings_are_not_headers_however_slowly_they_come() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x4, 0, 0, &[0; 6])); // SETTINGS
        bytes.extend(frame(0x0, 0, 1, b"body bytes")); // DATA
        bytes.extend(frame(0x6, 0, 0, &[0; 8])); // PING
        bytes.extend(frame(0x8, 0, 1, &[0, 0, 1, 0])); // WINDOW_UPDATE
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert!(states(&chunks).iter().all(|open| !open));
    }

    #[test]
    fn the_preface_may_arrive_in_pieces_and_frames_follow_it_exactly() {
        let headers = frame(FRAME_HEADERS, 0, 1, &[0x82]);
        let mut tail = PREFACE[20..].to_vec();
        tail.extend_from_slice(&headers);
        assert_eq!(states(&[&PREFACE[..20], &tail]), [false, true]);
    }
}
