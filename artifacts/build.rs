//! Builds the workspace's components for wasm32-wasip2 with nested cargo builds and hands
//! their paths to the crate, which embeds them.
//!
//! - `guest/` (the ~Okeanos connector), profile `guest`; `OKEANOS_CONNECTOR_WASM=/path.wasm`
//!   embeds a prebuilt component instead.
//! - `artifacts/misbehaving/` (its own workspace), only with the `test-components` feature.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // Target dirs of their own: the outer build holds the lock of ours, and a nested build in
    // the same dir would wait for it forever. Shared by every profile of the outer build.
    let outer_target = outer_target_dir(&out_dir);
    watch(&workspace.join("wit"));

    println!("cargo:rerun-if-env-changed=OKEANOS_CONNECTOR_WASM");
    let okeanos = match std::env::var("OKEANOS_CONNECTOR_WASM") {
        Ok(prebuilt) => {
            watch(Path::new(&prebuilt));
            PathBuf::from(prebuilt)
        }
        Err(_) => {
            watch(&workspace.join("guest/src"));
            watch(&workspace.join("guest/Cargo.toml"));
            let target_dir = outer_target.join("guest-build");
            let mut cmd = wasm_build(&target_dir);
            cmd.current_dir(&workspace).args([
                "--package",
                "okeanos-connector",
                "--profile",
                "guest",
            ]);
            run(cmd, "guest/");
            target_dir.join("wasm32-wasip2/guest/okeanos_connector.wasm")
        }
    };
    let okeanos = without_component_names(&okeanos, &out_dir.join("okeanos_connector.wasm"));
    embed("OKEANOS_COMPONENT_PATH", &okeanos);

    if std::env::var_os("CARGO_FEATURE_TEST_COMPONENTS").is_some() {
        let crate_dir = manifest_dir.join("misbehaving");
        watch(&crate_dir.join("src"));
        watch(&crate_dir.join("Cargo.toml"));
        let target_dir = outer_target.join("misbehaving-build");
        let mut cmd = wasm_build(&target_dir);
        cmd.arg("--manifest-path")
            .arg(crate_dir.join("Cargo.toml"))
            .arg("--release");
        run(cmd, "artifacts/misbehaving/");
        embed(
            "MISBEHAVING_COMPONENT_PATH",
            &target_dir.join("wasm32-wasip2/release/misbehaving_connector.wasm"),
        );
    }
}

/// `cargo build --target wasm32-wasip2 --target-dir DIR`, with the outer build's flags removed:
/// flags meant for the host (sanitizers, clippy's wrapper, a target override, coverage) must
/// not leak into the wasm build.
fn wasm_build(target_dir: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(target_dir);
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
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {what}: {e}"));
    assert!(
        status.success(),
        "building {what} for wasm32-wasip2 failed (is the target installed? run `rustup target add wasm32-wasip2`)"
    );
}

fn embed(var: &str, wasm: &Path) {
    assert!(wasm.exists(), "no component at {}", wasm.display());
    println!("cargo:rustc-env={var}={}", wasm.display());
}

/// Writes `wasm` to `out` without its top-level `component-name` custom section and returns
/// `out`. `wasm-component-ld` always emits that section (names of the component's own items,
/// ~12 KB for our guest, with no switch to turn it off) and `strip = true` only reaches the
/// core module inside; nothing at run time reads it (wasmtime's backtraces name functions from
/// the core module's own `name` section), and every host downloads and caches each byte.
fn without_component_names(wasm: &Path, out: &Path) -> PathBuf {
    let bytes = std::fs::read(wasm).unwrap_or_else(|e| panic!("read {}: {e}", wasm.display()));
    let mut component = wasm_encoder::Component::new();
    // Payloads of nested modules and components come after the section that holds them and
    // lie inside it: only the top level's sections are copied.
    let mut nested_until = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        let payload = payload.unwrap_or_else(|e| panic!("{} is not wasm: {e}", wasm.display()));
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let range = range.start as usize..range.end as usize;
        if range.start < nested_until {
            continue;
        }
        if matches!(
            payload,
            wasmparser::Payload::ModuleSection { .. }
                | wasmparser::Payload::ComponentSection { .. }
        ) {
            nested_until = range.end;
        }
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == "component-name"
        {
            continue;
        }
        component.section(&wasm_encoder::RawSection {
            id,
            data: &bytes[range],
        });
    }
    std::fs::write(out, component.finish())
        .unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    out.to_path_buf()
}

fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

/// The outer build's target directory: the nearest ancestor of OUT_DIR holding CACHEDIR.TAG.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}
