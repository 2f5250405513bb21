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

use image_redirect_policy::settings::namespace_name;
use serde_norway::Value;

use plan::{check, plan};
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
}

/// The documents to write, and what the operator must hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub settings: String,
    pub policy: String,
    /// Only when the settings name a pull secret.
    pub secrets: Option<String>,
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
        documents
    }
}

/// Imports `user_data`; on error, every problem, each naming its user-data
/// path (or command-line option), and nothing else.
pub fn palette(user_data: &str, options: &Options) -> Result<Import, Vec<String>> {
    let metadata = Metadata::read()?;
    let document: Value = serde_norway::from_str(user_data).map_err(|e| vec![format!("not YAML: {e}")])?;
    let mut report = Report::default();
    let read = read(&document, options.primary_registry, &mut report);
    let plan = plan(read, &mut report);
    let Report { mut errors, warnings, notes } = report;
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
    let module = options.module.map_or_else(|| metadata.module(), str::to_owned);
    Ok(Import {
        settings: format!("{header}{}", yaml(&plan.settings)?),
        policy: format!("{header}{}", yaml(&metadata.policy(&module, &plan.settings))?),
        secrets: secrets(&plan.secrets, options.secret_namespace)?,
        warnings,
        notes,
    })
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
