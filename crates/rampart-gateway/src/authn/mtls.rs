//! `mtls` authorizers: the verified client certificate of the connection is the
//! credential. The listener already checked the chain against its trust store; here a
//! route decides which certificates it accepts (subject, SAN or SHA-256 fingerprint
//! patterns), which principal each maps to, and whether the certificate is revoked (an
//! optional CRL file, re-read on reload).

use std::collections::HashSet;

use crate::listener::tls::ClientCertInfo;
use rampart_iam::glob::Glob;

/// One accepted kind of certificate and the principal it maps to.
#[derive(Debug)]
pub struct Rule {
    pub subject: Option<Glob>,
    pub san: Option<Glob>,
    /// Lowercase hex.
    pub fingerprint: Option<String>,
    /// Default: `mtls:{subject}`.
    pub principal: Option<String>,
}

#[derive(Debug)]
pub struct MtlsAuthorizer {
    pub name: String,
    pub rules: Vec<Rule>,
    /// (issuer DN, serial as `x509-parser` prints it) of revoked certificates.
    pub revoked: HashSet<(String, String)>,
}

/// Why a certificate was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Revoked,
    NoRuleMatches,
}

impl MtlsAuthorizer {
    /// The principal of an accepted certificate.
    pub fn accept(&self, cert: &ClientCertInfo) -> Result<String, Refusal> {
        if self
            .revoked
            .contains(&(cert.issuer.clone(), cert.serial.clone()))
        {
            return Err(Refusal::Revoked);
        }
        for r in &self.rules {
            let subject_ok = r.subject.as_ref().is_none_or(|g| g.is_match(&cert.subject));
            let san_ok = r
                .san
                .as_ref()
                .is_none_or(|g| cert.sans.iter().any(|s| g.is_match(s)));
            let fp_ok = r
                .fingerprint
                .as_ref()
                .is_none_or(|f| *f == cert.fingerprint_sha256);
            if subject_ok && san_ok && fp_ok {
                return Ok(r
                    .principal
                    .clone()
                    .unwrap_or_else(|| format!("mtls:{}", cert.subject)));
            }
        }
        Err(Refusal::NoRuleMatches)
    }
}

/// Read a CRL file (PEM or DER) into (issuer, serial) pairs.
pub fn load_crl(path: &std::path::Path) -> Result<HashSet<(String, String)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----BEGIN") {
        rustls_pki_types::pem::PemObject::pem_slice_iter(&bytes)
            .filter_map(
                |r: Result<rustls_pki_types::CertificateRevocationListDer<'static>, _>| r.ok(),
            )
            .map(|d| d.as_ref().to_vec())
            .collect()
    } else {
        vec![bytes]
    };
    if ders.is_empty() {
        return Err(format!("{}: no CRL found", path.display()));
    }
    let mut out = HashSet::new();
    for der in ders {
        let (_, crl) = x509_parser::parse_x509_crl(&der)
            .map_err(|e| format!("{}: not a CRL: {e}", path.display()))?;
        let issuer = crl.issuer().to_string();
        for r in crl.iter_revoked_certificates() {
            out.insert((issuer.clone(), r.raw_serial_as_string()));
        }
    }
    Ok(out)
}
