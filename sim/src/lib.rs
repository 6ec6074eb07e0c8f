//! `okeanos-sim`: a faithful local emulator of the Synnefo (~Okeanos) IaaS HTTP API.
//!
//! It speaks identity (Astakos), compute, volume, image (Plankton), network and account
//! exactly as documented in `docs/SYNNEFO-API.md`: same status codes, fault envelopes, state
//! machines and quota messages. Asynchronous jobs (builds, actions, volume and snapshot
//! jobs) are stored as due times and evaluated lazily, so a state file written by one
//! process continues correctly in the next.
//!
//! The crate is split like moto: [`backend`] holds the state and the rules and knows
//! nothing of HTTP; [`routes`] parses, calls the backend and serializes. Both have one
//! module per resource (servers, volumes, ports, …). Below them sit [`state`] (what
//! handlers share), [`metrics`], [`faults`] (seeded fault decisions), [`error`] and
//! [`config`]; [`serve`] is the accept loop.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use okeanos_sim::{spawn, SimConfig, Timings};
//!
//! let sim = spawn(
//!     SimConfig { timings: Timings::uniform(Duration::from_millis(100)), ..Default::default() },
//!     "127.0.0.1:0".parse()?,
//! )
//! .await?;
//! println!("auth URL {} token {}", sim.auth_url(), sim.token());
//! sim.backend().fail_next_builds(1); // the next server goes BUILD → ERROR
//! let _ = sim.request_counts(); // {"GET /compute/v2.0/servers/detail": 3, …}
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod config;
pub mod error;
pub mod faults;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod ssh;
pub mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

pub use backend::Backend;
pub use config::{
    DEFAULT_RECIPE_TIME, DEFAULT_SSH_BOOT_TIME, DEFAULT_TOKEN, DEFAULT_USER_NAME,
    DEFAULT_USER_UUID, FaultConfig, FaultRule, QuotaLimits, SimConfig, SimUser, Timings, TlsConfig,
};
pub use error::ApiError;
pub use faults::FaultInjector;
pub use metrics::Metrics;
pub use routes::app;
pub use state::AppState;

/// Builds the shared state for [`app`] from a configuration (no listener involved): for
/// in-process `oneshot` tests.
pub fn app_state(config: &SimConfig) -> anyhow::Result<AppState> {
    let backend = Backend::new(config)?;
    Ok(AppState::new(
        backend,
        FaultInjector::new(config.faults.clone(), config.seed),
    ))
}

/// A simulator serving on a socket, in a tokio task.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    base_url: String,
    state: AppState,
    token: String,
    ca_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    ssh_addr: Option<SocketAddr>,
    ssh_task: Option<tokio::task::JoinHandle<()>>,
}

/// Listens on `listen` with a backlog of 4,096 (capped by `net.core.somaxconn`) where tokio's
/// `TcpListener::bind` asks for 1,024: a thousand clients connecting at once (the benchmarks,
/// a host's burst of calls) overflowed it, and each dropped handshake costs a 1 s SYN
/// retransmission, which a real cloud's front end does not impose.
fn bind(listen: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match listen {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(4096)
}

/// Binds `listen` (port 0 allowed) and serves the simulator in a tokio task.
pub async fn spawn(config: SimConfig, listen: SocketAddr) -> anyhow::Result<RunningSim> {
    let state = app_state(&config)?;
    let listener = bind(listen).with_context(|| format!("binding the simulator to {listen}"))?;
    let addr = listener.local_addr()?;
    let (tls, ca_pem) = match &config.tls {
        Some(t) => {
            let (acceptor, pem) = serve::self_signed()?;
            if let Some(path) = &t.cert_out {
                std::fs::write(path, &pem)
                    .with_context(|| format!("writing the certificate to {}", path.display()))?;
            }
            (Some(acceptor), Some(pem))
        }
        None => (None, None),
    };
    let base_url = match (&tls, addr.ip().is_unspecified()) {
        (Some(_), _) => format!("https://localhost:{}", addr.port()),
        (None, true) => format!("http://127.0.0.1:{}", addr.port()),
        (None, false) => format!("http://{addr}"),
    };
    let _ = state.base_url.set(base_url.clone());
    let token = config
        .users
        .first()
        .map(|u| u.token.clone())
        .unwrap_or_else(|| DEFAULT_TOKEN.to_string());
    let (tx, rx) = watch::channel(false);
    let (ssh_addr, ssh_task) = match config.ssh_listen {
        Some(listen) => {
            let gateway = ssh::Gateway::bind(listen, state.backend.clone()).await?;
            let addr = gateway.local_addr()?;
            (Some(addr), Some(tokio::spawn(gateway.run(rx.clone()))))
        }
        None => (None, None),
    };
    let router = app(state.clone());
    let task = tokio::spawn(serve::serve(listener, router, tls, rx));
    Ok(RunningSim {
        ssh_addr,
        ssh_task,
        addr,
        base_url,
        state,
        token,
        ca_pem,
        shutdown: tx,
        task,
    })
}

impl RunningSim {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The identity endpoint clients start from.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v2.0", self.base_url)
    }

    /// The first user's token.
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// Total HTTP requests served (admin requests included).
    pub fn request_count(&self) -> u64 {
        self.state.metrics.total()
    }

    /// Requests per `"METHOD /normalized/path"`, ids replaced by `{id}`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.state.metrics.per_key()
    }

    /// Per `"METHOD /normalized/path"`, the requests that carried `changes-since` and how
    /// many of them were answered 304.
    pub fn changes_since_counts(&self) -> BTreeMap<String, metrics::ChangesSince> {
        self.state.metrics.changes_since()
    }

    /// Resets the request counters.
    pub fn reset_request_counts(&self) {
        self.state.metrics.reset();
    }

    /// The backend, to inspect or steer state from tests.
    pub fn backend(&self) -> Backend {
        self.state.backend.clone()
    }

    /// The fault injector, to change faults at runtime.
    pub fn faults(&self) -> Arc<FaultInjector> {
        self.state.faults.clone()
    }

    /// The SSH gateway's address (`SimConfig::ssh_listen`): the jump host through which
    /// the VMs' emulated sshd answers.
    pub fn ssh_addr(&self) -> Option<SocketAddr> {
        self.ssh_addr
    }

    /// The PEM of the self-signed certificate (TLS only): trust it to connect.
    pub fn ca_cert_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Stops accepting, lets in-flight requests finish, saves the state.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(t) = self.ssh_task {
            let _ = t.await;
        }
        if let Err(e) = self.state.backend.save_now() {
            tracing::error!("saving state at shutdown: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn in_process_router_answers_without_a_socket() {
        let app = app(app_state(&SimConfig::default()).unwrap());
        let req = axum::http::Request::builder()
            .uri("/identity/v2.0/tokens")
            .method("POST")
            .header("Host", "sim.local:1234")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let url = &v["access"]["serviceCatalog"][0]["endpoints"][0]["publicURL"];
        assert_eq!(
            url, "http://sim.local:1234/compute/v2.0",
            "catalog follows the Host header"
        );
        let req = axum::http::Request::builder()
            .uri("/compute/v2.0/flavors")
            .header("X-Auth-Token", DEFAULT_TOKEN)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.oneshot(req).await.unwrap().status(), 200);
    }
}
