//! `/compute/v2.0/servers/<id>/os-volume_attachments`: volumes plugged into a server.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::PathBody;
use crate::routes::fields::{envelope, parse_id, required_u64};
use crate::routes::render::json;
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// Volume attachment routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.table_under(
        "/servers/{id}/os-volume_attachments",
        [
            ("", get(list_attachments).post(attach_volume)),
            ("/{vid}", get(get_attachment).delete(detach_volume)),
        ],
    )
}

fn attachment_view(server: u64, volume: u64) -> Value {
    json!({"id": volume, "volumeId": volume, "serverId": server, "device": ""})
}

async fn list_attachments(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let list = cx.read(|c, u| {
        c.server(u, id)?;
        let mut v: Vec<(u32, u64)> = c
            .attached_volumes(id)
            .map(|v| (v.index.unwrap_or(0), v.id))
            .collect();
        v.sort();
        Ok::<_, ApiError>(
            v.into_iter()
                .map(|(_, vid)| attachment_view(id, vid))
                .collect::<Vec<_>>(),
        )
    })?;
    Ok(json(StatusCode::OK, &json!({"volumeAttachments": list})))
}

async fn get_attachment(cx: Ctx, Path((id, vid)): Path<(String, String)>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid = parse_id(&vid, "Volume")?;
    cx.read_one("volumeAttachment", |c, u| {
        c.server(u, id)?;
        c.attached_volumes(id)
            .find(|v| v.id == vid)
            .map(|_| attachment_view(id, vid))
            .ok_or_else(|| {
                ApiError::not_found(format!("Volume {vid} is not attached to server {id}"))
            })
    })
}

async fn attach_volume(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let a = envelope(&b, "volumeAttachment")?;
    let vid = required_u64(a, "volumeId")?;
    cx.write_one(StatusCode::ACCEPTED, "volumeAttachment", |c, u| {
        c.attach_volume(u, id, vid)
            .map(|_| attachment_view(id, vid))
    })
}

async fn detach_volume(cx: Ctx, Path((id, vid)): Path<(String, String)>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid: u64 = vid
        .parse()
        .map_err(|_| ApiError::bad(format!("Volume {vid} not found")))?;
    cx.write_empty(StatusCode::ACCEPTED, |c, u| c.detach_volume(u, id, vid))
}
