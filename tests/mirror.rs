//! Mirror health: `verify`, `onMissing` and `pinDigest`, with the registry
//! answered from a table (the waPC build asks policy-server instead).

mod common;

use std::cell::RefCell;

use common::{SHA256, pod_request, review_with};
use image_redirect_policy::mirror::Mirror;
use serde_json::{Value, json};

const MIRROR_DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A registry that has exactly the images listed, and records what it was asked.
struct Table {
    present: Vec<&'static str>,
    asked: RefCell<Vec<String>>,
}

impl Table {
    fn with(present: Vec<&'static str>) -> Self {
        Self { present, asked: RefCell::new(Vec::new()) }
    }
}

impl Mirror for Table {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.asked.borrow_mut().push(image.to_owned());
        match self.present.contains(&image) {
            true => Ok(MIRROR_DIGEST.to_owned()),
            false => Err(format!("manifest unknown: {image}")),
        }
    }
}

fn settings(check: Value) -> Value {
    let mut mapping = json!({"source": "docker.io", "target": "harbor.local/hub"});
    mapping.as_object_mut().unwrap().extend(check.as_object().unwrap().clone());
    json!({"annotateOriginals": false, "mappings": [mapping]})
}

fn run(check: Value, images: &[&str], registry: &Table) -> common::Review {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    let request = pod_request("CREATE", json!({"metadata": {"name": "p"}, "spec": {"containers": containers}}));
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings(check)})).unwrap();
    review_with(&payload, request.get("object"), registry)
}

fn image_ops(review: &common::Review) -> Vec<(String, String)> {
    let ops = review.patch.as_array().unwrap();
    ops.iter().map(|op| (op["path"].as_str().unwrap().to_owned(), op["value"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn present_images_are_redirected() {
    let registry = Table::with(vec!["harbor.local/hub/library/nginx:1.27"]);
    let r = run(json!({"verify": true}), &["nginx:1.27"], &registry);
    assert_eq!(image_ops(&r), [("/spec/containers/0/image".into(), "harbor.local/hub/library/nginx:1.27".into())]);
    assert_eq!(*registry.asked.borrow(), ["harbor.local/hub/library/nginx:1.27"]);
}

#[test]
fn missing_images_are_kept_with_the_cause() {
    let registry = Table::with(vec![]);
    let r = run(json!({"verify": true}), &["nginx:1.27"], &registry);
    assert!(r.accepted && r.mutated.is_none());
    assert_eq!(
        r.warnings,
        [
            "image left unchanged: nginx:1.27: harbor.local/hub/library/nginx:1.27 is not available: manifest unknown: harbor.local/hub/library/nginx:1.27"
        ]
    );
}

#[test]
fn missing_images_reject_when_asked_to() {
    let registry = Table::with(vec![]);
    let r = run(json!({"verify": true, "onMissing": "reject"}), &["nginx:1.27"], &registry);
    assert_eq!(
        (r.accepted, r.message.as_deref()),
        (
            false,
            Some(
                "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, which is not available: manifest unknown: harbor.local/hub/library/nginx:1.27"
            )
        )
    );
}

#[test]
fn digests_are_pinned_keeping_the_tag() {
    let registry = Table::with(vec!["harbor.local/hub/library/nginx:1.27"]);
    let r = run(json!({"pinDigest": true}), &["nginx:1.27"], &registry);
    assert_eq!(
        image_ops(&r),
        [("/spec/containers/0/image".into(), format!("harbor.local/hub/library/nginx:1.27@{MIRROR_DIGEST}"))]
    );
}

#[test]
fn an_image_with_a_digest_is_never_pinned_again() {
    let pinned = format!("nginx@{SHA256}");
    let registry = Table::with(vec![]);
    let r = run(json!({"pinDigest": true}), &[&pinned], &registry);
    assert_eq!(
        image_ops(&r),
        [("/spec/containers/0/image".into(), format!("harbor.local/hub/library/nginx@{SHA256}"))]
    );
    assert!(registry.asked.borrow().is_empty(), "no lookup for pinning");

    // Verification asks for exactly that digest.
    let verified = Table::with(vec![]);
    run(json!({"verify": true, "pinDigest": true}), &[&pinned], &verified);
    assert_eq!(*verified.asked.borrow(), [format!("harbor.local/hub/library/nginx@{SHA256}")]);
}

#[test]
fn without_verify_or_pin_nothing_is_asked() {
    let registry = Table::with(vec![]);
    let r = run(json!({}), &["nginx", "redis"], &registry);
    assert_eq!(image_ops(&r).len(), 2);
    assert!(registry.asked.borrow().is_empty());
}

#[test]
fn one_lookup_per_image_per_request() {
    let registry = Table::with(vec!["harbor.local/hub/library/nginx"]);
    let r = run(json!({"verify": true}), &["nginx", "nginx", "docker.io/library/nginx"], &registry);
    assert_eq!(image_ops(&r).len(), 3);
    assert_eq!(registry.asked.borrow().len(), 1);
}

#[test]
fn an_unreachable_registry_counts_as_missing() {
    struct Down;
    impl Mirror for Down {
        fn manifest_digest(&self, _: &str) -> Result<String, String> {
            Err("connection refused".to_owned())
        }
    }
    let request = pod_request("CREATE", json!({"spec": {"containers": [{"name": "a", "image": "nginx"}]}}));
    let payload =
        serde_json::to_vec(&json!({"request": request, "settings": settings(json!({"verify": true}))})).unwrap();
    let r = review_with(&payload, request.get("object"), &Down);
    assert_eq!(
        r.warnings,
        ["image left unchanged: nginx: harbor.local/hub/library/nginx is not available: connection refused"]
    );
}

#[test]
fn with_mapping_and_prefix_the_prefix_checks_decide() {
    let settings = json!({"annotateOriginals": false,
        "mappings": [{"source": "docker.io", "target": "harbor.local/hub", "verify": true, "onMissing": "reject"}],
        "prefix": {"target": "edge.local/mirror"}});
    let request = pod_request("CREATE", json!({"spec": {"containers": [{"name": "a", "image": "nginx"}]}}));
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let registry = Table::with(vec![]);
    let r = review_with(&payload, request.get("object"), &registry);
    assert_eq!(
        image_ops(&r),
        [("/spec/containers/0/image".into(), "edge.local/mirror/harbor.local/hub/library/nginx".into())]
    );
    assert!(registry.asked.borrow().is_empty());
}
