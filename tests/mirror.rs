//! Mirror health: `verify`, `onMissing` and `pinDigest`, with the registry
//! answered from a table (the waPC build asks policy-server instead).

mod common;

use std::cell::RefCell;

use common::{SHA256, pod_request, review_with};
use image_redirect_policy::mirror::{self, Mirror};
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
            false => Err(manifest_unknown(image)),
        }
    }
}

/// What the policy reads when policy-server (policy-evaluator, through the
/// SDK and waPC) finds no manifest: the whole chain, on several lines.
fn manifest_unknown(image: &str) -> String {
    let (repository, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let (registry, path) = repository.split_once('/').unwrap();
    let url = format!("http://{registry}/v2/{path}/manifests/{tag}");
    let registry_error =
        format!("Registry error: url {url}, envelope: OCI API errors: [OCI API error: manifest unknown]");
    format!("{HOST_CALL}{EVALUATOR}{registry_error}\n\nCaused by:\n    {registry_error}")
}

/// The SDK's and waPC's wrappers around a failed host call…
const HOST_CALL: &str = "error invoking host capability oci.manifest_digest: Host error: ";
/// …and policy-evaluator's around a failed OCI lookup.
const EVALUATOR: &str = "Callback evaluation failure: Fail to interact with OCI registry: ";
const URL: &str = "http://127.0.0.1:5577/v2/dockerhub/library/nginx/manifests/1.27";
/// What anyhow appends when the host runs with `RUST_BACKTRACE=1`.
const BACKTRACE: &str = "\n\nStack backtrace:\n   0: anyhow::error::<impl anyhow::Error>::msg\n             at /cargo/registry/src/index.crates.io-6f17d22bba15001f/anyhow-1.0.86/src/error.rs:83:36\n   1: policy_evaluator::callback_handler::oci::get_manifest_digest::{{closure}}\n             at ./crates/policy-evaluator/src/callback_handler/oci.rs:42:21\n   2: tokio::runtime::task::harness::Harness<T,S>::poll\n";

/// policy-evaluator's answer when oci-client fails with `error` (its Display)
/// and `causes` (its sources, outermost first), as anyhow prints it.
fn evaluator_error(error: &str, causes: &[&str]) -> String {
    let causes: Vec<String> = match causes {
        [] => vec![format!("    {error}")],
        many => std::iter::once(error)
            .chain(many.iter().copied())
            .enumerate()
            .map(|(i, c)| format!("    {i}: {c}"))
            .collect(),
    };
    format!("{HOST_CALL}{EVALUATOR}{error}\n\nCaused by:\n{}", causes.join("\n"))
}

#[test]
fn host_errors_come_down_to_the_registrys_words() {
    let missing = format!("Registry error: url {URL}, envelope: OCI API errors: [OCI API error: manifest unknown]");
    let auth = format!("Registry error: url {URL}, envelope: OCI API errors: [OCI API error: authentication required]");
    let two = format!(
        "Registry error: url {URL}, envelope: OCI API errors: [OCI API error: unauthorized\nOCI API error: access denied]"
    );
    let sending = format!("error sending request for url ({URL})");
    let connect = [
        "client error (Connect)",
        "tcp connect error: Connection refused (os error 111)",
        "Connection refused (os error 111)",
    ];
    let dns = [
        "client error (Connect)",
        "dns error: failed to lookup address information: Name or service not known",
        "failed to lookup address information: Name or service not known",
    ];
    let (huge, cut) = (format!("{HOST_CALL}{}", "x".repeat(64 * 1024)), format!("{}…", "x".repeat(79)));
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &str)> = vec![
        ("manifest_unknown",            evaluator_error(&missing, &[]),                      "manifest unknown"),
        ("manifest_unknown_backtrace",  evaluator_error(&missing, &[]) + BACKTRACE,          "manifest unknown"),
        ("authentication_required",     evaluator_error(&auth, &[]),                         "authentication required"),
        ("several_registry_errors",     evaluator_error(&two, &[]),                          "unauthorized; access denied"),
        ("not_authorized",              evaluator_error(&format!("Not authorized: url {URL}"), &[]), "not authorized"),
        ("connection_refused",          evaluator_error(&sending, &connect),                 "connection refused"),
        ("refused_with_backtrace",      evaluator_error(&sending, &connect) + BACKTRACE,     "connection refused"),
        ("timed_out",                   evaluator_error(&sending, &["operation timed out"]), "operation timed out"),
        ("unknown_host",                evaluator_error(&sending, &dns),                     "failed to lookup address information: Name or service not known"),
        ("one_line_wrappers_only",      format!("{HOST_CALL}{EVALUATOR}Registry did not return a digest header"), "registry did not return a digest header"),
        ("the_policys_own_words",       "not checked: the request names more than 100 images to look up".into(),
                                                                                             "not checked: the request names more than 100 images to look up"),
        ("a_huge_answer_is_cut",        huge,                                                &cut),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, error, expected)| {
            let cause = mirror::cause(error);
            (cause != *expected).then(|| format!("{name}: gave {cause:?}, expected {expected:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn mirror_messages_are_one_line_of_at_most_256_characters() {
    let long_redirect = format!("harbor.local/hub/{}:v1", "team/".repeat(40));
    let error = evaluator_error(
        &format!("Registry error: url {URL}, envelope: OCI API errors: [OCI API error: manifest unknown]"),
        &[],
    ) + BACKTRACE;
    #[rustfmt::skip]
    let cases: Vec<(&str, String, String)> = vec![
        ("kept",              mirror::kept("nginx:1.27", "harbor.local/hub/library/nginx:1.27", &error),
            "image left unchanged: nginx:1.27: harbor.local/hub/library/nginx:1.27 is not available: manifest unknown".into()),
        ("refused",           mirror::refused("nginx:1.27", "harbor.local/hub/library/nginx:1.27", &error),
            "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, which is not available: manifest unknown".into()),
        ("long_redirect_cut", mirror::kept("app:v1", &long_redirect, &error),
            format!("image left unchanged: app:v1: {:?}… is not available: manifest unknown", &long_redirect[..188])),
    ];
    for (name, message, expected) in cases {
        assert_eq!(message, expected, "{name}");
        assert!(message.chars().count() <= 256 && !message.contains('\n'), "{name}: {message}");
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
        ["image left unchanged: nginx:1.27: harbor.local/hub/library/nginx:1.27 is not available: manifest unknown"]
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
                "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, which is not available: manifest unknown"
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
