//! Compute routes (`/compute/v2.0`): flavors, images, servers, actions, metadata,
//! volume attachments, key pairs.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    AppState, Auth, JsonBody, as_u64, changes_since, empty, envelope, iso, not_allowed, opt_str,
    opt_u64, parse_id, string_map,
};
use crate::backend::Core;
use crate::backend::compute::{Action, BlockDevice, CreateServer, NicSpec, Personality};
use crate::backend::model::{Image, ImageStatus, Server, ServerStatus};
use crate::backend::seed::Flavor;
use crate::error::{ApiError, ApiResult};

const P: &str = "/compute/v2.0";

/// Compute routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{P}/flavors"),
            get(list_flavors).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/flavors/detail"),
            get(list_flavors_detail).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/flavors/{{id}}"),
            get(get_flavor).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/images"),
            get(list_images).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/images/detail"),
            get(list_images_detail).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/images/{{id}}"),
            get(get_image)
                .delete(delete_image)
                .fallback(not_allowed("GET, DELETE")),
        )
        .route(
            &format!("{P}/images/{{id}}/metadata"),
            get(get_image_meta)
                .post(post_image_meta)
                .put(put_image_meta)
                .fallback(not_allowed("GET, POST, PUT")),
        )
        .route(
            &format!("{P}/images/{{id}}/metadata/{{key}}"),
            get(get_image_meta_key)
                .put(put_image_meta_key)
                .delete(delete_image_meta_key)
                .fallback(not_allowed("GET, PUT, DELETE")),
        )
        .route(
            &format!("{P}/servers"),
            get(list_servers)
                .post(create_server)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/servers/detail"),
            get(list_servers_detail).fallback(not_allowed("GET")),
        )
        .route(
            &format!("{P}/servers/{{id}}"),
            get(get_server)
                .put(rename_server)
                .delete(delete_server)
                .fallback(not_allowed("GET, PUT, DELETE")),
        )
        .route(
            &format!("{P}/servers/{{id}}/action"),
            axum::routing::post(server_action).fallback(not_allowed("POST")),
        )
        .route(
            &format!("{P}/servers/{{id}}/metadata"),
            get(get_server_meta)
                .post(post_server_meta)
                .put(put_server_meta)
                .fallback(not_allowed("GET, POST, PUT")),
        )
        .route(
            &format!("{P}/servers/{{id}}/metadata/{{key}}"),
            get(get_server_meta_key)
                .put(put_server_meta_key)
                .delete(delete_server_meta_key)
                .fallback(not_allowed("GET, PUT, DELETE")),
        )
        .route(
            &format!("{P}/servers/{{id}}/os-volume_attachments"),
            get(list_attachments)
                .post(attach_volume)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/servers/{{id}}/os-volume_attachments/{{vid}}"),
            get(get_attachment)
                .delete(detach_volume)
                .fallback(not_allowed("GET, DELETE")),
        )
        .route(
            &format!("{P}/os-keypairs"),
            get(list_keypairs)
                .post(create_keypair)
                .fallback(not_allowed("GET, POST")),
        )
        .route(
            &format!("{P}/os-keypairs/{{name}}"),
            get(get_keypair)
                .delete(delete_keypair)
                .fallback(not_allowed("GET, DELETE")),
        )
}

// ---- views ---------------------------------------------------------------------------

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

fn links(base: &str, kind: &str, id: &dyn std::fmt::Display) -> [Link; 2] {
    let href = format!("{base}{P}/{kind}/{id}");
    [
        Link {
            rel: "self",
            href: href.clone(),
        },
        Link {
            rel: "bookmark",
            href,
        },
    ]
}

fn flavor_view(f: &Flavor, base: &str, detail: bool) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "links": links(base, "flavors", &f.id)});
    if detail {
        let m = v.as_object_mut().expect("object literal");
        m.insert("ram".into(), json!(f.ram));
        m.insert("disk".into(), json!(f.disk));
        m.insert("vcpus".into(), json!(f.vcpus));
        m.insert("os-flavor-access:is_public".into(), json!(true));
        m.insert("SNF:disk_template".into(), json!(f.template));
        m.insert("SNF:volume_type".into(), json!(f.volume_type));
        m.insert("SNF:allow_create".into(), json!(f.allow_create));
    }
    v
}

fn progress(
    c: &Core,
    started: chrono::DateTime<chrono::Utc>,
    due: chrono::DateTime<chrono::Utc>,
) -> u8 {
    let total = (due - started).num_milliseconds().max(1) as f64;
    let done = (c.now - started).num_milliseconds().max(0) as f64;
    ((done / total) * 100.0).clamp(0.0, 99.0) as u8
}

/// The compute view of an image (snapshots included).
pub fn image_view(c: &Core, img: &Image, base: &str, detail: bool) -> Value {
    let mut v = json!({"id": img.id, "name": img.name, "links": links(base, "images", &img.id)});
    if detail {
        let status = match img.status {
            ImageStatus::Saving => "SAVING",
            ImageStatus::Active => "ACTIVE",
            ImageStatus::Error => "ERROR",
            ImageStatus::Deleted => "DELETED",
        };
        let progress = match (img.status, img.due) {
            (ImageStatus::Saving, Some(due)) => progress(c, img.created, due),
            (ImageStatus::Active, _) => 100,
            _ => 0,
        };
        let m = v.as_object_mut().expect("object literal");
        m.insert("status".into(), json!(status));
        m.insert("progress".into(), json!(progress));
        m.insert("created".into(), json!(iso(&img.created)));
        m.insert("updated".into(), json!(iso(&img.updated)));
        m.insert("user_id".into(), json!(img.owner));
        m.insert("tenant_id".into(), json!(img.owner));
        m.insert("public".into(), json!(img.is_public));
        m.insert("is_snapshot".into(), json!(img.snapshot.is_some()));
        m.insert("metadata".into(), json!(img.properties));
        m.insert("minDisk".into(), json!(0));
        m.insert("minRam".into(), json!(0));
        m.insert("deleted".into(), json!(img.status == ImageStatus::Deleted));
    }
    v
}

#[derive(Serialize)]
struct Attachment<'a> {
    id: String,
    network_id: String,
    mac_address: &'a str,
    ipv4: &'a str,
    ipv6: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    ip_type: &'static str,
    #[serde(rename = "firewallProfile")]
    firewall_profile: &'static str,
}

#[derive(Serialize)]
struct Address<'a> {
    version: u8,
    addr: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    ip_type: &'static str,
}

#[derive(Serialize)]
struct IdRef<T: Serialize> {
    id: T,
    links: [Link; 2],
}

#[derive(Serialize)]
struct SecurityGroup {
    name: &'static str,
}

#[derive(Serialize)]
struct ServerView<'a> {
    id: u64,
    name: &'a str,
    user_id: &'a str,
    tenant_id: &'a str,
    status: &'static str,
    #[serde(rename = "SNF:task_state")]
    task_state: &'static str,
    progress: u8,
    created: String,
    updated: String,
    flavor: IdRef<u64>,
    image: IdRef<&'a str>,
    metadata: &'a BTreeMap<String, String>,
    attachments: Vec<Attachment<'a>>,
    addresses: BTreeMap<String, Vec<Address<'a>>>,
    volumes: Vec<u64>,
    key_name: Option<&'a str>,
    suspended: bool,
    deleted: bool,
    #[serde(rename = "SNF:fqdn")]
    fqdn: String,
    #[serde(rename = "hostId")]
    host_id: &'static str,
    security_groups: [SecurityGroup; 1],
    config_drive: &'static str,
    links: [Link; 2],
    #[serde(rename = "SNF:port_forwarding")]
    port_forwarding: BTreeMap<String, String>,
    #[serde(rename = "adminPass", skip_serializing_if = "Option::is_none")]
    admin_pass: Option<&'a str>,
}

fn server_view<'a>(
    c: &'a Core,
    s: &'a Server,
    base: &str,
    admin_pass: Option<&'a str>,
) -> ServerView<'a> {
    let progress = match (s.status, s.task) {
        (ServerStatus::Build, Some(t)) => progress(c, t.started, t.due),
        (ServerStatus::Build, None) | (ServerStatus::Error, _) => 0,
        _ => 100,
    };
    let mut attachments = Vec::new();
    let mut addresses: BTreeMap<String, Vec<Address<'a>>> = BTreeMap::new();
    if !s.is_deleted() {
        for (i, pid) in s.ports.iter().enumerate() {
            let Some(p) = c.state.ports.get(pid) else {
                continue;
            };
            if p.deleted || p.status != "ACTIVE" {
                continue;
            }
            let ip_type = if p.floating_ip.is_some() {
                "floating"
            } else {
                "fixed"
            };
            attachments.push(Attachment {
                id: format!("nic-{}-{i}", s.id),
                network_id: p.network_id.to_string(),
                mac_address: &p.mac,
                ipv4: p.ipv4.as_deref().unwrap_or(""),
                ipv6: p.ipv6.as_deref().unwrap_or(""),
                ip_type,
                firewall_profile: "DISABLED",
            });
            let entry = addresses.entry(p.network_id.to_string()).or_default();
            if let Some(a) = &p.ipv4 {
                entry.push(Address {
                    version: 4,
                    addr: a,
                    ip_type,
                });
            }
            if let Some(a) = &p.ipv6 {
                entry.push(Address {
                    version: 6,
                    addr: a,
                    ip_type: "fixed",
                });
            }
        }
    }
    let mut volumes: Vec<(u32, u64)> = s
        .volumes
        .iter()
        .filter_map(|v| c.state.volumes.get(v))
        .filter(|v| v.server_id == Some(s.id) || s.is_deleted())
        .map(|v| (v.index.unwrap_or(u32::MAX), v.id))
        .collect();
    volumes.sort();
    ServerView {
        id: s.id,
        name: &s.name,
        user_id: &s.user_id,
        tenant_id: &s.project,
        status: s.status.as_str(),
        task_state: s.task.map_or("", |t| t.kind.task_state()),
        progress,
        created: iso(&s.created),
        updated: iso(&s.updated),
        flavor: IdRef {
            id: s.flavor_id,
            links: links(base, "flavors", &s.flavor_id),
        },
        image: IdRef {
            id: &s.image_id,
            links: links(base, "images", &s.image_id),
        },
        metadata: &s.metadata,
        attachments,
        addresses,
        volumes: volumes.into_iter().map(|(_, v)| v).collect(),
        key_name: s.key_name.as_deref(),
        suspended: s.suspended,
        deleted: s.is_deleted(),
        fqdn: format!("snf-{}.vm.okeanos.grnet.gr", s.id),
        host_id: "",
        security_groups: [SecurityGroup { name: "default" }],
        config_drive: "",
        links: links(base, "servers", &s.id),
        port_forwarding: BTreeMap::new(),
        admin_pass,
    }
}

fn bytes_json(bytes: impl Into<axum::body::Body>, status: StatusCode) -> Response {
    let mut r = (status, bytes.into()).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

// ---- flavors -------------------------------------------------------------------------

async fn list_flavors(State(st): State<AppState>, h: HeaderMap, _a: Auth) -> Response {
    flavors(&st, &h, false)
}

async fn list_flavors_detail(State(st): State<AppState>, h: HeaderMap, _a: Auth) -> Response {
    flavors(&st, &h, true)
}

fn flavors(st: &AppState, h: &HeaderMap, detail: bool) -> Response {
    let base = st.base_url_for(h);
    let list: Vec<Value> = st.backend.read(|c| {
        c.flavors
            .iter()
            .filter(|f| !f.deleted)
            .map(|f| flavor_view(f, &base, detail))
            .collect()
    });
    super::json(StatusCode::OK, &json!({"flavors": list}))
}

async fn get_flavor(
    State(st): State<AppState>,
    h: HeaderMap,
    _a: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let base = st.base_url_for(&h);
    let id = parse_id(&id, "Flavor")?;
    let v = st.backend.read(|c| {
        c.flavor(id)
            .map(|f| flavor_view(f, &base, true))
            .ok_or_else(|| ApiError::not_found(format!("Flavor {id} not found")))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"flavor": v})))
}

// ---- images --------------------------------------------------------------------------

async fn list_images(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    images(st, h, a, q, false)
}

async fn list_images_detail(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    images(st, h, a, q, true)
}

fn images(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
    detail: bool,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let base = st.base_url_for(&h);
    let list: Vec<Value> = st.backend.read(|c| {
        c.images_of(&u.uuid, since)
            .map(|i| image_view(c, i, &base, detail || since.is_some()))
            .collect()
    });
    if since.is_some() && list.is_empty() {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    Ok(super::json(StatusCode::OK, &json!({"images": list})))
}

async fn get_image(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let base = st.base_url_for(&h);
    let v = st
        .backend
        .read(|c| c.image(&u.uuid, &id).map(|i| image_view(c, i, &base, true)))?;
    Ok(super::json(StatusCode::OK, &json!({"image": v})))
}

async fn delete_image(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    st.backend.write(|c| c.delete_image(&u.uuid, &id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn get_image_meta(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = st
        .backend
        .read(|c| c.image(&u.uuid, &id).map(|i| i.properties.clone()))?;
    Ok(super::json(StatusCode::OK, &json!({"metadata": m})))
}

async fn post_image_meta(
    st: State<AppState>,
    a: Auth,
    p: Path<String>,
    b: JsonBody,
) -> ApiResult<Response> {
    image_meta_update(st, a, p, b, false)
}

async fn put_image_meta(
    st: State<AppState>,
    a: Auth,
    p: Path<String>,
    b: JsonBody,
) -> ApiResult<Response> {
    image_meta_update(st, a, p, b, true)
}

fn image_meta_update(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
    replace: bool,
) -> ApiResult<Response> {
    let meta = string_map(
        Some(
            b.get("metadata")
                .ok_or_else(|| ApiError::bad("Malformed request: missing 'metadata'"))?,
        ),
        "metadata",
    )?;
    let m = st
        .backend
        .write(|c| c.update_image_metadata(&u.uuid, &id, meta, replace))?;
    Ok(super::json(StatusCode::CREATED, &json!({"metadata": m})))
}

async fn get_image_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let v = st.backend.read(|c| {
        c.image(&u.uuid, &id)?
            .properties
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Metadata key not found."))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"meta": {key: v}})))
}

async fn put_image_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let meta = one_meta(&b, &key)?;
    st.backend
        .write(|c| c.update_image_metadata(&u.uuid, &id, meta.clone(), false))?;
    Ok(super::json(StatusCode::CREATED, &json!({"meta": meta})))
}

async fn delete_image_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    st.backend
        .write(|c| c.delete_image_meta(&u.uuid, &id, &key))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

fn one_meta(b: &Value, key: &str) -> ApiResult<BTreeMap<String, String>> {
    let meta = string_map(
        Some(
            b.get("meta")
                .ok_or_else(|| ApiError::bad("Malformed request: missing 'meta'"))?,
        ),
        "meta",
    )?;
    if meta.len() != 1 || !meta.contains_key(key) {
        return Err(ApiError::bad(
            "Malformed request: 'meta' must hold exactly the key of the URL",
        ));
    }
    Ok(meta)
}

// ---- servers -------------------------------------------------------------------------

async fn list_servers(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    servers(st, h, a, q, false)
}

async fn list_servers_detail(
    st: State<AppState>,
    h: HeaderMap,
    a: Auth,
    q: RawQuery,
) -> ApiResult<Response> {
    servers(st, h, a, q, true)
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

fn servers(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    RawQuery(q): RawQuery,
    detail: bool,
) -> ApiResult<Response> {
    let since = changes_since(q.as_deref())?;
    let base = st.base_url_for(&h);
    let key = (u.uuid.clone(), base.clone());
    // Serialize under the lock, straight from the records: no cloning of the state. The
    // detail list is what pollers hammer, so its bytes are reused while nothing changes
    // (and no job is running, since progress moves with the clock).
    let (count, bytes) = st.backend.read(|c| {
        let cacheable =
            detail && since.is_none() && c.servers_of(&u.uuid, None).all(|s| s.task.is_none());
        if cacheable
            && let Ok(cache) = st.detail_cache.lock()
            && let Some((generation, bytes)) = cache.get(&key)
            && *generation == c.generation
        {
            return (1, Ok(bytes.clone()));
        }
        let (count, bytes) = if detail || since.is_some() {
            let list: Vec<ServerView> = c
                .servers_of(&u.uuid, since)
                .map(|s| server_view(c, s, &base, None))
                .collect();
            (
                list.len(),
                serde_json::to_vec(&ServersEnvelope { servers: list }),
            )
        } else {
            let list: Vec<ServerRef> = c
                .servers_of(&u.uuid, since)
                .map(|s| ServerRef {
                    id: s.id,
                    name: &s.name,
                    links: links(&base, "servers", &s.id),
                })
                .collect();
            (
                list.len(),
                serde_json::to_vec(&ServersEnvelope { servers: list }),
            )
        };
        let bytes = bytes.map(axum::body::Bytes::from);
        if cacheable
            && let Ok(b) = &bytes
            && let Ok(mut cache) = st.detail_cache.lock()
        {
            cache.insert(key, (c.generation, b.clone()));
        }
        (count, bytes)
    });
    if since.is_some() && count == 0 {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    let bytes = bytes.map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(bytes_json(bytes, StatusCode::OK))
}

async fn get_server(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let base = st.base_url_for(&h);
    let bytes = st.backend.read(|c| {
        let s = c.server(&u.uuid, id)?;
        serde_json::to_vec(&json!({"server": server_view(c, s, &base, None)}))
            .map_err(|e| ApiError::Internal(e.to_string()))
    })?;
    Ok(bytes_json(bytes, StatusCode::OK))
}

fn parse_create(b: &Value) -> ApiResult<CreateServer> {
    let s = envelope(b, "server")?;
    let name =
        opt_str(s, "name")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'name'"))?;
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
    let mut personality = Vec::new();
    match s.get("personality") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for it in items {
                let o = it
                    .as_object()
                    .ok_or_else(|| ApiError::bad("Malformed personality in request"))?;
                personality.push(Personality {
                    path: opt_str(o, "path")?.unwrap_or_default(),
                    contents: opt_str(o, "contents")?.unwrap_or_default(),
                });
            }
        }
        Some(_) => return Err(ApiError::bad("Malformed personality in request")),
    }
    let networks = match s.get("networks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for it in items {
                let o = it
                    .as_object()
                    .ok_or_else(|| ApiError::bad("Malformed networks in request"))?;
                if let Some(p) = o.get("port") {
                    out.push(NicSpec::Port(
                        as_u64(p).ok_or_else(|| ApiError::bad("Invalid port in networks"))?,
                    ));
                } else if let Some(n) = o.get("uuid") {
                    out.push(NicSpec::Network {
                        network: as_u64(n)
                            .ok_or_else(|| ApiError::bad("Invalid network uuid in networks"))?,
                        fixed_ip: opt_str(o, "fixed_ip")?,
                    });
                } else {
                    return Err(ApiError::bad(
                        "Malformed networks in request: 'uuid' or 'port' required",
                    ));
                }
            }
            Some(out)
        }
        Some(_) => return Err(ApiError::bad("Malformed networks in request")),
    };
    let key_names = match s.get("SNF:key_names") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad("Malformed SNF:key_names"))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::bad("Malformed SNF:key_names")),
    };
    let mut block_devices = Vec::new();
    match s.get("block_device_mapping_v2") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for it in items {
                let o = it
                    .as_object()
                    .ok_or_else(|| ApiError::bad("Malformed block_device_mapping_v2"))?;
                block_devices.push(BlockDevice {
                    source_type: opt_str(o, "source_type")?.ok_or_else(|| {
                        ApiError::bad("Invalid block device mapping: 'source_type' is required")
                    })?,
                    uuid: match o.get("uuid") {
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => opt_str(o, "uuid")?,
                    },
                    volume_size: opt_u64(o, "volume_size")?,
                    delete_on_termination: super::opt_bool(o, "delete_on_termination")?,
                });
            }
        }
        Some(_) => return Err(ApiError::bad("Malformed block_device_mapping_v2")),
    }
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

async fn create_server(
    State(st): State<AppState>,
    h: HeaderMap,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let req = parse_create(&b)?;
    let base = st.base_url_for(&h);
    let bytes = st.backend.write(|c| {
        let (id, pass) = c.create_server(&u.uuid, req)?;
        let s = c.server(&u.uuid, id)?;
        serde_json::to_vec(&json!({"server": server_view(c, s, &base, Some(&pass))}))
            .map_err(|e| ApiError::Internal(e.to_string()))
    })?;
    Ok(bytes_json(bytes, StatusCode::ACCEPTED))
}

async fn rename_server(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let s = envelope(&b, "server")?;
    let name =
        opt_str(s, "name")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'name'"))?;
    st.backend.write(|c| c.rename_server(&u.uuid, id, name))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn delete_server(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    st.backend.write(|c| c.delete_server(&u.uuid, id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

fn parse_action(b: &Value) -> ApiResult<Action> {
    let obj = b
        .as_object()
        .ok_or_else(|| ApiError::bad("Malformed request"))?;
    if obj.len() != 1 {
        return Err(ApiError::bad(
            "Malformed request: exactly one action is required",
        ));
    }
    let (name, args) = obj
        .iter()
        .next()
        .ok_or_else(|| ApiError::bad("Malformed request"))?;
    let args = args
        .as_object()
        .ok_or_else(|| ApiError::bad("Malformed request: the action's value must be an object"))?;
    Ok(match name.as_str() {
        "start" => Action::Start,
        "shutdown" => Action::Shutdown,
        "reboot" => {
            let t =
                opt_str(args, "type")?.ok_or_else(|| ApiError::bad("Missing 'type' attribute."))?;
            if t != "SOFT" && t != "HARD" {
                return Err(ApiError::bad(format!("Invalid 'type' attribute: '{t}'.")));
            }
            Action::Reboot
        }
        "resize" => Action::Resize(
            opt_u64(args, "flavorRef")?
                .ok_or_else(|| ApiError::bad("Missing 'flavorRef' attribute."))?,
        ),
        "console" => Action::Console(
            opt_str(args, "type")?.ok_or_else(|| ApiError::bad("Missing 'type' attribute."))?,
        ),
        "addFloatingIp" => Action::AddFloatingIp(
            opt_str(args, "address")?.ok_or_else(|| ApiError::bad("No floating IP specified."))?,
        ),
        "removeFloatingIp" => Action::RemoveFloatingIp(
            opt_str(args, "address")?.ok_or_else(|| ApiError::bad("No floating IP specified."))?,
        ),
        other => return Err(ApiError::bad(format!("Action {other} not supported"))),
    })
}

async fn server_action(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    // A server of someone else is 404 even for a malformed action.
    st.backend.read(|c| c.server(&u.uuid, id).map(|_| ()))?;
    let action = parse_action(&b)?;
    match st.backend.write(|c| c.server_action(&u.uuid, id, action))? {
        Some(console) => Ok(super::json(StatusCode::OK, &json!({"console": console}))),
        None => Ok(empty(StatusCode::ACCEPTED)),
    }
}

async fn get_server_meta(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let m = st
        .backend
        .read(|c| c.server(&u.uuid, id).map(|s| s.metadata.clone()))?;
    Ok(super::json(StatusCode::OK, &json!({"metadata": m})))
}

async fn post_server_meta(
    st: State<AppState>,
    a: Auth,
    p: Path<String>,
    b: JsonBody,
) -> ApiResult<Response> {
    server_meta_update(st, a, p, b, false)
}

async fn put_server_meta(
    st: State<AppState>,
    a: Auth,
    p: Path<String>,
    b: JsonBody,
) -> ApiResult<Response> {
    server_meta_update(st, a, p, b, true)
}

fn server_meta_update(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
    replace: bool,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let meta = string_map(
        Some(
            b.get("metadata")
                .ok_or_else(|| ApiError::bad("Malformed request: missing 'metadata'"))?,
        ),
        "metadata",
    )?;
    let m = st
        .backend
        .write(|c| c.update_server_metadata(&u.uuid, id, meta, replace))?;
    Ok(super::json(StatusCode::CREATED, &json!({"metadata": m})))
}

async fn get_server_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let v = st.backend.read(|c| {
        c.server(&u.uuid, id)?
            .metadata
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Metadata key not found."))
    })?;
    Ok(super::json(StatusCode::OK, &json!({"meta": {key: v}})))
}

async fn put_server_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let meta = one_meta(&b, &key)?;
    st.backend
        .write(|c| c.update_server_metadata(&u.uuid, id, meta.clone(), false))?;
    Ok(super::json(StatusCode::CREATED, &json!({"meta": meta})))
}

async fn delete_server_meta_key(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    st.backend
        .write(|c| c.delete_server_meta(&u.uuid, id, &key))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---- volume attachments --------------------------------------------------------------

fn attachment_view(server: u64, volume: u64) -> Value {
    json!({"id": volume, "volumeId": volume, "serverId": server, "device": ""})
}

async fn list_attachments(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let list = st.backend.read(|c| {
        c.server(&u.uuid, id)?;
        let mut v: Vec<(u32, u64)> = c
            .attached_volumes(id)
            .map(|v| (v.index.unwrap_or(0), v.id))
            .collect();
        v.sort();
        Ok::<_, ApiError>(
            v.into_iter()
                .map(|(_, vid)| attachment_view(id, vid))
                .collect::<Vec<_>>(),
        )
    })?;
    Ok(super::json(
        StatusCode::OK,
        &json!({"volumeAttachments": list}),
    ))
}

async fn get_attachment(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid = parse_id(&vid, "Volume")?;
    st.backend.read(|c| {
        c.server(&u.uuid, id)?;
        c.attached_volumes(id)
            .find(|v| v.id == vid)
            .map(|_| ())
            .ok_or_else(|| {
                ApiError::not_found(format!("Volume {vid} is not attached to server {id}"))
            })
    })?;
    Ok(super::json(
        StatusCode::OK,
        &json!({"volumeAttachment": attachment_view(id, vid)}),
    ))
}

async fn attach_volume(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let a = envelope(&b, "volumeAttachment")?;
    let vid = opt_u64(a, "volumeId")?
        .ok_or_else(|| ApiError::bad("Malformed request: missing 'volumeId'"))?;
    st.backend.write(|c| c.attach_volume(&u.uuid, id, vid))?;
    Ok(super::json(
        StatusCode::ACCEPTED,
        &json!({"volumeAttachment": attachment_view(id, vid)}),
    ))
}

async fn detach_volume(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path((id, vid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Server")?;
    let vid: u64 = vid
        .parse()
        .map_err(|_| ApiError::bad(format!("Volume {vid} not found")))?;
    st.backend.write(|c| c.detach_volume(&u.uuid, id, vid))?;
    Ok(empty(StatusCode::ACCEPTED))
}

// ---- key pairs -----------------------------------------------------------------------

async fn list_keypairs(State(st): State<AppState>, Auth(u): Auth) -> Response {
    let list: Vec<Value> = st.backend.read(|c| {
        c.keypairs_of(&u.uuid)
            .map(|k| json!({"keypair": {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint}}))
            .collect()
    });
    super::json(StatusCode::OK, &json!({"keypairs": list}))
}

async fn create_keypair(
    State(st): State<AppState>,
    Auth(u): Auth,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let k = envelope(&b, "keypair")?;
    let name =
        opt_str(k, "name")?.ok_or_else(|| ApiError::bad("Malformed request: missing 'name'"))?;
    let public_key = opt_str(k, "public_key")?;
    let kp = st
        .backend
        .write(|c| c.create_keypair(&u.uuid, name, public_key))?;
    Ok(super::json(
        StatusCode::CREATED,
        &json!({"keypair": {"name": kp.name, "public_key": kp.public_key, "fingerprint": kp.fingerprint, "user_id": kp.user_id}}),
    ))
}

async fn get_keypair(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let v = st.backend.read(|c| {
        c.keypairs_of(&u.uuid)
            .find(|k| k.name == name)
            .map(|k| json!({"keypair": {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint, "user_id": k.user_id}}))
            .ok_or_else(|| ApiError::not_found(format!("Key pair '{name}' not found")))
    })?;
    Ok(super::json(StatusCode::OK, &v))
}

async fn delete_keypair(
    State(st): State<AppState>,
    Auth(u): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    st.backend.write(|c| c.delete_keypair(&u.uuid, &name))?;
    Ok(empty(StatusCode::NO_CONTENT))
}
