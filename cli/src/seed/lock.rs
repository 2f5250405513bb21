//! The lock file: what a run copied, as other tools read it,
//! `{"images": [{"source", "digest", "destination"}…]}`, and the check
//! against the mirror that an operator runs before enabling the policy.

use anyhow::{Context, Result};
use oci_client::Reference;
use serde::{Deserialize, Serialize};

use super::client::Registries;
use super::{Copy, Outcome};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub images: Vec<Locked>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locked {
    pub source: String,
    /// The manifest digest, the same at the source and the destination.
    pub digest: String,
    pub destination: String,
}

impl Lock {
    /// Every image that is at its destination after a run.
    pub fn of(copies: &[Copy], outcomes: &[Outcome]) -> Self {
        let locked = copies.iter().zip(outcomes).filter_map(|(copy, outcome)| {
            let digest = outcome.digest()?.to_owned();
            Some(Locked { source: copy.source.clone(), digest, destination: copy.destination.clone() })
        });
        Self { images: locked.collect() }
    }

    pub fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a lock file", path.display()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).map(|text| text + "\n").unwrap_or_default()
    }
}

/// What the mirror holds of each destination: `None` when it holds what was
/// asked (the recorded digest, or anything without a lock), else why not.
pub async fn check(registries: &Registries, wanted: &[(String, Option<String>)]) -> Vec<Option<String>> {
    let mut problems = Vec::new();
    for (destination, digest) in wanted {
        problems.push(check_one(registries, destination, digest.as_deref()).await);
    }
    problems
}

async fn check_one(registries: &Registries, destination: &str, recorded: Option<&str>) -> Option<String> {
    let reference: Reference = match destination.parse() {
        Ok(reference) => reference,
        Err(e) => return Some(format!("not a reference {destination}: {e}")),
    };
    let answer = match registries.authorize(&reference, false).await {
        Ok(()) => registries.digest(&reference).await,
        Err(e) => Err(e),
    };
    match (answer, recorded) {
        (Ok(None), _) => Some(format!("missing {destination}")),
        (Ok(Some(there)), Some(recorded)) if there != recorded => {
            Some(format!("different {destination}: the mirror has {there}, the lock records {recorded}"))
        }
        (Ok(Some(_)), _) => None,
        (Err(e), _) => Some(format!("unknown {destination}: {}", image_redirect_policy::mirror::cause(&e.to_string()))),
    }
}
