//! Typed calls into a connector: one method per WIT operation, each in a fresh instance.

use crate::bindings::types::{
    ConnectorInfo, Disk, Flavor, Image, ResizePlan, Size, Tag, Vm, VmSpec,
};
use crate::engine::Connector;
use crate::error::CallError;

/// A cheap, cloneable handle to call a connector's operations.
#[derive(Clone)]
pub struct Client {
    connector: Connector,
}

/// Generates a method forwarding to the guest export of the same name.
macro_rules! op {
    ($(#[$doc:meta])* $name:ident => $call:ident ( $($arg:ident : $ty:ty => $pass:expr),* ) -> $ret:ty) => {
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret, CallError> {
            self.connector
                .call(stringify!($name), move |c, s| {
                    Box::pin(async move {
                        c.slipstream_connector_connector().$call(s, $($pass),*).await
                    })
                })
                .await
        }
    };
}

impl Client {
    pub fn new(connector: Connector) -> Self {
        Client { connector }
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    pub async fn info(&self) -> Result<ConnectorInfo, CallError> {
        self.connector.info().await
    }

    op!(list_flavors => call_list_flavors() -> Vec<Flavor>);
    op!(resolve_size => call_resolve_size(size: Size => &size) -> Flavor);
    op!(list_images => call_list_images() -> Vec<Image>);
    op!(get_image => call_get_image(image: String => &image) -> Image);
    op!(delete_image => call_delete_image(id: String => &id) -> ());
    op!(set_image_public => call_set_image_public(id: String => &id, public: bool => public) -> ());
    op!(create_image => call_create_image(vm_id: String => &vm_id, name: String => &name) -> Image);
    op!(create_vm => call_create_vm(spec: VmSpec => &spec) -> Vm);
    op!(get_vm => call_get_vm(id: String => &id) -> Vm);
    op!(list_vms => call_list_vms(tags: Vec<Tag> => &tags) -> Vec<Vm>);
    op!(delete_vm => call_delete_vm(id: String => &id) -> ());
    op!(start_vm => call_start_vm(id: String => &id) -> ());
    op!(stop_vm => call_stop_vm(id: String => &id) -> ());
    op!(reboot_vm => call_reboot_vm(id: String => &id, hard: bool => hard) -> ());
    op!(plan_resize => call_plan_resize(id: String => &id, size: Size => &size) -> ResizePlan);
    op!(resize_vm => call_resize_vm(id: String => &id, flavor_id: String => &flavor_id) -> ());
    op!(list_disks => call_list_disks(vm_id: Option<String> => vm_id.as_deref()) -> Vec<Disk>);
    op!(get_disk => call_get_disk(id: String => &id) -> Disk);
    op!(attach_disk => call_attach_disk(vm_id: String => &vm_id, size_gb: u32 => size_gb, name: String => &name) -> Disk);
    op!(detach_disk => call_detach_disk(vm_id: String => &vm_id, disk_id: String => &disk_id) -> ());
    op!(delete_disk => call_delete_disk(disk_id: String => &disk_id) -> ());
}
