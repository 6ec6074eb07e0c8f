//! `okeanos-sim`: run the Synnefo (~Okeanos) simulator as a standalone server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use okeanos_sim::{
    DEFAULT_TOKEN, DEFAULT_USER_NAME, DEFAULT_USER_UUID, FaultConfig, FaultRule, QuotaLimits,
    SimConfig, SimUser, Timings, TlsConfig,
};

/// A faithful local emulator of the Synnefo (~Okeanos) IaaS HTTP API.
///
/// Serves identity, compute, volume, image (Plankton), network and account on one port,
/// with time-based asynchronous jobs, per-project quotas and seeded fault injection.
/// Admin endpoints live under /_sim/ (reset, timings, faults, quotas, users, state).
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443", env = "OKEANOS_SIM_LISTEN")]
    listen: SocketAddr,

    /// State file: loaded at start if it exists, saved atomically after every change.
    #[arg(long, env = "OKEANOS_SIM_STATE")]
    state: Option<PathBuf>,

    /// Token of the default user.
    #[arg(long, default_value = DEFAULT_TOKEN, env = "OKEANOS_SIM_TOKEN")]
    token: String,

    /// Extra users as TOKEN:UUID:NAME (repeatable); the uuid is also the user's project.
    #[arg(long = "user", value_name = "TOKEN:UUID:NAME")]
    users: Vec<String>,

    /// Seconds of every transition not set individually (build, start, stop, …).
    #[arg(long, value_name = "S")]
    all_seconds: Option<f64>,
    /// Seconds from BUILD to ACTIVE.
    #[arg(long, value_name = "S")]
    build_seconds: Option<f64>,
    /// Seconds of a start.
    #[arg(long, value_name = "S")]
    start_seconds: Option<f64>,
    /// Seconds of a shutdown.
    #[arg(long, value_name = "S")]
    stop_seconds: Option<f64>,
    /// Seconds of a reboot.
    #[arg(long, value_name = "S")]
    reboot_seconds: Option<f64>,
    /// Seconds of a resize.
    #[arg(long, value_name = "S")]
    resize_seconds: Option<f64>,
    /// Seconds of a server deletion.
    #[arg(long, value_name = "S")]
    delete_seconds: Option<f64>,
    /// Seconds of volume create/attach/detach/delete.
    #[arg(long, value_name = "S")]
    volume_seconds: Option<f64>,
    /// Seconds of a snapshot.
    #[arg(long, value_name = "S")]
    snapshot_seconds: Option<f64>,

    /// Quota: servers per project.
    #[arg(long, default_value_t = QuotaLimits::default().vms)]
    quota_vms: u64,
    /// Quota: vCPUs per project.
    #[arg(long, default_value_t = QuotaLimits::default().cpus)]
    quota_cpus: u64,
    /// Quota: RAM per project, MiB.
    #[arg(long, default_value_t = QuotaLimits::default().ram_mib)]
    quota_ram_mib: u64,
    /// Quota: disk per project, GiB.
    #[arg(long, default_value_t = QuotaLimits::default().disk_gib)]
    quota_disk_gib: u64,
    /// Quota: floating IPs per project.
    #[arg(long, default_value_t = QuotaLimits::default().floating_ips)]
    quota_floating_ips: u64,
    /// Quota: private networks per project.
    #[arg(long, default_value_t = QuotaLimits::default().private_networks)]
    quota_networks: u64,

    /// Fault: probability (0..1) of answering 503 serviceUnavailable.
    #[arg(long, default_value_t = 0.0)]
    fault_503_rate: f64,
    /// Fault: fixed latency added to every request, ms.
    #[arg(long, default_value_t = 0)]
    fault_latency_ms: u64,
    /// Fault: random extra latency 0..=J ms.
    #[arg(long, default_value_t = 0)]
    fault_jitter_ms: u64,
    /// Fault: probability of dropping the connection without handling the request.
    #[arg(long, default_value_t = 0.0)]
    fault_drop_rate: f64,
    /// Fault: probability of handling the request, then cutting the connection (reply lost).
    #[arg(long, default_value_t = 0.0)]
    fault_lost_reply_rate: f64,
    /// Fault: probability of a truncated (malformed) JSON body.
    #[arg(long, default_value_t = 0.0)]
    fault_malformed_rate: f64,
    /// Fault: `Retry-After` (seconds) on the injected 503s; 0 sends none
    #[arg(long, default_value_t = 0)]
    fault_retry_after_s: u64,
    /// Fault: the next N server builds end in ERROR.
    #[arg(long, default_value_t = 0)]
    fail_builds: u32,
    /// Fault: servers whose name contains PATTERN end in ERROR (repeatable).
    #[arg(long, value_name = "PATTERN")]
    fail_build_name: Vec<String>,
    /// Fault configuration as JSON (okeanos_sim::FaultConfig: "global", "per_endpoint" keyed by
    /// "METHOD /path/{id}" prefixes, "fail_builds", "fail_build_names"); the --fault-* flags
    /// above override its global rule when given.
    #[arg(long, value_name = "FILE")]
    faults_file: Option<PathBuf>,
    /// Seed of the fault-injection generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Serve HTTPS with a generated self-signed certificate for localhost/127.0.0.1.
    #[arg(long)]
    tls: bool,
    /// Where to write the certificate (PEM) with --tls, so clients can trust it.
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_cert_out: Option<PathBuf>,

    /// Serve the SSH gateway (the VMs' jump host) on this address: `direct-tcpip` to a VM's
    /// address and port 22 reaches its emulated sshd, which never executes anything.
    #[arg(long, value_name = "ADDR", env = "OKEANOS_SIM_SSH_LISTEN")]
    ssh_listen: Option<SocketAddr>,
    /// How long a VM is ACTIVE before its sshd answers (e.g. 3s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "3s")]
    ssh_boot_time: Duration,
    /// How long an emulated recipe run takes (e.g. 2s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "2s")]
    recipe_time: Duration,
}

fn secs(s: Option<f64>, default: Duration) -> anyhow::Result<Duration> {
    match s {
        None => Ok(default),
        Some(v) => Duration::try_from_secs_f64(v).with_context(|| format!("invalid duration {v}")),
    }
}

fn config(a: &Args) -> anyhow::Result<SimConfig> {
    let base = match a.all_seconds {
        Some(s) => Timings::uniform(secs(Some(s), Duration::ZERO)?),
        None => Timings::default(),
    };
    let timings = Timings {
        build: secs(a.build_seconds, base.build)?,
        start: secs(a.start_seconds, base.start)?,
        stop: secs(a.stop_seconds, base.stop)?,
        reboot: secs(a.reboot_seconds, base.reboot)?,
        resize: secs(a.resize_seconds, base.resize)?,
        delete: secs(a.delete_seconds, base.delete)?,
        volume: secs(a.volume_seconds, base.volume)?,
        snapshot: secs(a.snapshot_seconds, base.snapshot)?,
    };
    let mut users = vec![SimUser {
        token: a.token.clone(),
        uuid: DEFAULT_USER_UUID.into(),
        name: DEFAULT_USER_NAME.into(),
    }];
    for spec in &a.users {
        let mut parts = spec.splitn(3, ':');
        let (Some(token), Some(uuid)) = (parts.next(), parts.next()) else {
            anyhow::bail!("--user expects TOKEN:UUID[:NAME], got {spec:?}");
        };
        users.push(SimUser {
            token: token.into(),
            uuid: uuid.into(),
            name: parts.next().unwrap_or(uuid).into(),
        });
    }
    let mut faults = match &a.faults_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<FaultConfig>(&text)
                .with_context(|| format!("parsing fault configuration {}", path.display()))?
        }
        None => FaultConfig::default(),
    };
    let flags = FaultRule {
        error_rate: a.fault_503_rate,
        latency_ms: a.fault_latency_ms,
        jitter_ms: a.fault_jitter_ms,
        drop_rate: a.fault_drop_rate,
        lost_reply_rate: a.fault_lost_reply_rate,
        malformed_rate: a.fault_malformed_rate,
        retry_after_s: a.fault_retry_after_s,
    };
    if !flags.is_noop() {
        faults.global = flags;
    }
    faults.fail_builds += a.fail_builds;
    faults
        .fail_build_names
        .extend(a.fail_build_name.iter().cloned());
    Ok(SimConfig {
        state_file: a.state.clone(),
        timings,
        users,
        quotas: QuotaLimits {
            vms: a.quota_vms,
            cpus: a.quota_cpus,
            ram_mib: a.quota_ram_mib,
            disk_gib: a.quota_disk_gib,
            floating_ips: a.quota_floating_ips,
            private_networks: a.quota_networks,
        },
        faults,
        tls: a.tls.then(|| TlsConfig {
            cert_out: a.tls_cert_out.clone(),
        }),
        seed: a.seed,
        ssh_listen: a.ssh_listen,
        ssh_boot_time: a.ssh_boot_time,
        recipe_time: a.recipe_time,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "okeanos_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = config(&args)?;
    let sim = okeanos_sim::spawn(cfg, args.listen).await?;
    println!(
        "okeanos-sim ready: auth URL {} token {}",
        sim.auth_url(),
        sim.token()
    );
    if let Some(ssh) = sim.ssh_addr() {
        println!("okeanos-sim SSH gateway (jump host): {ssh}");
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("shutting down…");
    sim.shutdown().await;
    Ok(())
}
