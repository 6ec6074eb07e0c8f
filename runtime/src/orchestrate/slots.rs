//! The slots of a deployment run: one per VM the run must end with (node group × index), each
//! with the state of its VM as far as the run knows. The cloud's listing of the run (by its run
//! tag) is the truth the slots are reconciled against, once per poll interval.

use super::plan::{DeploymentPlan, GroupProgress};
use super::wait::{cloud_reason, state_name};
use super::{TAG_INDEX, TAG_NODE};
use crate::bindings::types::{Vm, VmState};
use anyhow::bail;
use std::collections::{BTreeMap, HashMap};

/// Where a slot stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotState {
    /// No VM yet (or its VM failed and was replaced): create one.
    ToCreate,
    /// A create whose answer never came: the next listing tells whether it happened.
    Unclear,
    /// Its VM exists and is not running yet.
    Created(String),
    Running(Box<Vm>),
}

#[derive(Debug, Clone)]
pub struct Slot {
    /// Index of the node group in the plan.
    pub group: usize,
    /// 1-based, as in the VM's name and `slipstream.index` tag.
    pub index: u32,
    pub state: SlotState,
    /// When this run's create of the slot's VM returned (how long its build took is learned).
    pub created_at: Option<tokio::time::Instant>,
}

impl Slot {
    fn vm_id(&self) -> Option<&str> {
        match &self.state {
            SlotState::Created(id) => Some(id),
            SlotState::Running(vm) => Some(&vm.id),
            _ => None,
        }
    }
}

/// Every slot of a run, the run's replacement budget, and what it has deleted.
pub struct Slots {
    slots: Vec<Slot>,
    groups: Vec<String>,
    replace_left: u32,
    /// VMs the run deleted because they failed.
    replaced: Vec<String>,
    /// Every VM that went to the cloud's error state, described.
    failures: Vec<(usize, String)>,
}

impl std::ops::Index<usize> for Slots {
    type Output = Slot;
    fn index(&self, i: usize) -> &Slot {
        &self.slots[i]
    }
}

impl std::ops::IndexMut<usize> for Slots {
    fn index_mut(&mut self, i: usize) -> &mut Slot {
        &mut self.slots[i]
    }
}

impl Slots {
    /// One slot per VM of the plan; when resuming, each starts by being looked up.
    pub fn new(plan: &DeploymentPlan, replace_failed: u32, resume: bool) -> Self {
        let start = if resume {
            SlotState::Unclear
        } else {
            SlotState::ToCreate
        };
        let slots = plan
            .groups
            .iter()
            .enumerate()
            .flat_map(|(group, g)| {
                let start = start.clone();
                (1..=g.count).map(move |index| Slot {
                    group,
                    index,
                    state: start.clone(),
                    created_at: None,
                })
            })
            .collect();
        Slots {
            slots,
            groups: plan.groups.iter().map(|g| g.name.clone()).collect(),
            replace_left: replace_failed,
            replaced: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn any(&self, state: SlotState) -> bool {
        self.slots.iter().any(|s| s.state == state)
    }

    pub fn all_running(&self) -> bool {
        self.slots
            .iter()
            .all(|s| matches!(s.state, SlotState::Running(_)))
    }

    /// The slots whose VM exists and does not run yet.
    pub fn building(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| matches!(self.slots[i].state, SlotState::Created(_)))
            .collect()
    }

    /// The slots that need a create.
    pub fn take_to_create(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].state == SlotState::ToCreate)
            .collect()
    }

    /// VMs the run deleted because they failed.
    pub fn replaced(&self) -> &[String] {
        &self.replaced
    }

    /// Brings every slot up to date with a listing of the run. Returns the VMs to delete (failed
    /// ones being replaced); fails when a VM fails beyond the replacement budget, or vanishes.
    pub fn reconcile(&mut self, vms: &[Vm]) -> anyhow::Result<Vec<String>> {
        let by_id: HashMap<&str, &Vm> = vms.iter().map(|v| (v.id.as_str(), v)).collect();
        let by_slot = self.by_slot(vms);
        let mut delete = Vec::new();
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let node = &self.groups[slot.group];
            let next = match &slot.state {
                SlotState::ToCreate => continue,
                SlotState::Unclear => {
                    // Adopt what the lost create made, a working VM first; else create again.
                    let found = by_slot.get(&(node.as_str(), slot.index)).and_then(|found| {
                        found
                            .iter()
                            .find(|v| v.state != VmState::Failed)
                            .or(found.first())
                    });
                    match found {
                        Some(vm) => SlotState::Created(vm.id.clone()),
                        None => SlotState::ToCreate,
                    }
                }
                SlotState::Created(_) | SlotState::Running(_) => {
                    let id = slot.vm_id().expect("a slot with a VM").to_string();
                    match by_id.get(id.as_str()) {
                        Some(vm) if vm.state == VmState::Running => {
                            SlotState::Running(Box::new((*vm).clone()))
                        }
                        Some(vm) if vm.state == VmState::Failed => {
                            self.failures.push((
                                slot.group,
                                format!(
                                    "VM {} ({}) of node group `{node}` went to the cloud's error state ({})",
                                    vm.name,
                                    vm.id,
                                    cloud_reason(vm)
                                ),
                            ));
                            if self.replace_left == 0 {
                                let all: Vec<&str> =
                                    self.failures.iter().map(|(_, f)| f.as_str()).collect();
                                bail!("{}", all.join("; "));
                            }
                            self.replace_left -= 1;
                            tracing::warn!(
                                "{}: replacing it",
                                self.failures.last().expect("pushed").1
                            );
                            self.replaced.push(vm.id.clone());
                            delete.push(vm.id.clone());
                            SlotState::ToCreate
                        }
                        Some(vm) if vm.state == VmState::Terminated => bail!(
                            "VM {} ({}) of node group `{node}` was deleted while the deployment waited",
                            vm.name,
                            vm.id
                        ),
                        Some(_) => SlotState::Created(id.clone()),
                        // Lists hide deleted VMs: deleted behind the run's back.
                        None => bail!(
                            "VM {id} of node group `{node}` disappeared while the deployment waited"
                        ),
                    }
                }
            };
            self.slots[i].state = next;
        }
        Ok(delete)
    }

    /// The run's VMs by the slot their tags name (deleted ones left out).
    fn by_slot<'v>(&self, vms: &'v [Vm]) -> HashMap<(&'v str, u32), Vec<&'v Vm>> {
        let mut by_slot: HashMap<(&str, u32), Vec<&Vm>> = HashMap::new();
        for vm in vms.iter().filter(|v| v.state != VmState::Terminated) {
            let tag = |k: &str| {
                vm.tags
                    .iter()
                    .find(|t| t.key == k)
                    .map(|t| t.value.as_str())
            };
            if let (Some(node), Some(Ok(index))) = (tag(TAG_NODE), tag(TAG_INDEX).map(str::parse)) {
                by_slot.entry((node, index)).or_default().push(vm);
            }
        }
        by_slot
    }

    /// VMs of the run's slots that are not the slot's own VM (a create that happened twice),
    /// leaving out the failed ones already being deleted.
    pub fn extras(&self, vms: &[Vm]) -> Vec<Vm> {
        let own: std::collections::HashSet<&str> =
            self.slots.iter().filter_map(Slot::vm_id).collect();
        self.by_slot(vms)
            .into_values()
            .flatten()
            .filter(|v| !own.contains(v.id.as_str()) && !self.replaced.contains(&v.id))
            .cloned()
            .collect()
    }

    /// Per node group: how many VMs exist, run, and failed.
    pub fn progress(&self, plan: &DeploymentPlan) -> BTreeMap<String, GroupProgress> {
        let mut progress: BTreeMap<String, GroupProgress> = plan
            .groups
            .iter()
            .map(|g| {
                let p = GroupProgress {
                    total: g.count,
                    ..Default::default()
                };
                (g.name.clone(), p)
            })
            .collect();
        for slot in &self.slots {
            let p = progress.get_mut(&self.groups[slot.group]).expect("group");
            match slot.state {
                SlotState::Created(_) => p.created += 1,
                SlotState::Running(_) => {
                    p.created += 1;
                    p.running += 1;
                }
                _ => {}
            }
        }
        for (group, _) in &self.failures {
            progress
                .get_mut(&self.groups[*group])
                .expect("group")
                .failed += 1;
        }
        progress
    }

    /// Where the slots stand, for a timeout's message.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for slot in &self.slots {
            let what = match &slot.state {
                SlotState::ToCreate => "to create",
                SlotState::Unclear => "being looked up",
                SlotState::Created(_) => "not running yet",
                SlotState::Running(vm) => state_name(vm.state),
            };
            *counts.entry(what).or_default() += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        parts.join(", ")
    }

    /// The running VMs, with their group and index.
    pub fn into_running(self) -> impl Iterator<Item = (usize, u32, Vm)> {
        self.slots.into_iter().filter_map(|s| match s.state {
            SlotState::Running(vm) => Some((s.group, s.index, *vm)),
            _ => None,
        })
    }
}
