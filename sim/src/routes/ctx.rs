//! [`Ctx`]: what a service handler starts from — the shared state, the authenticated
//! user and the base URL its links are made of — with the few ways handlers talk to the
//! backend on that user's behalf and answer. [`Since`] is a list's `changes-since`.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use crate::backend::model::Time;
use crate::backend::world::Core;
use crate::config::SimUser;
use crate::error::{ApiError, ApiResult};
use crate::routes::extract::Auth;
use crate::routes::fields::{changes_since, parse_id};
use crate::routes::render::{empty, json};
use crate::state::AppState;

/// The state, the authenticated user (rejected like [`Auth`]) and the base URL.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Shared state.
    pub st: AppState,
    /// Who asks.
    pub user: SimUser,
    /// Public base URL, for `links`.
    pub base: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let Auth(user) = Auth::from_request_parts(parts, state).await?;
        Ok(Ctx {
            st: state.clone(),
            user,
            base: state.base_url_for(&parts.headers),
        })
    }
}

impl Ctx {
    /// The user's uuid.
    pub fn uuid(&self) -> &str {
        &self.user.uuid
    }

    /// Reads the state on the user's behalf.
    pub fn read<T>(&self, f: impl FnOnce(&Core, &str) -> T) -> T {
        self.st.backend.read(|c| f(c, &self.user.uuid))
    }

    /// Changes the state on the user's behalf.
    pub fn write<T>(&self, f: impl FnOnce(&mut Core, &str) -> ApiResult<T>) -> ApiResult<T> {
        self.st.backend.write(|c| f(c, &self.user.uuid))
    }

    /// `200 {"<key>": view}` of the one record `f` finds.
    pub fn read_one<V: Serialize>(
        &self,
        key: &str,
        f: impl FnOnce(&Core, &str) -> ApiResult<V>,
    ) -> ApiResult<Response> {
        let v = self.read(f)?;
        Ok(json(StatusCode::OK, &json!({ key: v })))
    }

    /// `GET …/<id>` of a numeric id: 404 `"<what> <id> not found"` for anything else,
    /// then [`Ctx::read_one`] with the parsed id.
    pub fn read_by_id<V: Serialize>(
        &self,
        id: &str,
        what: &str,
        key: &str,
        f: impl FnOnce(&Core, &str, u64) -> ApiResult<V>,
    ) -> ApiResult<Response> {
        let id = parse_id(id, what)?;
        self.read_one(key, |c, u| f(c, u, id))
    }

    /// A change answered `status` with `{"<key>": view}` of what it made or changed.
    pub fn write_one<V: Serialize>(
        &self,
        status: StatusCode,
        key: &str,
        f: impl FnOnce(&mut Core, &str) -> ApiResult<V>,
    ) -> ApiResult<Response> {
        let v = self.write(f)?;
        Ok(json(status, &json!({ key: v })))
    }

    /// A change answered `status` (204, or 202 for a job) with an empty body.
    pub fn write_empty<T>(
        &self,
        status: StatusCode,
        f: impl FnOnce(&mut Core, &str) -> ApiResult<T>,
    ) -> ApiResult<Response> {
        self.write(f)?;
        Ok(empty(status))
    }
}

/// The `changes-since` of a list request (400 when malformed or too old).
#[derive(Debug, Clone, Copy)]
pub struct Since(pub Option<Time>);

impl<S: Send + Sync> FromRequestParts<S> for Since {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        changes_since(parts.uri.query()).map(Since)
    }
}
