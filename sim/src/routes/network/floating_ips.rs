//! `/network/v2.0/floatingips`: reserved public addresses.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{Auth, JsonBody, PathBody};
use crate::routes::fields::{envelope, opt_str, truthy};
use crate::routes::render::{empty, list_or_not_modified};
use crate::routes::table::{COMPUTE, NETWORK, get, post};
use crate::state::AppState;

use crate::backend::model::{FloatingIp, Time};
use crate::backend::world::Core;

/// Floating IP routes (api/floating_ips.py `urlpatterns`).
pub fn routes() -> Router<AppState> {
    NETWORK.table([
        ("/floatingips", get(list_fips).post(create_fip)),
        ("/floatingips/detail", get(list_fips)),
        // `floating_ip_demux` serves PUT (501) but names only GET, DELETE in its 405.
        (
            "/floatingips/{id}",
            get(get_fip)
                .delete(delete_fip)
                .put(put_fip)
                .allow_only(&["GET", "DELETE"]),
        ),
        ("/floatingips/{id}/action", post(fip_action)),
    ])
}

/// Compute's `os-floating-ips` (api/floating_ips.py `compute_urlpatterns`, included by
/// api/compute_urls.py).
pub fn compute_routes() -> Router<AppState> {
    COMPUTE.table([
        (
            "/os-floating-ips",
            get(compute_list_fips).post(compute_create_fip),
        ),
        ("/os-floating-ips/{id}", get(get_fip).delete(delete_fip)),
    ])
}

/// api/floating_ips.py `ip_to_dict`.
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
        "shared_to_project": f.shared_to_project,
        "deleted": f.deleted,
    })
}

/// api/floating_ips.py `compute_ip_to_dict`: an integer id, no pool.
fn compute_fip_view(f: &FloatingIp, instance: Option<u64>) -> Value {
    json!({
        "fixed_ip": null,
        "id": f.id,
        "instance_id": instance.map(|i| i.to_string()),
        "ip": f.address,
        "pool": null,
    })
}

/// The server a floating IP is attached to, through its port.
fn instance_of(c: &Core, f: &FloatingIp) -> Option<u64> {
    f.port_id
        .and_then(|p| c.state.ports.get(&p))
        .and_then(|p| p.device_id)
}

/// api/util.py `get_floating_ip_by_id`: `int(floating_ip_id)`, else 400.
fn fip_id(id: &str) -> ApiResult<u64> {
    id.parse()
        .map_err(|_| ApiError::bad(format!("Invalid Floating IP ID {id}")))
}

type View = fn(&FloatingIp, Option<u64>) -> Value;

fn list_with(cx: Ctx, since: Option<Time>, key: &str, view: View) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.floating_ips_of(u, since)
            .map(|f| view(f, instance_of(c, f)))
            .collect()
    });
    Ok(list_or_not_modified(key, list, since))
}

async fn list_fips(cx: Ctx, Since(since): Since) -> ApiResult<Response> {
    list_with(cx, since, "floatingips", fip_view)
}

async fn compute_list_fips(cx: Ctx, Since(since): Since) -> ApiResult<Response> {
    list_with(cx, since, "floating_ips", compute_fip_view)
}

/// api/floating_ips.py `get_floating_ip`; compute's `os-floating-ips/<id>` calls it with
/// its default view too, so it answers `{"floatingip": …}` in the network API's shape.
async fn get_fip(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = fip_id(&id)?;
    cx.read_one("floatingip", |c, u| {
        c.floating_ip(u, id).map(|f| fip_view(f, instance_of(c, f)))
    })
}

/// api/floating_ips.py `allocate_floating_ip`.
async fn create_fip(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let f = envelope(&b, "floatingip")?;
    let invalid = |k: &str| ApiError::bad(format!("Malformed request. Invalid '{k}' field"));
    let (net, addr) = match f.get("floating_network_id") {
        None | Some(Value::Null) => (None, None),
        Some(v) => {
            let net = match v {
                Value::Number(n) => n.as_u64().ok_or_else(|| invalid("floating_network_id"))?,
                Value::String(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| ApiError::bad("Invalid networkd ID."))?,
                _ => return Err(invalid("floating_network_id")),
            };
            let addr = match f.get("floating_ip_address") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(invalid("floating_ip_address")),
            };
            (Some(net), addr)
        }
    };
    let project = opt_str(f, "project")?;
    let shared = f.get("shared_to_project").is_some_and(truthy);
    cx.write_one(StatusCode::OK, "floatingip", |c, u| {
        let id = c.create_floating_ip(u, net, addr, project, shared)?;
        c.floating_ip(u, id).map(|f| fip_view(f, None))
    })
}

/// api/floating_ips.py `compute_allocate_floating_ip`: the body is not read.
async fn compute_create_fip(cx: Ctx) -> ApiResult<Response> {
    cx.write_one(StatusCode::OK, "floating_ip", |c, u| {
        let id = c.create_floating_ip(u, None, None, None, false)?;
        c.floating_ip(u, id).map(|f| compute_fip_view(f, None))
    })
}

async fn delete_fip(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = fip_id(&id)?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_floating_ip(u, id))
}

async fn put_fip(_a: Auth) -> ApiError {
    ApiError::NotImplemented("Updating a floating IP is not supported.".into())
}

/// api/floating_ips.py `floating_ip_action_demux` (`POST` only): exactly one key (400
/// "Malformed request."), a known action (`FLOATING_IP_ACTIONS` has only `reassign`), a
/// dict argument; then `reassign`: sharing is 403 (`CYCLADES_SHARED_RESOURCES_ENABLED =
/// False` by default), a `project` is required, and logic/ips.py `reassign_floating_ip`
/// moves it. 200, no body.
async fn fip_action(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let len = match &b {
        Value::Object(o) => o.len(),
        Value::Array(a) => a.len(),
        Value::String(s) => s.chars().count(),
        // `len()` of a number, a bool or None raises TypeError: a 500.
        _ => return Err(ApiError::Internal("object has no len()".into())),
    };
    if len != 1 {
        return Err(ApiError::bad("Malformed request."));
    }
    // A one-item list or string has no `keys()`: AttributeError, a 500.
    let Some((action, args)) = b.as_object().and_then(|o| o.iter().next()) else {
        return Err(ApiError::Internal("no keys()".into()));
    };
    if action != "reassign" {
        return Err(ApiError::bad(format!("Action {action} not supported.")));
    }
    let Some(args) = args.as_object() else {
        return Err(ApiError::bad("Invalid argument."));
    };
    if args.get("shared_to_project").is_some_and(truthy) {
        return Err(ApiError::Forbidden(
            "Sharing resource to the members of the project is not permitted".into(),
        ));
    }
    let project = match args.get("project") {
        None | Some(Value::Null) => return Err(ApiError::bad("Missing 'project' attribute.")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let id = fip_id(&id)?;
    cx.write(|c, u| c.reassign_floating_ip(u, id, project))?;
    Ok(empty(StatusCode::OK))
}
