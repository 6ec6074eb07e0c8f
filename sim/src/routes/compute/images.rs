//! `/compute/v2.0/images`: the compute view of the images (snapshots included). Their
//! metadata routes are in [`super::metadata`]; deletion is Plankton's handler.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::model::{Image, ImageStatus};
use crate::backend::world::Core;
use crate::error::ApiResult;
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::ListView;
use crate::routes::image::delete_image;
use crate::routes::paths;
use crate::routes::render::{image_progress, iso, json, links};
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// Compute image routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.collection(
        "images",
        list_images,
        None,
        get(get_image).delete(delete_image),
    )
}

/// The compute view of an image (snapshots included).
pub fn image_view(c: &Core, img: &Image, base: &str, detail: bool) -> Value {
    let mut v = json!({"id": img.id, "name": img.name, "links": links(base, paths::COMPUTE, "images", &img.id)});
    if detail {
        // api/images.py `image_to_dict`: `API_STATUS_FROM_IMAGE_STATUS` of the upper-cased
        // Plankton status, else UNKNOWN; a status an update gave is reported as such.
        let status = match img.object_status().to_uppercase().as_str() {
            "AVAILABLE" => "ACTIVE",
            "UNAVAILABLE" => "SAVING",
            "ERROR" => "ERROR",
            "DELETED" => "DELETED",
            _ => "UNKNOWN",
        };
        let progress = if img.given_status.is_none() {
            image_progress(c.now, img)
        } else if status == "ACTIVE" {
            100
        } else {
            0
        };
        let m = v.as_object_mut().expect("object literal");
        m.insert("status".into(), json!(status));
        m.insert("progress".into(), json!(progress));
        m.insert("created".into(), json!(iso(&img.created)));
        m.insert("updated".into(), json!(iso(&img.updated)));
        m.insert("user_id".into(), json!(img.owner));
        m.insert("tenant_id".into(), json!(img.owner));
        m.insert("public".into(), json!(img.is_public));
        m.insert("is_snapshot".into(), json!(img.snapshot.is_some()));
        m.insert("metadata".into(), json!(img.properties));
        m.insert("minDisk".into(), json!(0));
        m.insert("minRam".into(), json!(0));
        m.insert("deleted".into(), json!(img.status == ImageStatus::Deleted));
    }
    v
}

/// api/images.py `list_images`: `changes-since` keeps the images Plankton lists (never
/// deleted ones) updated since then, in the view asked for; it never answers 304, since the
/// `ifilter` it tests for emptiness is always true.
async fn list_images(cx: Ctx, Since(since): Since, view: ListView) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.images_of(u, None)
            .filter(|i| since.is_none_or(|t| i.updated >= t))
            .map(|i| image_view(c, i, &cx.base, view.detail))
            .collect()
    });
    Ok(json(StatusCode::OK, &json!({ "images": list })))
}

async fn get_image(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_one("image", |c, u| {
        c.pithos_image(u, &id)
            .map(|i| image_view(c, i, &cx.base, true))
    })
}
