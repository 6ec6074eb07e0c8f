//! The layers around the Synnefo routes: request counting and Synnefo's cache headers
//! (outermost), fault injection (around the services only, never `/_sim`), and the
//! 400 every unknown URL gets.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::faults::{ConnKill, FaultKind};
use crate::metrics::normalize;
use crate::state::AppState;

/// Synnefo answers an unknown URL with 400, not 404.
pub async fn endpoint_not_found() -> ApiError {
    ApiError::bad("API endpoint not found")
}

/// Counts every request (and apart, those with `changes-since` and their 304s), and adds
/// Synnefo's `Vary` and `Cache-Control` to service replies.
pub async fn count_and_headers(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let key = normalize(req.method().as_str(), req.uri().path());
    state.metrics.record(&key);
    let is_admin = req.uri().path().starts_with("/_sim");
    let since = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("changes-since=")));
    let mut resp = next.run(req).await;
    if since {
        let not_modified = resp.status() == axum::http::StatusCode::NOT_MODIFIED;
        state.metrics.record_changes_since(&key, not_modified);
    }
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

fn unavailable() -> Response {
    ApiError::ServiceUnavailable("Service Unavailable (injected fault)".into()).into_response()
}

/// Closes the connection without a reply: the accept loop does it when `kill` fires,
/// and this request never answers. Without the loop (in-process tests), a 503.
async fn cut(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => {
            k.fire();
            std::future::pending().await
        }
        None => unavailable(),
    }
}

/// Applies the injector's decision to one Synnefo request (never to `/_sim`).
pub async fn inject_faults(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = normalize(req.method().as_str(), req.uri().path());
    let (delay, kind) = state.faults.decide(&key);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    match kind {
        FaultKind::None => next.run(req).await,
        FaultKind::Unavailable => {
            let mut resp = unavailable();
            let after = state.faults.retry_after_s(&key);
            if after > 0 {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(after));
            }
            resp
        }
        FaultKind::Drop => cut(kill).await,
        FaultKind::LostReply => {
            let resp = next.run(req).await;
            drop(resp);
            cut(kill).await
        }
        FaultKind::Malformed => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let truncated = if bytes.len() > 1 {
                bytes.slice(..bytes.len() / 2)
            } else {
                axum::body::Bytes::from_static(b"{\"")
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            );
            Response::from_parts(parts, Body::from(truncated))
        }
    }
}
