//! The policy's settings as node-level registry configuration: K3s and RKE2
//! `registries.yaml`, containerd `certs.d/<registry>/hosts.toml`, the
//! `registries.conf` that CRI-O, Podman, Buildah and Skopeo read, Talos's
//! machine configuration and OpenShift's mirror sets; for Kairos nodes, a
//! cloud-config document that writes one runtime's files at boot.
//!
//! K3s, RKE2, containerd and Talos mirror whole registries: they swap the
//! endpoint and, for K3s/RKE2, rewrite the repository path. `registries.conf`
//! and OpenShift match the longest path prefix, as the policy's mappings do.
//! Each exported source gets one route, asked of the policy's own rules
//! ([`Rules::route_registry`]);
//! whatever else the settings say (a mapping scoped to a path where the
//! format has no paths, exclusions, namespaces, pull secrets, registry checks
//! the runtime cannot make) has no equivalent at the node and is reported as
//! a [`Loss`], never dropped in silence.
//!
//! Every file is written by a serializer (`serde_norway`, `toml`) with a
//! comment header before it: no hand-quoted YAML or TOML.
//!
//! [`Rules::route_registry`]: image_redirect_policy::rules::Rules::route_registry

mod access;
mod containerd;
mod k3s;
mod kairos;
mod loss;
mod openshift;
mod plan;
mod registries_conf;
mod talos;

use std::fmt::Write as _;

use image_redirect_policy::settings::Settings;
use serde::Serialize;

pub use access::Access;
pub use kairos::{DEFAULT_STAGE, Kairos};
pub use loss::{Loss, Place};
pub use plan::{Plan, plan};
pub use talos::parse_version as parse_talos_version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    K3s,
    Rke2,
    Containerd,
    /// `containers-registries.conf` (v2): CRI-O, Podman, Buildah, Skopeo.
    RegistriesConf,
    /// A Kairos cloud-config document writing another format's files.
    Kairos,
    /// Talos machine configuration (a patch, or 1.12's documents).
    Talos,
    /// OpenShift/OKD `ImageTagMirrorSet` and `ImageDigestMirrorSet`.
    OpenShift,
}

impl Format {
    pub const ALL: [Self; 7] =
        [Self::K3s, Self::Rke2, Self::Containerd, Self::RegistriesConf, Self::Kairos, Self::Talos, Self::OpenShift];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::K3s => "k3s",
            Self::Rke2 => "rke2",
            Self::Containerd => "containerd",
            Self::RegistriesConf => "registries-conf",
            Self::Kairos => "kairos",
            Self::Talos => "talos",
            Self::OpenShift => "openshift",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }

    /// Whether the runtime matches a path under a registry, not only whole registries.
    fn matches_paths(self) -> bool {
        matches!(self, Self::RegistriesConf | Self::OpenShift)
    }

    /// Whether the runtime tries a mirror and then the source, as the policy
    /// does with `onMissing: keep`; the others pick an endpoint unchecked.
    fn tries_mirrors_first(self) -> bool {
        matches!(self, Self::RegistriesConf | Self::OpenShift)
    }

    /// Whether the format can forbid pulls from the source (`--no-fallback`).
    fn says_no_fallback(self) -> bool {
        matches!(self, Self::RegistriesConf | Self::Talos | Self::OpenShift)
    }

    /// Whether the format can keep a mirror from resolving tags (`--digest-only`).
    fn says_digest_only(self) -> bool {
        matches!(self, Self::Containerd | Self::RegistriesConf | Self::OpenShift)
    }
}

/// One source as the runtime should redirect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// What images name: a registry (`docker.io`) or, where the format
    /// matches paths, a registry path (`somedomain.com/somepath`).
    pub source: String,
    /// Where its pulls go: `host[:port]`, then the path the rest of the name
    /// is placed under (`harbor.local/dockerhub`).
    pub route: String,
    /// The policy checks the route first and keeps the source when the image
    /// is missing (a lookup with `onMissing: keep`).
    pub fallback: bool,
}

impl Mirror {
    /// `host[:port]` of the route.
    pub fn host(&self) -> &str {
        self.route.split_once('/').map_or(&self.route, |(host, _)| host)
    }

    /// The route's path, or empty.
    pub fn path(&self) -> &str {
        self.route.split_once('/').map_or("", |(_, path)| path)
    }

    /// The endpoint of a runtime built on containerd: the host, to which it
    /// adds `/v2`, or, where the route has a path, the API root under it,
    /// used as it is (`override_path`, Talos `overridePath`).
    fn api_url(&self, scheme: &str) -> String {
        match self.path() {
            "" => format!("{scheme}://{}", self.host()),
            path => format!("{scheme}://{}/v2/{path}", self.host()),
        }
    }
}

/// A file to write, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub files: Vec<File>,
    /// One per rule the runtime cannot carry out as the policy would.
    pub lost: Vec<Loss>,
    /// Registries asked for that neither the policy nor the export redirects.
    pub notes: Vec<String>,
}

/// How an export is asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub format: Format,
    /// Registries to mirror besides the sources of mappings
    /// (what a prefix applies to: a runtime cannot name "every registry").
    pub registries: &'a [String],
    /// `https` unless the mirrors answer plain HTTP.
    pub scheme: &'a str,
    /// Never pull from the source, even when the mirror fails.
    pub no_fallback: bool,
    /// Ask the mirrors for content by digest only: tags are resolved at the source.
    pub digest_only: bool,
    /// containerd's major version, for the `config.toml` snippet that points
    /// the CRI plugin at the `hosts.toml` files; none: no snippet.
    pub containerd_version: Option<u8>,
    /// K3s/RKE2: list every source registry for the embedded mirror (Spegel).
    pub embedded_registry: bool,
    /// `--format kairos`: the runtime whose files it writes, and the stage.
    pub kairos: Kairos<'a>,
    /// Credentials and TLS trust of mirror hosts (from Palette user-data).
    pub access: &'a [Access],
    /// Talos `MAJOR.MINOR`: from 1.12 `RegistryMirrorConfig` documents, before
    /// (or none) the `machine.registries` patch.
    pub talos_version: Option<(u16, u16)>,
}

impl Default for Request<'_> {
    fn default() -> Self {
        Self {
            format: Format::K3s,
            registries: &[],
            scheme: "https",
            no_fallback: false,
            digest_only: false,
            containerd_version: None,
            embedded_registry: false,
            kairos: Kairos::default(),
            access: &[],
            talos_version: None,
        }
    }
}

/// What writes a format's files from its mirrors and losses.
type Writer = fn(&Request, &[Mirror], &[Loss]) -> Result<Vec<File>, String>;

pub fn export(settings: &Settings, request: &Request) -> Result<Export, String> {
    let write: Writer = match request.format {
        Format::Kairos => return kairos::export(settings, request),
        Format::K3s | Format::Rke2 => k3s::files,
        Format::Containerd => containerd::files,
        Format::RegistriesConf => |request, mirrors, lost| Ok(vec![registries_conf::file(request, mirrors, lost)?]),
        Format::Talos => |request, mirrors, lost| Ok(vec![talos::file(request, mirrors, lost)?]),
        Format::OpenShift => |request, mirrors, lost| Ok(vec![openshift::file(request, mirrors, lost)?]),
    };
    // A mirror that resolves no tag and a source never asked leave no one to
    // resolve a tag: the node would be fit only for digests.
    if request.digest_only && request.no_fallback {
        return Err("--digest-only with --no-fallback: the mirrors would serve digests only and the original \
                    registries nothing, so every pull by tag of a mirrored registry would fail; pass one of them"
            .to_owned());
    }
    let Plan { mirrors, mut lost, notes } = plan(settings, request)?;
    lost.retain(|loss| !access::carries(request.format, request.access, loss));
    if request.no_fallback && !request.format.says_no_fallback() {
        lost.push(Loss::Fallback { format: request.format.name() });
    }
    if request.digest_only && !request.format.says_digest_only() {
        lost.push(Loss::DigestOnly { format: request.format.name() });
    }
    if request.format == Format::OpenShift {
        lost.extend(openshift::losses(request, &mirrors));
    }
    Ok(Export { files: write(request, &mirrors, &lost)?, lost, notes })
}

/// The comment lines every file opens with: where it goes, and what it loses.
fn header(reader: &str, lost: &[Loss]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Generated by `image-redirect export` from the policy's settings: edit those, not this.");
    let _ = writeln!(out, "# {reader}.");
    if !lost.is_empty() {
        let _ = writeln!(out, "# Not carried out at the node (the admission policy does these):");
        for loss in lost {
            let _ = writeln!(out, "#   - {loss}");
        }
    }
    out
}

/// `value` as YAML after `header`.
fn yaml(header: String, value: &impl Serialize) -> Result<String, String> {
    serde_norway::to_string(value).map(|body| header + &body).map_err(|e| format!("writing YAML: {e}"))
}

/// `values` as one YAML document each after `header`.
fn yaml_documents(header: String, values: &[impl Serialize]) -> Result<String, String> {
    let documents = values.iter().map(|value| serde_norway::to_string(value)).collect::<Result<Vec<_>, _>>();
    documents.map(|documents| header + &documents.join("---\n")).map_err(|e| format!("writing YAML: {e}"))
}

/// `value` as TOML after `header`.
fn toml(header: String, value: &impl Serialize) -> Result<String, String> {
    ::toml::to_string(value).map(|body| header + &body).map_err(|e| format!("writing TOML: {e}"))
}
