//! Admin API under `/_sim/` (no token): reset, timings, faults, quotas, users, state,
//! request counts. Never mixed with the Synnefo routes.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use crate::config::{FaultConfig, QuotaLimits, SimUser, Timings};

/// Admin routes (nested under `/_sim`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { axum::Json(json!({"ok": true})) }))
        .route("/reset", post(reset))
        .route("/timings", get(get_timings).put(set_timings))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/fail_builds", post(fail_builds))
        .route("/quotas", put(set_default_quota))
        .route("/quotas/{project}", put(set_project_quota))
        .route("/users", get(list_users).post(add_user))
        .route("/state", get(dump_state))
        .route("/requests", get(requests))
        .route("/complete", post(complete))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "unknown admin endpoint"})),
            )
        })
}

fn bad(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn reset(State(st): State<AppState>) -> Response {
    match st.backend.reset() {
        Ok(()) => {
            st.metrics.reset();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(format!("{e:#}")),
    }
}

async fn get_timings(State(st): State<AppState>) -> Response {
    axum::Json(st.backend.timings()).into_response()
}

async fn set_timings(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<Timings>(&body) {
        Ok(t) => {
            st.backend.set_timings(t);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(e),
    }
}

async fn get_faults(State(st): State<AppState>) -> Response {
    axum::Json(st.faults.get()).into_response()
}

async fn set_faults(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<FaultConfig>(&body) {
        Ok(f) => {
            if f.fail_builds > 0 {
                st.backend.fail_next_builds(f.fail_builds);
            }
            for n in &f.fail_build_names {
                st.backend.fail_builds_named(n.clone());
            }
            st.faults.set(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct FailBuilds {
    #[serde(default)]
    count: u32,
    #[serde(default)]
    names: Vec<String>,
}

async fn fail_builds(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<FailBuilds>(&body) {
        Ok(f) => {
            st.backend.fail_next_builds(f.count);
            for n in f.names {
                st.backend.fail_builds_named(n);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(e),
    }
}

async fn set_default_quota(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<QuotaLimits>(&body) {
        Ok(q) => {
            st.backend.set_default_quota(q);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(e),
    }
}

async fn set_project_quota(
    State(st): State<AppState>,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match parse::<QuotaLimits>(&body) {
        Ok(q) => {
            st.backend.set_project_quota(project, q);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad(e),
    }
}

async fn list_users(State(st): State<AppState>) -> Response {
    axum::Json(st.backend.users()).into_response()
}

async fn add_user(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<SimUser>(&body) {
        Ok(u) => {
            st.backend.add_user(u.clone());
            (StatusCode::CREATED, axum::Json(u)).into_response()
        }
        Err(e) => bad(e),
    }
}

async fn dump_state(State(st): State<AppState>) -> Response {
    axum::Json(st.backend.snapshot()).into_response()
}

async fn requests(State(st): State<AppState>) -> Response {
    let v: Value = json!({"total": st.metrics.total(), "per_endpoint": st.metrics.per_key()});
    axum::Json(v).into_response()
}

async fn complete(State(st): State<AppState>) -> Response {
    st.backend.complete_all_jobs();
    StatusCode::NO_CONTENT.into_response()
}
