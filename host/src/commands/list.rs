//! `list`: VMs, optionally by tag or run id.

use super::Output;
use crate::ops::Ctx;
use crate::ops::vms::{self, ListRequest};
use crate::view;
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Only VMs with this tag (repeatable)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Only the VMs of this run (deployment or run-image)
    #[arg(long)]
    pub run_id: Option<String>,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let req = ListRequest {
        tags: args.tags,
        run_id: args.run_id,
    };
    let vms = vms::list(ctx, req.tags()?).await?;
    out.print(&vms, || view::vm_rows(&vms));
    Ok(())
}
