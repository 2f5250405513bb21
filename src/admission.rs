//! One admission request, start to finish: the envelope policy-server sends,
//! the gates that accept without looking further, and the per-container
//! decisions. Pure: bytes in, bytes out, no host calls.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::mirror::{self, Lookups, Mirror};
use crate::response::{self, Changes, Outcome, Redirect, Verdict, Warnings};
use crate::rules::{Decision, OnMissing};
use crate::settings::Settings;
use crate::workload::{self, Container, Layout, List, Pod};

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
/// that destinations with `verify` or `pinDigest` ask for.
pub fn admit(request: &Request, settings: &Settings, mirror: &dyn Mirror) -> Outcome {
    let Some(layout) = Layout::of(&request.kind.group, &request.kind.kind) else {
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
        Some("ephemeralcontainers") if layout == Layout::Pod => true,
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
    let pod = match workload::read_pod(object, layout) {
        Ok(pod) => pod,
        Err(e) => return Outcome::reject(format!("the {} cannot be read: {e}", request.kind.kind)),
    };
    if pod.is_mirror {
        return Outcome::accept();
    }
    // A Pod update can change images but not imagePullSecrets, and changing a
    // running container's image restarts it: only images this update sets
    // itself are redirected.
    let pod_update = update && layout == Layout::Pod;
    let before = if pod_update { images_before(request.old_object) } else { Vec::new() };
    let mut warnings = Warnings::default();
    let planned = pod
        .containers
        .iter()
        .filter(|c| before.binary_search(&(c.list, c.label(), c.image.clone())).is_err())
        .filter_map(|c| redirect(c, settings, &pod, pod_update, &mut warnings));
    let mut lookups = Lookups::new(mirror);
    let mut redirects = Vec::new();
    for planned in planned.collect::<Vec<_>>() {
        match lookups.resolve(&planned.image, planned.destination) {
            Ok(pinned) => redirects.push(Redirect { image: pinned.unwrap_or(planned.image), ..planned }),
            Err(cause) if planned.destination.on_missing == OnMissing::Reject => {
                return Outcome::reject(mirror::refused(&planned.container.image, &planned.image, &cause));
            }
            Err(cause) => warnings.add(|| mirror::kept(&planned.container.image, &planned.image, &cause)),
        }
    }
    let changes =
        Changes { redirects, annotate: settings.annotate_originals && !ephemeral, add_pull_secrets: !pod_update };
    let verdict = match response::mutate(object, &pod, &changes, &mut warnings) {
        Some(mutated) => Verdict::Mutate(mutated),
        None => Verdict::Accept,
    };
    Outcome { verdict, warnings }
}

/// The redirect for one container, or `None` with a warning when the user
/// should know why its image stays.
fn redirect<'p, 'a>(
    container: &'p Container<'a>,
    settings: &'p Settings,
    pod: &Pod,
    pod_update: bool,
    warnings: &mut Warnings,
) -> Option<Redirect<'p, 'a>> {
    let shown = response::shown(&container.image);
    let (image, destination) = match settings.rules.decide(&container.image) {
        Decision::Redirect { image, destination, .. } => (image, destination),
        Decision::Keep(keep) => {
            if let Some(why) = keep.warning() {
                warnings.add(|| format!("image left unchanged: {shown}: {why}"));
            }
            return None;
        }
    };
    if container.pull_never {
        warnings.add(|| format!("image left unchanged: {shown}: imagePullPolicy is Never (it would go to {image})"));
        return None;
    }
    if let Some(secret) = destination.pull_secret.as_deref().filter(|s| pod_update && !pod.has_pull_secret(s)) {
        warnings.add(|| {
            format!("image left unchanged: {shown}: it needs pull secret {secret}, which a Pod update cannot add")
        });
        return None;
    }
    Some(Redirect { container, image, destination })
}

/// The (list, container, image) triples of the object before an update,
/// sorted; empty when there is no readable old object.
fn images_before(old: Option<&RawValue>) -> Vec<(List, Cow<'_, str>, Cow<'_, str>)> {
    let Some(Ok(pod)) = old.map(|old| workload::read_pod(old, Layout::Pod)) else {
        return Vec::new();
    };
    let mut images: Vec<_> =
        pod.containers.into_iter().map(|c| (c.list, c.label().into_owned().into(), c.image)).collect();
    images.sort();
    images
}
