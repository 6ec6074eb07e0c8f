//! The Astakos account API beyond quotas: the uuid ↔ display-name catalogs
//! (`user_catalogs`), the resources Astakos registers (`resources`) and projects.
//!
//! Every simulated user has its *system project* (Astakos `functions.make_base_project`):
//! the project's uuid is the user's, its name `system:<uuid>`, no owner, closed to others.
//! A project the admin API gave limits of its own (`PUT /_sim/quotas/{project}`) is a
//! shared project every simulated user is an accepted member of; so is any other project
//! a user has charged a server or a volume to (the simulator takes any project id).

use std::collections::BTreeMap;

use serde::Serialize;

use super::seed::{SYSTEM_NAME, SYSTEM_UUID};
use super::world::Core;
use crate::config::QuotaLimits;
use crate::error::{ApiError, ApiResult};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// One resource as Astakos registers it (`astakos.im.models.Resource.get_info`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ResourceInfo {
    /// `service_origin`.
    pub service: &'static str,
    /// `desc`.
    pub description: &'static str,
    /// `unit` (`null` for counts).
    pub unit: Option<&'static str>,
    /// Shown in the web UI.
    pub ui_visible: bool,
    /// Shown by the API (`/quotas`, `/resources`, project grants).
    pub api_visible: bool,
}

/// The resources a default deployment registers, as declared in Synnefo's
/// `snf-cyclades-app/synnefo/api/services.py` (`cyclades_services`) and
/// `snf-astakos-app/astakos/api/services.py` (`astakos_services`): `cyclades.total_cpu`,
/// `cyclades.total_ram` and `astakos.pending_app` are registered with
/// `api_visible: False`, so the API never shows them (upgrade notes of Synnefo 0.15).
pub const RESOURCES: [(&str, ResourceInfo); 9] = [
    (
        "astakos.pending_app",
        res(
            "astakos_account",
            "Number of pending project applications",
            None,
            false,
        ),
    ),
    (
        "cyclades.cpu",
        res(
            "cyclades_compute",
            "Number of virtual machine processors of running servers",
            None,
            true,
        ),
    ),
    (
        "cyclades.disk",
        res(
            "cyclades_compute",
            "Virtual machine disk size",
            Some("bytes"),
            true,
        ),
    ),
    (
        "cyclades.floating_ip",
        res(
            "cyclades_network",
            "Number of Floating IP addresses",
            None,
            true,
        ),
    ),
    (
        "cyclades.network.private",
        res("cyclades_network", "Number of private networks", None, true),
    ),
    (
        "cyclades.ram",
        res(
            "cyclades_compute",
            "Virtual machine memory size of running servers",
            Some("bytes"),
            true,
        ),
    ),
    (
        "cyclades.total_cpu",
        res(
            "cyclades_compute",
            "Number of virtual machine processors",
            None,
            false,
        ),
    ),
    (
        "cyclades.total_ram",
        res(
            "cyclades_compute",
            "Virtual machine memory size",
            Some("bytes"),
            false,
        ),
    ),
    (
        "cyclades.vm",
        res("cyclades_compute", "Number of virtual machines", None, true),
    ),
];

const fn res(
    service: &'static str,
    description: &'static str,
    unit: Option<&'static str>,
    visible: bool,
) -> ResourceInfo {
    ResourceInfo {
        service,
        description,
        unit,
        ui_visible: visible,
        api_visible: visible,
    }
}

/// The API-visible resources (`astakos.im.register.get_api_visible_resources`).
pub fn visible_resources() -> impl Iterator<Item = &'static str> {
    RESOURCES
        .iter()
        .filter(|(_, r)| r.api_visible)
        .map(|(name, _)| *name)
}

/// The limit of each resource in `limits`, in the API's units (bytes for RAM and disk).
/// The hidden totals have the limits of their running counterparts.
pub fn limit_of(limits: &QuotaLimits, resource: &str) -> Option<u64> {
    Some(match resource {
        "cyclades.vm" => limits.vms,
        "cyclades.cpu" | "cyclades.total_cpu" => limits.cpus,
        "cyclades.ram" | "cyclades.total_ram" => limits.ram_mib * MIB,
        "cyclades.disk" => limits.disk_gib * GIB,
        "cyclades.floating_ip" => limits.floating_ips,
        "cyclades.network.private" => limits.private_networks,
        _ => return None,
    })
}

/// A project as `GET /account/v1.0/projects` lists it (`astakos/api/projects.py`
/// `get_projects_details`; the applicant-only `last_application` is left out: the
/// simulator has no applications).
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    /// The project's uuid.
    pub id: String,
    /// `active`.
    pub state: &'static str,
    /// ISO 8601 with offset.
    pub creation_date: String,
    /// `system:<uuid>` for a system project.
    pub name: String,
    /// `null` for a system project.
    pub owner: Option<String>,
    /// Empty.
    pub homepage: String,
    /// What it is for.
    pub description: String,
    /// ISO 8601 with offset.
    pub end_date: String,
    /// `closed` for a system project, `auto` for a shared one.
    pub join_policy: &'static str,
    /// Likewise.
    pub leave_policy: &'static str,
    /// 1 for a system project.
    pub max_members: u64,
    /// System projects are private.
    pub private: bool,
    /// `is_base`.
    pub system_project: bool,
    /// Visible resources: `member_capacity`, `project_capacity`.
    pub resources: BTreeMap<&'static str, Capacity>,
}

/// A project's grant of one resource.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Capacity {
    /// What each member may use.
    pub member_capacity: u64,
    /// What the project as a whole may use.
    pub project_capacity: u64,
}

impl Core {
    /// `POST /account/v1.0/user_catalogs` (`astakos/api/util.py`
    /// `get_uuid_displayname_catalogs`): `{uuid: name}` of the known `uuids`,
    /// `{name: uuid}` of the known `displaynames` (matched case-insensitively, keyed as asked).
    pub fn user_catalogs(&self, body: &serde_json::Value) -> ApiResult<serde_json::Value> {
        use serde_json::Value;
        let input = body
            .as_object()
            .ok_or_else(|| ApiError::bad("Request body should be a json formatted dictionary"))?;
        let uuids: Vec<&str> = match input.get("uuids") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let names = match input.get("displaynames") {
            None => Vec::new(),
            Some(Value::Array(a)) => {
                let mut out = Vec::new();
                for item in a {
                    let s = item
                        .as_str()
                        .ok_or_else(|| ApiError::bad("Items in 'displaynames' must be strings"))?;
                    out.push(s);
                }
                out
            }
            Some(other) => {
                return Err(ApiError::bad(format!(
                    "Invalid displaynames: {}",
                    py_repr(other)
                )));
            }
        };
        // The simulated users, and the account that owns the public images.
        let accounts: Vec<(&str, &str)> = self
            .settings
            .users
            .iter()
            .map(|u| (u.uuid.as_str(), u.name.as_str()))
            .chain([(SYSTEM_UUID, SYSTEM_NAME)])
            .collect();
        let mut uuid_catalog = serde_json::Map::new();
        for (uuid, name) in accounts.iter().filter(|(u, _)| uuids.contains(u)) {
            uuid_catalog.insert(uuid.to_string(), Value::from(*name));
        }
        let mut displayname_catalog = serde_json::Map::new();
        for asked in names {
            if let Some((uuid, _)) = accounts
                .iter()
                .find(|(_, n)| n.to_lowercase() == asked.to_lowercase())
            {
                displayname_catalog.insert(asked.to_string(), Value::from(*uuid));
            }
        }
        Ok(serde_json::json!({
            "uuid_catalog": uuid_catalog,
            "displayname_catalog": displayname_catalog,
        }))
    }

    /// The projects `user` sees (`GET /projects`, mode `default`: those it is a member of).
    pub fn projects_of(&self, user: &str) -> Vec<ProjectView> {
        let mut ids: Vec<&str> = self
            .settings
            .project_quotas
            .keys()
            .map(String::as_str)
            .collect();
        let servers = self.state.servers.values().filter(|s| s.user_id == user);
        ids.extend(servers.map(|s| s.project.as_str()));
        let volumes = self.state.volumes.values().filter(|v| v.user_id == user);
        ids.extend(volumes.map(|v| v.project.as_str()));
        ids.sort_unstable();
        ids.dedup();
        let mut out = vec![self.system_project(user)];
        for id in ids {
            if id != user && !self.settings.users.iter().any(|u| u.uuid == id) {
                out.push(self.shared_project(id));
            }
        }
        out
    }

    /// `GET /projects/{id}` (`astakos/api/projects.py` `_get_project`): 404 `Project
    /// <id> not found.` for one the user cannot see (Astakos `get_project_by_uuid`
    /// and `project_check_allowed`, which answers the same for both).
    pub fn project_of(&self, user: &str, id: &str) -> ApiResult<ProjectView> {
        self.projects_of(user)
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| ApiError::not_found(format!("Project {id} not found.")))
    }

    /// Whether `project` is one `user` may charge resources to.
    pub fn is_member(&self, user: &str, project: &str) -> bool {
        self.projects_of(user).iter().any(|p| p.id == project)
    }

    fn grants(&self, project: &str) -> BTreeMap<&'static str, Capacity> {
        let limits = self.limits(project);
        visible_resources()
            .filter_map(|r| {
                let l = limit_of(&limits, r)?;
                Some((
                    r,
                    Capacity {
                        member_capacity: l,
                        project_capacity: l,
                    },
                ))
            })
            .collect()
    }

    fn system_project(&self, user: &str) -> ProjectView {
        let name = self
            .settings
            .users
            .iter()
            .find(|u| u.uuid == user)
            .map_or(user, |u| u.name.as_str());
        ProjectView {
            id: user.to_string(),
            state: "active",
            creation_date: self.epoch_iso(),
            name: format!("system:{user}"),
            owner: None,
            homepage: String::new(),
            description: format!("system project for user {name}"),
            end_date: self.end_iso(),
            join_policy: "closed",
            leave_policy: "closed",
            max_members: 1,
            private: true,
            system_project: true,
            resources: self.grants(user),
        }
    }

    fn shared_project(&self, id: &str) -> ProjectView {
        ProjectView {
            id: id.to_string(),
            state: "active",
            creation_date: self.epoch_iso(),
            name: id.to_string(),
            owner: self.settings.users.first().map(|u| u.uuid.clone()),
            homepage: String::new(),
            description: "a project shared by the simulated users".into(),
            end_date: self.end_iso(),
            join_policy: "auto",
            leave_policy: "auto",
            max_members: self.settings.users.len() as u64,
            private: false,
            system_project: false,
            resources: self.grants(id),
        }
    }

    /// Projects exist from the start of the simulated world.
    fn epoch_iso(&self) -> String {
        crate::routes::render::iso(&self.started)
    }

    /// Astakos gives a system project 100 years.
    fn end_iso(&self) -> String {
        let end = self.started + chrono::TimeDelta::days(36525);
        crate::routes::render::iso(&end)
    }
}

/// How Python's `%s` prints a JSON value in Astakos' messages.
fn py_repr(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        other => other.to_string(),
    }
}
