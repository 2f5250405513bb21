//! The policy's engine in the browser: a small JS API over the same settings,
//! rules, reference and workload modules the policy runs in the cluster.
//!
//! Every function takes text (YAML or JSON) and returns JSON text, so the
//! page needs no binding library; errors come back as values, never thrown.

use image_redirect_cli::{export, manifests};
use image_redirect_policy::rules::{Decision, Keep, Via};
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

/// `{"valid": true}` or `{"valid": false, "errors": [{"field", "message"}]}`;
/// each error's field is the settings path it names (`mappings[1].target`).
#[wasm_bindgen(js_name = validateSettings)]
pub fn validate_settings(settings: &str) -> String {
    match manifests::settings(settings) {
        Ok(_) => json!({"valid": true}).to_string(),
        Err(errors) => {
            json!({"valid": false, "errors": errors.lines().map(field_error).collect::<Vec<_>>()}).to_string()
        }
    }
}

/// `mappings[1].target: "X" is …` as `{"field": "mappings[1].target", "message": "\"X\" is …"}`.
fn field_error(line: &str) -> Value {
    match line.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => json!({"field": field, "message": message}),
        _ => json!({"field": "", "message": line}),
    }
}

/// One image: `{"image", "after", "rule"}` when it moves, `{"image", "after",
/// "kept"}` with the reason when it stays, or `{"errors"}` for bad settings.
#[wasm_bindgen(js_name = rewriteImage)]
pub fn rewrite_image(settings: &str, image: &str) -> String {
    let settings = match manifests::settings(settings) {
        Ok(settings) => settings,
        Err(errors) => return json!({"errors": errors.lines().map(field_error).collect::<Vec<_>>()}).to_string(),
    };
    match settings.rules.decide(image) {
        Decision::Redirect { image: after, via, .. } => json!({"image": image, "after": after, "rule": rule(via)}),
        Decision::Keep(keep) => json!({"image": image, "after": image, "kept": kept(&keep)}),
    }
    .to_string()
}

fn rule(via: Via) -> String {
    match via {
        Via::Mapping(m) => format!("mapping {}", m.source),
        Via::Prefix => "prefix".to_owned(),
        Via::MappingThenPrefix(m) => format!("mapping {}, then prefix", m.source),
    }
}

fn kept(keep: &Keep) -> String {
    match keep {
        Keep::NoRule => "no mapping matches and there is no prefix".to_owned(),
        Keep::AlreadyRedirected => "already where the rules send images".to_owned(),
        Keep::Excluded(glob) => format!("excluded by {}", glob.as_str()),
        other => other.warning().unwrap_or_default(),
    }
}

/// A multi-document manifest through the admission path: per object its
/// images (container or field path, before, after, rule), warnings, the JSON Patch the admission
/// controller would apply, and the node-level export of the same settings.
#[wasm_bindgen(js_name = rewriteManifest)]
pub fn rewrite_manifest(settings: &str, manifest: &str) -> String {
    let settings = match manifests::settings(settings) {
        Ok(settings) => settings,
        Err(errors) => return json!({"errors": errors.lines().map(field_error).collect::<Vec<_>>()}).to_string(),
    };
    let documents = match manifests::documents(manifest) {
        Ok(documents) => documents,
        Err(error) => return json!({"manifestError": error}).to_string(),
    };
    let objects: Vec<Value> = documents.iter().filter_map(|document| object(document, &settings)).collect();
    json!({"objects": objects, "export": node_export(&settings)}).to_string()
}

fn object(document: &Value, settings: &image_redirect_policy::settings::Settings) -> Option<Value> {
    let mirror = image_redirect_policy::mirror::NoMirror;
    let preview = match image_redirect_policy::preview::preview(&document.to_string(), settings, &mirror) {
        Ok(preview) => preview?,
        Err(error) => return Some(json!({"error": error})),
    };
    let mutated: Option<Value> = preview.mutated.as_deref().and_then(|text| serde_json::from_str(text).ok());
    let patch = mutated.map(|after| json_patch::diff(document, &after));
    let containers: Vec<Value> = preview
        .containers
        .iter()
        .map(|c| {
            let list = c.list.map(|list| list.key());
            json!({"list": list, "container": c.container, "before": c.before, "after": c.after, "rule": c.rule})
        })
        .collect();
    Some(json!({
        "kind": preview.kind,
        "name": preview.name,
        "containers": containers,
        "warnings": preview.warnings,
        "rejected": preview.rejected,
        "patch": patch,
    }))
}

/// K3s, containerd, containers-registries.conf, Talos and OpenShift files for
/// the registries the settings name themselves, and the Kairos document
/// writing the K3s file.
fn node_export(settings: &image_redirect_policy::settings::Settings) -> Value {
    let render = |format| {
        let request = export::Request { format, ..Default::default() };
        export::export(settings, &request).map(|export| {
            export.files.iter().map(|f| format!("# {}\n{}", f.path, f.text)).collect::<Vec<_>>().join("\n")
        })
    };
    json!({
        "k3s": render(export::Format::K3s).ok(),
        "containerd": render(export::Format::Containerd).ok(),
        "registriesConf": render(export::Format::RegistriesConf).ok(),
        "kairos": render(export::Format::Kairos).ok(),
        "talos": render(export::Format::Talos).ok(),
        "openshift": render(export::Format::OpenShift).ok(),
    })
}
