//! Generic orchestration over any connector: run a VM, terminate, resize, disks, images.
//!
//! Nothing here knows Synnefo. Every wait has a deadline ([`wait::Poll`]); every operation that
//! creates something cleans it up when a later step fails, so a failure never leaks a VM.

pub mod configure;
pub mod deploy;
pub mod lease;
pub mod listing;
mod plan;
mod slots;
pub mod wait;

use crate::bindings::types::{
    Disk, DiskState, File, Image, ResizePlan, Size, Tag, Vm, VmSpec, VmState,
};
use crate::client::Client;
use anyhow::{Context, bail};
use configure::Configure;
use listing::Listing;
use plan::DeployedVm;
use std::sync::Arc;
use wait::{Poll, Step};

/// Tag keys the host puts on every VM it creates: the record of runs lives in the cloud.
pub const TAG_RUN: &str = "slipstream.run";
pub const TAG_NODE: &str = "slipstream.node";
pub const TAG_INDEX: &str = "slipstream.index";
pub const TAG_DEPLOYMENT: &str = "slipstream.deployment";

pub fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// A new run id: short, unique enough, valid as a tag value.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// What to run: everything of a [`VmSpec`] plus how long to wait.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub spec: VmSpec,
    pub wait: bool,
    pub poll: Poll,
    pub keep_on_failure: bool,
    /// Configures the VM once it runs (the host's recipe); its failure fails the run.
    pub configure: Option<Arc<dyn Configure>>,
    /// The run's id [default: a new one].
    pub run_id: Option<String>,
}

/// Creates one VM and waits (bounded) until it runs. If anything fails after the cloud may
/// have created it, the VM is deleted (unless `keep_on_failure`) and the error says so.
pub async fn run_image(client: &Client, mut req: RunRequest) -> anyhow::Result<(Vm, String)> {
    let run_id = req.run_id.clone().unwrap_or_else(new_run_id);
    req.spec.tags.push(tag(TAG_RUN, &run_id));
    let vm = match create_once(client, &req.spec, &run_id, req.poll).await {
        Ok(vm) => vm,
        Err(e) if req.keep_on_failure => {
            return Err(e.context(format!("cannot create VM {}", req.spec.name)));
        }
        Err(e) => {
            // Whatever a lost create may have made carries the run tag: remove it.
            let removed = cleanup_run(client, &run_id, req.poll).await;
            return Err(e.context(format!(
                "cannot create VM {}{}",
                req.spec.name,
                cleanup_note(&removed)
            )));
        }
    };
    if !req.wait {
        return Ok((vm, run_id));
    }
    let ready = match wait::vm_built(client, &vm.id, req.poll).await {
        Ok(vm) => configure_one(req.configure.as_deref(), &run_id, vm).await,
        Err(e) => Err(e),
    };
    match ready {
        Ok(vm) => Ok((vm, run_id)),
        Err(e) if req.keep_on_failure => {
            Err(e.context(format!("VM {} ({}) was kept as asked", vm.name, vm.id)))
        }
        Err(e) => {
            let removed = cleanup_run(client, &run_id, req.poll).await;
            Err(e.context(format!(
                "VM {} did not become ready{}",
                vm.name,
                cleanup_note(&removed)
            )))
        }
    }
}

/// The configuration step of a one-VM run (its node is `vm`, index 1).
async fn configure_one(
    configure: Option<&dyn Configure>,
    run_id: &str,
    vm: Vm,
) -> anyhow::Result<Vm> {
    let Some(configure) = configure else {
        return Ok(vm);
    };
    let one = [DeployedVm {
        node: "vm".into(),
        index: 1,
        vm,
    }];
    configure.configure(run_id, &one).await?;
    let [only] = one;
    Ok(only.vm)
}

/// Creates the one VM of `run_id`. A create whose outcome is unclear (reply lost, connection
/// closed, timeout) is never blindly repeated: the VM is looked up by its run tag and adopted
/// if the cloud made it, created again only if not.
async fn create_once(
    client: &Client,
    spec: &VmSpec,
    run_id: &str,
    poll: Poll,
) -> anyhow::Result<Vm> {
    let retry = crate::retry::RetryPolicy::default();
    let deadline = poll.deadline();
    let mut attempt = 0;
    loop {
        let e = match client.create_vm(spec.clone()).await {
            Ok(vm) => return Ok(vm),
            Err(e) => e,
        };
        attempt += 1;
        if !crate::retry::worth_polling_again(&e)
            || attempt >= retry.max_attempts
            || tokio::time::Instant::now() >= deadline
        {
            return Err(e.into());
        }
        tracing::debug!(
            "creating VM {}: {e}; looking it up by its run tag",
            spec.name
        );
        let listed = client.list_vms(vec![tag(TAG_RUN, run_id)]).await?;
        if let Some(vm) = listed.into_iter().find(|v| v.state != VmState::Terminated) {
            return Ok(vm);
        }
        tokio::time::sleep(retry.delay(attempt)).await;
    }
}

fn cleanup_note(result: &anyhow::Result<usize>) -> String {
    match result {
        Ok(0) => String::new(),
        Ok(n) => format!("; cleaned up {n} VM(s) it created"),
        Err(e) => format!("; cleaning up ALSO FAILED, check `list` for leftovers: {e:#}"),
    }
}

/// Deletes every VM of a run and waits until they are gone. Returns how many there were.
pub async fn cleanup_run(client: &Client, run_id: &str, poll: Poll) -> anyhow::Result<usize> {
    // The listing that finds the VMs is the wait's first, full one: its later polls list
    // only what changed.
    let listing = tokio::sync::Mutex::new(Listing::new(vec![tag(TAG_RUN, run_id)]));
    let vms = wait::retry(poll, "list the run's VMs", || async {
        listing.lock().await.poll(client).await
    })
    .await?;
    let ids: Vec<String> = vms
        .iter()
        .filter(|v| v.state != VmState::Terminated)
        .map(|v| v.id.clone())
        .collect();
    terminate_listed(client, &ids, listing.into_inner(), poll).await?;
    Ok(ids.len())
}

/// Deletes VMs concurrently, then waits until none of them is listed any more (one list call
/// per interval, filtered by `listing_tags` — every VM the ids belong to must carry them).
pub async fn terminate_many(
    client: &Client,
    ids: &[String],
    listing_tags: &[Tag],
    poll: Poll,
) -> anyhow::Result<()> {
    terminate_listed(client, ids, Listing::new(listing_tags.to_vec()), poll).await
}

/// [`terminate_many`], waiting on `listing`: the one that found the VMs, whose first, full
/// poll is then already made. Every VM of `ids` must be in its view.
pub async fn terminate_listed(
    client: &Client,
    ids: &[String],
    listing: Listing,
    poll: Poll,
) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut set = tokio::task::JoinSet::new();
    for id in ids {
        let client = client.clone();
        let id = id.clone();
        set.spawn(async move {
            let client = &client;
            let what = format!("delete VM {id}");
            let fetch = || client.delete_vm(id.clone());
            // Gone already counts as deleted.
            let r = wait::poll_until(poll, &what, fetch, |r| match r {
                Ok(()) => Step::Done(()),
                Err(e) if e.is_not_found() => Step::Done(()),
                Err(e) => Step::Failed(e.into()),
            })
            .await;
            (id, r)
        });
    }
    let mut errors = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (id, r) = joined.context("a delete task panicked")?;
        match r {
            Ok(()) => {}
            // Already being deleted / deleted: Synnefo answers 400 for a deleted server.
            Err(e) => errors.push(format!("{id}: {e:#}")),
        }
    }
    let pending: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    wait::vms_listed(client, listing, poll, "the VMs to be deleted", |vms| {
        let left = vms
            .iter()
            .filter(|v| pending.contains(&v.id) && v.state != VmState::Terminated)
            .count();
        (left == 0).then_some(Ok(()))
    })
    .await?;
    if !errors.is_empty() {
        // Re-check: a delete that errored may still have happened (e.g. reply lost).
        tracing::warn!("some deletes reported errors: {}", errors.join("; "));
    }
    Ok(())
}

/// Outcome of [`resize`].
#[derive(Debug)]
pub enum ResizeOutcome {
    AlreadyThere(Vm),
    Resized(Vm),
}

/// Moves a VM to another size: shutdown → wait stopped → resize → wait new flavor → start
/// (if it was running) → wait running. Checked by the connector before anything is touched.
pub async fn resize(
    client: &Client,
    id: &str,
    size: Size,
    poll: Poll,
) -> anyhow::Result<ResizeOutcome> {
    let plan = client
        .plan_resize(id.to_string(), size)
        .await
        .context("the resize was refused before anything was changed")?;
    let target = match plan {
        ResizePlan::Already(_) => {
            return Ok(ResizeOutcome::AlreadyThere(
                client.get_vm(id.to_string()).await?,
            ));
        }
        ResizePlan::MoveTo(f) => f,
    };
    let vm = client.get_vm(id.to_string()).await?;
    let was_running = vm.state == VmState::Running;
    match vm.state {
        VmState::Running => {
            client
                .stop_vm(id.to_string())
                .await
                .context("cannot stop the VM")?;
            wait::vm_state(client, id, VmState::Stopped, poll).await?;
        }
        VmState::Stopped => {}
        other => bail!(
            "VM {id} is {} — resize needs it running or stopped; wait and retry",
            wait::state_name(other)
        ),
    }
    client
        .resize_vm(id.to_string(), target.id.clone())
        .await
        .with_context(|| format!("cannot resize VM {id} to {}", target.name))?;
    let what = format!("VM {id} to take flavor {}", target.name);
    wait::vm_until(client, id, poll, &what, |vm| {
        vm.flavor == target.id && vm.state == VmState::Stopped
    })
    .await?;
    if was_running {
        client
            .start_vm(id.to_string())
            .await
            .context("cannot start the VM again")?;
        let vm = wait::vm_state(client, id, VmState::Running, poll).await?;
        Ok(ResizeOutcome::Resized(vm))
    } else {
        Ok(ResizeOutcome::Resized(client.get_vm(id.to_string()).await?))
    }
}

/// Creates a volume of `size_gb`, attaches it, waits until it is in use.
pub async fn attach_disk(
    client: &Client,
    vm_id: &str,
    size_gb: u32,
    name: &str,
    poll: Poll,
) -> anyhow::Result<Disk> {
    let disk = client
        .attach_disk(vm_id.to_string(), size_gb, name.to_string())
        .await
        .with_context(|| format!("cannot attach a {size_gb} GB disk to VM {vm_id}"))?;
    wait::disk_state(client, &disk.id, DiskState::InUse, poll).await
}

/// Detaches a volume (and deletes it when asked), waiting for each step.
pub async fn detach_disk(
    client: &Client,
    vm_id: &str,
    disk_id: &str,
    delete: bool,
    poll: Poll,
) -> anyhow::Result<Disk> {
    client
        .detach_disk(vm_id.to_string(), disk_id.to_string())
        .await
        .with_context(|| format!("cannot detach volume {disk_id} from VM {vm_id}"))?;
    let disk = wait::disk_state(client, disk_id, DiskState::Available, poll).await?;
    if !delete {
        return Ok(disk);
    }
    client
        .delete_disk(disk_id.to_string())
        .await
        .with_context(|| format!("detached, but cannot delete volume {disk_id}"))?;
    wait::disk_state(client, disk_id, DiskState::Deleted, poll).await
}

/// Snapshots a VM's root disk into an image and waits until it is available.
pub async fn create_image(
    client: &Client,
    vm_id: &str,
    name: &str,
    poll: Poll,
) -> anyhow::Result<Image> {
    let image = client
        .create_image(vm_id.to_string(), name.to_string())
        .await
        .with_context(|| format!("cannot snapshot VM {vm_id}"))?;
    wait::image_available(client, &image.id, poll).await
}

/// What to build an image from.
#[derive(Debug, Clone)]
pub struct BuildImageRequest {
    pub base_image: String,
    pub size: Size,
    pub name: String,
    pub files: Vec<File>,
    pub ssh_keys: Vec<String>,
    pub user_data: Option<String>,
    pub public: bool,
    pub poll: Poll,
    /// Configures the builder VM before its snapshot (the host's recipe).
    pub configure: Option<Arc<dyn Configure>>,
    /// The builder's run id [default: a new one].
    pub run_id: Option<String>,
}

/// Boots a builder VM from the base image with the files injected, stops it, snapshots its
/// root disk, publishes the image if asked, and deletes the builder — also when a step fails.
pub async fn build_image(client: &Client, req: BuildImageRequest) -> anyhow::Result<Image> {
    let builder_name = format!("image-builder-{}", sanitize(&req.name));
    let spec = VmSpec {
        name: builder_name,
        image: req.base_image.clone(),
        size: req.size.clone(),
        ssh_keys: req.ssh_keys.clone(),
        files: req.files.clone(),
        user_data: req.user_data.clone(),
        volatile_disk_gb: None,
        tags: vec![tag("slipstream.purpose", "image-builder")],
        project: None,
    };
    let (vm, run_id) = run_image(
        client,
        RunRequest {
            spec,
            wait: true,
            poll: req.poll,
            keep_on_failure: false,
            configure: req.configure.clone(),
            run_id: req.run_id.clone(),
        },
    )
    .await
    .context("the builder VM did not start")?;
    let result = snapshot_builder(client, &vm, &req).await;
    let cleanup = cleanup_run(client, &run_id, req.poll).await;
    match (result, cleanup) {
        (Ok(image), Ok(_)) => Ok(image),
        (Ok(image), Err(e)) => Err(e.context(format!(
            "image {} ({}) is ready, but deleting the builder VM {} failed",
            image.name, image.id, vm.id
        ))),
        (Err(e), cleanup) => Err(e.context(format!(
            "building image {} failed{}",
            req.name,
            cleanup_note(&cleanup)
        ))),
    }
}

async fn snapshot_builder(
    client: &Client,
    vm: &Vm,
    req: &BuildImageRequest,
) -> anyhow::Result<Image> {
    client
        .stop_vm(vm.id.clone())
        .await
        .context("cannot stop the builder VM")?;
    wait::vm_state(client, &vm.id, VmState::Stopped, req.poll).await?;
    let image = client
        .create_image(vm.id.clone(), req.name.clone())
        .await
        .context("cannot snapshot the builder VM's root disk")?;
    let image = match wait::image_available(client, &image.id, req.poll).await {
        Ok(i) => i,
        Err(e) => {
            let _ = client.delete_image(image.id.clone()).await;
            return Err(e);
        }
    };
    if req.public {
        client
            .set_image_public(image.id.clone(), true)
            .await
            .context("the image is ready but could not be made public")?;
        return Ok(client.get_image(image.id.clone()).await?);
    }
    Ok(image)
}

/// Makes a string safe inside a VM name.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
