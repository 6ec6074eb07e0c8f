//! `/compute/v2.0/flavors`: the static catalog of machine sizes.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::seed::Flavor;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::ListView;
use crate::routes::paths;
use crate::routes::render::{json, links};
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// Flavor routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.collection("flavors", list_flavors, None, get(get_flavor))
}

fn flavor_view(f: &Flavor, base: &str, detail: bool) -> Value {
    let mut v =
        json!({"id": f.id, "name": f.name, "links": links(base, paths::COMPUTE, "flavors", &f.id)});
    if detail {
        let m = v.as_object_mut().expect("object literal");
        m.insert("ram".into(), json!(f.ram));
        m.insert("disk".into(), json!(f.disk));
        m.insert("vcpus".into(), json!(f.vcpus));
        m.insert("os-flavor-access:is_public".into(), json!(true));
        m.insert("SNF:disk_template".into(), json!(f.template));
        m.insert("SNF:volume_type".into(), json!(f.volume_type));
        m.insert("SNF:allow_create".into(), json!(f.allow_create));
    }
    v
}

async fn list_flavors(cx: Ctx, view: ListView) -> Response {
    let list: Vec<Value> = cx.read(|c, _| {
        c.flavors
            .iter()
            .filter(|f| !f.deleted)
            .map(|f| flavor_view(f, &cx.base, view.detail))
            .collect()
    });
    json(StatusCode::OK, &json!({"flavors": list}))
}

async fn get_flavor(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_by_id(&id, "Flavor", "flavor", |c, _, id| {
        c.flavor(id)
            .map(|f| flavor_view(f, &cx.base, true))
            // api/util.py `get_flavor`.
            .ok_or_else(|| ApiError::not_found("Flavor not found."))
    })
}
