//! A run's VMs, kept current with one `list-vms-changed` call per poll.
//!
//! Listing every VM on every poll costs the whole account each time (about 1.8 MB for a
//! thousand VMs on ~Okeanos), although most polls find nothing new. Here the first poll lists
//! the VMs in full; each later one asks only for what changed since the connector's last
//! `as-of` (Synnefo: `changes-since`, a 304 when nothing did) and merges it into the view:
//! changed VMs replace their old record, `gone` ones leave. Merging is idempotent, so a
//! connector may repeat changes (its token starts a little early on purpose).
//!
//! A full listing replaces the view when there is no token (the first poll, or an answer
//! without one), when the connector passes on the cloud's refusal of the token (then in the
//! same poll), and every [`FULL_EVERY_POLLS`] polls or [`FULL_EVERY`], whichever comes first:
//! a safety net against a view that drifted (a change the cloud stamped earlier than the
//! token, which no later listing of changes would show).

use crate::bindings::types::{Tag, Vm, VmChanges};
use crate::client::Client;
use crate::error::{CallError, ErrorKind};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Listings of changes between two full listings, at most.
pub const FULL_EVERY_POLLS: u32 = 30;
/// Time between two full listings, at most.
pub const FULL_EVERY: Duration = Duration::from_secs(300);

/// The VMs carrying some tags, as the last poll left them.
#[derive(Debug)]
pub struct Listing {
    tags: Vec<Tag>,
    /// By (id length, id): numeric ids in numeric order, as the cloud lists them.
    vms: BTreeMap<(usize, String), Vm>,
    /// The connector's token for the next listing of changes.
    as_of: Option<String>,
    /// Listings of changes since the last full one.
    changes_since_full: u32,
    full_at: Option<Instant>,
}

impl Listing {
    pub fn new(tags: Vec<Tag>) -> Self {
        Listing {
            tags,
            vms: BTreeMap::new(),
            as_of: None,
            changes_since_full: 0,
            full_at: None,
        }
    }

    /// One list call (a second, full one only when the connector says the cloud refused its
    /// token): the VMs carrying the tags now. On an error the view and the token stay as
    /// they were, and the next poll asks again from the same time.
    pub async fn poll(&mut self, client: &Client) -> Result<Vec<Vm>, CallError> {
        let since = self.since(Instant::now());
        let changes = match client
            .list_vms_changed(self.tags.clone(), since.clone())
            .await
        {
            Err(e) if since.is_some() && e.kind() == Some(ErrorKind::Invalid) => {
                tracing::debug!(
                    "the connector refused a listing of changes ({e}); listing in full"
                );
                self.as_of = None;
                client.list_vms_changed(self.tags.clone(), None).await?
            }
            answer => answer?,
        };
        self.apply(changes, Instant::now());
        Ok(self.vms())
    }

    /// The token to list changes from, or none when a full listing is due.
    fn since(&self, now: Instant) -> Option<String> {
        let due = self.changes_since_full >= FULL_EVERY_POLLS
            || self
                .full_at
                .is_none_or(|at| now.saturating_duration_since(at) >= FULL_EVERY);
        if due { None } else { self.as_of.clone() }
    }

    /// Merges one answer into the view (replaces it, for a full listing).
    fn apply(&mut self, changes: VmChanges, now: Instant) {
        let VmChanges {
            full,
            vms,
            gone,
            as_of,
        } = changes;
        if full {
            self.vms.clear();
            self.changes_since_full = 0;
            self.full_at = Some(now);
        } else {
            self.changes_since_full += 1;
        }
        for id in gone {
            self.vms.remove(&(id.len(), id));
        }
        for vm in vms {
            self.vms.insert((vm.id.len(), vm.id.clone()), vm);
        }
        self.as_of = as_of;
    }

    /// Every VM of the view.
    pub fn vms(&self) -> Vec<Vm> {
        self.vms.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::VmState;

    fn vm(id: &str, state: VmState) -> Vm {
        Vm {
            id: id.into(),
            name: format!("vm-{id}"),
            state,
            cloud_status: String::new(),
            status_reason: None,
            task: None,
            progress: None,
            ipv4: vec![],
            ipv6: vec![],
            flavor: "1".into(),
            image: "img".into(),
            tags: vec![],
            disk_ids: vec![],
            created: String::new(),
        }
    }

    fn changes(full: bool, vms: Vec<Vm>, gone: &[&str], as_of: Option<&str>) -> VmChanges {
        VmChanges {
            full,
            vms,
            gone: gone.iter().map(|s| s.to_string()).collect(),
            as_of: as_of.map(str::to_string),
        }
    }

    fn ids(l: &Listing) -> Vec<String> {
        l.vms().into_iter().map(|v| v.id).collect()
    }

    #[test]
    fn changes_update_the_view_and_gone_vms_leave_it() {
        let mut l = Listing::new(vec![]);
        let t0 = Instant::now();
        assert_eq!(l.since(t0), None, "the first poll lists in full");
        let pending = VmState::Pending;
        let all = vec![vm("9", pending), vm("10", pending), vm("11", pending)];
        l.apply(changes(true, all, &[], Some("t1")), t0);
        assert_eq!(ids(&l), ["9", "10", "11"], "in the cloud's (numeric) order");
        assert_eq!(l.since(t0).as_deref(), Some("t1"));

        let changed = vec![vm("9", VmState::Running)];
        l.apply(changes(false, changed, &["10", "77"], Some("t2")), t0);
        assert_eq!(
            ids(&l),
            ["9", "11"],
            "a gone id the view never had is harmless"
        );
        assert_eq!(l.vms()[0].state, VmState::Running);
        assert_eq!(l.since(t0).as_deref(), Some("t2"));

        // Applying the same changes again changes nothing.
        l.apply(
            changes(false, vec![vm("9", VmState::Running)], &["10"], Some("t2")),
            t0,
        );
        assert_eq!(ids(&l), ["9", "11"]);

        // A full listing replaces the view: what it does not hold is gone.
        l.apply(
            changes(true, vec![vm("11", VmState::Running)], &[], Some("t3")),
            t0,
        );
        assert_eq!(ids(&l), ["11"]);
    }

    #[test]
    fn an_answer_without_a_token_makes_the_next_poll_a_full_listing() {
        let mut l = Listing::new(vec![]);
        let t0 = Instant::now();
        l.apply(changes(true, vec![], &[], None), t0);
        assert_eq!(l.since(t0), None);
        l.apply(changes(true, vec![], &[], Some("t1")), t0);
        l.apply(changes(false, vec![], &[], None), t0);
        assert_eq!(l.since(t0), None);
    }

    #[test]
    fn a_full_listing_comes_every_so_many_polls_and_minutes() {
        let mut l = Listing::new(vec![]);
        let t0 = Instant::now();
        l.apply(changes(true, vec![], &[], Some("t")), t0);
        for _ in 1..FULL_EVERY_POLLS {
            l.apply(changes(false, vec![], &[], Some("t")), t0);
            assert!(l.since(t0).is_some());
        }
        l.apply(changes(false, vec![], &[], Some("t")), t0);
        assert_eq!(
            l.since(t0),
            None,
            "after {FULL_EVERY_POLLS} listings of changes"
        );

        l.apply(changes(true, vec![], &[], Some("t")), t0);
        assert!(l.since(t0 + FULL_EVERY / 2).is_some());
        assert_eq!(l.since(t0 + FULL_EVERY), None, "after {FULL_EVERY:?}");
    }
}
