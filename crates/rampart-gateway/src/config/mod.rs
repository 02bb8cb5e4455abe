//! Configuration: one declarative YAML or JSON file.
//!
//! `source` reads the text (keeping every node's line and column), `raw` is the file's
//! typed shape (serde, unknown fields rejected), `compile` validates everything once and
//! produces [`Compiled`], the form the request path uses. Every error names the file, the
//! line and column, and the field path (`apis[0].routes[3].integration.url`).

pub mod compile;
pub mod raw;
pub mod source;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::HeaderName;

pub use self::compile::{parse_duration, RequestIdPolicy};
use crate::listener::{Limits, ListenerSpec};
use crate::record::access_log::AccessLogSpec;
use crate::respond::GatewayResponses;
use crate::route::Router;

/// A validated configuration, ready for the request path.
#[derive(Debug)]
pub struct Compiled {
    pub listeners: Vec<ListenerSpec>,
    /// TLS server configurations, one per listener (None for plain HTTP).
    pub tls_configs: Vec<Option<Arc<rustls::ServerConfig>>>,
    pub admin: Option<SocketAddr>,
    pub limits: Limits,
    pub paths: rampart_normalize::Options,
    pub request_id: RequestIdPolicy,
    pub access_log: AccessLogSpec,
    pub responses: GatewayResponses,
    pub strip_response_headers: Vec<HeaderName>,
    pub router: Router,
}

/// One configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Field path; empty for errors of the text itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )
        } else {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file, self.line, self.col, self.path, self.message
            )
        }
    }
}

/// All errors of a configuration.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Load and compile a configuration file.
pub fn load_file(path: &Path) -> Result<Compiled, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            col: 0,
            path: String::new(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load_str(&text, &file, &base, &env_lookup)
}

/// Load and compile configuration text. `file` names it in errors; `base` is where
/// relative paths start; `env` resolves `${env:NAME}`.
pub fn load_str(
    text: &str,
    file: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Compiled, ConfigErrors> {
    let (mut value, positions) = source::parse(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_string(),
            line: e.pos.line,
            col: e.pos.col,
            path: String::new(),
            message: e.message,
        }])
    })?;
    let at = |path: String, message: String| {
        let pos = positions.find(&path);
        ConfigError {
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            path,
            message,
        }
    };
    if value.is_null() {
        value = serde_json::Value::Object(Default::default());
    }
    let mut env_errors = Vec::new();
    source::substitute_env(&mut value, env, &mut env_errors);
    let mut errors: Vec<ConfigError> = env_errors
        .into_iter()
        .map(|e| at(e.path, e.message))
        .collect();

    // Typed shape. Serde stops at the first error; an unknown field is removed and the
    // value tried again, so that every misspelt key is reported in one run.
    let raw = loop {
        match serde_path_to_error::deserialize::<_, raw::RawConfig>(&value) {
            Ok(r) => break Some(r),
            Err(err) => {
                let path = err.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let msg = err.inner().to_string();
                let unknown = msg.starts_with("unknown field");
                errors.push(at(path.clone(), msg));
                if !(unknown && remove_path(&mut value, &path) && errors.len() < 100) {
                    break None;
                }
            }
        }
    };
    let Some(raw) = raw else {
        return Err(ConfigErrors(errors));
    };
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    compile::compile(&raw, base)
        .map_err(|es| ConfigErrors(es.0.into_iter().map(|(p, m)| at(p, m)).collect()))
}

/// Remove the node at a serde_path_to_error path (`a.b[2].c`). True if something was removed.
fn remove_path(v: &mut serde_json::Value, path: &str) -> bool {
    let mut cur = v;
    let mut segs: Vec<String> = Vec::new();
    for part in path.split('.') {
        let mut p = part;
        while let Some(i) = p.find('[') {
            if i > 0 {
                segs.push(p[..i].to_string());
            }
            let Some(j) = p[i..].find(']') else {
                return false;
            };
            segs.push(p[i..i + j + 1].to_string());
            p = &p[i + j + 1..];
        }
        if !p.is_empty() {
            segs.push(p.to_string());
        }
    }
    let Some(last) = segs.pop() else { return false };
    for s in &segs {
        cur = match s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            Some(idx) => match idx.parse::<usize>().ok().and_then(|i| cur.get_mut(i)) {
                Some(c) => c,
                None => return false,
            },
            None => match cur.get_mut(s.as_str()) {
                Some(c) => c,
                None => return false,
            },
        };
    }
    match cur.as_object_mut() {
        Some(m) => m.remove(&last).is_some(),
        None => false,
    }
}
