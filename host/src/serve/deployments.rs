//! Deployments over the API: `POST` a deployment file (TOML or JSON, the schema of
//! [`crate::deployment::DeploymentFile`]), poll its status, `DELETE` the run.
//!
//! The status combines this server's job (running / succeeded / failed, the phase and the
//! per-node-group progress from the deployment's observer) with a live listing of the run's VMs
//! by their run-id tag — so a run this server does not know (another host, a restart) still
//! shows its VMs, with status `unknown`, and can still be terminated.

use super::ServerState;
use super::auth::Caller;
use super::error::ApiError;
use super::jobs::{DeployProgress, Job, NewJob, timestamp};
use super::journal::{Entry, Phase};
use super::ops::accepted;
use super::params::Params;
use crate::deployment::{self, DeploymentDraft, Format};
use crate::ops::Ctx;
use crate::ops::deploy::{self, DeploySettings};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use connector_runtime::orchestrate::lease::LeaseHeld;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/connectors/{c}/deployments", get(list).post(create))
        .route(
            "/connectors/{c}/deployments/{run_id}",
            get(status).delete(terminate),
        )
        .route("/connectors/{c}/runs", get(runs))
        .route(
            "/connectors/{c}/deployments/{run_id}/logs/{node}/{index}",
            get(recipe_log),
        )
}

/// One VM's recipe log (text), as it stands: it grows while the recipe runs.
async fn recipe_log(
    State(s): State<ServerState>,
    Path((c, run_id, node, index)): Path<(String, String, String, u32)>,
) -> Result<Response, ApiError> {
    let ctx = s.ctx(&c)?;
    let plain = |x: &str| {
        !x.is_empty()
            && x.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
            && !x.starts_with('.')
    };
    if !plain(&run_id) || !plain(&node) {
        return Err(ApiError::invalid("run ids and node names are plain words"));
    }
    let path = crate::recipes::log_path(&ctx.ssh.run_dir(&run_id), &node, index);
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found(format!(
            "no recipe log for VM {node}-{index} of run {run_id} (no recipe, or it has not started)"
        ))),
        Err(e) => Err(ApiError::internal(format!("cannot read the log: {e}"))),
    }
}

const KIND: &str = "deployment";

/// Parses a deployment from the API: TOML unless the content type (or the first character)
/// says JSON. Returns it with its text and whether that is JSON (to record it).
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<(DeploymentDraft, String, bool), ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::invalid("the deployment is not UTF-8 text"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json = content_type.contains("json")
        || (!content_type.contains("toml") && text.trim_start().starts_with('{'));
    let draft = parse_text(text, is_json).map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    Ok((draft, text.to_string(), is_json))
}

fn parse_text(text: &str, is_json: bool) -> anyhow::Result<DeploymentDraft> {
    let format = if is_json { Format::Json } else { Format::Toml };
    // Relative paths cannot name anything: the server reads no local file for a client.
    deployment::parse(text, format, std::path::Path::new("."))
}

async fn create(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref())?.only(&[
        "keep_on_failure",
        "concurrency",
        "timeout",
        "resume",
    ])?;
    let (draft, text, is_json) = parse(&headers, &body)?;
    let settings = DeploySettings {
        concurrency: p.number("concurrency")?,
        timeout: p.duration("timeout")?,
        keep_on_failure: p.flag("keep_on_failure")?,
        resume: p.get("resume").map(str::to_string),
    };
    let ctx = s.ctx(&c)?;
    let prepared = deploy::prepare(&ctx, &draft, &settings)
        .map_err(|e| ApiError::invalid(format!("invalid deployment: {e:#}")))?;
    let run_id = prepared.run_id.clone();
    let total = draft.total();
    let name = draft.name.clone();
    let entry = Entry {
        connector: c.clone(),
        run_id: run_id.clone(),
        phase: Phase::Deploying,
        deployment: text,
        json: is_json,
        concurrency: settings.concurrency,
        timeout_s: settings.timeout.map(|t| t.as_secs()),
        keep_on_failure: settings.keep_on_failure,
    };
    let ssh = ctx.ssh.clone();
    let job = match start(&s, caller.0, ctx, prepared, name.clone(), entry, false) {
        Ok(job) => job,
        Err(e) => {
            // Refused (the caller's job limit…): the run will never have VMs, nor need its key.
            if settings.resume.is_none() {
                ssh.forget_run_key(&run_id);
            }
            return Err(e);
        }
    };
    tracing::info!(
        connector = c,
        run_id,
        deployment = name,
        vms = total,
        "deployment started"
    );
    let status_url = format!("/v1/connectors/{c}/deployments/{run_id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url.clone())],
        Json(json!({
            "id": job.id,
            "run_id": run_id,
            "name": name,
            "vms": total,
            "status_url": status_url,
            "job_url": job.status_url(),
        })),
    )
        .into_response())
}

/// Runs a prepared deployment as a job, recorded in the journal until it ends. A run picked
/// up after a restart waits for the dead server's lease to run out (`wait_for_lease`).
fn start(
    s: &ServerState,
    caller: String,
    ctx: Ctx,
    prepared: deploy::Prepared,
    name: String,
    entry: Entry,
    wait_for_lease: bool,
) -> Result<Arc<Job>, ApiError> {
    let progress = Arc::new(DeployProgress::default());
    let journal = s.journal().clone();
    journal.record(&entry);
    let (connector, run_id) = (entry.connector.clone(), entry.run_id.clone());
    let work = {
        let progress = progress.clone();
        async move {
            let result = loop {
                let observer = progress.clone();
                match deploy::run(&ctx, &prepared, observer).await {
                    Err(e) if wait_for_lease => match e.downcast_ref::<LeaseHeld>() {
                        Some(held) => {
                            tokio::time::sleep(held.left + Duration::from_millis(200)).await;
                        }
                        None => break Err(e),
                    },
                    other => break other,
                }
            };
            journal.forget(&entry.connector, &entry.run_id);
            let result = result.map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
            Ok(serde_json::to_value(result).expect("views serialize"))
        }
    };
    s.jobs().spawn(
        NewJob {
            caller,
            kind: KIND,
            connector,
            title: name,
            run_id: Some(run_id),
            progress: Some(progress),
        },
        work,
    )
}

/// Deletes every VM of a run as a job, recorded in the journal until it ends. `cancelled`: a
/// deployment was stopped, and a create it had in flight may land after the first pass.
fn start_terminate(
    s: &ServerState,
    ctx: Ctx,
    run_id: String,
    timeout: Option<Duration>,
    cancelled: bool,
) -> Result<Arc<Job>, ApiError> {
    let connector = ctx.client.connector().name().to_string();
    let journal = s.journal().clone();
    journal.record(&Entry {
        connector: connector.clone(),
        run_id: run_id.clone(),
        phase: Phase::Terminating,
        deployment: String::new(),
        json: false,
        concurrency: None,
        timeout_s: timeout.map(|t| t.as_secs()),
        keep_on_failure: false,
    });
    let interval = ctx.orchestration.poll_interval;
    let work = {
        let (run_id, connector) = (run_id.clone(), connector.clone());
        async move {
            let mut removed = deploy::cleanup(&ctx, &run_id, timeout).await;
            if cancelled && let Ok(n) = removed {
                tokio::time::sleep(interval).await;
                removed = deploy::cleanup(&ctx, &run_id, timeout).await.map(|m| n + m);
            }
            journal.forget(&connector, &run_id);
            let removed = removed.map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
            Ok(json!({"run_id": run_id, "terminated": removed, "deployment_cancelled": cancelled}))
        }
    };
    s.jobs().spawn(
        NewJob {
            // Never refused: it only frees what the cloud holds.
            caller: String::new(),
            kind: "terminate-run",
            connector,
            title: format!("terminate run {run_id}"),
            run_id: Some(run_id),
            progress: None,
        },
        work,
    )
}

/// Finishes what a previous server left unfinished (see [`super::journal`]): deployments are
/// resumed once the dead server's lease has run out, terminations done again.
pub fn pick_up(s: &ServerState) {
    for entry in s.journal().pending() {
        let (c, run_id) = (entry.connector.clone(), entry.run_id.clone());
        let started = match s.ctx(&c) {
            Err(e) => Err(e),
            Ok(ctx) if entry.phase == Phase::Terminating => {
                let timeout = entry.timeout_s.map(Duration::from_secs);
                start_terminate(s, ctx, run_id.clone(), timeout, false).map(drop)
            }
            Ok(ctx) => resume(s, ctx, entry).map(drop),
        };
        match started {
            Ok(()) => tracing::info!(connector = c, run_id, "picked up an unfinished run"),
            Err(e) => tracing::error!(
                connector = c,
                run_id,
                "cannot pick up an unfinished run: {}",
                e.message
            ),
        }
    }
}

fn resume(s: &ServerState, ctx: Ctx, entry: Entry) -> Result<Arc<Job>, ApiError> {
    let draft = parse_text(&entry.deployment, entry.json)
        .map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    let settings = DeploySettings {
        concurrency: entry.concurrency,
        timeout: entry.timeout_s.map(Duration::from_secs),
        keep_on_failure: entry.keep_on_failure,
        resume: Some(entry.run_id.clone()),
    };
    let mut prepared = deploy::prepare(&ctx, &draft, &settings)
        .map_err(|e| ApiError::invalid(format!("{e:#}")))?;
    // Killed before its first create, a run has no VM yet: it is resumed all the same.
    prepared.verify_resume = false;
    let name = draft.name.clone();
    start(s, String::new(), ctx, prepared, name, entry, true)
}

/// The run's VMs as the cloud lists them, each with how its recipe went (from the finished
/// run's result).
fn with_recipes(vms: Vec<crate::view::DeployedVmView>, result: Option<&Value>) -> Value {
    let reports: Vec<&Value> = result
        .and_then(|r| r["vms"].as_array())
        .map(|vs| vs.iter().collect())
        .unwrap_or_default();
    let mut vms = serde_json::to_value(vms).expect("views serialize");
    for vm in vms.as_array_mut().into_iter().flatten() {
        let recipe = reports
            .iter()
            .find(|r| r["id"] == vm["id"])
            .and_then(|r| r.get("recipe"));
        if let Some(recipe) = recipe {
            vm["recipe"] = recipe.clone();
        }
    }
    vms
}

/// The status document of a run.
async fn describe(ctx: &Ctx, job: Option<&Job>, run_id: &str) -> Result<Value, ApiError> {
    let client = &ctx.client;
    let (vms, vms_error) = match deploy::run_vms(ctx, run_id).await {
        Ok(vms) => (vms, None),
        // The job's view is still worth showing when the cloud cannot be listed right now.
        Err(e) if job.is_some() => (Vec::new(), Some(ApiError::from_anyhow(&e).redacted(client))),
        Err(e) => return Err(ApiError::from_anyhow(&e).redacted(client)),
    };
    let Some(job) = job else {
        if vms.is_empty() {
            return Err(ApiError::not_found(format!(
                "no deployment with run id {run_id}: this server ran none and no VM carries that run id"
            )));
        }
        return Ok(json!({
            "run_id": run_id,
            "connector": client.connector().name(),
            "status": "unknown",
            "note": "this server did not start this run (or forgot it); the VMs are listed by their run-id tag",
            "vms": vms,
        }));
    };
    let view = job.view();
    let progress = job.progress.as_ref();
    let vms = with_recipes(vms, view.result.as_ref());
    let mut doc = json!({
        "id": job.id,
        "run_id": run_id,
        "name": job.title,
        "connector": job.connector,
        "status": view.status,
        "phase": progress.map(|p| p.phase()).unwrap_or_default(),
        "groups": progress.map(|p| p.groups()).unwrap_or_default(),
        "vms": vms,
        "created_at": view.created_at,
        "finished_at": view.finished_at,
        "error": view.error,
        "job_url": view.status_url,
    });
    if let Some(e) = vms_error {
        doc["vms_error"] = json!(e);
    }
    Ok(doc)
}

async fn status(
    State(s): State<ServerState>,
    Path((c, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ctx = s.ctx(&c)?;
    let job = s.jobs().for_run(KIND, &c, &run_id);
    Ok(Json(describe(&ctx, job.as_deref(), &run_id).await?).into_response())
}

async fn list(State(s): State<ServerState>, Path(c): Path<String>) -> Result<Response, ApiError> {
    s.ctx(&c)?;
    let runs: Vec<Value> = s
        .jobs()
        .list()
        .iter()
        .filter(|j| j.kind == KIND && j.connector == c)
        .map(|j| {
            let v = j.view();
            json!({
                "id": j.id,
                "run_id": j.run_id,
                "name": j.title,
                "status": v.status,
                "phase": j.progress.as_ref().map(|p| p.phase()).unwrap_or_default(),
                "groups": j.progress.as_ref().map(|p| p.groups()).unwrap_or_default(),
                "created_at": timestamp(j.created_at),
                "finished_at": v.finished_at,
                "status_url": format!("/v1/connectors/{c}/deployments/{}", j.run_id.as_deref().unwrap_or_default()),
            })
        })
        .collect();
    Ok(Json(runs).into_response())
}

/// Every run the cloud holds, by the run-id tags of its VMs.
async fn runs(State(s): State<ServerState>, Path(c): Path<String>) -> Result<Response, ApiError> {
    let ctx = s.ctx(&c)?;
    let runs = crate::ops::runs::list(&ctx)
        .await
        .map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
    Ok(Json(runs).into_response())
}

/// Stops the deployment if it still runs, then deletes every VM of the run (deployment or
/// run-image: anything carrying the run id) and waits until they are gone.
async fn terminate(
    State(s): State<ServerState>,
    Path((c, run_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref())?.only(&["timeout"])?;
    let ctx = s.ctx(&c)?;
    let job = s.jobs().for_run(KIND, &c, &run_id);
    if job.is_none() {
        let vms = deploy::run_vms(&ctx, &run_id)
            .await
            .map_err(|e| ApiError::from_anyhow(&e).redacted(&ctx.client))?;
        if vms.is_empty() {
            return Err(ApiError::not_found(format!(
                "no VM carries run id {run_id}: nothing to terminate"
            )));
        }
    }
    let cancelled = job.is_some_and(|j| j.cancel("terminated through the API before it finished"));
    let job = start_terminate(&s, ctx, run_id, p.duration("timeout")?, cancelled)?;
    Ok(accepted(&job))
}
