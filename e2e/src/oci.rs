//! A real OCI registry through `oci-client`, as policy-server reaches one:
//! manifest digests for the policy's mirror checks, and the policy itself
//! pushed and pulled as a Kubewarden OCI artifact.

use anyhow::{Context, Result, bail};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::runtime::Runtime;

use crate::host::Registry;

/// The media types Kubewarden gives a policy artifact.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v1+json";
pub const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";

/// A registry client. Registries on the loopback interface are spoken to in
/// plain HTTP (a local test registry has no certificate); all others in HTTPS.
pub struct Oci {
    client: Client,
    runtime: Runtime,
}

impl Oci {
    pub fn new() -> Result<Self> {
        let config = ClientConfig { protocol: ClientProtocol::Https, ..ClientConfig::default() };
        Self::with(config)
    }

    /// Plain HTTP to every registry: for a test registry on 127.0.0.1.
    pub fn plain_http() -> Result<Self> {
        Self::with(ClientConfig { protocol: ClientProtocol::Http, ..ClientConfig::default() })
    }

    /// The client for `reference`: plain HTTP for loopback registries.
    pub fn for_reference(reference: &str) -> Result<Self> {
        let host = reference.split('/').next().unwrap_or_default();
        match host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]") {
            true => Self::plain_http(),
            false => Self::new(),
        }
    }

    fn with(config: ClientConfig) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
        Ok(Self { client: Client::new(config), runtime })
    }

    /// Pushes `wasm` as a policy artifact; returns the manifest's digest.
    pub fn push_policy(&self, wasm: &[u8], reference: &str) -> Result<String> {
        let target = parse(reference)?;
        let layer = ImageLayer::new(wasm.to_vec(), WASM_LAYER.to_owned(), None);
        let config = Config::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec(), WASM_CONFIG.to_owned(), None);
        self.runtime
            .block_on(self.client.push(&target, &[layer], config, &RegistryAuth::Anonymous, None))
            .with_context(|| format!("cannot push {reference}"))?;
        self.digest(reference)
    }

    /// Pulls the policy artifact at `reference` (a tag or a digest); returns the wasm bytes.
    pub fn pull_policy(&self, reference: &str) -> Result<Vec<u8>> {
        let source = parse(reference)?;
        let image = self
            .runtime
            .block_on(self.client.pull(&source, &RegistryAuth::Anonymous, vec![WASM_LAYER]))
            .with_context(|| format!("cannot pull {reference}"))?;
        match image.layers.as_slice() {
            [layer] => Ok(layer.data.to_vec()),
            layers => bail!("{reference} has {} wasm layers, a policy has one", layers.len()),
        }
    }

    /// The manifest digest of `reference`, as the registry reports it.
    pub fn digest(&self, reference: &str) -> Result<String> {
        let image = parse(reference)?;
        self.runtime
            .block_on(self.client.fetch_manifest_digest(&image, &RegistryAuth::Anonymous))
            .with_context(|| format!("cannot resolve {reference}"))
    }
}

impl Registry for Oci {
    /// Fails as policy-evaluator (under policy-server and kwctl) fails: its
    /// wrapper around oci-client's error, then anyhow's `Caused by:` chain.
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        let reference: Reference = image.parse().map_err(|e| format!("{e}"))?;
        let lookup = self.client.fetch_manifest_digest(&reference, &RegistryAuth::Anonymous);
        self.runtime.block_on(lookup).map_err(|e| as_policy_evaluator_says(&e))
    }
}

fn as_policy_evaluator_says(error: &dyn std::error::Error) -> String {
    let chain: Vec<String> = std::iter::successors(Some(error), |e| e.source()).map(|e| e.to_string()).collect();
    let causes: Vec<String> = match chain.as_slice() {
        [only] => vec![format!("    {only}")],
        many => many.iter().enumerate().map(|(i, cause)| format!("    {i}: {cause}")).collect(),
    };
    format!(
        "Callback evaluation failure: Fail to interact with OCI registry: {error}\n\nCaused by:\n{}",
        causes.join("\n")
    )
}

/// The bytes of a policy: a file path, or `registry://HOST/REPO:TAG` (or `@sha256:…`).
pub fn fetch_policy(location: &str) -> Result<Vec<u8>> {
    match location.strip_prefix("registry://") {
        Some(reference) => Oci::for_reference(reference)?.pull_policy(reference),
        None => std::fs::read(location).with_context(|| format!("cannot read the policy at {location}")),
    }
}

fn parse(reference: &str) -> Result<Reference> {
    reference.parse().with_context(|| format!("{reference:?} is not an image reference"))
}
