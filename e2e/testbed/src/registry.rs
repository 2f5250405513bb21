//! Debian's docker-registry on a free port of 127.0.0.1, filled with skopeo.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Scratch, installed, wait_until};

/// A registry process with its own storage, stopped and removed on drop.
pub struct TestRegistry {
    process: Child,
    dir: Scratch,
    /// `127.0.0.1:PORT`, plain HTTP.
    pub host: String,
}

impl TestRegistry {
    pub fn start(name: &str) -> Self {
        Self::start_with(name, None, None)
    }

    /// A registry that refuses every request without `user`'s password
    /// (HTTP basic authentication, an htpasswd file as docker-registry reads it).
    pub fn start_with_login(name: &str, user: &str, password: &str) -> Self {
        Self::start_with(name, Some((user, password)), None)
    }

    /// A registry on port 80 of the loopback address `ip`, named by the
    /// address alone: a registry with a port cannot become a path segment
    /// under a prefix, one on port 80 can. Binding port 80 needs root.
    pub fn start_on_port_80(name: &str, ip: &str) -> Self {
        Self::start_with(name, None, Some(ip))
    }

    fn start_with(name: &str, login: Option<(&str, &str)>, ip: Option<&str>) -> Self {
        for tool in ["docker-registry", "skopeo"] {
            assert!(
                installed(tool),
                "{tool} is not installed: run `make registry-tools` (Debian packages docker-registry and skopeo)"
            );
        }
        let dir = Scratch::new(&format!("registry-{name}"));
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let (host, addr) = match ip {
            Some(ip) => (ip.to_owned(), format!("{ip}:80")),
            None => {
                let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                (format!("127.0.0.1:{port}"), format!("127.0.0.1:{port}"))
            }
        };
        let mut config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\nlog:\n  level: error\n",
            storage.display()
        );
        if let Some((user, password)) = login {
            let logins = dir.path().join("htpasswd");
            htpasswd(&logins, user, password);
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: test\n    path: {}\n", logins.display()));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let process = serve(dir.path());
        let registry = Self { process, dir, host };
        registry.wait_listening();
        registry
    }

    /// Starts the registry again, on its address and store, after [`Self::stop`]
    /// (its log goes on).
    pub fn restart(&mut self) {
        self.stop();
        self.process = serve(self.dir.path());
        self.wait_listening();
    }

    fn wait_listening(&self) {
        let addr = if self.host.contains(':') { self.host.clone() } else { format!("{}:80", self.host) };
        assert!(wait_until(15, || TcpStream::connect(&addr).is_ok()), "the registry did not listen on {addr}");
    }

    /// Copies a minimal image (one empty layer) to `repository:tag` with
    /// skopeo, from an OCI layout built here; returns the manifest digest the
    /// registry reports for it (skopeo re-serialises the manifest on the way).
    pub fn push_image(&self, repository: &str, tag: &str) -> String {
        let layout = self.dir.path().join(format!("layout-{}", repository.replace('/', "_")));
        let blob = |bytes: &[u8]| -> (String, usize) {
            let hex = format!("{:x}", Sha256::digest(bytes));
            std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
            std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
            (format!("sha256:{hex}"), bytes.len())
        };
        let layer = vec![0u8; 1024]; // an empty tar archive
        let (layer_digest, layer_size) = blob(&layer);
        let config = json!({"architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}});
        let (config_digest, config_size) = blob(config.to_string().as_bytes());
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]});
        let (manifest_digest, manifest_size) = blob(manifest.to_string().as_bytes());
        let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": tag}}]});
        std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
        std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let status = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repository}:{tag}", self.host))
            .stdout(Stdio::null())
            .status()
            .expect("skopeo runs");
        assert!(status.success(), "skopeo copy to {}/{repository}:{tag}", self.host);
        let inspect = Command::new("skopeo")
            .args(["--insecure-policy", "inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{}/{repository}:{tag}", self.host))
            .output()
            .expect("skopeo runs");
        assert!(inspect.status.success(), "skopeo inspect {}/{repository}:{tag}", self.host);
        String::from_utf8(inspect.stdout).unwrap().trim().to_owned()
    }

    /// The requests the registry has answered so far, oldest first, as
    /// `METHOD /path` (its access log): evidence of what a client asked.
    pub fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        log.lines().filter_map(|line| line.split_once("] \"")?.1.split(" HTTP/").next()).map(str::to_owned).collect()
    }

    /// The file holding blob `digest` in the registry's storage, to alter it
    /// behind the registry's back.
    pub fn blob_file(&self, digest: &str) -> std::path::PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Waits for the access log to show `request` (a line is written just
    /// after its response is sent, so a client may be done before it is);
    /// whether it did within 5 seconds.
    pub fn logged(&self, request: &str) -> bool {
        wait_until(5, || self.requests().iter().any(|r| r == request))
    }

    /// The CPU time (user and system) the registry process has spent so far:
    /// what a copy costs the registries, beside the client's own time.
    pub fn cpu_time(&self) -> std::time::Duration {
        // utime and stime: fields 14 and 15 of stat(5).
        crate::cpu_time(&self.process.id().to_string(), 11)
    }

    pub fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// docker-registry serving the config of `dir`, its log appended to `dir`'s.
fn serve(dir: &std::path::Path) -> Child {
    let log = std::fs::File::options().create(true).append(true).open(dir.join("registry.log")).unwrap();
    Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry starts")
}

/// Writes `user`'s bcrypt hash (the only kind docker-registry takes) to `path`.
fn htpasswd(path: &std::path::Path, user: &str, password: &str) {
    assert!(
        installed("htpasswd"),
        "htpasswd is not installed: run `make registry-tools` (Debian package apache2-utils)"
    );
    let status = Command::new("htpasswd")
        .args(["-Bbc", &path.display().to_string(), user, password])
        .stderr(Stdio::null())
        .status()
        .expect("htpasswd runs");
    assert!(status.success(), "htpasswd {}", path.display());
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
