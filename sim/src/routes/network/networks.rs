//! `/network/v2.0/networks` and `/network/v2.0/subnets` (each network has its subnets).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::extract::{Auth, JsonBody};
use crate::routes::fields::{changes_since, envelope, opt_str, parse_id, required_str};
use crate::routes::paths::NETWORK;
use crate::routes::render::{empty, iso, json, list_or_not_modified};
use crate::routes::table::{WrongMethod, table};
use crate::state::AppState;

use crate::backend::model::Network;

/// Network and subnet routes.
pub fn routes() -> Router<AppState> {
    table(
        NETWORK,
        WrongMethod::Json,
        [
            (
                "/networks",
                "GET, POST",
                get(list_networks).post(create_network),
            ),
            (
                "/networks/{id}",
                "GET, PUT, DELETE",
                get(get_network).put(update_network).delete(delete_network),
            ),
            ("/subnets", "GET", get(list_subnets)),
            ("/subnets/{id}", "GET", get(get_subnet)),
        ],
    )
}

fn network_view(n: &Network) -> Value {
    json!({
        "id": n.id.to_string(),
        "name": n.name,
        "status": "ACTIVE",
        "type": n.kind,
        "public": n.public,
        "shared": n.public,
        "router:external": n.public,
        "SNF:floating_ip_pool": n.floating_ip_pool,
        "admin_state_up": true,
        "user_id": n.user_id,
        "tenant_id": n.project,
        "subnets": n.subnets.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
        "created": iso(&n.created),
        "updated": iso(&n.updated),
        "deleted": n.deleted,
    })
}

fn subnet_views(n: &Network) -> Vec<Value> {
    n.subnets
        .iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(), "network_id": n.id.to_string(), "name": "", "cidr": s.cidr,
                "ip_version": s.ip_version, "gateway_ip": s.gateway, "enable_dhcp": true,
                "user_id": n.user_id, "tenant_id": n.project, "public": n.public,
            })
        })
        .collect()
}

async fn list_networks(
    State(st): State<AppState>,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let list: Vec<Value> = st
        .backend
        .read(|c| c.networks_of(&u.uuid, since).map(network_view).collect());
    Ok(list_or_not_modified("networks", list, since))
}

async fn get_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    let v = st
        .backend
        .read(|c| c.network(&u.uuid, id).map(network_view))?;
    Ok(json(StatusCode::OK, &json!({"network": v})))
}

async fn create_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let n = envelope(&b, "network")?;
    let kind = required_str(n, "type")?;
    let name = opt_str(n, "name")?.unwrap_or_default();
    let project = opt_str(n, "project")?;
    let v = st.backend.write(|c| {
        let id = c.create_network(&u.uuid, name, kind, project)?;
        c.network(&u.uuid, id).map(network_view)
    })?;
    Ok(json(StatusCode::CREATED, &json!({"network": v})))
}

async fn update_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    let n = envelope(&b, "network")?;
    let name = required_str(n, "name")?;
    let v = st.backend.write(|c| {
        c.rename_network(&u.uuid, id, name)?;
        c.network(&u.uuid, id).map(network_view)
    })?;
    Ok(json(StatusCode::OK, &json!({"network": v})))
}

async fn delete_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    st.backend.write(|c| c.delete_network(&u.uuid, id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The subnets of every network the user sees.
fn subnets(st: &AppState, user: &str) -> Vec<Value> {
    st.backend
        .read(|c| c.networks_of(user, None).flat_map(subnet_views).collect())
}

async fn list_subnets(State(st): State<AppState>, Auth(u): Auth) -> Response {
    json(StatusCode::OK, &json!({"subnets": subnets(&st, &u.uuid)}))
}

async fn get_subnet(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let v = subnets(&st, &u.uuid)
        .into_iter()
        .find(|s| s["id"] == Value::String(id.clone()))
        .ok_or_else(|| ApiError::not_found(format!("Subnet {id} not found")))?;
    Ok(json(StatusCode::OK, &json!({"subnet": v})))
}
