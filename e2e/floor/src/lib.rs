//! A minimal waPC guest: parse the payload into a JSON tree and hand
//! `request.object` back as `mutated_object` (or, with `accept-only`, just
//! accept). What a policy costs beyond this is what the policy itself costs.
//!
//! Three more operations exist only for the host's own tests
//! (e2e/tests/host.rs); the benchmarks never call them, and being registered
//! costs nothing per call.

use std::sync::atomic::{AtomicU32, Ordering};

use wapc_guest::{CallResult, register_function};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("protocol_version", |_| Ok(br#""v1""#.to_vec()));
    register_function("validate_settings", |_| Ok(br#"{"valid":true,"message":null}"#.to_vec()));
    register_function("validate", validate);
    register_function("host_call", host_call);
    register_function("call_count", call_count);
    register_function("trap", |_| std::process::abort());
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

/// Makes the host call described by `{"binding", "namespace", "operation",
/// "payload"}` and reports `{"ok": answer}` or `{"error": message}`, so a test
/// sees exactly what a policy would get back through the same import.
fn host_call(payload: &[u8]) -> CallResult {
    let call: serde_json::Value = serde_json::from_slice(payload)?;
    let field = |name: &str| call[name].as_str().unwrap_or_default().to_owned();
    let answer = match wapc_guest::host_call(
        &field("binding"),
        &field("namespace"),
        &field("operation"),
        field("payload").as_bytes(),
    ) {
        Ok(bytes) => serde_json::json!({ "ok": String::from_utf8_lossy(&bytes) }),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    };
    Ok(serde_json::to_vec(&answer)?)
}

/// How many times this instance has answered `call_count`: 1 on every fresh
/// instance, so a test can tell whether the host reused one.
fn call_count(_: &[u8]) -> CallResult {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    Ok((CALLS.fetch_add(1, Ordering::Relaxed) + 1).to_string().into_bytes())
}
