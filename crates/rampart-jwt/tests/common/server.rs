//! A local identity-provider stand-in: discovery document and JWKS over real TLS (a CA and
//! server certificate made with rcgen) or plain HTTP, on 127.0.0.1, with switchable
//! failures and per-path request counters.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;

pub const JWKS_PATH: &str = "/jwks.json";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// 200 with the current documents.
    Ok,
    /// This status with a small JSON error body.
    Status(u16),
    /// Accept the connection (and TLS handshake), read the request, close without answering.
    Close,
    /// Wait this long before answering normally.
    Slow(Duration),
    /// 200 with a JWKS this many bytes long, with a `Content-Length`.
    Big(usize),
    /// 200 with a JWKS this many bytes long, chunked (no `Content-Length`).
    BigChunked(usize),
}

pub struct State {
    pub jwks: String,
    /// The discovery document's `issuer` (defaults to the server's base URL).
    pub discovery_issuer: Option<String>,
    /// The discovery document's `jwks_uri` (defaults to this server's JWKS).
    pub jwks_uri: Option<String>,
    pub mode: Mode,
    pub hits: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct Server {
    pub base: String,
    pub ca_pem: Vec<u8>,
    state: Arc<Mutex<State>>,
}

impl Server {
    /// An HTTPS server with its own CA (`ca_pem`), serving `jwks`.
    pub async fn start(jwks: String) -> Server {
        Self::start_with(jwks, true).await
    }

    /// A plain-HTTP server on 127.0.0.1.
    pub async fn start_http(jwks: String) -> Server {
        Self::start_with(jwks, false).await
    }

    async fn start_with(jwks: String, tls: bool) -> Server {
        let (acceptor, ca_pem) = if tls {
            let (config, ca_pem) = tls_server_config();
            (Some(tokio_rustls::TlsAcceptor::from(config)), ca_pem)
        } else {
            (None, Vec::new())
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls { "https" } else { "http" };
        let base = format!("{scheme}://127.0.0.1:{}", addr.port());
        let state = Arc::new(Mutex::new(State {
            jwks,
            discovery_issuer: None,
            jwks_uri: None,
            mode: Mode::Ok,
            hits: HashMap::new(),
        }));
        let server = Server {
            base: base.clone(),
            ca_pem,
            state: state.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = state.clone();
                let base = base.clone();
                let state_c = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        let base = base.clone();
                        async move { Ok::<_, Infallible>(handle(req, &state, &base).await) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    let close = matches!(state_c.lock().unwrap().mode, Mode::Close);
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            if close {
                                return read_then_close(tls, &state_c).await;
                            }
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                        None => {
                            if close {
                                return read_then_close(tcp, &state_c).await;
                            }
                            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        server
    }

    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.base)
    }

    pub fn set_jwks(&self, jwks: String) {
        self.state.lock().unwrap().jwks = jwks;
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn set_discovery_issuer(&self, issuer: &str) {
        self.state.lock().unwrap().discovery_issuer = Some(issuer.into());
    }

    pub fn set_jwks_uri(&self, uri: &str) {
        self.state.lock().unwrap().jwks_uri = Some(uri.into());
    }

    /// Requests received for `path` (closed connections count too).
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Wait (up to 5 s) until `path` has had `n` requests.
    pub async fn wait_hits(&self, path: &str, n: usize) {
        for _ in 0..500 {
            if self.hits(path) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{path} never reached {n} hits (got {})", self.hits(path));
    }
}

/// Read the request head, count it, and close the connection without answering.
async fn read_then_close<S: AsyncRead + Unpin>(mut stream: S, state: &Mutex<State>) {
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    let path = head.split(' ').nth(1).unwrap_or("?").to_owned();
    *state.lock().unwrap().hits.entry(path).or_default() += 1;
}

/// A response body: chunks without a known length.
struct Chunked(VecDeque<Bytes>);

impl Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

type Resp = Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

fn full(status: u16, body: impl Into<Bytes>) -> Resp {
    use http_body_util::BodyExt;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(body.into()).boxed())
        .unwrap()
}

/// A syntactically valid JWK Set of about `n` bytes.
fn big_jwks(n: usize) -> String {
    format!("{{\"keys\":[],\"padding\":\"{}\"}}", "x".repeat(n))
}

async fn handle(req: Request<Incoming>, state: &Mutex<State>, base: &str) -> Resp {
    use http_body_util::BodyExt;
    let path = req.uri().path().to_owned();
    let (mode, jwks, issuer, jwks_uri) = {
        let mut st = state.lock().unwrap();
        *st.hits.entry(path.clone()).or_default() += 1;
        (
            st.mode.clone(),
            st.jwks.clone(),
            st.discovery_issuer
                .clone()
                .unwrap_or_else(|| base.to_owned()),
            st.jwks_uri
                .clone()
                .unwrap_or_else(|| format!("{base}{JWKS_PATH}")),
        )
    };
    match mode {
        Mode::Ok => {}
        Mode::Status(s) => return full(s, "{\"error\":\"down\"}"),
        Mode::Close => unreachable!("handled per connection"),
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Big(n) => return full(200, big_jwks(n)),
        Mode::BigChunked(n) => {
            let body = big_jwks(n);
            let chunks = body
                .as_bytes()
                .chunks(8192)
                .map(Bytes::copy_from_slice)
                .collect();
            return Response::builder()
                .status(200)
                .body(Chunked(chunks).boxed())
                .unwrap();
        }
    }
    if path == JWKS_PATH {
        full(200, jwks)
    } else if path == DISCOVERY_PATH || path.ends_with(DISCOVERY_PATH) {
        let doc = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        full(200, doc.to_string())
    } else {
        full(StatusCode::NOT_FOUND.as_u16(), "{}")
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost: the rustls server config and
/// the CA certificate as PEM.
fn tls_server_config() -> (Arc<rustls::ServerConfig>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rampart-jwt test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jwks.test");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (Arc::new(config), ca.pem().into_bytes())
}
