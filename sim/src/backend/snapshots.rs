//! Snapshots (Cyclades block storage). A snapshot is stored as an [`Image`] with
//! `snapshot` set, because in Synnefo a snapshot *is* an image: it is listed among the
//! images and a server boots from it.

use std::collections::BTreeMap;

use super::lookup::find;
use super::model::{Image, ImageStatus, SnapshotInfo, Volume, VolumeStatus};
use super::world::{Core, set_given};
use crate::error::{ApiError, ApiResult};

const GIB: u64 = 1024 * 1024 * 1024;

/// Snapshots are private: only the owner sees one, and a deleted one is gone.
fn is_snapshot_of(img: &Image, user: &str) -> bool {
    img.snapshot.is_some() && img.owner == user && img.status != ImageStatus::Deleted
}

impl Core {
    /// A snapshot of the user, else 404.
    pub fn snapshot(&self, user: &str, id: &str) -> ApiResult<&Image> {
        find(&self.state.images, id, "Snapshot", |i| {
            is_snapshot_of(i, user)
        })
    }

    /// Snapshots of a user.
    pub fn snapshots_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Image> + 'a {
        self.state
            .images
            .values()
            .filter(move |i| is_snapshot_of(i, user))
    }

    /// `POST /snapshots`: the volume must be attached and of an `ext_*` template. A root
    /// volume's snapshot carries the server's OS/USERS metadata, so it boots like an image.
    pub fn create_snapshot(
        &mut self,
        user: &str,
        volume_id: u64,
        name: String,
        description: String,
        metadata: BTreeMap<String, String>,
    ) -> ApiResult<String> {
        let v = self.volume(user, volume_id)?.clone();
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!(
                "Volume {volume_id} has been deleted."
            )));
        }
        let Some(sid) = v.server_id else {
            return Err(ApiError::bad("Cannot snapshot a detached volume!"));
        };
        let template = self
            .volume_type(v.volume_type)
            .map(|t| t.template)
            .unwrap_or("");
        if !template.starts_with("ext_") {
            return Err(ApiError::bad(format!(
                "Cannot take a snapshot of a volume with disk template '{template}'"
            )));
        }
        if v.status != VolumeStatus::InUse {
            return Err(ApiError::bad(format!(
                "Cannot snapshot volume while volume is in '{}' status.",
                v.status.as_str()
            )));
        }
        let properties = self.snapshot_properties(&v, sid);
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
            },
        );
        if v.index == Some(0) {
            self.ssh_on_snapshot(&id, sid);
        }
        Ok(id)
    }

    /// A snapshot boots like an image: it inherits the source image's properties and,
    /// for a root volume, the server's OS/USERS metadata; the image build tasks are off.
    fn snapshot_properties(&self, v: &Volume, sid: u64) -> BTreeMap<String, String> {
        let mut properties = BTreeMap::new();
        // Inherit the source image's properties, then the server's OS/USERS metadata.
        if let Some(src) = v.image_id.as_ref().or(v.snapshot_id.as_ref())
            && let Some(img) = self.state.images.get(src)
        {
            properties = img.properties.clone();
        }
        if v.index == Some(0)
            && let Some(s) = self.state.servers.get(&sid)
        {
            for key in ["OS", "USERS"] {
                if let Some(val) = s.metadata.get(key) {
                    properties.insert(key.to_string(), val.clone());
                }
            }
        }
        properties.insert("EXCLUDE_ALL_TASKS".into(), "yes".into());
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
        self.snapshot(user, id)?;
        let now = self.now;
        if let Some(img) = self.state.images.get_mut(id) {
            set_given(&mut img.name, name);
            if let (Some(d), Some(info)) = (description, img.snapshot.as_mut()) {
                info.description = d;
            }
            img.updated = now;
        }
        Ok(())
    }

    /// `DELETE /snapshots/<id>`.
    pub fn delete_snapshot(&mut self, user: &str, id: &str) -> ApiResult<()> {
        self.snapshot(user, id)?;
        let now = self.now;
        if let Some(img) = self.state.images.get_mut(id) {
            img.status = ImageStatus::Deleted;
            img.due = None;
            img.updated = now;
        }
        Ok(())
    }
}
