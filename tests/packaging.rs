//! What users install must agree with itself: versions, rules, resources,
//! the Rancher questions, and the example manifests.

use std::collections::BTreeSet;
use std::fs;

use image_redirect_policy::admission::validate_settings;
use image_redirect_policy::settings::field_paths;
use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path);
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn metadata() -> Value {
    yaml("policy-metadata/metadata.yml")
}

fn package() -> Value {
    yaml("artifacthub/artifacthub-pkg.yml")
}

fn embedded(package: &Value, annotation: &str) -> Value {
    serde_norway::from_str(package["annotations"][annotation].as_str().expect(annotation)).unwrap()
}

#[test]
fn metadata_declares_a_mutating_wapc_policy() {
    let m = metadata();
    assert_eq!(m["mutating"], true);
    assert_eq!(m["executionMode"], "kubewarden-wapc");
    assert_eq!(m["backgroundAudit"], false);
    assert_eq!(m["contextAwareResources"], serde_json::json!([]));
    assert_eq!(m["hostCapabilities"], serde_json::json!(["oci/v1/manifest_digest"]));
    let annotations = m["annotations"].as_object().unwrap();
    for key in
        ["title", "version", "description", "author", "url", "source", "license", "ociUrl", "severity", "category"]
    {
        assert!(annotations.contains_key(&format!("io.kubewarden.policy.{key}")), "io.kubewarden.policy.{key}");
    }
    for key in ["displayName", "resources", "keywords"] {
        assert!(annotations.contains_key(&format!("io.artifacthub.{key}")), "io.artifacthub.{key}");
    }
}

#[test]
fn versions_agree() {
    let crate_version = env!("CARGO_PKG_VERSION");
    let m = metadata();
    let p = package();
    let oci = m["annotations"]["io.kubewarden.policy.ociUrl"].as_str().unwrap();
    assert_eq!(m["annotations"]["io.kubewarden.policy.version"], crate_version);
    assert_eq!(p["version"], crate_version);
    assert_eq!(p["containersImages"][0]["image"], format!("{oci}:v{crate_version}"));
    for example in examples() {
        let module = example["spec"]["module"].as_str().unwrap();
        assert_eq!(module, format!("registry://{oci}:v{crate_version}"));
    }
}

#[test]
fn the_package_describes_the_metadata() {
    let m = metadata();
    let p = package();
    assert_eq!(p["name"], m["annotations"]["io.kubewarden.policy.title"]);
    assert_eq!(p["displayName"], m["annotations"]["io.artifacthub.displayName"]);
    assert_eq!(p["license"], m["annotations"]["io.kubewarden.policy.license"]);
    assert_eq!(p["annotations"]["kubewarden/mutation"], "true");
    assert_eq!(embedded(&p, "kubewarden/rules"), m["rules"]);
    assert_eq!(embedded(&p, "kubewarden/questions-ui"), yaml("artifacthub/questions-ui.yml"));
    let resources =
        m["rules"].as_array().unwrap().iter().flat_map(|rule| rule["resources"].as_array().unwrap().clone());
    let kinds: BTreeSet<String> = resources.map(|r| kind_of(r.as_str().unwrap())).collect();
    let listed = |text: &str| text.split(',').map(|k| k.trim().to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(listed(p["annotations"]["kubewarden/resources"].as_str().unwrap()), kinds);
    assert_eq!(listed(m["annotations"]["io.artifacthub.resources"].as_str().unwrap()), kinds);
}

/// `pods` and `pods/ephemeralcontainers` are both Pods.
fn kind_of(resource: &str) -> String {
    match resource.split('/').next().unwrap() {
        "pods" => "Pod".to_owned(),
        other => panic!("a resource this test does not know: {other}"),
    }
}

#[test]
fn every_setting_has_a_question_and_every_question_a_setting() {
    let questions = yaml("artifacthub/questions-ui.yml");
    let mut asked = BTreeSet::new();
    for question in questions["questions"].as_array().unwrap() {
        let variable = question["variable"].as_str().unwrap();
        let nested = question.get("subquestions").or(question.get("sequence_questions"));
        match nested.and_then(Value::as_array) {
            None => asked.insert(variable.to_owned()),
            Some(children) => {
                for child in children {
                    let name = child["variable"].as_str().unwrap();
                    asked.insert(match question["type"].as_str() {
                        Some("sequence[") => format!("{variable}[].{name}"),
                        _ => name.to_owned(),
                    });
                }
                true
            }
        };
    }
    assert_eq!(asked, field_paths().into_iter().collect::<BTreeSet<_>>());
}

fn examples() -> Vec<Value> {
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names.len(), 5);
    names.iter().map(|name| yaml(&format!("examples/{name}"))).collect()
}

#[test]
fn example_manifests_carry_valid_settings_and_the_shipped_rules() {
    let rules = metadata()["rules"].clone();
    for example in examples() {
        let name = example["metadata"]["name"].as_str().unwrap().to_owned();
        assert_eq!(example["kind"], "ClusterAdmissionPolicy", "{name}");
        assert_eq!(example["spec"]["mutating"], true, "{name}");
        let settings = serde_json::to_vec(&example["spec"]["settings"]).unwrap();
        let answer: Value = serde_json::from_slice(&validate_settings(&settings)).unwrap();
        assert_eq!(answer, serde_json::json!({"valid": true, "message": null}), "{name}");
        if name != "image-redirect-workload-templates" {
            assert_eq!(example["spec"]["rules"], rules, "{name}");
        }
    }
}
