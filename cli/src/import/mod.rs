//! Palette Edge user-data as this policy's documents: its settings, a
//! ClusterAdmissionPolicy carrying them, and the pull secrets they name.
//!
//! Only the registry fields of the `stylus` block are read (everything else
//! in a `#cloud-config` file is someone else's business). Each value read is
//! remembered with its user-data path, so that when the policy's own
//! [`Settings`](image_redirect_policy::settings::Settings) refuse the result,
//! its errors (`mappings[1].target: …`) come back as the operator wrote them
//! (`stylus.externalRegistries.registryMappingRules["x"]: …`).
//! What the policy cannot carry out is never dropped in silence: it is a
//! warning, and a comment at the top of the documents.
//!
//! The data flows one way: `read` takes the registry fields out of the
//! user-data, `plan` turns them into settings and pull secrets, `render`
//! writes the documents.

mod plan;
mod read;
mod render;

use image_redirect_policy::settings::{Settings, namespace_name};
use serde_norway::Value;

use crate::export::{self, File, Format, Kairos, Request};
use plan::{Plan, check, plan};
use read::{Report, read};
use render::{Metadata, header, secrets, yaml};

/// The policy's metadata: its rules, and where this version is published.
pub const METADATA: &str = include_str!("../../../policy-metadata/metadata.yml");

/// What the command line adds to the user-data.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The local Harbor of the Harbor Edge-Native Config pack, which Palette
    /// configures in the cluster profile rather than in user-data.
    pub primary_registry: Option<&'a str>,
    pub secret_namespace: &'a str,
    /// The policy's module; [`default_module`] when absent.
    pub module: Option<&'a str>,
    /// Also write node-config.yaml, the Kairos document for the nodes.
    pub node_config: Option<NodeConfig<'a>>,
}

/// How the node configuration is exported (as `export --format kairos`).
#[derive(Debug, Clone, Copy)]
pub struct NodeConfig<'a> {
    pub kairos: Kairos<'a>,
    /// The registries to mirror under a prefix (`--registry`).
    pub registries: &'a [String],
    pub scheme: &'a str,
}

/// The documents to write, and what the operator must hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub settings: String,
    pub policy: String,
    /// Only when the settings name a pull secret.
    pub secrets: Option<String>,
    /// The Kairos document for the nodes, with `--node-config`; it may hold credentials.
    pub node_config: Option<String>,
    /// What the policy cannot carry out, one line each.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// A file `import` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    pub file: &'static str,
    pub text: &'a str,
    /// It holds credentials: readable by its owner only.
    pub private: bool,
}

impl Import {
    /// The documents, in the order they are printed.
    pub fn documents(&self) -> Vec<Document<'_>> {
        let public = |file, text| Document { file, text, private: false };
        let mut documents = vec![public("settings.yaml", &self.settings), public("policy.yaml", &self.policy)];
        let secrets = self.secrets.as_deref().map(|text| Document { file: "secrets.yaml", text, private: true });
        documents.extend(secrets);
        let node_config = self.node_config.as_deref();
        documents.extend(node_config.map(|text| Document { file: "node-config.yaml", text, private: true }));
        documents
    }
}

/// Imports `user_data`; on error, every problem, each naming its user-data
/// path (or command-line option), and nothing else.
pub fn palette(user_data: &str, options: &Options) -> Result<Import, Vec<String>> {
    let metadata = Metadata::read()?;
    let document: Value = serde_norway::from_str(user_data).map_err(|e| vec![format!("not YAML: {e}")])?;
    let mut report = Report::default();
    let read = read(&document, options.primary_registry, options.node_config.is_some(), &mut report);
    let plan = plan(read, &mut report);
    let Report { mut errors, warnings, mut notes } = report;
    check(&plan, &mut errors)?;

    // Only after the settings' check, which takes any error before it for one in the user-data.
    if let Err(why) = namespace_name(options.secret_namespace) {
        let namespace = options.secret_namespace;
        errors.push(format!("--secret-namespace: {namespace:?} is not a valid namespace name: {why}"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let header = header(&warnings, &notes);
    // Its notes are the node's: not in the header of the policy's documents.
    let node_config = options.node_config.map(|node| node_config(&plan, &node, &mut notes)).transpose()?;
    let module = options.module.map_or_else(|| metadata.module(), str::to_owned);
    Ok(Import {
        settings: format!("{header}{}", yaml(&plan.settings)?),
        policy: format!("{header}{}", yaml(&metadata.policy(&module, &plan.settings))?),
        secrets: secrets(&plan.secrets, options.secret_namespace)?,
        node_config,
        warnings,
        notes,
    })
}

/// The Kairos document of the imported settings, the nodes' credentials and
/// trust settings in the runtime's own files; what the nodes cannot do is a
/// note (the policy does it), never a line holding credentials.
fn node_config(plan: &Plan, node: &NodeConfig, notes: &mut Vec<String>) -> Result<String, Vec<String>> {
    let text = serde_json::to_string(&plan.settings).map_err(|e| vec![e.to_string()])?;
    let settings = Settings::from_json(&text).map_err(|refused| refused.0)?;
    let request = Request {
        format: Format::Kairos,
        registries: node.registries,
        scheme: node.scheme,
        kairos: node.kairos,
        access: &plan.access,
        ..Request::default()
    };
    let export = export::export(&settings, &request).map_err(|e| vec![e])?;
    let runtime = node.kairos.runtime;
    if runtime == Format::Containerd {
        for access in plan.access.iter().filter(|access| access.credentials.is_some()) {
            notes.push(format!(
                "node-config.yaml: containerd's hosts.toml has no place for the credentials of {}: the nodes \
                 pull from it with the Pods' pull secrets only",
                access.host
            ));
        }
    }
    notes.extend(export.notes.iter().map(|note| format!("node-config.yaml: {note}")));
    notes.extend(export.lost.iter().map(|loss| format!("node-config.yaml: not carried out at the nodes: {loss}")));
    let [file] =
        <[File; 1]>::try_from(export.files).map_err(|files| vec![format!("{} Kairos documents", files.len())])?;
    Ok(file.text)
}

/// The module this version is published as: `registry://<ociUrl>:v<version>`.
pub fn default_module() -> Result<String, Vec<String>> {
    Metadata::read().map(|metadata| metadata.module())
}

/// The pull secret for the registry at `domain`: named after it, so that
/// importing the same user-data again names it the same, `image-redirect-`
/// then the domain with every character a Secret name cannot hold as `-`.
pub fn secret_name(domain: &str) -> String {
    let name: String = domain
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .collect();
    // Each dot-separated part of a Secret name starts and ends with a letter or digit.
    let parts: Vec<&str> = name.split('.').map(|part| part.trim_matches('-')).collect();
    format!("image-redirect-{}", parts.join("."))
}
