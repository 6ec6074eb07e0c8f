//! `terminate VM_ID... | --run-id ID`: delete VMs and wait until they are gone.

use super::Output;
use crate::ops::Ctx;
use crate::ops::vms::{self, TerminateRequest};

pub async fn exec(ctx: &Ctx, out: &Output, req: TerminateRequest) -> anyhow::Result<()> {
    let done = vms::terminate(ctx, req).await?;
    out.print(&done, || {
        format!("terminated {}", done.terminated.join(" "))
    });
    Ok(())
}
