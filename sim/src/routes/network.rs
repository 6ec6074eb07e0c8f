//! Network routes (`/network/v2.0`): networks, subnets, ports, floating IPs.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{
    AppState, Auth, JsonBody, changes_since, empty, envelope, iso, not_allowed, opt_str, opt_u64,
    parse_id,
};
use crate::backend::model::{FloatingIp, Network, Port};
use crate::error::{ApiError, ApiResult};

const P: &str = "/network/v2.0";

/// Network routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{P}/networks"),
            get(list_networks)
                .post(create_network)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/networks/{{id}}"),
            get(get_network)
                .put(update_network)
                .delete(delete_network)
                .fallback(not_allowed("GET, PUT, DELETE")),
        )
        .route(
            &format!("{P}/subnets"),
            get(list_subnets).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/subnets/{{id}}"),
            get(get_subnet).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/ports"),
            get(list_ports)
                .post(create_port)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/ports/{{id}}"),
            get(get_port)
                .delete(delete_port)
                .fallback(not_allowed("GET, DELETE")),
        )
        .route(
            &format!("{P}/floatingips"),
            get(list_fips)
                .post(create_fip)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/floatingips/{{id}}"),
            get(get_fip)
                .delete(delete_fip)
                .put(put_fip)
                .fallback(not_allowed("GET, PUT, DELETE")),
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

async fn list_networks(
    State(st): State<AppState>,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let list: Vec<Value> = st
        .backend
        .read(|c| c.networks_of(&u.uuid, since).map(network_view).collect());
    if since.is_some() && list.is_empty() {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    Ok(super::json(StatusCode::OK, &json!({"networks": list})))
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
    Ok(super::json(StatusCode::OK, &json!({"network": v})))
}

async fn create_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let n = envelope(&b, "network")?;
    let kind =
        opt_str(n, "type")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'type'"))?;
    let name = opt_str(n, "name")?.unwrap_or_default();
    let project = opt_str(n, "project")?;
    let v = st.backend.write(|c| {
        let id = c.create_network(&u.uuid, name, kind, project)?;
        c.network(&u.uuid, id).map(network_view)
    })?;
    Ok(super::json(StatusCode::CREATED, &json!({"network": v})))
}

async fn update_network(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Network")?;
    let n = envelope(&b, "network")?;
    let name =
        opt_str(n, "name")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'name'"))?;
    let v = st.backend.write(|c| {
        c.rename_network(&u.uuid, id, name)?;
        c.network(&u.uuid, id).map(network_view)
    })?;
    Ok(super::json(StatusCode::OK, &json!({"network": v})))
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

async fn list_subnets(State(st): State<AppState>, Auth(u): Auth) -> Response {
    let list: Vec<Value> = st.backend.read(|c| {
        c.networks_of(&u.uuid, None)
            .flat_map(subnet_views)
            .collect()
    });
    super::json(StatusCode::OK, &json!({"subnets": list}))
}

async fn get_subnet(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let list: Vec<Value> = st.backend.read(|c| {
        c.networks_of(&u.uuid, None)
            .flat_map(subnet_views)
            .collect()
    });
    let v = list
        .into_iter()
        .find(|s| s["id"] == Value::String(id.clone()))
        .ok_or_else(|| ApiError::not_found(format!("Subnet {id} not found")))?;
    Ok(super::json(StatusCode::OK, &json!({"subnet": v})))
}

async fn list_ports(State(st): State<AppState>, Auth(u): Auth) -> Response {
    let list: Vec<Value> = st
        .backend
        .read(|c| c.ports_of(&u.uuid).map(port_view).collect());
    super::json(StatusCode::OK, &json!({"ports": list}))
}

async fn get_port(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Port")?;
    let v = st.backend.read(|c| c.port(&u.uuid, id).map(port_view))?;
    Ok(super::json(StatusCode::OK, &json!({"port": v})))
}

async fn create_port(
    State(st): State<AppState>,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let p = envelope(&b, "port")?;
    let net = opt_u64(p, "network_id")?
        .ok_or_else(|| ApiError::bad("Malformed request: missing 'network_id'"))?;
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
    let v = st.backend.write(|c| {
        let id = c.create_port(&u.uuid, net, device, fixed_ip, name)?;
        c.port(&u.uuid, id).map(port_view)
    })?;
    Ok(super::json(StatusCode::CREATED, &json!({"port": v})))
}

async fn delete_port(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Port")?;
    st.backend.write(|c| c.delete_port(&u.uuid, id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn list_fips(
    State(st): State<AppState>,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let list: Vec<Value> = st.backend.read(|c| {
        c.floating_ips_of(&u.uuid, since)
            .map(|f| {
                fip_view(
                    f,
                    f.port_id
                        .and_then(|p| c.state.ports.get(&p))
                        .and_then(|p| p.device_id),
                )
            })
            .collect()
    });
    if since.is_some() && list.is_empty() {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    Ok(super::json(StatusCode::OK, &json!({"floatingips": list})))
}

async fn get_fip(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Floating IP")?;
    let v = st.backend.read(|c| {
        c.floating_ip(&u.uuid, id).map(|f| {
            fip_view(
                f,
                f.port_id
                    .and_then(|p| c.state.ports.get(&p))
                    .and_then(|p| p.device_id),
            )
        })
    })?;
    Ok(super::json(StatusCode::OK, &json!({"floatingip": v})))
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
    Ok(super::json(StatusCode::OK, &json!({"floatingip": v})))
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
