//! Fresh instances made ahead of their calls.
//!
//! Every call runs in an instance no other call has run in, so nothing one call leaves in the
//! guest's memory reaches the next. Making one (store, linking, memory image) takes longer than
//! a short call itself, so a connector keeps a few such instances ready: a call takes one and a
//! background task makes its replacement. Instantiation thus leaves the call's path whenever
//! calls come slower than instances are made; under load the stock is empty and calls
//! instantiate inline, as they would without it.
//!
//! Tearing an instance down (resetting its memory slot) goes the same way: a finished call
//! hands its store to the stock, and the background task drops it before making new ones.

use crate::state::HostState;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use wasmtime::Store;
use wasmtime::component::Instance;

/// The pool slots set aside for ready instances, shared by every connector of a runtime (the
/// pool holds this many slots beyond the calls' own).
pub(crate) struct Reserve {
    free: AtomicUsize,
}

impl Reserve {
    pub(crate) fn new(slots: usize) -> Arc<Reserve> {
        Arc::new(Reserve {
            free: AtomicUsize::new(slots),
        })
    }

    fn hold(self: &Arc<Self>) -> Option<Held> {
        self.free
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| Held(self.clone()))
    }
}

/// One reserved slot, given back when the ready instance is taken or dropped.
struct Held(Arc<Reserve>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.free.fetch_add(1, Ordering::AcqRel);
    }
}

/// An instance no call has run in, with its store.
struct Ready {
    store: Store<HostState>,
    instance: Instance,
    _held: Held,
}

/// A connector's ready instances, and the used ones waiting to be torn down.
pub(crate) struct Stock {
    ready: Mutex<Vec<Ready>>,
    used: Mutex<Vec<(Store<HostState>, Held)>>,
    target: usize,
    refilling: AtomicBool,
    reserve: Arc<Reserve>,
}

impl Stock {
    /// A stock of up to `target` instances, within `reserve`.
    pub(crate) fn new(target: usize, reserve: Arc<Reserve>) -> Stock {
        Stock {
            ready: Mutex::new(Vec::with_capacity(target)),
            used: Mutex::new(Vec::new()),
            target,
            refilling: AtomicBool::new(false),
            reserve,
        }
    }

    /// A ready instance, if there is one. Its reserved slot is given back: the instance now
    /// belongs to a call, which the admission bound counts.
    pub(crate) fn take(&self) -> Option<(Store<HostState>, Instance)> {
        let Ready {
            store, instance, ..
        } = self.ready.lock().pop()?;
        Some((store, instance))
    }

    /// How many instances are ready now.
    pub(crate) fn len(&self) -> usize {
        self.ready.lock().len()
    }

    /// Whether a refill should start now: the stock is below its target or has used stores to
    /// drop, and no refill runs. The caller then runs one ([`Stock::drop_used`], then
    /// [`Stock::slot`] and [`Stock::put`] while there is room) and ends it with
    /// [`Stock::end_refill`].
    pub(crate) fn begin_refill(&self) -> bool {
        (self.wants_more() || !self.used.lock().is_empty())
            && !self.refilling.swap(true, Ordering::AcqRel)
    }

    /// Keeps a finished call's store for the background task to drop, if the reserve has a
    /// slot for it (the store holds its pool slot until dropped); else gives it back, for the
    /// caller to drop now.
    pub(crate) fn retire(&self, store: Store<HostState>) -> Option<Store<HostState>> {
        if self.target == 0 {
            return Some(store);
        }
        match self.reserve.hold() {
            Some(held) => {
                self.used.lock().push((store, held));
                None
            }
            None => Some(store),
        }
    }

    /// Drops the used stores (their slots return to the pool and the reserve).
    pub(crate) fn drop_used(&self) {
        let used = std::mem::take(&mut *self.used.lock());
        drop(used);
    }

    pub(crate) fn end_refill(&self) {
        self.refilling.store(false, Ordering::Release);
    }

    fn wants_more(&self) -> bool {
        self.ready.lock().len() < self.target
    }

    /// A reserved slot for one more instance, if the stock wants one and the reserve has room.
    pub(crate) fn slot(&self) -> Option<Slot> {
        if !self.wants_more() {
            return None;
        }
        self.reserve.hold().map(Slot)
    }

    /// Adds an instance made in `slot`.
    pub(crate) fn put(&self, slot: Slot, store: Store<HostState>, instance: Instance) {
        self.ready.lock().push(Ready {
            store,
            instance,
            _held: slot.0,
        });
    }
}

/// A slot of the reserve, held while an instance for the stock is made.
pub(crate) struct Slot(Held);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_shared_and_given_back() {
        let reserve = Reserve::new(2);
        let a = Stock::new(2, reserve.clone());
        let b = Stock::new(2, reserve.clone());
        let first = a.slot().expect("room");
        let second = b.slot().expect("room");
        assert!(a.slot().is_none(), "the reserve is spent across connectors");
        drop(first);
        assert!(b.slot().is_some(), "a dropped slot is given back");
        drop(second);
        assert_eq!(reserve.free.load(Ordering::Acquire), 2);
    }

    #[test]
    fn one_refill_at_a_time_and_none_when_full() {
        let stock = Stock::new(1, Reserve::new(4));
        assert!(stock.begin_refill());
        assert!(!stock.begin_refill(), "a refill already runs");
        stock.end_refill();
        assert!(stock.begin_refill());
        stock.end_refill();
        let empty = Stock::new(0, Reserve::new(4));
        assert!(!empty.begin_refill(), "a stock of 0 never refills");
        assert!(empty.slot().is_none());
    }

    #[test]
    fn used_stores_wait_only_within_the_reserve() {
        let engine = wasmtime::Engine::default();
        let store = || Store::new(&engine, crate::state::HostState::for_tests());
        let reserve = Reserve::new(1);
        let stock = Stock::new(2, reserve.clone());
        assert!(stock.retire(store()).is_none(), "kept for the background");
        assert!(
            stock.retire(store()).is_some(),
            "no slot left: dropped by the caller"
        );
        assert!(stock.begin_refill(), "a used store makes work");
        stock.drop_used();
        stock.end_refill();
        assert_eq!(reserve.free.load(Ordering::Acquire), 1, "its slot is back");
        let none = Stock::new(0, Reserve::new(1));
        assert!(
            none.retire(store()).is_some(),
            "warm_instances = 0: torn down inline"
        );
    }
}
