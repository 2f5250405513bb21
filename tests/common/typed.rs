//! Typed Kubernetes objects (k8s-openapi) for what editing text cannot prove by
//! itself: that a mutated object still reads as an object of its kind, with
//! the images expected, and that a test's request is a valid AdmissionReview.
//! The policy never builds these types; only tests do (here and, through a
//! `#[path]` module, the e2e tests).
#![allow(dead_code)]

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::authentication::v1::UserInfo;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod, PodSpec, PodTemplateSpec, ReplicationController};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One container as the typed object holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedContainer {
    pub list: &'static str,
    pub name: String,
    pub image: Option<String>,
    pub pull_policy: Option<String>,
}

/// The containers of every list of `object`, read as the typed `kind`;
/// `Ok(None)` for kinds without a pod, `Err` with serde's reason when the
/// object does not read as its kind.
pub fn containers(kind: &str, object: &Value) -> Result<Option<Vec<TypedContainer>>, String> {
    let template = |t: Option<PodTemplateSpec>| t.and_then(|t| t.spec);
    let spec = match kind {
        "Pod" => read::<Pod>(object)?.spec,
        "Deployment" => read::<Deployment>(object)?.spec.and_then(|s| s.template.spec),
        "ReplicaSet" => read::<ReplicaSet>(object)?.spec.and_then(|s| template(s.template)),
        "StatefulSet" => read::<StatefulSet>(object)?.spec.and_then(|s| s.template.spec),
        "DaemonSet" => read::<DaemonSet>(object)?.spec.and_then(|s| s.template.spec),
        "ReplicationController" => read::<ReplicationController>(object)?.spec.and_then(|s| template(s.template)),
        "Job" => read::<Job>(object)?.spec.and_then(|s| s.template.spec),
        "CronJob" => read::<CronJob>(object)?.spec.job_template.spec.and_then(|s| s.template.spec),
        _ => return Ok(None),
    };
    Ok(Some(spec.map(list_containers).unwrap_or_default()))
}

fn list_containers(spec: PodSpec) -> Vec<TypedContainer> {
    let typed = |list| {
        move |c: Container| TypedContainer { list, name: c.name, image: c.image, pull_policy: c.image_pull_policy }
    };
    let ephemeral = |c: EphemeralContainer| TypedContainer {
        list: "ephemeralContainers",
        name: c.name,
        image: c.image,
        pull_policy: c.image_pull_policy,
    };
    let containers = spec.containers.into_iter().map(typed("containers"));
    let init = spec.init_containers.into_iter().flatten().map(typed("initContainers"));
    containers.chain(init).chain(spec.ephemeral_containers.into_iter().flatten().map(ephemeral)).collect()
}

fn read<T: DeserializeOwned>(object: &Value) -> Result<T, String> {
    T::deserialize(object).map_err(|e| e.to_string())
}

/// An `admission.k8s.io/v1` AdmissionReview as the API server sends it
/// (k8s-openapi has no admission types: the API server does not serve them).
/// Unknown fields are refused, so a misspelt fixture field shows.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AdmissionReview {
    api_version: String,
    kind: String,
    request: AdmissionRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AdmissionRequest {
    uid: String,
    kind: GroupVersionKind,
    resource: GroupVersionResource,
    sub_resource: Option<String>,
    request_kind: Option<GroupVersionKind>,
    request_resource: Option<GroupVersionResource>,
    request_sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    operation: Operation,
    user_info: UserInfo,
    object: Option<Value>,
    old_object: Option<Value>,
    dry_run: Option<bool>,
    options: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupVersionKind {
    group: String,
    version: String,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupVersionResource {
    group: String,
    version: String,
    resource: String,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

/// Checks that `review` is a valid AdmissionReview whose object and old
/// object (when present) read as the kind the request names.
pub fn admission_review(review: &Value) -> Result<(), String> {
    let review: AdmissionReview = read(review)?;
    if (review.api_version.as_str(), review.kind.as_str()) != ("admission.k8s.io/v1", "AdmissionReview") {
        return Err(format!("{}/{} is not an admission.k8s.io/v1 AdmissionReview", review.api_version, review.kind));
    }
    let request = review.request;
    if request.uid.is_empty() {
        return Err("request.uid is empty".to_owned());
    }
    let objects = [("object", request.object), ("oldObject", request.old_object)];
    for (field, object) in objects.into_iter().filter_map(|(f, o)| Some((f, o.filter(|o| !o.is_null())?))) {
        let kind = &request.kind.kind;
        if object.get("kind").and_then(Value::as_str).is_some_and(|written| written != kind) {
            return Err(format!("request.{field} is not a {kind}"));
        }
        containers(kind, &object).map_err(|e| format!("request.{field} is not a valid {kind}: {e}"))?;
    }
    Ok(())
}
