//! `validate` on arbitrary bytes, and the same bytes (after a first one that
//! picks the case) as the object of a plausible request, decided under
//! settings compiled once: so the fuzzer reaches the workload walk, a listed
//! kind's field paths, report mode, the mirror checks and the audit
//! annotations. Never a panic, always a JSON response of the SDK's shape, a
//! message with every rejection, audit annotations only for decisions taken,
//! and a mutated object that is valid JSON and that a second pass leaves alone.
//!
//! Settings arrive with every request, but parsing them is the `settings`
//! target's work (and the raw-bytes call's here): doing it again for every
//! case of every input made this target several times slower.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use image_redirect_policy::admission::{Request, admit, validate};
use image_redirect_policy::mirror::{Mirror, NoMirror};
use image_redirect_policy::response::{AUDIT_KEYS, AUDIT_VALUE_MAX};
use image_redirect_policy::settings::Settings;
use libfuzzer_sys::fuzz_target;

const SETTINGS: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"},
  {"source":"quay.io/team","target":"quay.io/mirror"}],"prefix":{"target":"edge.local:30003/mirror"},"exclude":{"images":["*pause*"]}}"#;
/// A listed kind with paths through a field, a list and two lists.
const RESOURCES: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"}],
  "resources":[{"apiGroup":"example.com","kind":"Widget","images":["spec.image","spec.containers[*].image","spec.stages[*].steps[*].image"]}]}"#;
const MAPPINGS_ONLY: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"},
  {"source":"docker.io/library","target":"docker.io/mirror"}]}"#;
/// Every kind of check a mapping can ask for (no prefix: it would take the checks over).
const CHECKED: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","verify":true,"pinDigest":true},
  {"source":"quay.io","target":"harbor.local/quay","pinDigest":"source"},
  {"source":"ghcr.io","target":"harbor.local/ghcr","verify":true,"onMissing":"reject"}],
  "exclude":{"images":["*pause*"]}}"#;
const REPORT: &str = r#"{"action":"report","mappings":[{"source":"docker.io","target":"harbor.local/hub","verify":true}],
  "prefix":{"target":"edge.local:30003/mirror"},"exclude":{"images":["*pause*"]},
  "resources":[{"apiGroup":"example.com","kind":"Widget","images":["spec.image","spec.containers[*].image"]}]}"#;

/// (group, kind, operation, old object: the same, or one with no containers, settings)
const CASES: [(&str, &str, &str, bool, &str); 8] = [
    ("", "Pod", "CREATE", true, SETTINGS),
    ("", "Pod", "UPDATE", false, MAPPINGS_ONLY),
    ("apps", "Deployment", "UPDATE", true, SETTINGS),
    ("batch", "CronJob", "CREATE", true, MAPPINGS_ONLY),
    ("example.com", "Widget", "UPDATE", true, RESOURCES),
    ("", "Pod", "CREATE", true, CHECKED),
    ("", "Pod", "CREATE", true, REPORT),
    ("example.com", "Widget", "CREATE", true, REPORT),
];

static COMPILED: LazyLock<Vec<Settings>> = LazyLock::new(|| {
    CASES.iter().map(|case| Settings::from_json(case.4).expect("the fuzz settings are valid")).collect()
});

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const OTHER_DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Registries that hold one content, [`DIGEST`], under every tag but those
/// naming `absent`, and nothing under other digests; outside `harbor.local`,
/// a tag naming `other` holds other content (what `pinDigest: source` refuses).
struct Registries;

impl Mirror for Registries {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        let other = image.contains("other") && !image.starts_with("harbor.local/");
        match image.split_once('@') {
            _ if image.contains("absent") => Err("manifest unknown".to_owned()),
            Some((_, digest)) if digest != DIGEST => Err("manifest unknown".to_owned()),
            Some(_) => Ok(DIGEST.to_owned()),
            None if other => Ok(OTHER_DIGEST.to_owned()),
            None => Ok(DIGEST.to_owned()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(&validate(data, &NoMirror));
    // The first byte picks the case: seeds write it as an ASCII digit ('0' is case 0).
    let Some((&selector, object)) = data.split_first() else { return };
    let Ok(object) = std::str::from_utf8(object) else { return };
    let case = usize::from(selector) % CASES.len();
    let (group, kind, operation, same_old, _) = CASES[case];
    let settings = &COMPILED[case];
    let request = |object: &str| {
        let old = if same_old { object } else { "{}" };
        format!(
            r#"{{"kind":{{"group":"{group}","kind":"{kind}"}},"operation":"{operation}","object":{object},"oldObject":{old}}}"#
        )
    };
    let decide = |text: &str| {
        // Not JSON (the object is arbitrary): the raw-bytes call above covered that answer.
        let request: Request = serde_json::from_str(text).ok()?;
        Some(check(&admit(&request, settings, &Registries).to_json()))
    };
    let Some(Some(mutated)) = decide(&request(object)) else { return };
    let again = decide(&request(&mutated));
    assert!(matches!(again, Some(None)), "a second pass changed {mutated}\ninto {again:?}");
});

/// The response's shape, with the object kept as text: it carries the
/// request's bytes, numbers included, whether or not a tree could hold them
/// (an f64 cannot hold 1e9402; JSON allows it).
#[derive(serde::Deserialize)]
struct Response<'a> {
    accepted: bool,
    #[serde(borrow)]
    mutated_object: Option<&'a serde_json::value::RawValue>,
    message: Option<String>,
    warnings: Option<Vec<String>>,
    audit_annotations: Option<BTreeMap<String, String>>,
}

/// The mutated object, if any.
fn check(out: &[u8]) -> Option<String> {
    let response: Response = serde_json::from_slice(out).expect("a JSON response");
    assert!(response.warnings.is_none_or(|w| !w.is_empty() && w.len() <= 21));
    let audit = response.audit_annotations.unwrap_or_default();
    for (key, value) in &audit {
        assert!(AUDIT_KEYS.contains(&key.as_str()), "audit annotation {key}");
        assert!(!value.is_empty() && value.len() <= AUDIT_VALUE_MAX, "{key}: {value}");
        assert!(!value.chars().any(char::is_control), "{key}: {value:?}");
    }
    // Every redirect written is recorded, and nothing else moves an image.
    let moved = audit.contains_key("redirected") || audit.contains_key("pinned");
    assert_eq!(moved, response.mutated_object.is_some(), "{audit:?}");
    match response.accepted {
        true => assert!(response.message.is_none()),
        false => assert!(response.message.is_some_and(|m| !m.is_empty()) && audit.is_empty()),
    }
    let object = response.mutated_object?;
    assert!(object.get().starts_with('{'), "a mutated object is an object");
    Some(object.get().to_owned())
}
