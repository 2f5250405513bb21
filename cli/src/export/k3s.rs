//! K3s and RKE2 `registries.yaml`: an endpoint per source registry, and a
//! rewrite that puts the repository under the route's path; with access
//! settings, a `configs` entry per mirror host (credentials, CA, TLS checks).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Access, File, Format, Loss, Mirror, Request, header, yaml};

#[derive(Serialize)]
struct RegistriesYaml<'a> {
    mirrors: BTreeMap<&'a str, Entry>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    configs: BTreeMap<&'a str, Config<'a>>,
}

/// One registry's entry; empty, it only lists the registry for the embedded
/// mirror, which shares what nodes pulled of the registries listed here.
#[derive(Serialize, Default)]
struct Entry {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    endpoint: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    rewrite: BTreeMap<&'static str, String>,
}

/// `configs.<host>`: how the node reaches one endpoint host.
#[derive(Serialize)]
struct Config<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<Auth<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<Tls>,
}

#[derive(Serialize)]
struct Auth<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Tls {
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure_skip_verify: bool,
}

/// Where the runtime reads its configuration.
pub fn dir(format: Format) -> &'static str {
    match format {
        Format::Rke2 => "/etc/rancher/rke2",
        _ => "/etc/rancher/k3s",
    }
}

/// Where CA files go, under [`dir`].
const CA_DIR: &str = "registry-ca";

pub fn files(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<Vec<File>, String> {
    let mut entries = BTreeMap::new();
    for mirror in mirrors {
        let mut entry = Entry { endpoint: vec![format!("{}://{}", request.scheme, mirror.host())], ..Entry::default() };
        if !mirror.path().is_empty() {
            entry.rewrite.insert("^(.*)$", format!("{}/$1", mirror.path()));
        }
        entries.insert(mirror.source.as_str(), entry);
    }
    if request.embedded_registry {
        let shared = match request.registries {
            [] => vec!["*"],
            named => named.iter().map(String::as_str).collect(),
        };
        for registry in shared {
            entries.entry(registry).or_default();
        }
    }
    let dir = dir(request.format);
    let configs = request.access.iter().map(|access| (access.host.as_str(), config(dir, access))).collect();
    let reader = match request.format {
        Format::Rke2 => "RKE2 reads it at /etc/rancher/rke2/registries.yaml",
        _ => "K3s reads it at /etc/rancher/k3s/registries.yaml",
    };
    let text = yaml(header(reader, lost), &RegistriesYaml { mirrors: entries, configs })?;
    let mut files = vec![File { path: "registries.yaml".to_owned(), text }];
    for access in request.access {
        if let Some(ca) = &access.ca {
            files.push(File { path: format!("{CA_DIR}/{}", access.ca_file()), text: ca.clone() });
        }
    }
    Ok(files)
}

fn config<'a>(dir: &str, access: &'a Access) -> Config<'a> {
    let auth = access.credentials.as_ref().map(|(username, password)| Auth { username, password });
    let ca_file = access.ca.as_ref().map(|_| format!("{dir}/{CA_DIR}/{}", access.ca_file()));
    let tls = (ca_file.is_some() || access.insecure).then_some(Tls { ca_file, insecure_skip_verify: access.insecure });
    Config { auth, tls }
}
