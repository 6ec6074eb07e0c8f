//! Request parsing with JSON errors: query strings (repeated keys allowed, e.g. `?tag=a=1&tag=b=2`),
//! JSON bodies (unknown fields are errors naming the field), sizes and durations.

use super::error::ApiError;
use crate::bindings::types::{File, Size};
use crate::orchestrate::deploy;
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The query string's pairs, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
            .map_err(|e| ApiError::invalid(format!("invalid query string: {e}")))?;
        Ok(Params(pairs))
    }

    /// Fails on a parameter the route does not know: a typo should not be silently ignored.
    pub fn only(self, known: &[&str]) -> Result<Self, ApiError> {
        if let Some((k, _)) = self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!(
                "unknown query parameter `{k}` (this route takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        Ok(self)
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `?wait`, `?wait=true`, `?wait=1` → true; absent, `false`, `0` → false.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some("" | "true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "`{key}={other}`: use true or false"
            ))),
        }
    }

    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        self.get(key).map(|v| duration(key, v)).transpose()
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::invalid(format!("`{key}={v}` is not a number")))
            })
            .transpose()
    }
}

pub fn duration(key: &str, value: &str) -> Result<Duration, ApiError> {
    humantime::parse_duration(value).map_err(|e| {
        ApiError::invalid(format!(
            "`{key}` = `{value}` is not a duration like \"30s\" or \"10m\": {e}"
        ))
    })
}

/// A JSON body; an empty body reads as `{}` (for bodies whose fields are all optional).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
}

/// A size: a flavor (id or name), or CPUs and RAM (and optionally disk) matched to a flavor.
pub fn size(
    flavor: Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
) -> Result<Size, ApiError> {
    deploy::size_from(flavor, cpu, ram_mb, disk_gb)
        .map_err(|e| ApiError::invalid(format!("{e}: give \"flavor\", or \"cpu\" and \"ram_mb\"")))
}

/// A file to place on the VM, given inline (the server never reads its own files for a client).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
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

pub fn files(files: Vec<FileBody>) -> Result<Vec<File>, ApiError> {
    files
        .into_iter()
        .map(|f| {
            if !f.path.starts_with('/') {
                return Err(ApiError::invalid(format!(
                    "file path `{}` must be absolute",
                    f.path
                )));
            }
            let contents = match (f.contents, f.contents_base64) {
                (Some(text), None) => text.into_bytes(),
                (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| {
                        ApiError::invalid(format!("contents_base64 of {}: {e}", f.path))
                    })?,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "file {}: give exactly one of \"contents\" and \"contents_base64\"",
                        f.path
                    )));
                }
            };
            Ok(File {
                path: f.path,
                contents,
                owner: Some(f.owner.unwrap_or_else(|| "root".into())),
                group: Some(f.group.unwrap_or_else(|| "root".into())),
                mode: Some(f.mode.unwrap_or(0o644)),
            })
        })
        .collect()
}

/// SSH public keys given as text (`ssh-ed25519 AAAA… user@host`), never key files.
pub fn ssh_keys(keys: Vec<String>) -> Result<Vec<String>, ApiError> {
    keys.into_iter()
        .map(|k| {
            let k = k.trim().to_string();
            if k.contains("PRIVATE KEY") {
                return Err(ApiError::invalid(
                    "an entry of ssh_keys is a PRIVATE key: send the public one (the .pub file's line), and consider that key compromised",
                ));
            }
            let known = ["ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-"];
            if !known.iter().any(|p| k.starts_with(p)) {
                return Err(ApiError::invalid(format!(
                    "ssh_keys entries must be public key text like \"ssh-ed25519 AAAA… user@host\" (the server does not read key files); got `{}`",
                    k.chars().take(40).collect::<String>()
                )));
            }
            Ok(k)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_keys_are_kept() {
        let p = Params::parse(Some("tag=a%3D1&tag=b=2&wait")).unwrap();
        assert_eq!(p.all("tag"), vec!["a=1", "b=2"]);
        assert!(p.flag("wait").unwrap());
        assert!(p.only(&["tag"]).is_err());
    }

    #[test]
    fn keys_must_be_public_key_text() {
        assert!(ssh_keys(vec!["ssh-ed25519 AAAA me@x".into()]).is_ok());
        assert!(ssh_keys(vec!["~/.ssh/id_ed25519.pub".into()]).is_err());
        assert!(ssh_keys(vec!["-----BEGIN OPENSSH PRIVATE KEY-----".into()]).is_err());
    }
}
