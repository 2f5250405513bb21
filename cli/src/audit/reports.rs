//! The report mode's `fail` results, read back from the reports the audit
//! scanner writes: `wgpolicyk8s.io` PolicyReport and ClusterPolicyReport, and
//! OpenReports' `openreports.io` Report and ClusterReport, as `kubectl get
//! … -o json` prints them.
//!
//! The scanner names the object in the report's `scope` and the policy's
//! rejection in each result's `message`; other tools name objects in each
//! result's `resources`, which are read too.

use serde_json::Value;

use super::owners::Key;
use super::{Finding, Status};

/// The report kinds, by API group.
const KINDS: [(&str, &str); 4] = [
    ("wgpolicyk8s.io", "PolicyReport"),
    ("wgpolicyk8s.io", "ClusterPolicyReport"),
    ("openreports.io", "Report"),
    ("openreports.io", "ClusterReport"),
];

/// The few words report mode puts after `source -> destination: ` (see the
/// policy's `report` module): the mirror cannot serve the redirect.
const PROBLEMS: [&str; 3] =
    ["not at the mirror", "the source cannot be resolved to a digest", "the mirror holds other content under that tag"];

pub fn is_report(document: &Value) -> bool {
    let api_version = document.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = document.get("kind").and_then(Value::as_str).unwrap_or_default();
    KINDS.contains(&(group, kind))
}

/// One `fail` of the report mode, about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub subject: Key,
    pub findings: Vec<Finding>,
    /// Entries the message only counts (`; and 12 more`).
    pub unshown: usize,
}

/// The report's `fail` results whose message reads as the report mode's;
/// results of other policies are left out.
pub fn failures(report: &Value) -> Vec<Failure> {
    let namespace = report.pointer("/metadata/namespace").and_then(Value::as_str);
    let scope: Vec<&Value> = report.get("scope").into_iter().collect();
    let results = report.get("results").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut failures = Vec::new();
    for result in results.iter().filter(|r| r.get("result").and_then(Value::as_str) == Some("fail")) {
        let message = result.get("message").and_then(Value::as_str).unwrap_or_default();
        let Some((findings, unshown)) = message_entries(message) else { continue };
        let resources: Vec<&Value> = result.get("resources").and_then(Value::as_array).into_iter().flatten().collect();
        for subject in if resources.is_empty() { &scope } else { &resources } {
            let text = |member: &str| subject.get(member).and_then(Value::as_str);
            let subject_namespace = text("namespace").filter(|ns| !ns.is_empty()).or(namespace);
            let key = (
                subject_namespace.map(str::to_owned),
                text("kind").unwrap_or_default().to_owned(),
                text("name").unwrap_or_default().to_owned(),
            );
            failures.push(Failure { subject: key, findings: findings.clone(), unshown });
        }
    }
    failures
}

/// The images of a report-mode message (entries joined by `; `, perhaps
/// ending with a count of those that did not fit); `None` when an entry does
/// not read as one of the report mode's.
pub fn message_entries(message: &str) -> Option<(Vec<Finding>, usize)> {
    let mut findings = Vec::new();
    let mut unshown = 0;
    for entry in message.split("; ") {
        if let Some(count) = entry.strip_prefix("and ").and_then(|rest| rest.strip_suffix(" more")) {
            unshown += count.parse::<usize>().ok()?;
        } else if let Some(count) = entry.strip_suffix(" entries too long to show") {
            unshown += count.parse::<usize>().ok()?;
        } else {
            findings.push(entry_finding(entry)?);
        }
    }
    (!findings.is_empty() || unshown > 0).then_some((findings, unshown))
}

/// `key: image -> destination[: problem]`, `key: image is outside every
/// mirror and no rule moves it` or `key: image is outside every mirror: why`.
fn entry_finding(entry: &str) -> Option<Finding> {
    let (container, rest) = entry.split_once(": ")?;
    let finding =
        |image: &str, status| Some(Finding { container: container.to_owned(), image: image.to_owned(), status });
    if let Some(image) = rest.strip_suffix(" is outside every mirror and no rule moves it") {
        return finding(image, Status::Outside("no rule applies".to_owned()));
    }
    if let Some((image, why)) = rest.split_once(" is outside every mirror: ") {
        return finding(image, Status::Outside(why.to_owned()));
    }
    let (image, to) = rest.split_once(" -> ")?;
    let (destination, problem) = match to.split_once(": ") {
        Some((destination, problem)) if PROBLEMS.contains(&problem) => (destination, Some(problem.to_owned())),
        Some(_) => return None,
        None => (to, None),
    };
    finding(image, Status::WouldRedirect { destination: destination.to_owned(), rule: None, problem })
}
