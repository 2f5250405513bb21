//! `image-redirect`: the policy's settings as node-level registry
//! configuration, a preview of what the policy does to manifests, and Palette
//! Edge user-data imported as the policy's documents.

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use image_redirect_cli::export::{self, Format};
use image_redirect_cli::import;
use image_redirect_cli::manifests;
use image_redirect_policy::settings::Settings;

/// Exit status of a failed command, and of a command line that does not parse.
const FAILED: u8 = 1;
/// Exit status when `--strict` and some rule cannot be carried out (at the
/// node by `export`, by the policy for `import`).
const LOST: u8 = 2;

#[derive(Parser)]
#[command(name = "image-redirect", version, about, long_about = None, max_term_width = 100)]
#[command(after_help = "Exit status: 0 ok, 1 error, 2 rules lost under --strict.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Export(ExportArgs),
    Preview(PreviewArgs),
    Import(ImportArgs),
    Completions(CompletionsArgs),
}

/// Write the settings as a container runtime's registry configuration.
///
/// Each mapping becomes a mirror (for K3s, RKE2 and containerd only mappings of
/// whole registries; registries-conf, for CRI-O and Podman, matches paths too);
/// what a runtime cannot do as the policy does (exclusions, pull secrets,
/// registry checks...) is a `warning:` line on stderr and a comment in every file.
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect export --format k3s --settings settings.yaml --out /tmp/node
  image-redirect export --format containerd --settings settings.yaml --registry docker.io --scheme http
  image-redirect export --format registries-conf --settings settings.yaml --out /tmp/node")]
struct ExportArgs {
    /// The runtime's file format.
    #[arg(long, value_parser = format_parser())]
    format: Format,
    #[command(flatten)]
    settings: SettingsArg,
    /// A registry to mirror under the prefix (a runtime cannot name "every registry"); repeatable.
    #[arg(long = "registry", value_name = "REGISTRY")]
    registries: Vec<String>,
    /// How the mirrors are reached.
    #[arg(long, value_enum, default_value_t = Scheme::Https)]
    scheme: Scheme,
    /// Write the files under DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Exit with status 2 when a rule cannot be carried out at the node.
    #[arg(long)]
    strict: bool,
}

/// Show what the policy does to each container of some manifests.
///
/// Every object goes through the policy's admission path as a CREATE request;
/// registries are not asked (`verify` and `pinDigest` show the image kept).
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect preview --settings settings.yaml deploy/*.yaml
  kubectl get deploy -A -o yaml | image-redirect preview --settings settings.yaml --output json -")]
struct PreviewArgs {
    #[command(flatten)]
    settings: SettingsArg,
    /// `text` for people; `json` for scripts: one JSON object per container, one per line.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Manifests: multi-document YAML or JSON, `List`s included; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,
}

/// Turn another tool's redirect configuration into the policy's documents.
#[derive(Args)]
struct ImportArgs {
    #[command(subcommand)]
    from: ImportFrom,
}

#[derive(Subcommand)]
enum ImportFrom {
    Palette(PaletteArgs),
}

/// Turn Palette Edge user-data into the policy's settings, ClusterAdmissionPolicy and pull secrets.
///
/// Reads the registry fields of `stylus` (the webhook switch, `registryCredentials`, `externalRegistries`)
/// and writes settings.yaml, policy.yaml and, when the user-data holds credentials, secrets.yaml. What the
/// policy cannot carry out is a `warning:` line on stderr and a comment in the documents; a value the policy
/// would refuse is an error naming its user-data path, and nothing is written.
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect import palette user-data.yaml --out deploy/
  image-redirect import palette user-data.yaml --primary-registry 10.10.100.45:30003 --strict")]
struct PaletteArgs {
    /// The Edge user-data (`#cloud-config` YAML); `-` reads stdin.
    #[arg(value_name = "USER-DATA")]
    user_data: String,
    /// The local Harbor of the Harbor Edge-Native Config pack (not in user-data): every image is pulled
    /// from under it, after the mapping rules.
    #[arg(long, value_name = "HOST[:PORT][/PATH]")]
    primary_registry: Option<String>,
    /// The namespace of the pull secrets.
    #[arg(long, value_name = "NS", default_value = "default")]
    secret_namespace: String,
    /// The policy's module [default: this version's published OCI reference].
    #[arg(long, value_name = "REF")]
    module: Option<String>,
    /// Write the documents under DIR (secrets.yaml with mode 0600) instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Exit with status 2 when the policy cannot carry out something the user-data says.
    #[arg(long)]
    strict: bool,
}

/// Print a shell completion script.
#[derive(Args)]
#[command(after_help = "Example:
  image-redirect completions bash > /etc/bash_completion.d/image-redirect")]
struct CompletionsArgs {
    shell: Shell,
}

#[derive(Args)]
struct SettingsArg {
    /// The policy's settings, YAML or JSON (as in a ClusterAdmissionPolicy's `settings`).
    #[arg(long = "settings", value_name = "SETTINGS")]
    path: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scheme {
    Https,
    Http,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// `--format` takes the names `export::Format` gives its formats.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(Format::name))
        .try_map(|name| Format::parse(&name).ok_or_else(|| format!("unknown format {name:?}")))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout and succeed; usage errors name the
        // flag (and the closest one) and fail with the documented status 1.
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Export(args) => run_export(&args),
        Command::Preview(args) => run_preview(&args),
        Command::Import(ImportArgs { from: ImportFrom::Palette(args) }) => run_import_palette(&args),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "image-redirect", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(FAILED)
        }
    }
}

impl SettingsArg {
    fn load(&self) -> Result<Settings> {
        let text = read(&self.path.display().to_string())?;
        manifests::settings(&text).map_err(|e| anyhow::anyhow!("{}: invalid settings:\n{e}", self.path.display()))
    }
}

fn run_export(args: &ExportArgs) -> Result<u8> {
    let scheme = match args.scheme {
        Scheme::Https => "https",
        Scheme::Http => "http",
    };
    let request = export::Request { format: args.format, registries: &args.registries, scheme };
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

/// Writes `text` to `path`, creating its directory; a `private` file is
/// readable by its owner only, also when it existed before.
fn write_file(path: &Path, text: &str, private: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).with_context(|| path.display().to_string())?;
    if private {
        // The mode above applies only to a file created now.
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        file.set_permissions(mode).with_context(|| path.display().to_string())?;
    }
    file.write_all(text.as_bytes()).with_context(|| path.display().to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn run_import_palette(args: &PaletteArgs) -> Result<u8> {
    let options = import::Options {
        primary_registry: args.primary_registry.as_deref(),
        secret_namespace: &args.secret_namespace,
        module: args.module.as_deref(),
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

fn run_preview(args: &PreviewArgs) -> Result<u8> {
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

fn read(file: &str) -> Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| file.to_owned())
}
