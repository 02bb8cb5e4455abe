//! TLS for listeners: rustls with TLS 1.2 and 1.3 only (older versions are refused at the
//! handshake, because rustls does not implement them), its default modern cipher suites
//! (AES-GCM and ChaCha20-Poly1305 with ECDHE), HTTP/2 by ALPN, and optional mutual TLS.
//!
//! Certificates are read from files when a configuration is loaded, so a reload picks up
//! renewed certificates; a file that cannot be read fails the load, never the handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Client certificate policy of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMode {
    /// The handshake fails without a valid client certificate.
    Required,
    /// A client may present none; one that is presented must be valid.
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuthSpec {
    pub mode: ClientAuthMode,
    pub trust_store: PathBuf,
}

/// A listener's TLS settings as configured (file paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_auth: Option<ClientAuthSpec>,
}

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificate file {}: {e}", path.display()))?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", path.display()));
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read private key from {}: {e}", path.display()))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build a rustls server configuration from certificate data.
pub fn server_config_from(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_auth: Option<(ClientAuthMode, Vec<CertificateDer<'static>>)>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let builder = match client_auth {
        None => builder.with_no_client_auth(),
        Some((mode, cas)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in cas {
                roots
                    .add(c)
                    .map_err(|e| format!("invalid trust store certificate: {e}"))?;
            }
            let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if mode == ClientAuthMode::Optional {
                vb = vb.allow_unauthenticated();
            }
            let verifier = vb.build().map_err(|e| format!("trust store: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("certificate and key do not form a usable pair: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Read the files of `spec` and build its server configuration.
pub fn server_config(spec: &TlsSpec) -> Result<Arc<ServerConfig>, String> {
    let chain = load_certs(&spec.cert)?;
    let key = load_key(&spec.key)?;
    let ca = match &spec.client_auth {
        None => None,
        Some(ca) => Some((ca.mode, load_certs(&ca.trust_store)?)),
    };
    server_config_from(chain, key, ca)
}

/// What later stages and the access log know of a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertInfo {
    /// The subject distinguished name, e.g. `CN=client-1, O=Example`.
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names, as `DNS:x`, `URI:x`, `email:x`, `IP:x`.
    pub sans: Vec<String>,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub fingerprint_sha256: String,
    pub serial: String,
}

impl ClientCertInfo {
    pub fn from_der(der: &[u8]) -> Option<Self> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                    GeneralName::URI(u) => sans.push(format!("URI:{u}")),
                    GeneralName::RFC822Name(e) => sans.push(format!("email:{e}")),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => {
                            let b: [u8; 4] = (*ip).try_into().ok()?;
                            sans.push(format!("IP:{}", std::net::Ipv4Addr::from(b)));
                        }
                        16 => {
                            let b: [u8; 16] = (*ip).try_into().ok()?;
                            sans.push(format!("IP:{}", std::net::Ipv6Addr::from(b)));
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        Some(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            fingerprint_sha256: hex(&Sha256::digest(der)),
            serial: cert.raw_serial_as_string(),
        })
    }
}

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

/// TLS facts of one connection.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: &'static str,
    pub alpn: Option<String>,
    pub client_cert: Option<Arc<ClientCertInfo>>,
}

impl TlsInfo {
    pub fn from_connection(c: &rustls::ServerConnection) -> Self {
        let version = match c.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let client_cert = c
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|der| ClientCertInfo::from_der(der.as_ref()))
            .map(Arc::new);
        Self {
            version,
            alpn: c
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            client_cert,
        }
    }
}

/// A self-signed certificate for the demo (and tests): PEM chain and key.
pub fn self_signed(names: &[&str]) -> Result<(String, String), String> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    Ok((ck.cert.pem(), ck.key_pair.serialize_pem()))
}
