//! A server's read-only sub-resources (`api/servers.py` `urlpatterns`): `ips`,
//! `ips/<network>`, `stats`, `diagnostics` and `password`.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::server_view::nics;
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::fields::parse_id;
use crate::routes::render::json;
use crate::routes::table::{COMPUTE, get};
use crate::state::AppState;

/// Server sub-resource routes.
pub fn routes() -> Router<AppState> {
    COMPUTE.table_under(
        "/servers/{id}",
        [
            ("/ips", get(list_addresses)),
            ("/ips/{network}", get(list_addresses_by_network)),
            ("/stats", get(server_stats)),
            ("/diagnostics", get(server_diagnostics)),
            ("/password", get(get_password).delete(delete_password)),
        ],
    )
}

/// `list_addresses`: `{"addresses": …, "attachments": …}` of the active NICs.
async fn list_addresses(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.read(|c, u| {
        let s = c.server(u, id)?;
        let (attachments, addresses) = nics(c, s, None);
        Ok(json(
            StatusCode::OK,
            &json!({"addresses": addresses, "attachments": attachments}),
        ))
    })
}

/// `list_addresses_by_network`: the server (404), then the network (`util.get_network`:
/// 400 `Invalid network ID`, 404 `Network <id> not found.`), then
/// `{"network": {"<id>": [addresses]}}` — `{}` when the server has no NIC there.
async fn list_addresses_by_network(
    cx: Ctx,
    Path((id, network)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.read(|c, u| {
        let s = c.server(u, id)?;
        let net: u64 = network
            .parse()
            .map_err(|_| ApiError::bad(format!("Invalid network ID '{network}'")))?;
        c.network(u, net)
            .map_err(|_| ApiError::not_found(format!("Network {net} not found.")))?;
        let (_, addresses) = nics(c, s, Some(net));
        Ok(json(StatusCode::OK, &json!({ "network": addresses })))
    })
}

/// `server_stats`: the graph URLs of the server (Synnefo's `*_GRAPH_URL` settings with
/// the server's encrypted backend id; here URLs under the simulator itself) and
/// `STATS_REFRESH_PERIOD` (60 by default).
async fn server_stats(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.read(|c, u| c.server(u, id).map(|_| ()))?;
    let secret = hex_of(&format!("snf-{id}"));
    let graph = |kind: &str| format!("{}/stats/v1.0/{kind}/{secret}", cx.base);
    Ok(json(
        StatusCode::OK,
        &json!({"stats": {
            "serverRef": id,
            "refresh": 60,
            "cpuBar": graph("cpu-bar"),
            "cpuTimeSeries": graph("cpu-ts"),
            "netBar": graph("net-bar"),
            "netTimeSeries": graph("net-ts"),
        }}),
    ))
}

/// `get_server_diagnostics`: a bare JSON list of every diagnostic of the server.
async fn server_diagnostics(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.read(|c, u| {
        let s = c.server(u, id)?;
        let list: Vec<_> = super::server_view::diagnostics(s)
            .into_iter()
            .map(|d| json!(d))
            .collect();
        Ok(json(StatusCode::OK, &list))
    })
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// api/servers.py `get_server_password`: the server (404), then the password cached at
/// creation, else `faults.ItemNotFound()` — 404 with an empty message.
async fn get_password(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.read(|c, u| {
        c.server(u, id)?;
        let password = c
            .passwords
            .get(&id)
            .ok_or_else(|| ApiError::not_found(""))?;
        Ok(json(StatusCode::OK, &json!({ "password": password })))
    })
}

/// api/servers.py `delete_server_password`: forgets it, 204 whether or not it was there.
async fn delete_password(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| {
        c.server(u, id)?;
        c.passwords.remove(&id);
        Ok(())
    })
}
