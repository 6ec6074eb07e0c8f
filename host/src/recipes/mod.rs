//! Recipes: scripts the host runs over SSH on a run's VMs once they all run — a deployment's
//! node groups, `run-image --recipe`, and the builder VM of `build-image --recipe` (before its
//! snapshot). The host owns SSH, so any connector's VMs are configured the same way; the wire
//! contract is `docs/RECIPES-SSH.md`, the client is the `connector-ssh` crate.
//!
//! Per run an ephemeral Ed25519 key is made: its public half goes to the VMs through the
//! connector's `ssh-keys` (next to the user's keys), its private half stays in the run's
//! directory (mode 0600) until the run is terminated. The user's private keys are never read.

mod run;

pub use run::{RecipeReport, RecipeRun};

use anyhow::Context;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default login user of a recipe.
pub const DEFAULT_USER: &str = "root";
/// Default time a recipe may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Where a recipe's script comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RecipeSource {
    /// A local file (the command line; relative to the deployment file).
    File(PathBuf),
    /// The script itself (the API, or `recipe_script` in a deployment).
    Inline(String),
}

impl<'de> Deserialize<'de> for RecipeSource {
    /// In an API body, a recipe is the script's text.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(RecipeSource::Inline)
    }
}

/// A recipe as the user gives it, before its file is read.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeRequest {
    pub source: RecipeSource,
    pub user: Option<String>,
    pub timeout: Option<Duration>,
    pub env: BTreeMap<String, String>,
}

/// The recipe fields of a one-VM request (`run-image`, `build-image`): in the API, `recipe` is
/// the script's text; the command line's `--recipe FILE` names a local file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RecipeFields {
    pub recipe: Option<RecipeSource>,
    pub recipe_user: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub recipe_timeout: Option<Duration>,
    #[serde(default)]
    pub recipe_env: BTreeMap<String, String>,
}

impl RecipeFields {
    /// The recipe asked for, if any; its options without it are an error.
    pub fn request(&self) -> anyhow::Result<Option<RecipeRequest>> {
        let Some(source) = self.recipe.clone() else {
            if self.recipe_user.is_some()
                || self.recipe_timeout.is_some()
                || !self.recipe_env.is_empty()
            {
                anyhow::bail!("recipe_user, recipe_timeout and recipe_env need a recipe");
            }
            return Ok(None);
        };
        Ok(Some(RecipeRequest {
            source,
            user: self.recipe_user.clone(),
            timeout: self.recipe_timeout,
            env: self.recipe_env.clone(),
        }))
    }

    /// The recipe run of a one-VM run `run_id` (its node is `vm`), if a recipe was asked for.
    pub fn run(
        &self,
        ssh: &Arc<SshContext>,
        read: &dyn Fn(&Path) -> anyhow::Result<Vec<u8>>,
        run_id: &str,
    ) -> anyhow::Result<Option<Arc<RecipeRun>>> {
        let Some(request) = self.request()? else {
            return Ok(None);
        };
        let recipe = request.resolve(read)?;
        let recipes = BTreeMap::from([("vm".to_string(), recipe)]);
        Ok(Some(Arc::new(RecipeRun::new(
            ssh.clone(),
            run_id,
            recipes,
            None,
        )?)))
    }
}

/// A recipe ready to run.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// What the user calls it (its file name), for messages.
    pub name: String,
    pub script: Vec<u8>,
    pub user: String,
    pub timeout: Duration,
    pub env: BTreeMap<String, String>,
}

impl RecipeRequest {
    /// Reads the script (a file through `read`: the command line reads it, the server refuses)
    /// and checks names and values.
    pub fn resolve(
        &self,
        read: &dyn Fn(&Path) -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<Recipe> {
        let (name, script) = match &self.source {
            RecipeSource::Inline(text) => ("inline recipe".to_string(), text.clone().into_bytes()),
            RecipeSource::File(path) => (
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string()),
                read(path)?,
            ),
        };
        if script.is_empty() {
            anyhow::bail!("recipe {name} is empty");
        }
        let user = self.user.clone().unwrap_or_else(|| DEFAULT_USER.into());
        if user.is_empty()
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            anyhow::bail!("recipe_user {user:?} is not a plain user name");
        }
        for key in self.env.keys() {
            if key.starts_with("SLIPSTREAM_") {
                anyhow::bail!("recipe_env {key}: names starting with SLIPSTREAM_ are the host's");
            }
        }
        connector_ssh::recipe::run_command(
            &self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| anyhow::anyhow!("recipe_env: {e}"))?;
        Ok(Recipe {
            name,
            script,
            user,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            env: self.env.clone(),
        })
    }
}

/// The SSH side of the host: `[ssh]` settings and the bound on sessions, one per process.
#[derive(Debug)]
pub struct SshContext {
    /// The jump host every VM is reached through (`[ssh] jump`, or the embedded simulator's
    /// gateway); a deployment may name its own.
    pub jump: Option<connector_ssh::Jump>,
    /// How long a VM's sshd may take to answer after the VM runs.
    pub reach_timeout: Duration,
    /// Where each run keeps its key and its recipe logs (`<runs_dir>/<run id>/`).
    pub runs_dir: PathBuf,
    /// At most `[ssh] concurrency` recipe sessions at once, across runs.
    pub sessions: Arc<tokio::sync::Semaphore>,
}

impl SshContext {
    pub fn new(
        config: &crate::config::SshConfig,
        default_jump: Option<&str>,
    ) -> anyhow::Result<Self> {
        let jump = match config.jump.as_deref().or(default_jump) {
            Some(j) => Some(connector_ssh::Jump::parse(j).context("[ssh] jump")?),
            None => None,
        };
        Ok(SshContext {
            jump,
            reach_timeout: config.reach_timeout,
            runs_dir: config.runs_dir.clone().unwrap_or_else(default_runs_dir),
            sessions: Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1))),
        })
    }

    /// The directory of a run's key and logs.
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.runs_dir.join(run_id)
    }

    /// Deletes a run's private key (its VMs are gone); its logs stay.
    pub fn forget_run_key(&self, run_id: &str) {
        let key = run::key_path(&self.run_dir(run_id));
        match std::fs::remove_file(&key) {
            Ok(()) => tracing::debug!("deleted the key of run {run_id}"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot delete {}: {e}", key.display()),
        }
    }
}

/// `~/.local/state/connector-host/runs`.
pub fn default_runs_dir() -> PathBuf {
    crate::config::state_dir().join("runs")
}

/// The log file of one VM of a run.
pub fn log_path(run_dir: &Path, node: &str, index: u32) -> PathBuf {
    run_dir.join(format!("{node}-{index}.log"))
}
