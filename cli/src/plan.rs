//! What `seed` copies: for each distinct image of some manifests (or of a
//! list of references), where it comes from, where the policy would send it,
//! and, when it is not copied, why. Pure: a value to print, diff and test;
//! the copier only carries it out.
//!
//! Nothing here decides a redirect. Every object goes through the policy's
//! admission path ([`preview::preview_in`]) with a mirror that holds every
//! image, since filling the mirror is the point: a `verify` or `pinDigest`
//! destination then redirects exactly as it will once the copy is done.

use image_redirect_policy::mirror::Mirror;
use image_redirect_policy::preview::{self, Change, Preview};
use image_redirect_policy::reference::Reference;
use image_redirect_policy::response::shown;
use image_redirect_policy::rules::{Decision, Keep};
use image_redirect_policy::settings::Settings;
use serde_json::{Value, json};

use crate::manifests;

/// One distinct image and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The reference as written, normalised (`docker.io/library/nginx:latest`).
    pub source: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Copy to `destination` (normalised), which `rule` computed.
    Copy { destination: String, rule: String },
    /// Not copied, and why.
    Skip(Skip),
}

/// Why the policy leaves an image as it is (what `seed` skips, what `audit`
/// sorts into redirected, excluded and outside every mirror).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The policy refuses the object (`Kind/name`, the reason).
    Rejected(String),
    Disabled,
    NamespaceExcluded(String),
    NoRule,
    AlreadyRedirected,
    /// By this image glob.
    Excluded(String),
    /// A rule was meant for the image but leaves it: the policy's reason.
    Kept(String),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(reason) => write!(f, "the policy rejects {reason}"),
            Self::Disabled => f.write_str("the policy is disabled (enabled: false)"),
            Self::NamespaceExcluded(namespace) => write!(f, "namespace {namespace} is excluded"),
            Self::NoRule => f.write_str("no rule applies"),
            Self::AlreadyRedirected => f.write_str("already under a target"),
            Self::Excluded(glob) => write!(f, "excluded by {glob}"),
            Self::Kept(reason) => f.write_str(reason),
        }
    }
}

/// The images of a plan, each once, in the order first met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// A mirror that serves every image, at a digest no registry gives out: what
/// the policy would write once the mirror is filled.
pub(crate) struct Filled;

/// The stand-in digest [`Filled`] answers; a pin to it is taken off again.
const FILLED_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

impl Mirror for Filled {
    fn manifest_digest(&self, _image: &str) -> Result<String, String> {
        Ok(FILLED_DIGEST.to_owned())
    }
}

impl Plan {
    /// Adds the images of a manifest (what `preview` reads); objects that
    /// name no namespace are admitted in `namespace`.
    pub fn add_manifest(&mut self, text: &str, settings: &Settings, namespace: &str) -> Result<(), String> {
        for document in manifests::documents(text)? {
            let object = document.to_string();
            if let Some(preview) = preview::preview_in(&object, Some(namespace), settings, &Filled)? {
                self.add_preview(&preview, settings);
            }
        }
        Ok(())
    }

    /// Adds a list of image references, one per line (blank lines and `#`
    /// comments skipped), as the containers of one Pod in `namespace`.
    pub fn add_images(&mut self, text: &str, settings: &Settings, namespace: &str) -> Result<(), String> {
        let images = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
        let containers: Vec<Value> =
            images.enumerate().map(|(i, image)| json!({"name": format!("image-{}", i + 1), "image": image})).collect();
        if containers.is_empty() {
            return Ok(());
        }
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "images", "namespace": namespace},
            "spec": {"containers": containers}});
        self.add_manifest(&pod.to_string(), settings, namespace)
    }

    /// The images to copy.
    pub fn copies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|entry| match &entry.action {
            Action::Copy { destination, .. } => Some((entry.source.as_str(), destination.as_str())),
            Action::Skip(_) => None,
        })
    }

    fn add_preview(&mut self, preview: &Preview, settings: &Settings) {
        for change in &preview.containers {
            let action = action(preview, change, settings);
            self.add(Entry { source: normalised(&change.before), action });
        }
    }

    /// Keeps one entry per source; a copy wins over a skip (an image excluded
    /// in one namespace is still pulled from the mirror in another).
    fn add(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|known| known.source == entry.source) {
            Some(known) if matches!(known.action, Action::Skip(_)) && matches!(entry.action, Action::Copy { .. }) => {
                *known = entry;
            }
            Some(_) => {}
            None => self.entries.push(entry),
        }
    }

    /// One line per image: `copy SOURCE -> DESTINATION (rule)` or
    /// `skip SOURCE: why`.
    pub fn render(&self) -> String {
        let line = |entry: &Entry| match &entry.action {
            Action::Copy { destination, rule } => format!("copy {} -> {destination} ({rule})\n", entry.source),
            Action::Skip(why) => format!("skip {}: {why}\n", entry.source),
        };
        self.entries.iter().map(line).collect()
    }

    /// One JSON object per image, one per line: `{"source", "destination",
    /// "rule"}` for a copy, `{"source", "skipped"}` with the reason otherwise.
    pub fn render_json(&self) -> String {
        let line = |entry: &Entry| {
            let value = match &entry.action {
                Action::Copy { destination, rule } => {
                    json!({"source": entry.source, "destination": destination, "rule": rule})
                }
                Action::Skip(why) => json!({"source": entry.source, "skipped": why.to_string()}),
            };
            format!("{value}\n")
        };
        self.entries.iter().map(line).collect()
    }
}

/// What the policy does with one image of an admitted object.
pub(crate) fn action(preview: &Preview, change: &Change, settings: &Settings) -> Action {
    if let (true, Some(rule)) = (change.changed(), &change.rule) {
        let destination = change.after.strip_suffix(&format!("@{FILLED_DIGEST}")).unwrap_or(&change.after);
        return Action::Copy { destination: normalised(destination), rule: rule.clone() };
    }
    Action::Skip(skipped(preview, change, settings))
}

/// Why the policy leaves `change` as it is: its gates first, then the rules,
/// then what the policy warned about the image.
fn skipped(preview: &Preview, change: &Change, settings: &Settings) -> Skip {
    if let Some(reason) = &preview.rejected {
        return Skip::Rejected(format!("{}/{}: {reason}", preview.kind, preview.name));
    }
    if !settings.enabled {
        return Skip::Disabled;
    }
    if let Some(namespace) = preview.namespace.as_deref().filter(|ns| settings.excludes_namespace(ns)) {
        return Skip::NamespaceExcluded(namespace.to_owned());
    }
    match settings.rules.decide(&change.before) {
        Decision::Keep(Keep::NoRule) => Skip::NoRule,
        Decision::Keep(Keep::AlreadyRedirected) => Skip::AlreadyRedirected,
        Decision::Keep(Keep::Excluded(glob)) => Skip::Excluded(glob.to_string()),
        Decision::Keep(keep) => Skip::Kept(keep.warning().unwrap_or_default()),
        Decision::Redirect { .. } => {
            let own = format!("image left unchanged: {}: ", shown(&change.before));
            let warning = preview.warnings.iter().find_map(|w| w.strip_prefix(&own));
            Skip::Kept(warning.unwrap_or("the policy leaves it unchanged").to_owned())
        }
    }
}

/// `image` normalised, with the tag a pull of it takes (`latest` when it
/// names neither tag nor digest); as written when it is not a reference.
pub(crate) fn normalised(image: &str) -> String {
    match Reference::parse(image) {
        Ok(reference) if reference.tag().is_none() && reference.digest().is_none() => format!("{reference}:latest"),
        Ok(reference) => reference.to_string(),
        Err(_) => image.to_owned(),
    }
}
