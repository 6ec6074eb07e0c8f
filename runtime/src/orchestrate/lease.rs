//! Who drives a run: a lease written into the tags of the run's anchor VM (its lowest id), as
//! `slipstream.lease = "<holder> <expiry, unix milliseconds>"`, renewed while the run goes on. A
//! second orchestrator (a `--resume` while the first still runs) sees a live lease held by
//! someone else and refuses; a dead orchestrator's lease simply expires. Two claimers racing
//! for a free lease both write it; the next listing shows one winner, and the other stops
//! without touching the run.

use super::TAG_RUN;
use crate::bindings::types::{Vm, VmState};
use crate::client::Client;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The tag holding the lease.
pub const TAG_LEASE: &str = "slipstream.lease";

/// The run is driven by another orchestrator: stop without touching it (no cleanup).
#[derive(Debug, thiserror::Error)]
#[error(
    "run {run_id} is being driven by another orchestrator (its lease is held for {:.1} s more): wait for it to finish, or resume it once the lease has expired",
    left.as_secs_f64()
)]
pub struct LeaseHeld {
    pub run_id: String,
    /// How long the lease still holds.
    pub left: Duration,
}

/// This orchestrator's claim on one run.
pub struct Lease {
    holder: String,
    ttl: Duration,
    written: Option<(String, Instant)>,
}

/// Milliseconds: a lease of a few seconds must not lose a second to rounding.
fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Lease {
    pub fn new(ttl: Duration) -> Self {
        Lease {
            holder: super::new_run_id(),
            ttl: ttl.max(Duration::from_secs(1)),
            written: None,
        }
    }

    /// Fails with [`LeaseHeld`] when a VM of the run carries a live lease of another holder.
    pub fn check(&self, vms: &[Vm]) -> Result<(), LeaseHeld> {
        let now = unix_now_ms();
        for vm in vms.iter().filter(|v| v.state != VmState::Terminated) {
            let lease = vm.tags.iter().find(|t| t.key == TAG_LEASE);
            let Some((holder, expiry)) = lease.and_then(|t| t.value.split_once(' ')) else {
                continue;
            };
            let expiry: u64 = expiry.parse().unwrap_or(0);
            if holder != self.holder && expiry > now {
                let run_id = vm
                    .tags
                    .iter()
                    .find(|t| t.key == TAG_RUN)
                    .map(|t| t.value.clone())
                    .unwrap_or_default();
                return Err(LeaseHeld {
                    run_id,
                    left: Duration::from_millis(expiry - now),
                });
            }
        }
        Ok(())
    }

    /// Writes or renews the lease on the run's anchor VM, at most every third of its lifetime
    /// (and whenever the anchor changed). Failing to write is logged, not fatal: the run goes on.
    pub async fn renew(&mut self, client: &Client, vms: &[Vm]) {
        let anchor = vms
            .iter()
            .filter(|v| v.state != VmState::Terminated)
            .min_by_key(|v| (v.id.len(), v.id.clone()));
        let Some(anchor) = anchor else { return };
        let fresh = self
            .written
            .as_ref()
            .is_some_and(|(id, at)| *id == anchor.id && at.elapsed() < self.ttl / 3);
        if fresh {
            return;
        }
        let expiry = unix_now_ms() + self.ttl.as_millis() as u64;
        let value = format!("{} {expiry}", self.holder);
        match client
            .set_vm_tag(anchor.id.clone(), TAG_LEASE.into(), value)
            .await
        {
            Ok(()) => self.written = Some((anchor.id.clone(), Instant::now())),
            Err(e) => tracing::warn!("cannot write the run's lease on VM {}: {e}", anchor.id),
        }
    }

    /// Gives the run up (it is done): a later `--resume` need not wait for the lease.
    pub async fn release(&self, client: &Client) {
        if let Some((anchor, _)) = &self.written
            && let Err(e) = client
                .set_vm_tag(anchor.clone(), TAG_LEASE.into(), "-".into())
                .await
        {
            tracing::warn!("cannot release the run's lease on VM {anchor}: {e}");
        }
    }
}
