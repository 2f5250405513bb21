//! containerd's `certs.d/<registry>/hosts.toml`, one per source registry, and
//! with `--containerd-version` the `config.toml` snippet that points the CRI
//! plugin at them. A mirror host's CA and TLS checks go into its
//! `[host]` table; hosts.toml has no place for credentials.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{File, Loss, Mirror, Request, access, header, toml};

/// Where containerd reads its configuration.
pub const DIR: &str = "/etc/containerd";
/// Where the CRI plugin looks for `<registry>/hosts.toml`.
pub const CERTS_D: &str = "/etc/containerd/certs.d";

#[derive(Serialize)]
struct HostsToml {
    server: String,
    host: BTreeMap<String, Host>,
}

#[derive(Serialize)]
struct Host {
    capabilities: &'static [&'static str],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    override_path: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skip_verify: bool,
}

/// `config.toml`: its schema version and `[plugins."<plugin>".registry]`.
#[derive(Serialize)]
struct Config<'a> {
    version: u8,
    plugins: BTreeMap<&'a str, BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>>,
}

pub fn files(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<Vec<File>, String> {
    let mut files = Vec::new();
    for mirror in mirrors {
        files.extend(hosts_toml(request, mirror, lost)?);
    }
    if let Some(version) = request.containerd_version {
        files.push(config_snippet(version)?);
    }
    Ok(files)
}

/// The mirror's `hosts.toml`, and the CA file it names.
fn hosts_toml(request: &Request, mirror: &Mirror, lost: &[Loss]) -> Result<Vec<File>, String> {
    let upstream = match mirror.source.as_str() {
        "docker.io" => "registry-1.docker.io",
        other => other,
    };
    let url = mirror.api_url(request.scheme);
    let dir = format!("certs.d/{}", mirror.source);
    let access = access::of(request.access, mirror.host());
    let ca = access.and_then(|access| Some((access.ca.as_ref()?, format!("{dir}/{}", access.ca_file()))));
    // Without `resolve` containerd asks this host only for content by digest;
    // tags are resolved at the `server`.
    let capabilities: &[&str] = if request.digest_only { &["pull"] } else { &["pull", "resolve"] };
    let host = Host {
        capabilities,
        override_path: !mirror.path().is_empty(),
        ca: ca.as_ref().map(|(_, path)| format!("{DIR}/{path}")),
        skip_verify: access.is_some_and(|access| access.insecure),
    };
    let file = HostsToml { server: format!("https://{upstream}"), host: BTreeMap::from([(url, host)]) };
    let reader = format!("containerd reads it at {CERTS_D}/<registry>/hosts.toml");
    let text = toml(header(&reader, lost), &file)?;
    let mut files = vec![File { path: format!("{dir}/hosts.toml"), text }];
    files.extend(ca.map(|(pem, path)| File { path, text: pem.clone() }));
    Ok(files)
}

/// The CRI plugin's registry directory, in the config schema of containerd
/// `major` (1.x: schema 2, the `grpc.v1.cri` plugin; 2.x: schema 3, the
/// `cri.v1.images` plugin).
fn config_snippet(major: u8) -> Result<File, String> {
    let (schema, plugin) = match major {
        1 => (2, "io.containerd.grpc.v1.cri"),
        _ => (3, "io.containerd.cri.v1.images"),
    };
    let registry = BTreeMap::from([("config_path", CERTS_D)]);
    let plugins = BTreeMap::from([(plugin, BTreeMap::from([("registry", registry)]))]);
    let reader = format!(
        "containerd {major}.x reads it at /etc/containerd/conf.d/image-redirect.toml, only when its main \
         config.toml has imports = [\"/etc/containerd/conf.d/*.toml\"]"
    );
    let text = toml(header(&reader, &[]), &Config { version: schema, plugins })?;
    Ok(File { path: "conf.d/image-redirect.toml".to_owned(), text })
}
