//! Block storage (Cyclades volume service): volumes and snapshots. A snapshot is stored
//! as an [`Image`] with `snapshot` set, because in Synnefo a snapshot *is* an image.

use std::collections::BTreeMap;

use super::Core;
use super::model::{Image, ImageStatus, SnapshotInfo, TaskKind, Time, Volume, VolumeStatus};
use super::quota::Usage;
use super::seed::MAX_DISKS;
use crate::error::{ApiError, ApiResult};

const GIB: u64 = 1024 * 1024 * 1024;

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

impl Core {
    /// A volume of the user (deleted included), else 404.
    pub fn volume(&self, user: &str, id: u64) -> ApiResult<&Volume> {
        self.state
            .volumes
            .get(&id)
            .filter(|v| v.user_id == user)
            .ok_or_else(|| ApiError::not_found(format!("Volume {id} not found")))
    }

    /// Volumes of a user for lists; with `since`, changed since (deleted included).
    pub fn volumes_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> impl Iterator<Item = &'a Volume> + 'a {
        self.state.volumes.values().filter(move |v| {
            v.user_id == user
                && match since {
                    Some(t) => v.updated >= t,
                    None => v.status != VolumeStatus::Deleted,
                }
        })
    }

    /// `POST /volumes`.
    pub fn create_volume(&mut self, user: &str, req: CreateVolume) -> ApiResult<u64> {
        if req.size == 0 || req.size > 200 {
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
        let (status, next, due, server_id, index, vtype);
        match req.server_id {
            Some(sid) => {
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
                let t = req.volume_type.unwrap_or(flavor.volume_type);
                let vt = self
                    .volume_type(t)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found(format!("Volume type {t} not found")))?;
                if vt.template != flavor.template {
                    return Err(ApiError::bad(format!(
                        "Volume and server must have the same disk template. Volume has disk template '{}' while server has '{}'.",
                        vt.template, flavor.template
                    )));
                }
                if !vt.detachable {
                    return Err(ApiError::bad(format!(
                        "Volume type '{}' is not detachable",
                        vt.name
                    )));
                }
                if self.attached_volumes(sid).count() >= MAX_DISKS {
                    return Err(ApiError::bad(format!(
                        "Maximum volumes per server limit reached ({MAX_DISKS})"
                    )));
                }
                index = Some(
                    self.attached_volumes(sid)
                        .filter_map(|v| v.index)
                        .max()
                        .map_or(0, |i| i + 1),
                );
                status = VolumeStatus::Creating;
                next = Some(VolumeStatus::InUse);
                due = Some(self.due(self.settings.timings.volume));
                server_id = Some(sid);
                vtype = t;
            }
            None => {
                let t = req.volume_type.ok_or_else(|| {
                    ApiError::bad("Volume type is required for a volume without a server")
                })?;
                let vt = self
                    .volume_type(t)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found(format!("Volume type {t} not found")))?;
                if !vt.detachable {
                    return Err(ApiError::bad(format!(
                        "Volume type '{}' is not detachable",
                        vt.name
                    )));
                }
                status = VolumeStatus::Available;
                next = None;
                due = None;
                server_id = None;
                index = None;
                vtype = t;
            }
        }
        self.check_quota(
            &project,
            Usage {
                disk: req.size,
                ..Default::default()
            },
        )?;
        let id = self.state.next_volume_id;
        self.state.next_volume_id += 1;
        self.state.volumes.insert(
            id,
            Volume {
                id,
                name: req.name,
                description: req.description,
                size: req.size,
                user_id: user.to_string(),
                project,
                volume_type: vtype,
                status,
                next_status: next,
                due,
                server_id,
                index,
                image_id: req.image_ref,
                snapshot_id: req.snapshot_id,
                delete_on_termination: server_id.is_some(),
                created: now,
                updated: now,
                metadata: req.metadata,
            },
        );
        if let Some(sid) = server_id {
            if let Some(s) = self.state.servers.get_mut(&sid) {
                s.volumes.push(id);
            }
            let d = self.settings.timings.volume;
            self.set_server_task(sid, TaskKind::AttachVolume, d);
        }
        Ok(id)
    }

    pub(crate) fn set_server_task(&mut self, id: u64, kind: TaskKind, d: std::time::Duration) {
        let now = self.now;
        let due = self.due(d);
        if let Some(s) = self.state.servers.get_mut(&id) {
            s.task = Some(super::model::Task {
                kind,
                started: now,
                due,
            });
            s.updated = now;
        }
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
                return Err(ApiError::bad(format!("Volume {id} has been deleted.")));
            }
            if let Some(n) = name {
                v.name = n;
            }
            if let Some(d) = description {
                v.description = d;
            }
            if let Some(d) = delete_on_termination {
                v.delete_on_termination = d;
            }
            v.updated = now;
        }
        Ok(())
    }

    /// `DELETE /volumes/<id>`: the root volume cannot be deleted; others go
    /// `deleting` → `deleted` after `timings.volume`.
    pub fn delete_volume(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let v = self.volume(user, id)?.clone();
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!("Volume {id} has been deleted.")));
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
        let now = self.now;
        let due = self.due(self.settings.timings.volume);
        if let Some(v) = self.state.volumes.get_mut(&id) {
            v.status = VolumeStatus::Deleting;
            v.next_status = Some(VolumeStatus::Deleted);
            v.due = Some(due);
            v.updated = now;
        }
        Ok(())
    }

    /// A snapshot of the user, else 404.
    pub fn snapshot(&self, user: &str, id: &str) -> ApiResult<&Image> {
        self.state
            .images
            .get(id)
            .filter(|i| i.snapshot.is_some() && i.owner == user && i.status != ImageStatus::Deleted)
            .ok_or_else(|| ApiError::not_found(format!("Snapshot {id} not found")))
    }

    /// Snapshots of a user.
    pub fn snapshots_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Image> + 'a {
        self.state.images.values().filter(move |i| {
            i.snapshot.is_some() && i.owner == user && i.status != ImageStatus::Deleted
        })
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
        Ok(id)
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
            if let Some(n) = name {
                img.name = n;
            }
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
