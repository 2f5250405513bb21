//! The command line: every subcommand's arguments, help and examples (clap
//! derive). What each subcommand does lives in `command/`, one module each.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use image_redirect_cli::export::{self, Format, Kairos};

#[derive(Parser)]
#[command(name = "image-redirect", version, about, long_about = None, max_term_width = 100)]
#[command(after_help = "Exit status: 0 ok, 1 error, 2 rules lost under --strict, 3 seed --check or audit not ready.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    Export(ExportArgs),
    Preview(PreviewArgs),
    Import(ImportArgs),
    Seed(SeedArgs),
    Audit(AuditArgs),
    Completions(CompletionsArgs),
}

/// Write the settings as a container runtime's registry configuration.
///
/// Each mapping becomes a mirror (for K3s, RKE2, containerd and Talos only mappings of
/// whole registries; registries-conf, for CRI-O and Podman, and openshift match paths too);
/// what a runtime cannot do as the policy does (exclusions, pull secrets,
/// registry checks...) is a `warning:` line on stderr and a comment in every file.
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect export --format k3s --settings settings.yaml --out /tmp/node
  image-redirect export --format containerd --settings settings.yaml --registry docker.io --scheme http
  image-redirect export --format registries-conf --settings settings.yaml --out /tmp/node
  image-redirect export --format containerd --settings settings.yaml --digest-only --out /tmp/node
  image-redirect export --format kairos --runtime rke2 --settings settings.yaml --out /tmp/oem
  image-redirect export --format talos --talos-version 1.12 --settings settings.yaml
  image-redirect export --format openshift --settings settings.yaml --no-fallback")]
pub struct ExportArgs {
    /// The runtime's file format.
    #[arg(long, value_parser = format_parser())]
    pub format: Format,
    #[command(flatten)]
    pub settings: SettingsArg,
    /// A registry to mirror under the prefix (a runtime cannot name "every registry"); repeatable.
    #[arg(long = "registry", value_name = "REGISTRY")]
    pub registries: Vec<String>,
    /// How the mirrors are reached.
    #[arg(long, value_enum, default_value_t = Scheme::Https)]
    pub scheme: Scheme,
    /// Write the files under DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit with status 2 when a rule cannot be carried out at the node.
    #[arg(long)]
    pub strict: bool,
    /// Never pull from the original registry when a mirror fails (registries-conf: `blocked` on the
    /// source; talos: `skipFallback`; openshift: `NeverContactSource`); a loss where the format cannot
    /// say it.
    #[arg(long)]
    pub no_fallback: bool,
    /// Never let a mirror resolve a tag: mirrors serve content by digest, tags go to the original
    /// registry (containerd: `capabilities = ["pull"]`; registries-conf: `pull-from-mirror =
    /// "digest-only"`; openshift: the ImageDigestMirrorSet only); a loss for K3s/RKE2 and Talos.
    /// Refused with `--no-fallback`.
    #[arg(long)]
    pub digest_only: bool,
    /// containerd: also write the config.toml snippet of this major version (1: `version = 2`,
    /// 2: `version = 3`) that points the CRI plugin at the hosts.toml files.
    #[arg(long, value_name = "MAJOR", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub containerd_version: Option<u8>,
    /// K3s/RKE2: list every source registry for the embedded registry mirror (the servers'
    /// `--embedded-registry` flag, which is yours to set).
    #[arg(long)]
    pub embedded_registry: bool,
    /// Talos: the release the nodes run, MAJOR.MINOR; from 1.12 `RegistryMirrorConfig` documents,
    /// before (or without this) a `machine.registries` patch.
    #[arg(long, value_name = "VERSION", value_parser = export::parse_talos_version)]
    pub talos_version: Option<(u16, u16)>,
    #[command(flatten)]
    pub kairos: KairosArgs,
}

/// `--format kairos` (and `import palette --node-config`): which runtime's files, in which stage.
#[derive(Args)]
pub struct KairosArgs {
    /// Kairos: the runtime whose files the cloud-config writes [default: k3s].
    #[arg(long, value_name = "RUNTIME", value_parser = runtime_parser())]
    pub runtime: Option<Format>,
    /// Kairos: the yip stage that writes the files (`boot` runs at every boot, before K3s and RKE2 read
    /// their registries.yaml).
    #[arg(long, value_name = "STAGE", default_value = image_redirect_cli::export::DEFAULT_STAGE)]
    pub kairos_stage: String,
}

/// Show what the policy does to each container of some manifests.
///
/// Every object goes through the policy's admission path as a CREATE request;
/// registries are not asked (`verify` and `pinDigest` show the image kept).
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect preview --settings settings.yaml deploy/*.yaml
  kubectl get deploy -A -o yaml | image-redirect preview --settings settings.yaml --output json -")]
pub struct PreviewArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// `text` for people; `json` for scripts: one JSON object per container, one per line.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Manifests: multi-document YAML or JSON, `List`s included; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

/// Fill the mirror: copy each image of some manifests to where the policy sends it.
///
/// Every object goes through the policy's admission path as a CREATE request, with
/// `verify` and `pinDigest` destinations taken as holding every image (the mirror
/// is what is being filled). Excluded images, images already under a target and
/// images no rule moves are listed as skipped and not copied.
#[derive(Args)]
#[command(after_help = "Examples:
  image-redirect seed --settings settings.yaml --dry-run deploy/*.yaml
  helm template ./chart | image-redirect seed --settings settings.yaml --namespace web --lock images.lock -
  image-redirect seed --settings settings.yaml --images images.txt --plain-http 127.0.0.1:5000
  image-redirect seed --check --lock images.lock
  image-redirect seed --settings settings.yaml --to bundle/ deploy/*.yaml
  image-redirect seed --settings edge-settings.yaml --from bundle/ --lock images.lock

Exit status: 0 ok, 1 error (an image not copied included), 3 --check found an image missing or different.")]
pub struct SeedArgs {
    /// The policy's settings, YAML or JSON (as in a ClusterAdmissionPolicy's `settings`); not needed by
    /// `--check --lock`.
    #[arg(long, value_name = "SETTINGS")]
    pub settings: Option<PathBuf>,
    /// Manifests: multi-document YAML or JSON, `List`s included; `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// A list of image references, one per line (`#` starts a comment); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub images: Option<String>,
    /// The namespace of objects that name none (rendered Helm output), for namespace exclusions.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// Print the plan (source -> destination, the rule, why anything is skipped) and copy nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,
    /// With `--dry-run`: `text` for people, `json` for scripts (one JSON object per image, one per line).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Write the images into the OCI image layout DIR (made if absent, added to if not), each named by
    /// its source reference, instead of copying them to the mirror: the bundle carried to an
    /// air-gapped site, where `seed --from DIR` pushes it.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["check", "lock", "from"])]
    pub to: Option<PathBuf>,
    /// Read the images from the OCI image layout DIR (as `--to` writes it) instead of manifests, and copy
    /// them to where these settings send them; no network but the mirror's.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["check", "files", "images"])]
    pub from: Option<PathBuf>,
    /// Copy nothing: ask the mirror whether each destination is there (with `--lock`, at the digest
    /// the lock records); exit 3 naming each one missing or different.
    #[arg(long)]
    pub check: bool,
    /// Write what was copied to FILE (JSON: `{"images": [{"source", "digest", "destination"}]}`);
    /// with `--check`, read it.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Copy only these platforms of an index (`os/architecture[/variant]`, comma-separated or repeated):
    /// the children chosen keep their digests, and the tag gets a new index listing only them, with a
    /// new digest (recorded beside the source's; `pinDigest: source` cannot match it). Images named by
    /// digest are copied whole, as their reference names every platform.
    #[arg(long, value_name = "PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Images copied at the same time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// A registry reached over plain HTTP (`host[:port]`, as in the references), such as a test
    /// registry on loopback; repeatable.
    #[arg(long = "plain-http", value_name = "REGISTRY")]
    pub plain_http: Vec<String>,
    /// CA certificates (PEM) to trust besides the system's, for a mirror whose certificate a site's own
    /// CA signed.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The registry credentials to use (containers-auth.json or docker's config.json, keys scoped to a
    /// registry or to a path in it); default: `REGISTRY_AUTH_FILE`, else
    /// `$XDG_RUNTIME_DIR/containers/auth.json` then `~/.docker/config.json`, as skopeo and podman read them.
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
}

/// What a cluster still pulls from outside the mirrors, per namespace and workload.
///
/// Reads objects (`kubectl get pods,deployments,... -A -o json`, YAML, manifests) and the report
/// mode's PolicyReports or OpenReports. Each image is already redirected (under a target, or from a
/// registry the nodes mirror), would be redirected by the rules, pulls from outside every mirror, or
/// is excluded. Pods are listed under their top owner in the input (ReplicaSet, Deployment, Job,
/// CronJob...), so each image is listed once. The rules are read as if `enabled: true` and
/// `action: redirect`.
#[derive(Args)]
#[command(after_help = "Examples:
  kubectl get pods,replicasets,deployments,jobs,cronjobs -A -o json > cluster.json
  image-redirect audit --settings settings.yaml cluster.json
  kubectl get policyreports -A -o json | image-redirect audit --settings settings.yaml -
  image-redirect audit --settings settings.yaml --print-images cluster.json > images.txt

Exit status: 0 nothing pulls from outside the mirrors (excluded images do not count), 1 error,
3 an image would be redirected or is outside every mirror.")]
pub struct AuditArgs {
    #[command(flatten)]
    pub settings: SettingsArg,
    /// Objects and reports: files or directories of multi-document YAML or JSON, `List`s included;
    /// `-` (or nothing) reads stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// The namespace of objects that name none (manifests), for namespace exclusions.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// A registry the nodes' container runtimes mirror (`export`): its images keep their names and
    /// count as redirected; repeatable.
    #[arg(long = "node-mirror", value_name = "REGISTRY")]
    pub node_mirrors: Vec<String>,
    /// `text` for people; `json` for scripts: one JSON object per image, one per line.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Print only the source references the mirror must hold, one per line, as `seed --images` reads
    /// them (exit 0).
    #[arg(long, conflicts_with = "output")]
    pub print_images: bool,
}

/// Turn another tool's redirect configuration into the policy's documents.
#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub from: ImportFrom,
}

#[derive(Subcommand)]
pub enum ImportFrom {
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
  image-redirect import palette user-data.yaml --primary-registry 10.10.100.45:30003 --strict
  image-redirect import palette user-data.yaml --node-config --runtime rke2 --registry quay.io --out deploy/")]
pub struct PaletteArgs {
    /// The Edge user-data (`#cloud-config` YAML); `-` reads stdin.
    #[arg(value_name = "USER-DATA")]
    pub user_data: String,
    /// The local Harbor of the Harbor Edge-Native Config pack (not in user-data): every image is pulled
    /// from under it, after the mapping rules.
    #[arg(long, value_name = "HOST[:PORT][/PATH]")]
    pub primary_registry: Option<String>,
    /// The namespace of the pull secrets.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub secret_namespace: String,
    /// The policy's module [default: this version's published OCI reference].
    #[arg(long, value_name = "REF")]
    pub module: Option<String>,
    /// Write the documents under DIR (secrets.yaml with mode 0600) instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit with status 2 when the policy cannot carry out something the user-data says.
    #[arg(long)]
    pub strict: bool,
    /// Also write node-config.yaml (mode 0600): the Kairos document whose stage writes the runtime's
    /// registry files, with the user-data's credentials, certificates and `insecure` as the runtime's
    /// own; merge its `stages` into the user-data.
    #[arg(long)]
    pub node_config: bool,
    /// With --node-config: a registry to mirror under the prefix; repeatable.
    #[arg(long = "registry", value_name = "REGISTRY", requires = "node_config")]
    pub registries: Vec<String>,
    /// With --node-config: how the mirrors are reached.
    #[arg(long, value_enum, default_value_t = Scheme::Https)]
    pub scheme: Scheme,
    #[command(flatten)]
    pub kairos: KairosArgs,
}

/// Print a shell completion script.
#[derive(Args)]
#[command(after_help = "Example:
  image-redirect completions bash > /etc/bash_completion.d/image-redirect")]
pub struct CompletionsArgs {
    pub shell: Shell,
}

#[derive(Args)]
pub struct SettingsArg {
    /// The policy's settings, YAML or JSON (as in a ClusterAdmissionPolicy's `settings`).
    #[arg(long = "settings", value_name = "SETTINGS")]
    pub path: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scheme {
    Https,
    Http,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::Http => "http",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `--runtime` takes the names of the runtimes Kairos nodes run.
fn runtime_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Kairos::RUNTIMES.map(Format::name))
        .try_map(|name| Format::parse(&name).ok_or_else(|| format!("unknown runtime {name:?}")))
}

/// `--format` takes the names `export::Format` gives its formats.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(Format::name))
        .try_map(|name| Format::parse(&name).ok_or_else(|| format!("unknown format {name:?}")))
}
