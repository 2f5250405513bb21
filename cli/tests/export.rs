//! `image-redirect export`: golden files per settings mode and format, and
//! agreement between the policy and K3s carrying out the exported rules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use image_redirect_cli::export::{self, Format, Loss};
use image_redirect_cli::manifests;
use image_redirect_policy::reference::Reference;
use image_redirect_policy::rules::Decision;
use image_redirect_policy::settings::Settings;
use serde_json::Value;

/// Registries named for prefix modes: every registry the e2e fixtures pull from.
const REGISTRIES: [&str; 6] = ["docker.io", "quay.io", "registry.k8s.io", "ghcr.io", "gcr.io", "us-docker.pkg.dev"];

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
const VARIANTS: [Variant; 4] = [
    Variant { settings: "mirror-checks", name: "registries-conf-no-fallback", format: Format::RegistriesConf, set: |r| r.no_fallback = true },
    Variant { settings: "mapping", name: "containerd-1", format: Format::Containerd, set: |r| r.containerd_version = Some(1) },
    Variant { settings: "harbor-layout", name: "containerd-2", format: Format::Containerd, set: |r| r.containerd_version = Some(2) },
    Variant { settings: "mapping", name: "k3s-embedded-registry", format: Format::K3s, set: |r| r.embedded_registry = true },
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
    }
    for variant in VARIANTS {
        let path = settings_files().into_iter().find(|(n, _)| n == variant.settings).unwrap().1;
        let mut request = export::Request { format: variant.format, registries: &registries, ..Default::default() };
        (variant.set)(&mut request);
        cases.push((format!("{}.{}", variant.settings, variant.name), path, request));
    }
    let mut stale = Vec::new();
    for (name, path, request) in cases {
        let export = export::export(&load(&path), &request).unwrap();
        let text: String = export.files.iter().map(|f| format!("==> {} <==\n{}", f.path, f.text)).collect();
        let golden = root().join(format!("cli/tests/golden/{name}.txt"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &text).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(text.as_str()) {
            stale.push(golden.display().to_string());
        }
    }
    assert!(stale.is_empty(), "differs from the output (UPDATE_GOLDEN=1 rewrites, then review the diff): {stale:#?}");
}

/// `--no-fallback` and `--digest-only`: kept where the format can say them, else one loss each.
#[test]
fn an_option_is_a_loss_where_the_format_cannot_say_it() {
    let settings = load(&root().join("cli/tests/settings/registry-wide.yaml"));
    let no_fallback: Set = |r| r.no_fallback = true;
    let digest_only: Set = |r| r.digest_only = true;
    #[rustfmt::skip]
    let cases: [(&str, Set, Format, &[Loss]); 8] = [
        ("--no-fallback", no_fallback, Format::K3s, &[Loss::Fallback { format: "k3s" }]),
        ("--no-fallback", no_fallback, Format::Rke2, &[Loss::Fallback { format: "rke2" }]),
        ("--no-fallback", no_fallback, Format::Containerd, &[Loss::Fallback { format: "containerd" }]),
        ("--no-fallback", no_fallback, Format::RegistriesConf, &[]),
        ("--digest-only", digest_only, Format::K3s, &[Loss::DigestOnly { format: "k3s" }]),
        ("--digest-only", digest_only, Format::Rke2, &[Loss::DigestOnly { format: "rke2" }]),
        ("--digest-only", digest_only, Format::Containerd, &[]),
        ("--digest-only", digest_only, Format::RegistriesConf, &[]),
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
    let cases: [(&str, Format, &[&str]); 10] = [
        ("registry-wide", Format::K3s, &[]),
        ("registry-wide", Format::RegistriesConf, &[]),
        ("prefix-all", Format::K3s, &[&scope]),
        ("prefix-all", Format::RegistriesConf, &[&scope]),
        ("mapping", Format::K3s, &[SCOPED, SECRET, NAMESPACES]),
        // registries.conf matches paths: the scoped mapping carries over.
        ("mapping", Format::RegistriesConf, &[SECRET, NAMESPACES]),
        ("target-mirrored", Format::Containerd, &[MIRRORED, EXCLUDED]),
        ("target-mirrored", Format::RegistriesConf, &[MIRRORED, EXCLUDED]),
        ("mirror-checks", Format::Containerd, &[&checks[0], &checks[1], &checks[2]]),
        // verify + onMissing: keep becomes a registries.conf mirror, tried before the original.
        ("mirror-checks", Format::RegistriesConf, &[
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

#[test]
fn k3s_pulls_what_the_policy_would_write_wherever_nothing_is_lost() {
    let images: Vec<String> = fixture_images().into_iter().filter(|image| Reference::parse(image).is_ok()).collect();
    assert!(images.len() >= 12, "fixtures hold {} images", images.len());
    let mut compared = 0;
    for (name, path) in settings_files() {
        let settings = load(&path);
        let export = run(&settings, Format::K3s);
        // A prefix reaches only the named registries at the node: images of
        // other registries are where that reported loss applies.
        if export.lost.iter().any(|loss| !matches!(loss, Loss::PrefixScope { .. })) {
            continue;
        }
        let scoped = !export.lost.is_empty();
        let config: Value = serde_norway::from_str(&export.files[0].text).unwrap();
        for image in images.iter().filter(|image| !scoped || REGISTRIES.contains(&split(image).0)) {
            let written = match settings.rules.decide(image) {
                Decision::Redirect { image, .. } => image,
                Decision::Keep(_) => image.clone(),
            };
            let unmirrored = Value::Null;
            assert_eq!(k3s_pull(&unmirrored, &written), k3s_pull(&config, image), "{name}: {image}");
            compared += 1;
        }
    }
    assert!(compared >= 2 * images.len(), "only {compared} comparisons of {} images", images.len());
}
