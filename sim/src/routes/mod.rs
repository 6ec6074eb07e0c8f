//! HTTP routes: parse the request, call the backend, serialize the answer. Nothing here
//! decides a rule of the cloud; everything here decides how Synnefo *spells* things.
//!
//! One module per service, and inside each one per resource, like moto: [`identity`],
//! [`account`] (Astakos quotas, resources, user catalogs, projects), [`compute`], [`volume`], [`image`] (Plankton), [`network`],
//! plus [`admin`] (`/_sim/`). The shared pieces sit below them: [`ctx`] (state, user and
//! base URL of a handler), [`extract`] (who asks, the JSON body, list or detail), [`fields`] (request fields), [`render`] (answers),
//! [`paths`] (service prefixes) and [`layers`] (counting, headers, faults). This module
//! only assembles the router.

pub mod account;
pub mod admin;
pub mod compute;
pub mod ctx;
pub mod extract;
pub mod fields;
pub mod identity;
pub mod image;
pub mod layers;
pub mod network;
pub mod paths;
pub mod render;
pub mod table;
pub mod volume;

use axum::Router;
use axum::middleware;

use crate::state::AppState;

/// The whole router: Synnefo services, the admin API under `/_sim/`, and the layers that
/// add Synnefo's headers, count requests and inject faults.
pub fn app(state: AppState) -> Router {
    let synnefo = Router::new()
        .merge(identity::routes())
        .merge(account::routes())
        .merge(compute::routes())
        .merge(volume::routes())
        .merge(image::routes())
        .merge(network::routes())
        .fallback(layers::endpoint_not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::inject_faults,
        ));
    Router::new()
        .nest("/_sim", admin::routes())
        .merge(synnefo)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::count_and_headers,
        ))
        .with_state(state)
}
