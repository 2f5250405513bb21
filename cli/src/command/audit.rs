//! `image-redirect audit`: what a cluster dump, some manifests or the report
//! mode's PolicyReports say still pulls from outside the mirrors.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image_redirect_cli::audit::{self, Options};
use image_redirect_cli::manifests;

use super::read;
use super::seed::NOT_READY;
use crate::cli::{AuditArgs, Output};

pub fn run(args: &AuditArgs) -> Result<u8> {
    let settings = args.settings.load()?;
    let mut documents = Vec::new();
    for input in inputs(&args.inputs)? {
        documents.extend(manifests::documents(&read(&input)?).map_err(|e| anyhow::anyhow!("{input}: {e}"))?);
    }
    let options = Options { namespace: args.namespace.clone(), node_mirrors: args.node_mirrors.clone() };
    let audit = audit::audit(&documents, &settings, &options).map_err(anyhow::Error::msg)?;
    if args.print_images {
        print!("{}", audit.images());
        return Ok(0);
    }
    print!(
        "{}",
        match args.output {
            Output::Text => audit.render(),
            Output::Json => audit.render_json(),
        }
    );
    eprintln!("{}", audit.summary());
    Ok(if audit.outside() == 0 { 0 } else { NOT_READY })
}

/// The files to read: each one named, every `.yaml`, `.yml` and `.json` file
/// under a directory named (in name order), stdin for `-` or for none.
fn inputs(named: &[String]) -> Result<Vec<String>> {
    if named.is_empty() {
        return Ok(vec!["-".to_owned()]);
    }
    let mut files = Vec::new();
    for input in named {
        let path = Path::new(input);
        if input != "-" && path.is_dir() {
            files.extend(manifests_under(path)?.iter().map(|file| file.display().to_string()));
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn manifests_under(directory: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .with_context(|| directory.display().to_string())?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| directory.display().to_string())?;
    entries.sort();
    let mut files = Vec::new();
    for entry in entries {
        if entry.is_dir() {
            files.extend(manifests_under(&entry)?);
        } else if entry.extension().is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json") {
            files.push(entry);
        }
    }
    Ok(files)
}
