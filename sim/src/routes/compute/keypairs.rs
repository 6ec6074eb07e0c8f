//! `/compute/v2.0/os-keypairs`: key pairs by name.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::model::Keypair;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::JsonBody;
use crate::routes::fields::{envelope, opt_str, required_str};
use crate::routes::render::json;
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// Key pair routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.table([
        ("/os-keypairs", get(list_keypairs).post(create_keypair)),
        (
            "/os-keypairs/{name}",
            get(get_keypair).delete(delete_keypair),
        ),
    ])
}

/// A key pair as listed (`user_id` only when read or created one at a time).
fn keypair_view(k: &Keypair, with_user: bool) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if with_user {
        v["user_id"] = json!(k.user_id);
    }
    json!({ "keypair": v })
}

async fn list_keypairs(cx: Ctx) -> Response {
    let list: Vec<Value> =
        cx.read(|c, u| c.keypairs_of(u).map(|k| keypair_view(k, false)).collect());
    json(StatusCode::OK, &json!({"keypairs": list}))
}

async fn create_keypair(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let k = envelope(&b, "keypair")?;
    let name = required_str(k, "name")?;
    let public_key = opt_str(k, "public_key")?;
    let kp = cx.write(|c, u| c.create_keypair(u, name, public_key))?;
    Ok(json(StatusCode::CREATED, &keypair_view(&kp, true)))
}

async fn get_keypair(cx: Ctx, Path(name): Path<String>) -> ApiResult<Response> {
    let v = cx.read(|c, u| {
        c.keypairs_of(u)
            .find(|k| k.name == name)
            .map(|k| keypair_view(k, true))
            .ok_or_else(|| ApiError::not_found(format!("Key pair '{name}' not found")))
    })?;
    Ok(json(StatusCode::OK, &v))
}

async fn delete_keypair(cx: Ctx, Path(name): Path<String>) -> ApiResult<Response> {
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_keypair(u, &name))
}
