//! `attach-disk` and `detach-disk`.

use super::{OnVm, Output};
use crate::ops::Ctx;
use crate::ops::disks::{self, AttachRequest, DetachRequest};
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct DetachArgs {
    pub vm_id: String,
    pub volume_id: String,
    #[command(flatten)]
    pub req: DetachRequest,
}

pub async fn attach(ctx: &Ctx, out: &Output, args: OnVm<AttachRequest>) -> anyhow::Result<()> {
    let disk = disks::attach(ctx, &args.vm_id, args.req).await?;
    out.print(&disk, || disk.id.clone());
    Ok(())
}

pub async fn detach(ctx: &Ctx, out: &Output, args: DetachArgs) -> anyhow::Result<()> {
    let deleted = args.req.delete;
    let disk = disks::detach(ctx, &args.vm_id, &args.volume_id, args.req).await?;
    out.print(&disk, || {
        let done = if deleted {
            "detached and deleted"
        } else {
            "detached"
        };
        format!("volume {} {done}", disk.id)
    });
    Ok(())
}
