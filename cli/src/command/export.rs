//! `image-redirect export`: the settings as a runtime's registry files.

use std::path::Path;

use anyhow::Result;
use image_redirect_cli::export::{self, Format};

use super::{LOST, write_file};
use crate::cli::{ExportArgs, KairosArgs};

pub fn run(args: &ExportArgs) -> Result<u8> {
    let request = export::Request {
        format: args.format,
        registries: &args.registries,
        scheme: args.scheme.name(),
        no_fallback: args.no_fallback,
        digest_only: args.digest_only,
        containerd_version: args.containerd_version,
        embedded_registry: args.embedded_registry,
        kairos: args.kairos.kairos(args.format == Format::Kairos)?,
        access: &[],
        talos_version: args.talos_version,
    };
    let export = export::export(&args.settings.load()?, &request).map_err(anyhow::Error::msg)?;
    for line in &export.notes {
        eprintln!("note: {line}");
    }
    for line in &export.lost {
        eprintln!("warning: not carried out at the node: {line}");
    }
    match &args.out {
        Some(dir) => write_files(dir, &export.files)?,
        None => {
            for file in &export.files {
                if export.files.len() > 1 {
                    println!("# ==> {} <==", file.path);
                }
                print!("{}", file.text);
            }
        }
    }
    Ok(if args.strict && !export.lost.is_empty() { LOST } else { 0 })
}

fn write_files(dir: &Path, files: &[export::File]) -> Result<()> {
    for file in files {
        write_file(&dir.join(&file.path), &file.text, false)?;
    }
    Ok(())
}

impl KairosArgs {
    /// The Kairos options; `--runtime` only where a Kairos document is written.
    pub fn kairos(&self, written: bool) -> Result<export::Kairos<'_>> {
        if !written && self.runtime.is_some() {
            anyhow::bail!("--runtime: only where a Kairos document is written (--format kairos, --node-config)");
        }
        Ok(export::Kairos { runtime: self.runtime.unwrap_or(Format::K3s), stage: &self.kairos_stage })
    }
}
