//! Serve mode: every operation of the command line as an HTTP/JSON API, for any loaded
//! connector, with hot swap of connectors through an admin API.
//!
//! ```text
//! connector-host serve [--listen 127.0.0.1:8080] [--connector okeanos.wasm]
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/connectors/okeanos/flavors
//! ```
//!
//! Every `/v1/` route needs `Authorization: Bearer <token>`, a token of `[server] user_tokens`
//! or the `[server] admin_token` (missing or wrong: 401); `/v1/admin/…` needs the admin token
//! (a user token: 403). `{c}` is a connector name (`okeanos`, or a `[connectors.NAME]`).
//!
//! | method | path | what | answer |
//! |---|---|---|---|
//! | GET | `/healthz` | liveness, no auth | 200 `ok` |
//! | GET | `/metrics` | Prometheus text, no auth | calls, errors, latency, swaps, traps |
//! | GET | `/v1/connectors` | the connectors one can call | `[{name, version, description, digest}]` |
//! | GET | `/v1/connectors/{c}/flavors` | VM sizes | `[FlavorView]` |
//! | GET | `/v1/connectors/{c}/images` | images | `[ImageView]` |
//! | GET | `/v1/connectors/{c}/images/{image}` | one image (id or name) | `ImageView` |
//! | DELETE | `/v1/connectors/{c}/images/{image}` | delete an image | `{image, deleted}` |
//! | POST | `/v1/connectors/{c}/images/{image}/publish` · `/unpublish` | make public / private | `ImageView` |
//! | POST | `/v1/connectors/{c}/image-builds` | build image (job) | 202 job → `ImageView` |
//! | GET | `/v1/connectors/{c}/vms?tag=K=V&run_id=R` | list (tags repeatable) | `[VmView]` |
//! | POST | `/v1/connectors/{c}/vms` | run image (job; `?wait=true`: 201 when running) | 202 job → `VmView` |
//! | GET | `/v1/connectors/{c}/vms/{id}` | describe, with disks | `VmView` |
//! | DELETE | `/v1/connectors/{c}/vms/{id}?wait=true&timeout=5m` | terminate | 202 accepted / 200 when gone |
//! | POST | `/v1/connectors/{c}/vms/{id}/start` · `/stop` · `/reboot?hard=true` | power actions | 202 accepted |
//! | POST | `/v1/connectors/{c}/vms/{id}/resize` | resize CPU/RAM (job) | 202 job → `{changed, vm}` |
//! | POST | `/v1/connectors/{c}/vms/{id}/disks` | create + attach a disk (job) | 202 job → `DiskView` |
//! | DELETE | `/v1/connectors/{c}/vms/{id}/disks/{disk}?delete=true` | detach (+delete) (job) | 202 job → `DiskView` |
//! | POST | `/v1/connectors/{c}/vms/{id}/create-image` | snapshot the root disk (job) | 202 job → `ImageView` |
//! | POST | `/v1/connectors/{c}/deployments?keep_on_failure&concurrency=N&timeout=10m&resume=RUN` | deploy (TOML or JSON), or finish run RUN | 202 `{id, run_id, status_url, job_url}` |
//! | GET | `/v1/connectors/{c}/runs` | every run the cloud holds, by its VMs' run-id tags | `[RunView]` |
//! | GET | `/v1/connectors/{c}/deployments` | deployments this server ran | `[deployment status]` |
//! | GET | `/v1/connectors/{c}/deployments/{run_id}` | status, progress per node group, VMs | deployment status |
//! | DELETE | `/v1/connectors/{c}/deployments/{run_id}` | stop a running deployment, delete every VM of the run (job) | 202 job → `{run_id, terminated}` |
//! | GET | `/v1/jobs` · `/v1/jobs/{id}` | background jobs | `JobView` |
//! | GET | `/v1/admin/connectors` | status of every connector (admin) | `[ConnectorStatus]` |
//! | POST | `/v1/admin/connectors/{name}/swap` | body: the component (`application/wasm`) | `SwapOutcome`, 422 + reason when rejected |
//! | POST | `/v1/admin/connectors/{name}/rollback` | back to the previous version | `SwapOutcome`, 409 when there is none |
//!
//! Every route answering with a job also takes `?wait=true`: the answer is then the job's
//! result once it is done (the job itself goes on if the client disconnects). A job is
//! `{id, kind, status: running|succeeded|failed|cancelled, result | error, status_url, …}`.
//! Errors are `{"error": {"kind", "message"}}` (see [`error`] for the statuses). Request
//! bodies are JSON with the command line's names (`image`, `flavor` or `cpu`+`ram_mb`(+`disk_gb`),
//! `name`, `ssh_keys` as key text, `files` as `[{path, contents | contents_base64, mode}]`,
//! `user_data`, `volatile_disk_gb`, `tags`, `project`, `timeout` like `"10m"`); the server never
//! reads files of its own for a client, so deployments may not name local files either.
//!
//! The API server holds no state the cloud does not: a deployment's VMs carry its run id as
//! a tag, so `GET`/`DELETE …/deployments/{run_id}` work on any host behind a load balancer,
//! and the job table is only this process's view of work in progress. What it was asked to
//! do is kept in `[server] state_dir` until done ([`journal`]), so a restarted server finishes
//! its unfinished runs.

mod admin;
mod auth;
mod deployments;
pub mod error;
pub mod jobs;
pub mod journal;
mod ops;
mod params;

pub use auth::{Role, Tokens};
pub use error::ApiError;

use crate::config::{HostConfig, NamedConnectorConfig, OrchestrationConfig};
use crate::ops::Ctx;
use crate::ops::inputs::NoLocalFiles;
use crate::setup::{self, CloudSource};
use anyhow::{Context, bail};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use connector_runtime::engine::ConnectorSpec;
use connector_runtime::policy::EgressPolicy;
use connector_runtime::policy::TlsSettings;
use connector_runtime::registry::Registry;
use jobs::Jobs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::DEFAULT_LISTEN;

/// How often `[server] watch = true` looks at the component files.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// `connector-host serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: [server] listen, else 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

/// The registry serve mode runs, and what keeps it alive.
pub struct Built {
    pub registry: Arc<Registry>,
    pub source: CloudSource,
    /// The embedded simulator when no cloud is configured: shut it down last.
    pub simulator: Option<crate::embedded::EmbeddedSim>,
    /// The embedded simulator's SSH gateway: the jump host when `[ssh] jump` is unset.
    pub ssh_jump: Option<String>,
}

/// Builds the registry: the built-in `okeanos` connector (or `okeanos_component`) on the
/// configured cloud or the embedded simulator, plus every `[connectors.NAME]`.
pub async fn build_registry(
    config: &HostConfig,
    okeanos_component: Option<&Path>,
) -> anyhow::Result<Built> {
    let registry = Arc::new(Registry::new(crate::setup::runtime(config)?));
    let cloud = setup::okeanos_cloud(config).await?;
    if let Some(typical) = cloud.expected_build {
        registry
            .runtime()
            .build_clock(&cloud.spec.name)
            .seed(typical);
    }
    match fill(&registry, config, cloud.spec, okeanos_component).await {
        Ok(()) => Ok(Built {
            registry,
            source: cloud.source,
            simulator: cloud.simulator,
            ssh_jump: cloud.ssh_jump,
        }),
        Err(e) => {
            if let Some(sim) = cloud.simulator {
                sim.shutdown().await;
            }
            Err(e)
        }
    }
}

async fn fill(
    registry: &Registry,
    config: &HostConfig,
    okeanos: ConnectorSpec,
    okeanos_component: Option<&Path>,
) -> anyhow::Result<()> {
    let loaded = match okeanos_component {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read component {}", path.display()))?;
            registry
                .insert(
                    &bytes,
                    okeanos,
                    path.display().to_string(),
                    Some(path.to_path_buf()),
                )
                .await
        }
        None => {
            registry
                .insert(crate::OKEANOS_CONNECTOR, okeanos, "built-in".into(), None)
                .await
        }
    };
    loaded.context("cannot load the okeanos connector")?;
    for (name, c) in &config.connectors {
        if name == "okeanos" {
            bail!(
                "[connectors.okeanos]: `okeanos` is the built-in connector's name; give this one another name (or use --connector to replace the built-in component)"
            );
        }
        let spec = named_spec(config, name, c)?;
        let bytes = std::fs::read(&c.component).with_context(|| {
            format!(
                "[connectors.{name}]: cannot read component {}",
                c.component.display()
            )
        })?;
        registry
            .insert(
                &bytes,
                spec,
                c.component.display().to_string(),
                Some(c.component.clone()),
            )
            .await
            .with_context(|| format!("cannot load connector `{name}` ([connectors.{name}])"))?;
    }
    Ok(())
}

/// The spec of a `[connectors.NAME]` entry.
pub fn named_spec(
    config: &HostConfig,
    name: &str,
    c: &NamedConnectorConfig,
) -> anyhow::Result<ConnectorSpec> {
    let egress = EgressPolicy::parse(&c.allowed_hosts)
        .with_context(|| format!("in [connectors.{name}] allowed_hosts"))?;
    let extra_ca_pem = match &c.ca_certs {
        Some(path) => Some(std::fs::read(path).with_context(|| {
            format!(
                "[connectors.{name}]: cannot read the ca_certs bundle {}",
                path.display()
            )
        })?),
        None => None,
    };
    if let Some(key) = c.secret_keys.iter().find(|k| !c.config.contains_key(*k)) {
        tracing::warn!("[connectors.{name}]: secret key `{key}` is not in its config");
    }
    Ok(ConnectorSpec {
        name: name.to_string(),
        config: c.config.clone(),
        secret_keys: c.secret_keys.clone(),
        egress,
        tls: TlsSettings { extra_ca_pem },
        limits: c.limits.as_ref().unwrap_or(&config.limits).to_limits(),
    })
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<Registry>,
    tokens: Tokens,
    jobs: Jobs,
    journal: journal::Journal,
    orchestration: OrchestrationConfig,
    ssh: Arc<crate::recipes::SshContext>,
}

impl ServerState {
    /// Fails when no API token is configured (see [`Tokens::from_config`]). Records unfinished
    /// runs only in a configured `[server] state_dir`.
    pub fn new(registry: Arc<Registry>, config: &HostConfig) -> anyhow::Result<Self> {
        Self::with_state_dir(registry, config, config.server.state_dir.clone())
    }

    fn with_state_dir(
        registry: Arc<Registry>,
        config: &HostConfig,
        state_dir: Option<std::path::PathBuf>,
    ) -> anyhow::Result<Self> {
        Ok(ServerState {
            inner: Arc::new(Inner {
                registry,
                tokens: Tokens::from_config(&config.server)?,
                journal: journal::Journal::open(state_dir)?,
                jobs: Jobs::new(
                    config
                        .server
                        .max_jobs_per_caller
                        .unwrap_or(jobs::DEFAULT_MAX_JOBS_PER_CALLER),
                ),
                orchestration: config.orchestration.clone(),
                ssh: Arc::new(crate::recipes::SshContext::new(&config.ssh, None)?),
            }),
        })
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    /// The record of unfinished runs (`[server] state_dir`).
    pub fn journal(&self) -> &journal::Journal {
        &self.inner.journal
    }

    /// Finishes the runs a previous server left unfinished.
    pub fn pick_up_unfinished_runs(&self) {
        deployments::pick_up(self);
    }

    fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    fn orchestration(&self) -> &OrchestrationConfig {
        &self.inner.orchestration
    }

    /// The operations' context for the current version of a connector, by name (404 if there
    /// is none). The server reads no local file for a client.
    fn ctx(&self, connector: &str) -> Result<Ctx, ApiError> {
        let client = self
            .registry()
            .client(connector)
            .map_err(|e| ApiError::not_found(format!("{e:#}")))?;
        Ok(Ctx {
            client,
            orchestration: self.orchestration().clone(),
            local: Arc::new(NoLocalFiles),
            ssh: self.inner.ssh.clone(),
        })
    }
}

/// The whole HTTP application.
pub fn app(state: ServerState) -> Router {
    let admin = admin::routes().route_layer(axum::middleware::from_fn(auth::require_admin));
    // An API call that finds the host full answers 503 + Retry-After at once (jobs, which
    // run as their own tasks, wait their turn instead).
    let calls = ops::routes()
        .merge(deployments::routes())
        .merge(jobs_routes())
        .layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| {
                connector_runtime::admission::answering_busy(next.run(req))
            },
        ));
    let v1 = calls
        .merge(admin)
        .fallback(|| async { ApiError::not_found("no such route: see the routes table in the documentation of `connector_host::serve`") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .with_state(state)
}

async fn metrics(
    axum::extract::State(state): axum::extract::State<ServerState>,
) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.registry().runtime().metrics().render(),
    )
}

fn jobs_routes() -> Router<ServerState> {
    use axum::Json;
    use axum::extract::{Path, State};
    Router::new()
        .route(
            "/jobs",
            get(|State(s): State<ServerState>| async move {
                Json(s.jobs().list().iter().map(|j| j.view()).collect::<Vec<_>>())
            }),
        )
        .route(
            "/jobs/{id}",
            get(
                |State(s): State<ServerState>, Path(id): Path<String>| async move {
                    s.jobs().get(&id).map(|j| Json(j.view())).ok_or_else(|| {
                        ApiError::not_found(format!(
                            "no job {id} (finished jobs are kept for an hour)"
                        ))
                    })
                },
            ),
        )
}

/// Serves `state` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// How long requests in flight (e.g. `?wait=true`) may take to finish after Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The listen backlog of the API socket (the kernel caps it at `net.core.somaxconn`, 4,096 by
/// default). tokio's `TcpListener::bind` asks for 1,024; a burst of a thousand clients
/// connecting at once overflowed it, and each dropped handshake costs its client a 1 s SYN
/// retransmission.
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `listen` (`host:port`; the first of its addresses that can be bound) with
/// [`LISTEN_BACKLOG`].
pub async fn bind(listen: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut failed = None;
    for addr in tokio::net::lookup_host(listen).await? {
        let socket = match addr {
            std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        // As tokio's `bind` does: a restarted server can take its port back at once.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(e) => failed = Some(e),
        }
    }
    Err(failed.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the name has no address")
    }))
}

/// `connector-host serve`: builds the registry, serves until Ctrl-C.
pub async fn run(
    config: &HostConfig,
    args: ServeArgs,
    okeanos_component: Option<&Path>,
) -> anyhow::Result<()> {
    // Refuse an open API before starting anything.
    Tokens::from_config(&config.server)?;
    let listen = args
        .listen
        .or_else(|| config.server.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listener = bind(&listen).await.with_context(|| {
        format!("cannot listen on {listen} (in use? pick another with --listen or [server] listen)")
    })?;
    let addr = listener.local_addr()?;
    let built = build_registry(config, okeanos_component).await?;
    let watcher = config
        .server
        .watch
        .then(|| connector_runtime::registry::watch(built.registry.clone(), WATCH_INTERVAL));
    // The service records its runs by default, so a restart finishes them.
    let state_dir = Some(
        config
            .server
            .state_dir
            .clone()
            .unwrap_or_else(|| crate::config::state_dir().join("serve")),
    );
    let mut config = config.clone();
    if config.ssh.jump.is_none() {
        config.ssh.jump = built.ssh_jump.clone();
    }
    let state = ServerState::with_state_dir(built.registry.clone(), &config, state_dir)?;
    state.pick_up_unfinished_runs();
    eprintln!(
        "serving connectors {} on http://{addr} (cloud: {}); Ctrl-C stops",
        built.registry.names().join(", "),
        match &built.source {
            CloudSource::ConfigFile => "from the configuration file".to_string(),
            CloudSource::Environment => "from OKEANOS_TOKEN".to_string(),
            CloudSource::Kamakirc(p) => format!("from {}", p.display()),
            CloudSource::Simulator { .. } => "the embedded simulator".to_string(),
        }
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(serve_on(listener, state.clone(), async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));
    let served = tokio::select! {
        r = &mut server => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("shutting down: no new connections; requests in flight get {}", humantime::format_duration(SHUTDOWN_GRACE));
            let _ = stop.send(true);
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    server.abort();
                    Ok(Ok(()))
                }
            }
        }
    };
    if let Some(w) = watcher {
        w.abort();
    }
    let running = state.jobs().running();
    if !running.is_empty() {
        eprintln!(
            "warning: {} job(s) were still running and stopped with the server:",
            running.len()
        );
        for j in &running {
            match &j.run_id {
                Some(run) => eprintln!(
                    "  {} {} (run {run}): its VMs may remain, `connector-host terminate --run-id {run}` removes them",
                    j.kind, j.title
                ),
                None => eprintln!("  {} {}", j.kind, j.title),
            }
        }
    }
    if let Some(sim) = built.simulator {
        sim.shutdown().await;
    }
    served
        .context("the API server task failed")?
        .context("the API server failed")
}
