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

/// The CPU time (user and system) of the children this process has waited
/// for: what the commands a benchmark ran cost, apart from the registries it
/// keeps running.
pub fn waited_children_cpu_time() -> Duration {
    cpu_time("self", 13)
}

/// Fields `first` and `first + 1` (0-based, after the command name) of
/// `/proc/<pid>/stat` as a CPU time: stat(5)'s utime/stime or cutime/cstime.
pub(crate) fn cpu_time(pid: &str, first: usize) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = fields.get(first..first + 2).into_iter().flatten().filter_map(|f| f.parse::<u64>().ok()).sum();
    // USER_HZ, which Linux fixes at 100 for what /proc reports.
    Duration::from_millis(ticks * 10)
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
