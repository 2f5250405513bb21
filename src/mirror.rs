//! Asking registries about a redirected image: does the destination serve
//! it, with which digest, and (for `pinDigest: source`) is that the digest
//! the source registry gives the original; and, when the redirect cannot be
//! written as asked, why, in one line.
//!
//! The policy itself never does I/O: it asks through [`Mirror`], which the
//! waPC layer answers with Kubewarden's `oci/v1/manifest_digest` host
//! capability (policy-server resolves and caches the digest) and tests answer
//! from a table.

use crate::reference::Reference;
use crate::response::{LINE_MAX, cut, one_line, shown, shown_at_most};
use crate::rules::{Destination, PinDigest};

/// Whatever can resolve an image to its manifest digest.
pub trait Mirror {
    /// The digest (`sha256:…`) of `image`, or why it could not be had.
    fn manifest_digest(&self, image: &str) -> Result<String, String>;
}

/// For builds with no host to ask: every lookup fails, so `verify` keeps
/// (or rejects) instead of redirecting blindly.
pub struct NoMirror;

impl Mirror for NoMirror {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Err("this build cannot query registries".to_owned())
    }
}

/// At most this many distinct images are checked per request, whatever the
/// lookups each takes (one for `verify` and `pinDigest: mirror`, two or three
/// for `pinDigest: source`). A first lookup is a registry round trip for
/// policy-server, and a Pod names a handful of images: a request naming
/// thousands must not fan out into thousands of calls. Past the limit an
/// image counts as not available, and `onMissing` decides.
pub const LOOKUPS_MAX: usize = 100;

/// Why a redirect cannot be written as its destination asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The destination does not serve the redirected image, or could not be
    /// asked: the host's error.
    Missing(String),
    /// The source registry could not resolve `source` (the original image,
    /// normalised) to the digest `pinDigest: source` pins: the host's error.
    Unresolved { source: String, error: String },
    /// The destination lacks the source's digest and its tag holds another:
    /// not a digest-preserving copy (one platform of an index, a `docker
    /// push`), a stale cache, or other content.
    Mismatch { source: String, source_digest: String, mirror_digest: String },
}

impl Unavailable {
    /// Why the mirror cannot serve the redirect, in the few words a report
    /// entry or an audit annotation has.
    pub fn briefly(&self) -> &'static str {
        match self {
            Self::Missing(_) => "not at the mirror",
            Self::Unresolved { .. } => "the source cannot be resolved to a digest",
            Self::Mismatch { .. } => "the mirror holds other content under that tag",
        }
    }
}

/// Lookups made while deciding one request: an image shared by several
/// containers is checked once, and a reference asked for twice (the same tag
/// behind two images) is asked once.
pub struct Lookups<'m> {
    mirror: &'m dyn Mirror,
    answers: Vec<(String, Result<String, String>)>,
    /// The images checked so far, normalised: what [`LOOKUPS_MAX`] counts.
    images: Vec<String>,
}

impl<'m> Lookups<'m> {
    pub fn new(mirror: &'m dyn Mirror) -> Self {
        Self { mirror, answers: Vec::new(), images: Vec::new() }
    }

    /// What a redirect of `original` (as written) to `image` at `destination`
    /// should write instead of `image`: `None` for `image` itself, or the
    /// image pinned to a digest (checked to be a valid reference); `Err` with
    /// why it cannot be written.
    ///
    /// A lookup happens only when the destination asks for one. An image that
    /// already carries a digest is never pinned again: the destination is
    /// asked for exactly that digest (with `verify`, and always with
    /// `pinDigest: source`), the source never.
    pub fn resolve(
        &mut self,
        original: &str,
        image: &str,
        destination: &Destination,
    ) -> Result<Option<String>, Unavailable> {
        let has_digest = image.contains('@');
        let asks = match destination.pin_digest {
            PinDigest::Off => destination.verify,
            PinDigest::Mirror => destination.verify || !has_digest,
            PinDigest::Source => true,
        };
        if !asks {
            return Ok(None);
        }
        let source = Reference::parse(original).map_or_else(|_| original.to_owned(), |r| r.to_string());
        self.count(&source)?;
        match destination.pin_digest {
            PinDigest::Mirror if !has_digest => {
                let digest = self.digest(image).map_err(Unavailable::Missing)?;
                pinned(image, &digest).map(Some).map_err(Unavailable::Missing)
            }
            PinDigest::Source if !has_digest => self.pin_to_source(&source, image).map(Some),
            _ => self.digest(image).map(|_| None).map_err(Unavailable::Missing),
        }
    }

    /// `image` pinned to the digest the source gives `source`, if the
    /// destination serves that digest there.
    fn pin_to_source(&mut self, source: &str, image: &str) -> Result<String, Unavailable> {
        let unresolved = |error| Unavailable::Unresolved { source: source.to_owned(), error };
        let source_digest = self.digest(source).map_err(unresolved)?;
        let pinned = pinned(image, &source_digest).map_err(unresolved)?;
        match self.digest(&pinned) {
            Ok(_) => Ok(pinned),
            // Only to explain: what the destination's tag holds instead.
            Err(error) => Err(match self.digest(image) {
                Ok(mirror_digest) if mirror_digest != source_digest => {
                    Unavailable::Mismatch { source: source.to_owned(), source_digest, mirror_digest }
                }
                Ok(_) => Unavailable::Missing(error),
                Err(tag_error) => Unavailable::Missing(tag_error),
            }),
        }
    }

    /// Counts `image` (normalised) among the images checked, unless the
    /// request has named too many already.
    fn count(&mut self, image: &str) -> Result<(), Unavailable> {
        if self.images.iter().any(|checked| checked == image) {
            return Ok(());
        }
        if self.images.len() == LOOKUPS_MAX {
            let why = format!("not checked: the request names more than {LOOKUPS_MAX} images to look up");
            return Err(Unavailable::Missing(why));
        }
        self.images.push(image.to_owned());
        Ok(())
    }

    fn digest(&mut self, image: &str) -> Result<String, String> {
        if let Some((_, answer)) = self.answers.iter().find(|(asked, _)| asked == image) {
            return answer.clone();
        }
        let answer = self.mirror.manifest_digest(image);
        self.answers.push((image.to_owned(), answer.clone()));
        answer
    }
}

/// `image@digest`, if that is a valid reference.
fn pinned(image: &str, digest: &str) -> Result<String, String> {
    let pinned = format!("{image}@{digest}");
    match Reference::parse(&pinned) {
        Ok(_) => Ok(pinned),
        Err(_) => Err(format!("the registry answered an unusable digest ({digest})")),
    }
}

/// Longest cause kept in a message: the image and its redirect need the rest
/// of the line.
pub const CAUSE_MAX: usize = 80;
/// A redirect is shown with at least this many characters, even if the line
/// then needs cutting.
const IMAGE_IN_MESSAGE_MIN: usize = 40;
/// Hex characters of a digest shown in a message, as `docker images` shows them.
const DIGEST_HEX_SHOWN: usize = 12;

/// Wrappers hosts put around a failed lookup, outermost first: the SDK's, then
/// waPC's, then policy-evaluator's (what policy-server and kwctl run).
const WRAPPERS: [&str; 4] = [
    "error invoking host capability oci.manifest_digest: ",
    "Host error: ",
    "Callback evaluation failure: ",
    "Fail to interact with OCI registry: ",
];

/// Why a lookup failed, in the registry's words, on one line of at most
/// [`CAUSE_MAX`] characters.
///
/// A host hands the policy its whole error chain: policy-evaluator's reads
/// `…Fail to interact with OCI registry: Registry error: url …, envelope: OCI
/// API errors: [OCI API error: manifest unknown]`, then a `Caused by:` block
/// repeating it, then a backtrace when `RUST_BACKTRACE` is set. The API server
/// cuts a warning at 256 characters, so the user would read only wrappers:
/// what the registry said is kept (`manifest unknown`), or else the innermost
/// cause (`connection refused`), without wrappers, URLs or OS error numbers.
pub fn cause(error: &str) -> String {
    let error = error.split("\nStack backtrace:").next().unwrap_or(error);
    // Each envelope entry once (`Caused by:` repeats them), while they fit.
    let (mut said, mut length): (Vec<&str>, usize) = (Vec::new(), 0);
    for entry in error.split("OCI API error: ").skip(1) {
        let words = entry.split(['\n', ']']).next().unwrap_or(entry);
        if length > CAUSE_MAX {
            break;
        }
        if !said.contains(&words) {
            said.push(words);
            length += words.len() + 2;
        }
    }
    let words = if said.is_empty() { plain(innermost(error)) } else { said.join("; ") };
    cut(&one_line(&words), CAUSE_MAX)
}

/// The warning for an image kept because its redirect cannot be written as
/// its destination asks.
pub fn kept(image: &str, redirect: &str, why: &Unavailable) -> String {
    explained(false, image, redirect, why)
}

/// The rejection when an image's redirect cannot be written as its
/// destination asks and `onMissing` is `reject`.
pub fn refused(image: &str, redirect: &str, why: &Unavailable) -> String {
    explained(true, image, redirect, why)
}

/// `why` after the image (and, `refusing`, its redirect): a warning names
/// what is missing or differs, a rejection goes on from the redirect.
fn explained(refusing: bool, image: &str, redirect: &str, why: &Unavailable) -> String {
    let lead = |image: &str, redirect: &str| match refusing {
        true => format!("image {image} would be redirected to {redirect}, "),
        false => format!("image left unchanged: {image}: "),
    };
    let subject = |redirect: &str| if refusing { "which".to_owned() } else { redirect.to_owned() };
    match why {
        Unavailable::Missing(error) => {
            let cause = cause(error);
            fitted(image, [redirect], |image, [redirect]| {
                format!("{}{} is not available: {cause}", lead(image, redirect), subject(redirect))
            })
        }
        Unavailable::Unresolved { source, error } => {
            let (cause, but) = (cause(error), if refusing { "but " } else { "" });
            fitted(image, [redirect, source], |image, [redirect, source]| {
                format!("{}{but}{source} cannot be resolved to a digest: {cause}", lead(image, redirect))
            })
        }
        Unavailable::Mismatch { source, source_digest, mirror_digest } => {
            let (theirs, ours) = (short_digest(mirror_digest), short_digest(source_digest));
            fitted(image, [redirect, source], |image, [redirect, source]| {
                format!("{}{} is {theirs} but {source} is {ours}", lead(image, redirect), subject(redirect))
            })
        }
    }
}

/// A digest as `docker images` shows one: the algorithm and 12 hex characters.
fn short_digest(digest: &str) -> String {
    let algorithm = digest.find(':').map_or(0, |colon| colon + 1);
    cut(&one_line(digest), algorithm + DIGEST_HEX_SHOWN + 1)
}

/// `message` with the image and each of `references`, in at most
/// [`LINE_MAX`] characters: the references share what the rest of the line leaves.
fn fitted<const N: usize>(image: &str, references: [&str; N], message: impl Fn(&str, [&str; N]) -> String) -> String {
    let image = shown(image);
    // A cut reference comes with quotes and an ellipsis.
    let fixed = message(&image, [""; N]).chars().count() + 3 * N;
    let room = (LINE_MAX.saturating_sub(fixed) / N).max(IMAGE_IN_MESSAGE_MIN);
    let references = references.map(|reference| shown_at_most(reference, room));
    cut(&message(&image, references.each_ref().map(String::as_str)), LINE_MAX)
}

/// The last entry of an anyhow `Caused by:` block, or the first line.
fn innermost(error: &str) -> &str {
    let (head, causes) = error.split_once("\nCaused by:").unwrap_or((error, ""));
    let last = causes.lines().map(str::trim).rfind(|line| !line.is_empty());
    let last = last.map(|line| {
        line.split_once(": ").filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit())).map_or(line, |(_, rest)| rest)
    });
    last.unwrap_or_else(|| head.lines().next().unwrap_or(head))
}

/// `cause` without the hosts' wrappers, the URL it was about, or an OS error number.
fn plain(cause: &str) -> String {
    let cause = WRAPPERS.iter().fold(cause, |cause, wrapper| cause.strip_prefix(wrapper).unwrap_or(cause));
    let cause = cause.split(": url ").next().unwrap_or(cause);
    let cause = match cause.rfind(" (os error ") {
        Some(cut) if cause.ends_with(')') => &cause[..cut],
        _ => cause,
    };
    // `Connection refused` reads as `connection refused` mid-sentence; `HTTP…` stays.
    let mut chars = cause.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_ascii_uppercase() && second.is_ascii_lowercase() => {
            format!("{}{}", first.to_ascii_lowercase(), &cause[1..])
        }
        _ => cause.to_owned(),
    }
}
