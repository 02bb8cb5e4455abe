//! One HTTP/1.1 exchange with an upstream, driven by the request's own task.
//!
//! hyper's client connection runs on a task of its own and takes each request through a
//! channel: every proxied request then wakes a second task and moves the request between
//! them, about a fifth of the proxy's instructions per request (38.3k -> 30.5k per GET
//! under callgrind). Here the request's task writes the request and reads the response
//! itself, and the response body it hands to hyper's server reads straight from the
//! upstream connection (see the README's *Benchmarks*). Parsing is `httparse`'s (the
//! parser hyper uses); this module only frames messages.
//!
//! - A reused connection is first checked for a close or stray bytes from the upstream
//!   (usually without a system call); a bodiless request with an idempotent method
//!   that still meets a connection closing under it, before any answer, is sent once more
//!   on a new one (the pool decides).
//! - The request's fields go out as the pipeline's [`Rewrite`] says, applied while the
//!   head is written (the request's map is never edited); the response head keeps only
//!   end-to-end fields (no hop-by-hop ones, none that `Connection` names, no length that a
//!   transfer coding voids).
//! - The request goes out with `content-length` when the body's length is known (always
//!   when the client sent one), chunked otherwise, nothing when there is no body and no
//!   length was given; the head waits for the body's first bytes, so that both usually
//!   leave in one write.
//! - The request body keeps flowing while the response is read (an upstream may answer
//!   before it has the whole body, and a streaming client may wait for that answer).
//! - Responses: interim 1xx are skipped, `101` is refused (upgrades are not proxied);
//!   bodies are framed as RFC 9112, section 6.3 says: none after `HEAD`, `204` and `304`;
//!   chunked when that is the last transfer coding (extensions and trailers dropped); to
//!   the end of the connection for any other transfer coding; `content-length` when every
//!   value agrees; to the end of the connection otherwise. At most [`MAX_HEAD`] bytes and
//!   [`MAX_HEADERS`] fields of head.
//! - A connection is used again only when both messages ended cleanly on it, nothing
//!   follows the response, the upstream spoke HTTP/1.1 and did not say `close`.

use std::future::Future;
use std::io::{self, Write as _};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::headers::{connection_named, tokens, Rewrite, HOP_BY_HOP};
use crate::body::{BoxError, LimitedBody};

/// The most bytes of response head (status line and fields) read before giving up.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a response head.
pub const MAX_HEADERS: usize = 128;
/// Request bytes gathered before they are written.
const WRITE_BATCH: usize = 64 * 1024;
/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// The longest chunk-size line (with extensions) or trailer section accepted.
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;

/// A connection to an upstream: TCP, or TLS over TCP.
pub enum Io {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An upstream connection between exchanges, with its buffers.
pub struct Conn {
    io: Io,
    /// Bytes read and not yet consumed.
    rbuf: BytesMut,
    /// The request bytes being written (kept for the next exchange's allocation).
    wbuf: Vec<u8>,
}

impl Conn {
    pub fn new(io: Io) -> Self {
        Self {
            io,
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
        }
    }

    /// Whether an idle connection can take a request: false once the upstream closed it,
    /// failed it, or sent anything unasked. Costs no system call when nothing happened on
    /// the connection since its last short read.
    pub fn is_usable(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut byte = [0u8; 1];
        let mut rb = ReadBuf::new(&mut byte);
        Pin::new(&mut self.io)
            .poll_read(&mut cx, &mut rb)
            .is_pending()
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.rbuf.reserve(READ_CHUNK);
        std::pin::pin!(self.io.read_buf(&mut self.rbuf)).poll(cx)
    }
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("upstream i/o: {0}")]
    Io(#[from] io::Error),
    /// The upstream closed the connection before a complete response head.
    #[error("upstream closed the connection before a complete response")]
    Closed { nothing_received: bool },
    #[error("invalid upstream response: {0}")]
    Protocol(&'static str),
    #[error("upstream switched protocols; upgrades are not proxied")]
    Upgrade,
    /// The client's request body failed (too large, too slow, or the client went away).
    #[error("request body: {0}")]
    RequestBody(BoxError),
}

impl Error {
    /// Failed before the upstream said anything: the request may be sent again on another
    /// connection when that is safe.
    pub fn nothing_received(&self) -> bool {
        matches!(
            self,
            Error::Closed {
                nothing_received: true
            }
        )
    }
}

/// The upstream closed the connection abruptly.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// How the request body is framed toward the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outgoing {
    /// No body, no framing header.
    Empty,
    /// `content-length`: bytes still to send.
    Length(u64),
    Chunked,
}

/// How the response body is framed, and where its reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Incoming {
    /// Bytes of body left.
    Length(u64),
    /// Chunked: bytes left in the current chunk (0: a chunk-size line is next).
    Chunk(u64),
    /// After a chunk's data: its CRLF.
    ChunkEnd,
    /// After the last chunk: trailer lines until an empty one (bytes seen so far).
    Trailers(usize),
    /// To the end of the connection.
    Close,
    Done,
}

/// A request on its way to the upstream and the response coming back.
pub struct Exchange {
    conn: Conn,
    /// Bytes of `conn.wbuf` already written.
    written: usize,
    body: Option<LimitedBody>,
    outgoing: Outgoing,
    /// The request is written whole (or writing failed and was given up).
    sent: bool,
    /// Writing failed: the connection is not used again.
    write_failed: bool,
    /// The request carried no body: it can be written again on another connection.
    bodiless: bool,
    /// Bytes of the request head at the start of `conn.wbuf` (kept for a repeat).
    head_len: usize,
    /// Some of the request has been written.
    started: bool,
    /// Some of the response has been read.
    received: bool,
}

impl Exchange {
    /// Encodes the request head (request line to `target`, checked by the caller to hold no
    /// space or control byte), its fields as `rewrite` says; nothing is written until the
    /// exchange is polled.
    pub fn new(
        conn: Conn,
        parts: &http::request::Parts,
        target: &str,
        rewrite: &Rewrite,
        body: LimitedBody,
    ) -> Self {
        let mut conn = conn;
        let w = &mut conn.wbuf;
        w.clear();
        w.extend_from_slice(parts.method.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(target.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\n");
        let mut field = |k: &HeaderName, v: &HeaderValue| {
            w.extend_from_slice(k.as_str().as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(v.as_bytes());
            w.extend_from_slice(b"\r\n");
        };
        if let Some(v) = rewrite.host() {
            field(&header::HOST, v);
        }
        let mut had_length = false;
        for (k, v) in &parts.headers {
            // The framing is this exchange's own (transfer-encoding stays behind with the
            // other hop-by-hop fields).
            if k == header::CONTENT_LENGTH {
                had_length = true;
            } else if rewrite.keeps(k) {
                field(k, v);
            }
        }
        for (k, v) in rewrite.forwarding() {
            field(k, v);
        }
        let outgoing = if body.is_end_stream() && !had_length {
            Outgoing::Empty
        } else {
            match body.size_hint().exact() {
                Some(n) => Outgoing::Length(n),
                None => Outgoing::Chunked,
            }
        };
        match outgoing {
            Outgoing::Empty => {}
            Outgoing::Length(n) => {
                w.extend_from_slice(b"content-length: ");
                w.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                w.extend_from_slice(b"\r\n");
            }
            Outgoing::Chunked => w.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
        w.extend_from_slice(b"\r\n");
        let head_len = w.len();
        let bodiless = outgoing == Outgoing::Empty || outgoing == Outgoing::Length(0);
        Self {
            conn,
            written: 0,
            body: (!bodiless).then_some(body),
            outgoing,
            sent: false,
            write_failed: false,
            bodiless,
            head_len,
            started: false,
            received: false,
        }
    }

    /// The same request, to be written again on `conn` (only for a bodiless request whose
    /// first connection failed before any answer).
    pub fn retry_on(&mut self, mut conn: Conn) {
        debug_assert!(self.bodiless);
        std::mem::swap(&mut conn.wbuf, &mut self.conn.wbuf);
        conn.wbuf.truncate(self.head_len);
        self.conn = conn;
        self.written = 0;
        self.sent = false;
        self.write_failed = false;
        self.started = false;
        self.received = false;
    }

    /// Whether the request carried no body (so it can be written again).
    pub fn is_bodiless(&self) -> bool {
        self.bodiless
    }

    /// Writes what there is to write of the request: ready once all of it is written.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            // Gather what the body has ready (the head waits for its first bytes).
            let mut body_pending = false;
            while let Some(body) = self.body.as_mut() {
                if self.conn.wbuf.len() - self.written >= WRITE_BATCH {
                    break;
                }
                match Pin::new(body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        let Ok(data) = frame.into_data() else {
                            continue; // request trailers are not forwarded
                        };
                        self.encode_data(&data)?;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        self.body = None;
                        return Poll::Ready(Err(Error::RequestBody(e)));
                    }
                    Poll::Ready(None) => {
                        self.body = None;
                        match self.outgoing {
                            Outgoing::Chunked => self.conn.wbuf.extend_from_slice(b"0\r\n\r\n"),
                            Outgoing::Length(0) | Outgoing::Empty => {}
                            Outgoing::Length(_) => {
                                return Poll::Ready(Err(Error::RequestBody(
                                    "request body shorter than its length".into(),
                                )))
                            }
                        }
                    }
                    Poll::Pending => {
                        body_pending = true;
                        break;
                    }
                }
            }
            let w = &self.conn.wbuf;
            // The head alone waits while the body has nothing yet.
            let hold = !self.started && body_pending && w.len() == self.head_len;
            if self.written < w.len() && !hold {
                match Pin::new(&mut self.conn.io).poll_write(cx, &w[self.written..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.started = true;
                        self.written += n;
                        continue;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if self.written == w.len() && self.written > 0 {
                // Everything gathered is written: flush (TLS), then make room. The head
                // stays for a repeat while the request is bodiless.
                if Pin::new(&mut self.conn.io).poll_flush(cx)?.is_pending() {
                    return Poll::Pending;
                }
                if !self.bodiless {
                    self.conn.wbuf.clear();
                    self.written = 0;
                }
            }
            if self.body.is_none() && (self.written == self.conn.wbuf.len()) {
                return Poll::Ready(Ok(()));
            }
            if body_pending {
                return Poll::Pending;
            }
        }
    }

    fn encode_data(&mut self, data: &Bytes) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let w = &mut self.conn.wbuf;
        match &mut self.outgoing {
            Outgoing::Length(left) => {
                let n = data.len() as u64;
                if n > *left {
                    // Never more than announced: the excess would be a second request.
                    return Err(Error::RequestBody(
                        "request body longer than its length".into(),
                    ));
                }
                *left -= n;
                w.extend_from_slice(data);
            }
            Outgoing::Chunked => {
                let _ = write!(w, "{:x}\r\n", data.len());
                w.extend_from_slice(data);
                w.extend_from_slice(b"\r\n");
            }
            Outgoing::Empty => {
                return Err(Error::RequestBody(
                    "request body where none was announced".into(),
                ))
            }
        }
        Ok(())
    }

    /// Keeps the request flowing; a write failure stops writing (the response may still
    /// come) and marks the connection as not to be used again.
    fn poll_send_part(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        if self.sent {
            return Ok(());
        }
        match self.poll_send(cx) {
            Poll::Ready(Ok(())) => self.sent = true,
            Poll::Ready(Err(Error::Io(_))) => {
                self.sent = true;
                self.write_failed = true;
                self.body = None;
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => {}
        }
        Ok(())
    }

    /// Sends the request and reads the response head (interim responses skipped).
    pub fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        method: &Method,
    ) -> Poll<Result<Head, Error>> {
        loop {
            self.poll_send_part(cx)?;
            if !self.conn.rbuf.is_empty() {
                if let Some(head) = self.parse_head(method)? {
                    return Poll::Ready(Ok(head));
                }
                if self.conn.rbuf.len() > MAX_HEAD {
                    return Poll::Ready(Err(Error::Protocol("response head too large")));
                }
            }
            match self.conn.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(Error::Closed {
                        nothing_received: !self.received,
                    }))
                }
                Poll::Ready(Ok(_)) => self.received = true,
                Poll::Ready(Err(e)) if !self.received && is_reset(&e) => {
                    return Poll::Ready(Err(Error::Closed {
                        nothing_received: true,
                    }))
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// A complete final response head from the read buffer, if there is one.
    fn parse_head(&mut self, method: &Method) -> Result<Option<Head>, Error> {
        loop {
            // Field slots left uninitialised (4 KiB of them): httparse fills what it uses.
            let mut fields = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut []);
            let buf = &self.conn.rbuf[..];
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut resp,
                buf,
                &mut fields,
            );
            let len = match parsed {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(Error::Protocol("too many header fields"))
                }
                Err(_) => return Err(Error::Protocol("malformed response head")),
            };
            let code = resp.code.unwrap_or(0);
            let status =
                StatusCode::from_u16(code).map_err(|_| Error::Protocol("invalid status code"))?;
            if status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(Error::Upgrade);
            }
            if status.is_informational() {
                self.conn.rbuf.advance(len);
                continue;
            }
            let version = match resp.version {
                Some(1) => Version::HTTP_11,
                _ => Version::HTTP_10,
            };
            // One pass: what the fields say about framing and the connection, and where
            // they are in the buffer, so that values can share its bytes.
            let base = buf.as_ptr() as usize;
            let mut facts = Facts::new();
            let mut spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> =
                Vec::with_capacity(resp.headers.len());
            for f in resp.headers.iter() {
                facts.note(f.name, f.value);
                let n = f.name.as_ptr() as usize - base;
                let v = f.value.as_ptr() as usize - base;
                spans.push((n..n + f.name.len(), v..v + f.value.len()));
            }
            let incoming = framing(method, status, &facts)?;
            let keep_alive =
                version == Version::HTTP_11 && incoming != Incoming::Close && !facts.close;
            let coded = facts.coding.is_some();
            let named = facts.named;
            let head = self.conn.rbuf.split_to(len).freeze();
            // Only end-to-end fields: hop-by-hop ones and those `Connection` names stay
            // here, as does a length that a transfer coding voids (RFC 9112, section 6.3:
            // it would describe a body the client's connection does not frame).
            let mut headers = HeaderMap::with_capacity(spans.len());
            for (n, v) in spans {
                let name = HeaderName::from_bytes(&head[n])
                    .map_err(|_| Error::Protocol("invalid header name"))?;
                let value = HeaderValue::from_maybe_shared(head.slice(v))
                    .map_err(|_| Error::Protocol("invalid header value"))?;
                if HOP_BY_HOP.contains(&name)
                    || (coded && name == header::CONTENT_LENGTH)
                    || named.contains(&name)
                {
                    continue;
                }
                headers.append(name, value);
            }
            return Ok(Some(Head {
                status,
                version,
                headers,
                incoming,
                keep_alive,
            }));
        }
    }

    /// The next piece of the response body; `Ok(None)` at its end.
    fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
        state: &mut Incoming,
    ) -> Poll<Result<Option<Bytes>, Error>> {
        self.poll_send_part(cx)?;
        loop {
            let buf = &mut self.conn.rbuf;
            match *state {
                Incoming::Done => return Poll::Ready(Ok(None)),
                Incoming::Length(0) => {
                    *state = Incoming::Done;
                    return Poll::Ready(Ok(None));
                }
                Incoming::Length(left) if !buf.is_empty() => {
                    let n = (left.min(buf.len() as u64)) as usize;
                    *state = match left - n as u64 {
                        0 => Incoming::Done,
                        rest => Incoming::Length(rest),
                    };
                    return Poll::Ready(Ok(Some(buf.split_to(n).freeze())));
                }
                Incoming::Close if !buf.is_empty() => {
                    return Poll::Ready(Ok(Some(buf.split().freeze())));
                }
                Incoming::Chunk(0) if !buf.is_empty() => match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        buf.advance(used);
                        *state = Incoming::Trailers(0);
                        continue;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        buf.advance(used);
                        *state = Incoming::Chunk(size);
                        continue;
                    }
                    Ok(httparse::Status::Partial) if buf.len() <= MAX_CHUNK_LINE => {}
                    _ => return Poll::Ready(Err(Error::Protocol("invalid chunk size line"))),
                },
                Incoming::Chunk(left) if !buf.is_empty() => {
                    let n = (left.min(buf.len() as u64)) as usize;
                    *state = if left == n as u64 {
                        Incoming::ChunkEnd
                    } else {
                        Incoming::Chunk(left - n as u64)
                    };
                    return Poll::Ready(Ok(Some(buf.split_to(n).freeze())));
                }
                Incoming::ChunkEnd if buf.len() >= 2 => {
                    if &buf[..2] != b"\r\n" {
                        return Poll::Ready(Err(Error::Protocol("chunk not followed by CRLF")));
                    }
                    buf.advance(2);
                    *state = Incoming::Chunk(0);
                    continue;
                }
                Incoming::Trailers(seen) if !buf.is_empty() => {
                    match buf.windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            buf.advance(2);
                            *state = Incoming::Done;
                            return Poll::Ready(Ok(None));
                        }
                        Some(i) if seen + i + 2 <= MAX_TRAILERS => {
                            buf.advance(i + 2);
                            *state = Incoming::Trailers(seen + i + 2);
                            continue;
                        }
                        None if seen + buf.len() <= MAX_TRAILERS => {}
                        _ => return Poll::Ready(Err(Error::Protocol("trailer section too large"))),
                    }
                }
                _ => {}
            }
            match self.conn.poll_fill(cx) {
                Poll::Ready(Ok(0)) if *state == Incoming::Close => {
                    *state = Incoming::Done;
                    return Poll::Ready(Ok(None));
                }
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(Error::Protocol("connection closed within the body")))
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The connection, if it can carry another exchange.
    fn into_reusable(self: Box<Self>, keep_alive: bool) -> Option<Conn> {
        let clean = keep_alive && self.sent && !self.write_failed && self.body.is_none();
        (clean && self.conn.rbuf.is_empty()).then_some(self.conn)
    }
}

/// The response head, and how its body is framed.
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    incoming: Incoming,
    keep_alive: bool,
}

/// What a response head's fields say about its body's framing and its connection.
struct Facts<'b> {
    /// The last transfer coding of all the `Transfer-Encoding` fields (`Some(None)`: there
    /// are such fields, all empty).
    coding: Option<Option<&'b [u8]>>,
    /// The length every `Content-Length` value agrees on, or what is wrong with them.
    length: Result<Option<u64>, &'static str>,
    /// `Connection` says `close`.
    close: bool,
    /// The fields `Connection` names (hop-by-hop too).
    named: Vec<HeaderName>,
}

impl<'b> Facts<'b> {
    fn new() -> Self {
        Self {
            coding: None,
            length: Ok(None),
            close: false,
            named: Vec::new(),
        }
    }

    /// Takes in one field (its name in any case).
    fn note(&mut self, name: &str, value: &'b [u8]) {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = tokens(value).last();
            if last.is_some() || self.coding.is_none() {
                self.coding = Some(last);
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            for t in value.split(|&b| b == b',') {
                let Ok(seen) = self.length else { break };
                let t = t.trim_ascii();
                self.length = if t.is_empty() || t.len() > 19 || !t.iter().all(u8::is_ascii_digit) {
                    Err("invalid content-length")
                } else {
                    let n = t.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
                    match seen {
                        Some(l) if l != n => Err("conflicting content-length values"),
                        _ => Ok(Some(n)),
                    }
                };
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if tokens(value).any(|t| t.eq_ignore_ascii_case(b"close")) {
                self.close = true;
            }
            connection_named(value, &mut self.named);
        }
    }
}

/// RFC 9112, section 6.3.
fn framing(method: &Method, status: StatusCode, facts: &Facts<'_>) -> Result<Incoming, Error> {
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Incoming::Done);
    }
    // A transfer coding voids the length, valid or not.
    if let Some(last) = facts.coding {
        return Ok(match last {
            Some(t) if t.eq_ignore_ascii_case(b"chunked") => Incoming::Chunk(0),
            _ => Incoming::Close,
        });
    }
    Ok(facts
        .length
        .map_err(Error::Protocol)?
        .map_or(Incoming::Close, Incoming::Length))
}

/// Where a finished exchange's connection goes when it can be used again.
pub trait Checkin: Send + Sync {
    fn checkin(&self, conn: Conn);
}

/// The response body, read from the upstream connection as the client takes it. When it
/// ends cleanly the connection goes back to the pool; dropped before that, it is closed.
pub struct ResponseBody {
    /// Boxed: the response is moved several times on its way to the client.
    exchange: Option<Box<Exchange>>,
    incoming: Incoming,
    keep_alive: bool,
    pool: Option<std::sync::Arc<dyn Checkin>>,
}

impl ResponseBody {
    pub fn new(exchange: Box<Exchange>, head: &Head, pool: std::sync::Arc<dyn Checkin>) -> Self {
        let mut body = Self {
            exchange: Some(exchange),
            incoming: head.incoming,
            keep_alive: head.keep_alive,
            pool: Some(pool),
        };
        if body.incoming == Incoming::Done {
            body.finish();
        }
        body
    }

    fn finish(&mut self) {
        self.incoming = Incoming::Done;
        let (Some(ex), Some(pool)) = (self.exchange.take(), self.pool.take()) else {
            return;
        };
        if let Some(conn) = ex.into_reusable(self.keep_alive) {
            pool.checkin(conn);
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(ex) = this.exchange.as_mut() else {
            return Poll::Ready(None);
        };
        match ex.poll_body(cx, &mut this.incoming) {
            Poll::Ready(Ok(Some(data))) => {
                if this.incoming == Incoming::Done {
                    this.finish();
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Ok(None)) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                this.exchange = None;
                this.incoming = Incoming::Done;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming == Incoming::Done
    }

    fn size_hint(&self) -> SizeHint {
        match self.incoming {
            Incoming::Done => SizeHint::with_exact(0),
            Incoming::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// What fields (names in the case they were sent) say, as the head parser notes them.
    fn facts<'a>(fields: &[(&'a str, &'a str)]) -> Facts<'a> {
        let mut f = Facts::new();
        for (k, v) in fields {
            f.note(k, v.as_bytes());
        }
        f
    }

    #[test]
    fn response_bodies_are_framed_as_rfc_9112_says() {
        let ok = StatusCode::OK;
        let get = Method::GET;
        type Case<'a> = (
            &'a Method,
            StatusCode,
            &'a [(&'a str, &'a str)],
            Option<Incoming>,
        );
        let cases: &[Case<'_>] = &[
            (
                &get,
                ok,
                &[("content-length", "5")],
                Some(Incoming::Length(5)),
            ),
            (
                &get,
                ok,
                &[("content-length", "5, 5")],
                Some(Incoming::Length(5)),
            ),
            (
                &get,
                ok,
                &[("content-length", "5"), ("content-length", "5")],
                Some(Incoming::Length(5)),
            ),
            (&get, ok, &[("content-length", "5, 6")], None),
            (
                &get,
                ok,
                &[("content-length", "5"), ("content-length", "6")],
                None,
            ),
            (&get, ok, &[("content-length", "-1")], None),
            (&get, ok, &[("content-length", "+5")], None),
            (&get, ok, &[("content-length", "")], None),
            (
                &get,
                ok,
                &[("content-length", "99999999999999999999")],
                None,
            ),
            // Names in any case.
            (
                &get,
                ok,
                &[("Content-Length", "5")],
                Some(Incoming::Length(5)),
            ),
            (
                &get,
                ok,
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                Some(Incoming::Chunk(0)),
            ),
            // Transfer-encoding wins over a length, which is void (valid or not).
            (
                &get,
                ok,
                &[("content-length", "x"), ("transfer-encoding", "chunked")],
                Some(Incoming::Chunk(0)),
            ),
            (
                &get,
                ok,
                &[("transfer-encoding", "chunked"), ("transfer-encoding", "")],
                Some(Incoming::Chunk(0)),
            ),
            (
                &get,
                ok,
                &[("transfer-encoding", "chunked"), ("content-length", "3")],
                Some(Incoming::Chunk(0)),
            ),
            (
                &get,
                ok,
                &[("transfer-encoding", "gzip, Chunked")],
                Some(Incoming::Chunk(0)),
            ),
            (
                &get,
                ok,
                &[
                    ("transfer-encoding", "gzip"),
                    ("transfer-encoding", "chunked"),
                ],
                Some(Incoming::Chunk(0)),
            ),
            // Not chunked last: the body runs to the end of the connection.
            (
                &get,
                ok,
                &[("transfer-encoding", "chunked, gzip")],
                Some(Incoming::Close),
            ),
            (&get, ok, &[], Some(Incoming::Close)),
            (
                &Method::HEAD,
                ok,
                &[("content-length", "10")],
                Some(Incoming::Done),
            ),
            (
                &get,
                StatusCode::NO_CONTENT,
                &[("content-length", "10")],
                Some(Incoming::Done),
            ),
            (
                &get,
                StatusCode::NOT_MODIFIED,
                &[("transfer-encoding", "chunked")],
                Some(Incoming::Done),
            ),
        ];
        for (method, status, fields, want) in cases {
            let got = framing(method, *status, &facts(fields)).ok();
            assert_eq!(got, *want, "{method} {status} {fields:?}");
        }
    }

    async fn pair() -> (Conn, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        (Conn::new(Io::Tcp(c)), s)
    }

    async fn settle() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn an_idle_connection_is_unusable_once_the_upstream_closed_it_or_spoke() {
        let (mut conn, peer) = pair().await;
        assert!(conn.is_usable());
        settle().await;
        assert!(conn.is_usable(), "still usable when nothing happened");
        drop(peer);
        settle().await;
        assert!(!conn.is_usable(), "closed by the upstream");

        let (mut conn, mut peer) = pair().await;
        peer.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        settle().await;
        assert!(!conn.is_usable(), "bytes nobody asked for");
    }
}
