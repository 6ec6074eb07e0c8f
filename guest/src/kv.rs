//! The session cache (catalog, flavors, image records) over wasi:keyvalue. Any failure just
//! means "no cache".

use crate::bindings::wasi::keyvalue::store::{self, Bucket};
use crate::client::Cache;

/// The bucket the host must provide (if it provides none, every call authenticates).
pub const BUCKET: &str = "okeanos-connector";

pub struct KeyValueCache {
    bucket: Option<Bucket>,
}

impl KeyValueCache {
    pub fn open() -> KeyValueCache {
        KeyValueCache {
            bucket: store::open(BUCKET).ok(),
        }
    }
}

impl Cache for KeyValueCache {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.bucket.as_ref()?.get(key).ok().flatten()
    }

    fn set(&mut self, key: &str, value: &[u8]) {
        if let Some(b) = &self.bucket {
            let _ = b.set(key, value);
        }
    }

    fn delete(&mut self, key: &str) {
        if let Some(b) = &self.bucket {
            let _ = b.delete(key);
        }
    }
}
