//! HTTP routes: parse the request, call the backend, serialize the answer. Nothing here
//! decides a rule of the cloud; everything here decides how Synnefo *spells* things.

pub mod admin;
pub mod compute;
pub mod identity;
pub mod image;
pub mod network;
pub mod volume;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::backend::Backend;
use crate::backend::model::Time;
use crate::config::SimUser;
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultInjector;

/// Request counters (total and per normalized endpoint).
#[derive(Debug, Default)]
pub struct Metrics {
    total: AtomicU64,
    per_key: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Total requests served.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Per `"METHOD /normalized/path"`.
    pub fn per_key(&self) -> BTreeMap<String, u64> {
        self.per_key.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn record(&self, key: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.per_key.lock() {
            match m.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    m.insert(key.to_string(), 1);
                }
            }
        }
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        if let Ok(mut m) = self.per_key.lock() {
            m.clear();
        }
    }
}

/// Serialized `servers/detail` bodies by (user uuid, base URL), with the state generation
/// they were made from.
pub(crate) type DetailCache = std::collections::HashMap<(String, String), (u64, axum::body::Bytes)>;

/// Shared state of the HTTP layer.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Resources and rules.
    pub backend: Backend,
    /// Request counters.
    pub metrics: Arc<Metrics>,
    /// Fault injection.
    pub faults: Arc<FaultInjector>,
    /// Public base URL (set once the listener is bound); when unset, derived from `Host`.
    pub base_url: Arc<OnceLock<String>>,
    /// Serialized `servers/detail` per (user, base URL), valid for one state generation.
    pub(crate) detail_cache: Arc<Mutex<DetailCache>>,
}

impl AppState {
    /// State around a backend, no faults, base URL from the `Host` header.
    pub fn new(backend: Backend, faults: FaultInjector) -> Self {
        AppState {
            backend,
            metrics: Arc::new(Metrics::default()),
            faults: Arc::new(faults),
            base_url: Arc::new(OnceLock::new()),
            detail_cache: Arc::default(),
        }
    }

    /// The base URL as clients should see it.
    pub fn base_url_for(&self, headers: &HeaderMap) -> String {
        if let Some(u) = self.base_url.get() {
            return u.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// The whole router: Synnefo services, the admin API under `/_sim/`, and the layers that
/// add Synnefo's headers, count requests and inject faults.
pub fn app(state: AppState) -> Router {
    let synnefo = Router::new()
        .merge(identity::routes())
        .merge(compute::routes())
        .merge(volume::routes())
        .merge(image::routes())
        .merge(network::routes())
        .fallback(endpoint_not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::faults::inject,
        ));
    Router::new()
        .nest("/_sim", admin::routes())
        .merge(synnefo)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_and_headers,
        ))
        .with_state(state)
}

async fn endpoint_not_found() -> ApiError {
    ApiError::bad("API endpoint not found")
}

/// `"METHOD /path"` with numeric and uuid segments replaced by `{id}`.
pub fn normalize(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 8);
    out.push_str(method);
    out.push(' ');
    let trimmed = path.trim_end_matches('/');
    for seg in trimmed.split('/').skip(1) {
        out.push('/');
        let is_id = (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
            || (seg.len() == 36 && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        if is_id {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    if trimmed.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

async fn count_and_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = normalize(req.method().as_str(), req.uri().path());
    state.metrics.record(&key);
    let is_admin = req.uri().path().starts_with("/_sim");
    let mut resp = next.run(req).await;
    if !is_admin {
        let h = resp.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, must-revalidate"),
        );
    }
    resp
}

/// A JSON response with Synnefo's content type.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = (status, bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            );
            r
        }
        Err(e) => ApiError::Internal(format!("serializing response: {e}")).into_response(),
    }
}

/// An empty response (204, 202 without body, 304).
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// 405 for compute, network and identity (JSON body, `Allow` header).
pub fn not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<ApiError> + Clone {
    move || {
        std::future::ready(ApiError::NotAllowed {
            allow: allow.to_string(),
            empty_body: false,
        })
    }
}

/// 405 for volume and image (empty body, `Allow` header).
pub fn not_allowed_empty(allow: &'static str) -> impl Fn() -> std::future::Ready<ApiError> + Clone {
    move || {
        std::future::ready(ApiError::NotAllowed {
            allow: allow.to_string(),
            empty_body: true,
        })
    }
}

/// The authenticated user of a service request (`X-Auth-Token` header or query).
#[derive(Debug, Clone)]
pub struct Auth(pub SimUser);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let header_token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let token = header_token.or_else(|| {
            parts.uri.query().and_then(|q| {
                q.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == "X-Auth-Token").then(|| v.to_string())
                })
            })
        });
        state
            .backend
            .read(|c| c.authenticate(token.as_deref()))
            .map(Auth)
    }
}

/// A JSON request body, with Synnefo's Content-Type rules.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::bad("Could not read request body"))?;
        parse_json_body(ct.as_deref(), &bytes).map(JsonBody)
    }
}

/// Content-Type check and JSON decoding, as Synnefo's `get_json_body` does.
pub fn parse_json_body(content_type: Option<&str>, bytes: &[u8]) -> ApiResult<Value> {
    let Some(ct) = content_type else {
        return Err(ApiError::bad("Missing Content-Type header field"));
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" {
        return Err(ApiError::bad(format!("Unsupported Content-type: '{ct}'")));
    }
    serde_json::from_slice(bytes)
        .map_err(|_| ApiError::bad("Could not decode request body as JSON"))
}

/// The one key of an object envelope (`{"server":{…}}`), else 400.
pub fn envelope<'a>(body: &'a Value, key: &str) -> ApiResult<&'a serde_json::Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::bad(format!("Malformed request: missing or invalid '{key}'")))
}

/// An optional string field (400 when present but not a string).
pub fn opt_str(obj: &serde_json::Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad(format!(
            "Malformed request: '{key}' must be a string"
        ))),
    }
}

/// An optional integer field that may come as a number or a numeric string.
pub fn opt_u64(obj: &serde_json::Map<String, Value>, key: &str) -> ApiResult<Option<u64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_u64(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad(format!("Malformed request: invalid '{key}'"))),
    }
}

/// A number or numeric string as u64.
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An optional boolean (accepts "true"/"false" strings too).
pub fn opt_bool(obj: &serde_json::Map<String, Value>, key: &str) -> ApiResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad(format!("Malformed request: invalid '{key}'"))),
    }
}

/// A string→string map (metadata); 400 on other shapes.
pub fn string_map(v: Option<&Value>, what: &str) -> ApiResult<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(ApiError::bad(format!(
                    "Malformed {what}: values must be strings"
                ))),
            })
            .collect(),
        Some(_) => Err(ApiError::bad(format!(
            "Malformed {what}: must be an object"
        ))),
    }
}

/// Parses an id path segment; a non-numeric id is simply not found.
pub fn parse_id(s: &str, what: &str) -> ApiResult<u64> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("{what} {s} not found")))
}

/// Synnefo's timestamp format.
pub fn iso(t: &Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Parses `changes-since` from a query string: at most an hour old, else 400.
pub fn changes_since(query: Option<&str>) -> ApiResult<Option<Time>> {
    let Some(raw) = query.and_then(|q| {
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "changes-since").then_some(v)
        })
    }) else {
        return Ok(None);
    };
    let decoded = percent_decode(raw);
    let t = DateTime::parse_from_rfc3339(&decoded)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&decoded, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
        })
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&decoded, "%Y-%m-%dT%H:%M:%S").map(|n| n.and_utc())
        })
        .map_err(|_| ApiError::bad("Invalid changes-since parameter."))?;
    if Utc::now() - t > chrono::TimeDelta::seconds(3600) {
        return Err(ApiError::bad("Too old changes-since value."));
    }
    Ok(Some(t))
}

/// Minimal percent-decoding for query values (`%2B`, `+`, `%3A`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            // A literal '+' in an ISO timestamp is usually meant as '+', keep it.
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query parameter (decoded).
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_ids() {
        assert_eq!(
            normalize("GET", "/compute/v2.0/servers/100001/action"),
            "GET /compute/v2.0/servers/{id}/action"
        );
        assert_eq!(
            normalize(
                "GET",
                "/image/v1.0/images/fe31fced-a3cf-49c6-b43b-f58f5235ba45"
            ),
            "GET /image/v1.0/images/{id}"
        );
        assert_eq!(
            normalize("GET", "/image/v1.0/images/"),
            "GET /image/v1.0/images/"
        );
        assert_eq!(normalize("GET", "/"), "GET /");
    }

    #[test]
    fn content_type_rules() {
        assert_eq!(
            parse_json_body(None, b"{}").unwrap_err(),
            ApiError::bad("Missing Content-Type header field")
        );
        assert_eq!(
            parse_json_body(Some("text/plain"), b"{}").unwrap_err(),
            ApiError::bad("Unsupported Content-type: 'text/plain'")
        );
        assert_eq!(
            parse_json_body(Some("application/json"), b"{").unwrap_err(),
            ApiError::bad("Could not decode request body as JSON")
        );
        assert!(parse_json_body(Some("application/json; charset=UTF-8"), b"{}").is_ok());
    }

    #[test]
    fn changes_since_limits() {
        assert!(changes_since(None).unwrap().is_none());
        assert!(changes_since(Some("changes-since=garbage")).is_err());
        let old = (Utc::now() - chrono::TimeDelta::seconds(7200)).to_rfc3339();
        assert!(changes_since(Some(&format!("changes-since={old}"))).is_err());
        let recent = (Utc::now() - chrono::TimeDelta::seconds(10))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert!(
            changes_since(Some(&format!("changes-since={recent}")))
                .unwrap()
                .is_some()
        );
    }
}
