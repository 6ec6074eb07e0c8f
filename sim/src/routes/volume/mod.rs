//! Block storage routes (`/volume/v2.0`): volumes, volume types, snapshots. Wrong
//! methods answer 405 with an empty body, like Cyclades' volume service. This module
//! only assembles them.

pub mod snapshots;
pub mod types;
pub mod volumes;

use axum::Router;

use crate::state::AppState;

/// Volume routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(volumes::routes())
        .merge(types::routes())
        .merge(snapshots::routes())
}
