//! `describe VM_ID`: one VM with its disks.

use super::{Output, VmArg};
use crate::ops::{Ctx, vms};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output, args: VmArg) -> anyhow::Result<()> {
    let vm = vms::describe(ctx, &args.vm_id).await?;
    out.print(&vm, || view::vm_detail(&vm));
    Ok(())
}
