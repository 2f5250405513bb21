//! The `image-redirect` binary as users run it: output, stderr, exit status.

mod common;

use common::run;
use image_redirect_cli::manifests;
use serde_json::{Value, json};

const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: init, image: busybox}]
      containers:
      - {name: web, image: \"nginx:1.27\"}
      - {name: side, image: \"quay.io/prometheus/node-exporter:v1\"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: \"somedomain.com/somepath/app:2\"}]
";

#[test]
fn preview_prints_every_container_of_every_workload() {
    let out = run(&["preview", "--settings", "e2e/fixtures/settings/mapping.json", "-"], MANIFEST);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\
Deployment/web
  web: nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)
  side: quay.io/prometheus/node-exporter:v1 -> quay.io/prometheus/node-exporter:v1 (unchanged)
  init: busybox -> harbor.edge.local/dockerhub/library/busybox (mapping docker.io)
Pod/p
  a: somedomain.com/somepath/app:2 -> targetdomain.com/other/path/app:2 (mapping somedomain.com/somepath)
"
    );
}

#[test]
fn preview_names_the_images_of_a_listed_kind_by_field_path() {
    let cluster = "\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg}
spec:
  imageName: ghcr.io/cloudnative-pg/postgresql:16.4
  backup: {image: 16}
";
    let out = run(&["preview", "--settings", "cli/tests/settings/operators.yaml", "-"], cluster);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\
Cluster/pg
  spec.imageName: ghcr.io/cloudnative-pg/postgresql:16.4 -> harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 (mapping ghcr.io)
  warning: spec.backup.image: expected a string, found a number: left as is
  warning: pull secret harbor-creds is not added: the Cluster must reference it itself
"
    );
    let out = run(&["preview", "--settings", "cli/tests/settings/operators.yaml", "--output", "json", "-"], cluster);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        line,
        json!({"kind": "Cluster", "name": "pg", "list": null, "container": "spec.imageName",
               "before": "ghcr.io/cloudnative-pg/postgresql:16.4",
               "after": "harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4", "rule": "mapping ghcr.io",
               "warnings": ["spec.backup.image: expected a string, found a number: left as is",
                            "pull secret harbor-creds is not added: the Cluster must reference it itself"]})
    );
}

#[test]
fn strict_export_fails_when_a_rule_is_lost_and_says_which() {
    let out = run(&["export", "--format", "k3s", "--settings", "e2e/fixtures/settings/mapping.json", "--strict"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("warning: not carried out at the node: mapping somedomain.com/somepath"), "{stderr}");
    assert!(String::from_utf8(out.stdout).unwrap().contains("^(.*)$: dockerhub/$1"));
}

#[test]
fn digest_only_with_no_fallback_exits_1_naming_both_flags() {
    let settings = "e2e/fixtures/settings/mapping.json";
    let out =
        run(&["export", "--format", "registries-conf", "--settings", settings, "--digest-only", "--no-fallback"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: --digest-only with --no-fallback: the mirrors would serve digests only and the original registries \
         nothing, so every pull by tag of a mirrored registry would fail; pass one of them\n"
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
}

#[test]
fn invalid_settings_are_listed_one_per_line() {
    let out = run(&["export", "--format", "k3s", "--settings", "e2e/fixtures/settings/invalid.json"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: e2e/fixtures/settings/invalid.json: invalid settings:\n\
         mappings[0].target: \"Harbor.local/x\" is not a valid registry path: uppercase letters are not allowed\n\
         mappings[1].source: \"docker.io/nginx:1.27\" is not a valid registry path: a tag is not allowed\n\
         exclude.images[0]: \"pause[\" is not a supported image glob: '[' is not supported: only * and ? are special in image globs\n"
    );
}

#[test]
fn preview_as_json_gives_one_object_per_container() {
    let out = run(&["preview", "--settings", "e2e/fixtures/settings/mapping.json", "--output", "json", "-"], MANIFEST);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let hub = "harbor.edge.local/dockerhub/library";
    assert_eq!(
        lines,
        [
            json!({"kind": "Deployment", "name": "web", "list": "containers", "container": "web", "before": "nginx:1.27",
                   "after": format!("{hub}/nginx:1.27"), "rule": "mapping docker.io", "warnings": []}),
            json!({"kind": "Deployment", "name": "web", "list": "containers", "container": "side",
                   "before": "quay.io/prometheus/node-exporter:v1", "after": "quay.io/prometheus/node-exporter:v1",
                   "rule": null, "warnings": []}),
            json!({"kind": "Deployment", "name": "web", "list": "initContainers", "container": "init", "before": "busybox",
                   "after": format!("{hub}/busybox"), "rule": "mapping docker.io", "warnings": []}),
            json!({"kind": "Pod", "name": "p", "list": "containers", "container": "a",
                   "before": "somedomain.com/somepath/app:2", "after": "targetdomain.com/other/path/app:2",
                   "rule": "mapping somedomain.com/somepath", "warnings": []}),
        ]
    );
}

#[test]
fn preview_as_json_gives_each_container_the_warnings_about_its_image() {
    let manifest = "{kind: Pod, apiVersion: v1, metadata: {name: p}, spec: {containers: [
        {name: a, image: \"localhost:5000/app\"}, {name: b, image: \"nginx\"}]}}";
    let settings = "e2e/fixtures/settings/prefix-all.json";
    let out = run(&["preview", "--settings", settings, "--output", "json", "-"], manifest);
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let warnings: Vec<_> = lines.iter().map(|line| line["warnings"].clone()).collect();
    assert_eq!(
        warnings,
        [
            json!([
                "image left unchanged: localhost:5000/app: registry localhost:5000 has a port, which cannot become a path segment under the prefix"
            ]),
            json!([]),
        ]
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in ["export", "preview", "seed", "audit", "completions", "import palette"] {
        let args: Vec<&str> = command.split(' ').chain(["--help"]).collect();
        let out = run(&args, "");
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Example") && help.contains(&format!("image-redirect {command} ")), "{command}:\n{help}");
    }
    let out = run(&["--help"], "");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Exit status: 0 ok, 1 error, 2 rules lost under --strict, 3 seed --check or audit not ready.")
    );
}

#[test]
fn version_names_the_crate_version() {
    let out = run(&["--version"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("image-redirect {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn command_line_mistakes_name_the_flag_and_fail_with_status_1() {
    #[rustfmt::skip]
    let cases: [(&[&str], &[&str]); 7] = [
        (&["export", "--formt", "k3s"],                         &["unexpected argument '--formt'", "a similar argument exists: '--format'"]),
        (&["export", "--format", "cri", "--settings", "s.yaml"], &["invalid value 'cri' for '--format <FORMAT>'", "[possible values: k3s, rke2, containerd, registries-conf, kairos, talos, openshift]"]),
        (&["export", "--format", "kairos", "--runtime", "registries-conf", "--settings", "s.yaml"], &["invalid value 'registries-conf' for '--runtime <RUNTIME>'", "[possible values: k3s, rke2, containerd]"]),
        (&["export", "--format", "k3s", "--runtime", "rke2", "--settings", "e2e/fixtures/settings/mapping.json"], &["--runtime: only where a Kairos document is written (--format kairos, --node-config)"]),
        (&["preview", "--settings", "s.yaml"],                   &["the following required arguments were not provided", "<FILE>..."]),
        (&["previw"],                                            &["unrecognized subcommand 'previw'", "a similar subcommand exists: 'preview'"]),
        (&["export", "--format", "talos", "--talos-version", "1.x"], &["invalid value '1.x' for '--talos-version <VERSION>'", "a Talos version as MAJOR.MINOR, such as 1.12"]),
    ];
    for (args, expected) in cases {
        let out = run(args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        for text in expected {
            assert!(stderr.contains(text), "{args:?}: {text:?} not in\n{stderr}");
        }
    }
}

#[test]
fn a_double_dash_ends_the_options_and_a_dash_reads_stdin() {
    let out = run(&["preview", "--settings", "e2e/fixtures/settings/mapping.json", "--", "-"], MANIFEST);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("Deployment/web\n"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef image-redirect"), ("fish", "complete -c image-redirect")]
    {
        let out = run(&["completions", shell], "");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker) && script.contains("containerd"), "{shell}");
    }
}

/// A fresh directory for one test's output.
fn out_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("image-redirect-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const SINGLE_REGISTRY: &str = "e2e/fixtures/user-data/single-registry.yaml";

#[test]
fn import_palette_writes_the_documents_with_the_secrets_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = out_dir("import");
    std::fs::create_dir_all(&dir).unwrap();
    // An existing secrets.yaml readable by all must not stay so.
    std::fs::write(dir.join("secrets.yaml"), "old").unwrap();
    std::fs::set_permissions(dir.join("secrets.yaml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["import", "palette", SINGLE_REGISTRY, "--out", dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"");
    let d = dir.display();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "warning: stylus.registryCredentials.insecure: skipping TLS verification for \
             10.10.254.254:8000/spectro-images is a setting of each node's container runtime, not of an admission \
             policy (--node-config writes it)\n\
             wrote {d}/settings.yaml\nwrote {d}/policy.yaml\nwrote {d}/secrets.yaml\n"
        )
    );
    let mode = |file: &str| std::fs::metadata(dir.join(file)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("secrets.yaml"), 0o600);
    assert_eq!(mode("settings.yaml") & 0o600, 0o600);
    assert!(std::fs::read_to_string(dir.join("secrets.yaml")).unwrap().contains("kind: Secret"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_palette_strict_exits_2_when_the_policy_cannot_carry_out_everything() {
    let dir = out_dir("import-strict");
    let out = run(&["import", "palette", SINGLE_REGISTRY, "--strict", "--out", dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(dir.join("settings.yaml").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_palette_errors_name_the_user_data_path_write_nothing_and_show_no_credentials() {
    let dir = out_dir("import-error");
    let user_data = "stylus: {registryCredentials: {domain: A.io, username: admin, password: [hunter2]}}";
    let out = run(&["import", "palette", "-", "--out", dir.to_str().unwrap()], user_data);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: -: cannot be imported:\n\
         stylus.registryCredentials.password: expected a string, found a list\n\
         stylus.registryCredentials.domain: \"A.io\" is not a valid registry path: uppercase letters are not allowed\n"
    );
    assert_eq!(out.stdout, b"");
    assert!(!dir.exists());
}

#[test]
fn import_palette_without_out_prints_one_multi_document_yaml() {
    let out = run(&["import", "palette", SINGLE_REGISTRY], "");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<Value> = manifests::documents(&stdout).unwrap().iter().map(|d| d["kind"].clone()).collect();
    assert_eq!(kinds, [Value::Null, json!("ClusterAdmissionPolicy"), json!("Secret")]);
    assert!(stdout.starts_with("# ==> settings.yaml <==\n") && stdout.contains("---\n# ==> secrets.yaml <==\n"));
}

#[test]
fn import_palette_node_config_is_private_and_its_credentials_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    for (example, runtime) in [(SINGLE_REGISTRY, "k3s"), ("e2e/fixtures/user-data/multiple-registries.yaml", "rke2")] {
        let dir = out_dir(&format!("import-node-config-{runtime}"));
        let args = ["import", "palette", example, "--node-config", "--runtime", runtime, "--registry", "quay.io"];
        let out = run(&[&args[..], &["--out", dir.to_str().unwrap()]].concat(), "");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"", "{example}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.ends_with(&format!("wrote {}/node-config.yaml\n", dir.display())), "{stderr}");
        assert!(!stderr.contains("example-password"), "{example}: {stderr}");
        let mode = std::fs::metadata(dir.join("node-config.yaml")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{example}");
        // The credentials are there, in the runtime's own file: the checks above are not vacuous.
        let document = std::fs::read_to_string(dir.join("node-config.yaml")).unwrap();
        assert!(document.contains("password: example-password"), "{example}: {document}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn import_palette_runtime_needs_node_config() {
    let out = run(&["import", "palette", SINGLE_REGISTRY, "--runtime", "rke2"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: --runtime: only where a Kairos document is written (--format kairos, --node-config)\n"
    );
}
