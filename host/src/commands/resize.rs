//! `resize VM_ID`: move a VM to another CPU/RAM size (shutdown → resize → start).

use super::{Output, SizeArgs, size_hint};
use crate::ops::Ctx;
use crate::ops::vms::{self, ResizeRequest};
use crate::view;
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    pub vm_id: String,
    #[command(flatten)]
    pub size: SizeArgs,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let req = ResizeRequest {
        flavor: args.size.flavor,
        cpu: args.size.cpu,
        ram_mb: args.size.ram_mb,
        disk_gb: args.size.disk_gb,
        timeout: args.timeout,
    };
    let size = req.size().map_err(size_hint)?;
    let done = vms::resize(ctx, &args.vm_id, size, req.timeout).await?;
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
