//! `pinDigest: source` against two real registries (Debian's docker-registry
//! on 127.0.0.1, filled with skopeo from OCI layouts built here): the policy
//! asks the host, which asks the registries through oci-client as
//! policy-server does, for the source's digest of the original tag, then
//! whether the mirror serves that digest.
//!
//! Needs `docker-registry` and `skopeo` on PATH (`make registry-tools`).

use std::sync::{Arc, Mutex};

use image_redirect_e2e::demo::policy_wasm;
use image_redirect_e2e::oci::Oci;
use image_redirect_e2e::{Outcome, Policy, Registry};
use image_redirect_testbed::{Copied, TestRegistry};
use serde_json::{Value, json};

/// Docker Hub's usual shape: one tag, an index over several platforms.
const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

/// The host's registry client, recording what the policy asked it.
struct Recorded {
    oci: Oci,
    asked: Mutex<Vec<String>>,
}

impl Registry for Recorded {
    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        self.asked.lock().unwrap().push(image.to_owned());
        self.oci.manifest_digest(image)
    }
}

fn pod(image: &str) -> Value {
    json!({"request": {"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "default", "operation": "CREATE",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "app", "image": image}]}}}})
}

/// The image written, the warning of an image kept, or the rejection.
fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Accepted { patch: Some(patch), .. } => {
            let ops = serde_json::to_value(patch).unwrap();
            ops[0]["value"].as_str().map_or_else(|| format!("unexpected patch: {ops}"), str::to_owned)
        }
        Outcome::Accepted { patch: None, warnings } => format!("kept: {}", warnings.join(" | ")),
        Outcome::Rejected { message, .. } => format!("rejected: {message}"),
        Outcome::InvalidSettings(message) => format!("invalid settings: {message}"),
    }
}

/// A digest as the messages show it.
fn short(digest: &str) -> String {
    format!("{}…", &digest[..19])
}

/// The two registries, and the digests of what they hold.
struct Filled {
    source: TestRegistry,
    mirror: TestRegistry,
    /// At the source, each an index over [`PLATFORMS`].
    app: String,
    web: String,
    api: String,
    db: String,
    /// At the mirror: the image under web's tag, and api's one platform.
    other: String,
    amd64: String,
}

/// The mirror holds app copied whole, other content under web's tag, one
/// platform of api's index, and no db.
fn filled() -> Filled {
    let (source, mirror) = (TestRegistry::start("pin-source"), TestRegistry::start("pin-mirror"));
    let [app, web, api, db] =
        ["app", "web", "api", "db"].map(|name| source.push_index(&format!("library/{name}"), "v1", &PLATFORMS));
    let from = |name: &str| format!("{}/library/{name}:v1", source.host);
    let copied = mirror.copy_image(&from("app"), "hub/library/app", "v1", Copied::AllPlatforms);
    assert_eq!(copied, app, "a copy of every platform keeps the digest");
    let other = mirror.push_image("hub/library/web", "v1");
    let amd64 = mirror.copy_image(&from("api"), "hub/library/api", "v1", Copied::Amd64Only);
    assert_ne!(amd64, api, "one platform of an index is another manifest");
    Filled { source, mirror, app, web, api, db, other, amd64 }
}

/// A case: its name, `onMissing`, the image, what the policy writes (or
/// why not), and what it asked the host, in order.
type Row = (&'static str, &'static str, String, String, Vec<String>);

/// References and messages as the policy writes them for these registries.
struct Names {
    source: String,
    mirror: String,
}

impl Names {
    fn of(filled: &Filled) -> Self {
        Self { source: filled.source.host.clone(), mirror: filled.mirror.host.clone() }
    }

    fn at_source(&self, image: &str) -> String {
        format!("{}/library/{image}", self.source)
    }

    fn at_mirror(&self, image: &str) -> String {
        format!("{}/hub/library/{image}", self.mirror)
    }

    fn kept(&self, image: &str, why: &str) -> String {
        format!("kept: image left unchanged: {}: {why}", self.at_source(image))
    }

    fn differs(&self, image: &str, theirs: &str, ours: &str) -> String {
        format!("{} is {} but {} is {}", self.at_mirror(image), short(theirs), self.at_source(image), short(ours))
    }

    fn unresolved(&self, image: &str, cause: &str) -> String {
        format!("{} cannot be resolved to a digest: {cause}", self.at_source(image))
    }

    /// The source's tag, the mirror for its digest, then the mirror's tag to explain.
    fn three_lookups(&self, image: &str, digest: &str) -> Vec<String> {
        vec![self.at_source(image), self.at_mirror(&format!("{image}@{digest}")), self.at_mirror(image)]
    }
}

fn while_the_source_is_up(f: &Filled) -> Vec<Row> {
    let n = Names::of(f);
    let (app_digest, db_digest) = (format!("app@{}", f.app), format!("db@{}", f.db));
    let rejected = format!(
        "rejected: image {} would be redirected to {}, which is {} but {} is {}",
        n.at_source("web:v1"),
        n.at_mirror("web:v1"),
        short(&f.other),
        n.at_source("web:v1"),
        short(&f.web)
    );
    // Two digests do not fit in 256 characters: the redirect is cut (ports have five digits).
    let cut = format!("{:?}… is not available: manifest unknown", &n.at_mirror(&db_digest)[..96]);
    #[rustfmt::skip]
    let rows = vec![
        ("the_mirror_holds_the_same_image",    "keep",   n.at_source("app:v1"),
            n.at_mirror(&format!("app:v1@{}", f.app)),                   vec![n.at_source("app:v1"), n.at_mirror(&format!("app:v1@{}", f.app))]),
        ("the_mirror_tag_holds_other_content", "keep",   n.at_source("web:v1"),
            n.kept("web:v1", &n.differs("web:v1", &f.other, &f.web)),   n.three_lookups("web:v1", &f.web)),
        ("other_content_rejected",             "reject", n.at_source("web:v1"),
            rejected,                                                   n.three_lookups("web:v1", &f.web)),
        ("one_platform_of_the_index",          "keep",   n.at_source("api:v1"),
            n.kept("api:v1", &n.differs("api:v1", &f.amd64, &f.api)),   n.three_lookups("api:v1", &f.api)),
        ("the_mirror_lacks_the_image",         "keep",   n.at_source("db:v1"),
            n.kept("db:v1", &format!("{} is not available: manifest unknown", n.at_mirror("db:v1"))), n.three_lookups("db:v1", &f.db)),
        ("the_source_lacks_the_tag",           "keep",   n.at_source("app:v9"),
            n.kept("app:v9", &n.unresolved("app:v9", "manifest unknown")), vec![n.at_source("app:v9")]),
        ("a_digest_asks_only_the_mirror",      "keep",   n.at_source(&app_digest),
            n.at_mirror(&app_digest),                                   vec![n.at_mirror(&app_digest)]),
        ("a_digest_the_mirror_lacks",          "keep",   n.at_source(&db_digest),
            n.kept(&db_digest, &cut),                                   vec![n.at_mirror(&db_digest)]),
    ];
    rows
}

fn while_the_source_is_down(f: &Filled) -> Vec<Row> {
    let n = Names::of(f);
    let app_digest = format!("app@{}", f.app);
    let rejected = format!(
        "rejected: image {} would be redirected to {}, but {}",
        n.at_source("app:v1"),
        n.at_mirror("app:v1"),
        n.unresolved("app:v1", "connection refused")
    );
    #[rustfmt::skip]
    let rows = vec![
        ("the_source_is_down",                 "keep",   n.at_source("app:v1"),
            n.kept("app:v1", &n.unresolved("app:v1", "connection refused")), vec![n.at_source("app:v1")]),
        ("source_down_rejected",               "reject", n.at_source("app:v1"),
            rejected,                                                   vec![n.at_source("app:v1")]),
        ("a_digest_needs_no_source",           "reject", n.at_source(&app_digest),
            n.at_mirror(&app_digest),                                   vec![n.at_mirror(&app_digest)]),
    ];
    rows
}

#[test]
fn pin_digest_source_against_a_real_source_and_mirror() {
    let mut f = filled();
    let host = Arc::new(Recorded { oci: Oci::plain_http().unwrap(), asked: Mutex::new(Vec::new()) });
    let policy = Policy::load(&policy_wasm()).unwrap().with_registry(host.clone());
    let (source, target) = (f.source.host.clone(), format!("{}/hub", f.mirror.host));
    let run = |on_missing: &str, image: &str| {
        let settings = json!({"annotateOriginals": false, "mappings": [{"source": source, "target": target,
            "pinDigest": "source", "onMissing": on_missing}]});
        let evaluation = policy.evaluate(&settings, &pod(image)).unwrap();
        (outcome(&evaluation.outcome), std::mem::take(&mut *host.asked.lock().unwrap()))
    };
    let filled_with = f.mirror.requests().len();
    let mut failures = check(&while_the_source_is_up(&f), &run);

    // The mirror was asked for the digest it serves, never to resolve the tag.
    assert!(f.mirror.logged(&format!("HEAD /v2/hub/library/app/manifests/{}", f.app)), "{:?}", f.mirror.requests());
    let asked = &f.mirror.requests()[filled_with..];
    assert!(!asked.iter().any(|r| r.ends_with("/hub/library/app/manifests/v1")), "{asked:?}");

    f.source.stop();
    failures.extend(check(&while_the_source_is_down(&f), &run));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// What `onMissing` and an image gave: the outcome, and what the host was asked.
type Run<'r> = &'r dyn Fn(&str, &str) -> (String, Vec<String>);

/// Every row that fails, described.
fn check(rows: &[Row], run: Run) -> Vec<String> {
    let failing = rows.iter().filter_map(|(name, on_missing, image, expected, asked)| {
        let (got, was_asked) = run(on_missing, image);
        (got != *expected || was_asked != *asked).then(|| {
            format!(
                "{name}:\n   got      {got}\n   expected {expected}\n   asked    {was_asked:?}\n   expected {asked:?}"
            )
        })
    });
    failing.collect()
}
