//! Properties over generated references, settings and objects: Pods,
//! Deployments and a custom resource the settings list (its images at field
//! paths, one through two lists), with fields no schema knows at every level
//! of the object.
//!
//! Sources, targets, the prefix and image registries are drawn from one small
//! pool of places, so mappings overlap each other and images already sit where
//! some rule sends them. 256 cases per property.

mod common;

use common::typed::{self, TypedContainer};
use common::{Review, review};
use image_redirect_policy::reference::{Reference, RegistryPath, is_under, segment_prefixes};
use image_redirect_policy::rules::{Decision, Via};
use image_redirect_policy::settings::Settings;
use image_redirect_policy::workload::ORIGINALS_ANNOTATION;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// Where settings send images from and to; images live there too.
const PLACES: &[&str] = &[
    "docker.io",
    "docker.io/library",
    "index.docker.io/team",
    "quay.io",
    "quay.io/team",
    "registry.k8s.io",
    "localhost:5000",
    "ghcr.io/team/app",
    "mirror.local",
    "mirror.local/hub",
    "edge.local/p",
    "10.0.0.1:30003/spectro-images",
];

// ---------------------------------------------------------------- references

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["library", "team", "hub", "p", "app", "spectro-images", "nginx", "pause"]).prop_map(str::to_owned),
        4 => "[a-z0-9]{1,5}((\\.|_|__|-{1,3})[a-z0-9]{1,5}){0,2}",
        1 => "[a-z]{40,70}",
    ]
}

/// `host[:port]/`, or nothing (Docker Hub).
fn registry() -> impl Strategy<Value = String> {
    let known = select(vec![
        "",
        "docker.io/",
        "index.docker.io/",
        "quay.io/",
        "registry.k8s.io/",
        "localhost/",
        "localhost:5000/",
        "ghcr.io/",
        "mirror.local/",
        "edge.local/",
        "10.0.0.1:30003/",
        "[::1]:5000/",
        "my.reg:8443/",
    ])
    .prop_map(str::to_owned);
    prop_oneof![3 => known, 1 => "[a-z][a-z0-9-]{0,5}[a-z0-9]\\.(io|local)(:[0-9]{2,5})?/"]
}

/// Valid references from the grammar: registry, 1–4 components, tag, digest.
fn reference() -> impl Strategy<Value = String> {
    let tag = prop::option::of(prop_oneof![4 => "[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", 1 => "[a-z0-9_][a-z0-9_.-]{127}"]);
    let digest = prop::option::of(prop_oneof!["sha256:[0-9a-f]{64}", "sha512:[0-9a-f]{128}"]);
    (registry(), prop::collection::vec(component(), 1..=4), tag, digest)
        .prop_map(|(registry, path, tag, digest)| {
            let mut image = format!("{registry}{}", path.join("/"));
            if let Some(tag) = tag {
                image += &format!(":{tag}");
            }
            if let Some(digest) = digest {
                image += &format!("@{digest}");
            }
            image
        })
        .prop_filter("a name within 255 characters", |image| Reference::parse(image).is_ok())
}

/// What a container's `image` member holds; `None` leaves it out.
fn image_member() -> impl Strategy<Value = Option<Value>> {
    let invalid = select(vec!["Nginx", "bad image", "a..b", "nginx:", "@sha256:00", "nginx@md5:00", "caf\u{e9}"]);
    prop_oneof![
        12 => reference().prop_map(|image| Some(Value::from(image))),
        2 => invalid.prop_map(|image| Some(Value::from(image))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(Value::from(""))),
        1 => Just(None),
    ]
}

// ------------------------------------------------------------------ settings

/// Valid settings whose mappings, prefix and exclusions overlap.
fn settings() -> impl Strategy<Value = Value> {
    let mapping = (select(PLACES), select(PLACES), prop::option::of(select(vec!["s-a", "s-b"])));
    let prefix = prop::option::of((
        select(vec!["edge.local/p", "10.0.0.1:30003/spectro-images", "mirror.local"]),
        any::<bool>(),
    ));
    let globs = prop::sample::subsequence(
        vec!["*pause*", "docker.io/library/*", "quay.io/*:v1*", "*@sha256:*", "ghcr.io/team/?*", "*mirror.local/hub/*"],
        0..=2,
    );
    (prop::collection::vec(mapping, 0..6), prefix, globs, prop::option::of(any::<bool>())).prop_filter_map(
        "nothing to redirect",
        |(mappings, prefix, globs, annotate)| {
            let mut sources: Vec<String> = Vec::new();
            let mut written = Vec::new();
            for (source, target, secret) in mappings {
                // Settings refuse a port in a mapping target under a prefix, and duplicate sources.
                let normalised = source.replace("index.docker.io", "docker.io");
                if sources.contains(&normalised) || prefix.is_some() && target.split('/').next().unwrap().contains(':')
                {
                    continue;
                }
                sources.push(normalised);
                let mut mapping = json!({"source": source, "target": target});
                if let Some(secret) = secret {
                    mapping["pullSecret"] = json!(secret);
                }
                written.push(mapping);
            }
            if written.is_empty() && prefix.is_none() {
                return None;
            }
            let mut settings = json!({"mappings": written, "resources": [widget_resource()]});
            if let Some((target, secret)) = prefix {
                settings["prefix"] =
                    if secret { json!({"target": target, "pullSecret": "edge"}) } else { json!({"target": target}) };
            }
            if !globs.is_empty() {
                settings["exclude"] = json!({"images": globs, "namespaces": ["kube-system"]});
            }
            if let Some(annotate) = annotate {
                settings["annotateOriginals"] = json!(annotate);
            }
            Some(settings)
        },
    )
}

/// The custom resource every generated settings lists, with paths that reach
/// a string, every element of a list, and every element of lists in a list.
fn widget_resource() -> Value {
    json!({"apiGroup": "example.com", "kind": "Widget", "images": WIDGET_PATHS})
}

const WIDGET_PATHS: [&str; 3] = ["spec.image", "spec.containers[*].image", "spec.stages[*].steps[*].image"];

// ------------------------------------------------------------------- objects

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    Deployment,
    Widget,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::Widget => "Widget",
        }
    }

    /// JSON Pointer to the value holding the metadata (and, for workloads, the pod's spec).
    fn holder(self) -> &'static str {
        match self {
            Kind::Pod | Kind::Widget => "",
            Kind::Deployment => "/spec/template",
        }
    }

    fn request(self, operation: &str, object: Value) -> Value {
        let (group, resource) = match self {
            Kind::Pod => ("", "pods"),
            Kind::Deployment => ("apps", "deployments"),
            Kind::Widget => ("example.com", "widgets"),
        };
        let kind = self.name();
        json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
            "namespace": "default",
            "operation": operation,
            "object": object,
        })
    }
}

/// JSON no schema knows, with keys the policy reads elsewhere (`image`,
/// `containers`…) so a walk that strays into it would show.
fn extra() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Floats whose shortest spelling reads back exactly (the test compares trees).
        select(vec![0.5, -2.25, 1e21, 3e-5]).prop_map(Value::from),
        "[a-z\u{e9}\u{1f433}\\\\\"/\n]{0,8}".prop_map(Value::from),
        reference().prop_map(Value::from),
    ];
    let key = prop_oneof![
        select(vec![
            "image",
            "containers",
            "spec",
            "metadata",
            "annotations",
            "imagePullSecrets",
            "name",
            ORIGINALS_ANNOTATION
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z~/]{1,6}",
    ];
    leaf.prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Adds an `x-unknown-N` member to every object of `value`, cycling through `extras`.
fn sprinkle(value: &mut Value, extras: &[Value], next: &mut usize) {
    match value {
        Value::Object(members) => {
            members.values_mut().for_each(|v| sprinkle(v, extras, next));
            members.insert(format!("x-unknown-{next}"), extras[*next % extras.len()].clone());
            *next += 1;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| sprinkle(v, extras, next)),
        _ => {}
    }
}

/// A container's image member, whether it has a name, and its pull policy.
fn container() -> impl Strategy<Value = (Option<Value>, bool, Option<&'static str>)> {
    let policy = prop::option::of(prop_oneof![4 => Just("IfNotPresent"), 4 => Just("Always"), 1 => Just("Never")]);
    (image_member(), prop::bool::weighted(0.9), policy)
}

fn container_list(prefix: &'static str, size: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(container(), size).prop_map(move |items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (image, named, policy))| {
                let mut c = Map::new();
                if named {
                    c.insert("name".into(), format!("{prefix}{i}").into());
                }
                if let Some(image) = image {
                    c.insert("image".into(), image);
                }
                if let Some(policy) = policy {
                    c.insert("imagePullPolicy".into(), policy.into());
                }
                Value::Object(c)
            })
            .collect()
    })
}

/// A pod's metadata: absent, `null`, without annotations, or with annotations
/// that may already hold an originals record (valid, `null`, or not JSON).
fn metadata() -> impl Strategy<Value = Option<Value>> {
    let originals =
        select(vec![None, Some(Value::Null), Some(json!("{\"old\":\"busybox:1\"}")), Some(json!("not json"))]);
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!({"name": "p"}))),
        Just(Some(json!({"name": "p", "annotations": null}))),
        originals.prop_map(|originals| {
            let mut annotations = json!({"keep": "me"});
            if let Some(value) = originals {
                annotations[ORIGINALS_ANNOTATION] = value;
            }
            Some(json!({"name": "p", "annotations": annotations}))
        }),
    ]
}

/// A Widget's spec: its paths hold strings, lists that may be `null`, and
/// values of other types (someone else's schema: warned about, never refused).
fn widget_spec() -> impl Strategy<Value = Value> {
    let other = select(vec![json!(5), json!({"repository": "nginx"}), json!(["nginx"]), json!(true)]);
    let image = prop_oneof![8 => image_member(), 1 => other.clone().prop_map(Some)];
    let list = |prefix| prop_oneof![6 => container_list(prefix, 0..4).prop_map(Value::Array), 1 => other.clone(), 1 => Just(Value::Null)];
    let stages = prop::collection::vec(list("s"), 0..3).prop_map(|lists| {
        Value::Array(lists.into_iter().map(|steps| json!({"name": "stage", "steps": steps})).collect())
    });
    (image, list("c"), stages).prop_map(|(image, containers, stages)| {
        let mut spec = json!({"containers": containers, "stages": stages, "replicas": 1});
        if let Some(image) = image {
            spec["image"] = image;
        }
        spec
    })
}

fn pull_secrets() -> impl Strategy<Value = Option<Value>> {
    select(vec![
        None,
        Some(Value::Null),
        Some(json!([])),
        Some(json!([{"name": "s-a"}])),
        Some(json!([null, {"name": "x"}])),
    ])
}

/// A Pod, a Deployment or a Widget, with unknown members in every object.
fn workload() -> impl Strategy<Value = (Kind, Value)> {
    let spec = (container_list("c", 1..5), container_list("i", 0..3), container_list("e", 0..2), pull_secrets());
    let kind = select(vec![Kind::Pod, Kind::Deployment, Kind::Widget]);
    (kind, metadata(), spec, prop::collection::vec(extra(), 1..6), widget_spec()).prop_map(
        |(kind, metadata, (containers, init, ephemeral, secrets), extras, widget)| {
            let mut spec = json!({"containers": containers, "restartPolicy": "Always"});
            for (key, list) in [("initContainers", init), ("ephemeralContainers", ephemeral)] {
                if !list.is_empty() {
                    spec[key] = Value::Array(list);
                }
            }
            if let Some(secrets) = secrets {
                spec["imagePullSecrets"] = secrets;
            }
            let mut pod = json!({"spec": spec});
            if let Some(metadata) = metadata {
                pod["metadata"] = metadata;
            }
            let mut object = match kind {
                Kind::Widget => json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": pod["metadata"], "spec": widget}),
                Kind::Pod => {
                    pod["apiVersion"] = json!("v1");
                    pod["kind"] = json!("Pod");
                    pod
                }
                Kind::Deployment => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                           "spec": {"replicas": 2, "template": pod}}),
            };
            sprinkle(&mut object, &extras, &mut 0);
            (kind, object)
        },
    )
}

// ------------------------------------------------------------------- helpers

/// The images of the three container lists (a Widget: the strings at its
/// paths), by JSON Pointer.
fn images_of(kind: Kind, object: &Value) -> Vec<(String, Option<String>)> {
    if kind == Kind::Widget {
        return widget_images(object);
    }
    let holder = object.pointer(kind.holder()).unwrap();
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| {
            let items = holder["spec"][list].as_array().cloned().unwrap_or_default();
            items.into_iter().enumerate().map(move |(i, c)| {
                (format!("{}/spec/{list}/{i}/image", kind.holder()), c["image"].as_str().map(str::to_owned))
            })
        })
        .collect()
}

fn widget_images(object: &Value) -> Vec<(String, Option<String>)> {
    let items = |value: &Value| value.as_array().cloned().unwrap_or_default();
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let spec = &object["spec"];
    let mut images = vec![("/spec/image".to_owned(), text(&spec["image"]))];
    for (i, c) in items(&spec["containers"]).iter().enumerate() {
        images.push((format!("/spec/containers/{i}/image"), text(&c["image"])));
    }
    for (i, stage) in items(&spec["stages"]).iter().enumerate() {
        for (j, step) in items(&stage["steps"]).iter().enumerate() {
            images.push((format!("/spec/stages/{i}/steps/{j}/image"), text(&step["image"])));
        }
    }
    images
}

/// The response to `validate` with the mutated object as the text the policy wrote.
struct Answer {
    accepted: bool,
    mutated: Option<String>,
}

/// Runs `validate` on a payload written around `object` and `old` as text, so
/// a second pass reads exactly what the first one wrote (duplicate keys included).
fn validate_text(settings: &Value, kind: Kind, operation: &str, object: &str, old: Option<&str>) -> Answer {
    let mut request = kind.request(operation, Value::Null);
    request.as_object_mut().unwrap().remove("object");
    let envelope = request.to_string();
    let old = old.map(|old| format!(",\"oldObject\":{old}")).unwrap_or_default();
    let payload = format!(
        "{{\"request\":{},\"object\":{object}{old}}},\"settings\":{settings}}}",
        &envelope[..envelope.len() - 1]
    );
    let out = image_redirect_policy::admission::validate(payload.as_bytes(), &image_redirect_policy::mirror::NoMirror);
    #[derive(serde::Deserialize)]
    struct Raw {
        accepted: bool,
        mutated_object: Option<Box<RawValue>>,
    }
    let raw: Raw = serde_json::from_slice(&out).expect("the response is JSON");
    Answer { accepted: raw.accepted, mutated: raw.mutated_object.map(|o| o.get().to_owned()) }
}

fn review_kind(settings: Value, kind: Kind, object: Value) -> Review {
    review(settings, kind.request("CREATE", object))
}

/// Whether a JSON Patch path is one the policy may write: an image of a
/// container list, the originals annotation (or the maps that hold it), the
/// pull secrets.
fn allowed(kind: Kind, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(kind.holder()) else { return false };
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let index = |segment: &str| segment.parse::<usize>().is_ok();
    match (kind, segments.as_slice()) {
        (Kind::Widget, ["spec", "image"]) => true,
        (Kind::Widget, ["spec", "containers", i, "image"]) => index(i),
        (Kind::Widget, ["spec", "stages", i, "steps", j, "image"]) => index(i) && index(j),
        (Kind::Widget, ["spec", ..]) => false,
        (_, ["spec", "containers" | "initContainers" | "ephemeralContainers", i, "image"]) => index(i),
        (_, ["metadata"])
        | (_, ["metadata", "annotations"])
        | (_, ["metadata", "annotations", "image-redirect.io~1original-images"]) => true,
        (_, ["spec", "imagePullSecrets"]) | (_, ["spec", "imagePullSecrets", _]) => true,
        _ => false,
    }
}

/// Where the rules send `image`, and the source of the mapping that matched (if one did).
fn decision(settings: &Settings, image: &str) -> Option<(String, Option<String>)> {
    match settings.rules.decide(image) {
        Decision::Redirect { image, via, .. } => {
            let source = match via {
                Via::Mapping(m) | Via::MappingThenPrefix(m) => Some(m.source.as_str().to_owned()),
                Via::Prefix => None,
            };
            Some((image, source))
        }
        Decision::Keep(_) => None,
    }
}

/// The image a CREATE leaves in a container: the rules' choice, unless the
/// image must stay on the node under its own name.
fn expected_image(settings: &Settings, image: &str, pull_policy: Option<&str>) -> String {
    match decision(settings, image) {
        Some((redirected, _)) if pull_policy != Some("Never") => redirected,
        _ => image.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// What editing text cannot prove by itself: an object that reads as its
    /// typed kind (k8s-openapi) before admission still reads as it after,
    /// every container where it was, each with the image the rules chose.
    #[test]
    fn a_typed_object_stays_typed_with_the_images_the_rules_chose(settings in settings(), (kind, object) in workload()) {
        let Ok(Some(before)) = typed::containers(kind.name(), &object) else { return Ok(()) };
        let answer = validate_text(&settings, kind, "CREATE", &object.to_string(), None);
        let stored: Value = answer.mutated.map_or(object, |text| serde_json::from_str(&text).unwrap());
        let after = typed::containers(kind.name(), &stored);
        prop_assert!(after.is_ok(), "{:?}\n{stored}", after);
        let rules = common::settings(settings);
        let expected: Vec<TypedContainer> = before
            .into_iter()
            .map(|c| TypedContainer {
                image: c.image.as_deref().map(|image| expected_image(&rules, image, c.pull_policy.as_deref())),
                ..c
            })
            .collect();
        prop_assert_eq!(after.unwrap(), Some(expected));
    }

    /// CREATE again, and UPDATE with the output as both old and new object:
    /// nothing left to do, read from the exact text the first pass wrote.
    #[test]
    fn applying_the_policy_to_its_output_changes_nothing(settings in settings(), (kind, object) in workload()) {
        let first = validate_text(&settings, kind, "CREATE", &object.to_string(), None);
        prop_assert!(first.accepted);
        let stored = first.mutated.unwrap_or_else(|| object.to_string());
        for (operation, old) in [("CREATE", None), ("UPDATE", Some(stored.as_str()))] {
            let again = validate_text(&settings, kind, operation, &stored, old);
            prop_assert!(again.accepted, "{operation} rejected {stored}");
            prop_assert!(again.mutated.is_none(), "{operation} changed {stored}\ninto {:?}", again.mutated);
        }
    }

    /// The JSON Patch touches images, the originals annotation and pull secrets,
    /// nothing else: every unknown member is kept exactly.
    #[test]
    fn patches_touch_only_images_the_annotation_and_pull_secrets(settings in settings(), (kind, object) in workload()) {
        let r = review_kind(settings, kind, object);
        prop_assert!(r.accepted);
        for op in r.patch.as_array().unwrap() {
            prop_assert!(allowed(kind, op["path"].as_str().unwrap()), "{op}");
            prop_assert!(op["op"] != "remove", "{op}");
        }
    }

    #[test]
    fn every_output_image_is_valid_and_keeps_tag_and_digest(settings in settings(), (kind, object) in workload()) {
        let r = review_kind(settings, kind, object.clone());
        let after = r.mutated.unwrap_or_else(|| object.clone());
        for ((at, before), (_, after)) in images_of(kind, &object).into_iter().zip(images_of(kind, &after)) {
            if before == after {
                continue;
            }
            let (before, after) = (before.unwrap(), after.unwrap());
            let old = Reference::parse(&before);
            prop_assert!(old.is_ok(), "{at}: {before} is not a reference, yet became {after}");
            let new = Reference::parse(&after);
            prop_assert!(new.is_ok(), "{at}: {after} is not a reference");
            let (old, new) = (old.unwrap(), new.unwrap());
            prop_assert_eq!((old.tag(), old.digest()), (new.tag(), new.digest()), "{}", at);
        }
    }

    #[test]
    fn disabled_unmatched_or_excluded_returns_no_object(settings in settings(), (kind, object) in workload()) {
        let mut disabled = settings.clone();
        disabled["enabled"] = json!(false);
        prop_assert!(review_kind(disabled, kind, object.clone()).mutated.is_none());
        let unmatched = json!({"mappings": [{"source": "nowhere.example", "target": "mirror.local/x"}], "resources": [widget_resource()]});
        prop_assert!(review_kind(unmatched, kind, object.clone()).mutated.is_none());
        let mut everything_excluded = settings;
        everything_excluded["exclude"] = json!({"images": ["*"]});
        prop_assert!(review_kind(everything_excluded, kind, object).mutated.is_none());
    }

    /// A mapping whose source is a shorter segment prefix of the one that
    /// matched never takes the image over (unless its own target already
    /// covers the image, which makes the image count as redirected).
    #[test]
    fn a_shorter_overlapping_mapping_never_changes_a_longer_match(
        settings in settings(),
        long in select(PLACES.iter().copied().filter(|p| p.contains('/')).collect::<Vec<_>>()),
        long_target in select(PLACES),
        rest in prop::collection::vec(component(), 0..3),
        tag in prop::option::of("[a-z0-9][a-z0-9.-]{0,8}"),
        cut in any::<prop::sample::Index>(),
        target in select(PLACES),
    ) {
        // An image below `long`, and a mapping for `long` unless the settings have one.
        let mut image = [vec![long.to_owned()], rest].concat().join("/");
        if let Some(tag) = tag {
            image += &format!(":{tag}");
        }
        let mut settings = settings;
        let has_port = |place: &str| place.split('/').next().unwrap().contains(':');
        let under_prefix = settings.get("prefix").is_some();
        let written = |settings: &Value, source: &str| {
            settings["mappings"].as_array().unwrap().iter().any(|m| m["source"].as_str().unwrap().replace("index.docker.io", "docker.io") == source)
        };
        let refused = under_prefix && has_port(long_target);
        if !refused && !written(&settings, &long.replace("index.docker.io", "docker.io")) {
            settings["mappings"].as_array_mut().unwrap().push(json!({"source": long, "target": long_target}));
        }
        let Some(Ok(before)) = Reference::parse(&image).ok().map(|_| Settings::from_json(&settings.to_string())) else {
            return Ok(());
        };
        let Some((redirected, Some(source))) = decision(&before, &image) else { return Ok(()) };
        let shorter: Vec<&str> = segment_prefixes(&source).skip(1).collect();
        let Some(&shorter) = (!shorter.is_empty()).then(|| cut.get(&shorter)) else { return Ok(()) };
        let name = Reference::parse(&image).unwrap().name().to_owned();
        if written(&settings, shorter) || under_prefix && has_port(target) || is_under(&name, RegistryPath::parse(target).unwrap().as_str()) {
            return Ok(());
        }
        let mut with_shorter = settings.clone();
        with_shorter["mappings"].as_array_mut().unwrap().push(json!({"source": shorter, "target": target}));
        let after = common::settings(with_shorter.clone());
        prop_assert_eq!(decision(&after, &image), Some((redirected.clone(), Some(source))));
        // And through a whole admission.
        let pod = json!({"spec": {"containers": [{"name": "c", "image": image}]}});
        let r = review_kind(with_shorter, Kind::Pod, pod);
        prop_assert_eq!(&r.mutated.unwrap()["spec"]["containers"][0]["image"], &json!(redirected));
    }

    /// Whatever arrives (any operation, kind, subresource, object shape or
    /// settings), the answer reads as the SDK's ValidationResponse, and a
    /// rejection carries a message and no object.
    #[test]
    fn every_response_reads_as_the_sdk_validation_response(
        settings in prop_oneof![3 => settings(), 1 => extra()],
        (kind, object) in workload(),
        junk in extra(),
        operation in prop_oneof![4 => Just("CREATE"), 3 => Just("UPDATE"), 1 => select(vec!["DELETE", "CONNECT", "create", ""])],
        kind_written in prop_oneof![
            6 => Just(None),
            1 => select(vec![("", "Pod"), ("apps", "Deployment"), ("batch", "CronJob"), ("", "ConfigMap"), ("example.com", "Widget")]).prop_map(Some),
        ],
        sub_resource in prop_oneof![6 => Just(None), 1 => select(vec!["ephemeralcontainers", "status"]).prop_map(Some)],
        shape in prop_oneof![5 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
    ) {
        let mut request = kind.request(operation, match shape {
            0 => object.clone(),
            1 => junk,
            2 => Value::Null,
            _ => json!({"spec": object["spec"].clone(), "metadata": junk}),
        });
        if shape == 3 {
            request["oldObject"] = object;
        }
        if let Some((group, kind)) = kind_written {
            request["kind"] = json!({"group": group, "version": "v1", "kind": kind});
        }
        if let Some(sub_resource) = sub_resource {
            request["subResource"] = json!(sub_resource);
        }
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        let out = image_redirect_policy::admission::validate(&payload, &image_redirect_policy::mirror::NoMirror);
        let response = serde_json::from_slice::<kubewarden_policy_sdk::response::ValidationResponse>(&out);
        prop_assert!(response.is_ok(), "{}", String::from_utf8_lossy(&out));
        let response = response.unwrap();
        if response.accepted {
            prop_assert!(response.message.is_none());
        } else {
            prop_assert!(response.message.is_some_and(|m| !m.is_empty()) && response.mutated_object.is_none());
        }
    }
}
