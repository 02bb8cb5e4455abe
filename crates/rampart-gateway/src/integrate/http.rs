//! HTTP integration: proxy to an upstream URL.
//!
//! - Path: without placeholders, the route's resource path is appended to the URL's path;
//!   with `{param}` / `{proxy}` placeholders the path is the URL with them filled in
//!   (values percent-encoded). Either way the path sent is built from the canonical path.
//! - Query: forwarded as received, or dropped.
//! - Connections: one keep-alive pool per integration; HTTP/1.1, or HTTP/2 (ALPN over TLS,
//!   prior knowledge over plain HTTP); connect timeout and a total timeout (29 s default)
//!   that covers the response head and its body.
//! - Upstream errors never reach the client: 502/504 with a generic message, detail logged.

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Version};

use super::headers::{strip_hop_by_hop, Rewrite, X_FORWARDED_FOR};
use super::pool::{Pool, PoolError, Target};
use super::UpstreamBody;

use crate::body::{client_body_error, upstream, GatewayBody, LimitedBody};
use crate::respond::GatewayError;
use crate::route::ParamValue;
use rustls_pki_types::ServerName;

/// One part of a URL path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlPart {
    Text(String),
    Param(String),
}

/// TLS settings toward the upstream, already loaded.
pub struct UpstreamTls {
    pub config: rustls::ClientConfig,
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
    /// The URL's path without its trailing slash (`""` for the root).
    pub base_path: String,
    /// Set when the URL has placeholders.
    pub template: Option<Vec<UrlPart>>,
    pub forward_query: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub http2: bool,
    pub preserve_host: bool,
}

pub struct HttpIntegration {
    pub settings: HttpSettings,
    host_header: HeaderValue,
    pool: Pool,
}

impl std::fmt::Debug for HttpIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpIntegration")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpIntegration {
    pub fn new(settings: HttpSettings, tls: UpstreamTls) -> Result<Self, String> {
        let host_header = HeaderValue::from_str(settings.authority.as_str())
            .map_err(|_| "invalid upstream authority".to_string())?;
        let https = settings.scheme == http::uri::Scheme::HTTPS;
        let host = settings
            .authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = settings
            .authority
            .port_u16()
            .unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let mut config = tls.config;
            config.alpn_protocols = if settings.http2 {
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            } else {
                vec![b"http/1.1".to_vec()]
            };
            let name = ServerName::try_from(host.clone())
                .map_err(|_| format!("`{host}` is not a valid TLS server name"))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        let pool = Pool::new(Target {
            scheme: settings.scheme.clone(),
            authority: settings.authority.clone(),
            host,
            port,
            tls,
            http2: settings.http2,
            connect_timeout: settings.connect_timeout,
        });
        Ok(Self {
            settings,
            host_header,
            pool,
        })
    }

    /// The upstream path and query for a request.
    pub fn upstream_path(
        &self,
        resource_path: &str,
        params: &[(&str, ParamValue<'_>)],
        query: Option<&str>,
    ) -> String {
        let s = &self.settings;
        let mut out = String::with_capacity(s.base_path.len() + resource_path.len() + 32);
        match &s.template {
            Some(parts) => {
                for p in parts {
                    match p {
                        UrlPart::Text(t) => out.push_str(t),
                        UrlPart::Param(name) => {
                            if let Some((_, v)) = params.iter().find(|(n, _)| n == name) {
                                v.encoded(&mut out);
                            }
                        }
                    }
                }
            }
            None => {
                out.push_str(&s.base_path);
                for seg in resource_path.split('/').skip(1) {
                    out.push('/');
                    rampart_normalize::encode_segment(seg, &mut out);
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        if s.forward_query {
            if let Some(q) = query {
                out.push('?');
                out.push_str(q);
            }
        }
        out
    }

    /// Send the request upstream and return its response, or a gateway error.
    pub async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: LimitedBody,
        path_and_query: &str,
        forwarded: &Forwarded<'_>,
    ) -> Result<Response<GatewayBody>, GatewayError> {
        let s = &self.settings;
        // Origin form (the pool makes it absolute for an HTTP/2 upstream), written into the
        // HTTP/1.1 request line as it is: made of checked parts (the configured URL, encoded
        // path segments, the query hyper parsed), and checked again here for what could end
        // or split that line.
        if !is_origin_form(path_and_query) {
            return Err(GatewayError::Internal {
                detail: format!("upstream request target {path_and_query:?}"),
            });
        }
        let client_host = parts.headers.get(header::HOST).cloned().or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
        let host = match (&client_host, s.preserve_host) {
            (_, false) => Some(self.host_header.clone()),
            (v, true) => v.clone(),
        };
        let forwarded_for = if forwarded.trust_forwarded {
            // A trusted proxy's chain is kept, all its lines as one list (RFC 9110, section
            // 5.3), and the proxy itself appended.
            let mut chain = Vec::new();
            for v in parts.headers.get_all(X_FORWARDED_FOR) {
                chain.extend_from_slice(v.as_bytes());
                chain.extend_from_slice(b", ");
            }
            chain.extend_from_slice(forwarded.peer_header.as_bytes());
            HeaderValue::from_bytes(&chain).unwrap_or_else(|_| forwarded.peer_header.clone())
        } else {
            forwarded.peer_header.clone()
        };
        let rewrite = Rewrite::new(
            &parts.headers,
            forwarded.trust_forwarded,
            host,
            client_host,
            forwarded_for,
            forwarded.tls,
            forwarded.request_id.clone(),
        );
        parts.version = Version::HTTP_11;
        let req = Request::from_parts(parts, body);

        // One timer bounds the response head and then its body.
        let mut deadline = Box::pin(tokio::time::sleep(s.timeout));
        let resp = tokio::select! {
            biased;
            r = self.pool.send(req, path_and_query, &rewrite) => match r {
                Ok(r) => r,
                Err(e) => return Err(classify(e)),
            },
            _ = deadline.as_mut() => return Err(GatewayError::UpstreamTimeout),
        };
        // (A 101 never gets here: the HTTP/1.1 exchange refuses it, HTTP/2 has none.)
        let (mut rp, rb) = resp.into_parts();
        // An HTTP/1.1 head comes without hop-by-hop fields (and without a length voided by a
        // transfer coding, RFC 9112, section 6.3); HTTP/2 has neither, but a field that names
        // a connection's business is still not passed on.
        if matches!(rb, UpstreamBody::H2(_)) {
            strip_hop_by_hop(&mut rp.headers);
        }
        rp.version = Version::HTTP_11;
        Ok(Response::from_parts(rp, upstream(rb, deadline)))
    }
}

/// Whether `t` can go into a request line as its target: it begins with `/` and holds no
/// space or control byte (which would end or split the line).
fn is_origin_form(t: &str) -> bool {
    t.starts_with('/') && !t.bytes().any(|b| b <= b' ' || b == 0x7f)
}

/// Facts about the client that go into the `X-Forwarded-*` headers.
pub struct Forwarded<'a> {
    /// The address that connected to the gateway, as a header value.
    pub peer_header: &'a HeaderValue,
    pub tls: bool,
    pub request_id: &'a HeaderValue,
    /// The peer is a trusted proxy: keep its `X-Forwarded-For` chain.
    pub trust_forwarded: bool,
}

/// Map an upstream error to a gateway error: an oversize or too slow request body is the
/// client's fault.
fn classify(e: PoolError) -> GatewayError {
    if let PoolError::H1(super::h1::Error::RequestBody(b)) = &e {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(b.as_ref());
        while let Some(s) = src {
            if let Some(client) = client_body_error(s) {
                return client;
            }
            src = s.source();
        }
    }
    if let PoolError::Http(h) = &e {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(h);
        while let Some(s) = src {
            if let Some(client) = client_body_error(s) {
                return client;
            }
            src = s.source();
        }
    }
    GatewayError::UpstreamFailure {
        detail: e.to_string(),
    }
}

/// Remove configured response headers (`server`, `x-powered-by`, ...).
pub fn strip_response_headers(h: &mut HeaderMap, names: &[HeaderName]) {
    for n in names {
        h.remove(n);
    }
}

/// Build the rustls client configuration for an upstream.
pub fn upstream_tls(
    ca: Option<Vec<rustls_pki_types::CertificateDer<'static>>>,
    client: Option<(
        Vec<rustls_pki_types::CertificateDer<'static>>,
        rustls_pki_types::PrivateKeyDer<'static>,
    )>,
) -> Result<UpstreamTls, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(certs) => {
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("invalid CA certificate: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("invalid client certificate or key: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(UpstreamTls { config })
}

#[cfg(test)]
mod tests {
    use super::is_origin_form;

    #[test]
    fn request_targets_that_cannot_split_the_request_line() {
        for ok in ["/", "/a/b%20c?x=1&y=%22", "/caf%C3%A9?q=\u{e9}"] {
            assert!(is_origin_form(ok), "{ok:?}");
        }
        for bad in [
            "",
            "a/b",
            "*",
            "/a b",
            "/a\r\nx: y",
            "/a\tb",
            "/a\0",
            "/a\u{7f}",
        ] {
            assert!(!is_origin_form(bad), "{bad:?}");
        }
    }
}
