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
