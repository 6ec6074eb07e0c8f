//! What serve mode is driving, on disk: every deployment it accepted and every run it is
//! deleting has a small file in `[server] state_dir` until the work is done. A server that
//! stops midway (crash, restart, deploy of a new version) finds them when it starts again and
//! finishes them — resuming a deployment slot by slot, or deleting a run — so no run is left
//! half-made or half-deleted. The cloud's tags stay the record of the VMs; this is only the
//! record of what was asked.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a run was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Deploying,
    Terminating,
}

/// One piece of work in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub connector: String,
    pub run_id: String,
    pub phase: Phase,
    /// The deployment as it was posted (TOML or JSON), to resume it.
    #[serde(default)]
    pub deployment: String,
    #[serde(default)]
    pub json: bool,
    pub concurrency: Option<usize>,
    pub timeout_s: Option<u64>,
    #[serde(default)]
    pub keep_on_failure: bool,
}

/// The directory of entries; without one, nothing is recorded.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    dir: Option<PathBuf>,
}

impl Journal {
    pub fn open(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).map_err(|e| {
                anyhow::anyhow!("cannot create [server] state_dir {}: {e}", d.display())
            })?;
        }
        Ok(Journal { dir })
    }

    fn path(&self, connector: &str, run_id: &str) -> Option<PathBuf> {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let name = format!("{}--{}.json", safe(connector), safe(run_id));
        self.dir.as_ref().map(|d| d.join(name))
    }

    /// Records (or updates) an entry; written whole then renamed, so a crash never leaves half
    /// a file. Failing to record is logged: the work goes on.
    pub fn record(&self, entry: &Entry) {
        let Some(path) = self.path(&entry.connector, &entry.run_id) else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(entry).expect("entries serialize");
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path)) {
            tracing::warn!(
                "cannot record run {} in {}: {e}",
                entry.run_id,
                path.display()
            );
        }
    }

    /// The work is done (whatever its outcome).
    pub fn forget(&self, connector: &str, run_id: &str) {
        if let Some(path) = self.path(connector, run_id)
            && let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove {}: {e}", path.display());
        }
    }

    /// Everything recorded and not forgotten: what a previous server left unfinished.
    pub fn pending(&self) -> Vec<Entry> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        let Ok(read) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let text = std::fs::read(e.path()).ok()?;
                serde_json::from_slice(&text)
                    .inspect_err(|err| {
                        tracing::warn!("ignoring {}: {err}", e.path().display());
                    })
                    .ok()
            })
            .collect()
    }
}
