//! Admission of calls into connectors: at most `max_instances` run at once (each holds a
//! pooled instance slot for its whole duration, waits on the cloud included), at most
//! `max_queued` more wait for a slot, and any call beyond that is refused at once with
//! [`Busy`] — a bounded queue, so a burst costs a clear "try again" rather than unbounded
//! memory and latency.

use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a refused caller is told to wait: a slot frees as soon as any call ends, so a
/// second is plenty without inviting a stampede.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

tokio::task_local! {
    static ANSWER_BUSY: ();
}

/// Runs `work` so that a connector call within it that finds the host full fails at once with
/// [`CallError::Busy`](crate::error::CallError::Busy) instead of being repeated: an API request
/// answers 503 and its caller comes back, rather than waiting behind a queue. Work spawned as
/// its own task (a deployment job) is outside the scope and waits its turn.
pub async fn answering_busy<F: Future>(work: F) -> F::Output {
    ANSWER_BUSY.scope((), work).await
}

/// Whether the current task runs under [`answering_busy`].
pub fn answers_busy() -> bool {
    ANSWER_BUSY.try_with(|_| ()).is_ok()
}

/// The call could not even queue: every slot is taken and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub running: usize,
    pub queued: usize,
}

/// Shared by every connector of a runtime (the instance pool is engine-wide).
pub struct Admission {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    max_running: usize,
    max_queued: usize,
    running_gauge: Gauge,
    queued_gauge: Gauge,
}

/// A held instance slot; dropping it lets the next queued call run.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    running: Gauge,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.dec();
    }
}

impl Admission {
    pub fn new(max_running: usize, max_queued: usize, running: Gauge, queued: Gauge) -> Self {
        Admission {
            slots: Arc::new(Semaphore::new(max_running)),
            queued: AtomicUsize::new(0),
            max_running,
            max_queued,
            running_gauge: running,
            queued_gauge: queued,
        }
    }

    /// A slot now, or after waiting in the bounded queue, or [`Busy`] if the queue is full.
    pub async fn enter(&self) -> Result<Slot, Busy> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(self.slot(permit));
        }
        let position = self.queued.fetch_add(1, Ordering::AcqRel);
        if position >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy {
                running: self.max_running,
                queued: self.max_queued,
            });
        }
        self.queued_gauge.inc();
        // Leaves the queue however the wait ends (the caller may drop this future).
        let queued_gauge = self.queued_gauge.clone();
        scopeguard::defer! {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            queued_gauge.dec();
        }
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the admission semaphore is never closed");
        Ok(self.slot(permit))
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        self.running_gauge.inc();
        Slot {
            _permit: permit,
            running: self.running_gauge.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_running_plus_queued_and_admits_again_when_a_slot_frees() {
        let (running, queued) = (Gauge::default(), Gauge::default());
        let admission = Arc::new(Admission::new(2, 1, running.clone(), queued.clone()));
        let a = admission.enter().await.unwrap();
        let _b = admission.enter().await.unwrap();
        assert_eq!(running.get(), 2);
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.enter().await.map(|_| ()) })
        };
        while queued.get() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            admission.enter().await.err(),
            Some(Busy {
                running: 2,
                queued: 1
            })
        );
        drop(a);
        waiting.await.unwrap().unwrap();
        assert_eq!(queued.get(), 0);
        assert_eq!(running.get(), 1, "the waiter ran and released its slot");
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_queue() {
        let admission = Admission::new(1, 1, Gauge::default(), Gauge::default());
        let _held = admission.enter().await.unwrap();
        let wait = admission.enter();
        let timed_out = tokio::time::timeout(Duration::from_millis(20), wait).await;
        assert!(timed_out.is_err());
        assert_eq!(admission.queued.load(Ordering::Acquire), 0);
        assert_eq!(admission.queued_gauge.get(), 0);
    }
}
