//! Waiting with deadlines: every wait polls at a bounded rate, notices failure states, and
//! gives up at its deadline with an error that says what it was waiting for.

use super::listing::Listing;
use crate::bindings::types::{Disk, DiskState, Image, ImageState, Vm, VmState};
use crate::client::Client;
use crate::error::CallError;
use crate::retry::worth_polling_again;
use anyhow::bail;
use std::time::Duration;
use tokio::time::Instant;

/// How to poll: start fast (a simulator or a quick cloud answers in a second), back off to
/// `max_interval` so a slow cloud is not hammered. When the wait is for something whose
/// typical duration is known (a VM build, see [`crate::build_clock::BuildClock`]), the first look is timed on it
/// and the next ones come at a tenth of it, so the poll adds about 10% to the wait instead of
/// the lag of a back-off that has already grown long.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub max_interval: Duration,
    pub timeout: Duration,
    /// How long the awaited change typically takes, if known.
    pub expect: Option<Duration>,
}

/// The shortest interval between two polls.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

impl Poll {
    pub fn new(max_interval: Duration, timeout: Duration) -> Self {
        Poll {
            max_interval,
            timeout,
            expect: None,
        }
    }

    /// The same poll, timed on a change that typically takes `expect`.
    pub fn expecting(self, expect: Option<Duration>) -> Self {
        Poll { expect, ..self }
    }

    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// The waits between polls (the first poll is at once). Unknown duration: 250 ms, 500 ms,
    /// 1 s, … capped at `max_interval`. Expected duration `E`: a look at `0.8 E` (a little
    /// early, so a cloud faster than expected is noticed and learned), then every `E/20` (at
    /// least 100 ms, at most `max_interval`) until `1.5 E`, then doubling up to `max_interval`.
    pub fn intervals(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        let max = self.max_interval.max(MIN_INTERVAL / 2);
        let back_off = move |first: Duration| {
            std::iter::successors(Some(first.min(max)), move |d| Some((*d * 2).min(max)))
        };
        match self.expect {
            None => Box::new(back_off(Duration::from_millis(250))),
            Some(e) => {
                let first = e.mul_f64(0.8);
                let step = (e / 20).clamp(MIN_INTERVAL, max);
                let steady = (e.mul_f64(0.7).as_millis() / step.as_millis().max(1)) as usize;
                Box::new(
                    std::iter::once(first)
                        .chain(std::iter::repeat_n(step, steady))
                        .chain(back_off(step * 2)),
                )
            }
        }
    }
}

/// Waits until a VM just created runs, polling on the cloud's typical build time, and teaches
/// the client's [`crate::build_clock::BuildClock`] what this build took.
pub async fn vm_built(client: &Client, id: &str, poll: Poll) -> anyhow::Result<Vm> {
    let clock = client.build_clock();
    let started = Instant::now();
    let mut last_pending = started;
    let vm = vm_until(
        client,
        id,
        poll.expecting(clock.expected()),
        &format!("VM {id} to be {}", state_name(VmState::Running)),
        |vm| {
            let done = vm.state == VmState::Running;
            if !done {
                last_pending = Instant::now();
            }
            done
        },
    )
    .await?;
    clock.observe(midpoint(last_pending, Instant::now()) - started);
    Ok(vm)
}

/// The best guess of when something happened between a look that saw it pending and one that
/// saw it done.
pub fn midpoint(pending: Instant, done: Instant) -> Instant {
    pending + (done - pending) / 2
}

/// What one look at the awaited resource decided.
pub enum Step<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the text (if any) says where it stands, for the message if the wait times out.
    Pending(Option<String>),
    /// The wait can never succeed (the resource failed, or the call was refused).
    Failed(anyhow::Error),
}

/// The one polling loop every wait of the host goes through (after rust-openstack's
/// `Waiter`): `fetch` reads the resource, `decide` looks at the result. Transient call errors
/// (the cloud or the network hiccuped) are logged and polled again; everything else is up to
/// `decide`. Polls back off as [`Poll::intervals`] says and give up at the poll's deadline with
/// an error naming `what` was awaited and where it last stood.
pub async fn poll_until<R, T, F>(
    poll: Poll,
    what: &str,
    mut fetch: impl FnMut() -> F,
    mut decide: impl FnMut(Result<R, CallError>) -> Step<T>,
) -> anyhow::Result<T>
where
    F: Future<Output = Result<R, CallError>>,
{
    let deadline = poll.deadline();
    let mut intervals = poll.intervals();
    let mut status = None;
    loop {
        match fetch().await {
            Err(e) if worth_polling_again(&e) => {
                tracing::warn!("while waiting for {what}: {e}; retrying")
            }
            result => match decide(result) {
                Step::Done(t) => return Ok(t),
                Step::Failed(e) => return Err(e),
                Step::Pending(now) => status = now,
            },
        }
        let now = Instant::now();
        if now >= deadline {
            bail!(
                "timed out after {} waiting for {what}{}",
                humantime::format_duration(poll.timeout),
                status.map(|s| format!(" ({s})")).unwrap_or_default()
            );
        }
        let next = intervals.next().unwrap_or(Duration::from_secs(1));
        tokio::time::sleep_until((now + next).min(deadline)).await;
    }
}

/// The usual answer to a call error that is not transient: the wait fails, saying what it
/// waited for.
pub fn call_failed<T>(e: CallError, what: &str) -> Step<T> {
    Step::Failed(anyhow::Error::new(e).context(format!("while waiting for {what}")))
}

/// Repeats a call while it fails transiently, until the poll's deadline.
pub async fn retry<R, F>(poll: Poll, what: &str, fetch: impl FnMut() -> F) -> anyhow::Result<R>
where
    F: Future<Output = Result<R, CallError>>,
{
    poll_until(poll, what, fetch, |r| match r {
        Ok(v) => Step::Done(v),
        Err(e) => Step::Failed(anyhow::Error::new(e).context(format!("cannot {what}"))),
    })
    .await
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
    mut done: impl FnMut(&Vm) -> bool,
) -> anyhow::Result<Vm> {
    let fetch = || client.get_vm(id.to_string());
    poll_until(poll, what, fetch, |r| match r {
        Ok(vm) if done(&vm) => Step::Done(vm),
        Ok(vm) if vm.state == VmState::Failed => Step::Failed(anyhow::anyhow!(
            "VM {} ({}) went to the cloud's error state ({}) while waiting for {what}",
            vm.name,
            vm.id,
            cloud_reason(&vm)
        )),
        Ok(vm) if vm.state == VmState::Terminated => Step::Failed(anyhow::anyhow!(
            "VM {} ({}) was deleted while waiting for {what}",
            vm.name,
            vm.id
        )),
        Ok(vm) => Step::Pending(Some(format!(
            "it is {}{}",
            state_name(vm.state),
            vm.task
                .as_ref()
                .map(|t| format!(", task {t}"))
                .unwrap_or_default()
        ))),
        Err(e) => call_failed(e, what),
    })
    .await
}

/// Waits on the VMs of `listing` with ONE list call per interval, whatever their number: a
/// full listing first (unless the listing already made it), then only what changed (see
/// [`Listing`]). `step` sees each listing and decides: `Some(result)` ends the wait.
pub async fn vms_listed<T>(
    client: &Client,
    listing: Listing,
    poll: Poll,
    what: &str,
    mut step: impl FnMut(&[Vm]) -> Option<anyhow::Result<T>>,
) -> anyhow::Result<T> {
    // One poll at a time; the lock only lets each poll's future borrow the listing.
    let listing = tokio::sync::Mutex::new(listing);
    let fetch = || async { listing.lock().await.poll(client).await };
    poll_until(poll, what, fetch, |r| match r.map(|vms| step(&vms)) {
        Ok(None) => Step::Pending(None),
        Ok(Some(Ok(t))) => Step::Done(t),
        Ok(Some(Err(e))) => Step::Failed(e),
        Err(e) => call_failed(e, what),
    })
    .await
}

/// Waits until the disk is in `target` (a failed disk ends the wait with an error).
pub async fn disk_state(
    client: &Client,
    id: &str,
    target: DiskState,
    poll: Poll,
) -> anyhow::Result<Disk> {
    let what = format!("volume {id} to be {}", disk_state_name(target));
    let fetch = || client.get_disk(id.to_string());
    poll_until(poll, &what, fetch, |r| match r {
        Ok(d) if d.state == target => Step::Done(d),
        Ok(d) if d.state == DiskState::Failed => {
            Step::Failed(anyhow::anyhow!("volume {id} went to the error state"))
        }
        Ok(_) => Step::Pending(None),
        // A deleted volume may vanish from the cloud's view altogether.
        Err(e) if target == DiskState::Deleted && e.is_not_found() => Step::Done(Disk {
            id: id.to_string(),
            name: String::new(),
            size_gb: 0,
            state: DiskState::Deleted,
            vm_id: None,
            device_index: None,
            delete_on_termination: false,
        }),
        Err(e) => call_failed(e, &what),
    })
    .await
}

/// Waits until the image is available (a failed image ends the wait with an error).
pub async fn image_available(client: &Client, id: &str, poll: Poll) -> anyhow::Result<Image> {
    let what = format!("image {id} to be available");
    let fetch = || client.get_image(id.to_string());
    poll_until(poll, &what, fetch, |r| match r {
        Ok(i) if i.state == ImageState::Available => Step::Done(i),
        Ok(i) if matches!(i.state, ImageState::Failed | ImageState::Deleted) => Step::Failed(
            anyhow::anyhow!("image {} ({id}) failed while being saved", i.name),
        ),
        Ok(_) => Step::Pending(None),
        Err(e) => call_failed(e, &what),
    })
    .await
}

/// The cloud's status word and, when it gave one, its reason: `ERROR: Image customization failed`.
pub fn cloud_reason(vm: &Vm) -> String {
    match &vm.status_reason {
        Some(reason) if !reason.is_empty() => format!("{}: {reason}", vm.cloud_status),
        _ => vm.cloud_status.clone(),
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
    fn an_expected_build_times_the_first_poll_then_polls_at_a_twentieth_of_it() {
        let p = Poll::new(Duration::from_secs(2), Duration::from_secs(60))
            .expecting(Some(Duration::from_secs(4)));
        let v: Vec<_> = p.intervals().take(18).map(|d| d.as_millis()).collect();
        assert_eq!(v[0], 3200);
        assert!(v[1..15].iter().all(|&d| d == 200), "{v:?}");
        assert_eq!(&v[15..], &[400, 800, 1600]);
        // A long build is polled no faster than every max_interval after the first look.
        let slow = Poll::new(Duration::from_secs(2), Duration::from_secs(600))
            .expecting(Some(Duration::from_secs(60)));
        assert!(
            slow.intervals()
                .skip(1)
                .take(50)
                .all(|d| d == Duration::from_secs(2))
        );
    }

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
