//! `/volume/v2.0/volumes`: list (plain and detail), read, create, update, delete.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::model::Volume;
use crate::backend::volumes::CreateVolume;
use crate::backend::world::Core;
use crate::error::ApiResult;
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{JsonBody, ListView, PathBody};
use crate::routes::fields::{
    envelope, opt_bool, opt_str, opt_u64, parse_id, required_str, required_u64, string_map,
};
use crate::routes::paths;
use crate::routes::render::{iso, links, list_or_not_modified};
use crate::routes::table::{VOLUME, get, post};
use crate::state::AppState;

/// Volume routes.
pub fn routes() -> Router<AppState> {
    let one = get(get_volume).put(update_volume).delete(delete_volume);
    VOLUME.collection("volumes", list_volumes, Some(post(create_volume)), one)
}

/// The volume record.
pub fn volume_view(v: &Volume, base: &str, detail: bool) -> Value {
    let id = v.id.to_string();
    let links = links(base, paths::VOLUME, "volumes", &id);
    if !detail {
        return json!({"id": id, "display_name": v.name, "links": links});
    }
    let attachments: Vec<Value> = match (v.server_id, v.index) {
        (Some(s), idx) => vec![
            json!({"server_id": s.to_string(), "volume_id": id, "device_index": idx.unwrap_or(0)}),
        ],
        _ => vec![],
    };
    json!({
        "id": id,
        "display_name": v.name,
        "display_description": v.description,
        "size": v.size,
        "status": v.status.as_str(),
        "attachments": attachments,
        "volume_type": v.volume_type.to_string(),
        "snapshot_id": v.snapshot_id,
        "image_id": v.image_id,
        "source_volid": null,
        "delete_on_termination": v.delete_on_termination,
        "user_id": v.user_id,
        "tenant_id": v.project,
        "created_at": iso(&v.created),
        "updated_at": iso(&v.updated),
        "metadata": v.metadata,
        "bootable": v.index == Some(0),
        "links": links,
    })
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
    cx.read_by_id(&id, "Volume", "volume", |c, u, id| {
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

async fn create_volume(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let v = envelope(&b, "volume")?;
    let name = required_str(v, "display_name")?;
    let size = required_u64(v, "size")?;
    let req = CreateVolume {
        name,
        description: opt_str(v, "display_description")?.unwrap_or_default(),
        size,
        server_id: opt_u64(v, "server_id")?,
        volume_type: opt_u64(v, "volume_type")?,
        snapshot_id: opt_str(v, "snapshot_id")?,
        image_ref: opt_str(v, "imageRef")?,
        metadata: string_map(v.get("metadata"), "metadata")?,
        project: opt_str(v, "project")?,
    };
    write_then_view(&cx, StatusCode::ACCEPTED, false, |c, u| {
        c.create_volume(u, req)
    })
}

async fn update_volume(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume")?;
    let v = envelope(&b, "volume")?;
    let (name, desc, dot) = (
        opt_str(v, "display_name")?,
        opt_str(v, "display_description")?,
        opt_bool(v, "delete_on_termination")?,
    );
    write_then_view(&cx, StatusCode::OK, true, |c, u| {
        c.update_volume(u, id, name, desc, dot).map(|()| id)
    })
}

async fn delete_volume(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume")?;
    cx.write_empty(StatusCode::ACCEPTED, |c, u| c.delete_volume(u, id))
}
