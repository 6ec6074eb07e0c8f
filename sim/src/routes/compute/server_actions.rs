//! `POST /compute/v2.0/servers/<id>/action`, dispatched as Synnefo's
//! `api/servers.py` `demux_server_action` does: the action's name and arguments are
//! checked before the server is looked up, so a malformed action on someone else's
//! server is a 400, not a 404.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::backend::server_actions::{Action, Console};
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::PathBody;
use crate::routes::fields::{as_u64, parse_id, truthy};
use crate::routes::render::{empty, json};
use crate::routes::table::{COMPUTE, post};
use crate::state::AppState;

/// Server action routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.table([("/servers/{id}/action", post(server_action))])
}

/// What the server action does once its arguments are valid.
enum Dispatch {
    /// A backend action answered 202 (200 for `reassign`, a console body for consoles).
    Run(Action),
    /// `os-getVNCConsole`: a console of the mapped type, answered with a URL.
    OsVnc { novnc: bool },
}

/// `VirtualMachine.ACTIONS` names (`db/models.py`) and `ARBITRARY_ACTIONS`
/// (`api/servers.py`): any other key is "not supported".
fn known(action: &str) -> bool {
    const ACTIONS: [&str; 11] = [
        "CREATE",
        "START",
        "STOP",
        "SUSPEND",
        "REBOOT",
        "DESTROY",
        "RESIZE",
        "ADDFLOATINGIP",
        "REMOVEFLOATINGIP",
        "RESCUE",
        "UNRESCUE",
    ];
    const ARBITRARY: [&str; 6] = [
        "console",
        "firewallProfile",
        "reassign",
        "os-getVNCConsole",
        "os-getRDPConsole",
        "os-getSPICEConsole",
    ];
    // `key_to_action`
    let mapped = match action {
        "shutdown" | "os-stop" => "STOP".to_string(),
        "os-start" => "START".to_string(),
        "delete" => "DESTROY".to_string(),
        a => a.to_uppercase(),
    };
    ARBITRARY.contains(&action) || ACTIONS.contains(&mapped.as_str())
}

/// A string attribute of the action's arguments, as Python's `args.get(key)` sees it
/// (anything but a string is what Synnefo would pass on; here it is refused as missing).
fn arg<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    args.get(key).filter(|v| !v.is_null())
}

fn arg_str(args: &Map<String, Value>, key: &str) -> Option<String> {
    arg(args, key).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn parse_action(b: &Value) -> ApiResult<Dispatch> {
    let obj = b
        .as_object()
        .ok_or_else(|| ApiError::bad("Malformed request"))?;
    // Synnefo takes `req.keys()[0]`: with several keys, whichever Python's dict yields
    // first; here the first in key order.
    let (name, args) = obj
        .iter()
        .next()
        .ok_or_else(|| ApiError::bad("Malformed Request."))?;
    if !known(name) {
        return Err(ApiError::bad(format!("Action {name} not supported")));
    }
    // `utils.get_attribute(req, action, required=False, attr_type=dict)`
    let empty_args = Map::new();
    let args = match args {
        Value::Object(m) => m,
        Value::Null => &empty_args,
        _ => {
            return Err(ApiError::bad(format!(
                "Malformed request. Invalid '{name}' field"
            )));
        }
    };
    Ok(Dispatch::Run(match name.as_str() {
        "start" | "os-start" => Action::Start,
        "shutdown" | "os-stop" => Action::Shutdown,
        "reboot" => {
            let t = arg_str(args, "type").unwrap_or_else(|| "SOFT".into());
            if t != "SOFT" && t != "HARD" {
                return Err(ApiError::bad("Invalid 'type' attribute."));
            }
            Action::Reboot
        }
        "resize" => {
            let flavor = arg(args, "flavorRef")
                .ok_or_else(|| ApiError::bad("Missing 'flavorRef' attribute."))?;
            // api/util.py `get_flavor`: `int(flavor_id)`, else 400.
            let id = as_u64(flavor)
                .ok_or_else(|| ApiError::bad(format!("Invalid flavor ID '{}'", py_str(flavor))))?;
            Action::Resize(id)
        }
        "console" => {
            let t = arg_str(args, "type")
                .ok_or_else(|| ApiError::bad("No console 'type' specified."))?;
            if !["vnc", "vnc-ws", "vnc-wss"].contains(&t.as_str()) {
                return Err(ApiError::bad("Supported types: vnc, vnc-ws, vnc-wss"));
            }
            Action::Console(t)
        }
        "os-getVNCConsole" => {
            let t = arg_str(args, "type")
                .ok_or_else(|| ApiError::bad("No console 'type' specified."))?;
            // `', '.join({'novnc': 'vnc-wss', 'xvpvnc': 'vnc'}.keys())` under Python 2.7
            return match t.as_str() {
                "novnc" => Ok(Dispatch::OsVnc { novnc: true }),
                "xvpvnc" => Ok(Dispatch::OsVnc { novnc: false }),
                _ => Err(ApiError::bad("Supported types: novnc, xvpvnc")),
            };
        }
        "os-getSPICEConsole" => {
            return Err(ApiError::NotImplemented(
                "Spice console not implemented".into(),
            ));
        }
        "os-getRDPConsole" => {
            return Err(ApiError::NotImplemented(
                "RDP console not implemented".into(),
            ));
        }
        "suspend" => {
            return Err(ApiError::Forbidden(
                "User is not allowed to suspend his server".into(),
            ));
        }
        // `@feature_enabled('RESCUE')`, and `RESCUE_ENABLED = False` by default.
        "rescue" | "unrescue" => return Err(ApiError::FeatureNotEnabled),
        "reassign" => {
            // `CYCLADES_SHARED_RESOURCES_ENABLED = False` by default.
            if arg(args, "shared_to_project").is_some_and(truthy) {
                return Err(ApiError::Forbidden(
                    "Sharing resource to the members of the project is not permitted".into(),
                ));
            }
            let project = arg_str(args, "project")
                .ok_or_else(|| ApiError::bad("Missing 'project' attribute."))?;
            Action::Reassign(project)
        }
        "firewallProfile" => {
            let profile = arg_str(args, "profile")
                .ok_or_else(|| ApiError::bad("Missing 'profile' attribute"))?;
            let nic =
                arg_str(args, "nic").ok_or_else(|| ApiError::bad("Missing 'nic' attribute"))?;
            Action::FirewallProfile { profile, nic }
        }
        "addFloatingIp" => Action::AddFloatingIp(
            arg_str(args, "address").ok_or_else(|| ApiError::bad("Missing 'address' attribute"))?,
        ),
        "removeFloatingIp" => Action::RemoveFloatingIp(
            arg_str(args, "address").ok_or_else(|| ApiError::bad("Missing 'address' attribute"))?,
        ),
        // "create" and "delete" pass the check but have no handler in `server_actions`:
        // Synnefo fails with a KeyError, a 500.
        other => {
            return Err(ApiError::Internal(format!("no handler for action {other}")));
        }
    }))
}

fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn server_action(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let dispatch = parse_action(&b)?;
    match dispatch {
        Dispatch::Run(Action::Reassign(project)) => {
            cx.write(|c, u| c.server_action(u, id, Action::Reassign(project)))?;
            Ok(empty(StatusCode::OK))
        }
        Dispatch::Run(action) => match cx.write(|c, u| c.server_action(u, id, action))? {
            Some(console) => Ok(json(StatusCode::OK, &json!({"console": console}))),
            None => Ok(empty(StatusCode::ACCEPTED)),
        },
        Dispatch::OsVnc { novnc } => {
            let kind = if novnc { "vnc-wss" } else { "vnc" };
            let Some(c) = cx.write(|c, u| c.server_action(u, id, Action::Console(kind.into())))?
            else {
                return Err(ApiError::Internal("no console granted".into()));
            };
            Ok(json(
                StatusCode::OK,
                &json!({"console": {
                    "type": if novnc { "novnc" } else { "xvpvnc" },
                    "url": os_console_url(&cx.base, novnc, &c),
                }}),
            ))
        }
    }
}

/// `os_get_vnc_console`: noVNC gets the web client's URL under `CYCLADES_BASE_URL`
/// (`/ui/machines/console`), xvpvnc a `host:port?password=` to paste into a VNC client.
fn os_console_url(base: &str, novnc: bool, c: &Console) -> String {
    if novnc {
        format!(
            "{base}/ui/machines/console?host={}&port={}&password={}",
            c.host, c.port, c.password
        )
    } else {
        format!("{}:{}?password={}", c.host, c.port, c.password)
    }
}
