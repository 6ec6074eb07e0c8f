//! SSH for the simulated VMs: a gateway (the cloud's bastion) that forwards
//! `direct-tcpip` channels to an emulated sshd per VM — which never executes anything.
//!
//! The wire contract is docs/RECIPES-SSH.md. [`gateway`] accepts connections, [`vm`]
//! runs one VM's sshd over a forwarded channel, [`commands`] parses the two commands
//! it understands, [`world`] holds the rules on the simulated world (addresses, boot
//! time, records), [`records`] the persisted data and [`faults`] the recipe fault rules.

pub mod commands;
pub mod faults;
pub mod gateway;
pub mod records;
pub mod vm;
pub mod world;

pub use faults::{RecipeFault, SshSettings};
pub use gateway::Gateway;
pub use records::{RecipeRecord, RecipeStatus, SshState, UploadedFile, VmSsh};
