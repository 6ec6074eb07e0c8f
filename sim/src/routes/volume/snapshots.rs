//! `/volume/v2.0/snapshots`: list (plain and detail), read, create, update, delete.
//! A snapshot is an image underneath (see `backend::snapshots`).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::model::Image;
use crate::backend::world::Core;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::{JsonBody, ListView, PathBody};
use crate::routes::fields::{envelope, opt_str, string_map};
use crate::routes::paths;
use crate::routes::render::{image_status, iso, json, links};
use crate::routes::table::{VOLUME, delete, get, post};
use crate::state::AppState;

/// Snapshot routes (volume/urls.py).
pub fn routes() -> Router<AppState> {
    let one = get(get_snapshot)
        .put(update_snapshot)
        .delete(delete_snapshot);
    VOLUME
        .collection(
            "snapshots",
            list_snapshots,
            Some(post(create_snapshot)),
            one,
        )
        .merge(VOLUME.table([
            (
                "/snapshots/{id}/metadata",
                get(get_metadata).post(merge_metadata).put(replace_metadata),
            ),
            ("/snapshots/{id}/metadata/{key}", delete(delete_metadata)),
        ]))
}

/// volume/views.py `snapshot_to_dict` (a snapshot is an image underneath): it ignores its
/// `detail` argument, so lists, plain or not, and creation show every field; the progress
/// is the string `"100%"` when AVAILABLE and the integer `0` otherwise; no `updated_at`.
pub fn snapshot_view(img: &Image, base: &str) -> Value {
    let info = img.snapshot.as_ref();
    let links = links(base, paths::VOLUME, "snapshots", &img.id);
    let status = image_status(img, "CREATING", "AVAILABLE");
    let progress = if status == "AVAILABLE" {
        json!("100%")
    } else {
        json!(0)
    };
    json!({
        "id": img.id,
        "display_name": img.name,
        "display_description": info.map(|i| i.description.as_str()).unwrap_or(""),
        "size": info.map(|i| i.size).unwrap_or(0),
        "status": status,
        "volume_id": info.map(|i| i.volume_id.to_string()),
        "user_id": img.owner,
        "tenant_id": img.owner,
        "created_at": iso(&img.created),
        // `snapshot.get("metadata", {})` of an `image_to_dict`, which has no such key.
        "metadata": {},
        "os-extended-snapshot-attribute:progress": progress,
        "links": links,
    })
}

async fn list_snapshots(cx: Ctx, _view: ListView) -> Response {
    let list: Vec<Value> = cx.read(|c, u| {
        c.snapshots_of(u)
            .map(|i| snapshot_view(i, &cx.base))
            .collect()
    });
    json(StatusCode::OK, &json!({"snapshots": list}))
}

async fn get_snapshot(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_one("snapshot", |c, u| {
        c.snapshot(u, &id).map(|i| snapshot_view(i, &cx.base))
    })
}

/// Runs `op` on the backend, then answers `status` with the detailed view of the
/// snapshot it names.
fn write_then_view(
    cx: &Ctx,
    status: StatusCode,
    op: impl FnOnce(&mut Core, &str) -> ApiResult<String>,
) -> ApiResult<Response> {
    cx.write_one(status, "snapshot", |c, u| {
        let id = op(c, u)?;
        c.snapshot(u, &id).map(|i| snapshot_view(i, &cx.base))
    })
}

async fn create_snapshot(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let s = envelope(&b, "snapshot")?;
    // `get_attribute(snap_dict, "volume_id", required=True)`, then `get_volume`'s `int()`.
    let vid = match s.get("volume_id") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad(
                "Malformed request. Missing attribute 'volume_id'.",
            ));
        }
        Some(Value::String(t)) => t
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::bad(format!("Invalid volume id: {t}")))?,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ApiError::bad(format!("Invalid volume id: {v}")))?,
    };
    // volume/views.py `create_snapshot`: the default name.
    let name = opt_str(s, "display_name")?.unwrap_or_else(|| format!("Snapshot of volume '{vid}'"));
    let desc = opt_str(s, "display_description")?.unwrap_or_default();
    let meta = string_map(s.get("metadata"), "metadata")?;
    write_then_view(&cx, StatusCode::ACCEPTED, |c, u| {
        c.create_snapshot(u, vid, name, desc, meta)
    })
}

/// volume/views.py `update_snapshot`: the snapshot first, then the body.
async fn update_snapshot(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    cx.read(|c, u| c.snapshot(u, &id).map(|_| ()))?;
    let s = envelope(&b, "snapshot")?;
    let (name, desc) = (
        opt_str(s, "display_name")?,
        opt_str(s, "display_description")?,
    );
    write_then_view(&cx, StatusCode::OK, |c, u| {
        c.update_snapshot(u, &id, name, desc).map(|()| id)
    })
}

async fn delete_snapshot(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.write_empty(StatusCode::ACCEPTED, |c, u| c.delete_snapshot(u, &id))
}

/// volume/views.py `list_snapshot_metadata`: the snapshot's Plankton properties.
async fn get_metadata(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_one("metadata", |c, u| {
        c.snapshot(u, &id).map(|i| i.properties.clone())
    })
}

/// volume/views.py `update_snapshot_metadata`: the snapshot, then `metadata` (an object;
/// values taken as Python's `smart_unicode` of them).
fn update_metadata(cx: Ctx, id: String, b: Value, reset: bool) -> ApiResult<Response> {
    cx.read(|c, u| c.snapshot(u, &id).map(|_| ()))?;
    let meta = match b.get("metadata") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad(
                "Malformed request. Missing attribute 'metadata'.",
            ));
        }
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(true) => "True".into(),
                    Value::Bool(false) => "False".into(),
                    Value::Null => "None".into(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Some(_) => {
            return Err(ApiError::bad("Malformed request. Invalid 'metadata' field"));
        }
    };
    match cx.write(|c, u| c.update_snapshot_metadata(u, &id, meta, reset))? {
        Some(m) => Ok(json(StatusCode::OK, &json!({ "metadata": m }))),
        None => Err(ApiError::not_found(format!("Snapshot {id} not found"))),
    }
}

async fn merge_metadata(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    update_metadata(cx, id, b, false)
}

async fn replace_metadata(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    update_metadata(cx, id, b, true)
}

/// volume/views.py `delete_snapshot_metadata_item`: 200, no body.
async fn delete_metadata(cx: Ctx, Path((id, key)): Path<(String, String)>) -> ApiResult<Response> {
    cx.write_empty(StatusCode::OK, |c, u| {
        c.delete_snapshot_metadata(u, &id, &key)
    })
}
