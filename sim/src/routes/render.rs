//! Writing answers the way Synnefo spells them: JSON with its content type, empty
//! bodies, 405s per service, timestamps, `links`, and lists that answer 304 to a
//! `changes-since` poll when nothing changed.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::backend::model::{Image, ImageStatus, Time};
use crate::error::{ApiError, ApiResult};

/// A JSON response with Synnefo's content type.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => bytes_json(bytes, status),
        Err(e) => ApiError::Internal(format!("serializing response: {e}")).into_response(),
    }
}

/// Already serialized JSON (cached or built under the backend lock) as a response.
pub fn bytes_json(bytes: impl Into<Body>, status: StatusCode) -> Response {
    let mut r = (status, bytes.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

/// Serializes `value` into bytes, for answers built while the backend is locked.
pub fn to_bytes<T: Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// An empty response (204, 202 without body, 304).
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// `{"<key>": list}`, or an empty 304 when a `changes-since` poll finds no change.
pub fn list_or_not_modified(key: &str, list: Vec<Value>, since: Option<Time>) -> Response {
    if since.is_some() && list.is_empty() {
        return empty(StatusCode::NOT_MODIFIED);
    }
    json(StatusCode::OK, &json!({ key: list }))
}

/// A 405 with this `Allow` header: a JSON `notAllowed` fault (compute, network,
/// identity) or an empty body (volume, image).
pub fn not_allowed(
    allow: String,
    empty_body: bool,
) -> impl Fn() -> std::future::Ready<ApiError> + Clone {
    move || {
        std::future::ready(ApiError::NotAllowed {
            allow: allow.clone(),
            empty_body,
        })
    }
}

/// Synnefo's timestamp format.
pub fn iso(t: &Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// One entry of a record's `links`.
#[derive(Serialize)]
pub struct Link {
    rel: &'static str,
    href: String,
}

/// The `self` and `bookmark` links of `<base><prefix>/<kind>/<id>` (they are equal).
pub fn links(base: &str, prefix: &str, kind: &str, id: &dyn std::fmt::Display) -> [Link; 2] {
    let href = format!("{base}{prefix}/{kind}/{id}");
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

/// An image's status as a service spells it: each names saving and active its own way
/// (`SAVING`/`CREATING`, `ACTIVE`/`AVAILABLE`), and error and deletion alike.
pub fn image_status(img: &Image, saving: &'static str, active: &'static str) -> &'static str {
    match img.status {
        ImageStatus::Saving => saving,
        ImageStatus::Active => active,
        ImageStatus::Error => "ERROR",
        ImageStatus::Deleted => "DELETED",
    }
}

/// How far an image (or snapshot) is saved: by the clock while saving, 100 once
/// active, else 0.
pub fn image_progress(now: Time, img: &Image) -> u8 {
    match (img.status, img.due) {
        (ImageStatus::Saving, Some(due)) => progress(now, img.created, due),
        (ImageStatus::Active, _) => 100,
        _ => 0,
    }
}

/// How far a job is, 0–99 % while it runs (100 is for done, decided by the caller).
pub fn progress(now: Time, started: Time, due: Time) -> u8 {
    let total = (due - started).num_milliseconds().max(1) as f64;
    let done = (now - started).num_milliseconds().max(0) as f64;
    ((done / total) * 100.0).clamp(0.0, 99.0) as u8
}
