//! The connector operations over HTTP, one handler each: parse the path, query and JSON body
//! into an operation's request (`crate::ops`), run it (as a job when it waits), answer its view.

use super::ServerState;
use super::error::ApiError;
use super::jobs::{Job, JobStatus, NewJob};
use super::params::{self, Params};
use crate::ops::disks::{self, AttachRequest, DetachRequest};
use crate::ops::images::{self, BuildImageRequest, CreateImageRequest};
use crate::ops::vms::{self, ListRequest, Power, ResizeRequest, RunImageRequest, TerminateRequest};
use crate::ops::{Ctx, inputs};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Serialize;
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/connectors", get(connectors))
        .route("/connectors/{c}/flavors", get(flavors))
        .route("/connectors/{c}/images", get(images))
        .route(
            "/connectors/{c}/images/{image}",
            get(image_get).delete(image_delete),
        )
        .route(
            "/connectors/{c}/images/{image}/publish",
            post(image_publish),
        )
        .route(
            "/connectors/{c}/images/{image}/unpublish",
            post(image_unpublish),
        )
        .route("/connectors/{c}/image-builds", post(image_build))
        .route("/connectors/{c}/vms", get(vms_list).post(vm_create))
        .route("/connectors/{c}/vms/{id}", get(vm_get).delete(vm_delete))
        .route("/connectors/{c}/vms/{id}/start", post(vm_start))
        .route("/connectors/{c}/vms/{id}/stop", post(vm_stop))
        .route("/connectors/{c}/vms/{id}/reboot", post(vm_reboot))
        .route("/connectors/{c}/vms/{id}/resize", post(vm_resize))
        .route("/connectors/{c}/vms/{id}/disks", post(disk_attach))
        .route("/connectors/{c}/vms/{id}/disks/{disk}", delete(disk_detach))
        .route(
            "/connectors/{c}/vms/{id}/create-image",
            post(vm_create_image),
        )
}

/// 202 with the job (and `Location` of its status).
pub(super) fn accepted(job: &Job) -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, job.status_url())],
        Json(job.view()),
    )
        .into_response()
}

/// Runs `work` as a job: answers 202 at once, or with `?wait=true` the job's outcome.
async fn submit<F>(s: &ServerState, wait: bool, new: NewJob, done: StatusCode, work: F) -> Response
where
    F: Future<Output = Result<Value, ApiError>> + Send + 'static,
{
    let job = s.jobs().spawn(new, work);
    if !wait {
        return accepted(&job);
    }
    let state = job.finished().await;
    match (state.status, state.result, state.error) {
        (JobStatus::Succeeded, Some(v), _) => (done, Json(v)).into_response(),
        (_, _, Some(e)) => e.into_response(),
        _ => ApiError::internal(format!("job {} ended without a result", job.id)).into_response(),
    }
}

fn new_job(kind: &'static str, connector: &str, title: String) -> NewJob {
    NewJob {
        kind,
        connector: connector.to_string(),
        title,
        run_id: None,
        progress: None,
    }
}

/// Runs an operation as a job whose result is its view.
async fn submit_op<V, F>(
    s: &ServerState,
    ctx: &Ctx,
    wait: bool,
    new: NewJob,
    done: StatusCode,
    op: F,
) -> Response
where
    V: Serialize,
    F: Future<Output = anyhow::Result<V>> + Send + 'static,
{
    let client = ctx.client.clone();
    let work = async move {
        let view = op
            .await
            .map_err(|e| ApiError::from_anyhow(&e).redacted(&client))?;
        Ok(serde_json::to_value(view).expect("views serialize"))
    };
    submit(s, wait, new, done, work).await
}

/// Answers an operation's view at once (200).
fn answer<V: Serialize>(ctx: &Ctx, result: anyhow::Result<V>) -> ApiResult {
    let view = result.map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
    Ok(Json(view).into_response())
}

/// A request the operation refused before anything was asked of the cloud: the client's fault.
fn refused(e: anyhow::Error) -> ApiError {
    ApiError::invalid(format!("{e:#}"))
}

/// A size error, with the API's way of saying it.
fn check_size(
    flavor: &Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
) -> Result<(), ApiError> {
    inputs::size(flavor.clone(), cpu, ram_mb, disk_gb)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(format!("{e}: give \"flavor\", or \"cpu\" and \"ram_mb\"")))
}

fn wait_flag(q: Option<&str>) -> Result<bool, ApiError> {
    Params::parse(q)?.only(&["wait"])?.flag("wait")
}

async fn connectors(State(s): State<ServerState>) -> Json<Vec<Value>> {
    Json(
        s.registry()
            .status()
            .into_iter()
            .map(|c| json!({"name": c.name, "version": c.version, "description": c.description, "digest": c.digest}))
            .collect(),
    )
}

async fn flavors(State(s): State<ServerState>, Path(c): Path<String>) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::flavors(&ctx).await)
}

async fn images(State(s): State<ServerState>, Path(c): Path<String>) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::list(&ctx).await)
}

async fn image_get(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::get(&ctx, &image).await)
}

async fn image_delete(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let ctx = s.ctx(&c)?;
    let deleted = images::delete(&ctx, &image).await;
    answer(
        &ctx,
        deleted.map(|()| json!({"image": image, "deleted": true})),
    )
}

async fn image_publish(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::set_public(&ctx, &image, true).await)
}

async fn image_unpublish(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::set_public(&ctx, &image, false).await)
}

async fn vms_list(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["tag", "run_id"])?;
    let req = ListRequest {
        tags: p.all("tag"),
        run_id: p.get("run_id").map(str::to_string),
    };
    let tags = req.tags().map_err(refused)?;
    let ctx = s.ctx(&c)?;
    answer(&ctx, vms::list(&ctx, tags).await)
}

async fn vm_get(State(s): State<ServerState>, Path((c, id)): Path<(String, String)>) -> ApiResult {
    let ctx = s.ctx(&c)?;
    answer(&ctx, vms::describe(&ctx, &id).await)
}

/// `POST …/vms`: run-image.
async fn vm_create(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = wait_flag(q.as_deref())?;
    let req: RunImageRequest = params::json(&body)?;
    check_size(&req.flavor, req.cpu, req.ram_mb, req.disk_gb)?;
    let ctx = s.ctx(&c)?;
    let run = vms::prepare_run(&ctx, &req).map_err(refused)?;
    let title = format!("VM {} from {}", run.spec.name, run.spec.image);
    let op = {
        let ctx = ctx.clone();
        async move { vms::run_image(&ctx, run).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        wait,
        new_job("run-image", &c, title),
        StatusCode::CREATED,
        op,
    )
    .await)
}

async fn vm_delete(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait", "timeout"])?;
    let ctx = s.ctx(&c)?;
    let req = TerminateRequest {
        vm_ids: vec![id.clone()],
        run_id: None,
        no_wait: !p.flag("wait")?,
        timeout: p.duration("timeout")?,
    };
    let done = vms::terminate(&ctx, req).await;
    let done = done.map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
    if done.waited {
        return Ok(Json(done).into_response());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::view::ActionView::accepted(&id, "delete")),
    )
        .into_response())
}

async fn power(s: ServerState, c: String, id: String, action: Power) -> ApiResult {
    let ctx = s.ctx(&c)?;
    let done = vms::power(&ctx, &id, action).await;
    let done = done.map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
    Ok((StatusCode::ACCEPTED, Json(done)).into_response())
}

async fn vm_start(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult {
    power(s, c, id, Power::Start).await
}

async fn vm_stop(State(s): State<ServerState>, Path((c, id)): Path<(String, String)>) -> ApiResult {
    power(s, c, id, Power::Stop).await
}

async fn vm_reboot(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let hard = Params::parse(q.as_deref())?.only(&["hard"])?.flag("hard")?;
    power(s, c, id, Power::Reboot { hard }).await
}

async fn vm_resize(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = wait_flag(q.as_deref())?;
    let req: ResizeRequest = params::json(&body)?;
    check_size(&req.flavor, req.cpu, req.ram_mb, req.disk_gb)?;
    let size = req.size().map_err(refused)?;
    let ctx = s.ctx(&c)?;
    let title = format!("resize VM {id}");
    let op = {
        let ctx = ctx.clone();
        async move { vms::resize(&ctx, &id, size, req.timeout).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        wait,
        new_job("resize", &c, title),
        StatusCode::OK,
        op,
    )
    .await)
}

async fn disk_attach(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = wait_flag(q.as_deref())?;
    let req: AttachRequest = params::json(&body)?;
    req.check().map_err(refused)?;
    let ctx = s.ctx(&c)?;
    let title = format!("attach a {} GB disk to VM {id}", req.size_gb);
    let op = {
        let ctx = ctx.clone();
        async move { disks::attach(&ctx, &id, req).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        wait,
        new_job("attach-disk", &c, title),
        StatusCode::CREATED,
        op,
    )
    .await)
}

async fn disk_detach(
    State(s): State<ServerState>,
    Path((c, id, disk)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait", "delete", "timeout"])?;
    let req = DetachRequest {
        delete: p.flag("delete")?,
        timeout: p.duration("timeout")?,
    };
    let ctx = s.ctx(&c)?;
    let title = format!(
        "detach volume {disk} from VM {id}{}",
        if req.delete { " and delete it" } else { "" }
    );
    let op = {
        let ctx = ctx.clone();
        async move { disks::detach(&ctx, &id, &disk, req).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        p.flag("wait")?,
        new_job("detach-disk", &c, title),
        StatusCode::OK,
        op,
    )
    .await)
}

async fn vm_create_image(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = wait_flag(q.as_deref())?;
    let req: CreateImageRequest = params::json(&body)?;
    let ctx = s.ctx(&c)?;
    let title = format!("image {} from VM {id}", req.name);
    let op = {
        let ctx = ctx.clone();
        async move { images::create(&ctx, &id, req).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        wait,
        new_job("create-image", &c, title),
        StatusCode::CREATED,
        op,
    )
    .await)
}

async fn image_build(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = wait_flag(q.as_deref())?;
    let req: BuildImageRequest = params::json(&body)?;
    check_size(&req.flavor, req.cpu, req.ram_mb, req.disk_gb)?;
    let ctx = s.ctx(&c)?;
    let build = images::prepare_build(&ctx, &req).map_err(refused)?;
    let title = format!("image {} from {}", build.name, build.base_image);
    let op = {
        let ctx = ctx.clone();
        async move { images::build(&ctx, build).await }
    };
    Ok(submit_op(
        &s,
        &ctx,
        wait,
        new_job("build-image", &c, title),
        StatusCode::CREATED,
        op,
    )
    .await)
}
