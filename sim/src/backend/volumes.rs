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

/// A parsed `POST /volumes` body, after volume/views.py `create_volume`'s own checks.
#[derive(Debug, Clone, Default)]
pub struct CreateVolume {
    /// `display_name`.
    pub name: String,
    /// `display_description`.
    pub description: String,
    /// `size` in GB (positive).
    pub size: u64,
    /// `server_id`.
    pub server_id: Option<u64>,
    /// `volume_type` as given (a string or an integer, as text).
    pub volume_type: Option<String>,
    /// `source_volid`.
    pub source_volid: Option<String>,
    /// `snapshot_id`.
    pub snapshot_id: Option<String>,
    /// `imageRef`.
    pub image_ref: Option<String>,
    /// `project`.
    pub project: Option<String>,
}

/// app_settings/default/backend.py `GANETI_CLONE_PROVIDERS`.
const CLONE_PROVIDERS: [&str; 2] = ["vlmc", "archipelago"];
/// db/models.py `Volume.NAME_LENGTH` and `DESCRIPTION_LENGTH`.
const VOLUME_TEXT_LENGTH: usize = 255;

impl Core {
    /// A volume of the user (deleted included), else 404.
    pub fn volume(&self, user: &str, id: u64) -> ApiResult<&Volume> {
        find(&self.state.volumes, &id, "Volume", |v| v.user_id == user)
    }

    /// Volumes of a user for lists; with `since`, changed since (deleted included).
    pub fn volumes_of<'a>(&'a self, user: &'a str, since: Option<Time>) -> Listing<'a, Volume> {
        Listing::new(&self.state.volumes, user, since, |v, u| v.user_id == u)
    }

    /// `POST /volumes`: volume/volumes.py `create` — the server ("Server <id> not found"),
    /// the volume type (`get_volume_type(..., exception=BadRequest)`, the server's when
    /// none is given, its template family checked), detachable without a server — then
    /// `create_common` (one source at most) and `_create_volume` (name and description
    /// lengths, `CYCLADES_VOLUME_MAX_SIZE`, a source only for `GANETI_CLONE_PROVIDERS`,
    /// the source found, available and not larger than the volume, no cloning), then the
    /// attachment or the quota. The request's `metadata` is not stored: `create` hands
    /// `create_common` an empty dict. A volume without a server is AVAILABLE at once.
    pub fn create_volume(&mut self, user: &str, req: CreateVolume) -> ApiResult<u64> {
        let server = match req.server_id {
            Some(sid) => Some(
                self.state
                    .servers
                    .get(&sid)
                    .filter(|s| s.user_id == user && !s.is_deleted())
                    .cloned()
                    .ok_or_else(|| ApiError::bad(format!("Server {sid} not found")))?,
            ),
            None => None,
        };
        let vt = match (&server, &req.volume_type) {
            (Some(s), given) => {
                let flavor = self
                    .flavor(s.flavor_id)
                    .cloned()
                    .ok_or_else(|| ApiError::Internal("server flavor vanished".into()))?;
                let server_vt = self.known_volume_type(flavor.volume_type)?;
                match given {
                    Some(t) => {
                        let vt = self.volume_type_given(t)?;
                        if vt.family() != server_vt.family() {
                            return Err(ApiError::bad(format!(
                                "Cannot create a volume with template '{}' to a server with volume template '{}'.",
                                vt.family(),
                                server_vt.family()
                            )));
                        }
                        vt
                    }
                    None => server_vt,
                }
            }
            (None, given) => {
                let vt = self.volume_type_given(given.as_deref().unwrap_or("None"))?;
                check_detachable(&vt)?;
                vt
            }
        };
        let sources = [&req.source_volid, &req.snapshot_id, &req.image_ref]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if sources > 1 {
            return Err(ApiError::bad("Volume can not have more than one source!"));
        }
        if req.name.chars().count() > VOLUME_TEXT_LENGTH {
            return Err(ApiError::bad("Volume name is too long"));
        }
        if req.description.chars().count() > VOLUME_TEXT_LENGTH {
            return Err(ApiError::bad("Volume description is too long"));
        }
        if req.size > MAX_VOLUME {
            return Err(ApiError::bad(format!(
                "Maximum volume size is {MAX_VOLUME}GB"
            )));
        }
        if sources > 0 && !vt.provider().is_some_and(|p| CLONE_PROVIDERS.contains(&p)) {
            return Err(ApiError::bad(format!(
                "Cannot specify a 'source' attribute for volume type '{}' with disk template '{}'",
                vt.id, vt.template
            )));
        }
        let bytes = req.size << 30;
        for (src, kind) in [(&req.snapshot_id, "snapshot"), (&req.image_ref, "image")] {
            let Some(src) = src else { continue };
            let what = if kind == "snapshot" {
                "Snapshot"
            } else {
                "Image"
            };
            let img = match self.pithos_image(user, src) {
                Err(ApiError::ItemNotFound(_)) => None,
                Err(e) => return Err(e),
                Ok(i) => Some(i),
            }
            .filter(|i| kind == "image" || i.snapshot.is_some())
            .ok_or_else(|| ApiError::bad(format!("{what} {src} not found")))?;
            let status = img.object_status().to_uppercase();
            if status != "AVAILABLE" {
                return Err(ApiError::bad(format!(
                    "Cannot create volume from {kind}, while {kind} is in '{status}' status"
                )));
            }
            if bytes < img.size {
                return Err(ApiError::bad(format!(
                    "Volume size '{bytes}' is smaller than {kind}'s size '{}'",
                    img.size
                )));
            }
        }
        if req.source_volid.is_some() {
            return Err(ApiError::bad("Cloning a volume is not supported"));
        }
        let place = match &server {
            Some(s) => {
                self.validate_action(s, "ATTACH_VOLUME")?;
                let index = self.next_disk_index(s.id)?;
                Some((s.id, index, self.due(self.settings.timings.volume)))
            }
            None => None,
        };
        let now = self.now;
        let project = req.project.clone().unwrap_or_else(|| user.to_string());
        self.check_quota(
            &project,
            Usage {
                disk: req.size,
                ..Default::default()
            },
        )?;
        let id = self.state.next_volume_id;
        self.state.next_volume_id += 1;
        let (status, next, due) = match place {
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
                volume_type: vt.id,
                status,
                next_status: next,
                due,
                server_id: place.map(|(s, _, _)| s),
                index: place.map(|(_, i, _)| i),
                image_id: req.image_ref,
                snapshot_id: req.snapshot_id,
                delete_on_termination: true,
                never_attached: place.is_none(),
                created: now,
                updated: now,
                metadata: BTreeMap::new(),
            },
        );
        if let Some((sid, _, _)) = place {
            if let Some(s) = self.state.servers.get_mut(&sid) {
                s.volumes.push(id);
            }
            let d = self.settings.timings.volume;
            self.set_server_task(sid, TaskKind::AttachVolume, d);
        }
        Ok(id)
    }

    /// volume/util.py `get_volume_type(id, exception=BadRequest)`.
    fn volume_type_given(&self, t: &str) -> ApiResult<VolumeType> {
        let id: u64 = t
            .trim()
            .parse()
            .map_err(|_| ApiError::bad(format!("Invalid volume type id: {t}")))?;
        self.volume_type(id)
            .cloned()
            .ok_or_else(|| ApiError::bad(format!("Volume type {id} not found")))
    }

    fn known_volume_type(&self, t: u64) -> ApiResult<VolumeType> {
        self.volume_type(t)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Volume type {t} not found")))
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

    /// `DELETE /volumes/<id>`: volume/volumes.py `delete` — a live volume; attached, as
    /// server_attachments.py `delete_volume` checks it (IN_USE or ERROR, then not the root)
    /// and a job removes it; never attached, AVAILABLE or ERROR, it is deleted at once; once
    /// detached, a helper server deletes it (a job here too).
    pub fn delete_volume(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let v = self.volume(user, id)?.clone();
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!("Volume '{id}' has been deleted.")));
        }
        let db_status = v.status.as_str().to_uppercase();
        match v.server_id {
            Some(sid) => {
                if !matches!(v.status, VolumeStatus::InUse | VolumeStatus::Error) {
                    return Err(ApiError::bad(format!(
                        "Cannot delete volume while volume is in '{db_status}' status."
                    )));
                }
                if v.index == Some(0) {
                    return Err(ApiError::bad(format!(
                        "Cannot delete the root volume of server <vm:{sid}@backend:1>."
                    )));
                }
                let s = self.server(user, sid)?.clone();
                self.validate_action(&s, "DETACH_VOLUME")?;
                let d = self.settings.timings.volume;
                self.set_server_task(sid, TaskKind::DetachVolume, d);
            }
            None if v.never_attached => {
                if !matches!(v.status, VolumeStatus::Available | VolumeStatus::Error) {
                    return Err(ApiError::bad(format!(
                        "Volume is in invalid state: {db_status}"
                    )));
                }
                let now = self.now;
                if let Some(v) = self.state.volumes.get_mut(&id) {
                    v.status = VolumeStatus::Deleted;
                    v.next_status = None;
                    v.due = None;
                    v.updated = now;
                }
                return Ok(());
            }
            None => {}
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
