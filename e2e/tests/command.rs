//! The `image-redirect-e2e` binary as users run it instead of `kwctl run`:
//! output, exit status, and answers shaped like kwctl's.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy() -> String {
    std::env::var("POLICY_WASM").unwrap_or_else(|_| root().join("policy.wasm").display().to_string())
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_image-redirect-e2e")).args(args).current_dir(root()).output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const REQUEST: &str = "e2e/fixtures/requests/pod-palette-prefix.json";

#[test]
fn run_prints_the_admission_response_and_the_images_as_kwctl_would() {
    let policy = policy();
    let out =
        run(&["run", "--policy", &policy, "--settings", "e2e/fixtures/settings/prefix-all.json", "--request", REQUEST]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let response = stdout_json(&out);
    assert_eq!((&response["allowed"], &response["patchType"]), (&json!(true), &json!("JSONPatch")));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "  quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1 -> \
             10.10.254.254:8000/spectro-images/quay.io/kairos/core-ubuntu-20-lts-rke2:v1.25.2-rke2r1\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_failing_policy_is_a_rejection_with_code_500_and_exit_status_0() {
    let out = run(&[
        "run",
        "--policy",
        "e2e/fixtures/guests/failing-validate.wat",
        "--settings",
        "e2e/fixtures/settings/mapping.json",
        "--request",
        REQUEST,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        stdout_json(&out),
        json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": false,
               "status": {"message": "Guest call failure: validate failed on purpose", "code": 500}})
    );
}

#[test]
fn settings_the_policy_refuses_are_an_error() {
    let policy = policy();
    let out =
        run(&["run", "--policy", &policy, "--settings", "e2e/fixtures/settings/invalid.json", "--request", REQUEST]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("Provided settings are not valid: mappings[0].target: "), "{stderr}");
}

#[test]
fn every_command_has_help_with_an_example_and_the_version_is_known() {
    for command in ["demo", "run"] {
        let out = run(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains(&format!("image-redirect-e2e {command} ")), "{command}:\n{help}");
    }
    let out = run(&["--version"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("image-redirect-e2e {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn command_line_mistakes_name_the_flag_and_fail_with_status_1() {
    let out = run(&["run", "--setings", "s.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unexpected argument '--setings'") && stderr.contains("'--settings'"), "{stderr}");
}
