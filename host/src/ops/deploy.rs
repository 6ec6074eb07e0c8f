//! Deployments: a [`DeploymentDraft`] with its local inputs read, run under a new run id, and
//! its result as one view.

use super::Ctx;
use super::inputs::LocalFiles;
use crate::deployment::DeploymentDraft;
use crate::recipes::RecipeRun;
use crate::view::{DeployedVmView, DeploymentView, VmView};
use anyhow::{Context, bail};
use connector_runtime::orchestrate::configure::Configure;
use connector_runtime::orchestrate::deploy::{
    self, DeployOptions, DeploymentPlan, GroupPlan, Observer,
};
use connector_runtime::orchestrate::lease::LeaseHeld;
use connector_runtime::orchestrate::{self, TAG_DEPLOYMENT, TAG_RUN, tag};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How a deployment runs (command-line flags, or the API's query string).
#[derive(Debug, Clone, Default)]
pub struct DeploySettings {
    /// Connector calls in flight at once [default: `[orchestration] concurrency`].
    pub concurrency: Option<usize>,
    pub timeout: Option<Duration>,
    pub keep_on_failure: bool,
    /// Finish this earlier run instead of starting a new one.
    pub resume: Option<String>,
}

/// A deployment ready to run: everything local read, a run id chosen.
pub struct Prepared {
    pub run_id: String,
    /// When resuming: refuse a run id the cloud does not know (off for a server picking up
    /// its own runs, which may have died before the first create).
    pub verify_resume: bool,
    pub plan: DeploymentPlan,
    pub opts: DeployOptions,
    /// The run's recipes, when a node group has one.
    pub recipes: Option<Arc<RecipeRun>>,
}

/// The draft with its local inputs read: what the runtime runs.
pub fn plan(draft: &DeploymentDraft, local: &dyn LocalFiles) -> anyhow::Result<DeploymentPlan> {
    let groups = draft
        .groups
        .iter()
        .map(|g| {
            let spec =
                g.vm.resolve(g.vm_name.clone(), local)
                    .with_context(|| format!("in node group `{}`", g.name))?;
            Ok(GroupPlan {
                name: g.name.clone(),
                count: g.count,
                spec,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(DeploymentPlan {
        name: draft.name.clone(),
        groups,
    })
}

/// Reads the draft's local inputs and picks a run id: everything that can be refused before
/// the cloud is asked.
pub fn prepare(
    ctx: &Ctx,
    draft: &DeploymentDraft,
    settings: &DeploySettings,
) -> anyhow::Result<Prepared> {
    let o = &ctx.orchestration;
    // Bounded work whatever the input: a run's slots are kept in memory.
    if draft.total() > o.max_vms_per_run {
        bail!(
            "deployment {} asks for {} VMs; a run may have at most {} (`[orchestration] max_vms_per_run`): split it, or raise the limit",
            draft.name,
            draft.total(),
            o.max_vms_per_run
        );
    }
    let run_id = settings
        .resume
        .clone()
        .unwrap_or_else(orchestrate::new_run_id);
    let mut plan = plan(draft, ctx.local.as_ref())?;
    let recipes = recipe_run(ctx, draft, &run_id)?;
    if let Some(r) = &recipes {
        // The run's key goes next to the user's keys on the VMs that run a recipe.
        for (g, d) in plan.groups.iter_mut().zip(&draft.groups) {
            if d.recipe.is_some() {
                g.spec.ssh_keys.push(r.public_key());
            }
        }
    }
    Ok(Prepared {
        run_id,
        verify_resume: true,
        plan,
        recipes: recipes.clone(),
        opts: DeployOptions {
            configure: recipes.map(|r| r as Arc<dyn Configure>),
            concurrency: settings.concurrency.unwrap_or(o.concurrency),
            poll: ctx.poll(settings.timeout),
            keep_on_failure: settings.keep_on_failure,
            replace_failed: draft.replace_failed.unwrap_or(o.replace_failed),
            resume: settings.resume.is_some(),
            lease_ttl: o.lease_ttl,
        },
    })
}

/// The recipes of the draft's node groups, read, under one new run key; none without recipes.
fn recipe_run(
    ctx: &Ctx,
    draft: &DeploymentDraft,
    run_id: &str,
) -> anyhow::Result<Option<Arc<RecipeRun>>> {
    let mut recipes = BTreeMap::new();
    for g in &draft.groups {
        if let Some(r) = &g.recipe {
            let recipe = r
                .resolve(&super::inputs::recipe_reader(ctx.local.as_ref()))
                .with_context(|| format!("in node group `{}`", g.name))?;
            recipes.insert(g.name.clone(), recipe);
        }
    }
    if recipes.is_empty() {
        return Ok(None);
    }
    let jump = draft
        .jump
        .as_deref()
        .map(connector_ssh::Jump::parse)
        .transpose()
        .context("the deployment's `jump`")?;
    Ok(Some(Arc::new(RecipeRun::new(
        ctx.ssh.clone(),
        run_id,
        recipes,
        jump,
    )?)))
}

/// Runs the deployment; on failure everything it created is deleted (unless
/// `keep_on_failure`) and the error says what failed.
pub async fn run(
    ctx: &Ctx,
    prepared: &Prepared,
    observer: Arc<dyn Observer>,
) -> anyhow::Result<DeploymentView> {
    if prepared.opts.resume && prepared.verify_resume {
        check_resumable(ctx, prepared).await?;
    }
    if let Some(r) = &prepared.recipes {
        r.observe(observer.clone());
    }
    let result = deploy::deploy(
        &ctx.client,
        &prepared.plan,
        &prepared.run_id,
        &prepared.opts,
        observer,
    )
    .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            if !prepared.opts.keep_on_failure && !e.is::<LeaseHeld>() {
                // The run's VMs are gone: so is the need for its key.
                ctx.ssh.forget_run_key(&prepared.run_id);
            }
            return Err(e);
        }
    };
    let reports = prepared
        .recipes
        .as_ref()
        .map(|r| r.reports())
        .unwrap_or_default();
    Ok(DeploymentView {
        run_id: result.run_id,
        name: result.name,
        vms: result
            .vms
            .iter()
            .map(|d| {
                let mut view = DeployedVmView::new(VmView::new(&d.vm));
                view.vm.recipe = reports
                    .iter()
                    .find(|r| r.node == d.node && r.index == d.index)
                    .cloned();
                view
            })
            .collect(),
    })
}

/// A run can be resumed with the deployment that started it, and only if the cloud has it.
async fn check_resumable(ctx: &Ctx, prepared: &Prepared) -> anyhow::Result<()> {
    let run_id = &prepared.run_id;
    let vms = run_vms(ctx, run_id).await?;
    let Some(first) = vms.first() else {
        bail!(
            "no VM carries run id {run_id}: nothing to resume (`runs` lists the runs the cloud has)"
        );
    };
    let name = &prepared.plan.name;
    match first.vm.tags.get(TAG_DEPLOYMENT) {
        Some(d) if d != name => bail!(
            "run {run_id} belongs to deployment `{d}`, not `{name}`: resume it with its own deployment file"
        ),
        _ => Ok(()),
    }
}

/// The VMs of a run as the cloud lists them (by the run-id tag), in node/index order.
pub async fn run_vms(ctx: &Ctx, run_id: &str) -> anyhow::Result<Vec<DeployedVmView>> {
    let vms = ctx.client.list_vms(vec![tag(TAG_RUN, run_id)]).await?;
    let mut vms: Vec<DeployedVmView> = vms
        .iter()
        .map(|v| DeployedVmView::new(VmView::new(v)))
        .collect();
    vms.sort_by(|a, b| (&a.node, a.index).cmp(&(&b.node, b.index)));
    Ok(vms)
}

/// Deletes every VM of a run and waits until they are gone; returns how many there were.
pub async fn cleanup(ctx: &Ctx, run_id: &str, timeout: Option<Duration>) -> anyhow::Result<usize> {
    let removed = orchestrate::cleanup_run(&ctx.client, run_id, ctx.poll(timeout)).await?;
    ctx.ssh.forget_run_key(run_id);
    Ok(removed)
}
