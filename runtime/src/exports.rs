//! The connector interface's functions, found once per component.
//!
//! The generated bindings (`CloudConnectorPre::instantiate_async`) look up and type-check every
//! export of the world on each instantiation: two dozen functions for a call that runs one,
//! about a third of the cost of a fresh instance. A call here looks up only its own function
//! by a precomputed index and type-checks only that one.

use std::collections::HashMap;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex};

/// The exported interface, as the world in `wit/connector.wit` names it.
pub const INTERFACE: &str = "slipstream:connector/connector@0.1.0";

/// The interface's functions by operation name (`get_vm` for WIT's `get-vm`).
pub(crate) struct Exports {
    by_op: HashMap<String, ComponentExportIndex>,
}

impl Exports {
    pub(crate) fn new(engine: &Engine, component: &Component) -> anyhow::Result<Exports> {
        let missing = || anyhow::anyhow!("the component does not export `{INTERFACE}`");
        let interface = component
            .get_export_index(None, INTERFACE)
            .ok_or_else(missing)?;
        let world = component.component_type();
        let Some(ComponentItem::ComponentInstance(ty)) =
            world.get_export(engine, INTERFACE).map(|export| export.ty)
        else {
            return Err(missing());
        };
        let by_op = ty
            .exports(engine)
            .filter_map(|(name, _)| {
                let index = component.get_export_index(Some(&interface), name)?;
                Some((name.replace('-', "_"), index))
            })
            .collect();
        Ok(Exports { by_op })
    }

    /// The index of operation `op`'s function (`get_vm`).
    pub(crate) fn get(&self, op: &str) -> Option<&ComponentExportIndex> {
        self.by_op.get(op)
    }
}
