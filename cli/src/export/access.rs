//! What a node needs to reach a mirror host besides its address: credentials
//! and TLS trust, which only the node can hold (the policy has pull secrets
//! for the Pods it admits). `import palette --node-config` fills them from
//! user-data; each runtime writes them its own way, or not at all.

use super::{Format, Loss};

/// One mirror host's credentials and TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// `host[:port]`, as the runtime's endpoints name it.
    pub host: String,
    /// Username and password.
    pub credentials: Option<(String, String)>,
    /// CA certificates (PEM) to trust for this host.
    pub ca: Option<String>,
    /// Do not verify the host's TLS certificate.
    pub insecure: bool,
}

impl Access {
    /// The CA file's name, one per host: a `:port` is kept (a valid file name).
    pub fn ca_file(&self) -> String {
        format!("{}.crt", self.host)
    }
}

/// Whether the runtime's file carries out `loss` after all: K3s and RKE2
/// hold credentials for a host (`configs.<host>.auth`), where a pull secret
/// names the target there; containerd's hosts.toml has no place for them.
pub fn carries(format: Format, access: &[Access], loss: &Loss) -> bool {
    let Loss::PullSecret { target, .. } = loss else { return false };
    let host = target.split_once('/').map_or(target.as_str(), |(host, _)| host);
    matches!(format, Format::K3s | Format::Rke2) && of(access, host).is_some_and(|access| access.credentials.is_some())
}

/// The access of `host`, if the export was given one.
pub fn of<'a>(access: &'a [Access], host: &str) -> Option<&'a Access> {
    access.iter().find(|access| access.host == host)
}
