//! The built policy.wasm, evaluated on the embedded host exactly as
//! policy-server evaluates it, against the fixtures in e2e/fixtures/.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image_redirect_e2e::demo::{fixtures, images_in, policy_wasm, read_json};
use image_redirect_e2e::{Outcome, Policy, Registry};
use serde_json::{Value, json};

#[path = "../../tests/common/typed.rs"]
mod typed;

/// Compiled once per test binary, like policy-server's precompiled module.
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = policy_wasm();
        Policy::load(&path).unwrap_or_else(|e| panic!("{e:#}\n(build it with `make policy.wasm`, or set POLICY_WASM)"))
    })
}

fn settings(name: &str) -> Value {
    read_json(&fixtures().join(format!("settings/{name}.json"))).unwrap()
}

fn request(name: &str) -> Value {
    read_json(&fixtures().join(format!("requests/{name}.json"))).unwrap()
}

const ANNOTATIONS: &str = "image-redirect.io/original-images";

fn originals(path: &str, entries: Value) -> Value {
    json!({"op": "add", "path": path, "value": {ANNOTATIONS: entries.to_string()}})
}

fn image(path: &str, image: &str) -> Value {
    json!({"op": "replace", "path": path, "value": image})
}

fn secrets(path: &str, names: &[&str]) -> Value {
    let list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    json!({"op": "add", "path": path, "value": list})
}

const HUB: &str = "harbor.edge.local/dockerhub";

#[test]
fn every_fixture_gets_its_exact_patch() {
    let t = "/spec/template";
    let template_case = |at: &str, entries: Value, images: &[(&str, &str)]| {
        let mut ops = vec![originals(&format!("{at}/metadata/annotations"), entries)];
        ops.extend(images.iter().map(|(i, img)| image(&format!("{at}/spec/containers/{i}/image"), img)));
        ops.push(secrets(&format!("{at}/spec/imagePullSecrets"), &["harbor-creds"]));
        Value::Array(ops)
    };
    let web_cache = || json!({"cache": "redis:7.4", "web": "nginx:1.27"});
    let nginx = format!("{HUB}/library/nginx:1.27");
    let redis = format!("{HUB}/library/redis:7.4");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str, Value)> = vec![
        ("pod_every_list", "mapping", "pod-docker-hub", json!([
            originals("/metadata/annotations", json!({"metrics": "prom/statsd-exporter:v0.26.0", "migrate": "busybox:1.36", "proxy": "envoyproxy/envoy:v1.31.2", "web": "nginx:1.27"})),
            image("/spec/containers/0/image", &nginx),
            image("/spec/containers/1/image", &format!("{HUB}/prom/statsd-exporter:v0.26.0")),
            image("/spec/containers/2/image", &format!("{HUB}/envoyproxy/envoy:v1.31.2")),
            secrets("/spec/imagePullSecrets", &["harbor-creds"]),
            image("/spec/initContainers/0/image", &format!("{HUB}/library/busybox:1.36")),
        ])),
        ("deployment", "mapping", "deployment", template_case(t, web_cache(), &[("0", &nginx), ("1", &redis)])),
        ("replicaset", "mapping", "replicaset", template_case(t, web_cache(), &[("0", &nginx), ("1", &redis)])),
        ("statefulset", "mapping", "statefulset", template_case(t, web_cache(), &[("0", &nginx), ("1", &redis)])),
        ("daemonset", "mapping", "daemonset", template_case(t, json!({"agent": "fluent/fluent-bit:3.1"}), &[("0", &format!("{HUB}/fluent/fluent-bit:3.1"))])),
        ("replicationcontroller", "mapping", "replicationcontroller", template_case(t, json!({"web": "nginx:1.27"}), &[("0", &nginx)])),
        ("job", "mapping", "job", template_case(t, json!({"report": "python:3.12-slim"}), &[("0", &format!("{HUB}/library/python:3.12-slim"))])),
        ("cronjob", "mapping", "cronjob", template_case("/spec/jobTemplate/spec/template", json!({"backup": "bitnami/kubectl:1.31"}), &[("0", &format!("{HUB}/bitnami/kubectl:1.31"))])),
        ("pod_update_sets_one_image", "prefix-all", "pod-update", json!([
            originals("/metadata/annotations", json!({"web": "nginx:1.27"})),
            image("/spec/containers/0/image", "10.10.254.254:8000/spectro-images/docker.io/library/nginx:1.27"),
        ])),
        ("kubectl_debug", "prefix-all", "pod-ephemeral-debug", json!([
            image("/spec/ephemeralContainers/0/image", "10.10.254.254:8000/spectro-images/docker.io/library/busybox:1.36"),
        ])),
        ("palette_prefix_all", "prefix-all", "pod-palette-prefix", json!([
            originals("/metadata/annotations", json!({"os": "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"})),
            image("/spec/containers/0/image", "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"),
        ])),
        ("palette_mapping", "mapping", "pod-palette-mapping", json!([
            originals("/metadata/annotations", json!({"app": "somedomain.com/somepath/example-repo/alpine:latest"})),
            image("/spec/containers/0/image", "targetdomain.com/other/path/example-repo/alpine:latest"),
        ])),
        ("palette_harbor_layout", "harbor-layout", "pod-palette-harbor", json!([
            originals("/metadata/annotations", json!({"agent": "us-docker.pkg.dev/palette-images/edge/agent:v4.5.0", "kube-vip": "gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3"})),
            image("/spec/containers/0/image", "10.10.137.220:30003/spectro-images/gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3"),
            image("/spec/containers/1/image", "10.10.137.220:30003/spectro-images/us-docker.pkg.dev/palette-images/edge/agent:v4.5.0"),
            secrets("/spec/imagePullSecrets", &["edge-registry"]),
        ])),
        ("palette_mapping_then_harbor", "mapping-and-prefix", "pod-palette-harbor", json!([
            originals("/metadata/annotations", json!({"agent": "us-docker.pkg.dev/palette-images/edge/agent:v4.5.0", "kube-vip": "gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3"})),
            image("/spec/containers/0/image", "10.10.100.45:30003/gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3"),
            image("/spec/containers/1/image", "10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4.5.0"),
        ])),
        ("unknown_fields_untouched", "mapping", "pod-unknown-fields", json!([
            originals("/metadata/annotations", json!({"web": "nginx:1.27"})),
            image("/spec/containers/0/image", &nginx),
            secrets("/spec/imagePullSecrets", &["harbor-creds"]),
        ])),
        ("excluded_namespace", "mapping", "pod-kube-system", json!([])),
        ("disabled", "disabled", "pod-docker-hub", json!([])),
        ("delete_never_blocked", "mapping", "pod-delete", json!([])),
        ("pod_update_needs_a_secret", "mapping", "pod-update", json!([])),
    ];
    let mut failures = Vec::new();
    for (name, settings_name, request_name, expected) in cases {
        let evaluation = policy().evaluate(&settings(settings_name), &request(request_name)).unwrap();
        if !matches!(evaluation.outcome, Outcome::Accepted { .. }) || evaluation.patch_json() != expected {
            failures.push(format!(
                "{name}: {:?}\n   patch    {}\n   expected {expected}",
                evaluation.outcome,
                evaluation.patch_json()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_output_fed_back_changes_nothing() {
    for (settings_name, request_name) in [
        ("mapping", "pod-docker-hub"),
        ("mapping", "deployment"),
        ("mapping", "cronjob"),
        ("prefix-all", "pod-docker-hub"),
        ("mapping-and-prefix", "pod-palette-harbor"),
        ("harbor-layout", "pod-palette-harbor"),
    ] {
        let settings = settings(settings_name);
        let first = policy().evaluate(&settings, &request(request_name)).unwrap();
        let stored = first.patched_object().unwrap();
        for operation in ["CREATE", "UPDATE"] {
            let mut again = first.request.clone();
            again["operation"] = json!(operation);
            again["object"] = stored.clone();
            again["oldObject"] = if operation == "UPDATE" { stored.clone() } else { Value::Null };
            let second = policy().evaluate(&settings, &again).unwrap();
            assert_eq!(
                second.outcome,
                Outcome::Accepted { patch: None, warnings: vec![] },
                "{settings_name} {request_name} {operation}"
            );
        }
    }
}

#[test]
fn patches_touch_only_images_annotations_and_pull_secrets() {
    for (settings_name, request_name) in
        [("mapping", "pod-unknown-fields"), ("mapping", "pod-docker-hub"), ("prefix-all", "pod-docker-hub")]
    {
        let evaluation = policy().evaluate(&settings(settings_name), &request(request_name)).unwrap();
        for operation in evaluation.patch_json().as_array().unwrap() {
            let path = operation["path"].as_str().unwrap();
            let allowed = path.ends_with("/image")
                || path.ends_with("/metadata/annotations")
                || path.ends_with("/imagePullSecrets");
            assert!(allowed, "{request_name}: {operation}");
        }
        let object = evaluation.patched_object().unwrap();
        if request_name == "pod-unknown-fields" {
            assert_eq!(
                object["spec"]["futureSchedulingHint"],
                json!({"mode": "Spread", "weights": [1.5, 2000.0, -0.0], "nested": {"deeper": [{"x": null}]}})
            );
            assert_eq!(object["x-vendor-extension"], json!({"\u{e9}t\u{e9}": "\u{e0} garder"}));
        }
    }
}

#[test]
fn invalid_settings_are_refused_with_the_exact_message() {
    let evaluation = policy().evaluate(&settings("invalid"), &request("pod-docker-hub")).unwrap();
    assert_eq!(evaluation.outcome, Outcome::InvalidSettings(
        "mappings[0].target: \"Harbor.local/x\" is not a valid registry path: uppercase letters are not allowed; \
         mappings[1].source: \"docker.io/nginx:1.27\" is not a valid registry path: a tag is not allowed; \
         exclude.images[0]: \"pause[\" is not a supported image glob: '[' is not supported: only * and ? are special in image globs".to_owned()));
}

#[test]
fn malformed_requests_are_rejected_not_trapped() {
    let evaluation = policy().evaluate(&settings("mapping"), &request("pod-malformed")).unwrap();
    assert_eq!(
        evaluation.outcome,
        Outcome::Rejected {
            message: "the Pod cannot be read: object.spec.containers: expected an array, found an object".to_owned(),
            code: None,
            warnings: vec![],
        }
    );
    let not_json = policy().call("validate", b"{\"request\": nope").unwrap();
    assert_eq!(
        String::from_utf8(not_json).unwrap(),
        r#"{"accepted":false,"message":"the admission request is malformed: expected ident at line 1 column 14"}"#
    );
}

#[test]
fn a_bare_request_and_a_review_are_the_same() {
    let review = request("pod-docker-hub");
    let from_review = policy().evaluate(&settings("mapping"), &review).unwrap();
    let from_request = policy().evaluate(&settings("mapping"), &review["request"]).unwrap();
    assert_eq!(from_review, from_request);
}

#[test]
fn every_call_runs_on_a_fresh_instance() {
    let first = policy().evaluate(&settings("mapping"), &request("pod-docker-hub")).unwrap();
    for _ in 0..3 {
        assert_eq!(policy().evaluate(&settings("mapping"), &request("pod-docker-hub")).unwrap(), first);
    }
    assert_eq!(policy().call("protocol_version", b"").unwrap(), br#""v1""#);
}

#[test]
fn the_kwctl_shaped_response_carries_the_patch_in_base64() {
    let evaluation = policy().evaluate(&settings("prefix-all"), &request("pod-palette-prefix")).unwrap();
    let response = evaluation.admission_response();
    assert_eq!(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    assert_eq!(
        response["warnings"],
        json!([
            "image redirected: quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1 -> 10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"
        ])
    );
    assert!(response["patch"].as_str().unwrap().starts_with("W3sib3AiOiJhZGQi"), "base64 of [{{\"op\":\"add\"");
}

/// Digests answered by the host from a table, as policy-server answers them from a registry.
struct Digests(HashMap<&'static str, &'static str>);

impl Registry for Digests {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.0.get(image).map(|d| d.to_string()).ok_or_else(|| "manifest unknown".to_owned())
    }
}

#[test]
fn mirror_checks_go_through_the_oci_host_call() {
    const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let policy = Policy::load(&policy_wasm()).unwrap().with_registry(Arc::new(Digests(HashMap::from([(
        "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1",
        DIGEST,
    )]))));
    let pinned = json!({"prefix": {"target": "10.10.254.254:8000/spectro-images", "pinDigest": true}, "annotateOriginals": false});
    let evaluation = policy.evaluate(&pinned, &request("pod-palette-prefix")).unwrap();
    assert_eq!(
        evaluation.patch_json(),
        json!([image(
            "/spec/containers/0/image",
            &format!(
                "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1@{DIGEST}"
            )
        )])
    );

    let verified =
        json!({"prefix": {"target": "10.10.254.254:8000/spectro-images", "verify": true, "onMissing": "reject"}});
    let evaluation = policy.evaluate(&verified, &request("pod-palette-mapping")).unwrap();
    assert_eq!(evaluation.outcome, Outcome::Rejected {
        message: "image somedomain.com/somepath/example-repo/alpine:latest would be redirected to \
                  10.10.254.254:8000/spectro-images/somedomain.com/somepath/example-repo/alpine:latest, which is not available: manifest unknown".to_owned(),
        code: None,
        warnings: vec![],
    });
}

#[test]
fn the_admission_response_carries_one_audit_annotation_per_kind_of_decision() {
    const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let nginx = "harbor.edge.local/dockerhub/library/nginx:1.27";
    let policy =
        Policy::load(&policy_wasm()).unwrap().with_registry(Arc::new(Digests(HashMap::from([(nginx, DIGEST)]))));
    // docker.io is checked and pinned; envoyproxy's images move by tag.
    let checked = json!({"annotateOriginals": false, "mappings": [
        {"source": "docker.io", "target": "harbor.edge.local/dockerhub", "verify": true, "pinDigest": true},
        {"source": "docker.io/envoyproxy", "target": "harbor.edge.local/envoy"}]});
    let mut pod = request("pod-docker-hub");
    pod["request"]["object"]["spec"]["initContainers"][0]["imagePullPolicy"] = json!("Never");
    let response = policy.evaluate(&checked, &pod).unwrap().admission_response();
    assert_eq!(
        response["auditAnnotations"],
        json!({
            "fell-back": "metrics: prom/statsd-exporter:v0.26.0 -> harbor.edge.local/dockerhub/prom/statsd-exporter:v0.26.0: not at the mirror",
            "kept-never-pull": "migrate: busybox:1.36",
            "pinned": format!("web: nginx:1.27 -> {nginx}@{DIGEST}"),
            "redirected": "proxy: envoyproxy/envoy:v1.31.2 -> harbor.edge.local/envoy/envoy:v1.31.2",
        })
    );
    assert_eq!(response["allowed"], true);

    // Nothing decided (the namespace is excluded): no annotations at all.
    let response = policy.evaluate(&settings("mapping"), &request("pod-kube-system")).unwrap().admission_response();
    assert_eq!(response.get("auditAnnotations"), None, "{response}");
}

#[test]
fn every_example_manifest_carries_settings_the_policy_accepts() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let manifest: Value = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let settings = serde_json::to_vec(&manifest["spec"]["settings"]).unwrap();
        let answer: Value = serde_json::from_slice(&policy().call("validate_settings", &settings).unwrap()).unwrap();
        assert_eq!(answer, json!({"valid": true, "message": null}), "{}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 8);
}

/// Every request fixture, by name.
fn all_requests() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("requests"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap().trim_end_matches(".json").to_owned())
        .collect();
    names.sort();
    names.into_iter().map(|name| (name.clone(), request(&name))).collect()
}

#[test]
fn every_fixture_request_is_a_typed_admission_review() {
    for (name, review) in all_requests() {
        match (name.as_str(), typed::admission_review(&review)) {
            ("pod-malformed", Err(e)) => {
                assert_eq!(e, "request.object is not a valid Pod: invalid type: map, expected a sequence")
            }
            (_, result) => assert_eq!(result, Ok(()), "{name}"),
        }
    }
}

/// What the patch cannot show by itself: the object the API server stores
/// still reads as its kind (k8s-openapi), with the images the patch wrote.
#[test]
fn every_mutated_fixture_object_reads_as_its_kind_with_the_patched_images() {
    let modes = ["mapping", "prefix-all", "mapping-and-prefix", "harbor-layout"];
    let mut checked = 0;
    for (name, review) in all_requests().into_iter().filter(|(name, _)| name != "pod-malformed") {
        let kind = review["request"]["kind"]["kind"].as_str().unwrap().to_owned();
        for mode in modes {
            let evaluation = policy().evaluate(&settings(mode), &review).unwrap();
            if evaluation.patch().is_none() {
                continue;
            }
            let stored = evaluation.patched_object().unwrap();
            let typed = typed::containers(&kind, &stored).unwrap_or_else(|e| panic!("{name} under {mode}: {e}"));
            let mut typed: Vec<String> = typed.unwrap().into_iter().filter_map(|c| c.image).collect();
            let mut patched: Vec<String> = images_in(&stored).into_iter().map(|(_, image)| image).collect();
            typed.sort();
            patched.sort();
            assert_eq!(typed, patched, "{name} under {mode}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} mutated objects checked");
}

/// The artifact names its dependencies' source files as `/cargo/…` (the
/// Makefile's `--remap-path-prefix`) and its own relative to the repository,
/// never by the paths of the machine that built it: those differ from clone to
/// clone (so would the bytes), and are nobody's business.
#[test]
fn the_artifact_names_no_path_of_the_build_machine() {
    let wasm = std::fs::read(policy_wasm()).unwrap();
    let holds = |text: &str| wasm.windows(text.len()).any(|w| w == text.as_bytes());
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".cargo"));
    for path in [repository, cargo_home.as_path()] {
        let path = format!("{}/", path.display());
        assert!(!holds(&path), "policy.wasm names {path}: build it with `make policy.wasm`");
    }
    assert!(holds("/cargo/registry/src/"), "the dependencies' source files are named under /cargo/");
}
