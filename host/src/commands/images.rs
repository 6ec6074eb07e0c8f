//! `images`: the images (and snapshots) one can run.

use super::Output;
use crate::ops::{self, Ctx};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output) -> anyhow::Result<()> {
    let images = ops::images::list(ctx).await?;
    out.print(&images, || {
        let rows: Vec<Vec<String>> = images
            .iter()
            .map(|i| {
                vec![
                    i.id.clone(),
                    i.name.clone(),
                    i.state.to_string(),
                    i.os.clone().unwrap_or_default(),
                    if i.public { "public" } else { "private" }.into(),
                    if i.is_snapshot { "snapshot" } else { "" }.into(),
                ]
            })
            .collect();
        view::table(&["ID", "NAME", "STATE", "OS", "VISIBILITY", "KIND"], &rows)
    });
    Ok(())
}
