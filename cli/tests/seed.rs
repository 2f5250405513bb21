//! `image-redirect seed` between two real registries (Debian's docker-registry
//! on loopback, filled with skopeo): exact copies, nothing sent twice, shared
//! layers sent once, and `--check` before the policy is switched on.

mod common;

use std::process::Output;

use common::run;

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
        let upstream = TestRegistry::start(&format!("{name}-upstream"));
        let mirror = TestRegistry::start(&format!("{name}-mirror"));
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
        let (settings, images) = (self.path("settings.yaml"), self.path("images.txt"));
        let mut args = vec!["--settings", &settings, "--images", &images];
        args.extend(["--plain-http", &self.upstream.host, "--plain-http", &self.mirror.host]);
        args.extend(extra);
        seed(&args, "")
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
