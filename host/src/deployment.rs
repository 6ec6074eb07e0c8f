//! Deployment files (TOML or JSON): parsed, defaults merged into node groups, sizes checked.
//! Planning is pure: local files (SSH keys, `files`, `user_data_file`) are only named here,
//! relative to the deployment file; whoever runs the plan reads them (the command line) or
//! refuses them (the server).

use crate::ops::inputs::{FileInput, SizeRequest, SshKey, UserData, VmInputs, resolve_path};
use crate::ops::vms::VmRequest;
use crate::recipes::{RecipeRequest, RecipeSource};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A deployment file (TOML, or the same in JSON). Unknown keys are errors naming the key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    pub name: String,
    /// VMs in the cloud's error state replaced per run [default: `[orchestration] replace_failed`].
    pub replace_failed: Option<u32>,
    /// `user@host:port` of the jump host this deployment's VMs are reached through for their
    /// recipes [default: `[ssh] jump`].
    pub jump: Option<String>,
    #[serde(default)]
    pub defaults: NodeSettings,
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeSettings>,
}

/// The settings of a node group (`[[node]]`) or of `[defaults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// Node group name (only in `[[node]]`).
    pub name: Option<String>,
    /// How many VMs (only in `[[node]]`; default 1).
    pub count: Option<u32>,
    pub image: Option<String>,
    #[serde(flatten)]
    pub size: SizeRequest,
    /// SSH public keys: paths of `.pub` files (`~` is expanded) or key text.
    pub ssh_keys: Option<Vec<String>>,
    /// `LOCAL=REMOTE` pairs: local files placed on the VM.
    pub files: Option<Vec<String>>,
    pub user_data: Option<String>,
    pub user_data_file: Option<String>,
    pub volatile_disk_gb: Option<u32>,
    pub tags: Option<BTreeMap<String, String>>,
    pub project: Option<String>,
    /// A local script (relative to the file) each VM runs over SSH once the run's VMs run.
    pub recipe: Option<String>,
    /// The script itself, instead of `recipe` (what the API takes).
    pub recipe_script: Option<String>,
    /// Login user of the recipe [default: root].
    pub recipe_user: Option<String>,
    /// How long the recipe may run [default: 30m].
    #[serde(default, with = "humantime_serde")]
    pub recipe_timeout: Option<std::time::Duration>,
    /// Environment of the recipe (next to SLIPSTREAM_RUN_ID, SLIPSTREAM_NODE, SLIPSTREAM_INDEX).
    pub recipe_env: Option<BTreeMap<String, String>>,
}

/// One node group: `count` VMs of the same description.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDraft {
    pub name: String,
    pub count: u32,
    /// The VMs are named `<deployment>-<group>-<index>`.
    pub vm_name: String,
    pub vm: VmRequest,
    pub recipe: Option<RecipeRequest>,
}

/// A whole deployment, validated, its local files named but not read.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentDraft {
    pub name: String,
    pub replace_failed: Option<u32>,
    pub jump: Option<String>,
    pub groups: Vec<GroupDraft>,
}

impl DeploymentDraft {
    pub fn total(&self) -> u64 {
        self.groups.iter().map(|g| u64::from(g.count)).sum()
    }
}

/// The format of a deployment's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// Parses a deployment; relative paths in it are relative to `base_dir`.
pub fn parse(text: &str, format: Format, base_dir: &Path) -> anyhow::Result<DeploymentDraft> {
    let file: DeploymentFile = match format {
        Format::Toml => toml::from_str(text).context("invalid deployment (TOML)")?,
        Format::Json => serde_json::from_str(text).context("invalid deployment (JSON)")?,
    };
    plan(&file, base_dir).context("invalid deployment")
}

/// Checks a parsed file and merges `[defaults]` into each node group.
pub fn plan(file: &DeploymentFile, base_dir: &Path) -> anyhow::Result<DeploymentDraft> {
    if file.defaults.name.is_some() || file.defaults.count.is_some() {
        bail!("`name` and `count` belong in a [[node]] group, not in [defaults]");
    }
    if file.nodes.is_empty() {
        bail!("no [[node]] group: add at least one, e.g. [[node]] name = \"web\" count = 2");
    }
    let mut seen = std::collections::HashSet::new();
    let mut groups = Vec::new();
    for (i, node) in file.nodes.iter().enumerate() {
        let name = node
            .name
            .clone()
            .with_context(|| format!("[[node]] number {} has no `name`", i + 1))?;
        if !seen.insert(name.clone()) {
            bail!("two node groups are named `{name}`: names must be unique");
        }
        let count = node.count.unwrap_or(1);
        if count == 0 {
            bail!("node group `{name}` has count = 0");
        }
        let merged = merge(&file.defaults, node);
        let vm = draft(&merged, base_dir).with_context(|| format!("in node group `{name}`"))?;
        let recipe =
            recipe(&merged, base_dir).with_context(|| format!("in node group `{name}`"))?;
        groups.push(GroupDraft {
            vm_name: format!("{}-{}", file.name, name),
            name,
            count,
            vm,
            recipe,
        });
    }
    Ok(DeploymentDraft {
        name: file.name.clone(),
        replace_failed: file.replace_failed,
        jump: file.jump.clone(),
        groups,
    })
}

/// The group's recipe, if it has one.
fn recipe(m: &NodeSettings, base_dir: &Path) -> anyhow::Result<Option<RecipeRequest>> {
    let source = match (&m.recipe, &m.recipe_script) {
        (Some(_), Some(_)) => bail!("give recipe or recipe_script, not both"),
        (Some(path), None) => RecipeSource::File(resolve_path(path, base_dir)),
        (None, Some(text)) => RecipeSource::Inline(text.clone()),
        (None, None) => {
            if m.recipe_user.is_some() || m.recipe_timeout.is_some() || m.recipe_env.is_some() {
                bail!(
                    "recipe_user, recipe_timeout and recipe_env need a recipe (or recipe_script)"
                );
            }
            return Ok(None);
        }
    };
    Ok(Some(RecipeRequest {
        source,
        user: m.recipe_user.clone(),
        timeout: m.recipe_timeout,
        env: m.recipe_env.clone().unwrap_or_default(),
    }))
}

fn recipe_of<'a>(
    n: &'a NodeSettings,
    d: &'a NodeSettings,
) -> (&'a Option<String>, &'a Option<String>) {
    if n.recipe.is_some() || n.recipe_script.is_some() {
        (&n.recipe, &n.recipe_script)
    } else {
        (&d.recipe, &d.recipe_script)
    }
}

fn merge(d: &NodeSettings, n: &NodeSettings) -> NodeSettings {
    // A node's explicit size replaces the default size as a whole (a flavor in [defaults] and
    // cpu/ram in a node means the node's cpu/ram).
    let mut size = if n.size.is_given() { &n.size } else { &d.size }.clone();
    size.disk_gb = n.size.disk_gb.or(size.disk_gb);
    let mut tags = d.tags.clone().unwrap_or_default();
    tags.extend(n.tags.clone().unwrap_or_default());
    NodeSettings {
        name: n.name.clone(),
        count: n.count,
        image: n.image.clone().or_else(|| d.image.clone()),
        size,
        ssh_keys: n.ssh_keys.clone().or_else(|| d.ssh_keys.clone()),
        files: n.files.clone().or_else(|| d.files.clone()),
        user_data: n.user_data.clone().or_else(|| d.user_data.clone()),
        user_data_file: n
            .user_data_file
            .clone()
            .or_else(|| d.user_data_file.clone()),
        volatile_disk_gb: n.volatile_disk_gb.or(d.volatile_disk_gb),
        tags: Some(tags),
        project: n.project.clone().or_else(|| d.project.clone()),
        // A node's recipe (file or script) replaces the default one as a whole.
        recipe: recipe_of(n, d).0.clone(),
        recipe_script: recipe_of(n, d).1.clone(),
        recipe_user: n.recipe_user.clone().or_else(|| d.recipe_user.clone()),
        recipe_timeout: n.recipe_timeout.or(d.recipe_timeout),
        recipe_env: match (&d.recipe_env, &n.recipe_env) {
            (None, None) => None,
            (d, n) => {
                let mut env = d.clone().unwrap_or_default();
                env.extend(n.clone().unwrap_or_default());
                Some(env)
            }
        },
    }
}

fn draft(m: &NodeSettings, base_dir: &Path) -> anyhow::Result<VmRequest> {
    let image = m
        .image
        .clone()
        .context("no image: set `image` in the group or in [defaults]")?;
    // Checked now, so a bad size fails before anything is created.
    m.size.size()?;
    let ssh_keys = m
        .ssh_keys
        .iter()
        .flatten()
        .map(|k| match SshKey::parse(k) {
            SshKey::Path(p) => SshKey::Path(resolve_path(&p.to_string_lossy(), base_dir)),
            inline => inline,
        })
        .collect();
    let files = m
        .files
        .iter()
        .flatten()
        .map(|pair| FileInput::parse_pair(pair, base_dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let user_data = match (&m.user_data, &m.user_data_file) {
        (Some(_), Some(_)) => bail!("give user_data or user_data_file, not both"),
        (Some(u), None) => Some(UserData::Inline(u.clone())),
        (None, Some(f)) => Some(UserData::File(resolve_path(f, base_dir))),
        (None, None) => None,
    };
    Ok(VmRequest {
        image,
        size: m.size.clone(),
        inputs: VmInputs {
            ssh_keys,
            files,
            user_data,
        },
        volatile_disk_gb: m.volatile_disk_gb,
        tags: m.tags.clone().unwrap_or_default(),
        project: m.project.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_runtime::bindings::types::{Shape, Size};

    fn parse(text: &str) -> anyhow::Result<DeploymentDraft> {
        super::parse(text, Format::Toml, Path::new("."))
    }

    #[test]
    fn groups_inherit_defaults_and_override_size() {
        let p = parse(
            r#"
name = "web-app"
[defaults]
image = "CELAR-Ubuntu-14.04-LTS"
flavor = "C2R2048D10ext_vlmc"
[[node]]
name = "web"
count = 3
[[node]]
name = "db"
cpu = 4
ram_mb = 4096
volatile_disk_gb = 50
"#,
        )
        .unwrap();
        assert_eq!(p.total(), 4);
        assert_eq!(
            p.groups[0].vm.size.size().unwrap(),
            Size::Flavor("C2R2048D10ext_vlmc".into())
        );
        assert_eq!(p.groups[0].vm.image, "CELAR-Ubuntu-14.04-LTS");
        assert_eq!(
            p.groups[1].vm.size.size().unwrap(),
            Size::Shape(Shape {
                cpus: 4,
                ram_mb: 4096,
                disk_gb: None
            })
        );
        assert_eq!(p.groups[1].vm.volatile_disk_gb, Some(50));
        assert_eq!(p.groups[1].vm_name, "web-app-db");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err =
            toml::from_str::<DeploymentFile>("name = \"x\"\n[[node]]\nname = \"a\"\ncont = 2\n")
                .unwrap_err();
        assert!(err.to_string().contains("cont"), "{err}");
    }

    #[test]
    fn missing_pieces_are_explained() {
        let err = parse("name = \"x\"\n[[node]]\nname = \"a\"\nflavor = \"f\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("no image"), "{err:#}");
        let err =
            parse("name = \"x\"\n[[node]]\nname = \"a\"\nimage = \"i\"\ncpu = 2\n").unwrap_err();
        assert!(format!("{err:#}").contains("ram_mb"), "{err:#}");
        let err = parse("name = \"x\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("[[node]]"), "{err:#}");
    }

    #[test]
    fn local_files_are_named_relative_to_the_file_not_read() {
        let p = super::parse(
            "name = \"x\"\n[defaults]\nimage = \"i\"\nflavor = \"f\"\nssh_keys = [\"keys/a.pub\", \"ssh-ed25519 AAAA me@x\"]\nfiles = [\"setup.sh=/root/setup.sh\"]\nuser_data_file = \"init.yaml\"\n[[node]]\nname = \"a\"\n",
            Format::Toml,
            Path::new("/deploy"),
        )
        .unwrap();
        let vm = &p.groups[0].vm;
        assert_eq!(
            vm.inputs.ssh_keys,
            vec![
                SshKey::Path("/deploy/keys/a.pub".into()),
                SshKey::Inline("ssh-ed25519 AAAA me@x".into())
            ]
        );
        assert_eq!(
            vm.inputs.files,
            vec![FileInput::Local {
                local: "/deploy/setup.sh".into(),
                remote: "/root/setup.sh".into()
            }]
        );
        assert_eq!(
            vm.inputs.user_data,
            Some(UserData::File("/deploy/init.yaml".into()))
        );
    }
}
