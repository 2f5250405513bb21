//! Helpers shared by the specification tests.
#![allow(dead_code)]

pub mod typed;

use std::collections::BTreeMap;

use image_redirect_policy::mirror::{Mirror, NoMirror};
use image_redirect_policy::rules::{Decision, Keep};
use image_redirect_policy::settings::Settings;
use serde_json::{Value, json};

pub const SHA256: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn settings(value: Value) -> Settings {
    Settings::from_json(&value.to_string()).unwrap_or_else(|e| panic!("settings rejected: {e}"))
}

/// What a decision looks like in a table: the new image, or why it stays.
pub fn outcome(settings: &Settings, image: &str) -> String {
    match settings.rules.decide(image) {
        Decision::Redirect { image, .. } => image,
        Decision::Keep(Keep::NoRule) => "UNCHANGED (no rule)".into(),
        Decision::Keep(Keep::AlreadyRedirected) => "UNCHANGED (already redirected)".into(),
        Decision::Keep(Keep::Excluded(glob)) => format!("UNCHANGED (excluded by {glob})"),
        Decision::Keep(keep) => format!("UNCHANGED ({})", keep.warning().unwrap_or_default()),
    }
}

/// Checks every `(name, image, expected)` row and reports all failures at once.
pub fn check_table(settings: &Settings, rows: &[(&str, &str, &str)]) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(name, image, expected)| {
            let got = outcome(settings, image);
            (got != *expected).then(|| format!("{name}: {image}\n   got      {got}\n   expected {expected}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The response of `validate` for `request` under `settings`, with the JSON
/// Patch policy-server would derive from it.
pub struct Review {
    pub accepted: bool,
    /// `audit_annotations`, `None` when the response has none.
    pub audit: Option<BTreeMap<String, String>>,
    pub message: Option<String>,
    pub mutated: Option<Value>,
    pub patch: Value,
    pub warnings: Vec<String>,
}

pub fn review(settings: Value, request: Value) -> Review {
    let payload = json!({ "request": request, "settings": settings });
    review_bytes(&serde_json::to_vec(&payload).unwrap(), request.get("object"))
}

pub fn review_bytes(payload: &[u8], object: Option<&Value>) -> Review {
    review_with(payload, object, &NoMirror)
}

pub fn review_with(payload: &[u8], object: Option<&Value>, mirror: &dyn Mirror) -> Review {
    let out = image_redirect_policy::admission::validate(payload, mirror);
    let response: Value = serde_json::from_slice(&out).expect("the response is JSON");
    // The SDK's own type must read it, as policy-server does.
    serde_json::from_slice::<kubewarden_policy_sdk::response::ValidationResponse>(&out).expect("SDK-shaped response");
    let mutated = response.get("mutated_object").cloned();
    let patch = match (&mutated, object) {
        (Some(mutated), Some(object)) => serde_json::to_value(json_patch::diff(object, mutated)).unwrap(),
        _ => json!([]),
    };
    Review {
        accepted: response["accepted"].as_bool().unwrap(),
        audit: response.get("audit_annotations").map(|a| serde_json::from_value(a.clone()).expect("a map of strings")),
        message: response.get("message").and_then(Value::as_str).map(str::to_owned),
        mutated,
        patch,
        warnings: response
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| w.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default(),
    }
}

/// A registry that serves exactly `images`, each with the digest [`SHA256`].
pub struct Serves(pub &'static [&'static str]);

impl Mirror for Serves {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        match self.0.contains(&image) {
            true => Ok(SHA256.to_owned()),
            false => Err("manifest unknown".to_owned()),
        }
    }
}

pub fn pod_request(operation: &str, object: Value) -> Value {
    json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": { "group": "", "version": "v1", "kind": "Pod" },
        "resource": { "group": "", "version": "v1", "resource": "pods" },
        "namespace": "default",
        "operation": operation,
        "object": object,
    })
}
