//! Records a session keeps in the cache for later calls (the flavor list, image records):
//! stamped with when they were fetched, and keyed by cloud and token, so that two clouds or
//! two users sharing a bucket never read each other's entries.

use serde::Serialize;

use super::Client;
use super::catalog::{is_fresh, unix_now};
use crate::protocol::read::{self, FromJson};

impl Client {
    /// The bucket key of `name` for this cloud and this token. The token is only
    /// fingerprinted (64 bits that tell tokens apart and cannot give one back): the cache
    /// must never hold a credential, and a renewed token just starts afresh.
    pub fn session_key(&self, name: &str) -> String {
        format!(
            "{name}/v1/{}/{:016x}",
            self.config.auth_url,
            fingerprint(&self.config.token)
        )
    }

    /// The record cached under `name`, unless it is older than `ttl_secs` or unreadable.
    pub fn recall<T: FromJson>(&mut self, name: &str, ttl_secs: u64) -> Option<T> {
        let bytes = self.cache.get(&self.session_key(name))?;
        let (fetched_at, json) = unstamp(&bytes)?;
        is_fresh(fetched_at, ttl_secs).then(|| read::from_slice(json).ok())?
    }

    /// Caches `value` under `name`, stamped now.
    pub fn remember<T: Serialize>(&mut self, name: &str, value: &T) {
        if let Ok(json) = serde_json::to_vec(value) {
            let key = self.session_key(name);
            self.cache.set(&key, &stamp(unix_now(), &json));
        }
    }

    /// Drops the record cached under `name`.
    pub fn forget(&mut self, name: &str) {
        let key = self.session_key(name);
        self.cache.delete(&key);
    }
}

/// `fetched_at` (unix seconds) and a space before the record's JSON: a stamp that costs the
/// component no serde code per record type.
pub fn stamp(fetched_at: u64, json: &[u8]) -> Vec<u8> {
    let mut out = format!("{fetched_at} ").into_bytes();
    out.extend_from_slice(json);
    out
}

/// The stamp and the JSON of a cached record.
fn unstamp(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let space = bytes.iter().position(|b| *b == b' ')?;
    let fetched_at = std::str::from_utf8(&bytes[..space]).ok()?.parse().ok()?;
    Some((fetched_at, &bytes[space + 1..]))
}

/// FNV-1a: 64 bits that tell tokens apart, in a few instructions (no hasher in the component).
fn fingerprint(secret: &str) -> u64 {
    secret.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
