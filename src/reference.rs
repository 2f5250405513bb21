//! Container image references: parse, normalise, format.
//!
//! The grammar is the one kubelet and containerd apply (the distribution
//! reference grammar):
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ registry "/" ] path
//! registry   := host [ ":" port ]          host: DNS name, IPv4, or "[" IPv6 "]"
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" hex
//! ```
//!
//! Normalisation follows Docker's rules: a first component is a registry only
//! when it contains `.` or `:`, is `localhost`, or has an upper-case letter;
//! everything else lives on Docker Hub (`docker.io`), and a one-component
//! Docker Hub path lives under `library/`. `index.docker.io` is Docker Hub.
//! A whole reference of 64 lower-case hex characters is refused, as upstream
//! refuses it: it reads as an image ID, not a name.
//!
//! This module knows nothing of Kubernetes or of the policy's settings.

use std::borrow::Cow;
use std::fmt;

/// Docker Hub, as a normalised registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// The name Docker Hub also answers to; normalised to [`DOCKER_HUB`].
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL: &str = "library/";
/// Longest normalised name (registry and path) the grammar accepts.
pub const NAME_MAX: usize = 255;
/// Longest tag the grammar accepts.
pub const TAG_MAX: usize = 128;

/// Why a string is not an image reference (or not a registry path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceError {
    Empty,
    Uppercase,
    Registry,
    /// The first segment of a registry path would be read as a Docker Hub namespace.
    NotARegistry,
    Port,
    Path,
    Tag,
    TagTooLong,
    Digest,
    DigestAlgorithm,
    NameTooLong,
    /// 64 lower-case hex characters alone: an image ID, which the runtimes
    /// refuse as a name (distribution's `ParseNormalizedNamed`).
    ImageId,
    /// Only in registry paths, which name a place rather than an image.
    TagNotAllowed,
    DigestNotAllowed,
    /// A registry alone, which would be read as a Docker Hub image of that name.
    NoRepository,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::Uppercase => "uppercase letters are not allowed",
            Self::Registry => "the registry is not a valid host name or address",
            Self::NotARegistry => {
                "the first segment does not read as a registry (it needs a \".\", a \":port\" or to be \"localhost\")"
            }
            Self::Port => "the registry port is not a number",
            Self::Path => "the repository path has an invalid character or separator",
            Self::Tag => "the tag has an invalid character",
            Self::TagTooLong => "the tag is longer than 128 characters",
            Self::Digest => "the digest is malformed",
            Self::DigestAlgorithm => "the digest algorithm is not sha256, sha384 or sha512",
            Self::NameTooLong => "the repository name is longer than 255 characters",
            Self::ImageId => "a 64-character hexadecimal string is an image ID, not a name",
            Self::TagNotAllowed => "a tag is not allowed",
            Self::DigestNotAllowed => "a digest is not allowed",
            Self::NoRepository => "it names a registry and no repository",
        })
    }
}

impl std::error::Error for ReferenceError {}

/// A parsed, normalised image reference.
///
/// The name is held normalised (`docker.io/library/nginx`); the tag and digest
/// exactly as written. Formatting never adds `:latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    name: Cow<'a, str>,
    registry_len: usize,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl<'a> Reference<'a> {
    /// Parses and normalises `text`; borrows from it unless normalisation has
    /// to add a registry or `library/`.
    pub fn parse(text: &'a str) -> Result<Self, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if is_image_id(text) {
            return Err(ReferenceError::ImageId);
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(check_digest(digest)?)),
            None => (text, None),
        };
        let (written, tag) = split_tag(rest);
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        let (registry, path) = split_registry(written);
        check_registry(registry)?;
        check_path(path)?;
        let name = normalise(registry, path, written);
        if name.len() > NAME_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        let registry_len =
            if registry.is_empty() || registry == DOCKER_HUB_LEGACY { DOCKER_HUB.len() } else { registry.len() };
        Ok(Self { name, registry_len, tag, digest })
    }

    /// The normalised name: registry and repository path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry host, with its port if it has one.
    pub fn registry(&self) -> &str {
        &self.name[..self.registry_len]
    }

    /// The repository path within the registry.
    pub fn path(&self) -> &str {
        &self.name[self.registry_len + 1..]
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    pub fn digest(&self) -> Option<&'a str> {
        self.digest
    }

    /// The same tag and digest under another name; `name` is not checked here,
    /// callers parse the formatted result when they need a guarantee.
    pub fn with_name(&self, name: String) -> String {
        let mut out = name;
        if let Some(tag) = self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

/// The normalised form: `docker.io/library/nginx:1.27`.
impl fmt::Display for Reference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A registry, optionally followed by path segments, with no tag or digest:
/// where a mapping matches, or where it sends images.
///
/// Stricter than a reference's name: all lower-case, and the first segment
/// must read as a registry (a `.`, a `:port`, or `localhost`). Otherwise an
/// image written under it would be read back as a Docker Hub repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPath {
    text: String,
    registry_len: usize,
}

impl RegistryPath {
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let registry = check_registry_path(text)?;
        let text = match text.strip_prefix(DOCKER_HUB_LEGACY) {
            Some(rest) if registry == DOCKER_HUB_LEGACY => format!("{DOCKER_HUB}{rest}"),
            _ => text.to_owned(),
        };
        let registry = if registry == DOCKER_HUB_LEGACY { DOCKER_HUB } else { registry };
        if text.len() > NAME_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Self { registry_len: registry.len(), text })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the registry carries a port or is an IPv6 address: such a
    /// registry cannot appear as a path segment under another registry.
    pub fn has_port(&self) -> bool {
        self.text[..self.registry_len].contains(':')
    }
}

impl fmt::Display for RegistryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks `text` as a registry path, as written; returns its registry.
fn check_registry_path(text: &str) -> Result<&str, ReferenceError> {
    match plain_registry_len(text) {
        Some(len) => Ok(&text[..len]),
        None => check_registry_path_fully(text),
    }
}

/// The registry's length when `text` is a registry path of the usual shape (a
/// lower-case host name with a `.`, or `localhost`, maybe a port, maybe a
/// path), found in one scan: settings carry thousands of these with every
/// request. Anything else, every error included, takes the full check, which
/// accepts all this accepts (a unit test holds the two together).
fn plain_registry_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut host, mut dotted, mut rest) = (HostScan::START, false, bytes);
    while let Some((&b, tail)) = rest.split_first() {
        if b == b':' || b == b'/' {
            break;
        }
        if b.is_ascii_uppercase() || !host.next(b) {
            return None;
        }
        dotted |= b == b'.';
        rest = tail;
    }
    let host_len = bytes.len() - rest.len();
    if let Some(port) = rest.strip_prefix(b":") {
        let digits = port.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &port[digits..];
    }
    let registry_len = bytes.len() - rest.len();
    let reads_as_registry = dotted || registry_len > host_len || &text[..host_len] == "localhost";
    let path = match rest.split_first() {
        None => true,
        Some((b'/', path)) => {
            let mut scan = PathScan::START;
            path.iter().all(|&b| scan.next(b)) && scan.complete()
        }
        Some(_) => false,
    };
    (host.complete() && reads_as_registry && path).then_some(registry_len)
}

/// Every rule of a registry path, each failure with its own error.
fn check_registry_path_fully(text: &str) -> Result<&str, ReferenceError> {
    if text.is_empty() {
        return Err(ReferenceError::Empty);
    }
    // One scan finds everything the errors below depend on.
    let (mut at, mut upper, mut slash, mut colon_in_path) = (false, false, None, false);
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'@' => at = true,
            b'A'..=b'Z' => upper = true,
            b'/' if slash.is_none() => slash = Some(i),
            b':' if slash.is_some() => colon_in_path = true,
            _ => {}
        }
    }
    if at {
        return Err(ReferenceError::DigestNotAllowed);
    }
    if upper {
        return Err(ReferenceError::Uppercase);
    }
    let (registry, path) = match slash {
        Some(slash) => (&text[..slash], Some(&text[slash + 1..])),
        None => (text, None),
    };
    let port = registry.bytes().rposition(|b| b == b':').map(|colon| &registry[colon + 1..]);
    let tagged = port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit()) && !p.ends_with(']'));
    if tagged || colon_in_path {
        return Err(ReferenceError::TagNotAllowed);
    }
    check_registry(registry)?;
    if !reads_as_registry(registry) {
        return Err(ReferenceError::NotARegistry);
    }
    path.map_or(Ok(()), check_path)?;
    Ok(registry)
}

/// Whether `name` equals `path` or lies below it, on whole segments:
/// `docker.io/library/nginx` is under `docker.io/library`, not under `docker.io/lib`.
pub fn is_under(name: &str, path: &str) -> bool {
    name.strip_prefix(path).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The image of a Docker Hub official name (`nginx` for
/// `docker.io/library/nginx`), which is also written `docker.io/nginx`: a
/// Docker Hub target of one segment that a whole repository maps onto names
/// that image, not a namespace.
pub fn official_short(name: &str) -> Option<&str> {
    let image = name.strip_prefix(DOCKER_HUB)?.strip_prefix('/')?.strip_prefix(OFFICIAL)?;
    (!image.contains('/')).then_some(image)
}

/// `name` itself, then each shorter prefix ending on a segment boundary:
/// the candidates a longest-prefix lookup tries, longest first.
pub fn segment_prefixes(name: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(name);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.rfind('/').map(|cut| &current[..cut]);
        Some(current)
    })
}

/// Splits `name[:tag]`: the tag follows the last `:` after the last `/`.
fn split_tag(text: &str) -> (&str, Option<&str>) {
    let last_segment = text.rfind('/').map_or(0, |slash| slash + 1);
    match text[last_segment..].rfind(':') {
        Some(colon) => {
            let colon = last_segment + colon;
            (&text[..colon], Some(&text[colon + 1..]))
        }
        None => (text, None),
    }
}

/// Splits off the registry, by Docker's rule; an empty registry means Docker Hub.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if reads_as_registry(first) || has_upper(first) => (first, rest),
        _ => ("", name),
    }
}

/// The whole string only: `<hex>:tag` and `library/<hex>` are names.
fn is_image_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn reads_as_registry(first: &str) -> bool {
    first.bytes().any(|b| b == b'.' || b == b':') || first == "localhost"
}

fn has_upper(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_uppercase())
}

fn normalise<'a>(registry: &str, path: &str, written: &'a str) -> Cow<'a, str> {
    let hub = registry.is_empty() || registry == DOCKER_HUB || registry == DOCKER_HUB_LEGACY;
    match (hub, path.contains('/')) {
        (false, _) => Cow::Borrowed(written),
        (true, false) => Cow::Owned(format!("{DOCKER_HUB}/{OFFICIAL}{path}")),
        (true, true) if registry == DOCKER_HUB => Cow::Borrowed(written),
        (true, true) => Cow::Owned(format!("{DOCKER_HUB}/{path}")),
    }
}

/// `host[:port]`, or nothing (Docker Hub implied).
fn check_registry(registry: &str) -> Result<(), ReferenceError> {
    let bytes = registry.as_bytes();
    let port = match bytes.split_first() {
        None => return Ok(()),
        Some((b'[', v6)) => {
            let close = v6.iter().position(|&b| b == b']').ok_or(ReferenceError::Registry)?;
            let (address, after) = (&v6[..close], &v6[close + 1..]);
            if address.is_empty() || !address.iter().all(|b| b.is_ascii_hexdigit() || *b == b':') {
                return Err(ReferenceError::Registry);
            }
            match after.split_first() {
                None => return Ok(()),
                Some((b':', port)) => port,
                Some(_) => return Err(ReferenceError::Registry),
            }
        }
        Some(_) => {
            let colon = bytes.iter().position(|&b| b == b':');
            if !is_host(&bytes[..colon.unwrap_or(bytes.len())]) {
                return Err(ReferenceError::Registry);
            }
            match colon {
                None => return Ok(()),
                Some(colon) => &bytes[colon + 1..],
            }
        }
    };
    if port.is_empty() || !port.iter().all(u8::is_ascii_digit) {
        return Err(ReferenceError::Port);
    }
    Ok(())
}

/// Dot-separated components of `[A-Za-z0-9]`, each starting and ending with
/// one, with `-` allowed inside.
fn is_host(host: &[u8]) -> bool {
    let mut scan = HostScan::START;
    host.iter().all(|&b| scan.next(b)) && scan.complete()
}

/// [`is_host`] a byte at a time, so one loop can check a host among other things.
struct HostScan {
    previous: u8,
}

impl HostScan {
    const START: Self = Self { previous: b'.' };

    fn next(&mut self, b: u8) -> bool {
        let ok = match b {
            b'.' => self.previous.is_ascii_alphanumeric(),
            b'-' => self.previous != b'.',
            _ => b.is_ascii_alphanumeric(),
        };
        self.previous = b;
        ok
    }

    fn complete(&self) -> bool {
        self.previous.is_ascii_alphanumeric()
    }
}

/// Components of lower-case alphanumeric runs joined by `.`, `_`, `__` or any
/// run of `-`, themselves joined by `/`; checked in one scan.
fn check_path(path: &str) -> Result<(), ReferenceError> {
    let mut scan = PathScan::START;
    match path.bytes().position(|b| !scan.next(b)) {
        // An upper-case letter anywhere says more than the first bad byte.
        Some(bad) if has_upper(&path[bad..]) => Err(ReferenceError::Uppercase),
        Some(_) => Err(ReferenceError::Path),
        None if scan.complete() => Ok(()),
        None => Err(ReferenceError::Path),
    }
}

/// [`check_path`] a byte at a time.
struct PathScan {
    previous: u8,
    underscores: u8,
}

impl PathScan {
    const START: Self = Self { previous: b'/', underscores: 0 };

    fn next(&mut self, b: u8) -> bool {
        let previous = self.previous;
        let ok = match b {
            b'/' | b'.' => path_alnum(previous),
            b'_' => path_alnum(previous) || (previous == b'_' && self.underscores == 1),
            b'-' => path_alnum(previous) || previous == b'-',
            _ => path_alnum(b),
        };
        // At most 3: a third `_` in a row is refused, and the scan stops there.
        self.underscores = if b == b'_' { self.underscores + 1 } else { 0 };
        self.previous = b;
        ok
    }

    fn complete(&self) -> bool {
        path_alnum(self.previous)
    }
}

fn path_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let bytes = tag.as_bytes();
    if !bytes.first().is_some_and(word) || !bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-')) {
        return Err(ReferenceError::Tag);
    }
    if tag.len() > TAG_MAX {
        return Err(ReferenceError::TagTooLong);
    }
    Ok(())
}

/// `algorithm:hex`, where the algorithm is one the runtimes verify and the hex
/// has that algorithm's exact length, in lower case.
fn check_digest(digest: &str) -> Result<&str, ReferenceError> {
    let (algorithm, hex) = digest.split_once(':').ok_or(ReferenceError::Digest)?;
    let well_formed = hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && !algorithm.is_empty()
        && algorithm.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'_' | b'-'));
    if !well_formed {
        return Err(ReferenceError::Digest);
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ReferenceError::DigestAlgorithm),
    };
    if hex.len() != expected || hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Digest);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{check_registry_path_fully, plain_registry_len};

    /// `None`: the full check decides (and says why, for an error).
    #[test]
    fn the_one_scan_takes_the_usual_shapes_and_leaves_the_rest() {
        #[rustfmt::skip]
        let cases = [
            ("docker.io",                          Some("docker.io")),
            ("harbor.edge.local/dockerhub",        Some("harbor.edge.local")),
            ("10.10.254.254:8000/spectro-images",  Some("10.10.254.254:8000")),
            ("localhost:5000",                     Some("localhost:5000")),
            ("localhost/a__b/c-d.e",               Some("localhost")),
            ("registry-12.example.com",            Some("registry-12.example.com")),
            ("mirror:5000",                        Some("mirror:5000")),
            ("mirror",                             None), // not a registry
            ("localhos/x",                         None),
            ("Harbor.local",                       None), // upper case
            ("harbor.local/Team",                  None),
            ("harbor.local:",                      None), // empty port
            ("harbor.local:80x",                   None),
            ("harbor.local/x:1",                   None), // a tag
            ("harbor.local/x@sha256:00",           None),
            ("[::1]:5000/x",                       None), // IPv6: the full check
            ("harbor.local/",                      None),
            ("harbor.local//x",                    None),
            ("harbor.local/x___y",                 None),
            ("-harbor.local",                      None),
            ("harbor-.local",                      None),
            ("harbor..local",                      None),
            ("/x",                                 None),
            ("",                                   None),
        ];
        for (text, registry) in cases {
            assert_eq!(plain_registry_len(text).map(|len| &text[..len]), registry, "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// What the one scan accepts, the full check accepts, with the same registry.
        #[test]
        fn the_one_scan_accepts_nothing_the_full_check_refuses(
            text in "[a-bA:/._@\\-0-9\\[\\]]{0,16}|[a-cA]{1,3}(\\.[a-cA-]{1,3}){0,2}(:[0-9a]{0,3})?(/[a-cA_.:@-]{0,4}){0,3}",
        ) {
            if let Some(len) = plain_registry_len(&text) {
                prop_assert_eq!(check_registry_path_fully(&text), Ok(&text[..len]));
            }
        }
    }
}
