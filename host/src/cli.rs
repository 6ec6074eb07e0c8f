//! The command line: parse, open a session, run one command, print text or JSON.

use crate::bindings::types::{Size, Tag, VmSpec};
use crate::config::HostConfig;
use crate::orchestrate::deploy::{self, DeployOptions, GroupProgress, Observer};
use crate::orchestrate::wait::Poll;
use crate::orchestrate::{self, BuildImageRequest, ResizeOutcome, RunRequest, TAG_RUN, tag};
use crate::setup;
use crate::view::{self, DiskView, FlavorView, ImageView, VmView};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    RunImage(RunImageArgs),
    /// Run a deployment file: many VMs in node groups, all at once
    Deploy(DeployArgs),
    /// List VMs (optionally by tag or run id)
    List {
        /// Only VMs with this tag (repeatable)
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// Only the VMs of this run (deployment or run-image)
        #[arg(long)]
        run_id: Option<String>,
    },
    /// Show one VM with its disks
    Describe { vm_id: String },
    /// Delete VMs (by id, or a whole run) and wait until they are gone
    Terminate {
        vm_ids: Vec<String>,
        #[arg(long)]
        run_id: Option<String>,
        /// Return once the deletes are accepted
        #[arg(long)]
        no_wait: bool,
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
    /// Start a stopped VM
    Start { vm_id: String },
    /// Stop (shut down) a running VM
    Stop { vm_id: String },
    /// Reboot a VM
    Reboot {
        vm_id: String,
        #[arg(long)]
        hard: bool,
    },
    /// Move a VM to another CPU/RAM size (shutdown → resize → start)
    Resize {
        vm_id: String,
        #[command(flatten)]
        size: SizeArgs,
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
    /// Create a new disk and attach it to a VM; prints the volume id
    AttachDisk {
        vm_id: String,
        #[arg(long)]
        size_gb: u32,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
    /// Detach a disk from a VM (and delete it with --delete)
    DetachDisk {
        vm_id: String,
        volume_id: String,
        #[arg(long)]
        delete: bool,
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
    /// Build a new image: boot BASE with files, stop, snapshot, remove the builder VM
    BuildImage(BuildImageArgs),
    /// Snapshot an existing VM's root disk into a new image
    CreateImage {
        vm_id: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
    },
    /// Serve every command as an HTTP/JSON API, with hot-swappable connectors
    Serve(crate::serve::ServeArgs),
    /// List, swap or roll back the connectors of a running server (its admin API)
    Connectors(crate::admin_client::ConnectorsArgs),
}

#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Flavor id or name (e.g. C2R2048D10ext_vlmc)
    #[arg(long, conflicts_with_all = ["cpu", "ram_mb"])]
    pub flavor: Option<String>,
    /// CPUs (with --ram-mb): the smallest fitting flavor is used
    #[arg(long, requires = "ram_mb")]
    pub cpu: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub ram_mb: Option<u32>,
    #[arg(long, requires = "cpu")]
    pub disk_gb: Option<u32>,
}

impl SizeArgs {
    fn size(&self) -> anyhow::Result<Size> {
        deploy::size_from(self.flavor.clone(), self.cpu, self.ram_mb, self.disk_gb)
            .map_err(|e| anyhow::anyhow!("{e}: use --flavor NAME or --cpu N --ram-mb N"))
    }
}

#[derive(Debug, Args)]
pub struct RunImageArgs {
    /// Image id or name
    #[arg(long)]
    pub image: String,
    #[command(flatten)]
    pub size: SizeArgs,
    #[arg(long)]
    pub name: Option<String>,
    /// SSH public key file to install (repeatable)
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_keys: Vec<PathBuf>,
    /// Local file to place on the VM (repeatable)
    #[arg(long = "file", value_name = "LOCAL=REMOTE")]
    pub files: Vec<String>,
    /// Cloud-init user data file
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
    /// An extra disk of N GB, deleted with the VM
    #[arg(long, value_name = "N")]
    pub volatile_disk_gb: Option<u32>,
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Project (tenant) to charge
    #[arg(long)]
    pub project: Option<String>,
    /// Return as soon as the cloud accepted the VM
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the VM to run [default: orchestration.vm_timeout, 10m]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// Keep the VM if it fails to come up (default: delete it)
    #[arg(long)]
    pub keep_on_failure: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Deployment file (TOML)
    pub file: PathBuf,
    /// Keep what was created when the deployment fails (default: delete it all)
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Connector calls in flight at once [default: orchestration.concurrency, 64]
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct BuildImageArgs {
    /// Base image id or name
    #[arg(long)]
    pub image: String,
    #[command(flatten)]
    pub size: SizeArgs,
    /// Name of the new image
    #[arg(long)]
    pub name: String,
    #[arg(long = "file", value_name = "LOCAL=REMOTE")]
    pub files: Vec<String>,
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_keys: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub user_data: Option<PathBuf>,
    /// Make the new image public
    #[arg(long)]
    pub public: bool,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
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

struct Printer {
    json: bool,
}

impl Printer {
    fn print(&self, value: &impl serde::Serialize, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("serializable")
            );
        } else {
            println!("{}", text());
        }
    }
}

pub fn parse_tags(pairs: &[String]) -> anyhow::Result<Vec<Tag>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("tag `{p}` is not KEY=VALUE"))?;
            if k.is_empty() {
                bail!("tag `{p}` has an empty key");
            }
            Ok(tag(k, v))
        })
        .collect()
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
    let out = Printer {
        json: cli.output == OutputFormat::Json,
    };
    let result = dispatch(&config, &session, &out, command).await;
    session.close().await;
    result
}

async fn dispatch(
    config: &HostConfig,
    session: &setup::Session,
    out: &Printer,
    command: Command,
) -> anyhow::Result<()> {
    let client = &session.client;
    let orch = &config.orchestration;
    let poll = |timeout: Option<Duration>| {
        Poll::new(orch.poll_interval, timeout.unwrap_or(orch.vm_timeout))
    };
    match command {
        Command::Flavors => {
            let flavors = client.list_flavors().await?;
            let views: Vec<FlavorView> = flavors.iter().map(FlavorView::new).collect();
            out.print(&views, || {
                let rows = views
                    .iter()
                    .map(|f| {
                        vec![
                            f.id.clone(),
                            f.name.clone(),
                            f.cpus.to_string(),
                            f.ram_mb.to_string(),
                            f.disk_gb.to_string(),
                            f.disk_template.clone(),
                            if f.allow_create { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect::<Vec<_>>();
                view::table(
                    &[
                        "ID", "NAME", "CPUS", "RAM_MB", "DISK_GB", "TEMPLATE", "CREATE",
                    ],
                    &rows,
                )
            });
        }
        Command::Images => {
            let images = client.list_images().await?;
            let views: Vec<ImageView> = images.iter().map(ImageView::new).collect();
            out.print(&views, || {
                let rows = views
                    .iter()
                    .map(|i| {
                        vec![
                            i.id.clone(),
                            i.name.clone(),
                            i.state.to_string(),
                            i.os.clone().unwrap_or_default(),
                            if i.public { "public" } else { "private" }.into(),
                            if i.is_snapshot { "snapshot" } else { "" }.into(),
                        ]
                    })
                    .collect::<Vec<_>>();
                view::table(&["ID", "NAME", "STATE", "OS", "VISIBILITY", "KIND"], &rows)
            });
        }
        Command::RunImage(args) => {
            let spec = VmSpec {
                name: args
                    .name
                    .clone()
                    .unwrap_or_else(|| default_vm_name(&args.image)),
                image: args.image.clone(),
                size: args.size.size()?,
                ssh_keys: read_keys(&args.ssh_keys)?,
                files: read_files(&args.files)?,
                user_data: read_user_data(args.user_data.as_deref())?,
                volatile_disk_gb: args.volatile_disk_gb,
                tags: parse_tags(&args.tags)?,
                project: args.project.clone(),
            };
            if !args.no_wait {
                eprintln!("creating VM {} and waiting until it runs…", spec.name);
            }
            let (vm, _run) = orchestrate::run_image(
                client,
                RunRequest {
                    spec,
                    wait: !args.no_wait,
                    poll: poll(args.timeout),
                    keep_on_failure: args.keep_on_failure,
                },
            )
            .await?;
            let v = VmView::new(&vm);
            out.print(&v, || view::vm_detail(&v));
        }
        Command::Deploy(args) => {
            let plan = deploy::load(&args.file)?;
            let run_id = orchestrate::new_run_id();
            let opts = DeployOptions {
                concurrency: args.concurrency.unwrap_or(orch.concurrency),
                poll: poll(args.timeout),
                keep_on_failure: args.keep_on_failure,
            };
            eprintln!(
                "deploying {} ({} VMs in {} node groups) as run {run_id}",
                plan.name,
                plan.total(),
                plan.groups.len()
            );
            let observer: Arc<dyn Observer> = Arc::new(ProgressDisplay::new(&plan));
            let work = deploy::deploy(client, &plan, &run_id, &opts, observer);
            let result = tokio::select! {
                r = work => r,
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("interrupted: deleting what run {run_id} created…");
                    let cleaned = orchestrate::cleanup_run(client, &run_id, opts.poll).await;
                    bail!("deployment interrupted; {}", match cleaned {
                        Ok(n) => format!("removed {n} VM(s)"),
                        Err(e) => format!("cleanup failed ({e:#}): run `terminate --run-id {run_id}`"),
                    });
                }
            }?;
            let vms: Vec<serde_json::Value> = result
                .vms
                .iter()
                .map(|d| {
                    let mut v = serde_json::to_value(VmView::new(&d.vm)).expect("serializable");
                    v["node"] = d.node.clone().into();
                    v["index"] = d.index.into();
                    v
                })
                .collect();
            let json =
                serde_json::json!({"run_id": result.run_id, "name": result.name, "vms": vms});
            out.print(&json, || {
                let views: Vec<VmView> = result.vms.iter().map(|d| VmView::new(&d.vm)).collect();
                format!("run id: {}\n{}", result.run_id, view::vm_rows(&views))
            });
        }
        Command::List { tags, run_id } => {
            let mut tags = parse_tags(&tags)?;
            if let Some(r) = run_id {
                tags.push(tag(TAG_RUN, &r));
            }
            let vms = client.list_vms(tags).await?;
            let views: Vec<VmView> = vms.iter().map(VmView::new).collect();
            out.print(&views, || view::vm_rows(&views));
        }
        Command::Describe { vm_id } => {
            let vm = client.get_vm(vm_id.clone()).await?;
            let disks = client.list_disks(Some(vm_id)).await?;
            let v = VmView::new(&vm).with_disks(&disks);
            out.print(&v, || view::vm_detail(&v));
        }
        Command::Terminate {
            vm_ids,
            run_id,
            no_wait,
            timeout,
        } => {
            let explicit = vm_ids;
            let mut ids = explicit.clone();
            let mut listing_tags = Vec::new();
            if let Some(r) = &run_id {
                listing_tags.push(tag(TAG_RUN, r));
                let vms = client.list_vms(listing_tags.clone()).await?;
                if vms.is_empty() && ids.is_empty() {
                    bail!("no VM carries run id {r}: check `list` for the right id");
                }
                ids.extend(
                    vms.into_iter()
                        .map(|v| v.id)
                        .filter(|id| !explicit.contains(id)),
                );
            }
            if ids.is_empty() {
                bail!("nothing to terminate: give VM ids or --run-id");
            }
            if no_wait {
                for id in &ids {
                    client
                        .delete_vm(id.clone())
                        .await
                        .with_context(|| format!("cannot delete VM {id}"))?;
                }
            } else {
                // Ids typed by the user must exist: a typo is an error, not a silent no-op.
                for id in &explicit {
                    client
                        .get_vm(id.clone())
                        .await
                        .with_context(|| format!("cannot terminate VM {id}"))?;
                }
                // Watching the run's listing sees every VM only when all came from the run.
                let tags = if explicit.is_empty() {
                    listing_tags
                } else {
                    vec![]
                };
                orchestrate::terminate_many(client, &ids, &tags, poll(timeout)).await?;
            }
            let json = serde_json::json!({"terminated": ids});
            out.print(&json, || format!("terminated {}", ids.join(" ")));
        }
        Command::Start { vm_id } => {
            simple_action(out, client.start_vm(vm_id.clone()).await, &vm_id, "start")?
        }
        Command::Stop { vm_id } => {
            simple_action(out, client.stop_vm(vm_id.clone()).await, &vm_id, "stop")?
        }
        Command::Reboot { vm_id, hard } => simple_action(
            out,
            client.reboot_vm(vm_id.clone(), hard).await,
            &vm_id,
            "reboot",
        )?,
        Command::Resize {
            vm_id,
            size,
            timeout,
        } => {
            let outcome = orchestrate::resize(client, &vm_id, size.size()?, poll(timeout)).await?;
            let (vm, changed) = match outcome {
                ResizeOutcome::AlreadyThere(vm) => (vm, false),
                ResizeOutcome::Resized(vm) => (vm, true),
            };
            let v = VmView::new(&vm);
            let json = serde_json::json!({"changed": changed, "vm": v});
            out.print(&json, || {
                if changed {
                    format!(
                        "resized VM {} to flavor {}\n{}",
                        v.id,
                        v.flavor,
                        view::vm_detail(&v)
                    )
                } else {
                    format!("VM {} already has flavor {}: nothing to do", v.id, v.flavor)
                }
            });
        }
        Command::AttachDisk {
            vm_id,
            size_gb,
            name,
            timeout,
        } => {
            let name = name.unwrap_or_else(|| format!("disk-{}", &orchestrate::new_run_id()[..8]));
            let disk =
                orchestrate::attach_disk(client, &vm_id, size_gb, &name, poll(timeout)).await?;
            let d = DiskView::new(&disk);
            out.print(&d, || d.id.clone());
        }
        Command::DetachDisk {
            vm_id,
            volume_id,
            delete,
            timeout,
        } => {
            let disk =
                orchestrate::detach_disk(client, &vm_id, &volume_id, delete, poll(timeout)).await?;
            let d = DiskView::new(&disk);
            out.print(&d, || {
                format!(
                    "volume {} {}",
                    d.id,
                    if delete {
                        "detached and deleted"
                    } else {
                        "detached"
                    }
                )
            });
        }
        Command::BuildImage(args) => {
            eprintln!("building image {} from {}…", args.name, args.image);
            let image = orchestrate::build_image(
                client,
                BuildImageRequest {
                    base_image: args.image.clone(),
                    size: args.size.size()?,
                    name: args.name.clone(),
                    files: read_files(&args.files)?,
                    ssh_keys: read_keys(&args.ssh_keys)?,
                    user_data: read_user_data(args.user_data.as_deref())?,
                    public: args.public,
                    poll: poll(args.timeout),
                },
            )
            .await?;
            let v = ImageView::new(&image);
            out.print(&v, || v.id.clone());
        }
        Command::CreateImage {
            vm_id,
            name,
            timeout,
        } => {
            let image = orchestrate::create_image(client, &vm_id, &name, poll(timeout)).await?;
            let v = ImageView::new(&image);
            out.print(&v, || v.id.clone());
        }
        Command::Serve(_) | Command::Connectors(_) => {
            bail!("`serve` and `connectors` run without a session")
        }
    }
    Ok(())
}

fn simple_action(
    out: &Printer,
    result: Result<(), crate::error::CallError>,
    vm_id: &str,
    action: &str,
) -> anyhow::Result<()> {
    result.with_context(|| format!("cannot {action} VM {vm_id}"))?;
    let json = serde_json::json!({"vm": vm_id, "action": action, "accepted": true});
    out.print(&json, || format!("{action} of VM {vm_id} accepted"));
    Ok(())
}

fn default_vm_name(image: &str) -> String {
    let base: String = orchestrate::sanitize(image).chars().take(40).collect();
    format!("{base}-{}", &orchestrate::new_run_id()[..6])
}

fn read_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    paths.iter().map(|p| deploy::read_ssh_key(p)).collect()
}

fn read_files(pairs: &[String]) -> anyhow::Result<Vec<crate::bindings::types::File>> {
    pairs
        .iter()
        .map(|p| deploy::read_file_pair(p, Path::new(".")))
        .collect()
}

fn read_user_data(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read user data {}", p.display()))
    })
    .transpose()
}

/// Deployment progress: bars per node group on a terminal, plain lines otherwise.
struct ProgressDisplay {
    bars: Option<(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    )>,
    last_line: Mutex<String>,
}

impl ProgressDisplay {
    fn new(plan: &deploy::DeploymentPlan) -> Self {
        if !std::io::stderr().is_terminal() {
            return ProgressDisplay {
                bars: None,
                last_line: Mutex::default(),
            };
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} running {msg}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        let bars = plan
            .groups
            .iter()
            .map(|g| {
                let bar = multi.add(indicatif::ProgressBar::new(g.count as u64));
                bar.set_style(style.clone());
                bar.set_prefix(g.name.clone());
                (g.name.clone(), bar)
            })
            .collect();
        ProgressDisplay {
            bars: Some((multi, bars)),
            last_line: Mutex::default(),
        }
    }
}

impl Observer for ProgressDisplay {
    fn phase(&self, phase: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(phase);
            }
            None => eprintln!("{phase}"),
        }
    }

    fn progress(&self, groups: &BTreeMap<String, GroupProgress>) {
        match &self.bars {
            Some((_, bars)) => {
                for (name, p) in groups {
                    if let Some(bar) = bars.get(name) {
                        bar.set_position(p.running as u64);
                        bar.set_message(format!("({} created, {} failed)", p.created, p.failed));
                    }
                }
            }
            None => {
                let line = groups
                    .iter()
                    .map(|(n, p)| {
                        format!(
                            "{n}: {}/{} created, {} running",
                            p.created, p.total, p.running
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
                if *last != line {
                    eprintln!("{line}");
                    *last = line;
                }
            }
        }
    }
}
