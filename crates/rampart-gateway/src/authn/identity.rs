//! The identity store: IAM users and roles that sign requests with SigV4, their access
//! keys, tags and identity policies.
//!
//! Secret access keys are stored encrypted (ChaCha20-Poly1305 with the operator's master
//! key, bound to the access key id), never in plain text in the configuration: SigV4 needs
//! the secret itself to recompute a signature, so it cannot be hashed. `rampart secret`
//! makes master keys, access key pairs and encrypted values. In memory a secret is held in
//! a [`Secret`], which never prints.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of an encrypted secret.
pub const ENCRYPTED_PREFIX: &str = "rampart-enc:v1:";

/// Secret bytes; `Debug` shows nothing of them.
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// A 32-byte master key.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl MasterKey {
    /// From base64 text (whitespace around it ignored).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "the master key is not base64".to_string())?;
        if bytes.len() != 32 {
            return Err(format!(
                "the master key must be 32 bytes, not {}",
                bytes.len()
            ));
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| "invalid master key".to_string())?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A new random key, base64.
    pub fn generate() -> Result<String, String> {
        let mut k = [0u8; 32];
        SystemRandom::new()
            .fill(&mut k)
            .map_err(|_| "no system randomness".to_string())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(k))
    }

    /// Encrypt a secret access key for the configuration.
    pub fn encrypt(&self, access_key_id: &str, secret: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no system randomness".to_string())?;
        let mut buf = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(access_key_id.as_bytes()),
                &mut buf,
            )
            .map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!(
            "{ENCRYPTED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Decrypt a value made by [`MasterKey::encrypt`] for the same access key id.
    pub fn decrypt(&self, access_key_id: &str, value: &str) -> Result<Secret, String> {
        let b64 = value.strip_prefix(ENCRYPTED_PREFIX).ok_or_else(|| {
            format!("not an encrypted secret (`{ENCRYPTED_PREFIX}...`, made by `rampart secret encrypt`)")
        })?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "the encrypted secret is not valid base64".to_string())?;
        if raw.len() < NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return Err("the encrypted secret is too short".into());
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| "invalid nonce".to_string())?;
        let mut buf = ct.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(access_key_id.as_bytes()), &mut buf)
            .map_err(|_| {
                "cannot decrypt: wrong master key, or encrypted for another access key id"
                    .to_string()
            })?;
        Ok(Secret(plain.to_vec()))
    }
}

/// A new access key id (`AKIA` + 16) and secret (40 characters), as AWS makes them.
pub fn generate_access_key() -> Result<(String, String), String> {
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut r = [0u8; 56];
    SystemRandom::new()
        .fill(&mut r)
        .map_err(|_| "no system randomness".to_string())?;
    let id: String = std::iter::once("AKIA".to_string())
        .chain(
            r[..16]
                .iter()
                .map(|b| (ID[(*b as usize) % 32] as char).to_string()),
        )
        .collect();
    let secret: String = r[16..]
        .iter()
        .map(|b| SECRET[(*b as usize) % 64] as char)
        .collect();
    Ok((id, secret))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Role,
}

/// An IAM user or role.
#[derive(Debug)]
pub struct Identity {
    pub kind: Kind,
    pub name: String,
    pub arn: String,
    pub account: String,
    /// `aws:userid`: a stable unique id (`AIDA...` for users, `AROA...` for roles).
    pub user_id: String,
    pub tags: Vec<(String, String)>,
    pub policies: Option<Arc<rampart_iam::PolicySet>>,
}

/// One access key of an identity.
#[derive(Debug)]
pub struct AccessKey {
    pub identity: Arc<Identity>,
    pub secret: Secret,
    pub enabled: bool,
    /// The SigV4 key derived for the scope of the last verified request (a day's).
    pub signing: std::sync::Mutex<Option<rampart_sigv4::SigningKey>>,
}

/// All identities, by access key id.
#[derive(Debug, Default)]
pub struct IdentityStore {
    keys: HashMap<String, AccessKey>,
    by_arn: HashMap<String, Arc<Identity>>,
}

impl IdentityStore {
    pub fn add_identity(&mut self, id: Arc<Identity>) {
        self.by_arn.insert(id.arn.clone(), id);
    }

    /// The identity with this ARN.
    pub fn by_arn(&self, arn: &str) -> Option<&Arc<Identity>> {
        self.by_arn.get(arn)
    }

    pub fn insert(&mut self, id: String, key: AccessKey) {
        self.keys.insert(id, key);
    }

    pub fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// The enabled key with this id.
    pub fn lookup(&self, access_key_id: &str) -> Option<&AccessKey> {
        self.keys.get(access_key_id).filter(|k| k.enabled)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Temporary credentials handed to a caller (a function, later): shown once.
#[derive(Clone)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: std::time::SystemTime,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub assumed_role_arn: String,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

/// One issued temporary credential, as the gateway keeps it: the secret (SigV4 needs
/// it) and only a hash of the session token.
pub struct Temporary {
    pub role_arn: String,
    pub assumed_role_arn: String,
    pub secret: Secret,
    token_sha256: [u8; 32],
    pub expires: std::time::SystemTime,
}

impl Temporary {
    /// Does `token` match, compared in constant time (over fixed-size digests)?
    pub fn token_matches(&self, token: &str) -> bool {
        use sha2::Digest;
        let d: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        d.iter()
            .zip(self.token_sha256.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Temporary credentials by access key id. It lives as long as the process (a
/// configuration reload keeps it); the role's policies are looked up in the configuration
/// in force at each request, so a role removed by a reload stops working at once.
#[derive(Default)]
pub struct TemporaryStore {
    map: std::sync::Mutex<HashMap<String, Arc<Temporary>>>,
}

impl std::fmt::Debug for TemporaryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemporaryStore")
    }
}

impl TemporaryStore {
    /// Maximum lifetime of temporary credentials (as STS's role-chaining limit).
    pub const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

    pub fn issue(
        &self,
        role: &Identity,
        session_name: &str,
        ttl: std::time::Duration,
    ) -> Result<TemporaryCredentials, String> {
        if role.kind != Kind::Role {
            return Err(format!("{} is not a role", role.arn));
        }
        if session_name.is_empty()
            || session_name.len() > 64
            || !session_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=,.@-_".contains(&b))
        {
            return Err("a session name is 1 to 64 of [A-Za-z0-9=,.@_-]".into());
        }
        if ttl.is_zero() || ttl > Self::MAX_TTL {
            return Err("the lifetime must be between 1 s and 12 h".into());
        }
        let (id, secret) = generate_access_key()?;
        let id = format!("ASIA{}", &id[4..]);
        let mut t = [0u8; 48];
        SystemRandom::new()
            .fill(&mut t)
            .map_err(|_| "no system randomness".to_string())?;
        let token = base64::engine::general_purpose::STANDARD.encode(t);
        use sha2::Digest;
        let now = std::time::SystemTime::now();
        let assumed_role_arn = format!(
            "arn:{}:sts::{}:assumed-role/{}/{session_name}",
            role.arn.split(':').nth(1).unwrap_or("aws"),
            role.account,
            role.name
        );
        let entry = Temporary {
            role_arn: role.arn.clone(),
            assumed_role_arn: assumed_role_arn.clone(),
            secret: Secret(secret.as_bytes().to_vec()),
            token_sha256: sha2::Sha256::digest(token.as_bytes()).into(),
            expires: now + ttl,
        };
        let mut map = self
            .map
            .lock()
            .map_err(|_| "store unavailable".to_string())?;
        map.retain(|_, v| v.expires > now);
        map.insert(id.clone(), Arc::new(entry));
        Ok(TemporaryCredentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: token,
            expiration: now + ttl,
            assumed_role_arn,
        })
    }

    pub fn lookup(&self, access_key_id: &str) -> Option<Arc<Temporary>> {
        self.map.lock().ok()?.get(access_key_id).cloned()
    }
}

/// A stable unique id for `aws:userid`, derived from the ARN.
pub fn unique_id(kind: Kind, arn: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(arn.as_bytes());
    let prefix = match kind {
        Kind::User => "AIDA",
        Kind::Role => "AROA",
    };
    let mut s = String::from(prefix);
    for b in &h[..8] {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trip_bound_to_key_id() {
        let mk = MasterKey::from_base64(&MasterKey::generate().unwrap()).unwrap();
        let enc = mk.encrypt("AKIAEXAMPLE", b"s3cret").unwrap();
        assert!(enc.starts_with(ENCRYPTED_PREFIX));
        assert!(!enc.contains("s3cret"));
        assert_eq!(mk.decrypt("AKIAEXAMPLE", &enc).unwrap().expose(), b"s3cret");
        assert!(
            mk.decrypt("AKIAOTHER", &enc).is_err(),
            "bound to the key id"
        );
        let other = MasterKey::from_base64(&MasterKey::generate().unwrap()).unwrap();
        assert!(
            other.decrypt("AKIAEXAMPLE", &enc).is_err(),
            "wrong master key"
        );
        // Any changed byte fails authentication.
        let mut bad = enc.clone().into_bytes();
        let i = bad.len() - 3;
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        assert!(mk
            .decrypt("AKIAEXAMPLE", std::str::from_utf8(&bad).unwrap())
            .is_err());
        assert!(mk.decrypt("AKIAEXAMPLE", "plain-secret").is_err());
        assert_eq!(format!("{:?}", Secret(b"x".to_vec())), "Secret([REDACTED])");
    }

    #[test]
    fn master_keys_and_access_keys() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        let (id, secret) = generate_access_key().unwrap();
        assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
        assert_eq!(secret.len(), 40);
        assert_ne!(generate_access_key().unwrap().0, id);
        assert!(unique_id(Kind::User, "arn:aws:iam::1:user/a").starts_with("AIDA"));
    }
}
