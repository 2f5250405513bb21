//! The redirect rules, one line per behaviour. Each table runs one settings
//! mode; the expected column is the image the kubelet will pull.

mod common;

use common::{SHA256, check_table, settings};
use image_redirect_policy::rules::{Decision, Via};
use serde_json::json;

#[test]
fn mapping_mode() {
    let s = settings(json!({"mappings": [
        {"source": "docker.io", "target": "harbor.edge.local/dockerhub"},
        {"source": "somedomain.com/somepath", "target": "targetdomain.com/other/path"},
        {"source": "quay.io/kairos", "target": "mirror.local/kairos"},
    ]}));
    let digest = format!("nginx@{SHA256}");
    let digest_out = format!("harbor.edge.local/dockerhub/library/nginx@{SHA256}");
    let both = format!("nginx:1.27@{SHA256}");
    let both_out = format!("harbor.edge.local/dockerhub/library/nginx:1.27@{SHA256}");
    #[rustfmt::skip]
    check_table(&s, &[
        ("short_name",              "nginx:1.27",                  "harbor.edge.local/dockerhub/library/nginx:1.27"),
        ("no_latest_added",         "nginx",                       "harbor.edge.local/dockerhub/library/nginx"),
        ("user_repository",         "user/app:v1",                 "harbor.edge.local/dockerhub/user/app:v1"),
        ("explicit_docker_io",      "docker.io/library/redis:7",   "harbor.edge.local/dockerhub/library/redis:7"),
        ("legacy_docker_hub_name",  "index.docker.io/user/app",    "harbor.edge.local/dockerhub/user/app"),
        ("digest_kept",             &digest,                       &digest_out),
        ("tag_and_digest_kept",     &both,                         &both_out),
        ("palette_path_mapping",    "somedomain.com/somepath/example-repo/alpine:latest", "targetdomain.com/other/path/example-repo/alpine:latest"),
        ("source_is_whole_name",    "somedomain.com/somepath:v1",  "targetdomain.com/other/path:v1"),
        ("segment_boundary",        "somedomain.com/somepathx/a",  "UNCHANGED (no rule)"),
        ("host_suffix_is_not_host", "quay.io.evil.example/x",      "UNCHANGED (no rule)"),
        ("path_mapping_only",       "quay.io/other/app",           "UNCHANGED (no rule)"),
        ("unmapped_registry",       "gcr.io/distroless/static",    "UNCHANGED (no rule)"),
        ("already_at_target",       "harbor.edge.local/dockerhub/library/nginx:1.27", "UNCHANGED (already redirected)"),
        ("under_another_target",    "mirror.local/kairos/core:v1", "UNCHANGED (already redirected)"),
        ("invalid_reference",       "Nginx:1.27",                  "UNCHANGED (not a valid image reference: uppercase letters are not allowed)"),
    ]);
}

/// A Docker Hub target of one segment is a namespace to what lies below a
/// source, and an official image to the source's own repository: either way
/// the result counts as redirected (found by the idempotence property).
#[test]
fn a_docker_hub_target_of_one_segment() {
    let s = settings(json!({"mappings": [
        {"source": "edge.local/p", "target": "index.docker.io/team"},
        {"source": "docker.io", "target": "index.docker.io/team"},
    ]}));
    #[rustfmt::skip]
    check_table(&s, &[
        ("repository_onto_an_official_image", "edge.local/p:1",            "docker.io/team:1"),
        ("below_it_a_namespace",              "edge.local/p/app:1",        "docker.io/team/app:1"),
        ("the_official_image_is_redirected",  "docker.io/library/team:1",  "UNCHANGED (already redirected)"),
        ("its_short_form_too",                "team:1",                    "UNCHANGED (already redirected)"),
        ("under_the_namespace",               "docker.io/team/app:1",      "UNCHANGED (already redirected)"),
        ("another_official_image_moves",      "nginx:1",                   "docker.io/team/library/nginx:1"),
    ]);
}

#[test]
fn longest_source_wins_whatever_the_order() {
    let mappings = vec![
        json!({"source": "docker.io", "target": "hub.mirror.io/hub"}),
        json!({"source": "docker.io/library", "target": "official.mirror.io/official"}),
        json!({"source": "docker.io/lib", "target": "lib.mirror.io/x"}),
    ];
    let mut reversed = mappings.clone();
    reversed.reverse();
    for list in [mappings, reversed] {
        let s = settings(json!({ "mappings": list }));
        #[rustfmt::skip]
        check_table(&s, &[
            ("longer_source_wins",  "nginx:1",          "official.mirror.io/official/nginx:1"),
            ("shorter_when_only",   "user/app",         "hub.mirror.io/hub/user/app"),
            ("whole_segments_only", "docker.io/lib/x",  "lib.mirror.io/x/x"),
        ]);
    }
}

#[test]
fn prefix_mode() {
    let s = settings(json!({"prefix": {"target": "10.10.254.254:8000/spectro-images"}}));
    let digest = format!("quay.io/org/app@{SHA256}");
    let digest_out = format!("10.10.254.254:8000/spectro-images/quay.io/org/app@{SHA256}");
    let long = format!("quay.io/{}", "a".repeat(220));
    #[rustfmt::skip]
    check_table(&s, &[
        ("palette_prefix_all",    "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1",
                                  "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1"),
        ("short_name_normalised", "nginx:1.27",        "10.10.254.254:8000/spectro-images/docker.io/library/nginx:1.27"),
        ("digest_kept",           &digest,             &digest_out),
        ("already_prefixed",      "10.10.254.254:8000/spectro-images/docker.io/library/nginx:1.27", "UNCHANGED (already redirected)"),
        ("registry_with_port",    "localhost:5000/app:v1",
                                  "UNCHANGED (registry localhost:5000 has a port, which cannot become a path segment under the prefix)"),
        ("ipv6_registry",         "[::1]:5000/app",    "UNCHANGED (registry [::1]:5000 has a port, which cannot become a path segment under the prefix)"),
        ("uppercase_registry",    "LOCALREG/app",
                                  "UNCHANGED (the redirect 10.10.254.254:8000/spectro-images/LOCALREG/app would not be a valid reference: uppercase letters are not allowed)"),
        ("result_too_long",       &long,
                                  &format!("UNCHANGED (the redirect 10.10.254.254:8000/spectro-images/{long} would not be a valid reference: the repository name is longer than 255 characters)")),
    ]);
}

#[test]
fn palette_harbor_layout() {
    let s = settings(json!({"prefix": {"target": "10.10.137.220:30003/spectro-images"}}));
    check_table(
        &s,
        &[(
            "palette_harbor",
            "gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3",
            "10.10.137.220:30003/spectro-images/gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3",
        )],
    );
}

#[test]
fn mapping_then_prefix_mode() {
    let s = settings(json!({
        "mappings": [
            {"source": "us-docker.pkg.dev/palette-images", "target": "example.registry.com/palette-images"},
            {"source": "localhost:5000", "target": "local.mirror.io/dev"},
        ],
        "prefix": {"target": "10.10.100.45:30003"},
    }));
    #[rustfmt::skip]
    check_table(&s, &[
        ("palette_mapping_then_harbor", "us-docker.pkg.dev/palette-images/edge/agent:v4",
                                        "10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4"),
        ("unmapped_gets_prefix_only",   "nginx",        "10.10.100.45:30003/docker.io/library/nginx"),
        ("mapping_target_is_waypoint",  "example.registry.com/palette-images/edge/agent:v4",
                                        "10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4"),
        ("port_mapped_away_first",      "localhost:5000/app:v1", "10.10.100.45:30003/local.mirror.io/dev/app:v1"),
        ("already_under_prefix",        "10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4", "UNCHANGED (already redirected)"),
    ]);
}

#[test]
fn exclusions_match_normalised_references() {
    let s = settings(json!({
        "mappings": [
            {"source": "docker.io", "target": "harbor.local/dockerhub"},
            {"source": "registry.k8s.io", "target": "harbor.local/k8s"},
        ],
        "exclude": {"images": ["registry.k8s.io/pause:*", "docker.io/library/busybox*", "*@sha256:*"]},
    }));
    let pinned = format!("quay.io/x@{SHA256}");
    #[rustfmt::skip]
    check_table(&s, &[
        ("glob_with_tag",          "registry.k8s.io/pause:3.9", "UNCHANGED (excluded by registry.k8s.io/pause:*)"),
        ("glob_needs_the_tag",     "registry.k8s.io/pause",     "harbor.local/k8s/pause"),
        ("short_name_normalised",  "busybox:1.36",              "UNCHANGED (excluded by docker.io/library/busybox*)"),
        ("star_spans_segments",    &pinned,                     "UNCHANGED (excluded by *@sha256:*)"),
        ("others_redirected",      "nginx:1.27",                "harbor.local/dockerhub/library/nginx:1.27"),
    ]);
}

#[test]
fn the_destination_decides_the_pull_secret() {
    let s = settings(json!({
        "mappings": [{"source": "docker.io", "target": "harbor.local/dockerhub", "pullSecret": "harbor-creds"}],
        "prefix": {"target": "edge.local:30003/mirror", "pullSecret": "edge-creds"},
    }));
    let Decision::Redirect { via, destination, .. } = s.rules.decide("nginx") else { panic!("not redirected") };
    assert!(matches!(via, Via::MappingThenPrefix(m) if m.source.as_str() == "docker.io"));
    assert_eq!(destination.pull_secret.as_deref(), Some("edge-creds"));

    let s = settings(
        json!({"mappings": [{"source": "docker.io", "target": "harbor.local/dockerhub", "pullSecret": "harbor-creds"}]}),
    );
    let Decision::Redirect { via, destination, .. } = s.rules.decide("nginx") else { panic!("not redirected") };
    assert!(matches!(via, Via::Mapping(_)));
    assert_eq!(destination.pull_secret.as_deref(), Some("harbor-creds"));
}
