//! What a node cannot carry out as the policy does, one value per rule: the
//! export reports each, `--strict` fails on any, and tests match on the kind.

use std::fmt;

/// Where a destination comes from in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Prefix,
    /// A mapping, by its source.
    Mapping(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Prefix => f.write_str("prefix"),
            Self::Mapping(source) => write!(f, "mapping {source}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss {
    /// A mapping scoped to a path, where the format scopes by registry.
    PathScoped {
        source: String,
        target: String,
    },
    /// A prefix, and no `--registry` to say which registries it covers.
    PrefixUnnamed,
    /// A prefix reaches only the registries named with `--registry`.
    PrefixScope {
        named: Vec<String>,
    },
    /// A route that is itself a source: the runtime redirects twice.
    MirrorMirrored {
        source: String,
        route: String,
    },
    ExcludedImages {
        glob: String,
    },
    ExcludedNamespaces {
        namespaces: Vec<String>,
    },
    PullSecret {
        place: Place,
        secret: String,
        target: String,
    },
    /// `onMissing: reject`: a runtime does not refuse pods.
    Reject {
        place: Place,
        /// The runtime then pulls from the source, not only the mirror.
        to_source: bool,
    },
    /// `pinDigest`, where the runtime tries the mirror and then the source.
    PinDigest {
        place: Place,
    },
    /// `verify`/`pinDigest`, where the runtime picks its endpoint unchecked.
    NotChecked {
        place: Place,
    },
    /// `--no-fallback` asked of a format that always tries the source last.
    Fallback {
        format: &'static str,
    },
    /// `--digest-only` asked of a format whose mirrors always resolve tags.
    DigestOnly {
        format: &'static str,
    },
    /// `--scheme http` where the format names no scheme (OpenShift mirror sets).
    PlainHttp {
        hosts: Vec<String>,
    },
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::PathScoped { source, target } => write!(
                f,
                "mapping {source} -> {target}: a runtime mirrors whole registries, not paths; at the node these \
                 images follow the rule for their registry, if any"
            ),
            Self::PrefixUnnamed => f.write_str(
                "prefix: a runtime cannot put the registry's name into the path for every registry; name each one \
                 with --registry",
            ),
            Self::PrefixScope { named } => write!(
                f,
                "prefix: the policy moves images of every registry, the node only those named: {}",
                named.join(", ")
            ),
            Self::MirrorMirrored { source, route } => write!(
                f,
                "{source}: its mirror {route} is itself mirrored; the policy leaves images already there alone, the \
                 runtime would redirect them again"
            ),
            Self::ExcludedImages { glob } => {
                write!(f, "exclude.images {glob}: a runtime cannot exclude images; at the node they are redirected")
            }
            Self::ExcludedNamespaces { namespaces } => write!(
                f,
                "exclude.namespaces {}: a runtime does not know namespaces; at the node their pods are redirected",
                namespaces.join(", ")
            ),
            Self::PullSecret { place, secret, target } => write!(
                f,
                "{place} pullSecret {secret}: a node does not read Kubernetes Secrets; give it the credentials for \
                 {target} in its registry configuration"
            ),
            Self::Reject { place, to_source } => write!(
                f,
                "{place} onMissing: reject: a runtime does not refuse the pod; at the node a pull the mirror cannot \
                 serve {}",
                if *to_source { "goes to the original registry" } else { "fails" }
            ),
            Self::PinDigest { place } => {
                write!(
                    f,
                    "{place} pinDigest: a runtime pulls the tag it is given; at the node the digest is not pinned"
                )
            }
            Self::NotChecked { place } => write!(
                f,
                "{place} verify/pinDigest: a runtime does not check the mirror before choosing it (it falls back to \
                 the next endpoint on failure)"
            ),
            Self::Fallback { format } => write!(
                f,
                "--no-fallback: {format} always tries the original registry after its mirrors; at the node a pull \
                 the mirror cannot serve goes to the source"
            ),
            Self::DigestOnly { format } => write!(
                f,
                "--digest-only: {format} cannot keep a mirror from resolving tags; at the node the mirror is asked \
                 for tags as well as digests"
            ),
            Self::PlainHttp { hosts } => write!(
                f,
                "--scheme http: a mirror set names no scheme; list {} under spec.registrySources.insecureRegistries \
                 of the cluster's image.config.openshift.io/cluster, or the nodes pull from them over HTTPS",
                hosts.join(", ")
            ),
        }
    }
}
