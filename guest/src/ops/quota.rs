//! The remaining quota of the project new VMs are charged to (Astakos' `GET /quotas`), so the
//! host can refuse a run that cannot fit before it creates anything.

use crate::Error;
use crate::api;
use crate::client::Client;
use crate::protocol::{QuotaEntry, Quotas};
use crate::wit::Quota;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

pub fn project_quota(c: &mut Client) -> Result<Quota, Error> {
    let projects = api::quotas(c)?;
    let (project, resources) = pick_project(c.config.project.as_deref(), &projects)?;
    Ok(quota_of(project, resources))
}

/// A project's name and its quota entries by resource.
type Project<'a> = (&'a str, &'a [(String, QuotaEntry)]);

/// The configured project; else the only one the user has. Several and none configured:
/// which one new VMs are charged to is the cloud's choice (the user's own), so say how to pin it.
fn pick_project<'a>(configured: Option<&str>, projects: &'a Quotas) -> Result<Project<'a>, Error> {
    if let Some(p) = configured {
        return projects
            .iter()
            .find(|(k, _)| k == p)
            .map(|(k, r)| (k.as_str(), r.as_slice()))
            .ok_or_else(|| {
                Error::NotFound(format!("no quota for project {p}: is it one of yours?"))
            });
    }
    let mut keys = projects.iter().map(|(k, r)| (k.as_str(), r.as_slice()));
    match (keys.next(), keys.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => Err(Error::Protocol("the quota answer lists no project".into())),
        _ => Err(Error::Invalid(
            "the user has several projects: set `project` in the cloud configuration to say which one new VMs are charged to".into(),
        )),
    }
}

/// Synnefo counts RAM and disk in bytes; the WIT record in MiB and GiB. A new VM counts
/// against both the CPUs/RAM of active VMs (`cyclades.cpu`, `cyclades.ram`) and of all VMs
/// (`cyclades.total_cpu`, `cyclades.total_ram`); Synnefo's API shows only the resources marked
/// `api_visible` (snf-cyclades-app/synnefo/api/services.py: the totals are not), so whichever
/// of the two the answer has, the smaller remainder counts.
fn quota_of(project: &str, resources: &[(String, QuotaEntry)]) -> Quota {
    let left = |name: &str, unit: u64| {
        resources
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, e)| e.remaining() / unit)
    };
    let least = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Quota {
        project: project.to_string(),
        vms: left("cyclades.vm", 1),
        cpus: least(left("cyclades.cpu", 1), left("cyclades.total_cpu", 1)),
        ram_mb: least(left("cyclades.ram", MIB), left("cyclades.total_ram", MIB)),
        disk_gb: left("cyclades.disk", GIB),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_is_the_smaller_of_the_users_and_the_projects_and_in_wit_units() {
        let answer: Quotas = crate::protocol::read::from_slice::<crate::protocol::QuotasRoot>(
            r#"{"p1": {
                "cyclades.vm": {"usage": 2, "limit": 10, "pending": 1, "project_usage": 5, "project_limit": 8, "project_pending": 0},
                "cyclades.total_ram": {"usage": 0, "limit": 4294967296, "pending": 0, "project_usage": 0, "project_limit": 8589934592, "project_pending": 0}
            }}"#
            .as_bytes(),
        )
        .unwrap()
        .0;
        let (p, resources) = pick_project(None, &answer).unwrap();
        let q = quota_of(p, resources);
        assert_eq!(q.project, "p1");
        assert_eq!(q.vms, Some(3), "min(10-2-1, 8-5)");
        assert_eq!(q.ram_mb, Some(4096));
        assert_eq!(q.cpus, None, "not limited");
        assert!(pick_project(Some("p2"), &answer).is_err());
    }

    #[test]
    fn active_and_total_limits_both_count_whichever_the_api_shows() {
        let answer: Quotas = crate::protocol::read::from_slice::<crate::protocol::QuotasRoot>(
            r#"{"p1": {
                "cyclades.cpu": {"usage": 2, "limit": 8, "pending": 0, "project_usage": 2, "project_limit": 8, "project_pending": 0},
                "cyclades.ram": {"usage": 0, "limit": 2147483648, "pending": 0, "project_usage": 0, "project_limit": 2147483648, "project_pending": 0},
                "cyclades.total_ram": {"usage": 0, "limit": 1073741824, "pending": 0, "project_usage": 0, "project_limit": 1073741824, "project_pending": 0}
            }}"#
            .as_bytes(),
        )
        .unwrap()
        .0;
        let (p, resources) = pick_project(None, &answer).unwrap();
        let q = quota_of(p, resources);
        assert_eq!(q.cpus, Some(6), "only the active-VM limit is shown");
        assert_eq!(q.ram_mb, Some(1024), "the smaller of the two");
    }
}
