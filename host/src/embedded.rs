//! The embedded ~Okeanos simulator: with no cloud configured, the application starts
//! okeanos-sim in-process so every command works out of the box. It lives behind the
//! default-on `embedded-sim` cargo feature, so a build for the real cloud only
//! (`--no-default-features`) links no simulator at all.

use std::path::Path;
use std::time::Duration;

/// Where a started simulator answers.
pub struct Endpoint {
    pub auth_url: String,
    pub token: String,
    /// The allow-list rule that lets the connector reach it.
    pub allowed_host: String,
    /// Its SSH gateway, the jump host to its VMs (`user@host:port`).
    pub ssh_jump: Option<String>,
}

/// Keeps the in-process simulator alive; [`EmbeddedSim::shutdown`] stops it and saves its state.
pub struct EmbeddedSim {
    #[cfg(feature = "embedded-sim")]
    sim: okeanos_sim::RunningSim,
}

impl EmbeddedSim {
    /// Stops the simulator cleanly (its state is saved).
    pub async fn shutdown(self) {
        #[cfg(feature = "embedded-sim")]
        self.sim.shutdown().await;
    }
}

/// Starts the simulator on a free loopback port, keeping its state in `state_file`; VM builds
/// take `build_time`, every other transition one second.
#[cfg(feature = "embedded-sim")]
pub async fn start(
    state_file: &Path,
    build_time: Duration,
) -> anyhow::Result<(Endpoint, EmbeddedSim)> {
    use anyhow::Context;
    let mut config = okeanos_sim::SimConfig {
        state_file: Some(state_file.to_path_buf()),
        ..Default::default()
    };
    config.timings = okeanos_sim::Timings::uniform(Duration::from_secs(1));
    config.timings.build = build_time;
    // Its VMs answer SSH through a gateway on loopback: recipes work out of the box.
    config.ssh_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    config.ssh_boot_time = Duration::from_secs(1);
    config.recipe_time = Duration::from_secs(1);
    let sim = okeanos_sim::spawn(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the embedded ~Okeanos simulator")?;
    let endpoint = Endpoint {
        auth_url: sim.auth_url(),
        token: sim.token(),
        allowed_host: format!("http://{}", sim.addr()),
        ssh_jump: sim.ssh_addr().map(|a| format!("slipstream@{a}")),
    };
    Ok((endpoint, EmbeddedSim { sim }))
}

/// Without the feature there is nothing to start: say how to configure a cloud.
#[cfg(not(feature = "embedded-sim"))]
pub async fn start(
    _state_file: &Path,
    _build_time: Duration,
) -> anyhow::Result<(Endpoint, EmbeddedSim)> {
    anyhow::bail!(
        "no cloud configured, and this build has no embedded simulator (cargo feature `embedded-sim`): set [cloud] in the configuration file, or OKEANOS_TOKEN"
    )
}
