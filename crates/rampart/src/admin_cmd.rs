//! `rampart keys`, `rampart plans`, `rampart usage`, `rampart waf managed-keys`: clients of a running gateway's admin
//! API (see `rampart_gateway::admin::api`). The token comes from `RAMPART_ADMIN_TOKEN` or
//! `--token-file`, never from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

#[derive(Args)]
pub struct AdminOpts {
    /// The admin listener's URL.
    #[arg(
        long,
        env = "RAMPART_ADMIN_URL",
        default_value = "http://127.0.0.1:9901"
    )]
    admin_url: String,
    /// File holding the admin token (default: the RAMPART_ADMIN_TOKEN environment variable).
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key; prints it with its value, which is shown only this once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Usage plans to add the key to (repeatable).
        #[arg(long = "plan")]
        plans: Vec<String>,
        /// Expiry, in seconds since 1970-01-01 UTC.
        #[arg(long)]
        expires_at: Option<u64>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        /// Import this value (read from standard input) instead of generating one.
        #[arg(long)]
        value_from_stdin: bool,
    },
    /// List API keys (never their values).
    List,
    /// Show one API key.
    Get { id: String },
    /// Disable an API key: requests with it get 403 at once.
    Disable { id: String },
    /// Enable an API key again.
    Enable { id: String },
    /// Delete an API key.
    Delete { id: String },
    /// Import keys from a CSV file in API Gateway's format
    /// (`Name,Key,Description,Enabled,UsagePlanIds`); a file with a bad row imports nothing.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub enum PlansCommand {
    /// Create a usage plan from a JSON file (`-` for standard input) in API Gateway's shape:
    /// `{"name", "apiStages": [{"apiId", "stage", "throttle": {"/path/GET": {...}}}],
    /// "throttle": {"rateLimit", "burstLimit"}, "quota": {"limit", "offset", "period"}}`.
    Create { file: PathBuf },
    /// List usage plans.
    List,
    /// Show one usage plan.
    Get { id: String },
    /// Replace a usage plan's settings from a JSON file.
    Update { id: String, file: PathBuf },
    /// Delete a usage plan.
    Delete { id: String },
    /// List the keys of a usage plan.
    Keys { id: String },
    /// Add an API key to a usage plan.
    AddKey { plan: String, key: String },
    /// Remove an API key from a usage plan.
    RemoveKey { plan: String, key: String },
}

#[derive(Args)]
pub struct UsageArgs {
    /// The usage plan.
    plan: String,
    /// Only this API key.
    #[arg(long)]
    key: Option<String>,
    /// First day (YYYY-MM-DD, UTC; default today).
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC; default today).
    #[arg(long)]
    to: Option<String>,
}

struct Call {
    method: http::Method,
    path: String,
    body: Option<(Vec<u8>, &'static str)>,
}

fn call(method: http::Method, path: impl Into<String>) -> Call {
    Call {
        method,
        path: path.into(),
        body: None,
    }
}

fn with_json(mut c: Call, v: Value) -> Call {
    c.body = Some((v.to_string().into_bytes(), "application/json"));
    c
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, String> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    } else {
        std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn keys(opts: AdminOpts, cmd: KeysCommand) -> ExitCode {
    let c = match cmd {
        KeysCommand::Create {
            name,
            description,
            plans,
            expires_at,
            disabled,
            value_from_stdin,
        } => {
            let mut body = json!({
                "name": name,
                "description": description,
                "enabled": !disabled,
                "usagePlanIds": plans,
            });
            if let Some(t) = expires_at {
                body["expiresAt"] = json!(t);
            }
            if value_from_stdin {
                let mut v = String::new();
                if std::io::stdin().read_line(&mut v).is_err() {
                    eprintln!("error: cannot read the key value from standard input");
                    return ExitCode::FAILURE;
                }
                body["value"] = json!(v.trim());
            }
            with_json(call(http::Method::POST, "/admin/apikeys"), body)
        }
        KeysCommand::List => call(http::Method::GET, "/admin/apikeys"),
        KeysCommand::Get { id } => call(http::Method::GET, format!("/admin/apikeys/{}", enc(&id))),
        KeysCommand::Disable { id } => with_json(
            call(http::Method::PATCH, format!("/admin/apikeys/{}", enc(&id))),
            json!({"enabled": false}),
        ),
        KeysCommand::Enable { id } => with_json(
            call(http::Method::PATCH, format!("/admin/apikeys/{}", enc(&id))),
            json!({"enabled": true}),
        ),
        KeysCommand::Delete { id } => {
            call(http::Method::DELETE, format!("/admin/apikeys/{}", enc(&id)))
        }
        KeysCommand::Import { file } => match read_input(&file) {
            Ok(b) => Call {
                method: http::Method::POST,
                path: "/admin/apikeys/import".into(),
                body: Some((b, "text/csv")),
            },
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    run(&opts, c)
}

pub fn plans(opts: AdminOpts, cmd: PlansCommand) -> ExitCode {
    let json_file = |file: &PathBuf| -> Result<Value, String> {
        let b = read_input(file)?;
        serde_json::from_slice(&b).map_err(|e| format!("{}: not JSON: {e}", file.display()))
    };
    let c = match cmd {
        PlansCommand::Create { file } => match json_file(&file) {
            Ok(v) => with_json(call(http::Method::POST, "/admin/usageplans"), v),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        PlansCommand::Update { id, file } => match json_file(&file) {
            Ok(v) => with_json(
                call(http::Method::PUT, format!("/admin/usageplans/{}", enc(&id))),
                v,
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        PlansCommand::List => call(http::Method::GET, "/admin/usageplans"),
        PlansCommand::Get { id } => {
            call(http::Method::GET, format!("/admin/usageplans/{}", enc(&id)))
        }
        PlansCommand::Delete { id } => call(
            http::Method::DELETE,
            format!("/admin/usageplans/{}", enc(&id)),
        ),
        PlansCommand::Keys { id } => call(
            http::Method::GET,
            format!("/admin/usageplans/{}/keys", enc(&id)),
        ),
        PlansCommand::AddKey { plan, key } => with_json(
            call(
                http::Method::POST,
                format!("/admin/usageplans/{}/keys", enc(&plan)),
            ),
            json!({ "keyId": key }),
        ),
        PlansCommand::RemoveKey { plan, key } => call(
            http::Method::DELETE,
            format!("/admin/usageplans/{}/keys/{}", enc(&plan), enc(&key)),
        ),
    };
    run(&opts, c)
}

/// `rampart waf managed-keys`: `GET /admin/waf/managed-keys`.
pub fn waf_managed_keys(opts: AdminOpts) -> ExitCode {
    run(&opts, call(http::Method::GET, "/admin/waf/managed-keys"))
}

pub fn usage(opts: AdminOpts, args: UsageArgs) -> ExitCode {
    let mut q = Vec::new();
    if let Some(f) = &args.from {
        q.push(format!("startDate={}", enc(f)));
    }
    if let Some(t) = &args.to {
        q.push(format!("endDate={}", enc(t)));
    }
    if let Some(k) = &args.key {
        q.push(format!("keyId={}", enc(k)));
    }
    let mut path = format!("/admin/usageplans/{}/usage", enc(&args.plan));
    if !q.is_empty() {
        path.push('?');
        path.push_str(&q.join("&"));
    }
    run(&opts, call(http::Method::GET, path))
}

fn token(opts: &AdminOpts) -> Result<String, String> {
    match &opts.token_file {
        Some(f) => std::fs::read_to_string(f)
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("cannot read {}: {e}", f.display())),
        None => std::env::var("RAMPART_ADMIN_TOKEN")
            .map(|t| t.trim().to_string())
            .map_err(|_| "set RAMPART_ADMIN_TOKEN or pass --token-file".to_string()),
    }
}

fn run(opts: &AdminOpts, c: Call) -> ExitCode {
    let result = token(opts).and_then(|t| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(send(&opts.admin_url, &t, c))
    });
    match result {
        Ok((status, body)) => {
            let shown = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                Err(_) => String::from_utf8_lossy(&body).into_owned(),
            };
            if status.is_success() {
                if !shown.is_empty() {
                    println!("{shown}");
                }
                ExitCode::SUCCESS
            } else {
                eprintln!("error: {status}");
                if !shown.is_empty() {
                    eprintln!("{shown}");
                }
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn send(base: &str, token: &str, c: Call) -> Result<(http::StatusCode, Bytes), String> {
    let url: http::Uri = base.parse().map_err(|_| format!("`{base}` is not a URL"))?;
    if url.scheme_str() != Some("http") {
        return Err(
            "the admin URL must be http://host:port (put TLS in front of it elsewhere)".into(),
        );
    }
    let authority = url
        .authority()
        .ok_or_else(|| format!("`{base}` has no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(|e| format!("{authority}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let (body, ctype) = c.body.unwrap_or((Vec::new(), "application/json"));
    let req = http::Request::builder()
        .method(c.method)
        .uri(c.path)
        .header(http::header::HOST, authority.as_str())
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::CONTENT_TYPE, ctype)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("{authority}: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{authority}: {e}"))?
        .to_bytes();
    Ok((status, body))
}
