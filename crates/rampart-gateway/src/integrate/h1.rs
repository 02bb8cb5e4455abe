//! A purpose-built HTTP/1.1 client for the proxy path.
//!
//! hyper's client drives each upstream connection from a task of its own: a request went
//! from the task serving the client over a channel to that task, and its response and
//! body came back over two more, with a wake-up each way. Here the task serving the client
//! writes the request and reads the response itself, and a response that arrives whole
//! with its head (the common case for small answers) hands its connection back to the pool
//! before the client has even been answered.
//!
//! What it speaks (RFC 9112):
//! - Requests: origin-form target; the body framed by `content-length` when its size is
//!   known, else `transfer-encoding: chunked`; the head and the first body bytes go out in
//!   one write.
//! - Responses: interim 1xx responses are skipped (101 is refused: no upgrades through the
//!   proxy); the body is framed by `transfer-encoding: chunked` (trailers are read and
//!   dropped), `content-length` (conflicting values are refused), or the end of the
//!   connection; HEAD, 204 and 304 have none.
//! - Reuse: only after a complete response to HTTP/1.1 without `connection: close`, with
//!   no stray bytes after it, and never after a close-delimited body or a response that
//!   had both `transfer-encoding` and `content-length`.
//! - Limits: a response head of at most 64 KiB and 128 header fields, chunk-size lines of
//!   at most 4 KiB, trailers of at most 16 KiB. Past them the response fails with 502.

use std::fmt::Write as _;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::body::{BoxError, LimitedBody};

const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;
const READ_SIZE: usize = 16 * 1024;
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;
/// Request bytes gathered before a write; larger body frames are written as they are.
const COALESCE: usize = 16 * 1024;

/// The byte stream to an upstream: plain TCP or TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Where a finished connection goes back to.
pub trait Checkin: Send + Sync + 'static {
    fn checkin(&self, conn: Conn);
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum H1Error {
    /// The request head could not be written: nothing reached the upstream.
    WriteFailed(io::Error),
    /// The request went out, but the connection ended before any byte of a response.
    NoResponse(Option<io::Error>),
    /// Reading or writing failed later.
    Io(io::Error),
    /// The connection ended in the middle of a response head.
    ClosedInHead,
    /// The upstream broke the protocol.
    Protocol(&'static str),
    /// The client's request body failed (too large, or the client went away).
    Body(BoxError),
}

impl std::fmt::Display for H1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            H1Error::WriteFailed(e) => write!(f, "writing the request: {e}"),
            H1Error::NoResponse(Some(e)) => write!(f, "no response: {e}"),
            H1Error::NoResponse(None) => f.write_str("connection closed before a response"),
            H1Error::Io(e) => write!(f, "{e}"),
            H1Error::ClosedInHead => f.write_str("connection closed in the response head"),
            H1Error::Protocol(m) => write!(f, "invalid response: {m}"),
            H1Error::Body(e) => write!(f, "request body: {e}"),
        }
    }
}

impl std::error::Error for H1Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            H1Error::Body(e) => Some(e.as_ref()),
            H1Error::WriteFailed(e) | H1Error::Io(e) | H1Error::NoResponse(Some(e)) => Some(e),
            _ => None,
        }
    }
}

/// How a request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body and no header saying so.
    None,
    Length(u64),
    Chunked,
}

impl RequestFraming {
    /// Decide from the body: an exact size is sent as `content-length`, an unknown one
    /// chunked. An empty body gets `content-length: 0` where a body is expected (the
    /// methods that carry one, or the client said so).
    pub fn for_body(method: &Method, client_sent_length: bool, body: &LimitedBody) -> Self {
        if body.is_end_stream() {
            let expects_body =
                client_sent_length || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
            return if expects_body {
                RequestFraming::Length(0)
            } else {
                RequestFraming::None
            };
        }
        match body.size_hint().exact() {
            Some(n) => RequestFraming::Length(n),
            None => RequestFraming::Chunked,
        }
    }
}

/// Write a request head: request line, the headers (minus the framing and `expect`
/// headers, which this client sets itself), the framing header.
pub fn encode_head(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    framing: RequestFraming,
    out: &mut BytesMut,
) {
    out.reserve(64 + path_and_query.len() + headers.len() * 32);
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path_and_query.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::EXPECT
        {
            continue;
        }
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        RequestFraming::Chunked => out.put_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.put_slice(b"\r\n");
}

/// An HTTP/1.1 connection to an upstream, idle between exchanges.
pub struct Conn {
    io: Stream,
    /// Bytes read and not yet used; empty between exchanges.
    buf: BytesMut,
}

impl Conn {
    pub fn new(io: Stream) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
        }
    }

    /// Whether an idle connection may carry another request: the upstream has neither
    /// closed it nor sent anything unasked. Never waits and, on plain TCP, makes no system
    /// call unless the socket has been reported readable.
    pub fn reusable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut byte = [MaybeUninit::<u8>::uninit(); 1];
        let mut rb = ReadBuf::uninit(&mut byte);
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut rb),
            Poll::Pending
        )
    }

    /// Send a request and read the response head. The request body is written while the
    /// response is read (an upstream may answer before the body ends, and a streamed body
    /// keeps streaming after the response head). The response body streams from the
    /// returned [`H1Body`], which returns the connection to `pool` once both directions
    /// are complete (at once, when the response arrived whole with its head).
    pub async fn exchange(
        mut self,
        head: BytesMut,
        body: LimitedBody,
        framing: RequestFraming,
        head_request: bool,
        pool: Arc<dyn Checkin>,
    ) -> Result<(http::response::Parts, H1Body), H1Error> {
        let mut upload = Some(Upload::new(head, body, framing));
        let mut upload_failed: Option<(io::Error, bool)> = None;
        let mut received = false;
        let head = poll_fn(|cx| {
            if let Some(up) = upload.as_mut() {
                match up.poll(&mut self.io, cx) {
                    Poll::Ready(Ok(())) => upload = None,
                    Poll::Ready(Err(UploadError::Body(e))) => {
                        return Poll::Ready(Err(H1Error::Body(e)))
                    }
                    // The upstream may still answer (say, a 413 before closing): read on.
                    Poll::Ready(Err(UploadError::Io(e))) => {
                        upload_failed = Some((e, up.wrote_any));
                        upload = None;
                    }
                    Poll::Pending => {}
                }
            }
            self.poll_head(cx, &mut received)
        })
        .await;
        let mut head = match (head, upload_failed.take()) {
            (Ok(h), _) => h,
            (Err(H1Error::NoResponse(_) | H1Error::ClosedInHead), Some((e, false))) => {
                return Err(H1Error::WriteFailed(e))
            }
            (Err(H1Error::NoResponse(_)), Some((e, true))) => {
                return Err(H1Error::NoResponse(Some(e)))
            }
            (Err(e), _) => return Err(e),
        };
        let (response_framing, mut keep_alive) = response_framing(&mut head, head_request)?;
        // A request that did not go out whole leaves the connection in an unknown state.
        keep_alive &= upload_failed.is_none();
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = head.status;
        parts.version = Version::HTTP_11;
        parts.headers = head.headers;
        let mut out = H1Body {
            conn: None,
            state: BodyState::Done,
            keep_alive,
            upload,
            pool: Some(pool),
        };
        match response_framing {
            ResponseFraming::Empty => out.finish(self),
            ResponseFraming::Length(n) if self.buf.len() as u64 >= n => {
                let data = self.buf.split_to(n as usize).freeze();
                out.finish(self);
                if !data.is_empty() {
                    out.state = BodyState::Ready(data);
                }
            }
            ResponseFraming::Length(n) => {
                out.state = BodyState::Length(n);
                out.conn = Some(self);
            }
            ResponseFraming::Chunked => {
                out.state = BodyState::Chunked(ChunkedDecoder::new());
                out.conn = Some(self);
            }
            ResponseFraming::UntilClose => {
                out.state = BodyState::UntilClose;
                out.conn = Some(self);
            }
        }
        Ok((parts, out))
    }

    /// Read more bytes into the buffer; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.buf.reserve(READ_SIZE);
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf)
    }

    /// Read until a final (non-1xx) response head is complete.
    fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        received: &mut bool,
    ) -> Poll<Result<Head, H1Error>> {
        loop {
            if !self.buf.is_empty() {
                *received = true;
                if let Some(head) = parse_head(&mut self.buf)? {
                    match head.status.as_u16() {
                        101 => return Poll::Ready(Err(H1Error::Protocol("protocol upgrade"))),
                        100..=199 => continue, // interim response: the real one follows
                        _ => return Poll::Ready(Ok(head)),
                    }
                }
                if self.buf.len() >= MAX_HEAD {
                    return Poll::Ready(Err(H1Error::Protocol("response head too large")));
                }
            }
            match ready!(self.poll_fill(cx)) {
                Ok(0) if *received => return Poll::Ready(Err(H1Error::ClosedInHead)),
                Ok(0) => return Poll::Ready(Err(H1Error::NoResponse(None))),
                Ok(_) => {}
                Err(e) if *received => return Poll::Ready(Err(H1Error::Io(e))),
                Err(e) => return Poll::Ready(Err(H1Error::NoResponse(Some(e)))),
            }
        }
    }
}

enum UploadError {
    Io(io::Error),
    Body(BoxError),
}

/// A request on its way out: bytes not yet written, and the body they come from.
pub struct Upload {
    out: BytesMut,
    body: LimitedBody,
    framing: RequestFraming,
    /// Body bytes taken so far.
    taken: u64,
    body_done: bool,
    unflushed: bool,
    wrote_any: bool,
}

impl Upload {
    fn new(head: BytesMut, body: LimitedBody, framing: RequestFraming) -> Self {
        Self {
            out: head,
            body,
            framing,
            taken: 0,
            body_done: framing == RequestFraming::None,
            unflushed: false,
            wrote_any: false,
        }
    }

    /// Take what the body has ready (up to [`COALESCE`] bytes, so the head and the first
    /// body bytes leave in one write), write it, repeat; ready when everything is written
    /// and flushed.
    fn poll(&mut self, io: &mut Stream, cx: &mut Context<'_>) -> Poll<Result<(), UploadError>> {
        loop {
            while !self.body_done && self.out.len() < COALESCE {
                match Pin::new(&mut self.body).poll_frame(cx) {
                    Poll::Pending => break,
                    Poll::Ready(None) => {
                        self.body_done = true;
                        match self.framing {
                            RequestFraming::Chunked => self.out.put_slice(b"0\r\n\r\n"),
                            RequestFraming::Length(n) if self.taken != n => {
                                return Poll::Ready(Err(UploadError::Body(
                                    "request body shorter than declared".into(),
                                )))
                            }
                            _ => {}
                        }
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(UploadError::Body(e))),
                    Poll::Ready(Some(Ok(frame))) => {
                        // Trailers of the client's body are not forwarded.
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        if data.is_empty() {
                            continue;
                        }
                        self.taken += data.len() as u64;
                        match self.framing {
                            RequestFraming::Chunked => {
                                let _ = write!(self.out, "{:x}\r\n", data.len());
                                self.out.put_slice(&data);
                                self.out.put_slice(b"\r\n");
                            }
                            RequestFraming::Length(n) if self.taken > n => {
                                return Poll::Ready(Err(UploadError::Body(
                                    "request body longer than declared".into(),
                                )))
                            }
                            _ => self.out.put_slice(&data),
                        }
                    }
                }
            }
            if self.out.is_empty() {
                if self.unflushed {
                    match Pin::new(&mut *io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => self.unflushed = false,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(UploadError::Io(e))),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                // Not done: the body's poll above registered for its next frame.
                return if self.body_done {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
            }
            match Pin::new(&mut *io).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(UploadError::Io(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => {
                    self.out.advance(n);
                    self.wrote_any = true;
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(UploadError::Io(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A parsed response head.
struct Head {
    status: StatusCode,
    http11: bool,
    headers: HeaderMap,
}

/// Parse a response head from the front of `buf`, consuming it; `None` if incomplete.
fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, H1Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(H1Error::Protocol("too many header fields"))
        }
        Err(_) => return Err(H1Error::Protocol("malformed response head")),
    };
    let status = resp
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(H1Error::Protocol("invalid status code"))?;
    let http11 = resp.version == Some(1);
    // Where each name and value lies in the head, so the values can share its bytes.
    let base = buf.as_ptr() as usize;
    let mut spans = [(0u32, 0u32, 0u32, 0u32); MAX_HEADERS];
    let count = resp.headers.len();
    for (span, h) in spans.iter_mut().zip(resp.headers.iter()) {
        let n = h.name.as_ptr() as usize - base;
        let v = h.value.as_ptr() as usize - base;
        *span = (
            n as u32,
            (n + h.name.len()) as u32,
            v as u32,
            (v + h.value.len()) as u32,
        );
    }
    let head = buf.split_to(len).freeze();
    let mut map = HeaderMap::with_capacity(count);
    for &(ns, ne, vs, ve) in &spans[..count] {
        let name = HeaderName::from_bytes(&head[ns as usize..ne as usize])
            .map_err(|_| H1Error::Protocol("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(vs as usize..ve as usize))
            .map_err(|_| H1Error::Protocol("invalid header value"))?;
        map.append(name, value);
    }
    Ok(Some(Head {
        status,
        http11,
        headers: map,
    }))
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFraming {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// The body framing of a response and whether its connection can be reused after it
/// (RFC 9112, section 6.3).
fn response_framing(
    head: &mut Head,
    head_request: bool,
) -> Result<(ResponseFraming, bool), H1Error> {
    let h = &mut head.headers;
    let mut keep_alive = head.http11 && !has_token(h, &header::CONNECTION, "close");
    let status = head.status.as_u16();
    if head_request || status == 204 || status == 304 {
        return Ok((ResponseFraming::Empty, keep_alive));
    }
    if h.contains_key(header::TRANSFER_ENCODING) {
        // The last coding decides; anything but chunked runs to the end of the
        // connection. With a content-length as well the message is suspect: no reuse.
        let chunked = h
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|t| !t.is_empty())
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        // The length is void; it must not reach the client either.
        if h.remove(header::CONTENT_LENGTH).is_some() {
            keep_alive = false;
        }
        return Ok(if chunked {
            (ResponseFraming::Chunked, keep_alive)
        } else {
            (ResponseFraming::UntilClose, false)
        });
    }
    let mut length: Option<u64> = None;
    for v in h.get_all(header::CONTENT_LENGTH) {
        for part in v.as_bytes().split(|b| *b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(H1Error::Protocol("invalid content-length"));
            }
            let n = part
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            match length {
                Some(prev) if prev != n => {
                    return Err(H1Error::Protocol("conflicting content-length"))
                }
                _ => length = Some(n),
            }
        }
    }
    Ok(match length {
        Some(0) => (ResponseFraming::Empty, keep_alive),
        Some(n) => (ResponseFraming::Length(n), keep_alive),
        None => (ResponseFraming::UntilClose, false),
    })
}

enum BodyState {
    /// The whole body, already read.
    Ready(Bytes),
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

/// A streamed upstream response body. Dropped before its end, it closes the connection.
pub struct H1Body {
    conn: Option<Conn>,
    state: BodyState,
    keep_alive: bool,
    /// The rest of a request body still going out while the response streams.
    upload: Option<Upload>,
    pool: Option<Arc<dyn Checkin>>,
}

/// The upstream broke off a response body.
#[derive(Debug, thiserror::Error)]
#[error("upstream response body: {0}")]
pub struct BodyError(pub &'static str);

impl H1Body {
    /// The body is complete: hand the connection back if it can carry another request.
    fn finish(&mut self, conn: Conn) {
        self.state = BodyState::Done;
        // A request still going out leaves the connection mid-message: not reusable.
        if self.keep_alive && self.upload.is_none() && conn.buf.is_empty() {
            if let Some(pool) = self.pool.take() {
                pool.checkin(conn);
            }
        }
    }

    fn fail(&mut self, e: BoxError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.state = BodyState::Done;
        self.conn = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl Body for H1Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let (Some(conn), Some(up)) = (this.conn.as_mut(), this.upload.as_mut()) {
            match up.poll(&mut conn.io, cx) {
                Poll::Ready(Ok(())) => this.upload = None,
                Poll::Ready(Err(e)) => {
                    // Stop sending; the response may still complete, on a connection that
                    // is then closed.
                    let e: BoxError = match e {
                        UploadError::Io(e) => e.into(),
                        UploadError::Body(e) => e,
                    };
                    tracing::debug!(error = %e, "request body stopped while the response streamed");
                    this.upload = None;
                    this.keep_alive = false;
                }
                Poll::Pending => {}
            }
        }
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return match std::mem::replace(&mut this.state, BodyState::Done) {
                    BodyState::Ready(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                    _ => Poll::Ready(None),
                };
            };
            let data = match &mut this.state {
                BodyState::Length(rem) => {
                    if conn.buf.is_empty() {
                        match ready!(conn.poll_fill(cx)) {
                            Ok(0) => return this.fail(BodyError("closed before its end").into()),
                            Ok(_) => continue,
                            Err(e) => return this.fail(e.into()),
                        }
                    }
                    let n = (*rem).min(conn.buf.len() as u64);
                    *rem -= n;
                    let data = conn.buf.split_to(n as usize).freeze();
                    if *rem == 0 {
                        if let Some(c) = this.conn.take() {
                            this.finish(c);
                        }
                    }
                    data
                }
                BodyState::Chunked(dec) => match dec.decode(&mut conn.buf) {
                    Err(m) => return this.fail(BodyError(m).into()),
                    Ok(Some(data)) => {
                        if dec.is_done() {
                            if let Some(c) = this.conn.take() {
                                this.finish(c);
                            }
                        }
                        data
                    }
                    Ok(None) if dec.is_done() => {
                        if let Some(c) = this.conn.take() {
                            this.finish(c);
                        }
                        return Poll::Ready(None);
                    }
                    Ok(None) => match ready!(conn.poll_fill(cx)) {
                        Ok(0) => return this.fail(BodyError("closed before its end").into()),
                        Ok(_) => continue,
                        Err(e) => return this.fail(e.into()),
                    },
                },
                BodyState::UntilClose => {
                    if conn.buf.is_empty() {
                        match ready!(conn.poll_fill(cx)) {
                            Ok(0) => {
                                this.state = BodyState::Done;
                                this.conn = None;
                                return Poll::Ready(None);
                            }
                            Ok(_) => continue,
                            Err(e) => return this.fail(e.into()),
                        }
                    }
                    conn.buf.split().freeze()
                }
                BodyState::Ready(_) | BodyState::Done => {
                    this.conn = None;
                    continue;
                }
            };
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, BodyState::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            BodyState::Ready(b) => SizeHint::with_exact(b.len() as u64),
            BodyState::Length(n) => SizeHint::with_exact(*n),
            BodyState::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Hex digits of a chunk size; `any` once at least one was read.
    Size {
        any: bool,
    },
    /// A chunk extension, up to the end of the line.
    Ext,
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
    FinalLf,
    Done,
}

/// Decodes `transfer-encoding: chunked`, strictly: CRLF line ends, hex sizes that fit in
/// 64 bits, bounded size lines and trailers.
pub struct ChunkedDecoder {
    state: Chunk,
    size: u64,
    line: usize,
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self {
            state: Chunk::Size { any: false },
            size: 0,
            line: 0,
            trailers: 0,
        }
    }

    /// The final chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == Chunk::Done
    }

    /// Consume framing from `buf` and return the next piece of data, or `None` when more
    /// input is needed (or the body is done: see [`Self::is_done`]).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, &'static str> {
        loop {
            if let Chunk::Data(rem) = self.state {
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = rem.min(buf.len() as u64);
                self.state = if n == rem {
                    Chunk::DataCr
                } else {
                    Chunk::Data(rem - n)
                };
                return Ok(Some(buf.split_to(n as usize).freeze()));
            }
            if self.state == Chunk::Done {
                return Ok(None);
            }
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            buf.advance(1);
            self.state = match self.state {
                Chunk::Size { any } => {
                    self.line += 1;
                    if self.line > MAX_CHUNK_LINE {
                        return Err("chunk size line too long");
                    }
                    match b {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                            if self.size >> 60 != 0 {
                                return Err("chunk size too large");
                            }
                            self.size = self.size * 16 + d;
                            Chunk::Size { any: true }
                        }
                        b';' | b' ' | b'\t' if any => Chunk::Ext,
                        b'\r' if any => Chunk::SizeLf,
                        _ => return Err("invalid chunk size"),
                    }
                }
                Chunk::Ext => {
                    self.line += 1;
                    if self.line > MAX_CHUNK_LINE {
                        return Err("chunk size line too long");
                    }
                    match b {
                        b'\r' => Chunk::SizeLf,
                        b'\n' => return Err("bare LF in chunk extension"),
                        _ => Chunk::Ext,
                    }
                }
                Chunk::SizeLf => {
                    if b != b'\n' {
                        return Err("chunk size line not ended by CRLF");
                    }
                    self.line = 0;
                    let size = std::mem::take(&mut self.size);
                    if size == 0 {
                        Chunk::TrailerStart
                    } else {
                        Chunk::Data(size)
                    }
                }
                Chunk::DataCr if b == b'\r' => Chunk::DataLf,
                Chunk::DataLf if b == b'\n' => Chunk::Size { any: false },
                Chunk::DataCr | Chunk::DataLf => return Err("chunk data not followed by CRLF"),
                Chunk::TrailerStart | Chunk::TrailerLine => {
                    self.trailers += 1;
                    if self.trailers > MAX_TRAILERS {
                        return Err("trailers too large");
                    }
                    match (self.state, b) {
                        (Chunk::TrailerStart, b'\r') => Chunk::FinalLf,
                        (_, b'\r') => Chunk::TrailerLf,
                        (_, b'\n') => return Err("bare LF in trailers"),
                        _ => Chunk::TrailerLine,
                    }
                }
                Chunk::TrailerLf if b == b'\n' => Chunk::TrailerStart,
                Chunk::FinalLf if b == b'\n' => Chunk::Done,
                Chunk::TrailerLf | Chunk::FinalLf => return Err("trailer line not ended by CRLF"),
                Chunk::Data(_) | Chunk::Done => unreachable!("handled above"),
            };
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Decode `input` fed in pieces of `step` bytes; the data, or the error.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, bool, usize), &'static str> {
        let mut dec = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            buf.extend_from_slice(piece);
            while let Some(d) = dec.decode(&mut buf)? {
                out.extend_from_slice(&d);
            }
        }
        Ok((out, dec.is_done(), buf.len()))
    }

    #[test]
    fn chunked_bodies_decode_however_the_bytes_arrive() {
        let wire = b"5\r\nhello\r\nA;name=value\r\n, world!!!\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, wire.len()] {
            let (data, done, left) = decode_in_steps(wire, step).unwrap();
            assert_eq!(data, b"hello, world!!!", "step {step}");
            assert!(done, "step {step}");
            assert_eq!(left, 4, "bytes after the body are left alone (step {step})");
        }
        let (data, done, _) = decode_in_steps(b"0\r\n\r\n", 1).unwrap();
        assert!(data.is_empty() && done);
        // Not done until the final CRLF.
        let (_, done, _) = decode_in_steps(b"3\r\nabc\r\n0\r\n", 1).unwrap();
        assert!(!done);
    }

    #[test]
    fn malformed_chunked_bodies_are_refused() {
        for bad in [
            &b"\r\n"[..],             // no size
            b"g\r\n",                 // not hex
            b"5\nhello\r\n",          // bare LF after the size
            b"3\r\nabcX\r\n",         // data longer than its size
            b"3\r\nabc\r\r",          // broken CRLF after data
            b"11111111111111111\r\n", // 17 hex digits: over 64 bits
            b"0\r\nx: y\n\r\n",       // bare LF in trailers
            b"0\r\n\rX",              // final line not CRLF
            b";ext\r\n",              // extension without size
        ] {
            assert!(
                decode_in_steps(bad, 1).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("1;{}\r\n", "x".repeat(MAX_CHUNK_LINE));
        assert_eq!(
            decode_in_steps(long.as_bytes(), 64),
            Err("chunk size line too long")
        );
        let trailers = format!("0\r\n{}\r\n\r\n", "x".repeat(MAX_TRAILERS));
        assert_eq!(
            decode_in_steps(trailers.as_bytes(), 64),
            Err("trailers too large")
        );
        // The largest size that fits is accepted as a size.
        assert!(decode_in_steps(b"fffffffffffffff\r\n", 1).is_ok());
    }

    fn head(raw: &str) -> Head {
        let mut b = BytesMut::from(raw.as_bytes());
        parse_head(&mut b).unwrap().unwrap()
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        use ResponseFraming::*;
        let f = |raw: &str, head_req| {
            response_framing(&mut head(raw), head_req).map_err(|e| e.to_string())
        };
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", false),
            Ok((Length(5), true))
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", true),
            Ok((Empty, true))
        );
        assert_eq!(
            f("HTTP/1.1 204 No Content\r\n\r\n", false),
            Ok((Empty, true))
        );
        assert_eq!(
            f(
                "HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n",
                false
            ),
            Ok((Empty, true))
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false),
            Ok((Empty, true))
        );
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                false
            ),
            Ok((Chunked, true))
        );
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n",
                false
            ),
            Ok((Chunked, true))
        );
        // Both: chunked wins and the connection is not reused.
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
                false
            ),
            Ok((Chunked, false))
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", false),
            Ok((UntilClose, false))
        );
        assert_eq!(f("HTTP/1.1 200 OK\r\n\r\n", false), Ok((UntilClose, false)));
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\n",
                false
            ),
            Ok((Length(1), false))
        );
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\nconnection: Upgrade, CLOSE\r\ncontent-length: 1\r\n\r\n",
                false
            ),
            Ok((Length(1), false))
        );
        assert_eq!(
            f("HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n", false),
            Ok((Length(1), false))
        );
        // Repeated equal lengths are one length; different ones, or junk, are refused.
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\ncontent-length: 4, 4\r\ncontent-length: 4\r\n\r\n",
                false
            ),
            Ok((Length(4), true))
        );
        for bad in [
            "4, 5",
            "-1",
            "+4",
            "0x10",
            "",
            "99999999999999999999",
            "4 4",
        ] {
            let raw = format!("HTTP/1.1 200 OK\r\ncontent-length: {bad}\r\n\r\n");
            assert!(f(&raw, false).is_err(), "accepted content-length `{bad}`");
        }
    }

    #[test]
    fn heads_parse_in_pieces_and_keep_what_follows() {
        let raw = b"HTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\nServer: up\r\n\r\nbody";
        let mut buf = BytesMut::new();
        for (i, b) in raw.iter().enumerate() {
            buf.put_u8(*b);
            let h = parse_head(&mut buf).unwrap();
            if i + 1 < raw.len() - 4 {
                assert!(h.is_none(), "complete after {} bytes", i + 1);
                continue;
            }
            let h = h.unwrap();
            assert_eq!(h.status, 201);
            assert!(h.http11);
            let a: Vec<_> = h.headers.get_all("x-a").iter().collect();
            assert_eq!(a, ["1", "2"]);
            assert_eq!(h.headers["server"], "up");
            assert_eq!(&buf[..], b"");
            break;
        }
        let mut buf = BytesMut::from(&raw[..]);
        parse_head(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..], b"body");
        for bad in [
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTX/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        ] {
            let mut b = BytesMut::from(bad.as_bytes());
            assert!(parse_head(&mut b).is_err(), "accepted {bad:?}");
        }
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "a: b\r\n".repeat(MAX_HEADERS + 1)
        );
        let mut b = BytesMut::from(many.as_bytes());
        assert!(parse_head(&mut b).is_err());
    }

    #[test]
    fn request_heads_carry_one_framing_header() {
        let mut h = HeaderMap::new();
        h.insert("host", "up.example".parse().unwrap());
        h.insert("content-length", "99".parse().unwrap());
        h.insert("expect", "100-continue".parse().unwrap());
        h.append("x-multi", "a".parse().unwrap());
        h.append("x-multi", "b".parse().unwrap());
        let mut out = BytesMut::new();
        encode_head(
            &Method::POST,
            "/p?q=1",
            &h,
            RequestFraming::Length(12),
            &mut out,
        );
        assert_eq!(
            &out[..],
            b"POST /p?q=1 HTTP/1.1\r\nhost: up.example\r\nx-multi: a\r\nx-multi: b\r\ncontent-length: 12\r\n\r\n"
        );
        let mut out = BytesMut::new();
        encode_head(&Method::PUT, "/", &h, RequestFraming::Chunked, &mut out);
        assert!(out.ends_with(b"x-multi: b\r\ntransfer-encoding: chunked\r\n\r\n"));
        let mut out = BytesMut::new();
        encode_head(
            &Method::GET,
            "/",
            &HeaderMap::new(),
            RequestFraming::None,
            &mut out,
        );
        assert_eq!(&out[..], b"GET / HTTP/1.1\r\n\r\n");
    }
}
