//! The policy's settings as node-level registry configuration: K3s and RKE2
//! `registries.yaml`, containerd `certs.d/<registry>/hosts.toml`.
//!
//! A container runtime mirrors whole registries: it swaps the endpoint and,
//! for K3s/RKE2, rewrites the repository path. So each exported registry
//! gets one route, asked of the policy's own rules
//! ([`Rules::route_registry`]); whatever else the settings say (a mapping
//! scoped to a path, exclusions, namespaces, pull secrets, registry checks)
//! has no equivalent at the node and is reported as [`Export::lost`], never
//! dropped in silence.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use image_redirect_policy::reference::RegistryPath;
use image_redirect_policy::rules::{Destination, Keep, Via};
use image_redirect_policy::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    K3s,
    Rke2,
    Containerd,
}

impl Format {
    pub const ALL: [Self; 3] = [Self::K3s, Self::Rke2, Self::Containerd];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::K3s => "k3s",
            Self::Rke2 => "rke2",
            Self::Containerd => "containerd",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }
}

/// The start of the loss every prefix export reports: the node redirects only
/// the registries it was told about.
pub const PREFIX_SCOPE: &str = "prefix: the policy moves images of every registry, the node only those named: ";

/// One registry as the runtime should mirror it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The registry images name (`docker.io`).
    pub registry: String,
    /// Where its pulls go: `host[:port]`.
    pub host: String,
    /// The path the repository is placed under on `host` (`dockerhub`), or empty.
    pub path: String,
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
    /// One line per rule the runtime cannot carry out as the policy would.
    pub lost: Vec<String>,
    /// Registries asked for that neither the policy nor the export redirects.
    pub notes: Vec<String>,
}

/// How an export is asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub format: Format,
    /// Registries to mirror besides the sources of registry-wide mappings
    /// (what a prefix applies to: a runtime cannot name "every registry").
    pub registries: &'a [String],
    /// `https` unless the mirrors answer plain HTTP.
    pub scheme: &'a str,
}

pub fn export(settings: &Settings, request: &Request) -> Result<Export, String> {
    let Plan { mirrors, lost, notes } = plan(settings, request.registries)?;
    let files = match request.format {
        Format::K3s | Format::Rke2 => vec![registries_yaml(request.format, &mirrors, &lost, request.scheme)],
        Format::Containerd => mirrors.iter().map(|m| hosts_toml(m, &lost, request.scheme)).collect(),
    };
    Ok(Export { files, lost, notes })
}

/// The mirrors the runtime can carry out exactly, and what it cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub mirrors: Vec<Mirror>,
    pub lost: Vec<String>,
    pub notes: Vec<String>,
}

pub fn plan(settings: &Settings, named: &[String]) -> Result<Plan, String> {
    let rules = &settings.rules;
    let (mut lost, mut notes) = (Vec::new(), Vec::new());
    let mut registries = BTreeSet::new();
    for mapping in rules.mappings() {
        let source = mapping.source.as_str();
        if source.contains('/') {
            lost.push(format!(
                "mapping {source} -> {}: a runtime mirrors whole registries, not paths; at the node these images \
                 follow the rule for their registry, if any",
                mapping.to.target
            ));
        } else {
            registries.insert(source.to_owned());
        }
    }
    for name in named {
        let path = RegistryPath::parse(name).map_err(|e| format!("--registry {name:?}: {e}"))?;
        if path.as_str().contains('/') {
            return Err(format!("--registry {name:?}: a registry, without a path"));
        }
        registries.insert(path.as_str().to_owned());
    }
    if rules.prefix().is_some() {
        lost.push(match named {
            [] => "prefix: a runtime cannot put the registry's name into the path for every registry; name each \
                   one with --registry"
                .to_owned(),
            _ => format!("{PREFIX_SCOPE}{}", named.join(", ")),
        });
    }
    let mut mirrors = Vec::new();
    for registry in &registries {
        match rules.route_registry(registry) {
            Ok((route, via, destination)) => {
                for line in destination_losses(via, destination) {
                    // A prefix serves every registry: say so once.
                    if !lost.contains(&line) {
                        lost.push(line);
                    }
                }
                let (host, path) = route.split_once('/').unwrap_or((&route, ""));
                mirrors.push(Mirror { registry: registry.clone(), host: host.to_owned(), path: path.to_owned() });
            }
            Err(Keep::PortUnderPrefix(_)) => notes.push(format!(
                "--registry {registry}: its port cannot become a path segment under the prefix; the policy leaves \
                 these images alone, and so does this export"
            )),
            Err(_) => notes.push(format!("--registry {registry}: no rule redirects it; nothing exported for it")),
        }
    }
    for mirror in &mirrors {
        if registries.contains(&mirror.host) {
            lost.push(format!(
                "{}: its mirror {} is itself mirrored; the policy leaves images already there alone, the runtime \
                 would redirect them again",
                mirror.registry, mirror.host
            ));
        }
    }
    for glob in rules.exclusions() {
        lost.push(format!(
            "exclude.images {}: a runtime cannot exclude images; at the node they are redirected",
            glob.as_str()
        ));
    }
    if !settings.excluded_namespaces().is_empty() {
        lost.push(format!(
            "exclude.namespaces {}: a runtime does not know namespaces; at the node their pods are redirected",
            settings.excluded_namespaces().join(", ")
        ));
    }
    Ok(Plan { mirrors, lost, notes })
}

/// What the destination asks for that a node cannot do as the policy does.
fn destination_losses(via: Via, destination: &Destination) -> Vec<String> {
    let place = match via {
        Via::Prefix | Via::MappingThenPrefix(_) => "prefix".to_owned(),
        Via::Mapping(m) => format!("mapping {}", m.source),
    };
    let mut lost = Vec::new();
    if let Some(secret) = &destination.pull_secret {
        lost.push(format!(
            "{place} pullSecret {secret}: a node does not read Kubernetes Secrets; give it the \
             credentials for {} in its registry configuration",
            destination.target
        ));
    }
    if destination.verify || destination.pin_digest {
        lost.push(format!(
            "{place} verify/pinDigest: a runtime does not check the mirror before choosing it \
             (it falls back to the next endpoint on failure)"
        ));
    }
    lost
}

fn header(out: &mut String, format: Format, lost: &[String]) {
    let (runtime, path) = match format {
        Format::K3s => ("K3s", "/etc/rancher/k3s/registries.yaml"),
        Format::Rke2 => ("RKE2", "/etc/rancher/rke2/registries.yaml"),
        Format::Containerd => ("containerd", "/etc/containerd/certs.d/<registry>/hosts.toml"),
    };
    let _ = writeln!(out, "# Generated by `image-redirect export` from the policy's settings: edit those, not this.");
    let _ = writeln!(out, "# {runtime} reads it at {path}.");
    if !lost.is_empty() {
        let _ = writeln!(out, "# Not carried out at the node (the admission policy does these):");
        for line in lost {
            let _ = writeln!(out, "#   - {line}");
        }
    }
}

fn registries_yaml(format: Format, mirrors: &[Mirror], lost: &[String], scheme: &str) -> File {
    let mut out = String::new();
    header(&mut out, format, lost);
    if mirrors.is_empty() {
        out.push_str("mirrors: {}\n");
    } else {
        out.push_str("mirrors:\n");
    }
    for mirror in mirrors {
        let _ = writeln!(out, "  {}:", quoted(&mirror.registry));
        let _ = writeln!(out, "    endpoint:\n      - {}", quoted(&format!("{scheme}://{}", mirror.host)));
        if !mirror.path.is_empty() {
            let _ = writeln!(out, "    rewrite:\n      \"^(.*)$\": {}", quoted(&format!("{}/$1", mirror.path)));
        }
    }
    File { path: "registries.yaml".to_owned(), text: out }
}

fn hosts_toml(mirror: &Mirror, lost: &[String], scheme: &str) -> File {
    let mut out = String::new();
    header(&mut out, Format::Containerd, lost);
    let upstream = match mirror.registry.as_str() {
        "docker.io" => "registry-1.docker.io",
        other => other,
    };
    let _ = writeln!(out, "server = {}\n", quoted(&format!("https://{upstream}")));
    // With a path, the URL is the API root itself: containerd must not add /v2.
    let host = match mirror.path.as_str() {
        "" => format!("{scheme}://{}", mirror.host),
        path => format!("{scheme}://{}/v2/{path}", mirror.host),
    };
    let _ = writeln!(out, "[host.{}]", quoted(&host));
    out.push_str("  capabilities = [\"pull\", \"resolve\"]\n");
    if !mirror.path.is_empty() {
        out.push_str("  override_path = true\n");
    }
    File { path: format!("certs.d/{}/hosts.toml", mirror.registry), text: out }
}

/// A double-quoted string, valid in both YAML and TOML for the characters
/// registry names and paths allow.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}
