//! The run key: an ephemeral Ed25519 key pair generated for one run.
//!
//! Its public half goes to the VMs through the connector's `ssh-keys` (personality), so the host
//! can log in without ever reading the user's own private keys. The private half lives in memory
//! and, if the caller wants the run to be resumable, in the run's state dir with mode 0600. It is
//! never logged: `Debug` shows only the public fingerprint.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::{Algorithm, HashAlg, PrivateKey};

use crate::Error;

/// Prefix of the public key's comment; the run id follows.
pub const COMMENT_PREFIX: &str = "slipstream-run-";

/// An ephemeral Ed25519 key pair for one run. Cheap to clone (the key is shared).
#[derive(Clone)]
pub struct RunKey {
    key: Arc<PrivateKey>,
}

impl RunKey {
    /// Generates a new key pair whose public half carries the comment `slipstream-run-<run_id>`.
    ///
    /// The run id must be non-empty and made of visible ASCII without spaces, so the public key
    /// stays one `authorized_keys` line.
    pub fn generate(run_id: &str) -> Result<Self, Error> {
        check_run_id(run_id)?;
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let pair = Ed25519Keypair::from_seed(&seed);
        seed.fill(0);
        let key = PrivateKey::new(
            KeypairData::Ed25519(pair),
            format!("{COMMENT_PREFIX}{run_id}"),
        )
        .map_err(|e| Error::Key(format!("cannot build the key: {e}")))?;
        Ok(RunKey { key: Arc::new(key) })
    }

    /// The public half in OpenSSH one-line form: `ssh-ed25519 AAAA… slipstream-run-<run id>`.
    pub fn public_openssh(&self) -> String {
        self.key
            .public_key()
            .to_openssh()
            .expect("an Ed25519 public key always encodes")
    }

    /// The public key's SHA256 fingerprint (`SHA256:…`), as `ssh-keygen -l` shows it.
    pub fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }

    /// The comment, `slipstream-run-<run id>`.
    pub fn comment(&self) -> &str {
        self.key.comment().as_str_lossy()
    }

    /// Writes the private key (OpenSSH format, unencrypted) to `path` with mode 0600.
    ///
    /// Creates the parent directory (mode 0700) if needed; refuses to overwrite an existing
    /// file, so a run never silently replaces another run's key.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(io)?;
        }
        let text = self
            .key
            .to_openssh(LineEnding::LF)
            .map_err(|e| Error::Key(format!("cannot encode the key: {e}")))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    /// Reads a key written by [`RunKey::save`]. Only an unencrypted Ed25519 key is accepted.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = zeroize_string(std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?);
        let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|_| {
            Error::Key(format!(
                "{} is not an OpenSSH private key written by this program",
                path.display()
            ))
        })?;
        if key.algorithm() != Algorithm::Ed25519 || key.is_encrypted() {
            return Err(Error::Key(format!(
                "{} is not an unencrypted Ed25519 key",
                path.display()
            )));
        }
        Ok(RunKey { key: Arc::new(key) })
    }

    /// The private key, for authentication inside this crate.
    pub(crate) fn private(&self) -> Arc<PrivateKey> {
        self.key.clone()
    }
}

impl fmt::Debug for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunKey")
            .field("public", &self.fingerprint())
            .field("comment", &self.comment())
            .field("private", &"<redacted>")
            .finish()
    }
}

/// Wraps a string holding key text so it is wiped when dropped.
fn zeroize_string(s: String) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(s)
}

fn check_run_id(run_id: &str) -> Result<(), Error> {
    if run_id.is_empty() || !run_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Invalid {
            what: "run id",
            value: run_id.to_string(),
            reason: "must be non-empty visible ASCII without spaces",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_is_one_openssh_line_with_the_run_comment() {
        let key = RunKey::generate("r-42").unwrap();
        let line = key.public_openssh();
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], "ssh-ed25519");
        assert!(parts[1].starts_with("AAAA"));
        assert_eq!(parts[2], "slipstream-run-r-42");
        assert!(!line.contains('\n'));
        // Two runs never share a key.
        assert_ne!(line, RunKey::generate("r-42").unwrap().public_openssh());
    }

    #[test]
    fn bad_run_ids_are_refused() {
        for bad in ["", "a b", "a\nb", "é"] {
            assert!(matches!(RunKey::generate(bad), Err(Error::Invalid { .. })));
        }
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let key = RunKey::generate("dbg").unwrap();
        let shown = format!("{key:?}");
        let private = key.key.to_openssh(LineEnding::LF).unwrap();
        let body: String = private
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(
            shown.contains("<redacted>") && shown.contains("SHA256:"),
            "{shown}"
        );
        assert!(!shown.contains(&body[..40]));
    }

    #[cfg(unix)]
    #[test]
    fn save_then_load_round_trips_with_mode_0600_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs/r1/run-key");
        let key = RunKey::generate("r1").unwrap();
        key.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let loaded = RunKey::load(&path).unwrap();
        assert_eq!(loaded.public_openssh(), key.public_openssh());
        let again = RunKey::generate("r1").unwrap().save(&path);
        assert!(matches!(again, Err(Error::Io { .. })), "{again:?}");
        assert_eq!(
            RunKey::load(&path).unwrap().public_openssh(),
            key.public_openssh()
        );
    }

    #[test]
    fn load_refuses_what_is_not_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope");
        std::fs::write(&path, "hello").unwrap();
        let err = RunKey::load(&path).unwrap_err();
        assert!(matches!(err, Error::Key(_)), "{err:?}");
        assert!(!err.to_string().contains("hello"));
    }
}
