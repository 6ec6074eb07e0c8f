//! `wasi:keyvalue/store` over a map shared by every call of one connector.
//!
//! The connector keeps its identity catalog here so that it authenticates once, not on
//! every call. wasmtime-wasi-keyvalue's store copies its data into each `Store`, so writes
//! would vanish with the call; this one writes through to the connector's [`SharedKv`].
//! Buckets are namespaces inside the map; the map is dropped when the connector is replaced.

use crate::bindings::keyvalue_store::{self as store, KeyResponse};
use crate::bindings::{Bucket, KvError};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use wasmtime::component::{HasData, Resource, ResourceTable};

/// At most this many keys per bucket, and this many bytes per value: a guest cannot use the
/// host's memory without bound through this capability.
const MAX_KEYS: usize = 1024;
const MAX_VALUE_BYTES: usize = 1 << 20;

/// Bucket name → (key → value).
type Buckets = HashMap<String, BTreeMap<String, Vec<u8>>>;

/// The data of one connector, shared by all its calls.
#[derive(Clone, Default)]
pub struct SharedKv(Arc<Mutex<Buckets>>);

/// What the generated host traits are implemented on.
pub struct KvView<'a> {
    pub table: &'a mut ResourceTable,
    pub data: &'a SharedKv,
}

/// Marker tying the linker to [`KvView`].
pub struct HasKv;
impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

impl KvView<'_> {
    fn with_bucket<R>(
        &mut self,
        bucket: &Resource<Bucket>,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R,
    ) -> Result<R, KvError> {
        let name = &self.table.get(bucket)?.name;
        let mut map = self.data.0.lock();
        Ok(f(map.entry(name.clone()).or_default()))
    }
}

impl store::Host for KvView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, KvError> {
        Ok(self.table.push(Bucket { name: identifier })?)
    }

    fn convert_error(&mut self, err: KvError) -> wasmtime::Result<store::Error> {
        Ok(match err {
            KvError::Other(msg) => store::Error::Other(msg),
        })
    }
}

impl store::HostBucket for KvView<'_> {
    fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>, KvError> {
        self.with_bucket(&bucket, |m| m.get(&key).cloned())
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), KvError> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::Other(format!(
                "value of {} bytes is over the host's limit of {MAX_VALUE_BYTES}",
                value.len()
            )));
        }
        self.with_bucket(&bucket, |m| {
            if m.len() >= MAX_KEYS && !m.contains_key(&key) {
                return Err(KvError::Other(format!("bucket is full ({MAX_KEYS} keys)")));
            }
            m.insert(key, value);
            Ok(())
        })?
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), KvError> {
        self.with_bucket(&bucket, |m| {
            m.remove(&key);
        })
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, KvError> {
        self.with_bucket(&bucket, |m| m.contains_key(&key))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        _cursor: Option<u64>,
    ) -> Result<KeyResponse, KvError> {
        let keys = self.with_bucket(&bucket, |m| m.keys().cloned().collect())?;
        Ok(KeyResponse { keys, cursor: None })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

/// Adds `wasi:keyvalue/store` to a linker.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasKv>(linker, get)
}
