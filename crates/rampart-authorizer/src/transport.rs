//! How the event reaches the authorizer: a small trait, and an HTTP implementation that
//! POSTs the event as JSON to a URL.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::uri::{PathAndQuery, Scheme, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::{AuthorizerError, ConfigError};

/// What an authorizer replied: a status and the body. A function host replies 200 with
/// the function's result, or with `{"errorMessage": ...}` when the function failed.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// The future [`Transport::invoke`] returns.
pub type InvokeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Reply, AuthorizerError>> + Send + 'a>>;

/// Sends an event to the authorizer and returns its reply. Implementations bound the
/// time and the reply size themselves and report failures as [`AuthorizerError`]s.
///
/// A function host implements it too: the function's result as the body with status 200;
/// a function that fails with the error message `Unauthorized` (the Lambda convention)
/// as `{"errorMessage":"Unauthorized"}`, any other failure as `{"errorMessage": ...}` or
/// an error.
pub trait Transport: Send + Sync {
    fn invoke<'a>(&'a self, event: &'a Value) -> InvokeFuture<'a>;
}

/// Settings of an [`HttpTransport`].
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The whole call: connect, TLS, request, response head and body.
    pub timeout: Duration,
    /// Trusted roots for `https://`; `None` uses the Mozilla roots (webpki-roots).
    pub roots: Option<Vec<CertificateDer<'static>>>,
    /// Largest response body accepted.
    pub max_body: usize,
}

impl Default for HttpOptions {
    /// 10 s (API Gateway's Lambda authorizer limit for HTTP APIs), Mozilla roots, 1 MiB.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            roots: None,
            max_body: 1 << 20,
        }
    }
}

/// POSTs the event as JSON to an `http://` or `https://` URL, one HTTP/1.1 connection per
/// call. The reply's status and body go to [`parse_response`](crate::parse_response).
pub struct HttpTransport {
    https: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    /// Host to connect to (IPv6 without brackets).
    host: String,
    port: u16,
    host_header: HeaderValue,
    path: PathAndQuery,
    options: HttpOptions,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("https", &self.https.is_some())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("timeout", &self.options.timeout)
            .field("max_body", &self.options.max_body)
            .finish()
    }
}

impl HttpTransport {
    pub fn new(url: &str, options: HttpOptions) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Url(format!("{url}: {why}"));
        let uri = Uri::from_str(url).map_err(|e| bad(&e.to_string()))?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(bad("must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user information is not allowed"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad("invalid host"))?;
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let https = if https {
            let name = ServerName::try_from(host.clone())
                .map_err(|_| bad("not a valid TLS server name"))?;
            Some((connector(options.roots.clone())?, name))
        } else {
            None
        };
        Ok(Self {
            https,
            host,
            port,
            host_header,
            path,
            options,
        })
    }

    async fn call(&self, body: Vec<u8>) -> Result<Reply, AuthorizerError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| AuthorizerError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match &self.https {
            None => self.exchange(TokioIo::new(tcp), body).await,
            Some((tls, name)) => {
                let stream = tls
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| AuthorizerError::Connect(format!("TLS: {e}")))?;
                self.exchange(TokioIo::new(stream), body).await
            }
        }
    }

    async fn exchange<T>(&self, io: TokioIo<T>, body: Vec<u8>) -> Result<Reply, AuthorizerError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| AuthorizerError::Transport(error_chain(&e)))?;
        // Drives the connection; ends when the response is read and `sender` dropped (or
        // the call is abandoned), and in any case soon after the call's timeout.
        let limit = self.options.timeout.saturating_add(Duration::from_secs(1));
        tokio::spawn(async move {
            let _ = tokio::time::timeout(limit, conn).await;
        });
        let len = body.len();
        let req = http::Request::post(self.path.as_str())
            .header(HOST, self.host_header.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(CONTENT_LENGTH, len)
            .header(
                USER_AGENT,
                concat!("rampart-authorizer/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AuthorizerError::Transport(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| AuthorizerError::Transport(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let max = self.options.max_body;
        let declared = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(AuthorizerError::TooLarge { limit: max });
        }
        let body = Limited::new(resp.into_body(), max)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    AuthorizerError::TooLarge { limit: max }
                } else {
                    AuthorizerError::Transport(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Reply { status, body })
    }
}

impl Transport for HttpTransport {
    fn invoke<'a>(&'a self, event: &'a Value) -> InvokeFuture<'a> {
        Box::pin(async move {
            let body =
                serde_json::to_vec(event).map_err(|e| AuthorizerError::Transport(e.to_string()))?;
            tokio::time::timeout(self.options.timeout, self.call(body))
                .await
                .map_err(|_| AuthorizerError::Timeout(self.options.timeout))?
        })
    }
}

fn connector(
    roots: Option<Vec<CertificateDer<'static>>>,
) -> Result<tokio_rustls::TlsConnector, ConfigError> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Some(certs) => {
            for c in certs {
                store
                    .add(c)
                    .map_err(|e| ConfigError::Tls(format!("invalid root certificate: {e}")))?;
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConfigError::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// An error and its sources, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}
