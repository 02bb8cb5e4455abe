//! Fetching discovery documents and JWK Sets: HTTPS GET (HTTP/1.1), bounded in time and
//! size, no redirects, no proxies.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// Why a fetch failed (logged, never returned to callers of `verify`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{0}")]
    Url(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("HTTP: {0}")]
    Http(hyper::Error),
    #[error("HTTP status {0}")]
    Status(StatusCode),
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading body: {0}")]
    Body(String),
    #[error("invalid document: {0}")]
    Document(String),
}

/// A checked key URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyUrl {
    uri: Uri,
    tls: bool,
    /// Host without IPv6 brackets.
    host: String,
    port: u16,
}

impl KeyUrl {
    /// Check a URL: `https://`, or `http://` to a loopback host when `allow_http`; a host;
    /// no user info; no fragment.
    pub fn parse(s: &str, allow_http: bool) -> Result<KeyUrl, String> {
        let uri: Uri = s.parse().map_err(|_| format!("invalid URL {s:?}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("URL {s:?} is not https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("URL {s:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!("URL {s:?} has user info"));
        }
        if s.contains('#') {
            return Err(format!("URL {s:?} has a fragment"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(format!("URL {s:?} has no host"));
        }
        if !tls {
            if !allow_http {
                return Err(format!(
                    "URL {s:?} is not https:// (dangerous_allow_http permits http:// to loopback only)"
                ));
            }
            if !is_loopback_name(&host) {
                return Err(format!(
                    "URL {s:?}: http:// is only allowed to a loopback address"
                ));
            }
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(KeyUrl {
            uri,
            tls,
            host,
            port,
        })
    }
}

fn is_loopback_name(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The rustls client configuration: the given PEM roots, or the Mozilla roots.
pub(crate) fn tls_config(roots_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match roots_pem {
        Some(pem) => {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("root_certificates_pem: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("root_certificates_pem: {e}"))?;
                n += 1;
            }
            if n == 0 {
                return Err("root_certificates_pem contains no certificate".into());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How to fetch one issuer's documents.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub tls: Arc<rustls::ClientConfig>,
    pub timeout: Duration,
    pub max_bytes: usize,
    pub allow_http: bool,
}

/// Aborts a spawned task when dropped (the HTTP connection driver).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Fetcher {
    /// GET `url` and return the body, within the timeout and size bound.
    pub async fn get(&self, url: &KeyUrl) -> Result<Bytes, FetchError> {
        match tokio::time::timeout(self.timeout, self.get_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn get_inner(&self, url: &KeyUrl) -> Result<Bytes, FetchError> {
        let tcp = if url.tls {
            TcpStream::connect((url.host.as_str(), url.port))
                .await
                .map_err(FetchError::Connect)?
        } else {
            // Plain HTTP only ever goes to a loopback address, whatever `localhost` resolves to.
            let addrs: Vec<_> = tokio::net::lookup_host((url.host.as_str(), url.port))
                .await
                .map_err(FetchError::Connect)?
                .filter(|a| a.ip().is_loopback())
                .collect();
            if addrs.is_empty() {
                return Err(FetchError::Url(format!(
                    "{} does not resolve to a loopback address",
                    url.host
                )));
            }
            TcpStream::connect(&addrs[..])
                .await
                .map_err(FetchError::Connect)?
        };
        let _ = tcp.set_nodelay(true);
        if url.tls {
            let name = ServerName::try_from(url.host.clone())
                .map_err(|_| FetchError::Url(format!("invalid TLS server name {:?}", url.host)))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(FetchError::Tls)?;
            self.request(TokioIo::new(tls), url).await
        } else {
            self.request(TokioIo::new(tcp), url).await
        }
    }

    async fn request<T>(&self, io: T, url: &KeyUrl) -> Result<Bytes, FetchError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(FetchError::Http)?;
        let _driver = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let path = url
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let authority = url
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let req = Request::get(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "rampart-jwt")
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Url(e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(FetchError::Http)?;
        if resp.status() != StatusCode::OK {
            return Err(FetchError::Status(resp.status()));
        }
        let declared = resp
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes as u64) {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let body = Limited::new(resp.into_body(), self.max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge(self.max_bytes)
                } else {
                    FetchError::Body(e.to_string())
                }
            })?;
        Ok(body.to_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(KeyUrl::parse("https://idp.example/jwks", false).is_ok());
        assert!(KeyUrl::parse("https://idp.example:8443/a?b=c", false).is_ok());
        assert!(KeyUrl::parse("http://idp.example/jwks", false).is_err());
        assert!(KeyUrl::parse("http://idp.example/jwks", true).is_err());
        assert!(KeyUrl::parse("http://10.0.0.1/jwks", true).is_err());
        assert!(KeyUrl::parse("http://127.0.0.1:9/jwks", false).is_err());
        assert!(KeyUrl::parse("http://127.0.0.1:9/jwks", true).is_ok());
        assert!(KeyUrl::parse("http://127.9.9.9/jwks", true).is_ok());
        assert!(KeyUrl::parse("http://[::1]:9/jwks", true).is_ok());
        assert!(KeyUrl::parse("http://localhost/jwks", true).is_ok());
        assert!(KeyUrl::parse("ftp://idp.example/jwks", true).is_err());
        assert!(KeyUrl::parse("https://u:p@idp.example/jwks", false).is_err());
        assert!(KeyUrl::parse("https://idp.example/jwks#x", false).is_err());
        assert!(KeyUrl::parse("/jwks", false).is_err());
        assert!(KeyUrl::parse("not a url", false).is_err());
        let u = KeyUrl::parse("https://[::1]/k", false).ok();
        assert_eq!(u.map(|u| (u.host, u.port)), Some(("::1".to_owned(), 443)));
    }

    #[test]
    fn roots() {
        assert!(tls_config(None).is_ok());
        assert!(tls_config(Some(b"")).is_err());
        assert!(tls_config(Some(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        ))
        .is_err());
    }
}
