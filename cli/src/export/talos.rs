//! Talos machine configuration: a patch of `machine.registries.mirrors`, or,
//! from Talos 1.12 (which deprecates that field), one `RegistryMirrorConfig`
//! document per source registry. Talos writes containerd's `hosts.toml` from
//! either, so a route with a path is the API root itself, as for containerd.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{File, Loss, Mirror, Request, header, yaml, yaml_documents};

/// The first release that reads `RegistryMirrorConfig` documents.
const DOCUMENTS_SINCE: (u16, u16) = (1, 12);

/// `MAJOR.MINOR` as `--talos-version` takes it (`1.12`; a patch release is
/// ignored: `1.12.3`).
pub fn parse_version(text: &str) -> Result<(u16, u16), String> {
    let mut parts = text.split('.');
    let mut number = || parts.next().and_then(|part| part.parse::<u16>().ok());
    match (number(), number()) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => Err(format!("{text:?}: a Talos version as MAJOR.MINOR, such as 1.12")),
    }
}

#[derive(Serialize)]
struct Patch<'a> {
    machine: Machine<'a>,
}

#[derive(Serialize)]
struct Machine<'a> {
    registries: Registries<'a>,
}

#[derive(Serialize)]
struct Registries<'a> {
    mirrors: BTreeMap<&'a str, LegacyMirror>,
}

/// `machine.registries.mirrors.<registry>`: `overridePath` is the mirror's,
/// for all its endpoints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LegacyMirror {
    endpoints: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    override_path: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skip_fallback: bool,
}

/// `RegistryMirrorConfig` (v1alpha1): `overridePath` is each endpoint's.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorDocument<'a> {
    api_version: &'static str,
    kind: &'static str,
    name: &'a str,
    endpoints: [Endpoint; 1],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skip_fallback: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    override_path: bool,
}

pub fn file(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<File, String> {
    let text = match request.talos_version.is_some_and(|version| version >= DOCUMENTS_SINCE) {
        true => documents(request, mirrors, lost)?,
        false => patch(request, mirrors, lost)?,
    };
    Ok(File { path: "talos-registries.yaml".to_owned(), text })
}

fn patch(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<String, String> {
    let reader =
        "Talos reads it as a machine configuration patch: talosctl patch machineconfig --patch @talos-registries.yaml";
    let mirrors = mirrors
        .iter()
        .map(|mirror| {
            let entry = LegacyMirror {
                endpoints: vec![mirror.api_url(request.scheme)],
                override_path: !mirror.path().is_empty(),
                skip_fallback: request.no_fallback,
            };
            (mirror.source.as_str(), entry)
        })
        .collect();
    yaml(header(reader, lost), &Patch { machine: Machine { registries: Registries { mirrors } } })
}

fn documents(request: &Request, mirrors: &[Mirror], lost: &[Loss]) -> Result<String, String> {
    let reader = "Talos 1.12 or later reads these documents as a machine configuration patch: talosctl patch \
                  machineconfig --patch @talos-registries.yaml";
    let documents: Vec<_> = mirrors
        .iter()
        .map(|mirror| MirrorDocument {
            api_version: "v1alpha1",
            kind: "RegistryMirrorConfig",
            name: &mirror.source,
            endpoints: [Endpoint { url: mirror.api_url(request.scheme), override_path: !mirror.path().is_empty() }],
            skip_fallback: request.no_fallback,
        })
        .collect();
    yaml_documents(header(reader, lost), &documents)
}
