//! Metadata, one implementation for every owner: a server's `metadata` and an image's
//! `properties` (compute's `/images/<id>/metadata`) have the same shape and the same
//! routes. What differs is who may change them and whether Synnefo's limits apply;
//! [`MetaOwner`] names the owner and one private `metadata_slot` answers both.

use std::collections::BTreeMap;

use super::model::Time;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// Metadata of one item.
pub type Metadata = BTreeMap<String, String>;

/// Whose metadata a request speaks of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaOwner {
    /// A server (numeric id).
    Server(u64),
    /// An image or snapshot (uuid).
    Image(String),
}

/// The metadata of one owner, ready to change.
struct Slot<'a> {
    map: &'a mut Metadata,
    updated: &'a mut Time,
    /// Server metadata obeys Synnefo's count and length limits; image properties do not.
    limited: bool,
}

/// api/servers.py `update_metadata`: at most `CYCLADES_VM_MAX_METADATA` items once
/// merged, then each key and value within `VirtualMachineMetadata`'s lengths (50, 500).
pub fn check_metadata(meta: &Metadata) -> ApiResult<()> {
    use super::server_create::{MAX_VM_METADATA, META_KEY_LENGTH, META_VALUE_LENGTH};
    if meta.len() > MAX_VM_METADATA {
        return Err(ApiError::bad(format!(
            "Virtual Machines cannot have more than {MAX_VM_METADATA} metadata items"
        )));
    }
    for (k, v) in meta {
        if k.chars().count() > META_KEY_LENGTH {
            return Err(ApiError::bad("Malformed Request. Metadata key is too long"));
        }
        if v.chars().count() > META_VALUE_LENGTH {
            return Err(ApiError::bad(
                "Malformed Request. Metadata value is too long",
            ));
        }
    }
    Ok(())
}

impl Core {
    /// Reads the metadata of an item the user can see: a deleted server's included, an
    /// image shared with the user included.
    pub fn metadata(&self, user: &str, owner: &MetaOwner) -> ApiResult<&Metadata> {
        match owner {
            MetaOwner::Server(id) => self.server(user, *id).map(|s| &s.metadata),
            MetaOwner::Image(id) => self.pithos_image(user, id).map(|i| &i.properties),
        }
    }

    /// Changing needs more: a live server of the user, or an image the user owns.
    fn metadata_slot(&mut self, user: &str, owner: &MetaOwner) -> ApiResult<Slot<'_>> {
        Ok(match owner {
            MetaOwner::Server(id) => {
                let s = self.live_server_mut(user, *id)?;
                Slot {
                    map: &mut s.metadata,
                    updated: &mut s.updated,
                    limited: true,
                }
            }
            MetaOwner::Image(id) => {
                let img = self.owned_image_mut(user, id)?;
                Slot {
                    map: &mut img.properties,
                    updated: &mut img.updated,
                    limited: false,
                }
            }
        })
    }

    /// Replaces (`replace`) or merges metadata; returns the full set. Limits are checked
    /// on the result, and nothing changes when they fail.
    pub fn update_metadata(
        &mut self,
        user: &str,
        owner: &MetaOwner,
        meta: Metadata,
        replace: bool,
    ) -> ApiResult<Metadata> {
        let now = self.now;
        let slot = self.metadata_slot(user, owner)?;
        let mut merged = if replace {
            Metadata::new()
        } else {
            slot.map.clone()
        };
        merged.extend(meta);
        if slot.limited {
            check_metadata(&merged)?;
        }
        *slot.map = merged.clone();
        *slot.updated = now;
        Ok(merged)
    }

    /// Deletes one metadata key (404 when absent).
    pub fn delete_metadata(&mut self, user: &str, owner: &MetaOwner, key: &str) -> ApiResult<()> {
        let now = self.now;
        let slot = self.metadata_slot(user, owner)?;
        slot.map
            .remove(key)
            .ok_or_else(|| ApiError::not_found("Metadata key not found."))?;
        *slot.updated = now;
        Ok(())
    }
}
