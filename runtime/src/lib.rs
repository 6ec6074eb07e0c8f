//! `connector-runtime` runs cloud connectors — WebAssembly components implementing the
//! `slipstream:connector/cloud-connector` world — in a wasmtime sandbox, and orchestrates VMs
//! through them (waiting with deadlines, deployments, cleanup). It knows no particular cloud:
//! the connector component knows its cloud's API, this crate knows how to run connectors safely.
//!
//! ```no_run
//! # async fn demo(component: &[u8]) -> anyhow::Result<()> {
//! use connector_runtime::client::Client;
//! use connector_runtime::engine::{ConnectorSpec, EngineSettings, Runtime};
//! use connector_runtime::policy::{EgressPolicy, Limits};
//! let runtime = Runtime::new(EngineSettings::default())?;
//! let spec = ConnectorSpec {
//!     name: "okeanos".into(),
//!     config: [
//!         ("auth_url".to_string(), "https://accounts.okeanos.grnet.gr/identity/v2.0".to_string()),
//!         ("token".to_string(), std::env::var("OKEANOS_TOKEN")?),
//!     ]
//!     .into(),
//!     secret_keys: vec!["token".into()],
//!     egress: EgressPolicy::parse(&["https://accounts.okeanos.grnet.gr", "https://*.okeanos.grnet.gr"])?,
//!     tls: Default::default(),
//!     limits: Limits::default(),
//! };
//! let client = Client::new(runtime.load(component, spec)?);
//! for flavor in client.list_flavors().await? {
//!     println!("{} {} CPUs {} MiB", flavor.name, flavor.cpus, flavor.ram_mb);
//! }
//! # Ok(()) }
//! ```

pub mod admission;
pub mod bindings;
pub mod build_clock;
pub mod cache;
pub mod client;
pub mod digest;
pub mod egress;
pub mod engine;
pub mod error;
mod exports;
pub mod http_client;
pub mod keyvalue;
pub mod metrics;
pub mod orchestrate;
pub mod policy;
pub mod registry;
pub mod retry;
pub mod state;
mod warm;
