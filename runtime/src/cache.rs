//! Precompiled components on disk, so a restart or a swap back to a known version does not
//! recompile (~2 s in a debug build, ~165 ms in release; loading a cached one takes ~0.3 ms).
//!
//! A file's name holds the component's SHA-256, the wasmtime version and a hash of the engine
//! settings: a precompiled component is only valid for exactly that engine. Deserializing is
//! `unsafe` (the bytes become machine code), so only files this cache wrote are loaded: each
//! has a checksum beside it, checked before use; the directory is created private (0700).

use crate::digest::digest;
use anyhow::Context;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the component cache {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(CompileCache { dir })
    }

    /// `~/.cache/connector-host/components`.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("connector-host").join("components"))
    }

    fn path_for(&self, engine: &Engine, component_digest: &str) -> PathBuf {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_key = format!("{:016x}", h.finish());
        self.dir.join(format!(
            "{component_digest}-wasmtime{}-{engine_key}.cwasm",
            env!("WASMTIME_VERSION")
        ))
    }

    /// The compiled component for `bytes`: from the cache if valid, else compiled and stored.
    pub fn get_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> anyhow::Result<(Component, Origin)> {
        let component_digest = digest(bytes);
        let path = self.path_for(engine, &component_digest);
        let sum_path = path.with_extension("cwasm.sha256");
        if let (Ok(compiled), Ok(sum)) = (std::fs::read(&path), std::fs::read_to_string(&sum_path))
        {
            if digest(&compiled) == sum.trim() {
                // SAFETY: the file was written by `store` below for this very engine
                // configuration (the name says so) and its checksum matches what we wrote.
                match unsafe { Component::deserialize(engine, &compiled) } {
                    Ok(c) => return Ok((c, Origin::Cache)),
                    Err(e) => tracing::warn!(
                        "ignoring unusable cached component {}: {e:#}",
                        path.display()
                    ),
                }
            } else {
                tracing::warn!(
                    "ignoring cached component {} (checksum mismatch)",
                    path.display()
                );
            }
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}"))?;
        if let Err(e) = store(&path, &sum_path, &compiled) {
            tracing::warn!("cannot write the component cache {}: {e:#}", path.display());
        }
        // SAFETY: produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled) }
            .map_err(|e| anyhow::anyhow!("cannot load the compiled component: {e:#}"))?;
        Ok((component, Origin::Compiled))
    }
}

/// Writes atomically (temp file + rename), checksum last: a half-written pair is never used.
fn store(path: &Path, sum_path: &Path, compiled: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, compiled)?;
    std::fs::rename(&tmp, path)?;
    let tmp = sum_path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, digest(compiled))?;
    std::fs::rename(&tmp, sum_path)?;
    Ok(())
}
