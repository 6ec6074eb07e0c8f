//! Compute routes (`/compute/v2.0`), one module per resource: flavors, images,
//! servers (with their view and their creation), server actions, metadata (servers
//! and images alike), volume attachments, key pairs. This module only assembles them.

pub mod attachments;
pub mod flavors;
pub mod images;
pub mod keypairs;
pub mod metadata;
pub mod server_actions;
pub mod server_create;
pub mod server_resources;
pub mod server_view;
pub mod servers;

use axum::Router;

use crate::state::AppState;

/// Compute routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(flavors::routes())
        .merge(images::routes())
        .merge(metadata::routes())
        .merge(servers::routes())
        .merge(server_actions::routes())
        .merge(server_resources::routes())
        .merge(attachments::routes())
        .merge(keypairs::routes())
        .merge(crate::routes::network::floating_ips::compute_routes())
}
