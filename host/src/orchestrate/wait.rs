//! Waiting with deadlines: every wait polls at a bounded rate, notices failure states, and
//! gives up at its deadline with an error that says what it was waiting for.

use crate::bindings::types::{Disk, DiskState, Image, ImageState, Tag, Vm, VmState};
use crate::client::Client;
use crate::error::{CallError, ErrorKind};
use anyhow::{Context, bail};
use std::time::Duration;
use tokio::time::Instant;

/// How to poll: start fast (a simulator or a quick cloud answers in a second), back off to
/// `max_interval` so a slow cloud is not hammered.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub max_interval: Duration,
    pub timeout: Duration,
}

impl Poll {
    pub fn new(max_interval: Duration, timeout: Duration) -> Self {
        Poll {
            max_interval,
            timeout,
        }
    }

    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// The interval sequence: 250 ms, 500 ms, 1 s, … capped at `max_interval`.
    pub fn intervals(&self) -> impl Iterator<Item = Duration> + use<> {
        let max = self.max_interval.max(Duration::from_millis(50));
        std::iter::successors(Some(Duration::from_millis(250).min(max)), move |d| {
            Some((*d * 2).min(max))
        })
    }
}

/// Errors worth retrying within a wait: the cloud or the network hiccuped.
pub fn is_transient(e: &CallError) -> bool {
    match e {
        CallError::Cloud(c) => matches!(c.kind, ErrorKind::Unavailable | ErrorKind::Transport),
        CallError::Timeout { .. } => true,
        _ => false,
    }
}

/// Sleeps until the next poll, or fails if that would pass the deadline.
async fn tick(
    intervals: &mut impl Iterator<Item = Duration>,
    deadline: Instant,
    what: impl FnOnce() -> String,
    timeout: Duration,
) -> anyhow::Result<()> {
    let now = Instant::now();
    if now >= deadline {
        bail!(
            "timed out after {} waiting for {}",
            humantime::format_duration(timeout),
            what()
        );
    }
    let next = intervals.next().unwrap_or(Duration::from_secs(1));
    tokio::time::sleep_until((now + next).min(deadline)).await;
    Ok(())
}

/// Waits until the VM reaches `target`. A VM in ERROR (or gone) fails the wait at once.
pub async fn vm_state(
    client: &Client,
    id: &str,
    target: VmState,
    poll: Poll,
) -> anyhow::Result<Vm> {
    vm_until(
        client,
        id,
        poll,
        &format!("VM {id} to be {}", state_name(target)),
        |vm| vm.state == target,
    )
    .await
}

/// Waits until `done(vm)`; fails on `failed`/`terminated` (unless that is what `done` wants).
pub async fn vm_until(
    client: &Client,
    id: &str,
    poll: Poll,
    what: &str,
    done: impl Fn(&Vm) -> bool,
) -> anyhow::Result<Vm> {
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    let mut last: Option<Vm> = None;
    loop {
        match client.get_vm(id.to_string()).await {
            Ok(vm) => {
                if done(&vm) {
                    return Ok(vm);
                }
                match vm.state {
                    VmState::Failed => bail!(
                        "VM {} ({}) went to the cloud's error state ({}) while waiting for {what}",
                        vm.name,
                        vm.id,
                        vm.cloud_status
                    ),
                    VmState::Terminated => {
                        bail!(
                            "VM {} ({}) was deleted while waiting for {what}",
                            vm.name,
                            vm.id
                        )
                    }
                    _ => {}
                }
                last = Some(vm);
            }
            Err(e) if is_transient(&e) => tracing::warn!("while waiting for {what}: {e}; retrying"),
            Err(e) => return Err(e).with_context(|| format!("while waiting for {what}")),
        }
        tick(
            &mut intervals,
            deadline,
            || match &last {
                Some(vm) => format!(
                    "{what} (it is {}{})",
                    state_name(vm.state),
                    vm.task
                        .as_ref()
                        .map(|t| format!(", task {t}"))
                        .unwrap_or_default()
                ),
                None => what.to_string(),
            },
            poll.timeout,
        )
        .await?;
    }
}

/// Waits until the VM is deleted (terminated, or no longer found).
pub async fn vm_gone(client: &Client, id: &str, poll: Poll) -> anyhow::Result<()> {
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    loop {
        match client.get_vm(id.to_string()).await {
            Ok(vm) if vm.state == VmState::Terminated => return Ok(()),
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if is_transient(&e) => tracing::warn!("while waiting for VM {id} to go: {e}"),
            Err(e) => {
                return Err(e).with_context(|| format!("while waiting for VM {id} to be deleted"));
            }
        }
        tick(
            &mut intervals,
            deadline,
            || format!("VM {id} to be deleted"),
            poll.timeout,
        )
        .await?;
    }
}

/// Waits on every VM carrying `tags` with ONE list call per interval, whatever their number.
/// `step` sees each listing and decides: `Some(result)` ends the wait.
pub async fn vms_by_tags<T>(
    client: &Client,
    tags: &[Tag],
    poll: Poll,
    what: &str,
    mut step: impl FnMut(&[Vm]) -> Option<anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    loop {
        match client.list_vms(tags.to_vec()).await {
            Ok(vms) => {
                if let Some(result) = step(&vms) {
                    return result;
                }
            }
            Err(e) if is_transient(&e) => tracing::warn!("while waiting for {what}: {e}; retrying"),
            Err(e) => return Err(e).with_context(|| format!("while waiting for {what}")),
        }
        tick(&mut intervals, deadline, || what.to_string(), poll.timeout).await?;
    }
}

/// Waits until the disk is in `target` (a failed disk ends the wait with an error).
pub async fn disk_state(
    client: &Client,
    id: &str,
    target: DiskState,
    poll: Poll,
) -> anyhow::Result<Disk> {
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    loop {
        match client.get_disk(id.to_string()).await {
            Ok(d) if d.state == target => return Ok(d),
            Ok(d) if d.state == DiskState::Failed => bail!("volume {id} went to the error state"),
            Ok(d) if target == DiskState::Deleted && d.state == DiskState::Deleted => return Ok(d),
            Ok(_) => {}
            Err(e) if target == DiskState::Deleted && e.is_not_found() => {
                return Ok(Disk {
                    id: id.to_string(),
                    name: String::new(),
                    size_gb: 0,
                    state: DiskState::Deleted,
                    vm_id: None,
                    device_index: None,
                    delete_on_termination: false,
                });
            }
            Err(e) if is_transient(&e) => tracing::warn!("while waiting for volume {id}: {e}"),
            Err(e) => return Err(e).with_context(|| format!("while waiting for volume {id}")),
        }
        tick(
            &mut intervals,
            deadline,
            || format!("volume {id} to be {}", disk_state_name(target)),
            poll.timeout,
        )
        .await?;
    }
}

/// Waits until the image is available (a failed image ends the wait with an error).
pub async fn image_available(client: &Client, id: &str, poll: Poll) -> anyhow::Result<Image> {
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    loop {
        match client.get_image(id.to_string()).await {
            Ok(i) if i.state == ImageState::Available => return Ok(i),
            Ok(i) if matches!(i.state, ImageState::Failed | ImageState::Deleted) => {
                bail!("image {} ({id}) failed while being saved", i.name)
            }
            Ok(_) => {}
            Err(e) if is_transient(&e) => tracing::warn!("while waiting for image {id}: {e}"),
            Err(e) => return Err(e).with_context(|| format!("while waiting for image {id}")),
        }
        tick(
            &mut intervals,
            deadline,
            || format!("image {id} to be available"),
            poll.timeout,
        )
        .await?;
    }
}

pub fn state_name(s: VmState) -> &'static str {
    match s {
        VmState::Pending => "pending",
        VmState::Running => "running",
        VmState::Stopped => "stopped",
        VmState::Rebooting => "rebooting",
        VmState::Resizing => "resizing",
        VmState::Terminated => "terminated",
        VmState::Failed => "failed",
        VmState::Unknown => "unknown",
    }
}

pub fn disk_state_name(s: DiskState) -> &'static str {
    match s {
        DiskState::Creating => "creating",
        DiskState::Available => "available",
        DiskState::Attaching => "attaching",
        DiskState::InUse => "in-use",
        DiskState::Detaching => "detaching",
        DiskState::Deleting => "deleting",
        DiskState::Deleted => "deleted",
        DiskState::Failed => "failed",
        DiskState::Unknown => "unknown",
    }
}

pub fn image_state_name(s: ImageState) -> &'static str {
    match s {
        ImageState::Available => "available",
        ImageState::Saving => "saving",
        ImageState::Failed => "failed",
        ImageState::Deleted => "deleted",
        ImageState::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_intervals_back_off_to_the_cap() {
        let p = Poll::new(Duration::from_secs(2), Duration::from_secs(60));
        let v: Vec<_> = p.intervals().take(6).collect();
        assert_eq!(
            v,
            [250, 500, 1000, 2000, 2000, 2000]
                .map(Duration::from_millis)
                .to_vec()
        );
    }
}
