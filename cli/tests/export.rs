//! `image-redirect export`: golden files per settings mode and format, the
//! OpenShift objects against their CRDs' schemas, and agreement between the
//! policy and each node (K3s, Talos, OpenShift) carrying out the exported rules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use image_redirect_cli::export::{self, Format, Loss};
use image_redirect_cli::manifests;
use image_redirect_policy::reference::{self, Reference};
use image_redirect_policy::rules::{Decision, Keep};
use image_redirect_policy::settings::Settings;
use serde::Deserialize;
use serde_json::Value;

#[path = "common/golden.rs"]
mod golden;
use golden::Golden;

/// Registries named for prefix modes: every registry the e2e fixtures pull from.
const REGISTRIES: [&str; 6] = ["docker.io", "quay.io", "registry.k8s.io", "ghcr.io", "gcr.io", "us-docker.pkg.dev"];

/// `--talos-version` as the request takes it.
type TalosVersion = Option<(u16, u16)>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Palette modes (e2e fixtures) and this crate's own settings.
fn settings_files() -> Vec<(String, PathBuf)> {
    let palette = ["mapping", "prefix-all", "mapping-and-prefix", "harbor-layout", "disabled"]
        .map(|name| (name.to_owned(), root().join(format!("e2e/fixtures/settings/{name}.json"))));
    let own = ["registry-wide", "target-mirrored", "mirror-checks"]
        .map(|name| (name.to_owned(), root().join(format!("cli/tests/settings/{name}.yaml"))));
    palette.into_iter().chain(own).collect()
}

fn load(path: &Path) -> Settings {
    manifests::settings(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn registries() -> Vec<String> {
    REGISTRIES.map(str::to_owned).to_vec()
}

fn run(settings: &Settings, format: Format) -> export::Export {
    let registries = registries();
    export::export(settings, &export::Request { format, registries: &registries, ..Default::default() }).unwrap()
}

/// What an option of the export sets in the request.
type Set = fn(&mut export::Request);

/// An option of the export, shown on the settings mode where it changes most.
struct Variant {
    settings: &'static str,
    /// The golden file's middle name.
    name: &'static str,
    format: Format,
    set: Set,
}

#[rustfmt::skip]
const VARIANTS: [Variant; 12] = [
    Variant { settings: "mirror-checks", name: "registries-conf-no-fallback", format: Format::RegistriesConf, set: |r| r.no_fallback = true },
    Variant { settings: "mapping", name: "containerd-1", format: Format::Containerd, set: |r| r.containerd_version = Some(1) },
    Variant { settings: "harbor-layout", name: "containerd-2", format: Format::Containerd, set: |r| r.containerd_version = Some(2) },
    Variant { settings: "mapping", name: "k3s-embedded-registry", format: Format::K3s, set: |r| r.embedded_registry = true },
    Variant { settings: "prefix-all", name: "kairos-rke2", format: Format::Kairos, set: |r| r.kairos.runtime = Format::Rke2 },
    Variant { settings: "mapping", name: "kairos-containerd", format: Format::Kairos, set: |r| r.kairos.runtime = Format::Containerd },
    Variant { settings: "harbor-layout", name: "kairos-containerd-2", format: Format::Kairos, set: |r| { r.kairos.runtime = Format::Containerd; r.containerd_version = Some(2) } },
    Variant { settings: "registry-wide", name: "kairos-reconcile", format: Format::Kairos, set: |r| r.kairos.stage = "reconcile" },
    Variant { settings: "registry-wide", name: "talos-no-fallback", format: Format::Talos, set: |r| r.no_fallback = true },
    Variant { settings: "registry-wide", name: "talos-1.12-no-fallback", format: Format::Talos, set: |r| { r.talos_version = Some((1, 12)); r.no_fallback = true } },
    Variant { settings: "mirror-checks", name: "openshift-no-fallback", format: Format::OpenShift, set: |r| r.no_fallback = true },
    Variant { settings: "registry-wide", name: "openshift-http", format: Format::OpenShift, set: |r| r.scheme = "http" },
];

#[test]
fn exports_match_their_golden_files() {
    let registries = registries();
    let mut cases = Vec::new();
    for (name, path) in settings_files() {
        for format in Format::ALL {
            let request = export::Request { format, registries: &registries, ..Default::default() };
            cases.push((format!("{name}.{}", format.name()), path.clone(), request.clone()));
            let digest_only = export::Request { digest_only: true, ..request };
            cases.push((format!("{name}.{}-digest-only", format.name()), path.clone(), digest_only));
        }
        // Talos 1.12's documents are a second layout of every mode.
        let request = export::Request {
            format: Format::Talos,
            registries: &registries,
            talos_version: Some((1, 12)),
            ..Default::default()
        };
        cases.push((format!("{name}.talos-1.12"), path.clone(), request));
    }
    for variant in VARIANTS {
        let path = settings_files().into_iter().find(|(n, _)| n == variant.settings).unwrap().1;
        let mut request = export::Request { format: variant.format, registries: &registries, ..Default::default() };
        (variant.set)(&mut request);
        cases.push((format!("{}.{}", variant.settings, variant.name), path, request));
    }
    let mut golden = Golden::default();
    for (name, path, request) in cases {
        let export = export::export(&load(&path), &request).unwrap();
        let text: String = export.files.iter().map(|f| format!("==> {} <==\n{}", f.path, f.text)).collect();
        golden.check(&root().join(format!("cli/tests/golden/{name}.txt")), &text);
    }
    golden.assert_fresh();
}

/// `--no-fallback` and `--digest-only`: kept where the format can say them, else one loss each.
#[test]
fn an_option_is_a_loss_where_the_format_cannot_say_it() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    let no_fallback: Set = |r| r.no_fallback = true;
    let digest_only: Set = |r| r.digest_only = true;
    #[rustfmt::skip]
    let cases: [(&str, Set, Format, &[Loss]); 14] = [
        ("--no-fallback", no_fallback, Format::K3s, &[Loss::Fallback { format: "k3s" }]),
        ("--no-fallback", no_fallback, Format::Rke2, &[Loss::Fallback { format: "rke2" }]),
        ("--no-fallback", no_fallback, Format::Containerd, &[Loss::Fallback { format: "containerd" }]),
        ("--no-fallback", no_fallback, Format::RegistriesConf, &[]),
        ("--no-fallback", no_fallback, Format::Talos, &[]),
        ("--no-fallback", no_fallback, Format::OpenShift, &[]),
        ("--digest-only", digest_only, Format::K3s, &[Loss::DigestOnly { format: "k3s" }]),
        ("--digest-only", digest_only, Format::Rke2, &[Loss::DigestOnly { format: "rke2" }]),
        ("--digest-only", digest_only, Format::Containerd, &[]),
        ("--digest-only", digest_only, Format::RegistriesConf, &[]),
        // Kairos writes K3s's files by default, and says what K3s cannot.
        ("--no-fallback", no_fallback, Format::Kairos, &[Loss::Fallback { format: "k3s" }]),
        ("--digest-only", digest_only, Format::Kairos, &[Loss::DigestOnly { format: "k3s" }]),
        // Talos writes every mirror host with `capabilities = ["pull", "resolve"]`.
        ("--digest-only", digest_only, Format::Talos, &[Loss::DigestOnly { format: "talos" }]),
        // OpenShift: the digest mirror set only.
        ("--digest-only", digest_only, Format::OpenShift, &[]),
    ];
    for (option, set, format, expected) in cases {
        let mut request = export::Request { format, ..Default::default() };
        set(&mut request);
        assert_eq!(export::export(&settings, &request).unwrap().lost, expected, "{option} {}", format.name());
    }
    assert_eq!(
        Loss::DigestOnly { format: "k3s" }.to_string(),
        "--digest-only: k3s cannot keep a mirror from resolving tags; at the node the mirror is asked for tags as \
         well as digests"
    );
}

/// The mirror serves digests only and the source stays the registry's
/// location: what the mirror cannot serve goes there, even under `reject`.
#[test]
fn digest_only_sends_what_a_rejecting_mirror_lacks_to_the_original() {
    let settings = load(&root().join("cli/tests/settings/mirror-checks.yaml"));
    let registries = registries();
    let request = export::Request {
        format: Format::RegistriesConf,
        registries: &registries,
        digest_only: true,
        ..Default::default()
    };
    let lost: Vec<String> = export::export(&settings, &request).unwrap().lost.iter().map(ToString::to_string).collect();
    assert_eq!(
        lost,
        [
            "mapping ghcr.io pinDigest: a runtime pulls the tag it is given; at the node the digest is not pinned",
            "mapping quay.io onMissing: reject: a runtime does not refuse the pod; at the node a pull the mirror cannot serve goes to the original registry",
        ]
    );
}

#[test]
fn digest_only_with_no_fallback_is_refused_in_every_format() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    for format in Format::ALL {
        let request = export::Request { format, digest_only: true, no_fallback: true, ..Default::default() };
        assert_eq!(
            export::export(&settings, &request).unwrap_err(),
            "--digest-only with --no-fallback: the mirrors would serve digests only and the original registries \
             nothing, so every pull by tag of a mirrored registry would fail; pass one of them",
            "{}",
            format.name()
        );
    }
}

#[test]
fn no_fallback_is_said_in_each_format_that_can_say_it() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    #[rustfmt::skip]
    let cases: [(Format, TalosVersion, &str); 3] = [
        (Format::Talos, None, "  skipFallback: true"),
        (Format::Talos, Some((1, 12)), "skipFallback: true"),
        (Format::OpenShift, None, "  mirrorSourcePolicy: NeverContactSource"),
    ];
    for (format, talos_version, line) in cases {
        let text = |no_fallback| {
            let request = export::Request { format, no_fallback, talos_version, ..Default::default() };
            export::export(&settings, &request).unwrap().files[0].text.clone()
        };
        let said = |text: &str| text.lines().filter(|l| l.trim_start() == line.trim_start()).count();
        // One per source (docker.io, quay.io, registry.k8s.io); OpenShift's twice, in both sets.
        let expected = if format == Format::OpenShift { 6 } else { 3 };
        assert_eq!((said(&text(false)), said(&text(true))), (0, expected), "{} {talos_version:?}", format.name());
    }
}

#[test]
fn the_talos_version_picks_the_layout() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    #[rustfmt::skip]
    let cases: [(TalosVersion, &str); 5] = [
        (None,          "machine:"),
        (Some((1, 9)),  "machine:"),
        (Some((1, 11)), "machine:"),
        (Some((1, 12)), "apiVersion: v1alpha1"),
        (Some((2, 0)),  "apiVersion: v1alpha1"),
    ];
    for (talos_version, first) in cases {
        let request = export::Request { format: Format::Talos, talos_version, ..Default::default() };
        let text = &export::export(&settings, &request).unwrap().files[0].text;
        assert_eq!(text.lines().find(|line| !line.starts_with('#')), Some(first), "{talos_version:?}");
    }
}

#[test]
fn talos_versions_are_major_dot_minor() {
    #[rustfmt::skip]
    let cases: [(&str, Option<(u16, u16)>); 6] = [
        ("1.12",   Some((1, 12))),
        ("1.12.3", Some((1, 12))),
        ("1.9",    Some((1, 9))),
        ("v1.12",  None),
        ("1",      None),
        ("",       None),
    ];
    for (text, expected) in cases {
        assert_eq!(export::parse_talos_version(text).ok(), expected, "{text:?}");
    }
}

#[test]
fn plain_http_mirrors_are_a_loss_for_openshift_only() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    let lost = |format| {
        let request = export::Request { format, scheme: "http", ..Default::default() };
        export::export(&settings, &request).unwrap().lost
    };
    let hosts = vec!["harbor.edge.local".to_owned(), "mirror.edge.local:5000".to_owned()];
    assert_eq!(lost(Format::OpenShift), [Loss::PlainHttp { hosts }]);
    for format in [Format::K3s, Format::Containerd, Format::RegistriesConf, Format::Talos] {
        assert_eq!(lost(format), [], "{}", format.name());
    }
}

#[test]
fn the_embedded_registry_shares_every_registry_when_none_is_named() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    let request = export::Request { format: Format::K3s, embedded_registry: true, ..Default::default() };
    let text = &export::export(&settings, &request).unwrap().files[0].text;
    let config: Value = serde_norway::from_str(text).unwrap();
    assert_eq!(config["mirrors"]["*"], serde_json::json!({}));
}

const SCOPED: &str = "mapping somedomain.com/somepath -> targetdomain.com/other/path: a runtime mirrors whole registries, not paths; at the node these images follow the rule for their registry, if any";
const SECRET: &str = "mapping docker.io pullSecret harbor-creds: a node does not read Kubernetes Secrets; give it the credentials for harbor.edge.local/dockerhub in its registry configuration";
const NAMESPACES: &str =
    "exclude.namespaces kube-system: a runtime does not know namespaces; at the node their pods are redirected";
const MIRRORED: &str = "docker.io: its mirror quay.io/dockerhub is itself mirrored; the policy leaves images already there alone, the runtime would redirect them again";
const EXCLUDED: &str =
    "exclude.images docker.io/library/busybox:*: a runtime cannot exclude images; at the node they are redirected";
const NOT_CHECKED: &str = "verify/pinDigest: a runtime does not check the mirror before choosing it (it falls back to the next endpoint on failure)";

#[test]
fn what_a_runtime_cannot_do_is_reported_line_by_line() {
    let lost = |name: &str, format: Format| {
        let path = settings_files().into_iter().find(|(n, _)| n == name).unwrap().1;
        run(&load(&path), format).lost.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let scope = Loss::PrefixScope { named: registries() }.to_string();
    let checks = ["docker.io", "ghcr.io", "quay.io"].map(|source| format!("mapping {source} {NOT_CHECKED}"));
    #[rustfmt::skip]
    let cases: [(&str, Format, &[&str]); 16] = [
        ("registry-wide", Format::K3s, &[]),
        ("registry-wide", Format::RegistriesConf, &[]),
        ("prefix-all", Format::K3s, &[&scope]),
        ("prefix-all", Format::RegistriesConf, &[&scope]),
        ("mapping", Format::K3s, &[SCOPED, SECRET, NAMESPACES]),
        // registries.conf matches paths: the scoped mapping carries over.
        ("mapping", Format::RegistriesConf, &[SECRET, NAMESPACES]),
        // Talos scopes by registry; OpenShift mirror sets by path prefix.
        ("mapping", Format::Talos, &[SCOPED, SECRET, NAMESPACES]),
        ("mapping", Format::OpenShift, &[SECRET, NAMESPACES]),
        ("prefix-all", Format::Talos, &[&scope]),
        ("target-mirrored", Format::OpenShift, &[MIRRORED, EXCLUDED]),
        // Talos runs containerd: it picks the mirror unchecked.
        ("mirror-checks", Format::Talos, &[&checks[0], &checks[1], &checks[2]]),
        ("target-mirrored", Format::Containerd, &[MIRRORED, EXCLUDED]),
        ("target-mirrored", Format::RegistriesConf, &[MIRRORED, EXCLUDED]),
        ("mirror-checks", Format::Containerd, &[&checks[0], &checks[1], &checks[2]]),
        // verify + onMissing: keep becomes a registries.conf mirror, tried before the original.
        ("mirror-checks", Format::RegistriesConf, &[
            "mapping ghcr.io pinDigest: a runtime pulls the tag it is given; at the node the digest is not pinned",
            "mapping quay.io onMissing: reject: a runtime does not refuse the pod; at the node a pull the mirror cannot serve fails",
        ]),
        // An OpenShift mirror is tried before the source, as a registries.conf mirror is.
        ("mirror-checks", Format::OpenShift, &[
            "mapping ghcr.io pinDigest: a runtime pulls the tag it is given; at the node the digest is not pinned",
            "mapping quay.io onMissing: reject: a runtime does not refuse the pod; at the node a pull the mirror cannot serve fails",
        ]),
    ];
    for (name, format, expected) in cases {
        assert_eq!(lost(name, format), expected, "{name} as {}", format.name());
    }
}

#[test]
fn registries_conf_marks_plain_http_mirrors_insecure_and_checked_ones_as_mirrors() {
    let settings = manifests::settings(
        "mappings:
  - {source: docker.io, target: harbor.edge.local/dockerhub, verify: true}
  - {source: quay.io, target: harbor.edge.local/quay}",
    )
    .unwrap();
    let request = export::Request { format: Format::RegistriesConf, scheme: "http", ..Default::default() };
    let export = export::export(&settings, &request).unwrap();
    let text = &export.files[0].text;
    let body: String = text.lines().filter(|line| !line.starts_with('#')).map(|line| format!("{line}\n")).collect();
    assert_eq!(
        body,
        r#"[[registry]]
prefix = "docker.io"
location = "docker.io"
mirror-by-digest-only = false

[[registry.mirror]]
location = "harbor.edge.local/dockerhub"
insecure = true

[[registry]]
prefix = "quay.io"
location = "harbor.edge.local/quay"
insecure = true
"#
    );
}

#[test]
fn every_format_name_parses_back() {
    for format in Format::ALL {
        assert_eq!(Format::parse(format.name()), Some(format));
    }
    assert_eq!(Format::parse("registries.conf"), None);
}

#[test]
fn registries_no_rule_redirects_are_noted_not_lost() {
    let export = run(&load(&root().join("cli/tests/settings/registry-wide.yaml")), Format::K3s);
    assert_eq!(
        export.notes,
        [
            "--registry gcr.io: no rule redirects it; nothing exported for it",
            "--registry ghcr.io: no rule redirects it; nothing exported for it",
            "--registry us-docker.pkg.dev: no rule redirects it; nothing exported for it",
        ]
    );
}

#[test]
fn a_prefix_without_named_registries_is_reported() {
    let settings = load(&root().join("e2e/fixtures/settings/prefix-all.json"));
    let request = export::Request { format: Format::K3s, ..Default::default() };
    let export = export::export(&settings, &request).unwrap();
    assert_eq!(export.lost, [Loss::PrefixUnnamed]);
}

#[test]
fn a_registry_with_a_path_is_refused() {
    let settings = load(&root().join("e2e/fixtures/settings/prefix-all.json"));
    let registries = ["docker.io/library".to_owned()];
    let request = export::Request { format: Format::K3s, registries: &registries, ..Default::default() };
    assert_eq!(
        export::export(&settings, &request).unwrap_err(),
        "--registry \"docker.io/library\": a registry, without a path"
    );
}

/// Where K3s pulls `image` from under the generated `registries.yaml`: the
/// registry's first endpoint, the repository through the first rewrite that
/// matches. Written from K3s's documented behaviour, not from the policy.
fn k3s_pull(config: &Value, image: &str) -> String {
    let (registry, repository, suffix) = split(image);
    let Some(mirror) = config["mirrors"].get(registry) else {
        return format!("{registry}/{repository}{suffix}");
    };
    let endpoint = mirror["endpoint"][0].as_str().unwrap();
    let host = endpoint.split_once("://").unwrap().1;
    let rewritten = mirror["rewrite"].as_object().and_then(|rules| {
        rules.iter().find_map(|(pattern, replacement)| {
            let regex = regex::Regex::new(pattern).unwrap();
            regex.is_match(&repository).then(|| regex.replace(&repository, replacement.as_str().unwrap()).into_owned())
        })
    });
    format!("{host}/{}{suffix}", rewritten.unwrap_or(repository))
}

/// Registry, repository and `:tag`/`@digest`, by Docker's normalisation.
fn split(image: &str) -> (&str, String, &str) {
    let (name, suffix) = split_suffix(image);
    let first = name.split('/').next().unwrap_or_default();
    let (registry, repository) = match name.split_once('/') {
        Some((first_segment, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first_segment, rest.to_owned())
        }
        _ => ("docker.io", name.to_owned()),
    };
    let registry = if registry == "index.docker.io" { "docker.io" } else { registry };
    let repository =
        if registry == "docker.io" && !repository.contains('/') { format!("library/{repository}") } else { repository };
    (registry, repository, suffix)
}

/// `name` and what follows it (`:tag`, `@digest`, or both).
fn split_suffix(image: &str) -> (&str, &str) {
    let digest = image.find('@').unwrap_or(image.len());
    let last_segment = image[..digest].rfind('/').map_or(0, |slash| slash + 1);
    let end = image[last_segment..digest].find(':').map_or(digest, |colon| last_segment + colon);
    image.split_at(end)
}

/// Every image string in the e2e request fixtures.
fn fixture_images() -> BTreeSet<String> {
    fn walk(value: &Value, images: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(key, v)| match (key.as_str(), v) {
                ("image", Value::String(image)) => {
                    images.insert(image.clone());
                }
                _ => walk(v, images),
            }),
            Value::Array(items) => items.iter().for_each(|v| walk(v, images)),
            _ => {}
        }
    }
    let mut images = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("e2e/fixtures/requests")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            walk(&value, &mut images);
        }
    }
    images
}

/// Where Talos pulls `image` from under the generated patch or documents:
/// the mirror of the image's registry (`*` for any other), its first
/// endpoint, whose path is the registry API root with `overridePath` and
/// otherwise gets `/v2` appended. Written from Talos's documented fields.
fn talos_pull(documents: &[Value], image: &str) -> String {
    let (registry, repository, suffix) = split(image);
    let endpoint = |name: &str| {
        documents.iter().find_map(|document| match document["kind"].as_str() {
            Some("RegistryMirrorConfig") => {
                let endpoint = &document["endpoints"][0];
                (document["name"] == name)
                    .then(|| (endpoint["url"].as_str().unwrap(), endpoint["overridePath"] == true))
            }
            _ => {
                let mirror = document["machine"]["registries"]["mirrors"].get(name)?;
                Some((mirror["endpoints"][0].as_str().unwrap(), mirror["overridePath"] == true))
            }
        })
    };
    let Some((url, override_path)) = endpoint(registry).or_else(|| endpoint("*")) else {
        return format!("{registry}/{repository}{suffix}");
    };
    let address = url.split_once("://").unwrap().1;
    let (host, path) = address.find('/').map_or((address, ""), |slash| address.split_at(slash));
    let root = if override_path { path.trim_end_matches('/').to_owned() } else { format!("{path}/v2") };
    // `/v2/<namespace>` at a host is that host's repository namespace; any
    // other root is no place an image reference can name.
    let namespace = root.strip_prefix("/v2").unwrap_or_else(|| panic!("{url}: API root {root} is not under /v2"));
    format!("{host}{namespace}/{repository}{suffix}")
}

/// Where an OpenShift node pulls `image` from under the generated mirror
/// sets: references by digest through the digest sets, by tag (or none)
/// through the tag sets; of the sources the name is under (at a segment
/// boundary), the longest; the first mirror replaces the matched part.
/// Written from the CRDs' documentation (this export writes no `*.host` source).
fn openshift_pull(documents: &[Value], image: &str) -> String {
    let (registry, repository, suffix) = split(image);
    let name = format!("{registry}/{repository}");
    let (kind, list) = match suffix.contains('@') {
        true => ("ImageDigestMirrorSet", "imageDigestMirrors"),
        false => ("ImageTagMirrorSet", "imageTagMirrors"),
    };
    let entries = documents.iter().filter(|d| d["kind"] == kind).flat_map(|d| d["spec"][list].as_array().unwrap());
    let matched = entries
        .filter_map(|entry| {
            let source = entry["source"].as_str().unwrap();
            let rest = name.strip_prefix(source).filter(|rest| rest.is_empty() || rest.starts_with('/'))?;
            Some((source.len(), entry["mirrors"][0].as_str().unwrap(), rest))
        })
        .max_by_key(|(length, ..)| *length);
    match matched {
        Some((_, mirror, rest)) => format!("{mirror}{rest}{suffix}"),
        None => format!("{name}{suffix}"),
    }
}

/// Whether a reported loss says why the node may pull `image` from elsewhere
/// than the policy writes (`excluded`: the policy keeps it by an exclusion).
fn explains(lost: &[Loss], image: &str, excluded: bool) -> bool {
    let reference = Reference::parse(image).unwrap();
    lost.iter().any(|loss| match loss {
        Loss::PathScoped { source, .. } => reference::is_under(reference.name(), source),
        Loss::PrefixUnnamed => true,
        Loss::PrefixScope { named } => !named.iter().any(|registry| registry == reference.registry()),
        Loss::MirrorMirrored { route, .. } => reference::is_under(reference.name(), route),
        Loss::ExcludedImages { .. } => excluded,
        _ => false,
    })
}

/// Every YAML document of a file (none for comments only).
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|document| !document.is_null())
        .collect()
}

/// References the fixtures lack: by digest, by tag and digest, under a
/// path-scoped source and beside it, already under a target.
const MORE_IMAGES: [&str; 9] = [
    "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "quay.io/prometheus/node-exporter:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "somedomain.com/somepath/app:1",
    "somedomain.com/somepathx/app:1",
    "us-docker.pkg.dev/palette-images/edge/agent:4.5",
    "us-docker.pkg.dev/other/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "quay.io/dockerhub/library/nginx:1.27",
    "docker.io/library/busybox:1.36",
    "registry.k8s.io/pause",
];

/// A node's format and an interpreter of what the export writes for it.
struct Node {
    name: &'static str,
    format: Format,
    talos_version: TalosVersion,
    /// `--digest-only`: a reference by tag is meant to stay at its source.
    digest_only: bool,
    pull: fn(&[Value], &str) -> String,
}

#[rustfmt::skip]
const NODES: [Node; 5] = [
    Node { name: "k3s", format: Format::K3s, talos_version: None, digest_only: false, pull: |documents, image| k3s_pull(&documents[0], image) },
    Node { name: "talos", format: Format::Talos, talos_version: None, digest_only: false, pull: talos_pull },
    Node { name: "talos 1.12", format: Format::Talos, talos_version: Some((1, 12)), digest_only: false, pull: talos_pull },
    Node { name: "openshift", format: Format::OpenShift, talos_version: None, digest_only: false, pull: openshift_pull },
    Node { name: "openshift --digest-only", format: Format::OpenShift, talos_version: None, digest_only: true, pull: openshift_pull },
];

/// How often a node agreed with the policy on `images` under `settings`,
/// and how often a reported loss explained the difference; panics on a
/// difference no loss explains.
fn agreement(node: &Node, name: &str, settings: &Settings, images: &[String]) -> (usize, usize) {
    let registries = registries();
    let request = export::Request {
        format: node.format,
        registries: &registries,
        talos_version: node.talos_version,
        digest_only: node.digest_only,
        ..Default::default()
    };
    let export = export::export(settings, &request).unwrap();
    let documents = documents(&export.files[0].text);
    let (mut agreed, mut explained) = (0, 0);
    for image in images {
        let (written, excluded) = match settings.rules.decide(image) {
            _ if node.digest_only && !image.contains('@') => (image.clone(), false),
            Decision::Redirect { image, .. } => (image, false),
            Decision::Keep(keep) => (image.clone(), matches!(keep, Keep::Excluded(_))),
        };
        let (policy, pulled) = (k3s_pull(&Value::Null, &written), (node.pull)(&documents, image));
        if policy == pulled {
            agreed += 1;
        } else {
            assert!(
                explains(&export.lost, image, excluded),
                "{} {name}: {image}: the policy writes {policy}, the node pulls {pulled}, and no reported loss \
                 says why: {:#?}",
                node.name,
                export.lost
            );
            explained += 1;
        }
    }
    (agreed, explained)
}

#[test]
fn each_node_pulls_what_the_policy_writes_or_a_reported_loss_says_why_not() {
    let mut images: Vec<String> =
        fixture_images().into_iter().filter(|image| Reference::parse(image).is_ok()).collect();
    assert!(images.len() >= 12, "fixtures hold {} images", images.len());
    images.extend(MORE_IMAGES.map(str::to_owned));
    for node in &NODES {
        let (mut agreed, mut explained) = (0, 0);
        for (name, path) in settings_files() {
            let (a, e) = agreement(node, &name, &load(&path), &images);
            (agreed, explained) = (agreed + a, explained + e);
        }
        // Every settings mode but the prefix ones agrees on most images.
        assert!(agreed >= 4 * images.len(), "{}: {agreed} agreed, {explained} explained", node.name);
    }
}

/// Where generated settings send images from and to, and where images live:
/// sources overlap (a registry and a path in it), a target sits under a
/// source, and registries have ports.
const PLACES: [&str; 9] = [
    "docker.io",
    "quay.io",
    "quay.io/team",
    "registry.k8s.io",
    "ghcr.io/team/app",
    "somedomain.com/somepath",
    "harbor.edge.local/hub",
    "quay.io/dockerhub",
    "10.0.0.1:30003/spectro",
];

/// Settings text: up to three mappings, an optional prefix, an optional
/// exclusion, each mapping maybe checked.
fn generated_settings() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    use proptest::sample::select;
    let mapping = (select(&PLACES[..]), select(&PLACES[..]), any::<bool>()).prop_map(|(source, target, verify)| {
        format!("{{source: \"{source}\", target: \"{target}/m\", verify: {verify}}}")
    });
    let prefix =
        proptest::option::of(select(&PLACES[..]).prop_map(|target| format!("prefix: {{target: \"{target}/p\"}}")));
    let exclude =
        proptest::option::of(select(&PLACES[..]).prop_map(|place| format!("exclude: {{images: [\"{place}/*\"]}}")));
    (proptest::collection::vec(mapping, 0..=3), prefix, exclude).prop_map(|(mappings, prefix, exclude)| {
        let mut text = format!("mappings: [{}]\n", mappings.join(", "));
        text.extend(prefix.into_iter().chain(exclude).map(|line| line + "\n"));
        text
    })
}

/// Image references under the places, as Pods write them: by tag, digest,
/// both, or neither, and Docker Hub short names.
fn generated_images() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
    use proptest::prelude::*;
    use proptest::sample::select;
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let suffix = select(vec![":1".to_owned(), format!("@{DIGEST}"), format!(":1@{DIGEST}"), String::new()]);
    let place = select(PLACES.iter().map(|place| format!("{place}/")).chain(["".to_owned()]).collect::<Vec<_>>());
    let image = (place, select(&["nginx", "library/nginx", "team/app", "somepath/app"][..]), suffix)
        .prop_map(|(place, repository, suffix)| format!("{place}{repository}{suffix}"));
    proptest::collection::vec(image, 1..12)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn under_generated_settings_each_node_pulls_what_the_policy_writes_or_a_loss_says_why(
        text in generated_settings(),
        images in generated_images(),
    ) {
        // About a fifth are refused (no mapping nor prefix, a source twice): nothing to export.
        let Ok(settings) = manifests::settings(&text) else { return Ok(()) };
        let images: Vec<String> = images.into_iter().filter(|image| Reference::parse(image).is_ok()).collect();
        for node in &NODES {
            agreement(node, &text, &settings, &images);
        }
    }
}

/// The CRD manifests of tests/crds/ by the kind they define: its
/// `apiVersion` and a validator of its `openAPIV3Schema`, where every object
/// takes only the fields it names (the API server prunes unknown fields
/// without a word, so a misspelt one would vanish, not fail).
fn mirror_set_schemas() -> Vec<(String, String, jsonschema::Validator)> {
    fn closed(schema: &mut Value) {
        if let Some(object) = schema.as_object_mut() {
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            object.values_mut().for_each(closed);
        }
    }
    let mut schemas = Vec::new();
    for entry in std::fs::read_dir(root().join("cli/tests/crds")).unwrap() {
        let crd: Value = serde_norway::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let version = &crd["spec"]["versions"][0];
        let mut schema = version["schema"]["openAPIV3Schema"].clone();
        closed(&mut schema);
        // metadata is the API server's to check; the CRD leaves it open.
        schema["properties"]["metadata"] = serde_json::json!({"type": "object"});
        let api_version = format!("{}/{}", crd["spec"]["group"].as_str().unwrap(), version["name"].as_str().unwrap());
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        schemas.push((api_version, kind, jsonschema::validator_for(&schema).unwrap()));
    }
    schemas.sort_by(|a, b| a.1.cmp(&b.1));
    schemas
}

/// The errors of `object` by the schema of its kind.
fn schema_errors(schemas: &[(String, String, jsonschema::Validator)], object: &Value) -> Vec<String> {
    let (api_version, _, validator) = schemas.iter().find(|(_, kind, _)| object["kind"] == kind.as_str()).unwrap();
    let mut errors: Vec<String> =
        validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect();
    if object["apiVersion"] != api_version.as_str() {
        errors.push(format!("apiVersion {} is not {api_version}", object["apiVersion"]));
    }
    errors
}

#[test]
fn openshift_mirror_sets_are_valid_by_their_crds() {
    let schemas = mirror_set_schemas();
    let kinds: Vec<&str> = schemas.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["ImageDigestMirrorSet", "ImageTagMirrorSet"]);
    let registries = registries();
    let mut checked = 0;
    for (name, path) in settings_files() {
        // `--digest-only` writes the digest set alone.
        for (no_fallback, scheme, digest_only, sets) in
            [(false, "https", false, 2), (true, "http", false, 2), (false, "https", true, 1)]
        {
            let request = export::Request {
                format: Format::OpenShift,
                registries: &registries,
                no_fallback,
                scheme,
                digest_only,
                ..Default::default()
            };
            let export = export::export(&load(&path), &request).unwrap();
            let objects = documents(&export.files[0].text);
            assert_eq!(objects.len(), sets, "{name}");
            for object in objects {
                assert_eq!(schema_errors(&schemas, &object), Vec::<String>::new(), "{name}: {object:#}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * settings_files().len());
}

#[test]
fn the_mirror_set_schemas_refuse_what_openshift_refuses() {
    let schemas = mirror_set_schemas();
    let set = |entry: Value| {
        serde_json::json!({"apiVersion": "config.openshift.io/v1", "kind": "ImageTagMirrorSet",
            "metadata": {"name": "image-redirect"}, "spec": {"imageTagMirrors": [entry]}})
    };
    #[rustfmt::skip]
    let cases: [(&str, Value, &str); 5] = [
        ("valid", set(serde_json::json!({"source": "docker.io", "mirrors": ["harbor.local/dh"]})), ""),
        ("no source", set(serde_json::json!({"mirrors": ["harbor.local/dh"]})), "\"source\" is a required property"),
        ("unknown policy", set(serde_json::json!({"source": "docker.io", "mirrors": ["h.local"], "mirrorSourcePolicy": "Never"})), "is not one of"),
        ("a scheme in a mirror", set(serde_json::json!({"source": "docker.io", "mirrors": ["https://h.local"]})), "does not match"),
        ("a misspelt field", set(serde_json::json!({"source": "docker.io", "mirror": ["h.local"]})), "Additional properties are not allowed"),
    ];
    for (name, object, expected) in cases {
        let errors = schema_errors(&schemas, &object).join("\n");
        match expected {
            "" => assert_eq!(errors, "", "{name}"),
            _ => assert!(errors.contains(expected), "{name}: {errors}"),
        }
    }
}

/// The `files[]` of the Kairos document's only stage: path, content, permissions.
fn kairos_files(text: &str, stage: &str) -> Vec<(String, String, u64)> {
    assert!(text.starts_with("#cloud-config\n"), "cloud-config is recognised by its first line: {text}");
    let document: Value = serde_norway::from_str(text).unwrap();
    let stages = document["stages"].as_object().unwrap();
    assert_eq!(stages.keys().collect::<Vec<_>>(), [stage]);
    let files = document["stages"][stage][0]["files"].as_array().unwrap();
    let entry = |file: &Value| {
        let text = |key: &str| file[key].as_str().unwrap().to_owned();
        (text("path"), text("content"), file["permissions"].as_u64().unwrap())
    };
    files.iter().map(entry).collect()
}

#[test]
fn kairos_writes_the_runtimes_files_unchanged_where_the_runtime_reads_them() {
    let registries = registries();
    #[rustfmt::skip]
    let runtimes = [
        (Format::K3s, "/etc/rancher/k3s/"),
        (Format::Rke2, "/etc/rancher/rke2/"),
        (Format::Containerd, "/etc/containerd/"),
    ];
    let mut compared = 0;
    for (name, path) in settings_files() {
        let settings = load(&path);
        for (runtime, dir) in runtimes {
            let kairos = export::Kairos { runtime, stage: "boot.before" };
            let request =
                export::Request { format: Format::Kairos, registries: &registries, kairos, ..Default::default() };
            let document = export::export(&settings, &request).unwrap();
            let own = run(&settings, runtime);
            let expected: Vec<_> =
                own.files.iter().map(|f| (format!("{dir}{}", f.path), f.text.clone(), 0o644)).collect();
            let [file] = document.files.as_slice() else { panic!("{name}: {:?}", document.files) };
            assert_eq!(file.path, "image-redirect.yaml");
            assert_eq!(kairos_files(&file.text, "boot.before"), expected, "{name} as {}", runtime.name());
            assert_eq!((&document.lost, &document.notes), (&own.lost, &own.notes), "{name} as {}", runtime.name());
            compared += expected.len();
        }
    }
    assert!(compared >= 30, "only {compared} files compared");
}

#[test]
fn kairos_writes_only_the_runtimes_kairos_nodes_run() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    #[rustfmt::skip]
    let cases: [(&str, Format, &str, &str); 3] = [
        ("registries_conf_runtime", Format::RegistriesConf, "boot", "--runtime registries-conf: Kairos nodes run k3s, rke2, containerd"),
        ("kairos_in_kairos", Format::Kairos, "boot", "--runtime kairos: Kairos nodes run k3s, rke2, containerd"),
        ("empty_stage", Format::K3s, " ", "--kairos-stage: a stage name, such as boot"),
    ];
    for (name, runtime, stage, error) in cases {
        let request =
            export::Request { format: Format::Kairos, kairos: export::Kairos { runtime, stage }, ..Default::default() };
        assert_eq!(export::export(&settings, &request).unwrap_err(), error, "{name}");
    }
}
