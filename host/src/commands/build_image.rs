//! `build-image`: boot a base image with files, stop it, snapshot it, remove the builder VM.

use super::{ImageAndSize, LocalInputArgs, Output, check_size};
use crate::ops::Ctx;
use crate::ops::images::{self, BuildImageRequest};
use clap::Args as ClapArgs;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub base: ImageAndSize,
    /// Name of the new image
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub local: LocalInputArgs,
    /// Make the new image public
    #[arg(long)]
    pub public: bool,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub recipe: super::RecipeArgs,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let inputs = args.local.inputs()?;
    let req = BuildImageRequest {
        image: args.base.image,
        size: args.base.size,
        name: args.name,
        inputs,
        public: args.public,
        timeout: args.timeout,
        recipe: args.recipe.fields()?,
    };
    check_size(&req.size)?;
    let build = images::prepare_build(ctx, &req)?;
    eprintln!("building image {} from {}…", req.name, req.image);
    let image = images::build(ctx, build).await?;
    out.print(&image, || image.id.clone());
    Ok(())
}
