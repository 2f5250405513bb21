//! `validate` on arbitrary bytes, and on fuzzed objects inside a plausible
//! payload (so the fuzzer reaches the workload walk): never a panic, always a
//! JSON response, and a mutated object is always valid JSON.
#![no_main]

use image_redirect_policy::admission::validate;
use image_redirect_policy::mirror::NoMirror;
use libfuzzer_sys::fuzz_target;

const SETTINGS: &str = r#"{"mappings":[{"source":"docker.io","target":"harbor.local/hub","pullSecret":"hub"}],
  "prefix":{"target":"edge.local:30003/mirror"},"exclude":{"images":["*pause*"]}}"#;

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(object) = std::str::from_utf8(data) {
        for (kind, operation) in [("Pod", "CREATE"), ("Deployment", "UPDATE"), ("CronJob", "CREATE")] {
            let group = match kind { "Pod" => "", "CronJob" => "batch", _ => "apps" };
            let payload = format!(
                r#"{{"request":{{"kind":{{"group":"{group}","kind":"{kind}"}},"operation":"{operation}","object":{object},"oldObject":{object}}},"settings":{SETTINGS}}}"#
            );
            check(payload.as_bytes());
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
}

fn check(payload: &[u8]) {
    let out = validate(payload, &NoMirror);
    let response: Response = serde_json::from_slice(&out).expect("a JSON response");
    if let Some(object) = response.mutated_object {
        assert!(response.accepted && object.get().starts_with('{'), "a mutated object is an object");
    }
}
