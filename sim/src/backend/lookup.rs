//! The two questions every resource answers the same way, written once: "the record
//! `id` of this user, else 404" and "does a list show this record".

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Display;

use super::model::{FloatingIp, Image, ImageStatus, Network, Server, Time, Volume, VolumeStatus};
use crate::error::{ApiError, ApiResult};

/// Synnefo's 404 for an unknown id, `"<What> <id> not found"`. A record of another user
/// gets the very same answer, so probing ids tells nothing about other users.
pub fn not_found(what: &str, id: impl Display) -> ApiError {
    ApiError::not_found(format!("{what} {id} not found"))
}

/// The record `id` of `map` when `mine` accepts it, else [`not_found`].
pub fn find<'a, K, Q, T>(
    map: &'a BTreeMap<K, T>,
    id: &Q,
    what: &str,
    mine: impl Fn(&T) -> bool,
) -> ApiResult<&'a T>
where
    K: Borrow<Q> + Ord,
    Q: Ord + Display + ?Sized,
{
    map.get(id)
        .filter(|t| mine(t))
        .ok_or_else(|| not_found(what, id))
}

/// [`find`], for changing the record.
pub fn find_mut<'a, K, Q, T>(
    map: &'a mut BTreeMap<K, T>,
    id: &Q,
    what: &str,
    mine: impl Fn(&T) -> bool,
) -> ApiResult<&'a mut T>
where
    K: Borrow<Q> + Ord,
    Q: Ord + Display + ?Sized,
{
    match map.get_mut(id) {
        Some(t) if mine(t) => Ok(t),
        _ => Err(not_found(what, id)),
    }
}

/// A record that lists show: when it last changed, and whether it is gone.
pub trait Listed {
    /// Last change.
    fn updated(&self) -> Time;
    /// Deleted (kept readable, hidden from plain lists).
    fn gone(&self) -> bool;
}

/// Whether a list shows `r`. Without `since`, the live records; with `changes-since`,
/// every record changed since then, deleted ones included, so pollers see deletions.
pub fn listed(r: &impl Listed, since: Option<Time>) -> bool {
    match since {
        Some(t) => r.updated() >= t,
        None => !r.gone(),
    }
}

/// The records of one user that a list shows (see [`listed`]), in id order.
pub struct Listing<'a, T> {
    records: std::collections::btree_map::Values<'a, u64, T>,
    user: &'a str,
    since: Option<Time>,
    mine: fn(&T, &str) -> bool,
}

impl<'a, T> Listing<'a, T> {
    /// The records of `map` that `mine` says belong to `user`, filtered by [`listed`].
    pub fn new(
        map: &'a BTreeMap<u64, T>,
        user: &'a str,
        since: Option<Time>,
        mine: fn(&T, &str) -> bool,
    ) -> Self {
        Listing {
            records: map.values(),
            user,
            since,
            mine,
        }
    }
}

impl<'a, T: Listed> Iterator for Listing<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let (user, since, mine) = (self.user, self.since, self.mine);
        self.records.find(|r| mine(r, user) && listed(*r, since))
    }
}

/// Every listed record keeps an `updated` field; they differ only in how they say "gone".
macro_rules! listed {
    ($($record:ty => $gone:expr;)*) => {$(
        impl Listed for $record {
            fn updated(&self) -> Time {
                self.updated
            }
            fn gone(&self) -> bool {
                let gone: fn(&$record) -> bool = $gone;
                gone(self)
            }
        }
    )*};
}

listed! {
    Server => Server::is_deleted;
    Image => |i| i.status == ImageStatus::Deleted;
    Volume => |v| v.status == VolumeStatus::Deleted;
    Network => |n| n.deleted;
    FloatingIp => |f| f.deleted;
}
