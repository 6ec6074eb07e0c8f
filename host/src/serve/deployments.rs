//! Deployments over the API: `POST` a deployment file (TOML or JSON, the schema of
//! [`deploy::DeploymentFile`]), poll its status, `DELETE` the run.
//!
//! The status combines this server's job (running / succeeded / failed, the phase and the
//! per-node-group progress from the [`deploy::Observer`]) with a live listing of the run's VMs
//! by their run-id tag — so a run this server does not know (another host, a restart) still
//! shows its VMs, with status `unknown`, and can still be terminated.

use super::ServerState;
use super::error::ApiError;
use super::jobs::{DeployProgress, Job, NewJob, timestamp};
use super::ops::accepted;
use super::params::{self, Params};
use crate::client::Client;
use crate::orchestrate::deploy::{
    self, DeployOptions, DeploymentFile, DeploymentPlan, NodeSettings,
};
use crate::orchestrate::{self, TAG_INDEX, TAG_NODE, TAG_RUN, tag};
use crate::view::VmView;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/connectors/{c}/deployments", get(list).post(create))
        .route(
            "/connectors/{c}/deployments/{run_id}",
            get(status).delete(terminate),
        )
}

const KIND: &str = "deployment";

/// Parses a deployment from the API: TOML unless the content type (or the first character)
/// says JSON. Local files cannot be named: the server does not read its own files for a client.
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<DeploymentPlan, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::invalid("the deployment is not UTF-8 text"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json = content_type.contains("json")
        || (!content_type.contains("toml") && text.trim_start().starts_with('{'));
    let mut file: DeploymentFile = if is_json {
        serde_json::from_str(text)
            .map_err(|e| ApiError::invalid(format!("invalid deployment (JSON): {e}")))?
    } else {
        toml::from_str(text)
            .map_err(|e| ApiError::invalid(format!("invalid deployment (TOML): {e}")))?
    };
    let default_keys = take_inline_keys(&mut file.defaults, "[defaults]")?;
    let mut node_keys = Vec::new();
    for (i, node) in file.nodes.iter_mut().enumerate() {
        let place = format!(
            "[[node]] {}",
            node.name
                .clone()
                .unwrap_or_else(|| format!("number {}", i + 1))
        );
        node_keys.push(take_inline_keys(node, &place)?);
    }
    // No relative path can be resolved: none is left.
    let mut plan = deploy::plan(&file, std::path::Path::new("/nonexistent"))
        .map_err(|e| ApiError::invalid(format!("invalid deployment: {e:#}")))?;
    // `plan` makes one group per [[node]], in order.
    for (group, keys) in plan.groups.iter_mut().zip(node_keys) {
        group.spec.ssh_keys = keys.or_else(|| default_keys.clone()).unwrap_or_default();
    }
    Ok(plan)
}

/// Takes `ssh_keys` out of the settings as inline key text; refuses references to local files.
fn take_inline_keys(n: &mut NodeSettings, place: &str) -> Result<Option<Vec<String>>, ApiError> {
    if n.files.is_some() {
        return Err(ApiError::invalid(format!(
            "{place}: `files` names files on the server, which the API does not read; run single VMs with inline files (POST …/vms) or deploy from the command line"
        )));
    }
    if n.user_data_file.is_some() {
        return Err(ApiError::invalid(format!(
            "{place}: `user_data_file` names a file on the server, which the API does not read; give `user_data` inline"
        )));
    }
    n.ssh_keys
        .take()
        .map(|keys| {
            params::ssh_keys(keys).map_err(|e| ApiError::invalid(format!("{place}: {}", e.message)))
        })
        .transpose()
}

async fn create(
    State(s): State<ServerState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref())?.only(&["keep_on_failure", "concurrency", "timeout"])?;
    let client = s.client(&c)?;
    let plan = parse(&headers, &body)?;
    let opts = DeployOptions {
        concurrency: p
            .number("concurrency")?
            .unwrap_or(s.orchestration().concurrency),
        poll: s.poll(p.duration("timeout")?),
        keep_on_failure: p.flag("keep_on_failure")?,
    };
    let run_id = orchestrate::new_run_id();
    let progress = Arc::new(DeployProgress::default());
    let total = plan.total();
    let name = plan.name.clone();
    let work = {
        let (run_id, progress) = (run_id.clone(), progress.clone());
        async move {
            let result = deploy::deploy(&client, &plan, &run_id, &opts, progress)
                .await
                .map_err(|e| ApiError::from_anyhow(&e).redacted(&client))?;
            let vms: Vec<Value> = result
                .vms
                .iter()
                .map(|d| {
                    serde_json::to_value(DeployedVm::new(VmView::new(&d.vm))).expect("serializable")
                })
                .collect();
            Ok(json!({"run_id": result.run_id, "name": result.name, "vms": vms}))
        }
    };
    let job = s.jobs().spawn(
        NewJob {
            kind: KIND,
            connector: c.clone(),
            title: name.clone(),
            run_id: Some(run_id.clone()),
            progress: Some(progress),
        },
        work,
    );
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

/// A VM of a deployment, with its node group and index (from its tags).
#[derive(Debug, Serialize)]
struct DeployedVm {
    #[serde(flatten)]
    vm: VmView,
    node: Option<String>,
    index: Option<u32>,
}

impl DeployedVm {
    fn new(vm: VmView) -> Self {
        DeployedVm {
            node: vm.tags.get(TAG_NODE).cloned(),
            index: vm.tags.get(TAG_INDEX).and_then(|i| i.parse().ok()),
            vm,
        }
    }
}

/// The status document of a run.
async fn describe(client: &Client, job: Option<&Job>, run_id: &str) -> Result<Value, ApiError> {
    let listed = client.list_vms(vec![tag(TAG_RUN, run_id)]).await;
    let (vms, vms_error) = match listed {
        Ok(vms) => {
            let mut vms: Vec<DeployedVm> = vms
                .iter()
                .map(|v| DeployedVm::new(VmView::new(v)))
                .collect();
            vms.sort_by(|a, b| (&a.node, a.index).cmp(&(&b.node, b.index)));
            (vms, None)
        }
        // The job's view is still worth showing when the cloud cannot be listed right now.
        Err(e) if job.is_some() => (Vec::new(), Some(ApiError::from_call(&e).redacted(client))),
        Err(e) => return Err(ApiError::from_call(&e).redacted(client)),
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
    let client = s.client(&c)?;
    let job = s.jobs().for_run(KIND, &c, &run_id);
    Ok(Json(describe(&client, job.as_deref(), &run_id).await?).into_response())
}

async fn list(State(s): State<ServerState>, Path(c): Path<String>) -> Result<Response, ApiError> {
    s.client(&c)?;
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

/// Stops the deployment if it still runs, then deletes every VM of the run (deployment or
/// run-image: anything carrying the run id) and waits until they are gone.
async fn terminate(
    State(s): State<ServerState>,
    Path((c, run_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref())?.only(&["timeout"])?;
    let client = s.client(&c)?;
    let job = s.jobs().for_run(KIND, &c, &run_id);
    if job.is_none() {
        let vms = client
            .list_vms(vec![tag(TAG_RUN, &run_id)])
            .await
            .map_err(|e| ApiError::from_call(&e).redacted(&client))?;
        if vms.is_empty() {
            return Err(ApiError::not_found(format!(
                "no VM carries run id {run_id}: nothing to terminate"
            )));
        }
    }
    let cancelled = job.is_some_and(|j| j.cancel("terminated through the API before it finished"));
    let poll = s.poll(p.duration("timeout")?);
    let interval = s.orchestration().poll_interval;
    let work = {
        let run_id = run_id.clone();
        async move {
            let failed = |e: anyhow::Error| ApiError::from_anyhow(&e).redacted(&client);
            let mut removed = orchestrate::cleanup_run(&client, &run_id, poll)
                .await
                .map_err(failed)?;
            if cancelled {
                // A create call in flight when the deployment stopped may land after the
                // first pass: look once more.
                tokio::time::sleep(interval).await;
                removed += orchestrate::cleanup_run(&client, &run_id, poll)
                    .await
                    .map_err(failed)?;
            }
            Ok(json!({"run_id": run_id, "terminated": removed, "deployment_cancelled": cancelled}))
        }
    };
    let job = s.jobs().spawn(
        NewJob {
            kind: "terminate-run",
            connector: c.clone(),
            title: format!("terminate run {run_id}"),
            run_id: Some(run_id),
            progress: None,
        },
        work,
    );
    Ok(accepted(&job))
}
