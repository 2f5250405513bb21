//! Where each kind keeps its images, and the walks that find them in the
//! admitted JSON text: the pod spec of the workload kinds, and the field paths
//! the settings list for other kinds (the custom resources of operators).
//!
//! The pod walk reads only the members it needs (metadata, annotations, spec,
//! imagePullSecrets, the three container lists and, per container, name,
//! image and imagePullPolicy); everything else is skipped unparsed.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use crate::fieldpath::{FieldPaths, Found, Mismatch};
use crate::json::{self, Path, Type};

/// The annotation that records the images a redirect replaced.
pub const ORIGINALS_ANNOTATION: &str = "image-redirect.io/original-images";
/// Marks the API server's copy of a static pod; the kubelet ignores its spec.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Where a kind keeps its pod: the keys from the object down to the value
/// that holds the pod's `metadata` and `spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Pod,
    /// Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job.
    Template,
    CronJob,
}

impl Layout {
    /// The layout of a kind, by API group and kind; `None` for kinds the
    /// policy leaves alone.
    pub fn of(group: &str, kind: &str) -> Option<Self> {
        match (group, kind) {
            ("", "Pod") => Some(Self::Pod),
            ("", "ReplicationController")
            | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job") => Some(Self::Template),
            ("batch", "CronJob") => Some(Self::CronJob),
            _ => None,
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Pod => &[],
            Self::Template => &["spec", "template"],
            Self::CronJob => &["spec", "jobTemplate", "spec", "template"],
        }
    }
}

/// What the policy reads in objects of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'s> {
    /// A workload kind: the images of its pod.
    Workload(Layout),
    /// A kind the settings list: the strings at its field paths.
    Listed(&'s Resource),
}

impl<'s> Kind<'s> {
    /// The kind by API group and kind; `None` for kinds the policy leaves alone.
    pub fn of(group: &str, kind: &str, listed: &'s Resources) -> Option<Self> {
        Layout::of(group, kind).map(Self::Workload).or_else(|| listed.get(group, kind).map(Self::Listed))
    }
}

/// A kind listed in the settings, and where its objects keep image strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Empty for the core group.
    pub group: String,
    pub kind: String,
    pub images: FieldPaths,
}

/// The listed kinds, sorted by group and kind for binary search.
#[derive(Debug, Clone, Default)]
pub struct Resources(Vec<Resource>);

impl Resources {
    /// `listed` must not name a kind twice (the settings refuse it).
    pub fn new(mut listed: Vec<Resource>) -> Self {
        listed.sort_by(|a, b| (&a.group, &a.kind).cmp(&(&b.group, &b.kind)));
        Self(listed)
    }

    pub fn get(&self, group: &str, kind: &str) -> Option<&Resource> {
        let i = self.0.binary_search_by(|r| (r.group.as_str(), r.kind.as_str()).cmp(&(group, kind))).ok()?;
        self.0.get(i)
    }
}

/// The three container lists of a pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum List {
    Containers,
    InitContainers,
    EphemeralContainers,
}

impl List {
    pub const ALL: [List; 3] = [Self::Containers, Self::InitContainers, Self::EphemeralContainers];

    pub fn key(self) -> &'static str {
        match self {
            Self::Containers => "containers",
            Self::InitContainers => "initContainers",
            Self::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// The metadata of an object or of a pod template: where the originals
/// annotation is read and written.
#[derive(Debug)]
pub struct Meta<'a> {
    /// The value holding `metadata`: the object itself, or a template.
    pub holder: &'a RawValue,
    /// `metadata`, when present (an object, or `null`).
    pub metadata: Option<&'a RawValue>,
    /// `metadata.annotations`, when present (an object, or `null`).
    pub annotations: Option<&'a RawValue>,
    /// The originals annotation's value, when present (a string, or `null`:
    /// the key is there, so a record replaces that value rather than adding the key twice).
    pub originals: Option<&'a RawValue>,
    pub is_mirror: bool,
}

/// An image string in the admitted object.
#[derive(Debug)]
pub struct Image<'a> {
    /// What the originals annotation records it under: the container's name
    /// (`containers[0]` when it has none), or the field path (`spec.imageName`).
    pub key: Cow<'a, str>,
    /// The JSON string literal, to be replaced in place.
    pub literal: &'a RawValue,
    pub text: Cow<'a, str>,
    /// `imagePullPolicy: Never`: the node must have the image under this name.
    pub pull_never: bool,
}

/// A pod (or pod template) inside the admitted object.
#[derive(Debug)]
pub struct Pod<'a> {
    pub meta: Meta<'a>,
    pub spec: &'a RawValue,
    /// `spec.imagePullSecrets`, when present (an array, or `null`).
    pub pull_secrets: Option<&'a RawValue>,
    /// Sorted and deduplicated, for binary search: a pod may list thousands.
    pub pull_secret_names: Vec<Cow<'a, str>>,
    /// Containers that name an image, in list order.
    pub containers: Vec<Container<'a>>,
}

#[derive(Debug)]
pub struct Container<'a> {
    pub list: List,
    pub image: Image<'a>,
}

/// The images of an object of a listed kind.
#[derive(Debug)]
pub struct Listed<'a> {
    pub meta: Meta<'a>,
    /// Non-empty strings at the kind's paths, in the order of the paths' field names.
    pub images: Vec<Image<'a>>,
    /// Values on the paths of a type the paths cannot use: someone else's
    /// schema, so they are reported, never refused.
    pub mismatches: Vec<Mismatch>,
}

impl Pod<'_> {
    /// Whether `spec.imagePullSecrets` names `secret`.
    pub fn has_pull_secret(&self, secret: &str) -> bool {
        self.pull_secret_names.binary_search_by(|name| name.as_ref().cmp(secret)).is_ok()
    }
}

/// The object is not shaped as its kind requires; names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub path: String,
    pub problem: String,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

impl std::error::Error for ShapeError {}

/// Finds the pod inside `object` and reads what the policy needs of it.
pub fn read_pod<'a>(object: &'a RawValue, layout: Layout) -> Result<Pod<'a>, ShapeError> {
    let root = Path::Root("object");
    let mut holder = expect(object, Type::Object, &root)?;
    let keys = layout.keys();
    for depth in 0..keys.len() {
        let [next] = pick(holder, [keys[depth]], &Path::Keys(&root, &keys[..depth]))?;
        holder = required(next, Type::Object, &Path::Keys(&root, &keys[..=depth]))?;
    }
    let at = Path::Keys(&root, keys);
    let [metadata, spec] = pick(holder, ["metadata", "spec"], &at)?;
    let spec_path = at.key("spec");
    let spec = required(spec, Type::Object, &spec_path)?;
    let meta = read_meta(holder, metadata, &at)?;
    let lists = [List::Containers.key(), List::InitContainers.key(), List::EphemeralContainers.key()];
    let [secrets, containers, init, ephemeral] =
        pick(spec, ["imagePullSecrets", lists[0], lists[1], lists[2]], &spec_path)?;
    let secrets_path = spec_path.key("imagePullSecrets");
    let pull_secret_names = read_secret_names(optional(secrets, Type::Array, &secrets_path)?, &secrets_path)?;
    let mut found = Vec::new();
    for (list, raw) in List::ALL.into_iter().zip([containers, init, ephemeral]) {
        read_containers(list, raw, &spec_path, &mut found)?;
    }
    Ok(Pod { meta, spec, pull_secrets: secrets, pull_secret_names, containers: found })
}

/// Finds the strings at `resource`'s paths in `object`, and its metadata.
pub fn read_listed<'a>(object: &'a RawValue, resource: &Resource) -> Result<Listed<'a>, ShapeError> {
    let root = Path::Root("object");
    let object = expect(object, Type::Object, &root)?;
    let [metadata] = pick(object, ["metadata"], &root)?;
    let meta = read_meta(object, metadata, &root)?;
    let found = resource.images.walk(object).map_err(|e| {
        let path = if e.at.is_empty() { root.to_string() } else { root.key(&e.at).to_string() };
        ShapeError { path, problem: e.problem }
    })?;
    let (mut images, mut mismatches) = (Vec::new(), Vec::new());
    for found in found {
        match found {
            Found::String(at, literal) => {
                let text = string(literal, &root.key(&at))?;
                if !text.is_empty() {
                    images.push(Image { key: Cow::Owned(at), literal, text, pull_never: false });
                }
            }
            Found::Mismatch(mismatch) => mismatches.push(mismatch),
        }
    }
    Ok(Listed { meta, images, mismatches })
}

/// The metadata member of `holder` (found at `at`), read for the annotations.
fn read_meta<'a>(holder: &'a RawValue, metadata: Option<&'a RawValue>, at: &Path) -> Result<Meta<'a>, ShapeError> {
    let meta_path = at.key("metadata");
    let mut meta = Meta { holder, metadata, annotations: None, originals: None, is_mirror: false };
    let Some(object) = optional(metadata, Type::Object, &meta_path)? else { return Ok(meta) };
    let [annotations] = pick(object, ["annotations"], &meta_path)?;
    meta.annotations = annotations;
    let path = meta_path.key("annotations");
    let Some(object) = optional(annotations, Type::Object, &path)? else { return Ok(meta) };
    let [originals, mirror] = pick(object, [ORIGINALS_ANNOTATION, MIRROR_ANNOTATION], &path)?;
    optional(originals, Type::String, &path.key(ORIGINALS_ANNOTATION))?;
    meta.originals = originals;
    meta.is_mirror = mirror.is_some();
    Ok(meta)
}

fn read_secret_names<'a>(secrets: Option<&'a RawValue>, path: &Path) -> Result<Vec<Cow<'a, str>>, ShapeError> {
    let Some(secrets) = secrets else { return Ok(Vec::new()) };
    let mut names = Vec::new();
    for (i, secret) in elements(secrets, path)?.into_iter().enumerate() {
        let item = path.index(i);
        let Some(secret) = optional(Some(secret), Type::Object, &item)? else { continue };
        let [name] = pick(secret, ["name"], &item)?;
        if let Some(name) = optional(name, Type::String, &item.key("name"))? {
            names.push(string(name, &item)?);
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn read_containers<'a>(
    list: List,
    raw: Option<&'a RawValue>,
    spec_path: &Path,
    found: &mut Vec<Container<'a>>,
) -> Result<(), ShapeError> {
    let path = spec_path.key(list.key());
    let Some(raw) = optional(raw, Type::Array, &path)? else { return Ok(()) };
    for (index, item) in elements(raw, &path)?.into_iter().enumerate() {
        let at = path.index(index);
        let item = expect(item, Type::Object, &at)?;
        let [name, image, policy] = pick(item, ["name", "image", "imagePullPolicy"], &at)?;
        let name = optional(name, Type::String, &at.key("name"))?.map(|name| string(name, &at)).transpose()?;
        let policy = optional(policy, Type::String, &at.key("imagePullPolicy"))?.map(|p| string(p, &at)).transpose()?;
        // An absent image is valid Kubernetes: workload controllers may fill it in later.
        let Some(literal) = optional(image, Type::String, &at.key("image"))? else { continue };
        let text = string(literal, &at)?;
        if !text.is_empty() {
            let pull_never = policy.is_some_and(|p| p == "Never");
            let key = name.unwrap_or_else(|| Cow::Owned(format!("{}[{index}]", list.key())));
            found.push(Container { list, image: Image { key, literal, text, pull_never } });
        }
    }
    Ok(())
}

fn pick<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
    path: &Path,
) -> Result<[Option<&'a RawValue>; N], ShapeError> {
    json::members(raw, keys).map_err(|e| shape(path, json::message(&e)))
}

fn elements<'a>(raw: &'a RawValue, path: &Path) -> Result<Vec<&'a RawValue>, ShapeError> {
    json::elements(raw).map_err(|e| shape(path, json::message(&e)))
}

fn string<'a>(raw: &'a RawValue, path: &Path) -> Result<Cow<'a, str>, ShapeError> {
    json::text(raw).map_err(|e| shape(path, json::message(&e)))
}

fn expect<'a>(raw: &'a RawValue, wanted: Type, path: &Path) -> Result<&'a RawValue, ShapeError> {
    match Type::of(raw) {
        found if found == wanted => Ok(raw),
        found => Err(shape(path, format_args!("expected {wanted}, found {found}"))),
    }
}

/// A member that must be there, of type `wanted`.
fn required<'a>(raw: Option<&'a RawValue>, wanted: Type, path: &Path) -> Result<&'a RawValue, ShapeError> {
    match raw {
        Some(raw) if Type::of(raw) != Type::Null => expect(raw, wanted, path),
        _ => Err(shape(path, "missing")),
    }
}

/// A member that may be absent or `null`; otherwise of type `wanted`.
fn optional<'a>(raw: Option<&'a RawValue>, wanted: Type, path: &Path) -> Result<Option<&'a RawValue>, ShapeError> {
    match raw {
        Some(raw) if Type::of(raw) != Type::Null => expect(raw, wanted, path).map(Some),
        _ => Ok(None),
    }
}

fn shape(path: &Path, problem: impl fmt::Display) -> ShapeError {
    ShapeError { path: path.to_string(), problem: problem.to_string() }
}
