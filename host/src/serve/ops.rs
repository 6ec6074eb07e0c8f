//! The connector operations over HTTP, one handler each: parse the path, query and JSON body
//! into an operation's request (`crate::ops`), run it (as a job when it waits), answer its view.

use super::ServerState;
use super::auth::Caller;
use super::error::ApiError;
use super::jobs::{Job, JobStatus, NewJob};
use super::params::{self, Params};
use crate::ops::Ctx;
use crate::ops::disks::{self, AttachRequest, DetachRequest};
use crate::ops::images::{self, BuildImageRequest, CreateImageRequest};
use crate::ops::inputs::SizeRequest;
use crate::ops::vms::{self, ListRequest, Power, ResizeRequest, RunImageRequest, TerminateRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
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
            "/connectors/{c}/images/{image}/{visibility}",
            post(image_visibility),
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
async fn submit<F>(s: &ServerState, wait: bool, new: NewJob, done: StatusCode, work: F) -> ApiResult
where
    F: Future<Output = Result<Value, ApiError>> + Send + 'static,
{
    let job = s.jobs().spawn(new, work)?;
    if !wait {
        return Ok(accepted(&job));
    }
    let state = job.finished().await;
    Ok(match (state.status, state.result, state.error) {
        (JobStatus::Succeeded, Some(v), _) => (done, Json(v)).into_response(),
        (_, _, Some(e)) => e.into_response(),
        _ => ApiError::internal(format!("job {} ended without a result", job.id)).into_response(),
    })
}

/// An operation run as a job: what it is, for the job table.
struct JobSpec {
    kind: &'static str,
    title: String,
    /// The status of the answer with `?wait=true`.
    done: StatusCode,
}

impl JobSpec {
    fn new(kind: &'static str, title: String, done: StatusCode) -> Self {
        JobSpec { kind, title, done }
    }

    /// Runs `op` on the connector's context as a job whose result is the operation's view.
    async fn run<V, F, Fut>(
        self,
        s: &ServerState,
        (c, caller): (&str, Caller),
        ctx: Ctx,
        wait: bool,
        op: F,
    ) -> ApiResult
    where
        V: Serialize,
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = anyhow::Result<V>> + Send + 'static,
    {
        let client = ctx.client.clone();
        let op = op(ctx);
        let work = async move {
            let view = op
                .await
                .map_err(|e| ApiError::from_anyhow(&e).redacted(&client))?;
            Ok(serde_json::to_value(view).expect("views serialize"))
        };
        let new = NewJob {
            caller: caller.0,
            kind: self.kind,
            connector: c.to_string(),
            title: self.title,
            run_id: None,
            progress: None,
        };
        submit(s, wait, new, self.done, work).await
    }
}

/// The caller the authentication layer found (every `/v1/` route has one).
fn caller_of(req: &Request) -> Caller {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller(String::new()))
}

/// What a job route takes: `?wait`, the operation's request as the JSON body, and who asks.
struct JobInput<T>(bool, T, Caller);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JobInput<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let query = req.uri().query().map(str::to_string);
        let caller = caller_of(&req);
        let wait = Params::parse(query.as_deref())?
            .only(&["wait"])?
            .flag("wait")?;
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read the body: {e}")))?;
        Ok(JobInput(wait, params::json(&body)?, caller))
    }
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
fn check_size(size: &SizeRequest) -> Result<(), ApiError> {
    size.size()
        .map(|_| ())
        .map_err(|e| ApiError::invalid(format!("{e}: give \"flavor\", or \"cpu\" and \"ram_mb\"")))
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

/// `POST …/images/{image}/publish` and `…/unpublish`.
async fn image_visibility(
    State(s): State<ServerState>,
    Path((c, image, visibility)): Path<(String, String, String)>,
) -> ApiResult {
    let public = match visibility.as_str() {
        "publish" => true,
        "unpublish" => false,
        _ => {
            return Err(ApiError::not_found(format!(
                "no such route: …/images/{image}/{visibility} (publish or unpublish)"
            )));
        }
    };
    let ctx = s.ctx(&c)?;
    answer(&ctx, images::set_public(&ctx, &image, public).await)
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
    JobInput(wait, req, caller): JobInput<RunImageRequest>,
) -> ApiResult {
    check_size(&req.size)?;
    let ctx = s.ctx(&c)?;
    let run = vms::prepare_run(&ctx, &req).map_err(refused)?;
    let title = format!(
        "VM {} from {}",
        run.request.spec.name, run.request.spec.image
    );
    let (ssh, run_id) = (ctx.ssh.clone(), run.request.run_id.clone());
    let answer = JobSpec::new("run-image", title, StatusCode::CREATED)
        .run(&s, (&c, caller), ctx, wait, |ctx| async move {
            vms::run_image(&ctx, run).await
        })
        .await;
    forget_key_if_refused(&answer, &ssh, run_id.as_deref());
    answer
}

/// A job refused before it started (the caller's job limit) never needs its run's key.
fn forget_key_if_refused(
    answer: &ApiResult,
    ssh: &crate::recipes::SshContext,
    run_id: Option<&str>,
) {
    if let (Err(e), Some(run_id)) = (answer, run_id)
        && e.status == StatusCode::TOO_MANY_REQUESTS
    {
        ssh.forget_run_key(run_id);
    }
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
    JobInput(wait, req, caller): JobInput<ResizeRequest>,
) -> ApiResult {
    check_size(&req.size)?;
    let size = req.size.size().map_err(refused)?;
    let job = JobSpec::new("resize", format!("resize VM {id}"), StatusCode::OK);
    job.run(&s, (&c, caller), s.ctx(&c)?, wait, |ctx| async move {
        vms::resize(&ctx, &id, size, req.timeout).await
    })
    .await
}

async fn disk_attach(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    JobInput(wait, req, caller): JobInput<AttachRequest>,
) -> ApiResult {
    req.check().map_err(refused)?;
    let title = format!("attach a {} GB disk to VM {id}", req.size_gb);
    let job = JobSpec::new("attach-disk", title, StatusCode::CREATED);
    job.run(&s, (&c, caller), s.ctx(&c)?, wait, |ctx| async move {
        disks::attach(&ctx, &id, req).await
    })
    .await
}

async fn disk_detach(
    State(s): State<ServerState>,
    Path((c, id, disk)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    let p = Params::parse(q.as_deref())?.only(&["wait", "delete", "timeout"])?;
    let req = DetachRequest {
        delete: p.flag("delete")?,
        timeout: p.duration("timeout")?,
    };
    let and_delete = if req.delete { " and delete it" } else { "" };
    let title = format!("detach volume {disk} from VM {id}{and_delete}");
    let job = JobSpec::new("detach-disk", title, StatusCode::OK);
    job.run(
        &s,
        (&c, caller),
        s.ctx(&c)?,
        p.flag("wait")?,
        |ctx| async move { disks::detach(&ctx, &id, &disk, req).await },
    )
    .await
}

async fn vm_create_image(
    State(s): State<ServerState>,
    Path((c, id)): Path<(String, String)>,
    JobInput(wait, req, caller): JobInput<CreateImageRequest>,
) -> ApiResult {
    let title = format!("image {} from VM {id}", req.name);
    let job = JobSpec::new("create-image", title, StatusCode::CREATED);
    job.run(&s, (&c, caller), s.ctx(&c)?, wait, |ctx| async move {
        images::create(&ctx, &id, req).await
    })
    .await
}

async fn image_build(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    JobInput(wait, req, caller): JobInput<BuildImageRequest>,
) -> ApiResult {
    check_size(&req.size)?;
    let ctx = s.ctx(&c)?;
    let build = images::prepare_build(&ctx, &req).map_err(refused)?;
    let title = format!("image {} from {}", build.name, build.base_image);
    let (ssh, run_id) = (ctx.ssh.clone(), build.run_id.clone());
    let job = JobSpec::new("build-image", title, StatusCode::CREATED);
    let answer = job
        .run(&s, (&c, caller), ctx, wait, |ctx| async move {
            images::build(&ctx, build).await
        })
        .await;
    forget_key_if_refused(&answer, &ssh, run_id.as_deref());
    answer
}
