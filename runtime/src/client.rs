//! Typed calls into a connector: one method per WIT operation, each in a fresh instance,
//! repeated under the [`RetryPolicy`] where that is safe ([`Repeat`]).

use crate::bindings::types::{
    ConnectorInfo, Disk, Flavor, Image, Quota, ResizePlan, Size, Tag, Vm, VmChanges, VmSpec,
    VmState,
};
use crate::build_clock::BuildClock;
use crate::engine::Connector;
use crate::error::{CallError, ErrorKind};
use crate::metrics::CallLabels;
use crate::retry::{Repeat, RetryPolicy, is_transient};
use tokio::time::Instant;

/// A cheap, cloneable handle to call a connector's operations.
#[derive(Clone)]
pub struct Client {
    connector: Connector,
    retry: RetryPolicy,
}

/// Generates a method calling the guest export of the same name (`get_vm` → WIT `get-vm`)
/// with the method's arguments. A delete's value when a repeat finds the thing gone is `()`;
/// other operations have none.
macro_rules! op {
    ($(#[$doc:meta])* $name:ident [Delete] $($rest:tt)*) => {
        op!(@ $(#[$doc])* $name [Delete] (Some(())) $($rest)*);
    };
    ($(#[$doc:meta])* $name:ident [Action] (id: String $(, $arg:ident : $ty:ty)*) -> ()) => {
        $(#[$doc])*
        pub async fn $name(&self, id: String $(, $arg: $ty)*) -> Result<(), CallError> {
            let (result, attempts) = self.attempts(stringify!($name), Repeat::Action, None, || {
                self.connector.call(stringify!($name), (id.clone() $(, $arg)*,))
            })
            .await;
            self.reconcile_action(stringify!($name), &id, result, attempts).await
        }
    };
    ($(#[$doc:meta])* $name:ident [$repeat:ident] $($rest:tt)*) => {
        op!(@ $(#[$doc])* $name [$repeat] (None) $($rest)*);
    };
    (@ $(#[$doc:meta])* $name:ident [$repeat:ident] ($gone:expr) ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret, CallError> {
            self.attempts(stringify!($name), Repeat::$repeat, $gone, || {
                self.connector.call(stringify!($name), ($(Clone::clone(&$arg),)*))
            })
            .await
            .0
        }
    };
}

/// How long the cloud asked to wait before the next attempt, if it said.
fn asked_wait(e: &CallError) -> std::time::Duration {
    match e {
        CallError::Cloud(c) => c.retry_after.unwrap_or_default(),
        CallError::Busy { retry_after, .. } => *retry_after,
        _ => std::time::Duration::ZERO,
    }
}

impl Client {
    pub fn new(connector: Connector) -> Self {
        Client {
            connector,
            retry: RetryPolicy::default(),
        }
    }

    /// What the host has learned of this connector's cloud's build times.
    pub fn build_clock(&self) -> &BuildClock {
        self.connector.build_clock()
    }

    /// The same connector under another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Runs `call`, repeating it on transient errors as `repeat` allows, within the policy's
    /// budgets; returns the outcome and how many attempts it took. Every repeat is logged at
    /// debug level and counted in the metrics.
    async fn attempts<T, F, Fut>(
        &self,
        op: &'static str,
        repeat: Repeat,
        gone: Option<T>,
        mut call: F,
    ) -> (Result<T, CallError>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let policy = self.retry;
        // A call the host had no room for never started: even a create may be repeated,
        // unless the caller wants to hear "busy" at once (an API request).
        let may_repeat = |e: &CallError| match e {
            CallError::Busy { .. } => !crate::admission::answers_busy(),
            _ => repeat != Repeat::Never,
        };
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let result = call().await;
            attempt += 1;
            match result {
                // Gone on a repeat: the earlier attempt deleted it.
                Err(e) if attempt > 1 && e.is_not_found() && gone.is_some() => {
                    return (Ok(gone.expect("checked")), attempt);
                }
                Err(e)
                    if is_transient(&e)
                        && may_repeat(&e)
                        && attempt < policy.max_attempts
                        && started.elapsed() + asked_wait(&e) < policy.budget =>
                {
                    // The cloud's own `Retry-After` is a floor under the back-off.
                    let delay = policy.delay(attempt - 1).max(asked_wait(&e));
                    tracing::debug!(
                        connector = self.connector.name(),
                        op,
                        attempt,
                        "{e}; repeating in {delay:?}"
                    );
                    self.connector
                        .metrics()
                        .retries
                        .get_or_create(&CallLabels {
                            connector: self.connector.name().to_string(),
                            op: op.to_string(),
                        })
                        .inc();
                    tokio::time::sleep(delay).await;
                }
                other => return (other, attempt),
            }
        }
    }

    /// A power action refused on a repeat may have been carried out by an earlier attempt whose
    /// answer was lost: the VM's state decides.
    async fn reconcile_action(
        &self,
        op: &'static str,
        id: &str,
        result: Result<(), CallError>,
        attempts: u32,
    ) -> Result<(), CallError> {
        let refused = matches!(
            result.as_ref().map_err(CallError::kind),
            Err(Some(ErrorKind::Invalid | ErrorKind::Conflict))
        );
        if attempts == 1 || !refused {
            return result;
        }
        let vm = self.get_vm(id.to_string()).await?;
        let done = match op {
            "start_vm" => vm.state == VmState::Running,
            "stop_vm" => vm.state == VmState::Stopped,
            _ => matches!(vm.state, VmState::Running | VmState::Rebooting),
        };
        if done || vm.task.is_some() {
            tracing::debug!(
                op,
                id,
                "a repeat was refused, but an earlier attempt did it"
            );
            return Ok(());
        }
        result
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    pub async fn info(&self) -> Result<ConnectorInfo, CallError> {
        self.connector.info().await
    }

    op!(list_flavors [Read] () -> Vec<Flavor>);
    op!(resolve_size [Read] (size: Size) -> Flavor);
    op!(list_images [Read] () -> Vec<Image>);
    op!(get_image [Read] (image: String) -> Image);
    op!(delete_image [Delete] (id: String) -> ());
    op!(set_image_public [Read] (id: String, public: bool) -> ());
    op!(create_image [Never] (vm_id: String, name: String) -> Image);
    op!(
        /// Never repeated here: an unclear create is reconciled by looking its VM up (see
        /// `orchestrate`), not by creating again blindly.
        create_vm [Never] (spec: VmSpec) -> Vm
    );
    op!(get_vm [Read] (id: String) -> Vm);
    op!(
        /// What changed among the VMs carrying `tags` since an earlier answer's `as-of`
        /// (everything when `since` is none); [`crate::orchestrate::listing`] merges it.
        list_vms_changed [Read] (tags: Vec<Tag>, since: Option<String>) -> VmChanges
    );

    /// Every VM carrying all `tags`, in one listing call: the full listing of
    /// [`Client::list_vms_changed`] (the connector interface has no other).
    pub async fn list_vms(&self, tags: Vec<Tag>) -> Result<Vec<Vm>, CallError> {
        self.list_vms_changed(tags, None).await.map(|c| c.vms)
    }
    op!(delete_vm [Delete] (id: String) -> ());
    op!(
        /// Setting a tag to a value is idempotent: repeated like a read.
        set_vm_tag [Read] (id: String, key: String, value: String) -> ()
    );
    op!(start_vm [Action] (id: String) -> ());
    op!(stop_vm [Action] (id: String) -> ());
    op!(reboot_vm [Action] (id: String, hard: bool) -> ());
    op!(plan_resize [Read] (id: String, size: Size) -> ResizePlan);
    op!(resize_vm [Never] (id: String, flavor_id: String) -> ());
    op!(list_disks [Read] (vm_id: Option<String>) -> Vec<Disk>);
    op!(get_disk [Read] (id: String) -> Disk);
    op!(attach_disk [Never] (vm_id: String, size_gb: u32, name: String) -> Disk);
    op!(detach_disk [Never] (vm_id: String, disk_id: String) -> ());
    op!(delete_disk [Delete] (disk_id: String) -> ());
    op!(project_quota [Read] () -> Quota);
}
