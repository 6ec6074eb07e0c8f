//! Configuration of a simulator instance: timings, users, quotas, faults, TLS.
//!
//! Everything here is plain data with a sensible [`Default`], so tests can write
//! `SimConfig { timings: Timings::instant(), ..Default::default() }` and the binary
//! maps its command-line flags onto the same fields.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default user's token. The host embeds the simulator with this token when no
/// cloud is configured, so it is a stable, documented constant.
pub const DEFAULT_TOKEN: &str = "okeanos-sim-token-0000";
/// The default user's uuid (also its default project).
pub const DEFAULT_USER_UUID: &str = "11111111-2222-4333-8444-555555555555";
/// The default user's real name.
pub const DEFAULT_USER_NAME: &str = "Simulated User";

/// Everything a simulator instance needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Load state from this file at start if it exists (a corrupt file is an error,
    /// never a silent reset) and save it atomically after every mutation.
    pub state_file: Option<PathBuf>,
    /// Durations of the asynchronous transitions.
    pub timings: Timings,
    /// Known users; the first one is "the" user of `RunningSim::token`.
    pub users: Vec<SimUser>,
    /// Quota limits applied to every project that has no explicit override.
    pub quotas: QuotaLimits,
    /// Fault injection (none by default).
    pub faults: FaultConfig,
    /// Serve HTTPS with a generated self-signed certificate.
    pub tls: Option<TlsConfig>,
    /// Seed of the fault-injection random generator, for reproducible runs.
    pub seed: u64,
    /// Serve the SSH gateway (the VMs' bastion, docs/RECIPES-SSH.md) on this address
    /// (port 0 picks a free port); `None`: no SSH.
    pub ssh_listen: Option<SocketAddr>,
    /// How long a VM is ACTIVE before its emulated sshd answers.
    pub ssh_boot_time: Duration,
    /// How long an emulated recipe run takes.
    pub recipe_time: Duration,
}

/// Default [`SimConfig::ssh_boot_time`].
pub const DEFAULT_SSH_BOOT_TIME: Duration = Duration::from_secs(3);
/// Default [`SimConfig::recipe_time`].
pub const DEFAULT_RECIPE_TIME: Duration = Duration::from_secs(2);

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            state_file: None,
            timings: Timings::default(),
            users: vec![SimUser::default()],
            quotas: QuotaLimits::default(),
            faults: FaultConfig::default(),
            tls: None,
            seed: 0,
            ssh_listen: None,
            ssh_boot_time: DEFAULT_SSH_BOOT_TIME,
            recipe_time: DEFAULT_RECIPE_TIME,
        }
    }
}

/// How long each asynchronous job takes. Transitions are evaluated lazily against
/// wall-clock time, so they survive a save/reload of the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// BUILD → ACTIVE.
    #[serde(with = "millis")]
    pub build: Duration,
    /// STOPPED → ACTIVE.
    #[serde(with = "millis")]
    pub start: Duration,
    /// ACTIVE → STOPPED.
    #[serde(with = "millis")]
    pub stop: Duration,
    /// REBOOT → ACTIVE.
    #[serde(with = "millis")]
    pub reboot: Duration,
    /// Resize of a stopped server.
    #[serde(with = "millis")]
    pub resize: Duration,
    /// Server deletion (DESTROYING → DELETED).
    #[serde(with = "millis")]
    pub delete: Duration,
    /// Volume create / attach / detach / delete.
    #[serde(with = "millis")]
    pub volume: Duration,
    /// Snapshot CREATING → AVAILABLE.
    #[serde(with = "millis")]
    pub snapshot: Duration,
}

impl Timings {
    /// Every transition takes `d`.
    pub fn uniform(d: Duration) -> Self {
        Timings {
            build: d,
            start: d,
            stop: d,
            reboot: d,
            resize: d,
            delete: d,
            volume: d,
            snapshot: d,
        }
    }

    /// Every transition completes at once (the next read sees the final state).
    pub fn instant() -> Self {
        Self::uniform(Duration::ZERO)
    }
}

impl Default for Timings {
    /// Roughly the pace of the real service, scaled down so that a demo stays snappy.
    fn default() -> Self {
        Timings {
            build: Duration::from_secs(10),
            start: Duration::from_secs(3),
            stop: Duration::from_secs(3),
            reboot: Duration::from_secs(3),
            resize: Duration::from_secs(3),
            delete: Duration::from_secs(2),
            volume: Duration::from_secs(2),
            snapshot: Duration::from_secs(5),
        }
    }
}

/// A user known to the identity service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    /// Its API token.
    pub token: String,
    /// Its uuid, which is also its default project (tenant).
    pub uuid: String,
    /// Its real name (the tenant name in the token response).
    pub name: String,
}

impl Default for SimUser {
    fn default() -> Self {
        SimUser {
            token: DEFAULT_TOKEN.to_string(),
            uuid: DEFAULT_USER_UUID.to_string(),
            name: DEFAULT_USER_NAME.to_string(),
        }
    }
}

impl SimUser {
    /// A user with a random uuid and the given token.
    pub fn with_token(token: impl Into<String>, name: impl Into<String>) -> Self {
        SimUser {
            token: token.into(),
            uuid: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
        }
    }
}

/// Per-project quota limits (Astakos resources `cyclades.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLimits {
    /// `cyclades.vm`.
    pub vms: u64,
    /// `cyclades.total_cpu` (and `cyclades.cpu` for running servers).
    pub cpus: u64,
    /// `cyclades.total_ram` in MiB (the API reports bytes).
    pub ram_mib: u64,
    /// `cyclades.disk` in GiB (the API reports bytes).
    pub disk_gib: u64,
    /// `cyclades.floating_ip`.
    pub floating_ips: u64,
    /// `cyclades.network.private`.
    pub private_networks: u64,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        QuotaLimits {
            vms: 100,
            cpus: 200,
            ram_mib: 400 * 1024,
            disk_gib: 4 * 1024,
            floating_ips: 20,
            private_networks: 10,
        }
    }
}

/// Fault injection knobs. All random choices come from a generator seeded with
/// [`SimConfig::seed`], so a failing test can be replayed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Rules applied to every Synnefo request (admin routes are never faulted).
    pub global: FaultRule,
    /// Extra rules for requests whose normalized key (`"METHOD /path/{id}"`) starts with the map key.
    /// When one matches, it replaces the global rule for that request.
    pub per_endpoint: BTreeMap<String, FaultRule>,
    /// The next N server builds end in ERROR instead of ACTIVE.
    pub fail_builds: u32,
    /// A server whose name contains one of these patterns goes BUILD → ERROR.
    pub fail_build_names: Vec<String>,
}

impl FaultConfig {
    /// Only `rule`, on the requests whose normalized key starts with `endpoint`.
    pub fn only(endpoint: &str, rule: FaultRule) -> Self {
        FaultConfig {
            per_endpoint: [(endpoint.to_string(), rule)].into(),
            ..Default::default()
        }
    }
}

/// One set of fault probabilities and latencies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRule {
    /// Probability (0..=1) of answering `503 serviceUnavailable` without touching state.
    pub error_rate: f64,
    /// Fixed latency added before handling, in milliseconds.
    pub latency_ms: u64,
    /// Uniform random extra latency 0..=jitter, in milliseconds.
    pub jitter_ms: u64,
    /// Probability of dropping the connection without handling the request.
    pub drop_rate: f64,
    /// Probability of handling the request (state changes!) and then cutting the connection
    /// before the response: "accepted but reply lost".
    pub lost_reply_rate: f64,
    /// Probability of replying with the right status but a truncated, undecodable JSON body.
    pub malformed_rate: f64,
    /// Seconds the injected 503s ask the client to wait (`Retry-After`), like a loaded proxy
    /// in front of the cloud does; 0 sends no header.
    pub retry_after_s: u64,
}

impl FaultRule {
    /// Only a fixed latency of `ms` milliseconds.
    pub fn latency(ms: u64) -> Self {
        FaultRule {
            latency_ms: ms,
            ..Default::default()
        }
    }

    /// True when this rule never changes a request.
    pub fn is_noop(&self) -> bool {
        self.error_rate <= 0.0
            && self.latency_ms == 0
            && self.jitter_ms == 0
            && self.drop_rate <= 0.0
            && self.lost_reply_rate <= 0.0
            && self.malformed_rate <= 0.0
    }
}

/// HTTPS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// Where to write the generated certificate (PEM) so clients can trust it.
    pub cert_out: Option<PathBuf>,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
