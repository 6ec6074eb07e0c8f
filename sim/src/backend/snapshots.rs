//! Snapshots (Cyclades block storage). A snapshot is stored as an [`Image`] with
//! `snapshot` set, because in Synnefo a snapshot *is* an image: it is listed among the
//! images and a server boots from it.

use std::collections::BTreeMap;

use super::model::{Image, ImageStatus, SnapshotInfo, Volume, VolumeStatus};
use super::world::{Core, set_given};
use crate::error::{ApiError, ApiResult};

const GIB: u64 = 1024 * 1024 * 1024;

/// Pithos+ `resource_max_metadata` (`PITHOS_RESOURCE_MAX_METADATA`, 32).
const MAX_PITHOS_METADATA: usize = 32;
/// The Plankton keys a snapshot holds besides its properties: `name`, `disk_format`,
/// `container_format`, `description`, `volume_id` (`do_create`) and `backend_info`.
const SNAPSHOT_PLANKTON_KEYS: usize = 6;

impl Core {
    /// volume/util.py `get_snapshot`: any snapshot the user can read (shared and public
    /// ones included), found as Pithos finds it (not a UUID 400, unreadable 403, both with
    /// an empty message); unknown, or no snapshot, is 404 "Snapshot <id> not found".
    pub fn snapshot(&self, user: &str, id: &str) -> ApiResult<&Image> {
        match self.pithos_image(user, id) {
            Ok(i) if i.snapshot.is_some() => Ok(i),
            Ok(_) | Err(ApiError::ItemNotFound(_)) => {
                Err(ApiError::not_found(format!("Snapshot {id} not found")))
            }
            Err(e) => Err(e),
        }
    }

    /// `PlanktonBackend.list_snapshots`: every snapshot the user can read.
    pub fn snapshots_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Image> + 'a {
        self.images_of(user, None).filter(|i| i.snapshot.is_some())
    }

    /// The snapshot to change: found as [`Core::snapshot`] finds it, written by its owner
    /// only (Pithos' `NotAllowedError`: 403, empty message).
    fn owned_snapshot_mut(&mut self, user: &str, id: &str) -> ApiResult<&mut Image> {
        let key = self.snapshot(user, id)?.id.clone();
        let img = self
            .state
            .images
            .get_mut(&key)
            .ok_or_else(|| ApiError::not_found(format!("Snapshot {id} not found")))?;
        if img.owner != user {
            return Err(ApiError::Forbidden(String::new()));
        }
        Ok(img)
    }

    /// volume/views.py `update_snapshot_metadata`: `PlanktonBackend.update_properties`
    /// merges (an empty value removes) or, with `reset` (PUT), replaces the whole Plankton
    /// domain of the object — its name included, so it is no image any more and the
    /// re-read answers 404 "Snapshot <id> not found" (`None` here, as the change stays).
    /// Keys and values within Plankton's limits, at most 32 Pithos metadata items.
    pub fn update_snapshot_metadata(
        &mut self,
        user: &str,
        id: &str,
        meta: BTreeMap<String, String>,
        reset: bool,
    ) -> ApiResult<Option<BTreeMap<String, String>>> {
        let now = self.now;
        let img = self.owned_snapshot_mut(user, id)?;
        for (k, v) in &meta {
            if format!("plankton:property:{k}").chars().count() > 111 {
                return Err(ApiError::bad(
                    "Metadata keys should be less than 111 characters",
                ));
            }
            if v.chars().count() > 256 {
                return Err(ApiError::bad(
                    "Metadata values should be less than 256 characters.",
                ));
            }
        }
        let mut merged = if reset {
            BTreeMap::new()
        } else {
            img.properties.clone()
        };
        for (k, v) in meta {
            if v.is_empty() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        let items = merged.len() + if reset { 0 } else { SNAPSHOT_PLANKTON_KEYS };
        if items > MAX_PITHOS_METADATA {
            return Err(ApiError::bad(format!(
                "Pithos+ resources cannot have more than {MAX_PITHOS_METADATA} metadata items per domain"
            )));
        }
        img.properties = merged;
        img.updated = now;
        if reset {
            // No `plankton:name` left: the object is no longer an image.
            img.status = ImageStatus::Deleted;
            img.snapshot = None;
            return Ok(None);
        }
        Ok(Some(img.properties.clone()))
    }

    /// volume/views.py `delete_snapshot_metadata_item`: removes the key if it is there
    /// (owner only); a missing key is no error.
    pub fn delete_snapshot_metadata(&mut self, user: &str, id: &str, key: &str) -> ApiResult<()> {
        if !self.snapshot(user, id)?.properties.contains_key(key) {
            return Ok(());
        }
        let now = self.now;
        let img = self.owned_snapshot_mut(user, id)?;
        img.properties.remove(key);
        img.updated = now;
        Ok(())
    }

    /// `POST /snapshots`: the volume must be attached and of an `ext_*` template. A root
    /// volume's snapshot carries the server's `OS` and `users` metadata, so it boots like an image.
    pub fn create_snapshot(
        &mut self,
        user: &str,
        volume_id: u64,
        name: String,
        description: String,
        metadata: BTreeMap<String, String>,
    ) -> ApiResult<String> {
        // volume/util.py `get_volume(..., non_deleted=True, exception=BadRequest)`, then
        // volume/snapshots.py `_check`: attached, the status, then the disk template.
        let v = self
            .state
            .volumes
            .get(&volume_id)
            .filter(|v| v.user_id == user)
            .cloned()
            .ok_or_else(|| ApiError::bad(format!("Volume {volume_id} not found")))?;
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!(
                "Volume '{volume_id}' has been deleted."
            )));
        }
        let Some(sid) = v.server_id else {
            return Err(ApiError::bad("Cannot snapshot a detached volume!"));
        };
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(ApiError::bad(format!(
                "Cannot create snapshot while volume is in '{}' status",
                v.status.as_str().to_uppercase()
            )));
        }
        let template = self
            .volume_type(v.volume_type)
            .map(|t| t.template)
            .unwrap_or("");
        if !template.starts_with("ext_") {
            return Err(ApiError::bad(format!(
                "Cannot take a snapshot from a volume with volume type '{}' and '{template}' disk template",
                v.volume_type
            )));
        }
        let properties = self.snapshot_properties(&v, sid, &metadata, &description);
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now;
        let due = self.due(self.settings.timings.snapshot);
        let name = if name.is_empty() {
            format!("snapshot-of-volume-{volume_id}")
        } else {
            name
        };
        self.state.images.insert(
            id.clone(),
            Image {
                id: id.clone(),
                name: name.clone(),
                owner: user.to_string(),
                created: now,
                updated: now,
                status: ImageStatus::Saving,
                due: Some(due),
                is_public: false,
                disk_format: "diskdump".into(),
                container_format: "bare".into(),
                size: v.size * GIB,
                location: format!("pithos://{user}/snapshots/{name}"),
                properties,
                members: vec![],
                snapshot: Some(SnapshotInfo {
                    volume_id,
                    size: v.size,
                    description,
                    metadata,
                }),
                given_status: None,
            },
        );
        if v.index == Some(0) {
            self.ssh_on_snapshot(&id, sid);
        }
        Ok(id)
    }

    /// The snapshot's properties as volume/snapshots.py `do_create` writes them: the
    /// request's metadata, `exclude_all_tasks` and `description`, then for a root volume
    /// the server's metadata under exactly the keys `OS` and `users`
    /// (`meta_key__in=["OS", "users"]`, case-sensitive on PostgreSQL). Nothing comes from
    /// the image the volume was made from.
    fn snapshot_properties(
        &self,
        v: &Volume,
        sid: u64,
        metadata: &BTreeMap<String, String>,
        description: &str,
    ) -> BTreeMap<String, String> {
        let mut properties = metadata.clone();
        properties.insert("exclude_all_tasks".into(), "yes".into());
        properties.insert("description".into(), description.to_string());
        if v.index == Some(0)
            && let Some(s) = self.state.servers.get(&sid)
        {
            for key in ["OS", "users"] {
                if let Some(val) = s.metadata.get(key) {
                    properties.insert(key.to_string(), val.clone());
                }
            }
        }
        properties
    }

    /// `PUT /snapshots/<id>`.
    pub fn update_snapshot(
        &mut self,
        user: &str,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_snapshot_mut(user, id)?;
        set_given(&mut img.name, name);
        if let (Some(d), Some(info)) = (description, img.snapshot.as_mut()) {
            info.description = d;
        }
        img.updated = now;
        Ok(())
    }

    /// `DELETE /snapshots/<id>`: `util.get_snapshot`, then Pithos deletes the object
    /// (owner only: 403).
    pub fn delete_snapshot(&mut self, user: &str, id: &str) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_snapshot_mut(user, id)?;
        img.status = ImageStatus::Deleted;
        img.due = None;
        img.updated = now;
        Ok(())
    }
}
