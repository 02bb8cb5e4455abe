//! Access log: one JSON object a line. Requests append to a shared buffer; a background
//! thread writes it out every 50 ms (sooner when it grows large), so requests never wait
//! on the disk and never wake another thread. The buffer is flushed on shutdown and when
//! the last handle goes away. Credentials are never logged: no request header is logged
//! unless configured under `access_log.headers`, and even then `Authorization`,
//! `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`, `X-Amz-Security-Token` and
//! every header in `access_log.redact_headers` are written as `"[REDACTED]"`. The query
//! string (which may carry tokens) is not logged.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use http::HeaderName;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
    File(PathBuf),
    Off,
}

/// Headers that are always redacted.
pub const ALWAYS_REDACTED: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogSpec {
    pub output: Output,
    /// Request headers to include in each entry.
    pub headers: Vec<HeaderName>,
    /// Headers whose values are never written (on top of [`ALWAYS_REDACTED`]).
    pub redact: Vec<HeaderName>,
}

impl Default for AccessLogSpec {
    fn default() -> Self {
        Self {
            output: Output::Stdout,
            headers: Vec::new(),
            redact: Vec::new(),
        }
    }
}

impl AccessLogSpec {
    pub fn is_redacted(&self, name: &HeaderName) -> bool {
        ALWAYS_REDACTED.contains(&name.as_str()) || self.redact.contains(name)
    }
}

/// One access log entry. Fields that later layers fill are present (as `null`) now.
#[derive(Debug, Serialize, Default)]
pub struct Entry<'a> {
    pub time: String,
    pub request_id: &'a str,
    pub client_ip: String,
    pub listener: &'a str,
    pub method: &'a str,
    /// The canonical path (`null` when the path was rejected).
    pub path: Option<&'a str>,
    pub api: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub route: Option<&'a str>,
    pub status: u16,
    pub bytes_sent: u64,
    pub complete: bool,
    pub latency_ms: f64,
    pub upstream_latency_ms: Option<f64>,
    pub protocol: &'a str,
    pub tls_version: Option<&'a str>,
    pub client_cert_subject: Option<&'a str>,
    pub client_cert_fingerprint: Option<&'a str>,
    pub principal: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub usage_plan_id: Option<&'a str>,
    pub waf_action: Option<&'a str>,
    pub error: Option<&'a str>,
    pub rejected_by: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(&'a str, &'a str)>,
}

/// Lines waiting to be written, and the output they go to.
struct Sink {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    out: Mutex<Box<dyn Write + Send>>,
}

/// Past this many buffered bytes the writer is woken at once.
const WAKE_AT: usize = 256 * 1024;

impl Sink {
    fn write_out(&self) {
        let batch = match self.pending.lock() {
            Ok(mut p) if !p.is_empty() => std::mem::take(&mut *p),
            _ => return,
        };
        if let Ok(mut out) = self.out.lock() {
            if let Err(e) = out.write_all(&batch).and_then(|()| out.flush()) {
                eprintln!("rampart: access log write failed: {e}");
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.write_out();
    }
}

/// A running access log.
pub struct AccessLog {
    pub spec: AccessLogSpec,
    sink: Option<Arc<Sink>>,
}

impl AccessLog {
    pub fn start(spec: AccessLogSpec) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match &spec.output {
            Output::Off => return Ok(Self { spec, sink: None }),
            Output::Stdout => Box::new(std::io::stdout()),
            Output::Stderr => Box::new(std::io::stderr()),
            Output::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
        };
        let sink = Arc::new(Sink {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            wake: Condvar::new(),
            out: Mutex::new(out),
        });
        let weak: Weak<Sink> = Arc::downgrade(&sink);
        std::thread::Builder::new()
            .name("rampart-access-log".into())
            .spawn(move || loop {
                let Some(sink) = weak.upgrade() else { return };
                if let Ok(p) = sink.pending.lock() {
                    let _ = sink.wake.wait_timeout(p, Duration::from_millis(50));
                }
                sink.write_out();
            })?;
        Ok(Self {
            spec,
            sink: Some(sink),
        })
    }

    /// The same sink with new settings (for a reload that keeps the output).
    pub fn from_running(old: &AccessLog, spec: AccessLogSpec) -> Self {
        Self {
            spec,
            sink: old.sink.clone(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.sink.is_some()
    }

    pub fn write(&self, entry: &Entry<'_>) {
        let Some(sink) = &self.sink else { return };
        if let Ok(mut p) = sink.pending.lock() {
            if serde_json::to_writer(&mut *p, entry).is_ok() {
                p.push(b'\n');
            }
            if p.len() >= WAKE_AT {
                sink.wake.notify_one();
            }
        }
    }

    /// Write out everything buffered now.
    pub fn flush(&self) {
        if let Some(sink) = &self.sink {
            sink.write_out();
        }
    }
}

/// RFC 3339 UTC time with milliseconds.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), Some(now.subsec_millis()))
}

/// RFC 3339 UTC time (`2024-01-31T12:00:00Z`, or with `.mmm` milliseconds).
pub fn rfc3339(secs: u64, millis: Option<u32>) -> String {
    let secs = secs as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (h, mi, sec) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    match millis {
        Some(ms) => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}.{ms:03}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 24);
        assert!(t.starts_with("20"));
        assert!(t.ends_with('Z'));
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_582_934_400 + 3661, Some(7)),
            "2020-02-29T01:01:01.007Z"
        );
        assert_eq!(rfc3339(951_782_400, None), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn redaction_list() {
        let spec = AccessLogSpec {
            redact: vec![HeaderName::from_static("x-secret")],
            ..Default::default()
        };
        assert!(spec.is_redacted(&HeaderName::from_static("authorization")));
        assert!(spec.is_redacted(&HeaderName::from_static("cookie")));
        assert!(spec.is_redacted(&HeaderName::from_static("x-secret")));
        assert!(!spec.is_redacted(&HeaderName::from_static("user-agent")));
    }
}
