//! The embedded demo: what `rampart serve` runs with no configuration. A demo API with a
//! mock route and proxy routes to a built-in echo upstream, on HTTP and on HTTPS with a
//! self-signed certificate generated at start, plus the admin listener.
//!
//! Addresses can be moved with `RAMPART_DEMO_HTTP`, `RAMPART_DEMO_HTTPS` and
//! `RAMPART_DEMO_ADMIN` (use `127.0.0.1:0` for any free port).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::config::{self, Compiled, ConfigErrors};

/// The demo configuration; `${env:...}` values are filled in by [`load`].
pub const DEMO_CONFIG: &str = include_str!("demo.yaml");

/// Write a fresh self-signed certificate and load the demo configuration.
pub fn load(echo: SocketAddr) -> Result<(Compiled, PathBuf), String> {
    let dir = std::env::temp_dir().join(format!("rampart-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (cert, key) = crate::listener::tls::self_signed(&["localhost", "127.0.0.1"])?;
    std::fs::write(dir.join("demo-cert.pem"), cert).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("demo-key.pem"), key).map_err(|e| e.to_string())?;
    let echo = format!("http://{echo}");
    let lookup = move |name: &str| match name {
        "RAMPART_DEMO_ECHO" => Some(echo.clone()),
        other => std::env::var(other).ok(),
    };
    let cfg = config::load_str(DEMO_CONFIG, "<embedded demo>", &dir, &lookup)
        .map_err(|e: ConfigErrors| e.to_string())?;
    Ok((cfg, dir))
}

async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 1024 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let v = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// Start the built-in echo upstream on `addr`; it answers every request with a JSON
/// description of it (method, path, query, headers, body).
pub async fn start_echo(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let l = tokio::net::TcpListener::bind(addr).await?;
    let local = l.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), hyper::service::service_fn(echo))
                    .await;
            });
        }
    });
    Ok(local)
}
