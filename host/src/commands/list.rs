//! `list`: VMs, optionally by tag or run id.

use super::Output;
use crate::ops::Ctx;
use crate::ops::vms::{self, ListRequest};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output, req: ListRequest) -> anyhow::Result<()> {
    let vms = vms::list(ctx, req.tags()?).await?;
    out.print(&vms, || view::vm_rows(&vms));
    Ok(())
}
