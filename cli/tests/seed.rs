//! `image-redirect seed` between two real registries (Debian's docker-registry
//! on loopback, filled with skopeo): exact copies, nothing sent twice, shared
//! layers sent once, and `--check` before the policy is switched on.

mod common;

use std::process::Output;

use common::{run, run_with};

use image_redirect_testbed::{Scratch, TestRegistry};

fn seed(args: &[&str], stdin: &str) -> Output {
    run(&[&["seed"], args].concat(), stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An upstream with an index (two platforms), a single image and a second
/// index named by tag and digest; an empty mirror; settings mapping the one
/// to `mirror/` on the other.
struct Setup {
    upstream: TestRegistry,
    mirror: TestRegistry,
    dir: Scratch,
    /// (image as written, its digest upstream)
    images: Vec<(String, String)>,
}

impl Setup {
    fn new(name: &str) -> Self {
        Self::with_mirror(name, TestRegistry::start(&format!("{name}-mirror")))
    }

    fn with_mirror(name: &str, mirror: TestRegistry) -> Self {
        let upstream = TestRegistry::start(&format!("{name}-upstream"));
        let dir = Scratch::new(&format!("seed-{name}"));
        let index = upstream.push_index("apps/multi", "1", &["linux/amd64", "linux/arm64"]);
        let single = upstream.push_image("apps/single", "1");
        let pinned = upstream.push_index("apps/pinned", "2", &["linux/amd64", "linux/s390x"]);
        let up = &upstream.host;
        let images = vec![
            (format!("{up}/apps/multi:1"), index),
            (format!("{up}/apps/single:1"), single),
            (format!("{up}/apps/pinned:2@{pinned}"), pinned),
        ];
        let settings = format!("mappings: [{{source: \"{up}\", target: \"{}/mirror\"}}]\n", mirror.host);
        std::fs::write(dir.path().join("settings.yaml"), settings).unwrap();
        let list: String = images.iter().map(|(image, _)| format!("{image}\n")).collect();
        std::fs::write(dir.path().join("images.txt"), list).unwrap();
        Self { upstream, mirror, dir, images }
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    fn seed(&self, extra: &[&str]) -> Output {
        self.seed_with(&[], extra)
    }

    fn seed_with(&self, env: &[(&str, &str)], extra: &[&str]) -> Output {
        let (settings, images) = (self.path("settings.yaml"), self.path("images.txt"));
        let mut args = vec!["seed", "--settings", &settings, "--images", &images];
        args.extend(["--plain-http", &self.upstream.host, "--plain-http", &self.mirror.host]);
        args.extend(extra);
        run_with(env, &args, "")
    }

    /// Writes `file` with `text`; its path.
    fn write(&self, file: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(file), text).unwrap();
        self.path(file)
    }

    /// `repository:tag` of each image at the mirror, as written there.
    fn at_mirror(&self, image: &str) -> String {
        let path = image.split_once('/').unwrap().1;
        format!("mirror/{}", path.split('@').next().unwrap())
    }
}

#[test]
fn every_copy_has_the_digest_of_its_source() {
    let setup = Setup::new("digests");
    let out = setup.seed(&["--lock", &setup.path("images.lock")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (image, digest) in &setup.images {
        assert_eq!(&setup.mirror.manifest_digest(&setup.at_mirror(image)), digest, "{image}");
        let (repository, _) =
            setup.at_mirror(image).split_once(':').map(|(r, t)| (r.to_owned(), t.to_owned())).unwrap();
        assert_eq!(&setup.mirror.manifest_digest(&format!("{repository}@{digest}")), digest, "{image} by digest");
    }
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(setup.path("images.lock")).unwrap()).unwrap();
    let expected: Vec<serde_json::Value> = setup
        .images
        .iter()
        .map(|(image, digest)| {
            let destination = image.replacen(&setup.upstream.host, &format!("{}/mirror", setup.mirror.host), 1);
            serde_json::json!({"source": image, "digest": digest, "destination": destination})
        })
        .collect();
    assert_eq!(lock, serde_json::json!({"images": expected}));
}

#[test]
fn a_second_run_sends_no_blob_and_no_manifest() {
    let setup = Setup::new("again");
    assert!(setup.seed(&[]).status.success());
    let before = setup.mirror.requests().len();
    let out = setup.seed(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = setup.mirror.requests();
    let writes: Vec<&String> =
        requests[before..].iter().filter(|r| !r.starts_with("HEAD ") && !r.starts_with("GET ")).collect();
    assert!(writes.is_empty(), "{writes:#?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("seed: 0 copied, 3 already there, 0 failed; nothing sent: no blob, no manifest"),
        "{stderr}"
    );
}

#[test]
fn a_layer_shared_by_several_images_is_sent_once_and_mounted_elsewhere() {
    let setup = Setup::new("shared");
    let out = setup.seed(&["--jobs", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = setup.mirror.requests();
    // The layer every test image has, shared as base layers are: the blob all
    // three repositories asked about. The log keeps query strings percent-encoded.
    let shared = shared_blob(&requests, &["single", "multi", "pinned"]).replace(':', "%3A");
    let uploads = requests.iter().filter(|r| r.starts_with("PUT ") && r.contains(&format!("digest={shared}")));
    assert_eq!(uploads.count(), 1, "{requests:#?}");
    let mounts = requests.iter().filter(|r| r.starts_with("POST ") && r.contains(&format!("mount={shared}")));
    assert_eq!(mounts.count(), 2, "{requests:#?}");
}

#[test]
fn a_mirror_asking_no_credential_is_asked_v2_only_to_log_in_and_before_manifest_reads() {
    let setup = Setup::new("open");
    let out = setup.seed(&["--jobs", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(setup.mirror.logged("PUT /v2/mirror/apps/pinned/manifests/2"));
    // oci-client asks `/v2/` before each request carrying a credential it
    // holds no token for: the manifest reads. Blobs and pushes go without.
    let requests = setup.mirror.requests();
    let asked = requests.iter().filter(|r| *r == "GET /v2/").count();
    let manifest_reads = requests.iter().filter(|r| r.starts_with("GET /v2/") && r.contains("/manifests/")).count();
    assert_eq!(asked, 1 + manifest_reads, "{requests:#?}");
}

#[test]
fn check_names_each_destination_missing_and_exits_3() {
    let setup = Setup::new("check");
    let out = setup.seed(&["--check"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let mirror = &setup.mirror.host;
    assert_eq!(
        text(&out.stdout),
        format!(
            "missing {mirror}/mirror/apps/multi:1\nmissing {mirror}/mirror/apps/single:1\nmissing {mirror}/mirror/apps/pinned:2@{}\n",
            setup.images[2].1
        )
    );
    assert!(setup.seed(&["--lock", &setup.path("images.lock")]).status.success());
    let out = setup.seed(&["--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let lock = setup.path("images.lock");
    let out = seed(&["--check", "--lock", &lock, "--plain-http", mirror], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// The one blob that every repository of `repositories` (under `mirror/apps/`) was asked about.
fn shared_blob(requests: &[String], repositories: &[&str]) -> String {
    let asked = |repository: &str| -> std::collections::BTreeSet<String> {
        let head = format!("HEAD /v2/mirror/apps/{repository}/blobs/");
        requests.iter().filter_map(|r| r.strip_prefix(&head)).map(str::to_owned).collect()
    };
    let mut shared = asked(repositories[0]);
    for repository in &repositories[1..] {
        shared = shared.intersection(&asked(repository)).cloned().collect();
    }
    assert_eq!(shared.len(), 1, "{shared:?}");
    shared.into_iter().next().unwrap()
}

const PASSWORD: &str = "s3cret-robot-token";

/// A key of an auth file, and the password it holds for the user `seeder`.
type Entry = (String, &'static str);

/// An auth file as `podman login` writes it.
fn auth_json(entries: &[Entry]) -> String {
    use base64::Engine;
    let auths: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(key, password)| {
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("seeder:{password}"));
            (key.clone(), serde_json::json!({"auth": auth}))
        })
        .collect();
    serde_json::json!({"auths": auths}).to_string()
}

#[test]
fn the_credential_kept_for_the_mirror_or_its_path_logs_in_and_others_are_refused() {
    let setup = Setup::with_mirror("login", TestRegistry::start_with_login("login-mirror", "seeder", PASSWORD));
    let (upstream, mirror) = (&setup.upstream.host, &setup.mirror.host);
    let authfile = setup.path("auth.json");
    let anonymous = format!("no credential for {mirror}/mirror/apps/single");
    let registry_wide = format!("the credential for {mirror} in {authfile}");
    // (what the auth file holds, what the destination was sent when refused);
    // refusals first, while the mirror is empty.
    let cases: [(&str, Vec<Entry>, Option<&str>); 5] = [
        ("no credential", vec![], Some(&anonymous)),
        ("a wrong password", vec![(mirror.clone(), "wrong")], Some(&registry_wide)),
        ("another path's", vec![(format!("{mirror}/elsewhere"), PASSWORD)], Some(&anonymous)),
        ("the registry's", vec![(mirror.clone(), PASSWORD)], None),
        (
            "the path's, before the registry's",
            vec![(mirror.clone(), "wrong"), (format!("{mirror}/mirror"), PASSWORD)],
            None,
        ),
    ];
    for (case, entries, refused) in cases {
        setup.write("auth.json", &auth_json(&entries));
        let out = setup.seed(&["--authfile", &authfile]);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains(PASSWORD), "{case}: {stderr}");
        match refused {
            Some(sent) => {
                assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
                let line = format!(
                    "failed {upstream}/apps/single:1 -> {mirror}/mirror/apps/single:1: asking the destination: not authorized \
                     (source: no credential for {upstream}/apps/single; destination: {sent})\n"
                );
                assert!(stderr.contains(&line), "{case}: {stderr}");
            }
            None => assert!(out.status.success(), "{case}: {stderr}"),
        }
    }
    let out = setup.seed(&["--check", "--authfile", &authfile]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn credentials_come_from_registry_auth_file_and_from_credential_helpers() {
    let setup = Setup::with_mirror("helper", TestRegistry::start_with_login("helper-mirror", "seeder", PASSWORD));
    let mirror = setup.mirror.host.clone();
    let helper = setup.write(
        "docker-credential-fake",
        &format!("#!/bin/sh\nread server\n[ \"$server\" = {mirror} ] && echo '{{\"Username\": \"seeder\", \"Secret\": \"{PASSWORD}\"}}'\n"),
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", setup.dir.path().display(), std::env::var("PATH").unwrap());
    let authfile = setup.write("config.json", &format!("{{\"credHelpers\": {{\"{mirror}\": \"fake\"}}}}"));
    let out = setup.seed_with(&[("PATH", &path), ("REGISTRY_AUTH_FILE", &authfile)], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = setup.seed_with(&[("REGISTRY_AUTH_FILE", &authfile)], &["--check"]);
    assert_eq!(out.status.code(), Some(3), "without the helper on PATH: {}", text(&out.stdout));
}

#[test]
fn a_missing_image_is_named_and_the_others_are_copied() {
    let setup = Setup::new("missing");
    let absent = format!("{}/apps/absent:1", setup.upstream.host);
    let images = std::fs::read_to_string(setup.path("images.txt")).unwrap();
    setup.write("images.txt", &format!("{absent}\n{images}"));
    let out = setup.seed(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let destination = absent.replacen(&setup.upstream.host, &format!("{}/mirror", setup.mirror.host), 1);
    assert!(
        stderr.contains(&format!("failed {absent} -> {destination}: reading it at the source: manifest unknown\n")),
        "{stderr}"
    );
    assert!(stderr.contains("seed: 3 copied, 0 already there, 1 failed"), "{stderr}");
}

/// The names a bundle's `index.json` gives its images, and each entry's digest.
fn bundled(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let entries = index["manifests"].as_array().unwrap().iter();
    let named =
        |entry: &serde_json::Value, key: &str| entry["annotations"][key].as_str().unwrap_or_default().to_owned();
    entries
        .map(|entry| {
            let (name, containerd) =
                (named(entry, "org.opencontainers.image.ref.name"), named(entry, "io.containerd.image.name"));
            (name, containerd, entry["digest"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn a_bundle_carries_exact_copies_to_an_air_gapped_mirror() {
    let mut setup = Setup::new("bundle");
    let bundle = setup.dir.path().join("bundle");
    let to = ["--to", bundle.to_str().unwrap()];
    let out = setup.seed(&to);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Each image named by its source reference (a tag and a digest: by its tag), for skopeo and ctr too.
    let expected: Vec<(String, String, String)> = setup
        .images
        .iter()
        .map(|(image, digest)| {
            let name = image.split('@').next().unwrap().to_owned();
            (name.clone(), name, digest.clone())
        })
        .collect();
    let mut names = bundled(&bundle);
    names.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let blobs = files(&bundle.join("blobs/sha256"));
    let out = setup.seed(&to);
    assert!(
        text(&out.stderr).contains("seed: 0 copied, 3 already there, 0 failed; nothing sent"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!((files(&bundle.join("blobs/sha256")), bundled(&bundle).len()), (blobs, 3), "written twice, held once");

    // At the edge: no upstream, only the mirror.
    setup.upstream.stop();
    let (settings, lock) = (setup.path("settings.yaml"), setup.path("images.lock"));
    let from = ["seed", "--settings", &settings, "--from", bundle.to_str().unwrap(), "--lock", &lock];
    let out = run(&[&from[..], &["--plain-http", &setup.mirror.host]].concat(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (image, digest) in &setup.images {
        assert_eq!(&setup.mirror.manifest_digest(&setup.at_mirror(image)), digest, "{image}");
    }
    let out = seed(&["--check", "--lock", &lock, "--plain-http", &setup.mirror.host], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn skopeo_reads_a_bundle_by_the_source_reference() {
    let setup = Setup::new("bundle-skopeo");
    let bundle = setup.dir.path().join("bundle");
    assert!(setup.seed(&["--to", bundle.to_str().unwrap()]).status.success());
    let (image, digest) = &setup.images[1];
    let inspect = std::process::Command::new("skopeo")
        .args(["inspect", "--format", "{{.Digest}}"])
        .arg(format!("oci:{}:{image}", bundle.display()))
        .output()
        .unwrap();
    assert_eq!((text(&inspect.stdout).trim(), text(&inspect.stderr).trim()), (digest.as_str(), ""));
}

#[test]
fn containerd_pulls_an_unbundled_image_through_the_exported_hosts_toml() {
    let containerd = match image_redirect_testbed::Containerd::start("unbundled") {
        Ok(containerd) => containerd,
        Err(why) => return eprintln!("SKIPPED containerd pulls an unbundled image: {why}"),
    };
    let mut setup = Setup::new("unbundled");
    let bundle = setup.dir.path().join("bundle");
    assert!(setup.seed(&["--to", bundle.to_str().unwrap()]).status.success());
    setup.upstream.stop();
    let settings = setup.path("settings.yaml");
    let out = run(
        &["seed", "--settings", &settings, "--from", bundle.to_str().unwrap(), "--plain-http", &setup.mirror.host],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nodes = setup.dir.path().join("node");
    let export = ["export", "--format", "containerd", "--scheme", "http", "--settings", &settings, "--out"];
    let out = run(&[&export[..], &[nodes.to_str().unwrap()]].concat(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (image, digest) = &setup.images[1];
    assert_eq!(containerd.pull(image, &nodes.join("certs.d")), Ok(digest.clone()));
}

#[test]
fn containerd_imports_a_bundle_under_each_source_reference() {
    let containerd = match image_redirect_testbed::Containerd::start("imported") {
        Ok(containerd) => containerd,
        Err(why) => return eprintln!("SKIPPED containerd imports a bundle: {why}"),
    };
    let setup = Setup::new("imported");
    let bundle = setup.dir.path().join("bundle");
    assert!(setup.seed(&["--to", bundle.to_str().unwrap()]).status.success());
    // `ctr import` reads an archive: the layout's files at its root.
    let archive = setup.dir.path().join("bundle.tar");
    let tar = std::process::Command::new("tar").arg("-cf").arg(&archive).arg("-C").arg(&bundle).arg(".").status();
    assert!(tar.unwrap().success());
    let mut imported = containerd.import(&archive).unwrap();
    imported.sort();
    let mut expected: Vec<(String, String)> = setup
        .images
        .iter()
        .map(|(image, digest)| (image.split('@').next().unwrap().to_owned(), digest.clone()))
        .collect();
    expected.sort();
    assert_eq!(imported, expected);
}

#[test]
fn a_blob_whose_bytes_are_not_its_digest_is_refused_and_nothing_is_tagged() {
    let setup = Setup::new("altered");
    let (image, _) = &setup.images[1];
    let raw = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{image}")])
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let config = manifest["config"]["digest"].as_str().unwrap();
    let file = setup.upstream.blob_file(config);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let bundle = setup.dir.path().join("bundle");
    let destination = setup.at_mirror(image);
    let mirror = format!("{}/{destination}", setup.mirror.host);
    let short = &config[..19];
    for (into, extra, failure) in [
        (
            "the mirror",
            vec![],
            format!("failed {image} -> {mirror}: copying blob {short}: provided digest did not match uploaded content"),
        ),
        (
            "a bundle",
            vec!["--to", bundle.to_str().unwrap()],
            format!("failed {image} -> {image}: copying blob {short}: invalid digest. Expected {short}, got sha256:"),
        ),
    ] {
        let out = setup.seed(&extra);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{into}: {stderr}");
        assert!(stderr.contains(&failure), "{into}: {stderr}");
    }
    let tagged = setup.mirror.requests().into_iter().filter(|r| r.starts_with("PUT ") && r.contains("/manifests/"));
    assert!(!tagged.clone().any(|r| r.contains("/single/")), "{:?}", tagged.collect::<Vec<_>>());
    assert!(!bundled(&bundle).iter().any(|(name, ..)| name == image), "the bundle names {image}");
}

/// The raw manifest `reference` names, as skopeo reads it over plain HTTP.
fn raw(reference: &str) -> serde_json::Value {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{reference}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn platform_copies_the_children_chosen_under_a_new_index_recorded_beside_the_source_digest() {
    let setup = Setup::new("platform");
    let (multi, multi_digest) = &setup.images[0];
    let mirror_multi = format!("{}/{}", setup.mirror.host, setup.at_mirror(multi));
    let children = |index: &serde_json::Value| -> Vec<(String, String)> {
        let entries = index["manifests"].as_array().unwrap().iter();
        entries
            .map(|e| (e["platform"]["architecture"].as_str().unwrap().into(), e["digest"].as_str().unwrap().into()))
            .collect()
    };
    let upstream = children(&raw(multi));

    let out = setup.seed(&["--platform", "linux/s390x"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let none = format!(
        "failed {multi} -> {mirror_multi}: choosing platforms: its index has no linux/s390x (it has linux/amd64, linux/arm64)\n"
    );
    assert!(text(&out.stderr).contains(&none), "{}", text(&out.stderr));

    let lock = setup.path("images.lock");
    let out = setup.seed(&["--platform", "linux/arm64", "--lock", &lock]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let at_mirror = raw(&mirror_multi);
    assert_eq!(children(&at_mirror), vec![upstream[1].clone()], "only arm64, by its own digest");
    let narrowed = setup.mirror.manifest_digest(&setup.at_mirror(multi));
    assert_ne!(&narrowed, multi_digest);
    assert!(
        text(&out.stderr).contains(&format!("copied {mirror_multi} ({narrowed}, some platforms of {multi_digest})"))
    );
    let repository = setup.at_mirror(multi).split(':').next().unwrap().to_owned();
    let amd64 = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{repository}@{}", setup.mirror.host, upstream[0].1))
        .output()
        .unwrap();
    assert!(!amd64.status.success(), "the amd64 image is not at the mirror");
    // By digest, an index is copied whole; a single image as it is.
    for (image, digest) in &setup.images[1..] {
        assert_eq!(&setup.mirror.manifest_digest(&setup.at_mirror(image)), digest, "{image}");
    }
    let lock: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert_eq!(
        lock["images"][0],
        serde_json::json!({"source": multi, "digest": narrowed, "destination": mirror_multi, "sourceDigest": multi_digest})
    );
    assert_eq!(lock["images"][1].get("sourceDigest"), None);

    let out = setup.seed(&["--platform", "linux"]);
    assert_eq!((out.status.code(), text(&out.stderr).lines().last().map(str::to_owned)), (Some(1), Some(
        "error: --platform linux: not a platform (os/architecture or os/architecture/variant, such as linux/arm64)".into()
    )));
}

#[test]
fn a_terminal_gets_progress_bars_and_a_pipe_plain_lines() {
    let setup = Setup::new("bars");
    let (settings, images) = (setup.path("settings.yaml"), setup.path("images.txt"));
    let args = [
        env!("CARGO_BIN_EXE_image-redirect"),
        "seed",
        "--settings",
        &settings,
        "--images",
        &images,
        "--plain-http",
        &setup.upstream.host,
        "--plain-http",
        &setup.mirror.host,
    ];
    // script(1) runs the command on a pseudo-terminal, as a person's shell would.
    let out = std::process::Command::new("script").args(["-qec", &args.join(" "), "/dev/null"]).output().unwrap();
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains(" sent at ") && screen.contains(" of 3 images"), "no bars drawn: {screen:?}");
    assert!(screen.contains("seed: 3 copied, 0 already there, 0 failed;"), "{screen:?}");
    let piped = setup.seed(&[]);
    let lines = text(&piped.stderr);
    assert!(!lines.contains('\x1b') && !lines.contains(" sent at "), "{lines:?}");
    assert!(lines.starts_with("already there ") && lines.contains("seed: 0 copied, 3 already there"), "{lines}");
}

#[test]
fn a_mirror_killed_mid_run_holds_no_tag_on_an_incomplete_image_and_a_rerun_finishes() {
    let mut setup = Setup::new("killed");
    let mut images = Vec::new();
    for n in 1..=2u8 {
        let layer = image_redirect_testbed::noise(n.into(), 48 << 20);
        let digest = setup.upstream.push_layers(&format!("apps/heavy{n}"), "1", &[&layer]);
        images.push((format!("{}/apps/heavy{n}:1", setup.upstream.host), digest));
    }
    images.extend(setup.images.iter().cloned());
    setup.write("images.txt", &images.iter().map(|(image, _)| format!("{image}\n")).collect::<String>());
    let (settings, list) = (setup.path("settings.yaml"), setup.path("images.txt"));
    let seed = std::process::Command::new(env!("CARGO_BIN_EXE_image-redirect"))
        .args(["seed", "--settings", &settings, "--images", &list, "--jobs", "1"])
        .args(["--plain-http", &setup.upstream.host, "--plain-http", &setup.mirror.host])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once the first heavy layer's upload has begun.
    assert!(
        image_redirect_testbed::wait_until(30, || {
            setup.mirror.requests().iter().any(|r| r.starts_with("POST /v2/mirror/apps/heavy1/blobs/uploads/"))
        }),
        "the upload never began"
    );
    setup.mirror.stop();
    let out = seed.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let heavy1 = &images[0].0;
    let cut = format!("failed {heavy1} -> {}/mirror/apps/heavy1:1: copying blob ", setup.mirror.host);
    assert!(text(&out.stderr).starts_with(&cut), "killed while the layer was on its way: {}", text(&out.stderr));
    setup.mirror.restart();
    for (image, _) in &images {
        let at = format!("{}/{}", setup.mirror.host, setup.at_mirror(image));
        let tagged = std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{at}")])
            .output()
            .unwrap();
        if tagged.status.success() {
            let whole = std::process::Command::new("skopeo")
                .args(["--insecure-policy", "copy", "--quiet", "--all", "--src-tls-verify=false"])
                .arg(format!("docker://{at}"))
                .arg(format!("oci:{}:x", setup.dir.path().join("whole").display()))
                .output()
                .unwrap();
            assert!(whole.status.success(), "{at} is tagged but incomplete: {}", text(&whole.stderr));
        }
    }
    let out = setup.seed(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (image, digest) in &images {
        assert_eq!(&setup.mirror.manifest_digest(&setup.at_mirror(image)), digest, "{image}");
    }
}

/// A registry that answers as Harbor does where a copy cannot land: `GET /v2/`
/// open, `HEAD`s from `heads`, and every write refused with `status` and the
/// error envelope `code`/`message`. Serves until the test ends.
fn harbor(heads: fn(&str) -> (u16, &'static str), status: u16, code: &str, message: &str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let refusal = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let _ = reader.by_ref().take(length).read_to_end(&mut Vec::new());
            let request = head.lines().next().unwrap_or_default().to_owned();
            let (status, headers, body) = match request.split(' ').collect::<Vec<_>>()[..] {
                ["GET", "/v2/", ..] => (200, String::new(), "{}".to_owned()),
                ["GET", ..] => (
                    404,
                    String::new(),
                    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.into(),
                ),
                ["HEAD", path, ..] => {
                    let (status, digest) = heads(path);
                    (status, format!("Docker-Content-Digest: {digest}\r\n"), String::new())
                }
                _ => (status, "Content-Type: application/json\r\n".into(), refusal.clone()),
            };
            let answer = format!(
                "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.into_inner().write_all(answer.as_bytes());
        }
    });
    host
}

#[test]
fn harbors_refusals_are_named_with_what_to_do() {
    let upstream = TestRegistry::start("harbor-upstream");
    upstream.push_image("apps/single", "1");
    let dir = Scratch::new("seed-harbor");
    let image = format!("{}/apps/single:1", upstream.host);
    std::fs::write(dir.path().join("images.txt"), format!("{image}\n")).unwrap();
    let absent: fn(&str) -> (u16, &'static str) = |_| (404, "");
    // An immutable tag at other content: blobs present, the tag elsewhere, the manifest refused.
    let immutable: fn(&str) -> (u16, &'static str) = |path| match path.contains("/manifests/") {
        true => (200, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        false => (200, ""),
    };
    let cases = [
        (
            "a project that does not exist",
            harbor(absent, 404, "NOT_FOUND", "project edge not found"),
            "copying blob",
            "project edge not found: create the project at the mirror first (Harbor does not create projects on push)",
        ),
        (
            "a proxy-cache project",
            harbor(absent, 403, "DENIED", "can not push artifact to a proxy project: edge"),
            "copying blob",
            "can not push artifact to a proxy project: edge: a proxy-cache project fills itself from its upstream and refuses pushes: seed into a regular project, and point the mapping's target at it",
        ),
        (
            "an immutable tag",
            harbor(
                immutable,
                412,
                "PRECONDITION",
                "Failed to process request due to 'edge/apps/single:1' configured as immutable.",
            ),
            "pushing its manifest",
            "failed to process request due to 'edge/apps/single:1' configured as immutable: the mirror's tag is immutable and holds other content: remove the tag or its immutability rule, or seed into another project",
        ),
    ];
    for (case, mirror, doing, words) in cases {
        let settings = dir.path().join("settings.yaml");
        std::fs::write(
            &settings,
            format!("mappings: [{{source: \"{}\", target: \"{mirror}/edge\"}}]\n", upstream.host),
        )
        .unwrap();
        let (settings, images) = (settings.display().to_string(), dir.path().join("images.txt").display().to_string());
        let out = seed(
            &["--settings", &settings, "--images", &images, "--plain-http", &upstream.host, "--plain-http", &mirror],
            "",
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        let line = stderr.lines().next().unwrap_or_default();
        let expected = format!("failed {image} -> {mirror}/edge/apps/single:1: {doing}");
        assert!(line.starts_with(&expected) && line.ends_with(&format!(": {words}")), "{case}: {line}");
    }
}

#[test]
fn under_a_prefix_each_image_is_copied_below_its_registrys_name() {
    // Loopback addresses of this test's own, port 80 (root, as in CI).
    let (up, mirror) = ("127.0.0.21", "127.0.0.22");
    if let Err(why) = std::net::TcpListener::bind((up, 80)) {
        return eprintln!("SKIPPED seed under a prefix: port 80 of {up}: {why}");
    }
    let upstream = TestRegistry::start_on_port_80("prefix-upstream", up);
    let target = TestRegistry::start_on_port_80("prefix-mirror", mirror);
    let index = upstream.push_index("apps/multi", "1", &["linux/amd64", "linux/arm64"]);
    let single = upstream.push_image("apps/single", "1");
    let dir = Scratch::new("seed-prefix");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, format!("prefix: {{target: \"{mirror}/hub\"}}\n")).unwrap();
    let images = format!("{up}/apps/multi:1\n{up}/apps/single:1\n");
    let settings = settings.display().to_string();
    let args = ["--settings", &settings, "--images", "-", "--plain-http", up, "--plain-http", mirror];
    let plan = seed(&[&args[..], &["--dry-run"]].concat(), &images);
    assert_eq!(
        text(&plan.stdout),
        format!(
            "copy {up}/apps/multi:1 -> {mirror}/hub/{up}/apps/multi:1 (prefix)\ncopy {up}/apps/single:1 -> {mirror}/hub/{up}/apps/single:1 (prefix)\n"
        )
    );
    let out = seed(&args, &images);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(target.manifest_digest(&format!("hub/{up}/apps/multi:1")), index);
    assert_eq!(target.manifest_digest(&format!("hub/{up}/apps/single:1")), single);
}
