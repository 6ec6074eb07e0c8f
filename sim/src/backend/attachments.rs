//! Volume attachments (`os-volume_attachments`): plugging available volumes into
//! servers and unplugging them. The rules a volume must meet to be plugged in are here
//! too, because creating a volume straight onto a server obeys the same ones.

use super::model::{Server, TaskKind, Volume, VolumeStatus};
use super::seed::{MAX_DISKS, VolumeType};
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// Only detachable volume types can be plugged in or out after the server's creation.
pub(super) fn check_detachable(vt: &VolumeType) -> ApiResult<()> {
    if !vt.detachable {
        return Err(ApiError::bad(format!(
            "Volume type '{}' is not detachable",
            vt.name
        )));
    }
    Ok(())
}

/// The `template` of a disk template: db/models.py `VolumeType.template`, the part
/// before `_` (`ext_vlmc` and `ext_archipelago` are both `ext`).
fn template_family(disk_template: &str) -> &str {
    disk_template.split('_').next().unwrap_or(disk_template)
}

/// A volume and its server must share the volume template — server_attachments.py
/// `attach_volume` compares `volume.volume_type.template` with the flavor's, the part
/// before `_`, so an `ext_archipelago` volume attaches to an `ext_vlmc` server; the
/// message is its own, missing space included.
pub(super) fn check_same_template(vt: &VolumeType, server_template: &str) -> ApiResult<()> {
    let (volume, server) = (
        template_family(vt.template),
        template_family(server_template),
    );
    if volume != server {
        return Err(ApiError::bad(format!(
            "Volume and server must have the same volume template. Volume has volume template'{volume}' while server has '{server}'"
        )));
    }
    Ok(())
}

impl Core {
    /// Volumes currently attached to a server (any status but deleted).
    pub fn attached_volumes(&self, server_id: u64) -> impl Iterator<Item = &Volume> {
        self.state
            .volumes
            .values()
            .filter(move |v| v.server_id == Some(server_id) && v.status != VolumeStatus::Deleted)
    }

    /// The disk index the next volume of a server gets, or 400 when it has the most
    /// disks Synnefo allows.
    pub(super) fn next_disk_index(&self, server_id: u64) -> ApiResult<u32> {
        if self.attached_volumes(server_id).count() >= MAX_DISKS {
            return Err(ApiError::bad(format!(
                "Maximum volumes per server limit reached ({MAX_DISKS})"
            )));
        }
        Ok(self
            .attached_volumes(server_id)
            .filter_map(|v| v.index)
            .max()
            .map_or(0, |i| i + 1))
    }

    /// The server (404) that may take `action` now, and the volume of the user named in
    /// the attachment request: unknown is 400, not 404, because the URL's resource is
    /// the server.
    fn plug(
        &self,
        user: &str,
        server_id: u64,
        volume_id: u64,
        action: &str,
    ) -> ApiResult<(Server, Volume)> {
        let s = self.server(user, server_id)?.clone();
        self.validate_action(&s, action)?;
        let v = self
            .volume(user, volume_id)
            .cloned()
            .map_err(|_| ApiError::bad(format!("Volume {volume_id} not found")))?;
        Ok((s, v))
    }

    /// 400 unless the volume is in `status`, for a request that wanted to `verb` it.
    fn expect_volume_status(v: &Volume, status: VolumeStatus, verb: &str) -> ApiResult<()> {
        if v.status != status {
            return Err(ApiError::bad(format!(
                "Cannot {verb} volume while volume is in '{}' status.",
                v.status.as_str()
            )));
        }
        Ok(())
    }

    /// Attaches an available volume to a server (`os-volume_attachments`).
    pub fn attach_volume(&mut self, user: &str, server_id: u64, volume_id: u64) -> ApiResult<()> {
        let (s, v) = self.plug(user, server_id, volume_id, "ATTACH_VOLUME")?;
        Self::expect_volume_status(&v, VolumeStatus::Available, "attach")?;
        let vt = self
            .volume_type(v.volume_type)
            .cloned()
            .ok_or_else(|| ApiError::Internal("volume type vanished".into()))?;
        check_detachable(&vt)?;
        let template = self.flavor(s.flavor_id).map(|f| f.template).unwrap_or("");
        check_same_template(&vt, template)?;
        let index = self.next_disk_index(server_id)?;
        let d = self.settings.timings.volume;
        self.start_volume_job(volume_id, VolumeStatus::Attaching, VolumeStatus::InUse);
        if let Some(v) = self.state.volumes.get_mut(&volume_id) {
            v.server_id = Some(server_id);
            v.never_attached = false;
            v.index = Some(index);
        }
        if let Some(s) = self.state.servers.get_mut(&server_id) {
            s.volumes.push(volume_id);
        }
        self.set_server_task(server_id, TaskKind::AttachVolume, d);
        Ok(())
    }

    /// Detaches a non-root volume.
    pub fn detach_volume(&mut self, user: &str, server_id: u64, volume_id: u64) -> ApiResult<()> {
        let (_, v) = self.plug(user, server_id, volume_id, "DETACH_VOLUME")?;
        if v.server_id != Some(server_id) {
            return Err(ApiError::bad(format!(
                "Volume {volume_id} is not attached to server {server_id}"
            )));
        }
        if v.index == Some(0) {
            return Err(ApiError::bad("Cannot detach the root volume of a server"));
        }
        Self::expect_volume_status(&v, VolumeStatus::InUse, "detach")?;
        let detachable = self
            .volume_type(v.volume_type)
            .is_some_and(|t| t.detachable);
        if !detachable {
            return Err(ApiError::bad("Volume type is not detachable"));
        }
        let d = self.settings.timings.volume;
        self.start_volume_job(volume_id, VolumeStatus::Detaching, VolumeStatus::Available);
        self.set_server_task(server_id, TaskKind::DetachVolume, d);
        Ok(())
    }

    /// Puts a volume in the transient `now` status until `timings.volume` has passed,
    /// then the clock moves it to `next`.
    pub(super) fn start_volume_job(&mut self, id: u64, now: VolumeStatus, next: VolumeStatus) {
        let at = self.now;
        let due = self.due(self.settings.timings.volume);
        if let Some(v) = self.state.volumes.get_mut(&id) {
            v.status = now;
            v.next_status = Some(next);
            v.due = Some(due);
            v.updated = at;
        }
    }
}
