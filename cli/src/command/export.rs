//! `image-redirect export`: the settings as a runtime's registry files.

use std::path::Path;

use anyhow::Result;
use image_redirect_cli::export;

use super::{LOST, write_file};
use crate::cli::{ExportArgs, Scheme};

pub fn run(args: &ExportArgs) -> Result<u8> {
    let scheme = match args.scheme {
        Scheme::Https => "https",
        Scheme::Http => "http",
    };
    let request = export::Request {
        format: args.format,
        registries: &args.registries,
        scheme,
        no_fallback: args.no_fallback,
        digest_only: args.digest_only,
        containerd_version: args.containerd_version,
        embedded_registry: args.embedded_registry,
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
