//! Palette Edge user-data as this policy's documents: its settings, a
//! ClusterAdmissionPolicy carrying them, and the pull secrets they name.
//!
//! Only the registry fields of the `stylus` block are read (everything else
//! in a `#cloud-config` file is someone else's business). Each value read is
//! remembered with its user-data path, so that when the policy's own
//! [`Settings`] refuse the result, its errors (`mappings[1].target: …`) come
//! back as the operator wrote them (`stylus.externalRegistries.registryMappingRules["x"]: …`).
//! What the policy cannot carry out is never dropped in silence: it is a
//! warning, and a comment at the top of the documents.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image_redirect_policy::reference::{self, RegistryPath};
use image_redirect_policy::settings::Settings;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_norway::Value;

/// The policy's metadata: its rules, and where this version is published.
pub const METADATA: &str = include_str!("../../policy-metadata/metadata.yml");

const EXTERNAL: &str = "stylus.externalRegistries";
const RULES: &str = "stylus.externalRegistries.registryMappingRules";
const PRIMARY: &str = "--primary-registry";

const CREDENTIALS_KEYS: [&str; 4] = ["domain", "username", "password", "insecure"];
const REGISTRY_KEYS: [&str; 6] = ["domain", "username", "password", "repositoryName", "certificates", "insecure"];

/// Pull secrets are named after their registry, so that importing the same
/// user-data again names them the same: `image-redirect-` then the domain
/// with every character a Secret name cannot hold as `-`.
pub const SECRET_PREFIX: &str = "image-redirect-";

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

/// The settings through the policy's own checks, its errors named by the
/// user-data paths the fields came from.
fn check(plan: &Plan, errors: &mut Vec<String>) -> Result<(), Vec<String>> {
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

/// The module this version is published as: `registry://<ociUrl>:v<version>`.
pub fn default_module() -> Result<String, Vec<String>> {
    Metadata::read().map(|metadata| metadata.module())
}

/// The pull secret for the registry at `domain`.
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
    format!("{SECRET_PREFIX}{}", parts.join("."))
}

#[derive(Default)]
struct Report {
    errors: Vec<String>,
    warnings: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {message}"));
    }

    fn warning(&mut self, path: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }

    fn note(&mut self, path: &str, message: impl std::fmt::Display) {
        self.notes.push(format!("{path}: {message}"));
    }
}

/// A value of the user-data with its path. Values are described by kind
/// only in errors: a misplaced password must not end up on a terminal.
#[derive(Clone)]
struct Node<'v> {
    value: &'v Value,
    path: String,
}

impl<'v> Node<'v> {
    /// The member `key` of a map (checked by [`Node::map`]); `null` is absent,
    /// as YAML's `key:` with nothing after it.
    fn member(&self, key: &str) -> Option<Node<'v>> {
        let value = self.value.get(key).filter(|value| !value.is_null())?;
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        Some(Node { value, path })
    }

    fn map(self, report: &mut Report) -> Option<Self> {
        self.value.is_mapping().then_some(()).or_else(|| self.expected("a map", report))?;
        Some(self)
    }

    fn string(&self, report: &mut Report) -> Option<String> {
        match self.value {
            Value::String(text) => Some(text.clone()),
            Value::Number(_) => self.expected("a string (quote it)", report),
            _ => self.expected("a string", report),
        }
    }

    fn boolean(&self, report: &mut Report) -> Option<bool> {
        self.value.as_bool().or_else(|| self.expected("true or false", report))
    }

    fn items(&self, report: &mut Report) -> Vec<Node<'v>> {
        let Some(items) = self.value.as_sequence().or_else(|| self.expected("a list", report)) else {
            return Vec::new();
        };
        let item = |(i, value)| Node { value, path: format!("{}[{i}]", self.path) };
        items.iter().enumerate().map(item).collect()
    }

    /// The entries of a map, keyed by string.
    fn entries(&self, report: &mut Report) -> Vec<(String, Node<'v>)> {
        let Some(map) = self.value.as_mapping().or_else(|| self.expected("a map", report)) else {
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (key, value) in map {
            match key.as_str() {
                Some(key) => entries.push((key.to_owned(), Node { value, path: format!("{}[{key:?}]", self.path) })),
                None => report.error(&self.path, format!("expected string keys, found {}", kind(key))),
            }
        }
        entries
    }

    /// Warns of each key but `known`: nothing is dropped in silence.
    fn only(&self, known: &[&str], report: &mut Report) {
        let keys = self.value.as_mapping().into_iter().flat_map(|map| map.keys());
        for key in keys.filter(|key| !key.as_str().is_some_and(|key| known.contains(&key))) {
            let name = key.as_str().map_or_else(|| format!("[{}]", kind(key)), |key| format!(".{key}"));
            report.warning(&format!("{}{name}", self.path), "not a field this import knows; ignored");
        }
    }

    fn expected<T>(&self, what: &str, report: &mut Report) -> Option<T> {
        report.error(&self.path, format!("expected {what}, found {}", kind(self.value)));
        None
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The registry fields of the user-data, normalised.
struct UserData {
    enabled: Option<(bool, String)>,
    /// `stylus.registryCredentials` (prefix-all).
    single: Option<Registry>,
    /// `--primary-registry`.
    primary: Option<String>,
    registries: Vec<Registry>,
    rules: Vec<Rule>,
}

struct Registry {
    /// The entry's path in the user-data.
    path: String,
    domain: String,
    credentials: Option<Credentials>,
}

#[derive(Clone)]
struct Credentials {
    username: String,
    password: String,
}

struct Rule {
    path: String,
    source: String,
    target: String,
}

fn read(document: &Value, primary: Option<&str>, report: &mut Report) -> UserData {
    let root = Node { value: document, path: String::new() };
    let stylus = match document {
        // An empty file: no registry fields.
        Value::Null => None,
        Value::Mapping(_) => root.member("stylus").and_then(|stylus| stylus.map(report)),
        other => {
            report.error("user-data", format!("expected a map, found {}", kind(other)));
            None
        }
    };
    let member = |key: &str, report: &mut Report| stylus.as_ref()?.member(key)?.map(report);
    let enabled = read_enabled(stylus.as_ref(), report);
    let single = member("registryCredentials", report).and_then(|node| {
        node.only(&CREDENTIALS_KEYS, report);
        read_registry(&node, report)
    });
    let (registries, rules) = match member("externalRegistries", report) {
        Some(external) => read_external(&external, report),
        None => (Vec::new(), Vec::new()),
    };
    let primary = primary.map(|text| domain(text, PRIMARY, report));
    UserData { enabled, single, primary, registries, rules }
}

/// The switch, under either of Palette's spellings; two that disagree are an error.
fn read_enabled(stylus: Option<&Node>, report: &mut Report) -> Option<(bool, String)> {
    let mut found: Vec<(bool, String)> = Vec::new();
    // As most of Palette's pages spell it, then as some others do.
    for parent in ["imageRedirectWebhook", "webhook"] {
        let Some(node) = stylus.and_then(|s| s.member(parent)).and_then(|node| node.map(report)) else { continue };
        node.only(&["enable"], report);
        if let Some(enable) = node.member("enable") {
            found.extend(enable.boolean(report).map(|value| (value, enable.path.clone())));
        }
    }
    if let [(first, first_path), (second, second_path)] = found.as_slice()
        && first != second
    {
        let message = format!("{first}, but {second_path} is {second}: keep one");
        report.error(first_path, message);
    }
    found.into_iter().next()
}

/// `domain`, `username`, `password`, and the node trust settings.
fn read_registry(node: &Node, report: &mut Report) -> Option<Registry> {
    let domain = match node.member("domain") {
        Some(domain) => domain.string(report).map(|text| self::domain(&text, &domain.path, report)),
        None => {
            report.error(&format!("{}.domain", node.path), "is required");
            None
        }
    };
    let credentials = read_credentials(node, report);
    let domain = domain?;
    if let Some(certificates) = node.member("certificates") {
        let message = format!(
            "the CA certificates of {domain} are trusted by each node's container runtime, not by an admission \
             policy: install them on the nodes"
        );
        report.warning(&certificates.path, message);
    }
    if let Some(insecure) = node.member("insecure").filter(|insecure| insecure.boolean(report) == Some(true)) {
        let message = format!(
            "skipping TLS verification for {domain} is a setting of each node's container runtime, not of an \
             admission policy"
        );
        report.warning(&insecure.path, message);
    }
    Some(Registry { path: node.path.clone(), domain, credentials })
}

/// `username` and `password`, which go together; both empty is none.
fn read_credentials(node: &Node, report: &mut Report) -> Option<Credentials> {
    // `None` when written wrong (reported), `Some(None)` when absent or empty.
    let field = |key: &str, report: &mut Report| match node.member(key) {
        Some(value) => value.string(report).map(|text| Some(text).filter(|text| !text.is_empty())),
        None => Some(None),
    };
    let (username, password) = (field("username", report), field("password", report));
    match (username?, password?) {
        (Some(username), Some(password)) => Some(Credentials { username, password }),
        (None, None) => None,
        (Some(_), None) => {
            report.error(&node.path, "a username without a password");
            None
        }
        (None, Some(_)) => {
            report.error(&node.path, "a password without a username");
            None
        }
    }
}

fn read_external(external: &Node, report: &mut Report) -> (Vec<Registry>, Vec<Rule>) {
    external.only(&["registries", "registryMappingRules"], report);
    let mut registries = Vec::new();
    for entry in external.member("registries").map(|node| node.items(report)).unwrap_or_default() {
        let Some(entry) = entry.map(report) else { continue };
        entry.only(&REGISTRY_KEYS, report);
        if let Some(repository) = entry.member("repositoryName") {
            let message = "has no equivalent in the policy, which sends images where the mapping rules say; ignored";
            report.warning(&repository.path, message);
        }
        registries.extend(read_registry(&entry, report));
    }
    let mut rules = Vec::new();
    for (source, target) in external.member("registryMappingRules").map(|node| node.entries(report)).unwrap_or_default()
    {
        if let Some(text) = target.string(report) {
            let path = target.path;
            let (source, target) = (bare(&source), domain(&text, &path, report));
            rules.push(Rule { path, source, target });
        }
    }
    (registries, rules)
}

/// A domain as operators write it: without a scheme and without a trailing
/// `/`. Where images are pulled from over `http://`, the node export must
/// be told.
fn domain(text: &str, path: &str, report: &mut Report) -> String {
    if text.starts_with("http://") {
        report.note(path, format!("{text} is served over plain HTTP: pass --scheme http to `image-redirect export`"));
    }
    bare(text)
}

fn bare(text: &str) -> String {
    let text = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).unwrap_or(text);
    text.trim_end_matches('/').to_owned()
}

/// The settings, what each of their fields came from, and the Secrets they name.
struct Plan {
    settings: SettingsDoc,
    origins: Origins,
    secrets: Vec<PullSecret>,
}

struct PullSecret {
    name: String,
    domain: String,
    credentials: Credentials,
}

#[derive(Debug, Serialize)]
struct SettingsDoc {
    enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mappings: Vec<MappingDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<DestinationDoc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MappingDoc {
    source: String,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_secret: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DestinationDoc {
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_secret: Option<String>,
}

fn plan(user_data: UserData, report: &mut Report) -> Plan {
    let UserData { enabled, single, primary, registries, rules } = user_data;
    let mut plan = Plan { settings: settings_doc(enabled, report), origins: Origins::default(), secrets: Vec::new() };
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
            let registry = Registry { path: PRIMARY.to_owned(), domain, credentials: None };
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

/// The parts of `policy-metadata/metadata.yml` a ClusterAdmissionPolicy repeats.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    rules: Value,
    mutating: bool,
    background_audit: bool,
    annotations: BTreeMap<String, String>,
}

impl Metadata {
    fn read() -> Result<Self, Vec<String>> {
        serde_norway::from_str(METADATA).map_err(|e| vec![format!("policy-metadata/metadata.yml: {e}")])
    }

    fn annotation(&self, key: &str) -> &str {
        self.annotations.get(key).map_or("", String::as_str)
    }

    fn module(&self) -> String {
        let (url, version) =
            (self.annotation("io.kubewarden.policy.ociUrl"), self.annotation("io.kubewarden.policy.version"));
        format!("registry://{url}:v{version}")
    }

    /// A ClusterAdmissionPolicy as in `examples/`, honouring Palette's
    /// per-namespace opt-out label.
    fn policy<'a>(&'a self, module: &'a str, settings: &'a SettingsDoc) -> PolicyDoc<'a> {
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
struct PolicyDoc<'a> {
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
fn secrets(secrets: &[PullSecret], namespace: &str) -> Result<Option<String>, Vec<String>> {
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
fn header(warnings: &[String], notes: &[String]) -> String {
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

fn yaml(value: &impl Serialize) -> Result<String, Vec<String>> {
    serde_norway::to_string(value).map_err(|e| vec![e.to_string()])
}
