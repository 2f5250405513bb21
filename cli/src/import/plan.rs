//! User-data as the policy's settings and the pull secrets they name, with
//! the user-data path each settings field came from.

use std::collections::BTreeMap;

use image_redirect_policy::reference::{self, RegistryPath};
use image_redirect_policy::settings::Settings;
use serde::Serialize;

use crate::export::Access;

use super::read::{Credentials, PRIMARY, Registry, Report, Rule, UserData};
use super::secret_name;

const EXTERNAL: &str = "stylus.externalRegistries";
const RULES: &str = "stylus.externalRegistries.registryMappingRules";

/// The settings through the policy's own checks, its errors named by the
/// user-data paths the fields came from.
pub(super) fn check(plan: &Plan, errors: &mut Vec<String>) -> Result<(), Vec<String>> {
    let text = serde_json::to_string(&plan.settings).map_err(|e| vec![e.to_string()])?;
    if let Err(refused) = Settings::from_json(&text) {
        // With the user-data already in error, "nothing to redirect" may only
        // mean that a block could not be read: keep what names a field.
        let shown = |line: &&String| errors.is_empty() || field(line).is_some();
        let refused: Vec<String> = refused.0.iter().filter(shown).map(|line| plan.origins.translate(line)).collect();
        errors.extend(refused);
    }
    Ok(())
}

/// The settings, what each of their fields came from, the Secrets they
/// name, and what the nodes need to reach each registry host.
pub(super) struct Plan {
    pub(super) settings: SettingsDoc,
    origins: Origins,
    pub(super) secrets: Vec<PullSecret>,
    pub(super) access: Vec<Access>,
}

pub(super) struct PullSecret {
    pub(super) name: String,
    pub(super) domain: String,
    pub(super) credentials: Credentials,
}

#[derive(Serialize)]
pub(super) struct SettingsDoc {
    enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mappings: Vec<MappingDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<DestinationDoc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MappingDoc {
    source: String,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_secret: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DestinationDoc {
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_secret: Option<String>,
}

pub(super) fn plan(user_data: UserData, report: &mut Report) -> Plan {
    let UserData { enabled, single, primary, registries, rules } = user_data;
    let access = access(single.iter().chain(&registries), report);
    let mut plan =
        Plan { settings: settings_doc(enabled, report), origins: Origins::default(), secrets: Vec::new(), access };
    if let Some(single) = &single
        && (!registries.is_empty() || !rules.is_empty())
    {
        let message = format!("Palette reads one external registry here or several in {EXTERNAL}, not both: keep one");
        report.error(&single.path, message);
    }
    let prefix = prefix(single, primary, report);
    if let Some((registry, origin)) = &prefix {
        let pull_secret = registry.credentials.as_ref().map(|credentials| plan.secret(registry, credentials));
        plan.origins.add("prefix", origin);
        plan.settings.prefix = Some(DestinationDoc { target: registry.domain.clone(), pull_secret });
    }
    let prefix = prefix.map(|(registry, _)| registry.domain);
    plan.mappings(&rules, &registries, prefix.as_deref(), report);
    match &prefix {
        Some(prefix) => credentials_unused_under(prefix, &registries, report),
        None if !rules.is_empty() => report.warning(
            RULES,
            "an image no rule matches is left unchanged (where Palette's agent sends it with several registries \
             is not documented): add a rule for it, or --primary-registry",
        ),
        None => {}
    }
    plan.unreferenced(&registries, prefix.is_some(), report);
    plan
}

/// Credentials and trust settings by registry host (runtimes key them so):
/// the first registry of a host gives them, a later one that differs is told.
fn access<'a>(registries: impl Iterator<Item = &'a Registry>, report: &mut Report) -> Vec<Access> {
    let mut access: Vec<(Access, &str)> = Vec::new();
    for registry in registries {
        let host = registry.domain.split_once('/').map_or(registry.domain.as_str(), |(host, _)| host);
        let credentials = registry.credentials.as_ref().map(|c| (c.username.clone(), c.password.clone()));
        let entry = Access { host: host.to_owned(), credentials, ca: registry.ca.clone(), insecure: registry.insecure };
        if entry.credentials.is_none() && entry.ca.is_none() && !entry.insecure {
            continue;
        }
        match access.iter().find(|(known, _)| known.host == entry.host) {
            Some((known, _)) if *known == entry => {}
            Some((_, first)) => report.warning(
                &registry.path,
                format!("the nodes reach {host} with the credentials and trust settings of {first}, the first for it"),
            ),
            None => access.push((entry, &registry.path)),
        }
    }
    access.into_iter().map(|(access, _)| access).collect()
}

fn settings_doc(enabled: Option<(bool, String)>, report: &mut Report) -> SettingsDoc {
    if let Some((false, path)) = &enabled {
        report.note(path, "false: the policy is installed switched off (enabled: false) and redirects nothing");
    }
    SettingsDoc { enabled: enabled.is_none_or(|(enabled, _)| enabled), mappings: Vec::new(), prefix: None }
}

/// The registry every image goes to, with the path it came from: the single
/// external registry, or the primary registry; not both.
fn prefix(single: Option<Registry>, primary: Option<String>, report: &mut Report) -> Option<(Registry, String)> {
    match (single, primary) {
        (Some(single), Some(_)) => {
            let message = format!(
                "{:?} and {PRIMARY} both send every image to one registry (a prefix); Palette does not document \
                 how the two combine: keep one",
                single.domain
            );
            report.error(&format!("{}.domain", single.path), message);
            None
        }
        (Some(single), None) => {
            let origin = format!("{}.domain", single.path);
            Some((single, origin))
        }
        (None, Some(domain)) => {
            let registry = Registry { path: PRIMARY.to_owned(), domain, credentials: None, ca: None, insecure: false };
            Some((registry, PRIMARY.to_owned()))
        }
        (None, None) => None,
    }
}

/// Under a prefix Pods pull from the prefix's registry, never from the
/// external registries, so their credentials have no use in the cluster.
fn credentials_unused_under(prefix: &str, registries: &[Registry], report: &mut Report) {
    for registry in registries.iter().filter(|registry| registry.credentials.is_some()) {
        let message = format!(
            "under the prefix {prefix} Pods pull from there, not from {}: no pull secret for it (give its \
             credentials to {prefix} instead)",
            registry.domain
        );
        report.warning(&registry.path, message);
    }
}

impl Plan {
    /// One mapping per rule, with the pull secret of the registry its target
    /// lies under (the longest such domain).
    fn mappings(&mut self, rules: &[Rule], registries: &[Registry], prefix: Option<&str>, report: &mut Report) {
        for rule in rules {
            if let Some(prefix) = prefix.filter(|_| RegistryPath::parse(&rule.target).is_ok_and(|t| t.has_port())) {
                let message = format!(
                    "target {:?} has a port, which cannot become a path segment under the prefix {prefix}; the \
                     rule is left out",
                    rule.target
                );
                report.warning(&rule.path, message);
                continue;
            }
            let index = self.settings.mappings.len();
            self.origins.add(&format!("mappings[{index}]"), &rule.path);
            let target = canonical(&rule.target);
            let registry = registries
                .iter()
                .filter(|registry| reference::is_under(&target, &canonical(&registry.domain)))
                .max_by_key(|registry| registry.domain.len());
            let pull_secret = registry.filter(|_| prefix.is_none()).and_then(|registry| {
                self.origins.add(&format!("mappings[{index}].pullSecret"), &format!("{}.domain", registry.path));
                Some(self.secret(registry, registry.credentials.as_ref()?))
            });
            let (source, target) = (rule.source.clone(), rule.target.clone());
            self.settings.mappings.push(MappingDoc { source, target, pull_secret });
        }
    }

    /// The Secret for `registry`, written once however many mappings name it.
    fn secret(&mut self, registry: &Registry, credentials: &Credentials) -> String {
        let name = secret_name(&registry.domain);
        if !self.secrets.iter().any(|secret| secret.name == name) {
            let (domain, credentials) = (registry.domain.clone(), credentials.clone());
            self.secrets.push(PullSecret { name: name.clone(), domain, credentials });
        }
        name
    }

    /// Registries with credentials no mapping sends images to, and two that
    /// would share a Secret.
    fn unreferenced(&self, registries: &[Registry], under_prefix: bool, report: &mut Report) {
        let mut names: BTreeMap<String, &Registry> = BTreeMap::new();
        for registry in registries.iter().filter(|registry| registry.credentials.is_some()) {
            let name = secret_name(&registry.domain);
            if let Some(first) = names.get(&name) {
                let message = format!("its pull secret would be {name}, as for {}: keep one per domain", first.path);
                report.error(&format!("{}.domain", registry.path), message);
            } else if !under_prefix && !self.secrets.iter().any(|secret| secret.name == name) {
                let message =
                    format!("no mapping rule sends images to {}: no pull secret written for it", registry.domain);
                report.note(&registry.path, message);
            }
            names.insert(name, registry);
        }
    }
}

/// A registry path as the policy compares it (`index.docker.io` is
/// `docker.io`); left as written when invalid, which the settings report.
fn canonical(text: &str) -> String {
    RegistryPath::parse(text).map_or_else(|_| text.to_owned(), |path| path.as_str().to_owned())
}

/// Which user-data path each settings field came from, to name the
/// operator's own words in the policy's errors.
#[derive(Default)]
struct Origins(Vec<(String, String)>);

impl Origins {
    fn add(&mut self, field: &str, origin: &str) {
        self.0.push((field.to_owned(), origin.to_owned()));
    }

    /// `mappings[1].target: "X" …` as `<where mappings[1] came from>: "X" …`;
    /// other settings fields named in the message are translated too.
    fn translate(&self, line: &str) -> String {
        let Some((field, message)) = field(line) else { return format!("stylus: {line}") };
        let below = |prefix: &str| {
            field.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        };
        let origin = self.0.iter().filter(|(prefix, _)| below(prefix)).max_by_key(|(prefix, _)| prefix.len());
        // Only a mapping is named in messages (`duplicates the source of mappings[0]`);
        // `prefix` is also a word.
        let named = self.0.iter().filter(|(field, _)| field.ends_with(']'));
        let message = named.fold(message.to_owned(), |message, (field, origin)| message.replace(field, origin));
        format!("{}: {message}", origin.map_or(field, |(_, origin)| origin))
    }
}

/// A settings error split into the field it names and its message; `None`
/// for an error about the settings as a whole.
fn field(line: &str) -> Option<(&str, &str)> {
    line.split_once(": ").filter(|(field, _)| !field.contains(' '))
}
