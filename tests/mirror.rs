//! Mirror health: `verify`, `onMissing` and `pinDigest` (`mirror` and
//! `source`), with the registries answered from a table (the waPC build asks
//! policy-server instead).

mod common;

use std::cell::RefCell;

use common::{SHA256, pod_request, review_with};
use image_redirect_policy::mirror::{self, LOOKUPS_MAX, Mirror, Unavailable};
use serde_json::{Value, json};

const MIRROR_DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Registries that have exactly the references listed, each with its
/// digest, and record what they were asked.
struct Table {
    digests: Vec<(String, String)>,
    /// Registries that refuse connections.
    down: Vec<&'static str>,
    asked: RefCell<Vec<String>>,
}

impl Table {
    /// Every image listed has [`MIRROR_DIGEST`].
    fn with(present: Vec<&'static str>) -> Self {
        Self::digests(present.into_iter().map(|image| (image, MIRROR_DIGEST)).collect())
    }

    fn digests(digests: Vec<(&str, &str)>) -> Self {
        let digests = digests.into_iter().map(|(image, digest)| (image.to_owned(), digest.to_owned())).collect();
        Self { digests, down: Vec::new(), asked: RefCell::new(Vec::new()) }
    }

    fn down(self, registry: &'static str) -> Self {
        Self { down: vec![registry], ..self }
    }
}

impl Mirror for Table {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.asked.borrow_mut().push(image.to_owned());
        if self.down.iter().any(|registry| image.starts_with(&format!("{registry}/"))) {
            return Err(connection_refused(image));
        }
        match self.digests.iter().find(|(present, _)| present == image) {
            Some((_, digest)) => Ok(digest.clone()),
            None => Err(manifest_unknown(image)),
        }
    }
}

/// Where oci-client asks for `image`'s manifest (by digest when it has one).
fn manifest_url(image: &str) -> String {
    let (registry, path) = image.split_once('/').unwrap();
    let (repository, reference) = match path.split_once('@') {
        Some((named, digest)) => (named.split(':').next().unwrap(), digest),
        None => path.rsplit_once(':').unwrap_or((path, "latest")),
    };
    format!("http://{registry}/v2/{repository}/manifests/{reference}")
}

/// What the policy reads when policy-server (policy-evaluator, through the
/// SDK and waPC) finds no manifest: the whole chain, on several lines.
fn manifest_unknown(image: &str) -> String {
    let registry_error = format!(
        "Registry error: url {}, envelope: OCI API errors: [OCI API error: manifest unknown]",
        manifest_url(image)
    );
    format!("{HOST_CALL}{EVALUATOR}{registry_error}\n\nCaused by:\n    {registry_error}")
}

/// What the policy reads when policy-server cannot connect to the registry.
fn connection_refused(image: &str) -> String {
    evaluator_error(&format!("error sending request for url ({})", manifest_url(image)), &CONNECT)
}

const CONNECT: [&str; 3] = [
    "client error (Connect)",
    "tcp connect error: Connection refused (os error 111)",
    "Connection refused (os error 111)",
];

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
        ("connection_refused",          evaluator_error(&sending, &CONNECT),                 "connection refused"),
        ("refused_with_backtrace",      evaluator_error(&sending, &CONNECT) + BACKTRACE,     "connection refused"),
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
    let missing = Unavailable::Missing(error);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, String)> = vec![
        ("kept",              mirror::kept("nginx:1.27", "harbor.local/hub/library/nginx:1.27", &missing),
            "image left unchanged: nginx:1.27: harbor.local/hub/library/nginx:1.27 is not available: manifest unknown".into()),
        ("refused",           mirror::refused("nginx:1.27", "harbor.local/hub/library/nginx:1.27", &missing),
            "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, which is not available: manifest unknown".into()),
        ("long_redirect_cut", mirror::kept("app:v1", &long_redirect, &missing),
            format!("image left unchanged: app:v1: {:?}… is not available: manifest unknown", &long_redirect[..188])),
    ];
    for (name, message, expected) in cases {
        assert_eq!(message, expected, "{name}");
        assert!(message.chars().count() <= 256 && !message.contains('\n'), "{name}: {message}");
    }
}

const SOURCE_DIGEST: &str = "sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
const OTHER_DIGEST: &str = "sha256:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const HUB_NGINX: &str = "docker.io/library/nginx:1.27";

#[test]
fn source_pinning_messages_name_the_registry_and_the_digests() {
    let mismatch = |source: &str| Unavailable::Mismatch {
        source: source.to_owned(),
        source_digest: SOURCE_DIGEST.to_owned(),
        mirror_digest: OTHER_DIGEST.to_owned(),
    };
    let unresolved = |error: String| Unavailable::Unresolved { source: HUB_NGINX.to_owned(), error };
    let refused_connection = unresolved(
        evaluator_error("error sending request for url (https://registry-1.docker.io/v2/)", &CONNECT) + BACKTRACE,
    );
    let refused_credential = unresolved(evaluator_error(
        "Registry error: url https://registry-1.docker.io/v2/library/nginx/manifests/1.27, envelope: OCI API errors: [OCI API error: authentication required]",
        &[],
    ));
    let unusable = unresolved("the registry answered an unusable digest (md5:abc)".to_owned());
    let long = format!("harbor.local/hub/{}:v1", "team/".repeat(40));
    let (long_source, redirect) =
        (format!("docker.io/{}:v1", "team/".repeat(40)), "harbor.local/hub/library/nginx:1.27");
    let at_hub = |name: &str| format!("{:?}…", &name[..83]);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, String)> = vec![
        ("mismatch_kept",         mirror::kept("nginx:1.27", redirect, &mismatch(HUB_NGINX)),
            "image left unchanged: nginx:1.27: harbor.local/hub/library/nginx:1.27 is sha256:1a2b3c4d5e6f… but docker.io/library/nginx:1.27 is sha256:9f8e7d6c5b4a…".into()),
        ("mismatch_refused",      mirror::refused("nginx:1.27", redirect, &mismatch(HUB_NGINX)),
            "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, which is sha256:1a2b3c4d5e6f… but docker.io/library/nginx:1.27 is sha256:9f8e7d6c5b4a…".into()),
        ("source_down_kept",      mirror::kept("nginx:1.27", redirect, &refused_connection),
            "image left unchanged: nginx:1.27: docker.io/library/nginx:1.27 cannot be resolved to a digest: connection refused".into()),
        ("source_down_refused",   mirror::refused("nginx:1.27", redirect, &refused_connection),
            "image nginx:1.27 would be redirected to harbor.local/hub/library/nginx:1.27, but docker.io/library/nginx:1.27 cannot be resolved to a digest: connection refused".into()),
        ("credential_refused",    mirror::kept("nginx:1.27", redirect, &refused_credential),
            "image left unchanged: nginx:1.27: docker.io/library/nginx:1.27 cannot be resolved to a digest: authentication required".into()),
        ("unusable_source_digest", mirror::kept("nginx:1.27", redirect, &unusable),
            "image left unchanged: nginx:1.27: docker.io/library/nginx:1.27 cannot be resolved to a digest: the registry answered an unusable digest (md5:abc)".into()),
        ("long_references_share_the_line", mirror::kept("app:v1", &long, &mismatch(&long_source)),
            format!("image left unchanged: app:v1: {} is sha256:1a2b3c4d5e6f… but {} is sha256:9f8e7d6c5b4a…", at_hub(&long), at_hub(&long_source))),
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

/// What a review did with the first image: the image written, the warning
/// of an image kept, or the rejection.
fn outcome(review: &common::Review) -> String {
    match (review.accepted, image_ops(review).first(), review.warnings.as_slice()) {
        (false, _, _) => format!("rejected: {}", review.message.as_deref().unwrap_or_default()),
        (true, Some((_, image)), _) => image.clone(),
        (true, None, [warning]) => format!("kept: {warning}"),
        _ => format!("unexpected: {:?} {:?}", image_ops(review), review.warnings),
    }
}

/// A case: its name, the destination's checks, the image, the registries,
/// what is written (or why not), and what the registries were asked, in order.
type Row<'a> = (&'a str, Value, &'a str, Table, String, Vec<String>);

#[test]
fn pin_digest_source_pins_what_the_source_resolves_where_the_mirror_serves_it() {
    let at_mirror = |image: &str| format!("harbor.local/hub/library/{image}");
    let (copied, pinned) =
        (at_mirror(&format!("nginx:1.27@{SOURCE_DIGEST}")), at_mirror(&format!("nginx@{SOURCE_DIGEST}")));
    let source = || vec![(HUB_NGINX, SOURCE_DIGEST)];
    let same = || {
        Table::digests([source(), vec![(copied.as_str(), SOURCE_DIGEST), (pinned.as_str(), SOURCE_DIGEST)]].concat())
    };
    let mirror_tag = at_mirror("nginx:1.27");
    let other = || Table::digests([source(), vec![(mirror_tag.as_str(), OTHER_DIGEST)]].concat());
    let by_digest = format!("nginx@{SOURCE_DIGEST}");
    let tag_and_digest = format!("nginx:1.27@{SOURCE_DIGEST}");
    let unknown_digest = format!("nginx@{SHA256}");
    let mismatch = format!("{mirror_tag} is sha256:1a2b3c4d5e6f… but {HUB_NGINX} is sha256:9f8e7d6c5b4a…");
    let lacks = format!("{mirror_tag} is not available: manifest unknown");
    let unresolved = |cause: &str| format!("{HUB_NGINX} cannot be resolved to a digest: {cause}");
    let kept = |why: &str| format!("kept: image left unchanged: nginx:1.27: {why}");
    let rejected = |why: &str| format!("rejected: image nginx:1.27 would be redirected to {mirror_tag}, {why}");
    let keep = || json!({"pinDigest": "source"});
    let reject = || json!({"pinDigest": "source", "onMissing": "reject"});
    #[rustfmt::skip]
    let cases: Vec<Row> = vec![
        ("the_mirror_serves_the_source_digest", keep(), "nginx:1.27",    same(),
            copied.clone(),                                          vec![HUB_NGINX.into(), copied.clone()]),
        ("verify_adds_no_lookup",  json!({"pinDigest": "source", "verify": true}), "nginx:1.27", same(),
            copied.clone(),                                          vec![HUB_NGINX.into(), copied.clone()]),
        ("the_mirror_tag_holds_other_content", keep(),  "nginx:1.27",    other(),
            kept(&mismatch),                                         vec![HUB_NGINX.into(), copied.clone(), mirror_tag.clone()]),
        ("other_content_rejected", reject(),              "nginx:1.27",    other(),
            rejected(&format!("which is {}", &mismatch[mirror_tag.len() + 4..])), vec![HUB_NGINX.into(), copied.clone(), mirror_tag.clone()]),
        ("the_mirror_lacks_the_image", keep(),          "nginx:1.27",    Table::digests(source()),
            kept(&lacks),                                            vec![HUB_NGINX.into(), copied.clone(), mirror_tag.clone()]),
        ("lacking_rejected",       reject(),              "nginx:1.27",    Table::digests(source()),
            rejected("which is not available: manifest unknown"),    vec![HUB_NGINX.into(), copied.clone(), mirror_tag.clone()]),
        ("the_mirror_is_down",     keep(),              "nginx:1.27",    Table::digests(source()).down("harbor.local"),
            kept(&format!("{mirror_tag} is not available: connection refused")), vec![HUB_NGINX.into(), copied.clone(), mirror_tag.clone()]),
        ("the_source_is_down",     keep(),              "nginx:1.27",    same().down("docker.io"),
            kept(&unresolved("connection refused")),                 vec![HUB_NGINX.into()]),
        ("source_down_rejected",   reject(),              "nginx:1.27",    same().down("docker.io"),
            rejected(&format!("but {}", unresolved("connection refused"))), vec![HUB_NGINX.into()]),
        ("the_source_lacks_the_tag", keep(),            "nginx:1.27",    Table::digests(vec![]),
            kept(&unresolved("manifest unknown")),                   vec![HUB_NGINX.into()]),
        ("a_digest_asks_only_the_mirror", keep(),       &by_digest,      same(),
            pinned.clone(),                                          vec![pinned.clone()]),
        ("tag_and_digest_likewise", keep(),             &tag_and_digest, same(),
            copied.clone(),                                          vec![copied.clone()]),
        ("a_digest_the_mirror_lacks", keep(),           &unknown_digest, same(),
            format!("kept: image left unchanged: {unknown_digest}: {} is not available: manifest unknown", at_mirror(&unknown_digest)),
                                                                     vec![at_mirror(&unknown_digest)]),
        ("mirror_pins_the_mirror_tag", json!({"pinDigest": "mirror"}), "nginx:1.27", other(),
            format!("{mirror_tag}@{OTHER_DIGEST}"),                  vec![mirror_tag.clone()]),
        ("true_is_mirror",         json!({"pinDigest": true}), "nginx:1.27", other(),
            format!("{mirror_tag}@{OTHER_DIGEST}"),                  vec![mirror_tag.clone()]),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, check, image, registries, expected, asked)| {
            let got = outcome(&run(check, &[image], &registries));
            let was_asked = registries.asked.into_inner();
            (got != expected || was_asked != asked).then(|| {
                format!("{name}:\n   got      {got}\n   expected {expected}\n   asked    {was_asked:?}\n   expected {asked:?}")
            })
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn an_image_written_several_ways_is_checked_once() {
    let copied = format!("harbor.local/hub/library/nginx:1.27@{SOURCE_DIGEST}");
    let registries = Table::digests(vec![(HUB_NGINX, SOURCE_DIGEST), (&copied, SOURCE_DIGEST)]);
    let r = run(json!({"pinDigest": "source"}), &["nginx:1.27", "nginx:1.27", HUB_NGINX], &registries);
    assert_eq!(image_ops(&r).iter().map(|(_, image)| image).collect::<Vec<_>>(), [&copied; 3]);
    assert_eq!(*registries.asked.borrow(), [HUB_NGINX, &copied]);
}

/// The per-request limit counts images: each takes two lookups here, and
/// the hundred images within the limit are all pinned.
#[test]
fn the_limit_counts_images_not_lookups() {
    struct EveryImage(RefCell<usize>);
    impl Mirror for EveryImage {
        fn manifest_digest(&self, _: &str) -> Result<String, String> {
            *self.0.borrow_mut() += 1;
            Ok(SOURCE_DIGEST.to_owned())
        }
    }
    let images: Vec<String> = (0..LOOKUPS_MAX + 50).map(|i| format!("app{i}:1")).collect();
    let registries = EveryImage(RefCell::new(0));
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    let request = pod_request("CREATE", json!({"spec": {"containers": containers}}));
    let settings = settings(json!({"pinDigest": "source"}));
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let r = review_with(&payload, request.get("object"), &registries);
    let ops = image_ops(&r);
    assert_eq!(ops.len(), LOOKUPS_MAX);
    assert_eq!(ops[LOOKUPS_MAX - 1].1, format!("harbor.local/hub/library/app99:1@{SOURCE_DIGEST}"));
    assert_eq!(*registries.0.borrow(), 2 * LOOKUPS_MAX);
    assert_eq!(
        r.warnings[0],
        "image left unchanged: app100:1: harbor.local/hub/library/app100:1 is not available: \
         not checked: the request names more than 100 images to look up"
    );
}

#[test]
fn report_mode_asks_the_mirror_and_names_what_it_lacks() {
    let report = |check: Value| {
        let mut check = check;
        check["verify"] = json!(true);
        check
    };
    let run_report = |check: Value, images: &[&str], registry: &Table| {
        let containers: Vec<Value> =
            images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
        let request = pod_request("CREATE", json!({"metadata": {"name": "p"}, "spec": {"containers": containers}}));
        let mut settings = settings(check);
        settings["action"] = json!("report");
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        review_with(&payload, request.get("object"), registry)
    };
    let present = Table::with(vec!["harbor.local/hub/library/nginx:1.27"]);
    let down = Table::with(vec![]).down("harbor.local");
    let other_content = Table::digests(vec![
        ("docker.io/library/nginx:1.27", SHA256),
        ("harbor.local/hub/library/nginx:1.27", MIRROR_DIGEST),
        ("docker.io/library/redis:7", SHA256),
        ("harbor.local/hub/library/redis:7", MIRROR_DIGEST),
    ]);
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &Table, &str)> = vec![
        ("present",     report(json!({})), &present,
            "c0: nginx:1.27 -> harbor.local/hub/library/nginx:1.27; c1: redis:7 -> harbor.local/hub/library/redis:7: not at the mirror"),
        ("reject_too",  report(json!({"onMissing": "reject"})), &present,
            "c0: nginx:1.27 -> harbor.local/hub/library/nginx:1.27; c1: redis:7 -> harbor.local/hub/library/redis:7: not at the mirror"),
        ("mirror_down", report(json!({})), &down,
            "c0: nginx:1.27 -> harbor.local/hub/library/nginx:1.27: not at the mirror; c1: redis:7 -> harbor.local/hub/library/redis:7: not at the mirror"),
        ("other_content", json!({"pinDigest": "source"}), &other_content,
            "c0: nginx:1.27 -> harbor.local/hub/library/nginx:1.27: the mirror holds other content under that tag; c1: redis:7 -> harbor.local/hub/library/redis:7: the mirror holds other content under that tag"),
    ];
    for (name, check, registry, expected) in cases {
        let r = run_report(check, &["nginx:1.27", "redis:7"], registry);
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(expected)), "{name}");
        assert!(r.mutated.is_none() && r.warnings.is_empty(), "{name}");
    }
    let none_asked = Table::with(vec![]);
    let r = run_report(json!({}), &["nginx:1.27"], &none_asked);
    assert_eq!(r.message.as_deref(), Some("c0: nginx:1.27 -> harbor.local/hub/library/nginx:1.27"));
    assert!(none_asked.asked.borrow().is_empty(), "without verify the mirror is not asked");
}
