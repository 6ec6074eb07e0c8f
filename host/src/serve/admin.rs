//! The admin API: list connectors, swap one to a new component, roll back.
//!
//! A swap is the registry's build → validate → publish: the new component is compiled,
//! type-checked against the `cloud-connector` world and its `info` run in the sandbox before
//! it is published; calls in flight finish on the old version, and a rejected component
//! leaves the old one serving (422 with the reason).

use super::ServerState;
use super::error::ApiError;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use connector_runtime::registry::SwapOutcome;

/// The largest component accepted by the swap route.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/admin/connectors", get(list))
        .route(
            "/admin/connectors/{name}/swap",
            post(swap).layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES)),
        )
        .route("/admin/connectors/{name}/rollback", post(rollback))
}

async fn list(
    State(s): State<ServerState>,
) -> Json<Vec<connector_runtime::registry::ConnectorStatus>> {
    Json(s.registry().status())
}

fn known(s: &ServerState, name: &str) -> Result<(), ApiError> {
    let names = s.registry().names();
    if names.iter().any(|n| n == name) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no connector named `{name}` (loaded: {}); new connectors are added in the configuration ([connectors.NAME])",
            names.join(", ")
        )))
    }
}

async fn swap(
    State(s): State<ServerState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<SwapOutcome>, ApiError> {
    known(&s, &name)?;
    if body.is_empty() {
        return Err(ApiError::invalid(
            "send the new component's bytes as the request body (Content-Type: application/wasm)",
        ));
    }
    let registry = s.registry().clone();
    let source = format!("admin API ({} bytes)", body.len());
    // The registry compiles off the async workers (see `Registry::build`).
    registry
        .swap(&name, &body, source)
        .await
        .map(Json)
        .map_err(|e| ApiError::rejected(format!("{e:#}")))
}

async fn rollback(
    State(s): State<ServerState>,
    Path(name): Path<String>,
) -> Result<Json<SwapOutcome>, ApiError> {
    known(&s, &name)?;
    s.registry()
        .rollback(&name)
        .await
        .map(Json)
        .map_err(|e| ApiError::conflict(format!("{e:#}")))
}
