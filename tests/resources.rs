//! Kinds the settings list (the custom resources of operators): which
//! requests are read, where the originals go, what survives, what is refused.
//! The table of resources with their exact patches runs on the built policy
//! (e2e/tests/resources.rs); this file holds the rest of the contract.

mod common;

use common::{review, review_bytes};
use image_redirect_policy::mirror::NoMirror;
use image_redirect_policy::preview::{Change, preview};
use serde_json::{Value, json};

const CNPG: &str = "ghcr.io/cloudnative-pg/postgresql:16.4";
const MIRRORED: &str = "harbor.local/ghcr/cloudnative-pg/postgresql:16.4";

fn settings() -> Value {
    json!({"mappings": [{"source": "ghcr.io", "target": "harbor.local/ghcr"}],
           "resources": [{"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName"]}]})
}

fn cluster(metadata: Value) -> Value {
    json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": metadata,
           "spec": {"instances": 3, "imageName": CNPG}})
}

fn request(operation: &str, object: Value) -> Value {
    json!({"kind": {"group": "postgresql.cnpg.io", "version": "v1", "kind": "Cluster"}, "namespace": "db",
           "operation": operation, "object": object})
}

fn with(mut request: Value, changes: Value) -> Value {
    request.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    request
}

fn redirected(path: &str) -> Value {
    json!({"op": "replace", "path": path, "value": MIRRORED})
}

#[test]
fn which_requests_are_read() {
    let create = request("CREATE", cluster(json!({"name": "pg"})));
    let mut excluding = settings();
    excluding["exclude"] = json!({"namespaces": ["db"]});
    let mut disabled = settings();
    disabled["enabled"] = json!(false);
    let annotation = json!({"op": "add", "path": "/metadata/annotations",
        "value": {"image-redirect.io/original-images": json!({"spec.imageName": CNPG}).to_string()}});
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        ("create",                settings(),  create.clone(),                                         json!([annotation, redirected("/spec/imageName")])),
        // Like a workload's template: an update rolls out, so every image is redirected.
        ("update_redirects_all",  settings(),  with(create.clone(), json!({"operation": "UPDATE", "oldObject": cluster(json!({"name": "pg"}))})),
                                                                                                       json!([annotation, redirected("/spec/imageName")])),
        ("status_subresource",    settings(),  with(create.clone(), json!({"operation": "UPDATE", "subResource": "status"})), json!([])),
        ("delete",                settings(),  with(create.clone(), json!({"operation": "DELETE", "object": null})), json!([])),
        ("other_group_same_kind", settings(),  with(create.clone(), json!({"kind": {"group": "example.com", "version": "v1", "kind": "Cluster"}})), json!([])),
        ("excluded_namespace",    excluding,   create.clone(),                                         json!([])),
        ("disabled",              disabled,    create,                                                 json!([])),
    ];
    for (name, settings, request, patch) in cases {
        let r = review(settings, request);
        assert!(r.accepted, "{name}: {:?}", r.message);
        assert_eq!(r.patch, patch, "{name}");
    }
}

#[test]
fn the_originals_go_on_the_resource_itself_merged_by_path() {
    let key = "/metadata/annotations/image-redirect.io~1original-images";
    let merged = json!({"spec.backup.image": "ghcr.io/x/backup:1", "spec.imageName": CNPG}).to_string();
    let earlier = json!({"spec.backup.image": "ghcr.io/x/backup:1"}).to_string();
    let r = review(
        settings(),
        request(
            "CREATE",
            cluster(json!({"name": "pg", "annotations": {"image-redirect.io/original-images": earlier}})),
        ),
    );
    assert_eq!(r.patch, json!([{"op": "replace", "path": key, "value": merged}, redirected("/spec/imageName")]));

    let mut off = settings();
    off["annotateOriginals"] = json!(false);
    let r = review(off, request("CREATE", cluster(json!({"name": "pg"}))));
    assert_eq!(r.patch, json!([redirected("/spec/imageName")]));
}

#[test]
fn a_pull_secret_is_named_once_and_never_added() {
    let settings = json!({
        "mappings": [{"source": "ghcr.io", "target": "harbor.local/ghcr", "pullSecret": "harbor-creds"}],
        "resources": [{"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName", "spec.backup.image"]}],
        "annotateOriginals": false,
    });
    let mut object = cluster(json!({"name": "pg"}));
    object["spec"]["backup"] = json!({"image": "ghcr.io/x/backup:1"});
    let r = review(settings, request("CREATE", object));
    assert_eq!(
        r.patch,
        json!([{"op": "replace", "path": "/spec/backup/image", "value": "harbor.local/ghcr/x/backup:1"},
               redirected("/spec/imageName")])
    );
    assert_eq!(
        r.warnings,
        [
            "image redirected: ghcr.io/x/backup:1 -> harbor.local/ghcr/x/backup:1",
            &format!("image redirected: {CNPG} -> {MIRRORED}"),
            "pull secret harbor-creds is not added: the Cluster must reference it itself",
        ]
    );
}

#[test]
fn only_the_image_bytes_change() {
    let object = r#"{"apiVersion":"postgresql.cnpg.io/v1","kind":"Cluster","metadata":{"name":"pg"},
 "spec":{"imageName":"ghcr.io/cloudnative-pg/postgresql:16.4","x-vendor":{"n":[1.50,2e3,"\u00e9"]},"image":"ghcr.io/not/listed"}}"#;
    let payload = format!(
        r#"{{"request":{{"kind":{{"group":"postgresql.cnpg.io","version":"v1","kind":"Cluster"}},"operation":"CREATE","object":{object}}},"settings":{}}}"#,
        json!({"mappings": [{"source": "ghcr.io", "target": "harbor.local/ghcr"}], "annotateOriginals": false,
               "resources": [{"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName"]}]})
    );
    let out = image_redirect_policy::admission::validate(payload.as_bytes(), &NoMirror);
    let text = String::from_utf8(out).unwrap();
    let mutated = object.replace(CNPG, MIRRORED);
    assert_eq!(
        text,
        format!(
            r#"{{"accepted":true,"mutated_object":{mutated},"warnings":["image redirected: {CNPG} -> {MIRRORED}"],"audit_annotations":{{"redirected":"spec.imageName: {CNPG} -> {MIRRORED}"}}}}"#
        )
    );
}

#[test]
fn unreadable_resources_are_rejected_with_the_field() {
    let duplicate = br#"{"request":{"kind":{"group":"postgresql.cnpg.io","kind":"Cluster"},"operation":"CREATE","object":{"spec":{"imageName":"a","imageName":"b"}}},"settings":{"prefix":{"target":"edge.local"},"resources":[{"apiGroup":"postgresql.cnpg.io","kind":"Cluster","images":["spec.imageName"]}]}}"#;
    let r = review_bytes(duplicate, None);
    assert_eq!(r.message.as_deref(), Some("the Cluster cannot be read: object.spec: duplicate key \"imageName\""));
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("not_an_object",     json!(["pg"]),                                     "the Cluster cannot be read: object: expected an object, found an array"),
        ("metadata_a_string", json!({"metadata": "pg", "spec": {}}),             "the Cluster cannot be read: object.metadata: expected an object, found a string"),
    ];
    for (name, object, message) in cases {
        let r = review(settings(), request("CREATE", object));
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(message)), "{name}");
    }
}

#[test]
fn preview_lays_out_a_listed_kind_by_field_path() {
    let settings = common::settings(settings());
    let object = cluster(json!({"name": "pg"})).to_string();
    let shown = preview(&object, &settings, &NoMirror).unwrap().unwrap();
    assert_eq!((shown.kind.as_str(), shown.name.as_str()), ("Cluster", "pg"));
    assert_eq!(
        shown.containers,
        [Change {
            list: None,
            container: "spec.imageName".to_owned(),
            before: CNPG.to_owned(),
            after: MIRRORED.to_owned(),
            rule: Some("mapping ghcr.io".to_owned()),
        }]
    );
}

#[test]
fn a_thousand_paths_and_ten_thousand_values_are_all_redirected() {
    let paths: Vec<String> = (0..1_000).map(|i| format!("spec.f{i}")).chain(["spec.steps[*].image".into()]).collect();
    let settings = json!({"mappings": [{"source": "ghcr.io", "target": "harbor.local/ghcr"}], "annotateOriginals": false,
                          "resources": [{"apiGroup": "example.com", "kind": "Widget", "images": paths}]});
    let mut spec: serde_json::Map<String, Value> =
        (0..1_000).map(|i| (format!("f{i}"), json!("ghcr.io/x/f:1"))).collect();
    spec.insert("steps".into(), (0..10_000).map(|i| json!({"image": format!("ghcr.io/x/app{i}:1")})).collect());
    let request = json!({"kind": {"group": "example.com", "version": "v1", "kind": "Widget"}, "operation": "CREATE",
                         "object": {"metadata": {"name": "w"}, "spec": spec}});
    let r = review(settings, request);
    assert_eq!(r.patch.as_array().unwrap().len(), 11_000);
    assert_eq!(
        r.patch[10_999],
        json!({"op": "replace", "path": "/spec/steps/9999/image", "value": "harbor.local/ghcr/x/app9999:1"})
    );
    assert_eq!(r.warnings.len(), 21);
}
