//! [`Core`]: the whole mutable world (persisted state, runtime settings, static catalog)
//! and its clock. Each resource module adds its rules to `Core` in its own `impl` block.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;

use super::model::{State, Time};
use super::seed::{self, Flavor, VolumeType};
use crate::config::{QuotaLimits, SimConfig, SimUser, Timings};

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
    /// Boot and recipe times, recipe fault rules.
    pub ssh: crate::ssh::SshSettings,
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
    /// The current request's clock (set by the backend handle before each operation).
    pub now: Time,
    /// When this world was made (the creation date of its projects).
    pub started: Time,
    /// Bumped on every change: lets the routes cache serialized views safely.
    pub generation: u64,
    /// api/util.py `VM_PASSWORD_CACHE`: each new server's password, kept by
    /// app_settings/default/api.py's `LocMemCache` — in this process only, never persisted.
    pub passwords: BTreeMap<u64, String>,
}

/// The field of an update: `value` when the request gives one, else as it was.
pub fn set_given<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// Converts a [`Duration`] to a chrono delta (saturating).
pub fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
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
                ssh: crate::ssh::SshSettings {
                    boot_time: config.ssh_boot_time,
                    recipe_time: config.recipe_time,
                    faults: Vec::new(),
                },
            },
            flavors: seed::flavors(),
            volume_types: seed::volume_types(),
            now: Utc::now(),
            started: Utc::now(),
            generation: 0,
            passwords: BTreeMap::new(),
        }
    }

    /// Looks a user up by token.
    pub fn user_by_token(&self, token: &str) -> Option<&SimUser> {
        self.settings.users.iter().find(|u| u.token == token)
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
}
