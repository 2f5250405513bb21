//! Any bytes as settings: `Settings::from_json` never panics, and
//! `validate_settings` always answers the SDK's shape, agreeing with it.
#![no_main]

use image_redirect_policy::admission::validate_settings;
use image_redirect_policy::settings::Settings;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let answer: SettingsValidationResponse =
        serde_json::from_slice(&validate_settings(payload)).expect("a SettingsValidationResponse");
    assert_eq!(answer.valid, answer.message.is_none(), "a message exactly when invalid");
    if let Ok(text) = std::str::from_utf8(payload) {
        let parsed = Settings::from_json(text);
        assert_eq!(parsed.is_ok(), answer.valid);
        if let Err(e) = parsed {
            assert!(!e.0.is_empty() && e.0.iter().all(|line| !line.is_empty()), "every error says something");
        }
    }
});
