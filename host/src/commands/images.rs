//! `images`: the images (and snapshots) one can run.

use super::Output;
use crate::ops::{self, Ctx};
use crate::view;

pub async fn exec(ctx: &Ctx, out: &Output) -> anyhow::Result<()> {
    let images = ops::images::list(ctx).await?;
    let headers = ["ID", "NAME", "STATE", "OS", "VISIBILITY", "KIND"];
    out.print(&images, || {
        view::table(&headers, &images, |i| {
            let visibility = if i.public { "public" } else { "private" };
            let kind = if i.is_snapshot { "snapshot" } else { "" };
            let os = i.os.clone().unwrap_or_default();
            vec![
                i.id.clone(),
                i.name.clone(),
                i.state.to_string(),
                os,
                visibility.into(),
                kind.into(),
            ]
        })
    });
    Ok(())
}
