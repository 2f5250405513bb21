//! The README's first command: sample admission requests under each Palette
//! mode, each image shown `before -> after`, with the patch the API server gets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::host::Policy;
use crate::review::{Evaluation, Outcome};

/// `(settings fixture, request fixture, what the request is)`, grouped by mode.
const SCENARIOS: &[(&str, &[(&str, &str)])] = &[
    (
        "mapping",
        &[
            ("pod-docker-hub", "a Pod with Docker Hub short names"),
            ("deployment", "a Deployment: its pod template"),
            ("pod-kube-system", "a Pod in the excluded kube-system namespace"),
        ],
    ),
    (
        "prefix-all",
        &[
            ("pod-palette-prefix", "Palette's prefix-all example"),
            ("pod-ephemeral-debug", "kubectl debug adds an ephemeral container"),
        ],
    ),
    ("mapping-and-prefix", &[("pod-palette-harbor", "mapped first, then served by the local Harbor")]),
];

/// The policy under test: `$POLICY_WASM`, or the repository's policy.wasm (`make policy.wasm`).
pub fn policy_wasm() -> PathBuf {
    std::env::var_os("POLICY_WASM")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy.wasm"), PathBuf::from)
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Evaluates every scenario and returns the report.
pub fn run(policy: &Policy) -> Result<String> {
    let mut out = String::new();
    for (settings_name, requests) in SCENARIOS {
        let settings = read_json(&fixtures().join(format!("settings/{settings_name}.json")))?;
        writeln!(out, "\n== settings {settings_name}: {settings}")?;
        for (request_name, what) in *requests {
            let review = read_json(&fixtures().join(format!("requests/{request_name}.json")))?;
            let evaluation = policy.evaluate(&settings, &review)?;
            writeln!(out, "\n{what} ({})", describe(&evaluation.request))?;
            out.push_str(&report(&evaluation)?);
        }
    }
    Ok(out)
}

/// `before -> after` per image, then the patch, warnings or rejection.
pub fn report(evaluation: &Evaluation) -> Result<String> {
    let mut out = String::new();
    let after = evaluation.patched_object()?;
    let object = evaluation.request.get("object").unwrap_or(&Value::Null);
    let images = images_in(object);
    let width = images.iter().map(|(_, before)| before.len()).max().unwrap_or(0);
    for (pointer, before) in &images {
        match after.pointer(pointer).and_then(Value::as_str) {
            Some(now) if now != before => writeln!(out, "  {before:<width$} -> {now}")?,
            _ => writeln!(out, "  {before:<width$}    (unchanged)")?,
        }
    }
    match &evaluation.outcome {
        Outcome::InvalidSettings(message) => writeln!(out, "  settings rejected: {message}")?,
        Outcome::Rejected { message, code: None, .. } => writeln!(out, "  rejected: {message}")?,
        Outcome::Rejected { message, code: Some(code), .. } => writeln!(out, "  rejected ({code}): {message}")?,
        Outcome::Accepted { patch: None, .. } => writeln!(out, "  accepted, no patch")?,
        Outcome::Accepted { patch: Some(patch), .. } => {
            writeln!(out, "  JSON Patch:")?;
            for operation in serde_json::to_value(patch)?.as_array().into_iter().flatten() {
                let value = operation.get("value").map(Value::to_string).unwrap_or_default();
                writeln!(
                    out,
                    "    {} {} {value}",
                    operation["op"].as_str().unwrap_or("?"),
                    operation["path"].as_str().unwrap_or("?")
                )?;
            }
        }
    }
    Ok(out)
}

fn describe(request: &Value) -> String {
    let get = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or("");
    let kind = request.pointer("/kind/kind").and_then(Value::as_str).unwrap_or("?");
    let sub = request.get("subResource").and_then(Value::as_str).map(|s| format!("/{s}")).unwrap_or_default();
    format!("{} {kind}{sub} in {}", get("operation"), get("namespace"))
}

/// `(JSON pointer, image)` of every container image in `value`.
pub fn images_in(value: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    collect_images(value, String::new(), &mut found);
    found
}

fn collect_images(value: &Value, pointer: String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let at = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let list = matches!(key.as_str(), "containers" | "initContainers" | "ephemeralContainers");
                match (list, member.as_array()) {
                    (true, Some(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(image) = item.get("image").and_then(Value::as_str) {
                                found.push((format!("{at}/{i}/image"), image.to_owned()));
                            }
                        }
                    }
                    _ => collect_images(member, at, found),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_images(item, format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}
