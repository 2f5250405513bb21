//! Asking the destination registry about a redirected image: does it exist,
//! and what is its digest; and, when that cannot be had, why, in one line.
//!
//! The policy itself never does I/O: it asks through [`Mirror`], which the
//! waPC layer answers with Kubewarden's `oci/v1/manifest_digest` host
//! capability (policy-server resolves and caches the digest) and tests answer
//! from a table.

use crate::reference::Reference;
use crate::response::{LINE_MAX, cut, one_line, shown, shown_at_most};
use crate::rules::Destination;

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

/// At most this many distinct images are looked up per request. A first lookup
/// is a registry round trip for policy-server, and a Pod names a handful of
/// images: a request naming thousands must not fan out into thousands of
/// calls. Past the limit an image counts as not found, and `onMissing` decides.
pub const LOOKUPS_MAX: usize = 100;

/// Lookups made while deciding one request: an image shared by several
/// containers is asked about once.
pub struct Lookups<'m> {
    mirror: &'m dyn Mirror,
    answers: Vec<(String, Result<String, String>)>,
}

impl<'m> Lookups<'m> {
    pub fn new(mirror: &'m dyn Mirror) -> Self {
        Self { mirror, answers: Vec::new() }
    }

    /// What a redirect to `image` at `destination` should write instead of
    /// `image`: `None` for `image` itself, or the image pinned to its digest
    /// (checked to be a valid reference); `Err` with the cause when it is missing.
    ///
    /// A lookup happens only when the destination asks for one. An image that
    /// already carries a digest is never pinned again; verifying it asks for
    /// exactly that digest.
    pub fn resolve(&mut self, image: &str, destination: &Destination) -> Result<Option<String>, String> {
        let pinned = image.contains('@');
        if !destination.verify && (pinned || !destination.pin_digest) {
            return Ok(None);
        }
        let digest = self.digest(image)?;
        if !destination.pin_digest || pinned {
            return Ok(None);
        }
        let pinned = format!("{image}@{digest}");
        match Reference::parse(&pinned) {
            Ok(_) => Ok(Some(pinned)),
            Err(_) => Err(format!("the registry answered an unusable digest ({digest})")),
        }
    }

    fn digest(&mut self, image: &str) -> Result<String, String> {
        if let Some((_, answer)) = self.answers.iter().find(|(asked, _)| asked == image) {
            return answer.clone();
        }
        if self.answers.len() == LOOKUPS_MAX {
            return Err(format!("not checked: the request names more than {LOOKUPS_MAX} images to look up"));
        }
        let answer = self.mirror.manifest_digest(image);
        self.answers.push((image.to_owned(), answer.clone()));
        answer
    }
}

/// Longest cause kept in a message: the image and its redirect need the rest
/// of the line.
pub const CAUSE_MAX: usize = 80;
/// A redirect is shown with at least this many characters, even if the line
/// then needs cutting.
const IMAGE_IN_MESSAGE_MIN: usize = 40;

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

/// The warning for an image kept because its redirect is not available.
pub fn kept(image: &str, redirect: &str, error: &str) -> String {
    let cause = cause(error);
    fitted(image, redirect, |image, redirect| {
        format!("image left unchanged: {image}: {redirect} is not available: {cause}")
    })
}

/// The rejection when an image's redirect is not available and `onMissing` is `reject`.
pub fn refused(image: &str, redirect: &str, error: &str) -> String {
    let cause = cause(error);
    fitted(image, redirect, |image, redirect| {
        format!("image {image} would be redirected to {redirect}, which is not available: {cause}")
    })
}

/// `message` with both images, in at most [`LINE_MAX`] characters: the
/// redirect is cut to what the rest of the line leaves.
fn fitted(image: &str, redirect: &str, message: impl Fn(&str, &str) -> String) -> String {
    let image = shown(image);
    // A cut image comes with quotes and an ellipsis.
    let room = LINE_MAX.saturating_sub(message(&image, "").chars().count() + 3).max(IMAGE_IN_MESSAGE_MIN);
    cut(&message(&image, &shown_at_most(redirect, room)), LINE_MAX)
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
