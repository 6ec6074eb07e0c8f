//! `flavors`: the VM sizes.

use super::Output;
use crate::ops::{self, Ctx};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output) -> anyhow::Result<()> {
    let flavors = ops::images::flavors(ctx).await?;
    let headers = [
        "ID", "NAME", "CPUS", "RAM_MB", "DISK_GB", "TEMPLATE", "CREATE",
    ];
    out.print(&flavors, || {
        view::table(&headers, &flavors, |f| {
            let create = if f.allow_create { "yes" } else { "no" };
            vec![
                f.id.clone(),
                f.name.clone(),
                f.cpus.to_string(),
                f.ram_mb.to_string(),
                f.disk_gb.to_string(),
                f.disk_template.clone(),
                create.into(),
            ]
        })
    });
    Ok(())
}
