//! VMs: run one from an image, list, describe, terminate, power actions, resize.

use super::Ctx;
use super::inputs::{LocalFiles, SizeRequest, VmInputs};
use crate::recipes::{RecipeFields, RecipeRun};
use crate::view::{ActionView, ResizeView, TerminatedView, VmView};
use anyhow::{Context, bail};
use connector_runtime::bindings::types::{Size, Tag, VmSpec};
use connector_runtime::orchestrate::configure::Configure;
use connector_runtime::orchestrate::listing::Listing;
use connector_runtime::orchestrate::{self, ResizeOutcome, RunRequest, TAG_RUN, tag};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A VM as the user describes it, before local files are read: what run-image, image builds
/// and every node group of a deployment create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmRequest {
    pub image: String,
    pub size: SizeRequest,
    pub inputs: VmInputs,
    pub volatile_disk_gb: Option<u32>,
    pub tags: BTreeMap<String, String>,
    pub project: Option<String>,
}

impl VmRequest {
    /// The connector's spec for a VM named `name`, reading local inputs through `local`.
    pub fn resolve(&self, name: String, local: &dyn LocalFiles) -> anyhow::Result<VmSpec> {
        if self.tags.keys().any(|k| k.is_empty()) {
            bail!("a tag has an empty key");
        }
        let (ssh_keys, files, user_data) = self.inputs.resolve(local)?;
        Ok(VmSpec {
            name,
            image: self.image.clone(),
            size: self.size.size()?,
            ssh_keys,
            files,
            user_data,
            volatile_disk_gb: self.volatile_disk_gb,
            tags: self.tags.iter().map(|(k, v)| tag(k, v)).collect(),
            project: self.project.clone(),
        })
    }
}

/// `run-image` (`POST …/vms`): one VM, waited for until it runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunImageRequest {
    /// Image id or name.
    pub image: String,
    #[serde(flatten)]
    pub size: SizeRequest,
    #[serde(flatten)]
    pub inputs: VmInputs,
    /// An extra disk of N GB, deleted with the VM.
    pub volatile_disk_gb: Option<u32>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Project (tenant) to charge.
    pub project: Option<String>,
    /// Default: the image's name and a random suffix.
    pub name: Option<String>,
    /// How long to wait for the VM to run, e.g. "10m".
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Keep the VM if it fails to come up (default: delete it).
    #[serde(default)]
    pub keep_on_failure: bool,
    /// Return as soon as the cloud accepted the VM.
    #[serde(default)]
    pub no_wait: bool,
    /// A recipe the VM runs over SSH once it runs (the run fails if it fails).
    #[serde(flatten)]
    pub recipe: RecipeFields,
}

impl RunImageRequest {
    pub fn vm(&self) -> VmRequest {
        VmRequest {
            image: self.image.clone(),
            size: self.size.clone(),
            inputs: self.inputs.clone(),
            volatile_disk_gb: self.volatile_disk_gb,
            tags: self.tags.clone(),
            project: self.project.clone(),
        }
    }

    /// The VM's name: the one asked for, or [`default_vm_name`].
    pub fn vm_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| default_vm_name(&self.image))
    }
}

/// A VM name from an image name: safe characters, and a random suffix.
pub fn default_vm_name(image: &str) -> String {
    let base: String = orchestrate::sanitize(image).chars().take(40).collect();
    format!("{base}-{}", &orchestrate::new_run_id()[..6])
}

/// Checks a run-image request and reads its local inputs: everything that can be refused
/// before the cloud is asked. The result runs with [`run_image`].
pub fn prepare_run(ctx: &Ctx, req: &RunImageRequest) -> anyhow::Result<PreparedRun> {
    let mut spec = req.vm().resolve(req.vm_name(), ctx.local.as_ref())?;
    let run_id = orchestrate::new_run_id();
    let recipes = req.recipe.run(
        &ctx.ssh,
        &super::inputs::recipe_reader(ctx.local.as_ref()),
        &run_id,
    )?;
    if let Some(r) = &recipes {
        if req.no_wait {
            bail!("a recipe runs once the VM runs: drop --no-wait (no_wait) to run one");
        }
        spec.ssh_keys.push(r.public_key());
    }
    Ok(PreparedRun {
        request: RunRequest {
            spec,
            wait: !req.no_wait,
            poll: ctx.poll(req.timeout),
            keep_on_failure: req.keep_on_failure,
            configure: recipes.clone().map(|r| r as Arc<dyn Configure>),
            run_id: Some(run_id),
        },
        recipes,
    })
}

/// A run-image request with its inputs read and its recipe (if any) ready.
pub struct PreparedRun {
    pub request: RunRequest,
    pub recipes: Option<Arc<RecipeRun>>,
}

/// Creates the VM and (unless `no_wait`) waits until it runs and its recipe (if any) ran;
/// cleans up on failure.
pub async fn run_image(ctx: &Ctx, run: PreparedRun) -> anyhow::Result<VmView> {
    let keep = run.request.keep_on_failure;
    let run_id = run.request.run_id.clone().unwrap_or_default();
    let (vm, _run_id) = match orchestrate::run_image(&ctx.client, run.request).await {
        Ok(done) => done,
        Err(e) => {
            if !keep {
                ctx.ssh.forget_run_key(&run_id);
            }
            return Err(e);
        }
    };
    let mut view = VmView::new(&vm);
    view.recipe = run.recipes.and_then(|r| r.reports().into_iter().next());
    Ok(view)
}

/// `KEY=VALUE` pairs, as the command line and the API's query string give tags.
pub fn parse_tags(pairs: &[String]) -> anyhow::Result<Vec<Tag>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("tag `{p}` is not KEY=VALUE"))?;
            if k.is_empty() {
                bail!("tag `{p}` has an empty key");
            }
            Ok(tag(k, v))
        })
        .collect()
}

/// `list`: VMs carrying every tag (and the run id, if given).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListRequest {
    /// Only VMs with this tag (repeatable)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Only the VMs of this run (deployment or run-image)
    #[arg(long)]
    pub run_id: Option<String>,
}

impl ListRequest {
    pub fn tags(&self) -> anyhow::Result<Vec<Tag>> {
        let mut tags = parse_tags(&self.tags)?;
        if let Some(r) = &self.run_id {
            tags.push(tag(TAG_RUN, r));
        }
        Ok(tags)
    }
}

pub async fn list(ctx: &Ctx, tags: Vec<Tag>) -> anyhow::Result<Vec<VmView>> {
    let vms = ctx.client.list_vms(tags).await?;
    Ok(vms.iter().map(VmView::new).collect())
}

/// `describe`: one VM with its disks.
pub async fn describe(ctx: &Ctx, id: &str) -> anyhow::Result<VmView> {
    let vm = ctx.client.get_vm(id.to_string()).await?;
    let disks = ctx.client.list_disks(Some(id.to_string())).await?;
    Ok(VmView::new(&vm).with_disks(&disks))
}

/// `terminate`: VMs by id and/or every VM of a run.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct TerminateRequest {
    #[serde(default)]
    pub vm_ids: Vec<String>,
    /// Every VM of this run (deployment or run-image)
    #[arg(long)]
    pub run_id: Option<String>,
    /// Return once the deletes are accepted
    #[serde(default)]
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait [default: orchestration.vm_timeout, 10m]
    #[serde(default, with = "humantime_serde")]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn terminate(ctx: &Ctx, req: TerminateRequest) -> anyhow::Result<TerminatedView> {
    let client = &ctx.client;
    let explicit = req.vm_ids;
    let mut ids = explicit.clone();
    let mut run_listing = None;
    if let Some(r) = &req.run_id {
        let mut listing = Listing::new(vec![tag(TAG_RUN, r)]);
        let vms = listing.poll(client).await?;
        run_listing = Some(listing);
        if vms.is_empty() && ids.is_empty() {
            bail!("no VM carries run id {r}: check `list` for the right id");
        }
        ids.extend(
            vms.into_iter()
                .map(|v| v.id)
                .filter(|id| !explicit.contains(id)),
        );
    }
    if ids.is_empty() {
        bail!("nothing to terminate: give VM ids or --run-id");
    }
    // Ids typed by the user must exist: a typo is an error, not a silent no-op.
    for id in &explicit {
        client
            .get_vm(id.clone())
            .await
            .with_context(|| format!("cannot terminate VM {id}"))?;
    }
    if req.no_wait {
        for id in &ids {
            client
                .delete_vm(id.clone())
                .await
                .with_context(|| format!("cannot delete VM {id}"))?;
        }
    } else {
        // Watching the run's listing (its first poll made above) sees every VM only when all
        // came from the run; otherwise the wait watches every VM of the account.
        let listing = match run_listing {
            Some(run) if explicit.is_empty() => run,
            _ => Listing::new(vec![]),
        };
        orchestrate::terminate_listed(client, &ids, listing, ctx.poll(req.timeout)).await?;
    }
    if let Some(r) = &req.run_id {
        // The run's VMs are gone (or going): so is the need for its key.
        ctx.ssh.forget_run_key(r);
    }
    Ok(TerminatedView {
        terminated: ids,
        waited: !req.no_wait,
    })
}

/// A power action on one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Reboot { hard: bool },
}

impl Power {
    pub fn name(self) -> &'static str {
        match self {
            Power::Start => "start",
            Power::Stop => "stop",
            Power::Reboot { .. } => "reboot",
        }
    }
}

/// `start` / `stop` / `reboot`: returns once the cloud accepted the action.
pub async fn power(ctx: &Ctx, id: &str, action: Power) -> anyhow::Result<ActionView> {
    let (client, vm) = (&ctx.client, id.to_string());
    match action {
        Power::Start => client.start_vm(vm).await,
        Power::Stop => client.stop_vm(vm).await,
        Power::Reboot { hard } => client.reboot_vm(vm, hard).await,
    }
    .with_context(|| format!("cannot {} VM {id}", action.name()))?;
    Ok(ActionView::accepted(id, action.name()))
}

/// `resize` (`POST …/vms/{id}/resize`): another flavor, or a CPU/RAM shape.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ResizeRequest {
    #[serde(flatten)]
    #[command(flatten)]
    pub size: SizeRequest,
    /// How long to wait [default: orchestration.vm_timeout, 10m]
    #[serde(default, with = "humantime_serde")]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn resize(
    ctx: &Ctx,
    id: &str,
    size: Size,
    timeout: Option<Duration>,
) -> anyhow::Result<ResizeView> {
    let outcome = orchestrate::resize(&ctx.client, id, size, ctx.poll(timeout)).await?;
    let (vm, changed) = match outcome {
        ResizeOutcome::AlreadyThere(vm) => (vm, false),
        ResizeOutcome::Resized(vm) => (vm, true),
    };
    Ok(ResizeView {
        changed,
        vm: VmView::new(&vm),
    })
}
