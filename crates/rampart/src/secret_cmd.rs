//! `rampart secret`: master keys, access key pairs and encrypted secrets for the
//! configuration's identity store. The master key is read from an environment variable or
//! a file, never from the command line (where other users could see it in `ps`).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use rampart_gateway::authn::identity::{generate_access_key, MasterKey};

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Print a new random master key (base64, 32 bytes): set it as `identities.master_key`
    /// through an environment variable, or put it in `identities.master_key_file`.
    NewMasterKey,
    /// Make a new access key pair for an identity: prints the access key id, the secret
    /// (shown once: give it to the client) and the encrypted value for the configuration.
    NewAccessKey {
        #[command(flatten)]
        key: KeySource,
    },
    /// Encrypt an existing secret access key (read from standard input) for the
    /// configuration.
    Encrypt {
        /// The access key id the secret belongs to (the ciphertext is bound to it).
        #[arg(long)]
        access_key_id: String,
        #[command(flatten)]
        key: KeySource,
    },
}

#[derive(clap::Args)]
pub struct KeySource {
    /// Environment variable holding the master key.
    #[arg(long, default_value = "RAMPART_MASTER_KEY")]
    master_key_env: String,
    /// File holding the master key (instead of the environment variable).
    #[arg(long)]
    master_key_file: Option<PathBuf>,
}

impl KeySource {
    fn load(&self) -> Result<MasterKey, String> {
        let text = match &self.master_key_file {
            Some(f) => std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?,
            None => std::env::var(&self.master_key_env).map_err(|_| {
                format!(
                    "set {} to the master key (rampart secret new-master-key makes one)",
                    self.master_key_env
                )
            })?,
        };
        MasterKey::from_base64(&text)
    }
}

pub fn run(cmd: SecretCommand) -> ExitCode {
    match run_inner(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rampart secret: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(cmd: SecretCommand) -> Result<(), String> {
    match cmd {
        SecretCommand::NewMasterKey => println!("{}", MasterKey::generate()?),
        SecretCommand::NewAccessKey { key } => {
            let mk = key.load()?;
            let (id, secret) = generate_access_key()?;
            let encrypted = mk.encrypt(&id, secret.as_bytes())?;
            println!("access_key_id: {id}");
            println!("secret_access_key: {secret}");
            println!("config: {{id: {id}, secret: \"{encrypted}\"}}");
        }
        SecretCommand::Encrypt { access_key_id, key } => {
            let mk = key.load()?;
            let mut secret = String::new();
            std::io::stdin()
                .read_to_string(&mut secret)
                .map_err(|e| format!("cannot read the secret from standard input: {e}"))?;
            let secret = secret.trim_end_matches(['\r', '\n']);
            if secret.is_empty() {
                return Err("no secret on standard input".into());
            }
            println!("{}", mk.encrypt(&access_key_id, secret.as_bytes())?);
        }
    }
    Ok(())
}
