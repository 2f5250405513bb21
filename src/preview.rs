//! What the policy would do to a manifest, image by image, for people
//! checking settings before they deploy them.
//!
//! Nothing here decides anything: each object goes through
//! [`admission::admit`] as a CREATE request, exactly as policy-server would
//! send it, and the result is laid out per image. The rule named for a
//! change is the one [`Rules::decide`](crate::rules::Rules::decide) reports.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::admission::{self, GroupVersionKind, Request};
use crate::json::{self, Type};
use crate::mirror::Mirror;
use crate::response::Verdict;
use crate::rules::{Decision, Via};
use crate::settings::Settings;
use crate::workload::{self, Image, Kind, List, ShapeError};

/// One object of a manifest, as the policy would admit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub kind: String,
    /// `metadata.name`, or empty.
    pub name: String,
    /// The namespace it is admitted in: its own, or the one given for
    /// objects that name none; `None` for neither.
    pub namespace: Option<String>,
    /// Every image: each container's that names one, in the object's order,
    /// or, for a kind the settings list, each string at its field paths.
    pub containers: Vec<Change>,
    /// What the policy would tell the user (`kubectl` prints these).
    pub warnings: Vec<String>,
    /// The object as it would be stored (JSON text), when anything changes.
    pub mutated: Option<String>,
    /// Why the policy would refuse the object, when it would.
    pub rejected: Option<String>,
}

/// One image before and after admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The container list; `None` for a field path of a listed kind.
    pub list: Option<List>,
    /// The container's name (or `list[index]` when it has none), or the
    /// field path (`spec.imageName`).
    pub container: String,
    pub before: String,
    pub after: String,
    /// The rule that moved the image (`mapping docker.io`, `prefix`,
    /// `mapping docker.io, then prefix`); `None` when it stays.
    pub rule: Option<String>,
}

impl Change {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// Previews one object (JSON text); `Ok(None)` for kinds the policy does not
/// look at (a Service, a ConfigMap…).
pub fn preview(object: &str, settings: &Settings, mirror: &dyn Mirror) -> Result<Option<Preview>, String> {
    preview_in(object, None, settings, mirror)
}

/// [`preview`], with objects that name no namespace (rendered Helm output)
/// admitted in `namespace`, as `kubectl apply -n` would create them.
pub fn preview_in(
    object: &str,
    namespace: Option<&str>,
    settings: &Settings,
    mirror: &dyn Mirror,
) -> Result<Option<Preview>, String> {
    let raw: &RawValue = serde_json::from_str(object).map_err(|e| format!("not a JSON object: {e}"))?;
    if Type::of(raw) != Type::Object {
        return Err(format!("expected an object, found {}", Type::of(raw)));
    }
    let [api_version, kind, metadata] =
        json::members(raw, ["apiVersion", "kind", "metadata"]).map_err(|e| json::message(&e))?;
    let (api_version, kind) = (text(api_version), text(kind));
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let Some(found) = Kind::of(group, &kind, &settings.resources) else { return Ok(None) };
    let [name, own_namespace] = match metadata.filter(|m| Type::of(m) == Type::Object) {
        Some(metadata) => json::members(metadata, ["name", "namespace"]).map_err(|e| json::message(&e))?,
        None => [None, None],
    };
    let request = Request {
        kind: GroupVersionKind { group: Cow::Borrowed(group), kind: kind.clone() },
        sub_resource: None,
        namespace: own_namespace.map(|raw| text(Some(raw))).or(namespace.map(Cow::Borrowed)),
        operation: Cow::Borrowed("CREATE"),
        object: Some(raw),
        old_object: None,
    };
    let outcome = admission::admit(&request, settings, mirror);
    let (mutated, rejected) = match outcome.verdict {
        Verdict::Accept => (None, None),
        Verdict::Mutate(text) => (Some(text), None),
        Verdict::Reject(message) => (None, Some(message)),
    };
    let containers = changes(raw, mutated.as_deref(), found, settings)?;
    Ok(Some(Preview {
        kind: kind.into_owned(),
        name: text(name).into_owned(),
        namespace: request.namespace.as_deref().map(str::to_owned),
        containers,
        warnings: outcome.warnings.lines(),
        mutated,
        rejected,
    }))
}

/// Pairs each image of `object` with the same image in `mutated`: admission
/// only replaces image strings, so both hold the same images in the same order.
fn changes(object: &RawValue, mutated: Option<&str>, kind: Kind, settings: &Settings) -> Result<Vec<Change>, String> {
    let before = images(object, kind).map_err(|e| e.to_string())?;
    let mutated: Option<&RawValue> = mutated.map(serde_json::from_str).transpose().map_err(|e| e.to_string())?;
    let after = mutated.map(|m| images(m, kind)).transpose().map_err(|e| e.to_string())?;
    let changes = before.iter().enumerate().map(|(i, (list, image))| {
        let after = after.as_ref().and_then(|after| after.get(i)).map_or(&image.text, |(_, image)| &image.text);
        let rule = (*after != image.text).then(|| rule(settings, &image.text)).flatten();
        let (before, after) = (image.text.to_string(), after.to_string());
        Change { list: *list, container: image.key.to_string(), before, after, rule }
    });
    Ok(changes.collect())
}

/// Every image of `object`, with its container list when it has one.
fn images<'a>(object: &'a RawValue, kind: Kind) -> Result<Vec<(Option<List>, Image<'a>)>, ShapeError> {
    Ok(match kind {
        Kind::Workload(layout) => {
            workload::read_pod(object, layout)?.containers.into_iter().map(|c| (Some(c.list), c.image)).collect()
        }
        Kind::Listed(resource) => {
            workload::read_listed(object, resource)?.images.into_iter().map(|image| (None, image)).collect()
        }
    })
}

/// How the rules name what moved `image`.
fn rule(settings: &Settings, image: &str) -> Option<String> {
    match settings.rules.decide(image) {
        Decision::Redirect { via: Via::Mapping(m), .. } => Some(format!("mapping {}", m.source)),
        Decision::Redirect { via: Via::Prefix, .. } => Some("prefix".to_owned()),
        Decision::Redirect { via: Via::MappingThenPrefix(m), .. } => Some(format!("mapping {}, then prefix", m.source)),
        Decision::Keep(_) => None,
    }
}

/// The text of a string member; empty when absent or not a string.
fn text(member: Option<&RawValue>) -> Cow<'_, str> {
    member.filter(|raw| Type::of(raw) == Type::String).and_then(|raw| json::text(raw).ok()).unwrap_or_default()
}
