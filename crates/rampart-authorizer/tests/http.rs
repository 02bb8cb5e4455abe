//! The HTTP transport against real local servers on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rampart_authorizer::{
    authorize, event, parse_response, AuthorizerError, Cache, ConfigError, Format, HttpOptions,
    HttpTransport, Kind, Outcome, Transport,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ALLOW: &str = r#"{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[
    {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*"}]},
    "context":{"tenant":"t1"}}"#;

async fn handle(req: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let host = req
        .headers()
        .get("host")
        .map(|v| v.to_str().unwrap().to_string());
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let reply = |status: u16, body: Vec<u8>| {
        Ok(http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap())
    };
    match path.as_str() {
        // Echoes what it received in a simple response's context.
        "/echo" => {
            let received: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let out = json!({"isAuthorized": true, "context": {
                "method": method, "contentType": content_type, "host": host, "event": received}});
            reply(200, serde_json::to_vec(&out).unwrap())
        }
        "/authorizer/allow" => reply(200, ALLOW.as_bytes().to_vec()),
        "/401" => reply(401, br#"{"message":"Unauthorized"}"#.to_vec()),
        "/unauthorized" => reply(
            200,
            br#"{"errorMessage":"Unauthorized","errorType":"Error"}"#.to_vec(),
        ),
        "/500" => reply(500, br#"{"message":"boom"}"#.to_vec()),
        "/garbage" => reply(200, b"<html>hello</html>".to_vec()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply(200, ALLOW.as_bytes().to_vec())
        }
        "/big" => reply(200, vec![b' '; 2 << 20]),
        _ => reply(404, Vec::new()),
    }
}

/// A hyper HTTP/1.1 server; with `tls`, over rustls.
async fn serve(tls: Option<tokio_rustls::TlsAcceptor>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = service_fn(handle);
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                    }
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(tcp).await {
                            let _ = http.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A server that reads the request head and writes `raw`, then holds the connection
/// for `hold`.
async fn raw_server(raw: Vec<u8>, hold: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let raw = raw.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tcp.write_all(&raw).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    addr
}

fn transport(url: &str) -> HttpTransport {
    HttpTransport::new(
        url,
        HttpOptions {
            timeout: Duration::from_millis(500),
            ..HttpOptions::default()
        },
    )
    .unwrap()
}

fn token_event() -> Value {
    event(
        &Kind::token("Authorization", None).unwrap(),
        Format::Policy,
        &rest_facts(),
    )
}

async fn call(url: &str, format: Format) -> Result<Outcome, AuthorizerError> {
    let reply = transport(url).invoke(&token_event()).await?;
    parse_response(reply.status, &reply.body, format)
}

#[test]
fn defaults() {
    let o = HttpOptions::default();
    assert_eq!(o.timeout, Duration::from_secs(10));
    assert_eq!(o.max_body, 1 << 20);
    assert!(o.roots.is_none());
}

#[tokio::test]
async fn success_posts_the_event_as_json() {
    let addr = serve(None).await;
    let ev = token_event();
    let reply = transport(&format!("http://{addr}/echo"))
        .invoke(&ev)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let Ok(Outcome::Answer(r)) = parse_response(reply.status, &reply.body, Format::Simple) else {
        panic!()
    };
    assert_eq!(r.context["method"], "POST");
    assert_eq!(r.context["contentType"], "application/json");
    assert_eq!(r.context["host"], addr.to_string());
    assert_eq!(r.context["event"], ev);

    let Ok(Outcome::Answer(r)) = call(
        &format!("http://{addr}/authorizer/allow?x=1"),
        Format::Policy,
    )
    .await
    else {
        panic!()
    };
    assert_eq!(r.principal_id.as_deref(), Some("u"));
    assert_eq!(r.context["tenant"], "t1");
}

#[tokio::test]
async fn unauthorized_by_status_or_body() {
    let addr = serve(None).await;
    for path in ["401", "unauthorized"] {
        let out = call(&format!("http://{addr}/{path}"), Format::Policy)
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Unauthorized), "{path}");
    }
}

#[tokio::test]
async fn server_error_and_garbage() {
    let addr = serve(None).await;
    assert_eq!(
        call(&format!("http://{addr}/500"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::Status(500)
    );
    assert_eq!(
        call(&format!("http://{addr}/nothing"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::Status(404)
    );
    assert!(matches!(
        call(&format!("http://{addr}/garbage"), Format::Policy).await,
        Err(AuthorizerError::Malformed(_))
    ));
    // Not HTTP at all.
    let addr = raw_server(b"hello there\r\n\r\n".to_vec(), Duration::ZERO).await;
    assert!(matches!(
        call(&format!("http://{addr}/"), Format::Policy).await,
        Err(AuthorizerError::Transport(_))
    ));
    // The connection closes before a response.
    let addr = raw_server(Vec::new(), Duration::ZERO).await;
    assert!(matches!(
        call(&format!("http://{addr}/"), Format::Policy).await,
        Err(AuthorizerError::Transport(_))
    ));
}

#[tokio::test]
async fn timeout() {
    let addr = serve(None).await;
    let started = Instant::now();
    assert_eq!(
        call(&format!("http://{addr}/slow"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::Timeout(Duration::from_millis(500))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // The head arrives, the body never does: the timeout covers the body too.
    let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{".to_vec();
    let addr = raw_server(head, Duration::from_secs(5)).await;
    assert_eq!(
        call(&format!("http://{addr}/"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::Timeout(Duration::from_millis(500))
    );
}

#[tokio::test]
async fn connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    assert!(matches!(
        call(&format!("http://{addr}/"), Format::Policy).await,
        Err(AuthorizerError::Connect(_))
    ));
}

#[tokio::test]
async fn oversize_body() {
    let addr = serve(None).await;
    assert_eq!(
        call(&format!("http://{addr}/big"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::TooLarge { limit: 1 << 20 }
    );
    // Chunked, without a length: cut off at the bound.
    let mut raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..20 {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let addr = raw_server(raw, Duration::from_secs(1)).await;
    assert_eq!(
        call(&format!("http://{addr}/"), Format::Policy)
            .await
            .unwrap_err(),
        AuthorizerError::TooLarge { limit: 1 << 20 }
    );
    // A smaller bound applies as configured.
    let addr = serve(None).await;
    let t = HttpTransport::new(
        &format!("http://{addr}/authorizer/allow"),
        HttpOptions {
            max_body: 16,
            ..HttpOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        t.invoke(&token_event()).await.unwrap_err(),
        AuthorizerError::TooLarge { limit: 16 }
    );
}

#[tokio::test]
async fn https_with_custom_roots() {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(
        ck.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let addr = serve(Some(tokio_rustls::TlsAcceptor::from(Arc::new(server)))).await;
    let port = addr.port();
    for url in [
        format!("https://127.0.0.1:{port}/authorizer/allow"),
        format!("https://localhost:{port}/authorizer/allow"),
    ] {
        let t = HttpTransport::new(
            &url,
            HttpOptions {
                roots: Some(vec![cert.clone()]),
                ..HttpOptions::default()
            },
        )
        .unwrap();
        let reply = t.invoke(&token_event()).await.unwrap();
        assert!(
            matches!(
                parse_response(reply.status, &reply.body, Format::Policy),
                Ok(Outcome::Answer(_))
            ),
            "{url}"
        );
    }
    // With the public roots the self-signed certificate is refused.
    let t = HttpTransport::new(
        &format!("https://127.0.0.1:{port}/authorizer/allow"),
        HttpOptions::default(),
    )
    .unwrap();
    let err = t.invoke(&token_event()).await.unwrap_err();
    assert!(
        matches!(&err, AuthorizerError::Connect(m) if m.starts_with("TLS")),
        "{err:?}"
    );
    // Plain HTTP to a TLS port is not an answer either.
    assert!(call(
        &format!("http://127.0.0.1:{port}/authorizer/allow"),
        Format::Policy
    )
    .await
    .is_err());
}

#[tokio::test]
async fn whole_flow_over_http() {
    let addr = serve(None).await;
    let t = transport(&format!("http://{addr}/authorizer/allow"));
    let kind = Kind::token("Authorization", None).unwrap();
    let cache = Cache::default();
    let now = Instant::now();
    let out = authorize(&kind, Format::Policy, &rest_facts(), &cache, &t, now)
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Answer(_)));
    assert_eq!(cache.len(), 1);
    // A function-host transport plugs in as a trait object.
    let dynamic: &dyn Transport = &t;
    let again = authorize(&kind, Format::Policy, &rest_facts(), &cache, dynamic, now)
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Answer(_)));
}

#[test]
fn bad_urls() {
    for url in [
        "ftp://example.com/",
        "example.com/authorize",
        "/authorize",
        "http://",
        "http://user:pw@example.com/",
        "not a url",
    ] {
        assert!(
            matches!(
                HttpTransport::new(url, HttpOptions::default()),
                Err(ConfigError::Url(_))
            ),
            "{url}"
        );
    }
    assert!(matches!(
        HttpTransport::new(
            "https://example.com/",
            HttpOptions {
                roots: Some(vec![rustls_pki_types::CertificateDer::from(vec![
                    1u8, 2, 3
                ])]),
                ..HttpOptions::default()
            }
        ),
        Err(ConfigError::Tls(_))
    ));
    HttpTransport::new("http://[::1]:9/x", HttpOptions::default()).unwrap();
    HttpTransport::new("https://example.com", HttpOptions::default()).unwrap();
}
