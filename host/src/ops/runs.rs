//! `runs`: every run the cloud holds, found by the run-id tag its VMs carry — the cloud's tags
//! are the record of runs, so this works from any host, after any crash.

use super::Ctx;
use crate::view::RunView;
use connector_runtime::orchestrate::wait::state_name;
use connector_runtime::orchestrate::{TAG_DEPLOYMENT, TAG_RUN};
use std::collections::BTreeMap;
use std::time::SystemTime;

pub async fn list(ctx: &Ctx) -> anyhow::Result<Vec<RunView>> {
    let vms = ctx.client.list_vms(vec![]).await?;
    let mut runs: BTreeMap<String, RunView> = BTreeMap::new();
    for vm in &vms {
        let tag = |k: &str| vm.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        let Some(run_id) = tag(TAG_RUN) else {
            continue;
        };
        let run = runs.entry(run_id.clone()).or_insert_with(|| RunView {
            run_id,
            deployment: tag(TAG_DEPLOYMENT),
            vms: 0,
            states: BTreeMap::new(),
            created: vm.created.clone(),
            age_s: None,
        });
        run.vms += 1;
        *run.states.entry(state_name(vm.state)).or_default() += 1;
        // Timestamps in one format compare as text: the oldest VM dates the run.
        if vm.created < run.created {
            run.created = vm.created.clone();
        }
    }
    let now = SystemTime::now();
    let mut runs: Vec<RunView> = runs.into_values().collect();
    for run in &mut runs {
        run.age_s = humantime::parse_rfc3339_weak(&run.created)
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .map(|d| d.as_secs());
    }
    runs.sort_by(|a, b| a.created.cmp(&b.created));
    Ok(runs)
}
