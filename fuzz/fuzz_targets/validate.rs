//! `validate` on arbitrary bytes, and on fuzzed objects inside a plausible
//! payload (so the fuzzer reaches the workload walk and a listed kind's field
//! paths): never a panic, always a JSON response of the SDK's shape, a message
//! with every rejection, and a mutated object that is valid JSON and that a
//! second pass leaves alone.
#![no_main]

use image_redirect_policy::admission::validate;
use image_redirect_policy::mirror::NoMirror;
use libfuzzer_sys::fuzz_target;

const SETTINGS: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"},
  {"source":"quay.io/team","target":"quay.io/mirror"}],"prefix":{"target":"edge.local:30003/mirror"},"exclude":{"images":["*pause*"]}}"#;
/// A listed kind with paths through a field, a list and two lists.
const RESOURCES: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"}],
  "resources":[{"apiGroup":"example.com","kind":"Widget","images":["spec.image","spec.containers[*].image","spec.stages[*].steps[*].image"]}]}"#;
const MAPPINGS_ONLY: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"},
  {"source":"docker.io/library","target":"docker.io/mirror"}]}"#;

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(object) = std::str::from_utf8(data) {
        // (kind, operation, old object: the same, or one with no containers, settings)
        for (group, kind, operation, same_old, settings) in [
            ("", "Pod", "CREATE", true, SETTINGS),
            ("", "Pod", "UPDATE", false, MAPPINGS_ONLY),
            ("apps", "Deployment", "UPDATE", true, SETTINGS),
            ("batch", "CronJob", "CREATE", true, MAPPINGS_ONLY),
            ("example.com", "Widget", "UPDATE", true, RESOURCES),
        ] {
            let payload = |object: &str| {
                let old = if same_old { object } else { "{}" };
                format!(
                    r#"{{"request":{{"kind":{{"group":"{group}","kind":"{kind}"}},"operation":"{operation}","object":{object},"oldObject":{old}}},"settings":{settings}}}"#
                )
            };
            if let Some(mutated) = check(payload(object).as_bytes()) {
                let again = check(payload(&mutated).as_bytes());
                assert!(again.is_none(), "a second pass changed {mutated}\ninto {again:?}");
            }
        }
    }
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
}

/// The mutated object, if any.
fn check(payload: &[u8]) -> Option<String> {
    let out = validate(payload, &NoMirror);
    let response: Response = serde_json::from_slice(&out).expect("a JSON response");
    assert!(response.warnings.is_none_or(|w| !w.is_empty() && w.len() <= 21));
    match response.accepted {
        true => assert!(response.message.is_none()),
        false => assert!(response.message.is_some_and(|m| !m.is_empty()) && response.mutated_object.is_none()),
    }
    let object = response.mutated_object?;
    assert!(object.get().starts_with('{'), "a mutated object is an object");
    Some(object.get().to_owned())
}
