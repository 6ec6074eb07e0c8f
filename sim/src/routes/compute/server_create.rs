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
use crate::routes::fields::{as_u64, opt_str, string_map};
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

/// api/servers.py `create_server`, up to the flavor: every required key present and every
/// container of the right JSON type ("Malformed request"), then the block device mapping
/// (`parse_block_device_mapping`), the personality (api/util.py `verify_personality`) and
/// the user data (`verify_user_data`); `int(flavorRef)` is `get_flavor`'s first step.
fn parse_create(b: &Value) -> ApiResult<CreateServer> {
    let malformed = || ApiError::bad("Malformed request");
    let s = b
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(malformed)?;
    let name = match s.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(malformed()),
    };
    let metadata = match s.get("metadata") {
        None => Default::default(),
        Some(v @ Value::Object(_)) => string_map(Some(v), "metadata")?,
        Some(_) => return Err(malformed()),
    };
    if !matches!(s.get("tags"), None | Some(Value::Array(_))) {
        return Err(malformed());
    }
    let image_ref = match s.get("imageRef").ok_or_else(malformed)? {
        Value::String(x) => x.clone(),
        Value::Number(n) => n.to_string(),
        // A false-y imageRef leaves the image to the first block device.
        Value::Null | Value::Bool(false) => String::new(),
        _ => return Err(malformed()),
    };
    let flavor = s.get("flavorRef").ok_or_else(malformed)?;
    let personality = match s.get("personality") {
        None => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(malformed()),
    };
    let networks = match s.get("networks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|it| {
                    parse_nic(
                        it.as_object()
                            .ok_or_else(|| ApiError::bad("Malformed networks in request"))?,
                    )
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        Some(_) => return Err(malformed()),
    };
    let key_names = match s.get("SNF:key_names") {
        None => vec![],
        Some(Value::Array(a)) => {
            let mut names: Vec<String> = a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(malformed))
                .collect::<ApiResult<_>>()?;
            // `list(set(SNF_key_names))`: duplicates dropped.
            names.sort();
            names.dedup();
            names
        }
        Some(_) => return Err(malformed()),
    };
    let block_devices = match s.get("block_device_mapping_v2") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(parse_block_device)
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::bad("Block Device Mapping is Invalid")),
    };
    let personality = verify_personality(&personality)?;
    let user_data = match s.get("user_data") {
        None => None,
        Some(Value::String(u)) => {
            if !is_base64(u) {
                return Err(ApiError::bad("Marformed user_data request"));
            }
            Some(u.clone()).filter(|u| !u.is_empty())
        }
        // `BASE64_REGEXP.match(None)` raises a TypeError: the generic 500.
        Some(_) => return Err(ApiError::Internal("Unexpected error".into())),
    };
    let flavor_ref = py_int(flavor)
        .ok_or_else(|| ApiError::bad(format!("Invalid flavor ID '{}'", py_str(flavor))))?;
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
        admin_pass: opt_str(s, "adminPass")?.filter(|p| !p.is_empty()),
        user_data,
        block_devices,
    })
}

/// Python's `int()` of a JSON value, as an id: integers, integral strings (spaces around
/// allowed) and floats (truncated); a negative one names nothing, so it maps to an id
/// that never exists.
fn py_int(v: &Value) -> Option<u64> {
    let i = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        })?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Bool(b) => i64::from(*b),
        _ => return None,
    };
    Some(u64::try_from(i).unwrap_or(u64::MAX))
}

/// Python's `str()` of a JSON value, for messages.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// api/util.py `BASE64_REGEXP`.
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let alpha = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2 && b[..b.len() - pad].iter().all(alpha)
}

/// api/util.py `verify_personality`: more than `MAX_PERSONALITY` (5) items is 413; each
/// must be an object with only `contents`, `group`, `mode`, `owner`, `path`, else 400
/// "Malformed personality in request"; one without `contents` raises a KeyError, the
/// generic 500; contents longer than `MAX_PERSONALITY_SIZE` (10240), before or after
/// decoding, are 413; contents Python 2's `b64decode` refuses are 400.
fn verify_personality(items: &[Value]) -> ApiResult<Vec<Personality>> {
    const MAX_PERSONALITY: usize = 5;
    const MAX_PERSONALITY_SIZE: usize = 10240;
    let over = |m: &str| ApiError::OverLimit {
        message: m.into(),
        details: String::new(),
    };
    let malformed = || ApiError::bad("Malformed personality in request");
    if items.len() > MAX_PERSONALITY {
        return Err(over("Maximum number of personalities exceeded"));
    }
    let allowed = ["contents", "group", "mode", "owner", "path"];
    items
        .iter()
        .map(|p| {
            let o = p.as_object().ok_or_else(malformed)?;
            if !o.keys().all(|k| allowed.contains(&k.as_str())) {
                return Err(malformed());
            }
            let contents = match o.get("contents") {
                None => return Err(ApiError::Internal("Unexpected error".into())),
                Some(Value::String(c)) => c,
                Some(_) => return Err(malformed()),
            };
            if contents.chars().count() > MAX_PERSONALITY_SIZE {
                return Err(over("Maximum size of personality exceeded"));
            }
            let decoded = py2_b64decode(contents).ok_or_else(malformed)?;
            if decoded.len() > MAX_PERSONALITY_SIZE {
                return Err(over("Maximum size of personality exceeded"));
            }
            Ok(Personality {
                path: o
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                contents: contents.clone(),
            })
        })
        .collect()
}

/// Python 2's `base64.b64decode`: characters outside the alphabet are skipped, and only
/// incorrect padding fails.
fn py2_b64decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
        .collect();
    let pads = s.chars().filter(|c| *c == '=').count();
    if !kept.len().is_multiple_of(4) && !(kept.len() + pads).is_multiple_of(4) {
        return None;
    }
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(kept.as_bytes()).ok()
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

/// api/servers.py `_parse_block_device`, with `snapshot` allowed (snapshots are enabled).
fn parse_block_device(device: &Value) -> ApiResult<BlockDevice> {
    const ALLOWED: [&str; 4] = ["image", "volume", "blank", "snapshot"];
    let invalid = |m: &str| ApiError::bad(format!("Block Device Mapping is Invalid{m}"));
    let o = device.as_object().ok_or_else(|| invalid(""))?;
    let source_type = match o.get("source_type") {
        None | Some(Value::Null) => return Err(invalid(": Invalid source_type field")),
        Some(Value::String(t)) if ALLOWED.contains(&t.as_str()) => t.clone(),
        Some(_) => {
            return Err(invalid(&format!(
                ": source_type must be on of {}",
                ALLOWED.join(", ")
            )));
        }
    };
    let uuid = match o.get("uuid") {
        None | Some(Value::Null) => None,
        Some(v) => Some(py_str(v)),
    };
    if uuid.is_none() && source_type != "blank" {
        return Err(invalid(&format!(": uuid of {source_type} is missing")));
    }
    let volume_size = match o.get("volume_size") {
        None | Some(Value::Null) => None,
        Some(v) => Some(py_int(v).ok_or_else(|| invalid(": Invalid size field"))?),
    };
    let delete_on_termination = match o.get("delete_on_termination") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid(": Invalid delete_on_termination field")),
    };
    Ok(BlockDevice {
        source_type,
        uuid,
        volume_size,
        delete_on_termination,
    })
}
