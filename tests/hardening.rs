//! Bad input, each with its exact outcome: accepted unchanged with a warning,
//! or rejected with a message naming the problem; never a panic (a trap in wasm).
//!
//! Already specified elsewhere, not repeated here: request not JSON, not UTF-8,
//! no `object`, `containers` not a list, image a number, `null` image, missing
//! `spec`, duplicate keys (tests/admission.rs); wrong types, unknown keys, empty
//! strings, tag in a source, unbalanced brackets in a glob, 10,000 mappings
//! (tests/settings.rs); an unsupported kind (tests/admission.rs).

mod common;

use common::{pod_request, review, review_bytes};
use image_redirect_policy::mirror::NoMirror;
use serde_json::{Value, json};

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
    assert!(text.ends_with(r#"]}]}},"warnings":["image redirected: nginx -> harbor.local/hub/library/nginx"]}"#));
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
        r#"{"accepted":true,"mutated_object":{"spec":{"containers":[{"name":"c","image":"harbor.local/hub/library/nginx","ports":[{"containerPort":91415185621e9402}]}]}},"warnings":["image redirected: nginx -> harbor.local/hub/library/nginx"]}"#
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
