//! Content digests of components: the registry skips a swap to identical bytes, the compile
//! cache names its files by them.

use sha2::{Digest, Sha256};

/// The SHA-256 of a component's bytes, hex.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
