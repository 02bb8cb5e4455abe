//! Routing and the canonical path, end to end over real sockets: templates, stages, base
//! paths, listeners, and the table of bypass spellings against a protected route.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

fn mock(body: &str) -> String {
    format!("{{type: mock, status: 200, headers: {{content-type: text/plain}}, body: {body}}}")
}

async fn shop(echo: std::net::SocketAddr, extra_server: &str) -> TestGateway {
    let yaml = format!(
        "{}apis:
  - name: shop
    stages: [prod, dev]
    public: true
    routes:
      - {{method: GET, path: /admin, integration: {}}}
      - {{method: DELETE, path: /admin, integration: {}}}
      - {{method: GET, path: '/admin/{{id}}', integration: {}}}
      - {{method: GET, path: /public, integration: {}}}
      - {{method: ANY, path: '/{{proxy+}}', integration: {}}}
      - {{method: GET, path: '/pets/{{petId}}/toys/{{toyId}}', integration: {}}}
      - {{method: ANY, path: '/fwd/{{proxy+}}', integration: {{type: http, url: 'http://{echo}/up/{{proxy}}'}}}}
      - {{method: ANY, path: /plain, integration: {{type: http, url: 'http://{echo}/base/'}}}}
  - name: v2
    base_path: /v2/shop
    public: true
    routes:
      - {{method: GET, path: /, integration: {}}}
      - {{method: GET, path: /items, integration: {}}}
",
        server_section(extra_server),
        mock("admin"),
        mock("admin-delete"),
        mock("admin-item"),
        mock("public"),
        mock("catchall"),
        mock("toy"),
        mock("v2-root"),
        mock("v2-items"),
    );
    start(&yaml).await
}

/// What a request reached: the mock body for 200s, or the status.
fn reached(r: &RawResponse) -> String {
    if r.status == 200 {
        r.text()
    } else {
        r.status.to_string()
    }
}

#[tokio::test]
async fn templates_methods_stages_and_base_paths() {
    let echo = echo_backend().await;
    let g = shop(echo, "").await;
    let a = g.addr("main");
    let cases = [
        ("GET", "/prod/admin", "admin"),
        ("DELETE", "/prod/admin", "admin-delete"),
        ("GET", "/dev/admin", "admin"),
        ("HEAD", "/prod/admin", "200"),
        ("GET", "/prod/admin/42", "admin-item"),
        ("GET", "/prod/public", "public"),
        ("GET", "/prod/anything/else", "catchall"),
        // The resource exists without POST: 405, never a fall-through to `/{proxy+}`.
        ("POST", "/prod/public", "405"),
        ("GET", "/prod/pets/1/toys/2", "toy"),
        ("GET", "/prod/pets/1/toys", "catchall"),
        ("GET", "/v2/shop", "v2-root"),
        ("GET", "/v2/shop/", "v2-root"),
        ("GET", "/v2/shop/items", "v2-items"),
        ("GET", "/v2/shop/nothing", "404"),
        ("GET", "/staging/admin", "404"),
        ("GET", "/prod", "404"),
        ("GET", "/", "404"),
    ];
    for (method, target, want) in cases {
        let r = request(a, method, target, &[], b"").await;
        let got = if method == "HEAD" {
            r.status.to_string()
        } else {
            reached(&r)
        };
        assert_eq!(got, want, "{method} {target}");
    }
    // A resource with no route for the method: 405 with Allow, uniform body.
    let r = request(a, "PUT", "/prod/admin", &[], b"").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some("DELETE, GET, HEAD"));
    assert_eq!(r.json()["message"], "Method Not Allowed");
    let r = get(a, "/nope").await;
    assert_eq!(r.status, 404);
    let body = r.json();
    assert_eq!(body["message"], "Not Found");
    assert_eq!(
        body["requestId"].as_str(),
        r.header("x-request-id").as_deref()
    );
}

#[tokio::test]
async fn path_parameters_and_upstream_paths() {
    let echo = echo_backend().await;
    let g = shop(echo, "").await;
    let a = g.addr("main");
    // Greedy parameter filled into the URL template, re-encoded from the canonical path.
    let r = get(a, "/prod/fwd/a/b%20c/../d;e?x=1&y=%2F").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["path"], "/up/a/d%3Be");
    assert_eq!(v["query"], "x=1&y=%2F");
    // Without placeholders the resource path is appended to the URL's path.
    let r = get(a, "/prod/plain?q=%C3%A9").await;
    let v = r.json();
    assert_eq!(v["path"], "/base/plain");
    assert_eq!(v["query"], "q=%C3%A9");
    let r = get(a, "/prod/fwd/caf%C3%A9/%7Euser").await;
    assert_eq!(r.json()["path"], "/up/caf%C3%A9/~user");
}

/// The bypass table: every spelling either is rejected with 400, or reaches exactly the
/// route its canonical path names (checked against a request for the canonical path
/// itself), and the access log records that canonical path.
#[tokio::test]
async fn bypass_spellings_reach_only_their_canonical_route() {
    let echo = echo_backend().await;
    let g = shop(echo, "").await;
    let a = g.addr("main");
    let table: &[(&str, Option<&str>, &str)] = &[
        // (spelling, canonical path or None for 400, what it must reach)
        ("/prod/admin/../public", Some("/prod/public"), "public"),
        ("/prod/%2e%2e/", Some("/"), "404"),
        ("/prod/%2e%2e/prod/admin", Some("/prod/admin"), "admin"),
        ("/prod/public/%2E%2E/admin", Some("/prod/admin"), "admin"),
        ("/prod/public/.%2e/admin", Some("/prod/admin"), "admin"),
        ("//prod//admin", Some("/prod/admin"), "admin"),
        ("/prod/admin/", Some("/prod/admin/"), "admin"),
        ("/prod/admin/./", Some("/prod/admin/"), "admin"),
        ("/prod/%61dmin", Some("/prod/admin"), "admin"),
        ("/prod/ADMIN", Some("/prod/ADMIN"), "catchall"),
        ("/PROD/admin", Some("/PROD/admin"), "404"),
        ("/prod/admin;x", Some("/prod/admin;x"), "catchall"),
        (
            "/prod/admin/..;/public",
            Some("/prod/admin/..;/public"),
            "catchall",
        ),
        ("/prod/admin%20", Some("/prod/admin "), "catchall"),
        ("/prod/admin%2f", None, "400"),
        ("/prod/admin%2F..%2Fpublic", None, "400"),
        ("/prod/public/..%2fadmin", None, "400"),
        ("/prod/admin%00", None, "400"),
        ("/prod/admin%5c", None, "400"),
        ("/prod/admin%5C..%5Cpublic", None, "400"),
        ("/prod/%c0%ae%c0%ae/admin", None, "400"),
        ("/prod/%e0%80%ae/admin", None, "400"),
        ("/prod/admin%ff", None, "400"),
        ("/prod/admin%", None, "400"),
        ("/prod/admin%zz", None, "400"),
        ("/prod/admin%0d%0aX-Injected:1", None, "400"),
    ];
    for (spelling, canonical, want) in table {
        let r = get(a, spelling).await;
        assert_eq!(reached(&r), *want, "{spelling}");
        match canonical {
            None => {
                assert_eq!(r.status, 400, "{spelling}");
                assert_eq!(r.json()["message"], "Invalid request path");
            }
            Some(c) => {
                // Send the canonical path itself (re-encoded where a raw byte is not allowed).
                let direct = get(a, &c.replace(' ', "%20")).await;
                assert_eq!(
                    reached(&direct),
                    reached(&r),
                    "{spelling} vs its canonical path {c}"
                );
            }
        }
    }
    // The access log shows the canonical path for every accepted spelling.
    let n = table.len() + table.iter().filter(|t| t.1.is_some()).count();
    let log = g.access_log(n).await;
    let mut i = 0;
    for (spelling, canonical, _) in table {
        let e = &log[i];
        match canonical {
            Some(c) => {
                assert_eq!(e["path"], *c, "{spelling}");
                i += 2;
            }
            None => {
                assert!(e["path"].is_null(), "{spelling}");
                assert_eq!(e["rejected_by"], "route");
                assert_eq!(e["error"], "BAD_REQUEST_PATH");
                i += 1;
            }
        }
    }
}

#[tokio::test]
async fn duplicate_slash_policy_reject() {
    let echo = echo_backend().await;
    let g = shop(echo, "  paths:\n    duplicate_slashes: reject\n").await;
    let a = g.addr("main");
    assert_eq!(get(a, "//prod/admin").await.status, 400);
    assert_eq!(get(a, "/prod//admin").await.status, 400);
    assert_eq!(reached(&get(a, "/prod/admin").await), "admin");
}

#[tokio::test]
async fn private_listener_serves_only_internal_apis() {
    let yaml = format!(
        "server:
  listeners:
    - {{name: public, bind: 127.0.0.1:0}}
    - {{name: internal, bind: 127.0.0.1:0, private: true}}
apis:
  - name: site
    stages: [prod]
    public: true
    routes:
      - {{method: GET, path: /hello, integration: {}}}
  - name: ops
    stages: [internal]
    public: true
    listeners: [internal]
    routes:
      - {{method: GET, path: /hello, integration: {}}}
",
        mock("site"),
        mock("ops")
    );
    let g = start(&yaml).await;
    let public = g.addr("public");
    let internal = g.addr("internal");
    assert_eq!(reached(&get(public, "/prod/hello").await), "site");
    assert_eq!(reached(&get(public, "/internal/hello").await), "404");
    assert_eq!(reached(&get(internal, "/internal/hello").await), "ops");
    // APIs without `listeners` are not served on private listeners.
    assert_eq!(reached(&get(internal, "/prod/hello").await), "404");
}
