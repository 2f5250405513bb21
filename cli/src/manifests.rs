//! YAML in, the policy's JSON out: settings files and multi-document
//! manifests, as operators keep them.

use image_redirect_policy::mirror::NoMirror;
use image_redirect_policy::preview::{self, Change, Preview};
use image_redirect_policy::response::shown;
use image_redirect_policy::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Settings written as YAML (or JSON, which is YAML), checked as the policy
/// checks them; the error lists every problem, one per line.
pub fn settings(text: &str) -> Result<Settings, String> {
    let value: Value = serde_norway::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    Settings::from_json(&value.to_string()).map_err(|e| e.0.join("\n"))
}

/// The documents of a multi-document YAML stream, as JSON values; empty
/// documents are skipped, and a `List` (what `kubectl get -o yaml` prints)
/// contributes its items.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    for (i, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document).map_err(|e| format!("document {}: {e}", i + 1))?;
        match value {
            Value::Null => {}
            Value::Object(ref object) if object.get("kind").and_then(Value::as_str) == Some("List") => {
                all.extend(object.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
            }
            other => all.push(other),
        }
    }
    Ok(all)
}

/// Every object of a manifest the policy reads (workloads, and the kinds the
/// settings list) through the policy; objects of other kinds are left out.
pub fn preview_all(text: &str, settings: &Settings) -> Result<Vec<Preview>, String> {
    let mut previews = Vec::new();
    for document in documents(text)? {
        if let Some(preview) = preview::preview(&document.to_string(), settings, &NoMirror)? {
            previews.push(preview);
        }
    }
    Ok(previews)
}

/// `Kind/name`, then one line per image, `  name: before -> after (rule)`
/// (or `(unchanged)`; a listed kind's images are named by field path), then
/// the policy's other warnings.
pub fn render(previews: &[Preview]) -> String {
    let mut out = String::new();
    for preview in previews {
        out.push_str(&format!("{}/{}\n", preview.kind, preview.name));
        if let Some(reason) = &preview.rejected {
            out.push_str(&format!("  rejected: {reason}\n"));
        }
        for change in &preview.containers {
            let why = change.rule.as_deref().unwrap_or("unchanged");
            out.push_str(&format!("  {}: {} -> {} ({why})\n", change.container, change.before, change.after));
        }
        for warning in preview.warnings.iter().filter(|w| !w.starts_with("image redirected:")) {
            out.push_str(&format!("  warning: {warning}\n"));
        }
    }
    out
}

/// One JSON object per image, one per line, for scripts:
/// `{"kind", "name", "list", "container", "before", "after", "rule", "warnings"}`
/// (`rule` is `null` when the image stays; for a kind the settings list,
/// `list` is `null` and `container` the field path), plus `"rejected"` when
/// the policy would refuse the object.
pub fn render_json(previews: &[Preview]) -> String {
    let mut out = String::new();
    for preview in previews {
        for change in &preview.containers {
            let mut line = json!({
                "kind": preview.kind, "name": preview.name, "list": change.list.map(|list| list.key()),
                "container": change.container, "before": change.before, "after": change.after,
                "rule": change.rule, "warnings": warnings_about(preview, change),
            });
            if let Some(reason) = &preview.rejected {
                line["rejected"] = json!(reason);
            }
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    out
}

/// The object's warnings that concern `change`: those about its image, and
/// those about no image at all (they concern the whole object).
fn warnings_about<'p>(preview: &'p Preview, change: &Change) -> Vec<&'p str> {
    let own = format!("image left unchanged: {}: ", shown(&change.before));
    let about_image = |w: &str| w.starts_with("image redirected:") || w.starts_with("image left unchanged:");
    preview.warnings.iter().map(String::as_str).filter(|w| w.starts_with(&own) || !about_image(w)).collect()
}
