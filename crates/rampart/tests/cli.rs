//! The `rampart` binary, run as a user runs it: `validate` (every error with its file,
//! line, column and field path), `serve --config` (environment substitution, reload on
//! SIGHUP, a rejected reload keeps the old configuration), and `serve` without a
//! configuration (the embedded demo over HTTP and HTTPS, then a clean SIGTERM shutdown).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The 1-based line and column of the first occurrence of `needle` in `text`.
fn locate(text: &str, needle: &str) -> (usize, usize) {
    let i = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the fixture"));
    let line = text[..i].matches('\n').count() + 1;
    let col = i - text[..i].rfind('\n').map(|j| j + 1).unwrap_or(0) + 1;
    (line, col)
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Output {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Write `text` as `name` in `dir` and run `rampart validate` on it.
fn validate(dir: &Path, name: &str, text: &str) -> (String, Output) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .env_remove("RAMPART_TEST_SURELY_UNSET")
        .output()
        .unwrap();
    (
        path.display().to_string(),
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
    )
}

/// Assert that `out` is a failed validation whose stderr has exactly `errors` (in any
/// order), followed by the count line.
fn assert_errors(out: &Output, errors: &[String]) {
    assert_eq!(out.code, Some(1), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing on stdout for a failed validation");
    let mut lines = out.stderr_lines();
    let count = lines.pop();
    assert_eq!(
        count,
        Some(format!("{} error(s)", errors.len()).as_str()),
        "stderr:\n{}",
        out.stderr
    );
    lines.sort_unstable();
    let mut want: Vec<&str> = errors.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(lines, want, "stderr:\n{}", out.stderr);
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Read a whole `Connection: close` response. A TLS peer that closes without
/// `close_notify` shows up as `UnexpectedEof`: that is the end too.
fn read_all<S: Read>(s: &mut S) -> Resp {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        match s.read(&mut tmp) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => break,
            Err(e) => panic!("read failed after {} bytes: {e}", buf.len()),
        }
    }
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut r = Resp {
        status,
        head,
        body: buf[head_end + 4..].to_vec(),
    };
    if r.header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body);
    }
    r
}

fn request_bytes(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&request_bytes(method, target, headers, body))
        .unwrap();
    read_all(&mut s)
}

fn get(addr: SocketAddr, target: &str) -> Resp {
    http(addr, "GET", target, &[], b"")
}

/// GET over TLS, trusting exactly the certificate in `cert_pem` (self-signed).
fn https_get(addr: SocketAddr, cert_pem: &Path, target: &str) -> Resp {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    assert!(
        !roots.is_empty(),
        "no certificate in {}",
        cert_pem.display()
    );
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(&request_bytes("GET", target, &[], b""))
        .unwrap();
    tls.flush().unwrap();
    read_all(&mut tls)
}

/// A running `rampart serve`, its stderr collected line by line. Dropping it kills the
/// process, so that a failing test leaves nothing running.
struct Served {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn spawn(mut cmd: Command) -> Served {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .env("RAMPART_LOG", "info");
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Served { child, lines }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Wait (up to 20 s) for a stderr line containing `needle`, and return it.
    fn wait_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader thread a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "rampart exited ({status}) before printing {needle:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no stderr line with {needle:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address in a line like `rampart: listening on http://127.0.0.1:1234 (main)`.
    fn addr_after(&mut self, prefix: &str) -> SocketAddr {
        let line = self.wait_line(prefix);
        let rest = &line[line.find(prefix).unwrap() + prefix.len()..];
        let addr = rest.split_whitespace().next().unwrap();
        addr.parse()
            .unwrap_or_else(|e| panic!("{addr:?} in {line:?}: {e}"))
    }

    /// Wait until the process has a handler for signal number `signum` (on Linux, read
    /// from `/proc`; a signal sent before that would take its default action instead).
    fn wait_for_handler(&self, signum: u32) {
        let status_file = format!("/proc/{}/status", self.pid());
        if !Path::new(&status_file).exists() {
            std::thread::sleep(Duration::from_millis(500));
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = std::fs::read_to_string(&status_file).unwrap_or_default();
            let caught = status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or(0);
            if caught & (1 << (signum - 1)) != 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rampart never installed a handler for signal {signum}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

const SIGHUP: u32 = 1;
const SIGTERM: u32 = 15;

/// Replace `path` in one step (write a sibling, then rename), so that the file watcher
/// never sees a half-written configuration.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A one-listener configuration with `GET /prod/hello` answering `body`.
fn hello_config(body: &str) -> String {
    format!(
        "server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  admin:
    bind: 127.0.0.1:0
  access_log:
    output: 'off'
apis:
  - name: site
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /hello
        integration:
          type: mock
          headers: {{content-type: text/plain}}
          body: '{body}'
"
    )
}

// ---------------------------------------------------------------------------------------
// 1. validate: valid files
// ---------------------------------------------------------------------------------------

const VALID_YAML: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
    - name: internal
      bind: 127.0.0.1:0
      private: true
  limits:
    max_body_bytes: 1048576
    idle_timeout: 30s
  request_id:
    trusted_proxies: [10.0.0.0/8]
  responses:
    RESOURCE_NOT_FOUND: {message: Nothing here}
apis:
  - name: shop
    stages: [prod, dev]
    public: true
    routes:
      - method: GET
        path: /items/{id}
        integration:
          type: http
          url: http://127.0.0.1:9/items/{id}
          timeout: 2s
      - method: ANY
        path: /hello
        integration: {type: mock, status: 200, body: hi}
";

const VALID_JSON: &str = r#"{
  "server": {
    "listeners": [
      {"name": "main", "bind": "127.0.0.1:0"},
      {"name": "internal", "bind": "127.0.0.1:0", "private": true}
    ],
    "limits": {"max_body_bytes": 1048576, "idle_timeout": "30s"},
    "request_id": {"trusted_proxies": ["10.0.0.0/8"]},
    "responses": {"RESOURCE_NOT_FOUND": {"message": "Nothing here"}}
  },
  "apis": [
    {
      "name": "shop",
      "stages": ["prod", "dev"],
      "public": true,
      "routes": [
        {
          "method": "GET",
          "path": "/items/{id}",
          "integration": {"type": "http", "url": "http://127.0.0.1:9/items/{id}", "timeout": "2s"}
        },
        {"method": "ANY", "path": "/hello", "integration": {"type": "mock", "status": 200, "body": "hi"}}
      ]
    }
  ]
}
"#;

#[test]
fn validate_accepts_valid_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("rampart.yaml", VALID_YAML), ("rampart.json", VALID_JSON)] {
        let (file, out) = validate(dir.path(), name, text);
        assert_eq!(out.code, Some(0), "{name}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{file}: OK\n"));
        assert_eq!(out.stderr, "", "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// 2. validate: every error, with file, line, column and field path
// ---------------------------------------------------------------------------------------

/// Two misspelt keys in different places: both reported in one run.
const UNKNOWN_FIELDS: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  limits:
    max_body_byte: 1000
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /items
        timeout: 5s
        integration:
          type: mock
          body: hi
";

#[test]
fn validate_reports_every_unknown_field() {
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "unknown.yaml", UNKNOWN_FIELDS);
    let (l1, c1) = locate(UNKNOWN_FIELDS, "max_body_byte:");
    let (l2, c2) = locate(UNKNOWN_FIELDS, "timeout:");
    // The fixture, counted by hand: the keys' own positions.
    assert_eq!((l1, c1, l2, c2), (6, 5, 14, 9));
    assert_errors(
        &out,
        &[
            format!("{f}:{l2}:{c2}: apis[0].routes[0].timeout: unknown field `timeout`, expected one of `method`, `path`, `integration`, `tags`, `public`, `authorizers`, `scopes`, `throttle`, `api_key_required`"),
            format!("{f}:{l1}:{c1}: server.limits.max_body_byte: unknown field `max_body_byte`, expected one of `max_header_bytes`, `max_body_bytes`, `header_read_timeout`, `body_read_timeout`, `body_min_rate`, `idle_timeout`, `max_connections`, `shutdown_grace`"),
        ],
    );
}

/// A misspelt *required* key (`integraton`) and another misspelt key
/// elsewhere. Both must be reported.
const UNKNOWN_REQUIRED: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  limits:
    max_body_byte: 1000
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /items
        integraton:
          type: mock
          body: hi
";

#[test]
fn validate_reports_a_misspelt_required_key_and_later_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "required.yaml", UNKNOWN_REQUIRED);
    let (l1, c1) = locate(UNKNOWN_REQUIRED, "integraton:");
    let (l2, c2) = locate(UNKNOWN_REQUIRED, "max_body_byte:");
    // A mapping is located at its first key.
    let (l3, c3) = locate(UNKNOWN_REQUIRED, "method: GET");
    assert_errors(
        &out,
        &[
            format!("{f}:{l1}:{c1}: apis[0].routes[0].integraton: unknown field `integraton`, expected one of `method`, `path`, `integration`, `tags`, `public`, `authorizers`, `scopes`, `throttle`, `api_key_required`"),
            format!("{f}:{l3}:{c3}: apis[0].routes[0]: missing field `integration`"),
            format!("{f}:{l2}:{c2}: server.limits.max_body_byte: unknown field `max_body_byte`, expected one of `max_header_bytes`, `max_body_bytes`, `header_read_timeout`, `body_read_timeout`, `body_min_rate`, `idle_timeout`, `max_connections`, `shutdown_grace`"),
        ],
    );
}

/// A misspelt key inside `integration` (an internally tagged enum) is reported at the
/// key itself, and does not hide unknown fields elsewhere.
const UNKNOWN_IN_INTEGRATION: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  limits:
    max_body_byte: 1000
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /items
        integration:
          type: http
          url: http://127.0.0.1:9
          timout: 5s
";

#[test]
fn validate_reports_unknown_fields_inside_an_integration() {
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "integration.yaml", UNKNOWN_IN_INTEGRATION);
    let (l1, c1) = locate(UNKNOWN_IN_INTEGRATION, "timout:");
    let (l2, c2) = locate(UNKNOWN_IN_INTEGRATION, "max_body_byte:");
    assert_errors(
        &out,
        &[
            format!("{f}:{l1}:{c1}: apis[0].routes[0].integration.timout: unknown field `timout`, expected one of `url`, `query`, `connect_timeout`, `timeout`, `http2`, `preserve_host`, `tls`"),
            format!("{f}:{l2}:{c2}: server.limits.max_body_byte: unknown field `max_body_byte`, expected one of `max_header_bytes`, `max_body_bytes`, `header_read_timeout`, `body_read_timeout`, `body_min_rate`, `idle_timeout`, `max_connections`, `shutdown_grace`"),
        ],
    );
}

/// Errors only the compiler finds: a public address on a private listener, a bad method,
/// an upstream URL that is not a URL.
const SEMANTIC: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
    - name: internal
      bind: 0.0.0.0:8081
      private: true
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /items
        integration: {type: mock, body: ok}
      - method: FETCH
        path: /up
        integration:
          type: http
          url: 'not a url'
";

#[test]
fn validate_reports_every_semantic_error() {
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "semantic.yaml", SEMANTIC);
    let (lb, cb) = locate(SEMANTIC, "bind: 0.0.0.0");
    let (lm, cm) = locate(SEMANTIC, "method: FETCH");
    let (lu, cu) = locate(SEMANTIC, "url: 'not");
    assert_eq!((lu, cu), (20, 11));
    assert_errors(
        &out,
        &[
            format!("{f}:{lb}:{cb}: server.listeners[1].bind: a private listener must bind a loopback or private address, not 0.0.0.0"),
            format!("{f}:{lm}:{cm}: apis[0].routes[1].method: `FETCH` is not an HTTP method or ANY"),
            format!("{f}:{lu}:{cu}: apis[0].routes[1].integration.url: `not a url` is not a URL"),
        ],
    );
}

const UNSET_ENV: &str = "\
server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
apis:
  - name: shop
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /items
        integration:
          type: mock
          body: ${env:RAMPART_TEST_SURELY_UNSET}
";

#[test]
fn validate_reports_an_unset_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "env.yaml", UNSET_ENV);
    let (l, c) = locate(UNSET_ENV, "body:");
    assert_errors(
        &out,
        &[format!(
            "{f}:{l}:{c}: apis[0].routes[0].integration.body: environment variable `RAMPART_TEST_SURELY_UNSET` is not set"
        )],
    );
}

#[test]
fn validate_reports_an_unset_variable_together_with_semantic_errors() {
    let text = SEMANTIC.replace(
        "integration: {type: mock, body: ok}",
        "integration: {type: mock, body: '${env:RAMPART_TEST_SURELY_UNSET}'}",
    );
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "env-and-more.yaml", &text);
    assert_eq!(out.code, Some(1));
    let (lu, cu) = locate(&text, "url: 'not");
    let lines = out.stderr_lines();
    for want in [
        "apis[0].routes[0].integration.body: environment variable `RAMPART_TEST_SURELY_UNSET` is not set".to_string(),
        "server.listeners[1].bind: a private listener".to_string(),
        "apis[0].routes[1].method: `FETCH` is not an HTTP method".to_string(),
        format!("{f}:{lu}:{cu}: apis[0].routes[1].integration.url: `not a url` is not a URL"),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(&want)),
            "no line with {want:?} in:\n{}",
            out.stderr
        );
    }
    assert_eq!(lines.last().copied(), Some("4 error(s)"), "{}", out.stderr);
}

#[test]
fn validate_reports_syntax_errors_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    // YAML: a second `: ` on a line that already maps a key.
    let yaml = "server:\n  listeners:\n    - name: main\n      bind: 127.0.0.1:0: x\n";
    let (f, out) = validate(dir.path(), "syntax.yaml", yaml);
    let (l, c) = locate(yaml, ": x");
    assert_eq!((l, c), (4, 24));
    assert_errors(
        &out,
        &[format!(
            "{f}:{l}:{c}: mapping values are not allowed in this context"
        )],
    );

    // JSON: a missing comma between two members.
    let json = "{\n  \"server\": {\n    \"listeners\": [\n      {\"name\": \"main\" \"bind\": \"127.0.0.1:0\"}\n    ]\n  }\n}\n";
    let (f, out) = validate(dir.path(), "syntax.json", json);
    let (l, c) = locate(json, "\"bind\"");
    assert_eq!((l, c), (4, 23));
    assert_eq!(out.code, Some(1));
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with(&format!("{f}:{l}:{c}: ")),
        "{}",
        out.stderr
    );

    // A duplicate key is an error of the text too, at the second occurrence.
    let dup = "server:\n  admin: {bind: 127.0.0.1:0}\n  admin: {bind: 127.0.0.1:1}\n";
    let (f, out) = validate(dir.path(), "dup.yaml", dup);
    assert_errors(&out, &[format!("{f}:3:3: duplicate key `admin`")]);
}

#[test]
fn validate_reports_json_errors_at_their_line_and_column() {
    let json = r#"{
  "server": {
    "listeners": [{"name": "main", "bind": "127.0.0.1:0"}]
  },
  "apis": [{"name": "a", "stages": ["prod"], "public": true,
    "routes": [{"method": "GET", "path": "/x", "integration": {"type": "http", "url": "ftp://x"}}]}],
  "extra": true
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let (f, out) = validate(dir.path(), "bad.json", json);
    let (l, c) = locate(json, "\"extra\"");
    let (lu, cu) = locate(json, "\"url\"");
    assert_eq!(lu, 6);
    // The unknown field does not hide the compiler's error, found at its line and column.
    assert_errors(
        &out,
        &[
            format!(
                "{f}:{l}:{c}: extra: unknown field `extra`, expected `server`, `apis`, `identities` or `authorizers`"
            ),
            format!(
                "{f}:{lu}:{cu}: apis[0].routes[0].integration.url: must start with http:// or https://"
            ),
        ],
    );
}

#[test]
fn validate_reports_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:0:0: cannot read: ", missing.display())),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. serve --config: ${env:NAME}
// ---------------------------------------------------------------------------------------

#[test]
fn serve_substitutes_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.yaml");
    std::fs::write(
        &path,
        "server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  access_log:
    output: 'off'
apis:
  - name: site
    stages: [prod]
    public: true
    routes:
      - method: GET
        path: /hello
        integration:
          type: mock
          headers:
            content-type: text/plain
            x-default: ${env:RAMPART_TEST_SURELY_UNSET:-fallback}
          body: ${env:RAMPART_TEST_BODY}
",
    )
    .unwrap();
    // A value that would be structure if it were pasted into the YAML text.
    let value = "from the environment: {not: structure}, [1, 2]";
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(&path)
        .env("RAMPART_TEST_BODY", value)
        .env_remove("RAMPART_TEST_SURELY_UNSET");
    let mut served = Served::spawn(cmd);
    let addr = served.addr_after("listening on http://");
    let r = get(addr, "/prod/hello");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), value);
    assert_eq!(r.header("x-default").as_deref(), Some("fallback"));

    // Without the variable the same file does not start, and says why.
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("RAMPART_TEST_BODY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "apis[0].routes[0].integration.body: environment variable `RAMPART_TEST_BODY` is not set"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// 4. serve without a configuration: the embedded demo
// ---------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn serve_without_config_runs_the_demo_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("RAMPART_DEMO_HTTP", "127.0.0.1:0")
        .env("RAMPART_DEMO_HTTPS", "127.0.0.1:0")
        .env("RAMPART_DEMO_ADMIN", "127.0.0.1:0")
        // The demo writes its self-signed certificate under the temp dir.
        .env("TMPDIR", tmp.path());
    let mut served = Served::spawn(cmd);
    let http_addr = served.addr_after("listening on http://");
    let https_addr = served.addr_after("listening on https://");
    let admin = served.addr_after("admin on http://");
    served.wait_line("curl -s http://");
    let stderr = served.stderr();
    for hint in [
        format!("curl -i http://{http_addr}/prod/hello"),
        format!(
            "curl -i -X POST -d '{{\"pet\":\"cat\"}}' 'http://{http_addr}/prod/echo/pets?limit=2'"
        ),
        format!("curl -i --path-as-is http://{http_addr}/prod/admin/../hello"),
        format!("curl -i -k https://{https_addr}/dev/echo/anything"),
        format!("curl -s http://{admin}/metrics"),
    ] {
        assert!(stderr.contains(&hint), "no hint {hint:?} in:\n{stderr}");
    }

    // The mock route.
    let r = get(http_addr, "/prod/hello");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["message"], "Hello from Rampart");
    // The hint's dot segments, sent as they are: the canonical path is the mock route's.
    let r = get(http_addr, "/prod/admin/../hello");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["message"], "Hello from Rampart");

    // The echo upstream behind a greedy route, with the query and body passed on.
    let body = br#"{"pet":"cat","n":2}"#;
    let r = http(
        http_addr,
        "POST",
        "/prod/echo/pets?limit=2",
        &[("content-type", "application/json")],
        body,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["method"], "POST", "{v}");
    assert_eq!(v["path"], "/pets", "{v}");
    assert_eq!(v["query"], "limit=2", "{v}");
    assert_eq!(v["body"], std::str::from_utf8(body).unwrap(), "{v}");
    assert_eq!(v["headers"]["content-type"], "application/json", "{v}");
    assert_eq!(v["headers"]["x-forwarded-for"], "127.0.0.1", "{v}");

    // The demo API's resource policy: DELETE on prod is explicitly denied, on dev allowed.
    let r = http(http_addr, "DELETE", "/prod/echo/pets/1", &[], b"");
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        r.json()["message"],
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: \
         arn:aws:execute-api:us-east-1:000000000000:demo/prod/DELETE/echo/pets/1 with an explicit deny"
    );
    assert_eq!(
        http(http_addr, "DELETE", "/dev/echo/pets/1", &[], b"").status,
        200
    );

    // HTTPS with the demo's self-signed certificate as the only trusted root.
    let cert = tmp
        .path()
        .join(format!("rampart-demo-{}", served.pid()))
        .join("demo-cert.pem");
    assert!(cert.exists(), "{} was not written", cert.display());
    let r = https_get(https_addr, &cert, "/dev/hello");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["message"], "Hello from Rampart");

    // The admin listener.
    assert_eq!(get(admin, "/healthz").status, 200);
    assert_eq!(get(admin, "/readyz").status, 200);
    let metrics = get(admin, "/metrics").text();
    assert!(
        metrics.contains(
            "rampart_requests_total{api=\"demo\",route=\"GET /hello\",status_class=\"2xx\"} 3"
        ),
        "{metrics}"
    );

    // SIGTERM: drain and exit 0.
    served.wait_for_handler(SIGTERM);
    served.signal("TERM");
    let status = served
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", served.stderr()));
    assert_eq!(status.code(), Some(0), "{status}\n{}", served.stderr());
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        served.stderr().contains("shutting down"),
        "{}",
        served.stderr()
    );
}

// ---------------------------------------------------------------------------------------
// 5. Reload on SIGHUP; a rejected configuration keeps the old one serving
// ---------------------------------------------------------------------------------------

/// Poll `GET /prod/hello` until it answers `want` (up to 10 s).
fn wait_for_body(addr: SocketAddr, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        let r = get(addr, "/prod/hello");
        last = format!("{} {}", r.status, r.text());
        if r.status == 200 && r.text() == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never answered {want:?}; last: {last}");
}

/// The value of `rampart_config_reloads_total{result=...}` (0 when absent).
fn reloads(admin: SocketAddr, result: &str) -> u64 {
    let text = get(admin, "/metrics").text();
    let prefix = format!("rampart_config_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn serve_reloads_on_sighup_and_keeps_serving_after_a_rejected_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, hello_config("v1")).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"]).arg(&path);
    let mut served = Served::spawn(cmd);
    let addr = served.addr_after("listening on http://");
    let admin = served.addr_after("admin on http://");
    assert_eq!(get(addr, "/prod/hello").text(), "v1");
    served.wait_for_handler(SIGHUP);

    // `serve` also watches the file and reloads on its own, so the new body may be served
    // before the SIGHUP arrives: the two cannot be told apart by the response alone. The
    // SIGHUP log line shows that the signal itself was received and handled (without a
    // handler, SIGHUP would have killed the process).
    replace_file(&path, &hello_config("v2"));
    served.signal("HUP");
    wait_for_body(addr, "v2");
    served.wait_line("SIGHUP: reloading configuration");
    served.wait_line("configuration reloaded");
    assert!(reloads(admin, "success") >= 1);
    assert_eq!(reloads(admin, "failure"), 0);

    // An invalid configuration is rejected with its errors logged; v2 keeps serving.
    let broken = hello_config("v3").replace("method: GET", "method: FETCH");
    replace_file(&path, &broken);
    served.signal("HUP");
    let line = served.wait_line("configuration rejected");
    std::thread::sleep(Duration::from_secs(1));
    let r = get(addr, "/prod/hello");
    assert_eq!((r.status, r.text()), (200, "v2".to_string()));
    let (l, c) = locate(&broken, "method: FETCH");
    let want = format!(
        "{}:{l}:{c}: apis[0].routes[0].method: `FETCH` is not an HTTP method or ANY",
        path.display()
    );
    assert!(
        line.contains(&want) || served.stderr().contains(&want),
        "no {want:?} in:\n{}",
        served.stderr()
    );
    assert!(line.contains("ERROR"), "{line}");
    assert!(reloads(admin, "failure") >= 1);
    assert!(served.child.try_wait().unwrap().is_none(), "rampart exited");

    // Fixing the file brings the next configuration in.
    replace_file(&path, &hello_config("v4"));
    served.signal("HUP");
    wait_for_body(addr, "v4");
}

/// A reload that changes the listeners is rejected (they cannot change without a restart).
#[cfg(unix)]
#[test]
fn serve_rejects_a_reload_that_changes_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, hello_config("v1")).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"]).arg(&path);
    let mut served = Served::spawn(cmd);
    let addr = served.addr_after("listening on http://");
    served.wait_for_handler(SIGHUP);
    let renamed = hello_config("v2").replace("name: main", "name: other");
    replace_file(&path, &renamed);
    served.signal("HUP");
    let line = served.wait_line("configuration rejected");
    assert!(
        line.contains(
            "server.listeners: listeners (names, addresses, TLS on/off) cannot change on reload"
        ),
        "{line}"
    );
    assert_eq!(get(addr, "/prod/hello").text(), "v1");
}

// ---------------------------------------------------------------------------------------
// rampart secret: keys for the identity store; what it prints validates, and no plaintext
// secret is needed in the configuration.

#[test]
fn secret_commands_make_a_working_identity_store() {
    let out = Command::new(BIN)
        .args(["secret", "new-master-key"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mk = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(mk.len(), 44, "{mk}");
    // Without the key in the environment: a clear error, exit 2.
    let out = Command::new(BIN)
        .args(["secret", "new-access-key"])
        .env_remove("RAMPART_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RAMPART_MASTER_KEY"));
    let out = Command::new(BIN)
        .args(["secret", "new-access-key"])
        .env("RAMPART_MASTER_KEY", &mk)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_string()
    };
    let id = field("access_key_id:");
    let secret = field("secret_access_key:");
    let config_line = field("config:");
    assert!(
        !config_line.contains(&secret),
        "the config line holds no plaintext"
    );
    // `secret encrypt` reads the secret from stdin.
    let mut child = Command::new(BIN)
        .args(["secret", "encrypt", "--access-key-id", &id])
        .env("RAMPART_MASTER_KEY", &mk)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let encrypted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(encrypted.starts_with("rampart-enc:v1:"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = |mk: &str, line: &str| {
        format!(
            "server:\n  listeners:\n    - {{name: main, bind: 127.0.0.1:0}}\nidentities:\n  master_key: {mk}\n  users:\n    - name: u\n      access_keys:\n        - {line}\napis: []\n"
        )
    };
    for line in [
        config_line.clone(),
        format!("{{id: {id}, secret: \"{encrypted}\"}}"),
    ] {
        std::fs::write(dir.path().join("ok.yaml"), cfg(&mk, &line)).unwrap();
        let out = Command::new(BIN)
            .args(["validate", dir.path().join("ok.yaml").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Another master key cannot decrypt it.
    let other = String::from_utf8(
        Command::new(BIN)
            .args(["secret", "new-master-key"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.yaml"), cfg(other.trim(), &config_line)).unwrap();
    let out = Command::new(BIN)
        .args(["validate", dir.path().join("bad.yaml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot decrypt"));
}

#[test]
fn validate_prints_policy_warnings_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let text = "server:
  listeners:
    - {name: main, bind: 127.0.0.1:0}
apis:
  - name: a
    stages: [prod]
    public: true
    resource_policy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: '*'
          NotAction: 's3:*'
          Resource: '*'
    routes:
      - {method: GET, path: /x, integration: {type: mock}}
";
    let path = dir.path().join("w.yaml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "warnings do not fail validation");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (l, c) = locate(text, "NotAction:");
    assert!(
        stderr.contains(&format!(
            "warning: {}:{l}:{c}: apis[0].resource_policy.Statement[0].NotAction: Allow with NotAction",
            path.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("[resource-wildcard]"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// API keys and usage plans: the CLI against a running gateway, and kill -9
// ---------------------------------------------------------------------------------------

const ADMIN_TOKEN: &str = "cli-test-admin-token-0123456789";

/// A server section with one listener `main` and the admin API on (token
/// [`ADMIN_TOKEN`]), then `extra` (more lines of `server:`).
fn admin_server(extra: &str) -> String {
    format!(
        "server:
  listeners:
    - name: main
      bind: 127.0.0.1:0
  admin:
    bind: 127.0.0.1:0
    token: {ADMIN_TOKEN}
  access_log:
    output: 'off'
{extra}"
    )
}

fn keys_config() -> String {
    format!(
        "{}apis:
  - name: shop
    stages: [prod]
    public: true
    api_key_required: true
    routes:
      - {{method: GET, path: /pets, integration: {{type: mock, body: pets}}}}
",
        admin_server("  usage:\n    data_dir: data\n")
    )
}

/// Run the CLI against the admin listener at `admin`; returns (success, stdout, stderr).
fn cli(admin: SocketAddr, token: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RAMPART_ADMIN_URL", format!("http://{admin}"))
        .env("RAMPART_ADMIN_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_json(admin: SocketAddr, args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = cli(admin, ADMIN_TOKEN, args);
    assert!(ok, "rampart {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn keyed(addr: SocketAddr, key: &str) -> u16 {
    http(addr, "GET", "/prod/pets", &[("x-api-key", key)], b"").status
}

/// Refused credentials and API keys are logged at info with their reason (the client is
/// told nothing more), never with the credential itself.
#[test]
fn refused_keys_and_credentials_are_logged_at_info_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("rampart.yaml");
    let config = keys_config().replace(
        "      - {method: GET, path: /pets, integration: {type: mock, body: pets}}\n",
        "      - {method: GET, path: /pets, integration: {type: mock, body: pets}}
      - {method: GET, path: /signed, public: false, authorizers: [aws_iam], integration: {type: mock, body: s}}\n",
    );
    std::fs::write(&cfg, config).unwrap();
    let mut c = Command::new(BIN);
    c.arg("serve").arg("--config").arg(&cfg);
    let mut s = Served::spawn(c);
    let addr = s.addr_after("listening on http://");
    let r = http(
        addr,
        "GET",
        "/prod/pets",
        &[("x-api-key", "guessed-key-value-123456")],
        b"",
    );
    assert_eq!(r.status, 403);
    let line = s.wait_line("invalid API key");
    assert!(
        line.contains("INFO") && line.contains("unknown API key"),
        "{line}"
    );
    let r = http(
        addr,
        "GET",
        "/prod/signed",
        &[("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLESECRETISH/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00")],
        b"",
    );
    assert_eq!(r.status, 403);
    let line = s.wait_line("stage=\"authenticate\"");
    assert!(
        line.contains("INFO") && line.contains("request rejected"),
        "{line}"
    );
    let all = s.stderr();
    assert!(!all.contains("guessed-key-value-123456"), "{all}");
    assert!(!all.contains("Signature=00"), "{all}");
    drop(s);
}

#[test]
fn cli_manages_keys_and_plans_and_quota_counts_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("rampart.yaml");
    std::fs::write(&cfg, keys_config()).unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(
        &plan_file,
        r#"{"name": "gold", "apiStages": [{"apiId": "shop", "stage": "prod"}],
            "quota": {"limit": 8, "period": "MONTH"}}"#,
    )
    .unwrap();
    let serve = || {
        let mut c = Command::new(BIN);
        c.arg("serve").arg("--config").arg(&cfg);
        let mut s = Served::spawn(c);
        let addr = s.addr_after("listening on http://");
        let admin = s.addr_after("admin on http://");
        (s, addr, admin)
    };
    let (mut s, addr, admin) = serve();

    // A wrong token: exit 1 and the 401.
    let (ok, _, err) = cli(admin, "not-the-token-not-the-token", &["keys", "list"]);
    assert!(!ok);
    assert!(err.contains("401"), "{err}");

    let plan = cli_json(admin, &["plans", "create", plan_file.to_str().unwrap()]);
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let key = cli_json(
        admin,
        &["keys", "create", "--name", "alice", "--plan", &plan_id],
    );
    let key_id = key["id"].as_str().unwrap().to_string();
    let value = key["value"].as_str().unwrap().to_string();
    let listed = cli_json(admin, &["keys", "list"]);
    assert_eq!(listed["items"][0]["id"], key_id.as_str());
    assert!(!listed.to_string().contains(&value));
    let keys = cli_json(admin, &["plans", "keys", &plan_id]);
    assert_eq!(keys["items"][0]["id"], key_id.as_str());

    for i in 0..5 {
        assert_eq!(keyed(addr, &value), 200, "request {i}");
    }
    // kill -9 right after the last answer: no shutdown, no flush.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let (mut s, addr, admin) = serve();
    for i in 5..8 {
        assert_eq!(keyed(addr, &value), 200, "request {i} after the crash");
    }
    assert_eq!(keyed(addr, &value), 429, "the 9th request of a quota of 8");
    let usage = cli_json(admin, &["usage", &plan_id]);
    assert_eq!(usage["items"][&key_id], serde_json::json!([[8, 0]]));

    // Disable through the CLI: refused at once.
    cli_json(admin, &["keys", "disable", &key_id]);
    assert_eq!(keyed(addr, &value), 403);
    let (ok, _, _) = cli(admin, ADMIN_TOKEN, &["keys", "delete", &key_id]);
    assert!(ok);
    let (ok, _, err) = cli(admin, ADMIN_TOKEN, &["keys", "get", &key_id]);
    assert!(!ok && err.contains("404"), "{err}");
    s.signal("TERM");
    assert!(s.wait_exit(Duration::from_secs(10)).is_some());
}

/// `rampart waf test --acl acl.json ARGS` in `dir`.
fn waf_test(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(["waf", "test", "--acl", "acl.json"])
        .args(args)
        .output()
        .unwrap()
}

/// `rampart serve` in `dir` with web ACL `acl` on a public API (`GET /x`, a mock), the
/// admin server section and `access_log_extra` (lines under `access_log`).
fn serve_open_api_with_acl(dir: &Path, acl: &serde_json::Value, access_log_extra: &str) -> Served {
    std::fs::write(dir.join("acl.json"), acl.to_string()).unwrap();
    let server = admin_server("  waf:\n    web_acls: {main: acl.json}\n").replace(
        "output: 'off'\n",
        &format!("output: 'off'\n{access_log_extra}"),
    );
    let cfg = dir.join("rampart.yaml");
    std::fs::write(
        &cfg,
        format!(
            "{server}apis:
  - name: open
    base_path: /
    public: true
    web_acl: main
    routes:
      - {{method: GET, path: /x, integration: {{type: mock, body: ok}}}}
"
        ),
    )
    .unwrap();
    let mut c = Command::new(BIN);
    c.arg("serve").arg("--config").arg(&cfg);
    Served::spawn(c)
}

/// The WAF's match log names the field and shows an excerpt of what matched, except for
/// headers the access log redacts: the operator's `redact_headers` as well as credentials.
#[test]
fn waf_match_log_redacts_the_access_logs_redacted_headers() {
    let dir = tempfile::tempdir().unwrap();
    let vis = serde_json::json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"});
    let acl = serde_json::json!({"Name": "main", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis,
        "Rules": [{"Name": "bearer-anywhere", "Priority": 0, "Action": {"Count": {}}, "VisibilityConfig": vis,
            "Statement": {"ByteMatchStatement": {"SearchString": "Bearer", "PositionalConstraint": "STARTS_WITH",
                "FieldToMatch": {"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}]});
    let mut s = serve_open_api_with_acl(dir.path(), &acl, "    redact_headers: [X-Session]\n");
    let addr = s.addr_after("listening on http://");
    let r = http(
        addr,
        "GET",
        "/x",
        &[("x-session", "Bearer SESSIONVALUE77")],
        b"",
    );
    assert_eq!(r.status, 200);
    let line = s.wait_line("waf rule matched");
    assert!(line.contains("Headers:x-session"), "{line}");
    assert!(line.contains("[redacted]"), "{line}");
    assert!(!line.contains("SESSIONVALUE77"), "{line}");
    // Another header's excerpt is shown.
    let r = http(addr, "GET", "/x", &[("x-note", "Bearer plain-note")], b"");
    assert_eq!(r.status, 200);
    let line = s.wait_line("Headers:x-note");
    assert!(line.contains("Bearer plain-note"), "{line}");
    assert!(!s.stderr().contains("SESSIONVALUE77"));
    drop(s);
}

#[test]
fn waf_managed_keys_lists_what_a_rate_rule_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let acl = serde_json::json!({"Name": "main", "DefaultAction": {"Allow": {}},
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"},
        "Rules": [{"Name": "per-ip", "Priority": 0, "Action": {"Block": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "r"},
            "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}}}]});
    let mut s = serve_open_api_with_acl(dir.path(), &acl, "");
    let addr = s.addr_after("listening on http://");
    let admin = s.addr_after("admin on http://");
    let empty = cli_json(admin, &["waf", "managed-keys"]);
    assert_eq!(
        empty["items"][0]["ManagedKeysIPV4"]["Addresses"],
        serde_json::json!([])
    );
    let statuses: Vec<u16> = (0..12)
        .map(|_| http(addr, "GET", "/x", &[], b"").status)
        .collect();
    assert_eq!(statuses[10..], [403, 403]);
    let keys = cli_json(admin, &["waf", "managed-keys"]);
    assert_eq!(keys["items"][0]["rule"], "per-ip");
    assert_eq!(
        keys["items"][0]["ManagedKeysIPV4"]["Addresses"],
        serde_json::json!(["127.0.0.1/32"])
    );
    let (ok, _, err) = cli(
        admin,
        "not-the-token-not-the-token",
        &["waf", "managed-keys"],
    );
    assert!(!ok && err.contains("401"), "{err}");
    drop(s);
}

#[test]
fn waf_test_explains_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let acl = serde_json::json!({"WebACL": {"Name": "demo", "DefaultAction": {"Allow": {}},
        "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "demo"},
        "Rules": [
            {"Name": "count-curl", "Priority": 0, "Action": {"Count": {}}, "RuleLabels": [{"Name": "curl"}],
             "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "c"},
             "Statement": {"ByteMatchStatement": {"SearchString": "curl", "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}},
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}], "PositionalConstraint": "STARTS_WITH"}}},
            {"Name": "no-traversal", "Priority": 1, "Action": {"Block": {}},
             "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "t"},
             "Statement": {"ByteMatchStatement": {"SearchString": "../", "FieldToMatch": {"SingleQueryArgument": {"Name": "file"}},
                "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "URL_DECODE"}], "PositionalConstraint": "CONTAINS"}}},
            {"Name": "after", "Priority": 2, "Action": {"Block": {}},
             "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "a"},
             "Statement": {"ByteMatchStatement": {"SearchString": "x", "FieldToMatch": {"Method": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}}}
        ]}, "LockToken": "t"});
    std::fs::write(dir.path().join("acl.json"), acl.to_string()).unwrap();
    let run = |args: &[&str]| waf_test(dir.path(), args);

    // Double-encoded traversal: blocked (exit 3), with the field and both decodes shown.
    let out = run(&[
        "--request",
        "GET /download?file=%252e%252e%252fetc%252fpasswd",
        "-H",
        "User-Agent: curl/8.5",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.starts_with("BLOCK 403 (no-traversal)"), "{text}");
    assert!(
        text.contains("count-curl")
            && text
                .contains("MATCH -> COUNT on SingleHeader:user-agent after [Lowercase]: curl/8.5"),
        "{text}"
    );
    assert!(text.contains("MATCH -> BLOCK on SingleQueryArgument:file after [UrlDecode, UrlDecode]: ../etc/passwd"), "{text}");
    assert!(
        text.contains("after") && text.contains("not evaluated"),
        "{text}"
    );
    assert!(
        text.contains("labels: awswaf:000000000000:webacl:demo:curl"),
        "{text}"
    );

    // Clean request, JSON output: allowed (exit 0).
    let out = run(&[
        "--request",
        "POST /upload?file=report.pdf",
        "--body",
        "hello",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "ALLOW");
    assert_eq!(v["rules"].as_array().unwrap().len(), 3);
    assert!(v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["matched"] == false));

    // A broken web ACL: exit 1 with the JSON path.
    std::fs::write(dir.path().join("acl.json"), r#"{"Name": "x", "DefaultAction": {"Allow": {}}, "Rules": [{"Name": "r", "Priority": 0, "Action": {"Block": {}}, "Statement": {"ByteMatchStatement": {"SearchString": "a", "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "SOMEWHERE"}}}]}"#).unwrap();
    let out = run(&["--request", "GET /"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Rules[0].Statement.ByteMatchStatement.PositionalConstraint"),
        "{err}"
    );
}

#[test]
fn waf_test_loads_referenced_sets_and_rule_groups_and_names_every_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let vis = serde_json::json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"});
    let re_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/regexpatternset/secrets/2";
    let rg_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/rulegroup/paths/3";
    let files = [
        ("ips.json", serde_json::json!({"IPSet": {"Name": "office", "Id": "1",
            "ARN": "arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/office/1",
            "IPAddressVersion": "IPV4", "Addresses": ["203.0.113.0/24"]}, "LockToken": "t"}).to_string()),
        ("secrets.json", serde_json::json!({"RegexPatternSet": {"Name": "secrets", "Id": "2", "ARN": re_arn,
            "RegularExpressionList": [{"RegexString": "^/secret"}]}, "LockToken": "t"}).to_string()),
        ("paths.json", serde_json::json!({"RuleGroup": {"Name": "paths", "Id": "3", "ARN": rg_arn, "Capacity": 10,
            "VisibilityConfig": vis, "Rules": [{"Name": "no-secrets", "Priority": 0, "Action": {"Block": {}},
            "VisibilityConfig": vis, "Statement": {"RegexPatternSetReferenceStatement": {"ARN": re_arn,
            "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}}]},
            "LockToken": "t"}).to_string()),
        ("acl.json", serde_json::json!({"Name": "refs", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis,
            "Rules": [{"Name": "paths", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": vis,
            "Statement": {"RuleGroupReferenceStatement": {"ARN": rg_arn}}}]}).to_string()),
        ("broken.json", "{".to_owned()),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let run = |args: &[&str]| waf_test(dir.path(), args);
    let refs = [
        "--ip-set",
        "ips.json",
        "--regex-set",
        "secrets.json",
        "--rule-group",
        "paths.json",
    ];
    let out = run(&[&refs[..], &["--request", "GET /secret/keys"]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.starts_with("BLOCK 403 (paths/no-secrets)"), "{text}");
    let out = run(&[&refs[..], &["--request", "GET /public"]].concat());
    assert_eq!(out.status.code(), Some(0));

    // Every broken file named, not only the first.
    let out = run(&[
        "--ip-set",
        "missing.json",
        "--regex-set",
        "broken.json",
        "--request",
        "GET /",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read missing.json") && err.contains("broken.json: not valid JSON"),
        "{err}"
    );
}

/// `--request` is read as the gateway reads a request target: absolute form reduced to its
/// path and query, the fragment dropped; a target with a space, a relative target and an
/// invalid header name are usage errors (exit 2).
#[test]
fn waf_test_reads_the_target_as_the_gateway_does() {
    let dir = tempfile::tempdir().unwrap();
    let vis = serde_json::json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"});
    let exactly = |field: serde_json::Value, s: &str| {
        serde_json::json!({"ByteMatchStatement": {"SearchString": s, "FieldToMatch": field,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "EXACTLY"}})
    };
    let acl = serde_json::json!({"Name": "target", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis,
    "Rules": [
        {"Name": "query", "Priority": 0, "Action": {"Count": {}}, "VisibilityConfig": vis,
         "Statement": exactly(serde_json::json!({"QueryString": {}}), "q=1")},
        {"Name": "admin", "Priority": 1, "Action": {"Block": {}}, "VisibilityConfig": vis,
         "Statement": exactly(serde_json::json!({"UriPath": {}}), "/admin")}
    ]});
    std::fs::write(dir.path().join("acl.json"), acl.to_string()).unwrap();
    let run = |args: &[&str]| waf_test(dir.path(), args);
    let matched = |out: &std::process::Output| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["matched"] == true)
            .map(|r| {
                (
                    r["rule"].as_str().unwrap().to_owned(),
                    r["excerpt"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let both = vec![
        ("query".to_owned(), "q=1".to_owned()),
        ("admin".to_owned(), "/admin".to_owned()),
    ];
    for target in [
        "/admin?q=1",
        "http://api.example.test/admin?q=1",
        "https://api.example.test:8443/admin?q=1#section",
        "/admin?q=1#section",
    ] {
        let out = run(&["--request", &format!("GET {target}"), "--json"]);
        assert_eq!(out.status.code(), Some(3), "{target}");
        assert_eq!(matched(&out), both, "{target}");
    }
    let out = run(&["--request", "GET /admin#x", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(matched(&out), both[1..]);

    for (args, want) in [
        (
            &["--request", "GET /admin HTTP/1.1"][..],
            "contains a space",
        ),
        (&["--request", "GET /a b"], "contains a space"),
        (&["--request", "GET x"], "is relative"),
        (&["--request", "GET api.example.test:443"], "is relative"),
        (&["--request", "GET"], "--request must be `METHOD TARGET`"),
        (&["--request", "G(T /"], "not an HTTP method"),
        (
            &["--request", "GET /", "-H", "bad name: x"],
            "not a valid header name",
        ),
        (
            &["--request", "GET /", "-H", "no-colon"],
            "expected `Name: value`",
        ),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
