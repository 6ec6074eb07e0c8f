//! The step after "every VM runs": configuring them. The runtime knows no SSH and no recipe;
//! the host plugs its recipe runner in here (any connector's VMs are configured the same way),
//! and the runtime keeps the run's guarantees around it: a failure fails the run like a VM in
//! the cloud's error state (cleaned up unless kept), and the run's lease is held meanwhile.

use super::plan::DeployedVm;
use std::pin::Pin;

/// A boxed future of the configuration step.
pub type ConfigureFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Configures the VMs of a run once they all run.
pub trait Configure: Send + Sync + std::fmt::Debug {
    /// Configures every VM of run `run_id`; an error (naming the VMs that failed) fails the run.
    fn configure<'a>(&'a self, run_id: &'a str, vms: &'a [DeployedVm]) -> ConfigureFuture<'a>;
}
