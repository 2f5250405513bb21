//! A minimal waPC guest: parse the payload into a JSON tree and hand
//! `request.object` back as `mutated_object` (or, with `accept-only`, just
//! accept). What a policy costs beyond this is what the policy itself costs.

use wapc_guest::{CallResult, register_function};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("protocol_version", |_| Ok(br#""v1""#.to_vec()));
    register_function("validate_settings", |_| Ok(br#"{"valid":true,"message":null}"#.to_vec()));
    register_function("validate", validate);
}

fn validate(payload: &[u8]) -> CallResult {
    let mut payload: serde_json::Value = serde_json::from_slice(payload)?;
    let response = if cfg!(feature = "accept-only") {
        serde_json::json!({ "accepted": true })
    } else {
        let object = payload["request"]["object"].take();
        serde_json::json!({ "accepted": true, "mutated_object": object })
    };
    Ok(serde_json::to_vec(&response)?)
}
