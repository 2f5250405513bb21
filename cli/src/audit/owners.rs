//! Which workload an object belongs to: its top owner among the objects of
//! the input (a Pod → its ReplicaSet → its Deployment; a Job → its CronJob),
//! so an image that a Deployment and its Pods both name is reported once.
//! A Pod whose ReplicaSet is not in the input (`kubectl get pods,deployments`)
//! still finds its Deployment: the ReplicaSet is named after it and the Pod's
//! `pod-template-hash` label.

use std::collections::BTreeMap;

use serde_json::Value;

/// An object by namespace (`None`: cluster-scoped), kind and name.
pub type Key = (Option<String>, String, String);

/// Owner chains are short (Pod, ReplicaSet, Deployment); a longer walk is a
/// cycle in hand-written input.
const DEPTH_MAX: usize = 8;

/// The controlling owner of each object of the input: the owner it names,
/// then the one it implies.
#[derive(Debug, Default)]
pub struct Owners {
    owner: BTreeMap<Key, Vec<(String, String)>>,
}

impl Owners {
    /// Records `object`, met in `namespace`, and the owner it names: the
    /// reference marked `controller`, or else the first.
    pub fn add(&mut self, object: &Value, namespace: Option<&str>) {
        let references = object.pointer("/metadata/ownerReferences").and_then(Value::as_array);
        let references = references.map(Vec::as_slice).unwrap_or_default();
        let controller = references.iter().find(|r| r.get("controller") == Some(&Value::Bool(true)));
        let owner = controller.or(references.first()).and_then(|r| Some((text(r, "kind")?, text(r, "name")?)));
        let hash = object.pointer("/metadata/labels/pod-template-hash").and_then(Value::as_str);
        let deployment = match (&owner, hash) {
            (Some((kind, name)), Some(hash)) if kind == "ReplicaSet" => name
                .strip_suffix(hash)
                .and_then(|n| n.strip_suffix('-'))
                .map(|n| ("Deployment".to_owned(), n.to_owned())),
            _ => None,
        };
        self.owner.insert(key(object, namespace), owner.into_iter().chain(deployment).collect());
    }

    /// The top owner of `of` present in the input (`of` itself when it has none).
    pub fn top(&self, of: Key) -> Key {
        let mut key = of;
        for _ in 0..DEPTH_MAX {
            let owners = self.owner.get(&key).map(Vec::as_slice).unwrap_or_default();
            let mut parents = owners.iter().map(|(kind, name)| (key.0.clone(), kind.clone(), name.clone()));
            match parents.find(|parent| self.owner.contains_key(parent)) {
                Some(parent) => key = parent,
                None => break,
            }
        }
        key
    }
}

/// `object`'s key; `namespace` when it names none.
pub fn key(object: &Value, namespace: Option<&str>) -> Key {
    let own = object.pointer("/metadata/namespace").and_then(Value::as_str);
    let name = object.get("metadata").and_then(|m| text(m, "name")).unwrap_or_default();
    (own.or(namespace).map(str::to_owned), text(object, "kind").unwrap_or_default(), name)
}

fn text(value: &Value, member: &str) -> Option<String> {
    value.get(member).and_then(Value::as_str).map(str::to_owned)
}
