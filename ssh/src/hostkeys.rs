//! Host-key pinning for one run: trust on first contact, then insist on the same key.
//!
//! A VM is new to everyone when its run starts, so there is nothing to check its first key
//! against; what matters is that the machine we configure later in the run is the one we first
//! reached. The store maps a VM id to the SHA256 fingerprint seen at first contact. It is shared
//! (clone it) by every connection of the run and never held across an await.

use russh::client;
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Error;

/// VM id → SHA256 fingerprint (`SHA256:…`) of its host key, for the whole run.
#[derive(Debug, Clone, Default)]
pub struct HostKeys {
    inner: Arc<Mutex<HashMap<String, String>>>,
}

/// What [`HostKeys::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// First contact: the fingerprint was recorded (show it to the user).
    Recorded(String),
    /// The same key as before.
    Known(String),
}

impl HostKeys {
    /// An empty store, for a new run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `fingerprint` for `id` at first contact, accepts it again later, and refuses a
    /// different one.
    pub fn check(&self, id: &str, fingerprint: &str) -> Result<Pin, Error> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(id) {
            None => {
                map.insert(id.to_string(), fingerprint.to_string());
                Ok(Pin::Recorded(fingerprint.to_string()))
            }
            Some(known) if known == fingerprint => Ok(Pin::Known(fingerprint.to_string())),
            Some(known) => Err(Error::HostKeyChanged {
                vm: id.to_string(),
                expected: known.clone(),
                got: fingerprint.to_string(),
            }),
        }
    }

    /// The fingerprint recorded for `id`, if any.
    pub fn get(&self, id: &str) -> Option<String> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).cloned()
    }

    /// Records a fingerprint known from elsewhere (e.g. a resumed run's state), as if seen.
    pub fn insert(&self, id: &str, fingerprint: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_string(), fingerprint.to_string());
    }

    /// Every recorded pair, sorted by id.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort();
        all
    }
}

/// The client handler: pins the server's host key in the run's [`HostKeys`].
pub(crate) struct Pinning {
    pub(crate) id: String,
    pub(crate) host_keys: HostKeys,
    pub(crate) seen: Arc<Mutex<Option<Pin>>>,
}

impl Pinning {
    pub(crate) fn new(id: &str, host_keys: &HostKeys) -> Pinning {
        Pinning {
            id: id.to_string(),
            host_keys: host_keys.clone(),
            seen: Arc::new(Mutex::new(None)),
        }
    }
}

/// A handshake failure: SSH's own, or a host key that does not match its pin.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Ssh(russh::Error),
    Pin(Error),
}

impl From<russh::Error> for HandshakeError {
    fn from(e: russh::Error) -> Self {
        HandshakeError::Ssh(e)
    }
}

impl client::Handler for Pinning {
    type Error = HandshakeError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = server_key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string();
        let pin = self
            .host_keys
            .check(&self.id, &fingerprint)
            .map_err(HandshakeError::Pin)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // A later attempt of the same connect sees the key as known; it is still first contact.
        if !matches!(*seen, Some(Pin::Recorded(_))) {
            *seen = Some(pin);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_contact_records_then_same_key_passes_and_other_key_fails() {
        let keys = HostKeys::new();
        assert_eq!(
            keys.check("vm-1", "SHA256:aaa").unwrap(),
            Pin::Recorded("SHA256:aaa".into())
        );
        let shared = keys.clone();
        assert_eq!(
            shared.check("vm-1", "SHA256:aaa").unwrap(),
            Pin::Known("SHA256:aaa".into())
        );
        let err = keys.check("vm-1", "SHA256:bbb").unwrap_err();
        assert!(
            matches!(&err, Error::HostKeyChanged { vm, expected, got }
                if vm == "vm-1" && expected == "SHA256:aaa" && got == "SHA256:bbb"),
            "{err:?}"
        );
        // The pin is unchanged by the refused key; other VMs are independent.
        assert_eq!(keys.get("vm-1").as_deref(), Some("SHA256:aaa"));
        assert!(matches!(
            keys.check("vm-2", "SHA256:bbb"),
            Ok(Pin::Recorded(_))
        ));
        assert_eq!(keys.snapshot().len(), 2);
    }
}
