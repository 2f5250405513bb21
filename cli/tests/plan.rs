//! `seed`'s plan: manifests × settings → exactly the lines `--dry-run` prints,
//! one row per behaviour.

use image_redirect_cli::manifests;
use image_redirect_cli::plan::Plan;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

const MAPPING: &str = "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}]";
const PREFIX: &str = "prefix: {target: harbor.edge.local/mirror}";
const MAPPING_AND_PREFIX: &str =
    "{mappings: [{source: docker.io, target: hub.example.com/dockerhub}], prefix: {target: harbor.edge.local/mirror}}";

/// A Deployment with one container per image, in `namespace` (none when empty).
fn deployment(namespace: &str, images: &[&str]) -> String {
    let containers: Vec<String> =
        images.iter().enumerate().map(|(i, image)| format!("{{name: c{i}, image: \"{image}\"}}")).collect();
    let namespace = if namespace.is_empty() { String::new() } else { format!(", namespace: {namespace}") };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web{namespace}}}\nspec:\n  template:\n    spec:\n      containers: [{}]\n",
        containers.join(", ")
    )
}

fn plan(settings: &str, manifest: &str, namespace: &str) -> String {
    let settings = manifests::settings(settings).unwrap();
    let mut plan = Plan::default();
    plan.add_manifest(manifest, &settings, namespace).unwrap();
    plan.render()
}

#[test]
fn each_image_goes_where_the_policy_sends_it_or_says_why_not() {
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "a mapping moves a short name, tagged latest when it names no tag",
            MAPPING,
            deployment("", &["nginx:1.27", "busybox"]),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n\
             copy docker.io/library/busybox:latest -> harbor.edge.local/dockerhub/library/busybox:latest (mapping docker.io)\n",
        ),
        (
            "an image no rule moves is skipped",
            MAPPING,
            deployment("", &["quay.io/prometheus/node-exporter:v1"]),
            "skip quay.io/prometheus/node-exporter:v1: no rule applies\n",
        ),
        (
            "the prefix moves every registry",
            PREFIX,
            deployment("", &["quay.io/prometheus/node-exporter:v1", "nginx"]),
            "copy quay.io/prometheus/node-exporter:v1 -> harbor.edge.local/mirror/quay.io/prometheus/node-exporter:v1 (prefix)\n\
             copy docker.io/library/nginx:latest -> harbor.edge.local/mirror/docker.io/library/nginx:latest (prefix)\n",
        ),
        (
            "a mapping then the prefix",
            MAPPING_AND_PREFIX,
            deployment("", &["nginx:1.27"]),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/mirror/hub.example.com/dockerhub/library/nginx:1.27 (mapping docker.io, then prefix)\n",
        ),
        (
            "an image already under the prefix target is not copied",
            PREFIX,
            deployment("", &["harbor.edge.local/mirror/docker.io/library/nginx:1.27"]),
            "skip harbor.edge.local/mirror/docker.io/library/nginx:1.27: already under a target\n",
        ),
        (
            "an excluded image is not copied",
            "{mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}], exclude: {images: [\"docker.io/library/busybox*\"]}}",
            deployment("", &["busybox:1.36", "nginx:1.27"]),
            "skip docker.io/library/busybox:1.36: excluded by docker.io/library/busybox*\n\
             copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "an object in an excluded namespace is not copied",
            "{mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}], exclude: {namespaces: [kube-system]}}",
            deployment("kube-system", &["nginx:1.27"]),
            "skip docker.io/library/nginx:1.27: namespace kube-system is excluded\n",
        ),
        (
            "an image copied for one namespace is copied, excluded in another",
            "{mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}], exclude: {namespaces: [kube-system]}}",
            format!("{}---\n{}", deployment("kube-system", &["nginx:1.27"]), deployment("web", &["nginx:1.27"])),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "an image named twice is planned once",
            MAPPING,
            format!("{}---\n{}", deployment("", &["nginx:1.27", "docker.io/library/nginx:1.27"]), deployment("", &["nginx:1.27"])),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "a disabled policy copies nothing",
            "{enabled: false, mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}]}",
            deployment("", &["nginx:1.27"]),
            "skip docker.io/library/nginx:1.27: the policy is disabled (enabled: false)\n",
        ),
        (
            "verify: the destination counts as present",
            "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub, verify: true, onMissing: reject}]",
            deployment("", &["nginx:1.27"]),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "pinDigest: mirror copies the tag the pin is read from",
            "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub, pinDigest: mirror}]",
            deployment("", &["nginx:1.27"]),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "pinDigest: source copies the tag the pin is read from",
            "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub, pinDigest: source}]",
            deployment("", &["nginx:1.27"]),
            "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n",
        ),
        (
            "imagePullPolicy Never: the node has it already",
            MAPPING,
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx:1.27, imagePullPolicy: Never}]\n".to_owned(),
            "skip docker.io/library/nginx:1.27: imagePullPolicy is Never (it would go to harbor.edge.local/dockerhub/library/nginx:1.27)\n",
        ),
        (
            "a registry with a port cannot go under the prefix",
            PREFIX,
            deployment("", &["127.0.0.1:5000/app:1"]),
            "skip 127.0.0.1:5000/app:1: registry 127.0.0.1:5000 has a port, which cannot become a path segment under the prefix\n",
        ),
        (
            "a listed kind's images at its field paths",
            "{mappings: [{source: ghcr.io, target: harbor.edge.local/ghcr}], resources: [{apiGroup: postgresql.cnpg.io, kind: Cluster, images: [spec.imageName]}]}",
            "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg}\nspec: {imageName: \"ghcr.io/cloudnative-pg/postgresql:16.4\"}\n".to_owned(),
            "copy ghcr.io/cloudnative-pg/postgresql:16.4 -> harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 (mapping ghcr.io)\n",
        ),
        (
            "a kind: List contributes its items, other kinds nothing",
            MAPPING,
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: redis:7}]}}\n".to_owned(),
            "copy docker.io/library/redis:7 -> harbor.edge.local/dockerhub/library/redis:7 (mapping docker.io)\n",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, settings, manifest, expected) in cases {
        let got = plan(settings, &manifest, "default");
        if got != expected {
            wrong.push(format!("{name}:\n  expected:\n{expected}  got:\n{got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn objects_without_a_namespace_count_as_the_namespace_given() {
    let settings =
        "{mappings: [{source: docker.io, target: harbor.edge.local/dockerhub}], exclude: {namespaces: [kube-system]}}";
    let manifest = deployment("", &["nginx:1.27"]);
    assert_eq!(
        plan(settings, &manifest, "kube-system"),
        "skip docker.io/library/nginx:1.27: namespace kube-system is excluded\n"
    );
    assert_eq!(
        plan(settings, &deployment("web", &["nginx:1.27"]), "kube-system"),
        "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n"
    );
}

#[test]
fn a_list_of_references_is_planned_like_the_containers_of_a_pod() {
    let settings = manifests::settings(MAPPING).unwrap();
    let mut plan = Plan::default();
    plan.add_images(
        "# the chart's images\nnginx:1.27\n\n  quay.io/coreos/etcd:v3.5  \nnot a reference\n",
        &settings,
        "default",
    )
    .unwrap();
    assert_eq!(
        plan.render(),
        "copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n\
         skip quay.io/coreos/etcd:v3.5: no rule applies\n\
         skip not a reference: not a valid image reference: the repository path has an invalid character or separator\n"
    );
}

#[test]
fn the_json_plan_has_one_object_per_image() {
    let settings = manifests::settings(MAPPING).unwrap();
    let mut plan = Plan::default();
    plan.add_images("nginx:1.27\nquay.io/coreos/etcd:v3.5\n", &settings, "default").unwrap();
    assert_eq!(
        plan.render_json(),
        "{\"destination\":\"harbor.edge.local/dockerhub/library/nginx:1.27\",\"rule\":\"mapping docker.io\",\"source\":\"docker.io/library/nginx:1.27\"}\n\
         {\"skipped\":\"no rule applies\",\"source\":\"quay.io/coreos/etcd:v3.5\"}\n"
    );
}

#[test]
fn a_digest_is_kept_and_a_tag_beside_it_too() {
    let pinned = "mappings: [{source: docker.io, target: harbor.edge.local/dockerhub, pinDigest: source}]";
    for (image, source, destination) in [
        (
            format!("nginx@{DIGEST}"),
            format!("docker.io/library/nginx@{DIGEST}"),
            format!("harbor.edge.local/dockerhub/library/nginx@{DIGEST}"),
        ),
        (
            format!("nginx:1.27@{DIGEST}"),
            format!("docker.io/library/nginx:1.27@{DIGEST}"),
            format!("harbor.edge.local/dockerhub/library/nginx:1.27@{DIGEST}"),
        ),
    ] {
        let expected = format!("copy {source} -> {destination} (mapping docker.io)\n");
        assert_eq!(plan(MAPPING, &deployment("", &[&image]), "default"), expected, "{image}");
        assert_eq!(plan(pinned, &deployment("", &[&image]), "default"), expected, "{image}, pinned");
    }
}
