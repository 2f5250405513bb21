//! The two ends of a copy: a registry, or a bundle on disk (`--to`, `--from`).
//! The copier asks the same questions of both, so the order that keeps a
//! destination whole (blobs, then children, then the named manifest) is
//! written once.

use oci_client::Reference;
use oci_client::errors::OciDistributionError;

use super::client::{BlobStream, Manifest, Registries};
use super::layout::Layout;

type Result<T> = std::result::Result<T, OciDistributionError>;

/// Where images are read.
pub(super) trait Source {
    async fn authorize(&self, reference: &Reference) -> Result<()>;
    async fn manifest(&self, reference: &Reference) -> Result<Manifest>;
    async fn pull_blob(&self, repository: &Reference, digest: &str, size: i64) -> Result<BlobStream>;
    /// Where the credential sent for `reference` came from, for a refusal's message.
    fn login(&self, reference: &Reference) -> Option<String>;
}

/// Where images are written.
pub(super) trait Destination {
    async fn authorize(&self, reference: &Reference) -> Result<()>;
    async fn digest(&self, reference: &Reference) -> Result<Option<String>>;
    async fn has_blob(&self, repository: &Reference, digest: &str) -> Result<bool>;
    /// `false` when the blob must be sent instead.
    async fn mount(&self, repository: &Reference, from: &Reference, digest: &str) -> Result<bool>;
    async fn push_blob(&self, repository: &Reference, stream: BlobStream, digest: &str, size: u64) -> Result<()>;
    /// `named`: one of the run's images, not a child of one.
    async fn push_manifest(&self, reference: &Reference, manifest: &Manifest, named: bool) -> Result<()>;
    fn login(&self, reference: &Reference) -> Option<String>;
}

impl Source for Registries {
    async fn authorize(&self, reference: &Reference) -> Result<()> {
        Registries::authorize(self, reference, false).await
    }

    async fn manifest(&self, reference: &Reference) -> Result<Manifest> {
        Registries::manifest(self, reference).await
    }

    async fn pull_blob(&self, repository: &Reference, digest: &str, size: i64) -> Result<BlobStream> {
        Registries::pull_blob(self, repository, digest, size).await
    }

    fn login(&self, reference: &Reference) -> Option<String> {
        Registries::login(self, reference)
    }
}

impl Destination for Registries {
    async fn authorize(&self, reference: &Reference) -> Result<()> {
        Registries::authorize(self, reference, true).await
    }

    async fn digest(&self, reference: &Reference) -> Result<Option<String>> {
        Registries::digest(self, reference).await
    }

    async fn has_blob(&self, repository: &Reference, digest: &str) -> Result<bool> {
        Registries::has_blob(self, repository, digest).await
    }

    async fn mount(&self, repository: &Reference, from: &Reference, digest: &str) -> Result<bool> {
        Registries::mount(self, repository, from, digest).await
    }

    async fn push_blob(&self, repository: &Reference, stream: BlobStream, digest: &str, size: u64) -> Result<()> {
        Registries::push_blob(self, repository, stream, digest, size).await
    }

    async fn push_manifest(&self, reference: &Reference, manifest: &Manifest, _named: bool) -> Result<()> {
        Registries::push_manifest(self, reference, manifest).await
    }

    fn login(&self, reference: &Reference) -> Option<String> {
        Registries::login(self, reference)
    }
}

impl Source for Layout {
    async fn authorize(&self, _: &Reference) -> Result<()> {
        Ok(())
    }

    async fn manifest(&self, reference: &Reference) -> Result<Manifest> {
        Layout::manifest(self, reference)
    }

    async fn pull_blob(&self, _: &Reference, digest: &str, _: i64) -> Result<BlobStream> {
        Layout::pull_blob(self, digest).await
    }

    fn login(&self, _: &Reference) -> Option<String> {
        None
    }
}

impl Destination for Layout {
    async fn authorize(&self, _: &Reference) -> Result<()> {
        Ok(())
    }

    async fn digest(&self, reference: &Reference) -> Result<Option<String>> {
        Layout::digest(self, reference)
    }

    async fn has_blob(&self, _: &Reference, digest: &str) -> Result<bool> {
        Layout::has_blob(self, digest)
    }

    /// A layout stores each blob once for all its images: nothing to mount.
    async fn mount(&self, _: &Reference, _: &Reference, _: &str) -> Result<bool> {
        Ok(false)
    }

    async fn push_blob(&self, _: &Reference, stream: BlobStream, digest: &str, _: u64) -> Result<()> {
        Layout::push_blob(self, stream, digest).await
    }

    async fn push_manifest(&self, reference: &Reference, manifest: &Manifest, named: bool) -> Result<()> {
        Layout::push_manifest(self, reference, manifest, named).await
    }

    fn login(&self, _: &Reference) -> Option<String> {
        None
    }
}
