//! What a node needs to reach a mirror host besides its address: credentials
//! and TLS trust, which only the node can hold (the policy has pull secrets
//! for the Pods it admits). `import palette --node-config` fills them from
//! user-data; each runtime writes them its own way, or not at all.

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

/// The access of `host`, if the export was given one.
pub fn of<'a>(access: &'a [Access], host: &str) -> Option<&'a Access> {
    access.iter().find(|access| access.host == host)
}
