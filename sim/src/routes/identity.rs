//! Identity (`/identity/v2.0/tokens`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use crate::backend::identity::Credentials;
use crate::error::{ApiError, ApiResult};
use crate::routes::render::{iso, json};
use crate::routes::table::{ROOT, post};
use crate::state::AppState;

/// Identity and account routes.
pub fn routes() -> Router<AppState> {
    ROOT.table([("/identity/v2.0/tokens", post(tokens))])
}

/// The service catalog, pointing every service at this simulator.
pub fn catalog(base: &str) -> Value {
    let svc = |name: &str, kind: &str, version: &str, url: String| {
        json!({
            "name": name,
            "type": kind,
            "endpoints_links": [],
            "endpoints": [{
                "versionId": version,
                "publicURL": url,
                "region": "default",
                "SNF:uiURL": format!("{base}/ui"),
            }],
        })
    };
    json!([
        svc(
            "cyclades_compute",
            "compute",
            "v2.0",
            format!("{base}/compute/v2.0")
        ),
        svc(
            "cyclades_plankton",
            "image",
            "v1.0",
            format!("{base}/image")
        ),
        svc(
            "cyclades_network",
            "network",
            "v2.0",
            format!("{base}/network")
        ),
        svc(
            "cyclades_volume",
            "volume",
            "v2.0",
            format!("{base}/volume")
        ),
        svc(
            "astakos_account",
            "account",
            "v1.0",
            format!("{base}/account/v1.0")
        ),
        svc(
            "astakos_identity",
            "identity",
            "v2.0",
            format!("{base}/identity/v2.0")
        ),
        svc(
            "pithos_object-store",
            "object-store",
            "v1",
            format!("{base}/object-store/v1")
        ),
    ])
}

fn credentials(body: &Value) -> ApiResult<Credentials> {
    let auth = body
        .get("auth")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::bad("Malformed request: missing credentials"))?;
    let mut c = Credentials {
        tenant_name: auth
            .get("tenantName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        ..Default::default()
    };
    if let Some(t) = auth
        .get("token")
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
    {
        c.token = Some(t.to_string());
    } else if let Some(pc) = auth.get("passwordCredentials") {
        c.username = pc
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_string);
        c.token = pc
            .get("password")
            .and_then(Value::as_str)
            .map(str::to_string);
        if c.username.is_none() {
            c.token = None;
        }
    }
    Ok(c)
}

async fn tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let base = state.base_url_for(&headers);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json(
            StatusCode::OK,
            &json!({"access": {"serviceCatalog": catalog(&base)}}),
        ));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad("Could not decode request body as JSON"))?;
    let creds = credentials(&value)?;
    let user = state.backend.read(|c| c.issue_token(&creds))?;
    let expires = Utc::now() + chrono::TimeDelta::days(30);
    Ok(json(
        StatusCode::OK,
        &json!({"access": {
            "token": {
                "id": user.token,
                "expires": iso(&expires),
                "tenant": {"id": user.uuid, "name": user.name},
            },
            "user": {
                "id": user.uuid,
                "name": user.name,
                "roles": [{"id": "1", "name": "default"}],
                "roles_links": [],
                "projects": [user.uuid],
            },
            "serviceCatalog": catalog(&base),
        }}),
    ))
}
