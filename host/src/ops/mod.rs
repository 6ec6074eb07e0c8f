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
    /// Recipes over SSH (shared by every run of the process).
    pub ssh: Arc<crate::recipes::SshContext>,
}

impl Ctx {
    /// Waiting bounds: the configured poll interval, and `timeout` or `[orchestration] vm_timeout`.
    pub fn poll(&self, timeout: Option<Duration>) -> Poll {
        let o = &self.orchestration;
        Poll::new(o.poll_interval, timeout.unwrap_or(o.vm_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::images::BuildImageRequest;
    use super::vms::{ResizeRequest, RunImageRequest};
    use std::time::Duration;

    #[test]
    fn requests_take_flat_json_and_name_unknown_fields() {
        let run: RunImageRequest = serde_json::from_str(
            r#"{"image": "i", "cpu": 2, "ram_mb": 2048, "files": [{"path": "/a", "contents": "x"}], "timeout": "5m"}"#,
        )
        .unwrap();
        assert_eq!(run.size.cpu, Some(2));
        assert_eq!(run.timeout, Some(Duration::from_secs(300)));
        assert_eq!(run.vm().inputs.files.len(), 1);
        let err =
            serde_json::from_str::<RunImageRequest>(r#"{"image": "i", "flavr": "f"}"#).unwrap_err();
        assert!(err.to_string().contains("flavr"), "{err}");
        let resize: ResizeRequest = serde_json::from_str(r#"{"flavor": "f"}"#).unwrap();
        assert_eq!(resize.size.flavor.as_deref(), Some("f"));
        assert!(serde_json::from_str::<ResizeRequest>(r#"{"flavor": "f", "x": 1}"#).is_err());
        let build: BuildImageRequest =
            serde_json::from_str(r#"{"image": "i", "flavor": "f", "name": "n"}"#).unwrap();
        assert_eq!(build.size.flavor.as_deref(), Some("f"));
        assert!(
            serde_json::from_str::<BuildImageRequest>(r#"{"image": "i", "name": "n", "y": 1}"#)
                .is_err()
        );
    }
}
