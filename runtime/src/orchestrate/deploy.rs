//! Deployments: many VMs in node groups, created concurrently (at most `concurrency` calls in
//! flight), tagged with one run id and each with its *slot* (node group, index), waited for
//! together with one list call per poll interval (after the first, a listing of what changed:
//! [`super::listing`]), cleaned up on failure.
//!
//! A public cloud answers 503s, drops connections and loses replies after it acted, so every
//! slot goes through a small state machine ([`super::slots`]): a create whose outcome is unclear
//! is looked up by its slot's tags in the next listing (adopted if there, created again if
//! not); a VM that goes to the cloud's error state is deleted and its slot created again while
//! the run's replacement budget lasts; at the end no slot keeps two VMs.

use super::configure::Configure;
use super::lease::{Lease, LeaseHeld};
use super::listing::Listing;
use super::slots::{Slot, SlotState, Slots};
use super::wait::Poll;
use super::{TAG_DEPLOYMENT, TAG_INDEX, TAG_NODE, TAG_RUN, tag};
use crate::bindings::types::{Flavor, Size, Vm, VmSpec};
use crate::client::Client;
use crate::error::CallError;
use crate::retry::worth_polling_again;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub use super::plan::{DeployedVm, DeploymentPlan, GroupPlan, GroupProgress};

/// Receives progress; the CLI draws bars, the server records it for polling.
pub trait Observer: Send + Sync {
    fn phase(&self, _phase: &str) {}
    fn progress(&self, _groups: &BTreeMap<String, GroupProgress>) {}
    /// `configured` VMs of node group `node` are configured (their recipe exited 0).
    fn configured(&self, _node: &str, _configured: u32) {}
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub concurrency: usize,
    pub poll: Poll,
    pub keep_on_failure: bool,
    /// VMs that went to the cloud's error state and may be replaced in one run.
    pub replace_failed: u32,
    /// Finishing a run an earlier orchestrator started: every slot is first looked up by its
    /// tags (its VM adopted), only the missing ones are created.
    pub resume: bool,
    /// How long the run's lease lasts without renewal (an orchestrator that dies holds the run
    /// this long).
    pub lease_ttl: Duration,
    /// Configures the VMs once they all run (the host's recipes); its failure fails the run.
    pub configure: Option<Arc<dyn Configure>>,
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
    // Refused before anything is created: nothing to clean up.
    let specs = run
        .resolve()
        .await
        .with_context(|| format!("deployment {} (run {run_id}) was refused", plan.name))?;
    match run.create_and_wait(specs).await {
        Ok(r) => Ok(r),
        // Another orchestrator drives the run: leave it alone.
        Err(e) if e.is::<LeaseHeld>() => Err(e),
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
    async fn create_and_wait(&self, specs: Vec<VmSpec>) -> anyhow::Result<DeployResult> {
        let mut lease = Lease::new(self.opts.lease_ttl);
        let mut slots = Slots::new(self.plan, self.opts.replace_failed, self.opts.resume);
        self.observer.progress(&slots.progress(self.plan));
        let clock = self.client.build_clock();
        let poll = self.opts.poll.expecting(clock.expected());
        let deadline = poll.deadline();
        let mut intervals = poll.intervals();
        let mut phase = "";
        let mut last_look = Instant::now();
        let mut listing = Listing::new(vec![tag(TAG_RUN, self.run_id)]);
        loop {
            if slots.any(SlotState::ToCreate) {
                self.phase(&mut phase, "creating VMs");
                self.create(&mut slots, &specs).await?;
                self.observer.progress(&slots.progress(self.plan));
                // Replacements start a new build: time the polls on it again.
                intervals = poll.intervals();
            }
            // One list call per interval for the whole run, whatever its size; after the
            // first, it carries only what changed.
            match listing.poll(self.client).await {
                Ok(vms) => {
                    lease.check(&vms)?;
                    lease.renew(self.client, &vms).await;
                    let building = slots.building();
                    let replaced = slots.reconcile(&vms)?;
                    let seen = super::wait::midpoint(last_look, Instant::now());
                    for i in building {
                        if let (SlotState::Running(_), Some(at)) =
                            (&slots[i].state, slots[i].created_at)
                        {
                            clock.observe(seen.saturating_duration_since(at));
                        }
                    }
                    last_look = Instant::now();
                    self.delete_all(&replaced).await;
                    self.observer.progress(&slots.progress(self.plan));
                    if slots.all_running() {
                        let done = match self.finish(slots, &vms).await {
                            Ok(done) => self.configure(done, &mut lease, &mut listing).await,
                            Err(e) => Err(e),
                        };
                        if done.is_ok() {
                            self.observer.phase("done");
                        }
                        lease.release(self.client).await;
                        return done;
                    }
                }
                Err(e) if worth_polling_again(&e) => {
                    tracing::warn!("listing run {}: {e}; trying again", self.run_id)
                }
                Err(e) => return Err(e).context("cannot list the run's VMs"),
            }
            self.phase(&mut phase, "waiting for VMs to run");
            let now = Instant::now();
            if now >= deadline {
                bail!(
                    "timed out after {} waiting for the {} VMs of deployment {} to run ({})",
                    humantime::format_duration(poll.timeout),
                    slots.len(),
                    self.plan.name,
                    slots.summary()
                );
            }
            let next = intervals.next().unwrap_or(poll.max_interval);
            tokio::time::sleep_until((now + next).min(deadline)).await;
        }
    }

    /// Runs the configuration step (if any) on the run's VMs, renewing the run's lease while
    /// it lasts: recipes may take far longer than a lease. Each look at the run goes on with
    /// the wait's listing: only what changed since.
    async fn configure(
        &self,
        done: DeployResult,
        lease: &mut Lease,
        listing: &mut Listing,
    ) -> anyhow::Result<DeployResult> {
        let Some(configure) = &self.opts.configure else {
            return Ok(done);
        };
        self.observer.phase("configuring VMs");
        let mut work = configure.configure(self.run_id, &done.vms);
        let renew_every = (self.opts.lease_ttl / 3).max(Duration::from_millis(100));
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                () = tokio::time::sleep(renew_every) => {
                    match listing.poll(self.client).await {
                        Ok(vms) => {
                            lease.check(&vms)?;
                            lease.renew(self.client, &vms).await;
                        }
                        Err(e) => tracing::warn!("renewing the lease of run {}: {e}", self.run_id),
                    }
                }
            }
        };
        drop(work);
        result.map(|()| done)
    }

    fn phase(&self, current: &mut &'static str, next: &'static str) {
        if *current != next {
            self.observer.phase(next);
            *current = next;
        }
    }

    /// Resolves sizes and images once per group and checks the quota: bad input, or a run
    /// that cannot fit, fails before anything is created; every create names the flavor and
    /// image by id.
    async fn resolve(&self) -> anyhow::Result<Vec<VmSpec>> {
        self.observer.phase("resolving sizes and images");
        let mut specs = Vec::new();
        let mut needs = Needs::default();
        for g in &self.plan.groups {
            let group = || format!("node group `{}`", g.name);
            let flavor = self
                .client
                .resolve_size(g.spec.size.clone())
                .await
                .with_context(group)?;
            let image = self
                .client
                .get_image(g.spec.image.clone())
                .await
                .with_context(group)?;
            needs.add(&flavor, g.spec.volatile_disk_gb, g.count);
            let mut spec = g.spec.clone();
            spec.size = Size::Flavor(flavor.id);
            spec.image = image.id;
            specs.push(spec);
        }
        // A resumed run's VMs are already counted by the cloud.
        if !self.opts.resume {
            self.check_quota(&needs).await?;
        }
        Ok(specs)
    }

    /// Refuses a run the project's remaining quota cannot hold. The check is advisory: a cloud
    /// (or connector) that cannot tell its quota lets the run go on, and quota that runs out
    /// midway (other users) fails the run and cleans up as always.
    async fn check_quota(&self, needs: &Needs) -> anyhow::Result<()> {
        let quota = match self.client.project_quota().await {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!(
                    "cannot read the project's quota ({e}); deploying without the check"
                );
                return Ok(());
            }
        };
        let short: Vec<String> = [
            (quota.vms, needs.vms, "VMs"),
            (quota.cpus, needs.cpus, "CPUs"),
            (
                quota.ram_mb.map(|m| m / 1024),
                needs.ram_mb.div_ceil(1024),
                "GiB RAM",
            ),
            (quota.disk_gb, needs.disk_gb, "GiB disk"),
        ]
        .into_iter()
        .filter_map(|(left, need, what)| {
            left.filter(|&l| l < need)
                .map(|l| format!("{l} {what} left"))
        })
        .collect();
        if short.is_empty() {
            return Ok(());
        }
        bail!(
            "needs {} VMs, {} CPUs, {} GiB RAM, {} GiB disk; project {} has {}: nothing was created",
            needs.vms,
            needs.cpus,
            needs.ram_mb.div_ceil(1024),
            needs.disk_gb,
            quota.project,
            short.join(", ")
        )
    }

    /// The spec of one slot's VM: its name and the tags that name its slot.
    fn slot_spec(&self, specs: &[VmSpec], slot: &Slot) -> VmSpec {
        let group = &self.plan.groups[slot.group];
        let mut spec = specs[slot.group].clone();
        spec.name = format!("{}-{}", spec.name, slot.index);
        spec.tags.extend([
            tag(TAG_RUN, self.run_id),
            tag(TAG_DEPLOYMENT, &self.plan.name),
            tag(TAG_NODE, &group.name),
            tag(TAG_INDEX, &slot.index.to_string()),
        ]);
        spec
    }

    /// Creates the VM of every slot that needs one, at most `concurrency` calls in flight; the
    /// tasks are started as earlier ones finish, so a run never holds more than that much work.
    /// An unclear outcome leaves the slot to be looked up; a refusal ends the run.
    async fn create(&self, slots: &mut Slots, specs: &[VmSpec]) -> anyhow::Result<()> {
        let mut pending = slots.take_to_create().into_iter();
        let mut set = tokio::task::JoinSet::new();
        let mut refused: Option<anyhow::Error> = None;
        loop {
            while refused.is_none() && set.len() < self.opts.concurrency.max(1) {
                let Some(i) = pending.next() else { break };
                let spec = self.slot_spec(specs, &slots[i]);
                let client = self.client.clone();
                set.spawn(async move {
                    let name = spec.name.clone();
                    (i, name, client.create_vm(spec).await)
                });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let (i, name, result) = joined.context("a create task panicked")?;
            match result {
                Ok(vm) => {
                    slots[i].state = SlotState::Created(vm.id);
                    slots[i].created_at = Some(Instant::now());
                }
                Err(e) if unclear(&e) => {
                    tracing::debug!("creating VM {name}: {e}; looking it up by its slot");
                    slots[i].state = SlotState::Unclear;
                }
                Err(e) => {
                    slots[i].state = SlotState::ToCreate;
                    refused.get_or_insert(
                        anyhow::Error::new(e).context(format!("creating VM {name}")),
                    );
                }
            }
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Deletes VMs the run no longer wants (failed, or a slot's second VM), not waiting.
    async fn delete_all(&self, ids: &[String]) {
        for id in ids {
            if let Err(e) = self.client.delete_vm(id.clone()).await
                && !e.is_not_found()
            {
                tracing::warn!("deleting VM {id} of run {}: {e}", self.run_id);
            }
        }
    }

    /// Every slot runs: a slot that the cloud shows twice keeps its own VM and loses the
    /// other, and VMs being deleted are waited for, so the run ends with exactly its VMs.
    async fn finish(&self, slots: Slots, vms: &[Vm]) -> anyhow::Result<DeployResult> {
        let extra = slots.extras(vms);
        for vm in &extra {
            tracing::warn!(
                "run {}: VM {} ({}) is a second VM of its slot: deleting it",
                self.run_id,
                vm.name,
                vm.id
            );
        }
        let ids: Vec<String> = extra.iter().map(|v| v.id.clone()).collect();
        self.delete_all(&ids).await;
        let mut leaving = slots.replaced().to_vec();
        leaving.extend(ids);
        let tags = [tag(TAG_RUN, self.run_id)];
        super::terminate_many(self.client, &leaving, &tags, self.opts.poll).await?;
        let mut vms: Vec<DeployedVm> = slots
            .into_running()
            .map(|(group, index, vm)| DeployedVm {
                node: self.plan.groups[group].name.clone(),
                index,
                vm,
            })
            .collect();
        vms.sort_by(|a, b| (&a.node, a.index).cmp(&(&b.node, b.index)));
        Ok(DeployResult {
            run_id: self.run_id.to_string(),
            name: self.plan.name.clone(),
            vms,
        })
    }
}

/// What a whole run takes from the project's quota.
#[derive(Debug, Default)]
struct Needs {
    vms: u64,
    cpus: u64,
    ram_mb: u64,
    disk_gb: u64,
}

impl Needs {
    fn add(&mut self, flavor: &Flavor, volatile_disk_gb: Option<u32>, count: u32) {
        let n = u64::from(count);
        self.vms += n;
        self.cpus += n * u64::from(flavor.cpus);
        self.ram_mb += n * u64::from(flavor.ram_mb);
        self.disk_gb += n * (u64::from(flavor.disk_gb) + u64::from(volatile_disk_gb.unwrap_or(0)));
    }
}

/// A create whose outcome is unknown: the cloud may have acted before the answer was lost.
fn unclear(e: &CallError) -> bool {
    worth_polling_again(e)
}
