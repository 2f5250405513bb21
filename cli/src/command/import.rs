//! `image-redirect import palette`: Palette Edge user-data as the policy's documents.

use anyhow::Result;
use image_redirect_cli::import;

use super::{LOST, read, write_file};
use crate::cli::PaletteArgs;

pub fn palette(args: &PaletteArgs) -> Result<u8> {
    let kairos = args.kairos.kairos(args.node_config)?;
    let node_config = import::NodeConfig { kairos, registries: &args.registries, scheme: args.scheme.name() };
    let options = import::Options {
        primary_registry: args.primary_registry.as_deref(),
        secret_namespace: &args.secret_namespace,
        module: args.module.as_deref(),
        node_config: args.node_config.then_some(node_config),
    };
    let import = import::palette(&read(&args.user_data)?, &options)
        .map_err(|errors| anyhow::anyhow!("{}: cannot be imported:\n{}", args.user_data, errors.join("\n")))?;
    for line in &import.notes {
        eprintln!("note: {line}");
    }
    for line in &import.warnings {
        eprintln!("warning: {line}");
    }
    let documents = import.documents();
    match &args.out {
        Some(dir) => documents.iter().try_for_each(|d| write_file(&dir.join(d.file), d.text, d.private))?,
        None => {
            let printed: Vec<String> = documents.iter().map(|d| format!("# ==> {} <==\n{}", d.file, d.text)).collect();
            print!("{}", printed.join("---\n"));
        }
    }
    Ok(if args.strict && !import.warnings.is_empty() { LOST } else { 0 })
}
