//! The host's SSH client for recipes (issue #11): log in to a VM with the run's ephemeral key,
//! directly or through a jump host, upload files and run a recipe, streaming its output.
//!
//! The wire contract with the VMs (and okeanos-sim's emulated sshd) is `docs/RECIPES-SSH.md`;
//! everything here also works against a stock OpenSSH sshd (tests/real_sshd.rs proves it).
//!
//! ```no_run
//! # async fn demo() -> Result<(), connector_ssh::Error> {
//! use connector_ssh::{Connector, HostKeys, RunKey, Target};
//! use std::time::Duration;
//! use tokio::time::Instant;
//!
//! let key = RunKey::generate("r-20240501-1")?;
//! // key.public_openssh() goes into the VM spec's ssh-keys.
//! let connector = Connector::new(key, HostKeys::new());
//! let target = Target::new("vm-42", "192.0.2.7".parse().unwrap(), "root");
//! let session = connector.connect(&target, Instant::now() + Duration::from_secs(600)).await?;
//! session.upload("recipe.sh", b"echo hello\n").await?;
//! let mut log = tokio::io::sink();
//! let env = vec![("SLIPSTREAM_NODE".to_string(), "web".to_string())];
//! let timeout = Duration::from_secs(1800);
//! session.run(&env, timeout, &mut log).await?.into_result(timeout)?;
//! # Ok(()) }
//! ```
//!
//! Concurrency is the caller's: every [`Connector::connect`] opens its own connections and
//! nothing in the crate is shared across sessions but the host-key pins.

mod connect;
mod error;
mod hostkeys;
mod key;
pub mod recipe;
mod session;
mod target;

pub use connect::{Connector, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_AUTH_ATTEMPTS};
pub use error::Error;
pub use hostkeys::{HostKeys, Pin};
pub use key::{COMMENT_PREFIX, RunKey};
pub use session::{RunOutcome, Session};
pub use target::{Jump, SSH_PORT, Target, pick_address};
