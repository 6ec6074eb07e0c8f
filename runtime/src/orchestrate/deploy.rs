//! Deployments: many VMs in node groups, created concurrently, tagged with one run id,
//! waited for together with one list call per poll interval, cleaned up on failure.

use super::wait::{self, Poll};
use super::{TAG_DEPLOYMENT, TAG_INDEX, TAG_NODE, TAG_RUN, tag};
use crate::bindings::types::{Size, Tag, Vm, VmSpec, VmState};
use crate::client::Client;
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    let run = Run {
        client,
        plan,
        run_id,
        opts,
        observer: observer.clone(),
    };
    match run.create_and_wait().await {
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

/// One run of a deployment.
struct Run<'a> {
    client: &'a Client,
    plan: &'a DeploymentPlan,
    run_id: &'a str,
    opts: &'a DeployOptions,
    observer: Arc<dyn Observer>,
}

impl Run<'_> {
    async fn create_and_wait(&self) -> anyhow::Result<DeployResult> {
        let Run {
            client,
            plan,
            run_id,
            opts,
            observer,
        } = self;
        let (client, plan, run_id, opts) = (*client, *plan, *run_id, *opts);
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
}
