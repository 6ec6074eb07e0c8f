//! `connector-host` runs cloud connectors — WebAssembly components implementing the
//! `slipstream:connector/cloud-connector` world — in a wasmtime sandbox, and orchestrates
//! VMs through them (waiting with deadlines, deployments, cleanup).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use connector_host::{runtime::{Runtime, EngineSettings}, client::Client};
//! let runtime = Runtime::new(EngineSettings::default())?;
//! let connector = runtime.load(connector_host::OKEANOS_COMPONENT, todo!("a ConnectorSpec"))?;
//! let flavors = Client::new(connector).list_flavors().await?;
//! # Ok(()) }
//! ```

pub mod admin_client;
pub mod bindings;
pub mod cache;
pub mod cli;
pub mod client;
pub mod config;
pub mod egress;
pub mod error;
pub mod http_client;
pub mod keyvalue;
pub mod metrics;
pub mod orchestrate;
pub mod policy;
pub mod registry;
pub mod runtime;
pub mod serve;
pub mod setup;
pub mod state;
pub mod view;

/// The ~Okeanos connector component, built from `guest/` by the build script.
pub static OKEANOS_COMPONENT: &[u8] = include_bytes!(env!("OKEANOS_COMPONENT_PATH"));
