//! `/compute/v2.0/{servers,images}/<id>/metadata[/<key>]`: one set of handlers for both
//! owners. [`Owner`] says how a URL's id names the owner; the backend's
//! [`MetaOwner`] decides who may read and change what.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::metadata::{MetaOwner, Metadata};
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::PathBody;
use crate::routes::fields::{parse_id, required_map};
use crate::routes::render::json;
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// An owner kind of metadata routes: its collection in the URL and how to read its id.
pub trait Owner: Send + Sync + 'static {
    /// `servers` or `images`.
    const COLLECTION: &'static str;
    /// The owner named by a path id. Server ids are numeric, so anything else is a 404
    /// before the body is even looked at; image ids are uuids, taken as they are.
    fn from_path(id: String) -> ApiResult<MetaOwner>;
}

/// Server metadata.
pub struct ServerOwner;

impl Owner for ServerOwner {
    const COLLECTION: &'static str = "servers";
    fn from_path(id: String) -> ApiResult<MetaOwner> {
        parse_id(&id, "Server").map(MetaOwner::Server)
    }
}

/// Image (and snapshot) properties.
pub struct ImageOwner;

impl Owner for ImageOwner {
    const COLLECTION: &'static str = "images";
    fn from_path(id: String) -> ApiResult<MetaOwner> {
        Ok(MetaOwner::Image(id))
    }
}

/// Metadata routes of servers and images.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(routes_of::<ServerOwner>())
        .merge(routes_of::<ImageOwner>())
}

fn routes_of<O: Owner>() -> Router<AppState> {
    COMPUTE.table_under(
        &format!("/{}/{{id}}/metadata", O::COLLECTION),
        [
            // api/servers.py and api/images.py `metadata_demux`: GET and POST only.
            ("", get(get_all::<O>).post(merge::<O>)),
            (
                "/{key}",
                get(get_key::<O>).put(put_key::<O>).delete(delete_key::<O>),
            ),
        ],
    )
}

async fn get_all<O: Owner>(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let owner = O::from_path(id)?;
    cx.read_one("metadata", |c, u| c.metadata(u, &owner).cloned())
}

async fn merge<O: Owner>(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let owner = O::from_path(id)?;
    let meta = required_map(&b, "metadata")?;
    cx.write_one(StatusCode::CREATED, "metadata", |c, u| {
        c.update_metadata(u, &owner, meta, false)
    })
}

async fn get_key<O: Owner>(
    cx: Ctx,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let owner = O::from_path(id)?;
    let v = cx.read(|c, u| {
        c.metadata(u, &owner)?
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Metadata key not found."))
    })?;
    Ok(json(StatusCode::OK, &json!({"meta": {key: v}})))
}

async fn put_key<O: Owner>(
    cx: Ctx,
    PathBody((id, key), b): PathBody<(String, String)>,
) -> ApiResult<Response> {
    let owner = O::from_path(id)?;
    let meta = one_meta(&b, &key)?;
    cx.write(|c, u| c.update_metadata(u, &owner, meta.clone(), false))?;
    Ok(json(StatusCode::CREATED, &json!({"meta": meta})))
}

async fn delete_key<O: Owner>(
    cx: Ctx,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let owner = O::from_path(id)?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| {
        c.delete_metadata(u, &owner, &key)
    })
}

/// The body of `PUT …/metadata/<key>`: `{"meta": {<key>: value}}`, exactly that key.
fn one_meta(b: &Value, key: &str) -> ApiResult<Metadata> {
    let meta = required_map(b, "meta")?;
    if meta.len() != 1 || !meta.contains_key(key) {
        return Err(ApiError::bad(
            "Malformed request: 'meta' must hold exactly the key of the URL",
        ));
    }
    Ok(meta)
}
