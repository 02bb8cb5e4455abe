//! Test harness: a real gateway on ephemeral loopback ports, real backends, a generated
//! test PKI, and clients that send exactly the bytes a test asks for.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rampart_gateway::server::Gateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running gateway with its temp directory (config, certificates, access log).
pub struct TestGateway {
    pub gw: Gateway,
    pub dir: tempfile::TempDir,
}

impl TestGateway {
    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.gw.addr(listener).expect("no such listener")
    }
    pub fn admin(&self) -> SocketAddr {
        self.gw.admin.expect("no admin listener")
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("rampart.yaml")
    }
    pub fn access_log_path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }
    /// Access log entries written so far (waits briefly for the writer thread).
    pub async fn access_log(&self, at_least: usize) -> Vec<serde_json::Value> {
        for _ in 0..100 {
            let text = std::fs::read_to_string(self.access_log_path()).unwrap_or_default();
            let entries: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("access log line is JSON"))
                .collect();
            if entries.len() >= at_least {
                return entries;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("access log did not reach {at_least} entries");
    }
}

/// A fresh temp dir for a test's files.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Write `yaml` as `rampart.yaml` in `dir` and start a gateway on it.
pub async fn start_in(dir: tempfile::TempDir, yaml: &str) -> TestGateway {
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, yaml).unwrap();
    let cfg = match rampart_gateway::config::load_file(&path) {
        Ok(c) => c,
        Err(e) => panic!("test config does not load:\n{e}"),
    };
    let gw = Gateway::start(cfg, Some(path)).await.unwrap();
    TestGateway { gw, dir }
}

pub async fn start(yaml: &str) -> TestGateway {
    start_in(tempdir(), yaml).await
}

/// A server section with one plain listener `main`, the admin listener and a file access log.
pub fn server_section(extra: &str) -> String {
    format!(
        "server:\n  listeners:\n    - name: main\n      bind: 127.0.0.1:0\n  admin:\n    bind: 127.0.0.1:0\n  access_log:\n    output: access.log\n{extra}"
    )
}

/// Start a backend that answers with `f`.
pub async fn backend<F, Fut>(f: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                continue;
            };
            let f = f.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let f = f.clone();
                    async move { Ok::<_, Infallible>(f(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
            });
        }
    });
    addr
}

/// The built-in echo upstream (JSON description of each request).
pub async fn echo_backend() -> SocketAddr {
    rampart_gateway::demo::start_echo("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read one HTTP/1.1 response (Content-Length or chunked or until close).
pub async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
) -> std::io::Result<RawResponse> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "closed after {} bytes: {:?}",
                    buf.len(),
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf[head_end + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let resp = RawResponse {
        status,
        head,
        body: Vec::new(),
    };
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if let Some(len) = resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        while body.len() < len {
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&tmp[..n]);
        }
        body.truncate(len);
    } else if chunked {
        loop {
            if let Some(decoded) = dechunk(&body) {
                body = decoded;
                break;
            }
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&tmp[..n]);
        }
    } else if status != 204 && status != 304 && !(100..200).contains(&status) {
        loop {
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&tmp[..n]);
        }
    }
    Ok(RawResponse { body, ..resp })
}

fn dechunk(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let line_end = data[i..].windows(2).position(|w| w == b"\r\n")? + i;
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[i..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        i = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if data.len() < i + size + 2 {
            return None;
        }
        out.extend_from_slice(&data[i..i + size]);
        i += size + 2;
    }
}

/// Send raw bytes on a new connection and read one response.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_response(&mut s).await.unwrap()
}

/// `GET target` with exactly this request target (no client-side normalisation).
pub async fn get(addr: SocketAddr, target: &str) -> RawResponse {
    raw(
        addr,
        format!("GET {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

/// A request with a method, target, extra header lines and a body (Content-Length).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut req = format!("{method} {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes).await
}

/// A test PKI: a CA, a server certificate for localhost/127.0.0.1, and client certificates.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: rcgen::Certificate,
    pub ca_key: rcgen::KeyPair,
}

pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Pki {
    pub fn new(dir: &Path, name: &str) -> Pki {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} Test CA"));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}-ca.pem")), ca.pem()).unwrap();
        Pki {
            dir: dir.to_path_buf(),
            ca,
            ca_key: key,
        }
    }

    fn issue(&self, cn: &str, sans: Vec<String>, server: bool, expired: bool) -> Issued {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(sans).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Rampart Tests");
        params.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        Issued {
            der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`, written as `{file}-cert.pem` / `{file}-key.pem`.
    pub fn server(&self, file: &str) -> Issued {
        let i = self.issue(
            "localhost",
            vec!["localhost".into(), "127.0.0.1".into()],
            true,
            false,
        );
        std::fs::write(self.dir.join(format!("{file}-cert.pem")), &i.cert_pem).unwrap();
        std::fs::write(self.dir.join(format!("{file}-key.pem")), &i.key_pem).unwrap();
        i
    }

    pub fn client(&self, cn: &str, sans: Vec<String>) -> Issued {
        self.issue(cn, sans, false, false)
    }

    pub fn expired_client(&self, cn: &str) -> Issued {
        self.issue(cn, vec![], false, true)
    }

    pub fn ca_der(&self) -> Vec<u8> {
        self.ca.der().to_vec()
    }
}

/// A rustls client trusting `ca_der`, with optional client certificate and version pinning.
pub fn tls_client(
    ca_der: &[u8],
    client: Option<&Issued>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_der.to_vec().into()).unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    let mut cfg = match client {
        Some(c) => b
            .with_client_auth_cert(
                vec![c.der.clone().into()],
                rustls_pki_types::PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// Connect with TLS and send one HTTP/1.1 GET; Err if the handshake (or the first read) fails.
pub async fn tls_get(
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    target: &str,
) -> std::io::Result<(RawResponse, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = connector.connect(name, tcp).await?;
    let version = format!("{:?}", s.get_ref().1.protocol_version());
    s.write_all(
        format!("GET {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let r = read_response(&mut s).await?;
    Ok((r, version))
}

/// Fetch `/metrics` from the admin listener.
pub async fn metrics(gw: &TestGateway) -> String {
    get(gw.admin(), "/metrics").await.text()
}

/// Collect a hyper response body.
pub async fn body_bytes(b: Incoming) -> Bytes {
    b.collect().await.unwrap().to_bytes()
}
