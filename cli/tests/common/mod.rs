//! The `image-redirect` binary as users run it, for the command tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `image-redirect ARGS` from the repository's root (where the tests'
/// relative fixture paths start), `stdin` written to it.
pub fn run(args: &[&str], stdin: &str) -> Output {
    run_with(&[], args, stdin)
}

/// [`run`] with `env` added to the command's environment.
pub fn run_with(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_image-redirect"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
