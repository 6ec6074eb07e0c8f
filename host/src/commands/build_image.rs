//! `build-image`: boot a base image with files, stop it, snapshot it, remove the builder VM.

use super::run_image::local_inputs;
use super::{Output, SizeArgs, size_hint};
use crate::ops::images::{self, BuildImageRequest};
use crate::ops::{Ctx, inputs};
use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
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

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let (ssh_keys, files, user_data) =
        local_inputs(&args.ssh_keys, &args.files, args.user_data.as_deref())?;
    let req = BuildImageRequest {
        image: args.image,
        flavor: args.size.flavor,
        cpu: args.size.cpu,
        ram_mb: args.size.ram_mb,
        disk_gb: args.size.disk_gb,
        name: args.name,
        files,
        ssh_keys,
        user_data,
        public: args.public,
        timeout: args.timeout,
    };
    inputs::size(req.flavor.clone(), req.cpu, req.ram_mb, req.disk_gb).map_err(size_hint)?;
    let build = images::prepare_build(ctx, &req)?;
    eprintln!("building image {} from {}…", req.name, req.image);
    let image = images::build(ctx, build).await?;
    out.print(&image, || image.id.clone());
    Ok(())
}
