//! Properties over generated references, settings and objects (with fields
//! no schema knows, nested anywhere).

mod common;

use common::{pod_request, review};
use image_redirect_policy::reference::Reference;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const SOURCES: &[&str] =
    &["docker.io", "docker.io/library", "quay.io", "registry.k8s.io", "localhost:5000", "ghcr.io/team"];

fn reference() -> impl Strategy<Value = String> {
    let registry = prop::sample::select(vec![
        "",
        "docker.io/",
        "index.docker.io/",
        "quay.io/",
        "registry.k8s.io/",
        "localhost:5000/",
        "ghcr.io/",
        "my.reg:8443/",
        "[::1]:5000/",
    ]);
    let component = prop::sample::select(vec!["library", "nginx", "app", "team", "a-b", "x_y", "v1.2", "pause"]);
    let tag = prop::option::of(prop::sample::select(vec!["1.27", "latest", "v1.2.3-rc_1", "5000"]));
    let digest = prop::option::of("[0-9a-f]{64}");
    (registry, prop::collection::vec(component, 1..4), tag, digest).prop_map(|(registry, path, tag, digest)| {
        let mut image = format!("{registry}{}", path.join("/"));
        if let Some(tag) = tag {
            image += &format!(":{tag}");
        }
        if let Some(hex) = digest {
            image += &format!("@sha256:{hex}");
        }
        image
    })
}

/// Mostly valid references, sometimes not references at all.
fn image() -> impl Strategy<Value = String> {
    prop_oneof![8 => reference(), 1 => prop::sample::select(vec!["Nginx", "bad image", "a..b", "nginx:", "@sha256:00"]).prop_map(str::to_owned)]
}

fn settings() -> impl Strategy<Value = Value> {
    let mappings = prop::sample::subsequence(SOURCES.to_vec(), 0..=SOURCES.len());
    let prefix = prop::option::of(prop::sample::select(vec!["edge.local/p", "10.0.0.1:30003/spectro-images"]));
    (mappings, prefix, any::<bool>(), any::<bool>()).prop_filter_map("nothing to redirect", |(sources, prefix, annotate, exclude)| {
        if sources.is_empty() && prefix.is_none() {
            return None;
        }
        let mappings: Vec<Value> = sources.iter().enumerate().map(|(i, s)| json!({"source": s, "target": format!("mirror{i}.local/m{i}"), "pullSecret": format!("secret-{}", i % 2)})).collect();
        let mut settings = json!({"mappings": mappings, "annotateOriginals": annotate});
        if let Some(prefix) = prefix {
            settings["prefix"] = json!({"target": prefix, "pullSecret": "edge"});
        }
        if exclude {
            settings["exclude"] = json!({"images": ["*pause*"]});
        }
        Some(settings)
    })
}

/// JSON no schema knows.
fn extra() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-zé\\\\\"]{0,6}".prop_map(Value::from)
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn pod() -> impl Strategy<Value = Value> {
    let containers = prop::collection::vec((image(), extra()), 1..5);
    let init = prop::collection::vec(image(), 0..2);
    (containers, init, extra(), extra()).prop_map(|(containers, init, top, spec_extra)| {
        let list = |images: Vec<(String, Value)>, prefix: &str| -> Vec<Value> {
            images.into_iter().enumerate().map(|(i, (image, extra))| json!({"name": format!("{prefix}{i}"), "image": image, "x-unknown": extra})).collect()
        };
        let init: Vec<(String, Value)> = init.into_iter().map(|i| (i, Value::Null)).collect();
        json!({"apiVersion": "v1", "kind": "Pod", "x-top": top, "metadata": {"name": "p", "annotations": {"keep": "me"}},
               "spec": {"x-spec": spec_extra, "containers": list(containers, "c"), "initContainers": list(init, "i")}})
    })
}

fn images_of(object: &Value) -> Vec<String> {
    ["containers", "initContainers"]
        .iter()
        .flat_map(|list| object["spec"][list].as_array().cloned().unwrap_or_default())
        .map(|c| c["image"].as_str().unwrap_or_default().to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_policy_to_its_output_changes_nothing(settings in settings(), pod in pod()) {
        let first = review(settings.clone(), pod_request("CREATE", pod.clone()));
        let stored = first.mutated.unwrap_or(pod);
        for operation in ["CREATE", "UPDATE"] {
            let mut request = pod_request(operation, stored.clone());
            request["oldObject"] = stored.clone();
            let again = review(settings.clone(), request);
            prop_assert!(again.mutated.is_none(), "{operation}: {}", again.patch);
        }
    }

    #[test]
    fn patches_touch_only_images_the_annotation_and_pull_secrets(settings in settings(), pod in pod()) {
        let r = review(settings, pod_request("CREATE", pod.clone()));
        prop_assert!(r.accepted);
        for op in r.patch.as_array().unwrap() {
            let path = op["path"].as_str().unwrap();
            let allowed = (path.starts_with("/spec/containers/") || path.starts_with("/spec/initContainers/")) && path.ends_with("/image")
                || path == "/metadata/annotations/image-redirect.io~1original-images"
                || path.starts_with("/spec/imagePullSecrets");
            prop_assert!(allowed, "{op}");
        }
        if let Some(mutated) = r.mutated {
            for key in ["x-top", "apiVersion", "kind"] {
                prop_assert_eq!(&mutated[key], &pod[key]);
            }
            prop_assert_eq!(&mutated["spec"]["x-spec"], &pod["spec"]["x-spec"]);
            prop_assert_eq!(&mutated["metadata"]["annotations"]["keep"], "me");
            for (before, after) in pod["spec"]["containers"].as_array().unwrap().iter().zip(mutated["spec"]["containers"].as_array().unwrap()) {
                prop_assert_eq!(&before["x-unknown"], &after["x-unknown"]);
            }
        }
    }

    #[test]
    fn every_output_image_is_valid_and_keeps_tag_and_digest(settings in settings(), pod in pod()) {
        let r = review(settings, pod_request("CREATE", pod.clone()));
        let after = r.mutated.unwrap_or_else(|| pod.clone());
        for (before, after) in images_of(&pod).iter().zip(images_of(&after)) {
            if *before == after {
                continue;
            }
            let (old, new) = (Reference::parse(before).unwrap(), Reference::parse(&after));
            prop_assert!(new.is_ok(), "{after} is not a reference");
            let new = new.unwrap();
            prop_assert_eq!((old.tag(), old.digest()), (new.tag(), new.digest()));
        }
    }

    #[test]
    fn disabled_or_unmatched_returns_no_object(pod in pod(), settings in settings()) {
        let mut disabled = settings;
        disabled["enabled"] = json!(false);
        prop_assert!(review(disabled, pod_request("CREATE", pod.clone())).mutated.is_none());
        let unmatched = json!({"mappings": [{"source": "nowhere.example", "target": "mirror.local/x"}]});
        prop_assert!(review(unmatched, pod_request("CREATE", pod)).mutated.is_none());
    }

    #[test]
    fn a_shorter_overlapping_mapping_never_changes_a_longer_match(image in reference()) {
        let long = json!({"mappings": [{"source": "docker.io/library", "target": "official.local/lib"}]});
        let both = json!({"mappings": [{"source": "docker.io", "target": "hub.local/hub"}, {"source": "docker.io/library", "target": "official.local/lib"}]});
        let request = || pod_request("CREATE", json!({"spec": {"containers": [{"name": "c", "image": image}]}}));
        let (alone, together) = (review(long, request()), review(both, request()));
        let redirected = |r: &common::Review| r.mutated.as_ref().map(|m| m["spec"]["containers"][0]["image"].clone());
        if let Some(by_long) = redirected(&alone) {
            prop_assert_eq!(Some(by_long), redirected(&together));
        }
    }
}
