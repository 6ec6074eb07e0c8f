//! The workspace's WebAssembly components, built for `wasm32-wasip2` by this crate's build
//! script and embedded as bytes, so a binary that uses them needs no other file.
//!
//! One crate builds them all (like wasmtime's `test-programs/artifacts`): the product's
//! ~Okeanos connector always, the test-only components behind the `test-components` feature.
//!
//! ```
//! // Every component starts with the wasm magic number.
//! assert_eq!(&connector_artifacts::OKEANOS_CONNECTOR[..4], b"\0asm");
//! ```
#![deny(missing_docs)]

/// The ~Okeanos connector component, built from `guest/` (or the file named by
/// `OKEANOS_CONNECTOR_WASM` at build time).
pub static OKEANOS_CONNECTOR: &[u8] = include_bytes!(env!("OKEANOS_COMPONENT_PATH"));

/// A connector that misbehaves on demand (wasi:config key `mode`: loop, alloc, panic, …), for
/// the sandbox tests. Built from `artifacts/misbehaving/`, its own workspace.
#[cfg(feature = "test-components")]
pub static MISBEHAVING_CONNECTOR: &[u8] = include_bytes!(env!("MISBEHAVING_COMPONENT_PATH"));

#[cfg(test)]
mod tests {
    /// The size budget of the connector: every host that loads it downloads, compiles and
    /// caches it (issue #12: at most 400 KiB). A prebuilt `OKEANOS_CONNECTOR_WASM` is the
    /// builder's business.
    #[test]
    fn the_okeanos_connector_stays_within_400_kib() {
        if std::env::var_os("OKEANOS_CONNECTOR_WASM").is_some() {
            return;
        }
        let size = super::OKEANOS_CONNECTOR.len();
        assert!(
            size <= 400 * 1024,
            "the okeanos component is {size} bytes, over its 400 KiB budget: look for new \
             `{{:?}}` formatting, derived Deserialize impls or generic code in guest/"
        );
    }
}
