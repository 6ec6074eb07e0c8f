//! What a deployment run works from and reports: its plan (node groups with their VM spec)
//! and the progress of each group. Shared by the run ([`super::deploy`]) and its slots.

use crate::bindings::types::{Vm, VmSpec};

/// One node group, resolved: every VM of it gets this spec (plus its own name and tags).
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub name: String,
    pub count: u32,
    pub spec: VmSpec,
}

/// A whole deployment, validated and with local files read.
#[derive(Debug, Clone)]
pub struct DeploymentPlan {
    pub name: String,
    pub groups: Vec<GroupPlan>,
}

impl DeploymentPlan {
    pub fn total(&self) -> u32 {
        self.groups.iter().map(|g| g.count).sum()
    }
}
/// Progress of one node group.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GroupProgress {
    pub total: u32,
    pub created: u32,
    pub running: u32,
    pub failed: u32,
    /// VMs whose configuration (the host's recipe) is done.
    pub configured: u32,
}

/// One VM of a deployment, with its place in it.
#[derive(Debug, Clone)]
pub struct DeployedVm {
    pub node: String,
    pub index: u32,
    pub vm: Vm,
}
