//! `/network/v2.0/floatingips`: reserved public addresses.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{Auth, JsonBody};
use crate::routes::fields::{envelope, opt_str, opt_u64, parse_id};
use crate::routes::render::{iso, list_or_not_modified};
use crate::routes::table::{NETWORK, get};
use crate::state::AppState;

use crate::backend::model::FloatingIp;
use crate::backend::world::Core;

/// Floating IP routes.
pub fn routes() -> Router<AppState> {
    NETWORK.table([
        ("/floatingips", get(list_fips).post(create_fip)),
        (
            "/floatingips/{id}",
            get(get_fip).delete(delete_fip).put(put_fip),
        ),
    ])
}

fn fip_view(f: &FloatingIp, instance: Option<u64>) -> Value {
    json!({
        "id": f.id.to_string(),
        "floating_ip_address": f.address,
        "fixed_ip_address": null,
        "floating_network_id": f.network_id.to_string(),
        "port_id": f.port_id.map(|p| p.to_string()),
        "instance_id": instance.map(|i| i.to_string()),
        "user_id": f.user_id,
        "tenant_id": f.project,
        "deleted": f.deleted,
        "created": iso(&f.created),
        "updated": iso(&f.updated),
    })
}

/// The server a floating IP is attached to, through its port.
fn instance_of(c: &Core, f: &FloatingIp) -> Option<u64> {
    f.port_id
        .and_then(|p| c.state.ports.get(&p))
        .and_then(|p| p.device_id)
}

async fn list_fips(cx: Ctx, Since(since): Since) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.floating_ips_of(u, since)
            .map(|f| fip_view(f, instance_of(c, f)))
            .collect()
    });
    Ok(list_or_not_modified("floatingips", list, since))
}

async fn get_fip(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_by_id(&id, "Floating IP", "floatingip", |c, u, id| {
        c.floating_ip(u, id).map(|f| fip_view(f, instance_of(c, f)))
    })
}

async fn create_fip(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let f = envelope(&b, "floatingip")?;
    let net = opt_u64(f, "floating_network_id")?;
    let addr = opt_str(f, "floating_ip_address")?;
    let project = opt_str(f, "project")?;
    cx.write_one(StatusCode::OK, "floatingip", |c, u| {
        let id = c.create_floating_ip(u, net, addr, project)?;
        c.floating_ip(u, id).map(|f| fip_view(f, None))
    })
}

async fn delete_fip(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Floating IP")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_floating_ip(u, id))
}

async fn put_fip(_a: Auth) -> ApiError {
    ApiError::NotImplemented("Updating a floating IP is not supported.".into())
}
