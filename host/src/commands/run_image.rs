//! `run-image`: one VM from an image, waited for until it runs.

use super::{Output, SizeArgs};
use crate::ops::inputs::{FileInput, SshKey, UserData};
use crate::ops::vms::{self, RunImageRequest};
use crate::ops::{Ctx, inputs};
use crate::view;
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
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

/// The inputs a VM takes from local files, as the command line names them.
pub fn local_inputs(
    ssh_keys: &[PathBuf],
    files: &[String],
    user_data: Option<&Path>,
) -> anyhow::Result<(Vec<SshKey>, Vec<FileInput>, Option<UserData>)> {
    Ok((
        ssh_keys.iter().cloned().map(SshKey::Path).collect(),
        files
            .iter()
            .map(|p| FileInput::parse_pair(p, Path::new(".")))
            .collect::<anyhow::Result<_>>()?,
        user_data.map(|p| UserData::File(p.to_path_buf())),
    ))
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let (ssh_keys, files, user_data) =
        local_inputs(&args.ssh_keys, &args.files, args.user_data.as_deref())?;
    let tags = vms::parse_tags(&args.tags)?
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let req = RunImageRequest {
        image: args.image,
        flavor: args.size.flavor,
        cpu: args.size.cpu,
        ram_mb: args.size.ram_mb,
        disk_gb: args.size.disk_gb,
        name: args.name,
        ssh_keys,
        files,
        user_data,
        volatile_disk_gb: args.volatile_disk_gb,
        tags,
        project: args.project,
        timeout: args.timeout,
        keep_on_failure: args.keep_on_failure,
        no_wait: args.no_wait,
    };
    inputs::size(req.flavor.clone(), req.cpu, req.ram_mb, req.disk_gb).map_err(super::size_hint)?;
    let run = vms::prepare_run(ctx, &req)?;
    if run.wait {
        eprintln!("creating VM {} and waiting until it runs…", run.spec.name);
    }
    let vm = vms::run_image(ctx, run).await?;
    out.print(&vm, || view::vm_detail(&vm));
    Ok(())
}
