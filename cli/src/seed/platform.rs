//! `--platform`: copying only some platforms of an index. The children chosen
//! keep their digests; the tag gets a new index that lists only them, whose
//! digest is not the source's (digest pinning against the source cannot
//! match it), so the run records both.

use std::str::FromStr;

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::Manifest;

/// `os/architecture[/variant]`, as an index's `platform` objects name one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts[..] {
            [os, architecture] if !os.is_empty() && !architecture.is_empty() => {
                Ok(Self { os: os.into(), architecture: architecture.into(), variant: None })
            }
            [os, architecture, variant] if ![os, architecture, variant].contains(&"") => {
                Ok(Self { os: os.into(), architecture: architecture.into(), variant: Some(variant.into()) })
            }
            _ => {
                Err(format!("{text}: not a platform (os/architecture or os/architecture/variant, such as linux/arm64)"))
            }
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        self.variant.iter().try_for_each(|variant| write!(f, "/{variant}"))
    }
}

impl Platform {
    /// Whether an index entry's `platform` is this one; without a variant, any variant is.
    fn matches(&self, platform: &Value) -> bool {
        let field = |name: &str| platform.get(name).and_then(Value::as_str);
        field("os") == Some(&self.os)
            && field("architecture") == Some(&self.architecture)
            && self.variant.as_deref().is_none_or(|variant| field("variant") == Some(variant))
    }

    /// How an index entry names its platform, for messages.
    fn of(platform: &Value) -> String {
        let field = |name: &str| platform.get(name).and_then(Value::as_str).unwrap_or_default();
        match field("variant") {
            "" => format!("{}/{}", field("os"), field("architecture")),
            variant => format!("{}/{}/{variant}", field("os"), field("architecture")),
        }
    }
}

/// `index` with only the entries of `platforms`, every other field kept;
/// an error naming the platforms it has when none is there.
pub fn narrow(index: &Manifest, platforms: &[Platform]) -> Result<Manifest, String> {
    let mut value: Value = serde_json::from_slice(&index.bytes).map_err(|e| format!("reading its index: {e}"))?;
    let Some(Value::Array(entries)) = value.get_mut("manifests") else {
        return Err("its index lists no manifests".into());
    };
    let has: Vec<String> = entries.iter().map(|entry| Platform::of(&entry["platform"])).collect();
    entries.retain(|entry| platforms.iter().any(|platform| platform.matches(&entry["platform"])));
    if entries.is_empty() {
        let wanted: Vec<String> = platforms.iter().map(Platform::to_string).collect();
        return Err(format!("its index has no {} (it has {})", wanted.join(", "), has.join(", ")));
    }
    let bytes = Bytes::from(serde_json::to_vec(&value).map_err(|e| e.to_string())?);
    let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
    Ok(Manifest { bytes, media_type: index.media_type.clone(), digest })
}
