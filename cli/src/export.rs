//! The policy's settings as node-level registry configuration: K3s and RKE2
//! `registries.yaml`, containerd `certs.d/<registry>/hosts.toml`, and the
//! `registries.conf` that CRI-O, Podman, Buildah and Skopeo read.
//!
//! K3s, RKE2 and containerd mirror whole registries: they swap the endpoint
//! and, for K3s/RKE2, rewrite the repository path. `registries.conf` matches
//! the longest path prefix, as the policy's mappings do. Each exported source
//! gets one route, asked of the policy's own rules ([`Rules::route_registry`]);
//! whatever else the settings say (a mapping scoped to a path where the
//! format has no paths, exclusions, namespaces, pull secrets, registry checks
//! the runtime cannot make) has no equivalent at the node and is reported as
//! [`Export::lost`], never dropped in silence.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use image_redirect_policy::reference::{self, RegistryPath};
use image_redirect_policy::rules::{Destination, Keep, OnMissing, Rules, Via};
use image_redirect_policy::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    K3s,
    Rke2,
    Containerd,
    /// `containers-registries.conf` (v2): CRI-O, Podman, Buildah, Skopeo.
    RegistriesConf,
}

impl Format {
    pub const ALL: [Self; 4] = [Self::K3s, Self::Rke2, Self::Containerd, Self::RegistriesConf];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::K3s => "k3s",
            Self::Rke2 => "rke2",
            Self::Containerd => "containerd",
            Self::RegistriesConf => "registries-conf",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }

    /// Whether the runtime matches a path under a registry, not only whole registries.
    fn matches_paths(self) -> bool {
        self == Self::RegistriesConf
    }
}

/// The start of the loss every prefix export reports: the node redirects only
/// the registries it was told about.
pub const PREFIX_SCOPE: &str = "prefix: the policy moves images of every registry, the node only those named: ";

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
    /// Registries to mirror besides the sources of mappings
    /// (what a prefix applies to: a runtime cannot name "every registry").
    pub registries: &'a [String],
    /// `https` unless the mirrors answer plain HTTP.
    pub scheme: &'a str,
}

pub fn export(settings: &Settings, request: &Request) -> Result<Export, String> {
    let Plan { mirrors, lost, notes } = plan(settings, request.registries, request.format)?;
    let files = match request.format {
        Format::K3s | Format::Rke2 => vec![registries_yaml(request.format, &mirrors, &lost, request.scheme)],
        Format::Containerd => mirrors.iter().map(|m| hosts_toml(m, &lost, request.scheme)).collect(),
        Format::RegistriesConf => vec![registries_conf(&mirrors, &lost, request.scheme)],
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

pub fn plan(settings: &Settings, named: &[String], format: Format) -> Result<Plan, String> {
    let rules = &settings.rules;
    let mut plan = Plan::default();
    let sources = sources(rules, named, format, &mut plan.lost)?;
    if rules.prefix().is_some() {
        plan.lost.push(match named {
            [] => "prefix: a runtime cannot put the registry's name into the path for every registry; name each \
                   one with --registry"
                .to_owned(),
            _ => format!("{PREFIX_SCOPE}{}", named.join(", ")),
        });
    }
    for source in &sources {
        route(rules, source, format, &mut plan);
    }
    for mirror in &plan.mirrors {
        if sources.iter().any(|source| reference::is_under(&mirror.route, source)) {
            plan.lost.push(format!(
                "{}: its mirror {} is itself mirrored; the policy leaves images already there alone, the runtime \
                 would redirect them again",
                mirror.source, mirror.route
            ));
        }
    }
    exclusions(settings, &mut plan.lost);
    Ok(plan)
}

/// Exclusions, by image and by namespace: no runtime has them.
fn exclusions(settings: &Settings, lost: &mut Vec<String>) {
    for glob in settings.rules.exclusions() {
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
}

/// What the runtime is told to redirect: the sources of mappings (where the
/// format has no paths, only those naming a whole registry; the others are
/// lost) and the registries named with `--registry`.
fn sources(
    rules: &Rules,
    named: &[String],
    format: Format,
    lost: &mut Vec<String>,
) -> Result<BTreeSet<String>, String> {
    let mut sources = BTreeSet::new();
    for mapping in rules.mappings() {
        let source = mapping.source.as_str();
        if source.contains('/') && !format.matches_paths() {
            lost.push(format!(
                "mapping {source} -> {}: a runtime mirrors whole registries, not paths; at the node these images \
                 follow the rule for their registry, if any",
                mapping.to.target
            ));
        } else {
            sources.insert(source.to_owned());
        }
    }
    for name in named {
        let path = RegistryPath::parse(name).map_err(|e| format!("--registry {name:?}: {e}"))?;
        if path.as_str().contains('/') {
            return Err(format!("--registry {name:?}: a registry, without a path"));
        }
        sources.insert(path.as_str().to_owned());
    }
    Ok(sources)
}

/// The route of one source into `plan`: a mirror and what it loses, or a note.
fn route(rules: &Rules, source: &str, format: Format, plan: &mut Plan) {
    match rules.route_registry(source) {
        Ok((route, via, destination)) => {
            for line in destination_losses(via, destination, format) {
                // A prefix serves every registry: say so once.
                if !plan.lost.contains(&line) {
                    plan.lost.push(line);
                }
            }
            let fallback = destination.needs_lookup() && destination.on_missing == OnMissing::Keep;
            plan.mirrors.push(Mirror { source: source.to_owned(), route, fallback });
        }
        Err(Keep::PortUnderPrefix(_)) => plan.notes.push(format!(
            "--registry {source}: its port cannot become a path segment under the prefix; the policy leaves \
             these images alone, and so does this export"
        )),
        Err(_) => plan.notes.push(format!("--registry {source}: no rule redirects it; nothing exported for it")),
    }
}

/// What the destination asks for that a node cannot do as the policy does.
/// `registries.conf` keeps the check with `onMissing: keep`: its mirrors are
/// tried first, then the source.
fn destination_losses(via: Via, destination: &Destination, format: Format) -> Vec<String> {
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
    match format {
        Format::RegistriesConf => {
            if destination.needs_lookup() && destination.on_missing == OnMissing::Reject {
                lost.push(format!(
                    "{place} onMissing: reject: a runtime does not refuse the pod; at the node a pull the mirror \
                     cannot serve fails"
                ));
            }
            if destination.pin_digest.pins() {
                lost.push(format!(
                    "{place} pinDigest: a runtime pulls the tag it is given; at the node the digest is not pinned"
                ));
            }
        }
        Format::K3s | Format::Rke2 | Format::Containerd if destination.needs_lookup() => lost.push(format!(
            "{place} verify/pinDigest: a runtime does not check the mirror before choosing it \
             (it falls back to the next endpoint on failure)"
        )),
        Format::K3s | Format::Rke2 | Format::Containerd => {}
    }
    lost
}

fn header(out: &mut String, format: Format, lost: &[String]) {
    let reader = match format {
        Format::K3s => "K3s reads it at /etc/rancher/k3s/registries.yaml",
        Format::Rke2 => "RKE2 reads it at /etc/rancher/rke2/registries.yaml",
        Format::Containerd => "containerd reads it at /etc/containerd/certs.d/<registry>/hosts.toml",
        Format::RegistriesConf => {
            "CRI-O, Podman, Buildah and Skopeo read it as a drop-in: /etc/containers/registries.conf.d/image-redirect.conf"
        }
    };
    let _ = writeln!(out, "# Generated by `image-redirect export` from the policy's settings: edit those, not this.");
    let _ = writeln!(out, "# {reader}.");
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
        let _ = writeln!(out, "  {}:", quoted(&mirror.source));
        let _ = writeln!(out, "    endpoint:\n      - {}", quoted(&format!("{scheme}://{}", mirror.host())));
        if !mirror.path().is_empty() {
            let _ = writeln!(out, "    rewrite:\n      \"^(.*)$\": {}", quoted(&format!("{}/$1", mirror.path())));
        }
    }
    File { path: "registries.yaml".to_owned(), text: out }
}

fn hosts_toml(mirror: &Mirror, lost: &[String], scheme: &str) -> File {
    let mut out = String::new();
    header(&mut out, Format::Containerd, lost);
    let upstream = match mirror.source.as_str() {
        "docker.io" => "registry-1.docker.io",
        other => other,
    };
    let _ = writeln!(out, "server = {}\n", quoted(&format!("https://{upstream}")));
    // With a path, the URL is the API root itself: containerd must not add /v2.
    let host = match mirror.path() {
        "" => format!("{scheme}://{}", mirror.host()),
        path => format!("{scheme}://{}/v2/{path}", mirror.host()),
    };
    let _ = writeln!(out, "[host.{}]", quoted(&host));
    out.push_str("  capabilities = [\"pull\", \"resolve\"]\n");
    if !mirror.path().is_empty() {
        out.push_str("  override_path = true\n");
    }
    File { path: format!("certs.d/{}/hosts.toml", mirror.source), text: out }
}

/// One `[[registry]]` per source: the route as its `location` (the matched
/// prefix is replaced, as the policy replaces a mapping's source), or, when
/// the policy would fall back, as a mirror of the source itself, which the
/// runtime tries first. Image names are matched as the runtime normalises
/// them (`nginx` is `docker.io/library/nginx`), which is how the policy
/// writes sources too.
fn registries_conf(mirrors: &[Mirror], lost: &[String], scheme: &str) -> File {
    let mut out = String::new();
    header(&mut out, Format::RegistriesConf, lost);
    let insecure = if scheme == "http" { "  insecure = true\n" } else { "" };
    for mirror in mirrors {
        let _ = writeln!(out, "\n[[registry]]\n  prefix = {}", quoted(&mirror.source));
        if mirror.fallback {
            let _ = writeln!(out, "  location = {}\n  mirror-by-digest-only = false", quoted(&mirror.source));
            let _ = write!(out, "\n  [[registry.mirror]]\n  location = {}\n{insecure}", quoted(&mirror.route));
        } else {
            let _ = write!(out, "  location = {}\n{insecure}", quoted(&mirror.route));
        }
    }
    File { path: "registries.conf.d/image-redirect.conf".to_owned(), text: out }
}

/// A double-quoted string, valid in both YAML and TOML for the characters
/// registry names and paths allow.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}
