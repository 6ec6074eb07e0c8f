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
pub mod runs;
pub mod terminate;

use crate::ops::inputs::{FileInput, LocalFiles, SizeRequest, SshKey, UserData, VmInputs};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};

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

/// A command about one VM.
#[derive(Debug, Args)]
pub struct VmArg {
    pub vm_id: String,
}

/// A command about one VM that takes an operation's request as flags.
#[derive(Debug, Args)]
pub struct OnVm<R: Args> {
    pub vm_id: String,
    #[command(flatten)]
    pub req: R,
}

/// The image and size of a new VM.
#[derive(Debug, Args)]
pub struct ImageAndSize {
    /// Image id or name
    #[arg(long)]
    pub image: String,
    #[command(flatten)]
    pub size: SizeRequest,
}

/// What a new VM takes from local files: `--ssh-key FILE`, `--file LOCAL=REMOTE`, `--user-data FILE`.
#[derive(Debug, Args)]
pub struct LocalInputArgs {
    /// SSH public key file to install (repeatable)
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_keys: Vec<PathBuf>,
    /// Local file to place on the VM (repeatable)
    #[arg(long = "file", value_name = "LOCAL=REMOTE")]
    pub files: Vec<String>,
    /// Cloud-init user data file
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
}

impl LocalInputArgs {
    /// The inputs as an operation takes them; the files are read when it runs.
    pub fn inputs(&self) -> anyhow::Result<VmInputs> {
        Ok(VmInputs {
            ssh_keys: self.ssh_keys.iter().cloned().map(SshKey::Path).collect(),
            files: self
                .files
                .iter()
                .map(|p| FileInput::parse_pair(p, Path::new(".")))
                .collect::<anyhow::Result<_>>()?,
            user_data: self.user_data.clone().map(UserData::File),
        })
    }
}

/// A recipe to run over SSH on the VM once it runs: `--recipe FILE`, `--recipe-user`, …
#[derive(Debug, Args)]
pub struct RecipeArgs {
    /// Local script the VM runs over SSH once it runs (the run fails if it fails)
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Login user of the recipe [default: root]
    #[arg(long, value_name = "USER", requires = "recipe")]
    pub recipe_user: Option<String>,
    /// How long the recipe may run [default: 30m]
    #[arg(long, value_parser = humantime::parse_duration, requires = "recipe")]
    pub recipe_timeout: Option<std::time::Duration>,
    /// Environment of the recipe (repeatable)
    #[arg(long = "recipe-env", value_name = "KEY=VALUE", requires = "recipe")]
    pub recipe_env: Vec<String>,
}

impl RecipeArgs {
    pub fn fields(&self) -> anyhow::Result<crate::recipes::RecipeFields> {
        let recipe_env = self
            .recipe_env
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| anyhow::anyhow!("--recipe-env `{p}` is not KEY=VALUE"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(crate::recipes::RecipeFields {
            recipe: self.recipe.clone().map(crate::recipes::RecipeSource::File),
            recipe_user: self.recipe_user.clone(),
            recipe_timeout: self.recipe_timeout,
            recipe_env,
        })
    }
}

/// Checks a size, adding the command line's way of saying it to the error.
pub fn check_size(size: &SizeRequest) -> anyhow::Result<()> {
    size.size()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{e}: use --flavor NAME or --cpu N --ram-mb N"))
}
