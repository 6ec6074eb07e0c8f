//! Flavors and images: list, get, delete, publish; build one from a base image; snapshot a VM.

use super::Ctx;
use super::inputs::{SizeRequest, VmInputs};
use super::vms::VmRequest;
use crate::recipes::RecipeFields;
use crate::view::{FlavorView, ImageView};
use connector_runtime::orchestrate::configure::Configure;
use connector_runtime::orchestrate::{self, BuildImageRequest as Build};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

pub async fn flavors(ctx: &Ctx) -> anyhow::Result<Vec<FlavorView>> {
    let flavors = ctx.client.list_flavors().await?;
    Ok(flavors.iter().map(FlavorView::new).collect())
}

pub async fn list(ctx: &Ctx) -> anyhow::Result<Vec<ImageView>> {
    let images = ctx.client.list_images().await?;
    Ok(images.iter().map(ImageView::new).collect())
}

/// One image, by id or name.
pub async fn get(ctx: &Ctx, image: &str) -> anyhow::Result<ImageView> {
    Ok(ImageView::new(
        &ctx.client.get_image(image.to_string()).await?,
    ))
}

pub async fn delete(ctx: &Ctx, image: &str) -> anyhow::Result<()> {
    Ok(ctx.client.delete_image(image.to_string()).await?)
}

/// Makes an image public (or private again).
pub async fn set_public(ctx: &Ctx, image: &str, public: bool) -> anyhow::Result<ImageView> {
    ctx.client
        .set_image_public(image.to_string(), public)
        .await?;
    get(ctx, image).await
}

/// `build-image` (`POST …/image-builds`): boot the base image with the files, snapshot it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildImageRequest {
    /// Base image id or name.
    pub image: String,
    #[serde(flatten)]
    pub size: SizeRequest,
    /// Name of the new image.
    pub name: String,
    #[serde(flatten)]
    pub inputs: VmInputs,
    /// Make the new image public.
    #[serde(default)]
    pub public: bool,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// A recipe the builder VM runs over SSH before it is shut down and snapshotted.
    #[serde(flatten)]
    pub recipe: RecipeFields,
}

/// Checks a build request and reads its local inputs; the result runs with [`build`].
pub fn prepare_build(ctx: &Ctx, req: &BuildImageRequest) -> anyhow::Result<Build> {
    let vm = VmRequest {
        image: req.image.clone(),
        size: req.size.clone(),
        inputs: req.inputs.clone(),
        ..VmRequest::default()
    };
    let mut spec = vm.resolve(String::new(), ctx.local.as_ref())?;
    let run_id = orchestrate::new_run_id();
    let recipes = req.recipe.run(
        &ctx.ssh,
        &super::inputs::recipe_reader(ctx.local.as_ref()),
        &run_id,
    )?;
    if let Some(r) = &recipes {
        spec.ssh_keys.push(r.public_key());
    }
    Ok(Build {
        base_image: spec.image,
        size: spec.size,
        name: req.name.clone(),
        files: spec.files,
        ssh_keys: spec.ssh_keys,
        user_data: spec.user_data,
        public: req.public,
        poll: ctx.poll(req.timeout),
        configure: recipes.map(|r| r as Arc<dyn Configure>),
        run_id: Some(run_id),
    })
}

/// Boots the builder, runs its recipe (if any), snapshots it, deletes it.
pub async fn build(ctx: &Ctx, build: Build) -> anyhow::Result<ImageView> {
    let run_id = build.run_id.clone().unwrap_or_default();
    let image = orchestrate::build_image(&ctx.client, build).await;
    // The builder is gone either way: so is the need for its key.
    ctx.ssh.forget_run_key(&run_id);
    Ok(ImageView::new(&image?))
}

/// `create-image` (`POST …/vms/{id}/create-image`): snapshot a VM's root disk.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct CreateImageRequest {
    /// Name of the new image
    #[arg(long)]
    pub name: String,
    /// How long to wait [default: orchestration.vm_timeout, 10m]
    #[serde(default, with = "humantime_serde")]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

pub async fn create(ctx: &Ctx, vm_id: &str, req: CreateImageRequest) -> anyhow::Result<ImageView> {
    let image =
        orchestrate::create_image(&ctx.client, vm_id, &req.name, ctx.poll(req.timeout)).await?;
    Ok(ImageView::new(&image))
}
