//! Configuration reload: a good file replaces the configuration atomically for new
//! requests, a bad one is rejected and the old one keeps serving, and no request in
//! flight fails either way. Also: reload on file change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Response;
use http_body_util::Full;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn config(version: &str, upstream: std::net::SocketAddr) -> String {
    format!(
        "{}apis:
  - name: api
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /version, integration: {{type: mock, body: {version}}}}}
      - {{method: GET, path: /slow, integration: {{type: http, url: 'http://{upstream}/slow'}}}}
",
        server_section("")
    )
}

#[tokio::test]
async fn reload_good_and_bad_while_requests_are_in_flight() {
    let slow = backend(|_req| async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Response::new(Full::new(Bytes::from_static(b"slow-ok")))
    })
    .await;
    let g = start(&config("v1", slow)).await;
    let a = g.addr("main");
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for i in 0..4 {
        let (stop, failures, served) = (stop.clone(), failures.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            // Keep-alive connections that span the reloads.
            let mut s = TcpStream::connect(a).await.unwrap();
            while !stop.load(Ordering::SeqCst) {
                let path = if i % 2 == 0 {
                    "/prod/version"
                } else {
                    "/prod/slow"
                };
                s.write_all(format!("GET {path} HTTP/1.1\r\nhost: t\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                match read_response(&mut s).await {
                    Ok(r)
                        if r.status == 200
                            && ["v1", "v2", "slow-ok"].contains(&r.text().as_str()) =>
                    {
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::SeqCst);
                        s = TcpStream::connect(a).await.unwrap();
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(a, "/prod/version").await.text(), "v1");

    // A good file: new requests see it.
    std::fs::write(g.config_path(), config("v2", slow)).unwrap();
    g.gw.reload().await.expect("good config reloads");
    assert_eq!(get(a, "/prod/version").await.text(), "v2");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Bad files: rejected with their errors; v2 keeps serving.
    let bad_unknown_field = config("v3", slow).replace("stages:", "stagez:");
    std::fs::write(g.config_path(), bad_unknown_field).unwrap();
    let errs =
        g.gw.reload()
            .await
            .expect_err("unknown field must be rejected");
    assert!(errs.to_string().contains("stagez"), "{errs}");
    assert_eq!(get(a, "/prod/version").await.text(), "v2");
    std::fs::write(g.config_path(), "server: [unclosed").unwrap();
    assert!(g.gw.reload().await.is_err());
    let bad_semantics = config("v3", slow).replace("http://", "ftp://");
    std::fs::write(g.config_path(), bad_semantics).unwrap();
    assert!(g.gw.reload().await.is_err());
    // Listeners cannot change under a running process.
    let moved = config("v3", slow).replace("name: main", "name: renamed");
    std::fs::write(g.config_path(), moved).unwrap();
    assert!(g.gw.reload().await.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(a, "/prod/version").await.text(), "v2");

    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    assert!(served.load(Ordering::SeqCst) > 10, "clients made progress");
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "no request failed across reloads"
    );
    let m = metrics(&g).await;
    assert!(
        m.contains("rampart_config_reloads_total{result=\"success\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("rampart_config_reloads_total{result=\"failure\"} 4"),
        "{m}"
    );
}

#[tokio::test]
async fn reloads_when_the_file_changes() {
    let up = echo_backend().await;
    let g = start(&config("v1", up)).await;
    g.gw.watch_for_reload();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = g.addr("main");
    assert_eq!(get(a, "/prod/version").await.text(), "v1");
    std::fs::write(g.config_path(), config("v2", up)).unwrap();
    let mut seen = String::new();
    for _ in 0..50 {
        seen = get(a, "/prod/version").await.text();
        if seen == "v2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "v2", "file change was not picked up");
    // An editor-style replace (write elsewhere, rename over) is picked up too.
    let tmp = g.dir.path().join("rampart.yaml.tmp");
    std::fs::write(&tmp, config("v3", up)).unwrap();
    std::fs::rename(&tmp, g.config_path()).unwrap();
    for _ in 0..50 {
        seen = get(a, "/prod/version").await.text();
        if seen == "v3" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "v3", "rename over the file was not picked up");
}
