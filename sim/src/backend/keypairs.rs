//! Key pairs (`os-keypairs`): imported or generated public keys, by name per user.

use base64::Engine;
use rand::Rng;

use super::model::Keypair;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// A stable, colon-separated hex digest of the key: clients only compare it.
fn fingerprint(public_key: &str) -> String {
    let digest: Vec<String> = public_key
        .bytes()
        .fold([0u8; 16], |mut acc, b| {
            for (i, a) in acc.iter_mut().enumerate() {
                *a = a.wrapping_mul(31).wrapping_add(b ^ i as u8);
            }
            acc
        })
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    digest.join(":")
}

impl Core {
    /// Key pairs of a user.
    pub fn keypairs_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Keypair> + 'a {
        self.state
            .keypairs
            .iter()
            .filter(move |k| k.user_id == user)
    }

    /// Creates (imports) a key pair; 409 on a duplicate name.
    pub fn create_keypair(
        &mut self,
        user: &str,
        name: String,
        public_key: Option<String>,
    ) -> ApiResult<Keypair> {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::bad("Invalid key pair name"));
        }
        if self.keypairs_of(user).any(|k| k.name == name) {
            return Err(ApiError::Conflict(format!(
                "Key pair '{name}' already exists."
            )));
        }
        let public_key = match public_key {
            Some(k) => {
                if !(k.starts_with("ssh-") || k.starts_with("ecdsa-")) {
                    return Err(ApiError::bad("Invalid public key"));
                }
                k
            }
            None => {
                let mut rng = rand::rng();
                let bytes: Vec<u8> = (0..32).map(|_| rng.random()).collect();
                format!(
                    "ssh-ed25519 {} generated-by-okeanos-sim",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )
            }
        };
        let fingerprint = fingerprint(&public_key);
        let kp = Keypair {
            user_id: user.to_string(),
            name,
            public_key,
            fingerprint,
        };
        self.state.keypairs.push(kp.clone());
        Ok(kp)
    }

    /// Deletes a key pair (404 when unknown).
    pub fn delete_keypair(&mut self, user: &str, name: &str) -> ApiResult<()> {
        let before = self.state.keypairs.len();
        self.state
            .keypairs
            .retain(|k| !(k.user_id == user && k.name == name));
        if self.state.keypairs.len() == before {
            return Err(ApiError::not_found(format!("Key pair '{name}' not found")));
        }
        Ok(())
    }
}
