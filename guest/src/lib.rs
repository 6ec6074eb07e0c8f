//! `okeanos-connector`: the ~Okeanos (Synnefo IaaS) cloud connector as a WebAssembly component.
//!
//! It exports `slipstream:connector/connector@0.1.0` and needs from its host:
//! - wasi:http to reach the identity endpoint and the service endpoints of its catalog;
//! - wasi:config keys `auth_url` and `token` (required), `project` and `disk_template` (optional);
//! - optionally a wasi:keyvalue bucket `okeanos-connector`, where it caches the service catalog,
//!   the flavor list and the image records a create needs (never the token) across calls.
//!
//! ```text
//! wasmtime run -S http -S config -S config-var=auth_url=https://accounts.okeanos.grnet.gr/identity/v2.0 \
//!     -S config-var=token=… -S keyvalue --invoke 'list-flavors()' okeanos_connector.wasm
//! ```
//!
//! Everything but this file and the wasi adapters (`http`, `kv`) is plain Rust, tested natively.

/// Writes one line to stderr (the host logs it) in a single write: Rust's stderr is
/// unbuffered, so `eprintln!` would make a host call per formatted piece, a dozen per line.
macro_rules! log_line {
    ($($arg:tt)*) => {
        $crate::write_line(format_args!($($arg)*))
    };
}

#[doc(hidden)]
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut line = args.to_string();
    line.push('\n');
    let _ = std::io::stderr().write_all(line.as_bytes());
}

mod bindings {
    wit_bindgen::generate!({ path: "../wit", world: "cloud-connector", generate_all });
}

pub mod api;
pub mod client;
pub mod config;
pub mod convert;
pub mod create;
pub mod fault;
#[cfg(test)]
mod fixtures;
mod http;
mod kv;
pub mod ops;
pub mod protocol;
pub mod since;
pub mod sizing;

/// The WIT records (generated).
pub use bindings::slipstream::connector::types as wit;
pub use wit::Error;

use bindings::exports::slipstream::connector::connector::Guest;
use wit::{
    ConnectorInfo, Disk, Flavor, Image, Quota, ResizePlan, Size, Tag, Vm, VmChanges, VmSpec,
};

/// The exported component. Only wasm32 builds export it: the symbol names of component exports
/// (`slipstream:connector/…`) are not valid in a native shared library's symbol list.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);

/// Runs one operation with a client configured from wasi:config.
fn with_client<T>(op: impl FnOnce(&mut client::Client) -> Result<T, Error>) -> Result<T, Error> {
    op(&mut new_client()?)
}

/// A client configured from wasi:config. Not generic, so that the 24 exports share it.
#[inline(never)]
fn new_client() -> Result<client::Client, Error> {
    // One host call for every key (a call into the host costs microseconds).
    let all = bindings::wasi::config::store::get_all().map_err(|e| match e {
        bindings::wasi::config::store::Error::Upstream(m)
        | bindings::wasi::config::store::Error::Io(m) => m,
    });
    let config = config::Config::load(|key| match &all {
        Ok(pairs) => Ok(pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())),
        Err(e) => Err(e.clone()),
    })?;
    Ok(client::Client::new(
        config,
        Box::new(http::WasiHttp),
        Box::new(kv::KeyValueCache::open()),
    ))
}

/// Defines exports that all do the same: load the configuration, then run one operation
/// (`fn name(args) -> T = op;` becomes `fn name(args) -> Result<T, Error>`).
macro_rules! exports {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ok:ty = $op:expr;)*) => {$(
        fn $name($($arg: $ty),*) -> Result<$ok, Error> {
            with_client($op)
        }
    )*};
}

impl Guest for Component {
    fn info() -> ConnectorInfo {
        ConnectorInfo {
            name: "okeanos".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "~Okeanos (GRNET) and other Synnefo IaaS clouds: VMs, flavors, images and \
                          snapshots, volumes, through the Synnefo compute, volume and image APIs"
                    .into(),
            capabilities: ops::CAPABILITIES.iter().map(|s| s.to_string()).collect(),
        }
    }

    exports! {
        fn list_flavors() -> Vec<Flavor> = ops::list_flavors;
        fn resolve_size(size: Size) -> Flavor = |c| ops::resolve_size(c, &size);
        fn list_images() -> Vec<Image> = ops::list_images;
        fn get_image(image: String) -> Image = |c| ops::get_image(c, &image);
        fn delete_image(id: String) -> () = |c| ops::delete_image(c, &id);
        fn set_image_public(id: String, public: bool) -> () =
            |c| ops::set_image_public(c, &id, public);
        fn create_image(vm_id: String, name: String) -> Image =
            |c| ops::create_image(c, &vm_id, &name);
        fn create_vm(spec: VmSpec) -> Vm = |c| ops::create_vm(c, &spec);
        fn get_vm(id: String) -> Vm = |c| ops::get_vm(c, &id);
        fn list_vms_changed(tags: Vec<Tag>, since: Option<String>) -> VmChanges =
            |c| ops::list_vms_changed(c, &tags, since.as_deref());
        fn delete_vm(id: String) -> () = |c| ops::delete_vm(c, &id);
        fn set_vm_tag(id: String, key: String, value: String) -> () =
            |c| ops::set_vm_tag(c, &id, &key, &value);
        fn start_vm(id: String) -> () = |c| ops::start_vm(c, &id);
        fn stop_vm(id: String) -> () = |c| ops::stop_vm(c, &id);
        fn reboot_vm(id: String, hard: bool) -> () = |c| ops::reboot_vm(c, &id, hard);
        fn plan_resize(id: String, size: Size) -> ResizePlan = |c| ops::plan_resize(c, &id, &size);
        fn resize_vm(id: String, flavor_id: String) -> () = |c| ops::resize_vm(c, &id, &flavor_id);
        fn list_disks(vm_id: Option<String>) -> Vec<Disk> = |c| ops::list_disks(c, vm_id.as_deref());
        fn get_disk(id: String) -> Disk = |c| ops::get_disk(c, &id);
        fn attach_disk(vm_id: String, size_gb: u32, name: String) -> Disk =
            |c| ops::attach_disk(c, &vm_id, size_gb, &name);
        fn detach_disk(vm_id: String, disk_id: String) -> () =
            |c| ops::detach_disk(c, &vm_id, &disk_id);
        fn delete_disk(disk_id: String) -> () = |c| ops::delete_disk(c, &disk_id);
        fn project_quota() -> Quota = ops::project_quota;
    }
}
