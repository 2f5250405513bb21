//! The one place that talks to registries (oci-client): manifests with their
//! exact bytes and media type, blobs streamed through and verified, mounts,
//! and what "absent" looks like in a registry's answer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::auth::AuthFiles;

/// Every manifest kind a copy carries, as `Accept` lists them.
const MANIFESTS: [&str; 4] =
    [OCI_IMAGE_INDEX_MEDIA_TYPE, IMAGE_MANIFEST_LIST_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE];

/// How registries are reached.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries spoken to in plain HTTP (`host[:port]`).
    pub plain_http: Vec<String>,
    /// A PEM file of CA certificates trusted besides the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// The credentials kept for registries and their paths.
    pub credentials: AuthFiles,
}

/// A manifest as the registry stores it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: String,
}

impl Manifest {
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_IMAGE_INDEX_MEDIA_TYPE || self.media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE
    }
}

/// A blob's bytes on their way, checked against their digest as they pass.
pub type BlobStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// A registry client for one run; `Clone` shares its connections and tokens.
#[derive(Clone)]
pub struct Registries {
    client: Client,
    /// Holds no credential, so it never asks `/v2/` before a request: what
    /// the repositories that want none are spoken to with (see [`Login`]).
    open: Client,
    credentials: Arc<AuthFiles>,
    authorized: Arc<Mutex<Logins>>,
}

/// The repositories logged in to, as `(registry, repository, to push)`.
type Logins = HashMap<(String, String, bool), Login>;

struct Login {
    /// Where the credential was found.
    origin: String,
    /// Anonymous, and the registry gave no token: oci-client, holding a
    /// credential but no token for a registry, asks `/v2/` again before
    /// each request, which costs a registry as much as the request itself.
    open: bool,
}

impl Registries {
    pub fn new(options: &Options) -> Result<Self> {
        let extra_root_certificates = match &options.ca_file {
            Some(path) => vec![certificate(path)?],
            None => Vec::new(),
        };
        let protocol = match options.plain_http.is_empty() {
            true => ClientProtocol::Https,
            false => ClientProtocol::HttpsExcept(options.plain_http.clone()),
        };
        // Pushes go as one PUT per blob: a stream of known size needs no
        // chunking, and docker-registry answers each PATCH with a round trip.
        let client = || {
            let (protocol, extra_root_certificates) = (protocol.clone(), extra_root_certificates.clone());
            let config =
                ClientConfig { protocol, extra_root_certificates, use_monolithic_push: true, ..Default::default() };
            Client::try_from(config).context("cannot set up the registry client")
        };
        Ok(Self {
            client: client()?,
            open: client()?,
            credentials: Arc::new(options.credentials.clone()),
            authorized: Arc::default(),
        })
    }

    /// Logs in to `reference`'s repository with its own credential, to pull
    /// and, with `push`, to push: every later call there uses it.
    ///
    /// oci-client keeps one credential per registry but its tokens per
    /// repository, so logging in to each repository first is what lets two
    /// projects of one Harbor use two robot accounts.
    pub async fn authorize(&self, reference: &Reference, push: bool) -> Result<(), OciDistributionError> {
        let key = (reference.resolve_registry().to_owned(), reference.repository().to_owned(), push);
        if self.authorized().contains_key(&key) {
            return Ok(());
        }
        let (auth, origin) = self
            .credentials
            .credential(&key.0, &key.1)
            .map_err(|e| OciDistributionError::GenericError(Some(format!("{e:#}"))))?;
        // `/v2/` answers alike for every repository and operation: where it
        // asked nothing of no credential once, it asks nothing again.
        let anonymous = auth == RegistryAuth::Anonymous;
        let known_open = self.authorized().iter().any(|((at, ..), login)| *at == key.0 && login.open);
        let open = if anonymous && known_open { true } else { self.log_in(reference, &auth, push).await? };
        self.authorized().insert(key, Login { origin, open });
        Ok(())
    }

    /// Asks for the tokens `auth` gets at `reference`'s repository; whether
    /// it is anonymous and the registry gave none (an open registry, or one
    /// whose every request will be refused).
    async fn log_in(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        push: bool,
    ) -> Result<bool, OciDistributionError> {
        let token = self.client.auth(reference, auth, RegistryOperation::Pull).await?;
        let open = *auth == RegistryAuth::Anonymous && token.is_none();
        if push && !open {
            self.client.auth(reference, auth, RegistryOperation::Push).await?;
        }
        Ok(open)
    }

    /// Where the credential sent to `reference`'s repository came from, once logged in there.
    pub fn login(&self, reference: &Reference) -> Option<String> {
        self.logged_in(reference, |login| login.origin.clone())
    }

    /// What `read` takes from the login to `reference`'s repository, to push or else to pull.
    fn logged_in<T>(&self, reference: &Reference, read: impl Fn(&Login) -> T) -> Option<T> {
        let (registry, repository) = (reference.resolve_registry(), reference.repository());
        let authorized = self.authorized();
        [true, false]
            .iter()
            .find_map(|push| authorized.get(&(registry.to_owned(), repository.to_owned(), *push)).map(&read))
    }

    /// The client for requests that take no credential of their own (blobs,
    /// manifest pushes) to `reference`'s repository.
    fn client(&self, reference: &Reference) -> &Client {
        match self.logged_in(reference, |login| login.open) {
            Some(true) => &self.open,
            _ => &self.client,
        }
    }

    fn authorized(&self) -> std::sync::MutexGuard<'_, Logins> {
        self.authorized.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The manifest at `reference`, its bytes untouched.
    ///
    /// oci-client's raw pull does not return the `Content-Type`, so the media
    /// type is the manifest's own `mediaType`; a manifest may omit it only
    /// in the OCI formats (Docker's schema 2 and manifest list require it),
    /// and then its members tell an index (`manifests`) from an image.
    pub async fn manifest(&self, reference: &Reference) -> Result<Manifest, OciDistributionError> {
        let (bytes, digest) = self.client.pull_manifest_raw(reference, &RegistryAuth::Anonymous, &MANIFESTS).await?;
        let media_type = media_type(&bytes)?;
        Ok(Manifest { bytes, media_type, digest })
    }

    /// The digest `reference` resolves to, or `None` when the registry has no such manifest.
    pub async fn digest(&self, reference: &Reference) -> Result<Option<String>, OciDistributionError> {
        // A GET, not oci-client's HEAD: a HEAD without a digest in its
        // answer, as for an absent manifest, is followed by a GET anyway.
        match self.client.pull_manifest_raw(reference, &RegistryAuth::Anonymous, &MANIFESTS).await {
            Ok((_, digest)) => Ok(Some(digest)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn push_manifest(&self, reference: &Reference, manifest: &Manifest) -> Result<(), OciDistributionError> {
        let content_type = manifest
            .media_type
            .parse()
            .map_err(|_| OciDistributionError::UnsupportedMediaTypeError(manifest.media_type.clone()))?;
        self.client(reference).push_manifest_raw(reference, manifest.bytes.clone(), content_type).await.map(drop)
    }

    pub async fn has_blob(&self, repository: &Reference, digest: &str) -> Result<bool, OciDistributionError> {
        self.client(repository).blob_exists(repository, digest).await
    }

    /// Links `digest` from `from` into `repository`, both on one registry;
    /// `false` when the registry declined and an upload is needed.
    ///
    /// oci-client takes only 201 as success. A 202 is the registry declining
    /// (common where tokens are scoped to one repository, as at Harbor): it
    /// opened an upload session instead, which is left to expire, and the
    /// blob is uploaded as any other.
    pub async fn mount(
        &self,
        repository: &Reference,
        from: &Reference,
        digest: &str,
    ) -> Result<bool, OciDistributionError> {
        match self.client(repository).mount_blob(repository, from, digest).await {
            Ok(()) => Ok(true),
            Err(OciDistributionError::SpecViolationError(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The blob's bytes from `repository`, verified against `digest` as they
    /// stream (the stream fails at its end on a mismatch).
    pub async fn pull_blob(
        &self,
        repository: &Reference,
        digest: &str,
        size: i64,
    ) -> Result<BlobStream, OciDistributionError> {
        let descriptor = oci_client::manifest::OciDescriptor { digest: digest.to_owned(), size, ..Default::default() };
        let sized = self.client(repository).pull_blob_stream(repository, &descriptor).await?;
        Ok(Box::pin(sized.stream))
    }

    /// Uploads `stream` as `digest`; the registry checks the digest of what it
    /// received before it stores the blob.
    pub async fn push_blob(
        &self,
        repository: &Reference,
        stream: BlobStream,
        digest: &str,
        size: u64,
    ) -> Result<(), OciDistributionError> {
        let stream = stream.map_err(OciDistributionError::IoError);
        self.client(repository).push_blob_stream(repository, stream, digest, Some(size)).await.map(drop)
    }
}

/// Whether `error` is a registry refusing the credential sent, or the lack of one.
pub fn refused(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.iter().any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied))
        }
        OciDistributionError::ServerError { code, .. } => matches!(code, 401 | 403),
        _ => false,
    }
}

/// Whether `error` is a registry saying it has no such manifest or repository.
pub fn absent(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(e.code, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound)
        }),
        OciDistributionError::ServerError { code: 404, .. } | OciDistributionError::ImageManifestNotFoundError(_) => {
            true
        }
        _ => false,
    }
}

/// The media type of a manifest's bytes (see [`Registries::manifest`]).
pub(super) fn media_type(bytes: &[u8]) -> Result<String, OciDistributionError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let shape: Shape = serde_json::from_slice(bytes)?;
    Ok(match (shape.media_type, shape.manifests) {
        (Some(media_type), _) => media_type,
        (None, Some(_)) => OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned(),
        (None, None) => OCI_IMAGE_MEDIA_TYPE.to_owned(),
    })
}

fn certificate(path: &Path) -> Result<Certificate> {
    let data = std::fs::read(path).with_context(|| format!("--ca-file {}", path.display()))?;
    Ok(Certificate { encoding: CertificateEncoding::Pem, data })
}
