//! `/compute/v2.0/servers`: list (plain and detail, with a cache for pollers), read,
//! rename, delete. Creation is in [`super::server_create`], actions in
//! [`super::server_actions`].

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::server_create::create_server;
use super::server_view::{ServerView, server_view};
use crate::backend::world::Core;
use crate::error::ApiResult;
use crate::routes::ctx::{Ctx, Since};
use crate::routes::extract::{ListView, PathBody};
use crate::routes::fields::{envelope, parse_id, required_str};
use crate::routes::paths;
use crate::routes::render::{Link, bytes_json, empty, links, to_bytes};
use crate::routes::table::{COMPUTE, get, post};
use crate::state::AppState;

/// Server routes (creation included, it shares the collection URL).
pub fn routes() -> Router<AppState> {
    let one = get(get_server).put(rename_server).delete(delete_server);
    COMPUTE.collection("servers", list_servers, Some(post(create_server)), one)
}

#[derive(Serialize)]
struct ServerRef<'a> {
    id: u64,
    name: &'a str,
    links: [Link; 2],
}

#[derive(Serialize)]
struct ServersEnvelope<T: Serialize> {
    servers: Vec<T>,
}

/// `GET /servers` and `GET /servers/detail`; under `changes-since` the view asked for, of
/// every server changed since then, deleted ones included, and 304 when there is none
/// (api/servers.py `list_servers`, snf_django `filter_modified_since`).
async fn list_servers(cx: Ctx, Since(since): Since, view: ListView) -> ApiResult<Response> {
    let (st, u, base) = (&cx.st, &cx.user, &cx.base);
    let key = (u.uuid.clone(), base.clone());
    // Serialize under the lock, straight from the records: no cloning of the state. The
    // detail list is what pollers hammer, so its bytes are reused while nothing changes
    // (and no job is running, since progress moves with the clock).
    let (count, bytes) = st.backend.read(|c| {
        let cacheable =
            view.detail && since.is_none() && c.servers_of(&u.uuid, None).all(|s| s.task.is_none());
        if cacheable
            && let Some((generation, bytes)) = st.detail_cache.lock().get(&key)
            && *generation == c.generation
        {
            return (1, Ok(bytes.clone()));
        }
        let (count, bytes) = serialize_list(c, &u.uuid, base, since, view.detail);
        let bytes = bytes.map(axum::body::Bytes::from);
        if cacheable && let Ok(b) = &bytes {
            st.detail_cache
                .lock()
                .insert(key, (c.generation, b.clone()));
        }
        (count, bytes)
    });
    if since.is_some() && count == 0 {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    Ok(bytes_json(bytes?, StatusCode::OK))
}

/// The servers of `user` as `{"servers": […]}`, detailed or as references, and how many.
fn serialize_list(
    c: &Core,
    user: &str,
    base: &str,
    since: Option<crate::backend::model::Time>,
    detail: bool,
) -> (usize, ApiResult<Vec<u8>>) {
    if detail {
        let list: Vec<ServerView> = c
            .servers_of(user, since)
            .map(|s| server_view(c, s, base, None))
            .collect();
        (list.len(), to_bytes(&ServersEnvelope { servers: list }))
    } else {
        let list: Vec<ServerRef> = c
            .servers_of(user, since)
            .map(|s| ServerRef {
                id: s.id,
                name: &s.name,
                links: links(base, paths::COMPUTE, "servers", &s.id),
            })
            .collect();
        (list.len(), to_bytes(&ServersEnvelope { servers: list }))
    }
}

async fn get_server(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let bytes = cx.read(|c, u| {
        let s = c.server(u, id)?;
        to_bytes(&json!({"server": server_view(c, s, &cx.base, None)}))
    })?;
    Ok(bytes_json(bytes, StatusCode::OK))
}

async fn rename_server(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let name = required_str(envelope(&b, "server")?, "name")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.rename_server(u, id, name))
}

async fn delete_server(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_server(u, id))
}
