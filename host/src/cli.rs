//! The command line: parse, open a session, run one command (`crate::commands`), print text
//! or JSON.

use crate::commands::{self, LocalDisk, Output};
use crate::config::HostConfig;
use crate::ops::Ctx;
use crate::ops::vms::Power;
use crate::setup;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(name = "connector-host", version, about = "Run VMs, deployments and image builds on ~Okeanos through a sandboxed WebAssembly connector", long_about = None)]
pub struct Cli {
    /// Configuration file [default: ~/.config/connector-host/config.toml]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Load this connector component instead of the built-in ~Okeanos one
    #[arg(long, global = true, value_name = "FILE.wasm")]
    pub connector: Option<PathBuf>,
    /// More logs on stderr (-v: info, -vv: debug incl. the connector's own lines)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the VM sizes (flavors)
    Flavors,
    /// List the images
    Images,
    /// Run one VM from an image and wait until it is running
    RunImage(commands::run_image::Args),
    /// Run a deployment file: many VMs in node groups, all at once
    Deploy(commands::deploy::Args),
    /// List the runs the cloud holds (deployments and run-image), by their run-id tags
    Runs,
    /// List VMs (optionally by tag or run id)
    List(crate::ops::vms::ListRequest),
    /// Show one VM with its disks
    Describe(commands::VmArg),
    /// Delete VMs (by id, or a whole run) and wait until they are gone
    Terminate(crate::ops::vms::TerminateRequest),
    /// Start a stopped VM
    Start(commands::VmArg),
    /// Stop (shut down) a running VM
    Stop(commands::VmArg),
    /// Reboot a VM
    Reboot(commands::power::RebootArgs),
    /// Move a VM to another CPU/RAM size (shutdown → resize → start)
    Resize(commands::OnVm<crate::ops::vms::ResizeRequest>),
    /// Create a new disk and attach it to a VM; prints the volume id
    AttachDisk(commands::OnVm<crate::ops::disks::AttachRequest>),
    /// Detach a disk from a VM (and delete it with --delete)
    DetachDisk(commands::disks::DetachArgs),
    /// Build a new image: boot BASE with files, stop, snapshot, remove the builder VM
    BuildImage(commands::build_image::Args),
    /// Snapshot an existing VM's root disk into a new image
    CreateImage(commands::OnVm<crate::ops::images::CreateImageRequest>),
    /// Serve every command as an HTTP/JSON API, with hot-swappable connectors
    Serve(crate::serve::ServeArgs),
    /// List, swap or roll back the connectors of a running server (its admin API)
    Connectors(crate::admin_client::ConnectorsArgs),
}

/// Logs to stderr; `RUST_LOG` overrides the verbosity flags.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,connector_host=info",
        _ => "debug,guest=debug,wasmtime=info,cranelift=info,hyper=info,h2=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let (config, _path) = HostConfig::load(cli.config.as_deref())?;
    // Serve mode builds its own registry; the admin client opens no connector at all.
    let command = match cli.command {
        Command::Serve(args) => {
            return crate::serve::run(&config, args, cli.connector.as_deref()).await;
        }
        Command::Connectors(args) => {
            return crate::admin_client::run(&config, args, cli.output == OutputFormat::Json).await;
        }
        command => command,
    };
    let session = setup::open(&config, cli.connector.as_deref()).await?;
    let ctx = Ctx {
        client: session.client.clone(),
        orchestration: config.orchestration.clone(),
        local: Arc::new(LocalDisk),
        ssh: Arc::new(crate::recipes::SshContext::new(
            &config.ssh,
            session.ssh_jump.as_deref(),
        )?),
    };
    let out = Output {
        json: cli.output == OutputFormat::Json,
    };
    let result = dispatch(&ctx, &out, command).await;
    session.close().await;
    result
}

async fn dispatch(ctx: &Ctx, out: &Output, command: Command) -> anyhow::Result<()> {
    use commands::*;
    match command {
        Command::Flavors => flavors::exec(ctx, out).await,
        Command::Images => images::exec(ctx, out).await,
        Command::RunImage(args) => run_image::exec(ctx, out, args).await,
        Command::Deploy(args) => deploy::exec(ctx, out, args).await,
        Command::Runs => runs::exec(ctx, out).await,
        Command::List(args) => list::exec(ctx, out, args).await,
        Command::Describe(args) => describe::exec(ctx, out, args).await,
        Command::Terminate(args) => terminate::exec(ctx, out, args).await,
        Command::Start(a) => power::exec(ctx, out, &a.vm_id, Power::Start).await,
        Command::Stop(a) => power::exec(ctx, out, &a.vm_id, Power::Stop).await,
        Command::Reboot(a) => power::exec(ctx, out, &a.vm_id, Power::Reboot { hard: a.hard }).await,
        Command::Resize(args) => resize::exec(ctx, out, args).await,
        Command::AttachDisk(args) => disks::attach(ctx, out, args).await,
        Command::DetachDisk(args) => disks::detach(ctx, out, args).await,
        Command::BuildImage(args) => build_image::exec(ctx, out, args).await,
        Command::CreateImage(args) => create_image::exec(ctx, out, args).await,
        Command::Serve(_) | Command::Connectors(_) => {
            anyhow::bail!("`serve` and `connectors` run without a session")
        }
    }
}
