//! `deploy FILE`: many VMs in node groups, all at once, with progress; Ctrl-C cleans up.

use super::Output;
use super::progress::ProgressDisplay;
use crate::deployment::{self, Format};
use crate::ops::Ctx;
use crate::ops::deploy::{self, DeploySettings};
use crate::view;
use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Deployment file (TOML)
    pub file: PathBuf,
    /// Keep what was created when the deployment fails (default: delete it all)
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Connector calls in flight at once [default: orchestration.concurrency, 64]
    #[arg(long)]
    pub concurrency: Option<usize>,
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// Finish run RUN_ID (an orchestrator died midway): adopt its VMs slot by slot, replace
    /// failed ones, create only the missing slots, wait
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
}

pub async fn exec(ctx: &Ctx, out: &Output, args: Args) -> anyhow::Result<()> {
    let path = &args.file;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read deployment file {}", path.display()))?;
    let draft = deployment::parse(&text, Format::Toml, path.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("in deployment file {}", path.display()))?;
    let settings = DeploySettings {
        concurrency: args.concurrency,
        timeout: args.timeout,
        keep_on_failure: args.keep_on_failure,
        resume: args.resume.clone(),
    };
    let prepared = deploy::prepare(ctx, &draft, &settings)
        .with_context(|| format!("in deployment file {}", path.display()))?;
    let run_id = prepared.run_id.clone();
    let doing = if args.resume.is_some() {
        "resuming"
    } else {
        "deploying"
    };
    eprintln!(
        "{doing} {} ({} VMs in {} node groups) as run {run_id}",
        draft.name,
        draft.total(),
        draft.groups.len()
    );
    let observer = Arc::new(ProgressDisplay::new(&prepared.plan));
    let result = tokio::select! {
        r = deploy::run(ctx, &prepared, observer) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: deleting what run {run_id} created…");
            let cleaned = deploy::cleanup(ctx, &run_id, args.timeout).await;
            bail!("deployment interrupted; {}", match cleaned {
                Ok(n) => format!("removed {n} VM(s)"),
                Err(e) => format!("cleanup failed ({e:#}): run `terminate --run-id {run_id}`"),
            });
        }
    }?;
    out.print(&result, || {
        let vms: Vec<_> = result.vms.iter().map(|d| d.vm.clone()).collect();
        format!("run id: {}\n{}", result.run_id, view::vm_rows(&vms))
    });
    Ok(())
}
