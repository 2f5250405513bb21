//! What each subcommand does, one module each, and the file handling they
//! share: reading an input (`-` is stdin), loading settings, writing outputs.

pub mod audit;
pub mod export;
pub mod import;
pub mod preview;
pub mod seed;

use std::io::{Read, Write as _};
use std::path::Path;

use anyhow::{Context, Result};
use image_redirect_cli::manifests;
use image_redirect_policy::settings::Settings;

use crate::cli::SettingsArg;

/// Exit status of a failed command, and of a command line that does not parse.
pub const FAILED: u8 = 1;
/// Exit status when `--strict` and some rule cannot be carried out (at the
/// node by `export`, by the policy for `import`).
pub const LOST: u8 = 2;

impl SettingsArg {
    pub fn load(&self) -> Result<Settings> {
        let text = read(&self.path.display().to_string())?;
        manifests::settings(&text).map_err(|e| anyhow::anyhow!("{}: invalid settings:\n{e}", self.path.display()))
    }
}

/// The text of `file`, or of stdin for `-`.
pub fn read(file: &str) -> Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| file.to_owned())
}

/// Writes `text` to `path`, creating its directory; a `private` file is
/// readable by its owner only, also when it existed before.
pub fn write_file(path: &Path, text: &str, private: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).with_context(|| path.display().to_string())?;
    if private {
        // The mode above applies only to a file created now.
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        file.set_permissions(mode).with_context(|| path.display().to_string())?;
    }
    file.write_all(text.as_bytes()).with_context(|| path.display().to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
