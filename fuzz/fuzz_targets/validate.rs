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

fn check(payload: &[u8]) {
    let response: serde_json::Value = serde_json::from_slice(&validate(payload, &NoMirror)).expect("JSON response");
    assert!(response["accepted"].is_boolean());
    if let Some(mutated) = response.get("mutated_object") {
        assert!(mutated.is_object(), "the mutated object is an object");
    }
}
