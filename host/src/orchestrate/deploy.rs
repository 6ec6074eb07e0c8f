//! Deployments: many VMs in node groups, created concurrently, tagged with one run id,
//! waited for together with one list call per poll interval, cleaned up on failure.

use super::wait::{self, Poll};
use super::{TAG_DEPLOYMENT, TAG_INDEX, TAG_NODE, TAG_RUN, tag};
use crate::bindings::types::{File, Shape, Size, Tag, Vm, VmSpec, VmState};
use crate::client::Client;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A deployment file (TOML). Unknown keys are errors naming the key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    pub name: String,
    #[serde(default)]
    pub defaults: NodeSettings,
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeSettings>,
}

/// The settings of a node group (`[[node]]`) or of `[defaults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// Node group name (only in `[[node]]`).
    pub name: Option<String>,
    /// How many VMs (only in `[[node]]`; default 1).
    pub count: Option<u32>,
    pub image: Option<String>,
    pub flavor: Option<String>,
    pub cpu: Option<u32>,
    pub ram_mb: Option<u32>,
    pub disk_gb: Option<u32>,
    /// Paths of SSH public key files (`~` is expanded).
    pub ssh_keys: Option<Vec<String>>,
    /// `LOCAL=REMOTE` pairs: local files placed on the VM.
    pub files: Option<Vec<String>>,
    pub user_data: Option<String>,
    pub user_data_file: Option<String>,
    pub volatile_disk_gb: Option<u32>,
    pub tags: Option<BTreeMap<String, String>>,
    pub project: Option<String>,
}

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

/// Reads and validates a deployment file; relative paths are relative to the file.
pub fn load(path: &Path) -> anyhow::Result<DeploymentPlan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read deployment file {}", path.display()))?;
    let file: DeploymentFile = toml::from_str(&text)
        .with_context(|| format!("invalid deployment file {}", path.display()))?;
    plan(&file, path.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("invalid deployment file {}", path.display()))
}

pub fn plan(file: &DeploymentFile, base_dir: &Path) -> anyhow::Result<DeploymentPlan> {
    if file.defaults.name.is_some() || file.defaults.count.is_some() {
        bail!("`name` and `count` belong in a [[node]] group, not in [defaults]");
    }
    if file.nodes.is_empty() {
        bail!("no [[node]] group: add at least one, e.g. [[node]] name = \"web\" count = 2");
    }
    let mut seen = std::collections::HashSet::new();
    let mut groups = Vec::new();
    for (i, node) in file.nodes.iter().enumerate() {
        let name = node
            .name
            .clone()
            .with_context(|| format!("[[node]] number {} has no `name`", i + 1))?;
        if !seen.insert(name.clone()) {
            bail!("two node groups are named `{name}`: names must be unique");
        }
        let m = merge(&file.defaults, node);
        let count = node.count.unwrap_or(1);
        if count == 0 {
            bail!("node group `{name}` has count = 0");
        }
        let spec = settings_to_spec(&m, &format!("{}-{}", file.name, name), base_dir)
            .with_context(|| format!("in node group `{name}`"))?;
        groups.push(GroupPlan { name, count, spec });
    }
    Ok(DeploymentPlan {
        name: file.name.clone(),
        groups,
    })
}

fn merge(d: &NodeSettings, n: &NodeSettings) -> NodeSettings {
    // A node's explicit size replaces the default size as a whole (a flavor in [defaults] and
    // cpu/ram in a node means the node's cpu/ram).
    let node_has_size = n.flavor.is_some() || n.cpu.is_some() || n.ram_mb.is_some();
    let size_src = if node_has_size { n } else { d };
    let mut tags = d.tags.clone().unwrap_or_default();
    tags.extend(n.tags.clone().unwrap_or_default());
    NodeSettings {
        name: n.name.clone(),
        count: n.count,
        image: n.image.clone().or_else(|| d.image.clone()),
        flavor: size_src.flavor.clone(),
        cpu: size_src.cpu,
        ram_mb: size_src.ram_mb,
        disk_gb: n.disk_gb.or(size_src.disk_gb),
        ssh_keys: n.ssh_keys.clone().or_else(|| d.ssh_keys.clone()),
        files: n.files.clone().or_else(|| d.files.clone()),
        user_data: n.user_data.clone().or_else(|| d.user_data.clone()),
        user_data_file: n
            .user_data_file
            .clone()
            .or_else(|| d.user_data_file.clone()),
        volatile_disk_gb: n.volatile_disk_gb.or(d.volatile_disk_gb),
        tags: Some(tags),
        project: n.project.clone().or_else(|| d.project.clone()),
    }
}

/// Builds a size from a flavor or a CPU/RAM(/disk) shape, with a clear error if incomplete.
pub fn size_from(
    flavor: Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
) -> anyhow::Result<Size> {
    match (flavor, cpu, ram_mb) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            bail!("give either a flavor or cpu/ram, not both")
        }
        (Some(f), None, None) => Ok(Size::Flavor(f)),
        (None, Some(cpus), Some(ram_mb)) => Ok(Size::Shape(Shape {
            cpus,
            ram_mb,
            disk_gb,
        })),
        (None, Some(_), None) => bail!("cpu is given but ram_mb is not: give both"),
        (None, None, Some(_)) => bail!("ram_mb is given but cpu is not: give both"),
        (None, None, None) => {
            bail!("no size: give a flavor (e.g. C2R2048D10ext_vlmc) or cpu and ram_mb")
        }
    }
}

fn settings_to_spec(m: &NodeSettings, vm_name: &str, base_dir: &Path) -> anyhow::Result<VmSpec> {
    let image = m
        .image
        .clone()
        .context("no image: set `image` in the group or in [defaults]")?;
    let size = size_from(m.flavor.clone(), m.cpu, m.ram_mb, m.disk_gb)?;
    let ssh_keys = m
        .ssh_keys
        .iter()
        .flatten()
        .map(|p| read_ssh_key(&resolve_path(p, base_dir)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let files = m
        .files
        .iter()
        .flatten()
        .map(|pair| read_file_pair(pair, base_dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let user_data = match (&m.user_data, &m.user_data_file) {
        (Some(_), Some(_)) => bail!("give user_data or user_data_file, not both"),
        (Some(u), None) => Some(u.clone()),
        (None, Some(f)) => {
            let p = resolve_path(f, base_dir);
            Some(
                std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read user data file {}", p.display()))?,
            )
        }
        (None, None) => None,
    };
    Ok(VmSpec {
        name: vm_name.to_string(),
        image,
        size,
        ssh_keys,
        files,
        user_data,
        volatile_disk_gb: m.volatile_disk_gb,
        tags: m.tags.iter().flatten().map(|(k, v)| tag(k, v)).collect(),
        project: m.project.clone(),
    })
}

/// Expands `~/` and makes relative paths relative to `base_dir`.
pub fn resolve_path(p: &str, base_dir: &Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let path = PathBuf::from(p);
    if path.is_absolute() {
        path
    } else {
        base_dir.join(path)
    }
}

/// Reads an SSH public key file (one or more key lines).
pub fn read_ssh_key(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read SSH public key {}", path.display()))?;
    let key = text.trim();
    if key.contains("PRIVATE KEY") {
        bail!(
            "{} is a private key: give the public one (usually the same path ending in .pub)",
            path.display()
        );
    }
    if key.is_empty() {
        bail!("SSH key file {} is empty", path.display());
    }
    Ok(key.to_string())
}

/// `LOCAL=REMOTE` → a file to place on the VM (mode 0644, owned by root).
pub fn read_file_pair(pair: &str, base_dir: &Path) -> anyhow::Result<File> {
    let (local, remote) = pair.split_once('=').with_context(|| {
        format!("`{pair}` is not LOCAL=REMOTE (e.g. ./setup.sh=/root/setup.sh)")
    })?;
    if !remote.starts_with('/') {
        bail!("the remote path in `{pair}` must be absolute (e.g. /root/setup.sh)");
    }
    let local = resolve_path(local, base_dir);
    let contents =
        std::fs::read(&local).with_context(|| format!("cannot read {}", local.display()))?;
    let mode = executable_mode(&local);
    Ok(File {
        path: remote.to_string(),
        contents,
        owner: Some("root".into()),
        group: Some("root".into()),
        mode: Some(mode),
    })
}

fn executable_mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o111 != 0
        {
            return 0o755;
        }
    }
    let _ = path;
    0o644
}

/// Progress of one node group.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GroupProgress {
    pub total: u32,
    pub created: u32,
    pub running: u32,
    pub failed: u32,
}

/// Receives progress; the CLI draws bars, the server records it for polling.
pub trait Observer: Send + Sync {
    fn phase(&self, _phase: &str) {}
    fn progress(&self, _groups: &BTreeMap<String, GroupProgress>) {}
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub concurrency: usize,
    pub poll: Poll,
    pub keep_on_failure: bool,
}

/// One VM of a deployment, with its place in it.
#[derive(Debug, Clone)]
pub struct DeployedVm {
    pub node: String,
    pub index: u32,
    pub vm: Vm,
}

#[derive(Debug, Clone)]
pub struct DeployResult {
    pub run_id: String,
    pub name: String,
    pub vms: Vec<DeployedVm>,
}

/// Runs a deployment under `run_id`. On failure everything the run created is deleted and
/// waited for (unless `keep_on_failure`), and the error says what failed.
pub async fn deploy(
    client: &Client,
    plan: &DeploymentPlan,
    run_id: &str,
    opts: &DeployOptions,
    observer: Arc<dyn Observer>,
) -> anyhow::Result<DeployResult> {
    let outcome = deploy_inner(client, plan, run_id, opts, observer.clone()).await;
    match outcome {
        Ok(r) => Ok(r),
        Err(e) if opts.keep_on_failure => Err(e.context(format!(
            "deployment {} (run {run_id}) failed; its VMs were kept as asked (`terminate --run-id {run_id}` removes them)",
            plan.name
        ))),
        Err(e) => {
            observer.phase("cleaning up");
            let cleanup = super::cleanup_run(client, run_id, opts.poll).await;
            Err(e.context(format!(
                "deployment {} (run {run_id}) failed{}",
                plan.name,
                match cleanup {
                    Ok(n) => format!("; removed the {n} VM(s) it had created"),
                    Err(c) => format!(
                        "; cleaning up ALSO FAILED ({c:#}): run `terminate --run-id {run_id}`"
                    ),
                }
            )))
        }
    }
}

async fn deploy_inner(
    client: &Client,
    plan: &DeploymentPlan,
    run_id: &str,
    opts: &DeployOptions,
    observer: Arc<dyn Observer>,
) -> anyhow::Result<DeployResult> {
    // Resolve sizes and images once per group: bad input fails before anything is created.
    observer.phase("resolving sizes and images");
    let mut specs = Vec::new();
    for g in &plan.groups {
        let flavor = client
            .resolve_size(g.spec.size.clone())
            .await
            .with_context(|| format!("node group `{}`", g.name))?;
        let image = client
            .get_image(g.spec.image.clone())
            .await
            .with_context(|| format!("node group `{}`", g.name))?;
        let mut spec = g.spec.clone();
        spec.size = Size::Flavor(flavor.id);
        spec.image = image.id;
        specs.push((g, spec));
    }

    let mut progress: BTreeMap<String, GroupProgress> = plan
        .groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                GroupProgress {
                    total: g.count,
                    ..Default::default()
                },
            )
        })
        .collect();
    observer.progress(&progress);

    // Create every VM concurrently, at most `concurrency` calls in flight.
    observer.phase("creating VMs");
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for (g, spec) in &specs {
        for index in 1..=g.count {
            let mut spec = spec.clone();
            spec.name = format!("{}-{index}", spec.name);
            spec.tags.extend([
                tag(TAG_RUN, run_id),
                tag(TAG_DEPLOYMENT, &plan.name),
                tag(TAG_NODE, &g.name),
                tag(TAG_INDEX, &index.to_string()),
            ]);
            let (client, semaphore, stop, node) = (
                client.clone(),
                semaphore.clone(),
                stop.clone(),
                g.name.clone(),
            );
            set.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("open semaphore");
                if stop.load(Ordering::SeqCst) {
                    return (node, index, None);
                }
                let name = spec.name.clone();
                let r = client.create_vm(spec).await;
                if r.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                (
                    node,
                    index,
                    Some(r.with_context(|| format!("creating VM {name}"))),
                )
            });
        }
    }
    let mut created: HashMap<String, (String, u32)> = HashMap::new();
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        let (node, index, r) = joined.context("a create task panicked")?;
        match r {
            Some(Ok(vm)) => {
                progress.get_mut(&node).expect("group").created += 1;
                observer.progress(&progress);
                created.insert(vm.id, (node, index));
            }
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }

    // Wait for all of them with one list call per interval.
    observer.phase("waiting for VMs to run");
    let tags: Vec<Tag> = vec![tag(TAG_RUN, run_id)];
    let what = format!(
        "the {} VMs of deployment {} to run",
        created.len(),
        plan.name
    );
    let vms = wait::vms_by_tags(client, &tags, opts.poll, &what, |vms| {
        let by_id: HashMap<&str, &Vm> = vms.iter().map(|v| (v.id.as_str(), v)).collect();
        for p in progress.values_mut() {
            p.running = 0;
            p.failed = 0;
        }
        let mut ready = Vec::new();
        for (id, (node, index)) in &created {
            let p = progress.get_mut(node).expect("group");
            match by_id.get(id.as_str()) {
                Some(vm) if vm.state == VmState::Running => {
                    p.running += 1;
                    ready.push(DeployedVm {
                        node: node.clone(),
                        index: *index,
                        vm: (*vm).clone(),
                    });
                }
                Some(vm) if vm.state == VmState::Failed => {
                    p.failed += 1;
                    observer.progress(&progress);
                    return Some(Err(anyhow::anyhow!(
                        "VM {} ({}) of node group `{node}` went to the cloud's error state ({})",
                        vm.name,
                        vm.id,
                        vm.cloud_status
                    )));
                }
                Some(vm) if vm.state == VmState::Terminated => {
                    return Some(Err(anyhow::anyhow!(
                        "VM {} ({}) of node group `{node}` was deleted while the deployment waited",
                        vm.name,
                        vm.id
                    )));
                }
                Some(_) => {}
                // Not listed: deleted behind our back (lists hide deleted VMs).
                None => {
                    return Some(Err(anyhow::anyhow!(
                        "VM {id} of node group `{node}` disappeared while the deployment waited"
                    )));
                }
            }
        }
        observer.progress(&progress);
        (ready.len() == created.len()).then_some(Ok(ready))
    })
    .await?;
    let mut vms = vms;
    vms.sort_by(|a, b| (&a.node, a.index).cmp(&(&b.node, b.index)));
    observer.phase("done");
    Ok(DeployResult {
        run_id: run_id.to_string(),
        name: plan.name.clone(),
        vms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<DeploymentPlan> {
        let file: DeploymentFile = toml::from_str(text)?;
        plan(&file, Path::new("."))
    }

    #[test]
    fn groups_inherit_defaults_and_override_size() {
        let p = parse(
            r#"
name = "web-app"
[defaults]
image = "CELAR-Ubuntu-14.04-LTS"
flavor = "C2R2048D10ext_vlmc"
[[node]]
name = "web"
count = 3
[[node]]
name = "db"
cpu = 4
ram_mb = 4096
volatile_disk_gb = 50
"#,
        )
        .unwrap();
        assert_eq!(p.total(), 4);
        assert_eq!(
            p.groups[0].spec.size,
            Size::Flavor("C2R2048D10ext_vlmc".into())
        );
        assert_eq!(p.groups[0].spec.image, "CELAR-Ubuntu-14.04-LTS");
        assert_eq!(
            p.groups[1].spec.size,
            Size::Shape(Shape {
                cpus: 4,
                ram_mb: 4096,
                disk_gb: None
            })
        );
        assert_eq!(p.groups[1].spec.volatile_disk_gb, Some(50));
        assert_eq!(p.groups[1].spec.name, "web-app-db");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err =
            toml::from_str::<DeploymentFile>("name = \"x\"\n[[node]]\nname = \"a\"\ncont = 2\n")
                .unwrap_err();
        assert!(err.to_string().contains("cont"), "{err}");
    }

    #[test]
    fn missing_pieces_are_explained() {
        let err = parse("name = \"x\"\n[[node]]\nname = \"a\"\nflavor = \"f\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("no image"), "{err:#}");
        let err =
            parse("name = \"x\"\n[[node]]\nname = \"a\"\nimage = \"i\"\ncpu = 2\n").unwrap_err();
        assert!(format!("{err:#}").contains("ram_mb"), "{err:#}");
        let err = parse("name = \"x\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("[[node]]"), "{err:#}");
    }
}
