//! Servers (Cyclades compute): lookups, the action-validation ladder every server
//! operation climbs first, rename, delete and the pending-task bookkeeping. Creation is
//! in [`super::server_create`], actions in [`super::server_actions`].

use super::lookup::{Listing, find, find_mut};
use super::model::{Server, Task, TaskKind, Time, VolumeStatus};
use super::world::Core;
use crate::error::{ApiError, ApiResult};

impl Core {
    /// A server of `user` (deleted ones included), else 404.
    pub fn server(&self, user: &str, id: u64) -> ApiResult<&Server> {
        find(&self.state.servers, &id, "Server", |s| s.user_id == user)
    }

    pub(super) fn server_mut(&mut self, user: &str, id: u64) -> ApiResult<&mut Server> {
        find_mut(&mut self.state.servers, &id, "Server", |s| {
            s.user_id == user
        })
    }

    /// A server of `user` that may still change: a deleted one stays readable but every
    /// change to it is a 400, as in Synnefo.
    pub(super) fn live_server_mut(&mut self, user: &str, id: u64) -> ApiResult<&mut Server> {
        let s = self.server_mut(user, id)?;
        if s.is_deleted() {
            return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
        }
        Ok(s)
    }

    /// Synnefo's `validate_server_action` ladder.
    pub fn validate_action(&self, s: &Server, action: &str) -> ApiResult<()> {
        if s.is_deleted() {
            return Err(ApiError::bad(format!(
                "Server '{}' has been deleted.",
                s.id
            )));
        }
        if action == "DESTROY" {
            return Ok(());
        }
        if s.suspended {
            return Err(ApiError::Forbidden("Administratively Suspended VM".into()));
        }
        if let Some(t) = s.task {
            if t.kind == TaskKind::Build {
                return Err(ApiError::BuildInProgress(format!(
                    "Server '{}' is being built.",
                    s.id
                )));
            }
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while there is a pending '{}'.",
                t.kind.action()
            )));
        }
        // logic/commands.py `validate_server_action`: "Reassigning is permitted in any state".
        if action == "REASSIGN" {
            return Ok(());
        }
        let op = s.status.operstate();
        if op == "ERROR" {
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while server is in 'ERROR' state."
            )));
        }
        if op == "BUILD" {
            return Err(ApiError::BuildInProgress(format!(
                "Server '{}' is being built.",
                s.id
            )));
        }
        let wrong = (action == "START" && op != "STOPPED")
            || (action == "STOP" && op != "STARTED")
            || (action == "RESIZE" && op != "STOPPED");
        if wrong {
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while server is in '{op}' state."
            )));
        }
        Ok(())
    }

    /// Servers of `user` for lists: non-deleted, or changed since `since` (deleted included).
    pub fn servers_of<'a>(&'a self, user: &'a str, since: Option<Time>) -> Listing<'a, Server> {
        Listing::new(&self.state.servers, user, since, |s, u| s.user_id == u)
    }

    /// `PUT /servers/<id>` rename.
    pub fn rename_server(&mut self, user: &str, id: u64, name: String) -> ApiResult<()> {
        if name.chars().count() > 255 {
            return Err(ApiError::bad("Server name is too long"));
        }
        let now = self.now;
        let s = self.live_server_mut(user, id)?;
        s.name = name;
        s.updated = now;
        Ok(())
    }

    /// `DELETE /servers/<id>`: allowed in any state; completes after `timings.delete`.
    pub fn delete_server(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let s = self.server(user, id)?;
        self.validate_action(s, "DESTROY")?;
        if s.task.is_some_and(|t| t.kind == TaskKind::Destroy) {
            return Ok(());
        }
        let now = self.now;
        let due = self.due(self.settings.timings.delete);
        let vols = s.volumes.clone();
        for vid in vols {
            if let Some(v) = self.state.volumes.get_mut(&vid)
                && v.server_id == Some(id)
                && v.delete_on_termination
                && v.status != VolumeStatus::Deleted
            {
                v.status = VolumeStatus::Deleting;
                v.next_status = Some(VolumeStatus::Deleted);
                v.due = Some(due);
                v.updated = now;
            }
        }
        self.set_server_task(id, TaskKind::Destroy, self.settings.timings.delete);
        Ok(())
    }

    /// Starts job `kind` on server `id`, due after `d`: the server answers every other
    /// action with "pending" until the clock completes it.
    pub(crate) fn set_server_task(&mut self, id: u64, kind: TaskKind, d: std::time::Duration) {
        let now = self.now;
        let due = self.due(d);
        if let Some(s) = self.state.servers.get_mut(&id) {
            s.task = Some(Task {
                kind,
                started: now,
                due,
            });
            s.updated = now;
        }
    }
}
