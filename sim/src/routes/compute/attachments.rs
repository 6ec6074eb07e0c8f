//! `/compute/v2.0/servers/<id>/os-volume_attachments`: volumes plugged into a server.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::extract::{Auth, JsonBody};
use crate::routes::fields::{envelope, parse_id, required_u64};
use crate::routes::paths::COMPUTE;
use crate::routes::render::{empty, json};
use crate::routes::table::{WrongMethod, table};
use crate::state::AppState;

/// Volume attachment routes.
pub fn routes() -> Router<AppState> {
    table(
        COMPUTE,
        WrongMethod::Json,
        [
            (
                "/servers/{id}/os-volume_attachments",
                "GET, POST",
                get(list_attachments).post(attach_volume),
            ),
            (
                "/servers/{id}/os-volume_attachments/{vid}",
                "GET, DELETE",
                get(get_attachment).delete(detach_volume),
            ),
        ],
    )
}

fn attachment_view(server: u64, volume: u64) -> Value {
    json!({"id": volume, "volumeId": volume, "serverId": server, "device": ""})
}

async fn list_attachments(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let list = st.backend.read(|c| {
        c.server(&u.uuid, id)?;
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

async fn get_attachment(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid = parse_id(&vid, "Volume")?;
    st.backend.read(|c| {
        c.server(&u.uuid, id)?;
        c.attached_volumes(id)
            .find(|v| v.id == vid)
            .map(|_| ())
            .ok_or_else(|| {
                ApiError::not_found(format!("Volume {vid} is not attached to server {id}"))
            })
    })?;
    Ok(json(
        StatusCode::OK,
        &json!({"volumeAttachment": attachment_view(id, vid)}),
    ))
}

async fn attach_volume(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let a = envelope(&b, "volumeAttachment")?;
    let vid = required_u64(a, "volumeId")?;
    st.backend.write(|c| c.attach_volume(&u.uuid, id, vid))?;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"volumeAttachment": attachment_view(id, vid)}),
    ))
}

async fn detach_volume(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid: u64 = vid
        .parse()
        .map_err(|_| ApiError::bad(format!("Volume {vid} not found")))?;
    st.backend.write(|c| c.detach_volume(&u.uuid, id, vid))?;
    Ok(empty(StatusCode::ACCEPTED))
}
