//! The host's configuration file (TOML). Unknown keys are errors that name the key.
//!
//! ```toml
//! [cloud]                      # omit the whole table to use the embedded simulator
//! auth_url = "https://accounts.okeanos.grnet.gr/identity/v2.0"
//! token = "…"                  # or OKEANOS_TOKEN in the environment, or ~/.kamakirc
//! project = "…"                # optional: project (tenant) charged for new VMs
//! allowed_hosts = ["https://accounts.okeanos.grnet.gr", "https://*.okeanos.grnet.gr"]
//!
//! [limits]
//! memory_mb = 64
//! cpu_time = "5s"
//! call_timeout = "2m"
//!
//! [orchestration]
//! concurrency = 64
//! poll_interval = "2s"
//! vm_timeout = "10m"
//! ```

use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where serve mode listens when neither `--listen` nor `[server] listen` says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The real ~Okeanos identity endpoint, used when only a token is given.
pub const OKEANOS_AUTH_URL: &str = "https://accounts.okeanos.grnet.gr/identity/v2.0";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The cloud the built-in ~Okeanos connector drives.
    pub cloud: Option<CloudConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub orchestration: OrchestrationConfig,
    #[serde(default)]
    pub simulator: SimulatorConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    /// Recipes over SSH: jump host, sessions at once, where run keys and logs live.
    #[serde(default)]
    pub ssh: SshConfig,
    /// Serve mode: API tokens and listen address.
    #[serde(default)]
    pub server: ServerConfig,
    /// Further connectors by name (serve mode, hot swap).
    #[serde(default)]
    pub connectors: BTreeMap<String, NamedConnectorConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    pub auth_url: Option<String>,
    pub token: Option<String>,
    pub project: Option<String>,
    /// Preferred disk template when a CPU/RAM shape is matched to a flavor.
    pub disk_template: Option<String>,
    /// Hosts the connector may reach; default: the auth URL's host and its parent domain's subdomains.
    pub allowed_hosts: Option<Vec<String>>,
    /// Extra trusted CA certificates (PEM file), like `kamaki config set ca_certs`.
    pub ca_certs: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub memory_mb: usize,
    #[serde(with = "humantime_serde")]
    pub cpu_time: Duration,
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let d = connector_runtime::policy::Limits::default();
        LimitsConfig {
            memory_mb: d.memory_bytes >> 20,
            cpu_time: d.cpu_time,
            call_timeout: d.wall_time,
        }
    }
}

impl LimitsConfig {
    pub fn to_limits(&self) -> connector_runtime::policy::Limits {
        connector_runtime::policy::Limits {
            memory_bytes: self.memory_mb << 20,
            cpu_time: self.cpu_time,
            wall_time: self.call_timeout,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrchestrationConfig {
    /// Connector calls in flight at once during a deployment.
    pub concurrency: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Default deadline for a VM (or a whole deployment) to become ready.
    #[serde(with = "humantime_serde")]
    pub vm_timeout: Duration,
    /// VMs that go to the cloud's error state and are replaced, per run, before it fails.
    pub replace_failed: u32,
    /// The largest run accepted: a bigger deployment is refused before anything is created.
    pub max_vms_per_run: u64,
    /// How long a run's lease lasts unrenewed: after its orchestrator dies, `--resume` waits
    /// this long at most.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// How long the cloud typically takes to build a VM: the first poll of a build is timed on
    /// it (then learned from the builds seen). Unset: polls start fast and back off.
    #[serde(with = "humantime_serde")]
    pub expected_build_time: Option<Duration>,
}

impl Default for OrchestrationConfig {
    fn default() -> Self {
        OrchestrationConfig {
            concurrency: 64,
            poll_interval: Duration::from_secs(2),
            vm_timeout: Duration::from_secs(600),
            replace_failed: 2,
            max_vms_per_run: 1000,
            lease_ttl: Duration::from_secs(60),
            expected_build_time: None,
        }
    }
}

/// `[ssh]`: how the host reaches VMs to run recipes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshConfig {
    /// `user@host:port` of the jump host VMs are reached through (like OpenSSH's ProxyJump).
    pub jump: Option<String>,
    /// Recipe sessions at once, across runs (`ssh_concurrency`).
    pub concurrency: usize,
    /// How long a running VM's sshd may take to answer.
    #[serde(with = "humantime_serde")]
    pub reach_timeout: Duration,
    /// Where runs keep their key and recipe logs [default: ~/.local/state/connector-host/runs].
    pub runs_dir: Option<PathBuf>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            jump: None,
            concurrency: 64,
            reach_timeout: Duration::from_secs(600),
            runs_dir: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Where the embedded simulator keeps its state; default: the user's state dir.
    pub state_file: Option<PathBuf>,
    /// How long a simulated VM build takes.
    #[serde(with = "humantime_serde")]
    pub build_time: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Connector calls running at once (each holds an instance while it waits on the cloud).
    pub max_instances: u32,
    /// Calls that may wait for an instance; beyond it calls fail at once as `busy` (503 with
    /// `Retry-After` in serve mode).
    pub max_queued: u32,
    pub max_memory_mb: usize,
    /// Fresh instances each connector keeps ready, so that a call does not wait for its own
    /// instantiation (0: every call instantiates inline).
    pub warm_instances: u32,
    /// Directory for precompiled components; default: the user's cache dir.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let d = connector_runtime::engine::EngineSettings::default();
        EngineConfig {
            max_instances: d.max_instances,
            max_queued: d.max_queued,
            max_memory_mb: d.max_memory_bytes >> 20,
            warm_instances: d.warm_instances,
            cache_dir: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: Option<String>,
    /// Bearer tokens of API users.
    pub user_tokens: Vec<String>,
    /// Bearer token of the admin API (connectors list/swap/rollback).
    pub admin_token: Option<String>,
    /// Reload a connector when its component file changes.
    pub watch: bool,
    /// Jobs (runs, image builds, resizes…) one API caller may have running at once; beyond
    /// it the API answers 429 with `Retry-After`.
    pub max_jobs_per_caller: Option<usize>,
    /// Where serve mode records the runs it drives, to finish them after a restart
    /// [default: ~/.local/state/connector-host/serve].
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedConnectorConfig {
    /// The component file (.wasm).
    pub component: PathBuf,
    /// wasi:config values handed to the component.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Keys of `config` whose values are secret.
    #[serde(default)]
    pub secret_keys: Vec<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    pub ca_certs: Option<PathBuf>,
    #[serde(default)]
    pub limits: Option<LimitsConfig>,
}

impl HostConfig {
    /// Reads `path`, or the default file if it exists, or an empty configuration.
    pub fn load(path: Option<&Path>) -> anyhow::Result<(Self, Option<PathBuf>)> {
        let (path, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match default_path() {
                Some(p) => (p, false),
                None => return Ok((HostConfig::default(), None)),
            },
        };
        if !path.exists() {
            if explicit {
                bail!("configuration file {} does not exist", path.display());
            }
            return Ok((HostConfig::default(), None));
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        let config = Self::parse(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))?;
        Ok((config, Some(path)))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }
}

/// `~/.config/connector-host/config.toml` (per the platform's config dir).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("connector-host").join("config.toml"))
}

/// Default allowed hosts for a cloud: its identity host, and every subdomain of that host's
/// parent domain (where Synnefo puts compute, volume, image and network endpoints).
pub fn default_allowed_hosts(auth_url: &str) -> anyhow::Result<Vec<String>> {
    let uri: http::Uri = auth_url
        .parse()
        .with_context(|| format!("auth_url `{auth_url}` is not a URL"))?;
    let host = uri
        .host()
        .with_context(|| format!("auth_url `{auth_url}` has no host"))?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let mut hosts = vec![format!("{scheme}://{host}{port}")];
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() >= 3 && host.parse::<std::net::IpAddr>().is_err() {
        hosts.push(format!("{scheme}://*.{}{port}", labels[1..].join(".")));
    }
    Ok(hosts)
}

/// Reads `~/.kamakirc` (`[global] default_cloud`, `[cloud "NAME"] url/token`), the
/// credentials ~Okeanos users already have. Returns (auth_url, token).
pub fn kamakirc_credentials(path: &Path) -> Option<(String, String)> {
    let ini = ini::Ini::load_from_file(path).ok()?;
    // kamaki writes clouds as `[cloud "NAME"]`.
    let clouds: BTreeMap<String, (Option<&str>, Option<&str>)> = ini
        .iter()
        .filter_map(|(section, props)| {
            let name = section?.strip_prefix("cloud")?.trim().trim_matches('"');
            Some((name.to_string(), (props.get("url"), props.get("token"))))
        })
        .collect();
    let pick = ini
        .get_from(Some("global"), "default_cloud")
        .and_then(|name| clouds.get(name).copied())
        .or_else(|| {
            clouds
                .values()
                .find(|(u, t)| u.is_some() && t.is_some())
                .copied()
        })?;
    match pick {
        (Some(url), Some(token)) => Some((url.to_string(), token.to_string())),
        _ => None,
    }
}

/// Where the host keeps its state (runs, the embedded simulator, serve's journal):
/// `~/.local/state/connector-host`, or the platform's equivalent.
pub fn state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("connector-host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = HostConfig::parse("[cloud]\nauth_url = \"x\"\ntokn = \"y\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("tokn"), "{err:#}");
    }

    #[test]
    fn durations_parse() {
        let c = HostConfig::parse(
            "[limits]\ncpu_time = \"2s\"\ncall_timeout = \"1m\"\nmemory_mb = 32\n",
        )
        .unwrap();
        assert_eq!(c.limits.cpu_time, Duration::from_secs(2));
        assert_eq!(c.limits.call_timeout, Duration::from_secs(60));
        assert!(HostConfig::parse("[limits]\ncpu_time = \"soon\"\n").is_err());
    }

    #[test]
    fn default_hosts_cover_the_service_domain() {
        let hosts = default_allowed_hosts(OKEANOS_AUTH_URL).unwrap();
        assert_eq!(
            hosts,
            vec![
                "https://accounts.okeanos.grnet.gr",
                "https://*.okeanos.grnet.gr"
            ]
        );
    }

    #[test]
    fn kamakirc_default_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kamakirc");
        std::fs::write(
            &path,
            "[global]\ndefault_cloud = okeanos\n\n[cloud \"other\"]\nurl = https://x/identity/v2.0\ntoken = t1\n\n[cloud \"okeanos\"]\nurl = https://accounts.okeanos.grnet.gr/identity/v2.0\ntoken = t2\n",
        )
        .unwrap();
        let (url, token) = kamakirc_credentials(&path).unwrap();
        assert_eq!(url, OKEANOS_AUTH_URL);
        assert_eq!(token, "t2");
    }
}
