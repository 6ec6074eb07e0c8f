//! Builds the ~Okeanos guest (`guest/`) for wasm32-wasip2 and hands its path to the crate,
//! which embeds it: the `connector-host` binary works with no other file.
//!
//! Set `OKEANOS_CONNECTOR_WASM=/path/to/component.wasm` to embed a prebuilt component instead.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // The cache of precompiled components keys its files by the wasmtime version.
    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    let version = wasmtime_version(&lock).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WASMTIME_VERSION={version}");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-env-changed=OKEANOS_CONNECTOR_WASM");
    if let Ok(prebuilt) = std::env::var("OKEANOS_CONNECTOR_WASM") {
        println!("cargo:rerun-if-changed={prebuilt}");
        println!("cargo:rustc-env=OKEANOS_COMPONENT_PATH={prebuilt}");
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    for watched in ["guest/src", "guest/Cargo.toml", "wit"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // A target dir of its own: the outer build holds the lock of ours, a nested build in the
    // same dir would wait for it forever. Shared by every profile of the outer build.
    let target_dir = outer_target_dir(&out_dir).join("guest-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "--package",
            "okeanos-connector",
            "--target",
            "wasm32-wasip2",
        ])
        .args(["--profile", "guest", "--target-dir"])
        .arg(&target_dir);
    // Flags meant for the host (sanitizers, clippy's wrapper, a target override) must not
    // leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_LLVM_COV",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("failed to run cargo for the guest");
    if !status.success() {
        panic!(
            "building the guest component failed (is the wasm32-wasip2 target installed? run `rustup target add wasm32-wasip2`)"
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/guest/okeanos_connector.wasm");
    assert!(
        wasm.exists(),
        "the guest build produced no {}",
        wasm.display()
    );
    println!("cargo:rustc-env=OKEANOS_COMPONENT_PATH={}", wasm.display());
}

/// The outer build's target directory: the nearest ancestor of OUT_DIR holding CACHEDIR.TAG.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}

/// The locked version of the `wasmtime` package.
fn wasmtime_version(lock: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\"" {
            let v = lines.next()?;
            return v
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_string);
        }
    }
    None
}
