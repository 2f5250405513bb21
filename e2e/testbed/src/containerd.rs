//! Debian's containerd as a plain process (no system service), driven by `ctr`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::{Scratch, installed, wait_until};

/// Only what pulls need: without the CRI plugin containerd starts no
/// streaming server and looks for no CNI configuration.
const CONFIG: &str = "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n";

/// containerd with its own root, state dir and socket in a scratch dir,
/// stopped by PID and removed on drop.
pub struct Containerd {
    process: Child,
    dir: Scratch,
    socket: PathBuf,
}

impl Containerd {
    /// Starts containerd, or says why it cannot run here.
    pub fn start(name: &str) -> Result<Self, String> {
        if !installed("containerd") || !installed("ctr") {
            return Err("containerd is not installed (`make runtime-tools` as root installs Debian's)".to_owned());
        }
        let uid = std::fs::metadata("/proc/self").map_err(|e| format!("/proc/self: {e}"))?.uid();
        if uid != 0 {
            return Err(format!("containerd needs root, and the tests run as uid {uid}"));
        }
        let dir = Scratch::new(&format!("containerd-{name}"));
        let socket = dir.path().join("containerd.sock");
        std::fs::write(dir.path().join("config.toml"), CONFIG).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("containerd.log")).map_err(|e| e.to_string())?;
        let process = Command::new("containerd")
            .arg("--root")
            .arg(dir.path().join("root"))
            .arg("--state")
            .arg(dir.path().join("state"))
            .arg("--address")
            .arg(&socket)
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("containerd does not start: {e}"))?;
        let mut containerd = Self { process, dir, socket };
        if !wait_until(15, || containerd.exited() || containerd.serving()) || containerd.exited() {
            return Err(format!(
                "containerd did not serve {}: {}",
                containerd.socket.display(),
                containerd.last_log_line()
            ));
        }
        Ok(containerd)
    }

    /// Pulls `image` (and unpacks it), resolving registries through
    /// `hosts_dir` (`<registry>/hosts.toml`, as under
    /// `/etc/containerd/certs.d`); returns the manifest digest containerd
    /// recorded, or ctr's error.
    pub fn pull(&self, image: &str, hosts_dir: &Path) -> Result<String, String> {
        // The native snapshotter unpacks anywhere; overlayfs may be missing in a sandbox.
        let pull = self
            .ctr()
            .args(["images", "pull", "--snapshotter", "native", "--hosts-dir"])
            .arg(hosts_dir)
            .arg(image)
            .output()
            .expect("ctr runs");
        if !pull.status.success() {
            return Err(String::from_utf8_lossy(&pull.stderr).trim().to_owned());
        }
        self.images()
            .into_iter()
            .find_map(|(name, digest)| (name == image).then_some(digest))
            .ok_or_else(|| format!("{image} is not among containerd's images after the pull"))
    }

    /// Imports the image archive at `archive` (`ctr images import`, every
    /// platform); returns containerd's images afterwards as `(name, digest)`.
    pub fn import(&self, archive: &Path) -> Result<Vec<(String, String)>, String> {
        let import = self
            .ctr()
            .args(["images", "import", "--all-platforms", "--snapshotter", "native"])
            .arg(archive)
            .output()
            .expect("ctr runs");
        if !import.status.success() {
            return Err(String::from_utf8_lossy(&import.stderr).trim().to_owned());
        }
        Ok(self.images())
    }

    /// containerd's images as `(name, digest)`, from `ctr images ls`.
    fn images(&self) -> Vec<(String, String)> {
        let list = self.ctr().args(["images", "ls"]).output().expect("ctr runs");
        // REF TYPE DIGEST SIZE PLATFORMS LABELS, under a header line
        String::from_utf8_lossy(&list.stdout)
            .lines()
            .skip(1)
            .filter_map(|line| {
                let columns: Vec<&str> = line.split_whitespace().collect();
                Some(((*columns.first()?).to_owned(), (*columns.get(2)?).to_owned()))
            })
            .collect()
    }

    /// `ctr`, talking to this containerd.
    fn ctr(&self) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address").arg(&self.socket);
        ctr
    }

    fn serving(&self) -> bool {
        self.socket.exists() && self.ctr().arg("version").output().is_ok_and(|o| o.status.success())
    }

    fn exited(&mut self) -> bool {
        self.process.try_wait().is_ok_and(|status| status.is_some())
    }

    fn last_log_line(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default();
        log.lines().last().unwrap_or("no log").to_owned()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
