//! The connector operations of the command line, one handler each: parse → orchestrate →
//! the same JSON views (`crate::view`) the command line prints with `--output json`.

use super::ServerState;
use super::error::ApiError;
use super::jobs::{Job, JobStatus, NewJob};
use super::params::{self, FileBody, Params};
use crate::bindings::types::VmSpec;
use crate::client::Client;
use crate::orchestrate::{self, BuildImageRequest, ResizeOutcome, RunRequest, TAG_RUN, tag};
use crate::view::{DiskView, FlavorView, ImageView, VmView};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

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

fn to_json(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("views serialize")
}

/// An orchestration error, with the connector's secrets removed.
fn failed(client: &Client) -> impl Fn(anyhow::Error) -> ApiError + '_ {
    move |e| ApiError::from_anyhow(&e).redacted(client)
}

/// A call error, with the connector's secrets removed.
fn call_failed(client: &Client) -> impl Fn(crate::error::CallError) -> ApiError + '_ {
    move |e| ApiError::from_call(&e).redacted(client)
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
    let client = s.client(&c)?;
    let flavors = client.list_flavors().await.map_err(call_failed(&client))?;
    Ok(Json(flavors.iter().map(FlavorView::new).collect::<Vec<_>>()).into_response())
}

async fn images(State(s): State<ServerState>, Path(c): Path<String>) -> ApiResult {
    let client = s.client(&c)?;
    let images = client.list_images().await.map_err(call_failed(&client))?;
    Ok(Json(images.iter().map(ImageView::new).collect::<Vec<_>>()).into_response())
}

async fn image_get(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let client = s.client(&c)?;
    let image = client
        .get_image(image)
        .await
        .map_err(call_failed(&client))?;
    Ok(Json(ImageView::new(&image)).into_response())
}

async fn image_delete(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    let client = s.client(&c)?;
    client
        .delete_image(image.clone())
        .await
        .map_err(call_failed(&client))?;
    Ok(Json(json!({"image": image, "deleted": true})).into_response())
}

async fn set_public(s: ServerState, c: String, image: String, public: bool) -> ApiResult {
    let client = s.client(&c)?;
    client
        .set_image_public(image.clone(), public)
        .await
        .map_err(call_failed(&client))?;
    let image = client
        .get_image(image)
        .await
        .map_err(call_failed(&client))?;
    Ok(Json(ImageView::new(&image)).into_response())
}

async fn image_publish(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    set_public(s, c, image, true).await
}

async fn image_unpublish(
    State(s): State<ServerState>,
    Path((c, image)): Path<(String, String)>,
) -> ApiResult {
    set_public(s, c, image, false).await
}

async fn vms_list(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["tag", "run_id"])?;
    let mut tags =
        crate::cli::parse_tags(&p.all("tag")).map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    if let Some(run) = p.get("run_id") {
        tags.push(tag(TAG_RUN, run));
    }
    let client = s.client(&c)?;
    let vms = client.list_vms(tags).await.map_err(call_failed(&client))?;
    Ok(Json(vms.iter().map(VmView::new).collect::<Vec<_>>()).into_response())
}

async fn vm_get(State(s): State<ServerState>, Path((c, id)): Path<(String, String)>) -> ApiResult {
    let client = s.client(&c)?;
    let vm = client
        .get_vm(id.clone())
        .await
        .map_err(call_failed(&client))?;
    let disks = client
        .list_disks(Some(id))
        .await
        .map_err(call_failed(&client))?;
    Ok(Json(VmView::new(&vm).with_disks(&disks)).into_response())
}

/// `POST …/vms`: run-image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunImageBody {
    image: String,
    flavor: Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
    name: Option<String>,
    #[serde(default)]
    ssh_keys: Vec<String>,
    #[serde(default)]
    files: Vec<FileBody>,
    user_data: Option<String>,
    volatile_disk_gb: Option<u32>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    project: Option<String>,
    /// How long to wait for the VM to run, e.g. "10m".
    timeout: Option<String>,
    /// Keep the VM if it fails to come up (default: delete it).
    #[serde(default)]
    keep_on_failure: bool,
}

async fn vm_create(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait"])?;
    let b: RunImageBody = params::json(&body)?;
    let timeout = b
        .timeout
        .as_deref()
        .map(|t| params::duration("timeout", t))
        .transpose()?;
    if b.tags.keys().any(|k| k.is_empty()) {
        return Err(ApiError::invalid("a tag has an empty key"));
    }
    let spec = VmSpec {
        name: b.name.unwrap_or_else(|| default_vm_name(&b.image)),
        size: params::size(b.flavor, b.cpu, b.ram_mb, b.disk_gb)?,
        image: b.image,
        ssh_keys: params::ssh_keys(b.ssh_keys)?,
        files: params::files(b.files)?,
        user_data: b.user_data,
        volatile_disk_gb: b.volatile_disk_gb,
        tags: b.tags.iter().map(|(k, v)| tag(k, v)).collect(),
        project: b.project,
    };
    let client = s.client(&c)?;
    let req = RunRequest {
        spec,
        wait: true,
        poll: s.poll(timeout),
        keep_on_failure: b.keep_on_failure,
    };
    let title = format!("VM {} from {}", req.spec.name, req.spec.image);
    let work = async move {
        let (vm, _run) = orchestrate::run_image(&client, req)
            .await
            .map_err(failed(&client))?;
        Ok(to_json(VmView::new(&vm)))
    };
    Ok(submit(
        &s,
        p.flag("wait")?,
        new_job("run-image", &c, title),
        StatusCode::CREATED,
        work,
    )
    .await)
}

fn default_vm_name(image: &str) -> String {
    let base: String = orchestrate::sanitize(image).chars().take(40).collect();
    format!("{base}-{}", &orchestrate::new_run_id()[..6])
}

async fn vm_delete(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait", "timeout"])?;
    let client = s.client(&c)?;
    // A typo should be a 404, not a silent no-op.
    client
        .get_vm(id.clone())
        .await
        .map_err(call_failed(&client))?;
    if p.flag("wait")? {
        let ids = [id.clone()];
        orchestrate::terminate_many(&client, &ids, &[], s.poll(p.duration("timeout")?))
            .await
            .map_err(failed(&client))?;
        return Ok(Json(json!({"terminated": ids})).into_response());
    }
    client
        .delete_vm(id.clone())
        .await
        .map_err(call_failed(&client))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"vm": id, "action": "delete", "accepted": true})),
    )
        .into_response())
}

fn action_accepted(id: &str, action: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"vm": id, "action": action, "accepted": true})),
    )
        .into_response()
}

async fn vm_start(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult {
    let client = s.client(&c)?;
    client
        .start_vm(id.clone())
        .await
        .map_err(call_failed(&client))?;
    Ok(action_accepted(&id, "start"))
}

async fn vm_stop(State(s): State<ServerState>, Path((c, id)): Path<(String, String)>) -> ApiResult {
    let client = s.client(&c)?;
    client
        .stop_vm(id.clone())
        .await
        .map_err(call_failed(&client))?;
    Ok(action_accepted(&id, "stop"))
}

async fn vm_reboot(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let hard = Params::parse(q.as_deref())?.only(&["hard"])?.flag("hard")?;
    let client = s.client(&c)?;
    client
        .reboot_vm(id.clone(), hard)
        .await
        .map_err(call_failed(&client))?;
    Ok(action_accepted(&id, "reboot"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResizeBody {
    flavor: Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
    timeout: Option<String>,
}

async fn vm_resize(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = Params::parse(q.as_deref())?.only(&["wait"])?.flag("wait")?;
    let b: ResizeBody = params::json(&body)?;
    let size = params::size(b.flavor, b.cpu, b.ram_mb, b.disk_gb)?;
    let poll = s.poll(
        b.timeout
            .as_deref()
            .map(|t| params::duration("timeout", t))
            .transpose()?,
    );
    let client = s.client(&c)?;
    let title = format!("resize VM {id}");
    let work = async move {
        let outcome = orchestrate::resize(&client, &id, size, poll)
            .await
            .map_err(failed(&client))?;
        let (vm, changed) = match outcome {
            ResizeOutcome::AlreadyThere(vm) => (vm, false),
            ResizeOutcome::Resized(vm) => (vm, true),
        };
        Ok(json!({"changed": changed, "vm": VmView::new(&vm)}))
    };
    Ok(submit(&s, wait, new_job("resize", &c, title), StatusCode::OK, work).await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    size_gb: u32,
    name: Option<String>,
    timeout: Option<String>,
}

async fn disk_attach(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = Params::parse(q.as_deref())?.only(&["wait"])?.flag("wait")?;
    let b: AttachBody = params::json(&body)?;
    if b.size_gb == 0 {
        return Err(ApiError::invalid("size_gb must be at least 1"));
    }
    let poll = s.poll(
        b.timeout
            .as_deref()
            .map(|t| params::duration("timeout", t))
            .transpose()?,
    );
    let name = b
        .name
        .unwrap_or_else(|| format!("disk-{}", &orchestrate::new_run_id()[..8]));
    let client = s.client(&c)?;
    let title = format!("attach a {} GB disk to VM {id}", b.size_gb);
    let work = async move {
        let disk = orchestrate::attach_disk(&client, &id, b.size_gb, &name, poll)
            .await
            .map_err(failed(&client))?;
        Ok(to_json(DiskView::new(&disk)))
    };
    Ok(submit(
        &s,
        wait,
        new_job("attach-disk", &c, title),
        StatusCode::CREATED,
        work,
    )
    .await)
}

async fn disk_detach(
    State(s): State<ServerState>,
    Path((c, id, disk)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait", "delete", "timeout"])?;
    let delete = p.flag("delete")?;
    let poll = s.poll(p.duration("timeout")?);
    let client = s.client(&c)?;
    let title = format!(
        "detach volume {disk} from VM {id}{}",
        if delete { " and delete it" } else { "" }
    );
    let work = async move {
        let d = orchestrate::detach_disk(&client, &id, &disk, delete, poll)
            .await
            .map_err(failed(&client))?;
        Ok(to_json(DiskView::new(&d)))
    };
    Ok(submit(
        &s,
        p.flag("wait")?,
        new_job("detach-disk", &c, title),
        StatusCode::OK,
        work,
    )
    .await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateImageBody {
    name: String,
    timeout: Option<String>,
}

async fn vm_create_image(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = Params::parse(q.as_deref())?.only(&["wait"])?.flag("wait")?;
    let b: CreateImageBody = params::json(&body)?;
    let poll = s.poll(
        b.timeout
            .as_deref()
            .map(|t| params::duration("timeout", t))
            .transpose()?,
    );
    let client = s.client(&c)?;
    let title = format!("image {} from VM {id}", b.name);
    let work = async move {
        let image = orchestrate::create_image(&client, &id, &b.name, poll)
            .await
            .map_err(failed(&client))?;
        Ok(to_json(ImageView::new(&image)))
    };
    Ok(submit(
        &s,
        wait,
        new_job("create-image", &c, title),
        StatusCode::CREATED,
        work,
    )
    .await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildImageBody {
    /// Base image id or name.
    image: String,
    flavor: Option<String>,
    cpu: Option<u32>,
    ram_mb: Option<u32>,
    disk_gb: Option<u32>,
    /// Name of the new image.
    name: String,
    #[serde(default)]
    files: Vec<FileBody>,
    #[serde(default)]
    ssh_keys: Vec<String>,
    user_data: Option<String>,
    #[serde(default)]
    public: bool,
    timeout: Option<String>,
}

async fn image_build(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let wait = Params::parse(q.as_deref())?.only(&["wait"])?.flag("wait")?;
    let b: BuildImageBody = params::json(&body)?;
    let req = BuildImageRequest {
        size: params::size(b.flavor, b.cpu, b.ram_mb, b.disk_gb)?,
        base_image: b.image,
        name: b.name,
        files: params::files(b.files)?,
        ssh_keys: params::ssh_keys(b.ssh_keys)?,
        user_data: b.user_data,
        public: b.public,
        poll: s.poll(
            b.timeout
                .as_deref()
                .map(|t| params::duration("timeout", t))
                .transpose()?,
        ),
    };
    let client = s.client(&c)?;
    let title = format!("image {} from {}", req.name, req.base_image);
    let work = async move {
        let image = orchestrate::build_image(&client, req)
            .await
            .map_err(failed(&client))?;
        Ok(to_json(ImageView::new(&image)))
    };
    Ok(submit(
        &s,
        wait,
        new_job("build-image", &c, title),
        StatusCode::CREATED,
        work,
    )
    .await)
}
