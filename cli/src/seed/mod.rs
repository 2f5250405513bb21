//! Carrying out a plan: each image copied registry to registry with its exact
//! bytes, so its digest at the mirror is the digest at the source.
//!
//! `client` talks to registries, this module decides the order (blobs before
//! the manifest that names them, children before their index, nothing tagged
//! before all it names is there), `progress` reports. A copy never leaves a
//! tag pointing at an incomplete image: a manifest is pushed last, and the
//! registry refuses one whose blobs or children are missing.

pub mod auth;
pub mod client;
mod ends;
mod harbor;
pub mod layout;
pub mod lock;
pub mod platform;
pub mod progress;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use oci_client::Reference;
use oci_client::errors::OciDistributionError;
use serde::Deserialize;

use client::{Manifest, Registries};
use ends::{Destination, Source};
use layout::Layout;
use platform::Platform;
use progress::{Blob, Event, Report};

/// One image to copy: normalised references, as the plan has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub source: String,
    pub destination: String,
}

/// What became of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pushed now.
    Copied(Digests),
    /// The destination's tag (or digest) already held this digest: nothing sent.
    AlreadyThere(Digests),
    /// Why it could not be copied, in one line.
    Failed(String),
}

/// The digest of an image's manifest at its destination: the source's, but
/// for an index narrowed by `--platform`, which also records the source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub digest: String,
    pub narrowed_from: Option<String>,
}

impl std::fmt::Display for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.narrowed_from {
            None => write!(f, "{}", self.digest),
            Some(source) => write!(f, "{}, some platforms of {source}", self.digest),
        }
    }
}

impl Outcome {
    pub fn digests(&self) -> Option<&Digests> {
        match self {
            Self::Copied(digests) | Self::AlreadyThere(digests) => Some(digests),
            Self::Failed(_) => None,
        }
    }
}

/// How a run goes: images at a time, and the platforms of an index it copies (all when empty).
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub jobs: usize,
    pub platforms: Vec<Platform>,
}

/// Copies every image registry to registry, at most `jobs` at a time;
/// outcomes in the order of `copies`.
pub async fn seed(registries: &Registries, copies: &[Copy], run: &Run, report: Arc<dyn Report>) -> Vec<Outcome> {
    copy(registries, registries, copies, run, report).await
}

/// Copies every image from its registry into `layout`, named by its
/// destination (the source reference, for a bundle: see `layout`).
pub async fn bundle(
    registries: &Registries,
    layout: &Layout,
    copies: &[Copy],
    run: &Run,
    report: Arc<dyn Report>,
) -> Vec<Outcome> {
    copy(registries, layout, copies, run, report).await
}

/// Copies every image from `layout`, where it is named by its source, to its destination.
pub async fn unbundle(
    layout: &Layout,
    registries: &Registries,
    copies: &[Copy],
    run: &Run,
    report: Arc<dyn Report>,
) -> Vec<Outcome> {
    copy(layout, registries, copies, run, report).await
}

async fn copy(
    from: &impl Source,
    to: &impl Destination,
    copies: &[Copy],
    run: &Run,
    report: Arc<dyn Report>,
) -> Vec<Outcome> {
    let copier = Copier { from, to, report, blobs: Blobs::default(), platforms: &run.platforms };
    let copier = &copier;
    // Unordered, so that a large image at the head does not hold back the
    // start of the next ones; put back in order at the end.
    let outcomes = futures_util::stream::iter(copies.iter().enumerate())
        .map(|(at, copy)| async move { (at, copier.image(copy).await) })
        .buffer_unordered(run.jobs.max(1));
    let mut outcomes: Vec<(usize, Outcome)> = outcomes.collect().await;
    outcomes.sort_unstable_by_key(|(at, _)| *at);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// The blobs (or child manifests) of one manifest copied at once, per image.
const AT_ONCE: usize = 4;

/// The descriptors a manifest names: an image's config and layers, an index's manifests.
#[derive(Deserialize)]
struct Names {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    size: i64,
}

impl Descriptor {
    /// Windows base layers that registries may not redistribute: their
    /// bytes are fetched from elsewhere (`urls`), never from the registry.
    fn is_foreign(&self) -> bool {
        self.media_type.contains("foreign") || self.media_type.contains("nondistributable")
    }
}

/// Where each blob sent in this run went, per destination registry, and a
/// lock per blob so two images sharing a layer send it once: the second
/// waits, then mounts it from the first one's repository.
#[derive(Default)]
struct Blobs(Mutex<HashMap<(String, String), Slot>>);

/// The repository a blob was sent to, once it is there; held while it is sent.
type Slot = Arc<tokio::sync::Mutex<Option<Reference>>>;

impl Blobs {
    fn slot(&self, registry: &str, digest: &str) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry((registry.to_owned(), digest.to_owned())).or_default().clone()
    }
}

struct Copier<'e, S, D> {
    from: &'e S,
    to: &'e D,
    /// Shared with the blob streams, which report bytes as they pass.
    report: Arc<dyn Report>,
    blobs: Blobs,
    platforms: &'e [Platform],
}

/// A failed step: what was being done, and the registry's error.
struct Failure(String, OciDistributionError);

impl<S: Source, D: Destination> Copier<'_, S, D> {
    async fn image(&self, copy: &Copy) -> Outcome {
        self.report.report(Event::Started { copy: copy.clone() });
        let outcome = match self.try_image(copy).await {
            Ok(outcome) => outcome,
            Err(Failure(doing, error)) if client::refused(&error) && harbor::advice(&cause(&error)).is_none() => {
                Outcome::Failed(format!("{} ({})", message(&doing, &error), self.logins(copy)))
            }
            Err(Failure(doing, error)) => Outcome::Failed(message(&doing, &error)),
        };
        self.report.report(Event::Finished { copy: copy.clone(), outcome: outcome.clone() });
        outcome
    }

    /// What was sent to each side of `copy`, for a refusal's message.
    fn logins(&self, copy: &Copy) -> String {
        let reference = |text: &str| reference(text).ok();
        let source =
            reference(&copy.source).and_then(|r| self.from.login(&r)).unwrap_or_else(|| "not logged in".into());
        let destination =
            reference(&copy.destination).and_then(|r| self.to.login(&r)).unwrap_or_else(|| "not logged in".into());
        format!("source: {source}; destination: {destination}")
    }

    async fn try_image(&self, copy: &Copy) -> Result<Outcome, Failure> {
        let (source, destination) = (reference(&copy.source)?, reference(&copy.destination)?);
        let logging_in = |reference: &Reference| format!("logging in to {}", reference.registry());
        self.from.authorize(&source).await.map_err(|e| Failure(logging_in(&source), e))?;
        self.to.authorize(&destination).await.map_err(|e| Failure(logging_in(&destination), e))?;
        // A tag and a digest: the bytes of the digest, pushed under the tag.
        let read = match source.digest() {
            Some(digest) => at(&source, digest),
            None => source.clone(),
        };
        let read = self.from.manifest(&read).await.map_err(|e| Failure("reading it at the source".into(), e))?;
        // A reference by digest names every platform: only a tag may be narrowed.
        let (top, narrowed_from) = match (self.platforms, read.is_index() && source.digest().is_none()) {
            ([], _) | (_, false) => (read, None),
            (platforms, true) => {
                let narrowed = platform::narrow(&read, platforms).map_err(|why| {
                    Failure("choosing platforms".into(), OciDistributionError::GenericError(Some(why)))
                })?;
                (narrowed, Some(read.digest))
            }
        };
        let digests = Digests { digest: top.digest.clone(), narrowed_from };
        let target = match destination.tag() {
            Some(tag) => {
                Reference::with_tag(destination.registry().to_owned(), destination.repository().to_owned(), tag.into())
            }
            None => at(&destination, &top.digest),
        };
        let there = self.to.digest(&target).await.map_err(|e| Failure("asking the destination".into(), e))?;
        if there.as_deref() == Some(top.digest.as_str()) {
            return Ok(Outcome::AlreadyThere(digests));
        }
        self.contents(copy, &source, &destination, &top).await?;
        self.to
            .push_manifest(&target, &top, true)
            .await
            .map_err(|e| Failure(format!("pushing its manifest {}", short(&top.digest)), e))?;
        self.report.report(Event::Manifest { copy: copy.clone(), digest: top.digest.clone() });
        Ok(Outcome::Copied(digests))
    }

    /// Everything `manifest` names, at the destination: child manifests by
    /// digest (each after its own contents), blobs streamed or mounted.
    async fn contents(
        &self,
        copy: &Copy,
        source: &Reference,
        destination: &Reference,
        manifest: &Manifest,
    ) -> Result<(), Failure> {
        let names: Names = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| Failure(format!("reading manifest {}", short(&manifest.digest)), e.into()))?;
        // Side by side, as skopeo copies layers: an image's own layers go on
        // while a base layer it shares waits for another image's upload.
        let children = names.manifests.iter().map(|child| Box::pin(self.child(copy, source, destination, child)));
        futures_util::stream::iter(children).buffer_unordered(AT_ONCE).try_collect::<()>().await?;
        let blobs = names.config.iter().chain(&names.layers).filter(|blob| !blob.is_foreign());
        let blobs = blobs.map(|blob| self.blob(copy, source, destination, blob));
        futures_util::stream::iter(blobs).buffer_unordered(AT_ONCE).try_collect().await
    }

    async fn child(
        &self,
        copy: &Copy,
        source: &Reference,
        destination: &Reference,
        child: &Descriptor,
    ) -> Result<(), Failure> {
        let doing = || format!("copying manifest {}", short(&child.digest));
        let target = at(destination, &child.digest);
        if self.to.digest(&target).await.map_err(|e| Failure(doing(), e))?.is_some() {
            return Ok(());
        }
        let manifest = self.from.manifest(&at(source, &child.digest)).await.map_err(|e| Failure(doing(), e))?;
        self.contents(copy, source, destination, &manifest).await?;
        self.to.push_manifest(&target, &manifest, false).await.map_err(|e| Failure(doing(), e))?;
        self.report.report(Event::Manifest { copy: copy.clone(), digest: child.digest.clone() });
        Ok(())
    }

    async fn blob(
        &self,
        copy: &Copy,
        source: &Reference,
        destination: &Reference,
        blob: &Descriptor,
    ) -> Result<(), Failure> {
        let doing = || format!("copying blob {}", short(&blob.digest));
        let slot = self.blobs.slot(destination.registry(), &blob.digest);
        let mut sent_to = slot.lock().await;
        let event = |how| Event::Blob { copy: copy.clone(), digest: blob.digest.clone(), size: blob.size, how };
        // A HEAD before any mount: mounting a blob the repository already
        // links writes its link again, and docker-registry's filesystem
        // store rewrites a link in place, so a manifest push checking it
        // meanwhile reads it empty ("provided digest did not match").
        if self.to.has_blob(destination, &blob.digest).await.map_err(|e| Failure(doing(), e))? {
            self.report.report(event(Blob::Present));
            return Ok(());
        }
        if let Some(from) = sent_to.as_ref().filter(|from| from.repository() != destination.repository())
            && self.to.mount(destination, from, &blob.digest).await.map_err(|e| Failure(doing(), e))?
        {
            self.report.report(event(Blob::Mounted));
            return Ok(());
        }
        let stream = self.from.pull_blob(source, &blob.digest, blob.size).await.map_err(|e| Failure(doing(), e))?;
        let (report, copied) = (self.report.clone(), copy.clone());
        let counted =
            stream.inspect_ok(move |bytes| report.report(Event::Bytes { copy: copied.clone(), bytes: bytes.len() }));
        let size = u64::try_from(blob.size).unwrap_or_default();
        self.to.push_blob(destination, Box::pin(counted), &blob.digest, size).await.map_err(|e| Failure(doing(), e))?;
        self.report.report(event(Blob::Sent));
        *sent_to = Some(destination.clone());
        Ok(())
    }
}

/// `repository` of `reference`'s registry at `digest`.
fn at(reference: &Reference, digest: &str) -> Reference {
    Reference::with_digest(reference.registry().to_owned(), reference.repository().to_owned(), digest.to_owned())
}

/// `text` as oci-client takes it, read by the engine's own parser: oci-client's
/// compiles a regular expression first, tens of milliseconds of CPU before
/// the first request of a run.
fn reference(text: &str) -> Result<Reference, Failure> {
    let parsed = image_redirect_policy::reference::Reference::parse(text).map_err(|e| {
        Failure(format!("reading the reference {text}"), OciDistributionError::GenericError(Some(e.to_string())))
    })?;
    let (registry, repository) = (parsed.registry().to_owned(), parsed.path().to_owned());
    Ok(match (parsed.tag(), parsed.digest()) {
        (Some(tag), Some(digest)) => Reference::with_tag_and_digest(registry, repository, tag.into(), digest.into()),
        (None, Some(digest)) => Reference::with_digest(registry, repository, digest.into()),
        (tag, None) => Reference::with_tag(registry, repository, tag.unwrap_or("latest").into()),
    })
}

/// A digest as `docker images` shows one.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// `doing: cause`, the cause in the registry's own words (as the policy's
/// warnings give them), and what to do where Harbor's words call for it.
fn message(doing: &str, error: &OciDistributionError) -> String {
    // Our own words (a credential, a platform, a bundle's blob), already one line.
    if let OciDistributionError::GenericError(Some(why)) = error {
        return format!("{doing}: {why}");
    }
    let cause = cause(error);
    match harbor::advice(&cause) {
        Some(advice) => format!("{doing}: {}: {advice}", cause.trim_end_matches('.')),
        None => format!("{doing}: {cause}"),
    }
}

fn cause(error: &OciDistributionError) -> String {
    // oci-client leaves the error envelope of some answers (a refused upload) as text.
    if let OciDistributionError::ServerError { message, .. } = error
        && let Ok(envelope) = serde_json::from_str::<oci_client::errors::OciEnvelope>(message)
        && !envelope.errors.is_empty()
    {
        let words: Vec<&str> = envelope.errors.iter().map(|e| e.message.as_str()).collect();
        return image_redirect_policy::mirror::cause(&words.join("; "));
    }
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(&format!("\nCaused by:\n    {cause}"));
        source = cause.source();
    }
    image_redirect_policy::mirror::cause(&shortened(&chain))
}

/// `text` with each sha256 digest cut as [`short`] cuts one, so that a cause
/// naming two digests still fits its line.
fn shortened(text: &str) -> String {
    let (mut out, mut rest) = (String::new(), text);
    while let Some(at) = rest.find("sha256:") {
        let (before, digest) = rest.split_at(at);
        let end = "sha256:".len() + digest["sha256:".len()..].bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(before);
        out.push_str(if end == 71 { short(digest) } else { &digest[..end] });
        rest = &digest[end..];
    }
    out + rest
}
