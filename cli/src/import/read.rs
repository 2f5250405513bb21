//! The registry fields of Palette Edge user-data, each value read with its
//! path, and what the operator must hear about them.

use serde_norway::Value;

/// The command-line option that stands beside the user-data, named as a path.
pub(super) const PRIMARY: &str = "--primary-registry";

const CREDENTIALS_KEYS: [&str; 4] = ["domain", "username", "password", "insecure"];
const REGISTRY_KEYS: [&str; 6] = ["domain", "username", "password", "repositoryName", "certificates", "insecure"];

#[derive(Default)]
pub(super) struct Report {
    pub(super) errors: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) notes: Vec<String>,
}

impl Report {
    pub(super) fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {message}"));
    }

    pub(super) fn warning(&mut self, path: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }

    pub(super) fn note(&mut self, path: &str, message: impl std::fmt::Display) {
        self.notes.push(format!("{path}: {message}"));
    }
}

/// A value of the user-data with its path. Values are described by kind
/// only in errors: a misplaced password must not end up on a terminal.
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

    /// The member `key`, which must be a map (a block of fields).
    fn block(&self, key: &str, report: &mut Report) -> Option<Node<'v>> {
        self.member(key)?.map(report)
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
pub(super) struct UserData {
    pub(super) enabled: Option<(bool, String)>,
    /// `stylus.registryCredentials` (prefix-all).
    pub(super) single: Option<Registry>,
    /// `--primary-registry`.
    pub(super) primary: Option<String>,
    pub(super) registries: Vec<Registry>,
    pub(super) rules: Vec<Rule>,
}

pub(super) struct Registry {
    /// The entry's path in the user-data.
    pub(super) path: String,
    pub(super) domain: String,
    pub(super) credentials: Option<Credentials>,
    /// Node trust settings: `certificates` (PEM) and `insecure`.
    pub(super) ca: Option<String>,
    pub(super) insecure: bool,
}

#[derive(Clone)]
pub(super) struct Credentials {
    pub(super) username: String,
    pub(super) password: String,
}

pub(super) struct Rule {
    pub(super) path: String,
    pub(super) source: String,
    pub(super) target: String,
}

/// With `node`, the node trust settings go to the node configuration, and
/// are notes rather than losses.
pub(super) fn read(document: &Value, primary: Option<&str>, node_config: bool, report: &mut Report) -> UserData {
    let root = Node { value: document, path: String::new() };
    let stylus = match document {
        // An empty file: no registry fields.
        Value::Null => None,
        Value::Mapping(_) => root.block("stylus", report),
        other => {
            report.error("user-data", format!("expected a map, found {}", kind(other)));
            None
        }
    };
    let block = |key: &str, report: &mut Report| stylus.as_ref()?.block(key, report);
    let enabled = read_enabled(stylus.as_ref(), report);
    let single = block("registryCredentials", report).and_then(|node| {
        node.only(&CREDENTIALS_KEYS, report);
        read_registry(&node, node_config, report)
    });
    let (registries, rules) = match block("externalRegistries", report) {
        Some(external) => read_external(&external, node_config, report),
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
        let Some(node) = stylus.and_then(|stylus| stylus.block(parent, report)) else { continue };
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
fn read_registry(node: &Node, node_config: bool, report: &mut Report) -> Option<Registry> {
    let domain = match node.member("domain") {
        Some(domain) => domain.string(report).map(|text| self::domain(&text, &domain.path, report)),
        None => {
            report.error(&format!("{}.domain", node.path), "is required");
            None
        }
    };
    let credentials = read_credentials(node, report);
    let domain = domain?;
    let ca = node.member("certificates").and_then(|certificates| {
        let pem = read_certificates(&certificates, report)?;
        match node_config {
            true => {
                report.note(&certificates.path, format!("the nodes trust these CA certificates of {domain}: {NODE}"))
            }
            false => report.warning(
                &certificates.path,
                format!(
                    "the CA certificates of {domain} are trusted by each node's container runtime, not by an \
                 admission policy: install them on the nodes (--node-config writes them)"
                ),
            ),
        }
        Some(pem)
    });
    let insecure = node.member("insecure").filter(|insecure| insecure.boolean(report) == Some(true));
    if let Some(insecure) = &insecure {
        match node_config {
            true => report.note(&insecure.path, format!("the nodes skip TLS verification for {domain}: {NODE}")),
            false => report.warning(
                &insecure.path,
                format!(
                    "skipping TLS verification for {domain} is a setting of each node's container runtime, not of an \
                 admission policy (--node-config writes it)"
                ),
            ),
        }
    }
    Some(Registry { path: node.path.clone(), domain, credentials, ca, insecure: insecure.is_some() })
}

/// Where `--node-config` carries what the policy cannot.
const NODE: &str = "node-config.yaml carries it, as the runtime's own setting";

/// `certificates`, a PEM string or a list of them, as one PEM text.
fn read_certificates(node: &Node, report: &mut Report) -> Option<String> {
    let pems: Vec<String> = match node.value {
        Value::Sequence(_) => node.items(report).iter().map(|item| item.string(report)).collect::<Option<_>>()?,
        _ => vec![node.string(report)?],
    };
    Some(pems.iter().map(|pem| format!("{}\n", pem.trim_end())).collect())
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

fn read_external(external: &Node, node_config: bool, report: &mut Report) -> (Vec<Registry>, Vec<Rule>) {
    external.only(&["registries", "registryMappingRules"], report);
    let mut registries = Vec::new();
    for entry in external.member("registries").map(|node| node.items(report)).unwrap_or_default() {
        let Some(entry) = entry.map(report) else { continue };
        entry.only(&REGISTRY_KEYS, report);
        if let Some(repository) = entry.member("repositoryName") {
            let message = "has no equivalent in the policy, which sends images where the mapping rules say; ignored";
            report.warning(&repository.path, message);
        }
        registries.extend(read_registry(&entry, node_config, report));
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
