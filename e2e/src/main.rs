//! `image-redirect-e2e`: run the built policy without kwctl, on the embedded
//! waPC host (wasmtime, as policy-server embeds it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use image_redirect_e2e::review::Outcome;
use image_redirect_e2e::{Policy, demo};
use serde_json::Value;

#[derive(Parser)]
#[command(name = "image-redirect-e2e", version, about, long_about = None, max_term_width = 100)]
#[command(after_help = "With the cargo feature `registry`: push, and run --policy registry://HOST/REPO:TAG.
Exit status: 0 when the policy answered (accepted or rejected), 1 on any other error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(DemoArgs),
    Run(RunArgs),
    #[cfg(feature = "registry")]
    Push(PushArgs),
}

/// Evaluate the sample admission requests under each Palette mode: before -> after.
#[derive(Args)]
#[command(after_help = "Example:\n  image-redirect-e2e demo --policy policy.wasm")]
struct DemoArgs {
    #[arg(long, value_name = "WASM", default_value = "policy.wasm")]
    policy: PathBuf,
}

/// Evaluate one request as `kwctl run` does: the AdmissionResponse on stdout,
/// `before -> after` per image on stderr.
///
/// A request the policy rejects, or a policy that fails, is answered as
/// policy-server answers it (allowed: false; code 500 for a failure), with
/// exit status 0; settings the policy refuses are an error.
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect-e2e run --settings settings.yaml --request e2e/fixtures/requests/pod-docker-hub.json
  image-redirect-e2e run --policy registry://127.0.0.1:5000/policies/image-redirect:v0.1.0 --settings s.json --request r.json")]
struct RunArgs {
    /// A wasm file, or `registry://HOST/REPO:TAG` (needs the `registry` feature).
    #[arg(long, value_name = "WASM|registry://REF", default_value = "policy.wasm")]
    policy: String,
    /// The settings, JSON or YAML (as `kwctl run --settings-path` takes them).
    #[arg(long, value_name = "FILE")]
    settings: PathBuf,
    /// An AdmissionRequest or an AdmissionReview, JSON.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
}

/// Push the policy to a registry as a Kubewarden OCI artifact.
#[cfg(feature = "registry")]
#[derive(Args)]
#[command(
    after_help = "Example:\n  image-redirect-e2e push --policy policy.wasm 127.0.0.1:5000/policies/image-redirect:v0.1.0"
)]
struct PushArgs {
    #[arg(long, value_name = "WASM", default_value = "policy.wasm")]
    policy: PathBuf,
    /// Where to push: HOST/REPO:TAG.
    reference: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Demo(args) => demo(&args),
        Command::Run(args) => run(&args),
        #[cfg(feature = "registry")]
        Command::Push(args) => push(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo(args: &DemoArgs) -> Result<ExitCode> {
    let size = std::fs::metadata(&args.policy).map(|m| m.len() / 1024).unwrap_or(0);
    println!("image-redirect-policy: {} ({size} KiB) on the embedded waPC host", args.policy.display());
    println!("(wasmtime, a fresh instance per request, as Kubewarden's policy-server runs it)");
    print!("{}", demo::run(&Policy::load(&args.policy)?)?);
    Ok(ExitCode::SUCCESS)
}

fn run(args: &RunArgs) -> Result<ExitCode> {
    let settings = read_settings(&args.settings)?;
    let request = demo::read_json(&args.request)?;
    let evaluation = load_policy(&args.policy)?.evaluate(&settings, &request)?;
    if let Outcome::InvalidSettings(message) = &evaluation.outcome {
        eprintln!("Provided settings are not valid: {message}");
        return Ok(ExitCode::FAILURE);
    }
    println!("{}", serde_json::to_string_pretty(&evaluation.admission_response())?);
    eprint!("{}", demo::report(&evaluation)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "registry")]
fn push(args: &PushArgs) -> Result<ExitCode> {
    use image_redirect_e2e::oci::Oci;
    let wasm = std::fs::read(&args.policy).with_context(|| format!("cannot read {}", args.policy.display()))?;
    let digest = Oci::for_reference(&args.reference)?.push_policy(&wasm, &args.reference)?;
    println!("pushed {} to {} ({digest})", args.policy.display(), args.reference);
    Ok(ExitCode::SUCCESS)
}

/// A policy file, or an OCI artifact when the build has a registry client.
fn load_policy(location: &str) -> Result<Policy> {
    #[cfg(feature = "registry")]
    return Policy::from_bytes(&image_redirect_e2e::oci::fetch_policy(location)?);
    #[cfg(not(feature = "registry"))]
    match location.starts_with("registry://") {
        true => anyhow::bail!(
            "{location}: this build has no registry client: \
             cargo run --profile e2e -p image-redirect-e2e --features registry -- run ..."
        ),
        false => Policy::load(Path::new(location)),
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
