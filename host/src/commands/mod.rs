//! One module per command, like cargo's `commands/<cmd>.rs`: each has its clap `Args` and an
//! `exec` that turns them into an operation's request (`crate::ops`), reads the user's local
//! files when the operation needs them, and prints the view as text or JSON.

pub mod build_image;
pub mod create_image;
pub mod deploy;
pub mod describe;
pub mod disks;
pub mod flavors;
pub mod images;
pub mod list;
pub mod power;
pub mod progress;
pub mod resize;
pub mod run_image;
pub mod terminate;

use crate::ops::inputs::LocalFiles;
use anyhow::Context;
use clap::Args;
use std::path::Path;

/// How results are printed.
pub struct Output {
    pub json: bool,
}

impl Output {
    /// `value` as pretty JSON with `--output json`, else `text()`.
    pub fn print(&self, value: &impl serde::Serialize, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("views serialize")
            );
        } else {
            println!("{}", text());
        }
    }
}

/// The command line reads the user's files: SSH public keys, files to place on VMs, user data.
pub struct LocalDisk;

impl LocalFiles for LocalDisk {
    fn read(&self, path: &Path, what: &str) -> anyhow::Result<(Vec<u8>, bool)> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read {what} {}", path.display()))?;
        Ok((bytes, is_executable(path)))
    }
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// `--flavor X | --cpu N --ram-mb N [--disk-gb N]`.
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Flavor id or name (e.g. C2R2048D10ext_vlmc)
    #[arg(long, conflicts_with_all = ["cpu", "ram_mb"])]
    pub flavor: Option<String>,
    /// CPUs (with --ram-mb): the smallest fitting flavor is used
    #[arg(long, requires = "ram_mb")]
    pub cpu: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub ram_mb: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub disk_gb: Option<u32>,
}

/// Adds the command line's way of saying it to a size error.
pub fn size_hint(e: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}: use --flavor NAME or --cpu N --ram-mb N")
}
