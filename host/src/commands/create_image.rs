//! `create-image VM_ID --name NEW`: snapshot a VM's root disk into a new image.

use super::{OnVm, Output};
use crate::ops::Ctx;
use crate::ops::images::{self, CreateImageRequest};

pub async fn exec(ctx: &Ctx, out: &Output, args: OnVm<CreateImageRequest>) -> anyhow::Result<()> {
    let image = images::create(ctx, &args.vm_id, args.req).await?;
    out.print(&image, || image.id.clone());
    Ok(())
}
