//! Block storage routes (`/volume/v2.0`): volumes, volume types, snapshots. Wrong
//! methods answer 405 with an empty body, like Cyclades' volume service.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{
    AppState, Auth, JsonBody, changes_since, empty, envelope, iso, not_allowed_empty, opt_bool,
    opt_str, opt_u64, parse_id, string_map,
};
use crate::backend::Core;
use crate::backend::model::{Image, ImageStatus, Volume};
use crate::backend::seed::VolumeType;
use crate::backend::volume::CreateVolume;
use crate::error::{ApiError, ApiResult};

const P: &str = "/volume/v2.0";

/// Volume routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{P}/volumes"),
            get(list_volumes)
                .post(create_volume)
                .fallback(not_allowed_empty("GET, POST")),
        )
        .route(
            &format!("{P}/volumes/detail"),
            get(list_volumes_detail).fallback(not_allowed_empty("GET")),
        )
        .route(
            &format!("{P}/volumes/{{id}}"),
            get(get_volume)
                .put(update_volume)
                .delete(delete_volume)
                .fallback(not_allowed_empty("GET, PUT, DELETE")),
        )
        .route(
            &format!("{P}/types"),
            get(list_types).fallback(not_allowed_empty("GET")),
        )
        .route(
            &format!("{P}/types/{{id}}"),
            get(get_type).fallback(not_allowed_empty("GET")),
        )
        .route(
            &format!("{P}/snapshots"),
            get(list_snapshots)
                .post(create_snapshot)
                .fallback(not_allowed_empty("GET, POST")),
        )
        .route(
            &format!("{P}/snapshots/detail"),
            get(list_snapshots_detail).fallback(not_allowed_empty("GET")),
        )
        .route(
            &format!("{P}/snapshots/{{id}}"),
            get(get_snapshot)
                .put(update_snapshot)
                .delete(delete_snapshot)
                .fallback(not_allowed_empty("GET, PUT, DELETE")),
        )
}

fn link(base: &str, kind: &str, id: &str) -> Value {
    json!([{"rel": "self", "href": format!("{base}{P}/{kind}/{id}")}, {"rel": "bookmark", "href": format!("{base}{P}/{kind}/{id}")}])
}

/// The volume record.
pub fn volume_view(v: &Volume, base: &str, detail: bool) -> Value {
    let id = v.id.to_string();
    if !detail {
        return json!({"id": id, "display_name": v.name, "links": link(base, "volumes", &id)});
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
        "links": link(base, "volumes", &id),
    })
}

fn type_view(t: &VolumeType) -> Value {
    json!({"id": t.id.to_string(), "name": t.name, "SNF:disk_template": t.template, "SNF:detachable": t.detachable, "deleted": false})
}

/// The snapshot record (a snapshot is an image underneath).
pub fn snapshot_view(c: &Core, img: &Image, base: &str, detail: bool) -> Value {
    let info = img.snapshot.as_ref();
    if !detail {
        return json!({"id": img.id, "display_name": img.name, "links": link(base, "snapshots", &img.id)});
    }
    let status = match img.status {
        ImageStatus::Saving => "CREATING",
        ImageStatus::Active => "AVAILABLE",
        ImageStatus::Error => "ERROR",
        ImageStatus::Deleted => "DELETED",
    };
    let progress = match (img.status, img.due) {
        (ImageStatus::Saving, Some(due)) => {
            let total = (due - img.created).num_milliseconds().max(1) as f64;
            let done = (c.now - img.created).num_milliseconds().max(0) as f64;
            ((done / total) * 100.0).clamp(0.0, 99.0) as u8
        }
        (ImageStatus::Active, _) => 100,
        _ => 0,
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
        "updated_at": iso(&img.updated),
        "metadata": info.map(|i| i.metadata.clone()).unwrap_or_default(),
        "os-extended-snapshot-attribute:progress": format!("{progress}%"),
        "links": link(base, "snapshots", &img.id),
    })
}

async fn list_volumes(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    volumes(st, h, a, q, false)
}

async fn list_volumes_detail(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    volumes(st, h, a, q, true)
}

fn volumes(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
    detail: bool,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let base = st.base_url_for(&h);
    let list: Vec<Value> = st.backend.read(|c| {
        c.volumes_of(&u.uuid, since)
            .map(|v| volume_view(v, &base, detail || since.is_some()))
            .collect()
    });
    if since.is_some() && list.is_empty() {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    Ok(super::json(StatusCode::OK, &json!({"volumes": list})))
}

async fn get_volume(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume")?;
    let base = st.base_url_for(&h);
    let v = st
        .backend
        .read(|c| c.volume(&u.uuid, id).map(|v| volume_view(v, &base, true)))?;
    Ok(super::json(StatusCode::OK, &json!({"volume": v})))
}

async fn create_volume(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let v = envelope(&b, "volume")?;
    let name = opt_str(v, "display_name")?
        .ok_or_else(|| ApiError::bad("Malformed request: missing 'display_name'"))?;
    let size =
        opt_u64(v, "size")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'size'"))?;
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
    let base = st.base_url_for(&h);
    let view = st.backend.write(|c| {
        let id = c.create_volume(&u.uuid, req)?;
        c.volume(&u.uuid, id).map(|v| volume_view(v, &base, false))
    })?;
    Ok(super::json(StatusCode::ACCEPTED, &json!({"volume": view})))
}

async fn update_volume(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume")?;
    let v = envelope(&b, "volume")?;
    let (name, desc, dot) = (
        opt_str(v, "display_name")?,
        opt_str(v, "display_description")?,
        opt_bool(v, "delete_on_termination")?,
    );
    let base = st.base_url_for(&h);
    let view = st.backend.write(|c| {
        c.update_volume(&u.uuid, id, name, desc, dot)?;
        c.volume(&u.uuid, id).map(|v| volume_view(v, &base, true))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"volume": view})))
}

async fn delete_volume(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume")?;
    st.backend.write(|c| c.delete_volume(&u.uuid, id))?;
    Ok(empty(StatusCode::ACCEPTED))
}

async fn list_types(State(st): State<AppState>, _a: Auth) -> Response {
    let list: Vec<Value> = st
        .backend
        .read(|c| c.volume_types.iter().map(type_view).collect());
    super::json(StatusCode::OK, &json!({"volume_types": list}))
}

async fn get_type(
    State(st): State<AppState>,
    _a: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Volume type")?;
    let v = st.backend.read(|c| {
        c.volume_type(id)
            .map(type_view)
            .ok_or_else(|| ApiError::not_found(format!("Volume type {id} not found")))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"volume_type": v})))
}

async fn list_snapshots(st: State<AppState>, h: HeaderMap, a: Auth) -> Response {
    snapshots(st, h, a, false)
}

async fn list_snapshots_detail(st: State<AppState>, h: HeaderMap, a: Auth) -> Response {
    snapshots(st, h, a, true)
}

fn snapshots(State(st): State<AppState>, h: HeaderMap, Auth(u): Auth, detail: bool) -> Response {
    let base = st.base_url_for(&h);
    let list: Vec<Value> = st.backend.read(|c| {
        c.snapshots_of(&u.uuid)
            .map(|i| snapshot_view(c, i, &base, detail))
            .collect()
    });
    super::json(StatusCode::OK, &json!({"snapshots": list}))
}

async fn get_snapshot(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let base = st.base_url_for(&h);
    let v = st.backend.read(|c| {
        c.snapshot(&u.uuid, &id)
            .map(|i| snapshot_view(c, i, &base, true))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"snapshot": v})))
}

async fn create_snapshot(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let s = envelope(&b, "snapshot")?;
    let vid = opt_u64(s, "volume_id")?
        .ok_or_else(|| ApiError::bad("Malformed request: missing 'volume_id'"))?;
    let name = opt_str(s, "display_name")?.unwrap_or_default();
    let desc = opt_str(s, "display_description")?.unwrap_or_default();
    let meta = string_map(s.get("metadata"), "metadata")?;
    let base = st.base_url_for(&h);
    let view = st.backend.write(|c| {
        let id = c.create_snapshot(&u.uuid, vid, name, desc, meta)?;
        c.snapshot(&u.uuid, &id)
            .map(|i| snapshot_view(c, i, &base, true))
    })?;
    Ok(super::json(
        StatusCode::ACCEPTED,
        &json!({"snapshot": view}),
    ))
}

async fn update_snapshot(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let s = envelope(&b, "snapshot")?;
    let (name, desc) = (
        opt_str(s, "display_name")?,
        opt_str(s, "display_description")?,
    );
    let base = st.base_url_for(&h);
    let view = st.backend.write(|c| {
        c.update_snapshot(&u.uuid, &id, name, desc)?;
        c.snapshot(&u.uuid, &id)
            .map(|i| snapshot_view(c, i, &base, true))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"snapshot": view})))
}

async fn delete_snapshot(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    st.backend.write(|c| c.delete_snapshot(&u.uuid, &id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}
