//! API errors: `{"error": {"kind": "...", "message": "..."}}` with a fitting HTTP status.
//!
//! A cloud error keeps its kind (`not-found`, `quota-exceeded`, …); a sandbox failure keeps its
//! label (`trap`, `timeout`, `cpu-budget`, …). The cloud refusing the *host's* credentials is a
//! gateway problem (502), not the API user's: their bearer token was fine.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use connector_runtime::client::Client;
use connector_runtime::error::{CallError, ErrorKind};
use serde::Serialize;
use std::borrow::Cow;

/// An error as the API reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub kind: Cow<'static, str>,
    pub message: String,
    /// Seconds a client should wait before trying again (`Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One constructor per kind of error the API itself reports: `ApiError::invalid(message)`, …
macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident => $status:ident, $kind:literal;)*) => {
        impl ApiError {
            $(
                $(#[$doc])*
                pub fn $name(message: impl Into<String>) -> Self {
                    Self::new(StatusCode::$status, $kind, message)
                }
            )*
        }
    };
}

kinds! {
    /// The request is wrong; the message says how.
    invalid => BAD_REQUEST, "invalid";
    not_found => NOT_FOUND, "not-found";
    conflict => CONFLICT, "conflict";
    unauthenticated => UNAUTHORIZED, "unauthenticated";
    forbidden => FORBIDDEN, "forbidden";
    /// A component swap refused by validation; the old version keeps serving.
    rejected => UNPROCESSABLE_ENTITY, "rejected";
    internal => INTERNAL_SERVER_ERROR, "internal";
    /// The caller has as much work in flight as it may.
    too_many => TOO_MANY_REQUESTS, "too-many";
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: Cow::Borrowed(kind),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A connector call's error, with the status its kind deserves.
    pub fn from_call(e: &CallError) -> Self {
        ApiError {
            status: call_status(e),
            kind: Cow::Borrowed(e.label()),
            message: e.to_string(),
            retry_after: call_retry_after(e),
        }
    }

    /// An orchestration error: the connector call inside it (if any) decides status and kind,
    /// the message is the whole chain (what was being done, and why it failed).
    pub fn from_anyhow(e: &anyhow::Error) -> Self {
        let message = format!("{e:#}");
        if let Some(call) = e.chain().find_map(|c| c.downcast_ref::<CallError>()) {
            return ApiError {
                status: call_status(call),
                kind: Cow::Borrowed(call.label()),
                message,
                retry_after: call_retry_after(call),
            };
        }
        if message.contains("timed out after") {
            return Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message);
        }
        // A VM that went to the cloud's error state, was deleted meanwhile, …
        Self::new(StatusCode::BAD_GATEWAY, "failed", message)
    }

    /// Removes the connector's secrets (its cloud token…) from the message, whatever produced it.
    pub fn redacted(mut self, client: &Client) -> Self {
        self.message = client.connector().redact(&self.message);
        self
    }
}

fn call_status(e: &CallError) -> StatusCode {
    match e {
        CallError::Cloud(c) => match c.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
            // The cloud refused the host's credentials, or answered nonsense: a gateway problem.
            ErrorKind::Unauthorized | ErrorKind::Transport | ErrorKind::Protocol => {
                StatusCode::BAD_GATEWAY
            }
        },
        CallError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        // The host itself is full: the caller should come back shortly.
        CallError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        CallError::Trap { .. }
        | CallError::CpuBudget { .. }
        | CallError::Memory { .. }
        | CallError::Instantiate { .. } => StatusCode::BAD_GATEWAY,
    }
}

/// `Retry-After` (whole seconds, at least one) when the host or the cloud said how long to wait.
fn call_retry_after(e: &CallError) -> Option<u64> {
    let wait = match e {
        CallError::Busy { retry_after, .. } => Some(*retry_after),
        CallError::Cloud(c) => c.retry_after,
        _ => None,
    }?;
    Some(wait.as_secs_f64().ceil().max(1.0) as u64)
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        ApiError::from_call(&e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let unauthenticated = status == StatusCode::UNAUTHORIZED;
        let retry_after = self.retry_after;
        let mut response =
            (status, axum::Json(serde_json::json!({ "error": self }))).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"connector-host\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_runtime::error::CloudError;

    fn cloud(kind: ErrorKind) -> CallError {
        CallError::Cloud(CloudError {
            kind,
            message: "m".into(),
            retry_after: None,
        })
    }

    #[test]
    fn cloud_kinds_map_to_statuses() {
        assert_eq!(
            ApiError::from_call(&cloud(ErrorKind::NotFound)).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from_call(&cloud(ErrorKind::Invalid)).status,
            StatusCode::BAD_REQUEST
        );
        let e = ApiError::from_call(&cloud(ErrorKind::Unauthorized));
        assert_eq!(
            (e.status, e.kind.as_ref()),
            (StatusCode::BAD_GATEWAY, "unauthorized")
        );
        let e = ApiError::from_call(&cloud(ErrorKind::QuotaExceeded));
        assert_eq!(
            (e.status, e.kind.as_ref()),
            (StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded")
        );
    }

    #[test]
    fn the_call_inside_an_orchestration_error_decides() {
        let e = anyhow::Error::new(cloud(ErrorKind::Conflict)).context("cannot resize VM 1");
        let api = ApiError::from_anyhow(&e);
        assert_eq!(
            (api.status, api.kind.as_ref()),
            (StatusCode::CONFLICT, "conflict")
        );
        assert!(
            api.message.starts_with("cannot resize VM 1: "),
            "{}",
            api.message
        );
        let e = anyhow::anyhow!("timed out after 1s waiting for VM 1 to be running");
        assert_eq!(
            ApiError::from_anyhow(&e).status,
            StatusCode::GATEWAY_TIMEOUT
        );
    }
}
