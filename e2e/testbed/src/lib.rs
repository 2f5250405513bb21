//! Real registries and container runtimes for tests, started as plain
//! processes in scratch directories and stopped by PID on drop: Debian's
//! `docker-registry` filled with `skopeo`, and `containerd` driven by `ctr`.
//!
//! Shared by the e2e tests (mirror checks, the policy as an OCI artifact) and
//! the native command's tests (pulls through the exported node configuration).

mod containerd;
mod images;
mod registry;

pub use containerd::Containerd;
pub use images::Copied;
pub use registry::TestRegistry;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A directory of its own under the system's temp dir, removed on drop.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// `name` tells apart the scratch dirs of one test process.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("image-redirect-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `tool` is on PATH.
pub fn installed(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// Polls `ready` until it holds or `seconds` pass; whether it held.
pub fn wait_until(seconds: u64, mut ready: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() > Duration::from_secs(seconds) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// `size` bytes of their own for each `seed`, which compress as little as a
/// real layer does: weight for copies to take time over.
pub fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            // xorshift64: cheap, and no pattern a registry or a disk would notice.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
