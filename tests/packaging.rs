//! What users install must agree with itself, and pass Kubewarden's own tools:
//! versions, rules, resources, the Rancher questions, the example manifests,
//! and the metadata as `kwctl annotate` and `kwctl scaffold artifacthub` read it.
//!
//! [`kwctl_says`] applies the rules policy-evaluator applies when it reads
//! metadata (`policy_metadata.rs`: the schema's types) and builds the Artifact
//! Hub package (`policy_artifacthub.rs`: required annotations, semver, URLs,
//! CSV lists, `name <email>` authors, boolean strings), with the messages kwctl
//! prints; [`scaffold_artifacthub`] derives the package as kwctl does, and the
//! committed `artifacthub/artifacthub-pkg.yml` must equal it field by field.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use image_redirect_policy::admission::validate_settings;
use image_redirect_policy::reference::Reference;
use image_redirect_policy::settings::field_paths;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn read(path: &str) -> String {
    fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
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

// ---- The metadata schema, as policy-evaluator deserialises it ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    rules: Vec<Rule>,
    mutating: bool,
    #[serde(default = "background_audit_default")]
    #[allow(dead_code)]
    background_audit: bool,
    #[serde(default)]
    #[allow(dead_code)]
    execution_mode: ExecutionMode,
    #[serde(default)]
    context_aware_resources: Vec<ContextAwareResource>,
    annotations: Option<BTreeMap<String, String>>,
}

fn background_audit_default() -> bool {
    true
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<Operation>,
}

#[derive(Deserialize, Serialize)]
enum Operation {
    #[serde(rename = "CREATE")]
    Create,
    #[serde(rename = "UPDATE")]
    Update,
    #[serde(rename = "DELETE")]
    Delete,
    #[serde(rename = "CONNECT")]
    Connect,
    #[serde(rename = "*")]
    All,
}

#[derive(Deserialize, Default)]
enum ExecutionMode {
    #[default]
    #[serde(rename = "kubewarden-wapc")]
    KubewardenWapc,
    #[serde(rename = "opa")]
    Opa,
    #[serde(rename = "gatekeeper")]
    Gatekeeper,
    #[serde(rename = "wasi")]
    Wasi,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextAwareResource {
    api_version: String,
    kind: String,
}

// ---- The annotations, as `kwctl scaffold artifacthub` checks them ----

const TITLE: &str = "io.kubewarden.policy.title";
const VERSION: &str = "io.kubewarden.policy.version";
const DESCRIPTION: &str = "io.kubewarden.policy.description";
const AUTHOR: &str = "io.kubewarden.policy.author";
const URL: &str = "io.kubewarden.policy.url";
const SOURCE: &str = "io.kubewarden.policy.source";
const LICENSE: &str = "io.kubewarden.policy.license";
const OCI_URL: &str = "io.kubewarden.policy.ociUrl";
const DISPLAY_NAME: &str = "io.artifacthub.displayName";
const KEYWORDS: &str = "io.artifacthub.keywords";
const RESOURCES: &str = "io.artifacthub.resources";
const HIDDEN_UI: &str = "io.kubewarden.hidden-ui";

fn missing(annotation: &str) -> String {
    format!("policy metadata must specify \"{annotation}\" in annotations")
}

fn malformed_url(annotation: &str, error: &str) -> String {
    // kwctl formats both with `{:?}`, hence the doubled quotes.
    format!("annotation \"{annotation:?}\" in policy metadata must be a well formed URL: {error:?}")
}

fn malformed_csv(annotation: &str) -> String {
    format!("annotation \"{annotation}\" in policy metadata is malformed, must be csv values")
}

fn malformed_authors() -> String {
    format!("annotation \"{AUTHOR}\" in policy metadata is malformed, must be csv values of \"name <email>\"")
}

fn malformed_email(error: &str) -> String {
    format!("annotation \"{AUTHOR:?}\" in policy metadata must be a well formed email: {error:?}")
}

/// What kwctl prints for `metadata` (YAML) and `questions`, in the order it
/// checks; empty when `kwctl annotate` and `kwctl scaffold artifacthub` pass.
/// Schema errors are serde's, after "Error unmarshalling metadata ", without
/// the " at line L column C" that follows them.
fn kwctl_says(metadata: &str, questions: &str) -> Vec<String> {
    let metadata: Metadata = match serde_norway::from_str(metadata) {
        Ok(metadata) => metadata,
        Err(e) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            return vec![format!("Error unmarshalling metadata {message}")];
        }
    };
    let annotations = metadata.annotations.unwrap_or_default();
    if annotations.is_empty() {
        return vec!["no annotations in policy metadata. policy metadata must specify annotations".to_owned()];
    }
    match annotations.get(VERSION).map(|v| semver::Version::parse(v)) {
        None => vec![missing(VERSION)],
        Some(Err(e)) => vec![format!("policy version must be in semver: {e}")],
        Some(Ok(_)) if questions.is_empty() => vec!["questions-ui content cannot be empty".to_owned()],
        Some(Ok(version)) => annotation_problems(&annotations, &version),
    }
}

/// The checks after the version, each as kwctl words it (it stops at the first).
fn annotation_problems(annotations: &BTreeMap<String, String>, version: &semver::Version) -> Vec<String> {
    let get = |key: &str| annotations.get(key).map(String::as_str);
    let url_problem = |key: &str| {
        let parsed = get(key).map(url::Url::parse)?;
        parsed.err().map(|e| malformed_url(key, &e.to_string()))
    };
    let mut problems: Vec<String> = [TITLE, DISPLAY_NAME, DESCRIPTION, OCI_URL]
        .iter()
        .filter(|key| get(key).is_none())
        .map(|k| missing(k))
        .collect();
    problems.extend(url_problem(URL));
    // kwctl parses `<ociUrl>:v<version>` as an OCI reference (oci-spec's wording).
    if get(OCI_URL).is_some_and(|oci| Reference::parse(&format!("{oci}:v{version}")).is_err()) {
        problems.push(malformed_url(OCI_URL, "invalid reference format"));
    }
    // Resources: kwctl copies them as given, but Artifact Hub reads a comma-separated list.
    for csv in [KEYWORDS, RESOURCES] {
        if get(csv).is_some_and(|list| list.split(',').any(|item| item.trim_matches(' ').is_empty())) {
            problems.push(malformed_csv(csv));
        }
    }
    problems.extend(url_problem(SOURCE));
    problems.extend(get(AUTHOR).and_then(|authors| maintainers(authors).err()));
    if get(HIDDEN_UI).is_some_and(|value| value.parse::<bool>().is_err()) {
        problems.push(format!(
            "annotation \"{HIDDEN_UI}\" in policy metadata is malformed, must be a string \"true\" or \"false\""
        ));
    }
    problems
}

/// `Name <email>, Other <email>` as (name, email) pairs: kwctl reads the
/// annotation as a mail `To:` header (RFC 5322 name-addr), then checks each
/// address; empty items between commas are skipped.
fn maintainers(authors: &str) -> Result<Vec<(String, String)>, String> {
    let items: Vec<&str> = authors.split(',').map(str::trim).filter(|item| !item.is_empty()).collect();
    if items.is_empty() {
        return Err(malformed_authors());
    }
    items
        .iter()
        .map(|item| {
            let (name, address) = match item.strip_suffix('>').and_then(|rest| rest.rsplit_once('<')) {
                Some((name, address)) => (name.trim().trim_matches('"'), address),
                None if item.contains('@') && !item.contains(' ') => ("", *item),
                None => return Err(malformed_authors()),
            };
            email_problem(address).map_or(Ok((name.to_owned(), address.to_owned())), |e| Err(malformed_email(e)))
        })
        .collect()
}

/// The email_address crate's verdict on `address`, for the cases that matter here.
fn email_problem(address: &str) -> Option<&'static str> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some("Missing separator character '@'.");
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    match (local, domain) {
        ("", _) => Some("Local part is empty."),
        (_, "") => Some("Domain is empty."),
        _ if !local.chars().all(allowed) || !domain.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)) => {
            Some("Invalid character.")
        }
        _ => None,
    }
}

fn questions() -> String {
    read("artifacthub/questions-ui.yml")
}

#[test]
fn kwctl_accepts_the_metadata() {
    assert_eq!(kwctl_says(&read("policy-metadata/metadata.yml"), &questions()), Vec::<String>::new());
}

#[test]
fn each_rule_kwctl_applies_fails_here_first() {
    let oci_upper = "ghcr.io/Image-Redirect/policies/image-redirect";
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, String)> = vec![
        ("author_without_email",       json!({AUTHOR: "image-redirect-policy developers"}), malformed_authors()),
        ("author_empty",               json!({AUTHOR: ""}),                              malformed_authors()),
        ("author_email_not_bracketed", json!({AUTHOR: "Dev dev@example.com"}),          malformed_authors()),
        ("author_email_without_at",    json!({AUTHOR: "Dev <dev.example.com>"}),        malformed_email("Missing separator character '@'.")),
        ("author_email_without_local", json!({AUTHOR: "A <a@b.io>, Dev <@example.com>"}), malformed_email("Local part is empty.")),
        ("author_email_bad_character", json!({AUTHOR: "Dev <d v@example.com>"}),        malformed_email("Invalid character.")),
        ("title_missing",              json!({TITLE: null}),                             missing(TITLE)),
        ("display_name_missing",       json!({DISPLAY_NAME: null}),                      missing(DISPLAY_NAME)),
        ("description_missing",        json!({DESCRIPTION: null}),                       missing(DESCRIPTION)),
        ("oci_url_missing",            json!({OCI_URL: null}),                           missing(OCI_URL)),
        ("oci_url_uppercase",          json!({OCI_URL: oci_upper}),                      malformed_url(OCI_URL, "invalid reference format")),
        ("oci_url_with_a_tag",         json!({OCI_URL: "ghcr.io/x/image-redirect:v1"}),  malformed_url(OCI_URL, "invalid reference format")),
        ("version_missing",            json!({VERSION: null}),                           missing(VERSION)),
        ("version_not_semver",         json!({VERSION: "v0.1"}),                         "policy version must be in semver: unexpected character 'v' while parsing major version number".into()),
        ("url_relative",               json!({URL: "github.com/image-redirect-policy"}), malformed_url(URL, "relative URL without a base")),
        ("source_relative",            json!({SOURCE: "image-redirect-policy"}),         malformed_url(SOURCE, "relative URL without a base")),
        ("keywords_empty_item",        json!({KEYWORDS: "image, , mirror"}),             malformed_csv(KEYWORDS)),
        ("keywords_trailing_comma",    json!({KEYWORDS: "image, mirror,"}),              malformed_csv(KEYWORDS)),
        ("resources_empty_item",       json!({RESOURCES: "Pod,,Deployment"}),           malformed_csv(RESOURCES)),
        ("hidden_ui_not_a_boolean",    json!({HIDDEN_UI: "yes"}),                        format!("annotation \"{HIDDEN_UI}\" in policy metadata is malformed, must be a string \"true\" or \"false\"")),
        ("annotation_not_a_string",    json!({LICENSE: ["Apache-2.0"]}),                 "Error unmarshalling metadata annotations.io.kubewarden.policy.license: invalid type: sequence, expected a string".into()),
    ];
    #[rustfmt::skip]
    let schema: Vec<(&str, Value, String)> = vec![
        ("mutating_not_a_boolean",     json!({"mutating": "yes"}),         "Error unmarshalling metadata mutating: invalid type: string \"yes\", expected a boolean".into()),
        ("mutating_missing",           json!({"mutating": null}),          "Error unmarshalling metadata missing field `mutating`".into()),
        ("background_audit_a_string",  json!({"backgroundAudit": "false"}), "Error unmarshalling metadata backgroundAudit: invalid type: string \"false\", expected a boolean".into()),
        ("execution_mode_unknown",     json!({"executionMode": "wapc"}),   "Error unmarshalling metadata executionMode: unknown variant `wapc`, expected one of `kubewarden-wapc`, `opa`, `gatekeeper`, `wasi`".into()),
        ("rules_not_a_list",           json!({"rules": "pods"}),           "Error unmarshalling metadata rules: invalid type: string \"pods\", expected a sequence".into()),
        ("rule_operation_unknown",     json!({"rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["PATCH"]}]}),
            "Error unmarshalling metadata rules[0].operations[0]: unknown variant `PATCH`, expected one of `CREATE`, `UPDATE`, `DELETE`, `CONNECT`, `*`".into()),
        ("context_aware_not_a_list",   json!({"contextAwareResources": {"kind": "Pod"}}), "Error unmarshalling metadata contextAwareResources: invalid type: map, expected a sequence".into()),
        ("context_aware_without_kind", json!({"contextAwareResources": [{"apiVersion": "v1"}]}), "Error unmarshalling metadata contextAwareResources[0]: missing field `kind`".into()),
    ];
    let annotated = cases.into_iter().map(|(name, edit, message)| (name, json!({"annotations": edit}), message));
    let mut failures = Vec::new();
    for (name, edit, expected) in annotated.chain(schema) {
        let says = kwctl_says(&serde_norway::to_string(&edited(metadata(), &edit)).unwrap(), &questions());
        if says != [expected.clone()] {
            failures.push(format!("{name}: kwctl would say {says:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(kwctl_says(&read("policy-metadata/metadata.yml"), ""), ["questions-ui content cannot be empty"]);
}

/// `document` with `edit` merged in: objects key by key, `null` removes.
fn edited(mut document: Value, edit: &Value) -> Value {
    for (key, value) in edit.as_object().unwrap() {
        match value {
            Value::Null => drop(document.as_object_mut().unwrap().remove(key)),
            Value::Object(_) if document[key].is_object() => document[key] = edited(document[key].take(), value),
            other => document[key] = other.clone(),
        }
    }
    document
}

// ---- The Artifact Hub package, as `kwctl scaffold artifacthub` derives it ----

/// The fields kwctl writes from the metadata and the questions, but
/// `createdAt` (the time it ran).
fn scaffold_artifacthub(metadata_yaml: &str, questions: &str) -> Value {
    let metadata: Metadata = serde_norway::from_str(metadata_yaml).unwrap();
    let a = metadata.annotations.unwrap();
    let version = &a[VERSION];
    let image = format!("{}:v{version}", a[OCI_URL]);
    let source = url::Url::parse(&a[SOURCE]).unwrap();
    let release = format!("{}/releases/download/v{version}/policy.wasm", source.as_str());
    let links = match source.host_str() == Some("github.com") {
        true => json!([{"name": "policy", "url": url::Url::parse(&release).unwrap().as_str()},
                       {"name": "source", "url": source.as_str()}]),
        false => json!([{"name": "source", "url": source.as_str()}]),
    };
    let maintainers: Vec<Value> = maintainers(&a[AUTHOR])
        .unwrap()
        .into_iter()
        .map(|(name, email)| json!({"name": name, "email": email}))
        .collect();
    json!({
        "version": version,
        "name": a[TITLE],
        "displayName": a[DISPLAY_NAME],
        "description": a[DESCRIPTION],
        "license": a[LICENSE],
        "homeURL": url::Url::parse(&a[URL]).unwrap().as_str(),
        "containersImages": [{"name": "policy", "image": image}],
        "keywords": a[KEYWORDS].split(',').map(|k| k.trim_matches(' ')).collect::<Vec<_>>(),
        "links": links,
        "install": install(&image),
        "maintainers": maintainers,
        "provider": {"name": "kubewarden"},
        "recommendations": [{"url": "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller"}],
        "annotations": package_annotations(&metadata.rules, &metadata.context_aware_resources, metadata.mutating, &a, questions),
    })
}

fn install(image: &str) -> String {
    format!(
        "The policy can be obtained using [`kwctl`](https://github.com/kubewarden/kwctl):\n```console\n\
         kwctl pull {image}\n```\nThen, generate the policy manifest and tune it to your liking. For example:\n\
         ```console\nkwctl scaffold manifest -t ClusterAdmissionPolicy registry://{image}\n```\n"
    )
}

fn package_annotations(
    rules: &[Rule],
    context_aware: &[ContextAwareResource],
    mutating: bool,
    a: &BTreeMap<String, String>,
    questions: &str,
) -> Value {
    let mut annotations = json!({
        "kubewarden/mutation": mutating.to_string(),
        "kubewarden/rules": serde_norway::to_string(rules).unwrap(),
        "kubewarden/questions-ui": questions,
    });
    if !context_aware.is_empty() {
        annotations["kubewarden/contextAwareResources"] = serde_norway::to_string(context_aware).unwrap().into();
    }
    if let Some(hidden) = a.get(HIDDEN_UI) {
        annotations["kubewarden/hidden-ui"] = hidden.as_str().into();
    }
    if let Some(resources) = a.get(RESOURCES) {
        annotations["kubewarden/resources"] = resources.as_str().into();
    }
    annotations
}

#[test]
fn the_package_is_what_kwctl_scaffold_artifacthub_derives() {
    let mut committed = package();
    let created = committed.as_object_mut().unwrap().remove("createdAt").expect("createdAt");
    let created = created.as_str().unwrap_or_default();
    assert!(created.len() >= 20 && created.as_bytes()[10] == b'T' && created.ends_with('Z'), "RFC 3339: {created}");
    let derived = scaffold_artifacthub(&read("policy-metadata/metadata.yml"), &questions());
    let keys: BTreeSet<&String> =
        committed.as_object().unwrap().keys().chain(derived.as_object().unwrap().keys()).collect();
    for key in keys {
        assert_eq!(committed.get(key), derived.get(key), "artifacthub-pkg.yml field {key}");
    }
}

#[test]
fn versions_agree() {
    let crate_version = env!("CARGO_PKG_VERSION");
    let m = metadata();
    let p = package();
    let oci = m["annotations"][OCI_URL].as_str().unwrap();
    assert_eq!(m["annotations"][VERSION], crate_version);
    assert_eq!(p["version"], crate_version);
    assert_eq!(p["containersImages"][0]["image"], format!("{oci}:v{crate_version}"));
    for example in examples() {
        let module = example["spec"]["module"].as_str().unwrap();
        assert_eq!(module, format!("registry://{oci}:v{crate_version}"));
    }
}

#[test]
fn the_readme_installs_what_the_metadata_names() {
    let m = metadata();
    let expected = format!("registry://{}:v{}", m["annotations"][OCI_URL].as_str().unwrap(), env!("CARGO_PKG_VERSION"));
    let readme = read("README.md");
    let install = readme.split("\n## Install\n").nth(1).unwrap().split("\n## ").next().unwrap();
    let named: Vec<&str> = install
        .lines()
        .filter(|line| line.trim_start().starts_with("kwctl") || line.trim_start().starts_with("--"))
        .flat_map(|line| line.split_whitespace().filter(|word| word.starts_with("registry://")))
        .collect();
    assert!(!named.is_empty(), "the install section names the policy");
    assert!(named.iter().all(|reference| *reference == expected), "{named:?}, expected {expected}");
}

#[test]
fn metadata_declares_a_mutating_wapc_policy() {
    let m = metadata();
    assert_eq!(m["mutating"], true);
    assert_eq!(m["executionMode"], "kubewarden-wapc");
    assert_eq!(m["backgroundAudit"], false);
    assert_eq!(m["contextAwareResources"], json!([]));
    assert_eq!(m["hostCapabilities"], json!(["oci/v1/manifest_digest"]));
    let annotations = m["annotations"].as_object().unwrap();
    for key in [TITLE, VERSION, DESCRIPTION, AUTHOR, URL, SOURCE, LICENSE, OCI_URL, DISPLAY_NAME, RESOURCES, KEYWORDS] {
        assert!(annotations.contains_key(key), "{key}");
    }
    for key in ["io.kubewarden.policy.severity", "io.kubewarden.policy.category"] {
        assert!(annotations.contains_key(key), "{key}");
    }
}

#[test]
fn the_package_describes_the_metadata() {
    let m = metadata();
    let p = package();
    assert_eq!(embedded(&p, "kubewarden/rules"), m["rules"]);
    let resources =
        m["rules"].as_array().unwrap().iter().flat_map(|rule| rule["resources"].as_array().unwrap().clone());
    let kinds: BTreeSet<String> = resources.map(|r| kind_of(r.as_str().unwrap())).collect();
    let listed = |text: &str| text.split(',').map(|k| k.trim().to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(listed(p["annotations"]["kubewarden/resources"].as_str().unwrap()), kinds);
    assert_eq!(listed(m["annotations"][RESOURCES].as_str().unwrap()), kinds);
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
    assert_eq!(names.len(), 8);
    names.iter().map(|name| yaml(&format!("examples/{name}"))).collect()
}

#[test]
fn example_manifests_carry_valid_settings_and_the_shipped_rules() {
    let rules = metadata()["rules"].clone();
    for example in examples() {
        let name = example["metadata"]["name"].as_str().unwrap().to_owned();
        assert_eq!(example["kind"], "ClusterAdmissionPolicy", "{name}");
        let reports = example["spec"]["settings"]["action"] == "report";
        assert_eq!(example["spec"]["mutating"], !reports, "{name}");
        let settings = serde_json::to_vec(&example["spec"]["settings"]).unwrap();
        let answer: Value = serde_json::from_slice(&validate_settings(&settings)).unwrap();
        assert_eq!(answer, json!({"valid": true, "message": null}), "{name}");
        match name.as_str() {
            "image-redirect-workload-templates" => {}
            // What the audit scanner turns into PolicyReports: Pods only, each
            // running container once; never blocking, never mutating.
            "image-redirect-audit" => {
                let pods = json!([{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}]);
                assert_eq!(example["spec"]["rules"], pods, "{name}");
                assert_eq!(
                    (&example["spec"]["mode"], &example["spec"]["backgroundAudit"]),
                    (&json!("monitor"), &json!(true))
                );
            }
            // The custom resources are listed after the shipped Pod rules.
            "image-redirect-operator-resources" => {
                let shipped = rules.as_array().unwrap();
                assert_eq!(&example["spec"]["rules"].as_array().unwrap()[..shipped.len()], shipped, "{name}");
            }
            _ => assert_eq!(example["spec"]["rules"], rules, "{name}"),
        }
    }
}

/// The form offers only values the settings accept: every option of every
/// enum question, set alone on a mapping or the prefix, validates.
#[test]
fn every_option_the_form_offers_is_a_valid_setting() {
    let questions = yaml("artifacthub/questions-ui.yml");
    let mut refused = Vec::new();
    for question in questions["questions"].as_array().unwrap().iter().filter(|q| q["type"] == "enum") {
        for option in question["options"].as_array().unwrap() {
            let settings = json!({"prefix": {"target": "edge.local"}, question["variable"].as_str().unwrap(): option});
            let answer: Value =
                serde_json::from_slice(&validate_settings(&serde_json::to_vec(&settings).unwrap())).unwrap();
            if answer["valid"] != true {
                refused.push(format!("{}: {option}: {}", question["variable"], answer["message"]));
            }
        }
    }
    for question in questions["questions"].as_array().unwrap() {
        let nested = question.get("subquestions").or(question.get("sequence_questions"));
        for child in nested.and_then(Value::as_array).into_iter().flatten().filter(|c| c["type"] == "enum") {
            let variable = child["variable"].as_str().unwrap();
            for option in child["options"].as_array().unwrap() {
                let settings = match variable.strip_prefix("prefix.") {
                    Some(key) => json!({"prefix": {"target": "edge.local", key: option}}),
                    None => {
                        json!({"mappings": [{"source": "docker.io", "target": "harbor.local/hub", variable: option}]})
                    }
                };
                let answer: Value =
                    serde_json::from_slice(&validate_settings(&serde_json::to_vec(&settings).unwrap())).unwrap();
                if answer["valid"] != true {
                    refused.push(format!("{variable}: {option}: {}", answer["message"]));
                }
            }
        }
    }
    assert!(refused.is_empty(), "{refused:?}");
}
