//! What users see: JSON shapes (stable, documented in the README) and text tables.

use connector_runtime::bindings::types::{Disk, Flavor, Image, Vm};
use connector_runtime::orchestrate::wait::{disk_state_name, image_state_name, state_name};
use connector_runtime::orchestrate::{TAG_INDEX, TAG_NODE, TAG_RUN};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct VmView {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub flavor: String,
    pub image: String,
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskView>>,
    /// How its recipe went, when it ran one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<crate::recipes::RecipeReport>,
}

impl VmView {
    pub fn new(vm: &Vm) -> Self {
        VmView {
            id: vm.id.clone(),
            name: vm.name.clone(),
            state: state_name(vm.state),
            ipv4: vm.ipv4.clone(),
            ipv6: vm.ipv6.clone(),
            flavor: vm.flavor.clone(),
            image: vm.image.clone(),
            tags: vm
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            disks: None,
            recipe: None,
        }
    }

    pub fn with_disks(mut self, disks: &[Disk]) -> Self {
        self.disks = Some(disks.iter().map(DiskView::new).collect());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskView {
    pub id: String,
    pub name: String,
    pub size_gb: u32,
    pub state: &'static str,
    pub vm_id: Option<String>,
    pub device_index: Option<u32>,
    pub delete_on_termination: bool,
}

impl DiskView {
    pub fn new(d: &Disk) -> Self {
        DiskView {
            id: d.id.clone(),
            name: d.name.clone(),
            size_gb: d.size_gb,
            state: disk_state_name(d.state),
            vm_id: d.vm_id.clone(),
            device_index: d.device_index,
            delete_on_termination: d.delete_on_termination,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FlavorView {
    pub id: String,
    pub name: String,
    pub cpus: u32,
    pub ram_mb: u32,
    pub disk_gb: u32,
    pub disk_template: String,
    pub allow_create: bool,
}

impl FlavorView {
    pub fn new(f: &Flavor) -> Self {
        FlavorView {
            id: f.id.clone(),
            name: f.name.clone(),
            cpus: f.cpus,
            ram_mb: f.ram_mb,
            disk_gb: f.disk_gb,
            disk_template: f.disk_template.clone(),
            allow_create: f.allow_create,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageView {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub os: Option<String>,
    pub users: Option<String>,
    pub public: bool,
    pub is_snapshot: bool,
    pub size_bytes: Option<u64>,
}

impl ImageView {
    pub fn new(i: &Image) -> Self {
        ImageView {
            id: i.id.clone(),
            name: i.name.clone(),
            state: image_state_name(i.state),
            os: i.os.clone(),
            users: i.users.clone(),
            public: i.public,
            is_snapshot: i.is_snapshot,
            size_bytes: i.size_bytes,
        }
    }
}

/// A plain text table: columns padded to the widest cell.
/// A VM of a deployment, with its node group and index (from its tags).
#[derive(Debug, Clone, Serialize)]
pub struct DeployedVmView {
    #[serde(flatten)]
    pub vm: VmView,
    pub node: Option<String>,
    pub index: Option<u32>,
}

impl DeployedVmView {
    pub fn new(vm: VmView) -> Self {
        DeployedVmView {
            node: vm.tags.get(TAG_NODE).cloned(),
            index: vm.tags.get(TAG_INDEX).and_then(|i| i.parse().ok()),
            vm,
        }
    }
}

/// A run as the cloud's tags show it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub run_id: String,
    /// The deployment it runs (none for run-image).
    pub deployment: Option<String>,
    pub vms: usize,
    /// VMs per state.
    pub states: BTreeMap<&'static str, usize>,
    /// When its oldest VM was created.
    pub created: String,
    /// Seconds since then.
    pub age_s: Option<u64>,
}

/// A finished deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentView {
    pub run_id: String,
    pub name: String,
    pub vms: Vec<DeployedVmView>,
}

/// The outcome of a resize.
#[derive(Debug, Clone, Serialize)]
pub struct ResizeView {
    /// False when the VM already had the size.
    pub changed: bool,
    pub vm: VmView,
}

/// An action the cloud accepted (and carries out on its own).
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    pub vm: String,
    pub action: &'static str,
    pub accepted: bool,
}

impl ActionView {
    pub fn accepted(vm: &str, action: &'static str) -> Self {
        ActionView {
            vm: vm.to_string(),
            action,
            accepted: true,
        }
    }
}

/// VMs deleted.
#[derive(Debug, Clone, Serialize)]
pub struct TerminatedView {
    pub terminated: Vec<String>,
    /// Whether the deletes were waited for (or only accepted).
    #[serde(skip)]
    pub waited: bool,
}

/// A text table: one row per item, columns padded to their widest cell.
pub fn table<T>(headers: &[&str], items: &[T], row: impl Fn(&T) -> Vec<String>) -> String {
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for cells in &rows {
        for (i, cell) in cells.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(headers.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.into_iter().map(line));
    out.join("\n")
}

pub fn vm_rows(vms: &[VmView]) -> String {
    let headers = [
        "ID", "NAME", "STATE", "IPV4", "IPV6", "FLAVOR", "RUN", "NODE",
    ];
    table(&headers, vms, |v| {
        vec![
            v.id.clone(),
            v.name.clone(),
            v.state.to_string(),
            v.ipv4.join(","),
            v.ipv6.join(","),
            v.flavor.clone(),
            v.tags.get(TAG_RUN).cloned().unwrap_or_default(),
            match (v.tags.get(TAG_NODE), v.tags.get(TAG_INDEX)) {
                (Some(n), Some(i)) => format!("{n}/{i}"),
                _ => String::new(),
            },
        ]
    })
}

pub fn vm_detail(v: &VmView) -> String {
    let mut lines = vec![
        format!("id:      {}", v.id),
        format!("name:    {}", v.name),
        format!("state:   {}", v.state),
        format!("ipv4:    {}", v.ipv4.join(", ")),
        format!("ipv6:    {}", v.ipv6.join(", ")),
        format!("flavor:  {}", v.flavor),
        format!("image:   {}", v.image),
    ];
    if !v.tags.is_empty() {
        lines.push("tags:".into());
        lines.extend(v.tags.iter().map(|(k, val)| format!("  {k} = {val}")));
    }
    if let Some(disks) = &v.disks {
        lines.push("disks:".into());
        lines.extend(disks.iter().map(|d| {
            format!(
                "  {}  {} GB  {}{}{}",
                d.id,
                d.size_gb,
                d.state,
                d.device_index
                    .map(|i| format!("  index {i}"))
                    .unwrap_or_default(),
                if d.delete_on_termination {
                    "  (deleted with the VM)"
                } else {
                    ""
                }
            )
        }));
    }
    lines.join("\n")
}
