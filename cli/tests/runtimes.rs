//! Real pulls through the exported files: skopeo reading the
//! `registries.conf` (as CRI-O and Podman do, through the same containers/image
//! library) and containerd reading the `hosts.toml`, from a local
//! docker-registry filled only where the policy would send each image. This
//! machine has no route to Docker Hub or quay.io, so an answer proves the
//! redirect; each digest must be the one the local registry serves.
//!
//! K3s, RKE2, Talos and OpenShift cannot run here: their files are checked
//! by interpreters of each one's documented rules (tests/export.rs).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use image_redirect_cli::manifests;
use image_redirect_policy::reference::Reference;
use image_redirect_policy::rules::Decision;
use image_redirect_testbed::{Containerd, Copied, Scratch, TestRegistry};

/// Images of whole registries, as CRI clients send them (fully qualified).
const WHOLE_REGISTRIES: [&str; 2] = ["docker.io/library/nginx:v1", "quay.io/org/app:v1"];
/// An image under a mapping scoped to a path.
const PATH_SCOPED: &str = "somedomain.com/somepath/app:v1";
/// A Docker Hub short name, which the runtime normalises to `docker.io/library/nginx`.
const SHORT_NAME: &str = "nginx:v1";
/// Where the export writes the registries.conf drop-in.
const REGISTRIES_CONF: &str = "registries.conf.d/image-redirect.conf";

/// A settings mode, its mirrors under its own path of the registry at `host`.
struct Mode {
    name: &'static str,
    settings: String,
    /// Named with `--registry`, for the prefix.
    registries: &'static [&'static str],
    /// What a runtime reading the registries.conf should pull from the mirror.
    images: &'static [&'static str],
}

fn modes(host: &str) -> [Mode; 3] {
    [
        Mode {
            name: "mapping",
            settings: format!(
                "mappings:
  - {{source: docker.io, target: {host}/mapping/dockerhub}}
  - {{source: somedomain.com/somepath, target: {host}/mapping/other/path}}
  - {{source: quay.io, target: {host}/mapping/quay, verify: true}}"
            ),
            registries: &[],
            images: &[WHOLE_REGISTRIES[0], WHOLE_REGISTRIES[1], PATH_SCOPED, SHORT_NAME],
        },
        Mode {
            name: "prefix",
            settings: format!("prefix: {{target: {host}/prefix}}"),
            registries: &["docker.io", "quay.io"],
            images: &[WHOLE_REGISTRIES[0], WHOLE_REGISTRIES[1], SHORT_NAME],
        },
        Mode {
            name: "mapping-then-prefix",
            settings: format!(
                "mappings:
  - {{source: docker.io, target: mirror.local/dockerhub}}
  - {{source: somedomain.com/somepath, target: other.local/path}}
prefix: {{target: {host}/both}}"
            ),
            registries: &["quay.io"],
            images: &[WHOLE_REGISTRIES[0], WHOLE_REGISTRIES[1], PATH_SCOPED, SHORT_NAME],
        },
    ]
}

/// `image-redirect export` of `settings` as users run it, `--scheme http`
/// and the `options` given; the files land in the returned dir (`label`
/// tells those dirs apart).
fn export(label: &str, settings: &str, format: &str, registries: &[&str], options: &[&str]) -> Scratch {
    let out = Scratch::new(&format!("export-{format}-{label}"));
    let settings_path = out.path().join("settings.yaml");
    std::fs::write(&settings_path, settings).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_image-redirect"));
    command.args(["export", "--format", format, "--scheme", "http", "--settings"]).arg(settings_path);
    for registry in registries {
        command.args(["--registry", registry]);
    }
    let output = command.args(options).arg("--out").arg(out.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    out
}

/// Pushes each image of the mode where the policy redirects it, and nowhere
/// else; the digests the registry serves, by image.
fn fill(mode: &Mode, registry: &TestRegistry) -> BTreeMap<&'static str, String> {
    let settings = manifests::settings(&mode.settings).unwrap();
    let mut digests = BTreeMap::new();
    for &image in mode.images {
        let Decision::Redirect { image: redirected, .. } = settings.rules.decide(image) else {
            panic!("{}: the policy keeps {image}", mode.name)
        };
        let reference = Reference::parse(&redirected).unwrap();
        let repository = reference.name().strip_prefix(&format!("{}/", registry.host)).unwrap();
        digests.insert(image, registry.push_image(repository, reference.tag().unwrap()));
    }
    digests
}

/// What skopeo resolves `image` to under the registries.conf at `conf`.
fn skopeo_digest(conf: &Path, image: &str, options: &[&str]) -> Result<String, String> {
    let output = Command::new("skopeo")
        .arg("--registries-conf")
        .arg(conf)
        .args(["inspect", "--no-tags", "--format", "{{.Digest}}"])
        .args(options)
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
        false => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
    }
}

#[test]
fn skopeo_pulls_through_the_exported_registries_conf() {
    let registry = TestRegistry::start("registries-conf");
    for mode in modes(&registry.host) {
        let digests = fill(&mode, &registry);
        let out = export(mode.name, &mode.settings, "registries-conf", mode.registries, &[]);
        let conf = out.path().join(REGISTRIES_CONF);
        for (image, digest) in &digests {
            assert_eq!(skopeo_digest(&conf, image, &[]).as_ref(), Ok(digest), "{}: {image}", mode.name);
        }
    }
}

/// `verify` with `onMissing: keep` becomes a registries.conf mirror: the
/// runtime tries it, then the original, as the policy keeps the original
/// when the mirror lacks the image. The original here is a path of the same
/// plain-HTTP registry, hence skopeo's `--tls-verify=false`.
#[test]
fn a_checked_mapping_falls_back_to_the_original_as_the_policy_keeps_it() {
    let registry = TestRegistry::start("fallback");
    let host = &registry.host;
    let settings = format!("mappings:\n  - {{source: {host}/upstream, target: {host}/mirror, verify: true}}");
    let out = export("fallback", &settings, "registries-conf", &[], &[]);
    let conf = out.path().join(REGISTRIES_CONF);
    let on_mirror = registry.push_image("mirror/app", "v1");
    let only_upstream = registry.push_image("upstream/app", "v2");
    let insecure = ["--tls-verify=false"];
    assert_eq!(skopeo_digest(&conf, &format!("{host}/upstream/app:v1"), &insecure), Ok(on_mirror));
    assert_eq!(skopeo_digest(&conf, &format!("{host}/upstream/app:v2"), &insecure), Ok(only_upstream));
}

/// `--no-fallback` blocks the original: the mirror still serves what it
/// holds, and a tag only the original has is refused, not fetched there.
#[test]
fn no_fallback_serves_the_mirror_and_never_the_original() {
    let registry = TestRegistry::start("no-fallback");
    let host = &registry.host;
    let settings = format!("mappings:\n  - {{source: {host}/upstream, target: {host}/mirror, verify: true}}");
    let out = export("no-fallback", &settings, "registries-conf", &[], &["--no-fallback"]);
    let conf = out.path().join(REGISTRIES_CONF);
    let on_mirror = registry.push_image("mirror/app", "v1");
    registry.push_image("upstream/app", "v2");
    let insecure = ["--tls-verify=false"];
    assert_eq!(skopeo_digest(&conf, &format!("{host}/upstream/app:v1"), &insecure), Ok(on_mirror));
    let refused = skopeo_digest(&conf, &format!("{host}/upstream/app:v2"), &insecure).unwrap_err();
    assert!(refused.contains("blocked"), "{refused}");
}

/// containerd pulls the images of whole registries, in every mode, through
/// the `certs.d` that `hosts_dir` finds in the export of `format`.
fn containerd_pulls(name: &str, format: &str, options: &[&str], hosts_dir: fn(&Path) -> PathBuf) {
    let check = match format {
        "containerd" => "containerd pulls".to_owned(),
        other => format!("containerd pulls ({other})"),
    };
    let Some(containerd) = containerd(name, &check) else { return };
    let registry = TestRegistry::start(name);
    for mode in modes(&registry.host) {
        let digests = fill(&mode, &registry);
        let out = export(&format!("{name}-{}", mode.name), &mode.settings, format, mode.registries, options);
        let hosts_dir = hosts_dir(out.path());
        for image in WHOLE_REGISTRIES {
            let digest = containerd.pull(image, &hosts_dir);
            assert_eq!(digest.as_ref(), Ok(&digests[image]), "{}: {image}", mode.name);
        }
    }
}

#[test]
fn containerd_pulls_through_the_exported_hosts_toml() {
    containerd_pulls("hosts-toml", "containerd", &[], |out| out.join("certs.d"));
}

/// The files a Kairos document's stage writes, laid out under `root` as on
/// the node (`/etc/containerd/certs.d/…` as `root/etc/containerd/certs.d/…`),
/// taken from the parsed document, not from the export's own files.
fn extract_kairos(document: &Path, stage: &str, root: &Path) {
    let text = std::fs::read_to_string(document).unwrap();
    let document: serde_json::Value = serde_norway::from_str(&text).unwrap();
    for file in document["stages"][stage][0]["files"].as_array().unwrap() {
        let path = root.join(file["path"].as_str().unwrap().trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file["content"].as_str().unwrap()).unwrap();
    }
}

#[test]
fn containerd_pulls_through_the_hosts_toml_the_kairos_document_writes() {
    containerd_pulls("kairos", "kairos", &["--runtime", "containerd"], |out| {
        let node = out.join("node");
        extract_kairos(&out.join("image-redirect.yaml"), "boot", &node);
        node.join("etc/containerd/certs.d")
    });
}

/// A source registry and a mirror filled from it by a digest-preserving
/// copy, for `--digest-only`: the export is written, then the source stopped,
/// so only the mirror can answer, and its access log shows what it was asked.
struct DigestOnly {
    mirror: TestRegistry,
    /// The source registry's `host:port` (stopped).
    source: String,
    /// `<source>/team/app`, as the node is given it.
    image: String,
    digest: String,
    out: Scratch,
    /// The mirror's access log up to the stop: the copy that filled it.
    filled_with: usize,
}

impl DigestOnly {
    fn new(format: &str) -> Self {
        let mut source = TestRegistry::start(&format!("digest-only-source-{format}"));
        let mirror = TestRegistry::start(&format!("digest-only-mirror-{format}"));
        let digest = source.push_image("team/app", "v1");
        let image = format!("{}/team/app", source.host);
        let copied = mirror.copy_image(&format!("{image}:v1"), "src/team/app", "v1", Copied::AllPlatforms);
        assert_eq!(copied, digest, "a copy of the whole image keeps its digest");
        let settings = format!("mappings:\n  - {{source: {}, target: {}/src}}", source.host, mirror.host);
        let out = export("digest-only", &settings, format, &[], &["--digest-only"]);
        source.stop();
        let filled_with = mirror.requests().len();
        Self { mirror, source: source.host.clone(), image, digest, out, filled_with }
    }

    /// What the mirror was asked about manifests and tags since it was filled,
    /// once `last` (the last manifest request expected) is in its log.
    fn manifest_requests(&self, last: &str) -> Vec<String> {
        assert!(self.mirror.logged(last), "{last} not in {:?}", self.mirror.requests());
        let requests = self.mirror.requests();
        requests[self.filled_with..]
            .iter()
            .filter(|r| r.contains("/manifests/") || r.contains("/tags/"))
            .cloned()
            .collect()
    }
}

/// What follows `msg=` in a fatal log line of skopeo (before it, a time).
fn skopeo_message(stderr: &str) -> &str {
    stderr.split_once("msg=").map_or(stderr, |(_, message)| message)
}

/// `pull-from-mirror = "digest-only"`: with the source down, skopeo gets the
/// digest from the mirror, and a tag is not asked of the mirror at all but
/// of the source, which refuses the connection. The tag is tried first so
/// that its requests, if any, are in the log before the digest's.
#[test]
fn skopeo_fetches_digests_from_a_digest_only_mirror_and_never_a_tag() {
    let site = DigestOnly::new("registries-conf");
    let conf = site.out.path().join(REGISTRIES_CONF);
    let refused = skopeo_digest(&conf, &format!("{}:v1", site.image), &[]).unwrap_err();
    assert_eq!(
        skopeo_message(&refused),
        format!(
            r#""Error parsing image name \"docker://{image}:v1\": pinging container registry {source}: Get \"https://{source}/v2/\": dial tcp {source}: connect: connection refused""#,
            image = site.image,
            source = site.source
        )
    );
    let by_digest = format!("{}@{}", site.image, site.digest);
    assert_eq!(skopeo_digest(&conf, &by_digest, &[]), Ok(site.digest.clone()));
    let fetched = format!("GET /v2/src/team/app/manifests/{}", site.digest);
    assert_eq!(site.manifest_requests(&fetched), [fetched]);
}

/// `capabilities = ["pull"]`: with the source down, containerd fetches the
/// digest from the mirror; a tag needs a host that resolves, which only the
/// source (the `server`) is, so the mirror is never asked to resolve it.
#[test]
fn containerd_fetches_digests_from_a_pull_only_mirror_and_never_resolves_a_tag_there() {
    let Some(containerd) = containerd("digest-only", "containerd digest-only pulls") else { return };
    let site = DigestOnly::new("containerd");
    let hosts_dir = site.out.path().join("certs.d");
    let refused = containerd.pull(&format!("{}:v1", site.image), &hosts_dir).unwrap_err();
    assert_eq!(
        refused.lines().last(),
        Some(format!(
            r#"ctr: failed to resolve reference "{image}:v1": failed to do request: Head "https://{source}/v2/team/app/manifests/v1": dial tcp {source}: connect: connection refused"#,
            image = site.image,
            source = site.source
        ).as_str())
    );
    let by_digest = format!("{}@{}", site.image, site.digest);
    assert_eq!(containerd.pull(&by_digest, &hosts_dir), Ok(site.digest.clone()));
    // containerd names the registry a mirror serves for in `ns`.
    let manifest = format!("/v2/src/team/app/manifests/{}?ns={}", site.digest, site.source.replace(':', "%3A"));
    let fetched = format!("GET {manifest}");
    assert_eq!(site.manifest_requests(&fetched), [format!("HEAD {manifest}"), fetched]);
}

/// containerd started for `check`, or none and the line saying why `check` did not run.
fn containerd(name: &str, check: &str) -> Option<Containerd> {
    Containerd::start(name).map_err(|why| skipped(check, &why)).ok()
}

/// One line saying which check did not run and why. Written to the process's
/// stderr itself, which the test harness does not capture: `make test` shows it.
fn skipped(check: &str, why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {check}: {why}");
}
