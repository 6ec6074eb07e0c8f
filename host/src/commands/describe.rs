//! `describe VM_ID`: one VM with its disks.

use super::Output;
use crate::ops::{Ctx, vms};
use crate::view;
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    pub vm_id: String,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let vm = vms::describe(ctx, &args.vm_id).await?;
    out.print(&vm, || view::vm_detail(&vm));
    Ok(())
}
