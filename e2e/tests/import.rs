//! Palette's documented setups, imported from Edge user-data by
//! `image-redirect import palette` and evaluated by the built policy.wasm on
//! the embedded host: the documentation's example images must land exactly
//! where Palette's documentation says they do.

use std::sync::OnceLock;

use image_redirect_cli::import::{self, Options};
use image_redirect_e2e::demo::{fixtures, policy_wasm, read_json};
use image_redirect_e2e::{Outcome, Policy};
use serde_json::{Value, json};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        Policy::load(&policy_wasm())
            .unwrap_or_else(|e| panic!("{e:#}\n(build it with `make policy.wasm`, or set POLICY_WASM)"))
    })
}

/// The settings `import palette` writes for e2e/fixtures/user-data/`name`.yaml.
fn imported_settings(name: &str, primary_registry: Option<&str>) -> Value {
    let user_data = std::fs::read_to_string(fixtures().join(format!("user-data/{name}.yaml"))).unwrap();
    let options = Options { primary_registry, secret_namespace: "default", module: None, node_config: None };
    let import = import::palette(&user_data, &options).unwrap_or_else(|errors| panic!("{name}: {errors:#?}"));
    serde_norway::from_str(&import.settings).unwrap()
}

/// Palette's prefix-all example Pod, with `image`.
fn pod(image: &str) -> Value {
    let mut review = read_json(&fixtures().join("requests/pod-palette-prefix.json")).unwrap();
    review["request"]["object"]["spec"]["containers"][0]["image"] = json!(image);
    review
}

/// User-data example, `--primary-registry`, image, where it must land, the pull secrets the Pod must get.
type Case<'a> = (&'a str, Option<&'a str>, &'a str, &'a str, &'a [&'a str]);

#[test]
fn palettes_documented_examples_land_where_its_documentation_says() {
    let harbor = Some("10.10.100.45:30003");
    let prefix_secret = "image-redirect-10.10.254.254-8000-spectro-images";
    let palette_secret = "image-redirect-example.registry.com-palette-images";
    #[rustfmt::skip]
    let cases: [Case; 7] = [
        ("single-registry", None, "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1",
            "10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1", &[prefix_secret]),
        ("multiple-registries", None, "somedomain.com/somepath/example-repo/alpine:latest",
            "targetdomain.com/other/path/example-repo/alpine:latest", &[]),
        ("multiple-registries", None, "us-docker.pkg.dev/palette-images/edge/agent:v4.5.0",
            "example.registry.com/palette-images/edge/agent:v4.5.0", &[palette_secret]),
        ("multiple-registries", harbor, "us-docker.pkg.dev/palette-images/edge/agent:v4.5.0",
            "10.10.100.45:30003/example.registry.com/palette-images/edge/agent:v4.5.0", &[]),
        ("no-registry", Some("10.10.137.220:30003/spectro-images"), "gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3",
            "10.10.137.220:30003/spectro-images/gcr.io/spectro-images-public/kube-vip/kube-vip:v0.6.3", &[]),
        ("webhook-disabled", None, "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1",
            "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1", &[]),
        ("multiple-registries", None, "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1",
            "quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1", &[]),
    ];
    let mut failures = Vec::new();
    for (name, primary, image, expected, secrets) in cases {
        let evaluation = policy().evaluate(&imported_settings(name, primary), &pod(image)).unwrap();
        let accepted = matches!(evaluation.outcome, Outcome::Accepted { .. });
        let object = evaluation.patched_object().unwrap();
        let pull_secrets = object["spec"]["imagePullSecrets"].as_array().cloned().unwrap_or_default();
        let pull_secrets: Vec<&str> = pull_secrets.iter().filter_map(|secret| secret["name"].as_str()).collect();
        let got = (accepted, object["spec"]["containers"][0]["image"].as_str(), pull_secrets);
        if got != (true, Some(expected), secrets.to_vec()) {
            failures.push(format!("{name} {primary:?} {image}: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
