//! The application's operations, one function each: a request (deserializable, so the HTTP
//! API takes it as JSON) in, one view (`crate::view`) out. The command line (`crate::commands`)
//! and the HTTP API (`crate::serve`) only convert their input to these requests and print or
//! send the views, so every rule — default names, size checks, key checks, result shapes —
//! lives here once.

pub mod deploy;
pub mod disks;
pub mod images;
pub mod inputs;
pub mod runs;
pub mod vms;

use crate::config::OrchestrationConfig;
use connector_runtime::client::Client;
use connector_runtime::orchestrate::wait::Poll;
use inputs::LocalFiles;
use std::sync::Arc;
use std::time::Duration;

/// What every operation works with: the connector, the orchestration defaults, and what may
/// be read from the local machine (the command line reads the user's files; the server none).
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    pub orchestration: OrchestrationConfig,
    pub local: Arc<dyn LocalFiles>,
}

impl Ctx {
    /// Waiting bounds: the configured poll interval, and `timeout` or `[orchestration] vm_timeout`.
    pub fn poll(&self, timeout: Option<Duration>) -> Poll {
        let o = &self.orchestration;
        Poll::new(o.poll_interval, timeout.unwrap_or(o.vm_timeout))
    }
}
