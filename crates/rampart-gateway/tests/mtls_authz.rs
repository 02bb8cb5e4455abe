//! `mtls` authorizers end to end: the connection's verified client certificate is the
//! credential; subject / SAN patterns pick the certificates a route accepts and the
//! principal they map to (an identity's ARN brings its policies), a CRL revokes, a missing
//! certificate is 401 and a certificate no rule accepts is 403.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
const H1: &[&[u8]] = &[b"http/1.1"];

/// A client certificate with a chosen serial number.
fn client_cert(pki: &Pki, cn: &str, sans: Vec<String>, serial: u8) -> Issued {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(sans).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(rcgen::SerialNumber::from(vec![0x42, serial]));
    let cert = params.signed_by(&key, &pki.ca, &pki.ca_key).unwrap();
    Issued {
        der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

#[tokio::test]
async fn client_certificate_identities() {
    let dir = tempdir();
    let pki = Pki::new(dir.path(), "main");
    pki.server("server");
    // The CRL revokes serial 42:03 (partner-c).
    let now = rcgen::date_time_ymd(2024, 1, 1);
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: rcgen::date_time_ymd(2100, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(vec![0x42, 3]),
            revocation_time: now,
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&pki.ca, &pki.ca_key)
    .unwrap();
    std::fs::write(dir.path().join("revoked.pem"), crl.pem().unwrap()).unwrap();
    let yaml = "server:
  listeners:
    - name: tls
      bind: 127.0.0.1:0
      tls: {cert: server-cert.pem, key: server-key.pem, client_auth: {mode: optional, trust_store: main-ca.pem}}
  admin: {bind: 127.0.0.1:0}
  access_log: {output: access.log}
identities:
  users:
    - name: partner-a
      policies:
        - {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:*:*:*/*/GET/*'}]}
authorizers:
  partners:
    type: mtls
    allow:
      - {subject: 'CN=partner-a', principal: 'arn:aws:iam::000000000000:user/partner-a'}
      - {san: 'DNS:*.partners.test'}
    crl: revoked.pem
apis:
  - name: p
    stages: [prod]
    routes:
      - {method: ANY, path: /thing, authorizers: [partners], integration: {type: mock, body: thing}}
";
    let g = start_in(dir, yaml).await;
    let addr = g.addr("tls");
    let ca = pki.ca_der();
    let call = |cert: Option<Issued>, target: &'static str| {
        let ca = ca.clone();
        async move {
            tls_get(addr, tls_client(&ca, cert.as_ref(), TLS13, H1), target)
                .await
                .unwrap()
                .0
        }
    };
    let a = client_cert(&pki, "partner-a", vec![], 1);
    let b = client_cert(&pki, "partner-b", vec!["b.partners.test".into()], 2);
    let c = client_cert(&pki, "partner-c", vec!["c.partners.test".into()], 3);
    let stranger = client_cert(&pki, "stranger", vec!["stranger.test".into()], 4);

    // partner-a maps to an identity whose policy allows GET.
    let r = call(Some(a), "/prod/thing").await;
    assert_eq!((r.status, r.text().as_str()), (200, "thing"));
    // partner-b is accepted by its SAN; its principal is named after the certificate.
    assert_eq!(call(Some(b), "/prod/thing").await.status, 200);
    // Revoked, unknown, and no certificate at all.
    let r = call(Some(c), "/prod/thing").await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (401, Some("Unauthorized"))
    );
    let r = call(Some(stranger), "/prod/thing").await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (403, Some("Forbidden"))
    );
    let r = call(None, "/prod/thing").await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (401, Some("Unauthorized"))
    );

    let log = g.access_log(5).await;
    assert_eq!(
        log[0]["principal"],
        "arn:aws:iam::000000000000:user/partner-a"
    );
    assert_eq!(log[1]["principal"], "mtls:CN=partner-b");
    assert_eq!(log[2]["error"], "UNAUTHORIZED");
    assert_eq!(log[3]["error"], "ACCESS_DENIED");
    assert_eq!(log[4]["rejected_by"], "authenticate");
}

#[tokio::test]
async fn identity_policies_apply_to_certificate_principals() {
    // The same identity, but its policy allows only GET: a POST is denied by IAM.
    let dir = tempdir();
    let pki = Pki::new(dir.path(), "main");
    pki.server("server");
    let yaml = "server:
  listeners:
    - name: tls
      bind: 127.0.0.1:0
      tls: {cert: server-cert.pem, key: server-key.pem, client_auth: {mode: required, trust_store: main-ca.pem}}
identities:
  users:
    - name: partner-a
      policies:
        - {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:*:*:*/*/GET/*'}]}
authorizers:
  partners: {type: mtls, allow: [{subject: 'CN=partner-a', principal: 'arn:aws:iam::000000000000:user/partner-a'}]}
apis:
  - name: p
    stages: [prod]
    authorizers: [partners]
    routes:
      - {method: ANY, path: /thing, integration: {type: mock, body: thing}}
";
    let g = start_in(dir, yaml).await;
    let addr = g.addr("tls");
    let a = client_cert(&pki, "partner-a", vec![], 1);
    let cfg = tls_client(&pki.ca_der(), Some(&a), TLS13, H1);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    s.write_all(b"POST /prod/thing HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s).await.unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User: arn:aws:iam::000000000000:user/partner-a is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:p/prod/POST/thing"
    );
}
