//! The documents an import writes: settings.yaml, policy.yaml (a
//! ClusterAdmissionPolicy) and secrets.yaml (the pull secrets).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_norway::Value;

use super::METADATA;
use super::plan::{PullSecret, SettingsDoc};
use super::read::Credentials;

/// The parts of `policy-metadata/metadata.yml` a ClusterAdmissionPolicy repeats.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Metadata {
    rules: Value,
    mutating: bool,
    background_audit: bool,
    annotations: BTreeMap<String, String>,
}

impl Metadata {
    pub(super) fn read() -> Result<Self, Vec<String>> {
        serde_norway::from_str(METADATA).map_err(|e| vec![format!("policy-metadata/metadata.yml: {e}")])
    }

    fn annotation(&self, key: &str) -> &str {
        self.annotations.get(key).map_or("", String::as_str)
    }

    pub(super) fn module(&self) -> String {
        let (url, version) =
            (self.annotation("io.kubewarden.policy.ociUrl"), self.annotation("io.kubewarden.policy.version"));
        format!("registry://{url}:v{version}")
    }

    /// A ClusterAdmissionPolicy as in `examples/`, honouring Palette's
    /// per-namespace opt-out label.
    pub(super) fn policy<'a>(&'a self, module: &'a str, settings: &'a SettingsDoc) -> PolicyDoc<'a> {
        let keys = ["io.kubewarden.policy.category", "io.kubewarden.policy.severity"];
        PolicyDoc {
            api_version: "policies.kubewarden.io/v1",
            kind: "ClusterAdmissionPolicy",
            metadata: PolicyMetadata {
                name: "image-redirect",
                annotations: keys.into_iter().map(|key| (key, self.annotation(key))).collect(),
            },
            spec: Spec {
                module,
                namespace_selector: json!({"matchExpressions": [
                    {"key": "stylus.io/imageswap", "operator": "NotIn", "values": ["disable"]}
                ]}),
                settings,
                rules: &self.rules,
                mutating: self.mutating,
                background_audit: self.background_audit,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PolicyDoc<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: PolicyMetadata<'a>,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct PolicyMetadata<'a> {
    name: &'static str,
    annotations: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    module: &'a str,
    namespace_selector: serde_json::Value,
    settings: &'a SettingsDoc,
    rules: &'a Value,
    mutating: bool,
    background_audit: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretDoc<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: SecretMetadata<'a>,
    #[serde(rename = "type")]
    kind_of_secret: &'static str,
    data: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct SecretMetadata<'a> {
    name: &'a str,
    namespace: &'a str,
}

/// One `kubernetes.io/dockerconfigjson` Secret per registry, keyed by its
/// domain (path included: the kubelet matches credentials on path prefixes).
pub(super) fn secrets(secrets: &[PullSecret], namespace: &str) -> Result<Option<String>, Vec<String>> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let mut out = format!(
        "# Pull secrets imported from Palette Edge user-data by `image-redirect import palette`.\n\
         # They hold credentials. A pull secret must exist in every namespace whose Pods use it: these are in\n\
         # {namespace}; create them, with the same names, in each namespace whose Pods pull from these registries.\n"
    );
    for (i, PullSecret { name, domain, credentials: Credentials { username, password } }) in secrets.iter().enumerate()
    {
        let auth = BASE64.encode(format!("{username}:{password}"));
        let config = json!({"auths": {domain: {"username": username, "password": password, "auth": auth}}});
        let secret = SecretDoc {
            api_version: "v1",
            kind: "Secret",
            metadata: SecretMetadata { name, namespace },
            kind_of_secret: "kubernetes.io/dockerconfigjson",
            data: BTreeMap::from([(".dockerconfigjson", BASE64.encode(config.to_string()))]),
        };
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml(&secret)?);
    }
    Ok(Some(out))
}

/// The lines every generated document opens with: where it comes from, and
/// what the operator must know about it.
pub(super) fn header(warnings: &[String], notes: &[String]) -> String {
    let mut out = String::from("# Imported from Palette Edge user-data by `image-redirect import palette`.\n");
    for (title, lines) in [("Not carried out by the policy:", warnings), ("Notes:", notes)] {
        if !lines.is_empty() {
            let _ = writeln!(out, "# {title}");
        }
        for line in lines {
            let _ = writeln!(out, "#   - {line}");
        }
    }
    out
}

pub(super) fn yaml(value: &impl Serialize) -> Result<String, Vec<String>> {
    serde_norway::to_string(value).map_err(|e| vec![e.to_string()])
}
