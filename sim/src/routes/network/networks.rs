//! `/network/v2.0/networks` and `/network/v2.0/subnets` (each network has its subnets).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{JsonBody, PathBody};
use crate::routes::fields::{envelope, opt_str, parse_id, required_str};
use crate::routes::render::{iso, json, list_or_not_modified};
use crate::routes::table::{NETWORK, get};
use crate::state::AppState;

use crate::backend::model::Network;

/// Network and subnet routes.
pub fn routes() -> Router<AppState> {
    let one = get(get_network).put(update_network).delete(delete_network);
    NETWORK.table([
        ("/networks", get(list_networks).post(create_network)),
        ("/networks/{id}", one),
        ("/subnets", get(list_subnets)),
        ("/subnets/{id}", get(get_subnet)),
    ])
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

async fn list_networks(cx: Ctx, Since(since): Since) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| c.networks_of(u, since).map(network_view).collect());
    Ok(list_or_not_modified("networks", list, since))
}

async fn get_network(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_by_id(&id, "Network", "network", |c, u, id| {
        c.network(u, id).map(network_view)
    })
}

async fn create_network(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let n = envelope(&b, "network")?;
    let kind = required_str(n, "type")?;
    let name = opt_str(n, "name")?.unwrap_or_default();
    let project = opt_str(n, "project")?;
    cx.write_one(StatusCode::CREATED, "network", |c, u| {
        let id = c.create_network(u, name, kind, project)?;
        c.network(u, id).map(network_view)
    })
}

async fn update_network(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    let name = required_str(envelope(&b, "network")?, "name")?;
    cx.write_one(StatusCode::OK, "network", |c, u| {
        c.rename_network(u, id, name)?;
        c.network(u, id).map(network_view)
    })
}

async fn delete_network(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_network(u, id))
}

/// The subnets of every network the user sees.
fn subnets(cx: &Ctx) -> Vec<Value> {
    cx.read(|c, u| c.networks_of(u, None).flat_map(subnet_views).collect())
}

async fn list_subnets(cx: Ctx) -> Response {
    json(StatusCode::OK, &json!({"subnets": subnets(&cx)}))
}

async fn get_subnet(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let v = subnets(&cx)
        .into_iter()
        .find(|s| s["id"] == Value::String(id.clone()))
        .ok_or_else(|| ApiError::not_found(format!("Subnet {id} not found")))?;
    Ok(json(StatusCode::OK, &json!({"subnet": v})))
}
