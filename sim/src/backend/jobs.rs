//! The clock: completes every asynchronous job whose due time has passed. Jobs are stored
//! as due times rather than timers, so a state file saved by one process continues in
//! the next, and a read at any later time sees exactly the transitions that happened.

use super::model::{ImageStatus, ServerStatus, TaskKind, Time, VolumeStatus};
use super::world::Core;

impl Core {
    /// Completes every job due at or before `now`. Returns whether anything changed.
    pub fn advance(&mut self, now: Time) -> bool {
        self.now = now;
        let servers = self.complete_server_tasks(now);
        let volumes = self.complete_volume_jobs(now);
        let images = self.complete_image_jobs(now);
        let ports = self.complete_port_jobs(now);
        servers || volumes || images || ports
    }

    fn complete_server_tasks(&mut self, now: Time) -> bool {
        let due_servers: Vec<u64> = self
            .state
            .servers
            .values()
            .filter(|s| s.task.is_some_and(|t| t.due <= now))
            .map(|s| s.id)
            .collect();
        for &id in &due_servers {
            self.complete_server_task(id);
        }
        !due_servers.is_empty()
    }

    /// Volume jobs; a volume that ends detached (or deleted) leaves its server's list.
    fn complete_volume_jobs(&mut self, now: Time) -> bool {
        let mut changed = false;
        let mut unplugged: Vec<(u64, u64, Time)> = Vec::new();
        for v in self.state.volumes.values_mut() {
            if let (Some(due), Some(next)) = (v.due, v.next_status)
                && due <= now
            {
                v.status = next;
                v.next_status = None;
                v.due = None;
                v.updated = due;
                if next == VolumeStatus::Available || next == VolumeStatus::Deleted {
                    if let Some(sid) = v.server_id.take() {
                        unplugged.push((sid, v.id, due));
                    }
                    v.index = None;
                }
                changed = true;
            }
        }
        for (sid, vid, at) in unplugged {
            if let Some(s) = self.state.servers.get_mut(&sid)
                && !s.is_deleted()
            {
                s.volumes.retain(|x| *x != vid);
                s.updated = at;
            }
        }
        changed
    }

    /// Snapshots being saved become ACTIVE.
    fn complete_image_jobs(&mut self, now: Time) -> bool {
        complete_due(
            self.state.images.values_mut(),
            now,
            |i| &mut i.due,
            |img, due| {
                if img.status == ImageStatus::Saving {
                    img.status = ImageStatus::Active;
                }
                img.updated = due;
            },
        )
    }

    /// Ports being built become ACTIVE; ports being removed from their server go.
    fn complete_port_jobs(&mut self, now: Time) -> bool {
        let removed: Vec<u64> = self
            .state
            .ports
            .values()
            .filter(|p| p.deleting && p.due.is_some_and(|d| d <= now))
            .map(|p| p.id)
            .collect();
        for &pid in &removed {
            self.remove_port(pid);
        }
        let built = complete_due(
            self.state.ports.values_mut(),
            now,
            |p| &mut p.due,
            |p, due| {
                if p.status == "BUILD" {
                    p.status = "ACTIVE".into();
                }
                p.updated = due;
            },
        );
        built || !removed.is_empty()
    }

    fn complete_server_task(&mut self, id: u64) {
        let Some(server) = self.state.servers.get_mut(&id) else {
            return;
        };
        let Some(task) = server.task.take() else {
            return;
        };
        let at = task.due;
        server.updated = at;
        match task.kind {
            TaskKind::Build => {
                let failed = server.fail_build;
                server.status = if failed {
                    ServerStatus::Error
                } else {
                    ServerStatus::Active
                };
                self.complete_build(id, at, failed);
            }
            TaskKind::Start | TaskKind::Reboot => server.status = ServerStatus::Active,
            TaskKind::Stop => server.status = ServerStatus::Stopped,
            TaskKind::Resize { flavor } => {
                server.flavor_id = flavor;
            }
            TaskKind::AttachVolume | TaskKind::DetachVolume => {}
            TaskKind::Destroy => {
                server.status = ServerStatus::Deleted;
                self.complete_destroy(id, at);
            }
        }
        self.ssh_on_task_done(id, task.kind, at);
    }

    /// A build ends for the server's volumes and NICs too: in use and ACTIVE, or ERROR.
    fn complete_build(&mut self, id: u64, at: Time, failed: bool) {
        let Some(server) = self.state.servers.get(&id) else {
            return;
        };
        let (vols, ports) = (server.volumes.clone(), server.ports.clone());
        for v in vols {
            if let Some(v) = self.state.volumes.get_mut(&v) {
                v.updated = at;
                v.due = None;
                v.next_status = None;
                v.status = if failed {
                    VolumeStatus::Error
                } else {
                    VolumeStatus::InUse
                };
            }
        }
        for p in ports {
            if let Some(p) = self.state.ports.get_mut(&p) {
                p.updated = at;
                p.due = None;
                p.status = if failed { "ERROR" } else { "ACTIVE" }.into();
            }
        }
    }

    /// A deleted server takes its `delete_on_termination` volumes and its NICs along,
    /// frees the others and releases its floating IPs.
    fn complete_destroy(&mut self, id: u64, at: Time) {
        let Some(server) = self.state.servers.get(&id) else {
            return;
        };
        let (vols, ports) = (server.volumes.clone(), server.ports.clone());
        for vid in vols {
            if let Some(v) = self.state.volumes.get_mut(&vid) {
                if v.server_id != Some(id) || v.status == VolumeStatus::Deleted {
                    continue;
                }
                v.updated = at;
                v.due = None;
                v.next_status = None;
                if v.delete_on_termination {
                    v.status = VolumeStatus::Deleted;
                } else {
                    v.status = VolumeStatus::Available;
                    v.server_id = None;
                    v.index = None;
                }
            }
        }
        for pid in ports {
            if let Some(p) = self.state.ports.get_mut(&pid) {
                p.deleted = true;
                p.status = "DELETED".into();
                p.updated = at;
                p.due = None;
                if let Some(fid) = p.floating_ip.take()
                    && let Some(f) = self.state.floating_ips.get_mut(&fid)
                {
                    f.port_id = None;
                    f.updated = at;
                }
            }
        }
    }
}

/// Clears the job of every record whose `due` time is at or before `now` and lets
/// `finish` move it on (given the due time); whether any was.
fn complete_due<'a, T: 'a>(
    records: impl Iterator<Item = &'a mut T>,
    now: Time,
    due: fn(&mut T) -> &mut Option<Time>,
    finish: impl Fn(&mut T, Time),
) -> bool {
    let mut changed = false;
    for r in records {
        if let Some(at) = *due(r)
            && at <= now
        {
            *due(r) = None;
            finish(r, at);
            changed = true;
        }
    }
    changed
}
