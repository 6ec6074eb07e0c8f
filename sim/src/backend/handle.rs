//! [`Backend`]: the cheap, clonable handle the routes and the tests share.
//!
//! Every access first *advances* the state to the current wall-clock time (completing
//! any job whose due time passed), then runs the operation, then — if anything changed
//! and a state file is configured — saves the state atomically.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use parking_lot::{Mutex, MutexGuard};

use super::model::{State, TaskKind, VolumeStatus};
use super::persist;
use super::seed;
use super::world::Core;
use crate::config::{QuotaLimits, SimConfig, SimUser, Timings};
use crate::error::{ApiError, ApiResult};

/// Handle to the simulator's state, shared by the HTTP routes and by tests.
#[derive(Clone, Debug)]
pub struct Backend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `parking_lot`'s mutex does not poison: a panicking request cannot leave the state
    /// half-written in a way that matters more than refusing service forever would.
    core: Mutex<Core>,
    state_file: Option<PathBuf>,
}

impl Backend {
    /// Builds the backend, loading the state file when it exists. A corrupt state file is
    /// an error, never a silent reset: the user would lose track of real resources.
    pub fn new(config: &SimConfig) -> anyhow::Result<Self> {
        let now = Utc::now();
        let state = match &config.state_file {
            Some(path) => persist::load(path)?.unwrap_or_else(|| seed::fresh_state(now)),
            None => seed::fresh_state(now),
        };
        let core = Core::new(config, state);
        let backend = Backend {
            inner: Arc::new(Inner {
                core: Mutex::new(core),
                state_file: config.state_file.clone(),
            }),
        };
        backend.save_now()?;
        Ok(backend)
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.inner.core.lock()
    }

    fn save(&self, core: &Core) -> anyhow::Result<()> {
        if let Some(path) = &self.inner.state_file {
            persist::save(path, &core.state)?;
        }
        Ok(())
    }

    /// Saves the state file now (no-op without one).
    pub fn save_now(&self) -> anyhow::Result<()> {
        let core = self.lock();
        self.save(&core)
    }

    /// Runs a read-only operation on the state advanced to now.
    pub fn read<T>(&self, f: impl FnOnce(&Core) -> T) -> T {
        let mut core = self.lock();
        if core.advance(Utc::now()) {
            core.generation += 1;
            if let Err(e) = self.save(&core) {
                tracing::error!("saving state: {e:#}");
            }
        }
        f(&core)
    }

    /// Runs a mutating operation on the state advanced to now, then saves it.
    pub fn write<T>(&self, f: impl FnOnce(&mut Core) -> ApiResult<T>) -> ApiResult<T> {
        let mut core = self.lock();
        let advanced = core.advance(Utc::now());
        let out = f(&mut core);
        core.generation += 1;
        if (advanced || out.is_ok())
            && let Err(e) = self.save(&core)
        {
            return Err(ApiError::Internal(format!("Could not save state: {e:#}")));
        }
        out
    }

    // ---- helpers for tests and admin endpoints -------------------------------------

    /// The next `n` server builds end in ERROR.
    pub fn fail_next_builds(&self, n: u32) {
        self.lock().settings.fail_builds = n;
    }

    /// Builds of servers whose name contains `pattern` end in ERROR.
    pub fn fail_builds_named(&self, pattern: impl Into<String>) {
        self.lock().settings.fail_build_names.push(pattern.into());
    }

    /// Sets how long a VM is ACTIVE before its emulated sshd answers, and how long an
    /// emulated recipe run takes (both apply from now on).
    pub fn set_ssh_times(&self, boot_time: std::time::Duration, recipe_time: std::time::Duration) {
        let mut core = self.lock();
        core.settings.ssh.boot_time = boot_time;
        core.settings.ssh.recipe_time = recipe_time;
    }

    /// Adds a recipe fault rule (the last matching rule decides a run's outcome).
    pub fn add_recipe_fault(&self, rule: crate::ssh::RecipeFault) {
        self.lock().settings.ssh.faults.push(rule);
    }

    /// Removes every recipe fault rule.
    pub fn clear_recipe_faults(&self) {
        self.lock().settings.ssh.faults.clear();
    }

    /// The recipe fault rules.
    pub fn recipe_faults(&self) -> Vec<crate::ssh::RecipeFault> {
        self.lock().settings.ssh.faults.clone()
    }

    /// A server's SSH view: host key, users, uploads, `recipes` and `inherited` records.
    pub fn recipes(&self, server_id: u64) -> ApiResult<serde_json::Value> {
        self.read(|c| c.ssh_recipes_view(server_id))
    }

    /// Replaces the timings of future jobs.
    pub fn set_timings(&self, timings: Timings) {
        self.lock().settings.timings = timings;
    }

    /// Current timings.
    pub fn timings(&self) -> Timings {
        self.lock().settings.timings
    }

    /// Overrides the quota limits of one project.
    pub fn set_project_quota(&self, project: impl Into<String>, limits: QuotaLimits) {
        self.lock()
            .settings
            .project_quotas
            .insert(project.into(), limits);
    }

    /// Replaces the default quota limits.
    pub fn set_default_quota(&self, limits: QuotaLimits) {
        self.lock().settings.default_quota = limits;
    }

    /// Adds a user (its uuid is also its project).
    pub fn add_user(&self, user: SimUser) {
        let mut core = self.lock();
        core.settings.users.retain(|u| u.token != user.token);
        core.settings.users.push(user);
    }

    /// Known users.
    pub fn users(&self) -> Vec<SimUser> {
        self.lock().settings.users.clone()
    }

    /// Deletes every resource and restores the seed state (settings are kept, and so is
    /// the SSH gateway's host key: the gateway keeps running).
    pub fn reset(&self) -> anyhow::Result<()> {
        let mut core = self.lock();
        let gateway_key = core.state.ssh.gateway_key_seed.take();
        core.state = seed::fresh_state(Utc::now());
        core.state.ssh.gateway_key_seed = gateway_key;
        core.passwords.clear();
        core.generation += 1;
        self.save(&core)
    }

    /// A copy of the persisted state, advanced to now.
    pub fn snapshot(&self) -> State {
        self.read(|c| c.state.clone())
    }

    /// Number of servers of `user_uuid` that exist and are not being deleted. A server
    /// whose deletion was accepted counts as gone: it cannot fail to disappear, and
    /// "nothing leaked" checks should not have to wait for the delete job.
    pub fn server_count(&self, user_uuid: &str) -> usize {
        self.read(|c| {
            c.state
                .servers
                .values()
                .filter(|s| {
                    s.user_id == user_uuid
                        && !s.is_deleted()
                        && !s.task.is_some_and(|t| t.kind == TaskKind::Destroy)
                })
                .count()
        })
    }

    /// Number of volumes of `user_uuid` that exist and are not being deleted (including
    /// those of a server being deleted that go with it).
    pub fn volume_count(&self, user_uuid: &str) -> usize {
        self.read(|c| {
            c.state
                .volumes
                .values()
                .filter(|v| {
                    v.user_id == user_uuid
                        && !matches!(v.status, VolumeStatus::Deleted | VolumeStatus::Deleting)
                })
                .count()
        })
    }

    /// Status string of a server (`None` when unknown).
    pub fn server_status(&self, id: u64) -> Option<String> {
        self.read(|c| {
            c.state
                .servers
                .get(&id)
                .map(|s| s.status.as_str().to_string())
        })
    }

    /// Completes every pending job at once, whatever its due time.
    pub fn complete_all_jobs(&self) {
        let mut core = self.lock();
        let far = Utc::now() + chrono::TimeDelta::days(365 * 100);
        core.advance(far);
        core.generation += 1;
        let now = Utc::now();
        core.now = now;
        let _ = self.save(&core);
    }
}
