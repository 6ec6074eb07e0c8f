//! Network routes (`/network/v2.0`): networks and subnets, ports, floating IPs. This
//! module only assembles them.

pub mod floating_ips;
pub mod networks;
pub mod ports;

use axum::Router;

use crate::state::AppState;

/// Network routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(networks::routes())
        .merge(ports::routes())
        .merge(floating_ips::routes())
}
