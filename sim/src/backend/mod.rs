//! Backends: the state and the rules of every service, with no HTTP in sight.
//!
//! [`Backend`] is a cheap, clonable handle around one mutex-protected [`Core`]. Every
//! access first *advances* the state to the current wall-clock time (completing any job
//! whose due time passed), then runs the operation, then — if anything changed and a
//! state file is configured — saves the state atomically. Because jobs are stored as due
//! times, a state saved by one process continues correctly in the next.

pub mod compute;
pub mod identity;
pub mod image;
pub mod model;
pub mod network;
pub mod quota;
pub mod seed;
pub mod volume;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;

use crate::config::{QuotaLimits, SimConfig, SimUser, Timings};
use crate::error::{ApiError, ApiResult};
use crate::persist;
use model::{ImageStatus, ServerStatus, State, TaskKind, Time, VolumeStatus};
use seed::{Flavor, VolumeType};

/// Settings that can change at runtime (admin endpoints) but are not persisted:
/// each process takes them from its own configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Durations of the asynchronous jobs.
    pub timings: Timings,
    /// Known users.
    pub users: Vec<SimUser>,
    /// Limits of projects without an override.
    pub default_quota: QuotaLimits,
    /// Per-project overrides.
    pub project_quotas: BTreeMap<String, QuotaLimits>,
    /// The next N builds fail.
    pub fail_builds: u32,
    /// Builds of servers whose name contains one of these fail.
    pub fail_build_names: Vec<String>,
}

/// The whole mutable world: persisted state, runtime settings, static catalog.
#[derive(Debug)]
pub struct Core {
    /// Persisted resources.
    pub state: State,
    /// Runtime settings.
    pub settings: Settings,
    /// Static flavor catalog.
    pub flavors: Vec<Flavor>,
    /// Static volume types.
    pub volume_types: Vec<VolumeType>,
    /// The current request's clock (set by [`Backend`] before each operation).
    pub now: Time,
    /// Bumped on every change: lets the routes cache serialized views safely.
    pub generation: u64,
}

/// Handle to the simulator's state, shared by the HTTP routes and by tests.
#[derive(Clone, Debug)]
pub struct Backend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    core: Mutex<Core>,
    state_file: Option<PathBuf>,
}

/// Converts a [`Duration`] to a chrono delta (saturating).
pub fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
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
        // A panic while holding the lock cannot leave the state half-written in a way
        // that matters more than refusing service forever, so recover from poisoning.
        self.inner.core.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Deletes every resource and restores the seed state (settings are kept).
    pub fn reset(&self) -> anyhow::Result<()> {
        let mut core = self.lock();
        core.state = seed::fresh_state(Utc::now());
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

impl Core {
    /// A core around `state` with the settings of `config`.
    pub fn new(config: &SimConfig, state: State) -> Self {
        let users = if config.users.is_empty() {
            vec![SimUser::default()]
        } else {
            config.users.clone()
        };
        Core {
            state,
            settings: Settings {
                timings: config.timings,
                users,
                default_quota: config.quotas,
                project_quotas: BTreeMap::new(),
                fail_builds: config.faults.fail_builds,
                fail_build_names: config.faults.fail_build_names.clone(),
            },
            flavors: seed::flavors(),
            volume_types: seed::volume_types(),
            now: Utc::now(),
            generation: 0,
        }
    }

    /// Looks a user up by token.
    pub fn user_by_token(&self, token: &str) -> Option<&SimUser> {
        self.settings.users.iter().find(|u| u.token == token)
    }

    /// A flavor by id (deleted ones included).
    pub fn flavor(&self, id: u64) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == id)
    }

    /// A volume type by id.
    pub fn volume_type(&self, id: u64) -> Option<&VolumeType> {
        self.volume_types.iter().find(|t| t.id == id)
    }

    /// Due time of a job of duration `d` starting now.
    pub fn due(&self, d: Duration) -> Time {
        self.now
            .checked_add_signed(delta(d))
            .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
    }

    /// Completes every job due at or before `now`. Returns whether anything changed.
    pub fn advance(&mut self, now: Time) -> bool {
        self.now = now;
        let mut changed = false;
        let due_servers: Vec<u64> = self
            .state
            .servers
            .values()
            .filter(|s| s.task.is_some_and(|t| t.due <= now))
            .map(|s| s.id)
            .collect();
        for id in due_servers {
            self.complete_server_task(id);
            changed = true;
        }
        let mut unplugged: Vec<(u64, u64, Time)> = Vec::new();
        for v in self.state.volumes.values_mut() {
            if let (Some(due), Some(next)) = (v.due, v.next_status)
                && due <= now
            {
                v.status = next;
                v.next_status = None;
                v.due = None;
                v.updated = due;
                if next == VolumeStatus::Available || next == VolumeStatus::Deleted {
                    if let Some(sid) = v.server_id.take() {
                        unplugged.push((sid, v.id, due));
                    }
                    v.index = None;
                }
                changed = true;
            }
        }
        for (sid, vid, at) in unplugged {
            if let Some(s) = self.state.servers.get_mut(&sid)
                && !s.is_deleted()
            {
                s.volumes.retain(|x| *x != vid);
                s.updated = at;
            }
        }
        for img in self.state.images.values_mut() {
            if let Some(due) = img.due
                && due <= now
            {
                img.due = None;
                if img.status == ImageStatus::Saving {
                    img.status = ImageStatus::Active;
                }
                img.updated = due;
                changed = true;
            }
        }
        for p in self.state.ports.values_mut() {
            if let Some(due) = p.due
                && due <= now
            {
                p.due = None;
                if p.status == "BUILD" {
                    p.status = "ACTIVE".into();
                }
                p.updated = due;
                changed = true;
            }
        }
        changed
    }

    fn complete_server_task(&mut self, id: u64) {
        let Some(server) = self.state.servers.get_mut(&id) else {
            return;
        };
        let Some(task) = server.task.take() else {
            return;
        };
        let at = task.due;
        server.updated = at;
        match task.kind {
            TaskKind::Build => {
                let failed = server.fail_build;
                server.status = if failed {
                    ServerStatus::Error
                } else {
                    ServerStatus::Active
                };
                let (vols, ports) = (server.volumes.clone(), server.ports.clone());
                for v in vols {
                    if let Some(v) = self.state.volumes.get_mut(&v) {
                        v.updated = at;
                        v.due = None;
                        v.next_status = None;
                        v.status = if failed {
                            VolumeStatus::Error
                        } else {
                            VolumeStatus::InUse
                        };
                    }
                }
                for p in ports {
                    if let Some(p) = self.state.ports.get_mut(&p) {
                        p.updated = at;
                        p.due = None;
                        p.status = if failed { "ERROR" } else { "ACTIVE" }.into();
                    }
                }
            }
            TaskKind::Start | TaskKind::Reboot => server.status = ServerStatus::Active,
            TaskKind::Stop => server.status = ServerStatus::Stopped,
            TaskKind::Resize { flavor } => {
                server.flavor_id = flavor;
            }
            TaskKind::AttachVolume | TaskKind::DetachVolume => {}
            TaskKind::Destroy => {
                server.status = ServerStatus::Deleted;
                let (vols, ports) = (server.volumes.clone(), server.ports.clone());
                for vid in vols {
                    if let Some(v) = self.state.volumes.get_mut(&vid) {
                        if v.server_id != Some(id) || v.status == VolumeStatus::Deleted {
                            continue;
                        }
                        v.updated = at;
                        v.due = None;
                        v.next_status = None;
                        if v.delete_on_termination {
                            v.status = VolumeStatus::Deleted;
                        } else {
                            v.status = VolumeStatus::Available;
                            v.server_id = None;
                            v.index = None;
                        }
                    }
                }
                for pid in ports {
                    if let Some(p) = self.state.ports.get_mut(&pid) {
                        p.deleted = true;
                        p.status = "DELETED".into();
                        p.updated = at;
                        p.due = None;
                        if let Some(fid) = p.floating_ip.take()
                            && let Some(f) = self.state.floating_ips.get_mut(&fid)
                        {
                            f.port_id = None;
                            f.updated = at;
                        }
                    }
                }
            }
        }
    }
}
