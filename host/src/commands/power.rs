//! `start`, `stop`, `reboot [--hard]`: power actions, returning once the cloud accepted them.

use super::Output;
use crate::ops::Ctx;
use crate::ops::vms::{self, Power};
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct RebootArgs {
    pub vm_id: String,
    #[arg(long)]
    pub hard: bool,
}

pub async fn exec(ctx: &Ctx, out: &Output, vm_id: &str, action: Power) -> anyhow::Result<()> {
    let done = vms::power(ctx, vm_id, action).await?;
    out.print(&done, || format!("{} of VM {vm_id} accepted", done.action));
    Ok(())
}
