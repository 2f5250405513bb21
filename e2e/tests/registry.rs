//! Against a real registry (Debian's docker-registry on 127.0.0.1, filled
//! with skopeo): the mirror checks of the policy, answered by the host
//! through oci-client as policy-server answers them, and the policy itself
//! pushed, pulled back and run as an OCI artifact.
//!
//! Needs `docker-registry` and `skopeo` on PATH (`make registry-tools`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_redirect_e2e::demo::{fixtures, policy_wasm, read_json};
use image_redirect_e2e::oci::{Oci, fetch_policy};
use image_redirect_e2e::{Outcome, Policy};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A registry process with its own storage, stopped and removed on drop.
struct TestRegistry {
    process: Child,
    dir: PathBuf,
    host: String,
}

impl TestRegistry {
    fn start(name: &str) -> Self {
        for tool in ["docker-registry", "skopeo"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(
                found,
                "{tool} is not installed: run `make registry-tools` (Debian packages docker-registry and skopeo)"
            );
        }
        let dir = std::env::temp_dir().join(format!("image-redirect-registry-{}-{name}", std::process::id()));
        std::fs::create_dir_all(dir.join("storage")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\nlog:\n  level: error\n",
            dir.join("storage").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let process = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let started = Instant::now();
        while TcpStream::connect(&host).is_err() {
            assert!(started.elapsed() < Duration::from_secs(15), "the registry did not listen on {host}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { process, dir, host }
    }

    /// Copies a minimal image (one empty layer) to `repository:tag` with
    /// skopeo, from an OCI layout built here; returns the manifest digest the
    /// registry reports for it (skopeo re-serialises the manifest on the way).
    fn push_image(&self, repository: &str, tag: &str) -> String {
        let layout = self.dir.join(format!("layout-{}", repository.replace('/', "_")));
        let blob = |bytes: &[u8]| -> (String, usize) {
            let hex = format!("{:x}", Sha256::digest(bytes));
            std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
            std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
            (format!("sha256:{hex}"), bytes.len())
        };
        let layer = vec![0u8; 1024]; // an empty tar archive
        let (layer_digest, layer_size) = blob(&layer);
        let config = json!({"architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}});
        let (config_digest, config_size) = blob(config.to_string().as_bytes());
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]});
        let (manifest_digest, manifest_size) = blob(manifest.to_string().as_bytes());
        let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": tag}}]});
        std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
        std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let status = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repository}:{tag}", self.host))
            .stdout(Stdio::null())
            .status()
            .expect("skopeo runs");
        assert!(status.success(), "skopeo copy to {}/{repository}:{tag}", self.host);
        let inspect = Command::new("skopeo")
            .args(["--insecure-policy", "inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{}/{repository}:{tag}", self.host))
            .output()
            .expect("skopeo runs");
        assert!(inspect.status.success(), "skopeo inspect {}/{repository}:{tag}", self.host);
        String::from_utf8(inspect.stdout).unwrap().trim().to_owned()
    }

    fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The policy, with OCI lookups answered by the registry.
fn policy() -> Policy {
    Policy::load(&policy_wasm()).unwrap().with_registry(Arc::new(Oci::plain_http().unwrap()))
}

fn pod(image: &str) -> Value {
    let mut review = read_json(&fixtures().join("requests/pod-palette-prefix.json")).unwrap();
    review["request"]["object"]["spec"]["containers"][0]["image"] = json!(image);
    review
}

fn prefix(registry: &TestRegistry, checks: Value) -> Value {
    let mut prefix = json!({"target": format!("{}/mirror", registry.host)});
    prefix.as_object_mut().unwrap().extend(checks.as_object().unwrap().clone());
    json!({"prefix": prefix, "annotateOriginals": false})
}

fn image_patch(image: &str) -> Value {
    json!([{"op": "replace", "path": "/spec/containers/0/image", "value": image}])
}

#[test]
fn mirror_checks_against_a_real_registry() {
    let mut registry = TestRegistry::start("mirror");
    let host = registry.host.clone();
    let digest = registry.push_image("mirror/quay.io/kairos/core", "v1");
    let policy = policy();
    let verify = prefix(&registry, json!({"verify": true}));

    // Present: redirected.
    let present = policy.evaluate(&verify, &pod("quay.io/kairos/core:v1")).unwrap();
    assert_eq!(present.patch_json(), image_patch(&format!("{host}/mirror/quay.io/kairos/core:v1")));

    // Missing: kept, with the registry's answer as the cause.
    assert_kept(&policy.evaluate(&verify, &pod("quay.io/kairos/core:v2")).unwrap().outcome, &host, "v2");

    // Missing under onMissing: reject: the request is refused, naming the image.
    let reject = prefix(&registry, json!({"verify": true, "onMissing": "reject"}));
    let refused = policy.evaluate(&reject, &pod("quay.io/kairos/core:v2")).unwrap();
    let Outcome::Rejected { message, .. } = &refused.outcome else { panic!("{:?}", refused.outcome) };
    assert!(message.starts_with(&format!("image quay.io/kairos/core:v2 would be redirected to {host}/mirror/quay.io/kairos/core:v2, which is not available: ")), "{message}");

    // Pinning: the digest the registry reports, the tag kept.
    let pinned =
        policy.evaluate(&prefix(&registry, json!({"pinDigest": true})), &pod("quay.io/kairos/core:v1")).unwrap();
    assert_eq!(pinned.patch_json(), image_patch(&format!("{host}/mirror/quay.io/kairos/core:v1@{digest}")));

    // Registry down: counts as missing, the cause names the failed lookup.
    registry.stop();
    assert_kept(&policy.evaluate(&verify, &pod("quay.io/kairos/core:v1")).unwrap().outcome, &host, "v1");
}

/// Accepted unchanged, with one warning naming the failed lookup; what follows
/// is the transport's own wording.
fn assert_kept(outcome: &Outcome, host: &str, tag: &str) {
    let Outcome::Accepted { patch: None, warnings } = outcome else { panic!("{outcome:?}") };
    let image = format!("{host}/mirror/quay.io/kairos/core:{tag}");
    let expected = format!(
        "image left unchanged: quay.io/kairos/core:{tag}: {image} is not available: \
         error invoking host capability oci.manifest_digest: Host error: cannot resolve {image}: "
    );
    assert!(warnings.len() == 1 && warnings[0].starts_with(&expected), "{warnings:?}");
}

#[test]
fn the_policy_travels_as_an_oci_artifact() {
    let registry = TestRegistry::start("artifact");
    let wasm = std::fs::read(policy_wasm()).unwrap();
    let oci = Oci::plain_http().unwrap();
    let tag = format!("{}/policies/image-redirect:v{}", registry.host, env!("CARGO_PKG_VERSION"));
    let digest = oci.push_policy(&wasm, &tag).unwrap();
    let by_digest = format!("{}/policies/image-redirect@{digest}", registry.host);

    assert_eq!(oci.pull_policy(&tag).unwrap(), wasm, "pulled by tag");
    assert_eq!(fetch_policy(&format!("registry://{by_digest}")).unwrap(), wasm, "pulled by digest");

    let pulled = Policy::from_bytes(&fetch_policy(&format!("registry://{tag}")).unwrap()).unwrap();
    let settings = read_json(&fixtures().join("settings/prefix-all.json")).unwrap();
    let evaluation =
        pulled.evaluate(&settings, &read_json(&fixtures().join("requests/pod-palette-prefix.json")).unwrap()).unwrap();
    assert_eq!(
        evaluation.patch_json()[1],
        json!({"op": "replace", "path": "/spec/containers/0/image",
        "value": "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"})
    );
}
