//! `image-redirect audit` over cluster dumps, manifests and reports: exactly
//! what it prints (golden files, `UPDATE_GOLDEN=1` rewrites them for review),
//! what it says on stderr, and its exit status, one row per behaviour.

mod common;

use std::path::Path;

use common::run;

const SETTINGS: &str = "cli/tests/settings/audit.yaml";
/// Deployments, ReplicaSets (one scaled to zero), Pods with and without their
/// ReplicaSet, a CronJob with its Job and Pod, static pods, a Pod that never
/// pulls, a CloudNativePG Cluster (a kind the settings list) and its Pod.
const CLUSTER: &str = "cli/tests/audit/cluster.json";
/// The report mode's failures in the four report kinds, with another
/// policy's failure and a pass beside them.
const REPORTS: &str = "cli/tests/audit/reports.json";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn audit_prints_each_workload_once_with_where_each_image_pulls_from() {
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], &str, i32, &str)] = &[
        ("audit.cluster", &[CLUSTER], "", 3,
         "audit: 7 workloads: 1 redirected, 4 would be redirected, 3 outside every mirror, 3 excluded\n"),
        ("audit.cluster", &["-"], include_str!("audit/cluster.json"), 3,
         "audit: 7 workloads: 1 redirected, 4 would be redirected, 3 outside every mirror, 3 excluded\n"),
        ("audit.cluster-json", &["--output", "json", CLUSTER], "", 3,
         "audit: 7 workloads: 1 redirected, 4 would be redirected, 3 outside every mirror, 3 excluded\n"),
        ("audit.node-mirror", &["--node-mirror", "quay.io", "--node-mirror", "docker.io", CLUSTER], "", 3,
         "audit: 7 workloads: 5 redirected, 3 would be redirected, 1 outside every mirror, 2 excluded\n"),
        ("audit.reports", &[REPORTS], "", 3,
         "audit: 4 workloads: 0 redirected, 4 would be redirected, 2 outside every mirror, 0 excluded, \
          3 more failures a report only counts\n"),
        ("audit.reports-json", &["--output", "json", REPORTS], "", 3,
         "audit: 4 workloads: 0 redirected, 4 would be redirected, 2 outside every mirror, 0 excluded, \
          3 more failures a report only counts\n"),
        ("audit.cluster-and-reports", &[CLUSTER, REPORTS], "", 3,
         "audit: 10 workloads: 1 redirected, 7 would be redirected, 4 outside every mirror, 3 excluded, \
          3 more failures a report only counts\n"),
        ("audit.directory", &["cli/tests/audit"], "", 3,
         "audit: 10 workloads: 1 redirected, 7 would be redirected, 4 outside every mirror, 3 excluded, \
          3 more failures a report only counts\n"),
        ("audit.print-images", &["--print-images", CLUSTER], "", 0, ""),
    ];
    let mut stale = Vec::new();
    for (name, args, stdin, code, stderr) in cases {
        let output = run(&[&["audit", "--settings", SETTINGS], *args].concat(), stdin);
        assert_eq!((output.status.code(), text(&output.stderr).as_str()), (Some(*code), *stderr), "{name}");
        let golden = root().join(format!("cli/tests/golden/{name}.txt"));
        let stdout = text(&output.stdout);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &stdout).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(stdout.as_str()) {
            stale.push(golden.display().to_string());
        }
    }
    assert!(stale.is_empty(), "differs from the output (UPDATE_GOLDEN=1 rewrites, then review the diff): {stale:#?}");
}

const REDIRECTED_POD: &str = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "web",
  "annotations": {"image-redirect.io/original-images": "{\"web\":\"nginx:1.27\"}"}},
  "spec": {"containers": [{"name": "web", "image": "harbor.edge.local/dockerhub/library/nginx:1.27"}]}}"#;
const EXCLUDED_POD: &str = "{apiVersion: v1, kind: Pod, metadata: {name: job, namespace: web},
  spec: {containers: [{name: job, image: 'busybox:1.36'}]}}";
const OUTSIDE_POD: &str = "{apiVersion: v1, kind: Pod, metadata: {name: exporter, namespace: web},
  spec: {containers: [{name: exporter, image: 'quay.io/prometheus/node-exporter:v1'}]}}";

#[test]
fn the_exit_status_says_whether_anything_pulls_from_outside_the_mirrors() {
    let cases: &[(&str, &[&str], String, i32, &str)] = &[
        ("redirected images pass", &["-"], REDIRECTED_POD.to_owned(), 0, ""),
        ("excluded images are listed but pass", &["-"], format!("{REDIRECTED_POD}\n---\n{EXCLUDED_POD}"), 0, ""),
        ("nothing to audit passes", &["-"], String::new(), 0, ""),
        ("no input reads stdin", &[], REDIRECTED_POD.to_owned(), 0, ""),
        ("an image outside every mirror fails", &["-"], OUTSIDE_POD.to_owned(), 3, ""),
        ("a registry the nodes mirror passes", &["--node-mirror", "quay.io", "-"], OUTSIDE_POD.to_owned(), 0, ""),
        ("--print-images succeeds whatever it finds", &["--print-images", "-"], OUTSIDE_POD.to_owned(), 0, ""),
        ("input that is not YAML is an error", &["-"], "{".to_owned(), 1, "error: -: document 1:"),
        (
            "a missing file is an error",
            &["cli/tests/audit/missing.json"],
            String::new(),
            1,
            "error: cli/tests/audit/missing.json: No such file or directory (os error 2)\n",
        ),
    ];
    for (name, args, stdin, code, stderr) in cases {
        let output = run(&[&["audit", "--settings", SETTINGS], *args].concat(), stdin);
        assert_eq!(output.status.code(), Some(*code), "{name}: {}", text(&output.stderr));
        assert!(text(&output.stderr).starts_with(stderr), "{name}: {}", text(&output.stderr));
    }
}

#[test]
fn bad_settings_are_an_error() {
    let output = run(&["audit", "--settings", "cli/tests/audit/cluster.json", "-"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).starts_with("error: cli/tests/audit/cluster.json: invalid settings:\n"));
}

#[test]
fn print_images_lists_what_seed_images_copies() {
    let images = run(&["audit", "--settings", SETTINGS, "--print-images", CLUSTER], "");
    let plan = run(&["seed", "--settings", SETTINGS, "--dry-run", "--images", "-"], &text(&images.stdout));
    assert_eq!(
        (plan.status.code(), text(&plan.stdout).as_str()),
        (
            Some(0),
            "copy ghcr.io/acme/report:1 -> harbor.edge.local/ghcr/acme/report:1 (mapping ghcr.io)\n\
             copy ghcr.io/cloudnative-pg/postgresql:16.4 -> harbor.edge.local/ghcr/cloudnative-pg/postgresql:16.4 (mapping ghcr.io)\n\
             copy ghcr.io/acme/api:2.1 -> harbor.edge.local/ghcr/acme/api:2.1 (mapping ghcr.io)\n\
             copy docker.io/library/nginx:1.27 -> harbor.edge.local/dockerhub/library/nginx:1.27 (mapping docker.io)\n"
        )
    );
}

#[test]
fn a_report_mode_failure_reads_back_as_auditing_its_pod() {
    let pod = "{apiVersion: v1, kind: Pod, metadata: {name: mixed, namespace: web}, spec: {containers: [
        {name: web, image: 'nginx:1.27'}, {name: side, image: 'quay.io/x:1'},
        {name: bad, image: 'ghcr.io/a@sha256:zz'}, {name: job, image: 'busybox:1.36'}]}}";
    let report_settings = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-report.yaml");
    let settings = std::fs::read_to_string(root().join(SETTINGS)).unwrap();
    std::fs::write(&report_settings, format!("{settings}action: report\n")).unwrap();
    let preview = run(&["preview", "--settings", report_settings.to_str().unwrap(), "--output", "json", "-"], pod);
    let line: serde_json::Value = serde_json::from_str(text(&preview.stdout).lines().next().unwrap()).unwrap();
    let report = serde_json::json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
        "metadata": {"name": "u-mixed", "namespace": "web"},
        "scope": {"apiVersion": "v1", "kind": "Pod", "name": "mixed", "namespace": "web"},
        "results": [{"policy": "clusterwide-image-redirect-audit", "result": "fail", "message": line["rejected"]}]});
    let audit = |input: &str| {
        let output = run(&["audit", "--settings", SETTINGS, "--output", "json", "-"], input);
        let lines = text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect::<Vec<_>>();
        let failing =
            |line: &serde_json::Value| ["would-redirect", "outside"].contains(&line["status"].as_str().unwrap());
        let mut lines: Vec<serde_json::Value> = lines.into_iter().filter(failing).collect();
        lines.iter_mut().for_each(|line| _ = line.as_object_mut().unwrap().remove("rule"));
        lines
    };
    let from_object = audit(pod);
    assert_eq!(from_object.len(), 3);
    assert_eq!(audit(&report.to_string()), from_object);
}
