//! The report mode (`action: report`) on the embedded host, with requests
//! shaped as Kubewarden's audit scanner builds them for a running Pod
//! (kubewarden-controller `internal/audit-scanner`, `newAdmissionRequest`):
//! CREATE, the live object with its status and owner, an empty `userInfo`,
//! `oldObject` null, no `dryRun`, and the resource named by its kind. The
//! scanner records `fail` when the answer is not allowed, with its message.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use image_redirect_e2e::demo::policy_wasm;
use image_redirect_e2e::{Outcome, Policy, Registry};
use serde_json::{Value, json};

/// What the mirror holds, answered by the host as policy-server answers from a registry.
struct Mirror(HashMap<&'static str, &'static str>);

impl Registry for Mirror {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.0.get(image).map(|d| d.to_string()).ok_or_else(|| "manifest unknown".to_owned())
    }
}

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let mirror = Mirror(HashMap::from([("harbor.edge.local/dockerhub/library/nginx:1.27", DIGEST)]));
        Policy::load(&policy_wasm())
            .unwrap_or_else(|e| panic!("{e:#}\n(build it with `make policy.wasm`, or set POLICY_WASM)"))
            .with_registry(Arc::new(mirror))
    })
}

/// The settings of examples/audit.yaml, with `verify` as given.
fn report(verify: bool) -> Value {
    json!({"action": "report", "exclude": {"namespaces": ["kube-system"]}, "mappings": [
        {"source": "docker.io", "target": "harbor.edge.local/dockerhub", "verify": verify},
        {"source": "quay.io", "target": "harbor.edge.local/quay", "verify": verify}]})
}

/// A running Pod of a Deployment, as the API server lists it.
fn live_pod(namespace: &str, annotations: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-7d4b9c8f5d-x2x9q",
            "generateName": "web-7d4b9c8f5d-",
            "namespace": namespace,
            "uid": "3f0c6a1e-2b1d-4c5e-9f7a-8d6b5c4a3e2f",
            "resourceVersion": "48213",
            "creationTimestamp": "2026-11-30T09:12:44Z",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5d"},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f5d",
                                 "uid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                               "time": "2026-11-30T09:12:44Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
        },
        "spec": {"containers": containers, "nodeName": "edge-1", "restartPolicy": "Always"},
        "status": {"phase": "Running", "podIP": "10.42.0.17",
                   "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "image": "docker.io/library/nginx:1.27",
                                          "imageID": format!("docker.io/library/nginx@{DIGEST}")}]}
    })
}

/// The AdmissionReview the scanner sends for `object` (Go's encoding of
/// `admissionv1.AdmissionReview` with only `Request` set).
fn scanned(object: Value) -> Value {
    let kind = json!({"group": "", "version": "v1", "kind": "Pod"});
    json!({"request": {
        "uid": object["metadata"]["uid"],
        "kind": kind,
        "resource": {"group": "", "version": "v1", "resource": "Pod"},
        "requestKind": kind,
        "name": object["metadata"]["name"],
        "namespace": object["metadata"]["namespace"],
        "operation": "CREATE",
        "userInfo": {},
        "object": object,
        "oldObject": null,
        "options": null
    }})
}

fn web_and_side() -> Value {
    json!([{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "quay.io/x:1"}])
}

#[test]
fn each_running_pod_is_a_fail_or_a_pass_as_the_scanner_reads_it() {
    let redirected = live_pod(
        "shop",
        json!({"image-redirect.io/original-images": "{\"web\":\"nginx:1.27\"}"}),
        json!([{"name": "web", "image": "harbor.edge.local/dockerhub/library/nginx:1.27"}]),
    );
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value, Option<&str>)> = vec![
        ("both_would_move",        report(false), live_pod("shop", json!({}), web_and_side()),
            Some("web: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27; side: quay.io/x:1 -> harbor.edge.local/quay/x:1")),
        ("the_mirror_lacks_one",   report(true),  live_pod("shop", json!({}), web_and_side()),
            Some("web: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27; side: quay.io/x:1 -> harbor.edge.local/quay/x:1: not at the mirror")),
        ("no_rule_for_it",         report(false), live_pod("shop", json!({}), json!([{"name": "web", "image": "ghcr.io/acme/web:2"}])),
            Some("web: ghcr.io/acme/web:2 is outside every mirror and no rule moves it")),
        ("already_redirected",     report(true),  redirected, None),
        ("excluded_namespace",     report(false), live_pod("kube-system", json!({}), web_and_side()), None),
    ];
    for (name, settings, pod, expected) in cases {
        let evaluation = policy().evaluate(&settings, &scanned(pod)).unwrap();
        let response = evaluation.admission_response();
        match expected {
            Some(message) => {
                let rejected = Outcome::Rejected { message: message.to_owned(), code: None, warnings: vec![] };
                assert_eq!(evaluation.outcome, rejected, "{name}");
                assert_eq!(response["status"]["message"], message, "{name}");
                assert_eq!(response["allowed"], false, "{name}");
            }
            None => assert_eq!(evaluation.outcome, Outcome::Accepted { patch: None, warnings: vec![] }, "{name}"),
        }
        assert_eq!(
            response["uid"], "3f0c6a1e-2b1d-4c5e-9f7a-8d6b5c4a3e2f",
            "{name}: the scanner matches answers by uid"
        );
    }
}

#[test]
fn report_mode_never_patches_even_under_the_enforcers_rules() {
    // The request the API server itself sends at admission, not the scanner's: still no patch.
    let mut review = scanned(live_pod("shop", json!({}), web_and_side()));
    review["request"]["userInfo"] = json!({"username": "system:serviceaccount:kube-system:replicaset-controller"});
    review["request"]["dryRun"] = json!(false);
    let evaluation = policy().evaluate(&report(false), &review).unwrap();
    assert!(evaluation.patch().is_none());
    assert!(matches!(evaluation.outcome, Outcome::Rejected { .. }));
}
