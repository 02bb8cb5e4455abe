//! `rampart`: the command line. Thin: everything lives in `rampart-gateway`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rampart_gateway::server::Gateway;
use rampart_gateway::{config, demo};

mod admin_cmd;
mod policy_cmd;
mod secret_cmd;
mod waf_cmd;

// The request path allocates small, short-lived buffers on every worker thread;
// mimalloc's thread-local free lists serve them faster than glibc's malloc (asked through
// `rampart-alloc`, which avoids mimalloc's slow aligned path for ordinary layouts).
#[global_allocator]
static ALLOC: rampart_alloc::Allocator = rampart_alloc::Allocator;

#[derive(Parser)]
#[command(name = "rampart", version, about = "A self-hosted secure API gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway. Without --config, runs the embedded demo.
    Serve {
        /// Configuration file (YAML or JSON).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and print every error (exit code 1 if any).
    Validate {
        /// Configuration file (YAML or JSON).
        file: PathBuf,
    },
    /// Work with AWS IAM policies: simulate authorization decisions, validate documents.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Master keys, access key pairs and encrypted secrets for `identities`.
    Secret {
        #[command(subcommand)]
        command: secret_cmd::SecretCommand,
    },
    /// API keys of a running gateway (through its admin API).
    Keys {
        #[command(flatten)]
        admin: admin_cmd::AdminOpts,
        #[command(subcommand)]
        command: admin_cmd::KeysCommand,
    },
    /// Web ACLs: `rampart waf test` explains what a web ACL does with one request.
    Waf {
        #[command(subcommand)]
        command: waf_cmd::WafCommand,
    },
    /// Usage plans of a running gateway (through its admin API).
    Plans {
        #[command(flatten)]
        admin: admin_cmd::AdminOpts,
        #[command(subcommand)]
        command: admin_cmd::PlansCommand,
    },
    /// Daily usage of a plan's API keys, with what their quota has left (API Gateway's
    /// GetUsage).
    Usage {
        #[command(flatten)]
        admin: admin_cmd::AdminOpts,
        #[command(flatten)]
        args: admin_cmd::UsageArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Policy { command } => policy_cmd::run(command),
        Command::Secret { command } => secret_cmd::run(command),
        Command::Waf { command } => waf_cmd::run(command),
        Command::Keys { admin, command } => admin_cmd::keys(admin, command),
        Command::Plans { admin, command } => admin_cmd::plans(admin, command),
        Command::Usage { admin, args } => admin_cmd::usage(admin, args),
        Command::Validate { file } => match config::load_file(&file) {
            Ok(cfg) => {
                for w in &cfg.warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}: OK", file.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                eprintln!("{} error(s)", errors.0.len());
                ExitCode::from(1)
            }
        },
        Command::Serve { config } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            // The control plane (signals, reload, admin, the demo's echo upstream) runs
            // here; requests are served by the gateway's worker threads, one runtime each.
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("rampart: cannot start the runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            rt.block_on(serve(config))
        }
    }
}

async fn serve(path: Option<PathBuf>) -> ExitCode {
    let (cfg, source, is_demo) = match &path {
        Some(p) => match config::load_file(p) {
            Ok(c) => (c, Some(p.clone()), false),
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                return ExitCode::from(1);
            }
        },
        None => {
            let echo = match demo::start_echo(([127, 0, 0, 1], 0).into()).await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("rampart: cannot start the demo echo upstream: {e}");
                    return ExitCode::from(2);
                }
            };
            match demo::load(echo) {
                Ok((c, _dir)) => (c, None, true),
                Err(e) => {
                    eprintln!("rampart: demo configuration failed: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let gw = match Gateway::start(cfg, source).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("rampart: {e}");
            return ExitCode::from(2);
        }
    };
    for l in &gw.listeners {
        let scheme = if l.tls { "https" } else { "http" };
        eprintln!(
            "rampart: listening on {scheme}://{} ({}{})",
            l.addr,
            l.name,
            if l.private { ", private" } else { "" }
        );
    }
    if let Some(a) = gw.admin {
        let api = if gw.shared.admin_token().is_some() {
            ", /admin/ API"
        } else {
            ""
        };
        eprintln!("rampart: admin on http://{a} (/metrics, /healthz, /readyz{api})");
    }
    if is_demo {
        let http = gw.listeners.iter().find(|l| !l.tls).map(|l| l.addr);
        let https = gw.listeners.iter().find(|l| l.tls).map(|l| l.addr);
        eprintln!("rampart: running the embedded demo (no --config given). Try:");
        if let Some(a) = http {
            eprintln!("  curl -i http://{a}/prod/hello");
            eprintln!(
                "  curl -i -X POST -d '{{\"pet\":\"cat\"}}' 'http://{a}/prod/echo/pets?limit=2'"
            );
            eprintln!(
                "  curl -i --path-as-is http://{a}/prod/admin/../hello # canonical path: /prod/hello"
            );
            eprintln!("  curl -i http://{a}/prod/echo/a%2fb          # 400: encoded slash");
            eprintln!(
                "  curl -i -X DELETE http://{a}/prod/echo/pets/1 # 403: the resource policy denies it"
            );
        }
        if let Some(a) = https {
            eprintln!("  curl -i -k https://{a}/dev/echo/anything    # self-signed certificate");
        }
        if let Some(a) = gw.admin {
            eprintln!("  curl -s http://{a}/metrics");
        }
    }
    gw.watch_for_reload();
    wait_for_signal().await;
    eprintln!("rampart: shutting down, draining in-flight requests");
    gw.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
