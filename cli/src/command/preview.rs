//! `image-redirect preview`: what the policy does to each container of some manifests.

use anyhow::Result;
use image_redirect_cli::manifests;

use super::read;
use crate::cli::{Output, PreviewArgs};

pub fn run(args: &PreviewArgs) -> Result<u8> {
    let settings = args.settings.load()?;
    for file in &args.files {
        let previews = manifests::preview_all(&read(file)?, &settings).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        print!(
            "{}",
            match args.output {
                Output::Text => manifests::render(&previews),
                Output::Json => manifests::render_json(&previews),
            }
        );
    }
    Ok(0)
}
