//! Hands the locked wasmtime version to the crate: the cache of precompiled components keys
//! its files by it (a `.cwasm` is only valid for the wasmtime that wrote it).

fn main() {
    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    let version = wasmtime_version(&lock).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WASMTIME_VERSION={version}");
    println!("cargo:rerun-if-changed=../Cargo.lock");
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
