//! Kairos, the OS under Palette Edge: a `#cloud-config` document whose stage
//! writes the files of a runtime's export (K3s, RKE2 or containerd) where that
//! runtime reads them. Kairos has no mirror settings of its own, and its `/etc`
//! does not keep hand-made files across boots: a stage that runs at every boot
//! is how a node keeps them.

use std::collections::BTreeMap;

use image_redirect_policy::settings::Settings;
use serde::Serialize;

use super::{Export, File, Format, Request, containerd, header, k3s, yaml};

/// The stage that runs at every boot, before K3s and RKE2 start and read
/// their `registries.yaml` (and before containerd pulls anything).
pub const DEFAULT_STAGE: &str = "boot";

/// What `--format kairos` writes, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kairos<'a> {
    /// The runtime whose files the stage writes.
    pub runtime: Format,
    /// The yip stage (`boot`, `boot.before`, `network`, `reconcile`…).
    pub stage: &'a str,
}

impl Default for Kairos<'_> {
    fn default() -> Self {
        Self { runtime: Format::K3s, stage: DEFAULT_STAGE }
    }
}

impl Kairos<'_> {
    /// The runtimes Kairos nodes run, whose files the document can write.
    pub const RUNTIMES: [Format; 3] = [Format::K3s, Format::Rke2, Format::Containerd];
}

#[derive(Serialize)]
struct CloudConfig<'a> {
    stages: BTreeMap<&'a str, [Step<'a>; 1]>,
}

#[derive(Serialize)]
struct Step<'a> {
    name: &'static str,
    files: Vec<FileEntry<'a>>,
}

/// One yip `files[]` entry. `permissions` is an integer (Go `uint32`),
/// written in decimal: YAML parsers disagree on whether `0644` is octal.
#[derive(Serialize)]
struct FileEntry<'a> {
    path: String,
    content: &'a str,
    permissions: u32,
}

/// The runtime's export, its files wrapped into one Kairos document; the
/// losses and notes are the runtime's own.
pub fn export(settings: &Settings, request: &Request) -> Result<Export, String> {
    let Kairos { runtime, stage } = request.kairos;
    if !Kairos::RUNTIMES.contains(&runtime) {
        let names: Vec<&str> = Kairos::RUNTIMES.map(Format::name).to_vec();
        return Err(format!("--runtime {}: Kairos nodes run {}", runtime.name(), names.join(", ")));
    }
    if stage.trim().is_empty() {
        return Err("--kairos-stage: a stage name, such as boot".to_owned());
    }
    let inner = super::export(settings, &Request { format: runtime, ..request.clone() })?;
    // Credentials must not be readable by every user of the node.
    let permissions = if request.access.iter().any(|access| access.credentials.is_some()) { 0o600 } else { 0o644 };
    let files = inner
        .files
        .iter()
        .map(|file| FileEntry { path: node_path(runtime, file), content: &file.text, permissions })
        .collect();
    let step = Step { name: "image-redirect: registry mirrors", files };
    let reader = format!(
        "Kairos runs its {stage} stage from a cloud-config file in /oem/ or /usr/local/cloud-config/, or from \
         the node's user-data (merge this `stages` block into it); the files are {}'s",
        runtime.name()
    );
    // cloud-config is recognised by its first line only: the header comes after it.
    let text = yaml(
        format!("#cloud-config\n{}", header(&reader, &inner.lost)),
        &CloudConfig { stages: BTreeMap::from([(stage, [step])]) },
    )?;
    let file = File { path: "image-redirect.yaml".to_owned(), text };
    Ok(Export { files: vec![file], ..inner })
}

/// Where `file` of the runtime's export lies on the node: the export lays
/// its files out as under the runtime's configuration directory.
fn node_path(runtime: Format, file: &File) -> String {
    let dir = match runtime {
        Format::Containerd => containerd::DIR,
        other => k3s::dir(other),
    };
    format!("{dir}/{}", file.path)
}
