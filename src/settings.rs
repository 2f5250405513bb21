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
//! action: redirect             # default; report never mutates: it rejects naming what would move
//! mappings:                    # longest matching source wins
//!   - source: docker.io
//!     target: harbor.edge.local/dockerhub
//!     pullSecret: harbor-creds # optional
//!     verify: false            # optional: ask the registry whether the image is there
//!     onMissing: keep          # optional: keep the original (and warn), or reject
//!     pinDigest: false         # optional: mirror (or true): the digest the target reports;
//!                              # source: the source's digest, where the target serves it
//! prefix:                      # optional, applied after mappings
//!   target: 10.10.254.254:8000/spectro-images
//!   pullSecret: edge-registry  # optional; verify, onMissing, pinDigest as above
//! exclude:
//!   namespaces: [kube-system]
//!   images: ["registry.k8s.io/pause:*"]
//! annotateOriginals: true      # default true
//! resources:                   # optional: kinds whose objects name images outside a pod spec
//!   - apiGroup: postgresql.cnpg.io   # "" for the core group
//!     kind: Cluster
//!     images: ["spec.imageName"]     # field paths; [*] is every element of a list
//! ```
//!
//! `null` counts as absent for every optional field, as YAML's `prefix:` with
//! nothing after it gives `null`.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use crate::fieldpath::{FieldPath, FieldPaths};
use crate::glob::Glob;
use crate::json::{self, Path, Type};
use crate::reference::RegistryPath;
use crate::rules::{Destination, Duplicate, Mapping, OnMissing, PinDigest, Rules};
use crate::workload::{Layout, Resource, Resources};

/// Valid settings, ready to apply.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub action: Action,
    pub annotate_originals: bool,
    pub rules: Rules,
    /// The kinds whose objects keep images at field paths.
    pub resources: Resources,
    /// Sorted, for binary search.
    exclude_namespaces: Vec<String>,
}

impl Settings {
    /// Parses settings from JSON text (what `validate_settings` receives, and
    /// what arrives with every `validate`).
    ///
    /// The text is read as borrowed slices, never built into a tree: settings
    /// travel with every request, so a thousand mappings must stay cheap.
    pub fn from_json(text: &str) -> Result<Self, SettingsError> {
        let raw: &RawValue =
            serde_json::from_str(text).map_err(|e| SettingsError(vec![format!("settings are not valid JSON: {e}")]))?;
        Self::from_raw(raw)
    }

    /// [`Settings::from_json`] on text already known to be JSON (the settings
    /// member of a request envelope), which spares one scan of it.
    pub fn from_raw(raw: &RawValue) -> Result<Self, SettingsError> {
        let mut errors = Errors::default();
        let settings = read_settings(raw, &mut errors);
        match (settings, errors.0.is_empty()) {
            (Some(settings), true) => Ok(settings),
            _ => Err(SettingsError(errors.0)),
        }
    }

    pub fn excluded_namespaces(&self) -> &[String] {
        &self.exclude_namespaces
    }

    pub fn excludes_namespace(&self, namespace: &str) -> bool {
        self.exclude_namespaces.binary_search_by(|n| n.as_str().cmp(namespace)).is_ok()
    }
}

/// What the policy does with the images its rules would move (`action`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Action {
    /// Rewrite them (the mutating policy).
    #[default]
    Redirect,
    /// Change nothing and reject, naming each image that would move or pulls
    /// from outside every mirror: what the audit scanner turns into a `fail`.
    Report,
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

const TOP_KEYS: [&str; 7] = ["enabled", "action", "mappings", "prefix", "exclude", "annotateOriginals", "resources"];
const MAPPING_KEYS: [&str; 6] = ["source", "target", "pullSecret", "verify", "onMissing", "pinDigest"];
const PREFIX_KEYS: [&str; 5] = ["target", "pullSecret", "verify", "onMissing", "pinDigest"];
const EXCLUDE_KEYS: [&str; 2] = ["namespaces", "images"];
const RESOURCE_KEYS: [&str; 3] = ["apiGroup", "kind", "images"];

/// Every settings field as a path (`mappings[].source`, `prefix.target`…):
/// what forms and documentation must cover, derived from the keys read here.
pub fn field_paths() -> Vec<String> {
    let nested = |parent: &str, keys: &[&str]| keys.iter().map(|k| format!("{parent}{k}")).collect::<Vec<_>>();
    TOP_KEYS
        .iter()
        .flat_map(|&key| match key {
            "mappings" => nested("mappings[].", &MAPPING_KEYS),
            "prefix" => nested("prefix.", &PREFIX_KEYS),
            "exclude" => nested("exclude.", &EXCLUDE_KEYS),
            "resources" => nested("resources[].", &RESOURCE_KEYS),
            scalar => vec![scalar.to_owned()],
        })
        .collect()
}

fn read_settings(raw: &RawValue, errors: &mut Errors) -> Option<Settings> {
    if Type::of(raw) != Type::Object {
        errors.0.push(format!("settings: expected an object, found {}", describe(raw)));
        return None;
    }
    let root = Path::Root("");
    let [enabled, action, mappings, written_prefix, exclude, annotate, resources] =
        object(raw, &root, TOP_KEYS, errors)?;
    let enabled = boolean(enabled, &root.key("enabled"), true, errors);
    let action = read_action(action, &root.key("action"), errors);
    let annotate_originals = boolean(annotate, &root.key("annotateOriginals"), true, errors);
    let prefix_path = root.key("prefix");
    let prefix = present(written_prefix).and_then(|raw| read_prefix(raw, &prefix_path, errors));
    let under_prefix = present(written_prefix).is_some();
    let mappings_path = root.key("mappings");
    let (mappings, mappings_failed) = read_mappings(mappings, &mappings_path, under_prefix, errors);
    let (exclude_namespaces, exclude_images) = match present(exclude) {
        Some(raw) => read_exclude(raw, &root.key("exclude"), errors),
        None => (Vec::new(), Vec::new()),
    };
    let resources = read_resources(resources, &root.key("resources"), errors);
    let rules = match Rules::new(mappings, prefix, exclude_images) {
        Ok(rules) => rules,
        Err(duplicates) => {
            if !mappings_failed {
                report_duplicates(&duplicates, &mappings_path, errors);
            }
            return None;
        }
    };
    if enabled && rules.is_empty() && errors.0.is_empty() {
        errors.0.push("nothing to redirect: set mappings or prefix (or enabled: false)".to_owned());
    }
    Some(Settings { enabled, action, annotate_originals, rules, resources, exclude_namespaces })
}

fn read_action(raw: Option<&RawValue>, path: &Path, errors: &mut Errors) -> Action {
    let Some(raw) = present(raw) else { return Action::Redirect };
    match raw.get() {
        r#""redirect""# => Action::Redirect,
        r#""report""# => Action::Report,
        _ => {
            errors.add(path, format!("expected \"redirect\" or \"report\", found {}", describe(raw)));
            Action::Redirect
        }
    }
}

/// The mappings that read completely, and whether any item failed. When one
/// did, positions among the complete ones are no longer those the operator
/// wrote, so duplicates are looked for here, among every source that parsed.
fn read_mappings(raw: Option<&RawValue>, path: &Path, under_prefix: bool, errors: &mut Errors) -> (Vec<Mapping>, bool) {
    let before = errors.0.len();
    let read = list_of_objects(raw, path, MAPPING_KEYS, errors, |members, path, errors| {
        Some((path.position()?, read_mapping(members, path, under_prefix, errors)))
    });
    let failed = errors.0.len() > before;
    if failed {
        let sources = read.iter().filter_map(|(at, (source, _))| Some((*at, source.as_ref()?.as_str())));
        report_duplicates(&Duplicate::find(&mut sources.collect::<Vec<_>>()), path, errors);
    }
    let complete = read.into_iter().filter_map(|(_, (source, to))| Some(Mapping { source: source?, to: to? }));
    (complete.collect(), failed)
}

fn report_duplicates(duplicates: &[Duplicate], path: &Path, errors: &mut Errors) {
    for d in duplicates {
        errors.add(&path.index(d.second).key("source"), format!("duplicates the source of {}", path.index(d.first)));
    }
}

/// One mapping's source and destination, each when it is valid.
fn read_mapping(
    members: [Option<&RawValue>; 6],
    path: &Path,
    under_prefix: bool,
    errors: &mut Errors,
) -> (Option<RegistryPath>, Option<Destination>) {
    let [source, target, pull_secret, verify, on_missing, pin_digest] = members;
    let source = registry_path(source, &path.key("source"), errors);
    let to = read_destination(path, [target, pull_secret, verify, on_missing, pin_digest], errors);
    // With a prefix, the mapped image's registry becomes a path segment, which
    // cannot carry a port: say so now rather than on every admission.
    if let Some(to) = to.as_ref().filter(|to| under_prefix && to.target.has_port()) {
        let message = format!("{:?} has a port, which cannot become a path segment under prefix", to.target.as_str());
        errors.add(&path.key("target"), message);
    }
    (source, to)
}

fn read_prefix(raw: &RawValue, path: &Path, errors: &mut Errors) -> Option<Destination> {
    read_destination(path, object(raw, path, PREFIX_KEYS, errors)?, errors)
}

/// The keys a mapping and the prefix share (`PREFIX_KEYS`, in that order):
/// where images go and what that place needs.
fn read_destination(path: &Path, members: [Option<&RawValue>; 5], errors: &mut Errors) -> Option<Destination> {
    let [target, pull_secret, verify, on_missing, pin_digest] = members;
    let target = registry_path(target, &path.key("target"), errors);
    let pull_secret = present(pull_secret).and_then(|raw| secret(raw, &path.key("pullSecret"), errors));
    let verify = boolean(verify, &path.key("verify"), false, errors);
    let pin_digest = read_pin_digest(pin_digest, &path.key("pinDigest"), errors);
    let on_missing = match present(on_missing) {
        None => OnMissing::Keep,
        Some(raw) => match raw.get() {
            r#""keep""# => OnMissing::Keep,
            r#""reject""# => OnMissing::Reject,
            _ => {
                let message = format!("expected \"keep\" or \"reject\", found {}", describe(raw));
                errors.add(&path.key("onMissing"), message);
                OnMissing::Keep
            }
        },
    };
    Some(Destination { target: target?, pull_secret, verify, on_missing, pin_digest })
}

/// `pinDigest`: `false`, `true` or `"mirror"` (the same), or `"source"`.
fn read_pin_digest(raw: Option<&RawValue>, path: &Path, errors: &mut Errors) -> PinDigest {
    let Some(raw) = present(raw) else { return PinDigest::Off };
    match raw.get() {
        "false" => PinDigest::Off,
        "true" | r#""mirror""# => PinDigest::Mirror,
        r#""source""# => PinDigest::Source,
        _ => {
            errors.add(path, format!("expected false, true, \"mirror\" or \"source\", found {}", describe(raw)));
            PinDigest::Off
        }
    }
}

fn read_exclude(raw: &RawValue, path: &Path, errors: &mut Errors) -> (Vec<String>, Vec<Glob>) {
    let Some([namespaces, images]) = object(raw, path, EXCLUDE_KEYS, errors) else {
        return (Vec::new(), Vec::new());
    };
    let mut namespaces = list(namespaces, &path.key("namespaces"), errors, |raw, path, errors| {
        let name = string(raw, path, errors)?;
        checked(path, &name, namespace_name(&name), "is not a valid namespace name", errors).map(|()| name.into_owned())
    });
    namespaces.sort();
    let images = list(images, &path.key("images"), errors, |raw, path, errors| {
        let glob = string(raw, path, errors)?;
        checked(path, &glob, Glob::parse(&glob), "is not a supported image glob", errors)
    });
    (namespaces, images)
}

/// The listed kinds; a kind listed twice, or one the policy reads as a
/// workload, is an error.
fn read_resources(raw: Option<&RawValue>, path: &Path, errors: &mut Errors) -> Resources {
    let listed = list_of_objects(raw, path, RESOURCE_KEYS, errors, |members, path, errors| {
        Some((path.position()?, read_resource(members, path, errors)?))
    });
    let names: Vec<String> = listed.iter().map(|(_, resource)| kind_name(resource)).collect();
    let mut keys: Vec<(usize, &str)> = listed.iter().zip(&names).map(|((at, _), name)| (*at, name.as_str())).collect();
    for d in Duplicate::find(&mut keys) {
        errors.add(&path.index(d.second).key("kind"), format!("duplicates the kind of {}", path.index(d.first)));
    }
    Resources::new(listed.into_iter().map(|(_, resource)| resource).collect())
}

fn read_resource(members: [Option<&RawValue>; 3], path: &Path, errors: &mut Errors) -> Option<Resource> {
    let [group, kind, images] = members;
    let group_path = path.key("apiGroup");
    let group = match group {
        None => required(&group_path, "is required (\"\" for the core group)", errors),
        Some(raw) if raw.get() == "\"\"" => Some(String::new()),
        Some(raw) => string(raw, &group_path, errors).and_then(|group| {
            let valid = dns_subdomain(&group);
            checked(&group_path, &group, valid, "is not a valid API group", errors).map(|()| group.into_owned())
        }),
    };
    let kind_path = path.key("kind");
    let kind = match kind {
        None => required(&kind_path, "is required", errors),
        Some(raw) => string(raw, &kind_path, errors).and_then(|kind| {
            checked(&kind_path, &kind, kind_word(&kind), "is not a valid kind", errors).map(|()| kind.into_owned())
        }),
    };
    let images = read_image_paths(images, &path.key("images"), errors);
    let resource = Resource { group: group?, kind: kind?, images: FieldPaths::new(&images?) };
    if Layout::of(&resource.group, &resource.kind).is_some() {
        let message =
            format!("{} is a workload kind, whose pod spec the policy redirects already", kind_name(&resource));
        errors.add(&kind_path, message);
        return None;
    }
    Some(resource)
}

/// A non-empty list of field paths, each written once.
fn read_image_paths(raw: Option<&RawValue>, path: &Path, errors: &mut Errors) -> Option<Vec<FieldPath>> {
    let Some(raw) = present(raw) else { return required(path, "is required", errors) };
    let errors_before = errors.0.len();
    let paths = list(Some(raw), path, errors, |raw, path, errors| {
        let text = string(raw, path, errors)?;
        let parsed = checked(path, &text, FieldPath::parse(&text), "is not a valid field path", errors)?;
        Some((path.position()?, parsed))
    });
    let mut keys: Vec<(usize, &str)> = paths.iter().map(|(at, field_path)| (*at, field_path.as_str())).collect();
    for d in Duplicate::find(&mut keys) {
        errors.add(&path.index(d.second), format!("duplicates {}", path.index(d.first)));
    }
    if paths.is_empty() && errors.0.len() == errors_before {
        errors.add(path, "must name at least one field path");
    }
    (errors.0.len() == errors_before).then(|| paths.into_iter().map(|(_, path)| path).collect())
}

fn required<T>(path: &Path, message: &str, errors: &mut Errors) -> Option<T> {
    errors.add(path, message);
    None
}

/// `Cluster.postgresql.cnpg.io`, or `Pod` for the core group (as kubectl names kinds).
fn kind_name(resource: &Resource) -> String {
    match resource.group.as_str() {
        "" => resource.kind.clone(),
        group => format!("{}.{group}", resource.kind),
    }
}

/// The members `keys` of the object `raw`; other keys, and keys written
/// twice, are errors.
fn object<'a, const N: usize>(
    raw: &'a RawValue,
    path: &Path,
    keys: [&str; N],
    errors: &mut Errors,
) -> Option<[Option<&'a RawValue>; N]> {
    if Type::of(raw) != Type::Object {
        errors.add(path, format!("expected an object, found {}", describe(raw)));
        return None;
    }
    match json::members_and_others(raw, keys) {
        Ok((members, others)) => {
            unknown_keys(path, &others, &keys, errors);
            Some(members)
        }
        Err(e) => {
            errors.add(path, json::message(&e));
            None
        }
    }
}

fn unknown_keys(path: &Path, others: &[String], keys: &[&str], errors: &mut Errors) {
    for key in others {
        errors.add(&path.key(key), format!("unknown key (expected one of: {})", keys.join(", ")));
    }
}

/// The member, with `null` read as absent.
fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|raw| Type::of(raw) != Type::Null)
}

fn boolean(raw: Option<&RawValue>, path: &Path, default: bool, errors: &mut Errors) -> bool {
    match present(raw) {
        None => default,
        Some(raw) if Type::of(raw) == Type::Bool => raw.get() == "true",
        Some(other) => {
            errors.add(path, format!("expected true or false, found {}", describe(other)));
            default
        }
    }
}

/// The items of the list `raw` that `read` accepts; absent means empty.
fn list<T>(
    raw: Option<&RawValue>,
    path: &Path,
    errors: &mut Errors,
    read: impl Fn(&RawValue, &Path, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let Some(raw) = present(raw) else { return Vec::new() };
    if Type::of(raw) != Type::Array {
        errors.add(path, format!("expected a list, found {}", describe(raw)));
        return Vec::new();
    }
    match json::elements(raw) {
        Ok(items) => items.into_iter().enumerate().filter_map(|(i, item)| read(item, &path.index(i), errors)).collect(),
        Err(e) => {
            errors.add(path, json::message(&e));
            Vec::new()
        }
    }
}

/// [`list`] of [`object`]s, read in one pass when every item is an object
/// (what valid settings hold), item by item otherwise, for precise errors.
fn list_of_objects<T, const N: usize>(
    raw: Option<&RawValue>,
    path: &Path,
    keys: [&str; N],
    errors: &mut Errors,
    read: impl Fn([Option<&RawValue>; N], &Path, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let items = present(raw).filter(|raw| Type::of(raw) == Type::Array).map(|raw| json::objects(raw, keys));
    let Some(Ok(items)) = items else {
        return list(raw, path, errors, |raw, path, errors| read(object(raw, path, keys, errors)?, path, errors));
    };
    let read_item = |(i, (members, others)): (usize, json::Picked<N>), errors: &mut Errors| {
        let path = path.index(i);
        unknown_keys(&path, &others, &keys, errors);
        read(members, &path, errors)
    };
    items.into_iter().enumerate().filter_map(|item| read_item(item, errors)).collect()
}

/// A non-empty string.
fn string<'a>(raw: &'a RawValue, path: &Path, errors: &mut Errors) -> Option<Cow<'a, str>> {
    if Type::of(raw) != Type::String {
        errors.add(path, format!("expected a string, found {}", describe(raw)));
        return None;
    }
    match json::text(raw) {
        Ok(text) if text.is_empty() => {
            errors.add(path, "must not be empty");
            None
        }
        Ok(text) => Some(text),
        Err(e) => {
            errors.add(path, json::message(&e));
            None
        }
    }
}

fn registry_path(raw: Option<&RawValue>, path: &Path, errors: &mut Errors) -> Option<RegistryPath> {
    let Some(raw) = raw else { return required(path, "is required", errors) };
    let text = string(raw, path, errors)?;
    checked(path, &text, RegistryPath::parse(&text), "is not a valid registry path", errors)
}

fn secret(raw: &RawValue, path: &Path, errors: &mut Errors) -> Option<String> {
    let name = string(raw, path, errors)?;
    checked(path, &name, dns_subdomain(&name), "is not a valid Secret name", errors).map(|()| name.into_owned())
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

/// A value as an error message names it: scalars as written, containers by kind.
fn describe(raw: &RawValue) -> String {
    match Type::of(raw) {
        Type::Null | Type::Bool => raw.get().to_owned(),
        Type::Number => format!("the number {}", raw.get()),
        Type::String => format!("the string {}", raw.get()),
        Type::Array => "a list".to_owned(),
        Type::Object => "an object".to_owned(),
    }
}

/// A kind as a CustomResourceDefinition may name it (its lower case is a DNS-1035 label).
fn kind_word(kind: &str) -> Result<(), &'static str> {
    let bytes = kind.as_bytes();
    if bytes.len() > 63 {
        return Err("longer than 63 characters");
    }
    let ok = bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err("use letters, digits and '-', starting with a letter and ending with a letter or digit")
    }
}

/// Why `name` cannot name a namespace (a DNS-1123 label), if it cannot: the
/// check of `exclude.namespaces`, for tools that take a namespace elsewhere.
pub fn namespace_name(name: &str) -> Result<(), &'static str> {
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
