//! `seed` and the policy agree: for every image `seed`'s plan copies, the
//! built policy.wasm on the embedded host redirects it to exactly the plan's
//! destination, once the mirror holds it (one rule set, proven).

use std::sync::Arc;

use image_redirect_cli::manifests;
use image_redirect_cli::plan::Plan;
use image_redirect_e2e::demo::policy_wasm;
use image_redirect_e2e::{Outcome, Policy, Registry};
use serde_json::{Value, json};

/// What a filled mirror answers for every image.
const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

struct Filled;

impl Registry for Filled {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Ok(DIGEST.to_owned())
    }
}

const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: init, image: busybox}]
      containers:
      - {name: web, image: \"nginx:1.27\"}
      - {name: metrics, image: \"quay.io/prometheus/node-exporter:v1.8.2\"}
      - {name: pinned, image: \"registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a\"}
      - {name: pg, image: \"ghcr.io/cloudnative-pg/postgresql:16.4\"}
      - {name: palette, image: \"us-docker.pkg.dev/palette-images/edge/agent:v4\"}
";

/// The Palette modes, and each kind of registry check.
const SETTINGS: [&str; 5] = [
    "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}, {source: quay.io, target: harbor.edge.local/quay, verify: true}]",
    "prefix: {target: harbor.edge.local/mirror, pinDigest: mirror}",
    "{mappings: [{source: us-docker.pkg.dev/palette-images, target: example.registry.com/palette-images}], prefix: {target: harbor.edge.local/spectro, verify: true, onMissing: reject}}",
    "mappings: [{source: ghcr.io, target: harbor.edge.local/ghcr, pinDigest: source}, {source: registry.k8s.io, target: harbor.edge.local/k8s, verify: true}]",
    "{prefix: {target: harbor.edge.local/mirror}, exclude: {images: [\"docker.io/library/busybox*\"]}}",
];

fn pod(image: &str) -> Value {
    json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default", "operation": "CREATE",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "app", "image": image}]}}})
}

/// The image the policy writes for `image`, or what it did instead.
fn written(policy: &Policy, settings: &Value, image: &str) -> String {
    match policy.evaluate(settings, &pod(image)).unwrap().outcome {
        Outcome::Accepted { patch: Some(patch), .. } => {
            let ops = serde_json::to_value(patch).unwrap();
            let image = ops.as_array().unwrap().iter().find(|op| op["path"] == "/spec/containers/0/image");
            image.and_then(|op| op["value"].as_str()).unwrap_or("no image in the patch").to_owned()
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn the_policy_redirects_every_planned_image_to_its_planned_destination() {
    let policy = Policy::load(&policy_wasm()).unwrap().with_registry(Arc::new(Filled));
    let mut checked = 0;
    for settings in SETTINGS {
        let value: Value = serde_norway::from_str(settings).unwrap();
        let mut plan = Plan::default();
        plan.add_manifest(MANIFEST, &manifests::settings(settings).unwrap(), "default").unwrap();
        for (source, destination) in plan.copies() {
            let written = written(&policy, &value, source);
            // A pin is the digest the mirror answers, added to the tag the plan copies.
            let unpinned = written.strip_suffix(&format!("@{DIGEST}")).unwrap_or(&written);
            assert_eq!(unpinned, destination, "{source} under {settings}");
            checked += 1;
        }
    }
    assert_eq!(checked, 22, "3 + 6 + 6 + 2 + 5 images the modes move");
}
