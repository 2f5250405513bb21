//! What `audit` finds: for each workload of a cluster dump (or of manifests),
//! each image already redirected, that the rules would redirect, that pulls
//! from outside every mirror, or that is excluded, and the report mode's
//! failures read back from PolicyReports. Pure: documents in, a value out.
//!
//! Nothing here decides a redirect. Each object goes through the policy's
//! admission path ([`preview::preview_in`]) as `seed` sends it (a mirror that
//! holds every image, [`plan::action`]); `enabled` and `action` are taken as
//! `true` and `redirect`, since the audit asks what the rules will do once
//! the policy enforces them.

mod owners;
mod reports;

use std::collections::BTreeMap;

use image_redirect_policy::preview::{self, Change, Preview};
use image_redirect_policy::reference::Reference;
use image_redirect_policy::settings::{Action, Settings};
use image_redirect_policy::workload::{self, Kind, Meta};
use serde_json::value::RawValue;
use serde_json::{Value, json};

pub use owners::Key;

use crate::plan::{self, Filled, Skip};

/// What the command line adds to the settings.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The namespace of objects that name none (manifests), as `seed --namespace`.
    pub namespace: String,
    /// Registries the nodes' runtimes mirror (`export`): their images keep
    /// their names in Pod specs and still pull from a mirror.
    pub node_mirrors: Vec<String>,
}

/// One image of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The container's name, or a listed kind's field path.
    pub container: String,
    /// As the object (or the report) names it.
    pub image: String,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Pulls from a mirror: under a target (`original` from the originals
    /// annotation, when it records one), or from a registry the nodes mirror.
    Redirected { original: Option<String>, node_mirror: Option<String> },
    /// Pulls from outside now; the rules would move it (`rule` is `None` when
    /// read from a report, which does not name it; `problem` is the report's
    /// word on the mirror, such as `not at the mirror`).
    WouldRedirect { destination: String, rule: Option<String>, problem: Option<String> },
    /// Pulls from outside every mirror, and the rules do not move it: why.
    Outside(String),
    /// Left to pull as written by choice, or not pulled at all: why.
    Excluded(String),
}

impl Status {
    /// Whether the image pulls from outside the mirrors (what fails `audit`).
    pub fn pulls_from_outside(&self) -> bool {
        matches!(self, Self::WouldRedirect { .. } | Self::Outside(_))
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Redirected { .. } => "redirected",
            Self::WouldRedirect { .. } => "would-redirect",
            Self::Outside(_) => "outside",
            Self::Excluded(_) => "excluded",
        }
    }
}

/// A workload and the images of everything in the input it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub key: Key,
    pub findings: Vec<Finding>,
    /// Failures a report's message only counts (`; and 12 more`).
    pub unshown: usize,
}

impl Workload {
    /// Adds `finding` unless the workload has it already (a Deployment's
    /// template and its Pods name the same image); a report's word on the
    /// mirror joins the finding it is about.
    fn add(&mut self, finding: Finding) {
        let same = |known: &&mut Finding| {
            known.container == finding.container
                && known.image == finding.image
                && known.status.name() == finding.status.name()
        };
        match (self.findings.iter_mut().find(same), finding.status) {
            (Some(known), Status::WouldRedirect { problem: Some(problem), .. }) => {
                if let Status::WouldRedirect { problem: known_problem @ None, .. } = &mut known.status {
                    *known_problem = Some(problem);
                }
            }
            (Some(_), _) => {}
            (None, status) => self.findings.push(Finding { status, ..finding }),
        }
    }
}

/// Every workload of the input, sorted by namespace, kind and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    pub workloads: Vec<Workload>,
}

/// Audits `documents` (objects and reports, as [`manifests::documents`](crate::manifests::documents) reads them).
pub fn audit(documents: &[Value], settings: &Settings, options: &Options) -> Result<Audit, String> {
    let mut settings = settings.clone();
    (settings.enabled, settings.action) = (true, Action::Redirect);
    let (reports, objects): (Vec<&Value>, Vec<&Value>) = documents.iter().partition(|d| reports::is_report(d));
    let namespace = Some(options.namespace.as_str());
    let mut owners = owners::Owners::default();
    for object in &objects {
        owners.add(object, namespace);
    }
    let mut workloads: BTreeMap<Key, Workload> = BTreeMap::new();
    for object in objects.into_iter().filter(|object| !scaled_to_zero(object)) {
        let text = object.to_string();
        let key = owners::key(object, namespace);
        let shown = format!("{}/{}", key.1, key.2);
        let Some(preview) =
            preview::preview_in(&text, namespace, &settings, &Filled).map_err(|e| format!("{shown}: {e}"))?
        else {
            continue;
        };
        let facts = Facts::of(object, &text, &preview, &settings);
        let workload = workload(&mut workloads, &owners, key);
        for (i, change) in preview.containers.iter().enumerate() {
            let status = status(&preview, change, facts.image(i, &change.container), &settings, options);
            workload.add(Finding { container: change.container.clone(), image: change.before.clone(), status });
        }
    }
    for failure in reports.into_iter().flat_map(reports::failures) {
        let workload = workload(&mut workloads, &owners, failure.subject);
        workload.unshown += failure.unshown;
        for finding in failure.findings {
            workload.add(finding);
        }
    }
    Ok(Audit { workloads: workloads.into_values().collect() })
}

/// The workload at the top of `key`'s owners.
fn workload<'w>(workloads: &'w mut BTreeMap<Key, Workload>, owners: &owners::Owners, key: Key) -> &'w mut Workload {
    let top = owners.top(key);
    workloads.entry(top.clone()).or_insert_with(|| Workload { key: top, findings: Vec::new(), unshown: 0 })
}

/// An old ReplicaSet of a Deployment, kept for rollbacks, runs nothing.
fn scaled_to_zero(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("ReplicaSet")
        && object.pointer("/spec/replicas").and_then(Value::as_u64) == Some(0)
}

/// What the admission path does not say of an object: its originals
/// annotation, whether it is a mirror pod, and which containers never pull.
#[derive(Default)]
struct Facts {
    originals: BTreeMap<String, String>,
    mirror_pod: bool,
    pull_never: Vec<bool>,
}

/// What [`status`] needs to know of one image besides its change.
struct ImageFacts<'f> {
    original: Option<&'f String>,
    mirror_pod: bool,
    pull_never: bool,
}

impl Facts {
    /// Read as the policy reads them ([`workload`]); an object the policy
    /// cannot read has none (its preview says why it is rejected).
    fn of(object: &Value, text: &str, preview: &Preview, settings: &Settings) -> Self {
        let Ok(raw) = serde_json::from_str::<&RawValue>(text) else { return Self::default() };
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let read = match Kind::of(group, &preview.kind, &settings.resources) {
            Some(Kind::Workload(layout)) => workload::read_pod(raw, layout)
                .map(|pod| (pod.containers.iter().map(|c| c.image.pull_never).collect(), pod.meta)),
            Some(Kind::Listed(resource)) => {
                workload::read_listed(raw, resource).map(|listed| (vec![false; listed.images.len()], listed.meta))
            }
            None => return Self::default(),
        };
        let Ok((pull_never, meta)) = read else { return Self::default() };
        Self { originals: originals(&meta), mirror_pod: meta.is_mirror, pull_never }
    }

    fn image(&self, i: usize, key: &str) -> ImageFacts<'_> {
        ImageFacts {
            original: self.originals.get(key),
            mirror_pod: self.mirror_pod,
            pull_never: self.pull_never.get(i).copied().unwrap_or(false),
        }
    }
}

/// The originals annotation (`{"<container>": "<original image>"}`); empty
/// when absent or not such an object (the policy warns about that itself).
fn originals(meta: &Meta) -> BTreeMap<String, String> {
    let value = meta.originals.and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    value.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default()
}

/// Where one image pulls from, and what the policy will do about it.
fn status(preview: &Preview, change: &Change, facts: ImageFacts, settings: &Settings, options: &Options) -> Status {
    if preview.rejected.is_none() && facts.pull_never {
        return Status::Excluded("imagePullPolicy is Never: the node has it, nothing is pulled".to_owned());
    }
    let registry = Reference::parse(&change.before).ok().map(|r| r.registry().to_owned());
    if let Some(registry) = registry.filter(|r| options.node_mirrors.contains(r)) {
        return Status::Redirected { original: None, node_mirror: Some(registry) };
    }
    match plan::action(preview, change, settings) {
        plan::Action::Copy { destination, rule } => {
            Status::WouldRedirect { destination, rule: Some(rule), problem: None }
        }
        plan::Action::Skip(Skip::AlreadyRedirected) => {
            Status::Redirected { original: facts.original.cloned(), node_mirror: None }
        }
        plan::Action::Skip(skip @ (Skip::NamespaceExcluded(_) | Skip::Excluded(_))) => {
            Status::Excluded(skip.to_string())
        }
        plan::Action::Skip(Skip::Kept(_)) if facts.mirror_pod => Status::Outside(
            "a static pod's mirror: the kubelet pulls what the node's manifest names, which the policy leaves alone"
                .to_owned(),
        ),
        plan::Action::Skip(skip) => Status::Outside(skip.to_string()),
    }
}

impl Audit {
    /// The images pulling from outside the mirrors, counted ones included.
    pub fn outside(&self) -> usize {
        let count = |w: &Workload| w.findings.iter().filter(|f| f.status.pulls_from_outside()).count() + w.unshown;
        self.workloads.iter().map(count).sum()
    }

    /// Per namespace, per workload, one line per image:
    /// `redirected  web: IMAGE (original …)`, `would move  web: IMAGE -> DESTINATION (rule)`,
    /// `outside     web: IMAGE: why`, `excluded    web: IMAGE: why`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut namespace = None;
        for workload in &self.workloads {
            let (ns, kind, name) = &workload.key;
            if namespace != Some(ns) {
                out.push_str(&ns.as_ref().map_or("cluster-scoped\n".to_owned(), |ns| format!("namespace {ns}\n")));
                namespace = Some(ns);
            }
            out.push_str(&format!("  {kind}/{name}\n"));
            for finding in &workload.findings {
                out.push_str(&format!("    {}\n", line(finding)));
            }
            if workload.unshown > 0 {
                out.push_str(&format!("    and {} more that the report's message only counts\n", workload.unshown));
            }
        }
        out
    }

    /// One JSON object per image, one per line: `{"namespace", "kind",
    /// "name", "container", "image", "status"}` and, by status, `"original"`
    /// and `"node_mirror"` (`redirected`), `"destination"`, `"rule"` and
    /// `"problem"` (`would-redirect`), `"reason"` (`outside`, `excluded`);
    /// `{"namespace", "kind", "name", "status": "unshown", "count"}` for the
    /// failures a report only counts.
    pub fn render_json(&self) -> String {
        let mut out = String::new();
        for workload in &self.workloads {
            let (namespace, kind, name) = &workload.key;
            for finding in &workload.findings {
                let mut line = json!({"namespace": namespace, "kind": kind, "name": name,
                    "container": finding.container, "image": finding.image, "status": finding.status.name()});
                let details = match &finding.status {
                    Status::Redirected { original, node_mirror } => {
                        json!({"original": original, "node_mirror": node_mirror})
                    }
                    Status::WouldRedirect { destination, rule, problem } => {
                        json!({"destination": destination, "rule": rule, "problem": problem})
                    }
                    Status::Outside(reason) | Status::Excluded(reason) => json!({"reason": reason}),
                };
                if let (Some(line), Value::Object(details)) = (line.as_object_mut(), details) {
                    line.extend(details);
                }
                out.push_str(&format!("{line}\n"));
            }
            if workload.unshown > 0 {
                let line = json!({"namespace": namespace, "kind": kind, "name": name, "status": "unshown",
                    "count": workload.unshown});
                out.push_str(&format!("{line}\n"));
            }
        }
        out
    }

    /// The source references the mirror must hold, each once, one per line,
    /// as `seed --images` reads them: the image of one the rules would move,
    /// the original of one already redirected (when the annotation records
    /// it), the image of one the nodes mirror.
    pub fn images(&self) -> String {
        let mut images: Vec<String> = Vec::new();
        let findings = self.workloads.iter().flat_map(|w| &w.findings);
        for finding in findings {
            let source = match &finding.status {
                Status::Redirected { original: Some(original), .. } => original,
                Status::Redirected { node_mirror: Some(_), .. } | Status::WouldRedirect { .. } => &finding.image,
                Status::Redirected { .. } | Status::Outside(_) | Status::Excluded(_) => continue,
            };
            let source = plan::normalised(source);
            if !images.contains(&source) {
                images.push(source);
            }
        }
        images.iter().map(|image| format!("{image}\n")).collect()
    }

    /// `audit: N workloads: R redirected, W would be redirected, O outside every mirror, E excluded`.
    pub fn summary(&self) -> String {
        let findings: Vec<&Finding> = self.workloads.iter().flat_map(|w| &w.findings).collect();
        let count = |name: &str| findings.iter().filter(|f| f.status.name() == name).count();
        let unshown: usize = self.workloads.iter().map(|w| w.unshown).sum();
        let unshown =
            if unshown > 0 { format!(", {unshown} more failures a report only counts") } else { String::new() };
        format!(
            "audit: {} workloads: {} redirected, {} would be redirected, {} outside every mirror, {} excluded{unshown}",
            self.workloads.len(),
            count("redirected"),
            count("would-redirect"),
            count("outside"),
            count("excluded"),
        )
    }
}

/// One image in the text report.
fn line(finding: &Finding) -> String {
    let Finding { container, image, status } = finding;
    match status {
        Status::Redirected { original: Some(original), .. } => {
            format!("redirected  {container}: {image} (original {original})")
        }
        Status::Redirected { node_mirror: Some(registry), .. } => {
            format!("redirected  {container}: {image} (the nodes mirror {registry})")
        }
        Status::Redirected { .. } => format!("redirected  {container}: {image} (under a target)"),
        Status::WouldRedirect { destination, rule, problem } => {
            let problem = problem.as_ref().map_or(String::new(), |p| format!(": {p}"));
            let rule = rule.as_deref().unwrap_or("from a report");
            format!("would move  {container}: {image} -> {destination}{problem} ({rule})")
        }
        Status::Outside(reason) => format!("outside     {container}: {image}: {reason}"),
        Status::Excluded(reason) => format!("excluded    {container}: {image}: {reason}"),
    }
}
