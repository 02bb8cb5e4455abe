//! TLS on the listeners (versions, ALPN, mutual TLS, certificate reload) and TLS toward
//! upstreams (server verification with a private CA, client certificates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Issued, Pki, TestGateway};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const H1: &[&[u8]] = &[b"http/1.1"];
const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// A gateway config with one TLS listener `tls` (cert `srv-cert.pem`, key `srv-key.pem`),
/// an optional client-auth block `(mode, trust_store)`, `limits` (lines of
/// `server.limits`, indented, or empty), and `GET /prod/hello` -> 200 "hi" followed by
/// `routes` (more route lines, or empty).
fn tls_yaml(client_auth: Option<(&str, &str)>, limits: &str, routes: &str) -> String {
    let ca = match client_auth {
        Some((mode, trust)) => {
            format!(
                "        client_auth:\n          mode: {mode}\n          trust_store: {trust}\n"
            )
        }
        None => String::new(),
    };
    let limits = if limits.is_empty() {
        String::new()
    } else {
        format!("  limits:\n{limits}")
    };
    format!(
        "server:
  listeners:
    - name: tls
      bind: 127.0.0.1:0
      tls:
        cert: srv-cert.pem
        key: srv-key.pem
{ca}  admin:
    bind: 127.0.0.1:0
  access_log:
    output: access.log
{limits}apis:
  - name: demo
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /hello
        integration: {{type: mock, status: 200, body: hi}}
{routes}"
    )
}

/// Start a gateway with a TLS listener whose server certificate comes from CA `main`.
async fn start_tls(client_auth: Option<(&str, &str)>) -> (TestGateway, Pki) {
    let dir = common::tempdir();
    let pki = Pki::new(dir.path(), "main");
    pki.server("srv");
    let tg = common::start_in(dir, &tls_yaml(client_auth, "", "")).await;
    (tg, pki)
}

fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A client certificate with a DNS and a URI subject alternative name.
fn client_with_uri_san(pki: &Pki, cn: &str, dns: &str, uri: &str) -> Issued {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Rampart Tests");
    params.subject_alt_names = vec![
        rcgen::SanType::DnsName(dns.try_into().unwrap()),
        rcgen::SanType::URI(uri.try_into().unwrap()),
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &pki.ca, &pki.ca_key).unwrap();
    Issued {
        der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The value of `rampart_refused_connections_total{listener, reason}` (0 when absent).
async fn refused(tg: &TestGateway, listener: &str, reason: &str) -> u64 {
    let text = common::metrics(tg).await;
    let l = format!("listener=\"{listener}\"");
    let r = format!("reason=\"{reason}\"");
    text.lines()
        .filter(|line| {
            line.starts_with("rampart_refused_connections_total{")
                && line.contains(&l)
                && line.contains(&r)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Wait until the refused counter reaches `want`, then check it is exactly `want`.
async fn expect_refused(tg: &TestGateway, listener: &str, reason: &str, want: u64) {
    let mut got = 0;
    for _ in 0..100 {
        got = refused(tg, listener, reason).await;
        if got >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        got, want,
        "rampart_refused_connections_total{{listener=\"{listener}\",reason=\"{reason}\"}}"
    );
}

/// Assert a TLS connection attempt was refused: an error at the handshake or the first
/// read (TLS 1.3 clients learn of a rejected client certificate only then), never a response.
fn assert_refused(r: std::io::Result<(common::RawResponse, String)>, what: &str) {
    if let Ok((resp, version)) = r {
        panic!(
            "{what}: expected the TLS handshake to be refused, got {} over {version}: {:?}",
            resp.status,
            resp.text()
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. TLS 1.3 and TLS 1.2
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn tls13_and_tls12_are_accepted_and_logged() {
    let (tg, pki) = start_tls(None).await;
    let addr = tg.addr("tls");

    let (r, v) = common::tls_get(
        addr,
        common::tls_client(&pki.ca_der(), None, TLS13, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "hi");
    assert_eq!(v, "Some(TLSv1_3)");
    let log = tg.access_log(1).await;

    let (r, v) = common::tls_get(
        addr,
        common::tls_client(&pki.ca_der(), None, TLS12, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "hi");
    assert_eq!(v, "Some(TLSv1_2)");
    let log2 = tg.access_log(2).await;
    assert_eq!(log[0], log2[0]);

    assert_eq!(log2[0]["tls_version"], "TLSv1.3", "{}", log2[0]);
    assert_eq!(log2[1]["tls_version"], "TLSv1.2", "{}", log2[1]);
    for e in &log2 {
        assert_eq!(e["listener"], "tls");
        assert_eq!(e["status"], 200);
        assert_eq!(e["protocol"], "HTTP/1.1");
        assert!(e["client_cert_subject"].is_null(), "{e}");
        assert!(e["client_cert_fingerprint"].is_null(), "{e}");
    }
    assert_eq!(refused(&tg, "tls", "tls_handshake").await, 0);
}

// ---------------------------------------------------------------------------------------
// 2. TLS 1.0 / 1.1 refused at the handshake
// ---------------------------------------------------------------------------------------

fn push_ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A minimal ClientHello record with `client_version` and no `supported_versions`
/// extension (so it offers exactly that version and everything below it).
fn client_hello(client_version: [u8; 2]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&client_version);
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // session id: empty
    let suites: &[u8] = &[
        0xc0, 0x2b, // ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        0xc0, 0x2f, // ECDHE_RSA_WITH_AES_128_GCM_SHA256
        0xc0, 0x09, // ECDHE_ECDSA_WITH_AES_128_CBC_SHA
        0xc0, 0x0a, // ECDHE_ECDSA_WITH_AES_256_CBC_SHA
        0xc0, 0x13, // ECDHE_RSA_WITH_AES_128_CBC_SHA
        0xc0, 0x14, // ECDHE_RSA_WITH_AES_256_CBC_SHA
        0x00, 0x2f, // RSA_WITH_AES_128_CBC_SHA
        0x00, 0x35, // RSA_WITH_AES_256_CBC_SHA
    ];
    body.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    body.extend_from_slice(suites);
    body.extend_from_slice(&[1, 0]); // compression: null only

    let mut ext = Vec::new();
    let host = b"localhost";
    let mut name = vec![0u8]; // host_name
    name.extend_from_slice(&(host.len() as u16).to_be_bytes());
    name.extend_from_slice(host);
    let mut sni = (name.len() as u16).to_be_bytes().to_vec();
    sni.extend_from_slice(&name);
    push_ext(&mut ext, 0x0000, &sni); // server_name
    push_ext(&mut ext, 0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]); // groups: x25519, P-256
    push_ext(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    push_ext(
        &mut ext,
        0x000d,
        &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01],
    ); // sig algs
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);

    let mut hs = vec![0x01]; // client_hello
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// What a server answered to a raw ClientHello.
#[derive(Debug, Default)]
struct ServerFlight {
    bytes: Vec<u8>,
    /// The server closed (EOF or reset) the connection.
    closed: bool,
    server_hello: bool,
    /// (level, description) of the first alert record.
    alert: Option<(u8, u8)>,
}

impl ServerFlight {
    fn parse(&mut self) {
        let b = &self.bytes;
        let mut i = 0;
        while i + 5 <= b.len() {
            let ty = b[i];
            let len = u16::from_be_bytes([b[i + 3], b[i + 4]]) as usize;
            let payload = &b[i + 5..b.len().min(i + 5 + len)];
            if ty == 0x16 && payload.first() == Some(&0x02) {
                self.server_hello = true;
            }
            if ty == 0x15 && payload.len() >= 2 && self.alert.is_none() {
                self.alert = Some((payload[0], payload[1]));
            }
            i += 5 + len;
        }
    }
}

/// Send `hello` on a new connection and read the server's answer until it closes, sends a
/// ServerHello, or 5 s pass.
async fn send_hello(addr: SocketAddr, hello: &[u8]) -> ServerFlight {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(hello).await.unwrap();
    let mut f = ServerFlight::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => {
                f.closed = true;
                break;
            }
            Ok(Ok(n)) => {
                f.bytes.extend_from_slice(&buf[..n]);
                f.parse();
                if f.server_hello {
                    break;
                }
            }
        }
    }
    f
}

#[tokio::test]
async fn tls10_and_tls11_are_refused_at_the_handshake() {
    let (tg, _pki) = start_tls(None).await;
    let addr = tg.addr("tls");
    assert_eq!(refused(&tg, "tls", "tls_handshake").await, 0);

    for (n, (name, version)) in [("TLS 1.0", [3u8, 1u8]), ("TLS 1.1", [3, 2])]
        .into_iter()
        .enumerate()
    {
        let f = send_hello(addr, &client_hello(version)).await;
        assert!(
            !f.server_hello,
            "{name}: the server sent a ServerHello: {f:?}"
        );
        assert!(
            f.closed,
            "{name}: the server kept the connection open: {f:?}"
        );
        if !f.bytes.is_empty() {
            assert_eq!(f.bytes[0], 0x15, "{name}: expected an alert record: {f:?}");
            let (level, desc) = f.alert.expect("a complete alert record");
            assert_eq!(level, 2, "{name}: the alert is not fatal: {f:?}");
            // protocol_version, or a generic handshake_failure / insufficient_security.
            assert!(
                [70, 40, 71].contains(&desc),
                "{name}: unexpected alert {desc}: {f:?}"
            );
        }
        expect_refused(&tg, "tls", "tls_handshake", n as u64 + 1).await;
    }
    // Nothing reached the pipeline.
    assert!(std::fs::read_to_string(tg.access_log_path())
        .unwrap_or_default()
        .is_empty());

    // Control: the same hand-made hello offering TLS 1.2 does get a ServerHello, so the
    // refusals above are about the version, not a malformed hello.
    let f = send_hello(addr, &client_hello([3, 3])).await;
    assert!(f.server_hello, "TLS 1.2 hello got no ServerHello: {f:?}");

    // A real TLS 1.1 client too, if openssl is installed.
    if let Some(out) = openssl_s_client(addr, "-tls1_1").await {
        assert!(
            out.contains("Cipher is (NONE)") && out.contains("alert"),
            "openssl s_client -tls1_1 negotiated a session:\n{out}"
        );
        // Control: the same tool with TLS 1.3 succeeds.
        let ok = openssl_s_client(addr, "-tls1_3").await.unwrap();
        assert!(
            ok.contains("New, TLSv1.3, Cipher is TLS_"),
            "openssl -tls1_3 failed:\n{ok}"
        );
    }
}

/// `openssl s_client` against `addr` with one version flag; its stdout and stderr, or
/// `None` when openssl is not installed.
async fn openssl_s_client(addr: SocketAddr, version_flag: &'static str) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &addr.to_string(),
                "-servername",
                "localhost",
                version_flag,
                // Let the client offer TLS 1.0/1.1 at all (OpenSSL 3 disables them at level 1+).
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .ok()?;
        Some(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tls_handshake_must_finish_within_header_read_timeout() {
    let dir = common::tempdir();
    let pki = Pki::new(dir.path(), "main");
    pki.server("srv");
    let yaml = tls_yaml(None, "    header_read_timeout: 500ms\n", "");
    let tg = common::start_in(dir, &yaml).await;
    let addr = tg.addr("tls");

    // Half a ClientHello, then silence (trickling more bytes would not help either).
    let hello = client_hello([3, 3]);
    let mut s = TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    s.write_all(&hello[..hello.len() / 2]).await.unwrap();
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Err(_) => panic!("the server kept an unfinished handshake open for 5 s"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400),
        "closed too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "closed too late: {elapsed:?}"
    );
    assert!(
        got.first() != Some(&0x16),
        "unexpected handshake data: {got:?}"
    );
    expect_refused(&tg, "tls", "tls_handshake_timeout", 1).await;
    assert_eq!(refused(&tg, "tls", "tls_handshake").await, 0);

    // A prompt client is still served.
    let (r, _) = common::tls_get(
        addr,
        common::tls_client(&pki.ca_der(), None, TLS13, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
}

// ---------------------------------------------------------------------------------------
// 3. HTTP/2 by ALPN
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn alpn_selects_http2_or_http11() {
    let (tg, pki) = start_tls(None).await;
    let addr = tg.addr("tls");

    // A client offering h2 (and http/1.1) gets HTTP/2.
    let stream = tls_h2_stream(addr, &pki, &[b"h2", b"http/1.1"]).await;
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let req = http::Request::get("https://localhost/prod/hello")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hi");
    drop(send);
    let _ = conn.await;
    let log = tg.access_log(1).await;
    assert_eq!(log[0]["protocol"], "HTTP/2", "{}", log[0]);
    assert_eq!(log[0]["tls_version"], "TLSv1.3", "{}", log[0]);

    // A client offering only http/1.1 gets HTTP/1.1.
    let (r, _) = common::tls_get(
        addr,
        common::tls_client(&pki.ca_der(), None, TLS13, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
    let log = tg.access_log(2).await;
    assert_eq!(log[1]["protocol"], "HTTP/1.1", "{}", log[1]);
}

/// HTTP/2 requests are held to HTTP/1.1's 100 header fields (their header block has only a
/// size limit): more is a 431, the connection stays usable.
#[tokio::test]
async fn http2_requests_with_more_than_100_header_fields_are_431() {
    let (tg, pki) = start_tls(None).await;
    let (mut send, _conn) = h2_connect(tg.addr("tls"), &pki).await;
    let with_fields = |n: usize| {
        let mut b = http::Request::get("https://localhost/prod/hello");
        for i in 0..n {
            b = b.header(format!("x-f{i}"), "v");
        }
        b.body(Empty::<Bytes>::new()).unwrap()
    };
    // The request's own fields count too (user-agent and the like are not added by this
    // client): 100 in all is served.
    let ok = send.send_request(with_fields(100)).await.unwrap();
    assert_eq!(ok.status(), 200);
    let refused = send.send_request(with_fields(101)).await.unwrap();
    assert_eq!(refused.status(), 431);
    let body = refused.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["message"], "Request Header Fields Too Large", "{body}");
    let again = send.send_request(with_fields(3)).await.unwrap();
    assert_eq!(again.status(), 200, "the connection is still usable");
}

/// A gateway with a TLS listener and short HTTP/2-relevant timeouts, a mock route and a
/// route to a backend that takes 700 ms (longer than the idle timeout).
async fn start_tls_h2_timeouts() -> (TestGateway, Pki) {
    start_tls_h2_with_idle("500ms").await
}

/// [`start_tls_h2_timeouts`] with another idle timeout (the header timeout stays 300 ms).
async fn start_tls_h2_with_idle(idle: &str) -> (TestGateway, Pki) {
    let slow = common::backend(|_req: http::Request<hyper::body::Incoming>| async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        http::Response::new(Full::new(Bytes::from_static(b"slow")))
    })
    .await;
    let dir = common::tempdir();
    let pki = Pki::new(dir.path(), "main");
    pki.server("srv");
    let yaml = tls_yaml(
        None,
        &format!("    header_read_timeout: 300ms\n    idle_timeout: {idle}\n"),
        &format!(
            "      - {{method: GET, path: /slow, integration: {{type: http, url: 'http://{slow}/slow'}}}}\n"
        ),
    );
    let tg = common::start_in(dir, &yaml).await;
    (tg, pki)
}

/// A TLS connection to `addr` (trusting CA `main`, TLS 1.3 or 1.2, offering the ALPN
/// protocols `alpn`) on which the server chose HTTP/2.
async fn tls_h2_stream(
    addr: SocketAddr,
    pki: &Pki,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
    let cfg = common::tls_client(&pki.ca_der(), None, &versions, alpn);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    stream
}

/// An HTTP/2 connection to `addr`: the request sender and the connection task (which ends
/// when the server closes the connection).
async fn h2_connect(
    addr: SocketAddr,
    pki: &Pki,
) -> (
    hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
) {
    let stream = tls_h2_stream(addr, pki, &[b"h2"]).await;
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    (send, tokio::spawn(conn))
}

async fn h2_get(
    send: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    path: &str,
) -> Result<(u16, Bytes), hyper::Error> {
    let req = http::Request::get(format!("https://localhost{path}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await?;
    let status = resp.status().as_u16();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

/// Waits for the server to close an HTTP/2 connection (its client task ends), and checks it
/// did so `ms` milliseconds after `t0` (header timeout 300 ms, idle timeout 500 ms).
async fn closed_after(
    conn: tokio::task::JoinHandle<Result<(), hyper::Error>>,
    t0: std::time::Instant,
    ms: std::ops::Range<u64>,
) {
    tokio::time::timeout(Duration::from_secs(3), conn)
        .await
        .expect("the HTTP/2 connection was left open")
        .unwrap()
        .ok();
    let waited = t0.elapsed();
    assert!(
        ms.contains(&(waited.as_millis() as u64)),
        "closed after {waited:?}, expected {ms:?} ms"
    );
}

#[tokio::test]
async fn an_http2_connection_without_a_request_is_closed_after_the_header_timeout() {
    let (tg, pki) = start_tls_h2_timeouts().await;
    let t0 = std::time::Instant::now();
    let (_send, conn) = h2_connect(tg.addr("tls"), &pki).await;
    // The client sends its preface and settings (and answers pings), but no request.
    closed_after(conn, t0, 250..1500).await;
    expect_refused(&tg, "tls", "header_read_timeout", 1).await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_but_a_busy_one_is_not() {
    let (tg, pki) = start_tls_h2_timeouts().await;
    let (mut send, conn) = h2_connect(tg.addr("tls"), &pki).await;
    // Requests 350 ms apart (more than the header timeout, less than the idle timeout)
    // keep the connection, and a request in flight for 700 ms (more than the idle timeout)
    // is not cut off.
    for _ in 0..3 {
        assert_eq!(
            h2_get(&mut send, "/prod/hello").await.unwrap(),
            (200, Bytes::from_static(b"hi"))
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    assert_eq!(
        h2_get(&mut send, "/prod/slow").await.unwrap(),
        (200, Bytes::from_static(b"slow"))
    );
    assert!(!conn.is_finished(), "the connection closed while in use");
    // Then idle: closed after the idle timeout, not counted as refused.
    let t0 = std::time::Instant::now();
    closed_after(conn, t0, 400..2000).await;
    assert!(h2_get(&mut send, "/prod/hello").await.is_err());
    assert_eq!(refused(&tg, "tls", "header_read_timeout").await, 0);
}

/// A raw HTTP/2 connection (TLS, ALPN `h2`) that has sent the client preface and empty
/// settings: for tests that must choose how the frames are cut.
async fn raw_h2(addr: SocketAddr, pki: &Pki) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut stream = tls_h2_stream(addr, pki, &[b"h2"]).await;
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(0x4, 0, 0, &[])); // SETTINGS
    stream.write_all(&hello).await.unwrap();
    stream
}

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The HPACK block of `GET https://localhost{path}`: static-table `:method GET` and
/// `:scheme https`, then `:path` and `:authority` as literals without indexing.
fn hpack_get(path: &str) -> Vec<u8> {
    let mut b = vec![0x82, 0x87, 0x04, path.len() as u8];
    b.extend_from_slice(path.as_bytes());
    b.extend_from_slice(&[0x01, 9]);
    b.extend_from_slice(b"localhost");
    b
}

/// Reads the server's frames (acknowledging its settings) until the response headers of
/// `stream`, and returns the first byte of their HPACK block (`0x88`: `:status 200`).
async fn h2_response_head(
    conn: &mut tokio_rustls::client::TlsStream<TcpStream>,
    stream: u32,
) -> u8 {
    loop {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head).await.unwrap();
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        conn.read_exact(&mut payload).await.unwrap();
        let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        match head[3] {
            0x4 if head[4] & 0x1 == 0 => {
                conn.write_all(&h2_frame(0x4, 0x1, 0, &[])).await.unwrap();
            }
            HEADERS if id == stream => return payload[0],
            0x7 => panic!("GOAWAY from the server: {payload:?}"),
            _ => {}
        }
    }
}

/// Reads until the server closes the connection (or fails it); panics if it is still
/// open after 5 s.
async fn h2_closed(conn: &mut tokio_rustls::client::TlsStream<TcpStream>) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(n) = conn.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .expect("the HTTP/2 connection was left open");
}

#[tokio::test]
async fn an_http2_request_head_dribbled_after_a_request_is_cut_off_at_the_header_timeout() {
    // Idle timeout 10 s: only the header timeout (300 ms) can close the connection in time.
    let (tg, pki) = start_tls_h2_with_idle("10s").await;
    let mut conn = raw_h2(tg.addr("tls"), &pki).await;
    let first = hpack_get("/prod/hello");
    conn.write_all(&h2_frame(HEADERS, END_HEADERS | END_STREAM, 1, &first))
        .await
        .unwrap();
    assert_eq!(
        h2_response_head(&mut conn, 1).await,
        0x88,
        "the first request is served"
    );
    // The second request's header block starts and never ends.
    conn.write_all(&h2_frame(HEADERS, END_STREAM, 3, &[0x82, 0x87]))
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    h2_closed(&mut conn).await;
    let waited = t0.elapsed();
    assert!(
        (250..3000).contains(&(waited.as_millis() as u64)),
        "closed after {waited:?}, expected about 300 ms"
    );
    expect_refused(&tg, "tls", "header_read_timeout", 1).await;
}

#[tokio::test]
async fn an_http2_header_block_in_continuation_frames_is_served_and_then_idles_normally() {
    let (tg, pki) = start_tls_h2_with_idle("10s").await;
    let mut conn = raw_h2(tg.addr("tls"), &pki).await;
    for (i, stream) in [1u32, 3].into_iter().enumerate() {
        if i > 0 {
            // Longer than the header timeout, between requests: not a slow head.
            tokio::time::sleep(Duration::from_millis(450)).await;
        }
        // A header block in two frames 100 ms apart (within the 300 ms header timeout).
        let block = hpack_get("/prod/hello");
        conn.write_all(&h2_frame(HEADERS, END_STREAM, stream, &block[..3]))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(&h2_frame(CONTINUATION, END_HEADERS, stream, &block[3..]))
            .await
            .unwrap();
        assert_eq!(
            h2_response_head(&mut conn, stream).await,
            0x88,
            "request {stream}"
        );
    }
    assert_eq!(refused(&tg, "tls", "header_read_timeout").await, 0);
}

// ---------------------------------------------------------------------------------------
// 4 and 5. Mutual TLS
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn mtls_required() {
    let (tg, pki) = start_tls(Some(("required", "main-ca.pem"))).await;
    let addr = tg.addr("tls");
    let ca = pki.ca_der();

    let good = client_with_uri_san(&pki, "client-1", "client.example", "spiffe://test/client");
    for versions in [TLS13, TLS12] {
        let (r, _) = common::tls_get(
            addr,
            common::tls_client(&ca, Some(&good), versions, H1),
            "/prod/hello",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.text(), "hi");
    }
    let log = tg.access_log(2).await;
    let fp = sha256_hex(&good.der);
    for e in &log {
        let subject = e["client_cert_subject"].as_str().expect("subject logged");
        assert!(subject.contains("CN=client-1"), "{subject}");
        assert!(subject.contains("O=Rampart Tests"), "{subject}");
        assert_eq!(e["client_cert_fingerprint"], fp.as_str(), "{e}");
    }
    assert_eq!(log[0]["tls_version"], "TLSv1.3");
    assert_eq!(log[1]["tls_version"], "TLSv1.2");
    assert_eq!(refused(&tg, "tls", "tls_handshake").await, 0);

    let expired = pki.expired_client("client-old");
    let other_pki = Pki::new(tg.dir.path(), "other");
    let foreign = other_pki.client("client-1", vec!["client.example".into()]);
    let attempts: [(&str, Option<&Issued>); 3] = [
        ("expired certificate", Some(&expired)),
        ("certificate from another CA", Some(&foreign)),
        ("no certificate", None),
    ];
    let mut n = 0;
    for (what, cert) in attempts {
        for versions in [TLS13, TLS12] {
            let r = common::tls_get(
                addr,
                common::tls_client(&ca, cert, versions, H1),
                "/prod/hello",
            )
            .await;
            assert_refused(r, what);
            n += 1;
            expect_refused(&tg, "tls", "tls_handshake", n).await;
        }
    }
    // Refused connections never reached the pipeline.
    assert_eq!(tg.access_log(2).await.len(), 2);
}

#[tokio::test]
async fn mtls_optional() {
    let (tg, pki) = start_tls(Some(("optional", "main-ca.pem"))).await;
    let addr = tg.addr("tls");
    let ca = pki.ca_der();

    // No certificate: served, nothing about a client certificate in the log.
    let (r, _) = common::tls_get(
        addr,
        common::tls_client(&ca, None, TLS13, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let log = tg.access_log(1).await;
    assert!(log[0]["client_cert_fingerprint"].is_null(), "{}", log[0]);
    assert!(log[0]["client_cert_subject"].is_null(), "{}", log[0]);

    // A valid certificate: served and logged.
    let good = client_with_uri_san(&pki, "client-1", "client.example", "spiffe://test/client");
    let (r, _) = common::tls_get(
        addr,
        common::tls_client(&ca, Some(&good), TLS13, H1),
        "/prod/hello",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let log = tg.access_log(2).await;
    assert_eq!(
        log[1]["client_cert_fingerprint"],
        sha256_hex(&good.der).as_str(),
        "{}",
        log[1]
    );
    assert!(log[1]["client_cert_subject"]
        .as_str()
        .unwrap()
        .contains("CN=client-1"));

    // A presented certificate must be valid.
    let other_pki = Pki::new(tg.dir.path(), "other");
    let foreign = other_pki.client("client-1", vec![]);
    let expired = pki.expired_client("client-old");
    let mut n = 0;
    for (what, cert) in [("wrong CA", &foreign), ("expired", &expired)] {
        for versions in [TLS13, TLS12] {
            let r = common::tls_get(
                addr,
                common::tls_client(&ca, Some(cert), versions, H1),
                "/prod/hello",
            )
            .await;
            assert_refused(r, what);
            n += 1;
            expect_refused(&tg, "tls", "tls_handshake", n).await;
        }
    }
    assert_eq!(tg.access_log(2).await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// 6. HTTPS upstream with a client certificate
// ---------------------------------------------------------------------------------------

/// A TLS backend that requires a client certificate signed by `pki`'s CA and answers
/// `mtls-ok <sha256 of the client certificate>`. Also returns the counts of failed and of
/// completed handshakes.
async fn mtls_backend(pki: &Pki) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let srv = pki.server("backend");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der().into()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![srv.der.clone().into()],
            rustls_pki_types::PrivateKeyDer::from_pem_slice(srv.key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let failed = Arc::new(AtomicUsize::new(0));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let failures = failed.clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let handshakes = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let failures = failures.clone();
            let handshakes = handshakes.clone();
            tokio::spawn(async move {
                let stream = match acceptor.accept(tcp).await {
                    Ok(s) => {
                        handshakes.fetch_add(1, Ordering::SeqCst);
                        s
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                };
                let fp = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| sha256_hex(c.as_ref()))
                    .unwrap_or_default();
                let svc = hyper::service::service_fn(move |_req| {
                    let body = format!("mtls-ok {fp}");
                    async move {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(body),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, failed, accepted)
}

#[tokio::test]
async fn upstream_https_with_client_certificate() {
    let dir = common::tempdir();
    let pki = Pki::new(dir.path(), "main");
    Pki::new(dir.path(), "other");
    let (backend, backend_failures, handshakes) = mtls_backend(&pki).await;
    let gw_client = pki.client("gateway", vec!["gateway.internal".into()]);
    std::fs::write(dir.path().join("gw-client-cert.pem"), &gw_client.cert_pem).unwrap();
    std::fs::write(dir.path().join("gw-client-key.pem"), &gw_client.key_pem).unwrap();
    let port = backend.port();
    let yaml = format!(
        "{}apis:
  - name: demo
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /with-cert
        integration: {{type: http, url: \"https://localhost:{port}\", tls: {{ca: main-ca.pem, client_cert: gw-client-cert.pem, client_key: gw-client-key.pem}}}}
      - method: GET
        path: /without-cert
        integration: {{type: http, url: \"https://localhost:{port}\", tls: {{ca: main-ca.pem}}}}
      - method: GET
        path: /wrong-ca
        integration: {{type: http, url: \"https://localhost:{port}\", tls: {{ca: other-ca.pem, client_cert: gw-client-cert.pem, client_key: gw-client-key.pem}}}}
",
        common::server_section("")
    );
    let tg = common::start_in(dir, &yaml).await;
    let addr = tg.addr("main");

    let r = common::get(addr, "/prod/with-cert").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), format!("mtls-ok {}", sha256_hex(&gw_client.der)));
    assert_eq!(backend_failures.load(Ordering::SeqCst), 0);

    // Requests on one client connection (one worker) share one upstream TLS connection
    // (one more handshake at most: the request above may have gone to another worker).
    let before = handshakes.load(Ordering::SeqCst);
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    for _ in 0..4 {
        c.write_all(b"GET /prod/with-cert HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        let r = common::read_response(&mut c).await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert!(
        handshakes.load(Ordering::SeqCst) - before <= 1,
        "TLS connections not reused"
    );

    // Without a client certificate the backend refuses the handshake: a generic 502.
    let r = common::get(addr, "/prod/without-cert").await;
    assert_generic_502(&r, port);
    // The 502 came from the backend refusing the handshake (not from anything else).
    assert!(backend_failures.load(Ordering::SeqCst) >= 1);

    // The upstream's certificate is verified against the configured CA only.
    let r = common::get(addr, "/prod/wrong-ca").await;
    assert_generic_502(&r, port);

    let log = tg.access_log(7).await;
    let statuses: Vec<_> = log.iter().map(|l| l["status"].clone()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 502, 502]);
}

/// A 502 with exactly `{"message":"Bad Gateway","requestId":...}` and no internal detail.
fn assert_generic_502(r: &common::RawResponse, port: u16) {
    assert_eq!(r.status, 502, "{r:?}");
    let body = r.json();
    let obj = body.as_object().expect("a JSON object");
    assert_eq!(obj.len(), 2, "{body}");
    assert_eq!(body["message"], "Bad Gateway");
    let rid = body["requestId"].as_str().expect("requestId");
    assert!(!rid.is_empty());
    assert_eq!(r.header("x-request-id").as_deref(), Some(rid));
    let text = r.text().to_ascii_lowercase();
    for leak in [
        "certificate",
        "tls",
        "handshake",
        "127.0.0.1",
        "localhost",
        "error",
        "alert",
        &port.to_string(),
    ] {
        assert!(!text.contains(leak), "502 body leaks {leak:?}: {text}");
    }
}

// ---------------------------------------------------------------------------------------
// 7. Certificate reload
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn certificate_reload() {
    let dir = common::tempdir();
    let a = Pki::new(dir.path(), "a");
    let b = Pki::new(dir.path(), "b");
    a.server("srv");
    let tg = common::start_in(dir, &tls_yaml(None, "", "")).await;
    let addr = tg.addr("tls");
    let trust = |p: &Pki| common::tls_client(&p.ca_der(), None, TLS13, H1);

    let (r, _) = common::tls_get(addr, trust(&a), "/prod/hello")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_refused(
        common::tls_get(addr, trust(&b), "/prod/hello").await,
        "trusting only CA b before the reload",
    );

    // Renewed certificate from CA b.
    let b_srv = b.server("srv");
    tg.gw
        .reload()
        .await
        .expect("reload with a valid new certificate");
    let (r, _) = common::tls_get(addr, trust(&b), "/prod/hello")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_refused(
        common::tls_get(addr, trust(&a), "/prod/hello").await,
        "trusting only CA a after the reload",
    );

    // A broken certificate file is rejected; the previous certificate keeps serving.
    let cert_path = tg.dir.path().join("srv-cert.pem");
    std::fs::write(
        &cert_path,
        "-----BEGIN CERTIFICATE-----\ngarbage!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(
        tg.gw.reload().await.is_err(),
        "a garbage certificate was accepted"
    );
    let (r, _) = common::tls_get(addr, trust(&b), "/prod/hello")
        .await
        .unwrap();
    assert_eq!(r.status, 200);

    std::fs::write(&cert_path, "not PEM at all").unwrap();
    assert!(
        tg.gw.reload().await.is_err(),
        "a file without a certificate was accepted"
    );
    let (r, _) = common::tls_get(addr, trust(&b), "/prod/hello")
        .await
        .unwrap();
    assert_eq!(r.status, 200);

    // A certificate whose key does not match is rejected too.
    std::fs::write(&cert_path, &b_srv.cert_pem).unwrap();
    let stray = b.client("stray", vec![]);
    std::fs::write(tg.dir.path().join("srv-key.pem"), &stray.key_pem).unwrap();
    assert!(
        tg.gw.reload().await.is_err(),
        "a mismatched key was accepted"
    );
    let (r, _) = common::tls_get(addr, trust(&b), "/prod/hello")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}
