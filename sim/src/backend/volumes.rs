//! Volumes (Cyclades block storage): create (detached, or straight onto a server),
//! update, delete. The root volume of a server lives and dies with it.

use std::collections::BTreeMap;

use super::attachments::check_detachable;
use super::lookup::{Listing, find};
use super::model::{TaskKind, Time, Volume, VolumeStatus};
use super::quota::Usage;
use super::seed::VolumeType;
use super::world::{Core, set_given};
use crate::error::{ApiError, ApiResult};

/// Largest volume `POST /volumes` creates, in GiB.
const MAX_VOLUME: u64 = 200;

/// A parsed `POST /volumes` body.
#[derive(Debug, Clone, Default)]
pub struct CreateVolume {
    /// `display_name`.
    pub name: String,
    /// `display_description`.
    pub description: String,
    /// GiB.
    pub size: u64,
    /// Attach to this server at once.
    pub server_id: Option<u64>,
    /// Volume type.
    pub volume_type: Option<u64>,
    /// Source snapshot.
    pub snapshot_id: Option<String>,
    /// Source image.
    pub image_ref: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Project to charge.
    pub project: Option<String>,
}

/// Where a new volume goes: its type, and for one created onto a server, the server,
/// the disk index and when it is in use.
struct Placement {
    volume_type: u64,
    server: Option<(u64, u32, Time)>,
}

impl Core {
    /// A volume of the user (deleted included), else 404.
    pub fn volume(&self, user: &str, id: u64) -> ApiResult<&Volume> {
        find(&self.state.volumes, &id, "Volume", |v| v.user_id == user)
    }

    /// Volumes of a user for lists; with `since`, changed since (deleted included).
    pub fn volumes_of<'a>(&'a self, user: &'a str, since: Option<Time>) -> Listing<'a, Volume> {
        Listing::new(&self.state.volumes, user, since, |v, u| v.user_id == u)
    }

    /// `POST /volumes`.
    pub fn create_volume(&mut self, user: &str, req: CreateVolume) -> ApiResult<u64> {
        if req.size == 0 || req.size > MAX_VOLUME {
            return Err(ApiError::bad(format!(
                "Volume size '{}' is not valid: it must be between 1 and 200 GB",
                req.size
            )));
        }
        if let Some(src) = &req.snapshot_id {
            self.usable_image(user, src)
                .map_err(|_| ApiError::bad(format!("Snapshot {src} not found")))?;
        }
        if let Some(src) = &req.image_ref {
            self.usable_image(user, src)
                .map_err(|_| ApiError::bad(format!("Image {src} not found")))?;
        }
        let now = self.now;
        let project = req.project.clone().unwrap_or_else(|| user.to_string());
        let place = match req.server_id {
            Some(sid) => self.place_on_server(user, sid, req.volume_type)?,
            None => self.place_detached(req.volume_type)?,
        };
        self.check_quota(
            &project,
            Usage {
                disk: req.size,
                ..Default::default()
            },
        )?;
        let id = self.state.next_volume_id;
        self.state.next_volume_id += 1;
        let (status, next, due) = match place.server {
            Some((_, _, due)) => (VolumeStatus::Creating, Some(VolumeStatus::InUse), Some(due)),
            None => (VolumeStatus::Available, None, None),
        };
        self.state.volumes.insert(
            id,
            Volume {
                id,
                name: req.name,
                description: req.description,
                size: req.size,
                user_id: user.to_string(),
                project,
                volume_type: place.volume_type,
                status,
                next_status: next,
                due,
                server_id: place.server.map(|(s, _, _)| s),
                index: place.server.map(|(_, i, _)| i),
                image_id: req.image_ref,
                snapshot_id: req.snapshot_id,
                delete_on_termination: place.server.is_some(),
                created: now,
                updated: now,
                metadata: req.metadata,
            },
        );
        if let Some((sid, _, _)) = place.server {
            if let Some(s) = self.state.servers.get_mut(&sid) {
                s.volumes.push(id);
            }
            let d = self.settings.timings.volume;
            self.set_server_task(sid, TaskKind::AttachVolume, d);
        }
        Ok(id)
    }

    fn known_volume_type(&self, t: u64) -> ApiResult<VolumeType> {
        self.volume_type(t)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Volume type {t} not found")))
    }

    /// A volume created onto a server takes the flavor's type by default.
    fn place_on_server(&self, user: &str, sid: u64, t: Option<u64>) -> ApiResult<Placement> {
        let s = self
            .state
            .servers
            .get(&sid)
            .filter(|s| s.user_id == user)
            .cloned()
            .ok_or_else(|| ApiError::bad(format!("Server {sid} not found")))?;
        self.validate_action(&s, "ATTACH_VOLUME")?;
        let flavor = self
            .flavor(s.flavor_id)
            .cloned()
            .ok_or_else(|| ApiError::Internal("server flavor vanished".into()))?;
        // volume/volumes.py `create`: a given type must have the server's template; none
        // takes the server's. Created attached (CREATING), the volume need not be
        // detachable: server_attachments.py `attach_volume` asks that only of AVAILABLE ones.
        let t = t.unwrap_or(flavor.volume_type);
        let vt = self.known_volume_type(t)?;
        if vt.template != flavor.template {
            return Err(ApiError::bad(format!(
                "Cannot create a volume with template '{}' to a server with volume template '{}'.",
                vt.template, flavor.template
            )));
        }
        let index = self.next_disk_index(sid)?;
        Ok(Placement {
            volume_type: t,
            server: Some((sid, index, self.due(self.settings.timings.volume))),
        })
    }

    /// A detached volume needs an explicit, detachable type.
    fn place_detached(&self, t: Option<u64>) -> ApiResult<Placement> {
        let t = t.ok_or_else(|| {
            ApiError::bad("Volume type is required for a volume without a server")
        })?;
        check_detachable(&self.known_volume_type(t)?)?;
        Ok(Placement {
            volume_type: t,
            server: None,
        })
    }

    /// `PUT /volumes/<id>`: name, description, delete_on_termination.
    pub fn update_volume(
        &mut self,
        user: &str,
        id: u64,
        name: Option<String>,
        description: Option<String>,
        delete_on_termination: Option<bool>,
    ) -> ApiResult<()> {
        self.volume(user, id)?;
        let now = self.now;
        if let Some(v) = self.state.volumes.get_mut(&id) {
            if v.status == VolumeStatus::Deleted {
                return Err(ApiError::bad(format!("Volume '{id}' has been deleted.")));
            }
            set_given(&mut v.name, name);
            set_given(&mut v.description, description);
            set_given(&mut v.delete_on_termination, delete_on_termination);
            v.updated = now;
        }
        Ok(())
    }

    /// `DELETE /volumes/<id>`: the root volume cannot be deleted; others go
    /// `deleting` → `deleted` after `timings.volume`.
    pub fn delete_volume(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let v = self.volume(user, id)?.clone();
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!("Volume '{id}' has been deleted.")));
        }
        if v.server_id.is_some() && v.index == Some(0) {
            return Err(ApiError::bad("Cannot delete the root volume of a server"));
        }
        if !matches!(
            v.status,
            VolumeStatus::Available | VolumeStatus::InUse | VolumeStatus::Error
        ) {
            return Err(ApiError::bad(format!(
                "Cannot delete volume while volume is in '{}' status.",
                v.status.as_str()
            )));
        }
        if let Some(sid) = v.server_id {
            let s = self.server(user, sid)?.clone();
            self.validate_action(&s, "DETACH_VOLUME")?;
            let d = self.settings.timings.volume;
            self.set_server_task(sid, TaskKind::DetachVolume, d);
        }
        self.start_volume_job(id, VolumeStatus::Deleting, VolumeStatus::Deleted);
        Ok(())
    }

    /// volume/views.py `update_volume_metadata`: each key and value within
    /// `VolumeMetadata`'s lengths (64, 255) first, then a live volume, then at most
    /// `CYCLADES_VOLUME_MAX_METADATA` (10) items once merged or replaced.
    pub fn update_volume_metadata(
        &mut self,
        user: &str,
        id: u64,
        meta: BTreeMap<String, String>,
        reset: bool,
    ) -> ApiResult<BTreeMap<String, String>> {
        for (k, v) in &meta {
            if k.chars().count() > 64 {
                return Err(ApiError::bad("Metadata key is too long."));
            }
            if v.chars().count() > 255 {
                return Err(ApiError::bad("Metadata value is too long."));
            }
        }
        let now = self.now;
        let v = self.live_volume_mut(user, id)?;
        let mut merged = if reset {
            BTreeMap::new()
        } else {
            v.metadata.clone()
        };
        merged.extend(meta);
        if merged.len() > 10 {
            return Err(ApiError::bad(
                "Volumes cannot have more than 10 metadata items",
            ));
        }
        v.metadata = merged.clone();
        v.updated = now;
        Ok(merged)
    }

    /// volume/views.py `delete_volume_metadata_item`.
    pub fn delete_volume_metadata(&mut self, user: &str, id: u64, key: &str) -> ApiResult<()> {
        let now = self.now;
        let v = self.live_volume_mut(user, id)?;
        v.metadata
            .remove(key)
            .ok_or_else(|| ApiError::bad("Metadata key not found"))?;
        v.updated = now;
        Ok(())
    }

    /// volume/util.py `get_volume(..., non_deleted=True)`.
    fn live_volume_mut(&mut self, user: &str, id: u64) -> ApiResult<&mut Volume> {
        self.volume(user, id)?;
        let v = self
            .state
            .volumes
            .get_mut(&id)
            .ok_or_else(|| ApiError::Internal("volume vanished".into()))?;
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!("Volume '{id}' has been deleted.")));
        }
        Ok(v)
    }
}
