//! `create-image VM_ID --name NEW`: snapshot a VM's root disk into a new image.

use super::Output;
use crate::ops::Ctx;
use crate::ops::images::{self, CreateImageRequest};
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    pub vm_id: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let req = CreateImageRequest {
        name: args.name,
        timeout: args.timeout,
    };
    let image = images::create(ctx, &args.vm_id, req).await?;
    out.print(&image, || image.id.clone());
    Ok(())
}
