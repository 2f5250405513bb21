//! One admission request, start to finish: the envelope policy-server sends,
//! the gates that accept without looking further, and the per-image
//! decisions, one path for containers and listed kinds alike. Pure: bytes in,
//! bytes out, no host calls.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::mirror::{self, Lookups, Mirror};
use crate::report;
use crate::response::{self, Audit, Changes, Outcome, PullSecrets, Redirect, Verdict, Warnings};
use crate::rules::{Decision, OnMissing};
use crate::settings::{Action, Settings};
use crate::workload::{self, Image, Kind, Layout, List, Resource, ShapeError};

/// The waPC `validate` payload: `{"request": <AdmissionRequest>, "settings": {...}}`.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    request: Request<'a>,
    #[serde(borrow, default)]
    settings: Option<&'a RawValue>,
}

/// The parts of an AdmissionRequest the policy reads; the object stays raw text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<'a> {
    #[serde(borrow, default)]
    pub kind: GroupVersionKind<'a>,
    #[serde(borrow, default)]
    pub sub_resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GroupVersionKind<'a> {
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub kind: Cow<'a, str>,
}

/// The waPC `validate` operation: never fails, a bad payload is a rejection.
pub fn validate(payload: &[u8], mirror: &dyn Mirror) -> Vec<u8> {
    evaluate(payload, mirror).to_json()
}

/// The waPC `validate_settings` operation.
pub fn validate_settings(payload: &[u8]) -> Vec<u8> {
    let message = match std::str::from_utf8(payload) {
        Ok(text) => Settings::from_json(text).err().map(|e| e.to_string()),
        Err(_) => Some("settings are not valid UTF-8".to_owned()),
    };
    // The shape of the SDK's SettingsValidationResponse, written here so the
    // engine builds without the waPC SDK.
    serde_json::to_vec(&serde_json::json!({"valid": message.is_none(), "message": message})).unwrap_or_default()
}

pub fn evaluate(payload: &[u8], mirror: &dyn Mirror) -> Outcome {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Outcome::reject("the validation payload is not UTF-8");
    };
    let payload: Payload = match serde_json::from_str(text) {
        Ok(payload) => payload,
        Err(e) => return Outcome::reject(format!("the admission request is malformed: {e}")),
    };
    let settings = match payload.settings {
        Some(raw) => Settings::from_raw(raw),
        None => Settings::from_json("{}"),
    };
    match settings {
        Ok(settings) => admit(&payload.request, &settings, mirror),
        Err(e) => Outcome::reject(format!("the policy settings are not valid: {e}")),
    }
}

/// Decides one request under valid settings; `mirror` answers the lookups
/// that destinations with `verify` or `pinDigest` ask for (for `pinDigest:
/// source`, at the source registry too).
pub fn admit(request: &Request, settings: &Settings, mirror: &dyn Mirror) -> Outcome {
    let Some(kind) = Kind::of(&request.kind.group, &request.kind.kind, &settings.resources) else {
        return Outcome::accept();
    };
    let update = match request.operation.as_ref() {
        "CREATE" => false,
        "UPDATE" => true,
        // A policy must never block a deletion or a connect.
        _ => return Outcome::accept(),
    };
    let ephemeral = match request.sub_resource.as_deref() {
        None | Some("") => false,
        Some("ephemeralcontainers") if kind == Kind::Workload(Layout::Pod) => true,
        // Status, scale, binding…: no pod spec to redirect.
        Some(_) => return Outcome::accept(),
    };
    let excluded = request.namespace.as_deref().is_some_and(|ns| settings.excludes_namespace(ns));
    if !settings.enabled || excluded {
        return Outcome::accept();
    }
    let Some(object) = request.object.filter(|o| o.get() != "null") else {
        return Outcome::reject(format!("request.object: missing for {}", request.operation));
    };
    match kind {
        Kind::Workload(layout) => {
            let reach = match (ephemeral, update && layout == Layout::Pod) {
                (true, _) => Reach::Ephemeral,
                (false, true) => Reach::PodUpdate,
                (false, false) => Reach::Whole,
            };
            admit_pod(request, object, layout, reach, settings, mirror)
        }
        // Like a workload's template, an update rolls out: every image is redirected.
        Kind::Listed(resource) => admit_listed(request, object, resource, settings, mirror),
    }
}

/// What a request may change of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// A create, or any change to a workload's template: every image, and
    /// the pull secrets they need.
    Whole,
    /// A Pod update can change images but not imagePullSecrets, and changing
    /// a running container's image restarts it: only the images the update
    /// sets itself are redirected.
    PodUpdate,
    /// `kubectl debug`: as a Pod update, and the subresource drops metadata changes.
    Ephemeral,
}

/// The images of a workload's pod.
fn admit_pod(
    request: &Request,
    object: &RawValue,
    layout: Layout,
    reach: Reach,
    settings: &Settings,
    mirror: &dyn Mirror,
) -> Outcome {
    let pod = match workload::read_pod(object, layout) {
        Ok(pod) => pod,
        Err(e) => return unreadable(request, e),
    };
    if pod.meta.is_mirror {
        return Outcome::accept();
    }
    let pod_update = reach != Reach::Whole;
    let before = if pod_update { images_before(request.old_object) } else { Vec::new() };
    let images = pod
        .containers
        .iter()
        .filter(|c| before.binary_search(&(c.list, c.image.key.clone(), c.image.text.clone())).is_err())
        .map(|c| &c.image);
    let changes = Changes {
        redirects: Vec::new(),
        annotate: (settings.annotate_originals && reach != Reach::Ephemeral).then_some(&pod.meta),
        pull_secrets: if pod_update { PullSecrets::Present(&pod) } else { PullSecrets::Add(&pod) },
    };
    redirect_all(object, images, changes, settings, mirror, Warnings::default())
}

/// The images at the field paths the settings list for this kind. A value of
/// the wrong type there is someone else's schema: a warning, not a rejection.
fn admit_listed(
    request: &Request,
    object: &RawValue,
    resource: &Resource,
    settings: &Settings,
    mirror: &dyn Mirror,
) -> Outcome {
    let listed = match workload::read_listed(object, resource) {
        Ok(listed) => listed,
        Err(e) => return unreadable(request, e),
    };
    let mut warnings = Warnings::default();
    for mismatch in &listed.mismatches {
        warnings.add(|| format!("{mismatch}: left as is"));
    }
    let changes = Changes {
        redirects: Vec::new(),
        annotate: settings.annotate_originals.then_some(&listed.meta),
        pull_secrets: PullSecrets::Named(&request.kind.kind),
    };
    redirect_all(object, listed.images.iter(), changes, settings, mirror, warnings)
}

fn unreadable(request: &Request, error: ShapeError) -> Outcome {
    Outcome::reject(format!("the {} cannot be read: {error}", request.kind.kind))
}

/// Decides every image, asks the mirror what the destinations want checked,
/// and writes the redirects into `changes` and the admitted text.
fn redirect_all<'p, 'a: 'p>(
    object: &RawValue,
    images: impl Iterator<Item = &'p Image<'a>>,
    mut changes: Changes<'p, 'a>,
    settings: &'p Settings,
    mirror: &dyn Mirror,
    mut warnings: Warnings,
) -> Outcome {
    if settings.action == Action::Report {
        return report::report(images, &settings.rules, mirror, warnings);
    }
    let mut audit = Audit::default();
    let planned: Vec<_> =
        images.filter_map(|i| redirect(i, settings, changes.pull_secrets, &mut warnings, &mut audit)).collect();
    let mut lookups = Lookups::new(mirror);
    for planned in planned {
        let from = planned.from;
        match lookups.resolve(&from.text, &planned.image, planned.destination) {
            Ok(pinned) => {
                let pinned_now = pinned.is_some();
                let image = pinned.unwrap_or(planned.image);
                audit.redirected(&from.key, &from.text, &image, pinned_now);
                changes.redirects.push(Redirect { image, ..planned });
            }
            Err(why) if planned.destination.on_missing == OnMissing::Reject => {
                return Outcome::reject(mirror::refused(&from.text, &planned.image, &why));
            }
            Err(why) => {
                audit.fell_back(&from.key, &from.text, &planned.image, why.briefly());
                warnings.add(|| mirror::kept(&from.text, &planned.image, &why));
            }
        }
    }
    let verdict = match response::mutate(object, &changes, &mut warnings) {
        Some(mutated) => Verdict::Mutate(mutated),
        None => Verdict::Accept,
    };
    Outcome { verdict, warnings, audit }
}

/// The redirect for one image, or `None` with a warning when the user
/// should know why it stays.
fn redirect<'p, 'a>(
    from: &'p Image<'a>,
    settings: &'p Settings,
    pull_secrets: PullSecrets,
    warnings: &mut Warnings,
    audit: &mut Audit,
) -> Option<Redirect<'p, 'a>> {
    let shown = response::shown(&from.text);
    let (image, destination) = match settings.rules.decide(&from.text) {
        Decision::Redirect { image, destination, .. } => (image, destination),
        Decision::Keep(keep) => {
            if let Some(why) = keep.warning() {
                warnings.add(|| format!("image left unchanged: {shown}: {why}"));
            }
            return None;
        }
    };
    if from.pull_never {
        audit.kept_never_pull(&from.key, &from.text);
        warnings.add(|| format!("image left unchanged: {shown}: imagePullPolicy is Never (it would go to {image})"));
        return None;
    }
    if let (PullSecrets::Present(pod), Some(secret)) = (pull_secrets, destination.pull_secret.as_deref())
        && !pod.has_pull_secret(secret)
    {
        warnings.add(|| {
            format!("image left unchanged: {shown}: it needs pull secret {secret}, which a Pod update cannot add")
        });
        return None;
    }
    Some(Redirect { from, image, destination })
}

/// The (list, container, image) triples of the object before an update,
/// sorted; empty when there is no readable old object.
fn images_before(old: Option<&RawValue>) -> Vec<(List, Cow<'_, str>, Cow<'_, str>)> {
    let Some(Ok(pod)) = old.map(|old| workload::read_pod(old, Layout::Pod)) else {
        return Vec::new();
    };
    let mut images: Vec<_> = pod.containers.into_iter().map(|c| (c.list, c.image.key, c.image.text)).collect();
    images.sort();
    images
}
