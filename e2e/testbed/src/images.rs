//! More images for a test registry: a multi-platform image index (what a
//! Docker Hub tag usually is), and copies between registries as a mirror is
//! filled: the whole index (digest-preserving) or one platform of it.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Scratch, TestRegistry};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What a copy to a mirror takes of an image index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The index and every platform's image, byte for byte (`skopeo copy --all`).
    AllPlatforms,
    /// Only the linux/amd64 image, as `docker pull` + `push` on an amd64 host leaves it.
    Amd64Only,
}

impl TestRegistry {
    /// Pushes an image index to `repository:tag` with one image per
    /// `os/architecture` in `platforms`, each with a config naming the
    /// repository and the platform (so no two are alike); returns the index's
    /// digest as the registry serves it.
    pub fn push_index(&self, repository: &str, tag: &str, platforms: &[&str]) -> String {
        let scratch = Scratch::new(&format!("index-{}-{}", self.port(), repository.replace('/', "_")));
        let layout = scratch.path();
        let images: Vec<Value> =
            platforms.iter().map(|platform| platform_image(layout, repository, platform)).collect();
        let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": images});
        let (digest, size) = blob(layout, index.to_string().as_bytes());
        let top = json!({"schemaVersion": 2, "manifests": [{"mediaType": INDEX, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag}}]});
        std::fs::write(layout.join("index.json"), top.to_string()).unwrap();
        std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        skopeo_copy(
            &["--all"],
            &format!("oci:{}:{tag}", layout.display()),
            &format!("{}/{repository}:{tag}", self.host),
        );
        self.manifest_digest(&format!("{repository}:{tag}"))
    }

    /// Pushes a linux/amd64 image with `layers` (their bytes, uncompressed
    /// tar as far as a registry cares) to `repository:tag`, as an image with
    /// real weight: shared base layers, and the size a copy takes time over;
    /// returns its manifest digest as the registry serves it.
    pub fn push_layers(&self, repository: &str, tag: &str, layers: &[&[u8]]) -> String {
        let scratch = Scratch::new(&format!("layers-{}-{}", self.port(), repository.replace('/', "_")));
        let layout = scratch.path();
        let layers: Vec<(String, usize)> = layers.iter().map(|bytes| blob(layout, bytes)).collect();
        let diff_ids: Vec<&str> = layers.iter().map(|(digest, _)| digest.as_str()).collect();
        let config = json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {"repository": repository}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids}});
        let (config, config_size) = blob(layout, config.to_string().as_bytes());
        let descriptors: Vec<Value> = layers
            .iter()
            .map(|(digest, size)| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size}))
            .collect();
        let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
            "layers": descriptors});
        let (digest, size) = blob(layout, manifest.to_string().as_bytes());
        let top = json!({"schemaVersion": 2, "manifests": [{"mediaType": MANIFEST, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag}}]});
        std::fs::write(layout.join("index.json"), top.to_string()).unwrap();
        std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        skopeo_copy(&[], &format!("oci:{}:{tag}", layout.display()), &format!("{}/{repository}:{tag}", self.host));
        self.manifest_digest(&format!("{repository}:{tag}"))
    }

    /// Copies `source` (`host/repository:tag` on any test registry) to
    /// `repository:tag` here; returns the digest the copy has here.
    pub fn copy_image(&self, source: &str, repository: &str, tag: &str, copied: Copied) -> String {
        let scope: &[&str] = match copied {
            Copied::AllPlatforms => &["--all"],
            Copied::Amd64Only => &["--override-os", "linux", "--override-arch", "amd64"],
        };
        let to = format!("{}/{repository}:{tag}", self.host);
        skopeo_copy(scope, &format!("docker://{source}"), &to);
        self.manifest_digest(&format!("{repository}:{tag}"))
    }

    /// The manifest digest of `reference` (`repository:tag`) here: what the
    /// registry serves at the tag, an index included (`skopeo inspect --raw`).
    pub fn manifest_digest(&self, reference: &str) -> String {
        let raw = Command::new("skopeo")
            .args(["--insecure-policy", "inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/{reference}", self.host))
            .output()
            .expect("skopeo runs");
        assert!(raw.status.success(), "skopeo inspect --raw {}/{reference}", self.host);
        format!("sha256:{:x}", Sha256::digest(&raw.stdout))
    }

    fn port(&self) -> &str {
        self.host.rsplit(':').next().unwrap_or_default()
    }
}

/// One platform's image (an empty layer, a config naming the repository and
/// the platform) as blobs of `layout`; its descriptor for the index.
fn platform_image(layout: &Path, repository: &str, platform: &str) -> Value {
    let (os, architecture) = platform.split_once('/').expect("os/architecture");
    let (layer, layer_size) = blob(layout, &[0u8; 1024]); // an empty tar archive
    let config = json!({"architecture": architecture, "os": os, "config": {"Labels": {"repository": repository, "platform": platform}},
        "rootfs": {"type": "layers", "diff_ids": [layer]}});
    let (config, config_size) = blob(layout, config.to_string().as_bytes());
    let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]});
    let (digest, size) = blob(layout, manifest.to_string().as_bytes());
    json!({"mediaType": MANIFEST, "digest": digest, "size": size,
        "platform": {"os": os, "architecture": architecture}})
}

/// Writes `bytes` as a blob of the layout; its digest and size.
fn blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let hex = format!("{:x}", Sha256::digest(bytes));
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

/// `skopeo copy` from `from` (a transport reference) to the plain-HTTP
/// registry reference `to`.
fn skopeo_copy(options: &[&str], from: &str, to: &str) {
    let status = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .args(options)
        .arg(from)
        .arg(format!("docker://{to}"))
        .stdout(Stdio::null())
        .status()
        .expect("skopeo runs");
    assert!(status.success(), "skopeo copy {from} to {to}");
}
