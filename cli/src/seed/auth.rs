//! Registry credentials where skopeo, podman and docker keep them: which file
//! is read, which of its entries applies to a repository, and what it holds.
//!
//! The files and their order follow the containers tools: `--authfile`, else
//! `REGISTRY_AUTH_FILE`, each read alone as the user chose it; else
//! `$XDG_RUNTIME_DIR/containers/auth.json` then docker's `config.json`, the
//! first that has an entry winning. Entries may be scoped to a path
//! (`harbor.edge.local/project-a`, a Harbor robot account per project): the
//! longest entry that is a path prefix of the repository applies, before the
//! registry's own. A registry-wide lookup, and the credential helpers
//! (`credHelpers`, `credsStore`), are `docker_credential`'s.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

/// The auth files of a run, read once.
#[derive(Debug, Clone, Default)]
pub struct AuthFiles {
    files: Vec<AuthFile>,
}

#[derive(Debug, Clone)]
struct AuthFile {
    path: PathBuf,
    bytes: Vec<u8>,
    /// The `auths` keys scoped below a registry (`host/path…`).
    scoped: Vec<String>,
}

/// Where credentials are looked for, as the environment names them.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub registry_auth_file: Option<OsString>,
    pub xdg_runtime_dir: Option<OsString>,
    pub docker_config: Option<OsString>,
    pub home: Option<OsString>,
}

impl Environment {
    pub fn of_process() -> Self {
        Self {
            registry_auth_file: std::env::var_os("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: std::env::var_os("XDG_RUNTIME_DIR"),
            docker_config: std::env::var_os("DOCKER_CONFIG"),
            home: std::env::var_os("HOME"),
        }
    }
}

/// The files read, in order, and whether each must exist (one the user named).
pub fn locations(authfile: Option<&Path>, env: &Environment) -> Vec<(PathBuf, bool)> {
    if let Some(path) = authfile {
        return vec![(path.to_owned(), true)];
    }
    if let Some(path) = &env.registry_auth_file {
        return vec![(PathBuf::from(path), true)];
    }
    let containers = env.xdg_runtime_dir.as_ref().map(|dir| Path::new(dir).join("containers/auth.json"));
    let docker = match (&env.docker_config, &env.home) {
        (Some(dir), _) => Some(Path::new(dir).join("config.json")),
        (None, Some(home)) => Some(Path::new(home).join(".docker/config.json")),
        (None, None) => None,
    };
    containers.into_iter().chain(docker).map(|path| (path, false)).collect()
}

impl AuthFiles {
    /// Reads the files of [`locations`]; a missing file the user did not name is skipped.
    pub fn read(authfile: Option<&Path>, env: &Environment) -> Result<Self> {
        let mut files = Vec::new();
        for (path, required) in locations(authfile, env) {
            match std::fs::read(&path) {
                Ok(bytes) => files.push(AuthFile::parse(path, bytes)?),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading the auth file {}", path.display())),
            }
        }
        Ok(Self { files })
    }

    /// The credential for `repository` at `registry` (as oci-client resolves
    /// it: `index.docker.io` for Docker Hub), anonymous where none is kept,
    /// and where it was found, for messages (never the secret).
    pub fn credential(&self, registry: &str, repository: &str) -> Result<(RegistryAuth, String)> {
        for file in &self.files {
            let key = scoped_key(&file.scoped, registry, repository).unwrap_or(registry);
            let origin = format!("the credential for {key} in {}", file.path.display());
            match docker_credential::get_credential_from_reader(file.bytes.as_slice(), key) {
                Ok(credential) => return Ok((registry_auth(credential, &origin)?, origin)),
                Err(CredentialRetrievalError::NoCredentialConfigured) => {}
                Err(e) => bail!("{origin}: {e}"),
            }
        }
        Ok((RegistryAuth::Anonymous, format!("no credential for {registry}/{repository}")))
    }
}

impl AuthFile {
    fn parse(path: PathBuf, bytes: Vec<u8>) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Keys {
            #[serde(default)]
            auths: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
        }
        let keys: Keys =
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not an auth file", path.display()))?;
        // URL-shaped keys (`https://index.docker.io/v1/`) name a registry, never a path.
        let scoped = keys.auths.into_keys().filter(|key| !key.contains("://") && key.contains('/')).collect();
        Ok(Self { path, bytes, scoped })
    }
}

/// The longest of `keys` that is `registry/repository` or a path prefix of it.
pub fn scoped_key<'k>(keys: &'k [String], registry: &str, repository: &str) -> Option<&'k str> {
    let full = format!("{registry}/{repository}");
    keys.iter()
        .map(String::as_str)
        .filter(|key| full == *key || full.strip_prefix(key).is_some_and(|rest| rest.starts_with('/')))
        .max_by_key(|key| key.len())
}

fn registry_auth(credential: DockerCredential, origin: &str) -> Result<RegistryAuth> {
    match credential {
        DockerCredential::UsernamePassword(username, password) => Ok(RegistryAuth::Basic(username, password)),
        // An identity token is exchanged for access tokens by an OAuth flow the
        // registry client does not carry; sent as a bearer it would be refused.
        DockerCredential::IdentityToken(_) => bail!(
            "{origin} is an identity token, which seed cannot use: log in with a username and password (a robot account)"
        ),
    }
}
