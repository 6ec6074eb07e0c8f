//! One error type per Synnefo API fault, rendered exactly like Synnefo renders them:
//! `{"<faultName>":{"code":N,"message":"…","details":"…"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A Synnefo API fault. Backends return these; routes turn them into responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 `badRequest`: malformed input, wrong state, unknown URL, deleted resource.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401 `unauthorized`: missing or invalid token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403 `forbidden`.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404 `itemNotFound`: unknown, or owned by someone else.
    #[error("not found: {0}")]
    ItemNotFound(String),
    /// 404 `featureNotEnabled` with an empty message (`faults.FeatureNotEnabled`, raised by
    /// Cyclades' `feature_enabled` decorator for a feature the deployment turned off).
    #[error("feature not enabled")]
    FeatureNotEnabled,
    /// 405 `notAllowed` with an `Allow` header; `empty_body` for the volume and image services.
    #[error("method not allowed")]
    NotAllowed {
        /// Value of the `Allow` header.
        allow: String,
        /// Volume and image services answer 405 with no body.
        empty_body: bool,
    },
    /// 409 `conflict`.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409 `buildInProgress`.
    #[error("build in progress: {0}")]
    BuildInProgress(String),
    /// 413 `overLimit` (quota or personality limits).
    #[error("over limit: {message} {details}")]
    OverLimit {
        /// Short message.
        message: String,
        /// Which limit and by how much.
        details: String,
    },
    /// 501 `notImplemented`.
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// 503 `serviceUnavailable`.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
    /// 500 `internalServerError` (state file could not be written, …).
    #[error("internal server error: {0}")]
    Internal(String),
}

/// Shorthand used by backends.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// 400 with a message.
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    /// 404 with a message.
    pub fn not_found(msg: impl Into<String>) -> Self {
        ApiError::ItemNotFound(msg.into())
    }

    /// The quota fault, worded as Synnefo words it.
    pub fn quota(resource: &str, available: u64, requested: u64) -> Self {
        ApiError::OverLimit {
            message: "Resource Limit Exceeded for your account.".into(),
            details: format!(
                "Limit for resource '{resource}' exceeded for your account. Available: {available}, Requested: {requested}"
            ),
        }
    }

    /// HTTP status of this fault.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::ItemNotFound(_) | ApiError::FeatureNotEnabled => StatusCode::NOT_FOUND,
            ApiError::NotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::BuildInProgress(_) => StatusCode::CONFLICT,
            ApiError::OverLimit { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The key of the fault envelope.
    pub fn fault_name(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "badRequest",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::ItemNotFound(_) => "itemNotFound",
            ApiError::FeatureNotEnabled => "featureNotEnabled",
            ApiError::NotAllowed { .. } => "notAllowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::BuildInProgress(_) => "buildInProgress",
            ApiError::OverLimit { .. } => "overLimit",
            ApiError::NotImplemented(_) => "notImplemented",
            ApiError::ServiceUnavailable(_) => "serviceUnavailable",
            ApiError::Internal(_) => "internalServerError",
        }
    }

    /// The `{"faultName":{…}}` body.
    pub fn body(&self) -> serde_json::Value {
        let (message, details) = match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::ItemNotFound(m)
            | ApiError::Conflict(m)
            | ApiError::BuildInProgress(m)
            | ApiError::NotImplemented(m)
            | ApiError::ServiceUnavailable(m)
            | ApiError::Internal(m) => (m.clone(), String::new()),
            ApiError::NotAllowed { .. } => ("Method not allowed".to_string(), String::new()),
            ApiError::FeatureNotEnabled => (String::new(), String::new()),
            ApiError::OverLimit { message, details } => (message.clone(), details.clone()),
        };
        serde_json::json!({
            self.fault_name(): {
                "code": self.status().as_u16(),
                "message": message,
                "details": details,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = match &self {
            ApiError::NotAllowed {
                empty_body: true, ..
            } => (status, axum::body::Body::empty()).into_response(),
            _ => {
                let body = serde_json::to_vec(&self.body()).unwrap_or_default();
                let mut r = (status, body).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=UTF-8"),
                );
                r
            }
        };
        if let ApiError::NotAllowed { allow, .. } = &self
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        resp
    }
}
