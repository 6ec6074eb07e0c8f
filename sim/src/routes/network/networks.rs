//! `/network/v2.0/networks` and `/network/v2.0/subnets` (each network has its subnets).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{JsonBody, PathBody};
use crate::routes::fields::{envelope, opt_str, required_str, truthy};
use crate::routes::render::{iso, json, list_or_not_modified};
use crate::routes::table::{NETWORK, get};
use crate::state::AppState;

use std::net::Ipv4Addr;

use crate::backend::model::Network;
use crate::backend::networks::CreateSubnet;
use crate::routes::paths;
use crate::routes::render::links;

/// Network and subnet routes.
pub fn routes() -> Router<AppState> {
    let one = get(get_network).put(update_network).delete(delete_network);
    NETWORK.table([
        ("/networks", get(list_networks).post(create_network)),
        // api/networks.py `urlpatterns`: `/detail` lists like `/`.
        ("/networks/detail", get(list_networks)),
        ("/networks/{id}", one),
        ("/subnets", get(list_subnets).post(create_subnet)),
        ("/subnets/detail", get(list_subnets)),
        ("/subnets/{id}", get(get_subnet)),
    ])
}

/// api/networks.py `network_to_dict` (always the detail view).
fn network_view(n: &Network, base: &str) -> Value {
    json!({
        "id": n.id.to_string(),
        "name": n.name,
        "links": links(base, paths::NETWORK, "networks", &n.id),
        "shared_to_project": n.shared_to_project,
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

/// `api/subnets.py` `subnet_to_dict`.
fn subnet_views(n: &Network, base: &str) -> Vec<Value> {
    n.subnets
        .iter()
        .map(|s| {
            let user = s.user_id.as_deref().or(n.user_id.as_deref());
            let pools: Vec<Value> = s
                .pools
                .iter()
                .map(|(a, b)| json!({"start": a, "end": b}))
                .collect();
            let mut v = json!({
                "id": s.id.to_string(),
                "network_id": n.id.to_string(),
                "name": s.name,
                "tenant_id": user,
                "user_id": user,
                "public": n.public,
                "gateway_ip": s.gateway,
                "ip_version": s.ip_version,
                "cidr": s.cidr,
                "enable_dhcp": s.dhcp,
                "dns_nameservers": [],
                "host_routes": [],
                "allocation_pools": pools,
                "deleted": n.deleted,
                "links": links(base, paths::NETWORK, "subnets", &s.id),
            });
            if s.ip_version == 6 {
                v["enable_slaac"] = json!(s.dhcp);
            }
            v
        })
        .collect()
}

/// api/util.py `get_network`: `int(network_id)`, else 400.
fn network_id(id: &str) -> ApiResult<u64> {
    id.parse()
        .map_err(|_| ApiError::bad(format!("Invalid network ID '{id}'")))
}

async fn list_networks(cx: Ctx, Since(since): Since) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.networks_of(u, since)
            .map(|n| network_view(n, &cx.base))
            .collect()
    });
    Ok(list_or_not_modified("networks", list, since))
}

async fn get_network(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = network_id(&id)?;
    cx.read_one("network", |c, u| {
        c.network(u, id).map(|n| network_view(n, &cx.base))
    })
}

async fn create_network(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let n = envelope(&b, "network")?;
    let kind = required_str(n, "type")?;
    let name = opt_str(n, "name")?.unwrap_or_default();
    let project = opt_str(n, "project")?;
    let shared = n.get("shared_to_project").is_some_and(truthy);
    cx.write_one(StatusCode::CREATED, "network", |c, u| {
        let id = c.create_network(u, name, kind, project, shared)?;
        c.network(u, id).map(|n| network_view(n, &cx.base))
    })
}

async fn update_network(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = network_id(&id)?;
    let name = required_str(envelope(&b, "network")?, "name")?;
    cx.write_one(StatusCode::OK, "network", |c, u| {
        c.rename_network(u, id, name)?;
        c.network(u, id).map(|n| network_view(n, &cx.base))
    })
}

async fn delete_network(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = network_id(&id)?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_network(u, id))
}

/// The subnets of every network the user sees.
fn subnets(cx: &Ctx) -> Vec<Value> {
    cx.read(|c, u| {
        let mut all: Vec<Value> = c
            .networks_of(u, None)
            .flat_map(|n| subnet_views(n, &cx.base))
            .collect();
        all.sort_by_key(|s| s["id"].as_str().and_then(|i| i.parse::<u64>().ok()));
        all
    })
}

async fn list_subnets(cx: Ctx) -> Response {
    json(StatusCode::OK, &json!({"subnets": subnets(&cx)}))
}

/// api/subnets.py `get_subnet` through logic/subnets.py `get_subnet`: an id Django cannot
/// make an integer is 400, an unknown one 404, in its words.
async fn get_subnet(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let n: u64 = id
        .parse()
        .map_err(|_| ApiError::bad(format!("Invalid subnet ID '{id}'")))?;
    let v = subnets(&cx)
        .into_iter()
        .find(|s| s["id"] == Value::String(n.to_string()))
        .ok_or_else(|| ApiError::not_found(format!("Subnet '{id}' not found.")))?;
    Ok(json(StatusCode::OK, &json!({"subnet": v})))
}

/// `api/subnets.py` `create_subnet`: `network_id` and `cidr` required ("Malformed
/// request"), then the allocation pools, the CIDR, the gateway (absent: the first host;
/// `null`: none) and `enable_dhcp`, then the rules of `logic/subnets.py`.
async fn create_subnet(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let malformed = || ApiError::bad("Malformed request");
    let sub = b
        .get("subnet")
        .and_then(Value::as_object)
        .ok_or_else(malformed)?;
    let network_id = sub.get("network_id").ok_or_else(malformed)?;
    let cidr = sub.get("cidr").ok_or_else(malformed)?;
    let network_id = match network_id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let pools = match sub.get("allocation_pools") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_pools(v)?),
    };
    let cidr_text = cidr.as_str().unwrap_or_default().to_string();
    let first_host = first_host(&cidr_text)
        .ok_or_else(|| ApiError::bad(format!("Malformed CIDR '{}'", py(cidr))))?;
    let gateway = match sub.get("gateway_ip") {
        None => Some(first_host),
        Some(Value::Null) => None,
        Some(v) => Some(py(v)),
    };
    let ip_version = match sub.get("ip_version") {
        None => 4,
        Some(v) => v.as_u64().and_then(|n| u8::try_from(n).ok()).unwrap_or(0),
    };
    let dhcp_key = if ip_version == 6 && sub.contains_key("enable_slaac") {
        "enable_slaac"
    } else {
        "enable_dhcp"
    };
    let dhcp = match sub.get(dhcp_key) {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            let key = if dhcp_key == "enable_slaac" {
                "enable_slaac"
            } else {
                "dhcp"
            };
            return Err(ApiError::bad(format!(
                "Malformed request, {key} must be True or False"
            )));
        }
    };
    let name = match sub.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(v) => py(v),
    };
    let req = CreateSubnet {
        network_id,
        cidr: cidr_text,
        name,
        ip_version,
        gateway,
        dhcp,
        pools,
    };
    let base = cx.base.clone();
    cx.write(|c, u| {
        let id = c.create_subnet(u, req)?;
        let view = c
            .networks_of(u, None)
            .flat_map(|n| subnet_views(n, &base))
            .find(|s| s["id"] == Value::String(id.to_string()))
            .ok_or_else(|| ApiError::Internal("the new subnet vanished".into()))?;
        Ok(json(StatusCode::CREATED, &json!({"subnet": view})))
    })
}

/// `parse_ip_pools`: `[{"start", "end"}]` of IPv4 addresses, sorted.
fn parse_pools(v: &Value) -> ApiResult<Vec<(Ipv4Addr, Ipv4Addr)>> {
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::bad("Malformed allocation pool."))?;
    let mut out = Vec::new();
    for p in list {
        let (Some(start), Some(end)) = (p.get("start"), p.get("end")) else {
            return Err(ApiError::bad("Malformed allocation pool."));
        };
        let ip = |v: &Value| -> ApiResult<Ipv4Addr> {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ApiError::bad("Allocation pools contain invalid IPv4 address"))
        };
        out.push((ip(start)?, ip(end)?));
    }
    out.sort();
    Ok(out)
}

/// `str(ipaddr.IPNetwork(cidr).network + 1)`, or `None` for a malformed CIDR.
fn first_host(cidr: &str) -> Option<String> {
    let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, ""));
    if let Ok(a) = addr.parse::<Ipv4Addr>() {
        let p: u32 = if prefix.is_empty() {
            32
        } else {
            prefix.parse().ok()?
        };
        let mask = if p == 0 {
            0
        } else {
            u32::MAX.checked_shl(32 - p)?
        };
        return Some(Ipv4Addr::from((u32::from(a) & mask).wrapping_add(1)).to_string());
    }
    let a: std::net::Ipv6Addr = addr.parse().ok()?;
    let p: u32 = if prefix.is_empty() {
        128
    } else {
        prefix.parse().ok()?
    };
    let mask = if p == 0 {
        0
    } else {
        u128::MAX.checked_shl(128 - p)?
    };
    Some(std::net::Ipv6Addr::from((u128::from(a) & mask).wrapping_add(1)).to_string())
}

/// A JSON value as Python's `%s` / `str()` shows it.
fn py(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}
