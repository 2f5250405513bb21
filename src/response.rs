//! What goes back to the host: the mutated object (as edits to the admitted
//! text), the originals annotation, added pull secrets, warnings, and the
//! audit annotations that record each decision in the API server's audit log.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::json::Type;
use crate::rules::Destination;
use crate::splice::{Splice, quote};
use crate::workload::{Image, Meta, ORIGINALS_ANNOTATION, Pod};

/// At most this many warning lines reach the user, then one line counting the rest.
pub const WARNINGS_MAX: usize = 20;
/// The API server cuts each admission warning past this many characters…
pub const LINE_MAX: usize = 256;
/// …and drops warnings past 4 KiB in all: the lines shown stay within this
/// many bytes, leaving room for the line that counts the rest.
const WARNINGS_BYTES_MAX: usize = 4000;
/// Images longer than this are cut in warnings: a warning is read by a person.
const IMAGE_IN_WARNING_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Accept the object as given here (JSON text).
    Mutate(String),
    Reject(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub warnings: Warnings,
    pub audit: Audit,
}

/// Warning lines for the user: the first [`WARNINGS_MAX`] (while they fit in
/// [`WARNINGS_BYTES_MAX`]), each one line of at most [`LINE_MAX`] characters;
/// the rest only counted (a Pod with a thousand redirects formats twenty lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    shown: Vec<String>,
    bytes: usize,
    hidden: usize,
}

impl Warnings {
    pub fn add(&mut self, line: impl FnOnce() -> String) {
        if self.shown.len() == WARNINGS_MAX || self.hidden > 0 {
            self.hidden += 1;
            return;
        }
        let line = cut(&one_line(&line()), LINE_MAX);
        match self.bytes + line.len() <= WARNINGS_BYTES_MAX {
            true => {
                self.bytes += line.len();
                self.shown.push(line);
            }
            false => self.hidden += 1,
        }
    }

    /// The lines as they reach the user: the shown ones, then a count of the rest.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.shown.clone();
        if self.hidden > 0 {
            lines.push(format!("{} more warnings not shown", self.hidden));
        }
        lines
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

impl Outcome {
    pub fn accept() -> Self {
        Self { verdict: Verdict::Accept, warnings: Warnings::default(), audit: Audit::default() }
    }

    pub fn reject(message: impl Into<String>) -> Self {
        Self { verdict: Verdict::Reject(message.into()), warnings: Warnings::default(), audit: Audit::default() }
    }

    /// The waPC `validate` response.
    ///
    /// Written by hand rather than through the SDK's response type: the
    /// mutated object is already JSON text, and parsing it into a tree only
    /// to print it again would cost more than the whole policy.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::from("{\"accepted\":");
        match &self.verdict {
            Verdict::Accept => out.push_str("true"),
            Verdict::Mutate(object) => {
                out.push_str("true,\"mutated_object\":");
                out.push_str(object);
            }
            Verdict::Reject(message) => {
                out.push_str("false,\"message\":");
                out.push_str(&quote(message));
            }
        }
        if !self.warnings.is_empty() {
            out.push_str(",\"warnings\":");
            out.push_str(&serde_json::Value::from(self.warnings.lines()).to_string());
        }
        let annotations = self.audit.annotations();
        if !annotations.is_empty() {
            let members: Vec<String> =
                annotations.iter().map(|(key, value)| format!("{}:{}", quote(key), quote(value))).collect();
            out.push_str(",\"audit_annotations\":{");
            out.push_str(&members.join(","));
            out.push('}');
        }
        out.push('}');
        out.into_bytes()
    }
}

/// Entries joined by `; ` in at most `max` bytes, ending with a count of
/// the entries that did not fit: a report message, an audit annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    text: String,
    max: usize,
    hidden: usize,
}

/// Room kept for `; and 1234567 more`.
const COUNT_ROOM: usize = 24;

impl Listing {
    pub fn new(max: usize) -> Self {
        Self { text: String::new(), max, hidden: 0 }
    }

    /// Adds `entry` (on one line) if it fits, in order: once one does not,
    /// the rest are only counted.
    pub fn add(&mut self, entry: &str) {
        let entry = one_line(entry);
        let separator = if self.text.is_empty() { 0 } else { 2 };
        if self.hidden > 0 || self.text.len() + separator + entry.len() + COUNT_ROOM > self.max {
            self.hidden += 1;
            return;
        }
        if separator > 0 {
            self.text.push_str("; ");
        }
        self.text.push_str(&entry);
    }

    /// The text, or `None` when nothing was added.
    pub fn finish(&self) -> Option<String> {
        match (self.text.is_empty(), self.hidden) {
            (true, 0) => None,
            (true, hidden) => Some(format!("{hidden} entries too long to show")),
            (false, 0) => Some(self.text.clone()),
            (false, hidden) => Some(format!("{}; and {hidden} more", self.text)),
        }
    }
}

/// The kinds of decision the audit log records, one annotation key each.
///
/// The API server writes each key as `<webhook name>/<key>` and drops one
/// that is then not a qualified name, whose part after the `/` is at most 63
/// characters of `[A-Za-z0-9-_.]`, alphanumeric at both ends: these are.
pub const AUDIT_KEYS: [&str; 4] = [REDIRECTED, PINNED, FELL_BACK, KEPT_NEVER_PULL];
const REDIRECTED: &str = "redirected";
const PINNED: &str = "pinned";
const FELL_BACK: &str = "fell-back";
const KEPT_NEVER_PULL: &str = "kept-never-pull";
/// An audit annotation's value stays under 1 KiB; the containers past it are counted.
pub const AUDIT_VALUE_MAX: usize = 1000;
/// An image in the audit log is cut only when absurd: a pinned redirect
/// carries its whole digest.
const IMAGE_IN_AUDIT_MAX: usize = 300;
/// Container names are DNS labels; a listed kind's field path is cut as long.
pub const KEY_MAX: usize = 63;

/// What was decided for the images of one request, per kind of decision:
/// the containers concerned, as the audit annotations list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    redirected: Listing,
    pinned: Listing,
    fell_back: Listing,
    kept_never_pull: Listing,
}

impl Default for Audit {
    fn default() -> Self {
        let listing = || Listing::new(AUDIT_VALUE_MAX);
        Self { redirected: listing(), pinned: listing(), fell_back: listing(), kept_never_pull: listing() }
    }
}

impl Audit {
    /// `from` (of the container or field `key`) redirected to `to`, which
    /// carries a digest when `pinned`.
    pub fn redirected(&mut self, key: &str, from: &str, to: &str, pinned: bool) {
        let listing = if pinned { &mut self.pinned } else { &mut self.redirected };
        listing.add(&format!(
            "{}: {} -> {}",
            shown_at_most(key, KEY_MAX),
            shown_at_most(from, IMAGE_IN_AUDIT_MAX),
            shown_at_most(to, IMAGE_IN_AUDIT_MAX)
        ));
    }

    /// `from` kept because its redirect `to` cannot be written, for the reason `why`.
    pub fn fell_back(&mut self, key: &str, from: &str, to: &str, why: &str) {
        let (key, from, to) = (
            shown_at_most(key, KEY_MAX),
            shown_at_most(from, IMAGE_IN_AUDIT_MAX),
            shown_at_most(to, IMAGE_IN_AUDIT_MAX),
        );
        self.fell_back.add(&format!("{key}: {from} -> {to}: {why}"));
    }

    /// `image` kept as the node has it (`imagePullPolicy: Never`) where a rule would move it.
    pub fn kept_never_pull(&mut self, key: &str, image: &str) {
        self.kept_never_pull.add(&format!(
            "{}: {}",
            shown_at_most(key, KEY_MAX),
            shown_at_most(image, IMAGE_IN_AUDIT_MAX)
        ));
    }

    /// The annotations, sorted by key: one per kind of decision taken, none
    /// when nothing was decided.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let mut annotations: Vec<(&'static str, String)> = [
            (REDIRECTED, &self.redirected),
            (PINNED, &self.pinned),
            (FELL_BACK, &self.fell_back),
            (KEPT_NEVER_PULL, &self.kept_never_pull),
        ]
        .into_iter()
        .filter_map(|(key, listing)| listing.finish().map(|value| (key, value)))
        .collect();
        annotations.sort();
        annotations
    }
}

/// An image as it may appear in a warning: quoted when it is not a
/// reference, cut when it is long.
pub fn shown(image: &str) -> String {
    shown_at_most(image, IMAGE_IN_WARNING_MAX)
}

/// [`shown`], cut past `max` characters.
pub fn shown_at_most(image: &str, max: usize) -> String {
    match image.char_indices().nth(max) {
        Some((cut, _)) => format!("{:?}…", &image[..cut]),
        None if image.bytes().all(|b| b.is_ascii_graphic()) => image.to_owned(),
        None => format!("{image:?}"),
    }
}

/// `text` on one line: line breaks, tabs and other control characters become
/// spaces, and runs of spaces one.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars().map(|c| if c.is_control() { ' ' } else { c }) {
        if !(c == ' ' && line.ends_with(' ')) {
            line.push(c);
        }
    }
    line.trim_end().to_owned()
}

/// `text` cut to at most `max` characters, the last one an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// One image moving elsewhere.
pub struct Redirect<'p, 'a> {
    pub from: &'p Image<'a>,
    pub image: String,
    pub destination: &'p Destination,
}

/// What the edits to one object change.
pub struct Changes<'p, 'a> {
    pub redirects: Vec<Redirect<'p, 'a>>,
    /// The metadata that records the original images; `None` records nothing.
    pub annotate: Option<&'p Meta<'a>>,
    pub pull_secrets: PullSecrets<'p, 'a>,
}

/// What becomes of the pull secrets the redirected images need.
#[derive(Clone, Copy)]
pub enum PullSecrets<'p, 'a> {
    /// Appended to this pod's `spec.imagePullSecrets` where missing.
    Add(&'p Pod<'a>),
    /// Left as they are: a Pod update cannot change them, so an image that
    /// needs one this pod lacks is not redirected.
    Present(&'p Pod<'a>),
    /// The object (of this kind) has no pod spec: a warning names each secret
    /// it must reference itself.
    Named(&'p str),
}

/// Applies `changes` to `object` (the admitted text); `None` when nothing
/// changes. Pushes a warning per redirect.
pub fn mutate(object: &RawValue, changes: &Changes, warnings: &mut Warnings) -> Option<String> {
    if changes.redirects.is_empty() {
        return None;
    }
    let mut splice = Splice::new(object.get());
    for redirect in &changes.redirects {
        splice.replace(redirect.from.literal, quote(&redirect.image));
        warnings.add(|| format!("image redirected: {} -> {}", shown(&redirect.from.text), redirect.image));
    }
    if let Some(meta) = changes.annotate {
        record_originals(&mut splice, meta, &changes.redirects, warnings);
    }
    match changes.pull_secrets {
        PullSecrets::Add(pod) => add_pull_secrets(&mut splice, pod, &changes.redirects),
        PullSecrets::Present(_) => {}
        PullSecrets::Named(kind) => {
            for secret in needed_secrets(&changes.redirects, |_| true) {
                warnings.add(|| format!("pull secret {secret} is not added: the {kind} must reference it itself"));
            }
        }
    }
    Some(splice.apply())
}

/// Merges `{"<key>": "<original image>"}` into the originals annotation.
/// Entries for images redirected now are set; all others are kept.
fn record_originals(splice: &mut Splice, meta: &Meta, redirects: &[Redirect], warnings: &mut Warnings) {
    let written = meta.originals.filter(|raw| Type::of(raw) != Type::Null);
    let existing = match written.map(|raw| serde_json::from_str::<String>(raw.get())) {
        None => Ok(BTreeMap::new()),
        Some(Ok(text)) => serde_json::from_str::<BTreeMap<String, String>>(&text),
        Some(Err(e)) => Err(e),
    };
    let Ok(mut originals) = existing else {
        warnings.add(|| format!("annotation {ORIGINALS_ANNOTATION} is not a JSON object of image names: left as is"));
        return;
    };
    for redirect in redirects {
        originals.insert(redirect.from.key.clone().into_owned(), redirect.from.text.clone().into_owned());
    }
    let value = quote(
        &serde_json::Value::from(serde_json::Map::from_iter(
            originals.into_iter().map(|(name, image)| (name, serde_json::Value::from(image))),
        ))
        .to_string(),
    );
    let (anchor, rest): (&RawValue, &[&str]) = match (meta.originals, meta.annotations, meta.metadata) {
        (Some(originals), _, _) => (originals, &[]),
        (None, Some(annotations), _) => (annotations, &[ORIGINALS_ANNOTATION]),
        (None, None, Some(metadata)) => (metadata, &["annotations", ORIGINALS_ANNOTATION]),
        (None, None, None) => (meta.holder, &["metadata", "annotations", ORIGINALS_ANNOTATION]),
    };
    place(splice, anchor, rest, value);
}

/// Adds each pull secret a redirect needs and the pod does not list yet.
fn add_pull_secrets(splice: &mut Splice, pod: &Pod, redirects: &[Redirect]) {
    let missing = needed_secrets(redirects, |secret| !pod.has_pull_secret(secret));
    let entries: Vec<String> = missing.iter().map(|name| format!("{{\"name\":{}}}", quote(name))).collect();
    match pod.pull_secrets {
        _ if entries.is_empty() => {}
        Some(list) if Type::of(list) == Type::Array => splice.push_elements(list, &entries),
        Some(null) => place(splice, null, &[], format!("[{}]", entries.join(","))),
        None => place(splice, pod.spec, &["imagePullSecrets"], format!("[{}]", entries.join(","))),
    }
}

/// The pull secrets the redirects need that `keep` keeps, sorted, each once.
fn needed_secrets<'r>(redirects: &'r [Redirect], keep: impl Fn(&str) -> bool) -> Vec<&'r str> {
    let mut secrets: Vec<&str> =
        redirects.iter().filter_map(|r| r.destination.pull_secret.as_deref()).filter(|s| keep(s)).collect();
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Writes `value` at the path `rest` below `anchor`, the deepest value along
/// the path that exists: replaced when `rest` is empty or `anchor` is `null`,
/// otherwise given a new member holding the rest of the path.
fn place(splice: &mut Splice, anchor: &RawValue, rest: &[&str], value: String) {
    match rest.split_first() {
        None => splice.replace(anchor, value),
        Some(_) if Type::of(anchor) == Type::Null => splice.replace(anchor, nest(rest, value)),
        Some((key, deeper)) => splice.insert_member(anchor, key, &nest(deeper, value)),
    }
}

/// `{"a":{"b":value}}` for the keys `[a, b]`.
fn nest(keys: &[&str], value: String) -> String {
    keys.iter().rev().fold(value, |inner, key| format!("{{{}:{inner}}}", quote(key)))
}
