//! `/network/v2.0/floatingips`: reserved public addresses.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::extract::{Auth, JsonBody};
use crate::routes::fields::{changes_since, envelope, opt_str, opt_u64, parse_id};
use crate::routes::paths::NETWORK;
use crate::routes::render::{empty, iso, json, list_or_not_modified};
use crate::routes::table::{WrongMethod, table};
use crate::state::AppState;

use crate::backend::model::FloatingIp;
use crate::backend::world::Core;

/// Floating IP routes.
pub fn routes() -> Router<AppState> {
    table(
        NETWORK,
        WrongMethod::Json,
        [
            ("/floatingips", "GET, POST", get(list_fips).post(create_fip)),
            (
                "/floatingips/{id}",
                "GET, PUT, DELETE",
                get(get_fip).delete(delete_fip).put(put_fip),
            ),
        ],
    )
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

async fn list_fips(
    State(st): State<AppState>,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let list: Vec<Value> = st.backend.read(|c| {
        c.floating_ips_of(&u.uuid, since)
            .map(|f| fip_view(f, instance_of(c, f)))
            .collect()
    });
    Ok(list_or_not_modified("floatingips", list, since))
}

async fn get_fip(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Floating IP")?;
    let v = st.backend.read(|c| {
        c.floating_ip(&u.uuid, id)
            .map(|f| fip_view(f, instance_of(c, f)))
    })?;
    Ok(json(StatusCode::OK, &json!({"floatingip": v})))
}

async fn create_fip(
    State(st): State<AppState>,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let f = envelope(&b, "floatingip")?;
    let net = opt_u64(f, "floating_network_id")?;
    let addr = opt_str(f, "floating_ip_address")?;
    let project = opt_str(f, "project")?;
    let v = st.backend.write(|c| {
        let id = c.create_floating_ip(&u.uuid, net, addr, project)?;
        c.floating_ip(&u.uuid, id).map(|f| fip_view(f, None))
    })?;
    Ok(json(StatusCode::OK, &json!({"floatingip": v})))
}

async fn delete_fip(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Floating IP")?;
    st.backend.write(|c| c.delete_floating_ip(&u.uuid, id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn put_fip(_a: Auth) -> ApiError {
    ApiError::NotImplemented("Updating a floating IP is not supported.".into())
}
