//! `flavors`: the VM sizes.

use super::Output;
use crate::ops::{self, Ctx};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output) -> anyhow::Result<()> {
    let flavors = ops::images::flavors(ctx).await?;
    out.print(&flavors, || {
        let rows: Vec<Vec<String>> = flavors
            .iter()
            .map(|f| {
                vec![
                    f.id.clone(),
                    f.name.clone(),
                    f.cpus.to_string(),
                    f.ram_mb.to_string(),
                    f.disk_gb.to_string(),
                    f.disk_template.clone(),
                    if f.allow_create { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        view::table(
            &[
                "ID", "NAME", "CPUS", "RAM_MB", "DISK_GB", "TEMPLATE", "CREATE",
            ],
            &rows,
        )
    });
    Ok(())
}
