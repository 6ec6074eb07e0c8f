//! Backends: the state and the rules of every service, with no HTTP in sight.
//!
//! [`Backend`] is a cheap, clonable handle around one mutex-protected [`Core`]. Every
//! access first *advances* the state to the current wall-clock time (completing any job
//! whose due time passed), then runs the operation, then — if anything changed and a
//! state file is configured — saves the state atomically. Because jobs are stored as due
//! times, a state saved by one process continues correctly in the next.
//!
//! Like moto, one module per resource, each adding its rules to [`Core`]: the world and
//! its clock ([`world`], [`jobs`], [`handle`], [`persist`]), shared lookups
//! ([`lookup`]), then [`flavors`], [`images`], [`servers`], [`server_create`],
//! [`server_actions`], [`metadata`], [`attachments`], [`keypairs`], [`volumes`],
//! [`snapshots`], [`networks`], [`ports`], [`floating_ips`], [`quota`] and
//! [`identity`]. This module only declares them.

pub mod account;
pub mod attachments;
pub mod flavors;
pub mod floating_ips;
pub mod handle;
pub mod identity;
pub mod images;
pub mod jobs;
pub mod keypairs;
pub mod lookup;
pub mod metadata;
pub mod model;
pub mod networks;
pub mod persist;
pub mod ports;
pub mod quota;
pub mod seed;
pub mod server_actions;
pub mod server_create;
pub mod servers;
pub mod snapshots;
pub mod volumes;
pub mod world;

#[cfg(test)]
mod tests;

pub use handle::Backend;
pub use world::{Core, Settings, delta};
