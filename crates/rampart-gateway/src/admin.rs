//! The admin listener: `/metrics` (Prometheus text), `/healthz` (the process is up) and
//! `/readyz` (listeners are bound and a configuration is loaded; 503 while shutting down).
//! Bind it to a private address.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::Shared;

fn respond(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            shared.metrics.encode(),
        ),
        "/healthz" => (
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ok\"}".into(),
        ),
        "/readyz" if shared.is_ready() => (
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ready\"}".into(),
        ),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            "{\"status\":\"not ready\"}".into(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "application/json",
            "{\"message\":\"Not Found\"}".into(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(ctype) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let r = respond(&shared, &req);
                async move { Ok::<_, Infallible>(r) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}
