//! Deployment progress on stderr: a bar per node group on a terminal, plain lines otherwise.

use connector_runtime::orchestrate::deploy::{DeploymentPlan, GroupProgress, Observer};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io::IsTerminal;

/// Deployment progress: bars per node group on a terminal, plain lines otherwise.
pub struct ProgressDisplay {
    bars: Option<(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    )>,
    last_line: Mutex<String>,
}

impl ProgressDisplay {
    pub fn new(plan: &DeploymentPlan) -> Self {
        if !std::io::stderr().is_terminal() {
            return ProgressDisplay {
                bars: None,
                last_line: Mutex::default(),
            };
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} running {msg}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        let bars = plan
            .groups
            .iter()
            .map(|g| {
                let bar = multi.add(indicatif::ProgressBar::new(g.count as u64));
                bar.set_style(style.clone());
                bar.set_prefix(g.name.clone());
                (g.name.clone(), bar)
            })
            .collect();
        ProgressDisplay {
            bars: Some((multi, bars)),
            last_line: Mutex::default(),
        }
    }
}

impl Observer for ProgressDisplay {
    fn phase(&self, phase: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(phase);
            }
            None => eprintln!("{phase}"),
        }
    }

    /// With recipes, a group's bar ends counting its configured VMs.
    fn configured(&self, node: &str, configured: u32) {
        match &self.bars {
            Some((_, bars)) => {
                if let Some(bar) = bars.get(node) {
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{prefix:>12} [{bar:30}] {pos}/{len} configured",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_position(u64::from(configured));
                }
            }
            None => eprintln!("{node}: {configured} configured"),
        }
    }

    fn progress(&self, groups: &BTreeMap<String, GroupProgress>) {
        match &self.bars {
            Some((_, bars)) => {
                for (name, p) in groups {
                    if let Some(bar) = bars.get(name) {
                        bar.set_position(p.running as u64);
                        bar.set_message(format!("({} created, {} failed)", p.created, p.failed));
                    }
                }
            }
            None => {
                let line = groups
                    .iter()
                    .map(|(n, p)| {
                        format!(
                            "{n}: {}/{} created, {} running",
                            p.created, p.total, p.running
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut last = self.last_line.lock();
                if *last != line {
                    eprintln!("{line}");
                    *last = line;
                }
            }
        }
    }
}
