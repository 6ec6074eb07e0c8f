//! `resize VM_ID`: move a VM to another CPU/RAM size (shutdown → resize → start).

use super::{OnVm, Output, check_size};
use crate::ops::Ctx;
use crate::ops::vms::{self, ResizeRequest};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output, args: OnVm<ResizeRequest>) -> anyhow::Result<()> {
    check_size(&args.req.size)?;
    let size = args.req.size.size()?;
    let done = vms::resize(ctx, &args.vm_id, size, args.req.timeout).await?;
    out.print(&done, || {
        let v = &done.vm;
        if done.changed {
            format!(
                "resized VM {} to flavor {}\n{}",
                v.id,
                v.flavor,
                view::vm_detail(v)
            )
        } else {
            format!("VM {} already has flavor {}: nothing to do", v.id, v.flavor)
        }
    });
    Ok(())
}
