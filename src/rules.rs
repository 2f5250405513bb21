//! The redirect rules, compiled from valid settings: which mapping applies to
//! an image, what the prefix does, what is excluded, and what is already where
//! the policy would send it.
//!
//! Compilation sorts the mappings once (O(n log n)); a lookup then tries each
//! segment prefix of the image's name against them, longest first, so the
//! cost per image is O(segments × log mappings) and the order in which the
//! settings list the mappings does not matter.

use crate::glob::Glob;
use crate::reference::{self, Reference, ReferenceError, RegistryPath};

/// Where a rule sends images, and what that place needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub target: RegistryPath,
    /// Added to the pod's `imagePullSecrets` when an image ends up here.
    pub pull_secret: Option<String>,
    /// Ask the registry whether the redirected image exists before writing it.
    pub verify: bool,
    pub on_missing: OnMissing,
    /// Which registry's digest the redirected image is written with, if any.
    pub pin_digest: PinDigest,
}

impl Destination {
    /// Whether redirecting here needs a registry lookup.
    pub fn needs_lookup(&self) -> bool {
        self.verify || self.pin_digest.pins()
    }
}

/// Which digest a redirected image is pinned to (`pinDigest`). One value, not
/// a switch and a flag: pinning to the source without pinning cannot be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PinDigest {
    /// The tag is written as it is (`false`).
    #[default]
    Off,
    /// The digest the destination reports for the redirected tag (`mirror`,
    /// or `true`): the workload keeps the bytes the mirror served first.
    Mirror,
    /// The digest the source registry reports for the original tag, written
    /// only where the destination serves that digest (`source`): the
    /// workload gets the bytes its author meant, or the mirror is not used.
    Source,
}

impl PinDigest {
    /// Whether redirected images are written with a digest.
    pub fn pins(self) -> bool {
        self != Self::Off
    }
}

/// What to do when a lookup finds the redirected image missing (or fails).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnMissing {
    /// Leave the original image and warn.
    #[default]
    Keep,
    /// Reject the request, naming the image.
    Reject,
}

/// One `source → target` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub source: RegistryPath,
    pub to: Destination,
}

impl Mapping {
    /// `name` with the matched source replaced by the target; `name` must be under the source.
    fn rewrite(&self, name: &str) -> String {
        format!("{}{}", self.to.target, &name[self.source.as_str().len()..])
    }
}

/// Two items of a settings list with the same key (mappings with the same
/// source, a kind or a field path listed twice); indices are positions in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    pub first: usize,
    pub second: usize,
}

impl Duplicate {
    /// Each key written again, against the one before it with that key,
    /// among `(position, key)` pairs; sorts `keys` by key, then position.
    pub fn find(keys: &mut [(usize, &str)]) -> Vec<Duplicate> {
        keys.sort_by(|(a, key_a), (b, key_b)| key_a.cmp(key_b).then(a.cmp(b)));
        let pairs = keys.windows(2).filter(|pair| pair[0].1 == pair[1].1);
        pairs.map(|pair| Duplicate { first: pair[0].0, second: pair[1].0 }).collect()
    }
}

/// Rules ready to apply. Built only by [`Rules::new`], which rejects duplicate
/// sources, so a lookup never has to choose between two equal mappings.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Sorted by source.
    mappings: Vec<Mapping>,
    /// Indices into `mappings`, sorted by target.
    by_target: Vec<usize>,
    prefix: Option<Destination>,
    exclude_images: Vec<Glob>,
}

/// Which rule moved an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'r> {
    Mapping(&'r Mapping),
    Prefix,
    MappingThenPrefix(&'r Mapping),
}

/// What the rules say about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Write `image` instead. `destination` is where the image ends up (with
    /// mapping and prefix, the prefix): its pull secret and checks apply.
    Redirect { image: String, via: Via<'r>, destination: &'r Destination },
    /// Leave the image alone; [`Keep::warning`] says whether the user should hear of it.
    Keep(Keep<'r>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep<'r> {
    /// No mapping matches and there is no prefix.
    NoRule,
    /// Already below the prefix target, or below a mapping target.
    AlreadyRedirected,
    Excluded(&'r Glob),
    /// Not an image reference: the kubelet would refuse it anyway.
    Invalid(ReferenceError),
    /// The registry has a port (or is an IPv6 address), which cannot be a path segment under the prefix.
    PortUnderPrefix(String),
    /// The rewrite would not be a valid reference (say, a name over 255 characters).
    InvalidResult(String, ReferenceError),
}

impl Keep<'_> {
    /// Why the image stays, when the user should hear of it: a rule may have
    /// been meant for it. Silence for "no rule", "excluded", "already there".
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Invalid(error) => Some(format!("not a valid image reference: {error}")),
            Self::PortUnderPrefix(registry) => {
                Some(format!("registry {registry} has a port, which cannot become a path segment under the prefix"))
            }
            Self::InvalidResult(image, error) => {
                Some(format!("the redirect {image} would not be a valid reference: {error}"))
            }
            Self::NoRule | Self::AlreadyRedirected | Self::Excluded(_) => None,
        }
    }
}

impl Rules {
    pub fn new(
        mappings: Vec<Mapping>,
        prefix: Option<Destination>,
        exclude_images: Vec<Glob>,
    ) -> Result<Self, Vec<Duplicate>> {
        // Duplicates are found on a permutation, so they can be reported with
        // the positions the operator wrote; then the mappings take that order.
        let mut sources: Vec<(usize, &str)> = mappings.iter().map(|m| m.source.as_str()).enumerate().collect();
        let duplicates = Duplicate::find(&mut sources);
        if !duplicates.is_empty() {
            return Err(duplicates);
        }
        let order: Vec<usize> = sources.into_iter().map(|(position, _)| position).collect();
        // Moved along the permutation rather than sorted a second time.
        let mut slots: Vec<Option<Mapping>> = mappings.into_iter().map(Some).collect();
        let mappings: Vec<Mapping> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let mut by_target: Vec<usize> = (0..mappings.len()).collect();
        by_target.sort_by(|&a, &b| mappings[a].to.target.as_str().cmp(mappings[b].to.target.as_str()));
        Ok(Self { mappings, by_target, prefix, exclude_images })
    }

    /// Whether there is anything to redirect.
    pub fn is_empty(&self) -> bool {
        self.mappings.is_empty() && self.prefix.is_none()
    }

    /// Sorted by source.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    pub fn prefix(&self) -> Option<&Destination> {
        self.prefix.as_ref()
    }

    pub fn exclusions(&self) -> &[Glob] {
        &self.exclude_images
    }

    /// Decides where `image` (as written in a container) should be pulled from.
    pub fn decide(&self, image: &str) -> Decision<'_> {
        let reference = match Reference::parse(image) {
            Ok(reference) => reference,
            Err(error) => return Decision::Keep(Keep::Invalid(error)),
        };
        if let Some(glob) = self.exclusion(&reference) {
            return Decision::Keep(Keep::Excluded(glob));
        }
        if self.is_redirected(reference.name()) {
            return Decision::Keep(Keep::AlreadyRedirected);
        }
        let mapping = self.longest_mapping(reference.name());
        let (name, via, destination) = match self.route(reference.name(), reference.registry(), mapping) {
            Ok(route) => route,
            Err(keep) => return Decision::Keep(keep),
        };
        let image = reference.with_name(name);
        match Reference::parse(&image) {
            // A whole repository moved onto a target without a path leaves a
            // registry alone, which reads back as a Docker Hub image.
            Ok(parsed) if !image.starts_with(parsed.registry()) => {
                Decision::Keep(Keep::InvalidResult(image, ReferenceError::NoRepository))
            }
            Ok(_) => Decision::Redirect { image, via, destination },
            Err(error) => Decision::Keep(Keep::InvalidResult(image, error)),
        }
    }

    /// Where a whole registry goes, as a container runtime mirrors it: the new
    /// name its repository paths are appended to (`harbor.local/dockerhub`
    /// for `docker.io`), by the mapping whose source is the registry itself,
    /// then the prefix. An image of the registry goes to `<route>/<repository
    /// path>` unless a longer mapping, an exclusion or a target claims it.
    /// `registry` may also be a mapping's source with a path, for runtimes
    /// that match paths (`registries.conf`).
    pub fn route_registry(&self, registry: &str) -> Result<(String, Via<'_>, &Destination), Keep<'_>> {
        let mapping =
            self.mappings.binary_search_by(|m| m.source.as_str().cmp(registry)).ok().map(|i| &self.mappings[i]);
        self.route(registry, registry, mapping)
    }

    /// `name` (of an image on `registry`) moved by `mapping`, if one matched,
    /// then under the prefix, if there is one.
    fn route<'r>(
        &'r self,
        name: &str,
        registry: &str,
        mapping: Option<&'r Mapping>,
    ) -> Result<(String, Via<'r>, &'r Destination), Keep<'r>> {
        match (&self.prefix, mapping) {
            (None, None) => Err(Keep::NoRule),
            (None, Some(m)) => Ok((m.rewrite(name), Via::Mapping(m), &m.to)),
            // Settings forbid a port in a mapping target when a prefix is set,
            // so only an image's own registry can carry one here.
            (Some(_), None) if registry.contains(':') => Err(Keep::PortUnderPrefix(registry.to_owned())),
            (Some(prefix), None) => Ok((format!("{}/{name}", prefix.target), Via::Prefix, prefix)),
            (Some(prefix), Some(m)) => {
                Ok((format!("{}/{}", prefix.target, m.rewrite(name)), Via::MappingThenPrefix(m), prefix))
            }
        }
    }

    fn exclusion(&self, reference: &Reference) -> Option<&Glob> {
        if self.exclude_images.is_empty() {
            return None;
        }
        let normalised = reference.to_string();
        self.exclude_images.iter().find(|glob| glob.matches(&normalised))
    }

    /// Under the prefix target when there is a prefix (mapping targets are
    /// then only a waypoint), otherwise under any mapping target.
    fn is_redirected(&self, name: &str) -> bool {
        match &self.prefix {
            Some(prefix) => reference::is_under(name, prefix.target.as_str()),
            None => {
                reference::segment_prefixes(name).any(|candidate| self.is_target(|target| target.cmp(candidate)))
                    || reference::official_short(name).is_some_and(|image| {
                        // `docker.io/<image>`, compared without putting it together.
                        let short = || reference::DOCKER_HUB.bytes().chain(*b"/").chain(image.bytes());
                        self.is_target(|target| target.bytes().cmp(short()))
                    })
            }
        }
    }

    /// Whether some mapping target compares equal under `compare` (a search of the sorted targets).
    fn is_target(&self, compare: impl Fn(&str) -> std::cmp::Ordering) -> bool {
        self.by_target.binary_search_by(|&i| compare(self.mappings[i].to.target.as_str())).is_ok()
    }

    fn longest_mapping(&self, name: &str) -> Option<&Mapping> {
        reference::segment_prefixes(name).find_map(|candidate| {
            self.mappings.binary_search_by(|m| m.source.as_str().cmp(candidate)).ok().map(|i| &self.mappings[i])
        })
    }
}
