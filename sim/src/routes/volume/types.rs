//! `/volume/v2.0/types`: the static volume types.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::lookup::not_found;
use crate::backend::seed::VolumeType;
use crate::error::ApiResult;
use crate::routes::ctx::Ctx;
use crate::routes::render::json;
use crate::routes::table::{VOLUME, get};
use crate::state::AppState;

/// Volume type routes.
pub fn routes() -> Router<AppState> {
    // volume/urls.py routes both straight to their `api_method` views.
    VOLUME.table([
        ("/types", get(list_types).single_view()),
        ("/types/{id}", get(get_type).single_view()),
    ])
}

/// volume/views.py `volume_type_to_dict`: the id is an integer.
fn type_view(t: &VolumeType) -> Value {
    json!({"id": t.id, "name": t.name, "SNF:disk_template": t.template, "SNF:detachable": t.detachable, "deleted": false})
}

async fn list_types(cx: Ctx) -> Response {
    let list: Vec<Value> = cx.read(|c, _| c.volume_types.iter().map(type_view).collect());
    json(StatusCode::OK, &json!({"volume_types": list}))
}

async fn get_type(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_by_id(&id, "Volume type", "volume_type", |c, _, id| {
        c.volume_type(id)
            .map(type_view)
            .ok_or_else(|| not_found("Volume type", id))
    })
}
