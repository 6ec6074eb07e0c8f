//! Flavors: the static catalog of machine sizes (see [`super::seed::flavors`]).

use super::seed::Flavor;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

impl Core {
    /// A flavor by id (deleted ones included): servers keep pointing at theirs.
    pub fn flavor(&self, id: u64) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == id)
    }

    /// A flavor new servers and resizes may use: a deleted one is simply not found.
    pub fn live_flavor(&self, id: u64) -> ApiResult<Flavor> {
        self.flavor(id)
            .filter(|f| !f.deleted)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Flavor not found."))
    }
}
