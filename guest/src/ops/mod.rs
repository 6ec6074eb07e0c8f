//! The connector operations: each validates its input, makes the Synnefo calls and maps the
//! answer. The WIT exports in `lib.rs` only load the configuration and delegate here.
//!
//! One module per resource; `validate` holds the id checks they share, so that a bad id is
//! refused before any call.

mod disks;
mod flavors;
mod images;
mod lookup;
mod quota;
mod resize;
mod validate;
mod vms;

pub use disks::*;
pub use flavors::*;
pub use images::*;
pub use lookup::*;
pub use quota::*;
pub use resize::*;
pub use validate::*;
pub use vms::*;

/// The operation names of the `connector` interface this connector implements.
pub const CAPABILITIES: [&str; 24] = [
    "list-flavors",
    "resolve-size",
    "list-images",
    "get-image",
    "delete-image",
    "set-image-public",
    "create-image",
    "create-vm",
    "get-vm",
    "list-vms-changed",
    "delete-vm",
    "set-vm-tag",
    "start-vm",
    "stop-vm",
    "reboot-vm",
    "plan-resize",
    "resize-vm",
    "list-disks",
    "get-disk",
    "attach-disk",
    "detach-disk",
    "delete-disk",
    "project-quota",
    "info",
];

#[cfg(test)]
mod tests;
