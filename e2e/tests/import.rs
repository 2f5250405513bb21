//! Palette's documented setups, imported from Edge user-data by
//! `image-redirect import palette` and evaluated by the built policy.wasm on
//! the embedded host: the documentation's example images must land exactly
//! where Palette's documentation says they do.

use std::path::PathBuf;
use std::sync::OnceLock;

use image_redirect_cli::import::{self, Options};
use image_redirect_e2e::{Outcome, Policy};
use serde_json::{Value, json};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policy.wasm");
        let path = std::env::var_os("POLICY_WASM").map_or(default, PathBuf::from);
        Policy::load(&path).unwrap_or_else(|e| panic!("{e:#}\n(build it with `make policy.wasm`, or set POLICY_WASM)"))
    })
}

/// The settings `import palette` writes for e2e/fixtures/user-data/`name`.yaml.
fn imported_settings(name: &str, primary_registry: Option<&str>) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/user-data/{name}.yaml"));
    let user_data = std::fs::read_to_string(path).unwrap();
    let options = Options { primary_registry, secret_namespace: "default", module: None };
    let import = import::palette(&user_data, &options).unwrap_or_else(|errors| panic!("{name}: {errors:#?}"));
    serde_norway::from_str(&import.settings).unwrap()
}

fn pod(image: &str) -> Value {
    json!({
        "uid": "4c3bd1cf-0a43-4c57-9a0d-31b5c06a5b6e",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "namespace": "edge",
        "userInfo": {"username": "palette-agent"},
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "app", "namespace": "edge"},
            "spec": {"containers": [{"name": "app", "image": image}]}
        }
    })
}

#[test]
fn palettes_documented_examples_land_where_its_documentation_says() {
    let harbor = Some("10.10.100.45:30003");
    let prefix_secret = "image-redirect-10.10.254.254-8000-spectro-images";
    let palette_secret = "image-redirect-example.registry.com-palette-images";
    #[rustfmt::skip]
    let cases: [(&str, Option<&str>, &str, &str, &[&str]); 7] = [
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
        let object = evaluation.patched_object().unwrap();
        let secrets: Vec<Value> = secrets.iter().map(|name| json!({"name": name})).collect();
        let got = (&evaluation.outcome, &object["spec"]["containers"][0]["image"], &object["spec"]["imagePullSecrets"]);
        let accepted = matches!(got.0, Outcome::Accepted { .. });
        let pulls = if secrets.is_empty() { Value::Null } else { Value::Array(secrets) };
        if !accepted || got.1 != expected || *got.2 != pulls {
            failures.push(format!("{name} {primary:?} {image}: {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
