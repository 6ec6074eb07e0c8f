//! Route tables: a service lists each path once with its handlers and the methods they
//! answer, and every other method on that path gets the service's 405 with exactly
//! that `Allow` header — so the header can never disagree with the handlers.

use axum::Router;
use axum::routing::MethodRouter;

use super::render::{not_allowed, not_allowed_empty};
use crate::state::AppState;

/// How a service answers a method it does not serve on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongMethod {
    /// Compute, network, identity: a JSON `notAllowed` fault.
    Json,
    /// Volume and image: an empty body.
    Empty,
}

/// The router of `(path under prefix, Allow header, handlers)` entries.
pub fn table<const N: usize>(
    prefix: &str,
    wrong: WrongMethod,
    entries: [(&str, &'static str, MethodRouter<AppState>); N],
) -> Router<AppState> {
    entries
        .into_iter()
        .fold(Router::new(), |router, (path, allow, methods)| {
            let methods = match wrong {
                WrongMethod::Json => methods.fallback(not_allowed(allow)),
                WrongMethod::Empty => methods.fallback(not_allowed_empty(allow)),
            };
            router.route(&format!("{prefix}{path}"), methods)
        })
}
