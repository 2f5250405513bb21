//! The `image-redirect` binary as users run it: output, stderr, exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_image-redirect"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

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
fn strict_export_fails_when_a_rule_is_lost_and_says_which() {
    let out = run(&["export", "--format", "k3s", "--settings", "e2e/fixtures/settings/mapping.json", "--strict"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("warning: not carried out at the node: mapping somedomain.com/somepath"), "{stderr}");
    assert!(String::from_utf8(out.stdout).unwrap().contains("\"^(.*)$\": \"dockerhub/$1\""));
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
