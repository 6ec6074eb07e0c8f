//! Extra disks: create + attach, detach (+ delete).

use super::Ctx;
use crate::view::DiskView;
use anyhow::bail;
use connector_runtime::orchestrate;
use serde::Deserialize;
use std::time::Duration;

/// `attach-disk` (`POST …/vms/{id}/disks`): a new volume of `size_gb`, attached to the VM.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    #[arg(long)]
    pub size_gb: u32,
    /// Name of the volume [default: `disk-` and a random suffix]
    #[arg(long)]
    pub name: Option<String>,
    /// How long to wait [default: orchestration.vm_timeout, 10m]
    #[serde(default, with = "humantime_serde")]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

impl AttachRequest {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.size_gb == 0 {
            bail!("size_gb must be at least 1");
        }
        Ok(())
    }
}

pub async fn attach(ctx: &Ctx, vm_id: &str, req: AttachRequest) -> anyhow::Result<DiskView> {
    req.check()?;
    let name = req
        .name
        .unwrap_or_else(|| format!("disk-{}", &orchestrate::new_run_id()[..8]));
    let disk = orchestrate::attach_disk(
        &ctx.client,
        vm_id,
        req.size_gb,
        &name,
        ctx.poll(req.timeout),
    )
    .await?;
    Ok(DiskView::new(&disk))
}

/// `detach-disk` (`DELETE …/vms/{id}/disks/{disk}`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DetachRequest {
    /// Delete the volume once detached
    #[arg(long)]
    pub delete: bool,
    /// How long to wait [default: orchestration.vm_timeout, 10m]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn detach(
    ctx: &Ctx,
    vm_id: &str,
    disk_id: &str,
    req: DetachRequest,
) -> anyhow::Result<DiskView> {
    let poll = ctx.poll(req.timeout);
    let disk = orchestrate::detach_disk(&ctx.client, vm_id, disk_id, req.delete, poll).await?;
    Ok(DiskView::new(&disk))
}
