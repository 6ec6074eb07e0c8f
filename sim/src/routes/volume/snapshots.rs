//! `/volume/v2.0/snapshots`: list (plain and detail), read, create, update, delete.
//! A snapshot is an image underneath (see `backend::snapshots`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::backend::model::{Image, ImageStatus};
use crate::backend::world::Core;
use crate::error::ApiResult;
use crate::routes::extract::{Auth, JsonBody, ListView};
use crate::routes::fields::{envelope, opt_str, required_u64, string_map};
use crate::routes::paths::VOLUME;
use crate::routes::render::{empty, iso, json, links, progress};
use crate::routes::table::{WrongMethod, table};
use crate::state::AppState;

/// Snapshot routes.
pub fn routes() -> Router<AppState> {
    table(
        VOLUME,
        WrongMethod::Empty,
        [
            (
                "/snapshots",
                "GET, POST",
                get(list_snapshots).post(create_snapshot),
            ),
            ("/snapshots/detail", "GET", get(list_snapshots)),
            (
                "/snapshots/{id}",
                "GET, PUT, DELETE",
                get(get_snapshot)
                    .put(update_snapshot)
                    .delete(delete_snapshot),
            ),
        ],
    )
}

/// The snapshot record (a snapshot is an image underneath).
pub fn snapshot_view(c: &Core, img: &Image, base: &str, detail: bool) -> Value {
    let info = img.snapshot.as_ref();
    let links = links(base, VOLUME, "snapshots", &img.id);
    if !detail {
        return json!({"id": img.id, "display_name": img.name, "links": links});
    }
    let status = match img.status {
        ImageStatus::Saving => "CREATING",
        ImageStatus::Active => "AVAILABLE",
        ImageStatus::Error => "ERROR",
        ImageStatus::Deleted => "DELETED",
    };
    let progress = match (img.status, img.due) {
        (ImageStatus::Saving, Some(due)) => progress(c.now, img.created, due),
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
        "links": links,
    })
}

async fn list_snapshots(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    view: ListView,
) -> Response {
    let base = st.base_url_for(&h);
    let list: Vec<Value> = st.backend.read(|c| {
        c.snapshots_of(&u.uuid)
            .map(|i| snapshot_view(c, i, &base, view.detail))
            .collect()
    });
    json(StatusCode::OK, &json!({"snapshots": list}))
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
    Ok(json(StatusCode::OK, &json!({"snapshot": v})))
}

/// Runs `op` on the backend, then answers `status` with the detailed view of the
/// snapshot it names.
fn write_then_view(
    st: &AppState,
    h: &HeaderMap,
    user: &str,
    status: StatusCode,
    op: impl FnOnce(&mut Core) -> ApiResult<String>,
) -> ApiResult<Response> {
    let base = st.base_url_for(h);
    let view = st.backend.write(|c| {
        let id = op(c)?;
        c.snapshot(user, &id)
            .map(|i| snapshot_view(c, i, &base, true))
    })?;
    Ok(json(status, &json!({"snapshot": view})))
}

async fn create_snapshot(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let s = envelope(&b, "snapshot")?;
    let vid = required_u64(s, "volume_id")?;
    let name = opt_str(s, "display_name")?.unwrap_or_default();
    let desc = opt_str(s, "display_description")?.unwrap_or_default();
    let meta = string_map(s.get("metadata"), "metadata")?;
    write_then_view(&st, &h, &u.uuid, StatusCode::ACCEPTED, |c| {
        c.create_snapshot(&u.uuid, vid, name, desc, meta)
    })
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
    write_then_view(&st, &h, &u.uuid, StatusCode::OK, |c| {
        c.update_snapshot(&u.uuid, &id, name, desc).map(|()| id)
    })
}

async fn delete_snapshot(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    st.backend.write(|c| c.delete_snapshot(&u.uuid, &id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}
