//! Admin API under `/_sim/` (no token): reset, timings, faults, quotas, users, state,
//! request counts, the SSH emulation's recipe records and recipe fault rules. Never mixed
//! with the Synnefo routes.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{FaultConfig, QuotaLimits, SimUser, Timings};
use crate::ssh::RecipeFault;
use crate::state::AppState;

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
        .route("/servers/{id}/recipes", get(server_recipes))
        .route(
            "/recipe-faults",
            get(get_recipe_faults)
                .post(add_recipe_fault)
                .delete(clear_recipe_faults),
        )
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

/// Parses the body as `T` and hands it to `apply`; 400 `{"error": …}` when it does not
/// parse, so a bad admin call changes nothing.
fn with_body<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    apply: impl FnOnce(T) -> Response,
) -> Response {
    match serde_json::from_slice(body) {
        Ok(v) => apply(v),
        Err(e) => bad(e),
    }
}

fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(st): State<AppState>) -> Response {
    match st.backend.reset() {
        Ok(()) => {
            st.metrics.reset();
            done()
        }
        Err(e) => bad(format!("{e:#}")),
    }
}

async fn get_timings(State(st): State<AppState>) -> Response {
    axum::Json(st.backend.timings()).into_response()
}

async fn set_timings(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |t: Timings| {
        st.backend.set_timings(t);
        done()
    })
}

async fn get_faults(State(st): State<AppState>) -> Response {
    axum::Json(st.faults.get()).into_response()
}

async fn set_faults(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |f: FaultConfig| {
        if f.fail_builds > 0 {
            st.backend.fail_next_builds(f.fail_builds);
        }
        for n in &f.fail_build_names {
            st.backend.fail_builds_named(n.clone());
        }
        st.faults.set(f);
        done()
    })
}

#[derive(Deserialize)]
struct FailBuilds {
    #[serde(default)]
    count: u32,
    #[serde(default)]
    names: Vec<String>,
}

async fn fail_builds(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |f: FailBuilds| {
        st.backend.fail_next_builds(f.count);
        for n in f.names {
            st.backend.fail_builds_named(n);
        }
        done()
    })
}

async fn set_default_quota(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |q: QuotaLimits| {
        st.backend.set_default_quota(q);
        done()
    })
}

async fn set_project_quota(
    State(st): State<AppState>,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    with_body(&body, |q: QuotaLimits| {
        st.backend.set_project_quota(project, q);
        done()
    })
}

async fn list_users(State(st): State<AppState>) -> Response {
    axum::Json(st.backend.users()).into_response()
}

async fn add_user(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |u: SimUser| {
        st.backend.add_user(u.clone());
        (StatusCode::CREATED, axum::Json(u)).into_response()
    })
}

/// The state as saved, less the SSH host keys' private seeds.
async fn dump_state(State(st): State<AppState>) -> Response {
    let mut state = st.backend.snapshot();
    state.ssh.redact_secrets();
    axum::Json(state).into_response()
}

async fn requests(State(st): State<AppState>) -> Response {
    let v: Value = json!({
        "total": st.metrics.total(),
        "per_endpoint": st.metrics.per_key(),
        "changes_since": st.metrics.changes_since(),
    });
    axum::Json(v).into_response()
}

async fn complete(State(st): State<AppState>) -> Response {
    st.backend.complete_all_jobs();
    done()
}

async fn server_recipes(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": format!("Server {id} not found")})),
        )
            .into_response();
    };
    match st.backend.recipes(id) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn get_recipe_faults(State(st): State<AppState>) -> Response {
    axum::Json(json!({"rules": st.backend.recipe_faults()})).into_response()
}

async fn add_recipe_fault(State(st): State<AppState>, body: axum::body::Bytes) -> Response {
    with_body(&body, |rule: RecipeFault| match rule.check() {
        Ok(()) => {
            st.backend.add_recipe_fault(rule);
            done()
        }
        Err(e) => bad(e),
    })
}

async fn clear_recipe_faults(State(st): State<AppState>) -> Response {
    st.backend.clear_recipe_faults();
    done()
}
