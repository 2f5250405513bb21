//! Asking the destination registry about a redirected image: does it exist,
//! and what is its digest.
//!
//! The policy itself never does I/O: it asks through [`Mirror`], which the
//! waPC layer answers with Kubewarden's `oci/v1/manifest_digest` host
//! capability (policy-server resolves and caches the digest) and tests answer
//! from a table.

use crate::reference::Reference;
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
