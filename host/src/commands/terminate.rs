//! `terminate VM_ID... | --run-id ID`: delete VMs and wait until they are gone.

use super::Output;
use crate::ops::Ctx;
use crate::ops::vms::{self, TerminateRequest};
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    pub vm_ids: Vec<String>,
    #[arg(long)]
    pub run_id: Option<String>,
    /// Return once the deletes are accepted
    #[arg(long)]
    pub no_wait: bool,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let req = TerminateRequest {
        vm_ids: args.vm_ids,
        run_id: args.run_id,
        no_wait: args.no_wait,
        timeout: args.timeout,
    };
    let done = vms::terminate(ctx, req).await?;
    out.print(&done, || {
        format!("terminated {}", done.terminated.join(" "))
    });
    Ok(())
}
