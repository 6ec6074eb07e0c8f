//! Account (Astakos `/account/v1.0`, `astakos/api/urls.py`): `quotas`, `resources`,
//! `user_catalogs` and `projects`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::backend::account::RESOURCES;
use crate::error::{ApiError, ApiResult};
use crate::routes::extract::Auth;
use crate::routes::fields::query_param;
use crate::routes::render::json;
use crate::routes::table::{ROOT, get, post};
use crate::state::AppState;

/// Account routes.
pub fn routes() -> Router<AppState> {
    ROOT.table([
        ("/account/v1.0/quotas", get(quotas)),
        ("/account/v1.0/resources", get(resources)),
        ("/account/v1.0/user_catalogs", post(user_catalogs)),
        ("/account/v1.0/projects", get(projects)),
        ("/account/v1.0/projects/{id}", get(project)),
    ])
}

async fn quotas(State(state): State<AppState>, Auth(user): Auth) -> Response {
    let q = state.backend.read(|c| c.quotas_of(&user.uuid));
    json(StatusCode::OK, &q)
}

/// `astakos/api/quotas.py` `resources`: no token needed; the API-visible resources.
async fn resources() -> Response {
    let visible: serde_json::Map<String, Value> = RESOURCES
        .iter()
        .filter(|(_, r)| r.api_visible)
        .map(|(name, r)| (name.to_string(), serde_json::json!(r)))
        .collect();
    json(StatusCode::OK, &visible)
}

/// `astakos/api/user.py` `get_uuid_displayname_catalogs`: any body, parsed by hand.
async fn user_catalogs(
    State(state): State<AppState>,
    Auth(_): Auth,
    body: Bytes,
) -> ApiResult<Response> {
    let input: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad("Request body should be json formatted."))?;
    let out = state.backend.read(|c| c.user_catalogs(&input))?;
    Ok(json(StatusCode::OK, &out))
}

/// `astakos/api/projects.py` `get_projects`: filters `name`, `owner`, `state`; `mode`
/// `default`, `related`, `member` or `active` (the simulated user is no project admin).
async fn projects(
    State(state): State<AppState>,
    Auth(user): Auth,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let q = uri.query();
    let mode = query_param(q, "mode").unwrap_or_else(|| "default".into());
    if !["default", "related", "member", "active"].contains(&mode.as_str()) {
        return Err(ApiError::bad(format!("Unrecognized mode '{mode}'.")));
    }
    let state_filter = query_param(q, "state");
    if let Some(s) = &state_filter
        && ![
            "uninitialized",
            "active",
            "suspended",
            "terminated",
            "deleted",
        ]
        .contains(&s.as_str())
    {
        return Err(ApiError::bad(format!("Unrecognized state {s}")));
    }
    let name = query_param(q, "name");
    let owner = query_param(q, "owner");
    let all = state.backend.read(|c| c.projects_of(&user.uuid));
    let list: Vec<_> = all
        .into_iter()
        .filter(|p| mode != "active" || !p.private)
        .filter(|p| name.as_ref().is_none_or(|n| &p.name == n))
        .filter(|p| owner.is_none() || p.owner == owner)
        .filter(|p| state_filter.as_ref().is_none_or(|s| p.state == s))
        .collect();
    Ok(json(StatusCode::OK, &list))
}

async fn project(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let p = state.backend.read(|c| c.project_of(&user.uuid, &id))?;
    Ok(json(StatusCode::OK, &p))
}
