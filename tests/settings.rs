//! Settings validation: every error, with its exact message.

use image_redirect_policy::admission::validate_settings;
use image_redirect_policy::rules::PinDigest;
use image_redirect_policy::settings::Settings;
use serde_json::{Value, json};

const NOTHING: &str = "nothing to redirect: set mappings or prefix (or enabled: false)";

fn errors(settings: Value) -> String {
    match Settings::from_json(&settings.to_string()) {
        Ok(_) => "VALID".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_settings_error_names_its_field_and_value() {
    let map = |source: &str, target: &str| json!({"source": source, "target": target});
    let hub = map("docker.io", "harbor.local/dockerhub");
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("not_an_object",          json!([]),                                   "settings: expected an object, found a list"),
        ("empty_means_nothing",    json!({}),                                   NOTHING),
        ("empty_lists_are_nothing",json!({"mappings": [], "exclude": {"images": []}}), NOTHING),
        ("unknown_top_key",        json!({"mapping": [hub]}),
            "mapping: unknown key (expected one of: enabled, action, mappings, prefix, exclude, annotateOriginals, resources)"),
        ("action_unknown_word",    json!({"action": "audit", "mappings": [hub]}),
            "action: expected \"redirect\" or \"report\", found the string \"audit\""),
        ("action_case_matters",    json!({"action": "Report", "mappings": [hub]}),
            "action: expected \"redirect\" or \"report\", found the string \"Report\""),
        ("action_not_a_string",    json!({"action": true, "mappings": [hub]}),
            "action: expected \"redirect\" or \"report\", found true"),
        ("report_needs_rules_too",json!({"action": "report"}),                NOTHING),
        ("enabled_not_boolean",    json!({"enabled": "yes", "mappings": [hub]}), "enabled: expected true or false, found the string \"yes\""),
        ("annotate_not_boolean",   json!({"annotateOriginals": 1, "mappings": [hub]}), "annotateOriginals: expected true or false, found the number 1"),
        ("mappings_not_a_list",    json!({"mappings": {"docker.io": "x.io"}}),  "mappings: expected a list, found an object"),
        ("mapping_not_an_object",  json!({"mappings": ["docker.io"]}),          "mappings[0]: expected an object, found the string \"docker.io\""),
        ("mapping_unknown_key",    json!({"mappings": [{"source": "docker.io", "target": "a.io", "secret": "s"}]}),
            "mappings[0].secret: unknown key (expected one of: source, target, pullSecret, verify, onMissing, pinDigest)"),
        ("source_required",        json!({"mappings": [{"target": "a.io"}]}),   "mappings[0].source: is required"),
        ("source_empty",           json!({"mappings": [map("", "a.io")]}),      "mappings[0].source: must not be empty"),
        ("source_not_string",      json!({"mappings": [{"source": 5, "target": "a.io"}]}), "mappings[0].source: expected a string, found the number 5"),
        ("target_uppercase",       json!({"mappings": [hub, map("quay.io", "Harbor.local/x")]}),
            "mappings[1].target: \"Harbor.local/x\" is not a valid registry path: uppercase letters are not allowed"),
        ("source_with_tag",        json!({"mappings": [map("docker.io/nginx:1.27", "a.io")]}),
            "mappings[0].source: \"docker.io/nginx:1.27\" is not a valid registry path: a tag is not allowed"),
        ("target_with_digest",     json!({"mappings": [map("docker.io", "a.io/x@sha256:00")]}),
            "mappings[0].target: \"a.io/x@sha256:00\" is not a valid registry path: a digest is not allowed"),
        ("target_not_a_registry",  json!({"mappings": [map("docker.io", "harbor/dockerhub")]}),
            "mappings[0].target: \"harbor/dockerhub\" is not a valid registry path: the first segment does not read as a registry (it needs a \".\", a \":port\" or to be \"localhost\")"),
        ("malformed_host",         json!({"mappings": [map("bad_host.io", "a.io")]}),
            "mappings[0].source: \"bad_host.io\" is not a valid registry path: the registry is not a valid host name or address"),
        ("malformed_path",         json!({"mappings": [map("quay.io/a//b", "a.io")]}),
            "mappings[0].source: \"quay.io/a//b\" is not a valid registry path: the repository path has an invalid character or separator"),
        ("duplicate_sources",      json!({"mappings": [hub, map("quay.io", "a.io"), map("docker.io", "b.io")]}),
            "mappings[2].source: duplicates the source of mappings[0]"),
        ("duplicate_of_a_mapping_that_failed", json!({"mappings": [map("docker.io", "Harbor.local/x"), map("docker.io", "b.local/y")]}),
            "mappings[0].target: \"Harbor.local/x\" is not a valid registry path: uppercase letters are not allowed; mappings[1].source: duplicates the source of mappings[0]"),
        ("duplicate_after_an_item_that_is_not_a_mapping", json!({"mappings": ["docker.io", hub, map("docker.io", "b.io")]}),
            "mappings[0]: expected an object, found the string \"docker.io\"; mappings[2].source: duplicates the source of mappings[1]"),
        ("duplicate_after_normalising", json!({"mappings": [hub, map("index.docker.io", "b.io")]}),
            "mappings[1].source: duplicates the source of mappings[0]"),
        ("pull_secret_invalid",    json!({"mappings": [{"source": "docker.io", "target": "a.io", "pullSecret": "Harbor_Creds"}]}),
            "mappings[0].pullSecret: \"Harbor_Creds\" is not a valid Secret name: use lower-case letters, digits and '-', starting and ending with a letter or digit"),
        ("pull_secret_empty",      json!({"mappings": [{"source": "docker.io", "target": "a.io", "pullSecret": ""}]}),
            "mappings[0].pullSecret: must not be empty"),
        ("prefix_not_an_object",   json!({"prefix": "10.0.0.1:8000"}),         "prefix: expected an object, found the string \"10.0.0.1:8000\""),
        ("prefix_target_required", json!({"prefix": {"pullSecret": "s"}}),     "prefix.target: is required"),
        ("prefix_unknown_key",     json!({"prefix": {"target": "a.io", "source": "b.io"}}),
            "prefix.source: unknown key (expected one of: target, pullSecret, verify, onMissing, pinDigest)"),
        ("port_under_prefix",      json!({"mappings": [map("docker.io", "harbor.local:8443/hub")], "prefix": {"target": "edge.local"}}),
            "mappings[0].target: \"harbor.local:8443/hub\" has a port, which cannot become a path segment under prefix"),
        ("on_missing_unknown",     json!({"mappings": [{"source": "docker.io", "target": "a.io", "verify": true, "onMissing": "drop"}]}),
            "mappings[0].onMissing: expected \"keep\" or \"reject\", found the string \"drop\""),
        ("verify_not_boolean",     json!({"prefix": {"target": "a.io", "verify": "yes"}}),
            "prefix.verify: expected true or false, found the string \"yes\""),
        ("pin_digest_unknown_word", json!({"prefix": {"target": "a.io", "pinDigest": "yes"}}),
            "prefix.pinDigest: expected false, true, \"mirror\" or \"source\", found the string \"yes\""),
        ("pin_digest_case_matters", json!({"mappings": [{"source": "docker.io", "target": "a.io", "pinDigest": "Source"}]}),
            "mappings[0].pinDigest: expected false, true, \"mirror\" or \"source\", found the string \"Source\""),
        ("pin_digest_true_as_string", json!({"prefix": {"target": "a.io", "pinDigest": "true"}}),
            "prefix.pinDigest: expected false, true, \"mirror\" or \"source\", found the string \"true\""),
        ("pin_digest_number",      json!({"prefix": {"target": "a.io", "pinDigest": 1}}),
            "prefix.pinDigest: expected false, true, \"mirror\" or \"source\", found the number 1"),
        ("pin_digest_list",        json!({"prefix": {"target": "a.io", "pinDigest": ["source"]}}),
            "prefix.pinDigest: expected false, true, \"mirror\" or \"source\", found a list"),
        ("exclude_not_an_object",  json!({"mappings": [hub], "exclude": ["kube-system"]}), "exclude: expected an object, found a list"),
        ("namespaces_not_a_list",  json!({"mappings": [hub], "exclude": {"namespaces": "kube-system"}}),
            "exclude.namespaces: expected a list, found the string \"kube-system\""),
        ("namespace_invalid",      json!({"mappings": [hub], "exclude": {"namespaces": ["Kube_System"]}}),
            "exclude.namespaces[0]: \"Kube_System\" is not a valid namespace name: use lower-case letters, digits and '-', starting and ending with a letter or digit"),
        ("namespace_empty",        json!({"mappings": [hub], "exclude": {"namespaces": [""]}}), "exclude.namespaces[0]: must not be empty"),
        ("glob_empty",             json!({"mappings": [hub], "exclude": {"images": [""]}}), "exclude.images[0]: must not be empty"),
        ("glob_unbalanced_bracket",json!({"mappings": [hub], "exclude": {"images": ["nginx:1.2[", "ok*"]}}),
            "exclude.images[0]: \"nginx:1.2[\" is not a supported image glob: '[' is not supported: only * and ? are special in image globs"),
        ("glob_with_space",        json!({"mappings": [hub], "exclude": {"images": ["nginx *"]}}),
            "exclude.images[0]: \"nginx *\" is not a supported image glob: ' ' never appears in an image reference"),
        ("several_at_once",        json!({"enabled": 1, "mappings": [map("", "a.io"), map("docker.io", "X.io")], "extra": true}),
            "extra: unknown key (expected one of: enabled, action, mappings, prefix, exclude, annotateOriginals, resources); enabled: expected true or false, found the number 1; mappings[0].source: must not be empty; mappings[1].target: \"X.io\" is not a valid registry path: uppercase letters are not allowed"),
    ];
    check(&cases);
}

#[test]
fn every_resources_error_names_its_field_and_value() {
    let with = |resources: Value| json!({"prefix": {"target": "edge.local"}, "resources": resources});
    let cluster = |images: Value| json!({"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": images});
    let image_name = || cluster(json!(["spec.imageName"]));
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("not_a_list",           with(json!({"kind": "Cluster"})),          "resources: expected a list, found an object"),
        ("item_not_an_object",   with(json!(["Cluster"])),                  "resources[0]: expected an object, found the string \"Cluster\""),
        ("unknown_key",          with(json!([{"apiGroup": "", "kind": "Widget", "images": ["spec.image"], "paths": []}])),
            "resources[0].paths: unknown key (expected one of: apiGroup, kind, images)"),
        ("api_group_required",   with(json!([{"kind": "Cluster", "images": ["spec.imageName"]}])),
            "resources[0].apiGroup: is required (\"\" for the core group)"),
        ("api_group_invalid",    with(json!([{"apiGroup": "CNPG_io", "kind": "Cluster", "images": ["spec.imageName"]}])),
            "resources[0].apiGroup: \"CNPG_io\" is not a valid API group: use lower-case letters, digits and '-', starting and ending with a letter or digit"),
        ("kind_required",        with(json!([{"apiGroup": "postgresql.cnpg.io", "images": ["spec.imageName"]}])),
            "resources[0].kind: is required"),
        ("kind_empty",           with(json!([{"apiGroup": "postgresql.cnpg.io", "kind": "", "images": ["spec.imageName"]}])),
            "resources[0].kind: must not be empty"),
        ("kind_invalid",         with(json!([{"apiGroup": "postgresql.cnpg.io", "kind": "pg cluster", "images": ["spec.imageName"]}])),
            "resources[0].kind: \"pg cluster\" is not a valid kind: use letters, digits and '-', starting with a letter and ending with a letter or digit"),
        ("images_required",      with(json!([{"apiGroup": "postgresql.cnpg.io", "kind": "Cluster"}])),
            "resources[0].images: is required"),
        ("images_empty",         with(json!([cluster(json!([]))])),          "resources[0].images: must name at least one field path"),
        ("images_not_a_list",    with(json!([cluster(json!("spec.imageName"))])),
            "resources[0].images: expected a list, found the string \"spec.imageName\""),
        ("path_not_a_string",    with(json!([cluster(json!([5]))])),          "resources[0].images[0]: expected a string, found the number 5"),
        ("path_empty",           with(json!([cluster(json!([""]))])),         "resources[0].images[0]: must not be empty"),
        ("path_empty_segment",   with(json!([cluster(json!(["spec.imageName", "spec..image"]))])),
            "resources[0].images[1]: \"spec..image\" is not a valid field path: a field name between dots is empty"),
        ("path_trailing_dot",    with(json!([cluster(json!(["spec."]))])),
            "resources[0].images[0]: \"spec.\" is not a valid field path: a field name between dots is empty"),
        ("each_not_after_field", with(json!([cluster(json!(["spec.[*].image"]))])),
            "resources[0].images[0]: \"spec.[*].image\" is not a valid field path: [*] must follow a field name"),
        ("each_first",           with(json!([cluster(json!(["[*].image"]))])),
            "resources[0].images[0]: \"[*].image\" is not a valid field path: [*] must follow a field name"),
        ("index_not_each",       with(json!([cluster(json!(["spec.containers[0].image"]))])),
            "resources[0].images[0]: \"spec.containers[0].image\" is not a valid field path: only [*] may follow a field name, found \"[0]\""),
        ("path_twice",           with(json!([cluster(json!(["spec.imageName", "spec.x", "spec.imageName"]))])),
            "resources[0].images[2]: duplicates resources[0].images[0]"),
        ("path_three_times",     with(json!([cluster(json!(["a", "b", "a", "a"]))])),
            "resources[0].images[2]: duplicates resources[0].images[0]; resources[0].images[3]: duplicates resources[0].images[2]"),
        ("duplicate_kind",       with(json!([image_name(), {"apiGroup": "", "kind": "Widget", "images": ["spec.image"]}, cluster(json!(["spec.x"]))])),
            "resources[2].kind: duplicates the kind of resources[0]"),
        ("same_kind_other_group_is_fine", with(json!([image_name(), {"apiGroup": "example.com", "kind": "Cluster", "images": ["spec.image"]}])),
            "VALID"),
        ("workload_kind",        with(json!([{"apiGroup": "apps", "kind": "Deployment", "images": ["spec.template.spec.containers[*].image"]}])),
            "resources[0].kind: Deployment.apps is a workload kind, whose pod spec the policy redirects already"),
        ("pod",                  with(json!([{"apiGroup": "", "kind": "Pod", "images": ["spec.containers[*].image"]}])),
            "resources[0].kind: Pod is a workload kind, whose pod spec the policy redirects already"),
        ("several_at_once",      with(json!([{"apiGroup": "", "kind": "Widget", "images": ["a[1]", "b..c"]}, {"apiGroup": 1, "kind": "X"}])),
            "resources[0].images[0]: \"a[1]\" is not a valid field path: only [*] may follow a field name, found \"[1]\"; \
             resources[0].images[1]: \"b..c\" is not a valid field path: a field name between dots is empty; \
             resources[1].apiGroup: expected a string, found the number 1; resources[1].images: is required"),
    ];
    check(&cases);
}

/// Checks every `(name, settings, expected errors)` row and reports all failures at once.
fn check(cases: &[(&str, Value, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, settings, expected)| {
            let got = errors(settings.clone());
            (got != *expected).then(|| format!("{name}:\n   got      {got}\n   expected {expected}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn valid_settings() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Value)> = vec![
        ("disabled_alone",         json!({"enabled": false})),
        ("disabled_still_parsed",  json!({"enabled": false, "prefix": {"target": "edge.local:30003/spectro-images"}})),
        ("mapping",                json!({"mappings": [{"source": "docker.io", "target": "harbor.edge.local/dockerhub", "pullSecret": "harbor-creds"}]})),
        ("prefix",                 json!({"prefix": {"target": "10.10.254.254:8000/spectro-images", "pullSecret": "edge-registry"}})),
        ("null_is_absent",         json!({"prefix": {"target": "edge.local", "pullSecret": null}, "mappings": null, "exclude": null, "enabled": null})),
        ("port_target_no_prefix",  json!({"mappings": [{"source": "docker.io", "target": "harbor.local:8443/hub"}]})),
        ("ipv6_target",            json!({"mappings": [{"source": "docker.io", "target": "[fd00::1]:5000/hub"}]})),
        ("operators",              json!({"mappings": [{"source": "ghcr.io", "target": "harbor.local/ghcr"}], "resources": [
                                          {"apiGroup": "postgresql.cnpg.io", "kind": "Cluster", "images": ["spec.imageName"]},
                                          {"apiGroup": "monitoring.coreos.com", "kind": "Prometheus",
                                           "images": ["spec.image", "spec.containers[*].image", "spec.initContainers[*].image"]},
                                          {"apiGroup": "", "kind": "Widget", "images": ["spec.matrix[*][*]"]}]})),
        ("full",                   json!({"enabled": true, "annotateOriginals": false,
                                          "mappings": [{"source": "docker.io", "target": "harbor.local/hub"}],
                                          "prefix": {"target": "edge.local"},
                                          "exclude": {"namespaces": ["kube-system"], "images": ["registry.k8s.io/pause:*"]}})),
    ];
    for (name, settings) in cases {
        assert_eq!(errors(settings), "VALID", "{name}");
    }
}

#[test]
fn pin_digest_names_whose_digest_is_written() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, PinDigest)> = vec![
        ("absent_is_off",      json!(null),     PinDigest::Off),
        ("false_is_off",       json!(false),    PinDigest::Off),
        ("mirror",             json!("mirror"), PinDigest::Mirror),
        ("true_means_mirror",  json!(true),     PinDigest::Mirror),
        ("source",             json!("source"), PinDigest::Source),
    ];
    for (name, value, expected) in cases {
        let destination = json!({"target": "harbor.local/hub", "pinDigest": value});
        let mapping = json!({"source": "docker.io", "target": "harbor.local/hub", "pinDigest": value});
        let settings = Settings::from_json(&json!({"prefix": destination, "mappings": [mapping]}).to_string()).unwrap();
        assert_eq!(settings.rules.prefix().unwrap().pin_digest, expected, "{name}: prefix");
        assert_eq!(settings.rules.mappings()[0].to.pin_digest, expected, "{name}: mapping");
    }
}

#[test]
fn disabled_settings_are_still_checked() {
    assert_eq!(
        errors(json!({"enabled": false, "mappings": [{"source": "docker.io"}]})),
        "mappings[0].target: is required"
    );
}

#[test]
fn ten_thousand_mappings_validate() {
    let mappings: Vec<Value> = (0..10_000)
        .map(|i| json!({"source": format!("r{i}.example.com"), "target": format!("mirror.local/r{i}")}))
        .collect();
    let settings = Settings::from_json(&json!({ "mappings": mappings }).to_string()).unwrap();
    assert_eq!(settings.rules.mappings().len(), 10_000);
}

#[test]
fn the_wapc_operation_answers_in_the_sdk_shape() {
    #[rustfmt::skip]
    let cases: &[(&[u8], Value)] = &[
        (br#"{"prefix": {"target": "edge.local"}}"#, json!({"valid": true, "message": null})),
        (br#"{}"#,                                    json!({"valid": false, "message": NOTHING})),
        (br#"{"prefix": "#,                           json!({"valid": false, "message": "settings are not valid JSON: EOF while parsing a value at line 1 column 11"})),
        (b"\xff",                                     json!({"valid": false, "message": "settings are not valid UTF-8"})),
    ];
    for (payload, expected) in cases {
        let response: Value = serde_json::from_slice(&validate_settings(payload)).unwrap();
        assert_eq!(&response, expected, "{}", String::from_utf8_lossy(payload));
    }
}

#[test]
fn a_key_written_twice_in_a_mapping_is_named_with_its_mapping() {
    // Valid lists of mappings are read in one pass; this one falls back to the
    // item-by-item read, which must still name the mapping.
    let text = r#"{"mappings": [{"source": "docker.io", "target": "a.io"}, {"source": "quay.io", "source": "gcr.io", "target": "b.io"}]}"#;
    assert_eq!(Settings::from_json(text).unwrap_err().to_string(), "mappings[1]: duplicate key \"source\"");
}
