//! Custom resources of operators, through the built policy.wasm on the
//! embedded host: the images at the field paths the settings list, with the
//! exact patch and warnings, and the Pods the operator then creates.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use image_redirect_e2e::{Outcome, Policy, Registry};
use serde_json::{Value, json};

/// The policy under test: `$POLICY_WASM`, or the repository's policy.wasm (`make policy.wasm`).
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = std::env::var_os("POLICY_WASM")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy.wasm"), PathBuf::from);
        let policy = Policy::load(&path)
            .unwrap_or_else(|e| panic!("{e:#}\n(build it with `make policy.wasm`, or set POLICY_WASM)"));
        policy.with_registry(Arc::new(EmptyMirror))
    })
}

/// A mirror that has no image at all.
struct EmptyMirror;

impl Registry for EmptyMirror {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        Err(format!("manifest unknown: {image}"))
    }
}

const CNPG: &str = "ghcr.io/cloudnative-pg/postgresql:16.4";
const CNPG_MIRRORED: &str = "harbor.local/ghcr/cloudnative-pg/postgresql:16.4";

/// The settings: the CloudNativePG and Prometheus resources, and a
/// Tekton Pipeline whose step images sit two lists deep.
fn settings() -> Value {
    json!({
        "mappings": [
            {"source": "ghcr.io", "target": "harbor.local/ghcr", "pullSecret": "harbor-creds"},
            {"source": "quay.io", "target": "harbor.local/quay"},
            {"source": "docker.io", "target": "harbor.local/hub"},
        ],
        "exclude": {"images": ["quay.io/oauth2-proxy/*"]},
        "resources": [
            {"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName"]},
            {"apiGroup": "monitoring.coreos.com", "kind": "Prometheus",
             "images": ["spec.image", "spec.containers[*].image", "spec.initContainers[*].image"]},
            {"apiGroup": "tekton.dev", "kind": "Pipeline", "images": ["spec.tasks[*].taskSpec.steps[*].image"]},
        ],
    })
}

fn request(group: &str, kind: &str, object: Value) -> Value {
    json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "resource": {"group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase())},
        "namespace": "db",
        "operation": "CREATE",
        "object": object,
    })
}

fn cluster(image_name: Value) -> Value {
    json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "db"},
           "spec": {"instances": 3, "imageName": image_name, "storage": {"size": "1Gi"}}})
}

fn prometheus(spec: Value) -> Value {
    json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
           "metadata": {"name": "k8s", "annotations": {"team": "observability"}}, "spec": spec})
}

fn originals(entries: Value) -> Value {
    json!({"op": "add", "path": "/metadata/annotations", "value": {"image-redirect.io/original-images": entries.to_string()}})
}

fn image(path: &str, image: &str) -> Value {
    json!({"op": "replace", "path": path, "value": image})
}

/// The answer as a table shows it: the patch and warnings, or the rejection.
fn answer(outcome: &Outcome) -> (Value, Vec<String>) {
    match outcome {
        Outcome::Accepted { patch, warnings } => (serde_json::to_value(patch).unwrap(), warnings.clone()),
        Outcome::Rejected { message, warnings, .. } => (json!({"rejected": message}), warnings.clone()),
        Outcome::InvalidSettings(message) => (json!({"invalid settings": message}), vec![]),
    }
}

#[test]
fn every_custom_resource_gets_its_exact_patch_and_warnings() {
    let verified = {
        let mut s = settings();
        s["mappings"][0] =
            json!({"source": "ghcr.io", "target": "harbor.local/ghcr", "verify": true, "onMissing": "reject"});
        s
    };
    let pipeline = json!({"apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "build"}, "spec": {"tasks": [
        {"name": "fetch", "taskSpec": {"steps": [{"name": "clone", "image": "alpine/git:2.45"}]}},
        {"name": "test", "taskRef": {"name": "shared"}},
        {"name": "build", "taskSpec": {"steps": [{"name": "compile", "image": "golang:1.23"}, {"name": "scan", "image": "quay.io/team/scan:1"}]}},
    ]}});
    let no_pull_secret = "pull secret harbor-creds is not added: the Cluster must reference it itself";
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value, Value, Vec<String>)> = vec![
        // (name, settings, request, patch or rejection, warnings)
        ("cnpg_cluster", settings(), request("postgresql.cnpg.io", "Cluster", cluster(json!(CNPG))),
            json!([originals(json!({"spec.imageName": CNPG})), image("/spec/imageName", CNPG_MIRRORED)]),
            vec![format!("image redirected: {CNPG} -> {CNPG_MIRRORED}"), no_pull_secret.to_owned()]),
        ("prometheus_with_containers", settings(), request("monitoring.coreos.com", "Prometheus", prometheus(json!({
            "image": "quay.io/prometheus/prometheus:v2.54.1",
            "containers": [{"name": "config-reloader", "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0"},
                           {"name": "oauth-proxy", "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0"},
                           {"name": "prometheus", "args": ["--web.enable-lifecycle"]}],
            "initContainers": [{"name": "init", "image": "busybox:1.36"}]}))),
            json!([
                {"op": "add", "path": "/metadata/annotations/image-redirect.io~1original-images", "value": json!({
                    "spec.containers[0].image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0",
                    "spec.image": "quay.io/prometheus/prometheus:v2.54.1",
                    "spec.initContainers[0].image": "busybox:1.36"}).to_string()},
                image("/spec/containers/0/image", "harbor.local/quay/prometheus-operator/prometheus-config-reloader:v0.76.0"),
                image("/spec/image", "harbor.local/quay/prometheus/prometheus:v2.54.1"),
                image("/spec/initContainers/0/image", "harbor.local/hub/library/busybox:1.36"),
            ]),
            vec![
                "image redirected: quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0 -> harbor.local/quay/prometheus-operator/prometheus-config-reloader:v0.76.0".to_owned(),
                "image redirected: quay.io/prometheus/prometheus:v2.54.1 -> harbor.local/quay/prometheus/prometheus:v2.54.1".to_owned(),
                "image redirected: busybox:1.36 -> harbor.local/hub/library/busybox:1.36".to_owned(),
            ]),
        ("a_path_through_two_lists", settings(), request("tekton.dev", "Pipeline", pipeline),
            json!([
                originals(json!({"spec.tasks[0].taskSpec.steps[0].image": "alpine/git:2.45",
                                 "spec.tasks[2].taskSpec.steps[0].image": "golang:1.23",
                                 "spec.tasks[2].taskSpec.steps[1].image": "quay.io/team/scan:1"})),
                image("/spec/tasks/0/taskSpec/steps/0/image", "harbor.local/hub/alpine/git:2.45"),
                image("/spec/tasks/2/taskSpec/steps/0/image", "harbor.local/hub/library/golang:1.23"),
                image("/spec/tasks/2/taskSpec/steps/1/image", "harbor.local/quay/team/scan:1"),
            ]),
            vec![
                "image redirected: alpine/git:2.45 -> harbor.local/hub/alpine/git:2.45".to_owned(),
                "image redirected: golang:1.23 -> harbor.local/hub/library/golang:1.23".to_owned(),
                "image redirected: quay.io/team/scan:1 -> harbor.local/quay/team/scan:1".to_owned(),
            ]),
        ("absent_paths", settings(), request("monitoring.coreos.com", "Prometheus", prometheus(json!({"replicas": 2, "containers": null}))),
            Value::Null, vec![]),
        ("a_number_where_a_string_was_expected", settings(), request("postgresql.cnpg.io", "Cluster", cluster(json!(16))),
            Value::Null, vec!["spec.imageName: expected a string, found a number: left as is".to_owned()]),
        ("already_redirected", settings(), request("postgresql.cnpg.io", "Cluster", cluster(json!(CNPG_MIRRORED))),
            Value::Null, vec![]),
        ("excluded_image", settings(), request("monitoring.coreos.com", "Prometheus",
            prometheus(json!({"containers": [{"name": "oauth-proxy", "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0"}]}))),
            Value::Null, vec![]),
        ("verify_missing_under_reject", verified, request("postgresql.cnpg.io", "Cluster", cluster(json!(CNPG))),
            json!({"rejected": format!("image {CNPG} would be redirected to {CNPG_MIRRORED}, which is not available: \
                manifest unknown: {CNPG_MIRRORED}")}),
            vec![]),
        ("unlisted_kind", settings(), request("postgresql.cnpg.io", "Pooler", cluster(json!(CNPG))), Value::Null, vec![]),
    ];
    let mut failures = Vec::new();
    for (name, settings, request, patch, warnings) in cases {
        let got = answer(&policy().evaluate(&settings, &request).unwrap().outcome);
        if got != (patch.clone(), warnings.clone()) {
            failures.push(format!("{name}:\n   got      {got:?}\n   expected {:?}", (patch, warnings)));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The loop this feature ends: CloudNativePG creates its Pods with the
/// Cluster's `imageName`. Once the Cluster is redirected, the Pod rule finds
/// that image already redirected and leaves the Pod exactly as the operator
/// wrote it, so the operator sees no difference to correct.
#[test]
fn a_pod_created_from_a_redirected_cluster_is_left_unchanged() {
    let created =
        policy().evaluate(&settings(), &request("postgresql.cnpg.io", "Cluster", cluster(json!(CNPG)))).unwrap();
    let stored = created.patched_object().unwrap();
    let image = stored["spec"]["imageName"].as_str().unwrap();
    assert_eq!(image, CNPG_MIRRORED);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pg-1", "namespace": "db", "labels": {"cnpg.io/cluster": "pg"}},
        "spec": {"containers": [{"name": "postgres", "image": image}],
                 "imagePullSecrets": [{"name": "harbor-creds"}]}});
    let evaluation = policy().evaluate(&settings(), &request("", "Pod", pod)).unwrap();
    assert_eq!(evaluation.outcome, Outcome::Accepted { patch: None, warnings: vec![] });

    // And the Cluster itself, stored and updated later, stays as it is.
    let mut update = request("postgresql.cnpg.io", "Cluster", stored.clone());
    update["operation"] = json!("UPDATE");
    update["oldObject"] = stored;
    let evaluation = policy().evaluate(&settings(), &update).unwrap();
    assert_eq!(evaluation.outcome, Outcome::Accepted { patch: None, warnings: vec![] });
}
