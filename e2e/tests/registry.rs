//! Against a real registry (Debian's docker-registry on 127.0.0.1, filled
//! with skopeo): the mirror checks of the policy, answered by the host
//! through oci-client as policy-server answers them, and the policy itself
//! pushed, pulled back and run as an OCI artifact.
//!
//! Needs `docker-registry` and `skopeo` on PATH (`make registry-tools`).

use std::sync::Arc;

use image_redirect_e2e::demo::{fixtures, policy_wasm, read_json};
use image_redirect_e2e::oci::{Oci, fetch_policy};
use image_redirect_e2e::{Outcome, Policy};
use image_redirect_testbed::TestRegistry;
use serde_json::{Value, json};

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
    let missing = policy.evaluate(&verify, &pod("quay.io/kairos/core:v2")).unwrap();
    assert_kept(&missing.outcome, &host, "v2", "manifest unknown");

    // Missing under onMissing: reject: the request is refused, naming the image.
    let reject = prefix(&registry, json!({"verify": true, "onMissing": "reject"}));
    let refused = policy.evaluate(&reject, &pod("quay.io/kairos/core:v2")).unwrap();
    let Outcome::Rejected { message, .. } = &refused.outcome else { panic!("{:?}", refused.outcome) };
    assert_eq!(
        message,
        &format!(
            "image quay.io/kairos/core:v2 would be redirected to {host}/mirror/quay.io/kairos/core:v2, \
             which is not available: manifest unknown"
        )
    );

    // Pinning: the digest the registry reports, the tag kept.
    let pinned =
        policy.evaluate(&prefix(&registry, json!({"pinDigest": true})), &pod("quay.io/kairos/core:v1")).unwrap();
    assert_eq!(pinned.patch_json(), image_patch(&format!("{host}/mirror/quay.io/kairos/core:v1@{digest}")));

    // Registry down: counts as missing, the cause is the innermost error.
    registry.stop();
    let down = policy.evaluate(&verify, &pod("quay.io/kairos/core:v1")).unwrap();
    assert_kept(&down.outcome, &host, "v1", "connection refused");
}

/// Accepted unchanged, with one warning naming the image, its redirect and
/// the cause, out of the host's whole error chain.
fn assert_kept(outcome: &Outcome, host: &str, tag: &str, cause: &str) {
    let Outcome::Accepted { patch: None, warnings } = outcome else { panic!("{outcome:?}") };
    let image = format!("{host}/mirror/quay.io/kairos/core:{tag}");
    let expected = format!("image left unchanged: quay.io/kairos/core:{tag}: {image} is not available: {cause}");
    assert_eq!(warnings, &[expected]);
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
