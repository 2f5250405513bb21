//! Bad input, each with its exact outcome: accepted unchanged with a warning,
//! or rejected with a message naming the problem; never a panic (a trap in wasm).
//!
//! Already specified elsewhere, not repeated here: request not JSON, not UTF-8,
//! no `request`, no `operation`, no `object`, object not an object, `containers`
//! not a list, a container not an object, image a number, name a list, missing
//! `spec`, missing template, duplicate keys (tests/admission.rs
//! `malformed_requests_are_rejected_with_the_reason`,
//! `broken_payloads_are_rejected_not_trapped`); `null`, absent and empty images
//! (`absent_images_are_left_to_the_controllers`); an unsupported kind
//! (`requests_accepted_without_looking`); settings with wrong types, unknown
//! keys, empty strings, a tag in a source, unbalanced brackets in a glob, and
//! 10,000 mappings read by `Settings::from_json` (tests/settings.rs).

mod common;

use common::{SHA256, pod_request, review, review_bytes, review_with};
use image_redirect_policy::mirror::{LOOKUPS_MAX, Mirror, NoMirror};
use serde_json::{Value, json};

/// A bare image ID: the runtimes refuse it as a name, so it must not be redirected into one.
const IMAGE_ID: &str = "4f1ab9e9e7aa5f7d3ae1b54f6a43bd0b4a3e8f51d9b3e4d57e4c9a7b2d1e0f36";

fn hub() -> Value {
    json!({"mappings": [{"source": "docker.io", "target": "harbor.local/hub"}], "annotateOriginals": false})
}

fn one_image(image: &str) -> Value {
    pod_request("CREATE", json!({"spec": {"containers": [{"name": "c", "image": image}]}}))
}

#[test]
fn images_that_are_not_references_stay_with_a_warning() {
    let long_tag = format!("nginx:{}", "t".repeat(300));
    let huge = "a".repeat(64 * 1024);
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String)> = vec![
        ("spaces",      "my image:1",    "image left unchanged: \"my image:1\": not a valid image reference: the repository path has an invalid character or separator".into()),
        ("uppercase",   "NGINX:1.27",    "image left unchanged: NGINX:1.27: not a valid image reference: uppercase letters are not allowed".into()),
        ("tag_300",     &long_tag,       format!("image left unchanged: {:?}…: not a valid image reference: the tag is longer than 128 characters", &long_tag[..100])),
        ("string_64k",  &huge,           format!("image left unchanged: {:?}…: not a valid image reference: the repository name is longer than 255 characters", &huge[..100])),
        ("non_ascii",   "nginx:v\u{e9}", "image left unchanged: \"nginx:v\u{e9}\": not a valid image reference: the tag has an invalid character".into()),
        ("emoji_path",  "\u{1f433}/app", "image left unchanged: \"\u{1f433}/app\": not a valid image reference: the repository path has an invalid character or separator".into()),
        ("newline",     "nginx\n",       "image left unchanged: \"nginx\\n\": not a valid image reference: the repository path has an invalid character or separator".into()),
        ("nul",         "nginx\u{0}:1",  "image left unchanged: \"nginx\\0:1\": not a valid image reference: the repository path has an invalid character or separator".into()),
        ("tab_in_tag",  "nginx:1\t",     "image left unchanged: \"nginx:1\\t\": not a valid image reference: the tag has an invalid character".into()),
        ("image_id",    IMAGE_ID,        format!("image left unchanged: {IMAGE_ID}: not a valid image reference: a 64-character hexadecimal string is an image ID, not a name")),
    ];
    for (name, image, warning) in cases {
        let r = review(hub(), one_image(image));
        assert!(r.accepted && r.mutated.is_none(), "{name}");
        assert_eq!(r.warnings, [warning], "{name}");
    }
}

#[test]
fn ten_thousand_containers_are_all_redirected_with_twenty_warning_lines() {
    let containers: Vec<Value> =
        (0..10_000).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")})).collect();
    let r = review(hub(), pod_request("CREATE", json!({"spec": {"containers": containers}})));
    let ops = r.patch.as_array().unwrap();
    assert_eq!(ops.len(), 10_000);
    assert_eq!(
        ops[9_999],
        json!({"op": "replace", "path": "/spec/containers/9999/image", "value": "harbor.local/hub/library/app9999:1"})
    );
    assert_eq!(r.warnings.len(), 21);
    assert_eq!(r.warnings[20], "9980 more warnings not shown");
}

#[test]
fn warnings_stay_under_4_kib_in_lines_of_256_characters() {
    // Each redirect warning would run past 300 characters: cut to 256, fifteen
    // fit in the budget and the other fifteen are counted.
    let path = format!("{}app", "deep/".repeat(39));
    let containers: Vec<Value> =
        (0..30).map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/{path}:{i}")})).collect();
    let settings = json!({"prefix": {"target": "edge.local/mirror"}, "annotateOriginals": false});
    let r = review(settings, pod_request("CREATE", json!({"spec": {"containers": containers}})));
    assert_eq!(r.warnings.len(), 16);
    assert!(r.warnings[..15].iter().all(|w| w.chars().count() == 256 && w.starts_with("image redirected: ")));
    assert_eq!(r.warnings[15], "15 more warnings not shown");
    assert!(r.warnings.iter().map(String::len).sum::<usize>() < 4096);
}

fn nested_payload(depth: usize) -> String {
    let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"x-deep":{deep},"spec":{{"x-deep":{deep},"containers":[{{"name":"c","image":"nginx","x-deep":{deep}}}]}}}}}},"settings":{}}}"#,
        hub()
    )
}

#[test]
fn deeply_nested_unknown_fields_are_carried_not_parsed() {
    let r = review_bytes(nested_payload(100).as_bytes(), None);
    assert_eq!(r.mutated.unwrap()["spec"]["containers"][0]["image"], "harbor.local/hub/library/nginx");

    // 10,000 levels: the policy carries the bytes without descending into them.
    // (Reading such a response into a tree needs more than serde_json's default
    // 128 levels; policy-server refuses requests that deep before any policy runs.)
    let response = image_redirect_policy::admission::validate(nested_payload(10_000).as_bytes(), &NoMirror);
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with(r#"{"accepted":true,"mutated_object":{"x-deep":[[[["#));
    assert!(text.contains(r#""image":"harbor.local/hub/library/nginx""#));
    assert!(text.ends_with(
        r#"]}]}},"warnings":["image redirected: nginx -> harbor.local/hub/library/nginx"],"audit_annotations":{"redirected":"c: nginx -> harbor.local/hub/library/nginx"}}"#
    ));
}

/// Found by the `validate` fuzz target: a number no f64 holds. The policy never
/// parses numbers, so it carries the digits as sent; a host that could read
/// the request can read the response.
#[test]
fn numbers_beyond_f64_are_carried_verbatim() {
    let text = format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"containers":[{{"name":"c","image":"nginx","ports":[{{"containerPort":91415185621e9402}}]}}]}}}}}},"settings":{}}}"#,
        hub()
    );
    let response = String::from_utf8(image_redirect_policy::admission::validate(text.as_bytes(), &NoMirror)).unwrap();
    assert_eq!(
        response,
        r#"{"accepted":true,"mutated_object":{"spec":{"containers":[{"name":"c","image":"harbor.local/hub/library/nginx","ports":[{"containerPort":91415185621e9402}]}]}},"warnings":["image redirected: nginx -> harbor.local/hub/library/nginx"],"audit_annotations":{"redirected":"c: nginx -> harbor.local/hub/library/nginx"}}"#
    );
}

#[test]
fn deeply_nested_settings_are_refused_with_a_reason() {
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let answer = image_redirect_policy::admission::validate_settings(
        format!(r#"{{"prefix":{{"target":"a.io"}},"exclude":{deep}}}"#).as_bytes(),
    );
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer, json!({"valid": false, "message": "exclude: expected an object, found a list"}));
}

#[test]
fn objects_of_the_wrong_shape_are_rejected_naming_the_field() {
    let containers = json!([{"name": "c", "image": "nginx"}]);
    let with_spec = |spec: Value| pod_request("CREATE", json!({"metadata": {"name": "p"}, "spec": spec}));
    let with_metadata =
        |metadata: Value| pod_request("CREATE", json!({"metadata": metadata, "spec": {"containers": containers}}));
    let deep_image = serde_json::from_str::<Value>(&format!("{}1{}", "[".repeat(100), "]".repeat(100))).unwrap();
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("spec_null",             pod_request("CREATE", json!({"spec": null})),                 "the Pod cannot be read: object.spec: missing"),
        ("metadata_a_string",     with_metadata(json!("p")),                                    "the Pod cannot be read: object.metadata: expected an object, found a string"),
        ("annotations_a_list",    with_metadata(json!({"annotations": ["a"]})),                 "the Pod cannot be read: object.metadata.annotations: expected an object, found an array"),
        ("originals_a_number",    with_metadata(json!({"annotations": {"image-redirect.io/original-images": 5}})),
            "the Pod cannot be read: object.metadata.annotations.image-redirect.io/original-images: expected a string, found a number"),
        ("pull_secrets_an_object",with_spec(json!({"containers": containers, "imagePullSecrets": {"name": "x"}})),
            "the Pod cannot be read: object.spec.imagePullSecrets: expected an array, found an object"),
        ("secret_name_a_number",  with_spec(json!({"containers": containers, "imagePullSecrets": [{"name": 5}]})),
            "the Pod cannot be read: object.spec.imagePullSecrets[0].name: expected a string, found a number"),
        ("ephemeral_an_object",   with_spec(json!({"containers": containers, "ephemeralContainers": {}})),
            "the Pod cannot be read: object.spec.ephemeralContainers: expected an array, found an object"),
        ("pull_policy_a_number",  with_spec(json!({"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": 1}]})),
            "the Pod cannot be read: object.spec.containers[0].imagePullPolicy: expected a string, found a number"),
        ("image_a_boolean",       with_spec(json!({"containers": [{"name": "c", "image": true}]})),
            "the Pod cannot be read: object.spec.containers[0].image: expected a string, found a boolean"),
        ("image_nested_lists",    with_spec(json!({"containers": [{"name": "c", "image": deep_image}]})),
            "the Pod cannot be read: object.spec.containers[0].image: expected a string, found an array"),
        ("cronjob_shaped_as_job", json!({"kind": {"group": "batch", "version": "v1", "kind": "CronJob"}, "operation": "CREATE",
                                         "object": {"spec": {"template": {"spec": {"containers": containers}}}}}),
            "the CronJob cannot be read: object.spec.jobTemplate: missing"),
    ];
    for (name, request, message) in cases {
        let r = review(hub(), request);
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(message)), "{name}");
    }
}

#[test]
fn payloads_that_are_not_requests_are_rejected_with_the_reason() {
    let pod = |image: &str, settings: &str| {
        format!(
            r#"{{"request":{{"operation":"CREATE","kind":{{"kind":"Pod"}},"object":{{"spec":{{"containers":[{{"image":"{image}"}}]}}}}}},"settings":{settings}}}"#
        )
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty",              b"".to_vec(),                                  "the admission request is malformed: EOF while parsing a value at line 1 column 0"),
        ("request_a_number",   br#"{"request": 5}"#.to_vec(),                 "the admission request is malformed: invalid type: integer `5`, expected struct Request at line 1 column 13"),
        ("trailing_bytes",     br#"{"request":{"operation":"DELETE"}} x"#.to_vec(), "the admission request is malformed: trailing characters at line 1 column 36"),
        ("settings_null",      pod("nginx", "null").into_bytes(),
            "the policy settings are not valid: nothing to redirect: set mappings or prefix (or enabled: false)"),
        ("image_lone_surrogate", pod("\\ud800", r#"{"prefix":{"target":"a.io"}}"#).into_bytes(),
            "the Pod cannot be read: object.spec.containers[0]: unexpected end of hex escape"),
    ];
    for (name, payload, message) in cases {
        let r = review_bytes(&payload, None);
        assert_eq!((r.accepted, r.message.as_deref()), (false, Some(message)), "{name}");
    }
}

/// The image is read through its escapes and the whole literal is replaced.
#[test]
fn an_escaped_image_is_decoded_and_replaced_whole() {
    let payload = r#"{"request":{"operation":"CREATE","kind":{"kind":"Pod"},"object":{"spec":{"containers":[{"name":"c","image":"ngin\u0078:1"}]}}},"settings":{"prefix":{"target":"a.io"}}}"#;
    let r = review_bytes(payload.as_bytes(), None);
    assert_eq!(r.mutated.unwrap()["spec"]["containers"][0]["image"], "a.io/docker.io/library/nginx:1");
    assert_eq!(r.warnings, ["image redirected: nginx:1 -> a.io/docker.io/library/nginx:1"]);
}

/// Found by the property tests: an originals annotation whose value is `null`
/// got a second key of the same name (the record was lost when the API server
/// kept the last one, and a second pass rejected the duplicate). The value is
/// now replaced in place.
#[test]
fn a_null_originals_annotation_is_replaced_not_duplicated() {
    let object = json!({"metadata": {"annotations": {"image-redirect.io/original-images": null}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let payload = json!({"request": pod_request("CREATE", object), "settings": {"prefix": {"target": "a.io"}}});
    let response = image_redirect_policy::admission::validate(payload.to_string().as_bytes(), &NoMirror);
    assert_eq!(
        String::from_utf8(response).unwrap(),
        r#"{"accepted":true,"mutated_object":{"metadata":{"annotations":{"image-redirect.io/original-images":"{\"c\":\"nginx\"}"}},"spec":{"containers":[{"image":"a.io/docker.io/library/nginx","name":"c"}]}},"warnings":["image redirected: nginx -> a.io/docker.io/library/nginx"],"audit_annotations":{"redirected":"c: nginx -> a.io/docker.io/library/nginx"}}"#
    );
}

/// Found while reviewing for limits: pull-secret names were compared with a
/// linear scan per redirect (quadratic in a request listing thousands of both).
/// They are now sorted once and searched.
#[test]
fn ten_thousand_containers_and_pull_secrets() {
    let containers: Vec<Value> =
        (0..10_000).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")})).collect();
    let secrets: Vec<Value> = (0..10_000).map(|i| json!({"name": format!("s{i}")})).collect();
    let object = json!({"spec": {"containers": containers, "imagePullSecrets": secrets}});
    let settings = json!({"annotateOriginals": false,
                          "mappings": [{"source": "docker.io", "target": "harbor.local/hub", "pullSecret": "hub"}]});

    let r = review(settings.clone(), pod_request("CREATE", object.clone()));
    let ops = r.patch.as_array().unwrap();
    assert_eq!(ops.len(), 10_001);
    assert_eq!(ops[10_000], json!({"op": "add", "path": "/spec/imagePullSecrets/10000", "value": {"name": "hub"}}));

    // A Pod update cannot add the secret: every image stays, twenty warnings and a count.
    let mut request = pod_request("UPDATE", object);
    request["oldObject"] = json!({"spec": {"containers": []}});
    let r = review(settings, request);
    assert!(r.accepted && r.mutated.is_none());
    assert_eq!(r.warnings[0], "image left unchanged: app0:1: it needs pull secret hub, which a Pod update cannot add");
    assert_eq!(r.warnings[20], "9980 more warnings not shown");
}

/// Settings travel with every request: 10,000 mappings are read, checked and
/// compiled for this one admission (tests/settings.rs only reads them).
#[test]
fn ten_thousand_mappings_through_validate() {
    let mut mappings: Vec<Value> = (0..10_000)
        .map(|i| json!({"source": format!("r{i}.example.com"), "target": format!("mirror.local/r{i}")}))
        .collect();
    mappings.reverse();
    let r = review(json!({"mappings": mappings}), one_image("r9999.example.com/app:1"));
    assert_eq!(r.warnings, ["image redirected: r9999.example.com/app:1 -> mirror.local/r9999/app:1"]);
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// Nesting the policy never reads costs nothing, wherever it is: unknown
/// members of the object, of the request envelope, of the payload.
#[test]
fn deeply_nested_objects_in_unknown_fields_are_skipped() {
    let deep = nested_objects(10_000);
    let payload = format!(
        r#"{{"x":{deep},"request":{{"userInfo":{deep},"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"metadata":{{"x":{deep},"annotations":{{"x":{deep}}}}},"spec":{{"containers":[{{"name":"c","image":"nginx","env":{deep}}}]}}}}}},"settings":{}}}"#,
        hub()
    );
    let text = String::from_utf8(image_redirect_policy::admission::validate(payload.as_bytes(), &NoMirror)).unwrap();
    assert!(text.starts_with(r#"{"accepted":true,"mutated_object":{"metadata":{"x":{"a":{"a":"#));
    assert!(text.contains(r#"{"name":"c","image":"harbor.local/hub/library/nginx","env":{"a":"#));

    // Where the policy expects a string, the first byte is enough to refuse it.
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let payload = format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"containers":[{{"name":"c","image":{deep}}}]}}}}}},"settings":{}}}"#,
        hub()
    );
    let r = review_bytes(payload.as_bytes(), None);
    assert_eq!(
        r.message.as_deref(),
        Some("the Pod cannot be read: object.spec.containers[0].image: expected a string, found an array")
    );
}

/// Like numbers beyond f64: a lone surrogate escape in a field the policy
/// never reads is carried as sent (the JSON grammar allows it; only a reader
/// into strings refuses it, and such a host could not have sent the request).
#[test]
fn a_lone_surrogate_in_an_unknown_field_is_carried() {
    let payload = format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"containers":[{{"image":"nginx","x":"\ud800"}}]}}}}}},"settings":{}}}"#,
        hub()
    );
    let text = String::from_utf8(image_redirect_policy::admission::validate(payload.as_bytes(), &NoMirror)).unwrap();
    assert_eq!(
        text,
        r#"{"accepted":true,"mutated_object":{"spec":{"containers":[{"image":"harbor.local/hub/library/nginx","x":"\ud800"}]}},"warnings":["image redirected: nginx -> harbor.local/hub/library/nginx"],"audit_annotations":{"redirected":"containers[0]: nginx -> harbor.local/hub/library/nginx"}}"#
    );
}

/// A registry that has every image.
struct EveryImage;

impl Mirror for EveryImage {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Ok(SHA256.to_owned())
    }
}

/// The cap on registry lookups per request (`LOOKUPS_MAX`): past it an image
/// counts as not found, so `onMissing` decides, with a message saying why.
#[test]
fn at_most_a_hundred_images_are_looked_up_per_request() {
    let containers: Vec<Value> =
        (0..150).map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")})).collect();
    let request = pod_request("CREATE", json!({"spec": {"containers": containers}}));
    let settings = |on_missing: &str| json!({"annotateOriginals": false, "mappings": [{"source": "docker.io", "target": "harbor.local/hub", "verify": true, "onMissing": on_missing}]});
    let run = |settings: Value| {
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        review_with(&payload, request.get("object"), &EveryImage)
    };

    let kept = run(settings("keep"));
    let ops = kept.patch.as_array().unwrap();
    assert_eq!(ops.len(), LOOKUPS_MAX);
    assert_eq!(ops[LOOKUPS_MAX - 1]["path"], "/spec/containers/99/image");
    assert_eq!(kept.warnings.len(), 21);
    assert_eq!(
        kept.warnings[0],
        "image left unchanged: app100:1: harbor.local/hub/library/app100:1 is not available: \
         not checked: the request names more than 100 images to look up"
    );
    assert_eq!(kept.warnings[20], "130 more warnings not shown");

    let rejected = run(settings("reject"));
    assert_eq!(
        rejected.message.as_deref(),
        Some(
            "image app100:1 would be redirected to harbor.local/hub/library/app100:1, which is not available: \
             not checked: the request names more than 100 images to look up"
        )
    );
}
