//! What a user hands an operation that is not a plain value: a size, SSH public keys, files to
//! place on a VM, user data. Each is either given inline or names a local file; only the
//! command line reads local files (through [`LocalFiles`]), the server refuses them.

use anyhow::{Context, bail};
use base64::Engine as _;
use connector_runtime::bindings::types::{File, Shape, Size};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::path::{Path, PathBuf};

/// Reads local files for an operation: the command line reads the user's files, the server
/// reads none ([`NoLocalFiles`]).
pub trait LocalFiles: Send + Sync {
    /// The bytes of `path` and whether it is executable; `what` names it in errors.
    fn read(&self, path: &Path, what: &str) -> anyhow::Result<(Vec<u8>, bool)>;
}

/// `local`'s reader of recipe scripts.
pub fn recipe_reader(local: &dyn LocalFiles) -> impl Fn(&Path) -> anyhow::Result<Vec<u8>> + '_ {
    move |path| local.read(path, "recipe").map(|(bytes, _)| bytes)
}

/// For the server: it never reads its own files for a client.
pub struct NoLocalFiles;

impl LocalFiles for NoLocalFiles {
    fn read(&self, path: &Path, what: &str) -> anyhow::Result<(Vec<u8>, bool)> {
        bail!(
            "{what} `{}` names a file on the server, which the API does not read: give SSH keys as public key text (\"ssh-ed25519 AAAA… user@host\"), files and user data inline",
            path.display()
        )
    }
}

/// A size as the user gives it: a flavor (id or name), or CPUs and RAM (and optionally disk)
/// matched to the smallest fitting flavor. Flattened into requests, JSON bodies, deployment
/// files and command lines alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
pub struct SizeRequest {
    /// Flavor id or name (e.g. C2R2048D10ext_vlmc)
    #[arg(long, conflicts_with_all = ["cpu", "ram_mb"])]
    pub flavor: Option<String>,
    /// CPUs (with --ram-mb): the smallest fitting flavor is used
    #[arg(long, requires = "ram_mb")]
    pub cpu: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub ram_mb: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub disk_gb: Option<u32>,
}

impl SizeRequest {
    /// Whether it names a flavor or a shape (a disk size alone does not).
    pub fn is_given(&self) -> bool {
        self.flavor.is_some() || self.cpu.is_some() || self.ram_mb.is_some()
    }

    pub fn size(&self) -> anyhow::Result<Size> {
        match (self.flavor.clone(), self.cpu, self.ram_mb) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                bail!("give either a flavor or cpu/ram, not both")
            }
            (Some(f), None, None) => Ok(Size::Flavor(f)),
            (None, Some(cpus), Some(ram_mb)) => Ok(Size::Shape(Shape {
                cpus,
                ram_mb,
                disk_gb: self.disk_gb,
            })),
            (None, Some(_), None) => bail!("cpu is given but ram_mb is not: give both"),
            (None, None, Some(_)) => bail!("ram_mb is given but cpu is not: give both"),
            (None, None, None) => {
                bail!("no size: give a flavor (e.g. C2R2048D10ext_vlmc) or cpu and ram_mb")
            }
        }
    }
}

/// What a new VM may take from local files: SSH public keys, files to place, user data.
/// Flattened into requests (`"ssh_keys"`, `"files"`, `"user_data"` in JSON).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct VmInputs {
    #[serde(default)]
    pub ssh_keys: Vec<SshKey>,
    #[serde(default)]
    pub files: Vec<FileInput>,
    pub user_data: Option<UserData>,
}

impl VmInputs {
    /// Keys, files and user data as the connector takes them, read through `local`.
    pub fn resolve(
        &self,
        local: &dyn LocalFiles,
    ) -> anyhow::Result<(Vec<String>, Vec<File>, Option<String>)> {
        Ok((
            self.ssh_keys
                .iter()
                .map(|k| k.resolve(local))
                .collect::<anyhow::Result<_>>()?,
            self.files
                .iter()
                .map(|f| f.resolve(local))
                .collect::<anyhow::Result<_>>()?,
            self.user_data
                .as_ref()
                .map(|u| u.resolve(local))
                .transpose()?,
        ))
    }
}

/// An SSH public key: its text, or the path of a `.pub` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshKey {
    Path(PathBuf),
    Inline(String),
}

/// Key text starts like this; anything else in a list of keys is taken for a file name.
const KEY_PREFIXES: [&str; 4] = ["ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-"];

impl SshKey {
    /// Key text (`ssh-ed25519 AAAA…`, or a pasted private key, refused later) is inline;
    /// anything else names a file.
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        if KEY_PREFIXES.iter().any(|p| t.starts_with(p)) || t.contains("PRIVATE KEY") {
            SshKey::Inline(t.to_string())
        } else {
            SshKey::Path(PathBuf::from(s))
        }
    }

    /// The key text, read through `local` for a file; a private key is refused either way.
    pub fn resolve(&self, local: &dyn LocalFiles) -> anyhow::Result<String> {
        match self {
            SshKey::Inline(k) => {
                if k.contains("PRIVATE KEY") {
                    bail!(
                        "an entry of ssh_keys is a PRIVATE key: give the public one (the .pub file's line), and consider that key compromised"
                    );
                }
                Ok(k.trim().to_string())
            }
            SshKey::Path(p) => {
                let (bytes, _) = local.read(p, "the SSH public key")?;
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("SSH key file {} is not text", p.display()))?;
                let key = text.trim();
                if key.contains("PRIVATE KEY") {
                    bail!(
                        "{} is a private key: give the public one (usually the same path ending in .pub)",
                        p.display()
                    );
                }
                if key.is_empty() {
                    bail!("SSH key file {} is empty", p.display());
                }
                Ok(key.to_string())
            }
        }
    }
}

impl<'de> Deserialize<'de> for SshKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SshKey::parse(&String::deserialize(d)?))
    }
}

/// A file to place on a VM, given inline (JSON `{path, contents | contents_base64, mode, …}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineFile {
    /// Absolute path on the VM.
    pub path: String,
    /// UTF-8 contents…
    pub contents: Option<String>,
    /// …or base64 contents.
    pub contents_base64: Option<String>,
    /// Unix mode, default 0644 (420).
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// A file to place on a VM: inline, or `LOCAL=REMOTE` naming a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileInput {
    Local { local: PathBuf, remote: String },
    Inline(InlineFile),
}

impl FileInput {
    /// `LOCAL=REMOTE`, with LOCAL relative to `base_dir` (and `~/` expanded).
    pub fn parse_pair(pair: &str, base_dir: &Path) -> anyhow::Result<Self> {
        let (local, remote) = pair.split_once('=').with_context(|| {
            format!("`{pair}` is not LOCAL=REMOTE (e.g. ./setup.sh=/root/setup.sh)")
        })?;
        Ok(FileInput::Local {
            local: resolve_path(local, base_dir),
            remote: remote.to_string(),
        })
    }

    /// The file as the connector takes it: mode 0644 (0755 for an executable local file),
    /// owned by root unless said otherwise.
    pub fn resolve(&self, local: &dyn LocalFiles) -> anyhow::Result<File> {
        let (path, contents, mode, owner, group) = match self {
            FileInput::Local {
                local: from,
                remote,
            } => {
                let (contents, executable) = local.read(from, "the file")?;
                let mode = if executable { 0o755 } else { 0o644 };
                (remote, contents, Some(mode), None, None)
            }
            FileInput::Inline(f) => {
                let contents = match (&f.contents, &f.contents_base64) {
                    (Some(text), None) => text.clone().into_bytes(),
                    (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .with_context(|| format!("contents_base64 of {}", f.path))?,
                    _ => bail!(
                        "file {}: give exactly one of \"contents\" and \"contents_base64\"",
                        f.path
                    ),
                };
                (&f.path, contents, f.mode, f.owner.clone(), f.group.clone())
            }
        };
        if !path.starts_with('/') {
            bail!("the path `{path}` on the VM must be absolute (e.g. /root/setup.sh)");
        }
        Ok(File {
            path: path.clone(),
            contents,
            owner: Some(owner.unwrap_or_else(|| "root".into())),
            group: Some(group.unwrap_or_else(|| "root".into())),
            mode: Some(mode.unwrap_or(0o644)),
        })
    }
}

impl<'de> Deserialize<'de> for FileInput {
    /// A string is `LOCAL=REMOTE` (relative to the working directory), an object an inline file.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = FileInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"LOCAL=REMOTE\" or {\"path\", \"contents\" | \"contents_base64\"}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FileInput, E> {
                FileInput::parse_pair(s, Path::new(".")).map_err(|e| E::custom(format!("{e:#}")))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<FileInput, A::Error> {
                InlineFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FileInput::Inline)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Cloud-init user data: its text, or a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserData {
    File(PathBuf),
    Inline(String),
}

impl UserData {
    pub fn resolve(&self, local: &dyn LocalFiles) -> anyhow::Result<String> {
        match self {
            UserData::Inline(text) => Ok(text.clone()),
            UserData::File(p) => {
                let (bytes, _) = local.read(p, "the user data file")?;
                String::from_utf8(bytes)
                    .with_context(|| format!("user data file {} is not text", p.display()))
            }
        }
    }
}

impl<'de> Deserialize<'de> for UserData {
    /// In JSON and TOML, user data is the text itself.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(UserData::Inline)
    }
}

/// Expands `~/` and makes relative paths relative to `base_dir`.
pub fn resolve_path(p: &str, base_dir: &Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let path = PathBuf::from(p);
    if path.is_absolute() {
        path
    } else {
        base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_text_or_files() {
        assert_eq!(
            SshKey::parse("ssh-ed25519 AAAA me@x"),
            SshKey::Inline("ssh-ed25519 AAAA me@x".into())
        );
        assert_eq!(
            SshKey::parse("~/.ssh/id_ed25519.pub"),
            SshKey::Path("~/.ssh/id_ed25519.pub".into())
        );
        let private = SshKey::parse("-----BEGIN OPENSSH PRIVATE KEY-----");
        assert!(private.resolve(&NoLocalFiles).is_err());
        let file = SshKey::parse("id.pub");
        let err = file.resolve(&NoLocalFiles).unwrap_err();
        assert!(format!("{err:#}").contains("public key text"), "{err:#}");
    }

    #[test]
    fn inline_files_need_exactly_one_content_and_an_absolute_path() {
        let f = |json: &str| -> anyhow::Result<File> {
            serde_json::from_str::<FileInput>(json)?.resolve(&NoLocalFiles)
        };
        let ok = f(r#"{"path": "/root/a", "contents_base64": "aGk="}"#).unwrap();
        assert_eq!(ok.contents, b"hi");
        assert_eq!(ok.mode, Some(0o644));
        assert!(f(r#"{"path": "/root/a"}"#).is_err());
        assert!(f(r#"{"path": "root/a", "contents": "x"}"#).is_err());
        assert!(f(r#"{"path": "/a", "contents": "x", "colour": 1}"#).is_err());
        // The server reads no local file.
        assert!(f(r#""./a=/root/a""#).is_err());
    }
}
