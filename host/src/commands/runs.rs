//! `runs`: every run the cloud holds (by the run-id tag of its VMs), whichever host started it.

use super::Output;
use crate::ops::{Ctx, runs};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output) -> anyhow::Result<()> {
    let runs = runs::list(ctx).await?;
    let headers = ["RUN", "DEPLOYMENT", "VMS", "STATES", "AGE"];
    out.print(&runs, || {
        view::table(&headers, &runs, |r| {
            let states: Vec<String> = r.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let age = r
                .age_s
                .map(|s| humantime::format_duration(std::time::Duration::from_secs(s)).to_string());
            vec![
                r.run_id.clone(),
                r.deployment.clone().unwrap_or_else(|| "-".into()),
                r.vms.to_string(),
                states.join(", "),
                age.unwrap_or_default(),
            ]
        })
    });
    Ok(())
}
