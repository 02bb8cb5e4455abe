//! The gateway process: binds the listeners, runs the pipeline for each request, records
//! it, and replaces its configuration atomically on reload (SIGHUP or a file change). A
//! configuration that fails to load is rejected with its errors logged; the old one keeps
//! serving.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use http::{HeaderName, Request, Response};
use hyper::body::Incoming;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::body::RecordedBody;
use crate::config::{self, Compiled, ConfigErrors};
use crate::listener::{BoundListener, ConnInfo, Handler, Limits, ListenerSpec};
use crate::pipeline::{self, RequestContext, RequestId, Stage};
use crate::record::access_log::{now_rfc3339, AccessLog, Entry};
use crate::record::metrics::{
    status_class, ListenerLabels, Metrics, RefusedLabels, RejectionLabels, RequestLabels,
    ResultLabels, RouteLabels,
};
use crate::respond::Cause;

/// What a configuration serves with: the compiled config and its access log.
struct Runtime {
    cfg: Compiled,
    log: Arc<AccessLog>,
}

/// State shared by every connection.
pub struct Shared {
    current: ArcSwap<Runtime>,
    pub metrics: Metrics,
    tls: Vec<Arc<ArcSwapOption<rustls::ServerConfig>>>,
    listener_specs: Vec<ListenerSpec>,
    ready: AtomicBool,
    source: Option<PathBuf>,
    reload_lock: tokio::sync::Mutex<()>,
    /// Temporary credentials outlive configuration reloads.
    temporary: Arc<crate::authn::identity::TemporaryStore>,
    /// API keys, usage plans and their counters (when a route needs keys or
    /// `server.usage` is set); outlive reloads.
    pub usage: Option<Arc<crate::usage::Usage>>,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind listener `{name}` on {addr}: {source}")]
    Bind {
        name: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the access log: {0}")]
    AccessLog(std::io::Error),
    #[error("cannot start a worker thread: {0}")]
    Worker(std::io::Error),
    #[error("{0}")]
    Usage(String),
}

/// A listener that is running.
#[derive(Debug, Clone)]
pub struct ListenerAddr {
    pub name: String,
    pub addr: SocketAddr,
    pub tls: bool,
    pub private: bool,
}

/// A running gateway.
pub struct Gateway {
    pub shared: Arc<Shared>,
    pub listeners: Vec<ListenerAddr>,
    pub admin: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    /// Stops the admin listener: only once the workers have drained, so that `/readyz`
    /// answers 503 (and `/healthz`, `/metrics` keep answering) while they do.
    stop_admin: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    workers: Vec<tokio::sync::oneshot::Receiver<()>>,
}

/// One worker: accept on its socket of every listener until shutdown, then drain.
async fn run_worker(
    sockets: Vec<(
        usize,
        ListenerSpec,
        Arc<ArcSwapOption<rustls::ServerConfig>>,
        std::net::TcpListener,
    )>,
    shared: Arc<Shared>,
    connections: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
) {
    let mut tasks = Vec::new();
    for (index, spec, tls, socket) in sockets {
        let name = spec.name.clone();
        match BoundListener::from_std(index, spec, tls, socket) {
            Ok(l) => tasks.push(tokio::spawn(l.run(
                shared.clone(),
                connections.clone(),
                shutdown.clone(),
            ))),
            Err(e) => {
                tracing::error!(listener = %name, error = %e, "cannot register listener socket")
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // A gateway dropped without `shutdown` still stops its workers.
        let _ = self.shutdown.send(true);
    }
}

impl Gateway {
    /// Bind every listener and start serving `cfg` on `cfg.workers` worker threads.
    /// `source` is the file to reload from. Must be called inside a tokio runtime (it runs
    /// the admin listener and the reload machinery; requests are served by the workers).
    pub async fn start(cfg: Compiled, source: Option<PathBuf>) -> Result<Gateway, StartError> {
        let log =
            Arc::new(AccessLog::start(cfg.access_log.clone()).map_err(StartError::AccessLog)?);
        let workers = cfg.workers.max(1);
        // Per listener: one SO_REUSEPORT socket per worker, and the live TLS config.
        let mut sockets = Vec::new();
        let mut listeners = Vec::new();
        let mut tls_slots = Vec::new();
        for (i, spec) in cfg.listeners.iter().enumerate() {
            let socks = crate::listener::bind_reuseport(spec.bind, workers).map_err(|e| {
                StartError::Bind {
                    name: spec.name.clone(),
                    addr: spec.bind,
                    source: e,
                }
            })?;
            let addr = socks
                .first()
                .and_then(|s| s.local_addr().ok())
                .unwrap_or(spec.bind);
            listeners.push(ListenerAddr {
                name: spec.name.clone(),
                addr,
                tls: spec.tls.is_some(),
                private: spec.private,
            });
            tls_slots.push(Arc::new(ArcSwapOption::new(
                cfg.tls_configs.get(i).cloned().flatten(),
            )));
            sockets.push(socks);
        }
        let admin_listener = match cfg.admin {
            Some(a) => {
                Some(
                    tokio::net::TcpListener::bind(a)
                        .await
                        .map_err(|e| StartError::Bind {
                            name: "admin".into(),
                            addr: a,
                            source: e,
                        })?,
                )
            }
            None => None,
        };
        let admin = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
        let connections = Arc::new(Semaphore::new(cfg.limits.max_connections));
        for w in &cfg.warnings {
            tracing::warn!(warning = %w, "configuration");
        }
        let temporary = cfg.temporary.clone();
        let metrics = Metrics::new();
        let mut cfg = cfg;
        let usage = if cfg.keys_required || cfg.usage.explicit {
            Some(
                crate::usage::Usage::open(cfg.usage.clone(), &metrics)
                    .map_err(StartError::Usage)?,
            )
        } else {
            None
        };
        cfg.usage_rt = usage.clone();
        cfg.waf_matches = Some(metrics.waf_rule_matches.clone());
        let shared = Arc::new(Shared {
            usage: usage.clone(),
            tls: tls_slots.clone(),
            listener_specs: cfg.listeners.clone(),
            temporary,
            current: ArcSwap::from_pointee(Runtime { cfg, log }),
            metrics,
            ready: AtomicBool::new(false),
            source,
            reload_lock: tokio::sync::Mutex::new(()),
        });
        let (tx, rx) = watch::channel(false);
        let mut done = Vec::new();
        for w in 0..workers {
            let mut mine = Vec::new();
            for (i, socks) in sockets.iter_mut().enumerate() {
                if let Some(s) = socks.pop() {
                    mine.push((i, shared.listener_specs[i].clone(), tls_slots[i].clone(), s));
                }
            }
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            done.push(done_rx);
            let (shared, connections, rx) = (shared.clone(), connections.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("rampart-worker-{w}"))
                .spawn(move || {
                    crate::listener::set_worker_index(w);
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(run_worker(mine, shared, connections, rx)),
                        Err(e) => {
                            tracing::error!(worker = w, error = %e, "cannot start worker runtime")
                        }
                    }
                    let _ = done_tx.send(());
                })
                .map_err(StartError::Worker)?;
        }
        let mut tasks = Vec::new();
        let (stop_admin, admin_rx) = watch::channel(false);
        if let Some(l) = admin_listener {
            tasks.push(tokio::spawn(crate::admin::serve(
                l,
                shared.clone(),
                admin_rx,
            )));
        }
        if let Some(u) = usage {
            // Counters reach the store's table every second (the journal already makes each
            // admitted request survive a crash; this bounds the journal's length).
            let mut rx = rx.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = rx.wait_for(|s| *s) => break,
                    }
                    let u = u.clone();
                    let _ = tokio::task::spawn_blocking(move || u.flush()).await;
                }
            }));
        }
        shared.ready.store(true, Ordering::SeqCst);
        Ok(Gateway {
            shared,
            listeners,
            admin,
            shutdown: tx,
            stop_admin,
            tasks,
            workers: done,
        })
    }

    /// The address of the listener named `name`.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.addr)
    }

    /// Issue temporary credentials for a role of the identity store (what functions will
    /// receive): a new `ASIA...` key, its secret and a session token, valid for `ttl`.
    pub fn issue_temporary_credentials(
        &self,
        role_arn: &str,
        session_name: &str,
        ttl: std::time::Duration,
    ) -> Result<crate::authn::identity::TemporaryCredentials, String> {
        let rt = self.shared.current.load();
        let role = rt
            .cfg
            .identities
            .by_arn(role_arn)
            .ok_or_else(|| format!("no role {role_arn}"))?;
        self.shared.temporary.issue(role, session_name, ttl)
    }

    /// Reload from the source file. On error the old configuration stays.
    pub async fn reload(&self) -> Result<(), ConfigErrors> {
        self.shared.reload().await
    }

    /// Reload on SIGHUP and whenever the configuration or a certificate file changes.
    pub fn watch_for_reload(&self) {
        let Some(path) = self.shared.source.clone() else {
            return;
        };
        let shared = self.shared.clone();
        let mut shutdown = self.shutdown.subscribe();
        tokio::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let _watcher = watch_files(&shared, &path, tx.clone());
            #[cfg(unix)]
            {
                let tx = tx.clone();
                if let Ok(mut hup) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                {
                    tokio::spawn(async move {
                        while hup.recv().await.is_some() {
                            tracing::info!("SIGHUP: reloading configuration");
                            if tx.send(()).is_err() {
                                break;
                            }
                        }
                    });
                }
            }
            loop {
                tokio::select! {
                    r = rx.recv() => if r.is_none() { break },
                    _ = shutdown.wait_for(|s| *s) => break,
                }
                // Let a burst of file events settle, then reload once.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while rx.try_recv().is_ok() {}
                let _ = shared.reload().await;
            }
        });
    }

    /// Stop accepting, let in-flight requests finish (up to the grace period), and return.
    pub async fn shutdown(mut self) {
        self.shared.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        for w in std::mem::take(&mut self.workers) {
            let _ = w.await;
        }
        let _ = self.stop_admin.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        if let Some(u) = self.shared.usage.clone() {
            let _ = tokio::task::spawn_blocking(move || u.flush()).await;
        }
        self.shared.current.load().log.flush();
    }
}

fn watch_files(
    shared: &Shared,
    path: &Path,
    tx: tokio::sync::mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut files: Vec<PathBuf> = vec![path.to_path_buf()];
    for spec in &shared.listener_specs {
        if let Some(t) = &spec.tls {
            files.push(t.cert.clone());
            files.push(t.key.clone());
            if let Some(c) = &t.client_auth {
                files.push(c.trust_store.clone());
            }
        }
    }
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let names: Vec<PathBuf> = files.iter().map(|f| canon(f)).collect();
    let watched = names.clone();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            if ev.paths.iter().any(|p| {
                watched
                    .iter()
                    .any(|w| w == p || w.file_name() == p.file_name())
            }) {
                let _ = tx.send(());
            }
        }
    })
    .map_err(
        |e| tracing::warn!(error = %e, "cannot watch configuration files; SIGHUP still reloads"),
    )
    .ok()?;
    let mut dirs: Vec<PathBuf> = names
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        if let Err(e) = w.watch(&d, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %d.display(), error = %e, "cannot watch directory");
        }
    }
    Some(w)
}

impl Shared {
    /// The web ACLs of the configuration in force, by name.
    pub fn web_acls(&self) -> std::collections::HashMap<String, Arc<rampart_waf::CompiledAcl>> {
        self.current.load().cfg.web_acls.clone()
    }

    /// The APIs and stages of the configuration in force (what usage plans may name).
    pub fn api_stages(&self) -> Vec<crate::config::ApiStages> {
        self.current.load().cfg.api_stages.clone()
    }

    /// The admin API's token of the configuration in force.
    pub fn admin_token(&self) -> Option<crate::usage::settings::AdminToken> {
        self.current.load().cfg.admin_token.clone()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    async fn reload(&self) -> Result<(), ConfigErrors> {
        let _guard = self.reload_lock.lock().await;
        let Some(path) = self.source.clone() else {
            return Ok(());
        };
        let loaded = tokio::task::spawn_blocking(move || config::load_file(&path))
            .await
            .unwrap_or_else(|e| {
                Err(ConfigErrors(vec![config::ConfigError {
                    file: String::new(),
                    line: 0,
                    col: 0,
                    path: String::new(),
                    message: format!("loader failed: {e}"),
                }]))
            });
        let result = loaded.and_then(|cfg| self.install(cfg));
        match &result {
            Ok(()) => {
                self.metrics
                    .reloads
                    .get_or_create(&ResultLabels { result: "success" })
                    .inc();
                tracing::info!("configuration reloaded");
            }
            Err(errs) => {
                self.metrics
                    .reloads
                    .get_or_create(&ResultLabels { result: "failure" })
                    .inc();
                for e in &errs.0 {
                    tracing::error!(error = %e, "configuration rejected; the previous one keeps serving");
                }
            }
        }
        result
    }

    fn install(&self, mut cfg: Compiled) -> Result<(), ConfigErrors> {
        cfg.temporary = self.temporary.clone();
        cfg.usage_rt = self.usage.clone();
        cfg.waf_matches = Some(self.metrics.waf_rule_matches.clone());
        match &self.usage {
            None if cfg.keys_required || cfg.usage.explicit => {
                return Err(ConfigErrors(vec![config::ConfigError {
                    file: self.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                    line: 0,
                    col: 0,
                    path: "server.usage".into(),
                    message: "API keys were not in use when the gateway started: restart to open the usage store".into(),
                }]))
            }
            Some(u) if !u.settings.same_store(&cfg.usage) => {
                tracing::warn!("server.usage changed: restart to apply");
            }
            _ => {}
        }
        for w in &cfg.warnings {
            tracing::warn!(warning = %w, "configuration");
        }
        let same = |a: &ListenerSpec, b: &ListenerSpec| {
            a.name == b.name
                && a.bind == b.bind
                && a.private == b.private
                && a.tls.is_some() == b.tls.is_some()
        };
        if cfg.listeners.len() != self.listener_specs.len()
            || cfg
                .listeners
                .iter()
                .zip(&self.listener_specs)
                .any(|(a, b)| !same(a, b))
        {
            return Err(ConfigErrors(vec![config::ConfigError {
                file: self.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                line: 0,
                col: 0,
                path: "server.listeners".into(),
                message: "listeners (names, addresses, TLS on/off) cannot change on reload; restart to apply".into(),
            }]));
        }
        let old = self.current.load();
        let log = if old.log.spec.output == cfg.access_log.output {
            Arc::new(AccessLog::from_running(&old.log, cfg.access_log.clone()))
        } else {
            match AccessLog::start(cfg.access_log.clone()) {
                Ok(l) => Arc::new(l),
                Err(e) => {
                    return Err(ConfigErrors(vec![config::ConfigError {
                        file: String::new(),
                        line: 0,
                        col: 0,
                        path: "server.access_log.output".into(),
                        message: format!("cannot open: {e}"),
                    }]))
                }
            }
        };
        if old.cfg.admin != cfg.admin {
            tracing::warn!("server.admin changed: restart to apply");
        }
        // Rate-based rules that did not change keep their counters: a reload must not
        // reset who is over a limit.
        for (name, acl) in &cfg.web_acls {
            if let Some(previous) = old.cfg.web_acls.get(name) {
                let n = acl.adopt_rate_state(previous);
                if n > 0 {
                    tracing::info!(web_acl = %name, rules = n, "rate-based counters carried over");
                }
            }
        }
        for (slot, new) in self.tls.iter().zip(&cfg.tls_configs) {
            slot.store(new.clone());
        }
        self.current.store(Arc::new(Runtime { cfg, log }));
        Ok(())
    }

    fn request_id(&self, cfg: &Compiled, trusted: bool, req: &Request<Incoming>) -> RequestId {
        if trusted {
            if let Some(id) = req
                .headers()
                .get(&cfg.request_id.header)
                .and_then(RequestId::trusted)
            {
                return id;
            }
        }
        RequestId::generate()
    }
}

/// The client address: the peer, or for a trusted proxy the nearest untrusted address in
/// its `X-Forwarded-For`. Several header lines are one list in order (RFC 9110, section
/// 5.3): a proxy that adds its own line instead of appending to the client's puts the
/// address it saw last, so the walk starts at the end of the last line.
fn client_ip(cfg: &Compiled, peer: IpAddr, trusted: bool, req: &Request<Incoming>) -> IpAddr {
    if !trusted {
        return peer;
    }
    let mut ip = peer;
    for v in req.headers().get_all("x-forwarded-for").iter().rev() {
        let Ok(s) = v.to_str() else { return ip };
        for part in s.rsplit(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(a) => {
                    ip = a;
                    if !cfg.request_id.trusts(a) {
                        return a;
                    }
                }
                Err(_) => return ip,
            }
        }
    }
    ip
}

impl Handler for Shared {
    async fn handle(
        self: Arc<Self>,
        conn: Arc<ConnInfo>,
        req: Request<Incoming>,
    ) -> Response<RecordedBody> {
        if let Some(p) = &conn.phase {
            p.request_started();
        }
        let rt = self.current.load_full();
        let cfg = &rt.cfg;
        let peer = conn.peer.ip();
        let trusted = cfg.request_id.trusts(peer);
        let request_id = self.request_id(cfg, trusted, &req);
        // Only the access log needs it: no allocation when logging is off.
        let user_agent = if rt.log.enabled() {
            req.headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        } else {
            None
        };
        let logged_headers = rt
            .log
            .spec
            .headers
            .iter()
            .filter_map(|h| {
                let v = req.headers().get(h)?;
                let value = if rt.log.spec.is_redacted(h) {
                    "[REDACTED]".to_string()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                Some((h.as_str().to_string(), value))
            })
            .collect();
        let mut ctx = RequestContext {
            client_ip: client_ip(cfg, peer, trusted, &req),
            request_id,
            started: tokio::time::Instant::now(),
            trusted_peer: trusted,
            conn: conn.clone(),
            method: req.method().clone(),
            user_agent,
            logged_headers,
            path: None,
            api: None,
            stage: None,
            route: None,
            matched: None,
            principal: None,
            auth_type: rampart_iam::AuthType::None,
            identity: None,
            upstream_headers: Vec::new(),
            jwt_claims: None,
            identity_policies: None,
            api_key_id: None,
            usage_plan_id: None,
            usage_identifier_key: None,
            labels: Vec::new(),
            waf_action: None,
            upstream_latency: None,
            rejected_by: None,
            in_flight: conn.request_in_flight(),
        };
        let version = req.version();
        let (resp, error) = match pipeline::run(cfg, &mut ctx, req).await {
            Ok(r) => (r, None),
            Err((stage, err)) => {
                ctx.rejected_by = Some(stage);
                let t = err.response_type();
                match err.cause() {
                    // Refused credentials and API keys are the operator's to see (the client
                    // is told nothing more); the authorize stage logs its own denials, and
                    // the rest (no route, limits, throttling) is in the access log.
                    Cause::Client
                        if stage == Stage::Authenticate
                            || t == crate::respond::ResponseType::InvalidApiKey =>
                    {
                        tracing::info!(request_id = %ctx.request_id, stage = stage.name(), error = %err, "request rejected")
                    }
                    Cause::Client => {
                        tracing::debug!(request_id = %ctx.request_id, stage = stage.name(), error = %err, "request rejected")
                    }
                    Cause::Upstream => {
                        tracing::warn!(request_id = %ctx.request_id, route = ?ctx.route, error = %err, "upstream error")
                    }
                    Cause::Gateway => {
                        tracing::error!(request_id = %ctx.request_id, error = %err, "internal error")
                    }
                }
                self.metrics
                    .rejections
                    .get_or_create(&RejectionLabels {
                        stage: stage.name(),
                        reason: t.name(),
                    })
                    .inc();
                (cfg.responses.render(&err, ctx.request_id.as_str()), Some(t))
            }
        };
        let (mut parts, body) = resp.into_parts();
        parts.headers.insert(
            HeaderName::from_static("x-request-id"),
            ctx.request_id.header().clone(),
        );
        let status = parts.status.as_u16();
        let shared = self.clone();
        let log = rt.log.clone();
        drop(rt);
        let finish = Box::new(move |bytes: u64, complete: bool| {
            if let Some(p) = &ctx.conn.phase {
                p.request_finished();
            }
            let elapsed = ctx.started.elapsed();
            let m = &shared.metrics;
            let total = elapsed.as_secs_f64();
            let upstream = ctx.upstream_latency.map(|u| u.as_secs_f64());
            match &ctx.matched {
                Some(r) => r.metrics.record(m, &r.api, &r.id, status, total, upstream),
                None => {
                    m.requests
                        .get_or_create(&RequestLabels {
                            api: String::new(),
                            route: String::new(),
                            status_class: status_class(status),
                        })
                        .inc();
                    let rl = RouteLabels {
                        api: String::new(),
                        route: String::new(),
                    };
                    m.latency.get_or_create(&rl).observe(total);
                }
            }
            if log.enabled() {
                let cert = ctx.client_cert();
                let entry = Entry {
                    time: now_rfc3339(),
                    request_id: ctx.request_id.as_str(),
                    client_ip: ctx.client_ip.to_string(),
                    listener: &ctx.conn.listener_name,
                    method: ctx.method.as_str(),
                    path: ctx.path.as_ref().map(|p| p.as_str()),
                    api: ctx.api.as_deref(),
                    stage: ctx.stage.as_deref(),
                    route: ctx.route.as_deref(),
                    status,
                    bytes_sent: bytes,
                    complete,
                    latency_ms: elapsed.as_secs_f64() * 1000.0,
                    upstream_latency_ms: ctx.upstream_latency.map(|u| u.as_secs_f64() * 1000.0),
                    protocol: match version {
                        http::Version::HTTP_2 => "HTTP/2",
                        http::Version::HTTP_10 => "HTTP/1.0",
                        _ => "HTTP/1.1",
                    },
                    tls_version: ctx.conn.tls.as_ref().map(|t| t.version),
                    client_cert_subject: cert.map(|c| c.subject.as_str()),
                    client_cert_fingerprint: cert.map(|c| c.fingerprint_sha256.as_str()),
                    principal: ctx.principal.as_deref(),
                    api_key_id: ctx.api_key_id.as_deref(),
                    usage_plan_id: ctx.usage_plan_id.as_deref(),
                    waf_action: ctx.waf_action,
                    error: error.map(|t| t.name()),
                    rejected_by: ctx.rejected_by.map(|s| s.name()),
                    user_agent: ctx.user_agent.as_deref(),
                    headers: ctx
                        .logged_headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect(),
                };
                log.write(&entry);
            }
        });
        Response::from_parts(parts, RecordedBody::new(body, finish))
    }

    fn limits(&self) -> Limits {
        self.current.load().cfg.limits.clone()
    }

    fn request_timeout_response(&self) -> bytes::Bytes {
        self.current.load().cfg.responses.request_timeout_http1()
    }

    fn connection_opened(&self, listener: &str) {
        self.metrics
            .open_connections
            .get_or_create(&ListenerLabels {
                listener: listener.to_string(),
            })
            .inc();
    }

    fn connection_closed(&self, listener: &str) {
        self.metrics
            .open_connections
            .get_or_create(&ListenerLabels {
                listener: listener.to_string(),
            })
            .dec();
    }

    fn connection_refused(&self, listener: &str, reason: &'static str) {
        self.metrics
            .refused_connections
            .get_or_create(&RefusedLabels {
                listener: listener.to_string(),
                reason,
            })
            .inc();
    }
}
