//! `run-image`: one VM from an image, waited for until it runs.

use super::{ImageAndSize, LocalInputArgs, Output, check_size};
use crate::ops::Ctx;
use crate::ops::vms::{self, RunImageRequest};
use crate::view;
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub base: ImageAndSize,
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub local: LocalInputArgs,
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
    #[command(flatten)]
    pub recipe: super::RecipeArgs,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let inputs = args.local.inputs()?;
    let tags = vms::parse_tags(&args.tags)?
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let req = RunImageRequest {
        image: args.base.image,
        size: args.base.size,
        inputs,
        volatile_disk_gb: args.volatile_disk_gb,
        tags,
        project: args.project,
        name: args.name,
        timeout: args.timeout,
        keep_on_failure: args.keep_on_failure,
        no_wait: args.no_wait,
        recipe: args.recipe.fields()?,
    };
    check_size(&req.size)?;
    let run = vms::prepare_run(ctx, &req)?;
    if run.request.wait {
        eprintln!(
            "creating VM {} and waiting until it runs…",
            run.request.spec.name
        );
    }
    let vm = vms::run_image(ctx, run).await?;
    out.print(&vm, || view::vm_detail(&vm));
    Ok(())
}
