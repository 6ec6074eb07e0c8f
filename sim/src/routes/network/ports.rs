//! `/network/v2.0/ports`: NICs, with or without a server.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::JsonBody;
use crate::routes::fields::{envelope, opt_str, opt_u64, parse_id, required_u64};
use crate::routes::render::{iso, json};
use crate::routes::table::{NETWORK, get};
use crate::state::AppState;

use crate::backend::model::Port;

/// Port routes.
pub fn routes() -> Router<AppState> {
    NETWORK.table([
        ("/ports", get(list_ports).post(create_port)),
        ("/ports/{id}", get(get_port).delete(delete_port)),
    ])
}

fn port_view(p: &Port) -> Value {
    let mut ips = Vec::new();
    if let Some(a) = &p.ipv4 {
        ips.push(json!({"ip_address": a, "subnet": "", "version": 4}));
    }
    if let Some(a) = &p.ipv6 {
        ips.push(json!({"ip_address": a, "subnet": "", "version": 6}));
    }
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "network_id": p.network_id.to_string(),
        "device_id": p.device_id.map(|d| d.to_string()).unwrap_or_default(),
        "device_owner": if p.device_id.is_some() { "vm" } else { "" },
        "mac_address": p.mac,
        "fixed_ips": ips,
        "status": p.status,
        "user_id": p.user_id,
        "tenant_id": p.user_id,
        "security_groups": [],
        "admin_state_up": true,
        "created": iso(&p.created),
        "updated": iso(&p.updated),
    })
}

async fn list_ports(cx: Ctx) -> Response {
    let list: Vec<Value> = cx.read(|c, u| c.ports_of(u).map(port_view).collect());
    json(StatusCode::OK, &json!({"ports": list}))
}

async fn get_port(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.read_by_id(&id, "Port", "port", |c, u, id| c.port(u, id).map(port_view))
}

async fn create_port(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let p = envelope(&b, "port")?;
    let net = required_u64(p, "network_id")?;
    let device = opt_u64(p, "device_id")?;
    let fixed_ip = match p.get("fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => match a.first() {
            None => None,
            Some(x) => Some(
                x.get("ip_address")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad("Malformed fixed_ips: 'ip_address' required"))?,
            ),
        },
        Some(_) => return Err(ApiError::bad("Malformed fixed_ips")),
    };
    let name = opt_str(p, "name")?.unwrap_or_default();
    cx.write_one(StatusCode::CREATED, "port", |c, u| {
        let id = c.create_port(u, net, device, fixed_ip, name)?;
        c.port(u, id).map(port_view)
    })
}

async fn delete_port(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Port")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_port(u, id))
}
