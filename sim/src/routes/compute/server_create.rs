//! `POST /compute/v2.0/servers`: parsing the body into the backend's [`CreateServer`].
//! Only shapes are checked here (400 with Synnefo's messages); every rule is the
//! backend's.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::server_view::server_view;
use crate::backend::server_create::{BlockDevice, CreateServer, NicSpec, Personality};
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::JsonBody;
use crate::routes::fields::{
    as_u64, envelope, opt_bool, opt_str, opt_u64, required_str, string_map,
};
use crate::routes::render::{bytes_json, to_bytes};

/// Creates a server; 202 with the server record and its `adminPass`.
pub async fn create_server(cx: Ctx, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let req = parse_create(&b)?;
    let bytes = cx.write(|c, u| {
        let (id, pass) = c.create_server(u, req)?;
        let s = c.server(u, id)?;
        to_bytes(&json!({"server": server_view(c, s, &cx.base, Some(&pass))}))
    })?;
    Ok(bytes_json(bytes, StatusCode::ACCEPTED))
}

fn parse_create(b: &Value) -> ApiResult<CreateServer> {
    let s = envelope(b, "server")?;
    let name = required_str(s, "name")?;
    let image_ref = match s.get("imageRef") {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiError::bad("Malformed request: missing 'imageRef'")),
    };
    let flavor_ref = match s.get("flavorRef") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad("Malformed request: missing 'flavorRef'"));
        }
        Some(v) => as_u64(v).ok_or_else(|| ApiError::bad(format!("Invalid flavorRef: {v}")))?,
    };
    let metadata = string_map(s.get("metadata"), "metadata")?;
    let personality = list_of(
        s.get("personality"),
        "Malformed personality in request",
        parse_personality,
    )?
    .unwrap_or_default();
    let networks = list_of(
        s.get("networks"),
        "Malformed networks in request",
        parse_nic,
    )?;
    let key_names = parse_key_names(s.get("SNF:key_names"))?;
    let block_devices = list_of(
        s.get("block_device_mapping_v2"),
        "Malformed block_device_mapping_v2",
        parse_block_device,
    )?
    .unwrap_or_default();
    Ok(CreateServer {
        name,
        image_ref,
        flavor_ref,
        metadata,
        personality,
        networks,
        project: opt_str(s, "project")?,
        key_name: opt_str(s, "key_name")?,
        key_names,
        admin_pass: opt_str(s, "adminPass")?,
        user_data: opt_str(s, "user_data")?,
        block_devices,
    })
}

/// An optional list of objects, each parsed by `parse` in order: `None` when absent or
/// null, 400 `malformed` when it is not an array or an item is not an object.
fn list_of<T>(
    v: Option<&Value>,
    malformed: &str,
    parse: impl Fn(&Map<String, Value>) -> ApiResult<T>,
) -> ApiResult<Option<Vec<T>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|it| parse(it.as_object().ok_or_else(|| ApiError::bad(malformed))?))
            .collect::<ApiResult<_>>()
            .map(Some),
        Some(_) => Err(ApiError::bad(malformed)),
    }
}

fn parse_personality(o: &Map<String, Value>) -> ApiResult<Personality> {
    Ok(Personality {
        path: opt_str(o, "path")?.unwrap_or_default(),
        contents: opt_str(o, "contents")?.unwrap_or_default(),
    })
}

/// `{"port": id}` or `{"uuid": network, "fixed_ip": address?}`.
fn parse_nic(o: &Map<String, Value>) -> ApiResult<NicSpec> {
    if let Some(p) = o.get("port") {
        return Ok(NicSpec::Port(
            as_u64(p).ok_or_else(|| ApiError::bad("Invalid port in networks"))?,
        ));
    }
    if let Some(n) = o.get("uuid") {
        return Ok(NicSpec::Network {
            network: as_u64(n).ok_or_else(|| ApiError::bad("Invalid network uuid in networks"))?,
            fixed_ip: opt_str(o, "fixed_ip")?,
        });
    }
    Err(ApiError::bad(
        "Malformed networks in request: 'uuid' or 'port' required",
    ))
}

fn parse_key_names(v: Option<&Value>) -> ApiResult<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad("Malformed SNF:key_names"))
            })
            .collect(),
        Some(_) => Err(ApiError::bad("Malformed SNF:key_names")),
    }
}

fn parse_block_device(o: &Map<String, Value>) -> ApiResult<BlockDevice> {
    Ok(BlockDevice {
        source_type: opt_str(o, "source_type")?.ok_or_else(|| {
            ApiError::bad("Invalid block device mapping: 'source_type' is required")
        })?,
        uuid: match o.get("uuid") {
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => opt_str(o, "uuid")?,
        },
        volume_size: opt_u64(o, "volume_size")?,
        delete_on_termination: opt_bool(o, "delete_on_termination")?,
    })
}
