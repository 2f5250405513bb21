//! Any bytes as settings: validate_settings always answers JSON of the SDK's shape.
#![no_main]

use image_redirect_policy::admission::validate_settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let answer: serde_json::Value = serde_json::from_slice(&validate_settings(payload)).expect("JSON");
    assert!(answer["valid"].is_boolean());
});
