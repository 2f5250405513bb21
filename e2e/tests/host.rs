//! The embedded host itself, on the floor guests (e2e/floor) instead of the
//! policy: policy-server's call sequence, the patch it derives, fresh
//! instances, host calls and guest failures — whatever the policy decides.
//!
//! The floors are built by `make target/floor/mutate.wasm target/floor/accept.wasm`;
//! FLOOR_MUTATE_WASM and FLOOR_ACCEPT_WASM override their paths (as for the benchmarks).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use image_redirect_e2e::{Outcome, Policy, Registry};
use serde_json::{Value, json};

/// Echoes `request.object` as `mutated_object`.
fn mutate() -> &'static Policy {
    static FLOOR: OnceLock<Policy> = OnceLock::new();
    FLOOR.get_or_init(|| load("FLOOR_MUTATE_WASM", "mutate.wasm"))
}

/// Accepts without a `mutated_object`.
fn accept() -> &'static Policy {
    static FLOOR: OnceLock<Policy> = OnceLock::new();
    FLOOR.get_or_init(|| load("FLOOR_ACCEPT_WASM", "accept.wasm"))
}

fn floor_path(var: &str, file: &str) -> PathBuf {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/floor").join(file);
    std::env::var_os(var).map_or(default, PathBuf::from)
}

fn load(var: &str, file: &str) -> Policy {
    Policy::load(&floor_path(var, file)).unwrap_or_else(|e| {
        panic!(
            "{e:#}\nthe floor guests are built with `make target/floor/mutate.wasm target/floor/accept.wasm` \
             (from the repository root; needs `rustup target add wasm32-wasip1`), or set {var}"
        )
    })
}

const UID: &str = "0df28fbd-5f5f-4e6b-a7a5-d6b5bd1e0f3a";

fn review() -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": UID,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE",
            "namespace": "default",
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": "default", "creationTimestamp": null},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
            },
            "oldObject": null,
            "dryRun": false
        }
    })
}

#[test]
fn the_protocol_calls_answer_as_policy_server_expects() {
    for floor in [mutate(), accept()] {
        assert_eq!(floor.call("protocol_version", b"").unwrap(), br#""v1""#);
        assert_eq!(floor.call("validate_settings", b"{}").unwrap(), br#"{"valid":true,"message":null}"#);
    }
}

#[test]
fn an_echoed_object_is_accepted_without_a_patch() {
    let accepted = Outcome::Accepted { patch: None, warnings: vec![] };
    #[rustfmt::skip]
    let cases: [(&str, &Policy, Value); 4] = [
        ("mutating floor, AdmissionReview", mutate(), review()),
        ("mutating floor, bare AdmissionRequest", mutate(), review()["request"].clone()),
        ("accepting floor, AdmissionReview", accept(), review()),
        ("accepting floor, bare AdmissionRequest", accept(), review()["request"].clone()),
    ];
    for (name, floor, input) in cases {
        let evaluation = floor.evaluate(&json!({}), &input).unwrap();
        assert_eq!(evaluation.request, review()["request"], "{name}");
        assert_eq!(evaluation.outcome, accepted, "{name}");
        assert_eq!(evaluation.patch_json(), json!([]), "{name}");
        assert_eq!(evaluation.patched_object().unwrap(), review()["request"]["object"], "{name}");
        assert_eq!(evaluation.admission_response(), json!({"uid": UID, "allowed": true}), "{name}");
    }
}

#[test]
fn an_input_without_a_request_is_refused_before_the_guest_runs() {
    let error = mutate().evaluate(&json!({}), &json!({"kind": "Pod"})).unwrap_err();
    assert_eq!(format!("{error:#}"), "the input is neither an AdmissionReview nor an AdmissionRequest");
}

#[test]
fn every_call_runs_on_a_fresh_instance() {
    // One instance keeps its memory between calls: the counter proves it counts.
    let instance = mutate().instantiate().unwrap();
    let counts: Vec<Vec<u8>> = (0..3).map(|_| instance.call("call_count", b"").unwrap()).collect();
    assert_eq!(counts, [b"1", b"2", b"3"]);
    // Policy::call, like policy-server, never reuses one.
    let counts: Vec<Vec<u8>> = (0..3).map(|_| mutate().call("call_count", b"").unwrap()).collect();
    assert_eq!(counts, [b"1", b"1", b"1"]);
    let first = mutate().evaluate(&json!({}), &review()).unwrap();
    assert_eq!(mutate().evaluate(&json!({}), &review()).unwrap(), first);
}

/// Digests answered from a table; everything else is unknown to the registry.
struct Digests(HashMap<&'static str, &'static str>);

impl Registry for Digests {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.0.get(image).map(|d| d.to_string()).ok_or_else(|| format!("manifest unknown: {image}"))
    }
}

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// What a guest gets back for `binding/namespace/operation` with `payload`.
fn host_call(floor: &Policy, call: &str, payload: &str) -> Value {
    let [binding, namespace, operation] = call.splitn(3, '/').collect::<Vec<_>>()[..] else { panic!("{call}") };
    let request = json!({"binding": binding, "namespace": namespace, "operation": operation, "payload": payload});
    serde_json::from_slice(&floor.call("host_call", &serde_json::to_vec(&request).unwrap()).unwrap()).unwrap()
}

#[test]
fn host_calls_get_what_policy_server_answers() {
    let registry = Policy::load(&floor_path("FLOOR_MUTATE_WASM", "mutate.wasm"))
        .unwrap()
        .with_registry(Arc::new(Digests(HashMap::from([("harbor.local/library/nginx:1.27", DIGEST)]))));
    #[rustfmt::skip]
    let cases: [(&str, &Policy, &str, &str, Value); 7] = [
        ("the SDK logger gets an empty success", mutate(), "kubewarden/tracing/log",
            r#"{"level":"info","message":"hello"}"#, json!({"ok": ""})),
        ("without a registry, digests fail", mutate(), "kubewarden/oci/v1/manifest_digest", r#""nginx:1.27""#,
            json!({"error": "Host error: no registry is reachable from this host (asked for nginx:1.27)"})),
        ("a known image gets its digest", &registry, "kubewarden/oci/v1/manifest_digest",
            r#""harbor.local/library/nginx:1.27""#, json!({"ok": format!(r#"{{"digest":"{DIGEST}"}}"#)})),
        ("an unknown image gets the registry's error", &registry, "kubewarden/oci/v1/manifest_digest",
            r#""harbor.local/library/redis:7""#, json!({"error": "Host error: manifest unknown: harbor.local/library/redis:7"})),
        ("the image must be a JSON string", &registry, "kubewarden/oci/v1/manifest_digest", "harbor.local/x",
            json!({"error": "Host error: expected value at line 1 column 1"})),
        ("other capabilities are named in the error", mutate(), "kubewarden/kubernetes/list_resources_by_namespace", "{}",
            json!({"error": "Host error: this host does not answer kubewarden/kubernetes/list_resources_by_namespace"})),
        ("other bindings too", mutate(), "wasmcloud/messaging/publish", "",
            json!({"error": "Host error: this host does not answer wasmcloud/messaging/publish"})),
    ];
    for (name, floor, call, payload, expected) in cases {
        assert_eq!(host_call(floor, call, payload), expected, "{name}");
    }
}

#[test]
fn guest_failures_are_errors_not_host_panics() {
    #[rustfmt::skip]
    let cases = [
        ("a waPC error", "validate", "not json",
            "the policy's validate failed: Guest call failure: expected ident at line 1 column 2"),
        ("an unknown operation", "mutate", "",
            "the policy's mutate failed: Guest call failure: No handler registered for function mutate"),
        ("a trap", "trap", "",
            "the policy's trap failed: Guest call failure: error while executing at wasm backtrace:"),
    ];
    for (name, operation, payload, expected) in cases {
        let error = format!("{:#}", mutate().call(operation, payload.as_bytes()).unwrap_err());
        // A trap's message goes on with the wasm backtrace, whose offsets change with every build.
        assert_eq!(error.lines().next(), Some(expected), "{name}: {error}");
    }
    // The compiled module survives a failed instance.
    assert_eq!(mutate().call("protocol_version", b"").unwrap(), br#""v1""#);
}
