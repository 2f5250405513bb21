//! An OCI image layout on disk, the bundle carried into an air-gapped site:
//! `oci-layout`, `index.json` naming each image by its source reference, and
//! `blobs/sha256/`, where manifests and layers are stored once each.
//!
//! Each `index.json` entry carries the source reference twice, as
//! `org.opencontainers.image.ref.name` (what `skopeo … oci:DIR:REF` looks up)
//! and `io.containerd.image.name` (what `ctr import` names the image), so the
//! bundle is read by those tools too. A blob is written under a temporary
//! name, checked against its digest, then renamed: a bundle interrupted while
//! written holds no blob whose bytes are not its digest, and `index.json`
//! names an image only once all it names is there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_client::Reference;
use oci_client::errors::OciDistributionError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::{BlobStream, Manifest, media_type};

/// The annotation skopeo and the OCI spec read as an entry's name.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation `ctr import` reads as the image's name.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub struct Layout {
    dir: PathBuf,
    index: Mutex<Index>,
    /// Makes each temporary blob name unique among concurrent writes.
    written: AtomicU64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    media_type: String,
    digest: String,
    size: usize,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

impl Entry {
    fn name(&self) -> Option<&str> {
        self.annotations.get(REF_NAME).map(String::as_str)
    }
}

fn io(error: std::io::Error) -> OciDistributionError {
    OciDistributionError::IoError(error)
}

impl Layout {
    /// The layout at `dir`, made if absent (`seed --to`); one written before is added to.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("blobs/sha256"))?;
        if !dir.join("oci-layout").exists() {
            std::fs::write(dir.join("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}")?;
        }
        let index = match std::fs::read(dir.join("index.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index {
                schema_version: 2,
                media_type: Some(oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned()),
                manifests: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        Ok(Self { dir: dir.to_owned(), index: Mutex::new(index), written: AtomicU64::new(0) })
    }

    /// The layout at `dir`, which must be one (`seed --from`).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        if !dir.join("oci-layout").is_file() {
            let missing = format!("{}: not an OCI image layout (no oci-layout file)", dir.display());
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, missing));
        }
        Self::create(dir)
    }

    /// The source references the layout holds, as `index.json` names them.
    pub fn names(&self) -> Vec<String> {
        self.lock().manifests.iter().filter_map(Entry::name).map(str::to_owned).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf, OciDistributionError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| OciDistributionError::GenericError(Some(format!("not a sha256 digest: {digest}"))))?;
        Ok(self.dir.join("blobs/sha256").join(hex))
    }

    /// The manifest digest `reference` names here: its digest, or the entry of its name.
    pub fn digest(&self, reference: &Reference) -> Result<Option<String>, OciDistributionError> {
        match reference.digest() {
            Some(digest) => Ok(self.has_blob(digest)?.then(|| digest.to_owned())),
            None => {
                let name = reference.whole();
                Ok(self.lock().manifests.iter().find(|entry| entry.name() == Some(&name)).map(|e| e.digest.clone()))
            }
        }
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool, OciDistributionError> {
        Ok(self.blob_path(digest)?.is_file())
    }

    pub fn manifest(&self, reference: &Reference) -> Result<Manifest, OciDistributionError> {
        let digest = self
            .digest(reference)?
            .ok_or_else(|| OciDistributionError::ImageManifestNotFoundError(format!("{} in the bundle", reference)))?;
        let bytes = Bytes::from(std::fs::read(self.blob_path(&digest)?).map_err(io)?);
        let named = self.lock().manifests.iter().find(|entry| entry.digest == digest).map(|e| e.media_type.clone());
        let media_type = match named {
            Some(media_type) => media_type,
            None => media_type(&bytes)?,
        };
        Ok(Manifest { bytes, media_type, digest })
    }

    pub async fn pull_blob(&self, digest: &str) -> Result<BlobStream, OciDistributionError> {
        let file = tokio::fs::File::open(self.blob_path(digest)?).await.map_err(io)?;
        Ok(Box::pin(tokio_util::io::ReaderStream::new(file)))
    }

    /// Stores `stream` as `digest`, refused if its bytes are not that digest.
    pub async fn push_blob(&self, stream: BlobStream, digest: &str) -> Result<(), OciDistributionError> {
        let path = self.blob_path(digest)?;
        let n = self.written.fetch_add(1, Ordering::Relaxed);
        let partial = path.with_extension(format!("partial-{}-{n}", std::process::id()));
        let mut file = std::fs::File::create(&partial).map_err(io)?;
        let mut hash = Sha256::new();
        let mut stream = stream;
        while let Some(chunk) = stream.try_next().await.map_err(io)? {
            hash.update(&chunk);
            file.write_all(&chunk).map_err(io)?;
        }
        let actual = format!("sha256:{:x}", hash.finalize());
        if actual != digest {
            let _ = std::fs::remove_file(&partial);
            let mismatch = format!("its bytes are {}, not the digest it is named by", super::short(&actual));
            return Err(OciDistributionError::GenericError(Some(mismatch)));
        }
        file.sync_all().map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)
    }

    /// Stores `manifest`; `named`, as the image `reference` names, in `index.json`.
    pub async fn push_manifest(
        &self,
        reference: &Reference,
        manifest: &Manifest,
        named: bool,
    ) -> Result<(), OciDistributionError> {
        let bytes = manifest.bytes.clone();
        let stream: BlobStream = Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
        self.push_blob(stream, &manifest.digest).await?;
        if named {
            self.name(reference.whole(), manifest)?;
        }
        Ok(())
    }

    /// Adds (or moves) the entry named `name`, and writes `index.json` anew.
    fn name(&self, name: String, manifest: &Manifest) -> Result<(), OciDistributionError> {
        let mut index = self.lock();
        index.manifests.retain(|entry| entry.name() != Some(&name));
        let annotations = [(REF_NAME.to_owned(), name.clone()), (CONTAINERD_NAME.to_owned(), name)].into();
        index.manifests.push(Entry {
            media_type: manifest.media_type.clone(),
            digest: manifest.digest.clone(),
            size: manifest.bytes.len(),
            annotations,
        });
        let text = serde_json::to_vec_pretty(&*index)?;
        let partial = self.dir.join("index.json.partial");
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(partial, self.dir.join("index.json")).map_err(io)
    }
}
