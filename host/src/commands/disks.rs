//! `attach-disk` and `detach-disk`.

use super::Output;
use crate::ops::Ctx;
use crate::ops::disks::{self, AttachRequest, DetachRequest};
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct AttachArgs {
    pub vm_id: String,
    #[arg(long)]
    pub size_gb: u32,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, ClapArgs)]
pub struct DetachArgs {
    pub vm_id: String,
    pub volume_id: String,
    #[arg(long)]
    pub delete: bool,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn attach(ctx: &Ctx, out: &Output, args: AttachArgs) -> anyhow::Result<()> {
    let req = AttachRequest {
        size_gb: args.size_gb,
        name: args.name,
        timeout: args.timeout,
    };
    let disk = disks::attach(ctx, &args.vm_id, req).await?;
    out.print(&disk, || disk.id.clone());
    Ok(())
}

pub async fn detach(ctx: &Ctx, out: &Output, args: DetachArgs) -> anyhow::Result<()> {
    let req = DetachRequest {
        delete: args.delete,
        timeout: args.timeout,
    };
    let disk = disks::detach(ctx, &args.vm_id, &args.volume_id, req).await?;
    out.print(&disk, || {
        let done = if args.delete {
            "detached and deleted"
        } else {
            "detached"
        };
        format!("volume {} {done}", disk.id)
    });
    Ok(())
}
