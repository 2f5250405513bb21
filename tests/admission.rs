//! Whole admission requests through the `validate` operation, asserting the
//! exact JSON Patch policy-server would send to the API server.

mod common;

use std::collections::BTreeMap;

use common::{SHA256, Serves, pod_request, review, review_bytes, review_with};
use serde_json::{Value, json};

fn hub() -> Value {
    json!({"mappings": [{"source": "docker.io", "target": "harbor.local/hub"}]})
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"containers": containers}})
}

fn originals(entries: Value) -> Value {
    Value::String(entries.to_string())
}

#[test]
fn every_kind_and_container_list() {
    let spec = json!({
        "containers": [{"name": "app", "image": "nginx:1.27"}],
        "initContainers": [{"name": "init", "image": "busybox"}],
        "ephemeralContainers": [{"name": "debug", "image": "alpine"}],
    });
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": spec});
    #[rustfmt::skip]
    let kinds: Vec<(&str, &str, Value, &str)> = vec![
        // (group, kind, object, path of the pod inside it)
        ("",      "Pod",                   json!({"metadata": {"name": "p"}, "spec": spec}),                  ""),
        ("apps",  "Deployment",            json!({"spec": {"template": template}}),                           "/spec/template"),
        ("apps",  "ReplicaSet",            json!({"spec": {"template": template}}),                           "/spec/template"),
        ("apps",  "StatefulSet",           json!({"spec": {"template": template}}),                           "/spec/template"),
        ("apps",  "DaemonSet",             json!({"spec": {"template": template}}),                           "/spec/template"),
        ("",      "ReplicationController", json!({"spec": {"template": template}}),                           "/spec/template"),
        ("batch", "Job",                   json!({"spec": {"template": template}}),                           "/spec/template"),
        ("batch", "CronJob",               json!({"spec": {"jobTemplate": {"spec": {"template": template}}}}), "/spec/jobTemplate/spec/template"),
    ];
    for (group, kind, object, at) in kinds {
        let request = json!({"kind": {"group": group, "version": "v1", "kind": kind}, "operation": "CREATE",
                             "namespace": "default", "object": object});
        let r = review(hub(), request);
        let expected = json!([
            {"op": "add", "path": format!("{at}/metadata/annotations"), "value": {
                "image-redirect.io/original-images": originals(json!({"app": "nginx:1.27", "debug": "alpine", "init": "busybox"}))}},
            {"op": "replace", "path": format!("{at}/spec/containers/0/image"), "value": "harbor.local/hub/library/nginx:1.27"},
            {"op": "replace", "path": format!("{at}/spec/ephemeralContainers/0/image"), "value": "harbor.local/hub/library/alpine"},
            {"op": "replace", "path": format!("{at}/spec/initContainers/0/image"), "value": "harbor.local/hub/library/busybox"},
        ]);
        assert!(r.accepted, "{kind}");
        assert_eq!(r.patch, expected, "{kind}");
        assert_eq!(
            r.warnings,
            [
                "image redirected: nginx:1.27 -> harbor.local/hub/library/nginx:1.27",
                "image redirected: busybox -> harbor.local/hub/library/busybox",
                "image redirected: alpine -> harbor.local/hub/library/alpine",
            ],
            "{kind}"
        );
    }
}

#[test]
fn requests_accepted_without_looking() {
    let object = pod(json!([{"name": "app", "image": "nginx"}]));
    let with = |changes: Value| {
        let mut request = pod_request("CREATE", object.clone());
        request.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        request
    };
    let mirror = pod(json!([{"name": "app", "image": "nginx"}]));
    let mut mirror = mirror;
    mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
    let excluding = json!({"mappings": [{"source": "docker.io", "target": "harbor.local/hub"}],
                           "exclude": {"namespaces": ["kube-system"]}});
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value)> = vec![
        ("disabled",             json!({"enabled": false}),  with(json!({}))),
        ("delete_without_object",hub(),                      with(json!({"operation": "DELETE", "object": null}))),
        ("connect",              hub(),                      with(json!({"operation": "CONNECT"}))),
        ("excluded_namespace",   excluding,                  with(json!({"namespace": "kube-system"}))),
        ("unsupported_kind",     hub(),                      with(json!({"kind": {"group": "", "version": "v1", "kind": "ConfigMap"}}))),
        ("same_kind_other_group",hub(),                      with(json!({"kind": {"group": "example.com", "version": "v1", "kind": "Deployment"}}))),
        ("status_subresource",   hub(),                      with(json!({"operation": "UPDATE", "subResource": "status"}))),
        ("mirror_pod",           hub(),                      with(json!({"object": mirror}))),
        ("no_rule_matches",      json!({"mappings": [{"source": "quay.io", "target": "m.local/q"}]}), with(json!({}))),
    ];
    for (name, settings, request) in cases {
        let r = review(settings, request);
        assert!(r.accepted && r.mutated.is_none() && r.warnings.is_empty(), "{name}: {:?} {:?}", r.mutated, r.warnings);
    }
}

#[test]
fn only_image_bytes_change_and_unknown_fields_survive() {
    let text = r#"{"kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","creationTimestamp":null,"annotations":{"z":"1"}},
 "spec":{"futureField":{"nested":[1.50,2e3,"\u00e9"]},"containers":[
   {"name":"app","image":"nginx:1.27","futureContainerField":true,"env":[{"name":"A","value":"docker.io/nginx"}]}]},
 "status":{}}}"#;
    let payload = format!(
        r#"{{"request":{text},"settings":{{"mappings":[{{"source":"docker.io","target":"harbor.local/hub"}}],"annotateOriginals":false}}}}"#
    );
    let out: Value = serde_json::from_slice(&image_redirect_policy::admission::validate(
        payload.as_bytes(),
        &image_redirect_policy::mirror::NoMirror,
    ))
    .unwrap();
    // Read the mutated object back as text: everything but the image is as sent.
    let start = text.find("{\"apiVersion\"").unwrap();
    let original = &text[start..text.len() - 1];
    let expected: Value =
        serde_json::from_str(&original.replace("\"nginx:1.27\"", "\"harbor.local/hub/library/nginx:1.27\"")).unwrap();
    assert_eq!(out["mutated_object"], expected);
    let r = review_bytes(payload.as_bytes(), Some(&serde_json::from_str(original).unwrap()));
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "harbor.local/hub/library/nginx:1.27"}])
    );
}

#[test]
fn feeding_the_output_back_changes_nothing() {
    let settings_list = [
        hub(),
        json!({"prefix": {"target": "10.10.254.254:8000/spectro-images"}}),
        json!({"mappings": [{"source": "docker.io", "target": "harbor.local/hub", "pullSecret": "hub"}],
               "prefix": {"target": "edge.local:30003/mirror", "pullSecret": "edge"}}),
    ];
    for settings in settings_list {
        let first = review(
            settings.clone(),
            pod_request(
                "CREATE",
                pod(json!([{"name": "a", "image": "nginx"}, {"name": "b", "image": "quay.io/x/y:1"}])),
            ),
        );
        let mutated = first.mutated.expect("first pass redirects");
        for operation in ["CREATE", "UPDATE"] {
            let mut request = pod_request(operation, mutated.clone());
            request["oldObject"] = mutated.clone();
            let again = review(settings.clone(), request);
            assert!(again.accepted && again.mutated.is_none() && again.warnings.is_empty(), "{settings} {operation}");
        }
    }
}

#[test]
fn originals_annotation_is_merged_never_lost() {
    let set = |annotations: Value| {
        let mut object = pod(json!([{"name": "app", "image": "nginx"}]));
        object["metadata"]["annotations"] = annotations;
        object
    };
    let key = "/metadata/annotations/image-redirect.io~1original-images";
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value)> = vec![
        ("other_annotations_kept", set(json!({"team": "a"})),
            json!({"op": "add", "path": key, "value": originals(json!({"app": "nginx"}))})),
        ("null_annotations",       set(Value::Null),
            json!({"op": "replace", "path": "/metadata/annotations", "value": {"image-redirect.io/original-images": originals(json!({"app": "nginx"}))}})),
        ("entries_merged",         set(json!({"image-redirect.io/original-images": originals(json!({"sidecar": "envoy:1"}))})),
            json!({"op": "replace", "path": key, "value": originals(json!({"app": "nginx", "sidecar": "envoy:1"}))})),
        ("this_redirect_wins",     set(json!({"image-redirect.io/original-images": originals(json!({"app": "nginx:old"}))})),
            json!({"op": "replace", "path": key, "value": originals(json!({"app": "nginx"}))})),
    ];
    for (name, object, annotation_op) in cases {
        let r = review(hub(), pod_request("CREATE", object));
        let image_op =
            json!({"op": "replace", "path": "/spec/containers/0/image", "value": "harbor.local/hub/library/nginx"});
        assert_eq!(r.patch, json!([annotation_op, image_op]), "{name}");
    }
    let mut no_metadata = pod(json!([{"image": "nginx"}]));
    no_metadata.as_object_mut().unwrap().remove("metadata");
    let r = review(hub(), pod_request("CREATE", no_metadata));
    assert_eq!(
        r.patch[0],
        json!({"op": "add", "path": "/metadata", "value": {"annotations": {
        "image-redirect.io/original-images": originals(json!({"containers[0]": "nginx"}))}}})
    );

    let r = review(hub(), pod_request("CREATE", set(json!({"image-redirect.io/original-images": "not json"}))));
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "harbor.local/hub/library/nginx"}])
    );
    assert_eq!(
        r.warnings[1],
        "annotation image-redirect.io/original-images is not a JSON object of image names: left as is"
    );

    let mut off = hub();
    off["annotateOriginals"] = json!(false);
    let r = review(off, pod_request("CREATE", set(json!({}))));
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "harbor.local/hub/library/nginx"}])
    );
}

#[test]
fn pull_secrets_are_added_once() {
    let settings = json!({"annotateOriginals": false, "mappings": [
        {"source": "docker.io", "target": "harbor.local/hub", "pullSecret": "harbor-creds"},
        {"source": "quay.io", "target": "harbor.local/quay", "pullSecret": "harbor-creds"},
        {"source": "gcr.io", "target": "other.local/gcr", "pullSecret": "other-creds"},
    ]});
    let containers = json!([{"name": "a", "image": "nginx"}, {"name": "b", "image": "quay.io/x"}, {"name": "c", "image": "gcr.io/y"}]);
    let with = |secrets: Option<Value>| {
        let mut object = pod(containers.clone());
        if let Some(secrets) = secrets {
            object["spec"]["imagePullSecrets"] = secrets;
        }
        pod_request("CREATE", object)
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<Value>, Value)> = vec![
        ("absent",         None,
            json!({"op": "add", "path": "/spec/imagePullSecrets", "value": [{"name": "harbor-creds"}, {"name": "other-creds"}]})),
        ("null",           Some(Value::Null),
            json!({"op": "replace", "path": "/spec/imagePullSecrets", "value": [{"name": "harbor-creds"}, {"name": "other-creds"}]})),
        ("one_present",    Some(json!([{"name": "harbor-creds"}])),
            json!({"op": "add", "path": "/spec/imagePullSecrets/1", "value": {"name": "other-creds"}})),
        ("empty_list",     Some(json!([])),
            json!({"op": "add", "path": "/spec/imagePullSecrets/0", "value": {"name": "harbor-creds"}})),
    ];
    for (name, secrets, secret_op) in cases {
        let r = review(settings.clone(), with(secrets));
        let ops: Vec<&Value> = r
            .patch
            .as_array()
            .unwrap()
            .iter()
            .filter(|op| op["path"].as_str().unwrap().contains("imagePullSecrets"))
            .collect();
        assert_eq!(ops[0], &secret_op, "{name}");
        if name == "empty_list" {
            assert_eq!(
                ops[1],
                &json!({"op": "add", "path": "/spec/imagePullSecrets/1", "value": {"name": "other-creds"}})
            );
        }
    }
}

#[test]
fn a_pod_update_redirects_only_what_it_sets() {
    let settings = json!({"annotateOriginals": false, "mappings": [
        {"source": "docker.io", "target": "harbor.local/hub"},
        {"source": "quay.io", "target": "harbor.local/quay", "pullSecret": "quay-creds"}]});
    let old = pod(json!([{"name": "app", "image": "nginx:1.26"}, {"name": "side", "image": "redis"}]));
    let new = pod(json!([{"name": "app", "image": "nginx:1.27"}, {"name": "side", "image": "redis"}]));
    let mut request = pod_request("UPDATE", new);
    request["oldObject"] = old;
    let r = review(settings.clone(), request);
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "harbor.local/hub/library/nginx:1.27"}])
    );

    // imagePullSecrets cannot change on a Pod update: the image stays, and the user is told why.
    let mut request = pod_request("UPDATE", pod(json!([{"name": "app", "image": "quay.io/x:2"}])));
    request["oldObject"] = pod(json!([{"name": "app", "image": "quay.io/x:1"}]));
    let r = review(settings, request);
    assert!(r.mutated.is_none());
    assert_eq!(
        r.warnings,
        ["image left unchanged: quay.io/x:2: it needs pull secret quay-creds, which a Pod update cannot add"]
    );
}

#[test]
fn kubectl_debug_gets_its_ephemeral_container_redirected() {
    let old = json!({"metadata": {"name": "web"}, "spec": {
        "containers": [{"name": "app", "image": "nginx"}],
        "ephemeralContainers": [{"name": "debugger-1", "image": "busybox"}]}});
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "debugger-2", "image": "busybox:1.36", "targetContainerName": "app"}));
    let mut request = pod_request("UPDATE", new);
    request["subResource"] = json!("ephemeralcontainers");
    request["oldObject"] = old;
    let r = review(hub(), request);
    // Existing containers cannot change through this subresource, and it drops metadata changes.
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/ephemeralContainers/1/image", "value": "harbor.local/hub/library/busybox:1.36"}])
    );
}

#[test]
fn pull_policy_never_keeps_the_node_image() {
    let r = review(
        hub(),
        pod_request(
            "CREATE",
            pod(json!([
        {"name": "a", "image": "nginx", "imagePullPolicy": "Never"},
        {"name": "b", "image": "quay.io/x", "imagePullPolicy": "Never"}])),
        ),
    );
    assert!(r.mutated.is_none());
    assert_eq!(
        r.warnings,
        ["image left unchanged: nginx: imagePullPolicy is Never (it would go to harbor.local/hub/library/nginx)"]
    );
}

#[test]
fn warnings_explain_images_left_alone_and_stop_at_twenty() {
    let prefix = json!({"prefix": {"target": "edge.local/mirror"}});
    let r = review(
        prefix.clone(),
        pod_request(
            "CREATE",
            pod(json!([
        {"name": "a", "image": "localhost:5000/app"}, {"name": "b", "image": "Bad Image"}, {"name": "c", "image": "x".repeat(300)}])),
        ),
    );
    assert!(r.mutated.is_none());
    assert_eq!(r.warnings, [
        "image left unchanged: localhost:5000/app: registry localhost:5000 has a port, which cannot become a path segment under the prefix".to_owned(),
        "image left unchanged: \"Bad Image\": not a valid image reference: uppercase letters are not allowed".to_owned(),
        format!("image left unchanged: {:?}…: not a valid image reference: the repository name is longer than 255 characters", "x".repeat(100)),
    ]);

    let many: Vec<Value> = (0..25).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}")})).collect();
    let r = review(prefix, pod_request("CREATE", pod(Value::Array(many))));
    assert_eq!(r.warnings.len(), 21);
    assert_eq!(r.warnings[0], "image redirected: app0 -> edge.local/mirror/docker.io/library/app0");
    assert_eq!(r.warnings[20], "5 more warnings not shown");
}

#[test]
fn absent_images_are_left_to_the_controllers() {
    let r = review(
        hub(),
        pod_request("CREATE", pod(json!([{"name": "a"}, {"name": "b", "image": null}, {"name": "c", "image": ""}]))),
    );
    assert!(r.accepted && r.mutated.is_none() && r.warnings.is_empty());
}

#[test]
fn malformed_requests_are_rejected_with_the_reason() {
    let with_spec = |spec: Value| pod_request("CREATE", json!({"metadata": {"name": "p"}, "spec": spec}));
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no_object",            pod_request("CREATE", Value::Null),            "request.object: missing for CREATE"),
        ("object_not_an_object", pod_request("UPDATE", json!([])),             "the Pod cannot be read: object: expected an object, found an array"),
        ("missing_spec",         pod_request("CREATE", json!({"metadata": {}})), "the Pod cannot be read: object.spec: missing"),
        ("containers_not_a_list",with_spec(json!({"containers": "nginx"})),     "the Pod cannot be read: object.spec.containers: expected an array, found a string"),
        ("container_not_object", with_spec(json!({"containers": ["nginx"]})),   "the Pod cannot be read: object.spec.containers[0]: expected an object, found a string"),
        ("image_a_number",       with_spec(json!({"containers": [{"name": "a", "image": 5}]})),
                                 "the Pod cannot be read: object.spec.containers[0].image: expected a string, found a number"),
        ("name_a_list",          with_spec(json!({"initContainers": [{"name": [], "image": "x"}]})),
                                 "the Pod cannot be read: object.spec.initContainers[0].name: expected a string, found an array"),
        ("template_missing",     json!({"kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "operation": "CREATE", "object": {"spec": {}}}),
                                 "the Deployment cannot be read: object.spec.template: missing"),
    ];
    for (name, request, message) in cases {
        let r = review(hub(), request);
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(message)), "{name}");
    }
}

#[test]
fn broken_payloads_are_rejected_not_trapped() {
    let duplicate = br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[],"containers":[]}}},"settings":{"prefix":{"target":"a.io"}}}"#;
    #[rustfmt::skip]
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("not_json",       b"hello",                       "the admission request is malformed: expected value at line 1 column 1"),
        ("not_utf8",       b"\xff\xfe",                    "the validation payload is not UTF-8"),
        ("no_request",     br#"{"settings":{}}"#,          "the admission request is malformed: missing field `request` at line 1 column 15"),
        ("no_operation",   br#"{"request":{}}"#,           "the admission request is malformed: missing field `operation` at line 1 column 13"),
        ("bad_settings",   br#"{"request":{"operation":"CREATE"},"settings":{"enabled":"no"}}"#,
                           "the policy settings are not valid: enabled: expected true or false, found the string \"no\""),
        ("duplicate_key",  duplicate,                      "the Pod cannot be read: object.spec: duplicate key \"containers\""),
    ];
    for (name, payload, message) in cases {
        let r = review_bytes(payload, None);
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(message)), "{name}");
    }
}

/// Settings in report mode: `settings` with `action: report`.
fn report(mut settings: Value) -> Value {
    settings["action"] = json!("report");
    settings
}

const PASSES: &str = "PASS";

#[test]
fn report_mode_names_each_image_that_would_move_or_pulls_from_outside() {
    let hub_and_quay = json!({"mappings": [{"source": "docker.io", "target": "harbor.edge.local/dockerhub"},
                                           {"source": "quay.io/team", "target": "harbor.edge.local/team"}],
                              "exclude": {"images": ["registry.k8s.io/pause:*"]}});
    let prefix = json!({"prefix": {"target": "edge.local/mirror"}});
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value, &str)> = vec![
        ("would_move",              hub_and_quay.clone(), json!([{"name": "web", "image": "nginx:1.27"}]),
            "web: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27"),
        ("outside_every_mirror",    hub_and_quay.clone(), json!([{"name": "side", "image": "quay.io/x:1"}]),
            "side: quay.io/x:1 is outside every mirror and no rule moves it"),
        ("each_image_in_order",     hub_and_quay.clone(), json!([{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "quay.io/x:1"}]),
            "web: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27; side: quay.io/x:1 is outside every mirror and no rule moves it"),
        ("under_another_target",    hub_and_quay.clone(), json!([{"name": "web", "image": "harbor.edge.local/team/a:1"}]),
            PASSES),
        ("under_a_target",          hub_and_quay.clone(), json!([{"name": "web", "image": "harbor.edge.local/dockerhub/library/nginx:1.27"}]),
            PASSES),
        ("excluded_image",          hub_and_quay.clone(), json!([{"name": "pause", "image": "registry.k8s.io/pause:3.9"}]),
            PASSES),
        ("pull_policy_never",       hub_and_quay.clone(), json!([{"name": "local", "image": "nginx", "imagePullPolicy": "Never"},
                                                                 {"name": "node", "image": "quay.io/x", "imagePullPolicy": "Never"}]),
            PASSES),
        ("port_under_prefix",       prefix.clone(),       json!([{"name": "a", "image": "localhost:5000/app"}]),
            "a: localhost:5000/app is outside every mirror: registry localhost:5000 has a port, which cannot become a path segment under the prefix"),
        ("invalid_reference",       prefix.clone(),       json!([{"name": "b", "image": "Bad Image"}]),
            "b: \"Bad Image\" is outside every mirror: not a valid image reference: uppercase letters are not allowed"),
        ("unnamed_container",       prefix.clone(),       json!([{"image": "nginx"}]),
            "containers[0]: nginx -> edge.local/mirror/docker.io/library/nginx"),
        ("under_the_prefix",        prefix,               json!([{"name": "a", "image": "edge.local/mirror/quay.io/x:1"}]),
            PASSES),
    ];
    let mut failures = Vec::new();
    for (name, settings, containers, expected) in cases {
        let r = review(report(settings), pod_request("CREATE", pod(containers)));
        let got = if r.accepted { PASSES.to_owned() } else { r.message.clone().unwrap_or_default() };
        if got != expected || r.mutated.is_some() || !r.warnings.is_empty() {
            failures
                .push(format!("{name}:\n   got      {got} {:?} {:?}\n   expected {expected}", r.mutated, r.warnings));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn report_mode_passes_what_the_gates_pass() {
    let mut mirror_pod = pod(json!([{"name": "app", "image": "nginx"}]));
    mirror_pod["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
    let mut in_kube_system = pod_request("CREATE", pod(json!([{"name": "app", "image": "nginx"}])));
    in_kube_system["namespace"] = json!("kube-system");
    let mut excluding = report(hub());
    excluding["exclude"] = json!({"namespaces": ["kube-system"]});
    let mut disabled = report(hub());
    disabled["enabled"] = json!(false);
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value)> = vec![
        ("disabled",           disabled,     pod_request("CREATE", pod(json!([{"name": "app", "image": "nginx"}])))),
        ("excluded_namespace", excluding,    in_kube_system),
        ("mirror_pod",         report(hub()), pod_request("CREATE", mirror_pod)),
        ("delete",             report(hub()), pod_request("DELETE", Value::Null)),
    ];
    for (name, settings, request) in cases {
        let r = review(settings, request);
        assert!(r.accepted && r.mutated.is_none() && r.warnings.is_empty(), "{name}: {:?}", r.message);
    }
}

#[test]
fn a_report_stays_under_one_kib_and_counts_what_does_not_fit() {
    let many: Vec<Value> = (0..40).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")})).collect();
    let r = review(report(hub()), pod_request("CREATE", pod(Value::Array(many))));
    let message = r.message.unwrap();
    assert!(message.len() < 1024, "{} bytes", message.len());
    assert!(message.starts_with("c0: app0:1 -> harbor.local/hub/library/app0:1; c1: app1:1 -> "), "{message}");
    let shown = message.matches(" -> ").count();
    assert!(message.ends_with(&format!("; and {} more", 40 - shown)), "{message}");
}

#[test]
fn report_mode_reads_listed_kinds_and_workloads() {
    let mut settings = report(hub());
    settings["resources"] =
        json!([{"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName"]}]);
    let cluster = json!({"kind": {"group": "postgresql.cnpg.io", "version": "v1", "kind": "Cluster"}, "operation": "CREATE",
                         "namespace": "db", "object": {"metadata": {"name": "pg"}, "spec": {"imageName": "postgres:16"}}});
    let r = review(settings.clone(), cluster);
    assert_eq!(r.message.as_deref(), Some("spec.imageName: postgres:16 -> harbor.local/hub/library/postgres:16"));
    let cronjob = json!({"kind": {"group": "batch", "version": "v1", "kind": "CronJob"}, "operation": "CREATE",
                         "namespace": "ops", "object": {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
                             "containers": [{"name": "backup", "image": "bitnami/kubectl:1.31"}]}}}}}}});
    let r = review(settings, cronjob);
    assert_eq!(r.message.as_deref(), Some("backup: bitnami/kubectl:1.31 -> harbor.local/hub/bitnami/kubectl:1.31"));
}

/// `audit_annotations`, `None` when the response has none.
type Annotations = Option<BTreeMap<String, String>>;

fn annotations(entries: &[(&str, &str)]) -> Annotations {
    Some(entries.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect())
}

#[test]
fn audit_annotations_record_each_kind_of_decision() {
    // docker.io pins to the mirror's digest and checks it; quay.io moves by tag.
    let checked = json!({"mappings": [
        {"source": "docker.io", "target": "harbor.local/hub", "verify": true, "pinDigest": true},
        {"source": "quay.io", "target": "harbor.local/quay"}],
        "exclude": {"images": ["*pause*"]}});
    let mut rejecting = checked.clone();
    rejecting["mappings"][0]["onMissing"] = json!("reject");
    let serves_nginx = Serves(&["harbor.local/hub/library/nginx:1.27"]);
    let pinned = format!("web: nginx:1.27 -> harbor.local/hub/library/nginx:1.27@{SHA256}");
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value, Annotations)> = vec![
        ("redirected",          checked.clone(),  json!([{"name": "side", "image": "quay.io/x:1"}]),
            annotations(&[("redirected", "side: quay.io/x:1 -> harbor.local/quay/x:1")])),
        ("pinned",              checked.clone(),  json!([{"name": "web", "image": "nginx:1.27"}]),
            annotations(&[("pinned", &pinned)])),
        ("fell_back",           checked.clone(),  json!([{"name": "cache", "image": "redis:7"}]),
            annotations(&[("fell-back", "cache: redis:7 -> harbor.local/hub/library/redis:7: not at the mirror")])),
        ("kept_never_pull",     checked.clone(),  json!([{"name": "local", "image": "nginx:1.27", "imagePullPolicy": "Never"}]),
            annotations(&[("kept-never-pull", "local: nginx:1.27")])),
        ("every_kind_at_once",  checked.clone(),  json!([
                {"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "quay.io/x:1"},
                {"name": "cache", "image": "redis:7"}, {"name": "local", "image": "busybox", "imagePullPolicy": "Never"},
                {"name": "more", "image": "quay.io/y:2"}]),
            annotations(&[
                ("fell-back", "cache: redis:7 -> harbor.local/hub/library/redis:7: not at the mirror"),
                ("kept-never-pull", "local: busybox"),
                ("pinned", &pinned),
                ("redirected", "side: quay.io/x:1 -> harbor.local/quay/x:1; more: quay.io/y:2 -> harbor.local/quay/y:2")])),
        ("nothing_decided",     checked.clone(),  json!([{"name": "a", "image": "gcr.io/x:1"}, {"name": "b", "image": "harbor.local/quay/x:1"},
                                                         {"name": "pause", "image": "registry.k8s.io/pause:3.9"},
                                                         {"name": "node", "image": "gcr.io/y", "imagePullPolicy": "Never"}]),
            None),
        ("rejected",            rejecting,        json!([{"name": "cache", "image": "redis:7"}, {"name": "side", "image": "quay.io/x:1"}]),
            None),
        ("report_mode",         report(checked), json!([{"name": "side", "image": "quay.io/x:1"}]),
            None),
    ];
    let mut failures = Vec::new();
    for (name, settings, containers, expected) in cases {
        let request = pod_request("CREATE", pod(containers));
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        let r = review_with(&payload, request.get("object"), &serves_nginx);
        if r.audit != expected {
            failures.push(format!("{name}:\n   got      {:?}\n   expected {expected:?}", r.audit));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn an_audit_annotation_stays_under_one_kib_and_counts_what_does_not_fit() {
    let many: Vec<Value> = (0..40).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")})).collect();
    let r = review(hub(), pod_request("CREATE", pod(Value::Array(many))));
    let value = &r.audit.unwrap()["redirected"];
    assert!(value.len() < 1024, "{} bytes", value.len());
    assert!(value.starts_with("c0: app0:1 -> harbor.local/hub/library/app0:1; c1: app1:1 -> "), "{value}");
    let shown = value.matches(" -> ").count();
    assert!(value.ends_with(&format!("; and {} more", 40 - shown)), "{value}");
}

/// Kubernetes' qualified name (`IsQualifiedName`): an optional DNS subdomain
/// prefix of at most 253 characters and `/`, then a name of at most 63
/// characters of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = key.split_once('/').map_or((None, key), |(prefix, name)| (Some(prefix), name));
    let alphanumeric_ends = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphanumeric()) && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    let name_ok = (1..=63).contains(&name.len())
        && alphanumeric_ends(name)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let subdomain_ok = |p: &str| {
        p.len() <= 253
            && p.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && alphanumeric_ends(label)
                    && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    };
    name_ok && prefix.is_none_or(subdomain_ok)
}

#[test]
fn audit_annotation_keys_stay_qualified_names_after_the_webhook_prefix() {
    // Webhook names as kubewarden-controller writes them: `kw.<kind token>.<name>` in current releases,
    // `clusterwide-<name>` and `namespaced-<namespace>-<name>` before; then `.kubewarden.admission`.
    let webhooks = [
        "kw.cap.image-redirect.kubewarden.admission",
        "clusterwide-image-redirect.kubewarden.admission",
        "clusterwide-image-redirect-audit.kubewarden.admission",
        "namespaced-team-a-image-redirect.kubewarden.admission",
    ];
    assert!(!is_qualified_name("x/-redirected") && !is_qualified_name(&format!("x/{}", "a".repeat(64))));
    for webhook in webhooks {
        for key in image_redirect_policy::response::AUDIT_KEYS {
            let written = format!("{webhook}/{key}");
            assert!(is_qualified_name(&written), "{written}");
        }
    }
}
