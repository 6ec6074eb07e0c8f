//! `/volume/v2.0/volumes`: list (plain and detail), read, create, update, delete.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::model::{Volume, VolumeStatus};
use crate::backend::volumes::CreateVolume;
use crate::backend::world::Core;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{JsonBody, ListView, PathBody};
use crate::routes::fields::{envelope, opt_str, opt_u64, parse_id, required_str, string_map};
use crate::routes::paths;
use crate::routes::render::{iso, links, list_or_not_modified};
use crate::routes::table::{VOLUME, delete, get, post};
use crate::state::AppState;

/// Volume routes.
pub fn routes() -> Router<AppState> {
    let one = get(get_volume).put(update_volume).delete(delete_volume);
    let meta = VOLUME.table_under(
        "/volumes/{id}/metadata",
        [
            (
                "",
                get(get_metadata).post(merge_metadata).put(replace_metadata),
            ),
            ("/{key}", delete(delete_metadata)),
        ],
    );
    VOLUME
        .collection("volumes", list_volumes, Some(post(create_volume)), one)
        .merge(meta)
}

/// volume/views.py `volume_to_dict`: `id` a string, the volume type an integer, the
/// attachments' `server_id`, `volume_id` and `device_index` integers, the sources strings
/// or null; no `updated_at` and no `bootable` (commented out there).
pub fn volume_view(v: &Volume, base: &str, detail: bool) -> Value {
    let id = v.id.to_string();
    let links = links(base, paths::VOLUME, "volumes", &id);
    if !detail {
        return json!({"id": id, "display_name": v.name, "links": links});
    }
    let attachments: Vec<Value> = match v.server_id {
        Some(s) => vec![json!({"server_id": s, "volume_id": v.id, "device_index": v.index})],
        None => vec![],
    };
    json!({
        "id": id,
        "display_name": v.name,
        "display_description": v.description,
        "size": v.size,
        "status": v.status.as_str(),
        "attachments": attachments,
        "volume_type": v.volume_type,
        "snapshot_id": v.snapshot_id,
        "image_id": v.image_id,
        "source_volid": null,
        "delete_on_termination": v.delete_on_termination,
        "deleted": v.status == VolumeStatus::Deleted,
        "user_id": v.user_id,
        "tenant_id": v.project,
        "shared_to_project": false,
        "created_at": iso(&v.created),
        "metadata": v.metadata,
        "links": links,
    })
}

/// volume/urls.py matches ids with `(\d+)`; any other id falls through to
/// `api_endpoint_not_found`: 400 "API endpoint not found".
fn volume_id(id: &str) -> ApiResult<u64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad("API endpoint not found"));
    }
    parse_id(id, "Volume")
}

async fn list_volumes(cx: Ctx, Since(since): Since, view: ListView) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.volumes_of(u, since)
            .map(|v| volume_view(v, &cx.base, view.detail))
            .collect()
    });
    Ok(list_or_not_modified("volumes", list, since))
}

async fn get_volume(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    cx.read_one("volume", |c, u| {
        c.volume(u, id).map(|v| volume_view(v, &cx.base, true))
    })
}

/// Runs `op` on the backend, then answers `status` with the view of volume it names.
fn write_then_view(
    cx: &Ctx,
    status: StatusCode,
    detail: bool,
    op: impl FnOnce(&mut Core, &str) -> ApiResult<u64>,
) -> ApiResult<Response> {
    cx.write_one(status, "volume", |c, u| {
        let id = op(c, u)?;
        c.volume(u, id).map(|v| volume_view(v, &cx.base, detail))
    })
}

/// volume/views.py `create_volume`: the `get_attribute` checks of each field in its order
/// (`size` a string or an integer, then a positive integer; `volume_type` a string or an
/// integer; `metadata` an object, then unused), then the backend.
async fn create_volume(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let v = envelope(&b, "volume")?;
    let name = required_str(v, "display_name")?;
    let invalid = |k: &str| ApiError::bad(format!("Malformed request. Invalid '{k}' field"));
    let size = match v.get("size") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad(
                "Malformed request. Missing attribute 'size'.",
            ));
        }
        Some(Value::Number(n)) => n.as_i64().map(|i| (i.to_string(), Some(i))),
        Some(Value::String(s)) => Some((s.clone(), s.trim().parse::<i64>().ok())),
        Some(Value::Bool(b)) => Some((py_bool(*b), Some(*b as i64))),
        Some(_) => None,
    };
    let Some((text, size)) = size else {
        return Err(invalid("size"));
    };
    let size = size.filter(|s| *s > 0).ok_or_else(|| {
        ApiError::bad(format!(
            "Volume 'size' needs to be a positive integer value. '{text}' cannot be accepted."
        ))
    })? as u64;
    let volume_type = match v.get("volume_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => return Err(invalid("volume_type")),
    };
    let description = opt_str(v, "display_description")?.unwrap_or_default();
    match v.get("metadata") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err(invalid("metadata")),
    }
    let text = |k: &str| -> Option<String> {
        match v.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    };
    let req = CreateVolume {
        name,
        description,
        size,
        server_id: opt_u64(v, "server_id")?,
        volume_type,
        source_volid: text("source_volid"),
        snapshot_id: text("snapshot_id"),
        image_ref: text("imageRef"),
        project: opt_str(v, "project")?,
    };
    write_then_view(&cx, StatusCode::ACCEPTED, false, |c, u| {
        c.create_volume(u, req)
    })
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// volume/views.py `update_volume`: `delete_on_termination` must be a JSON boolean, and
/// a body with none of the three fields is "Nothing to update.".
async fn update_volume(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    let v = envelope(&b, "volume")?;
    let (name, desc) = (
        opt_str(v, "display_name")?,
        opt_str(v, "display_description")?,
    );
    let dot = match v.get("delete_on_termination") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::bad(
                "Malformed request. Invalid 'delete_on_termination' field",
            ));
        }
    };
    if name.is_none() && desc.is_none() && dot.is_none() {
        return Err(ApiError::bad("Nothing to update."));
    }
    write_then_view(&cx, StatusCode::OK, true, |c, u| {
        c.update_volume(u, id, name, desc, dot).map(|()| id)
    })
}

async fn delete_volume(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    cx.write_empty(StatusCode::ACCEPTED, |c, u| c.delete_volume(u, id))
}

/// volume/views.py `list_volume_metadata` (a deleted volume's too).
async fn get_metadata(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    cx.read_one("metadata", |c, u| {
        c.volume(u, id).map(|v| v.metadata.clone())
    })
}

/// volume/views.py `update_volume_metadata`: POST merges, PUT replaces; 200 with the
/// whole set.
async fn merge_metadata(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    update_metadata(cx, id, b, false)
}

async fn replace_metadata(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    update_metadata(cx, id, b, true)
}

fn update_metadata(cx: Ctx, id: String, b: Value, reset: bool) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    let meta = match b.get("metadata") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad(
                "Malformed request. Missing attribute 'metadata'.",
            ));
        }
        Some(m @ Value::Object(_)) => string_map(Some(m), "metadata")?,
        Some(_) => return Err(ApiError::bad("Malformed request. Invalid 'metadata' field")),
    };
    cx.write_one(StatusCode::OK, "metadata", |c, u| {
        c.update_volume_metadata(u, id, meta, reset)
    })
}

/// volume/views.py `delete_volume_metadata_item`: 200, and 400 for a key not there.
async fn delete_metadata(cx: Ctx, Path((id, key)): Path<(String, String)>) -> ApiResult<Response> {
    let id = volume_id(&id)?;
    cx.write_empty(StatusCode::OK, |c, u| c.delete_volume_metadata(u, id, &key))
}
