//! K3s and RKE2 `registries.yaml`: an endpoint per source registry, and a
//! rewrite that puts the repository under the route's path.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{File, Format, Loss, Mirror, Request, header, yaml};

#[derive(Serialize)]
struct RegistriesYaml<'a> {
    mirrors: BTreeMap<&'a str, Entry>,
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

pub fn registries_yaml(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<File, String> {
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
    let reader = match request.format {
        Format::Rke2 => "RKE2 reads it at /etc/rancher/rke2/registries.yaml",
        _ => "K3s reads it at /etc/rancher/k3s/registries.yaml",
    };
    let text = yaml(header(reader, lost), &RegistriesYaml { mirrors: entries })?;
    Ok(File { path: "registries.yaml".to_owned(), text })
}
