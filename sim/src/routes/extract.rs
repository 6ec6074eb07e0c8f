//! Request extractors: who is asking ([`Auth`]), the JSON body with Synnefo's
//! Content-Type rules ([`JsonBody`], [`PathBody`] with a path parameter first), and
//! which view of a list ([`ListView`]).

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::SimUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// A path parameter, then the JSON body: what `Path<T>` and then [`JsonBody`] extract
/// (and reject) in that order, for a `PUT` or `POST` on one record.
#[derive(Debug, Clone)]
pub struct PathBody<T>(pub T, pub Value);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for PathBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Path(p) = Path::<T>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let req = Request::from_parts(parts, body);
        let JsonBody(b) = JsonBody::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(PathBody(p, b))
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

/// Which view of a collection a list request wants: `GET /servers` (ids, names and
/// links) or `GET /servers/detail` (full records). Both URLs share one handler, which
/// takes this to know which one it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListView {
    /// The `/detail` URL.
    pub detail: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for ListView {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ListView {
            detail: parts.uri.path().ends_with("/detail"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
