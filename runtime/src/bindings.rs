//! Host-side bindings of the `cloud-connector` world.
//!
//! wasi:http, wasi:io and wasi:clocks come from wasmtime's own crates (`with`), so the
//! linker's implementations and these types are the same. wasi:keyvalue is implemented by
//! [`crate::keyvalue`]; wasi:config by `wasmtime-wasi-config`.

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "slipstream:connector/cloud-connector",
        imports: { default: trappable },
        exports: { default: async },
        additional_derives: [PartialEq],
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:keyvalue/store.bucket": crate::bindings::Bucket,
        },
        trappable_error_type: {
            "wasi:keyvalue/store.error" => crate::bindings::KvError,
        },
    });
}

pub use generated::slipstream::connector::types;
pub use generated::wasi::keyvalue::store as keyvalue_store;
pub use generated::{CloudConnector, CloudConnectorPre};

/// The host's side of a wasi:keyvalue bucket resource: just its name (the data is in
/// [`crate::keyvalue`]'s shared map).
pub struct Bucket {
    pub(crate) name: String,
}

/// The guest-visible error of wasi:keyvalue.
pub enum KvError {
    Other(String),
}

impl From<wasmtime::component::ResourceTableError> for KvError {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        KvError::Other(e.to_string())
    }
}
