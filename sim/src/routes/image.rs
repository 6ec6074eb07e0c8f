//! Plankton routes (`/image/v1.0`): list, register, read as headers, update (publish),
//! delete, members. Wrong methods answer 405 with an empty body.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::backend::images::RegisterImage;
use crate::backend::model::{Image, ImageStatus};
use crate::error::{ApiError, ApiResult};
use crate::routes::ctx::Ctx;
use crate::routes::extract::{ListView, PathBody};
use crate::routes::fields::query_param;
use crate::routes::render::{image_status, iso, json};
use crate::routes::table::{IMAGE, get, put};
use crate::state::AppState;

/// Plankton routes.
pub fn routes() -> Router<AppState> {
    IMAGE.table([
        ("/images/", get(list_images).post(register)),
        ("/images", get(list_images).post(register)),
        ("/images/detail", get(list_images)),
        (
            "/images/{id}",
            get(get_image).head().put(update_image).delete(delete_image),
        ),
        (
            "/images/{id}/members",
            get(list_members).put(replace_members),
        ),
        (
            "/images/{id}/members/{member}",
            put(add_member).delete(remove_member),
        ),
    ])
}

fn status(img: &Image) -> &'static str {
    image_status(img, "SAVING", "AVAILABLE")
}

/// The Plankton record of an image.
pub fn image_view(img: &Image, detail: bool) -> Value {
    if !detail {
        return json!({
            "id": img.id, "name": img.name, "container_format": img.container_format,
            "disk_format": img.disk_format, "size": img.size, "status": status(img),
        });
    }
    json!({
        "id": img.id,
        "name": img.name,
        "status": status(img),
        "is_public": img.is_public,
        "is_snapshot": img.snapshot.is_some(),
        "owner": img.owner,
        "created_at": iso(&img.created),
        "updated_at": iso(&img.updated),
        "deleted_at": if img.status == ImageStatus::Deleted { iso(&img.updated) } else { String::new() },
        "disk_format": img.disk_format,
        "container_format": img.container_format,
        "size": img.size,
        "checksum": format!("{:064x}", fxhash(&img.id)),
        "location": img.location,
        "properties": img.properties,
    })
}

fn fxhash(s: &str) -> u128 {
    s.bytes().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x100000001b3)
    })
}

fn image_headers(img: &Image) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |k: String, v: String| {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::from_str(&v)) {
            h.insert(k, v);
        }
    };
    put("x-image-meta-id".into(), img.id.clone());
    put("x-image-meta-name".into(), img.name.clone());
    put("x-image-meta-status".into(), status(img).into());
    put("x-image-meta-is-public".into(), img.is_public.to_string());
    put("x-image-meta-owner".into(), img.owner.clone());
    put("x-image-meta-size".into(), img.size.to_string());
    put("x-image-meta-disk-format".into(), img.disk_format.clone());
    put(
        "x-image-meta-container-format".into(),
        img.container_format.clone(),
    );
    put("x-image-meta-location".into(), img.location.clone());
    put("x-image-meta-created-at".into(), iso(&img.created));
    put("x-image-meta-updated-at".into(), iso(&img.updated));
    put(
        "x-image-meta-is-snapshot".into(),
        img.snapshot.is_some().to_string(),
    );
    for (k, v) in &img.properties {
        put(
            format!("x-image-meta-property-{}", k.to_ascii_lowercase()),
            v.clone(),
        );
    }
    h
}

/// Plankton answers with the record in the body and again as `X-Image-Meta-*` headers.
fn image_reply(img: &Image) -> Response {
    let mut r = json(StatusCode::OK, &json!({"image": image_view(img, true)}));
    r.headers_mut().extend(image_headers(img));
    r
}

/// `GET /images/` and `GET /images/detail`, with Plankton's filters and sorting.
async fn list_images(cx: Ctx, RawQuery(q): RawQuery, view: ListView) -> ApiResult<Response> {
    let q = q.as_deref();
    let name = query_param(q, "name");
    let disk_format = query_param(q, "disk_format");
    let container_format = query_param(q, "container_format");
    let status_f = query_param(q, "status");
    let size_min = query_param(q, "size_min").and_then(|s| s.parse::<u64>().ok());
    let size_max = query_param(q, "size_max").and_then(|s| s.parse::<u64>().ok());
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
        return Err(ApiError::bad("Invalid sort_key"));
    }
    if sort_dir != "asc" && sort_dir != "desc" {
        return Err(ApiError::bad("Invalid sort_dir"));
    }
    let mut imgs: Vec<Image> = cx.read(|c, u| {
        c.images_of(u, None)
            .filter(|i| name.as_ref().is_none_or(|n| &i.name == n))
            .filter(|i| disk_format.as_ref().is_none_or(|n| &i.disk_format == n))
            .filter(|i| {
                container_format
                    .as_ref()
                    .is_none_or(|n| &i.container_format == n)
            })
            .filter(|i| {
                status_f
                    .as_ref()
                    .is_none_or(|s| status(i).eq_ignore_ascii_case(s))
            })
            .filter(|i| size_min.is_none_or(|m| i.size >= m))
            .filter(|i| size_max.is_none_or(|m| i.size <= m))
            .cloned()
            .collect()
    });
    imgs.sort_by(|a, b| {
        let o = match sort_key.as_str() {
            "id" => a.id.cmp(&b.id),
            "name" => a.name.cmp(&b.name),
            "status" => status(a).cmp(status(b)),
            "size" => a.size.cmp(&b.size),
            "disk_format" => a.disk_format.cmp(&b.disk_format),
            "container_format" => a.container_format.cmp(&b.container_format),
            "updated_at" => a.updated.cmp(&b.updated),
            _ => a.created.cmp(&b.created),
        };
        if sort_dir == "asc" { o } else { o.reverse() }
    });
    let list: Vec<Value> = imgs.iter().map(|i| image_view(i, view.detail)).collect();
    Ok(json(StatusCode::OK, &json!({"images": list})))
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn properties(h: &HeaderMap) -> BTreeMap<String, String> {
    h.iter()
        .filter_map(|(k, v)| {
            let k = k.as_str().strip_prefix("x-image-meta-property-")?;
            Some((k.to_ascii_uppercase(), v.to_str().ok()?.to_string()))
        })
        .collect()
}

fn parse_bool(s: &str) -> ApiResult<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::bad(format!("Invalid boolean value '{s}'"))),
    }
}

async fn register(cx: Ctx, h: HeaderMap) -> ApiResult<Response> {
    let req = RegisterImage {
        name: header(&h, "x-image-meta-name").unwrap_or_default(),
        location: header(&h, "x-image-meta-location")
            .ok_or_else(|| ApiError::bad("Missing location (X-Image-Meta-Location)"))?,
        disk_format: header(&h, "x-image-meta-disk-format"),
        container_format: header(&h, "x-image-meta-container-format"),
        is_public: header(&h, "x-image-meta-is-public")
            .map(|s| parse_bool(&s))
            .transpose()?
            .unwrap_or(false),
        size: header(&h, "x-image-meta-size").and_then(|s| s.parse().ok()),
        properties: properties(&h),
    };
    let img = cx.write(|c, u| {
        let id = c.register_image(u, req)?;
        c.image(u, &id).cloned()
    })?;
    Ok(image_reply(&img))
}

async fn get_image(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let img = cx.read(|c, u| c.image(u, &id).cloned())?;
    Ok(image_reply(&img))
}

async fn update_image(cx: Ctx, Path(id): Path<String>, h: HeaderMap) -> ApiResult<Response> {
    let name = header(&h, "x-image-meta-name");
    let is_public = header(&h, "x-image-meta-is-public")
        .map(|s| parse_bool(&s))
        .transpose()?;
    let props = properties(&h);
    let props = (!props.is_empty()).then_some(props);
    let img = cx.write(|c, u| {
        c.update_image(u, &id, name, is_public, props)?;
        c.image(u, &id).cloned()
    })?;
    Ok(image_reply(&img))
}

/// Deletes an image (owner only); compute's `DELETE /images/<id>` is this same handler.
pub(crate) async fn delete_image(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    cx.write_empty(StatusCode::NO_CONTENT, |c, u| c.delete_image(u, &id))
}

async fn list_members(cx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let members = cx.read(|c, u| c.image(u, &id).map(|i| i.members.clone()))?;
    let list: Vec<Value> = members
        .iter()
        .map(|m| json!({"member_id": m, "can_share": false}))
        .collect();
    Ok(json(StatusCode::OK, &json!({"members": list})))
}

async fn replace_members(cx: Ctx, PathBody(id, b): PathBody<String>) -> ApiResult<Response> {
    let list = b
        .get("memberships")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad("Malformed request: missing 'memberships'"))?
        .iter()
        .map(|m| {
            m.get("member_id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ApiError::bad("Malformed membership"))
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
