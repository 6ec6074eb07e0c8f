//! What the emulated sshd remembers, persisted with the rest of the state: per-VM host
//! keys, the `authorized_keys` that personality wrote, the files uploaded over SSH and
//! the recipe records; per-snapshot the records a new VM inherits.

use std::collections::BTreeMap;

use base64::Engine;
use rand::RngCore;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};
use serde::{Deserialize, Serialize};

use crate::backend::model::Time;

/// The SSH side of the simulated world (one field of the persisted state).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SshState {
    /// Seed of the gateway's Ed25519 host key (hex), made at its first start.
    pub gateway_key_seed: Option<String>,
    /// Per server id.
    pub vms: BTreeMap<u64, VmSsh>,
    /// Records a snapshot (an image id) carries to the VMs built from it.
    pub images: BTreeMap<String, Vec<RecipeRecord>>,
}

/// One VM's emulated sshd.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VmSsh {
    /// Seed of the VM's Ed25519 host key (hex, 32 bytes), made once for the VM's life.
    pub host_key_seed: String,
    /// Public key lines of `authorized_keys` per login user, as personality wrote them.
    pub authorized_keys: BTreeMap<String, Vec<String>>,
    /// When the VM last became ACTIVE (after a build, a start or a reboot).
    pub active_since: Option<Time>,
    /// Files uploaded with the upload command (digests only: contents are not kept).
    pub files: Vec<UploadedFile>,
    /// Recipes run on this VM.
    pub recipes: Vec<RecipeRecord>,
    /// Recipes run on the VM whose snapshot this VM was built from (and its ancestors).
    pub inherited: Vec<RecipeRecord>,
}

/// A file stored by the upload command, in `~U/.slipstream/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedFile {
    /// Login user.
    pub user: String,
    /// File name in `.slipstream/`.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
    /// When the upload ended.
    pub uploaded: Time,
}

/// How a recipe run ended (so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipeStatus {
    /// Still running.
    Running,
    /// Exited with `exit_code`.
    Exited,
    /// The client closed the channel (or the connection, or the VM stopped) first.
    Killed,
}

/// One run of the run command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeRecord {
    /// The VM it ran on.
    pub server_id: u64,
    /// That VM's name at the time.
    pub server_name: String,
    /// Login user.
    pub user: String,
    /// Script name (`recipe.sh`).
    pub script: String,
    /// Hex SHA-256 of the script as uploaded.
    pub sha256: String,
    /// Names of the environment variables given (never their values).
    pub env: Vec<String>,
    /// Exit code; `None` while running or when killed.
    pub exit_code: Option<i32>,
    /// Running, exited or killed.
    pub status: RecipeStatus,
    /// Start time.
    pub started: Time,
    /// End time (`None` while running).
    pub finished: Option<Time>,
}

impl SshState {
    /// Blanks the private host key seeds (for views of the state; never for saving it).
    pub fn redact_secrets(&mut self) {
        let redacted = || "(redacted)".to_string();
        if let Some(seed) = &mut self.gateway_key_seed {
            *seed = redacted();
        }
        for vm in self.vms.values_mut() {
            vm.host_key_seed = redacted();
        }
    }
}

/// Makes a new random 32-byte key seed, hex encoded.
pub fn new_key_seed() -> String {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    hex(&seed)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Ed25519 private key of a hex seed (a corrupt seed is an error).
pub fn key_from_seed(seed: &str) -> anyhow::Result<PrivateKey> {
    let bytes: Vec<u8> = (0..seed.len())
        .step_by(2)
        .map(|i| {
            seed.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow::anyhow!("host key seed is not hex"))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("host key seed is not 32 bytes"))?;
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

/// `SHA256:…` fingerprint and OpenSSH one-line public key of a seed.
pub fn public_of_seed(seed: &str) -> Option<(String, String)> {
    let key = key_from_seed(seed).ok()?;
    let public = key.public_key();
    Some((
        public.fingerprint(HashAlg::Sha256).to_string(),
        public.to_openssh().ok()?,
    ))
}

/// The login user whose `authorized_keys` a personality path is: `root` for
/// `/root/.ssh/authorized_keys`, `U` for `/home/U/.ssh/authorized_keys`.
pub fn authorized_keys_user(path: &str) -> Option<&str> {
    if path == "/root/.ssh/authorized_keys" {
        return Some("root");
    }
    let user = path
        .strip_prefix("/home/")?
        .strip_suffix("/.ssh/authorized_keys")?;
    let plain = !user.is_empty()
        && user != "."
        && user != ".."
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    plain.then_some(user)
}

impl VmSsh {
    /// A new VM's sshd: a fresh host key, the keys personality writes (`(path, base64
    /// contents)`; a later entry for the same path replaces an earlier one, as a later
    /// file write does) and what its image carried.
    pub fn new<'a>(
        personality: impl IntoIterator<Item = (&'a str, &'a str)>,
        inherited: Vec<RecipeRecord>,
    ) -> Self {
        let mut authorized_keys = BTreeMap::new();
        for (path, contents) in personality {
            let Some(user) = authorized_keys_user(path) else {
                continue;
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(contents) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
            authorized_keys.insert(user.to_string(), lines);
        }
        VmSsh {
            host_key_seed: new_key_seed(),
            authorized_keys,
            inherited,
            ..Default::default()
        }
    }

    /// Whether `key` is in `user`'s `authorized_keys`. A line may start with options
    /// (`from="…",no-pty ssh-ed25519 AAAA… comment`), as sshd allows.
    pub fn authorizes(&self, user: &str, key: &russh::keys::PublicKey) -> bool {
        self.authorized_keys
            .get(user)
            .is_some_and(|lines| lines.iter().any(|l| line_key_is(l, key)))
    }

    /// The uploaded file `name` of `user`, if any.
    pub fn file(&self, user: &str, name: &str) -> Option<&UploadedFile> {
        self.files
            .iter()
            .rev()
            .find(|f| f.user == user && f.name == name)
    }

    /// Stores (or replaces) a file.
    pub fn store_file(&mut self, file: UploadedFile) {
        self.files
            .retain(|f| !(f.user == file.user && f.name == file.name));
        self.files.push(file);
    }

    /// What a snapshot of this VM carries: what it inherited, then what ran on it.
    pub fn carried(&self) -> Vec<RecipeRecord> {
        self.inherited
            .iter()
            .chain(self.recipes.iter())
            .cloned()
            .collect()
    }
}

fn line_key_is(line: &str, key: &russh::keys::PublicKey) -> bool {
    let parse = |s: &str| russh::keys::PublicKey::from_openssh(s.trim()).ok();
    let parsed = parse(line).or_else(|| {
        // Skip an options field (it may hold quoted spaces) up to the key type.
        let at = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .filter_map(|t| line.find(&format!(" {t}")))
            .min()?;
        parse(&line[at..])
    });
    parsed.is_some_and(|k| k.key_data() == key.key_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(seed: &str) -> russh::keys::PublicKey {
        key_from_seed(seed).unwrap().public_key().clone()
    }

    #[test]
    fn personality_paths_name_their_user() {
        assert_eq!(
            authorized_keys_user("/root/.ssh/authorized_keys"),
            Some("root")
        );
        assert_eq!(
            authorized_keys_user("/home/user/.ssh/authorized_keys"),
            Some("user")
        );
        assert_eq!(authorized_keys_user("/home/../.ssh/authorized_keys"), None);
        assert_eq!(authorized_keys_user("/home/a/b/.ssh/authorized_keys"), None);
        assert_eq!(authorized_keys_user("/etc/motd"), None);
    }

    #[test]
    fn authorized_keys_come_from_personality_per_user() {
        let (a, b) = (new_key_seed(), new_key_seed());
        let line_a = public(&a).to_openssh().unwrap();
        let line_b = public(&b).to_openssh().unwrap();
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        let root = b64(format!("# keys\n{line_a} run-key\n\n"));
        let user = b64(format!("no-pty,from=\"10.0.0.1 x\" {line_b} other\n"));
        let vm = VmSsh::new(
            [
                ("/root/.ssh/authorized_keys", root.as_str()),
                ("/home/user/.ssh/authorized_keys", user.as_str()),
                ("/etc/motd", root.as_str()),
            ],
            vec![],
        );
        assert!(vm.authorizes("root", &public(&a)));
        assert!(!vm.authorizes("root", &public(&b)));
        assert!(vm.authorizes("user", &public(&b)), "options are skipped");
        assert!(!vm.authorizes("user", &public(&a)));
        assert!(!vm.authorizes("motd", &public(&a)));
        assert_eq!(vm.host_key_seed.len(), 64);
        assert_ne!(vm.host_key_seed, VmSsh::new([], vec![]).host_key_seed);
    }

    #[test]
    fn a_seed_makes_a_stable_key() {
        let s = new_key_seed();
        assert_eq!(public_of_seed(&s), public_of_seed(&s));
        assert!(public_of_seed(&s).unwrap().0.starts_with("SHA256:"));
        assert!(key_from_seed("zz").is_err());
    }
}
