//! `image-redirect`: the policy's settings as node-level registry
//! configuration, and a preview of what the policy does to manifests.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use image_redirect_cli::export::{self, Format};
use image_redirect_cli::manifests;

const USAGE: &str = "usage:
  image-redirect export --format k3s|rke2|containerd --settings SETTINGS.yaml
                        [--registry REGISTRY]... [--scheme https|http] [--out DIR] [--strict]
  image-redirect preview --settings SETTINGS.yaml FILE... (- reads stdin)";

/// Exit status when `--strict` and some rule cannot be carried out at the node.
const LOST: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<u8> {
    let options = Options::parse(args.get(1..).unwrap_or_default())?;
    match args.first().map(String::as_str) {
        Some("export") => run_export(&options),
        Some("preview") => run_preview(&options),
        _ => bail!("{USAGE}"),
    }
}

#[derive(Default)]
struct Options {
    format: Option<String>,
    settings: Option<PathBuf>,
    registries: Vec<String>,
    scheme: Option<String>,
    out: Option<PathBuf>,
    strict: bool,
    files: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value\n{USAGE}")).cloned();
            match arg.as_str() {
                "--format" => options.format = Some(value()?),
                "--settings" => options.settings = Some(value()?.into()),
                "--registry" => options.registries.push(value()?),
                "--scheme" => options.scheme = Some(value()?),
                "--out" => options.out = Some(value()?.into()),
                "--strict" => options.strict = true,
                flag if flag.starts_with("--") => bail!("unknown option {flag}\n{USAGE}"),
                file => options.files.push(file.to_owned()),
            }
        }
        Ok(options)
    }

    fn settings(&self) -> Result<image_redirect_policy::settings::Settings> {
        let path = self.settings.as_ref().with_context(|| format!("--settings is required\n{USAGE}"))?;
        let text = read(&path.display().to_string())?;
        manifests::settings(&text).map_err(|e| anyhow::anyhow!("{}: invalid settings:\n{e}", path.display()))
    }
}

fn run_export(options: &Options) -> Result<u8> {
    let format = options.format.as_deref().with_context(|| format!("--format is required\n{USAGE}"))?;
    let format = Format::parse(format).with_context(|| format!("unknown format {format:?}\n{USAGE}"))?;
    let scheme = options.scheme.as_deref().unwrap_or("https");
    if !matches!(scheme, "https" | "http") {
        bail!("--scheme is https or http, not {scheme:?}");
    }
    let request = export::Request { format, registries: &options.registries, scheme };
    let export = export::export(&options.settings()?, &request).map_err(anyhow::Error::msg)?;
    for line in &export.notes {
        eprintln!("note: {line}");
    }
    for line in &export.lost {
        eprintln!("warning: not carried out at the node: {line}");
    }
    match &options.out {
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
    Ok(if options.strict && !export.lost.is_empty() { LOST } else { 0 })
}

fn write_files(dir: &Path, files: &[export::File]) -> Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        }
        std::fs::write(&path, &file.text).with_context(|| path.display().to_string())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_preview(options: &Options) -> Result<u8> {
    let settings = options.settings()?;
    if options.files.is_empty() {
        bail!("preview needs at least one manifest file (- for stdin)\n{USAGE}");
    }
    for file in &options.files {
        let previews = manifests::preview_all(&read(file)?, &settings).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        print!("{}", manifests::render(&previews));
    }
    Ok(0)
}

fn read(file: &str) -> Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| file.to_owned())
}
