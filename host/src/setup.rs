//! Turns the configuration into a running connector: picks the cloud (configured, from the
//! environment, from `~/.kamakirc`, or the embedded simulator) and loads the component.

use crate::config::{self, HostConfig};
use crate::embedded::{self, EmbeddedSim};
use anyhow::Context;
use connector_runtime::client::Client;
use connector_runtime::engine::{ConnectorSpec, EngineSettings, Runtime};
use connector_runtime::policy::EgressPolicy;
use connector_runtime::policy::TlsSettings;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the credentials came from (shown to the user, never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudSource {
    ConfigFile,
    Environment,
    Kamakirc(PathBuf),
    Simulator { state_file: PathBuf },
}

/// A ready-to-use connector and whatever keeps it alive (the embedded simulator).
pub struct Session {
    pub runtime: Runtime,
    pub client: Client,
    pub source: CloudSource,
    /// The in-process simulator, when no cloud is configured. Dropped last.
    pub simulator: Option<EmbeddedSim>,
    /// The embedded simulator's SSH gateway: the jump host when `[ssh] jump` is unset.
    pub ssh_jump: Option<String>,
}

impl Session {
    /// Shuts the embedded simulator down cleanly (its state is saved).
    pub async fn close(self) {
        if let Some(sim) = self.simulator {
            sim.shutdown().await;
        }
    }
}

/// The cloud settings after every source was considered.
struct Cloud {
    auth_url: String,
    token: String,
    project: Option<String>,
    disk_template: Option<String>,
    allowed_hosts: Vec<String>,
    ca_certs: Option<PathBuf>,
    source: CloudSource,
}

/// Opens a session for the built-in (or `component_override`) connector.
pub async fn open(
    config: &HostConfig,
    component_override: Option<&Path>,
) -> anyhow::Result<Session> {
    let runtime = runtime(config)?;
    let OkeanosCloud {
        spec,
        source,
        simulator,
        expected_build,
        ssh_jump,
    } = okeanos_cloud(config).await?;
    if let Some(typical) = expected_build {
        runtime.build_clock(&spec.name).seed(typical);
    }
    let connector = match component_override {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read component {}", path.display()))?;
            runtime.load(&bytes, spec)
        }
        None => runtime.load(crate::OKEANOS_CONNECTOR, spec),
    }
    .context("cannot load the connector")?;
    Ok(Session {
        runtime,
        client: Client::new(connector),
        source,
        simulator,
        ssh_jump,
    })
}

/// The built-in ~Okeanos connector, configured but not loaded: its spec, where its
/// credentials came from, and the embedded simulator when no cloud is configured.
/// Serve mode registers the spec under the name `okeanos` in its own [`connector_runtime::registry::Registry`].
pub struct OkeanosCloud {
    pub spec: ConnectorSpec,
    pub source: CloudSource,
    /// The in-process simulator, when no cloud is configured: keep it alive while serving.
    pub simulator: Option<EmbeddedSim>,
    /// How long a VM build typically takes (`[orchestration] expected_build_time`, or the
    /// embedded simulator's build time): polls are timed on it until builds are seen.
    pub expected_build: Option<std::time::Duration>,
    /// The embedded simulator's SSH gateway (`user@host:port`), if it runs.
    pub ssh_jump: Option<String>,
}

/// Picks the cloud like [`open`] does (starting the simulator if needed) and returns the
/// connector's spec without loading the component.
pub async fn okeanos_cloud(config: &HostConfig) -> anyhow::Result<OkeanosCloud> {
    let (cloud, simulator, ssh_jump) = match configured_cloud(config)? {
        Some(cloud) => (cloud, None, None),
        None => start_simulator(config).await?,
    };
    let spec = okeanos_spec(config, &cloud)?;
    let expected_build = config
        .orchestration
        .expected_build_time
        .or(simulator.as_ref().map(|_| simulator_build_time(config)));
    Ok(OkeanosCloud {
        spec,
        source: cloud.source,
        simulator,
        expected_build,
        ssh_jump,
    })
}

/// The engine, with the on-disk cache of precompiled components (`[engine] cache_dir`, by
/// default the user's cache dir) so each command does not recompile the connector.
pub fn runtime(config: &HostConfig) -> anyhow::Result<Runtime> {
    let runtime = Runtime::new(EngineSettings {
        max_instances: config.engine.max_instances,
        max_queued: config.engine.max_queued,
        max_memory_bytes: config.engine.max_memory_mb << 20,
        warm_instances: config.engine.warm_instances,
    })?;
    let Some(dir) = config
        .engine
        .cache_dir
        .clone()
        .or_else(connector_runtime::cache::CompileCache::default_dir)
    else {
        return Ok(runtime);
    };
    match connector_runtime::cache::CompileCache::new(&dir) {
        Ok(cache) => Ok(runtime.with_cache(cache)),
        Err(e) if config.engine.cache_dir.is_some() => Err(e.context("in [engine] cache_dir")),
        Err(e) => {
            tracing::warn!("running without a component cache: {e:#}");
            Ok(runtime)
        }
    }
}

fn okeanos_spec(config: &HostConfig, cloud: &Cloud) -> anyhow::Result<ConnectorSpec> {
    let mut values = BTreeMap::new();
    values.insert("auth_url".to_string(), cloud.auth_url.clone());
    values.insert("token".to_string(), cloud.token.clone());
    if let Some(p) = &cloud.project {
        values.insert("project".to_string(), p.clone());
    }
    if let Some(t) = &cloud.disk_template {
        values.insert("disk_template".to_string(), t.clone());
    }
    let egress = EgressPolicy::parse(&cloud.allowed_hosts).context("in [cloud] allowed_hosts")?;
    let tls =
        TlsSettings {
            extra_ca_pem: match &cloud.ca_certs {
                Some(path) => Some(std::fs::read(path).with_context(|| {
                    format!("cannot read the ca_certs bundle {}", path.display())
                })?),
                None => None,
            },
        };
    Ok(ConnectorSpec {
        name: "okeanos".into(),
        config: values,
        secret_keys: vec!["token".into()],
        egress,
        tls,
        limits: config.limits.to_limits(),
    })
}

/// `[cloud]` in the file, else `OKEANOS_TOKEN` (+ `OKEANOS_AUTH_URL`), else `~/.kamakirc`.
fn configured_cloud(config: &HostConfig) -> anyhow::Result<Option<Cloud>> {
    let env_token = std::env::var("OKEANOS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let env_url = std::env::var("OKEANOS_AUTH_URL")
        .ok()
        .filter(|t| !t.is_empty());
    let file = config.cloud.clone();
    let (auth_url, token, source) = match (&file, env_token) {
        (Some(c), env_token)
            if c.token.is_some() || env_token.is_some() || c.auth_url.is_some() =>
        {
            let token = c.token.clone().or(env_token).context(
                "[cloud] has no token: set `token` in the configuration file or OKEANOS_TOKEN in the environment",
            )?;
            let url = c
                .auth_url
                .clone()
                .or(env_url)
                .unwrap_or_else(|| config::OKEANOS_AUTH_URL.to_string());
            (url, token, CloudSource::ConfigFile)
        }
        (_, Some(token)) => (
            env_url.unwrap_or_else(|| config::OKEANOS_AUTH_URL.to_string()),
            token,
            CloudSource::Environment,
        ),
        _ => match dirs::home_dir().map(|h| h.join(".kamakirc")) {
            Some(path) => match config::kamakirc_credentials(&path) {
                Some((url, token)) => (url, token, CloudSource::Kamakirc(path)),
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    let file = file.unwrap_or_default();
    let allowed_hosts = match file.allowed_hosts {
        Some(hosts) => hosts,
        None => config::default_allowed_hosts(&auth_url)?,
    };
    Ok(Some(Cloud {
        auth_url,
        token,
        project: file.project,
        disk_template: file.disk_template,
        allowed_hosts,
        ca_certs: file.ca_certs,
        source,
    }))
}

/// The default place of the embedded simulator's state.
pub fn default_sim_state_file() -> PathBuf {
    config::state_dir().join("okeanos-sim.json")
}

/// How long the embedded simulator takes to build a VM.
fn simulator_build_time(config: &HostConfig) -> std::time::Duration {
    config
        .simulator
        .build_time
        .unwrap_or(std::time::Duration::from_secs(3))
}

async fn start_simulator(
    config: &HostConfig,
) -> anyhow::Result<(Cloud, Option<EmbeddedSim>, Option<String>)> {
    let state_file = config
        .simulator
        .state_file
        .clone()
        .unwrap_or_else(default_sim_state_file);
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the simulator state dir {}", dir.display()))?;
    }
    let (endpoint, sim) = embedded::start(&state_file, simulator_build_time(config)).await?;
    eprintln!(
        "no cloud configured: using the embedded ~Okeanos simulator (state in {}); set [cloud] in {} or OKEANOS_TOKEN to use the real ~Okeanos",
        state_file.display(),
        config::default_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the configuration file".into())
    );
    let ssh_jump = endpoint.ssh_jump.clone();
    let cloud = Cloud {
        auth_url: endpoint.auth_url,
        token: endpoint.token,
        project: None,
        disk_template: None,
        allowed_hosts: vec![endpoint.allowed_host],
        ca_certs: None,
        source: CloudSource::Simulator { state_file },
    };
    Ok((cloud, Some(sim), ssh_jump))
}
