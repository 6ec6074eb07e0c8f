//! `connector-host` runs cloud connectors — WebAssembly components implementing the
//! `slipstream:connector/cloud-connector` world — in a wasmtime sandbox, and orchestrates
//! VMs through them (waiting with deadlines, deployments, cleanup).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use connector_host::client::Client;
//! use connector_host::policy::{EgressPolicy, Limits};
//! use connector_host::runtime::{ConnectorSpec, EngineSettings, Runtime};
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
//! let client = Client::new(runtime.load(connector_host::OKEANOS_COMPONENT, spec)?);
//! for flavor in client.list_flavors().await? {
//!     println!("{} {} CPUs {} MiB", flavor.name, flavor.cpus, flavor.ram_mb);
//! }
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
