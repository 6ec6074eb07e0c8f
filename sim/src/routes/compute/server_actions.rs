//! `POST /compute/v2.0/servers/<id>/action`: exactly one action per body.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::server_actions::Action;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::PathBody;
use crate::routes::fields::{opt_str, opt_u64, parse_id};
use crate::routes::render::{empty, json};
use crate::routes::table::{COMPUTE, post};
use crate::state::AppState;

/// Server action routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.table([("/servers/{id}/action", post(server_action))])
}

fn parse_action(b: &Value) -> ApiResult<Action> {
    let obj = b
        .as_object()
        .ok_or_else(|| ApiError::bad("Malformed request"))?;
    if obj.len() != 1 {
        return Err(ApiError::bad(
            "Malformed request: exactly one action is required",
        ));
    }
    let (name, args) = obj
        .iter()
        .next()
        .ok_or_else(|| ApiError::bad("Malformed request"))?;
    let args = args
        .as_object()
        .ok_or_else(|| ApiError::bad("Malformed request: the action's value must be an object"))?;
    Ok(match name.as_str() {
        "start" => Action::Start,
        "shutdown" => Action::Shutdown,
        "reboot" => {
            let t =
                opt_str(args, "type")?.ok_or_else(|| ApiError::bad("Missing 'type' attribute."))?;
            if t != "SOFT" && t != "HARD" {
                return Err(ApiError::bad(format!("Invalid 'type' attribute: '{t}'.")));
            }
            Action::Reboot
        }
        "resize" => Action::Resize(
            opt_u64(args, "flavorRef")?
                .ok_or_else(|| ApiError::bad("Missing 'flavorRef' attribute."))?,
        ),
        "console" => Action::Console(
            opt_str(args, "type")?.ok_or_else(|| ApiError::bad("Missing 'type' attribute."))?,
        ),
        "addFloatingIp" => Action::AddFloatingIp(
            opt_str(args, "address")?.ok_or_else(|| ApiError::bad("No floating IP specified."))?,
        ),
        "removeFloatingIp" => Action::RemoveFloatingIp(
            opt_str(args, "address")?.ok_or_else(|| ApiError::bad("No floating IP specified."))?,
        ),
        other => return Err(ApiError::bad(format!("Action {other} not supported"))),
    })
}

async fn server_action(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    // A server of someone else is 404 even for a malformed action.
    cx.read(|c, u| c.server(u, id).map(|_| ()))?;
    let action = parse_action(&b)?;
    match cx.write(|c, u| c.server_action(u, id, action))? {
        Some(console) => Ok(json(StatusCode::OK, &json!({"console": console}))),
        None => Ok(empty(StatusCode::ACCEPTED)),
    }
}
