//! The settings as operators write them, checked field by field.
//!
//! Every problem is reported, not just the first, and each names its field
//! path and the offending value: `mappings[1].target: "Harbor.local/x" is not
//! a valid registry path: uppercase letters are not allowed`.
//!
//! The contract (YAML shown; the policy receives JSON):
//!
//! ```yaml
//! enabled: true                # default true; false accepts everything unchanged
//! mappings:                    # longest matching source wins
//!   - source: docker.io
//!     target: harbor.edge.local/dockerhub
//!     pullSecret: harbor-creds # optional
//!     verify: false            # optional: ask the registry whether the image is there
//!     onMissing: keep          # optional: keep the original (and warn), or reject
//!     pinDigest: false         # optional: write the digest the registry reports
//! prefix:                      # optional, applied after mappings
//!   target: 10.10.254.254:8000/spectro-images
//!   pullSecret: edge-registry  # optional; verify, onMissing, pinDigest as above
//! exclude:
//!   namespaces: [kube-system]
//!   images: ["registry.k8s.io/pause:*"]
//! annotateOriginals: true      # default true
//! ```
//!
//! `null` counts as absent for every optional field, as YAML's `prefix:` with
//! nothing after it gives `null`.

use std::fmt;

use serde_json::{Map, Value};

use crate::glob::Glob;
use crate::json::Path;
use crate::reference::RegistryPath;
use crate::rules::{Destination, Mapping, OnMissing, Rules};

/// Valid settings, ready to apply.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub annotate_originals: bool,
    pub rules: Rules,
    /// Sorted, for binary search.
    exclude_namespaces: Vec<String>,
}

impl Settings {
    /// Parses settings from JSON text (what `validate_settings` receives).
    pub fn from_json(text: &str) -> Result<Self, SettingsError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| SettingsError(vec![format!("settings are not valid JSON: {e}")]))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, SettingsError> {
        let mut errors = Errors::default();
        let settings = read_settings(value, &mut errors);
        match (settings, errors.0.is_empty()) {
            (Some(settings), true) => Ok(settings),
            _ => Err(SettingsError(errors.0)),
        }
    }

    pub fn excludes_namespace(&self, namespace: &str) -> bool {
        self.exclude_namespaces.binary_search_by(|n| n.as_str().cmp(namespace)).is_ok()
    }
}

/// Everything wrong with a settings object, one line per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub Vec<String>);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for SettingsError {}

#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn add(&mut self, path: &Path, message: impl fmt::Display) {
        self.0.push(format!("{path}: {message}"));
    }
}

const TOP_KEYS: &[&str] = &["enabled", "mappings", "prefix", "exclude", "annotateOriginals"];
const MAPPING_KEYS: &[&str] = &["source", "target", "pullSecret", "verify", "onMissing", "pinDigest"];
const PREFIX_KEYS: &[&str] = &["target", "pullSecret", "verify", "onMissing", "pinDigest"];
const EXCLUDE_KEYS: &[&str] = &["namespaces", "images"];

/// Every settings field as a path (`mappings[].source`, `prefix.target`…):
/// what forms and documentation must cover, derived from the keys read here.
pub fn field_paths() -> Vec<String> {
    let nested = |parent: &str, keys: &[&str]| keys.iter().map(|k| format!("{parent}{k}")).collect::<Vec<_>>();
    TOP_KEYS
        .iter()
        .flat_map(|&key| match key {
            "mappings" => nested("mappings[].", MAPPING_KEYS),
            "prefix" => nested("prefix.", PREFIX_KEYS),
            "exclude" => nested("exclude.", EXCLUDE_KEYS),
            scalar => vec![scalar.to_owned()],
        })
        .collect()
}

fn read_settings(value: &Value, errors: &mut Errors) -> Option<Settings> {
    let root = Path::Root("");
    let Some(object) = value.as_object() else {
        errors.0.push(format!("settings: expected an object, found {}", describe(value)));
        return None;
    };
    check_keys(object, &root, TOP_KEYS, errors);
    let enabled = boolean(object, &root, "enabled", true, errors);
    let annotate_originals = boolean(object, &root, "annotateOriginals", true, errors);
    let prefix = present(object, "prefix").and_then(|v| read_prefix(v, &root.key("prefix"), errors));
    let under_prefix = present(object, "prefix").is_some();
    let mappings = list(object, &root, "mappings", errors, |v, p, e| read_mapping(v, p, under_prefix, e));
    let (exclude_namespaces, exclude_images) = match present(object, "exclude") {
        Some(value) => read_exclude(value, &root.key("exclude"), errors),
        None => (Vec::new(), Vec::new()),
    };
    let rules = match Rules::new(mappings, prefix, exclude_images) {
        Ok(rules) => rules,
        Err(duplicates) => {
            let list = root.key("mappings");
            for d in duplicates {
                let message = format!("duplicates the source of mappings[{}]", d.first);
                errors.add(&list.index(d.second).key("source"), message);
            }
            return None;
        }
    };
    if enabled && rules.is_empty() && errors.0.is_empty() {
        errors.0.push("nothing to redirect: set mappings or prefix (or enabled: false)".to_owned());
    }
    Some(Settings { enabled, annotate_originals, rules, exclude_namespaces })
}

fn read_mapping(value: &Value, path: &Path, under_prefix: bool, errors: &mut Errors) -> Option<Mapping> {
    let object = object(value, path, MAPPING_KEYS, errors)?;
    let source = registry_path(object, path, "source", errors);
    let to = read_destination(object, path, errors);
    // With a prefix, the mapped image's registry becomes a path segment, which
    // cannot carry a port: say so now rather than on every admission.
    if let Some(to) = to.as_ref().filter(|to| under_prefix && to.target.has_port()) {
        let message = format!("{:?} has a port, which cannot become a path segment under prefix", to.target.as_str());
        errors.add(&path.key("target"), message);
    }
    Some(Mapping { source: source?, to: to? })
}

fn read_prefix(value: &Value, path: &Path, errors: &mut Errors) -> Option<Destination> {
    read_destination(object(value, path, PREFIX_KEYS, errors)?, path, errors)
}

/// The keys a mapping and the prefix share: where images go and what that place needs.
fn read_destination(object: &Map<String, Value>, path: &Path, errors: &mut Errors) -> Option<Destination> {
    let target = registry_path(object, path, "target", errors);
    let pull_secret = secret(object, path, errors);
    let verify = boolean(object, path, "verify", false, errors);
    let pin_digest = boolean(object, path, "pinDigest", false, errors);
    let on_missing = match present(object, "onMissing") {
        None => OnMissing::Keep,
        Some(Value::String(word)) if word == "keep" => OnMissing::Keep,
        Some(Value::String(word)) if word == "reject" => OnMissing::Reject,
        Some(other) => {
            errors.add(&path.key("onMissing"), format!("expected \"keep\" or \"reject\", found {}", describe(other)));
            OnMissing::Keep
        }
    };
    Some(Destination { target: target?, pull_secret, verify, on_missing, pin_digest })
}

fn read_exclude(value: &Value, path: &Path, errors: &mut Errors) -> (Vec<String>, Vec<Glob>) {
    let Some(object) = object(value, path, EXCLUDE_KEYS, errors) else {
        return (Vec::new(), Vec::new());
    };
    let mut namespaces = list(object, path, "namespaces", errors, |value, path, errors| {
        let name = string(value, path, errors)?;
        checked(path, name, dns_label(name), "is not a valid namespace name", errors).map(|()| name.to_owned())
    });
    namespaces.sort_unstable();
    let images = list(object, path, "images", errors, |value, path, errors| {
        let glob = string(value, path, errors)?;
        checked(path, glob, Glob::parse(glob), "is not a supported image glob", errors)
    });
    (namespaces, images)
}

/// An object whose keys are all in `allowed`; unknown keys are errors.
fn object<'v>(value: &'v Value, path: &Path, allowed: &[&str], errors: &mut Errors) -> Option<&'v Map<String, Value>> {
    let Some(object) = value.as_object() else {
        errors.add(path, format!("expected an object, found {}", describe(value)));
        return None;
    };
    check_keys(object, path, allowed, errors);
    Some(object)
}

fn check_keys(object: &Map<String, Value>, path: &Path, allowed: &[&str], errors: &mut Errors) {
    for key in object.keys().filter(|key| !allowed.contains(&key.as_str())) {
        errors.add(&path.key(key), format!("unknown key (expected one of: {})", allowed.join(", ")));
    }
}

/// The value at `key`, with `null` read as absent.
fn present<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn boolean(object: &Map<String, Value>, path: &Path, key: &str, default: bool, errors: &mut Errors) -> bool {
    match present(object, key) {
        None => default,
        Some(Value::Bool(value)) => *value,
        Some(other) => {
            errors.add(&path.key(key), format!("expected true or false, found {}", describe(other)));
            default
        }
    }
}

/// The items at `key` that `read` accepts; absent means empty.
fn list<T>(
    object: &Map<String, Value>,
    path: &Path,
    key: &str,
    errors: &mut Errors,
    read: impl Fn(&Value, &Path, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let path = path.key(key);
    match present(object, key) {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().enumerate().filter_map(|(i, item)| read(item, &path.index(i), errors)).collect()
        }
        Some(other) => {
            errors.add(&path, format!("expected a list, found {}", describe(other)));
            Vec::new()
        }
    }
}

/// A non-empty string.
fn string<'v>(value: &'v Value, path: &Path, errors: &mut Errors) -> Option<&'v str> {
    match value {
        Value::String(text) if text.is_empty() => {
            errors.add(path, "must not be empty");
            None
        }
        Value::String(text) => Some(text),
        other => {
            errors.add(path, format!("expected a string, found {}", describe(other)));
            None
        }
    }
}

fn registry_path(object: &Map<String, Value>, path: &Path, key: &str, errors: &mut Errors) -> Option<RegistryPath> {
    let path = path.key(key);
    let Some(value) = object.get(key) else {
        errors.add(&path, "is required");
        return None;
    };
    let text = string(value, &path, errors)?;
    checked(&path, text, RegistryPath::parse(text), "is not a valid registry path", errors)
}

fn secret(object: &Map<String, Value>, path: &Path, errors: &mut Errors) -> Option<String> {
    let path = path.key("pullSecret");
    let name = string(present(object, "pullSecret")?, &path, errors)?;
    checked(&path, name, dns_subdomain(name), "is not a valid Secret name", errors).map(|()| name.to_owned())
}

/// Records `result`'s error as `"<value>" <what>: <why>`.
fn checked<T, E: fmt::Display>(
    path: &Path,
    value: &str,
    result: Result<T, E>,
    what: &str,
    errors: &mut Errors,
) -> Option<T> {
    result.map_err(|why| errors.add(path, format!("{value:?} {what}: {why}"))).ok()
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A Kubernetes object name of the DNS-1123 label kind (namespaces).
fn dns_label(name: &str) -> Result<(), &'static str> {
    if name.len() > 63 {
        return Err("longer than 63 characters");
    }
    dns_part(name)
}

/// A Kubernetes object name of the DNS-1123 subdomain kind (Secrets).
fn dns_subdomain(name: &str) -> Result<(), &'static str> {
    if name.len() > 253 {
        return Err("longer than 253 characters");
    }
    name.split('.').try_for_each(dns_part)
}

fn dns_part(part: &str) -> Result<(), &'static str> {
    let bytes = part.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || *b == b'-');
    if ok { Ok(()) } else { Err("use lower-case letters, digits and '-', starting and ending with a letter or digit") }
}
