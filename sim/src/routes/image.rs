//! Plankton routes (`/image/v1.0`): list, register, read as headers, update (publish),
//! delete, members. Wrong methods answer 405 with an empty body.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::backend::images::{
    CONTAINER_FORMATS, DISK_FORMATS, RegisterImage, UpdateImage, image_checksum, split_url,
};
use crate::backend::model::{Image, Time};
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::{ListView, PathBody};
use crate::routes::fields::query_param;
use crate::routes::render::json;
use crate::routes::table::{IMAGE, get, put};
use crate::state::AppState;

/// Plankton routes (`plankton/urls.py`).
pub fn routes() -> Router<AppState> {
    IMAGE.table([
        ("/images/", get(list_images).post(register)),
        ("/images", get(list_images).post(register)),
        // plankton/urls.py: `detail` and `shared-images` go straight to their
        // `api_method` views; `demux_members` names DELETE before PUT.
        ("/images/detail", get(list_images).single_view()),
        (
            "/images/{id}",
            get(get_image)
                .head_with(get_image_meta)
                .put(update_image)
                .delete(delete_image),
        ),
        (
            "/images/{id}/members",
            get(list_members).put(replace_members),
        ),
        (
            "/images/{id}/members/{member}",
            put(add_member)
                .delete(remove_member)
                .allow_only(&["DELETE", "PUT"]),
        ),
        (
            "/shared-images/{member}",
            get(list_shared_images).single_view(),
        ),
    ])
}

/// `image_to_dict`'s status: the Pithos map's state (or a status an update gave), not
/// yet mapped for the API.
fn raw_status(img: &Image) -> &str {
    img.object_status()
}

/// views.py `_create_image_response`: `API_STATUS_FROM_IMAGE_STATUS.get(val.upper(),
/// "UNKNOWN")`, used only for the `X-Image-Meta-Status` header.
fn header_status(img: &Image) -> &'static str {
    match img.object_status().to_uppercase().as_str() {
        "AVAILABLE" => "AVAILABLE",
        "UNAVAILABLE" => "SAVING",
        "ERROR" => "ERROR",
        "DELETED" => "DELETED",
        _ => "UNKNOWN",
    }
}

/// backend.py `format_timestamp`: `strftime('%Y-%m-%d %H:%M:%S', gmtime(t))`.
fn timestamp(t: &Time) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The Plankton record of an image (`image_to_dict` cut to views.py `LIST_FIELDS` or
/// `DETAIL_FIELDS`; `description` only when the image has one, which the simulator's never do).
pub fn image_view(img: &Image, detail: bool) -> Value {
    if !detail {
        return json!({
            "id": img.id, "name": img.name, "container_format": img.container_format,
            "disk_format": img.disk_format, "size": img.size, "status": raw_status(img),
        });
    }
    json!({
        "id": img.id,
        "name": img.name,
        "status": raw_status(img),
        "is_public": img.is_public,
        "is_snapshot": img.snapshot.is_some(),
        "owner": img.owner,
        "created_at": timestamp(&img.created),
        "updated_at": timestamp(&img.updated),
        "deleted_at": "",
        "disk_format": img.disk_format,
        "container_format": img.container_format,
        "size": img.size,
        "checksum": image_checksum(&img.id),
        "location": img.location,
        "properties": img.properties,
    })
}

/// Python 2's `urllib.quote(s)`: letters, digits, `_.-` and `/` stay, every other UTF-8
/// byte becomes `%XX`.
pub fn py_quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Python 2's `urllib.unquote`: `%XX` with two hex digits becomes the byte, the rest stays.
fn py_unquote(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|b| hex(*b)),
                s.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// views.py `_create_image_response`: every `DETAIL_FIELDS` key as `x-image-meta-<key>`
/// (`_` → `-`), name, description and properties quoted, Python's `str()` of the rest
/// (`True`/`False`), status through `API_STATUS_FROM_IMAGE_STATUS`, and no body.
fn image_response(img: &Image) -> Response {
    let mut h = HeaderMap::new();
    let mut put = |k: String, v: String| {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::from_str(&v)) {
            h.insert(k, v);
        }
    };
    let py_bool = |b: bool| if b { "True" } else { "False" }.to_string();
    put("x-image-meta-name".into(), py_quote(&img.name));
    put("x-image-meta-disk-format".into(), img.disk_format.clone());
    put(
        "x-image-meta-container-format".into(),
        img.container_format.clone(),
    );
    put("x-image-meta-size".into(), img.size.to_string());
    put("x-image-meta-checksum".into(), image_checksum(&img.id));
    put("x-image-meta-location".into(), img.location.clone());
    put("x-image-meta-created-at".into(), timestamp(&img.created));
    put("x-image-meta-updated-at".into(), timestamp(&img.updated));
    put("x-image-meta-deleted-at".into(), String::new());
    put("x-image-meta-status".into(), header_status(img).into());
    put("x-image-meta-is-public".into(), py_bool(img.is_public));
    put("x-image-meta-owner".into(), img.owner.clone());
    for (k, v) in &img.properties {
        put(
            py_quote(&format!("x-image-meta-property-{}", k.replace('_', "-"))),
            py_quote(v),
        );
    }
    put("x-image-meta-id".into(), img.id.clone());
    put(
        "x-image-meta-is-snapshot".into(),
        py_bool(img.snapshot.is_some()),
    );
    put("x-image-meta-description".into(), String::new());
    let mut r = StatusCode::OK.into_response();
    r.headers_mut().extend(h);
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// views.py `FILTERS` and `PARAMS` validation of `list_images`. The filters themselves are
/// not applied: `PlanktonBackend._list_images` leaves them as a TODO since grnet/synnefo
/// 96a3cbf62 (2013), so every visible image is listed whatever they say.
async fn list_images(cx: Ctx, RawQuery(q): RawQuery, view: ListView) -> ApiResult<Response> {
    let q = q.as_deref();
    let sort_key = query_param(q, "sort_key").unwrap_or_else(|| "created_at".into());
    let sort_dir = query_param(q, "sort_dir").unwrap_or_else(|| "desc".into());
    if ![
        "id",
        "name",
        "status",
        "size",
        "disk_format",
        "container_format",
        "created_at",
        "updated_at",
    ]
    .contains(&sort_key.as_str())
    {
        return Err(ApiError::bad("Invalid 'sort_key'"));
    }
    if sort_dir != "asc" && sort_dir != "desc" {
        return Err(ApiError::bad("Invalid 'sort_dir'"));
    }
    for f in ["size_max", "size_min"] {
        if let Some(v) = query_param(q, f)
            && v.trim().parse::<i64>().is_err()
        {
            return Err(ApiError::bad("Malformed request."));
        }
    }
    let mut imgs: Vec<Image> = cx.read(|c, u| c.images_of(u, None).cloned().collect());
    // `images.sort(key=itemgetter(sort_key), reverse=…)`: stable either way.
    imgs.sort_by(|a, b| {
        let o = match sort_key.as_str() {
            "id" => a.id.cmp(&b.id),
            "name" => a.name.cmp(&b.name),
            "status" => raw_status(a).cmp(raw_status(b)),
            "size" => a.size.cmp(&b.size),
            "disk_format" => a.disk_format.cmp(&b.disk_format),
            "container_format" => a.container_format.cmp(&b.container_format),
            "updated_at" => timestamp(&a.updated).cmp(&timestamp(&b.updated)),
            _ => timestamp(&a.created).cmp(&timestamp(&b.created)),
        };
        if sort_dir == "asc" { o } else { o.reverse() }
    });
    let list: Vec<Value> = imgs.iter().map(|i| image_view(i, view.detail)).collect();
    Ok(json(StatusCode::OK, &json!({"images": list})))
}

/// views.py `PLANKTON_FIELDS`: the only `X-Image-Meta-*` keys read (others are dropped).
const PLANKTON_FIELDS: [&str; 17] = [
    "name",
    "disk_format",
    "container_format",
    "size",
    "checksum",
    "location",
    "created_at",
    "updated_at",
    "deleted_at",
    "status",
    "is_public",
    "owner",
    "properties",
    "id",
    "is_snapshot",
    "description",
    "store",
];

/// The parameters `headers_to_image_params` reads.
#[derive(Default)]
struct Params {
    fields: BTreeMap<String, String>,
    properties: BTreeMap<String, String>,
}

impl Params {
    fn keys_within(&self, allowed: &[&str]) -> bool {
        self.fields.keys().all(|k| allowed.contains(&k.as_str()))
    }
    fn take(&mut self, k: &str) -> Option<String> {
        self.fields.remove(k)
    }
}

/// views.py `headers_to_image_params`: header names as WSGI gives them (`-` → `_`),
/// unquoted (properties), lowercased with every ASCII punctuation mark turned into `_`;
/// names and property values unquoted; `is_public` true only for `true` in any case.
fn headers_to_image_params(h: &HeaderMap) -> ApiResult<Params> {
    let undecodable = || ApiError::bad("Could not decode request as UTF-8 string");
    let normalize = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_punctuation() {
                    "_".to_string()
                } else {
                    c.to_lowercase().to_string()
                }
            })
            .collect()
    };
    let mut p = Params::default();
    for (k, v) in h {
        let Some(key) = k.as_str().strip_prefix("x-image-meta-") else {
            continue;
        };
        let key = key.replace('-', "_");
        if let Some(prop) = key.strip_prefix("property_") {
            let name = String::from_utf8(py_unquote(prop.as_bytes())).map_err(|_| undecodable())?;
            let val = String::from_utf8(py_unquote(v.as_bytes())).map_err(|_| undecodable())?;
            p.properties.insert(normalize(&name), val);
            continue;
        }
        let key = normalize(&key);
        if !PLANKTON_FIELDS.contains(&key.as_str()) || key == "properties" {
            continue;
        }
        let raw = v.as_bytes();
        let val = if key == "name" {
            String::from_utf8(py_unquote(raw)).map_err(|_| undecodable())?
        } else {
            String::from_utf8_lossy(raw).into_owned()
        };
        p.fields.insert(key, val);
    }
    Ok(p)
}

fn is_public(v: String) -> bool {
    v.to_lowercase() == "true"
}

/// views.py `validate_fields`.
fn validate_fields(p: &Params) -> ApiResult<()> {
    if p.fields.contains_key("id") {
        return Err(ApiError::bad("Setting the image ID is not supported"));
    }
    if let Some(store) = p.fields.get("store")
        // `STORE_TYPES = ('pithos')` is a string: `in` tests for a substring.
        && !"pithos".contains(store.as_str())
    {
        return Err(ApiError::bad(format!("Invalid store type '{store}'")));
    }
    if let Some(f) = p.fields.get("disk_format")
        && !DISK_FORMATS.contains(&f.as_str())
    {
        return Err(ApiError::bad(format!("Invalid disk format '{f}'")));
    }
    if let Some(f) = p.fields.get("container_format")
        && !CONTAINER_FORMATS.contains(&f.as_str())
    {
        return Err(ApiError::bad(format!("Invalid container format '{f}'")));
    }
    Ok(())
}

/// views.py `add_image`, then `PlanktonBackend.register`; answers with headers only.
async fn register(cx: Ctx, h: HeaderMap) -> ApiResult<Response> {
    const ADD_FIELDS: [&str; 11] = [
        "name",
        "id",
        "store",
        "disk_format",
        "container_format",
        "size",
        "checksum",
        "is_public",
        "owner",
        "properties",
        "location",
    ];
    let mut p = headers_to_image_params(&h)?;
    if !p.keys_within(&ADD_FIELDS) {
        return Err(ApiError::bad("Invalid parameters"));
    }
    let name = p
        .take("name")
        .ok_or_else(|| ApiError::bad("Image 'name' parameter is required"))?;
    if name.is_empty() {
        return Err(ApiError::bad("Invalid image name"));
    }
    let location = p
        .take("location")
        .ok_or_else(|| ApiError::bad("'location' parameter is required"))?;
    let Some((account, container, path)) = split_url(&location) else {
        return Err(ApiError::bad(format!("Invalid location '{location}'")));
    };
    let undecodable = || ApiError::bad("Could not decode request as UTF-8 string");
    let part = |s: &str| -> ApiResult<String> {
        Ok(py_quote(
            &String::from_utf8(py_unquote(s.as_bytes())).map_err(|_| undecodable())?,
        ))
    };
    // backend.py `create_url` of the parts `split_url` unquoted.
    let location = format!(
        "pithos://{}/{}/{}",
        part(account)?,
        part(container)?,
        part(path)?
    );
    validate_fields(&p)?;
    let req = RegisterImage {
        name,
        location,
        store: p.take("store"),
        disk_format: p.take("disk_format"),
        container_format: p.take("container_format"),
        is_public: p.take("is_public").is_some_and(is_public),
        size: p.take("size"),
        checksum: p.take("checksum"),
        properties: std::mem::take(&mut p.properties),
    };
    let img = cx.write(|c, u| {
        let id = c.register_image(u, req)?;
        c.pithos_image(u, &id).cloned()
    })?;
    Ok(image_response(&img))
}

/// views.py `get_image`: downloading an image is not implemented — 501, no body.
async fn get_image() -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}

/// views.py `get_image_meta` (`HEAD`).
async fn get_image_meta(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let img = cx.read(|c, u| c.pithos_image(u, &id).cloned())?;
    Ok(image_response(&img))
}

/// views.py `update_image`: `UPDATE_FIELDS`, `validate_fields`, then the backend.
async fn update_image(cx: Ctx, Path(id): Path<String>, h: HeaderMap) -> ApiResult<Response> {
    const UPDATE_FIELDS: [&str; 7] = [
        "name",
        "disk_format",
        "container_format",
        "is_public",
        "owner",
        "properties",
        "status",
    ];
    let mut p = headers_to_image_params(&h)?;
    if !p.keys_within(&UPDATE_FIELDS) {
        return Err(ApiError::bad("Invalid metadata"));
    }
    validate_fields(&p)?;
    let up = UpdateImage {
        name: p.take("name"),
        disk_format: p.take("disk_format"),
        container_format: p.take("container_format"),
        is_public: p.take("is_public").map(is_public),
        properties: std::mem::take(&mut p.properties),
        status: p.take("status"),
        owner: p.take("owner"),
    };
    let img = cx.write(|c, u| {
        let id = c.update_image(u, &id, up)?;
        c.pithos_image(u, &id).cloned()
    })?;
    Ok(image_response(&img))
}

/// Deletes an image (owner only); compute's `DELETE /images/<id>` is this same handler.
pub(crate) async fn delete_image(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_image(u, &id))
}

async fn list_members(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let members = cx.read(|c, u| c.image_members(u, &id))?;
    let list: Vec<Value> = members
        .iter()
        .map(|m| json!({"member_id": m, "can_share": false}))
        .collect();
    Ok(json(StatusCode::OK, &json!({"members": list})))
}

/// views.py `list_shared_images`: the user's images readable by `member` that are not
/// public and that `member` owns (Synnefo's own reading of the Glance call).
async fn list_shared_images(cx: Ctx, Path(member): Path<String>) -> ApiResult<Response> {
    let list: Vec<Value> = cx.read(|c, u| {
        c.images_of(u, None)
            .filter(|i| !i.is_public && i.owner == member)
            .map(|i| json!({"image_id": i.id, "can_share": false}))
            .collect()
    });
    Ok(json(StatusCode::OK, &json!({"shared_images": list})))
}

/// views.py `update_image_members`: `memberships` a list of objects with a `member_id`.
async fn replace_members(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let list = match b.get("memberships") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad(
                "Malformed request. Missing attribute 'memberships'.",
            ));
        }
        Some(Value::Array(l)) => l,
        Some(_) => {
            return Err(ApiError::bad(
                "Malformed request. Invalid 'memberships' field",
            ));
        }
    };
    let list = list
        .iter()
        .map(|m| {
            let m = m
                .as_object()
                .ok_or_else(|| ApiError::bad("Invalid 'memberships' field"))?;
            match m.get("member_id") {
                None | Some(Value::Null) => Err(ApiError::bad(
                    "Malformed request. Missing attribute 'member_id'.",
                )),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(v) => Ok(v.to_string()),
            }
        })
        .collect::<ApiResult<Vec<_>>>()?;
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| {
        c.set_image_members(u, &id, None, Some(list))
    })
}

/// `PUT` (`add`) or `DELETE` of one member.
fn set_member(cx: Ctx, id: String, member: String, add: bool) -> ApiResult<Response> {
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| {
        c.set_image_members(u, &id, Some((&member, add)), None)
    })
}

async fn add_member(cx: Ctx, Path((id, m)): Path<(String, String)>) -> ApiResult<Response> {
    set_member(cx, id, m, true)
}

async fn remove_member(cx: Ctx, Path((id, m)): Path<(String, String)>) -> ApiResult<Response> {
    set_member(cx, id, m, false)
}
