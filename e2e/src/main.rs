//! `image-redirect-e2e`: run the built policy without kwctl.
//!
//! ```text
//! image-redirect-e2e demo [--policy policy.wasm]
//! image-redirect-e2e run  [--policy policy.wasm|registry://HOST/REPO:TAG] --settings S.(json|yaml) --request R.json
//! image-redirect-e2e push [--policy policy.wasm] HOST/REPO:TAG
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use image_redirect_e2e::review::Outcome;
use image_redirect_e2e::{Policy, demo, oci};
use serde_json::Value;

const USAGE: &str = "usage:
  image-redirect-e2e demo [--policy policy.wasm]
  image-redirect-e2e run  [--policy policy.wasm|registry://HOST/REPO:TAG] --settings S.(json|yaml) --request R.json
  image-redirect-e2e push [--policy policy.wasm] HOST/REPO:TAG";

fn main() -> ExitCode {
    match cli(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn cli(args: Vec<String>) -> Result<ExitCode> {
    let (command, options) = args.split_first().context(USAGE)?;
    let option = |name: &str| options.iter().position(|a| a == name).and_then(|i| options.get(i + 1));
    let policy_path = option("--policy").map_or_else(|| PathBuf::from("policy.wasm"), PathBuf::from);
    let location = policy_path.to_string_lossy().into_owned();
    match command.as_str() {
        "demo" => {
            let size = std::fs::metadata(&policy_path).map(|m| m.len() / 1024).unwrap_or(0);
            println!("image-redirect-policy: {} ({size} KiB) on the embedded waPC host", policy_path.display());
            println!("(wasmtime, a fresh instance per request, as Kubewarden's policy-server runs it)");
            print!("{}", demo::run(&Policy::load(&policy_path)?)?);
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            let settings = read_settings(Path::new(option("--settings").context(USAGE)?))?;
            let request = demo::read_json(Path::new(option("--request").context(USAGE)?))?;
            let evaluation = Policy::from_bytes(&oci::fetch_policy(&location)?)?.evaluate(&settings, &request)?;
            if let Outcome::InvalidSettings(message) = &evaluation.outcome {
                eprintln!("Provided settings are not valid: {message}");
                return Ok(ExitCode::FAILURE);
            }
            println!("{}", serde_json::to_string_pretty(&evaluation.admission_response())?);
            eprint!("{}", demo::report(&evaluation)?);
            Ok(ExitCode::SUCCESS)
        }
        "push" => {
            let target = options.last().filter(|t| !t.starts_with("--")).context(USAGE)?;
            let wasm = std::fs::read(&policy_path).with_context(|| format!("cannot read {location}"))?;
            let digest = oci::Oci::for_reference(target)?.push_policy(&wasm, target)?;
            println!("pushed {location} to {target} ({digest})");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("unknown command {command:?}\n{USAGE}"),
    }
}

/// Settings as JSON, or as YAML (what `kwctl run --settings-path` takes).
fn read_settings(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match serde_json::from_str(&text) {
        Ok(value) => Ok(value),
        Err(_) => serde_norway::from_str(&text).with_context(|| format!("{} is neither JSON nor YAML", path.display())),
    }
}
